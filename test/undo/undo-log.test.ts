/**
 * Undo logs in pages (src/undo/undo-log.ts) and the trx-sys page (src/mvcc/trx-sys-page.ts) on 4 KiB
 * pages: thousands of records over many pages read back by roll pointer and walked both ways,
 * savepoint truncation, commit (insert logs freed, update logs into the history list in trx_no
 * order), purge-style removal, reopening after close and after a crash, and every kind of stale
 * roll pointer raising ERR_CORRUPTION (U9, seed 002). Every log is checked by `checkUndoLog` and
 * space 0's page accounting proves no page leaks (U7).
 */
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { CorruptionError } from '../../src/errors.js';
import { NIL_PAGE, PageType, pageTypeOf, readU32 } from '../../src/page/page.js';
import { validateFreeList } from '../../src/page/space-allocator.js';
import { SPACE_FREE_LEN_OFFSET, SPACE_SIZE_OFFSET } from '../../src/page/tablespace.js';
import { AssertionError } from '../../src/util/assert.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { MiniTransaction } from '../../src/redo/mtr.js';
import {
  ROLL_PTR_NULL,
  makeRollPtr,
  rollPtrIsInsert,
  rollPtrOffset,
  rollPtrPageNo,
  type RollPtr,
} from '../../src/undo/roll-ptr.js';
import {
  TRX_SYS_PAGE_NO_OFFSET,
  TRX_SYS_TRX_ID_WRITE_MARGIN,
  type TrxSysPage as TrxSys,
  UndoSlotsFullError,
  createTrxSysPage as createTrxSys,
  openTrxSysPage as openTrxSys,
  recoveryActionFor,
  type UndoRecoveryAction,
} from '../../src/mvcc/trx-sys-page.js';
import {
  UNDO_LOG_RECORDS_START,
  UndoLogState,
  appendUndoRecord,
  commitUndoLog,
  createUndoLog,
  freeUndoLog,
  poolPageSource,
  removeFromHistory,
  truncateUndoLog,
  undoRecordBytesMax,
  type PageSource,
  type UndoLogKind,
  type UndoLogRef,
  type UndoLogStateValue,
} from '../../src/undo/undo-log.js';
import {
  UndoLogCursor,
  checkUndoLog,
  firstUndoRecord,
  lastUndoRecord,
  nextUndoRecord,
  prevUndoRecord,
  readUndoRecord,
  undoLogInfo,
  type UndoLogInfo,
} from '../../src/undo/undo-log-read.js';
import { UndoRecordTooLargeError, UndoRecordType, encodeUndoRecord } from '../../src/undo/undo-record.js';
import { openTestStorage } from '../support/open.js';
import { UNDO_CACHED_LOGS_MAX, undoCacheCapacity } from '../../src/undo/undo-cache.js';

const PAGE_SIZE = 4096;

const open = (vfs: MemoryVfs): Promise<Storage> =>
  openTestStorage(vfs, { poolPages: 64, redoLogBytes: 2 * 1024 * 1024 });

async function bootstrap(vfs = new MemoryVfs()): Promise<{ vfs: MemoryVfs; storage: Storage; trxSys: TrxSys }> {
  const storage = await open(vfs);
  const trxSys = inMtr(storage, (mtr) => createTrxSys(mtr));
  // These tests are about pages allocated and freed: no log is kept for reuse (the cache's own
  // tests are in undo-cache.test.ts).
  trxSys.undoCache.capacity = 0;
  return { vfs, storage, trxSys };
}

function inMtr<T>(storage: Storage, fn: (mtr: MiniTransaction) => T): T {
  const mtr = storage.startMtr();
  const result = fn(mtr);
  mtr.commit();
  return result;
}

/** Runs `fn` in an mtr that must refuse before writing anything, then ends the mtr. */
function expectRefused(
  storage: Storage,
  fn: (mtr: MiniTransaction) => unknown,
  error: RegExp | (new (...args: never[]) => Error),
): void {
  const mtr = storage.startMtr();
  expect(() => fn(mtr)).toThrow(error);
  expect(mtr.redoBytes).toBe(0);
  mtr.abort();
}

function pages(storage: Storage): PageSource {
  return poolPageSource(storage.pool);
}

function begin(storage: Storage, trxSys: TrxSys, kind: UndoLogKind): UndoLogRef {
  return inMtr(storage, (mtr) => createUndoLog(mtr, trxSys, trxSys.assignTrxId(mtr), kind));
}

/** A record whose bytes derive from (undoNo, size): an update record with one field of `size` bytes. */
function recordBytes(undoNo: number, size: number, kind: UndoLogKind = 'update'): Uint8Array {
  const value = new Uint8Array(size);
  for (let i = 0; i < size; i++) value[i] = (undoNo * 31 + i) & 0xff;
  if (kind === 'insert') {
    return encodeUndoRecord({ type: UndoRecordType.Insert, undoNo, tableId: 7, primaryKey: value, fields: [] });
  }
  return encodeUndoRecord({
    type: UndoRecordType.UpdateExisting,
    undoNo,
    tableId: 7,
    oldTrxId: undoNo + 1,
    oldRollPtr: makeRollPtr(false, 0, undoNo + 5, 112),
    primaryKey: new Uint8Array([undoNo & 0xff]),
    fields: [
      { fieldNo: 2, value },
      { fieldNo: 3, value: null },
    ],
  });
}

