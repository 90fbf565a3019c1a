/**
 * The transaction system header page: the trx id counter, the slot array of active undo logs and
 * the history list of committed update undo logs awaiting purge.
 *
 * InnoDB counterpart: `trx/trx0sys.cc` (the TRX_SYS page: TRX_SYS_TRX_ID_STORE,
 * trx_sys_get_new_trx_id, trx_sys_init_at_db_start), `trx/trx0rseg.cc` (a rollback segment
 * header: TRX_RSEG_UNDO_SLOTS and TRX_RSEG_HISTORY) and `trx/trx0purge.cc`
 * (trx_purge_add_update_undo_to_history, trx_purge_remove_log_hdr). Page 0 of space 0 records
 * where this page is, in bytes [128, 132) of its user area (`SPACE_USER_OFFSET + 0`; +4 belongs to
 * the dictionary, +8 to the change buffer).
 *
 * Byte table of the page (`PageType.TrxSys`, integers big-endian):
 *
 * | offset | size      | field           | meaning                                                 |
 * |--------|-----------|-----------------|---------------------------------------------------------|
 * | 0      | 40        | FIL header      | page.ts                                                 |
 * | 40     | 4         | MAGIC           | 0x4d4e5458 ("MNTX")                                     |
 * | 44     | 2         | FORMAT          | 1; a larger number is a newer format                    |
 * | 46     | 2         | SLOT_COUNT      | n: slots in the array (fixed by the page size at creation) |
 * | 48     | 8         | MAX_TRX_ID      | the trx id counter as last written (a multiple of 256, U11) |
 * | 56     | 4         | HISTORY_FIRST   | header page of the oldest committed update log, or NIL  |
 * | 60     | 4         | HISTORY_LAST    | header page of the newest, or NIL                       |
 * | 64     | 4         | HISTORY_LENGTH  | logs in the history list                                |
 * | 68     | 60        | (reserved)      | zero                                                    |
 * | 128    | 4 n       | SLOTS           | header page of an undo log in its slot, or NIL          |
 *
 * The history list is doubly linked through the log headers' LOG_HIST_PREV / LOG_HIST_NEXT
 * (undo-log.ts), oldest first; purge takes from the front, commit appends at the back.
 *
 * ## Transaction ids and serialisation numbers
 * One counter hands out both, as InnoDB's trx_sys_get_new_trx_id does: `assignTrxId` at a
 * transaction's first write, `assignTrxNo` at its commit, so trx_no values are ordered with the ids
 * and with each other. The counter is written to the page only when it hands out a multiple of
 * TRX_SYS_TRX_ID_WRITE_MARGIN (256), in the caller's mtr; after a restart counting resumes at the
 * stored value + 256, which is above every id that can have reached the disk (U11).
 *
 * ## Where we differ from InnoDB, and why
 *  - One slot array in this page instead of 128 rollback segments of 1024 slots in their own
 *    pages: one thread, so no contention to spread. With 4 KiB pages that is 990 slots (two per
 *    transaction at most: insert and update log), 1024 from 8 KiB pages up.
 *  - InnoDB restarts at stored + 2 x margin and writes when it hands out a multiple; we restart
 *    at stored + margin, which is enough because the write is in the same mtr that hands out the
 *    first id of each block (InnoDB writes in a separate mtr, so it needs the extra block).
 *
 * Invariants:
 *  U8. The history list holds exactly HISTORY_LENGTH logs, all COMMITTED update logs in no slot,
 *      ordered by strictly increasing trx_no from HISTORY_FIRST (checked at each append).
 *  U11. MAX_TRX_ID is a multiple of 256 and is written in the mtr that hands out that id; every id
 *      handed out is in [MAX_TRX_ID, MAX_TRX_ID + 256) of the latest write. Redo recovers a
 *      prefix of the mtrs, so any id on disk is below the recovered MAX_TRX_ID + 256, where
 *      counting resumes: ids and serialisation numbers never repeat or go backwards. (Checked at
 *      open against the slot logs and the newest history log.)
 *  U12. A slot names a log header whose LOG_SLOT is that slot; claiming and releasing follow U7.
 */
