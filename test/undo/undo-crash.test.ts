/**
 * Crash safety of undo logs and the trx-sys page, in the recipe of STYLE.md: a seeded workload of
 * undo operations (begin, append, savepoint, commit, rollback, purge, a big insert log committed
 * and freed in steps, id bursts across the write margin) runs on the fault VFS, is crashed at
 * every operation under several policies, and is recovered. The model says what must survive:
 * the recovered slot array and history list equal the model after some mtr k at or after the last
 * acknowledged one (a prefix, never an mtr in part: U7), and the id counter resumes above every
 * id handed out up to k (U11). Then recovery's actions run (roll back ACTIVE logs, finish freeing
 * COMMITTED insert logs: `recoveryActionFor`), and space 0's pages add up: nothing leaked.
 *
 * The undo cache (undo-cache.ts) is in the workload with a bound of `CACHE_CAPACITY`: finished
 * one-page logs (insert logs at commit, logs emptied by rollback, update logs purge removes from
 * the history list) are cached while there is room and freed when not, and new logs reuse cached
 * ones. The model tracks the cached header pages; the recovered slots must hold exactly them in
 * state CACHED and `openTrxSysPage` must list exactly them in its cache (U14).
 */
import { describe, expect, it } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { readU32 } from '../../src/page/page.js';
import { validateFreeList } from '../../src/page/space-allocator.js';
import { SPACE_FREE_LEN_OFFSET, SPACE_SIZE_OFFSET } from '../../src/page/tablespace.js';
import type { MiniTransaction } from '../../src/redo/mtr.js';
import { RandomSource } from '../../src/util/random.js';
import type { CrashImage, CrashPolicyName } from '../../src/vfs/fault-vfs.js';
import {
  TRX_SYS_TRX_ID_WRITE_MARGIN,
  createTrxSysPage as createTrxSys,
  openTrxSysPage as openTrxSys,
  recoveryActionFor,
  type TrxSysPage as TrxSys,
} from '../../src/mvcc/trx-sys-page.js';
import {
  UndoLogState,
  appendUndoRecord,
  commitUndoLog,
  createUndoLog,
  freeUndoLog,
  poolPageSource,
  removeFromHistory,
  truncateUndoLog,
  type PageSource,
  type UndoLogKind,
  type UndoLogRef,
} from '../../src/undo/undo-log.js';
import { checkUndoLog } from '../../src/undo/undo-log-read.js';
import { UndoRecordType, encodeUndoRecord } from '../../src/undo/undo-record.js';
import { CrashHarness } from '../support/crash-harness.js';
import { openTestStorage } from '../support/open.js';

const POLICIES: readonly CrashPolicyName[] = ['power-cut', 'torn-garbage', 'reorder'];
/** Small, so the workload also fills the cache and frees logs (U14's bound). */
const CACHE_CAPACITY = 3;

const undo = new CrashHarness((vfs) =>
  openTestStorage(vfs, { poolPages: 64, redoLogBytes: 256 * 1024, flushBatchPages: 8 }),
);

// --- the model ---------------------------------------------------------------------------------

interface TrxModel {
  readonly log: UndoLogRef;
  undoNos: number[];
  /** 'freeing': a COMMITTED insert log still in its slot (commit in steps). */
  state: 'active' | 'freeing';
}

interface Model {
  slots: TrxModel[];
  history: { readonly log: UndoLogRef; readonly trxNo: number }[];
  /** MAX_TRX_ID as the model says it is stored. */
  stored: number;
  /** The largest id or trx_no handed out so far. */
  maxId: number;
  /** Header pages of the logs in the undo cache (CACHED in their slots, U14). */
  cached: number[];
}

interface Snapshot {
  readonly key: string;
  readonly maxId: number;
}

function modelKey(model: Model): string {
  const slots = model.slots
    .map(
      (t) =>
        [
          t.log.trxId,
          t.log.kind,
          t.state,
          t.state === 'active' ? t.undoNos.length : -1,
          t.state === 'active' ? (t.undoNos.at(-1) ?? -1) : -1,
        ] as const,
    )
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  return JSON.stringify({
    slots,
    history: model.history.map((h) => [h.log.trxId, h.trxNo]),
    stored: model.stored,
    cached: [...model.cached].sort((a, b) => a - b),
  });
}

