/**
 * Undo logs: one segment of `PageType.Undo` pages per transaction and kind, in space 0.
 *
 * InnoDB counterpart: `trx/trx0undo.cc` (trx_undo_create, trx_undo_report_row_operation's page
 * work in trx0rec.cc, trx_undo_truncate_end, trx_undo_set_state_at_finish, trx_undo_seg_free,
 * trx_undo_get_prev_rec / get_next_rec) and the undo page and log header layouts of
 * `include/trx0undo.h`. As in InnoDB a transaction has up to two logs: an insert undo log (records
 * only rollback needs, freed at commit) and an update undo log (needed by consistent reads and
 * purge after commit, so it joins the history list). Rollback treats the two as one stack ordered
 * by undo_no (the caller pops from whichever top is larger).
 *
 * ## Pages
 *
 *     header page (first)            page 2                       last page
 *     +---------------------+  NEXT  +------------------+  NEXT   +------------------+
 *     | FIL | page hdr | log |------->| FIL | page hdr   |--...-->| FIL | page hdr   |
 *     | hdr | rec rec rec ... |<-------| rec rec rec ...  |<--...--| rec rec <- top    |
 *     +---------------------+  PREV  +------------------+  PREV   +------------------+
 *
 * Undo page header (every page; FIL PREV/NEXT link the pages of one log):
 *
 * | offset | size | field          | meaning                                                     |
 * |--------|------|----------------|-------------------------------------------------------------|
 * | 40     | 2    | PAGE_KIND      | 1 insert, 2 update (`UndoLogKindCode`; stored: never renumber) |
 * | 42     | 2    | PAGE_N_RECS    | records in this page                                        |
 * | 44     | 2    | PAGE_FREE      | first free byte: the end of the last record                 |
 * | 46     | 2    | PAGE_LAST_REC  | offset of the last record's wrapper, 0 when none            |
 * | 48     | 8    | PAGE_TRX_ID    | the owning transaction's id                                 |
 * | 56     | 4    | PAGE_LOG_PAGE  | the log's header page (its first page); itself on that page |
 * | 60     | 4    | (reserved)     | zero                                                        |
 * | 64     | ...  | records, or on the header page the log header then records  |
 *
 * The first record of a page sits at RECORDS_START: 64, or 112 on the header page.
 *
 * Log header (header page only):
 *
 * | offset | size | field          | meaning                                                     |
 * |--------|------|----------------|-------------------------------------------------------------|
 * | 64     | 2    | LOG_STATE      | `UndoLogState`: 1 ACTIVE, 2 COMMITTED, 3 CACHED (stored: never renumber) |
 * | 66     | 2    | LOG_SLOT       | its slot in the trx-sys slot array, 0xFFFF when in none     |
 * | 68     | 8    | LOG_TRX_NO     | serialisation number, set at commit (0 before)              |
 * | 76     | 4    | LOG_LAST_PAGE  | the last page (the top of the stack is on it)               |
 * | 80     | 4    | LOG_PAGE_COUNT | pages in the log                                            |
 * | 84     | 4    | LOG_REC_COUNT  | records in the log                                          |
 * | 88     | 2    | LOG_TOP        | offset in LAST_PAGE of the top record, 0 when the log is empty |
 * | 90     | 2    | (reserved)     | zero                                                        |
 * | 92     | 4    | LOG_HIST_PREV  | history list: the next older log, or NIL                    |
 * | 96     | 4    | LOG_HIST_NEXT  | history list: the next newer log, or NIL                    |
 * | 100    | 12   | (reserved)     | zero                                                        |
 *
 * The trx id of the log is its header page's PAGE_TRX_ID and its first page is the header page
 * itself, so neither is stored twice. Fields written together sit together (N_RECS, FREE,
 * LAST_REC; LAST_PAGE to TOP), so an append logs few, short redo records.
 *
 * A record in a page: a 4-byte wrapper, then the body of `undo-record.ts`:
 *
 * | offset | size | field    | meaning                                                           |
 * |--------|------|----------|-------------------------------------------------------------------|
 * | 0      | 2    | REC_PREV | offset of the previous record in this page, 0 for the first       |
 * | 2      | 2    | REC_LEN  | body length                                                       |
 * | 4      | LEN  | body     | the undo record                                                   |
 *
 * A roll pointer (roll-ptr.ts) names a record by (page, offset of its wrapper).
 *
 * ## Lifecycle (functions behind the transitions)
 *
 *     createUndoLog --> ACTIVE, in a slot --appendUndoRecord / truncateUndoLog--> ACTIVE
 *       (createUndoLog takes a CACHED log when the cache has one: CACHED --> ACTIVE, same slot, U15)
 *       ACTIVE --commitUndoLog (update)--> COMMITTED, in the history list, slot released
 *           COMMITTED (history) --removeFromHistory (purge), in steps--> cached or freed
 *       ACTIVE --commitUndoLog (insert)--> cached or freed (slot kept or released)
 *           (a log too big for one mtr: COMMITTED, still in its slot --freeUndoLog steps--> cached or freed)
 *       ACTIVE --truncateUndoLog(0) then freeUndoLog (rollback)--> cached or freed
 *
 * Freeing works from the last page back, at most `maxPages` pages per call, so no mtr fixes more
 * than a bounded number of buffer-pool frames. The call that reaches the header page ends the
 * log and returns true: while the undo cache (undo-cache.ts) has room it keeps the header page as
 * an empty CACHED log in a slot (the slot it had, or, leaving the history list, a free one: U7,
 * U14); otherwise it unlinks the log from its slot or the history list (U7) and frees the page.
 * Until then the log is whole and consistent at every mtr boundary, so a crash between steps
 * leaves a shorter log that recovery finds where it was.
 *
 * ## Recovery decision (by state and where the log is linked)
 *
 * | linked from | state     | kind   | meaning after a crash               | recovery does          |
 * |-------------|-----------|--------|-------------------------------------|------------------------|
 * | slot        | ACTIVE    | any    | the transaction never committed     | roll back, then free   |
 * | slot        | COMMITTED | insert | committed; freeing was cut short    | finish `freeUndoLog`   |
 * | history     | COMMITTED | update | committed, awaiting purge           | nothing (purge frees)  |
 * | slot        | CACHED    | any    | no transaction's: kept for reuse    | list it in the cache   |
 *
 * (`mvcc/trx-sys-page.ts` `activeUndoLogs()` lists the slot rows; `recoveryActionFor` mirrors this table.)
 *
 * ## Where we differ from InnoDB, and why
 *  - No rollback segments: one slot array in the trx-sys page. A one-page log is cached for the
 *    next transaction as InnoDB's TRX_UNDO_CACHED is (undo-cache.ts), but an update log only
 *    once purge is done with it: InnoDB writes a new log header after a committed one on the
 *    same page, our page holds one log. Other pages go to space 0's free list.
 *  - Records never span pages, and a record over about half a page is refused with a typed
 *    error before anything is written (InnoDB also refuses records that do not fit a page).
 *  - The page header keeps the record count and the last record's offset; records are packed
 *    back to back, so "is this offset a record" is checked in O(1) (U9) instead of InnoDB's
 *    assumption that a roll pointer is always right (seed 002 is what that assumption costs).
 *
 * ## Invariants
 *  U3. A record never spans pages; its body is at most `undoRecordBytesMax(pageSize)` (half a
 *      page), refused with `UndoRecordTooLargeError` before any page is changed.
 *  U4. In each page the records are back to back from RECORDS_START: a record starts where the
 *      one before it ends (REC_PREV + 4 + its REC_LEN), PAGE_FREE is the end of the last, and
 *      PAGE_LAST_REC / N_RECS describe them.
 *  U5. UNDO_NO strictly increases from the bottom of a log to its top.
 *  U6. Every page but the header page holds at least one record: a page emptied by truncation
 *      is freed in the same mtr. So a log with records has records on its header page, and the
 *      top record is LOG_TOP on LOG_LAST_PAGE.
 *  U7. A log's header page is linked from exactly one place until it is freed: its slot (claimed
 *      in the mtr that creates the header page, released in the mtr that frees it or moves the
 *      log into the history list) or the history list (joined at commit, left in the mtr that
 *      frees the header page). So after any crash the slot array lists exactly the logs whose
 *      creating mtr survived and whose commit or free did not, and no page leaks.
 *  U9 (seed 002). A roll pointer is resolved only to a record: the page must be an Undo page of
 *      the roll pointer's kind owned by the expected transaction, and the offset a record
 *      boundary below PAGE_FREE (U4) whose body parses (U1). Anything else (a page freed by
 *      purge or rollback, reused by another log, a popped record) is `CorruptionError`.
 *  U10. State moves only ACTIVE -> COMMITTED, ACTIVE or COMMITTED -> CACHED (ended: U14) and
 *      CACHED -> ACTIVE (reused: U15); records are appended only to an ACTIVE log; an ACTIVE log
 *      is freed or cached only when empty (after rollback) or at its commit (insert).
 *  U13. A cursor holds its own copy of the record it is positioned on (`parseCopy`): its fields stay
 *      valid until it is positioned again, whatever pages are read or evicted meanwhile. (Its page
 *      frame does not: rollback searched the indexes between reading an undo record and reading
 *      its fields, and under pool pressure the undo page's frame was reused by then; the
 *      simulator found it, issue 9.) Likewise a page read through `poolPageSource` is valid only
 *      until the next page access through it: with debug checks on, each page it returns is a copy
 *      that the next access overwrites with 0xEE, so code that keeps a view too long reads garbage
 *      in every test instead of only when the pool happens to reuse the frame (the trx-sys page's
 *      HISTORY_LAST was read after the slot scan had evicted it; the table soak found it).
 *  U14 (CACHE). A CACHED log is one header page (LAST_PAGE itself, PAGE_COUNT 1), with no
 *      records, in a slot and out of the history list; its PAGE_TRX_ID is still its last owner's.
 *      A log is cached only when nothing can read its records any more: an insert log at its
 *      commit (only rollback reads it), any log after rollback emptied it, an update log only
 *      when purge removes it from the history list (until then read views and purge read it;
 *      InnoDB's rule that an update log in the history list is not reused until purged). The
 *      in-memory cache lists exactly the slot logs in state CACHED: listed at open from the slots,
 *      and changed only in the mtr that writes the state. A CACHED log is never freed.
 *  U15 (REUSE). `createUndoLog` takes a cached log before it allocates, and resets it for its new
 *      owner in the mtr of the first write: PAGE_TRX_ID, PAGE_KIND and the header are rewritten,
 *      so a stale roll pointer into the page fails U9 (owner or record bound), as for a freed one.
 *
 * This file writes logs (create, append, truncate, commit, free); undo-log-read.ts reads them
 * (roll pointers resolved under U9, cursors walking a log both ways, header information, the
 * checker). Both work on the format above.
 */