import { CorruptionError, IncompatibleFormatError, MinnoError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { FIL_TRAILER_BYTES, NIL_PAGE, PageType, pageTypeOf, readU16, readU32, readU64 } from '../page/page.js';
import { allocatePage } from '../page/space-allocator.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID, spaceFileName } from '../page/tablespace.js';
import {
  UNDO_LOG_HIST_NEXT,
  UNDO_LOG_HIST_PREV,
  UNDO_LOG_TRX_NO,
  UndoLogState,
  poolPageSource,
  type PageSource,
  type RollbackSegment,
  type UndoLogRef,
} from '../undo/undo-log.js';
import { UndoLogCache, undoCacheCapacity } from '../undo/undo-cache.js';
import { openUndoLog, undoLogInfo, type UndoLogInfo } from '../undo/undo-log-read.js';

/** The trx id counter is written every this many ids (InnoDB's TRX_SYS_TRX_ID_WRITE_MARGIN). */
export const TRX_SYS_TRX_ID_WRITE_MARGIN = 256;
/** Where page 0 of space 0 records the trx-sys page number: bytes [128, 132). 0 = not created. */
export const TRX_SYS_PAGE_NO_OFFSET = SPACE_USER_OFFSET;

export const TRX_SYS_MAGIC = 0x4d4e5458;
export const TRX_SYS_FORMAT = 1;
export const TRX_SYS_MAGIC_OFFSET = 40;
export const TRX_SYS_FORMAT_OFFSET = 44;
export const TRX_SYS_SLOT_COUNT_OFFSET = 46;
export const TRX_SYS_MAX_TRX_ID_OFFSET = 48;
export const TRX_SYS_HISTORY_FIRST_OFFSET = 56;
export const TRX_SYS_HISTORY_LAST_OFFSET = 60;
export const TRX_SYS_HISTORY_LENGTH_OFFSET = 64;
export const TRX_SYS_SLOTS_OFFSET = 128;
export const TRX_SYS_SLOTS_MAX = 1024;
/** Ids are stored in 6 bytes in rows and undo records. */
const TRX_ID_LIMIT = 2 ** 48;

const SYSTEM_FILE = spaceFileName(SYSTEM_SPACE_ID);

/** HISTORY_FIRST, HISTORY_LAST and HISTORY_LENGTH, composed for one `writeChanged`. */
const historyBoundsScratch = new Uint8Array(TRX_SYS_HISTORY_LENGTH_OFFSET + 4 - TRX_SYS_HISTORY_FIRST_OFFSET);
/** Big-endian, as page.ts writes every field. */
const historyBoundsView = new DataView(historyBoundsScratch.buffer);

/** Writes the history list's three fields, logging only the bytes that change (one redo record, as they lie together). */
function writeHistoryBounds(mtr: MiniTransaction, page: Uint8Array, first: number, last: number, length: number): void {
  const v = historyBoundsView;
  v.setUint32(0, first);
  v.setUint32(TRX_SYS_HISTORY_LAST_OFFSET - TRX_SYS_HISTORY_FIRST_OFFSET, last);
  v.setUint32(TRX_SYS_HISTORY_LENGTH_OFFSET - TRX_SYS_HISTORY_FIRST_OFFSET, length);
  mtr.writeChanged(page, TRX_SYS_HISTORY_FIRST_OFFSET, historyBoundsScratch);
}

/** Slots in the array for a page size. */
export function trxSysSlotCount(pageSize: number): number {
  return Math.min(TRX_SYS_SLOTS_MAX, Math.floor((pageSize - TRX_SYS_SLOTS_OFFSET - FIL_TRAILER_BYTES) / 4));
}

/**
 * Every undo slot is taken: too many transactions are writing at once (InnoDB's
 * DB_TOO_MANY_CONCURRENT_TRXS). Raised before anything is written; finish some and retry.
 */
export class UndoSlotsFullError extends MinnoError {
  readonly slots: number;
  constructor(slots: number) {
    super(
      'ERR_NO_SPACE',
      `all ${slots} undo log slots are in use: too many concurrent read-write transactions; ` +
        `commit or roll back some and retry (a larger page size gives more slots)`,
    );
    this.slots = slots;
  }
}

/** What recovery does with a log found in a slot (the decision table of undo-log.ts). */
export type UndoRecoveryAction = 'rollback' | 'finish-free' | 'cached';

export function recoveryActionFor(info: UndoLogInfo): UndoRecoveryAction {
  assert(info.slot !== undefined, 'U7 recovery acts on logs found in slots');
  if (info.state === UndoLogState.Active) return 'rollback';
  if (info.state === UndoLogState.Cached) return 'cached'; // U14: no transaction's; kept for reuse
  assert(info.log.kind === 'insert', () => `U7 a COMMITTED update log (${info.log.pageNo}) left its slot at commit`);
  return 'finish-free';
}

function corrupt(pageNo: number, detail: string): CorruptionError {
  return new CorruptionError(SYSTEM_FILE, pageNo, detail);
}

/** The trx-sys page: the trx id counter, and the rollback segment undo logs register in (U7). */
export class TrxSysPage implements RollbackSegment {
  /** The trx-sys page in space 0. */
  readonly pageNo: number;
  readonly slotCount: number;
  /** The slot logs in state CACHED, kept for reuse (undo/undo-cache.ts, U14). */
  readonly undoCache: UndoLogCache;
  private nextId: number;
  /** Where `findFreeSlot` starts looking: no slot below it is free, as far as this process changed them. */
  private freeSlotHint = 0;

  /** Use `createTrxSysPage` or `openTrxSysPage`. */
  constructor(pageNo: number, slotCount: number, nextId: number) {
    this.pageNo = pageNo;
    this.slotCount = slotCount;
    this.undoCache = new UndoLogCache(undoCacheCapacity(slotCount));
    this.nextId = nextId;
  }

  /** The next id or serialisation number to be handed out (a read view's low_limit_id). */
  get nextTrxIdOrNo(): number {
    return this.nextId;
  }

  /** Hands out a transaction id; the counter write, when due, goes into `mtr` (U11). */
  assignTrxId(mtr: MiniTransaction): number {
    return this.assign(mtr);
  }

  /** Hands out a serialisation number (trx_no) at commit, from the same counter (U11). */
  assignTrxNo(mtr: MiniTransaction): number {
    return this.assign(mtr);
  }

  /**
   * Hands out an id or number when no counter write is due (U11: the next id is not a multiple of
   * the margin), so the caller needs no mtr; undefined when one is due (call `assignTrxId`).
   */
  assignWithoutWrite(): number | undefined {
    const id = this.nextId;
    if (id % TRX_SYS_TRX_ID_WRITE_MARGIN === 0 || id >= TRX_ID_LIMIT) return undefined;
    this.nextId = id + 1;
    return id;
  }

  private assign(mtr: MiniTransaction): number {
    const id = this.nextId;
    assert(id < TRX_ID_LIMIT, 'U11 transaction ids fit 48 bits');
    if (id % TRX_SYS_TRX_ID_WRITE_MARGIN === 0) {
      mtr.writeU64(this.page(mtr), TRX_SYS_MAX_TRX_ID_OFFSET, id);
    }
    this.nextId = id + 1;
    return id;
  }

  /** MAX_TRX_ID as stored. */
  storedMaxTrxId(source: PageSource): number {
    return readU64(this.page(source), TRX_SYS_MAX_TRX_ID_OFFSET);
  }

  private page(source: PageSource): Uint8Array {
    const page = source.getPage(SYSTEM_SPACE_ID, this.pageNo);
    if (pageTypeOf(page) !== PageType.TrxSys)
      throw corrupt(this.pageNo, `the trx-sys page has type ${pageTypeOf(page)}`);
    return page;
  }

  // --- slots -------------------------------------------------------------------------------------

  /** A free slot, or `UndoSlotsFullError`. Writes nothing. */
  findFreeSlot(source: PageSource): number {
    const page = this.page(source);
    // From the hint first (the cache keeps hundreds of low slots taken), then from 0 before giving up.
    for (let slot = this.freeSlotHint; slot < this.slotCount; slot++) {
      if (readU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot) === NIL_PAGE) return slot;
    }
    for (let slot = 0; slot < Math.min(this.freeSlotHint, this.slotCount); slot++) {
      if (readU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot) === NIL_PAGE) return slot;
    }
    throw new UndoSlotsFullError(this.slotCount);
  }

  /** Puts a new log's header page in a free slot (U7: in the mtr that creates the log). */
  setSlot(mtr: MiniTransaction, slot: number, logPageNo: number): void {
    const page = this.page(mtr);
    assert(slot >= 0 && slot < this.slotCount, () => `slot ${slot} in range`);
    assert(readU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot) === NIL_PAGE, () => `U12 slot ${slot} is free`);
    mtr.writeU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot, logPageNo);
    if (slot === this.freeSlotHint) this.freeSlotHint = slot + 1;
  }

  /** Frees the slot of the log at `logPageNo` (U7: in the mtr that commits or frees it). */
  releaseSlot(mtr: MiniTransaction, slot: number, logPageNo: number): void {
    const page = this.page(mtr);
    assert(slot >= 0 && slot < this.slotCount, () => `slot ${slot} in range`);
    const held = readU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot);
    if (held !== logPageNo)
      throw corrupt(this.pageNo, `U12 slot ${slot} holds page ${held}, not undo log ${logPageNo}`);
    mtr.writeU32(page, TRX_SYS_SLOTS_OFFSET + 4 * slot, NIL_PAGE);
    this.freeSlotHint = Math.min(this.freeSlotHint, slot);
  }

  /**
   * Every log in a slot, with its state, owner, kind and top record: what recovery acts on
   * (`recoveryActionFor`). ACTIVE ones are exactly the transactions that were running (U7).
   */
  activeUndoLogs(source: PageSource): UndoLogInfo[] {
    const result: UndoLogInfo[] = [];
    for (let slot = 0; slot < this.slotCount; slot++) {
      const logPageNo = readU32(this.page(source), TRX_SYS_SLOTS_OFFSET + 4 * slot);
      if (logPageNo === NIL_PAGE) continue;
      const info = undoLogInfo(source, openUndoLog(source, logPageNo));
      if (info.slot !== slot)
        throw corrupt(logPageNo, `U12 undo log in slot ${slot} says it is in slot ${String(info.slot)}`);
      result.push(info);
    }
    return result;
  }

  // --- history list ------------------------------------------------------------------------------

  /** Appends a just-committed update log at the newest end (U8: trx_no increases). */
  historyAppend(mtr: MiniTransaction, logPageNo: number, trxNo: number): void {
    const page = this.page(mtr);
    const header = mtr.getPage(SYSTEM_SPACE_ID, logPageNo);
    const last = readU32(page, TRX_SYS_HISTORY_LAST_OFFSET);
    if (last !== NIL_PAGE) {
      const lastHeader = mtr.getPage(SYSTEM_SPACE_ID, last);
      const lastTrxNo = readU64(lastHeader, UNDO_LOG_TRX_NO);
      assert(trxNo > lastTrxNo, () => `U8 history list: trx_no ${trxNo} appended after ${lastTrxNo}`);
      mtr.writeU32(lastHeader, UNDO_LOG_HIST_NEXT, logPageNo);
      mtr.writeU32(header, UNDO_LOG_HIST_PREV, last);
    }
    const first = last === NIL_PAGE ? logPageNo : readU32(page, TRX_SYS_HISTORY_FIRST_OFFSET);
    writeHistoryBounds(mtr, page, first, logPageNo, readU32(page, TRX_SYS_HISTORY_LENGTH_OFFSET) + 1);
  }

  /** Unlinks a log from the history list (U7: in the mtr that frees its header page). */
  historyRemove(mtr: MiniTransaction, logPageNo: number): void {
    const page = this.page(mtr);
    const header = mtr.getPage(SYSTEM_SPACE_ID, logPageNo);
    const prev = readU32(header, UNDO_LOG_HIST_PREV);
    const next = readU32(header, UNDO_LOG_HIST_NEXT);
    let first = readU32(page, TRX_SYS_HISTORY_FIRST_OFFSET);
    let last = readU32(page, TRX_SYS_HISTORY_LAST_OFFSET);
    if (prev === NIL_PAGE) {
      if (first !== logPageNo)
        throw corrupt(this.pageNo, `U8 undo log ${logPageNo} has no predecessor but is not HISTORY_FIRST`);
      first = next;
    } else {
      mtr.writeU32(mtr.getPage(SYSTEM_SPACE_ID, prev), UNDO_LOG_HIST_NEXT, next);
    }
    if (next === NIL_PAGE) {
      if (last !== logPageNo)
        throw corrupt(this.pageNo, `U8 undo log ${logPageNo} has no successor but is not HISTORY_LAST`);
      last = prev;
    } else {
      mtr.writeU32(mtr.getPage(SYSTEM_SPACE_ID, next), UNDO_LOG_HIST_PREV, prev);
    }
    const length = readU32(page, TRX_SYS_HISTORY_LENGTH_OFFSET);
    assert(length > 0, 'U8 HISTORY_LENGTH counts the log being removed');
    writeHistoryBounds(mtr, page, first, last, length - 1);
  }

  /** Committed update logs awaiting purge (InnoDB's history list length). */
  historyLength(source: PageSource): number {
    return readU32(this.page(source), TRX_SYS_HISTORY_LENGTH_OFFSET);
  }

  /** The oldest log in the history list (purge's next), or undefined when it is empty. */
  historyFirst(source: PageSource): UndoLogRef | undefined {
    const first = readU32(this.page(source), TRX_SYS_HISTORY_FIRST_OFFSET);
    return first === NIL_PAGE ? undefined : openUndoLog(source, first);
  }

  /** The history list, oldest first (U8 checked on the way). */
  *history(source: PageSource): Generator<UndoLogInfo> {
    const length = this.historyLength(source);
    let seen = 0;
    let lastTrxNo = 0;
    let prev = NIL_PAGE;
    for (let pageNo = readU32(this.page(source), TRX_SYS_HISTORY_FIRST_OFFSET); pageNo !== NIL_PAGE; ) {
      const info = undoLogInfo(source, openUndoLog(source, pageNo));
      if (++seen > length) throw corrupt(this.pageNo, `U8 the history list is longer than HISTORY_LENGTH ${length}`);
      if (info.state !== UndoLogState.Committed || info.log.kind !== 'update' || info.slot !== undefined) {
        throw corrupt(pageNo, 'U8 a history list entry is a COMMITTED update log in no slot');
      }
      if (info.trxNo <= lastTrxNo) throw corrupt(pageNo, `U8 history trx_no ${info.trxNo} after ${lastTrxNo}`);
      if (info.historyPrev !== prev) throw corrupt(pageNo, `U8 LOG_HIST_PREV is ${info.historyPrev}, expected ${prev}`);
      lastTrxNo = info.trxNo;
      prev = pageNo;
      yield info;
      pageNo = info.historyNext;
    }
    if (seen !== length)
      throw corrupt(this.pageNo, `U8 the history list has ${seen} logs, HISTORY_LENGTH says ${length}`);
    if (readU32(this.page(source), TRX_SYS_HISTORY_LAST_OFFSET) !== prev)
      throw corrupt(this.pageNo, 'U8 HISTORY_LAST is not the last log');
  }
}