interface Written {
  readonly undoNo: number;
  readonly bytes: Uint8Array;
  readonly rollPtr: RollPtr;
}

function append(storage: Storage, log: UndoLogRef, undoNo: number, size: number): Written {
  const bytes = recordBytes(undoNo, size, log.kind);
  const rollPtr = inMtr(storage, (mtr) => appendUndoRecord(mtr, log, bytes));
  return { undoNo, bytes, rollPtr };
}

function bodyOf(cursor: UndoLogCursor): Uint8Array {
  return cursor.bytes.slice(cursor.start, cursor.end);
}

/** Space 0's size and free-list length (validated, A1/A2). */
function spaceUsage(storage: Storage): { size: number; free: number } {
  const source = pages(storage);
  const header = source.getPage(0, 0);
  const size = readU32(header, SPACE_SIZE_OFFSET);
  const free = readU32(header, SPACE_FREE_LEN_OFFSET);
  validateFreeList((pageNo) => source.getPage(0, pageNo), source.getPage(0, 0));
  return { size, free };
}

/**
 * U7 and no leak: every page of space 0 is the header, the trx-sys page, a free page, or a page of
 * exactly one undo log linked from a slot or the history list.
 */
function checkAccounting(storage: Storage, trxSys: TrxSys, otherPages = 0): void {
  const source = pages(storage);
  const seen = new Set<number>();
  const logs = [...trxSys.activeUndoLogs(source), ...trxSys.history(source)];
  for (const info of logs) {
    for (const pageNo of checkUndoLog(source, info.log).pages) {
      expect(seen.has(pageNo), `page ${pageNo} in two logs`).toBe(false);
      seen.add(pageNo);
    }
  }
  const { size, free } = spaceUsage(storage);
  expect(size).toBe(2 + free + seen.size + otherPages);
}

