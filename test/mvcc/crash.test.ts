/**
 * Crash tests of the transactional layer, in the recipe of STYLE.md (and of test/core/crash.test.ts):
 * a workload runs on the fault VFS and is crashed at every write and sync under several policies;
 * the database is recovered, the transactions recovery found active are rolled back in the
 * background (`runBackgroundWork`), and what is there is compared with a model.
 *
 * The workload has every kind of transaction at once:
 *  - in flight: one transaction updates rows early and never commits; another inserts and updates
 *    near the end and never commits;
 *  - committed: transfers and deletes at durability 'full', each acknowledged when its commit
 *    settles;
 *  - rolling back: a large transaction (a savepoint rollback, then a whole rollback) whose undo
 *    runs over several log buffer writes, so crash points fall inside it;
 *  - purge: a full purge of delete-marked rows and old secondary entries, over several log writes.
 *
 * The model: commits run one after another, so what survives is the state after some commit k at
 * or after the last acknowledged one (a prefix of the commit sequence, never a transaction in
 * part), with nothing of the in-flight or rolled-back transactions. That must hold before the
 * background rollback (consistent reads do not see the recovered transactions) and after it; then
 * `check()` passes, purge empties the history list, and the database takes new writes.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { RandomSource } from '../../src/util/random.js';
import type { CrashImage } from '../../src/vfs/fault-vfs.js';
import {
  CrashHarness,
  type CrashPoint,
  describePoint,
  EVERY_WRITE_AND_SYNC,
  everyPoint,
  pointsOf,
} from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';

interface Account {
  [column: string]: number | string;
  id: number;
  balance: number;
  note: string;
}

const ROWS = 60;
const SCHEMA: TableSchema = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'balance', type: 'int32' },
    { name: 'note', type: 'string', maxLength: 64 },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_balance', columns: ['balance'] }],
};

/** Rows as a canonical string (for comparing states). */
type State = string;

function stateOf(rows: Iterable<Account>): State {
  return [...rows]
    .sort((a, b) => a.id - b.id)
    .map((r) => `${r.id}:${r.balance}:${r.note}`)
    .join('|');
}

const transactions = new CrashHarness((vfs) =>
  openTestDatabase(vfs, {
    poolPages: 64, // the smallest pool: evictions write pages during the workload
    redoLogBytes: 256 * 1024, // the smallest log: a 32 KiB log buffer, written several times per step
    durability: 'full',
  }),
);

async function baseImage(): Promise<{ image: CrashImage; initial: Map<number, Account> }> {
  const initial = new Map<number, Account>();
  for (let id = 1; id <= ROWS; id++) initial.set(id, { id, balance: 1000 + id, note: `row ${id}` });
  const { image } = await transactions.baseImage(1, async (db) => {
    await db.createTable(SCHEMA);
    await db.table<Account>('accounts').insertMany(initial.values());
    db.purge();
  });
  return { image, initial };
}

/** What the workload saw: the committed states in commit order, and how many commits settled. */
interface Progress {
  /** states[k]: the table after the first k commits (states[0]: the base). */
  readonly states: State[];
  acked: number;
}

/**
 * The workload. Every commit is awaited (durability 'full'): `acked` counts those that settled.
 * In-flight transactions are left open on purpose; the crash (or the end) finds them active.
 */