/**
 * Creates the trx-sys page at bootstrap (space 0 must exist and have none) and records its page
 * number in page 0 of space 0. Ids start at 1.
 */
export function createTrxSysPage(mtr: MiniTransaction): TrxSysPage {
  const spaceHeader = mtr.getPage(SYSTEM_SPACE_ID, 0);
  assert(readU32(spaceHeader, TRX_SYS_PAGE_NO_OFFSET) === 0, 'the trx-sys page is created once');
  const { pageNo, page } = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.TrxSys);
  const slotCount = trxSysSlotCount(page.length);
  mtr.writeU32(page, TRX_SYS_MAGIC_OFFSET, TRX_SYS_MAGIC);
  mtr.writeU16(page, TRX_SYS_FORMAT_OFFSET, TRX_SYS_FORMAT);
  mtr.writeU16(page, TRX_SYS_SLOT_COUNT_OFFSET, slotCount);
  // MAX_TRX_ID 0 and HISTORY_LENGTH 0 come from INIT_PAGE's zeros.
  mtr.writeU32(page, TRX_SYS_HISTORY_FIRST_OFFSET, NIL_PAGE);
  mtr.writeU32(page, TRX_SYS_HISTORY_LAST_OFFSET, NIL_PAGE);
  mtr.fill(page, TRX_SYS_SLOTS_OFFSET, 4 * slotCount, 0xff);
  mtr.writeU32(spaceHeader, TRX_SYS_PAGE_NO_OFFSET, pageNo);
  return new TrxSysPage(pageNo, slotCount, 1);
}

