/**
 * Large values under crashes, in the recipe of STYLE.md (test/support/crash-harness.ts): four
 * workloads (LOB inserts, partial updates, rollbacks, purge) each crashed at every write and every
 * sync under several policies, recovered, and compared with the model.
 *
 * The model (as test/mvcc/crash.test.ts): commits run one after another at durability 'full', so
 * what survives is the state after some commit k at or after the last acknowledged one, never a
 * transaction in part. After recovery, before and after the background rollback of what recovery
 * found active, the rows are that state (every large value byte for byte). Then no page leaked:
 * `check()` proves every LOB page reachable from exactly one reference (nothing a half-written LOB
 * or a half-freed one left behind, README L1, L5), and once purge has run with no reader open, no
 * older version is left either and there are exactly as many LOBs as rows with large values.
 *
 * Pages are small (4 KiB), the pool the smallest (64 pages) and the log small (256 KiB), so a 50 KB
 * value takes 13 slots, is written over several mtrs ahead of its row's mtr, and evictions write
 * LOB pages while the workload runs.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { RandomSource } from '../../src/util/random.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import {
  CrashHarness,
  type CrashPlan,
  type CrashSteps,
  EVERY_WRITE_AND_SYNC,
  pointsOf,
} from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';

interface Doc {
  [column: string]: number | Uint8Array | string | null;
  id: number;
  body: Uint8Array;
  note: string | null;
}

/** The states after each commit (states[0]: the base) and how many commits settled. */
interface Progress {
  readonly states: string[];
  acked: number;
}

const open = (vfs: FaultVfs): Promise<Database> =>
  openTestDatabase(vfs, { poolPages: 64, redoLogBytes: 256 * 1024, durability: 'full' });

const lobs = new CrashHarness(open);

function bytes(size: number, seed: number): Uint8Array {
  const rng = new RandomSource(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.int(256);
  return out;
}

function stateOf(db: Database, tx?: ReturnType<Database['begin']>): string {
  return [...(tx ?? db).table<Doc>('docs').scan()]
    .map((r) => `${r.id}:${r.body.length}:${createHash('sha1').update(r.body).digest('hex').slice(0, 12)}:${r.note}`)
    .join('|');
}

/** The base: rows 1 and 2 with large values, row 3 with a small one. */
async function baseImage(): Promise<CrashImage> {
  const vfs = new FaultVfs({ seed: 1 });
  const db = await open(vfs);
  await db.createTable({
    name: 'docs',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'body', type: 'bytes' },
      { name: 'note', type: 'string', nullable: true },
    ],
    primaryKey: ['id'],
  });
  await db.table('docs').insert({ id: 1, body: bytes(50_000, 1), note: 'one' });
  await db.table('docs').insert({ id: 2, body: bytes(30_000, 2), note: null });
  await db.table('docs').insert({ id: 3, body: bytes(100, 3), note: 'small' });
  await db.close();
  return vfs.durableImage();
}

type Work = (
  db: Database,
  commit: (work: (tx: ReturnType<Database['begin']>) => Promise<unknown>) => Promise<void>,
) => Promise<void>;

/** A workload: `work` with every commit recorded in `progress`, the page cleaner between steps. */
function workload(work: Work): (db: Database, progress: Progress) => Promise<void> {
  return async (db, progress) => {
    await work(db, async (body) => {
      const tx = db.begin();
      await body(tx);
      // In the sequence before the commit starts: a crash inside it (after its mtr) may keep it.
      progress.states.push(stateOf(db, tx));
      await tx.commit();
      progress.acked++;
      db.storage.backgroundStep();
    });
  };
}

