/**
 * Reading undo logs: a roll pointer resolved to its record (never to garbage: U9, seed 002),
 * cursors that walk a log both ways (rollback from the top, purge from the bottom), a log's
 * header information, and the checker.
 *
 * InnoDB counterpart: `trx/trx0undo.cc` (trx_undo_get_prev_rec, trx_undo_get_next_rec,
 * trx_undo_get_first_rec) and `trx/trx0rec.cc` (trx_undo_get_undo_rec_low). The page format,
 * the byte tables and the invariants U3 to U13 are in undo-log.ts, which writes what this reads.
 */
import { assert, debugChecks } from '../util/assert.js';
import { FIL_NEXT, FIL_PREV, NIL_PAGE, readU16, readU32, readU64 } from '../page/page.js';
import { SYSTEM_SPACE_ID } from '../page/tablespace.js';
import {
  makeRollPtr,
  rollPtrIsInsert,
  rollPtrOffset,
  rollPtrPageNo,
  rollPtrSpaceId,
  type RollPtr,
} from './roll-ptr.js';
import { UndoRecordCursor } from './undo-record.js';
import {
  UNDO_LOG_HIST_NEXT,
  UNDO_LOG_HIST_PREV,
  UNDO_LOG_LAST_PAGE,
  UNDO_LOG_PAGE_COUNT,
  UNDO_LOG_REC_COUNT,
  UNDO_LOG_RECORDS_START,
  UNDO_LOG_SLOT,
  UNDO_LOG_SLOT_NONE,
  UNDO_LOG_STATE,
  UNDO_LOG_TOP,
  UNDO_LOG_TRX_NO,
  UNDO_PAGE_FREE,
  UNDO_PAGE_KIND,
  UNDO_PAGE_LAST_REC,
  UNDO_PAGE_LOG_PAGE,
  UNDO_PAGE_N_RECS,
  UNDO_PAGE_RECORDS_START,
  UNDO_PAGE_TRX_ID,
  UNDO_REC_LEN,
  UNDO_REC_PREV,
  UNDO_REC_WRAPPER_BYTES,
  UndoLogKindCode,
  UndoLogState,
  checkUndoPage,
  corrupt,
  kindCode,
  logHeader,
  recordsStart,
  type PageSource,
  type UndoLogRef,
  type UndoLogStateValue,
} from './undo-log.js';

// --- reading -----------------------------------------------------------------------------------

/** An undo record read in place, with where it is: the cursor rollback and purge walk with. */
export class UndoLogCursor extends UndoRecordCursor {
  /** The page holding the record, and its wrapper's offset there. */
  pageNo = NIL_PAGE;
  offset = 0;
  /** REC_PREV: the previous record in this page, 0 when this is the page's first. */
  prevOffset = 0;
  isInsert = false;
  trxId = 0;
  logPageNo = NIL_PAGE;

  get rollPtr(): RollPtr {
    return makeRollPtr(this.isInsert, SYSTEM_SPACE_ID, this.pageNo, this.offset);
  }
}

/**
 * Positions `cursor` on the record whose wrapper is at `offset` of `page`, checking that it is
 * one (U4, U9) and parsing it (U1). The page itself was checked by the caller.
 */
function positionAt(cursor: UndoLogCursor, page: Uint8Array, pageNo: number, offset: number): UndoLogCursor {
  const start = recordsStart(page, pageNo);
  const free = readU16(page, UNDO_PAGE_FREE);
  if (offset < start || offset + UNDO_REC_WRAPPER_BYTES > free) {
    throw corrupt(
      pageNo,
      `U9 no undo record at offset ${offset}: records lie in [${start}, ${free}) (popped by rollback, or never written)`,
    );
  }
  const prev = readU16(page, offset + UNDO_REC_PREV);
  const length = readU16(page, offset + UNDO_REC_LEN);
  if (offset + UNDO_REC_WRAPPER_BYTES + length > free) {
    throw corrupt(pageNo, `U9 undo record at offset ${offset} of ${length} bytes runs past PAGE_FREE ${free}`);
  }
  const boundary =
    prev === 0
      ? offset === start
      : prev >= start && prev < offset && prev + UNDO_REC_WRAPPER_BYTES + readU16(page, prev + UNDO_REC_LEN) === offset;
  if (!boundary) throw corrupt(pageNo, `U4 offset ${offset} is not an undo record boundary (REC_PREV ${prev})`);
  if (debugChecks()) checkPageRecords(page, pageNo, offset);
  cursor.parseCopy(page, offset + UNDO_REC_WRAPPER_BYTES, length, pageNo); // U13: survives eviction
  cursor.pageNo = pageNo;
  cursor.offset = offset;
  cursor.prevOffset = prev;
  cursor.isInsert = readU16(page, UNDO_PAGE_KIND) === UndoLogKindCode.Insert;
  cursor.trxId = readU64(page, UNDO_PAGE_TRX_ID);
  cursor.logPageNo = readU32(page, UNDO_PAGE_LOG_PAGE);
  return cursor;
}