/**
 * Opens the trx-sys page of a database, or returns undefined if it was never created (a new
 * database, or one whose bootstrap did not reach its durable end). Counting resumes at the stored
 * MAX_TRX_ID + 256 (U11). Call with no mtr active.
 */
export function openTrxSysPage(storage: Storage): TrxSysPage | undefined {
  const source = poolPageSource(storage.pool);
  const pageNo = readU32(source.getPage(SYSTEM_SPACE_ID, 0), TRX_SYS_PAGE_NO_OFFSET);
  if (pageNo === 0) return undefined;
  const page = source.getPage(SYSTEM_SPACE_ID, pageNo);
  if (pageTypeOf(page) !== PageType.TrxSys) throw corrupt(pageNo, `the trx-sys page has type ${pageTypeOf(page)}`);
  if (readU32(page, TRX_SYS_MAGIC_OFFSET) !== TRX_SYS_MAGIC)
    throw corrupt(pageNo, 'the trx-sys page has a bad magic number');
  const format = readU16(page, TRX_SYS_FORMAT_OFFSET);
  if (format > TRX_SYS_FORMAT)
    throw new IncompatibleFormatError(
      SYSTEM_FILE,
      `trx-sys format ${format} is newer than this minno (${TRX_SYS_FORMAT})`,
    );
  const slotCount = readU16(page, TRX_SYS_SLOT_COUNT_OFFSET);
  if (slotCount !== trxSysSlotCount(page.length))
    throw corrupt(pageNo, `SLOT_COUNT ${slotCount} does not fit the page size`);
  const stored = readU64(page, TRX_SYS_MAX_TRX_ID_OFFSET);
  // Read before the slot scan below: it reads other pages, which may evict this one (U13).
  const last = readU32(page, TRX_SYS_HISTORY_LAST_OFFSET);
  if (stored % TRX_SYS_TRX_ID_WRITE_MARGIN !== 0)
    throw corrupt(pageNo, `U11 MAX_TRX_ID ${stored} is not a multiple of ${TRX_SYS_TRX_ID_WRITE_MARGIN}`);
  const trxSys = new TrxSysPage(pageNo, slotCount, stored + TRX_SYS_TRX_ID_WRITE_MARGIN);
  // U11: nothing on disk is at or above the restart point.
  for (const info of trxSys.activeUndoLogs(source)) {
    if (info.state === UndoLogState.Cached) trxSys.undoCache.add(info.log.pageNo); // U14
    if (info.log.trxId >= trxSys.nextTrxIdOrNo || info.trxNo >= trxSys.nextTrxIdOrNo) {
      throw corrupt(
        info.log.pageNo,
        `U11 undo log of transaction ${info.log.trxId} is at or above the restart id ${trxSys.nextTrxIdOrNo}`,
      );
    }
  }
  if (last !== NIL_PAGE) {
    const info = undoLogInfo(source, openUndoLog(source, last));
    if (info.trxNo >= trxSys.nextTrxIdOrNo)
      throw corrupt(last, `U11 history trx_no ${info.trxNo} is at or above the restart id ${trxSys.nextTrxIdOrNo}`);
  }
  return trxSys;
}