import { CorruptionError, MinnoError } from '../errors.js';
import { assert, debugChecks } from '../util/assert.js';
import type { BufferPool } from '../buffer/buffer-pool.js';
import type { MiniTransaction } from '../redo/mtr.js';
import {
  FIL_NEXT,
  FIL_PAGE_NO,
  FIL_PREV,
  FIL_TRAILER_BYTES,
  NIL_PAGE,
  PageType,
  pageTypeOf,
  readU16,
  readU32,
  readU64,
  writeU16,
  writeU32,
  writeU64,
} from '../page/page.js';
import { allocatePage, freePage } from '../page/space-allocator.js';
import { SYSTEM_SPACE_ID, spaceFileName } from '../page/tablespace.js';
import { makeRollPtr, type RollPtr } from './roll-ptr.js';
import type { UndoLogCache } from './undo-cache.js';
import { UNDO_RECORD_CODEC_BYTES_MAX, UndoRecordCursor, UndoRecordTooLargeError, undoNoAt } from './undo-record.js';

// --- layout ------------------------------------------------------------------------------------

export const UNDO_PAGE_KIND = 40;
export const UNDO_PAGE_N_RECS = 42;
export const UNDO_PAGE_FREE = 44;
export const UNDO_PAGE_LAST_REC = 46;
export const UNDO_PAGE_TRX_ID = 48;
export const UNDO_PAGE_LOG_PAGE = 56;
/** First record of a page that is not the header page. */
export const UNDO_PAGE_RECORDS_START = 64;

