/**
 * Tablespace files and the registry of open ones.
 *
 * InnoDB counterpart: `fil/fil0fil.cc` (the fil_system: space id to file, page reads and writes,
 * the open-files limit) and the FSP header of `fsp/fsp0fsp.cc`. A tablespace is one file of
 * fixed-size pages. Page 0 is its header:
 *
 * | offset | size | field          | meaning                                                      |
 * |--------|------|----------------|--------------------------------------------------------------|
 * | 0      | 40   | FIL header     | see `page.ts` (PAGE_TYPE = SpaceHeader)                      |
 * | 40     | 4    | SPACE_MAGIC    | 0x4d4e5350 ("MNSP"): the file is a minno tablespace          |
 * | 44     | 2    | SPACE_FORMAT   | 1; a larger number is a newer format we refuse to open       |
 * | 46     | 2    | (reserved)     | zero                                                         |
 * | 48     | 4    | SPACE_PAGE_SIZE| page size in bytes, fixed at creation                        |
 * | 52     | 4    | SPACE_SPACE_ID | the space id again                                           |
 * | 56     | 4    | SPACE_SIZE     | pages [0, SIZE) are in use or on the free list               |
 * | 60     | 4    | SPACE_FREE_HEAD| first page of the free list (linked by FIL NEXT), or NIL     |
 * | 64     | 4    | SPACE_FREE_LEN | number of pages on the free list                             |
 * | 68     | 60   | (reserved)     | zero                                                         |
 * | 128    | ...  | user area      | owned by the layer above (dictionary roots, trx sys, ...)    |
 *
 * The header is changed only through mini-transactions (see `space-allocator.ts`), like any page.
 *
 * File names derive from space ids (`space-000007.ibd`; the system tablespace is space 0), so
 * recovery maps a redo record's space id to its file without any name registry. InnoDB needs
 * MLOG_FILE_NAME records written at every checkpoint for this; we avoid the whole mechanism.
 *
 * Open handles are bounded by `maxOpenFiles` (InnoDB's innodb_open_files) with `lru-cache`, whose
 * semantics fit exactly here: least recently used handle closed first, a dispose hook to close it.
 * A closed handle loses nothing: the VFS writes through, and which spaces still need a sync is
 * tracked per space, not per handle.
 *
 * Invariants:
 *  S1. Every page read is verified (P1-P4 of page.ts) before anyone sees it; a bad page raises
 *      `CorruptionError` naming the file and page (rule CHECKSUM).
 *  S2. Every page is sealed (checksum computed) right before it is written, and re-verified in
 *      debug mode.
 *  S3. A space's file is never shorter than what was last synced of it plus what is written
 *      since; reads of pages past the end report `Empty`.
 *  S4. A write is durable once a `sync` returns after it, or an asynchronous sync started after it
 *      settles: `sync` syncs while an asynchronous one is in flight, not trusting it yet.
 *  S5. A handle is never closed while an asynchronous sync of it is in flight.
 */