/** Debug: walks a page's records (U4) and, when `offset` is given, requires it among them. */
function checkPageRecords(page: Uint8Array, pageNo: number, offset = -1): number {
  const free = readU16(page, UNDO_PAGE_FREE);
  let at = recordsStart(page, pageNo);
  let prev = 0;
  let count = 0;
  let found = offset < 0;
  while (at < free) {
    if (readU16(page, at + UNDO_REC_PREV) !== prev)
      throw corrupt(pageNo, `U4 REC_PREV of the record at ${at} is not ${prev}`);
    if (at === offset) found = true;
    prev = at;
    at += UNDO_REC_WRAPPER_BYTES + readU16(page, at + UNDO_REC_LEN);
    count++;
  }
  if (at !== free) throw corrupt(pageNo, `U4 records end at ${at}, PAGE_FREE is ${free}`);
  if (readU16(page, UNDO_PAGE_LAST_REC) !== prev)
    throw corrupt(pageNo, `U4 PAGE_LAST_REC is ${readU16(page, UNDO_PAGE_LAST_REC)}, the last record is at ${prev}`);
  if (readU16(page, UNDO_PAGE_N_RECS) !== count)
    throw corrupt(pageNo, `U4 PAGE_N_RECS is ${readU16(page, UNDO_PAGE_N_RECS)}, the page holds ${count}`);
  if (!found) throw corrupt(pageNo, `U4 offset ${offset} is not a record`);
  return count;
}

/**
 * Reads the undo record a roll pointer names, written by transaction `ownerTrxId` (the DB_TRX_ID
 * stored beside the roll pointer). Never returns garbage: a roll pointer into a freed or reused
 * page, to a popped record or to no record at all raises `CorruptionError` (U9, seed 002).
 */
export function readUndoRecord(
  source: PageSource,
  rollPtr: RollPtr,
  ownerTrxId: number,
  cursor = new UndoLogCursor(),
): UndoLogCursor {
  const pageNo = rollPtrPageNo(rollPtr);
  if (rollPtrSpaceId(rollPtr) !== SYSTEM_SPACE_ID || pageNo === 0) {
    throw corrupt(
      pageNo,
      `U9 roll pointer to space ${rollPtrSpaceId(rollPtr)} page ${pageNo} names no undo page (a null roll pointer has no record)`,
    );
  }
  const page = source.getPage(SYSTEM_SPACE_ID, pageNo);
  const code = rollPtrIsInsert(rollPtr) ? UndoLogKindCode.Insert : UndoLogKindCode.Update;
  checkUndoPage(page, pageNo, 'roll pointer', code, ownerTrxId, NIL_PAGE);
  return positionAt(cursor, page, pageNo, rollPtrOffset(rollPtr));
}

/** The top record of `log` (the one rollback undoes first), or undefined when the log is empty. */
export function lastUndoRecord(
  source: PageSource,
  log: UndoLogRef,
  cursor = new UndoLogCursor(),
): UndoLogCursor | undefined {
  const header = logHeader(source, log);
  if (readU32(header, UNDO_LOG_REC_COUNT) === 0) return undefined;
  const lastPageNo = readU32(header, UNDO_LOG_LAST_PAGE);
  const top = readU16(header, UNDO_LOG_TOP);
  const page = lastPageNo === log.pageNo ? header : source.getPage(SYSTEM_SPACE_ID, lastPageNo);
  if (page !== header) checkUndoPage(page, lastPageNo, 'undo log last page', kindCode(log.kind), log.trxId, log.pageNo);
  return positionAt(cursor, page, lastPageNo, top);
}

/** The bottom (oldest) record of `log` (where purge starts), or undefined when the log is empty. */
export function firstUndoRecord(
  source: PageSource,
  log: UndoLogRef,
  cursor = new UndoLogCursor(),
): UndoLogCursor | undefined {
  const header = logHeader(source, log);
  if (readU32(header, UNDO_LOG_REC_COUNT) === 0) return undefined;
  return positionAt(cursor, header, log.pageNo, UNDO_LOG_RECORDS_START); // U6: the header page has records
}

