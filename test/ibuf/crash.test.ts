/**
 * Crash tests of the change buffer, in the recipe of test/support/crash-harness.ts: a workload whose
 * secondary-index pages are mostly out of a 64-page pool (the table is loaded, then reopened with
 * an empty pool), so its changes to `by_v` and `by_w` are buffered; reads through `by_v` and the
 * background step merge pages while writes go on (merges in a mtr of their own, and merges inside
 * the writes' mtrs when a write reads a leaf that has buffered changes); purge's removals are
 * buffered; then `by_w` is dropped with changes buffered for it, and the work goes on.
 *
 * It is crashed at every write (process crash), every sync (power cut) and every fourth write
 * (torn pages), the shared crash points of test/support/crash-harness.ts; each image is recovered
 * and must hold the rows and indexes of the state after some commit at or after the last
 * acknowledged one, read the same through every index, pass `check()` (SEC=CLUST with every
 * buffered change merged), and empty its change buffer. `MINNO_CRASH_ALL=1` also tears every
 * write (slow).
 *
 * The teeth: on a database with the test-only seam `ibufMergeInTwoMtrs` (seed 004's bug: a merge
 * applies the operations in one mtr and removes the records in a later one) the same crash points,
 * in the same order, must fail within a few dozen; the test prints how many it took.
 */
import { describe, expect, it } from 'vitest';
import type { Database, DatabaseTestSeams } from '../../src/api/database.js';
import type { Transaction } from '../../src/api/transaction.js';
import { setDebugChecks } from '../../src/util/assert.js';
import type { CrashImage, FaultVfs } from '../../src/vfs/fault-vfs.js';
import {
  CrashHarness,
  type CrashPlan,
  type CrashSteps,
  EVERY_WRITE_AND_SYNC,
  pointsOf,
} from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';
import { type ItemRow, PAGE_SIZE, POOL_BYTES, itemRow, loadedItems } from './fixture.js';

const ROWS = 1200;

interface Model {
  readonly rows: Map<number, ItemRow>;
  readonly indexes: readonly string[];
}

interface Progress {
  /** models[k]: the state after k commits (DDL included); states[k] its fingerprint. */
  readonly models: Model[];
  readonly states: string[];
  acked: number;
}

function stateOf(rows: Iterable<ItemRow>, indexes: readonly string[]): string {
  const sorted = [...rows].sort((a, b) => a.id - b.id);
  return `${indexes.join(',')}|${sorted.map((r) => `${r.id}:${r.v}:${r.w}:${r.pad.length}`).join(' ')}`;
}

/** The ids of the model's rows in the order of `index` (its columns, then the primary key). */
function orderOf(model: Model, index: string): number[] {
  const rows = [...model.rows.values()];
  const compare: Record<string, (a: ItemRow, b: ItemRow) => number> = {
    by_v: (a, b) => a.v - b.v || a.id - b.id,
    by_w: (a, b) => a.w - b.w || (a.pad < b.pad ? -1 : a.pad > b.pad ? 1 : 0) || a.id - b.id,
    by_u: (a, b) => a.id - b.id || a.v - b.v,
  };
  return rows.sort(compare[index]).map((r) => r.id);
}

function open(seams: DatabaseTestSeams): (vfs: FaultVfs) => Promise<Database> {
  return (vfs) =>
    openTestDatabase(
      vfs,
      { pageSize: PAGE_SIZE, poolPages: POOL_BYTES / PAGE_SIZE, redoLogBytes: 512 * 1024, changeBuffering: 'all' },
      seams,
    );
}

/** One committed step: the change in a 'full' transaction, the model after it, acknowledged once durable. */
async function commit(
  db: Database,
  progress: Progress,
  change: (tx: Transaction) => Promise<void>,
  apply: (rows: Map<number, ItemRow>) => void,
): Promise<void> {
  const tx = db.begin({ durability: 'full' });
  await change(tx);
  const last = progress.models[progress.models.length - 1]!;
  const rows = new Map(last.rows);
  apply(rows);
  progress.models.push({ rows, indexes: last.indexes });
  progress.states.push(stateOf(rows.values(), last.indexes));
  await tx.commit();
  progress.acked = progress.models.length - 1;
}

