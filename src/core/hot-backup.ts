/**
 * Hot backup: copy every tablespace page by page while writes go on, and tail the redo log from
 * the checkpoint current at the start up to an end LSN. The copy is fuzzy (each page is caught at
 * whatever LSN it had on disk); the tailed redo makes it consistent: applied by recovery, it
 * brings every page to exactly END_LSN (rule IDEMPOTENT skips what a page already has).
 *
 * InnoDB counterpart: Mariabackup / XtraBackup `--backup` (a redo copier thread tailing
 * `ib_logfile0` from the checkpoint, data-file copier threads that re-read a page whose checksum
 * fails, `xtrabackup_checkpoints`), and `--incremental-lsn` for the incremental mode. Where we
 * differ: one thread, so the copy runs in bounded slices between the engine's operations (the
 * event loop is the latch; a page write is one synchronous call, so a slice never sees half of
 * one); the end LSN is the current LSN made durable once the pages are copied, not a global lock.
 *
 * Why the result is consistent (the argument restore relies on):
 *  - Every change before START_LSN (the checkpoint) is in the tablespace files (L3 of
 *    redo-log.ts), and files only gain newer page images, so each copied page holds at least the
 *    state at START_LSN, or is a page first written after it, whose every change is in the redo.
 *  - Every page on disk has PAGE_LSN <= the durable LSN when it was written (rule WAL), and
 *    END_LSN is taken after the last page is copied, so no copied page is ahead of END_LSN (BK2).
 *  - The tail holds every group in [START_LSN, END_LSN) (BK3), read through the one log reader:
 *    zeros, a short read or a bad checksum at the tail are "not there yet" and read again in the
 *    next slice (rule LOG-TAIL, seed 000), never records. If the writer laps the tail, the reader
 *    says so (R3) and the backup fails rather than miss a group.
 *  - Spaces created during the copy are found by listing the directory again until no new one
 *    appears; a space dropped during the copy has its FILE_DELETE in the tail, and recovery of
 *    the backup removes it.
 *
 * Invariants:
 *  HB1. A page is written to the backup only after it passed its checks (or is all zeros); a
 *       page that keeps failing after `rereadsMax` reads fails the backup with `CorruptionError`.
 *  HB2. No slice does more than `slicePages` page copies and one redo read, so writers wait at
 *       most one slice (the timing script measures the longest stall).
 *  HB3. The completion marker is written last, after every other file is synced (BK1).
 */