/** The page `cursor` is on, fetched again (the frame may have moved, U13) and checked. */
function cursorPage(source: PageSource, cursor: UndoLogCursor, pageNo: number): Uint8Array {
  const page = source.getPage(SYSTEM_SPACE_ID, pageNo);
  const code = cursor.isInsert ? UndoLogKindCode.Insert : UndoLogKindCode.Update;
  checkUndoPage(page, pageNo, 'undo log walk', code, cursor.trxId, cursor.logPageNo);
  return page;
}

/** Moves `cursor` to the record below it in its log (rollback order); false at the bottom. */
export function prevUndoRecord(source: PageSource, cursor: UndoLogCursor): boolean {
  assert(cursor.pageNo !== NIL_PAGE, 'the cursor is on a record');
  let page = cursorPage(source, cursor, cursor.pageNo);
  if (cursor.prevOffset !== 0) {
    positionAt(cursor, page, cursor.pageNo, cursor.prevOffset);
    return true;
  }
  const prevPageNo = readU32(page, FIL_PREV);
  if (cursor.pageNo === cursor.logPageNo || prevPageNo === NIL_PAGE) return false;
  page = cursorPage(source, cursor, prevPageNo);
  positionAt(cursor, page, prevPageNo, readU16(page, UNDO_PAGE_LAST_REC));
  return true;
}

/** Moves `cursor` to the record above it in its log (purge order); false at the top. */
export function nextUndoRecord(source: PageSource, cursor: UndoLogCursor): boolean {
  assert(cursor.pageNo !== NIL_PAGE, 'the cursor is on a record');
  let page = cursorPage(source, cursor, cursor.pageNo);
  const next = cursor.offset + UNDO_REC_WRAPPER_BYTES + (cursor.end - cursor.start);
  if (next < readU16(page, UNDO_PAGE_FREE)) {
    positionAt(cursor, page, cursor.pageNo, next);
    return true;
  }
  const nextPageNo = readU32(page, FIL_NEXT);
  if (nextPageNo === NIL_PAGE) return false;
  page = cursorPage(source, cursor, nextPageNo);
  positionAt(cursor, page, nextPageNo, UNDO_PAGE_RECORDS_START);
  return true;
}

// --- header information ------------------------------------------------------------------------

export interface UndoLogInfo {
  readonly log: UndoLogRef;
  readonly state: UndoLogStateValue;
  /** Serialisation number, 0 until commit. */
  readonly trxNo: number;
  /** Its slot in the trx-sys slot array, or undefined when it is in none (history list). */
  readonly slot: number | undefined;
  readonly lastPageNo: number;
  readonly pageCount: number;
  readonly recordCount: number;
  /** The top record's roll pointer and undo_no, when the log has records. */
  readonly top: RollPtr | undefined;
  readonly topUndoNo: number | undefined;
  /** History list neighbours (NIL_PAGE at the ends or when not in the list). */
  readonly historyPrev: number;
  readonly historyNext: number;
}

/** Opens the log whose header page is `pageNo` (a slot or history entry), checking the header. */
export function openUndoLog(source: PageSource, pageNo: number): UndoLogRef {
  const header = source.getPage(SYSTEM_SPACE_ID, pageNo);
  checkUndoPage(header, pageNo, 'undo log header', 0, -1, pageNo);
  const code = readU16(header, UNDO_PAGE_KIND);
  if (code !== UndoLogKindCode.Insert && code !== UndoLogKindCode.Update)
    throw corrupt(pageNo, `undo log kind ${code} is unknown`);
  const state = readU16(header, UNDO_LOG_STATE);
  if (state !== UndoLogState.Active && state !== UndoLogState.Committed && state !== UndoLogState.Cached)
    throw corrupt(pageNo, `undo log state ${state} is unknown`);
  return {
    pageNo,
    trxId: readU64(header, UNDO_PAGE_TRX_ID),
    kind: code === UndoLogKindCode.Insert ? 'insert' : 'update',
  };
}

/** The serialisation number of a committed log (0 while ACTIVE): what purge asks of each log, read alone. */
export function undoLogTrxNo(source: PageSource, log: UndoLogRef): number {
  return readU64(logHeader(source, log), UNDO_LOG_TRX_NO);
}

