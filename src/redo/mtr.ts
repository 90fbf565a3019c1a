/**
 * The mini-transaction: the only way a page changes.
 *
 * InnoDB counterpart: `mtr/mtr0mtr.cc` (mtr_t, mtr_t::Command::execute) and the mlog_write_*
 * functions. An mtr fixes the pages it touches, changes them through its write methods (each of
 * which also appends a redo record), and at commit appends all its records to the log as one
 * group, whose [start, end) LSNs it stamps on every page it changed, putting them on the flush list.
 *
 *     start (log free check) --> getPage / createPage / write* ... --> commit
 *                                                                  \-> abort (only if nothing written)
 *
 * There is no rollback of an mtr, as in InnoDB: callers check everything that can fail (a
 * duplicate key, a full page) before the first write. The database is single-threaded (DESIGN:
 * the event loop is the latch), so an mtr runs start to commit in one synchronous stretch and at
 * most one is active: the pages it has fixed cannot be touched or flushed by anyone else.
 *
 * ## Invariants
 *  T1 (rule MTR). Every change of a page image is made by a method of an active mtr that fixed the
 *     page, and is described by a redo record of the same group. In debug mode every modified page
 *     is snapshot at its first change and, at commit, the snapshot with the group's records
 *     applied must equal the page byte for byte: an unlogged change fails the commit at once.
 *  T2. At most one mtr is active; it neither awaits nor yields.
 *  T3. A committed group is in the log before its pages are on the flush list (the LSN stamped on
 *     a page is never ahead of the log buffer), so WAL can be enforced at flush time.
 */
import { assert, debugChecks } from '../util/assert.js';
import { copyBytes } from '../util/bytes.js';
import { FIL_PAGE_TYPE, FIL_TRAILER_BYTES, initPage, writeU16, writeU32, writeU64 } from '../page/page.js';
import type { PageMutator } from '../page/space-allocator.js';
import type { BufferPool } from '../buffer/buffer-pool.js';
import type { EngineEvent } from '../vfs/vfs.js';
import {
  RECORD_HEADER_BYTES,
  RedoType,
  applyPageRecord,
  isPageRecord,
  recordLength,
  recordPageNo,
  recordSpaceId,
  recordType,
} from './redo-record.js';
import type { RedoLog } from './redo-log.js';

/** `writeChanged` logs two changed runs as one when fewer equal bytes than a write record's header and length fields separate them. */
const CHANGED_RUN_GAP_BYTES = RECORD_HEADER_BYTES + 4;

/** The records buffer kept between mtrs; one that needs more grows it for its own life only. */
const MTR_RECORDS_BYTES = 64 * 1024;

/** What an mtr needs from the storage core. One context serves every mtr in turn (T2). */
export class MtrContext {
  readonly pool: BufferPool;
  readonly log: RedoLog;
  readonly onEvent: ((name: EngineEvent) => void) | undefined;
  /** The active mtr's records (reused: at most one mtr is active). */
  records = new Uint8Array(MTR_RECORDS_BYTES);
  /** Per frame: 1 while the active mtr has modified it. */
  readonly modifiedFlag: Uint8Array;
  active: MiniTransaction | undefined;
  /** Commits so far. */
  commits = 0;

  /** Bytes held for mtrs (the engine's memory account): the records buffer and the per-frame flags. */
  memoryBytes(): number {
    return this.records.byteLength + this.modifiedFlag.byteLength;
  }

  constructor(pool: BufferPool, log: RedoLog, onEvent?: (name: EngineEvent) => void) {
    this.pool = pool;
    this.log = log;
    this.modifiedFlag = new Uint8Array(pool.frameCount);
    this.onEvent = onEvent;
  }
}

export class MiniTransaction implements PageMutator {
  private readonly ctx: MtrContext;
  private readonly fixed: number[] = [];
  private readonly modified: number[] = [];
  private recordsLength = 0;
  private snapshots: Map<number, Uint8Array> | undefined;
  private done = false;