export const UNDO_LOG_STATE = 64;
export const UNDO_LOG_SLOT = 66;
export const UNDO_LOG_TRX_NO = 68;
export const UNDO_LOG_LAST_PAGE = 76;
export const UNDO_LOG_PAGE_COUNT = 80;
export const UNDO_LOG_REC_COUNT = 84;
export const UNDO_LOG_TOP = 88;
export const UNDO_LOG_HIST_PREV = 92;
export const UNDO_LOG_HIST_NEXT = 96;
/** First record of the header page. */
export const UNDO_LOG_RECORDS_START = 112;

export const UNDO_REC_PREV = 0;
export const UNDO_REC_LEN = 2;
export const UNDO_REC_WRAPPER_BYTES = 4;

/** LOG_SLOT of a log in no slot. */
export const UNDO_LOG_SLOT_NONE = 0xffff;
/** Pages freed per `freeUndoLog` / `truncateUndoLog` call by default: bounds the frames an mtr fixes. */
export const UNDO_FREE_PAGES_PER_MTR = 16;

/** LOG_STATE values. Stored on disk: never renumber. */
export const UndoLogState = {
  Active: 1,
  Committed: 2,
  /** Kept for reuse: one header page, no records, in its slot (U14). */
  Cached: 3,
} as const;
export type UndoLogStateValue = (typeof UndoLogState)[keyof typeof UndoLogState];

/** PAGE_KIND values. Stored on disk: never renumber. */
export const UndoLogKindCode = {
  Insert: 1,
  Update: 2,
} as const;

export type UndoLogKind = 'insert' | 'update';

export function kindCode(kind: UndoLogKind): number {
  return kind === 'insert' ? UndoLogKindCode.Insert : UndoLogKindCode.Update;
}

/** A handle on an undo log: its header page and owner. Everything else is read from the pages. */
export interface UndoLogRef {
  readonly pageNo: number;
  readonly trxId: number;
  readonly kind: UndoLogKind;
}

/** What reading needs: a mini-transaction (`getPage` fixes until commit) or `poolPageSource`. */
export interface PageSource {
  getPage(spaceId: number, pageNo: number): Uint8Array;
}

/** Reads pages straight from the buffer pool: each frame is valid until the next page access (U13). */
export function poolPageSource(pool: BufferPool): PageSource {
  let lastCopy: Uint8Array | undefined; // debug checks only: the page handed out last
  return {
    getPage(spaceId: number, pageNo: number): Uint8Array {
      const frame = pool.fix(spaceId, pageNo);
      pool.unfix(frame);
      if (!debugChecks()) return pool.frames[frame]!;
      // U13 enforced: whoever still holds the previous page now reads 0xEE, not a stale frame.
      lastCopy?.fill(U13_SCRIBBLE);
      lastCopy = pool.frames[frame]!.slice();
      return lastCopy;
    },
  };
}

/** What a page handed out by a debug-checking `poolPageSource` reads once it is stale (U13). */
const U13_SCRIBBLE = 0xee;

/**
 * Where undo logs are registered: the slot array of active logs and the history list of committed
 * update logs (InnoDB's rollback segment, trx_rseg_t), with the id counter U11 checks against.
 * The trx-sys page (mvcc/trx-sys-page.ts, a layer up) implements it; every call is made in the mtr
 * that changes the log, so a log is linked from exactly one place (U7).
 */
export interface RollbackSegment {
  /** The next trx id or serialisation number the counter will hand out. */
  readonly nextTrxIdOrNo: number;
  /** A free slot (throws `UndoSlotsFullError` when none is: before any write). */
  findFreeSlot(source: PageSource): number;
  setSlot(mtr: MiniTransaction, slot: number, logPageNo: number): void;
  releaseSlot(mtr: MiniTransaction, slot: number, logPageNo: number): void;
  historyAppend(mtr: MiniTransaction, logPageNo: number, trxNo: number): void;
  historyRemove(mtr: MiniTransaction, logPageNo: number): void;
  /** The logs kept for reuse (U14), listed from the slots at open. */
  readonly undoCache: UndoLogCache;
}