function observedKey(trxSys: TrxSys, source: PageSource): string {
  const slotLogs = trxSys.activeUndoLogs(source);
  const cached = slotLogs
    .filter((info) => info.state === UndoLogState.Cached)
    .map((info) => info.log.pageNo)
    .sort((a, b) => a - b);
  const slots = slotLogs
    .filter((info) => info.state !== UndoLogState.Cached)
    .map((info) => {
      const active = info.state === UndoLogState.Active;
      return [
        info.log.trxId,
        info.log.kind,
        active ? 'active' : 'freeing',
        active ? info.recordCount : -1,
        active ? (info.topUndoNo ?? -1) : -1,
      ] as const;
    })
    .sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  const history = [...trxSys.history(source)].map((h) => [h.log.trxId, h.trxNo]);
  return JSON.stringify({ slots, history, stored: trxSys.storedMaxTrxId(source), cached });
}

function record(kind: UndoLogKind, undoNo: number, size: number): Uint8Array {
  const value = new Uint8Array(size).fill(undoNo & 0xff);
  return kind === 'insert'
    ? encodeUndoRecord({ type: UndoRecordType.Insert, undoNo, tableId: 3, primaryKey: value, fields: [] })
    : encodeUndoRecord({
        type: UndoRecordType.DeleteMark,
        undoNo,
        tableId: 3,
        oldTrxId: 1,
        oldRollPtr: (2 ** 52) as never,
        primaryKey: value.subarray(0, 4),
        fields: [{ fieldNo: 1, value }],
      });
}

// --- the workload ------------------------------------------------------------------------------

interface Progress {
  readonly snapshots: Snapshot[];
  acked: number;
  /** Logs created from a cached one (U15). */
  reuses: number;
  /** How finished logs ended: 'cached <how>' or 'freed <how>' (the cache was full). */
  readonly finishes: Set<string>;
}

/**
 * Runs the seeded workload. Every mtr pushes the model's state right before its commit, so the
 * snapshot of an mtr cut short by the crash is there too; `acked` is the last snapshot known durable.
 */