describe('undo log pages', () => {
  it('appends thousands of records across many pages, reads each by roll pointer and walks both ways', async () => {
    const { storage, trxSys } = await bootstrap();
    const random = new RandomSource(42);
    const log = begin(storage, trxSys, 'update');
    const written: Written[] = [];
    let undoNo = 0;
    for (let i = 0; i < 3000; i++) {
      undoNo += random.intBetween(1, 3);
      const size = random.chance(0.01)
        ? random.intBetween(1000, undoRecordBytesMax(PAGE_SIZE) - 60)
        : random.intBetween(0, 60);
      written.push(append(storage, log, undoNo, size));
    }
    const source = pages(storage);
    const info = undoLogInfo(source, log);
    expect(info.recordCount).toBe(3000);
    expect(info.pageCount).toBeGreaterThan(50);
    expect(info.state).toBe(UndoLogState.Active);
    expect(info.top).toBe(written.at(-1)!.rollPtr);
    expect(info.topUndoNo).toBe(undoNo);
    expect(checkUndoLog(source, log).records).toBe(3000);

    const cursor = new UndoLogCursor();
    for (const w of written) {
      expect(rollPtrIsInsert(w.rollPtr)).toBe(false);
      readUndoRecord(source, w.rollPtr, log.trxId, cursor);
      expect(cursor.undoNo).toBe(w.undoNo);
      expect(bodyOf(cursor)).toEqual(w.bytes);
      expect(cursor.rollPtr).toBe(w.rollPtr);
    }
    // Backwards from the top (rollback order), then forwards from the bottom (purge order).
    const back: RollPtr[] = [];
    for (
      let c = lastUndoRecord(source, log, cursor);
      c !== undefined;
      c = prevUndoRecord(source, cursor) ? cursor : undefined
    ) {
      back.push(cursor.rollPtr);
      expect(bodyOf(cursor)).toEqual(written[written.length - back.length]!.bytes);
    }
    expect(back).toEqual(written.map((w) => w.rollPtr).reverse());
    const forward: number[] = [];
    for (
      let c = firstUndoRecord(source, log, cursor);
      c !== undefined;
      c = nextUndoRecord(source, cursor) ? cursor : undefined
    ) {
      forward.push(cursor.undoNo);
    }
    expect(forward).toEqual(written.map((w) => w.undoNo));
    checkAccounting(storage, trxSys);
    await storage.close();
  });

  it('U13: a positioned cursor keeps its record when the page frame it was read from is reused', async () => {
    // Rollback reads an undo record, searches the indexes (which may evict the undo page and
    // reuse its frame), then reads the record's fields: the simulator found garbage field numbers
    // under pool pressure (issue 9). The cursor must own a copy of its record.
    const { storage, trxSys } = await bootstrap();
    const log = begin(storage, trxSys, 'update');
    const written = [append(storage, log, 1, 40), append(storage, log, 2, 50)];
    const frames: Uint8Array[] = [];
    const reusable: PageSource = {
      getPage: (spaceId, pageNo) => {
        const frame = pages(storage).getPage(spaceId, pageNo).slice();
        frames.push(frame);
        return frame;
      },
    };
    const cursor = lastUndoRecord(reusable, log, new UndoLogCursor())!;
    for (const frame of frames) frame.fill(0xab); // the frame now holds another page
    expect(cursor.undoNo).toBe(2);
    expect(bodyOf(cursor)).toEqual(written[1]!.bytes);
    const fields: number[] = [];
    cursor.rewindFields();
    while (cursor.nextField()) fields.push(cursor.fieldNo, cursor.valueLength);
    expect(fields).toEqual([2, 50, 3, -1]);
    expect([...cursor.primaryKey()]).toEqual([2]);
  });

  it('truncates to random savepoints, freeing the pages it empties, and appends again', async () => {
    const { storage, trxSys } = await bootstrap();
    const random = new RandomSource(7);
    const log = begin(storage, trxSys, 'update');
    let live: Written[] = [];
    let undoNo = 0;
    const fill = (count: number): void => {
      for (let i = 0; i < count; i++) live.push(append(storage, log, ++undoNo, random.intBetween(0, 200)));
    };
    const source = pages(storage);
    for (let round = 0; round < 12; round++) {
      fill(random.intBetween(50, 400));
      const usedBefore = spaceUsage(storage);
      const pagesBefore = undoLogInfo(source, log).pageCount;
      const savepoint = random.chance(0.2) ? 0 : live[random.int(live.length)]!.undoNo;
      const popped = live.filter((w) => w.undoNo >= savepoint);
      // Small steps (2 pages per mtr) so that the multi-mtr path runs.
      let steps = 0;
      while (!inMtr(storage, (mtr) => truncateUndoLog(mtr, log, savepoint, 2))) steps++;
      live = live.filter((w) => w.undoNo < savepoint);
      undoNo = savepoint; // as InnoDB resets trx->undo_no to the savepoint
      const info = undoLogInfo(source, log);
      expect(info.recordCount).toBe(live.length);
      expect(info.top).toBe(live.at(-1)?.rollPtr);
      expect(checkUndoLog(source, log).records).toBe(live.length);
      const freedPages = pagesBefore - info.pageCount;
      expect(spaceUsage(storage).free - usedBefore.free).toBe(freedPages);
      expect(steps).toBeGreaterThanOrEqual(Math.floor((freedPages - 1) / 2));
      // Popped records are gone: their page is free, or the offset is above PAGE_FREE (U9).
      for (const w of popped.slice(0, 50)) {
        expect(() => readUndoRecord(source, w.rollPtr, log.trxId)).toThrow(CorruptionError);
      }
      for (const w of live) expect(bodyOf(readUndoRecord(source, w.rollPtr, log.trxId))).toEqual(w.bytes);
    }
    checkAccounting(storage, trxSys);
    await storage.close();
  });

  it('frees an insert log at commit (space 0’s free list grows by its pages) and keeps update logs in trx_no order', async () => {
    const { storage, trxSys } = await bootstrap();
    const source = pages(storage);
    // A transaction with both logs, as InnoDB: insert undo and update undo share one undo_no sequence.
    const trxId = inMtr(storage, (mtr) => trxSys.assignTrxId(mtr));
    const insertLog = inMtr(storage, (mtr) => createUndoLog(mtr, trxSys, trxId, 'insert'));
    const updateLog = inMtr(storage, (mtr) => createUndoLog(mtr, trxSys, trxId, 'update'));
    const inserted: Written[] = [];
    for (let undoNo = 1; undoNo <= 300; undoNo++) {
      if (undoNo % 3 === 0) append(storage, updateLog, undoNo, 40);
      else inserted.push(append(storage, insertLog, undoNo, 40));
    }
    expect(rollPtrIsInsert(inserted[0]!.rollPtr)).toBe(true);
    const insertPages = undoLogInfo(source, insertLog).pageCount;
    expect(insertPages).toBeGreaterThan(3);
    expect(trxSys.activeUndoLogs(source).map((i) => i.log)).toEqual([insertLog, updateLog]);
    const before = spaceUsage(storage).free;
    const trxNo = inMtr(storage, (mtr) => {
      const no = trxSys.assignTrxNo(mtr);
      expect(commitUndoLog(mtr, trxSys, insertLog, no)).toBe(true);
      expect(commitUndoLog(mtr, trxSys, updateLog, no)).toBe(true);
      return no;
    });
    expect(trxNo).toBeGreaterThan(trxId);
    expect(spaceUsage(storage).free - before).toBe(insertPages);
    expect(trxSys.activeUndoLogs(source)).toEqual([]);
    expect(trxSys.historyLength(source)).toBe(1);
    const [entry] = [...trxSys.history(source)];
    expect(entry!.log).toEqual(updateLog);
    expect(entry!.trxNo).toBe(trxNo);
    expect(entry!.state).toBe(UndoLogState.Committed);
    // Reading the freed insert undo is corruption, never data (U9).
    expect(() => readUndoRecord(source, inserted[0]!.rollPtr, trxId)).toThrow(/page is free/);
    // The update undo stays readable for consistent reads until purge.
    expect(lastUndoRecord(source, updateLog)!.undoNo).toBe(300);

    // Three more transactions commit in an order unlike their start order: history follows trx_no.
    const logs = [begin(storage, trxSys, 'update'), begin(storage, trxSys, 'update'), begin(storage, trxSys, 'update')];
    for (const log of logs) append(storage, log, 1, 10);
    const order = [2, 0, 1];
    const trxNos: number[] = [];
    for (const i of order) {
      trxNos.push(
        inMtr(storage, (mtr) => {
          const no = trxSys.assignTrxNo(mtr);
          commitUndoLog(mtr, trxSys, logs[i]!, no);
          return no;
        }),
      );
    }
    const history = [...trxSys.history(source)];
    expect(history.map((h) => h.log)).toEqual([updateLog, ...order.map((i) => logs[i]!)]);
    expect(history.map((h) => h.trxNo)).toEqual([trxNo, ...trxNos]);
    expect(trxSys.historyFirst(source)).toEqual(updateLog);
    checkAccounting(storage, trxSys);

    // Purge: oldest first, the big log in steps of 2 pages.
    let steps = 0;
    while (!inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, updateLog, 2))) {
      steps++;
      expect(trxSys.historyFirst(source)).toEqual(updateLog); // still linked until its header page goes
      checkAccounting(storage, trxSys);
    }
    expect(steps).toBeGreaterThan(0);
    // Removal from the middle of the list keeps the links right.
    inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, logs[0]!));
    expect([...trxSys.history(source)].map((h) => h.log)).toEqual([logs[2], logs[1]]);
    expect(trxSys.historyLength(source)).toBe(2);
    for (const log of [logs[2]!, logs[1]!]) inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, log));
    expect(trxSys.historyLength(source)).toBe(0);
    expect(trxSys.historyFirst(source)).toBeUndefined();
    checkAccounting(storage, trxSys);
    expect(spaceUsage(storage).size).toBe(2 + spaceUsage(storage).free);
    await storage.close();
  });

  it('commits a big insert log in steps: COMMITTED in its slot until freeUndoLog finishes', async () => {
    const { storage, trxSys } = await bootstrap();
    const source = pages(storage);
    const log = begin(storage, trxSys, 'insert');
    for (let undoNo = 1; undoNo <= 400; undoNo++) append(storage, log, undoNo, 100);
    const pageCount = undoLogInfo(source, log).pageCount;
    expect(pageCount).toBeGreaterThan(8);
    const before = spaceUsage(storage).free;
    const trxNo = inMtr(storage, (mtr) => {
      const no = trxSys.assignTrxNo(mtr);
      expect(commitUndoLog(mtr, trxSys, log, no, 4)).toBe(false);
      return no;
    });
    const [active] = trxSys.activeUndoLogs(source);
    expect(active!.state).toBe(UndoLogState.Committed);
    expect(active!.trxNo).toBe(trxNo);
    expect(recoveryActionFor(active!)).toBe('finish-free');
    let calls = 1;
    while (!inMtr(storage, (mtr) => freeUndoLog(mtr, trxSys, log, 4))) {
      calls++;
      checkAccounting(storage, trxSys);
    }
    expect(calls).toBe(Math.ceil(pageCount / 4));
    expect(trxSys.activeUndoLogs(source)).toEqual([]);
    expect(spaceUsage(storage).free - before).toBe(pageCount);
    await storage.close();
  });

  it('rolls back a whole transaction in steps (truncate to 0, then free) and leaves no trace', async () => {
    const { storage, trxSys } = await bootstrap();
    const source = pages(storage);
    const before = spaceUsage(storage);
    const log = begin(storage, trxSys, 'update');
    for (let undoNo = 1; undoNo <= 200; undoNo++) append(storage, log, undoNo, 50);
    expect(recoveryActionFor(trxSys.activeUndoLogs(source)[0]!)).toBe('rollback');
    // Freeing an ACTIVE log with records would throw away undo that rollback still needs (U10).
    expectRefused(storage, (mtr) => freeUndoLog(mtr, trxSys, log), /U10/);
    while (!inMtr(storage, (mtr) => truncateUndoLog(mtr, log, 0, 3)));
    expect(undoLogInfo(source, log)).toMatchObject({ recordCount: 0, pageCount: 1, top: undefined });
    expect(lastUndoRecord(source, log)).toBeUndefined();
    expect(firstUndoRecord(source, log)).toBeUndefined();
    expect(inMtr(storage, (mtr) => freeUndoLog(mtr, trxSys, log))).toBe(true);
    expect(trxSys.activeUndoLogs(source)).toEqual([]);
    const after = spaceUsage(storage);
    expect(after.size - after.free).toBe(before.size - before.free);
    await storage.close();
  });

  it('reopens after close() and after a crash with slots, history, records and the id counter as they were', async () => {
    for (const how of ['close', 'crash'] as const) {
      const { vfs, storage, trxSys } = await bootstrap();
      const source = pages(storage);
      const random = new RandomSource(how === 'close' ? 1 : 2);
      const written = new Map<number, Written[]>();
      const logs: UndoLogRef[] = [];
      for (let t = 0; t < 12; t++) {
        const log = begin(storage, trxSys, t % 3 === 0 ? 'insert' : 'update');
        logs.push(log);
        const records: Written[] = [];
        for (let undoNo = 1; undoNo <= random.intBetween(0, 120); undoNo++)
          records.push(append(storage, log, undoNo, random.intBetween(0, 90)));
        written.set(log.pageNo, records);
      }
      // Commit some (insert ones are freed), purge one, leave the rest active.
      for (const log of logs.filter((_, i) => i % 2 === 0)) {
        inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, log, trxSys.assignTrxNo(mtr)));
      }
      inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, trxSys.historyFirst(source)!));
      // Burn ids so the counter crosses a write margin.
      const lastLsn =
        inMtr(storage, (mtr) => {
          for (let i = 0; i < 300; i++) trxSys.assignTrxId(mtr);
        }) ?? storage.log.currentLsn;
      const active = trxSys.activeUndoLogs(source);
      const history = [...trxSys.history(source)];
      const nextBefore = trxSys.nextTrxIdOrNo;
      const stored = trxSys.storedMaxTrxId(source);
      expect(stored % TRX_SYS_TRX_ID_WRITE_MARGIN).toBe(0);
      expect(stored).toBeGreaterThan(0);
      if (how === 'close') {
        await storage.close();
      } else {
        await storage.commitDurable(lastLsn, 'full');
        storage.abandon();
      }
      const reopened = await open(vfs);
      if (how === 'crash') expect(reopened.recovery!.recordsApplied).toBeGreaterThan(0);
      const trxSys2 = openTrxSys(reopened)!;
      trxSys2.undoCache.capacity = 0;
      const source2 = pages(reopened);
      expect(trxSys2.pageNo).toBe(trxSys.pageNo);
      expect(trxSys2.activeUndoLogs(source2)).toEqual(active);
      expect([...trxSys2.history(source2)]).toEqual(history);
      expect(trxSys2.nextTrxIdOrNo).toBe(stored + TRX_SYS_TRX_ID_WRITE_MARGIN);
      expect(trxSys2.nextTrxIdOrNo).toBeGreaterThan(nextBefore - 1);
      for (const info of [...active, ...history]) {
        for (const w of written.get(info.log.pageNo)!) {
          expect(bodyOf(readUndoRecord(source2, w.rollPtr, info.log.trxId))).toEqual(w.bytes);
        }
      }
      checkAccounting(reopened, trxSys2);
      // The counter resumes with a write: ids never repeat even if this run crashes next.
      inMtr(reopened, (mtr) => expect(trxSys2.assignTrxId(mtr)).toBe(stored + TRX_SYS_TRX_ID_WRITE_MARGIN));
      expect(trxSys2.storedMaxTrxId(source2)).toBe(stored + TRX_SYS_TRX_ID_WRITE_MARGIN);
      await reopened.close();
    }
  });

  it('raises ERR_CORRUPTION for every stale or wrong roll pointer, never data (U9, seed 002)', async () => {
    const { storage, trxSys } = await bootstrap();
    const source = pages(storage);
    const a = begin(storage, trxSys, 'update');
    const w1 = append(storage, a, 1, 30);
    const w2 = append(storage, a, 2, 30);
    const page = rollPtrPageNo(w1.rollPtr);
    // Right page, wrong owner; wrong kind; inside a record; past the records; the null pointer.
    expect(() => readUndoRecord(source, w1.rollPtr, a.trxId + 1)).toThrow(/belongs to transaction/);
    expect(() => readUndoRecord(source, makeRollPtr(true, 0, page, rollPtrOffset(w1.rollPtr)), a.trxId)).toThrow(
      /kind/,
    );
    expect(() => readUndoRecord(source, makeRollPtr(false, 0, page, rollPtrOffset(w1.rollPtr) + 2), a.trxId)).toThrow(
      CorruptionError,
    );
    expect(() =>
      readUndoRecord(source, makeRollPtr(false, 0, page, rollPtrOffset(w2.rollPtr) + w2.bytes.length + 4), a.trxId),
    ).toThrow(/no undo record/);
    expect(() => readUndoRecord(source, makeRollPtr(false, 0, page, UNDO_LOG_RECORDS_START - 4), a.trxId)).toThrow(
      /no undo record/,
    );
    expect(() => readUndoRecord(source, ROLL_PTR_NULL, a.trxId)).toThrow(CorruptionError);
    expect(() => readUndoRecord(source, makeRollPtr(false, 1, page, 112), a.trxId)).toThrow(CorruptionError);
    // Into the trx-sys page, and past the end of the space.
    expect(() => readUndoRecord(source, makeRollPtr(false, 0, trxSys.pageNo, 112), a.trxId)).toThrow(
      /not an undo page/,
    );
    expect(() => readUndoRecord(source, makeRollPtr(false, 0, 5000, 112), a.trxId)).toThrow(CorruptionError);

    // Rolled back and freed: the page is free.
    inMtr(storage, (mtr) => truncateUndoLog(mtr, a, 2));
    expect(() => readUndoRecord(source, w2.rollPtr, a.trxId)).toThrow(/no undo record/);
    inMtr(storage, (mtr) => truncateUndoLog(mtr, a, 0));
    inMtr(storage, (mtr) => freeUndoLog(mtr, trxSys, a));
    expect(() => readUndoRecord(source, w1.rollPtr, a.trxId)).toThrow(/page is free/);
    // Reused by the next transaction's log (the free list hands the page out again).
    const b = begin(storage, trxSys, 'update');
    expect(b.pageNo).toBe(a.pageNo);
    const w3 = append(storage, b, 1, 30);
    expect(w3.rollPtr).toBe(w1.rollPtr); // the very same (page, offset)
    expect(() => readUndoRecord(source, w1.rollPtr, a.trxId)).toThrow(/freed and reused/);
    expect(bodyOf(readUndoRecord(source, w3.rollPtr, b.trxId))).toEqual(w3.bytes);
    // Purged: a committed log removed from history.
    inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, b, trxSys.assignTrxNo(mtr)));
    inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, b));
    expect(() => readUndoRecord(source, w3.rollPtr, b.trxId)).toThrow(/page is free/);
    expect(pageTypeOf(source.getPage(0, b.pageNo))).toBe(PageType.Free);
    await storage.close();
  });

  it('refuses a record over half a page before writing anything (U3), and bad appends as bugs (U5, U10)', async () => {
    const { storage, trxSys } = await bootstrap();
    const log = begin(storage, trxSys, 'update');
    const max = undoRecordBytesMax(PAGE_SIZE);
    expect(max).toBe(2048);
    const fits = recordBytes(1, 0);
    const big = recordBytes(1, max - fits.length);
    expect(big.length).toBe(max);
    inMtr(storage, (mtr) => appendUndoRecord(mtr, log, big));
    const tooBig = recordBytes(2, max - fits.length + 1);
    expectRefused(storage, (mtr) => appendUndoRecord(mtr, log, tooBig), UndoRecordTooLargeError);
    // U5: undo numbers increase.
    expectRefused(storage, (mtr) => appendUndoRecord(mtr, log, recordBytes(1, 5)), /U5/);
    // U10: nothing is appended to a committed log.
    inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, log, trxSys.assignTrxNo(mtr)));
    expectRefused(storage, (mtr) => appendUndoRecord(mtr, log, recordBytes(9, 5)), /U10/);
    expectRefused(storage, (mtr) => truncateUndoLog(mtr, log, 0), /U10/);
    await storage.close();
  });

  it('refuses a new log with a typed error when every slot is taken, writing nothing', async () => {
    const { storage, trxSys } = await bootstrap();
    const logs: UndoLogRef[] = [];
    for (let i = 0; i < trxSys.slotCount; i++) logs.push(begin(storage, trxSys, 'insert'));
    expect(trxSys.slotCount).toBe(990);
    const mtr = storage.startMtr();
    const trxId = trxSys.assignTrxId(mtr);
    const redo = mtr.redoBytes;
    const error = (() => {
      try {
        createUndoLog(mtr, trxSys, trxId, 'update');
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UndoSlotsFullError);
    expect((error as UndoSlotsFullError).code).toBe('ERR_NO_SPACE');
    expect(mtr.redoBytes).toBe(redo);
    mtr.commit();
    inMtr(storage, (m) => freeUndoLog(m, trxSys, logs[500]!));
    expect(begin(storage, trxSys, 'update').pageNo).toBe(logs[500]!.pageNo);
    await storage.close();
  });

  it('keeps half the slots at most in the cache (512 from 8 KiB pages), and reuses a cached log logging only what changes', async () => {
    expect(undoCacheCapacity(990)).toBe(495); // 4 KiB pages
    expect(undoCacheCapacity(1024)).toBe(UNDO_CACHED_LOGS_MAX);
    const { storage, trxSys } = await bootstrap();
    trxSys.undoCache.capacity = undoCacheCapacity(trxSys.slotCount);
    const fresh = storage.startMtr();
    const log = createUndoLog(fresh, trxSys, trxSys.assignTrxId(fresh), 'insert');
    const freshRedo = fresh.redoBytes;
    fresh.commit();
    inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, log, trxSys.assignTrxId(mtr)));
    expect(trxSys.undoCache.list()).toEqual([log.pageNo]);
    const reuse = storage.startMtr();
    const trxId = trxSys.assignTrxId(reuse);
    const before = reuse.redoBytes;
    expect(createUndoLog(reuse, trxSys, trxId, 'update').pageNo).toBe(log.pageNo);
    // The owner, the kind and the state change; the rest of both headers is as the cache left it.
    expect(reuse.redoBytes - before).toBeLessThan(freshRedo / 2);
    reuse.commit();
    await storage.close();
  });

  it('maps every row of the recovery decision table to its action, and impossible rows to a bug (U7)', () => {
    const log = (kind: UndoLogKind): UndoLogRef => ({ pageNo: 9, trxId: 3, kind });
    const info = (slot: number | undefined, state: UndoLogStateValue, kind: UndoLogKind): UndoLogInfo => ({
      log: log(kind),
      state,
      trxNo: 0,
      slot,
      lastPageNo: 9,
      pageCount: 1,
      recordCount: 0,
      top: undefined,
      topUndoNo: undefined,
      historyPrev: NIL_PAGE,
      historyNext: NIL_PAGE,
    });
    const table: ReadonlyArray<
      readonly [number | undefined, UndoLogStateValue, UndoLogKind, UndoRecoveryAction | 'bug']
    > = [
      [0, UndoLogState.Active, 'insert', 'rollback'],
      [0, UndoLogState.Active, 'update', 'rollback'],
      [0, UndoLogState.Committed, 'insert', 'finish-free'],
      [0, UndoLogState.Committed, 'update', 'bug'], // an update log leaves its slot in its commit mtr
      [undefined, UndoLogState.Active, 'insert', 'bug'], // history logs are not recovery's business
      [undefined, UndoLogState.Active, 'update', 'bug'],
      [undefined, UndoLogState.Committed, 'insert', 'bug'],
      [undefined, UndoLogState.Committed, 'update', 'bug'],
    ];
    for (const [slot, state, kind, action] of table) {
      if (action === 'bug') expect(() => recoveryActionFor(info(slot, state, kind))).toThrow(AssertionError);
      else expect(recoveryActionFor(info(slot, state, kind))).toBe(action);
    }
  });

  it('records its page in space 0’s header user area, and a database without one opens to undefined', async () => {
    const vfs = new MemoryVfs();
    const storage = await open(vfs);
    expect(openTrxSys(storage)).toBeUndefined();
    const trxSys = inMtr(storage, (mtr) => createTrxSys(mtr));
    expect(readU32(pages(storage).getPage(0, 0), TRX_SYS_PAGE_NO_OFFSET)).toBe(trxSys.pageNo);
    expect(trxSys.nextTrxIdOrNo).toBe(1);
    expect(trxSys.historyFirst(pages(storage))).toBeUndefined();
    expectRefused(storage, (mtr) => createTrxSys(mtr), AssertionError);
    await storage.close();
    const reopened = await open(vfs);
    const again = openTrxSys(reopened)!;
    expect(again.pageNo).toBe(trxSys.pageNo);
    expect(again.nextTrxIdOrNo).toBe(TRX_SYS_TRX_ID_WRITE_MARGIN);
    expect(again.historyLength(pages(reopened))).toBe(0);
    await reopened.close();
  });
});