  /** Use `Storage.startMtr()`, which makes room in the log first. */
  constructor(ctx: MtrContext) {
    assert(ctx.active === undefined, 'T2 only one mini-transaction is active at a time');
    this.ctx = ctx;
    ctx.active = this;
    if (debugChecks()) this.snapshots = new Map();
  }

  get isActive(): boolean {
    return !this.done;
  }

  /** Fixes a page for this mtr (read from disk if needed) and returns its frame. */
  getPage(spaceId: number, pageNo: number): Uint8Array {
    this.checkActive();
    const frame = this.ctx.pool.fix(spaceId, pageNo);
    this.fixed.push(frame);
    return this.ctx.pool.frames[frame]!;
  }

  /** Initialises a page (INIT_PAGE: no read needed, at recovery either) and returns its frame. */
  createPage(spaceId: number, pageNo: number, type: number): Uint8Array {
    this.checkActive();
    const pool = this.ctx.pool;
    const frame = pool.fixForCreate(spaceId, pageNo);
    this.fixed.push(frame);
    const view = pool.frames[frame]!;
    this.noteModified(frame, view);
    initPage(view, spaceId, pageNo, type);
    const at = this.reserveRecord(RedoType.InitPage, spaceId, pageNo, 2);
    writeU16(this.ctx.records, at, type);
    return view;
  }

  /** Copies `source[sourceStart, sourceEnd)` into the page at `offset`. */
  write(page: Uint8Array, offset: number, source: Uint8Array, sourceStart = 0, sourceEnd = source.length): void {
    const length = sourceEnd - sourceStart;
    if (length === 0) return;
    const frame = this.frameOf(page, offset, length);
    copyBytes(page, offset, source, sourceStart, sourceEnd);
    this.logWrite(frame, offset, length, page);
  }

  /**
   * Overwrites the page at `offset` with `source` (same length as the bytes it replaces), logging
   * only the runs of bytes that change: an in-place update of one field of a 1 KB record logs that
   * field and the record's transaction fields, not the record (InnoDB's MLOG_REC_UPDATE_IN_PLACE
   * logs the changed fields only). Runs closer than a write record's own header are logged as one.
   */
  writeChanged(page: Uint8Array, offset: number, source: Uint8Array): void {
    const length = source.length;
    let at = 0;
    while (at < length) {
      while (at < length && page[offset + at] === source[at]) at++;
      if (at === length) return;
      let last = at;
      for (let i = at + 1; i < length && i - last <= CHANGED_RUN_GAP_BYTES; i++) {
        if (page[offset + i] !== source[i]) last = i;
      }
      this.write(page, offset + at, source, at, last + 1);
      at = last + 1;
    }
  }

  writeU8(page: Uint8Array, offset: number, value: number): void {
    const frame = this.frameOf(page, offset, 1);
    page[offset] = value;
    this.logWrite(frame, offset, 1, page);
  }

  writeU16(page: Uint8Array, offset: number, value: number): void {
    const frame = this.frameOf(page, offset, 2);
    writeU16(page, offset, value);
    this.logWrite(frame, offset, 2, page);
  }

  writeU32(page: Uint8Array, offset: number, value: number): void {
    const frame = this.frameOf(page, offset, 4);
    writeU32(page, offset, value);
    this.logWrite(frame, offset, 4, page);
  }

  writeU64(page: Uint8Array, offset: number, value: number): void {
    const frame = this.frameOf(page, offset, 8);
    writeU64(page, offset, value);
    this.logWrite(frame, offset, 8, page);
  }

  /** memmove inside a page, logged as one small MOVE record (B-tree record shifting). */
  move(page: Uint8Array, destination: number, source: number, length: number): void {
    if (length === 0) return;
    const frame = this.frameOf(page, Math.min(destination, source), Math.abs(destination - source) + length);
    page.copyWithin(destination, source, source + length);
    const at = this.reserveRecord(RedoType.Move, this.ctx.pool.spaceOf(frame), this.ctx.pool.pageOf(frame), 6);
    const records = this.ctx.records;
    writeU16(records, at, destination);
    writeU16(records, at + 2, source);
    writeU16(records, at + 4, length);
  }