async function runWorkload(
  storage: Storage,
  trxSys: TrxSys,
  seed: number,
  baseMaxId: number,
  progress: Progress,
  verifyLive = false,
): Promise<void> {
  const random = new RandomSource(seed);
  const model: Model = {
    slots: [],
    history: [],
    stored: trxSys.storedMaxTrxId(poolPageSource(storage.pool)),
    maxId: baseMaxId,
    cached: [],
  };
  trxSys.undoCache.capacity = CACHE_CAPACITY;
  /** A log the workload finished: cached while the cache has room (U14), else freed. */
  const finished = (log: UndoLogRef, how: 'commit' | 'free' | 'purge'): void => {
    const room = model.cached.length < CACHE_CAPACITY;
    if (room) model.cached.push(log.pageNo);
    progress.finishes.add(`${room ? 'cached' : 'freed'} ${how}`);
  };
  const create = (mtr: MiniTransaction, kind: UndoLogKind): UndoLogRef => {
    const log = createUndoLog(mtr, trxSys, assign(mtr, 'id'), kind);
    // U15: the newest cached log is reused first.
    if (model.cached.length > 0) {
      expect(log.pageNo).toBe(model.cached.pop());
      progress.reuses++;
    }
    return log;
  };
  progress.snapshots.push({ key: modelKey(model), maxId: model.maxId });
  let lastLsn = 0;
  const assign = (mtr: MiniTransaction, what: 'id' | 'no'): number => {
    const id = what === 'id' ? trxSys.assignTrxId(mtr) : trxSys.assignTrxNo(mtr);
    if (id % TRX_SYS_TRX_ID_WRITE_MARGIN === 0) model.stored = id;
    model.maxId = Math.max(model.maxId, id);
    return id;
  };
  const inMtr = (fn: (mtr: MiniTransaction) => void): void => {
    const mtr = storage.startMtr();
    fn(mtr);
    progress.snapshots.push({ key: modelKey(model), maxId: model.maxId });
    lastLsn = mtr.commit();
    if (verifyLive) expect(observedKey(trxSys, poolPageSource(storage.pool))).toBe(modelKey(model));
  };
  const active = (): TrxModel[] => model.slots.filter((t) => t.state === 'active');
  const append = (trx: TrxModel, count: number, size: number): void => {
    inMtr((mtr) => {
      for (let i = 0; i < count; i++) {
        const undoNo = (trx.undoNos.at(-1) ?? 0) + random.intBetween(1, 3);
        appendUndoRecord(mtr, trx.log, record(trx.log.kind, undoNo, size));
        trx.undoNos.push(undoNo);
      }
    });
  };
  const freeAll = (trx: TrxModel, maxPages: number): void => {
    for (let done = false; !done; ) {
      inMtr((mtr) => {
        done = freeUndoLog(mtr, trxSys, trx.log, maxPages);
        if (done) {
          model.slots = model.slots.filter((t) => t !== trx);
          finished(trx.log, 'free');
        }
      });
    }
  };

  for (let step = 0; step < 60; step++) {
    const choice = random.int(100);
    const trxs = active();
    if (step === 20) {
      // A big insert log, committed in steps of 2 pages: COMMITTED in its slot until freed.
      let trx: TrxModel | undefined;
      inMtr((mtr) => {
        trx = { log: create(mtr, 'insert'), undoNos: [], state: 'active' };
        model.slots.push(trx);
      });
      append(trx!, 40, 120);
      append(trx!, 40, 120);
      let freed = false;
      inMtr((mtr) => {
        freed = commitUndoLog(mtr, trxSys, trx!.log, assign(mtr, 'no'), 2);
        trx!.state = 'freeing';
      });
      expect(freed).toBe(false);
      freeAll(trx!, 2);
    } else if (trxs.length < 4 && (choice < 22 || trxs.length === 0)) {
      const kind: UndoLogKind = random.chance(0.4) ? 'insert' : 'update';
      inMtr((mtr) => model.slots.push({ log: create(mtr, kind), undoNos: [], state: 'active' }));
    } else if (choice < 55) {
      append(trxs[random.int(trxs.length)]!, random.intBetween(1, 3), random.intBetween(0, 300));
    } else if (choice < 62) {
      const trx = trxs[random.int(trxs.length)]!;
      if (trx.undoNos.length > 1) {
        const savepoint = trx.undoNos[random.int(trx.undoNos.length)]!;
        inMtr((mtr) => {
          expect(truncateUndoLog(mtr, trx.log, savepoint)).toBe(true);
          trx.undoNos = trx.undoNos.filter((n) => n < savepoint);
        });
      }
    } else if (choice < 78) {
      const trx = trxs[random.int(trxs.length)]!;
      inMtr((mtr) => {
        const trxNo = assign(mtr, 'no');
        expect(commitUndoLog(mtr, trxSys, trx.log, trxNo)).toBe(true);
        model.slots = model.slots.filter((t) => t !== trx);
        if (trx.log.kind === 'update') model.history.push({ log: trx.log, trxNo });
        else finished(trx.log, 'commit');
      });
    } else if (choice < 84) {
      const trx = trxs[random.int(trxs.length)]!;
      inMtr((mtr) => {
        expect(truncateUndoLog(mtr, trx.log, 0)).toBe(true);
        trx.undoNos = [];
      });
      freeAll(trx, 16);
    } else if (choice < 90) {
      const oldest = model.history[0];
      if (oldest !== undefined) {
        inMtr((mtr) => {
          expect(removeFromHistory(mtr, trxSys, oldest.log)).toBe(true);
          model.history.shift();
          finished(oldest.log, 'purge');
        });
      }
    } else {
      inMtr((mtr) => {
        for (let i = 0; i < 150; i++) assign(mtr, 'id');
      });
    }
    if (random.chance(0.3)) {
      await storage.commitDurable(lastLsn, 'full');
      progress.acked = progress.snapshots.length - 1;
    }
    if (random.chance(0.15)) storage.backgroundStep();
  }
}

// --- recovery and its checks -------------------------------------------------------------------

/** Recovery's actions on the slot logs, then U7's accounting: every page is somewhere, once. */
function finishRecoveryAndAccount(storage: Storage, trxSys: TrxSys): void {
  const source = poolPageSource(storage.pool);
  for (const info of trxSys.activeUndoLogs(source)) {
    const action = recoveryActionFor(info);
    if (action === 'cached') continue;
    if (action === 'rollback') {
      while (!inMtr(storage, (mtr) => truncateUndoLog(mtr, info.log, 0)));
    }
    while (!inMtr(storage, (mtr) => freeUndoLog(mtr, trxSys, info.log)));
  }
  // What is left in the slots is the cache, exactly as `openTrxSysPage` listed it (U14).
  const cached = trxSys.activeUndoLogs(source);
  expect(cached.every((info) => info.state === UndoLogState.Cached && info.pageCount === 1)).toBe(true);
  expect(cached.map((info) => info.log.pageNo).sort((a, b) => a - b)).toEqual(
    [...trxSys.undoCache.list()].sort((a, b) => a - b),
  );
  const logPages = new Set<number>(cached.map((info) => info.log.pageNo));
  for (const info of trxSys.history(source))
    for (const pageNo of checkUndoLog(source, info.log).pages) logPages.add(pageNo);
  const header = source.getPage(0, 0);
  const size = readU32(header, SPACE_SIZE_OFFSET);
  const free = readU32(header, SPACE_FREE_LEN_OFFSET);
  validateFreeList((pageNo) => source.getPage(0, pageNo), source.getPage(0, 0));
  expect(size).toBe(2 + free + logPages.size);
}