/** The largest record body a log of this page size accepts (U3): half a page. */
export function undoRecordBytesMax(pageSize: number): number {
  return Math.min(Math.floor(pageSize / 2), UNDO_RECORD_CODEC_BYTES_MAX);
}

// --- checks ------------------------------------------------------------------------------------

const UNDO_FILE = spaceFileName(SYSTEM_SPACE_ID);

export function corrupt(pageNo: number, detail: string): CorruptionError {
  return new CorruptionError(UNDO_FILE, pageNo, detail);
}

function describeNotUndo(page: Uint8Array): string {
  const type = pageTypeOf(page);
  if (type === PageType.Free) return 'the page is free (its undo log was purged or rolled back and freed)';
  return `the page has type ${type}, not an undo page (freed and reused)`;
}

/**
 * Checks that `page` is an undo page of the log with header `logPageNo` (when given), owned by
 * `trxId` (when >= 0) and of kind `code` (when > 0). U9.
 */
export function checkUndoPage(
  page: Uint8Array,
  pageNo: number,
  what: string,
  code: number,
  trxId: number,
  logPageNo: number,
): void {
  if (pageTypeOf(page) !== PageType.Undo) throw corrupt(pageNo, `U9 ${what}: ${describeNotUndo(page)}`);
  if (code > 0 && readU16(page, UNDO_PAGE_KIND) !== code) {
    throw corrupt(
      pageNo,
      `U9 ${what}: the page belongs to an undo log of kind ${readU16(page, UNDO_PAGE_KIND)}, expected ${code}`,
    );
  }
  if (trxId >= 0 && readU64(page, UNDO_PAGE_TRX_ID) !== trxId) {
    throw corrupt(
      pageNo,
      `U9 ${what}: the page belongs to transaction ${readU64(page, UNDO_PAGE_TRX_ID)}, expected ${trxId} (freed and reused)`,
    );
  }
  if (logPageNo !== NIL_PAGE && readU32(page, UNDO_PAGE_LOG_PAGE) !== logPageNo) {
    throw corrupt(
      pageNo,
      `U9 ${what}: the page belongs to the undo log at page ${readU32(page, UNDO_PAGE_LOG_PAGE)}, expected ${logPageNo}`,
    );
  }
  const free = readU16(page, UNDO_PAGE_FREE);
  if (free < recordsStart(page, pageNo) || free > page.length - FIL_TRAILER_BYTES) {
    throw corrupt(pageNo, `U4 ${what}: PAGE_FREE ${free} out of range`);
  }
}

export function recordsStart(page: Uint8Array, pageNo: number): number {
  return readU32(page, UNDO_PAGE_LOG_PAGE) === pageNo ? UNDO_LOG_RECORDS_START : UNDO_PAGE_RECORDS_START;
}

/** The header page of `log`, checked. */
export function logHeader(source: PageSource, log: UndoLogRef): Uint8Array {
  const header = source.getPage(SYSTEM_SPACE_ID, log.pageNo);
  checkUndoPage(header, log.pageNo, 'undo log header', kindCode(log.kind), log.trxId, log.pageNo);
  return header;
}

// --- scratch for composed writes (one thread: module-level buffers are safe) -------------------

let scratch = new Uint8Array(256);

function scratchFor(length: number): Uint8Array {
  if (scratch.length < length) scratch = new Uint8Array(Math.max(length, scratch.length * 2));
  return scratch;
}

/** Writes PAGE_N_RECS, PAGE_FREE, PAGE_LAST_REC in one redo record. */
function writePageRecs(mtr: MiniTransaction, page: Uint8Array, nRecs: number, free: number, lastRec: number): void {
  const s = scratchFor(6);
  writeU16(s, 0, nRecs);
  writeU16(s, 2, free);
  writeU16(s, 4, lastRec);
  mtr.write(page, UNDO_PAGE_N_RECS, s, 0, 6);
}

/** Writes LOG_LAST_PAGE .. LOG_TOP in one redo record (only REC_COUNT and TOP when the page set is unchanged). */
function writeLogTop(
  mtr: MiniTransaction,
  header: Uint8Array,
  lastPage: number,
  pageCount: number,
  recCount: number,
  top: number,
): void {
  const s = scratchFor(14);
  const pagesChanged =
    readU32(header, UNDO_LOG_LAST_PAGE) !== lastPage || readU32(header, UNDO_LOG_PAGE_COUNT) !== pageCount;
  writeU32(s, 0, lastPage);
  writeU32(s, 4, pageCount);
  writeU32(s, 8, recCount);
  writeU16(s, 12, top);
  if (pagesChanged) mtr.write(header, UNDO_LOG_LAST_PAGE, s, 0, 14);
  else mtr.write(header, UNDO_LOG_REC_COUNT, s, 8, 14);
}

/** PAGE_KIND to PAGE_LOG_PAGE, composed for `writeChanged` (which logs as many bytes as it is given). */
const undoPageHeaderScratch = new Uint8Array(UNDO_PAGE_LOG_PAGE + 4 - UNDO_PAGE_KIND);
/** LOG_STATE to LOG_HIST_NEXT, likewise. */
const freshLogHeaderScratch = new Uint8Array(UNDO_LOG_HIST_NEXT + 4 - UNDO_LOG_STATE);

