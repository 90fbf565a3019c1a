/**
 * Crash recovery: from the newest checkpoint to the end of the valid log.
 *
 * InnoDB counterpart: `log/log0recv.cc` (recv_recovery_from_checkpoint_start, recv_apply_hashed_log_recs)
 * and `buf/buf0dblwr.cc` (recv_dblwr_t). Steps, each of which may be interrupted by another crash
 * and simply redone (every step is idempotent):
 *
 *  1. Read both checkpoint slots; take the newest valid one (a torn slot leaves the other). Sync
 *     the log and the directory, and (in step 3) every space file: after a process crash the dead
 *     process's unsynced writes are still in the OS page cache, recovery builds on them, and a
 *     power cut after step 7 must not take them (RC2).
 *  2. Read the log from the checkpoint LSN through a window of RECOVERY_WINDOW_BYTES (RC5) to
 *     find its end: the first group that is short, zero, from another lap, or fails its checksum
 *     ends the log (rule LOG-TAIL; R1, R2 of log-reader.ts). This first pass keeps only what
 *     steps 3 and 4 need (file records, the spaces named, whether each space's page 0 starts with
 *     INIT_PAGE), not the records. Two ends are corruption, not a tail: a bad
 *     group that a later valid group shows was durable, and a valid group of a later lap right at
 *     the end (the scan started from a checkpoint older than the newest: its slot is damaged).
 *  3. File records: a space with FILE_DELETE is deleted and its page records are dropped (space
 *     ids are never reused); a space with FILE_CREATE gets its file back if it is missing. An empty
 *     space file with no FILE_CREATE in the log is the leftover of a creation whose redo never
 *     became durable: it is removed. Except the system tablespace: missing or empty with no
 *     FILE_CREATE, it is a leftover only while the log is still the new one (checkpoint at
 *     LSN_START, no group); otherwise the file was lost, and that is corruption, reported before
 *     anything is removed (RC3).
 *  4. Doublewrite: a page that fails its checks in its tablespace is overwritten by its valid copy
 *     in the doublewrite file, if one exists that is not newer than the end of the log (rule TORN).
 *     Then every space's header page must be valid and ours (or be rebuilt by its redo): a file
 *     that is not a minno tablespace is refused before anything is written to it.
 *  5. Read the same groups again, one window (a batch of whole groups) at a time, sort each
 *     batch's page records by page, and apply it page by page in order of first LSN before the
 *     window moves on: a record is applied only if its group ends after the page's LSN (rule
 *     IDEMPOTENT); the page's LSN becomes the last applied group's end. A
 *     page still bad after step 4 is corruption (`CorruptionError` naming file and page), unless
 *     its first record re-initialises it. Progress goes to `onProgress`.
 *  6. Flush every recovered page and sync the spaces.
 *  7. Continue the log one whole lap later: a checkpoint at `end + capacity`. Any bytes still in
 *     the ring from before the crash carry LSNs below that, so they can never be taken for new
 *     groups, whatever a crash left behind the end (a group that was lost while a later one
 *     reached the disk, say). This replaces InnoDB's epoch numbers and MariaDB's sequence bit.
 *
 * Invariants:
 *  RC1. Recovery applies exactly the groups a scan of the durable log finds valid, each at most
 *       once per page, and never one past the first invalid group.
 *  RC2. Everything recovery read (log, directory entries, pages) is durable before it writes a page
 *       or a checkpoint: a power cut at any later point finds at least what it found.
 *  RC3. A database whose log has moved past its creation always has its system tablespace:
 *       recovery never re-creates an empty database over a lost `system.ibd`.
 *  RC4. Recovery gives the event loop back between slices of its scan, apply and flush (issue
 *       11: an open after a crash must not freeze the process), and nothing else touches the
 *       engine meanwhile: the Storage is not handed out until `recover` returns. So the steps
 *       above, and their order, are the same as in one pass.
 *  RC5. Recovery's memory beyond the pool is bounded by its window, not by the redo to apply: it
 *       holds at most RECOVERY_WINDOW_BYTES of log (2 MiB; more only for a single group longer
 *       than that, and then that group's length), the redo index of one window (24 bytes per
 *       record, and a record takes at least 11 bytes of log: under 5 MiB), the distinct pages of
 *       one window (about 50 bytes each), and the doublewrite file's valid copies (at most its
 *       slots: 2 MiB by default). About 10 MiB in all, during the open. Until session 6 the
 *       scan buffer was one array of the log's capacity (64 MiB by default), allocated on every
 *       open and resident as far as the log was read: a crash with a full log took 64 MiB beyond
 *       the pool. InnoDB bounds its parsed-record heap by the buffer pool instead (recv_sys's
 *       multi-batch apply). Both passes cut the log into the same batches (`scanLog`), and a
 *       page's records in later batches are newer than in earlier ones, so applying batch by
 *       batch applies each record once and in LSN order (RC1, IDEMPOTENT).
 */