async function runWorkload(
  db: Database,
  initial: ReadonlyMap<number, Account>,
  progress: Progress,
  mark: (step: string) => void = () => {},
): Promise<void> {
  const model = new Map(initial);
  const rng = new RandomSource(99);
  const committed = async (
    work: (t: ReturnType<Database['begin']>) => Promise<void>,
    apply: () => void,
  ): Promise<void> => {
    const tx = db.begin();
    await work(tx);
    const durable = tx.commit(); // visible now; the state joins the sequence in commit order
    apply();
    progress.states.push(stateOf(model.values()));
    await durable;
    progress.acked++;
  };

  // In flight from the start: never committed.
  const inflight1 = db.begin();
  for (let id = 1; id <= 5; id++)
    await inflight1.table<Account>('accounts').update(id, { balance: 900_000 + id, note: 'in flight 1' });

  // Committed transfers (rows 11..40).
  for (let i = 0; i < 6; i++) {
    const a = 11 + rng.int(30);
    let b = 11 + rng.int(29);
    if (b >= a) b++;
    const amount = 1 + rng.int(50);
    await committed(
      async (tx) => {
        const t = tx.table<Account>('accounts');
        const ra = (await t.getForUpdate(a))!;
        const rb = (await t.getForUpdate(b))!;
        await t.update(a, { balance: ra.balance - amount });
        await t.update(b, { balance: rb.balance + amount, note: `transfer ${i}` });
      },
      () => {
        model.set(a, { ...model.get(a)!, balance: model.get(a)!.balance - amount });
        model.set(b, { ...model.get(b)!, balance: model.get(b)!.balance + amount, note: `transfer ${i}` });
      },
    );
  }
  db.storage.backgroundStep();

  // A large transaction rolled back in steps -- to savepoints, then whole -- with the page
  // cleaner running between the steps, so a crash can find it part rolled back (rows 41..60).
  const big = db.begin();
  const bt = big.table<Account>('accounts');
  for (let id = 41; id <= 60; id++) {
    if (id % 5 === 1) big.savepoint(`at ${id}`);
    await bt.update(id, { balance: 500_000 + id, note: 'rolled back' });
  }
  await bt.insert({ id: 1000, balance: 1, note: 'rolled back insert' });
  await bt.delete(39);
  mark('rollback');
  for (const at of [56, 51, 46]) {
    await big.rollbackToSavepoint(`at ${at}`);
    db.storage.backgroundStep();
  }
  await big.rollback();
  mark('rollback done');

  // Committed deletes (delete marks, purged later) and updates that move secondary entries.
  await committed(
    async (tx) => {
      for (let id = 56; id <= 60; id++) await tx.table<Account>('accounts').delete(id);
    },
    () => {
      for (let id = 56; id <= 60; id++) model.delete(id);
    },
  );
  await committed(
    async (tx) => {
      for (let id = 46; id <= 55; id++)
        await tx.table<Account>('accounts').update(id, { balance: 2000 + id, note: 'moved' });
    },
    () => {
      for (let id = 46; id <= 55; id++) model.set(id, { ...model.get(id)!, balance: 2000 + id, note: 'moved' });
    },
  );
  db.storage.backgroundStep();

  // Purge everything it may (no read view is open), in small slices with the page cleaner between
  // them, as background: 'auto' interleaves them, so crashes fall inside purge.
  mark('purge');
  for (;;) {
    const { purge } = db.runBackgroundWork(5);
    db.storage.backgroundStep();
    if (purge.records === 0 && purge.logs === 0) break;
  }
  mark('purge done');

  // In flight at the end: inserts and updates, never committed.
  const inflight2 = db.begin();
  const t2 = inflight2.table<Account>('accounts');
  for (let id = 61; id <= 65; id++) await t2.insert({ id, balance: 3000 + id, note: 'in flight 2' });
  for (let id = 6; id <= 8; id++) await t2.update(id, { balance: 700_000 + id });
  await t2.delete(9);

  // A last committed update makes everything before it durable (one log sync).
  await committed(
    async (tx) => {
      await tx.table<Account>('accounts').update(40, { note: 'last' });
    },
    () => {
      model.set(40, { ...model.get(40)!, note: 'last' });
    },
  );
  db.storage.backgroundStep();
}

/** Recovers `image` and checks it against the model; returns k, the commits it holds. */
async function recoverAndVerify(image: CrashImage, seed: number, progress: Progress, what: string): Promise<number> {
  const { engine: db } = await transactions.recover(image, seed);
  const t = db.table<Account>('accounts');
  // Before the background rollback: the recovered transactions are active, so invisible.
  const before = stateOf(t.scan());
  const k = progress.states.indexOf(before);
  expect(k, `${what}: the recovered state is the state after some commit`).toBeGreaterThanOrEqual(0);
  expect(k, `${what}: every acknowledged commit survived (acked ${progress.acked})`).toBeGreaterThanOrEqual(
    progress.acked,
  );
  // Roll back what recovery found active.
  while (db.runBackgroundWork().rolledBack);
  expect(db.status().activeTransactions).toBe(0);
  expect(stateOf(t.scan()), `${what}: after the background rollback`).toBe(before);
  expect(stateOf(t.scanIndex('by_balance')), `${what}: through the index`).toBe(before);
  db.check();
  db.purge();
  expect(db.status().historyLength, `${what}: purge drains the history list`).toBe(0);
  const rows = [...t.scan()].length;
  expect(db.check(), `${what}: nothing delete-marked is left`).toMatchObject({ rows, entries: 2 * rows });
  // Usable: a new transaction commits.
  await t.update(40, { note: 'after recovery' });
  expect(t.get(40)?.note).toBe('after recovery');
  db.check();
  await db.close();
  return k;
}