/** Initialises a freshly allocated undo page's header (INIT_PAGE zeroed the rest). */
function initUndoPage(
  mtr: MiniTransaction,
  page: Uint8Array,
  code: number,
  trxId: number,
  logPageNo: number,
  start: number,
): void {
  const s = undoPageHeaderScratch;
  s.fill(0);
  writeU16(s, 0, code);
  writeU16(s, 2, 0);
  writeU16(s, 4, start);
  writeU16(s, 6, 0);
  writeU64(s, 8, trxId);
  writeU32(s, 16, logPageNo);
  // Only the bytes that differ are logged: a reused cached log (U15) changes little more than its
  // owner, and a new page is zeros but for these fields.
  mtr.writeChanged(page, UNDO_PAGE_KIND, s);
}

// --- create, append ----------------------------------------------------------------------------

/**
 * Creates an undo log for `trxId`: allocates its header page in space 0 and claims a slot for it
 * in the same mtr (U7). Throws `UndoSlotsFullError` (nothing written) when every slot is taken.
 */
export function createUndoLog(
  mtr: MiniTransaction,
  rseg: RollbackSegment,
  trxId: number,
  kind: UndoLogKind,
): UndoLogRef {
  assert(
    Number.isSafeInteger(trxId) && trxId > 0 && trxId < rseg.nextTrxIdOrNo,
    () => `U11 undo log owner ${trxId} is an assigned trx id`,
  );
  const cached = rseg.undoCache.take();
  if (cached !== undefined) {
    // U15: a cached log becomes this transaction's, in the slot it kept (U7), in this mtr.
    const page = mtr.getPage(SYSTEM_SPACE_ID, cached);
    checkCachedLog(page, cached);
    initUndoPage(mtr, page, kindCode(kind), trxId, cached, UNDO_LOG_RECORDS_START);
    writeFreshLogHeader(mtr, page, UndoLogState.Active, readU16(page, UNDO_LOG_SLOT));
    return { pageNo: cached, trxId, kind };
  }
  const slot = rseg.findFreeSlot(mtr); // may throw: before any write
  const { pageNo, page } = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.Undo);
  initUndoPage(mtr, page, kindCode(kind), trxId, pageNo, UNDO_LOG_RECORDS_START);
  writeFreshLogHeader(mtr, page, UndoLogState.Active, slot);
  rseg.setSlot(mtr, slot, pageNo);
  return { pageNo, trxId, kind };
}

/**
 * Writes the log header of a one-page log with no records (LOG_STATE to LOG_HIST_NEXT) in one redo
 * record: `state` in `slot`, TRX_NO 0, LAST_PAGE itself, out of the history list.
 */
function writeFreshLogHeader(mtr: MiniTransaction, page: Uint8Array, state: UndoLogStateValue, slot: number): void {
  const s = freshLogHeaderScratch;
  s.fill(0);
  writeU16(s, 0, state);
  writeU16(s, UNDO_LOG_SLOT - UNDO_LOG_STATE, slot);
  writeU32(s, UNDO_LOG_LAST_PAGE - UNDO_LOG_STATE, readU32(page, FIL_PAGE_NO));
  writeU32(s, UNDO_LOG_PAGE_COUNT - UNDO_LOG_STATE, 1);
  writeU32(s, UNDO_LOG_HIST_PREV - UNDO_LOG_STATE, NIL_PAGE);
  writeU32(s, UNDO_LOG_HIST_NEXT - UNDO_LOG_STATE, NIL_PAGE);
  mtr.writeChanged(page, UNDO_LOG_STATE, s); // a reuse changes the state only
}

/** U14: the page at `pageNo` the cache lists is a cached log (read from disk: corruption if not). */
function checkCachedLog(page: Uint8Array, pageNo: number): void {
  checkUndoPage(page, pageNo, 'cached undo log', 0, -1, pageNo);
  if (
    readU16(page, UNDO_LOG_STATE) !== UndoLogState.Cached ||
    readU16(page, UNDO_LOG_SLOT) === UNDO_LOG_SLOT_NONE ||
    readU32(page, UNDO_LOG_PAGE_COUNT) !== 1 ||
    readU32(page, UNDO_LOG_LAST_PAGE) !== pageNo ||
    readU32(page, UNDO_LOG_REC_COUNT) !== 0 ||
    readU16(page, UNDO_PAGE_N_RECS) !== 0 ||
    readU32(page, FIL_NEXT) !== NIL_PAGE ||
    readU32(page, UNDO_LOG_HIST_PREV) !== NIL_PAGE ||
    readU32(page, UNDO_LOG_HIST_NEXT) !== NIL_PAGE
  ) {
    throw corrupt(
      pageNo,
      `U14 the undo cache lists page ${pageNo}, which is not a cached log (state ${readU16(page, UNDO_LOG_STATE)})`,
    );
  }
}

const appendCursor = new UndoRecordCursor();

/**
 * Appends the encoded record bytes[start, end) to the top of `log` and returns its roll
 * pointer. Allocates and links a new page when the last one is full. The record is checked
 * (U1, U3, U5) before anything is written, so a refused record leaves the mtr untouched.
 */