describe('undo log cache (U14, U15)', () => {
  /** A database whose cache keeps up to `capacity` logs. */
  async function withCache(capacity: number): Promise<{ vfs: MemoryVfs; storage: Storage; trxSys: TrxSys }> {
    const opened = await bootstrap();
    opened.trxSys.undoCache.capacity = capacity;
    return opened;
  }

  function stateOf(source: PageSource, log: UndoLogRef): UndoLogInfo {
    return undoLogInfo(source, { ...log, trxId: undoLogInfo(source, log).log.trxId });
  }

  it('caches an insert log at commit and a rolled-back log, and reuses them for new owners of either kind', async () => {
    const { storage, trxSys } = await withCache(4);
    const source = pages(storage);
    const used = spaceUsage(storage);
    const a = begin(storage, trxSys, 'insert');
    const w = append(storage, a, 1, 40);
    inMtr(storage, (mtr) => expect(commitUndoLog(mtr, trxSys, a, trxSys.assignTrxNo(mtr))).toBe(true));
    // Cached in its slot: no record, one page, its slot kept, not freed.
    const [cached] = trxSys.activeUndoLogs(source);
    expect(cached).toMatchObject({ log: a, state: UndoLogState.Cached, recordCount: 0, pageCount: 1 });
    expect(recoveryActionFor(cached!)).toBe('cached');
    expect(trxSys.undoCache.list()).toEqual([a.pageNo]);
    expect(spaceUsage(storage).size - spaceUsage(storage).free).toBe(used.size - used.free + 1);
    checkAccounting(storage, trxSys);
    // A cached log is never freed (U14).
    expectRefused(storage, (mtr) => freeUndoLog(mtr, trxSys, a), /U14/);

    // The next transaction's log is that page, for its new owner and kind (U15)...
    const b = begin(storage, trxSys, 'update');
    expect(b.pageNo).toBe(a.pageNo);
    expect(trxSys.undoCache.size).toBe(0);
    expect(undoLogInfo(source, b)).toMatchObject({ state: UndoLogState.Active, recordCount: 0, slot: cached!.slot });
    // ...so the old owner's roll pointer into it is refused (U9), never read as b's data.
    expect(() => readUndoRecord(source, w.rollPtr, a.trxId)).toThrow(CorruptionError);
    const wb = append(storage, b, 1, 30);
    expect(bodyOf(readUndoRecord(source, wb.rollPtr, b.trxId))).toEqual(wb.bytes);

    // Rolled back: emptied, then cached rather than freed.
    while (!inMtr(storage, (mtr) => truncateUndoLog(mtr, b, 0)));
    expect(inMtr(storage, (mtr) => freeUndoLog(mtr, trxSys, b))).toBe(true);
    expect(stateOf(source, b).state).toBe(UndoLogState.Cached);
    checkAccounting(storage, trxSys);
    await storage.close();
  });

  it('keeps an update log in the history list until purge removes it, then caches it; a multi-page log frees its other pages', async () => {
    const { storage, trxSys } = await withCache(4);
    const source = pages(storage);
    const a = begin(storage, trxSys, 'update');
    const records = Array.from({ length: 120 }, (_, i) => append(storage, a, i + 1, 60));
    inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, a, trxSys.assignTrxNo(mtr)));
    const aPages = undoLogInfo(source, a).pageCount;
    expect(aPages).toBeGreaterThan(2);
    // While a is in the history list its page is not reused: read views and purge read it.
    const b = begin(storage, trxSys, 'update');
    expect(b.pageNo).not.toBe(a.pageNo);
    for (const r of records) expect(bodyOf(readUndoRecord(source, r.rollPtr, a.trxId))).toEqual(r.bytes);
    const before = spaceUsage(storage);
    while (!inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, a, 1)));
    expect(trxSys.historyLength(source)).toBe(0);
    const info = stateOf(source, a);
    expect(info).toMatchObject({ state: UndoLogState.Cached, pageCount: 1, recordCount: 0 });
    expect(info.slot).not.toBeUndefined();
    expect(info.historyPrev).toBe(NIL_PAGE);
    // Every page but the header page went to the free list.
    const after = spaceUsage(storage);
    expect(after.free - before.free).toBe(aPages - 1);
    checkAccounting(storage, trxSys);
    const c = begin(storage, trxSys, 'insert');
    expect(c.pageNo).toBe(a.pageNo);
    expect(() => readUndoRecord(source, records[0]!.rollPtr, a.trxId)).toThrow(CorruptionError);
    await storage.close();
  });

  it('frees a finished log when the cache is full, and never lets the cache make the slots run out', async () => {
    const { storage, trxSys } = await withCache(1);
    const source = pages(storage);
    const logs = [begin(storage, trxSys, 'insert'), begin(storage, trxSys, 'insert')];
    for (const log of logs) inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, log, trxSys.assignTrxNo(mtr)));
    expect(trxSys.undoCache.list()).toEqual([logs[0]!.pageNo]);
    expect(pageTypeOf(source.getPage(0, logs[1]!.pageNo))).toBe(PageType.Free);
    checkAccounting(storage, trxSys);
    // The cached log holds a slot, yet every slot can still be had: the first new log takes it.
    const all: UndoLogRef[] = [];
    for (let i = 0; i < trxSys.slotCount; i++) all.push(begin(storage, trxSys, 'update'));
    expect(all[0]!.pageNo).toBe(logs[0]!.pageNo);
    expectRefused(storage, (mtr) => createUndoLog(mtr, trxSys, trxSys.assignTrxId(mtr), 'update'), UndoSlotsFullError);
    // A log purge finishes while no slot is free is freed (it cannot take a slot to be cached).
    const purged = all[1]!;
    inMtr(storage, (mtr) => commitUndoLog(mtr, trxSys, purged, trxSys.assignTrxNo(mtr)));
    begin(storage, trxSys, 'update'); // takes the slot purged's commit released
    expect(trxSys.undoCache.hasRoom()).toBe(true);
    expect(inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, purged))).toBe(true);
    expect(pageTypeOf(source.getPage(0, purged.pageNo))).toBe(PageType.Free);
    expect(trxSys.undoCache.size).toBe(0);
    await storage.close();
  });

  it('lists the cached logs at open, after close and after a crash, and reuses them', async () => {
    for (const how of ['close', 'crash'] as const) {
      const { vfs, storage, trxSys } = await withCache(8);
      const source = pages(storage);
      const logs = [
        begin(storage, trxSys, 'insert'),
        begin(storage, trxSys, 'update'),
        begin(storage, trxSys, 'update'),
      ];
      for (const log of logs) append(storage, log, 1, 20);
      inMtr(storage, (mtr) => {
        for (const log of logs) commitUndoLog(mtr, trxSys, log, trxSys.assignTrxNo(mtr));
      });
      inMtr(storage, (mtr) => removeFromHistory(mtr, trxSys, trxSys.historyFirst(source)!));
      const cached = [...trxSys.undoCache.list()].sort((x, y) => x - y);
      expect(cached).toEqual([logs[0]!.pageNo, logs[1]!.pageNo].sort((x, y) => x - y));
      if (how === 'close') await storage.close();
      else {
        await storage.commitDurable(storage.log.currentLsn, 'full');
        storage.abandon();
      }
      const reopened = await open(vfs);
      const trxSys2 = openTrxSys(reopened)!;
      expect([...trxSys2.undoCache.list()].sort((x, y) => x - y)).toEqual(cached);
      expect([...trxSys2.history(pages(reopened))].map((h) => h.log.pageNo)).toEqual([logs[2]!.pageNo]);
      checkAccounting(reopened, trxSys2);
      const reused = [begin(reopened, trxSys2, 'update'), begin(reopened, trxSys2, 'insert')];
      expect(reused.map((l) => l.pageNo).sort((x, y) => x - y)).toEqual(cached);
      checkAccounting(reopened, trxSys2);
      await reopened.close();
    }
  });
});