import { CorruptionError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { assert } from '../util/assert.js';
import { PageCheck, type PageCheckResult, checkPage, describePageCheck, pageLsn } from '../page/page.js';
import { spaceFileName } from '../page/tablespace.js';
import { LogReader } from '../redo/log-reader.js';
import { GROUP_OVERHEAD_BYTES } from '../redo/redo-record.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';
import {
  BACKUP_FORMAT,
  BACKUP_MANIFEST_FILE,
  BACKUP_MANIFEST_TMP,
  BACKUP_REDO_FILE,
  BACKUP_REDO_HEADER_BYTES,
  type BackupFileEntry,
  type BackupManifest,
  digestOf,
  encodeManifest,
  encodeRedoHeader,
} from './backup-format.js';
import type { Storage } from './storage.js';

export interface BackupProgress {
  readonly phase: 'copy' | 'tail' | 'done';
  readonly pagesCopied: number;
  /** Pages the spaces held when last looked at: grows if the database grows meanwhile. */
  readonly pagesTotal: number;
  readonly bytesCopied: number;
  readonly redoBytes: number;
  readonly startLsn: number;
  readonly tailLsn: number;
}

export interface BackupOptions {
  readonly onProgress?: (progress: BackupProgress) => void;
  /** Incremental: copy only pages whose PAGE_LSN is above this LSN (a previous backup's endLsn). */
  readonly sinceLsn?: number;
  /** Pages copied per slice between the engine's operations (HB2). Default 64. */
  readonly slicePages?: number;
  /** Reads of a page that fails its checks before the backup fails (HB1). Default 8. */
  readonly rereadsMax?: number;
  /** Called between slices (tests: crash here, or run writers); awaited. */
  readonly betweenSlices?: () => void | Promise<void>;
}

export interface BackupResult extends BackupManifest {
  readonly bytesCopied: number;
  /**
   * Tail reads that stopped short of what the writer had already written: zeros, a short read or
   * a bad checksum at the tail (seed 000), read again in a later slice (R2).
   */
  readonly tailWaits: number;
}

/** Log read per tail call; the tail reads again in the same slice while it keeps up (HB2). */
const TAIL_CHUNK_BYTES = 1 << 20;
const TAIL_READS_PER_SLICE = 8;

interface SpaceCopy {
  readonly spaceId: number;
  readonly name: string;
  readonly source: VfsFile;
  readonly target: VfsFile;
  /** The CHECKSUM fields of the pages copied so far, in page order. */
  sums: Uint8Array;
  next: number;
  /** Pages in the source when last looked at. */
  pages: number;
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Runs a hot backup of `storage` into the empty directory `destination`. */
export async function hotBackup(
  storage: Storage,
  destination: Vfs,
  options: BackupOptions = {},
): Promise<BackupResult> {
  const backup = new HotBackup(storage, destination, options);
  return backup.run();
}

class HotBackup {
  private readonly storage: Storage;
  private readonly dest: Vfs;
  private readonly options: BackupOptions;
  private readonly pageSize: number;
  private readonly slicePages: number;
  private readonly rereadsMax: number;
  private readonly page: Uint8Array;
  private readonly startLsn: number;
  private readonly reader: LogReader;
  private readonly redo: VfsFile;
  private tailLsn: number;
  private redoGroups = 0;
  private redoSums = new Uint8Array(4096);
  private readonly copies = new Map<number, SpaceCopy>();
  private readonly queue: number[] = [];
  private readonly done: SpaceCopy[] = [];
  private pagesCopied = 0;
  private pagesReread = 0;
  private tailWaits = 0;
  private bytesCopied = 0;

  constructor(storage: Storage, dest: Vfs, options: BackupOptions) {
    if (options.sinceLsn !== undefined && (!Number.isSafeInteger(options.sinceLsn) || options.sinceLsn < 0)) {
      throw new InvalidArgumentError(`sinceLsn must be a non-negative integer, got ${String(options.sinceLsn)}`);
    }
    const slicePages = options.slicePages ?? 64;
    if (!Number.isInteger(slicePages) || slicePages < 1) {
      throw new InvalidArgumentError(`slicePages must be a positive integer, got ${String(slicePages)}`);
    }
    if (dest.list('').length > 0) {
      throw new InvalidArgumentError('the backup destination must be an empty directory');
    }
    this.storage = storage;
    this.dest = dest;
    this.options = options;
    this.pageSize = storage.pageSize;
    this.slicePages = slicePages;
    this.rereadsMax = options.rereadsMax ?? 8;
    this.page = new Uint8Array(storage.pageSize);
    // The checkpoint current now: every change before it is in the files (L3).
    this.startLsn = storage.log.checkpointLsn;
    this.tailLsn = this.startLsn;
    this.reader = new LogReader(storage.log.file, TAIL_CHUNK_BYTES);
    this.redo = dest.open(BACKUP_REDO_FILE, { create: true, exclusive: true });
    this.redo.write(encodeRedoHeader(this.startLsn, this.pageSize), 0);
    this.queue.push(...storage.spaces.listSpaceFiles());
  }

  async run(): Promise<BackupResult> {
    try {
      // Copy every space; list again until no new space appears (one created meanwhile).
      for (;;) {
        while (this.queue.length > 0 || this.copying() !== undefined) {
          this.tail();
          this.copySlice();
          this.report('copy');
          await this.between();
        }
        const fresh = this.storage.spaces.listSpaceFiles().filter((id) => !this.copies.has(id));
        if (fresh.length === 0) break;
        this.queue.push(...fresh);
      }
      // END_LSN: everything appended so far, made durable (the pages copied are all at or below it).
      const endLsn = this.storage.log.currentLsn;
      await this.storage.log.waitDurable(endLsn);
      while (this.tailLsn < endLsn) {
        this.tail(endLsn);
        this.report('tail');
        if (this.tailLsn < endLsn) await this.between();
      }
      assert(this.tailLsn === endLsn, 'BK3 the tail ends exactly at END_LSN');
      return await this.finish(endLsn);
    } finally {
      for (const copy of this.copies.values()) {
        copy.source.close();
        copy.target.close();
      }
      this.redo.close();
    }
  }

  private async between(): Promise<void> {
    await yieldToEventLoop();
    await this.options.betweenSlices?.();
  }

  private copying(): SpaceCopy | undefined {
    for (;;) {
      const current = [...this.copies.values()].find((copy) => copy.next >= 0);
      if (current !== undefined) return current;
      const spaceId = this.queue.shift();
      if (spaceId === undefined) return undefined;
      const name = spaceFileName(spaceId);
      let source: VfsFile;
      try {
        source = this.storage.vfs.open(name, { readOnly: true });
      } catch (error) {
        // Dropped before we got to it: its FILE_DELETE is in the tail (the drop logs it first).
        if (error instanceof NotFoundError) continue;
        throw error;
      }
      const target = this.dest.open(name, { create: true, exclusive: true });
      this.copies.set(spaceId, { spaceId, name, source, target, sums: new Uint8Array(8 * 64), next: 0, pages: 0 });
    }
  }

  /** One slice of page copies (HB2). */
  private copySlice(): void {
    let budget = this.slicePages;
    while (budget > 0) {
      const copy = this.copying();
      if (copy === undefined) return;
      const pages = Math.floor(copy.source.size() / this.pageSize);
      copy.pages = pages;
      while (budget > 0 && copy.next < pages) {
        this.copyPage(copy, copy.next);
        copy.next++;
        budget--;
      }
      if (copy.next >= pages) {
        copy.sums = copy.sums.slice(0, 8 * copy.next);
        this.done.push(copy);
        copy.next = -1 - copy.next; // finished; -1 - pages
        // One space open at a time, however many tables: finish() reopens the target to sync it.
        copy.source.close();
        copy.target.close();
      }
    }
  }

  private copyPage(copy: SpaceCopy, pageNo: number): void {
    const page = this.page;
    let result: PageCheckResult = PageCheck.BadChecksum;
    for (let attempt = 0; attempt < this.rereadsMax; attempt++) {
      const got = copy.source.read(page, pageNo * this.pageSize);
      if (got < this.pageSize) page.fill(0, got);
      result = checkPage(page, copy.spaceId, pageNo);
      if (result === PageCheck.Valid || result === PageCheck.Empty) break;
      this.pagesReread++; // caught mid-write, or a bad read: read it again (HB1)
    }
    if (result !== PageCheck.Valid && result !== PageCheck.Empty) {
      throw new CorruptionError(copy.name, pageNo, `${describePageCheck(result, page)} in ${this.rereadsMax} reads`);
    }
    if (copy.sums.length < 8 * (pageNo + 1)) {
      const grown = new Uint8Array(Math.max(copy.sums.length * 2, 8 * (pageNo + 1)));
      grown.set(copy.sums);
      copy.sums = grown;
    }
    const since = this.options.sinceLsn;
    if (since !== undefined && (result === PageCheck.Empty || pageLsn(page) <= since)) return; // incremental
    copy.sums.set(page.subarray(0, 8), 8 * pageNo);
    copy.target.write(page, pageNo * this.pageSize);
    this.pagesCopied++;
    this.bytesCopied += this.pageSize;
  }

  /**
   * Reads the groups that are there now, up to `endLsn` if given, and appends them to
   * backup.redo. Zeros, a short read or a bad checksum end the read for now (R2).
   */
  private tail(endLsn = Number.POSITIVE_INFINITY): void {
    const log = this.storage.log;
    for (let read = 0; read < TAIL_READS_PER_SLICE; read++) {
      // What the writer has handed to the file; its buffer reaches the file in its own time.
      const written = Math.min(log.writtenLsn, endLsn);
      if (this.tailLsn >= written) return;
      const before = this.tailLsn;
      const { groups } = this.reader.readGroups(this.tailLsn, log.checkpointLsn);
      for (const group of groups) {
        if (group.startLsn >= endLsn) break;
        this.appendGroup(group.startLsn, group.endLsn, group.bytes);
      }
      const fullChunk = this.tailLsn - before >= TAIL_CHUNK_BYTES - 64 * 1024;
      if (!fullChunk && this.tailLsn < written) {
        // Written, but not readable yet: zeros or a torn group at the tail (R2, seed 000).
        this.tailWaits++;
        return;
      }
    }
  }

  private appendGroup(startLsn: number, endLsn: number, bytes: Uint8Array): void {
    assert(startLsn === this.tailLsn, 'R1 groups follow each other');
    assert(bytes.length >= GROUP_OVERHEAD_BYTES, 'a group has its header and checksum');
    this.redo.write(bytes, BACKUP_REDO_HEADER_BYTES + (startLsn - this.startLsn));
    if (this.redoSums.length < 4 * (this.redoGroups + 1)) {
      const grown = new Uint8Array(this.redoSums.length * 2);
      grown.set(this.redoSums);
      this.redoSums = grown;
    }
    this.redoSums.set(bytes.subarray(bytes.length - 4), 4 * this.redoGroups);
    this.redoGroups++;
    this.tailLsn = endLsn;
  }

  private report(phase: BackupProgress['phase']): void {
    const onProgress = this.options.onProgress;
    if (onProgress === undefined) return;
    let pagesTotal = 0;
    for (const copy of this.copies.values()) pagesTotal += copy.pages;
    onProgress({
      phase,
      pagesCopied: this.pagesCopied,
      pagesTotal,
      bytesCopied: this.bytesCopied,
      redoBytes: this.tailLsn - this.startLsn,
      startLsn: this.startLsn,
      tailLsn: this.tailLsn,
    });
  }

  /** Syncs every file, then writes the completion marker (HB3, BK1). */
  private async finish(endLsn: number): Promise<BackupResult> {
    const spaces: BackupFileEntry[] = [];
    for (const copy of this.done.sort((a, b) => a.spaceId - b.spaceId)) {
      const pages = -1 - copy.next;
      const target = this.dest.open(copy.name);
      try {
        // An incremental copy may skip the last pages; the file still spans every page.
        if (target.size() < pages * this.pageSize) target.truncate(pages * this.pageSize);
        await target.datasyncAsync();
      } finally {
        target.close();
      }
      spaces.push({ spaceId: copy.spaceId, file: copy.name, pages, digest: digestOf(copy.sums) });
    }
    await this.redo.datasyncAsync();
    await this.dest.syncDirAsync('');
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      kind: this.options.sinceLsn === undefined ? 'full' : 'incremental',
      ...(this.options.sinceLsn === undefined ? {} : { sinceLsn: this.options.sinceLsn }),
      pageSize: this.pageSize,
      logCapacity: this.storage.log.capacity,
      startLsn: this.startLsn,
      endLsn,
      spaces,
      redo: {
        file: BACKUP_REDO_FILE,
        bytes: endLsn - this.startLsn,
        groups: this.redoGroups,
        digest: digestOf(this.redoSums.subarray(0, 4 * this.redoGroups)),
      },
      pagesCopied: this.pagesCopied,
      pagesReread: this.pagesReread,
    };
    const marker = this.dest.open(BACKUP_MANIFEST_TMP, { create: true, truncate: true });
    try {
      marker.write(new TextEncoder().encode(encodeManifest(manifest)), 0);
      await marker.datasyncAsync();
    } finally {
      marker.close();
    }
    this.dest.rename(BACKUP_MANIFEST_TMP, BACKUP_MANIFEST_FILE);
    await this.dest.syncDirAsync('');
    this.report('done');
    return { ...manifest, bytesCopied: this.bytesCopied, tailWaits: this.tailWaits };
  }
}