async function workload(db: Database, progress: Progress): Promise<void> {
  let next = ROWS + 1;
  // Inserts, buffered: the leaves of by_v and by_w they go to are on disk only.
  for (let batch = 0; batch < 3; batch++) {
    const ids = Array.from({ length: 8 }, () => next++);
    await commit(
      db,
      progress,
      async (tx) => {
        for (const id of ids) await tx.table<ItemRow>('items').insert(itemRow(id));
      },
      (rows) => {
        for (const id of ids) rows.set(id, itemRow(id));
      },
    );
  }
  // Updates that move entries of both indexes (a buffered delete mark and a buffered insert each).
  for (let batch = 0; batch < 3; batch++) {
    const ids = Array.from({ length: 6 }, (_, i) => 1 + (((batch * 6 + i) * 197) % ROWS));
    await commit(
      db,
      progress,
      async (tx) => {
        for (const id of ids) await tx.table<ItemRow>('items').update(id, { v: id * 3 + batch, w: batch });
      },
      (rows) => {
        for (const id of ids) rows.set(id, { ...rows.get(id)!, v: id * 3 + batch, w: batch });
      },
    );
  }
  // A read through by_v: the pages it reads are merged (each in an mtr of its own).
  [...db.table<ItemRow>('items').scanIndex('by_v', { lt: 20_000 })];
  // Deletes, then purge: the removals of their entries are buffered too.
  const gone = Array.from({ length: 8 }, (_, i) => 3 + i * 131);
  await commit(
    db,
    progress,
    async (tx) => {
      for (const id of gone) await tx.table<ItemRow>('items').delete(id);
    },
    (rows) => {
      for (const id of gone) rows.delete(id);
    },
  );
  db.purge();
  // The background merges a few pages per step (as it does once the buffer is half full).
  db.engine.changeBufferStep(4);
  db.engine.changeBufferStep(4);
  // Drop by_w with changes still buffered for it; its records are discarded as its pages are freed.
  const dropped = db.dropIndex('items', 'by_w');
  const last = progress.models[progress.models.length - 1]!;
  const indexes = last.indexes.filter((name) => name !== 'by_w');
  progress.models.push({ rows: last.rows, indexes });
  progress.states.push(stateOf(last.rows.values(), indexes));
  await dropped;
  progress.acked = progress.models.length - 1;
  // More work after the drop, with pages flushed so torn page writes are in play.
  const more = Array.from({ length: 8 }, () => next++);
  await commit(
    db,
    progress,
    async (tx) => {
      for (const id of more) await tx.table<ItemRow>('items').insert(itemRow(id));
      await tx.table<ItemRow>('items').update(more[0]!, { v: 7 });
    },
    (rows) => {
      for (const id of more) rows.set(id, itemRow(id));
      rows.set(more[0]!, { ...rows.get(more[0]!)!, v: 7 });
    },
  );
  db.storage.backgroundStep();
  db.runBackgroundWork();
  db.engine.changeBufferStep(2);
}

/** The crash harness on a database with `seams` switched on. */
const harness = (seams: DatabaseTestSeams): CrashHarness<Database> => new CrashHarness(open(seams));

/**
 * The recipe's steps for this workload, recovering with `subject`: each recovery must be the state
 * after a commit at or after the last acknowledged; `verify` returns that commit's number.
 */
function steps(subject: CrashHarness<Database>): CrashSteps<Database, Progress, number> {
  return {
    progress(db) {
      const rows = new Map<number, ItemRow>();
      for (const row of db.table<ItemRow>('items').scan()) rows.set(row.id, row as ItemRow);
      const model = { rows, indexes: ['by_v', 'by_w', 'by_u'] };
      return { models: [model], states: [stateOf(rows.values(), model.indexes)], acked: 0 };
    },
    workload,
    async verify(crashed, seed, progress, what) {
      const { engine: db } = await subject.recover(crashed, seed);
      try {
        const items = db.table<ItemRow>('items');
        const indexes = db.engine.table('items').secondaries.map((s) => s.index.name);
        const k = progress.states.indexOf(stateOf(items.scan(), indexes));
        expect(k, `${what}: the recovered rows and indexes are the state after some commit`).toBeGreaterThanOrEqual(0);
        expect(k, `${what}: every acknowledged commit survived`).toBeGreaterThanOrEqual(progress.acked);
        while (db.runBackgroundWork().rolledBack);
        const model = progress.models[k]!;
        for (const index of indexes) {
          expect(
            [...items.scanIndex(index)].map((r) => r.id),
            `${what}: read through ${index}`,
          ).toEqual(orderOf(model, index));
        }
        db.check();
        db.engine.changeBuffer.mergeAll();
        expect(db.status().changeBuffer.sizeBytes, `${what}: the change buffer empties`).toBe(0);
        db.check();
        await db.close();
        return k;
      } catch (error) {
        db.abandon();
        throw error;
      }
    },
  };
}