const WORKLOADS: Record<string, Work> = {
  /** LOB inserts: large values written ahead of their row's mtr, one in flight at the crash. */
  insert: async (db, commit) => {
    await commit((tx) => tx.table('docs').insert({ id: 4, body: bytes(60_000, 4), note: 'four' }));
    await commit(async (tx) => {
      await tx.table('docs').insert({ id: 5, body: bytes(9_000, 5), note: null });
      await tx.table('docs').insert({ id: 6, body: bytes(20_000, 6), note: 'six' });
    });
    const inflight = db.begin(); // never committed: recovery rolls it back, freeing its LOB
    await inflight.table('docs').insert({ id: 7, body: bytes(45_000, 7), note: 'in flight' });
    await commit((tx) => tx.table('docs').update(3, { note: 'last' })); // makes the in-flight redo durable
  },
  /** Partial updates: small ones in place (LOB-DIFF), larger ones copying slots (one over several mtrs). */
  partial: async (_db, commit) => {
    await commit((tx) =>
      tx.table('docs').updatePartial(1, 'body', [
        { offset: 7, bytes: bytes(60, 10) },
        { offset: 9, bytes: new Uint8Array(0) },
      ]),
    );
    await commit((tx) => tx.table('docs').updatePartial(1, 'body', [{ offset: 4_030, bytes: bytes(40_000, 11) }]));
    await commit((tx) => tx.table('docs').updatePartial(2, 'body', [{ offset: 12_000, bytes: bytes(500, 12) }]));
    await commit((tx) => tx.table('docs').updatePartial(1, 'body', [{ offset: 20_000, bytes: bytes(100, 13) }]));
  },
  /** Rollbacks: of partial updates (small and large), a whole-value update and an insert. */
  rollback: async (db, commit) => {
    const tx = db.begin();
    const t = tx.table('docs');
    await t.updatePartial(1, 'body', [{ offset: 100, bytes: bytes(36_000, 20) }]);
    await t.updatePartial(2, 'body', [{ offset: 5, bytes: bytes(50, 21) }]);
    tx.savepoint('s');
    await t.update(2, { body: bytes(40_000, 22) });
    await t.insert({ id: 8, body: bytes(33_000, 23), note: 'rolled back' });
    await tx.rollbackToSavepoint('s');
    db.storage.backgroundStep();
    await tx.rollback();
    await commit((tx2) => tx2.table('docs').update(3, { note: 'after the rollback' }));
  },
  /** Purge: an old LOB replaced whole, old versions of slots, a deleted row's LOB, in slices. */
  purge: async (db, commit) => {
    await commit((tx) => tx.table('docs').update(2, { body: bytes(35_000, 30) }));
    await commit((tx) => tx.table('docs').updatePartial(1, 'body', [{ offset: 1_000, bytes: bytes(30_000, 31) }]));
    // Two larger changes of slot 0 in one transaction: purge cuts below version 2, then below 3; a
    // crash after the second cut runs the first again, which must find it done (L7, table soak).
    await commit(async (tx) => {
      await tx.table('docs').updatePartial(2, 'body', [{ offset: 0, bytes: bytes(3_000, 32) }]);
      await tx.table('docs').updatePartial(2, 'body', [{ offset: 500, bytes: bytes(3_000, 33) }]);
    });
    await commit((tx) => tx.table('docs').delete(1));
    for (;;) {
      const { purge } = db.runBackgroundWork(1);
      db.storage.backgroundStep();
      if (purge.records === 0 && purge.logs === 0) break;
    }
    await commit((tx) => tx.table('docs').update(3, { note: 'after the purge' }));
  },
};

/** Recovers `image` and checks it against the model and for leaks. */
async function verify(image: CrashImage, progress: Progress, what: string, seed: number): Promise<number> {
  const db = await open(FaultVfs.fromImage(image, { seed }));
  const before = stateOf(db);
  const k = progress.states.indexOf(before);
  expect(
    k,
    `${what}: the recovered state is the state after some commit: ${before} not in ${JSON.stringify(progress.states)}`,
  ).toBeGreaterThanOrEqual(0);
  expect(k, `${what}: every acknowledged commit survived (acked ${progress.acked})`).toBeGreaterThanOrEqual(
    progress.acked,
  );
  db.check(); // LOB pages: each reachable once, none leaked (a half-built LOB was dropped at open)
  while (db.runBackgroundWork().rolledBack);
  expect(db.status().activeTransactions).toBe(0);
  expect(stateOf(db), `${what}: after the background rollback`).toBe(before);
  db.check();
  db.purge();
  const rows = [...db.table<Doc>('docs').scan()];
  expect(db.engine.checkLobs(), `${what}: after purge, the LOBs of the rows and nothing older`).toMatchObject({
    lobs: rows.filter((r) => r.body.length > 1_000).length,
    olderVersionPages: 0,
  });
  // It takes new work.
  await db.table('docs').insert({ id: 100, body: bytes(25_000, 100), note: 'after recovery' });
  await db.table('docs').updatePartial(100, 'body', [{ offset: 3, bytes: bytes(10, 101) }]);
  db.check();
  await db.close();
  return k;
}