  /** memset inside a page, logged as one FILL record. */
  fill(page: Uint8Array, offset: number, length: number, byte: number): void {
    if (length === 0) return;
    const frame = this.frameOf(page, offset, length);
    page.fill(byte, offset, offset + length);
    const at = this.reserveRecord(RedoType.Fill, this.ctx.pool.spaceOf(frame), this.ctx.pool.pageOf(frame), 5);
    const records = this.ctx.records;
    writeU16(records, at, offset);
    writeU16(records, at + 2, length);
    records[at + 4] = byte;
  }

  /** Logs that a space's file exists (recovery creates it if missing). */
  logFileCreate(spaceId: number): void {
    this.checkActive();
    this.reserveRecord(RedoType.FileCreate, spaceId, 0, 0);
  }

  /** Logs that a space's file is deleted (recovery deletes it and skips its pages). */
  logFileDelete(spaceId: number): void {
    this.checkActive();
    this.reserveRecord(RedoType.FileDelete, spaceId, 0, 0);
  }

  /** Bytes of redo this mtr has produced so far. */
  get redoBytes(): number {
    return this.recordsLength;
  }

  /**
   * The frames this mtr has changed so far, in the order of their first change (a live view: do
   * not keep it past the next write). The change buffer keeps its bitmap in step with them.
   */
  get modifiedFrames(): readonly number[] {
    return this.modified;
  }

  /**
   * Appends the group to the log, stamps and dirties the changed pages, releases every fix.
   * Returns the group's end LSN (what a durable commit waits for); for an mtr that changed
   * nothing, the current LSN.
   */
  commit(): number {
    this.checkActive();
    const ctx = this.ctx;
    let endLsn = ctx.log.currentLsn;
    if (this.recordsLength > 0) {
      if (this.snapshots !== undefined) this.verifyLogged();
      let lsns: { startLsn: number; endLsn: number };
      try {
        lsns = ctx.log.appendGroup(ctx.records, this.recordsLength); // T3: log first
      } catch (error) {
        // The log refused (an earlier sync failed: L4). The changed frames stay unlogged and can
        // never be flushed (the WAL gate refuses too); release the mtr so later calls get the
        // same I/O error instead of an assertion about an mtr left open.
        for (const frame of this.modified) ctx.modifiedFlag[frame] = 0;
        this.release();
        throw error;
      }
      endLsn = lsns.endLsn;
      // A large mtr grew the records buffer (reserveRecord); give that back (docs "Memory").
      if (ctx.records.length > MTR_RECORDS_BYTES) ctx.records = new Uint8Array(MTR_RECORDS_BYTES);
      for (const frame of this.modified) {
        ctx.pool.markDirty(frame, lsns.startLsn, lsns.endLsn);
        ctx.modifiedFlag[frame] = 0;
      }
      ctx.commits++;
    }
    this.release();
    if (this.recordsLength > 0) ctx.onEvent?.('mtr-commit');
    return endLsn;
  }

  /**
   * Drops an mtr abandoned by an exception after it changed pages: its changes are in frames but
   * not in the log. The caller has poisoned the log first (L4), so no page can be flushed again;
   * recovery, which replays only committed groups, is the way on.
   */
  releaseAfterFailure(): void {
    this.checkActive();
    for (const frame of this.modified) this.ctx.modifiedFlag[frame] = 0;
    this.release();
  }

  /** Ends an mtr that has written nothing (for example after a check failed). */
  abort(): void {
    this.checkActive();
    assert(this.recordsLength === 0, 'T1 an mtr that changed pages cannot be abandoned: its changes would be unlogged');
    this.release();
  }

  private release(): void {
    const pool = this.ctx.pool;
    for (const frame of this.fixed) pool.unfix(frame);
    this.fixed.length = 0;
    this.modified.length = 0;
    this.done = true;
    this.ctx.active = undefined;
  }