import { LRUCache } from 'lru-cache';
import { CorruptionError, IncompatibleFormatError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { assert, debugChecks } from '../util/assert.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';
import {
  FIL_HEADER_BYTES,
  NIL_PAGE,
  PageCheck,
  PageType,
  assertPageValid,
  checkPage,
  describePageCheck,
  initPage,
  readU16,
  readU32,
  sealPage,
  writeU16,
  writeU32,
  type PageCheckResult,
} from './page.js';

export const SPACE_MAGIC = 0x4d4e5350;
export const SPACE_FORMAT = 1;
export const SPACE_MAGIC_OFFSET = FIL_HEADER_BYTES; // 40
export const SPACE_FORMAT_OFFSET = 44;
export const SPACE_PAGE_SIZE_OFFSET = 48;
export const SPACE_SPACE_ID_OFFSET = 52;
export const SPACE_SIZE_OFFSET = 56;
export const SPACE_FREE_HEAD_OFFSET = 60;
export const SPACE_FREE_LEN_OFFSET = 64;
/** First byte of the header page that the layers above may use. */
export const SPACE_USER_OFFSET = 128;

export const SYSTEM_SPACE_ID = 0;
/** Space ids stay below 2^20 so that (space, page) packs into one safe integer key. */
export const SPACE_ID_MAX = 0xfffff;

export function spaceFileName(spaceId: number): string {
  return spaceId === SYSTEM_SPACE_ID ? 'system.ibd' : `space-${String(spaceId).padStart(6, '0')}.ibd`;
}

/** Parses a file name made by `spaceFileName`; undefined for other files. */
export function spaceIdFromFileName(name: string): number | undefined {
  if (name === 'system.ibd') return SYSTEM_SPACE_ID;
  const match = /^space-(\d{6,7})\.ibd$/.exec(name);
  return match === null ? undefined : Number(match[1]);
}

/** Writes a fresh header page image for a space of `sizePages` pages with an empty free list. */
export function formatSpaceHeader(page: Uint8Array, spaceId: number, sizePages: number): void {
  initPage(page, spaceId, 0, PageType.SpaceHeader);
  writeU32(page, SPACE_MAGIC_OFFSET, SPACE_MAGIC);
  writeU16(page, SPACE_FORMAT_OFFSET, SPACE_FORMAT);
  writeU32(page, SPACE_PAGE_SIZE_OFFSET, page.length);
  writeU32(page, SPACE_SPACE_ID_OFFSET, spaceId);
  writeU32(page, SPACE_SIZE_OFFSET, sizePages);
  writeU32(page, SPACE_FREE_HEAD_OFFSET, NIL_PAGE);
  writeU32(page, SPACE_FREE_LEN_OFFSET, 0);
}

/** One tablespace file. Reads and writes whole pages, checked (S1, S2). */
export class Tablespace {
  readonly spaceId: number;
  readonly path: string;
  readonly pageSize: number;
  /** Written since its last sync: the checkpoint must sync it. */
  needsSync = false;
  /** The asynchronous sync started last, until it settles (S4). */
  private pendingSync: Promise<void> | undefined;
  private readonly registry: SpaceRegistry;

  constructor(registry: SpaceRegistry, spaceId: number, path: string, pageSize: number) {
    this.registry = registry;
    this.spaceId = spaceId;
    this.path = path;
    this.pageSize = pageSize;
  }

  private file(): VfsFile {
    return this.registry.handleFor(this);
  }

  /** Pages the file holds now (its length over the page size, rounded down). */
  filePages(): number {
    return Math.floor(this.file().size() / this.pageSize);
  }

  /**
   * Reads page `pageNo` into `target` and checks it, without throwing; pages past the end read
   * as `Empty` (zeros). For recovery, which decides what to do with a bad page.
   */
  readPageUnchecked(pageNo: number, target: Uint8Array): PageCheckResult {
    assert(target.length === this.pageSize, 'read target is one page');
    const got = this.file().read(target, pageNo * this.pageSize);
    if (got < this.pageSize) target.fill(0, got);
    return checkPage(target, this.spaceId, pageNo);
  }

  /**
   * Reads the pages from `firstPage` on into `target` (whole pages) in one read, unchecked: the
   * caller checks each (`checkPage`) before using it (S1), as the pool load does. Bytes past the
   * end of the file read as zeros (`Empty` pages). Returns the pages the file holds of them.
   */
  readPagesUnchecked(firstPage: number, target: Uint8Array): number {
    assert(target.length > 0 && target.length % this.pageSize === 0, 'a read of whole pages');
    const got = this.file().read(target, firstPage * this.pageSize);
    if (got < target.length) target.fill(0, got);
    return Math.floor(got / this.pageSize);
  }

  /** Reads and verifies page `pageNo` (S1). An empty (never written) page is corruption here. */
  readPage(pageNo: number, target: Uint8Array): void {
    const result = this.readPageUnchecked(pageNo, target);
    if (result !== PageCheck.Valid) {
      throw new CorruptionError(this.path, pageNo, describePageCheck(result, target));
    }
  }

  /** Seals and writes a page image (S2). The image's header must name this page. */
  writePage(pageNo: number, image: Uint8Array): void {
    sealPage(image);
    this.writeSealedPage(pageNo, image);
  }

  /** Writes a page image that `sealPage` has just sealed (the buffer pool seals once per flush). */
  writeSealedPage(pageNo: number, image: Uint8Array): void {
    assert(image.length === this.pageSize, 'page image is one page');
    assert(
      readU32(image, 8) === pageNo && readU32(image, 12) === this.spaceId,
      () => `S2 page image names ${readU32(image, 12)}:${readU32(image, 8)}, written to ${this.spaceId}:${pageNo}`,
    );
    if (debugChecks()) assertPageValid(image, this.path, this.spaceId, pageNo);
    this.file().write(image, pageNo * this.pageSize);
    this.needsSync = true;
  }

  /** Grows the file to at least `pages` pages (zeros). Not logged: recovery re-extends as needed. */
  ensureFilePages(pages: number): void {
    const file = this.file();
    if (file.size() < pages * this.pageSize) {
      file.truncate(pages * this.pageSize);
      this.needsSync = true;
    }
  }

  sync(): void {
    // S4: writes an asynchronous sync covers are durable only once it settles.
    if (!this.needsSync && this.pendingSync === undefined) return;
    this.file().datasync();
    this.needsSync = false;
  }

  /**
   * `sync` off the event loop (V7 of vfs.ts): settles once every page written before the call is
   * durable, or returns undefined when nothing written is waiting for a sync. S4: until it
   * settles, `sync` still syncs (its caller may need the writes durable now).
   */
  syncAsync(): Promise<void> | undefined {
    if (!this.needsSync) return this.pendingSync;
    this.needsSync = false;
    const pending = this.registry.datasyncAsync(this).finally(() => {
      if (this.pendingSync === pending) this.pendingSync = undefined;
    });
    this.pendingSync = pending;
    return pending;
  }
}

export interface SpaceRegistryOptions {
  readonly vfs: Vfs;
  readonly pageSize: number;
  /** Upper bound on simultaneously open tablespace files (innodb_open_files). */
  readonly maxOpenFiles?: number;
}

/** The fil_system: which spaces exist, and their open file handles. */
export class SpaceRegistry {
  readonly vfs: Vfs;
  readonly pageSize: number;
  private readonly spaces = new Map<number, Tablespace>();
  private readonly openFiles: LRUCache<number, VfsFile>;

  constructor(options: SpaceRegistryOptions) {
    this.vfs = options.vfs;
    this.pageSize = options.pageSize;
    const maxOpenFiles = options.maxOpenFiles ?? 256;
    if (!Number.isInteger(maxOpenFiles) || maxOpenFiles < 2) {
      throw new InvalidArgumentError(`maxOpenFiles must be an integer >= 2, got ${String(maxOpenFiles)}`);
    }
    this.openFiles = new LRUCache<number, VfsFile>({
      max: maxOpenFiles,
      // S5: a handle with an asynchronous sync in flight closes when the sync settles.
      dispose: (file) => (this.syncing.has(file) ? this.closeWhenSettled.add(file) : file.close()),
    });
  }

  /** Handles with asynchronous syncs in flight, and how many (S5). */
  private readonly syncing = new Map<VfsFile, number>();
  private readonly closeWhenSettled = new Set<VfsFile>();

  /**
   * An asynchronous datasync of the space's file. S5: the handle stays open until it settles,
   * even if the open-file limit evicts it meanwhile (closing a descriptor a thread-pool sync is
   * using could sync, or fail on, whatever file takes its number next).
   */
  datasyncAsync(space: Tablespace): Promise<void> {
    const file = this.handleFor(space);
    this.syncing.set(file, (this.syncing.get(file) ?? 0) + 1);
    return file.datasyncAsync().finally(() => {
      const left = this.syncing.get(file)! - 1;
      if (left > 0) {
        this.syncing.set(file, left);
        return;
      }
      this.syncing.delete(file);
      if (this.closeWhenSettled.delete(file)) file.close();
    });
  }

  handleFor(space: Tablespace): VfsFile {
    let file = this.openFiles.get(space.spaceId);
    if (file === undefined) {
      file = this.vfs.open(space.path);
      this.openFiles.set(space.spaceId, file);
    }
    return file;
  }

  get(spaceId: number): Tablespace | undefined {
    return this.spaces.get(spaceId);
  }

  /** The space, or a `NotFoundError` naming it. */
  require(spaceId: number): Tablespace {
    const space = this.spaces.get(spaceId);
    if (space === undefined) throw new NotFoundError(spaceFileName(spaceId), `tablespace ${spaceId}`);
    return space;
  }

  all(): IterableIterator<Tablespace> {
    return this.spaces.values();
  }

  exists(spaceId: number): boolean {
    return this.spaces.has(spaceId);
  }

  /**
   * Creates the file of a new space (empty; its pages come through redo-logged mini-transactions
   * and the buffer pool). Syncs the directory (rule DIR) so the file cannot vanish once its first
   * page reaches it. Idempotent for recovery: an existing file is reused.
   */
  createFile(spaceId: number): Tablespace {
    assert(Number.isInteger(spaceId) && spaceId >= 0 && spaceId <= SPACE_ID_MAX, `space id ${spaceId} in range`);
    const path = spaceFileName(spaceId);
    const file = this.vfs.open(path, { create: true });
    file.close();
    this.vfs.syncDir('');
    const space = new Tablespace(this, spaceId, path, this.pageSize);
    this.spaces.set(spaceId, space);
    return space;
  }

  /**
   * Opens an existing space file and checks its header page: ours, a format we know, our page
   * size, the space id its name says. A file whose header page is torn is opened anyway when
   * `allowBadHeader` is set (recovery repairs it from the doublewrite buffer or redo).
   */
  openFile(spaceId: number, allowBadHeader = false): Tablespace {
    const path = spaceFileName(spaceId);
    const space = new Tablespace(this, spaceId, path, this.pageSize);
    this.spaces.set(spaceId, space);
    const file = this.handleFor(space);
    const size = file.size();
    if (size === 0) return space; // created, header not yet flushed: recovery will rebuild it
    const probe = new Uint8Array(Math.min(size, this.pageSize));
    file.read(probe, 0);
    const magic = probe.length >= 64 ? readU32(probe, SPACE_MAGIC_OFFSET) : 0;
    const allZero = probe.every((b) => b === 0);
    if (!allZero && magic !== SPACE_MAGIC && !allowBadHeader) {
      this.forget(spaceId);
      throw new IncompatibleFormatError(path, 'not a minno tablespace (bad magic number)');
    }
    if (magic === SPACE_MAGIC) {
      const format = readU16(probe, SPACE_FORMAT_OFFSET);
      const pageSize = readU32(probe, SPACE_PAGE_SIZE_OFFSET);
      if (format > SPACE_FORMAT) {
        this.forget(spaceId);
        throw new IncompatibleFormatError(
          path,
          `tablespace format ${format} is newer than this minno (${SPACE_FORMAT})`,
        );
      }
      if (pageSize !== this.pageSize) {
        this.forget(spaceId);
        throw new IncompatibleFormatError(
          path,
          `tablespace has page size ${pageSize}, the database is opened with ${this.pageSize}; open it with pageSize: ${pageSize}`,
        );
      }
    }
    return space;
  }

  /**
   * Whether a space file whose header page may be torn is really this space's file, before
   * recovery writes a doublewrite copy into it: its header still shows our magic, or another of
   * its first pages is a valid page of this space, or a non-zero sector of its header equals the
   * copy's (a torn write keeps some sectors whole). A foreign file passes none of these.
   */
  isOurs(space: Tablespace, headerCopy: Uint8Array): boolean {
    const page = new Uint8Array(this.pageSize);
    space.readPageUnchecked(0, page);
    if (readU32(page, SPACE_MAGIC_OFFSET) === SPACE_MAGIC && readU32(page, SPACE_SPACE_ID_OFFSET) === space.spaceId)
      return true;
    const sector = 512;
    for (let at = 0; at < this.pageSize; at += sector) {
      let nonZero = false;
      let same = true;
      for (let i = at; i < at + sector; i++) {
        if (page[i] !== headerCopy[i]) {
          same = false;
          break;
        }
        if (page[i] !== 0) nonZero = true;
      }
      if (same && nonZero) return true;
    }
    const probe = new Uint8Array(this.pageSize);
    for (let pageNo = 1; pageNo <= 8; pageNo++) {
      if (space.readPageUnchecked(pageNo, probe) === PageCheck.Valid) return true;
    }
    return false;
  }

  /**
   * Checks a space's header page after recovery repaired what it could: valid, ours, a format we
   * know, our page size. `rebuiltByRedo`: the redo re-initialises page 0, so a bad one is fine.
   */
  validateHeader(space: Tablespace, rebuiltByRedo: boolean): void {
    const page = new Uint8Array(this.pageSize);
    const result = space.readPageUnchecked(0, page);
    const magic = readU32(page, SPACE_MAGIC_OFFSET);
    if (result !== PageCheck.Valid) {
      if (rebuiltByRedo) return;
      if (magic !== SPACE_MAGIC)
        throw new IncompatibleFormatError(space.path, 'not a minno tablespace (bad magic number)');
      throw new CorruptionError(
        space.path,
        0,
        `${describePageCheck(result, page)}; no doublewrite copy or redo can repair the header`,
      );
    }
    if (magic !== SPACE_MAGIC)
      throw new IncompatibleFormatError(space.path, 'not a minno tablespace (bad magic number)');
    const format = readU16(page, SPACE_FORMAT_OFFSET);
    if (format > SPACE_FORMAT) {
      throw new IncompatibleFormatError(
        space.path,
        `tablespace format ${format} is newer than this minno (${SPACE_FORMAT})`,
      );
    }
    if (
      readU32(page, SPACE_PAGE_SIZE_OFFSET) !== this.pageSize ||
      readU32(page, SPACE_SPACE_ID_OFFSET) !== space.spaceId
    ) {
      throw new IncompatibleFormatError(
        space.path,
        `header names space ${readU32(page, SPACE_SPACE_ID_OFFSET)} with page size ${readU32(page, SPACE_PAGE_SIZE_OFFSET)}`,
      );
    }
  }

  /** Removes a space's file, syncing its directory (rule DIR). Idempotent. */
  deleteFile(spaceId: number): void {
    this.forget(spaceId);
    const path = spaceFileName(spaceId);
    if (this.vfs.stat(path) !== undefined) {
      this.vfs.remove(path);
      this.vfs.syncDir('');
    }
  }

  /** Ids of the space files present in the root directory. */
  listSpaceFiles(): number[] {
    const ids: number[] = [];
    for (const name of this.vfs.list('')) {
      const id = spaceIdFromFileName(name);
      if (id !== undefined) ids.push(id);
    }
    return ids.sort((a, b) => a - b);
  }

  private forget(spaceId: number): void {
    this.openFiles.delete(spaceId);
    this.spaces.delete(spaceId);
  }

  /** Syncs every space written since its last sync. */
  syncAll(): void {
    for (const space of this.spaces.values()) space.sync();
  }

  close(): void {
    this.openFiles.clear();
    this.spaces.clear();
  }
}