export function appendUndoRecord(
  mtr: MiniTransaction,
  log: UndoLogRef,
  bytes: Uint8Array,
  start = 0,
  end = bytes.length,
): RollPtr {
  const length = end - start;
  const header = logHeader(mtr, log);
  const pageSize = header.length;
  const limit = undoRecordBytesMax(pageSize);
  if (length > limit) throw new UndoRecordTooLargeError(length, limit, 'undo records never span pages');
  appendCursor.parse(bytes, start, length); // U1: a record we store always reads back
  assert(
    readU16(header, UNDO_LOG_STATE) === UndoLogState.Active,
    () => `U10 append to undo log ${log.pageNo} in state ${readU16(header, UNDO_LOG_STATE)}`,
  );

  let lastPageNo = readU32(header, UNDO_LOG_LAST_PAGE);
  let pageCount = readU32(header, UNDO_LOG_PAGE_COUNT);
  const recCount = readU32(header, UNDO_LOG_REC_COUNT);
  let page = lastPageNo === log.pageNo ? header : mtr.getPage(SYSTEM_SPACE_ID, lastPageNo);
  if (page !== header) checkUndoPage(page, lastPageNo, 'undo log last page', kindCode(log.kind), log.trxId, log.pageNo);
  if (recCount > 0) {
    const top = readU16(header, UNDO_LOG_TOP);
    const topUndoNo = undoNoAt(page, top + UNDO_REC_WRAPPER_BYTES);
    assert(
      appendCursor.undoNo > topUndoNo,
      () => `U5 undo_no ${appendCursor.undoNo} above the top's ${topUndoNo} in undo log ${log.pageNo}`,
    );
  }

  let free = readU16(page, UNDO_PAGE_FREE);
  let nRecs = readU16(page, UNDO_PAGE_N_RECS);
  let prev = readU16(page, UNDO_PAGE_LAST_REC);
  if (free + UNDO_REC_WRAPPER_BYTES + length > pageSize - FIL_TRAILER_BYTES) {
    const fresh = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.Undo);
    initUndoPage(mtr, fresh.page, kindCode(log.kind), log.trxId, log.pageNo, UNDO_PAGE_RECORDS_START);
    mtr.writeU32(fresh.page, FIL_PREV, lastPageNo);
    mtr.writeU32(page, FIL_NEXT, fresh.pageNo);
    page = fresh.page;
    lastPageNo = fresh.pageNo;
    pageCount++;
    free = UNDO_PAGE_RECORDS_START;
    nRecs = 0;
    prev = 0;
  }
  const at = free;
  const s = scratchFor(UNDO_REC_WRAPPER_BYTES + length);
  writeU16(s, UNDO_REC_PREV, prev);
  writeU16(s, UNDO_REC_LEN, length);
  s.set(bytes.subarray(start, end), UNDO_REC_WRAPPER_BYTES);
  mtr.write(page, at, s, 0, UNDO_REC_WRAPPER_BYTES + length);
  writePageRecs(mtr, page, nRecs + 1, at + UNDO_REC_WRAPPER_BYTES + length, at);
  writeLogTop(mtr, header, lastPageNo, pageCount, recCount + 1, at);
  return makeRollPtr(log.kind === 'insert', SYSTEM_SPACE_ID, lastPageNo, at);
}

// --- truncate, commit, free --------------------------------------------------------------------

/**
 * Drops the last page of `log` (empty of records, or being freed), making its predecessor the
 * last. Returns the new last page. Header fields are written by the caller (`writeLogTop`).
 */
function dropLastPage(
  mtr: MiniTransaction,
  log: UndoLogRef,
  lastPageNo: number,
  lastPage: Uint8Array,
): { pageNo: number; page: Uint8Array } {
  const prevPageNo = readU32(lastPage, FIL_PREV);
  assert(lastPageNo !== log.pageNo && prevPageNo !== NIL_PAGE, 'U6 the header page is freed last');
  const prevPage = mtr.getPage(SYSTEM_SPACE_ID, prevPageNo);
  checkUndoPage(prevPage, prevPageNo, 'undo log page', kindCode(log.kind), log.trxId, log.pageNo);
  assert(
    readU32(prevPage, FIL_NEXT) === lastPageNo,
    () => `undo log ${log.pageNo}: page ${prevPageNo} links to ${lastPageNo}`,
  );
  mtr.writeU32(prevPage, FIL_NEXT, NIL_PAGE);
  freePage(mtr, SYSTEM_SPACE_ID, lastPageNo);
  return { pageNo: prevPageNo, page: prevPage };
}

/**
 * Rollback to a savepoint: pops every record with undo_no >= `undoNo` from the top of `log`,
 * freeing pages it empties (U6). Frees at most `maxPages` pages per call, so a long rollback takes
 * several mtrs; returns true when done (the top record's undo_no is below `undoNo`, or the log is
 * empty), false when the caller must call again in a new mtr. `undoNo` 0 empties the log.
 */