/**
 * Every mtr's redo reaches the log file as the mtr commits, so a process crash right after mtr k
 * keeps mtrs 1 to k and nothing after: a crash at every mtr boundary of a multi-mtr LOB operation
 * (the writes ahead of a row's mtr, the frees ahead of a rollback's or purge's), which the
 * operation-level crash points reach only when the log happens to be written then.
 */
function writeLogAtEachMtr(vfs: FaultVfs, db: Database): void {
  const raise = vfs.engineEvent.bind(vfs);
  vfs.engineEvent = (name) => {
    if (name === 'mtr-commit' && db.storage.health.isOpen) db.storage.log.write();
    raise(name);
  };
}

/** The recipe's steps for workload `name`: a fresh model, the workload (after `prepare`), `verify`. */
function steps(
  name: string,
  work: Work,
  prepare?: (vfs: FaultVfs, db: Database) => void,
): CrashSteps<Database, Progress, number> {
  return {
    progress: (db) => ({ states: [stateOf(db)], acked: 0 }),
    workload: (db, progress, run) => {
      prepare?.(run.vfs, db);
      return workload(work)(db, progress);
    },
    verify: (crashed, seed, progress, what) => verify(crashed, progress, `${name} ${what}`, seed),
  };
}

/** Crashes `name`'s workload at every point of `plans`; returns the commits each recovery reached. */
async function crashAtEveryPoint(
  image: CrashImage,
  seed: number,
  recipe: CrashSteps<Database, Progress, number>,
  plans: readonly CrashPlan[],
): Promise<{ counts: Awaited<ReturnType<typeof lobs.count>>; reached: number[] }> {
  const counts = await lobs.count(image, seed, (db, run) => recipe.workload(db, recipe.progress(db), run));
  return { counts, reached: await lobs.crashAtEach(image, pointsOf(plans, counts), recipe) };
}

describe('large values under crashes', () => {
  for (const [name, work] of Object.entries(WORKLOADS)) {
    it(`${name}: recovers the durable state, whole, with no LOB page leaked, crashing at every write and sync`, async () => {
      const image = await baseImage();
      const { counts, reached } = await crashAtEveryPoint(image, 2, steps(name, work), EVERY_WRITE_AND_SYNC);
      const commits = new Set(reached);
      expect(counts.operations).toBeGreaterThan(20);
      console.log(
        `${name}: ${counts.operations} operations, ${counts.syncs} syncs, ${reached.length} crashes, commits reached ${[...commits].sort().join(',')}`,
      );
      expect(reached.length).toBeGreaterThan(counts.operations);
      expect(commits.size, 'crashes land between different commits').toBeGreaterThan(1);
    }, 600_000);

    it(`${name}: recovers, with no LOB page leaked, crashing after every mini-transaction`, async () => {
      const image = await baseImage();
      const { counts, reached } = await crashAtEveryPoint(image, 4, steps(name, work, writeLogAtEachMtr), [
        { policy: 'process-crash', at: 'mtr-commit', stride: 1 },
      ]);
      console.log(
        `${name}: ${reached.length} crashes after each mtr, commits reached ${[...new Set(reached)].sort().join(',')}`,
      );
      expect(reached.length).toBe(counts.events['mtr-commit']);
    }, 600_000);
  }
});