import { CorruptionError } from '../errors.js';
import { assert } from '../util/assert.js';
import { PageCheck, describePageCheck, pageLsn, readU64 } from '../page/page.js';
import { SYSTEM_SPACE_ID, spaceFileName, type SpaceRegistry } from '../page/tablespace.js';
import type { BufferPool } from '../buffer/buffer-pool.js';
import { PageHash } from '../buffer/page-hash.js';
import type { Doublewrite } from '../buffer/doublewrite.js';
import type { EngineEvent } from '../vfs/vfs.js';
import {
  GROUP_HEADER_BYTES,
  GROUP_OVERHEAD_BYTES,
  GroupCheck,
  RedoType,
  checkGroup,
  groupDurableLsn,
  type GroupCheckResult,
  groupLength,
  applyPageRecord,
  isPageRecord,
  recordLength,
  recordPageNo,
  recordSpaceId,
  recordType,
} from './redo-record.js';
import { LSN_START, type Checkpoint, type LogFile } from './log-file.js';
import { SliceClock } from '../util/slices.js';

/** Pages recovery flushes between two looks at the clock (one doublewrite batch or so). */
const RECOVERY_FLUSH_PAGES = 32;

export interface RecoveryProgress {
  /**
   * Pages whose redo has been applied so far, of `pagesTotal`: a page counts once per window of
   * the log that has records for it (RC5), so a page touched all through a long log counts more
   * than once.
   */
  readonly pagesApplied: number;
  readonly pagesTotal: number;
  /** LSN reached (the first LSN of the page being applied) and the end of the log. */
  readonly lsn: number;
  readonly endLsn: number;
}

export interface RecoveryResult {
  readonly checkpointLsn: number;
  readonly checkpointNumber: number;
  /** End of the valid log found. */
  readonly endLsn: number;
  /** Where the log continues (one lap after `endLsn`). */
  readonly nextLsn: number;
  readonly groups: number;
  readonly redoBytes: number;
  readonly recordsApplied: number;
  /** Pages applied, once per window of the log that has records for them (RC5). */
  readonly pagesApplied: number;
  readonly pagesRestoredFromDoublewrite: number;
  readonly spacesCreated: number;
  readonly spacesDeleted: number;
  /** Batches step 5 applied (RC5): one unless the redo was longer than the window. */
  readonly batches: number;
  /** The window's largest length, bytes: RECOVERY_WINDOW_BYTES unless one group was longer. */
  readonly windowBytes: number;
}

export interface RecoveryInput {
  readonly logFile: LogFile;
  readonly registry: SpaceRegistry;
  readonly pool: BufferPool;
  readonly doublewrite: Doublewrite | undefined;
  readonly onProgress?: ((progress: RecoveryProgress) => void) | undefined;
  readonly onEvent?: ((name: EngineEvent) => void) | undefined;
  /** Test-only seam (StorageTestSeams): accept groups that fail their checks. */
  readonly applyTornGroups?: boolean;
  /** Work between two turns of the event loop (default SLICE_MS; tests: 0). */
  readonly sliceMs?: number;
  /** The window on the log (default RECOVERY_WINDOW_BYTES; tests make it small: RC5). */
  readonly windowBytes?: number;
}