/**
 * The healthy workload once without a crash on `image`: what it does (the crash points), its
 * change-buffer status and model at the end, and the image of its end (as a process crash leaves it).
 */
async function runWhole(image: CrashImage) {
  const healthy = harness({});
  let status: ReturnType<Database['status']>['changeBuffer'] | undefined;
  let progress: Progress | undefined;
  const counts = await healthy.count(
    image,
    1,
    async (db) => {
      progress = steps(healthy).progress(db);
      await workload(db, progress);
      status = db.status().changeBuffer;
    },
    { crashAtEnd: 'process-crash' },
  );
  return { healthy, counts, status: status!, progress: progress!, end: counts.image! };
}

const ALL = process.env['MINNO_CRASH_ALL'] === '1';
/** Every write (process crash), every sync (power cut), every fourth write torn; `MINNO_CRASH_ALL=1`: every write torn too. */
const POINTS: readonly CrashPlan[] = ALL
  ? EVERY_WRITE_AND_SYNC.map((plan) => ({ ...plan, stride: 1 }))
  : EVERY_WRITE_AND_SYNC;

describe('the change buffer under crashes', () => {
  it('recovers every operation exactly once at every write and sync of a workload that buffers, merges, purges and drops', async () => {
    const image = (await loadedItems(ROWS)).durableImage();
    const whole = await runWhole(image);
    const check = steps(whole.healthy);
    // The workload buffers, merges (inside writes too) and discards: it exercises what it claims to.
    expect(whole.status.buffered.insert + whole.status.buffered.deleteMark).toBeGreaterThan(20);
    expect(whole.status.buffered.purge).toBeGreaterThan(0);
    expect(whole.status.merges).toBeGreaterThan(5);
    expect(Object.values(whole.status.discarded).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    expect(whole.progress.acked).toBe(whole.progress.models.length - 1);
    expect(await check.verify(whole.end, 3, whole.progress, 'end of the workload')).toBe(whole.progress.acked);
    expect(whole.counts.operations).toBeGreaterThan(60);
    const reached = await whole.healthy.crashAtEach(image, pointsOf(POINTS, whole.counts), check);
    expect(reached.length).toBeGreaterThan(whole.counts.operations + whole.counts.syncs);
    expect(new Set(reached).size, 'the crashes recovered many different states').toBeGreaterThan(5);
  }, 600_000);

  it('teeth: with the merge split into two mtrs (seed 004) the same crash points fail within a few dozen', async () => {
    const image = (await loadedItems(ROWS)).durableImage();
    const { counts } = await runWhole(image);
    const broken = harness({ ibufMergeInTwoMtrs: true });
    const firstFailure = () => broken.firstFailure(image, pointsOf(POINTS, counts), steps(broken));
    const failure = await firstFailure();
    expect(failure, 'a crash point where the split merge is caught').toBeDefined();
    console.log(
      `seed 004 teeth: caught at crash point ${failure!.index} (${failure!.what}): ${String(failure!.error).slice(0, 200)}`,
    );
    expect(failure!.index).toBeLessThanOrEqual(60);
    // Without the debug check IB7 (a release build), by what the second merge does to the data.
    setDebugChecks(false);
    let release: Awaited<ReturnType<typeof firstFailure>>;
    try {
      release = await firstFailure();
    } finally {
      setDebugChecks(true);
    }
    expect(release, 'a crash point where the split merge is caught without debug checks').toBeDefined();
    console.log(
      `seed 004 teeth, debug checks off: caught at crash point ${release!.index} (${release!.what}): ${String(release!.error).slice(0, 200)}`,
    );
    expect(release!.index).toBeLessThanOrEqual(60);
  }, 600_000);
});