export function undoLogInfo(source: PageSource, log: UndoLogRef): UndoLogInfo {
  // Every header field is read before the last record is: reading it may take the header's frame
  // for another page (a page source's frame lasts until its next access).
  const header = logHeader(source, log);
  const recordCount = readU32(header, UNDO_LOG_REC_COUNT);
  const slot = readU16(header, UNDO_LOG_SLOT);
  const info = {
    log,
    state: readU16(header, UNDO_LOG_STATE) as UndoLogStateValue,
    trxNo: readU64(header, UNDO_LOG_TRX_NO),
    slot: slot === UNDO_LOG_SLOT_NONE ? undefined : slot,
    lastPageNo: readU32(header, UNDO_LOG_LAST_PAGE),
    pageCount: readU32(header, UNDO_LOG_PAGE_COUNT),
    recordCount,
    historyPrev: readU32(header, UNDO_LOG_HIST_PREV),
    historyNext: readU32(header, UNDO_LOG_HIST_NEXT),
  };
  if (recordCount === 0) return { ...info, top: undefined, topUndoNo: undefined };
  const cursor = lastUndoRecord(source, log)!;
  return { ...info, top: cursor.rollPtr, topUndoNo: cursor.undoNo };
}

// --- checker -----------------------------------------------------------------------------------

export interface UndoLogCheck {
  readonly pages: readonly number[];
  readonly records: number;
}

/**
 * Walks a whole log and checks U4 to U6 and every record (U1): page links and kinds, record
 * counts, undo_no order, the top. Throws `CorruptionError` or `AssertionError`.
 */
export function checkUndoLog(source: PageSource, log: UndoLogRef): UndoLogCheck {
  // A copy: the walk reads every page of the log, and the header's frame is valid only until the
  // next of those reads (U13). The checker runs with debug checks on, where a copy costs nothing.
  const header = logHeader(source, log).slice();
  const pages: number[] = [];
  const cursor = new UndoLogCursor();
  let records = 0;
  let lastUndoNo = -1;
  let prevPageNo = NIL_PAGE;
  for (let pageNo = log.pageNo; pageNo !== NIL_PAGE; ) {
    const page = pageNo === log.pageNo ? header : source.getPage(SYSTEM_SPACE_ID, pageNo);
    checkUndoPage(page, pageNo, 'undo log check', kindCode(log.kind), log.trxId, log.pageNo);
    assert(
      pages.length < 1 << 24 && !pages.includes(pageNo),
      () => `undo log ${log.pageNo} page list has a cycle at ${pageNo}`,
    );
    assert(
      readU32(page, FIL_PREV) === prevPageNo,
      () => `undo log ${log.pageNo} page ${pageNo} PREV is ${readU32(page, FIL_PREV)}, expected ${prevPageNo}`,
    );
    const count = checkPageRecords(page, pageNo);
    assert(count > 0 || pageNo === log.pageNo, () => `U6 undo log ${log.pageNo} page ${pageNo} holds no record`);
    for (
      let at = recordsStart(page, pageNo);
      at < readU16(page, UNDO_PAGE_FREE);
      at += UNDO_REC_WRAPPER_BYTES + readU16(page, at + UNDO_REC_LEN)
    ) {
      positionAt(cursor, page, pageNo, at);
      assert(
        cursor.undoNo > lastUndoNo,
        () => `U5 undo log ${log.pageNo}: undo_no ${cursor.undoNo} after ${lastUndoNo}`,
      );
      lastUndoNo = cursor.undoNo;
    }
    records += count;
    pages.push(pageNo);
    prevPageNo = pageNo;
    pageNo = readU32(page, FIL_NEXT);
  }
  assert(
    readU32(header, UNDO_LOG_PAGE_COUNT) === pages.length,
    () => `undo log ${log.pageNo} LOG_PAGE_COUNT ${readU32(header, UNDO_LOG_PAGE_COUNT)}, found ${pages.length}`,
  );
  assert(
    readU32(header, UNDO_LOG_LAST_PAGE) === prevPageNo,
    () => `undo log ${log.pageNo} LOG_LAST_PAGE ${readU32(header, UNDO_LOG_LAST_PAGE)}, found ${prevPageNo}`,
  );
  assert(
    readU32(header, UNDO_LOG_REC_COUNT) === records,
    () => `undo log ${log.pageNo} LOG_REC_COUNT ${readU32(header, UNDO_LOG_REC_COUNT)}, found ${records}`,
  );
  const lastPage = prevPageNo === log.pageNo ? header : source.getPage(SYSTEM_SPACE_ID, prevPageNo);
  assert(
    readU16(header, UNDO_LOG_TOP) === (records === 0 ? 0 : readU16(lastPage, UNDO_PAGE_LAST_REC)),
    () => `U6 undo log ${log.pageNo} LOG_TOP is the last page's last record`,
  );
  return { pages, records };
}