/**
 * Records per chunk of the redo index: 4 Ki records, 96 KiB of typed arrays. Small enough that
 * the crash tests' recoveries cross chunk boundaries; a 190 MB log takes about 1,500 chunks.
 */
const INDEX_CHUNK_BITS = 12;
const INDEX_CHUNK = 1 << INDEX_CHUNK_BITS;
const INDEX_CHUNK_MASK = INDEX_CHUNK - 1;

/**
 * The page records of the scanned log, chained per page in typed arrays: one allocation per
 * 4 Ki records, none per record. The arrays grow by whole chunks and are never copied: doubling
 * one array of millions of records (a large log) stopped the event loop for tens of milliseconds
 * (RC4). Pages are numbered in order of their first record, which is LSN order, so applying pages
 * in index order keeps the flush list ordered (B4).
 */
class RedoIndex {
  private readonly offsetChunks: Int32Array[] = [];
  private readonly groupStartChunks: Float64Array[] = [];
  private readonly groupEndChunks: Float64Array[] = [];
  private readonly nextChunks: Int32Array[] = [];
  records = 0;
  readonly pageSpace: number[] = [];
  readonly pageNo: number[] = [];
  readonly pageFirst: number[] = [];
  readonly pageLast: number[] = [];
  private readonly byPage = new PageHash(1024, true);

  add(spaceId: number, pageNo: number, offset: number, groupStart: number, groupEnd: number): void {
    const r = this.records++;
    const chunk = r >>> INDEX_CHUNK_BITS;
    const at = r & INDEX_CHUNK_MASK;
    if (at === 0) {
      this.offsetChunks.push(new Int32Array(INDEX_CHUNK));
      this.groupStartChunks.push(new Float64Array(INDEX_CHUNK));
      this.groupEndChunks.push(new Float64Array(INDEX_CHUNK));
      this.nextChunks.push(new Int32Array(INDEX_CHUNK));
    }
    this.offsetChunks[chunk]![at] = offset;
    this.groupStartChunks[chunk]![at] = groupStart;
    this.groupEndChunks[chunk]![at] = groupEnd;
    this.nextChunks[chunk]![at] = -1;
    let page = this.byPage.get(spaceId, pageNo);
    if (page < 0) {
      page = this.pageSpace.length;
      this.byPage.set(spaceId, pageNo, page);
      this.pageSpace.push(spaceId);
      this.pageNo.push(pageNo);
      this.pageFirst.push(r);
      this.pageLast.push(r);
    } else {
      const last = this.pageLast[page]!;
      this.nextChunks[last >>> INDEX_CHUNK_BITS]![last & INDEX_CHUNK_MASK] = r;
      this.pageLast[page] = r;
    }
  }