export function truncateUndoLog(
  mtr: MiniTransaction,
  log: UndoLogRef,
  undoNo: number,
  maxPages = UNDO_FREE_PAGES_PER_MTR,
): boolean {
  assert(maxPages >= 1, 'a truncation step may free at least one page');
  const header = logHeader(mtr, log);
  assert(
    readU16(header, UNDO_LOG_STATE) === UndoLogState.Active,
    () => `U10 truncate of undo log ${log.pageNo} that is not ACTIVE`,
  );
  let recCount = readU32(header, UNDO_LOG_REC_COUNT);
  let lastPageNo = readU32(header, UNDO_LOG_LAST_PAGE);
  let pageCount = readU32(header, UNDO_LOG_PAGE_COUNT);
  let top = readU16(header, UNDO_LOG_TOP);
  let page = lastPageNo === log.pageNo ? header : mtr.getPage(SYSTEM_SPACE_ID, lastPageNo);
  let freed = 0;
  let done = false;
  let changed = false;
  for (;;) {
    if (page !== header) checkUndoPage(page, lastPageNo, 'undo log page', kindCode(log.kind), log.trxId, log.pageNo);
    // Count what goes from this page (from the top down), then change the page once.
    const nRecsBefore = readU16(page, UNDO_PAGE_N_RECS);
    let nRecs = nRecsBefore;
    let at = top;
    while (nRecs > 0 && undoNoAt(page, at + UNDO_REC_WRAPPER_BYTES) >= undoNo) {
      at = readU16(page, at + UNDO_REC_PREV);
      nRecs--;
    }
    if (nRecs === nRecsBefore) {
      done = true; // the top record stays, or the log is empty
      break;
    }
    if (nRecs === 0 && lastPageNo !== log.pageNo) {
      // The page would be empty and is not the header page: free it (U6), or stop here.
      if (freed === maxPages) break;
      recCount -= nRecsBefore;
      const prev = dropLastPage(mtr, log, lastPageNo, page);
      freed++;
      pageCount--;
      lastPageNo = prev.pageNo;
      page = prev.page;
      top = readU16(page, UNDO_PAGE_LAST_REC);
      changed = true;
      continue;
    }
    recCount -= nRecsBefore - nRecs;
    top = nRecs > 0 ? at : 0;
    const free =
      nRecs > 0 ? top + UNDO_REC_WRAPPER_BYTES + readU16(page, top + UNDO_REC_LEN) : recordsStart(page, lastPageNo);
    writePageRecs(mtr, page, nRecs, free, top);
    assert(
      nRecs > 0 || recCount === 0,
      () => `U6 undo log ${log.pageNo}: an empty header page means an empty log (${recCount} left)`,
    );
    changed = true;
    done = true;
    break;
  }
  if (changed) writeLogTop(mtr, header, lastPageNo, pageCount, recCount, recCount === 0 ? 0 : top);
  return done;
}

/**
 * Commit of `log`'s transaction, serialisation number `trxNo` (U10: ACTIVE -> COMMITTED).
 * An update log joins the history list (ordered by trx_no, U8) and leaves its slot in this mtr
 * (U7); returns true. An insert log is freed at once, also releasing its slot, when it has at
 * most `maxPages` pages, returning true; a bigger one is marked COMMITTED (the commit point) and
 * keeps its slot, and the caller finishes with `freeUndoLog` in later mtrs (false).
 */
export function commitUndoLog(
  mtr: MiniTransaction,
  rseg: RollbackSegment,
  log: UndoLogRef,
  trxNo: number,
  maxPages = UNDO_FREE_PAGES_PER_MTR,
): boolean {
  const header = logHeader(mtr, log);
  assert(
    readU16(header, UNDO_LOG_STATE) === UndoLogState.Active,
    () => `U10 commit of undo log ${log.pageNo} that is not ACTIVE`,
  );
  assert(
    Number.isSafeInteger(trxNo) && trxNo > 0 && trxNo < rseg.nextTrxIdOrNo,
    () => `U11 trx_no ${trxNo} was assigned`,
  );
  if (log.kind === 'insert' && readU32(header, UNDO_LOG_PAGE_COUNT) <= maxPages) {
    return freePages(mtr, rseg, log, header, maxPages);
  }
  // LOG_STATE, LOG_SLOT and LOG_TRX_NO lie together: one redo record. An update log leaves its
  // slot (released on the trx-sys page in this mtr, U7); an insert log keeps it until freed.
  const slot = readU16(header, UNDO_LOG_SLOT);
  const s = scratchFor(UNDO_LOG_TRX_NO + 8 - UNDO_LOG_STATE);
  writeU16(s, 0, UndoLogState.Committed);
  writeU16(s, UNDO_LOG_SLOT - UNDO_LOG_STATE, log.kind === 'insert' ? slot : UNDO_LOG_SLOT_NONE);
  writeU64(s, UNDO_LOG_TRX_NO - UNDO_LOG_STATE, trxNo);
  if (log.kind === 'insert') {
    mtr.write(header, UNDO_LOG_STATE, s, 0, UNDO_LOG_TRX_NO + 8 - UNDO_LOG_STATE);
    return false;
  }
  rseg.releaseSlot(mtr, slot, log.pageNo);
  mtr.write(header, UNDO_LOG_STATE, s, 0, UNDO_LOG_TRX_NO + 8 - UNDO_LOG_STATE);
  rseg.historyAppend(mtr, log.pageNo, trxNo);
  return true;
}

/**
 * Frees `log`: an insert log after commit, any log after rollback emptied it, an update log
 * after purge. Frees at most `maxPages` pages from the end per call; the call that frees the
 * header page also unlinks the log from its slot or the history list (U7) and returns true.
 * False: call again in a new mtr.
 */