  private checkActive(): void {
    assert(!this.done, 'T2 use of a committed mini-transaction');
  }

  /** The frame index of a page view, checking the range and that this mtr fixed it (T1). */
  private frameOf(page: Uint8Array, offset: number, length: number): number {
    this.checkActive();
    const pool = this.ctx.pool;
    const frame = pool.frameIndexOf(page);
    assert(
      pool.frames[frame] === page || pool.frames[frame]!.byteOffset === page.byteOffset,
      'T1 write to a buffer pool frame',
    );
    assert(
      offset >= FIL_PAGE_TYPE && offset + length <= page.length - FIL_TRAILER_BYTES,
      () => `T1 write [${offset}, +${length}) must stay inside the page body (page size ${page.length})`,
    );
    assert(pool.isFixed(frame), 'T1 write to a page this mtr has not fixed');
    this.noteModified(frame, page);
    return frame;
  }

  private noteModified(frame: number, view: Uint8Array): void {
    // B9 of buffer-pool.ts: at every write, not only the first of this mtr, so that a position
    // remembered between two writes of one mtr is not trusted either.
    this.ctx.pool.bumpModifyClock(frame);
    if (this.ctx.modifiedFlag[frame] === 1) return;
    this.ctx.modifiedFlag[frame] = 1;
    this.modified.push(frame);
    this.snapshots?.set(frame, view.slice());
  }

  private logWrite(frame: number, offset: number, length: number, page: Uint8Array): void {
    const pool = this.ctx.pool;
    const at = this.reserveRecord(RedoType.Write, pool.spaceOf(frame), pool.pageOf(frame), 4 + length);
    const records = this.ctx.records;
    writeU16(records, at, offset);
    writeU16(records, at + 2, length);
    copyBytes(records, at + 4, page, offset, offset + length);
  }

  /** Appends a record header and reserves `payload` bytes; returns the payload's offset. */
  private reserveRecord(type: number, spaceId: number, pageNo: number, payload: number): number {
    const needed = this.recordsLength + RECORD_HEADER_BYTES + payload;
    const ctx = this.ctx;
    if (needed > ctx.records.length) {
      let size = ctx.records.length * 2;
      while (size < needed) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(ctx.records.subarray(0, this.recordsLength));
      ctx.records = grown;
    }
    const records = ctx.records;
    const at = this.recordsLength;
    records[at] = type;
    writeU32(records, at + 1, spaceId);
    writeU32(records, at + 5, pageNo);
    this.recordsLength = needed;
    return at + RECORD_HEADER_BYTES;
  }

  /** T1 in debug mode: replaying this mtr's records on the snapshots reproduces the pages. */
  private verifyLogged(): void {
    const snapshots = this.snapshots!;
    const pool = this.ctx.pool;
    const records = this.ctx.records;
    for (let at = 0; at < this.recordsLength; ) {
      const type = recordType(records, at);
      const length = recordLength(records, at);
      assert(length > 0, `T1 record type ${type} is known`);
      if (isPageRecord(type)) {
        const frame = pool.lookup(recordSpaceId(records, at), recordPageNo(records, at));
        const snapshot = snapshots.get(frame);
        assert(snapshot !== undefined, 'T1 a logged page was noted as modified');
        applyPageRecord(records, at, snapshot);
      }
      at += length;
    }
    for (const [frame, snapshot] of snapshots) {
      const page = pool.frames[frame]!;
      // Bytes [0, 24) (checksum, ids, LSN) and the trailer are set by sealing and commit, not records.
      for (let i = FIL_PAGE_TYPE; i < page.length - FIL_TRAILER_BYTES; i++) {
        if (page[i] !== snapshot[i]) {
          assert(
            false,
            `T1 (rule MTR) page ${pool.spaceOf(frame)}:${pool.pageOf(frame)} byte ${i} changed without a redo record`,
          );
        }
      }
    }
  }
}