  /** Where record `r` starts in the scanned log. */
  offset(r: number): number {
    return this.offsetChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The start LSN of the group that holds record `r`. */
  groupStart(r: number): number {
    return this.groupStartChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The end LSN of the group that holds record `r`. */
  groupEnd(r: number): number {
    return this.groupEndChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The page's next record after `r`, or -1. */
  next(r: number): number {
    return this.nextChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The first record of a page, or -1. */
  first(spaceId: number, pageNo: number): number {
    const page = this.byPage.get(spaceId, pageNo);
    return page < 0 ? -1 : this.pageFirst[page]!;
  }

  get pages(): number {
    return this.pageSpace.length;
  }
}

/**
 * The most log bytes recovery holds at once (RC5): its window on the log, which holds one batch
 * of whole groups (step 5 applies a batch, then the window moves on), and the redo index of that
 * batch beside it (at most about 24 bytes per record, records of at least 11 bytes). A single
 * group larger than the window grows it to that group's length for the rest of the pass.
 */
export const RECOVERY_WINDOW_BYTES = 2 * 1024 * 1024;
/** One read of the log, a few milliseconds at most (RC4). */
const READ_CHUNK_BYTES = 1 << 20;

interface ScanOptions {
  /** The window's length (RECOVERY_WINDOW_BYTES; tests make it small to cross batches). */
  readonly windowBytes: number;
  /** Stop at this LSN (the end pass 1 found); undefined: at the first group that is not valid. */
  readonly endLsn?: number;
  /**
   * Called before the window moves past the groups handed to `onGroup` so far (the end of a
   * batch: their bytes are about to be overwritten).
   */
  readonly endOfBatch?: () => Promise<void>;
}

/**
 * Reads the log from `startLsn` through a window of `windowBytes` (RC5), handing each valid group
 * to `onGroup` with the window that holds it, until the first group that is short, zero, from
 * another lap or fails its checksum (step 2), or until `options.endLsn`. Batches are deterministic:
 * a batch ends exactly where the next group would end past the window, whatever was read beyond
 * it, so the two passes of `recover` cut the log at the same groups.
 */
async function scanLog(
  logFile: LogFile,
  startLsn: number,
  check: typeof checkGroup,
  onGroup: (bytes: Uint8Array, at: number, length: number, startLsn: number) => void,
  slices: SliceClock,
  options: ScanOptions,
): Promise<{ endLsn: number; windowBytes: number }> {
  const capacity = logFile.capacity;
  const stopAt = options.endLsn ?? Number.POSITIVE_INFINITY;
  let window = new Uint8Array(Math.min(capacity, Math.max(options.windowBytes, GROUP_OVERHEAD_BYTES)));
  let base = startLsn; // the LSN of window[0]
  let have = 0; // bytes of the window read
  let at = 0; // the next group's offset in the window
  let eof = false;
  /** Reads more of the log into the window, moving or growing it when full. False at the log's end. */
  const fill = async (): Promise<boolean> => {
    // Never more than one lap from the start, never past the end pass 1 found.
    const readable = Math.min(capacity - (base - startLsn), stopAt - base) - have;
    if (eof || readable <= 0) return false;
    if (have === window.length) {
      if (at > 0) {
        await options.endOfBatch?.();
        window.copyWithin(0, at, have);
        base += at;
        have -= at;
        at = 0;
      }
      if (have === window.length) {
        // One group longer than the window (its header is valid: `check` said Short).
        const grown = new Uint8Array(Math.min(capacity, Math.max(groupLength(window), 2 * window.length)));
        grown.set(window);
        window = grown;
      }
    }
    const want = Math.min(READ_CHUNK_BYTES, window.length - have, readable);
    const got = logFile.readRing(window.subarray(have, have + want), base + have);
    have += got;
    if (got < want) eof = true;
    return got > 0;
  };
  await fill();
  for (;;) {
    if (slices.due()) await slices.yield();
    if (base + at >= stopAt) break;
    let result = checkGroup(window.subarray(at, have), base + at, capacity);
    if (result === GroupCheck.Short && (await fill())) continue;
    // Only the test seam reads a group differently, and only once the log has no more of it.
    if (check !== checkGroup) result = check(window.subarray(at, have), base + at, capacity);
    if (result !== GroupCheck.Valid) break;
    const length = Math.min(groupLength(window.subarray(at, have)), have - at);
    onGroup(window, at, length, base + at);
    at += length;
  }
  return { endLsn: base + at, windowBytes: window.length };
}

/**
 * Steps 1 to 6. The caller (Storage.open) then writes the checkpoint of step 7. The scan, the
 * apply and the flush give the event loop back every SLICE_MS or so (RC4).
 */
export async function recover(input: RecoveryInput): Promise<RecoveryResult> {
  const { logFile, registry, pool } = input;
  const slices = new SliceClock(input.sliceMs);
  const checkpoint = logFile.readCheckpoint(); // step 1
  // After a process crash the kernel lived on: what recovery reads may sit only in its page cache,
  // and a power cut later would take it. Make the log durable before anything derived from it
  // reaches a tablespace (rule WAL for recovered pages), and the directory now; the space files
  // are synced as they are opened (step 3), before step 7 moves the log past what they hold.
  logFile.file.datasync();
  registry.vfs.syncDir('');
  // The open's setup and these syncs were one stretch without a turn of the event loop: the scan
  // starts a slice of its own (RC4).
  await slices.yield();

  // Step 2, pass 1: find the end of the valid log, and what steps 3 and 4 need from all of it
  // (file records, the spaces page records name, whether each space's page 0 starts with
  // INIT_PAGE), keeping no records: the window moves on (RC5). Pass 2 (step 5) reads the same
  // groups again, one batch at a time.
  const windowBytes = input.windowBytes ?? RECOVERY_WINDOW_BYTES;
  const created = new Set<number>();
  const deleted = new Set<number>();
  /** Spaces that page records name: their files are ours, whatever a torn header shows. */
  const named = new Set<number>();
  /** Per space named on its page 0: whether its first record re-initialises the page. */
  const headerInit = new Map<number, boolean>();
  let groups = 0;
  let pagesTotal = 0;
  let batchPages = new PageHash(1024, true);
  const check = input.applyTornGroups === true ? checkGroupIgnoringChecksum : checkGroup;
  const pass1 = await scanLog(
    logFile,
    checkpoint.lsn,
    check,
    (bytes, groupAt, groupLengthBytes, startLsn) => {
      groups++;
      forEachRecord(logFile, bytes, groupAt, groupLengthBytes, startLsn, (type, spaceId, at) => {
        if (isPageRecord(type)) {
          const pageNo = recordPageNo(bytes, at);
          named.add(spaceId);
          if (pageNo === 0 && !headerInit.has(spaceId)) headerInit.set(spaceId, type === RedoType.InitPage);
          if (batchPages.get(spaceId, pageNo) < 0) {
            batchPages.set(spaceId, pageNo, 0);
            pagesTotal++;
          }
        } else if (type === RedoType.FileCreate) created.add(spaceId);
        else if (type === RedoType.FileDelete) deleted.add(spaceId);
      });
    },
    slices,
    {
      windowBytes,
      endOfBatch: async () => {
        batchPages = new PageHash(1024, true); // pass 2 visits a page once per batch
      },
    },
  );
  const endLsn = pass1.endLsn;

  detectCorruptMiddle(logFile, endLsn);
  detectLaterLap(logFile, endLsn);

  // Between steps too: the scan's last slice and step 3's syncs, say, were one stretch (RC4).
  if (slices.due()) await slices.yield();

  // Step 3: files.
  let spacesCreated = 0;
  let spacesDeleted = 0;
  const present = new Set(registry.listSpaceFiles());
  const systemLost = !present.has(SYSTEM_SPACE_ID) || registry.vfs.stat(spaceFileName(SYSTEM_SPACE_ID))?.size === 0;
  if (systemLost && !created.has(SYSTEM_SPACE_ID) && (checkpoint.lsn !== LSN_START || groups > 0)) {
    throw new CorruptionError(
      spaceFileName(SYSTEM_SPACE_ID),
      undefined,
      `the system tablespace is ${present.has(SYSTEM_SPACE_ID) ? 'empty' : 'missing'}, but the redo log shows a database that had one (checkpoint at LSN ${checkpoint.lsn}); restore system.ibd from the same backup as redo.log`,
    ); // RC3
  }
  for (const spaceId of present) {
    const empty = registry.vfs.stat(spaceFileName(spaceId))?.size === 0;
    if (deleted.has(spaceId) || (empty && !created.has(spaceId))) {
      registry.deleteFile(spaceId);
      spacesDeleted++;
    } else {
      // The dead process's page writes that its batch sync never covered (rule DURABLE).
      registry.handleFor(registry.openFile(spaceId, true)).datasync();
    }
  }
  for (const spaceId of created) {
    if (!deleted.has(spaceId) && !present.has(spaceId)) {
      registry.createFile(spaceId);
      spacesCreated++;
    }
  }

  if (slices.due()) await slices.yield();

  // Step 4: doublewrite. Headers first, and only into files shown to be ours: a foreign file
  // named like a space must be refused, never "repaired" with another file's page.
  let restored = 0;
  const copies = input.doublewrite?.readCopies(endLsn) ?? new Map<number, Uint8Array>();
  const probe = new Uint8Array(registry.pageSize);
  const restore = (key: number, copy: Uint8Array): void => {
    const space = registry.get(Math.floor(key / 4294967296));
    const pageNo = key % 4294967296;
    if (space === undefined || space.readPageUnchecked(pageNo, probe) === PageCheck.Valid) return;
    space.writeSealedPage(pageNo, copy);
    space.sync();
    restored++;
  };
  for (const spaceId of present) {
    const space = registry.get(spaceId);
    const headerCopy = copies.get(spaceId * 4294967296);
    // The redo naming the space proves the file ours; otherwise look at the file itself.
    const ours = named.has(spaceId) || created.has(spaceId);
    if (space !== undefined && headerCopy !== undefined && (ours || registry.isOurs(space, headerCopy))) {
      restore(spaceId * 4294967296, headerCopy);
    }
  }
  // With torn headers repaired, every space must now have a header that is ours, or one that
  // its redo rebuilds from scratch.
  for (const spaceId of present) {
    const space = registry.get(spaceId);
    if (space === undefined) continue;
    registry.validateHeader(space, headerInit.get(spaceId) === true);
  }
  for (const [key, copy] of copies) {
    if (key % 4294967296 !== 0) restore(key, copy);
  }

  if (slices.due()) await slices.yield();

  // Step 5, pass 2: read the groups again, one window at a time (RC5), and apply each batch page
  // by page in order of first LSN (the index's page order, B4). A page whose records span batches
  // is applied once per batch, its records in LSN order across them.
  let recordsApplied = 0;
  let pagesApplied = 0;
  let index = new RedoIndex();
  let batch: Uint8Array = new Uint8Array(0);
  let batches = 0;
  let pagesSkipped = 0;
  const applyBatch = async (): Promise<void> => {
    if (index.records === 0) return;
    batches++;
    const scanBuffer = Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength);
    for (let p = 0; p < index.pages; p++) {
      if (slices.due()) await slices.yield();
      const spaceId = index.pageSpace[p]!;
      const pageNo = index.pageNo[p]!;
      if (deleted.has(spaceId)) {
        pagesSkipped++;
        continue;
      }
      const space = registry.get(spaceId);
      if (space === undefined) {
        throw new CorruptionError(
          spaceFileName(spaceId),
          pageNo,
          'redo names a tablespace whose file is missing and whose creation is not in the log',
        );
      }
      const firstRecord = index.pageFirst[p]!;
      // A page of an earlier batch is whole by now (in the pool, or flushed); a page first met in
      // this batch meets its first record of the whole log here.
      const startsWithInit = recordType(batch, index.offset(firstRecord)) === RedoType.InitPage;
      const frame = pool.fixWith(spaceId, pageNo, (target) => {
        const result = space.readPageUnchecked(pageNo, target);
        if (result === PageCheck.Valid) return;
        if (startsWithInit) {
          target.fill(0); // rebuilt from nothing by its INIT_PAGE record
          return;
        }
        throw new CorruptionError(
          space.path,
          pageNo,
          `${describePageCheck(result, target)}; no valid doublewrite copy and the redo does not re-initialise it`,
        );
      });
      const frameView = pool.frames[frame]!;
      const page = Buffer.from(frameView.buffer, frameView.byteOffset, frameView.byteLength);
      const lsnBefore = pageLsn(page);
      if (lsnBefore > endLsn) {
        // WAL guarantees a page on disk is never ahead of the durable log, so the log lost an end.
        pool.unfix(frame);
        throw new CorruptionError(
          space.path,
          pageNo,
          `page LSN ${lsnBefore} is ahead of the end of the redo log (${endLsn}): the log is truncated or corrupt`,
        );
      }
      let firstApplied = 0;
      let lastEnd = 0;
      let walked = 0;
      for (let r = firstRecord; r >= 0; r = index.next(r)) {
        // A page every mtr touched (a space header, say) has hundreds of thousands of records,
        // applied or skipped (a page flushed late before the crash skips nearly all): the event
        // loop turns between them too, counted by records walked. The frame stays fixed, and
        // nothing else runs (RC4).
        if ((++walked & 1023) === 0 && slices.due()) await slices.yield();
        const groupEnd = index.groupEnd(r);
        if (groupEnd <= lsnBefore) continue; // rule IDEMPOTENT
        applyPageRecord(scanBuffer, index.offset(r), page);
        recordsApplied++;
        if (firstApplied === 0) firstApplied = index.groupStart(r);
        lastEnd = groupEnd;
      }
      if (lastEnd > 0) pool.markDirty(frame, firstApplied, lastEnd);
      pool.unfix(frame);
      pagesApplied++;
      if ((pagesApplied & 31) === 0 || pagesApplied === pagesTotal) {
        input.onProgress?.({ pagesApplied, pagesTotal, lsn: index.groupStart(firstRecord), endLsn });
        input.onEvent?.('recovery-apply');
      }
    }
    index = new RedoIndex();
  };
  const pass2 = await scanLog(
    logFile,
    checkpoint.lsn,
    check,
    (bytes, groupAt, groupLengthBytes, startLsn) => {
      batch = bytes;
      const endOfGroup = startLsn + groupLengthBytes;
      forEachRecord(logFile, bytes, groupAt, groupLengthBytes, startLsn, (type, spaceId, at) => {
        if (isPageRecord(type)) index.add(spaceId, recordPageNo(bytes, at), at, startLsn, endOfGroup);
      });
    },
    slices,
    { windowBytes, endLsn, endOfBatch: applyBatch },
  );
  assert(pass2.endLsn === endLsn, () => `RC1 pass 2 ends where pass 1 did (${pass2.endLsn}, ${endLsn})`);
  await applyBatch();
  assert(
    pagesApplied + pagesSkipped === pagesTotal,
    () => `RC5 both passes cut the log into the same batches (${pagesApplied} + ${pagesSkipped} pages, ${pagesTotal})`,
  );

  // Step 6: make the recovered state durable in the tablespaces, a flush batch at a time.
  while (pool.dirtyPages() > 0) {
    const flushed = pool.flushOldest(RECOVERY_FLUSH_PAGES);
    assert(flushed > 0, 'RC1 no recovered page stays fixed');
    if (slices.due()) await slices.yield();
  }
  registry.syncAll();
  assert(pool.dirtyPages() === 0, 'RC1 every recovered page flushed');
  // What the caller does next (the checkpoint of step 7, the engine's open) starts a turn of its own.
  await slices.yield();

  return {
    checkpointLsn: checkpoint.lsn,
    checkpointNumber: checkpoint.number,
    endLsn,
    nextLsn: endLsn + logFile.capacity,
    groups,
    redoBytes: endLsn - checkpoint.lsn,
    recordsApplied,
    pagesApplied,
    pagesRestoredFromDoublewrite: restored,
    spacesCreated,
    spacesDeleted,
    batches,
    windowBytes: Math.max(pass1.windowBytes, pass2.windowBytes),
  };
}

/** Calls `visit` for each record of the group at `groupAt`; a malformed record is corruption. */
function forEachRecord(
  logFile: LogFile,
  bytes: Uint8Array,
  groupAt: number,
  groupLengthBytes: number,
  startLsn: number,
  visit: (type: number, spaceId: number, at: number) => void,
): void {
  const end = groupAt + groupLengthBytes - 4;
  for (let at = groupAt + GROUP_HEADER_BYTES; at < end; ) {
    const type = recordType(bytes, at);
    const length = recordLength(bytes, at);
    if (length <= 0 || at + length > end) {
      // The checksum matched, so the writer produced this: a bug, not a torn tail.
      throw new CorruptionError(
        logFile.file.path,
        undefined,
        `redo group at LSN ${startLsn} has a malformed record at byte ${at - groupAt}`,
      );
    }
    visit(type, recordSpaceId(bytes, at), at);
    at += length;
  }
}

/**
 * Steps 1 and 2 alone, reading the log and nothing else: whether the log holds groups past its
 * checkpoint, which only recovery may apply. A read-only open refuses such a database
 * (`core/read-only-open.ts`).
 */
export async function scanPendingRedo(
  logFile: LogFile,
): Promise<{ checkpoint: Checkpoint; endLsn: number; groups: number }> {
  const checkpoint = logFile.readCheckpoint();
  let groups = 0;
  const { endLsn } = await scanLog(logFile, checkpoint.lsn, checkGroup, () => void groups++, new SliceClock(), {
    windowBytes: RECOVERY_WINDOW_BYTES,
  });
  detectCorruptMiddle(logFile, endLsn);
  detectLaterLap(logFile, endLsn); // as recover() does: a damaged newest checkpoint slot
  return { checkpoint, endLsn, groups };
}

/**
 * A bad group at the end of the scan is normally a torn tail. But when the group after it (by the
 * bad group's own length) is valid and says the log was durable past the bad group, the bad one
 * had been synced and was damaged afterwards: report it (see DURABLE_LSN in redo-record.ts).
 */
function detectCorruptMiddle(logFile: LogFile, endLsn: number): void {
  const header = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(header, endLsn) < header.length) return;
  const length = groupLength(header);
  if (readU64(header, 4) !== endLsn || length < GROUP_OVERHEAD_BYTES || length >= logFile.capacity / 2) return;
  const nextHeader = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(nextHeader, endLsn + length) < nextHeader.length) return;
  const nextLength = groupLength(nextHeader);
  if (nextLength < GROUP_OVERHEAD_BYTES || nextLength >= logFile.capacity / 2) return;
  const next = new Uint8Array(nextLength);
  if (logFile.readRing(next, endLsn + length) < nextLength) return;
  if (checkGroup(next, endLsn + length, logFile.capacity) !== GroupCheck.Valid) return;
  if (groupDurableLsn(next) >= endLsn + length) {
    throw new CorruptionError(
      logFile.file.path,
      undefined,
      `redo group at LSN ${endLsn} fails its checksum although later groups show it was durable; the log is damaged and committed work after LSN ${endLsn} cannot be recovered from it`,
    );
  }
}

/**
 * The log never holds a group of a later lap at the position where the valid log ends: writing LSN
 * `end + capacity` needs a checkpoint past `end` (L2), which needs `end` durable (L3), and after a
 * recovery the log continues one lap later only once that checkpoint is durable (step 7). So a valid
 * group there means recovery started from a checkpoint older than the newest one, whose slot must be
 * damaged: everything since would be dropped in silence. Report it (rules CHECKSUM, DURABLE).
 */
function detectLaterLap(logFile: LogFile, endLsn: number): void {
  const header = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(header, endLsn) < header.length) return;
  const startLsn = readU64(header, 4);
  const length = groupLength(header);
  if (startLsn <= endLsn || (startLsn - endLsn) % logFile.capacity !== 0) return;
  if (length < GROUP_OVERHEAD_BYTES || length > logFile.capacity) return;
  const group = new Uint8Array(length);
  if (logFile.readRing(group, endLsn) < length) return;
  if (checkGroup(group, startLsn, logFile.capacity) !== GroupCheck.Valid) return;
  throw new CorruptionError(
    logFile.file.path,
    undefined,
    `the redo log continues at LSN ${startLsn}, a later lap than where the scan from the checkpoint ended (${endLsn}): the newest checkpoint slot is damaged and the work after it cannot be found`,
  );
}

/** The seam behind `applyTornGroups`: a group counts when its LENGTH and START_LSN look right. */
function checkGroupIgnoringChecksum(bytes: Uint8Array, expectedLsn: number, lengthMax: number): GroupCheckResult {
  const result = checkGroup(bytes, expectedLsn, lengthMax);
  return result === GroupCheck.BadChecksum || (result === GroupCheck.Short && bytes.length >= GROUP_OVERHEAD_BYTES + 9)
    ? GroupCheck.Valid
    : result;
}