/** The table as the workload starts: the base image's rows. */
function initialState(db: Database): State {
  return stateOf(db.table<Account>('accounts').scan());
}

describe('transactions under crashes', () => {
  it('recovers committed transactions whole and drops the rest, crashing at every write and sync', async () => {
    const { image, initial } = await baseImage();

    // Count the workload's mutating operations.
    const clean: Progress = { states: [], acked: 0 };
    const marks = new Map<string, number>();
    const counts = await transactions.count(
      image,
      2,
      async (db, run) => {
        const start = run.vfs.mutatingOperations;
        clean.states.push(initialState(db));
        await runWorkload(db, initial, clean, (step) => marks.set(step, run.vfs.mutatingOperations - start));
      },
      { crashAtEnd: 'process-crash' },
    );
    const { operations } = counts;
    expect(operations).toBeGreaterThan(40);
    // Crash points fall inside the rollback and inside purge, not only between them.
    expect(marks.get('rollback done')! - marks.get('rollback')!).toBeGreaterThan(5);
    expect(marks.get('purge done')! - marks.get('purge')!).toBeGreaterThan(5);
    expect(clean.acked).toBe(9);
    expect(await recoverAndVerify(counts.image!, 3, clean, 'end of the workload')).toBe(9);

    const reached = await transactions.crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), {
      progress: (db): Progress => ({ states: [initialState(db)], acked: 0 }),
      workload: (db, progress) => runWorkload(db, initial, progress),
      verify: recoverAndVerify,
    });
    expect(reached.length).toBeGreaterThan(operations);
    // The crash points reached many different committed prefixes.
    expect(new Set(reached).size).toBeGreaterThan(8);
  }, 120_000);

  it('recovers again when the background rollback and purge after recovery crash', async () => {
    const { image, initial } = await baseImage();
    // Crash at the end of the workload with the in-flight transactions active and a history to purge.
    const progress: Progress = { states: [], acked: 0 };
    const { image: crashed } = await transactions.crash(
      image,
      5,
      { at: 'end', policy: 'process-crash' },
      async (db) => {
        progress.states.push(initialState(db));
        await runWorkload(db, initial, progress);
      },
    );

    // The operations of recovery, the background rollback, purge and a page flush.
    const afterRecovery = async (target: Database): Promise<void> => {
      while (target.runBackgroundWork().rolledBack);
      target.purge();
      target.storage.backgroundStep();
    };
    const { operations } = await transactions.count(crashed, 6, afterRecovery, { includeOpen: true });
    expect(operations).toBeGreaterThan(5);

    for (const point of everyPoint(['process-crash', 'power-cut'], 'operation', operations)) {
      const n = point.at === 'operation' ? point.n : 0;
      const first = await transactions.crash(crashed, n, point, afterRecovery, { includeOpen: true });
      expect(await recoverAndVerify(first.image, n + 1, progress, `recovery crashed: ${describePoint(point)}`)).toBe(
        progress.acked,
      );
    }
  }, 120_000);

  it('recovers when purge crashes at each of its slices', async () => {
    const { image, initial } = await baseImage();
    // How many purge slices the workload runs.
    const { events } = await transactions.count(image, 8, (db) => runWorkload(db, initial, { states: [], acked: 0 }));
    const slices = events['purge-step'];
    expect(slices).toBeGreaterThan(3);
    for (let k = 1; k <= slices; k++) {
      const progress: Progress = { states: [], acked: 0 };
      const point: CrashPoint = { at: 'event', event: 'purge-step', n: k, policy: 'process-crash' };
      const { image: after } = await transactions.crash(image, 20 + k, point, async (db) => {
        progress.states.push(initialState(db));
        await runWorkload(db, initial, progress);
      });
      await recoverAndVerify(after, k, progress, `purge step ${k}`);
    }
  }, 120_000);
});