export function freeUndoLog(
  mtr: MiniTransaction,
  rseg: RollbackSegment,
  log: UndoLogRef,
  maxPages = UNDO_FREE_PAGES_PER_MTR,
): boolean {
  const header = logHeader(mtr, log);
  const state = readU16(header, UNDO_LOG_STATE);
  assert(
    state !== UndoLogState.Active || readU32(header, UNDO_LOG_REC_COUNT) === 0,
    () => `U10 an ACTIVE undo log (${log.pageNo}) is freed only after rollback emptied it`,
  );
  assert(state !== UndoLogState.Cached, () => `U14 a CACHED undo log (${log.pageNo}) is reused, never freed`);
  return freePages(mtr, rseg, log, header, maxPages);
}

/** Purge is done with `log` (the oldest committed update log): unlink it from the history list and free it, in steps. */
export function removeFromHistory(
  mtr: MiniTransaction,
  rseg: RollbackSegment,
  log: UndoLogRef,
  maxPages = UNDO_FREE_PAGES_PER_MTR,
): boolean {
  const header = logHeader(mtr, log);
  assert(
    log.kind === 'update' &&
      readU16(header, UNDO_LOG_STATE) === UndoLogState.Committed &&
      readU16(header, UNDO_LOG_SLOT) === UNDO_LOG_SLOT_NONE,
    () => `U7 undo log ${log.pageNo} is in the history list`,
  );
  return freePages(mtr, rseg, log, header, maxPages);
}

/**
 * Runs a bounded undo step (`freeUndoLog`, `removeFromHistory`) in one mtr after another until it
 * reports done: each mtr leaves a whole, shorter log, so a crash between them resumes cleanly.
 */
export function runUndoSteps(startMtr: () => MiniTransaction, step: (mtr: MiniTransaction) => boolean): void {
  for (let done = false; !done; ) {
    const mtr = startMtr();
    done = step(mtr);
    mtr.commit();
  }
}

function freePages(
  mtr: MiniTransaction,
  rseg: RollbackSegment,
  log: UndoLogRef,
  header: Uint8Array,
  maxPages: number,
): boolean {
  assert(maxPages >= 1, 'a free step frees at least one page');
  let lastPageNo = readU32(header, UNDO_LOG_LAST_PAGE);
  let pageCount = readU32(header, UNDO_LOG_PAGE_COUNT);
  let recCount = readU32(header, UNDO_LOG_REC_COUNT);
  let freed = 0;
  while (lastPageNo !== log.pageNo && freed < maxPages) {
    const lastPage = mtr.getPage(SYSTEM_SPACE_ID, lastPageNo);
    checkUndoPage(lastPage, lastPageNo, 'undo log page', kindCode(log.kind), log.trxId, log.pageNo);
    recCount -= readU16(lastPage, UNDO_PAGE_N_RECS);
    lastPageNo = dropLastPage(mtr, log, lastPageNo, lastPage).pageNo;
    pageCount--;
    freed++;
  }
  if (lastPageNo !== log.pageNo || freed === maxPages) {
    // Not there yet: leave a whole, shorter log (a crash here finds it consistent).
    if (freed > 0) {
      const page = lastPageNo === log.pageNo ? header : mtr.getPage(SYSTEM_SPACE_ID, lastPageNo);
      writeLogTop(mtr, header, lastPageNo, pageCount, recCount, readU16(page, UNDO_PAGE_LAST_REC));
    }
    return false;
  }
  assert(pageCount === 1, () => `undo log ${log.pageNo} counted ${pageCount} pages at its header`);
  if (rseg.undoCache.hasRoom() && cacheLog(mtr, rseg, log, header)) return true;
  const slot = readU16(header, UNDO_LOG_SLOT);
  if (slot !== UNDO_LOG_SLOT_NONE) {
    rseg.releaseSlot(mtr, slot, log.pageNo);
  } else {
    assert(
      readU16(header, UNDO_LOG_STATE) === UndoLogState.Committed && log.kind === 'update',
      () => `U7 undo log ${log.pageNo} in no slot is in the history list`,
    );
    rseg.historyRemove(mtr, log.pageNo);
  }
  freePage(mtr, SYSTEM_SPACE_ID, log.pageNo);
  return true;
}

/**
 * Keeps the one-page `log` for reuse instead of freeing it (U14): its header page becomes an empty
 * CACHED log in a slot. A log in the history list (purge is done with it) leaves the list and
 * takes a free slot in this mtr (U7: linked from one place); false, and nothing written, when no
 * slot is free (the caller frees it).
 */
function cacheLog(mtr: MiniTransaction, rseg: RollbackSegment, log: UndoLogRef, header: Uint8Array): boolean {
  let slot = readU16(header, UNDO_LOG_SLOT);
  if (slot === UNDO_LOG_SLOT_NONE) {
    assert(
      readU16(header, UNDO_LOG_STATE) === UndoLogState.Committed && log.kind === 'update',
      () => `U7 undo log ${log.pageNo} in no slot is in the history list`,
    );
    try {
      slot = rseg.findFreeSlot(mtr);
    } catch (error) {
      if (error instanceof MinnoError && error.code === 'ERR_NO_SPACE') return false; // every slot taken
      throw error;
    }
    rseg.historyRemove(mtr, log.pageNo); // reads LOG_HIST_PREV / NEXT: before the header is reset
    rseg.setSlot(mtr, slot, log.pageNo);
  }
  writePageRecs(mtr, header, 0, UNDO_LOG_RECORDS_START, 0);
  writeFreshLogHeader(mtr, header, UndoLogState.Cached, slot);
  rseg.undoCache.add(log.pageNo);
  return true;
}