function inMtr<T>(storage: Storage, fn: (mtr: MiniTransaction) => T): T {
  const mtr = storage.startMtr();
  const result = fn(mtr);
  mtr.commit();
  return result;
}

/** Opens a recovered image and checks it against the snapshots; returns the prefix k it equals. */
async function recoverAndCheck(image: CrashImage, seed: number, progress: Progress): Promise<number> {
  const { engine: storage } = await undo.recover(image, seed);
  const trxSys = openTrxSys(storage)!;
  const source = poolPageSource(storage.pool);
  // The structures are whole (U4-U8 walk) before anything is compared.
  for (const info of trxSys.activeUndoLogs(source)) checkUndoLog(source, info.log);
  const key = observedKey(trxSys, source);
  const matches = progress.snapshots.flatMap((s, k) => (s.key === key && k >= progress.acked ? [k] : []));
  expect(matches.length, `recovered ${key} is the state after some mtr at or after ${progress.acked}`).toBeGreaterThan(
    0,
  );
  // U11: counting resumes above every id and trx_no handed out in the recovered prefix.
  for (const k of matches) expect(trxSys.nextTrxIdOrNo).toBeGreaterThan(progress.snapshots[k]!.maxId);
  finishRecoveryAndAccount(storage, trxSys);
  await storage.close();
  return matches[0]!;
}

async function baseImage(seed: number): Promise<{ image: CrashImage; maxId: number }> {
  const { image, built: maxId } = await undo.baseImage<number>(seed, (storage) =>
    inMtr(storage, (mtr) => {
      const trxSys = createTrxSys(mtr);
      // Start just below the write margin so the workload crosses it.
      let maxId = 0;
      for (let i = 0; i < 250; i++) maxId = trxSys.assignTrxId(mtr);
      return maxId;
    }),
  );
  return { image, maxId };
}

describe('undo crash safety', () => {
  it('recovers a prefix of the undo mtrs with every acknowledged one, at every operation under several policies', async () => {
    const seed = 5;
    const { image, maxId } = await baseImage(seed);

    // A dry run: counts the operations and checks the live structures against the model at every mtr.
    const dryProgress: Progress = { snapshots: [], acked: 0, reuses: 0, finishes: new Set() };
    const { operations } = await undo.count(image, seed, (storage) =>
      runWorkload(storage, openTrxSys(storage)!, seed, maxId, dryProgress, true),
    );
    const mtrs = dryProgress.snapshots.length - 1;
    expect(mtrs).toBeGreaterThan(60);
    expect(operations).toBeGreaterThan(20);
    console.log(`undo crash workload: ${mtrs} mtrs, ${operations} operations`);
    // The workload reached the states the test is about.
    const keys = dryProgress.snapshots.map(
      (s) => JSON.parse(s.key) as { slots: unknown[][]; history: unknown[]; stored: number; cached: number[] },
    );
    expect(keys.some((k) => k.slots.some((s) => s[2] === 'freeing'))).toBe(true);
    expect(keys.some((k) => k.history.length >= 2)).toBe(true);
    expect(new Set(keys.map((k) => k.stored)).size).toBeGreaterThan(2);
    // The cache was filled, reused, and every way a log finishes both cached it and (full) freed it.
    expect(dryProgress.reuses).toBeGreaterThan(3);
    for (const how of ['commit', 'free', 'purge']) {
      expect(dryProgress.finishes, `a log finished by ${how} was cached`).toContain(`cached ${how}`);
    }
    expect([...dryProgress.finishes].some((f) => f.startsWith('freed'))).toBe(true);

    const prefixes = new Set<number>();
    let runs = 0;
    for (const policy of POLICIES) {
      for (let n = 1; n <= operations; n++) {
        const progress: Progress = { snapshots: [], acked: 0, reuses: 0, finishes: new Set() };
        const { image: after } = await undo.crash(image, seed + n, { at: 'operation', n, policy }, (storage) =>
          runWorkload(storage, openTrxSys(storage)!, seed, maxId, progress),
        );
        prefixes.add(await recoverAndCheck(after, seed + n + 1, progress));
        runs++;
      }
    }
    expect(runs).toBe(operations * POLICIES.length);
    // Crashes landed all over the workload, not in one place.
    expect(prefixes.size).toBeGreaterThan(10);
  }, 120_000);
});
