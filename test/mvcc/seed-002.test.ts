/**
 * Seed 002 (MySQL bug 117553): a race between an autocommit SELECT reopening its cached read view
 * and purge cloning the oldest view moved the purge view backwards; a later rollback walked the
 * version chain (row_vers_old_has_index_entry) into undo that purge had already freed.
 *
 * The scenario, step by step, as the bug report's mysql-test script runs it:
 *
 *     con1                         default                              purge
 *     select * from t1  (view V1, cached)
 *                                  update t1 set c2=c2+1   (commit)
 *                                  update t1 set c1=c1+2   (commit)
 *                                                                       purge everything (view P1)
 *     select * from t1  (V1 reopened?)
 *                                  update t1 set c2=c2+1   (commit)
 *                                                                       clone the oldest view
 *                                  begin; update c1=c1+2; update c2=c2+2; rollback
 *
 * The rollback of `update c1=c1+2` removes the k_c1 entry the update added, after asking
 * `olderVersionHasEntry` whether a version some view may see still has it. That walk goes back
 * only while the *purge view* cannot see a version's writer; it is safe exactly when the purge view
 * never moved back past undo that was already purged.
 *
 * minno replays the interleaving with the engine's seams (trx-system.ts): `openAutocommitView`
 * (which re-checks before it reuses, so V1 is not reopened), `clonePurgeView` and `db.purge()`.
 * Then the teeth: the same script on a database opened with `allowPurgeViewBackwards` and the stale
 * view reopened with `reopenCachedViewUnchecked()` (MySQL's behaviour) must fail: the purge view's
 * low_limit_no goes down, and the rollback's version walk reaches purged undo, which the undo reader
 * reports as ERR_CORRUPTION.
 */
import { describe, expect, it } from 'vitest';
import type { Database, DatabaseTestSeams } from '../../src/api/database.js';
import type { TableSchema } from '../../src/rec/schema.js';
import type { ReadView } from '../../src/mvcc/read-view.js';
import type { TrxSystem } from '../../src/mvcc/trx-system.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { openTestDatabase } from '../support/open.js';

interface T1Row {
  [column: string]: number;
  id: number;
  c1: number;
  c2: number;
}

/** create table t1(id int not null primary key, c1 int, c2 int, key k_c1(c1)) */
const T1: TableSchema = {
  name: 't1',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'c1', type: 'int32' },
    { name: 'c2', type: 'int32' },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'k_c1', columns: ['c1'] }],
};

async function open(seams: DatabaseTestSeams = {}): Promise<Database> {
  const db = await openTestDatabase(new MemoryVfs(), { durability: 'none' }, seams);
  await db.createTable(T1);
  await db.table<T1Row>('t1').insertMany([
    { id: 1, c1: 1, c2: 1 },
    { id: 2, c1: 2, c2: 2 },
  ]);
  return db;
}

/** One UPDATE statement over the whole table, in `tx` or autocommit (its own transaction). */
async function updateAll(db: Database, change: (row: T1Row) => Partial<T1Row>, tx = db.begin()): Promise<void> {
  const t = tx.table<T1Row>('t1');
  for await (const row of t.scanForUpdate()) await t.update(row.id, change(row));
}

interface Replay {
  /** The purge view's low_limit_no after every step that may move it. */
  readonly purgeLowLimitNos: number[];
  /** The view con1's second SELECT ran with, and the one of its first. */
  readonly firstView: ReadView;
  readonly secondView: ReadView;
  /** The rollback of the last step: undefined when it completed, else its error. */
  readonly rollbackError: unknown;
}

/** Replays seed 002's interleaving; `reopen` is con1's second SELECT opening its view. */
async function replay(db: Database, reopen: (sys: TrxSystem) => ReadView): Promise<Replay> {
  const sys = db.engine.trxSystem;
  const purgeLowLimitNos: number[] = [];
  const record = (): void => {
    purgeLowLimitNos.push(sys.purgeView.lowLimitNo);
  };
  db.purge(); // the insert's history is gone before the scenario starts ("sleep 2")
  record();

  // con1: select * from t1 -- an autocommit read-only view, cached for reuse.
  const firstView = sys.openAutocommitView();
  sys.closeView(firstView);

  // default: update t1 set c2=c2+1; update t1 set c1=c1+2 (two autocommit statements).
  await db.transaction((tx) => updateAll(db, (r) => ({ c2: r.c2 + 1 }), tx));
  await db.transaction((tx) => updateAll(db, (r) => ({ c1: r.c1 + 2 }), tx));

  // purge: everything (the purge view moves to the present; both update logs are freed).
  db.purge();
  record();
  expect(db.status().historyLength).toBe(0);

  // con1: select * from t1 -- the cached view, if it may be reused; it stays open from here.
  const secondView = reopen(sys);

  // default: update t1 set c2=c2+1 (autocommit): a version whose roll pointer names purged undo.
  await db.transaction((tx) => updateAll(db, (r) => ({ c2: r.c2 + 1 }), tx));

  // purge: clone the oldest open view (con1's), then a whole purge pass.
  sys.clonePurgeView();
  record();
  db.purge();
  record();

  // default: begin; update t1 set c1=c1+2; update t1 set c2=c2+2; rollback.
  const tx = db.begin();
  await updateAll(db, (r) => ({ c1: r.c1 + 2 }), tx);
  await updateAll(db, (r) => ({ c2: r.c2 + 2 }), tx);
  let rollbackError: unknown;
  try {
    await tx.rollback();
  } catch (error) {
    rollbackError = error;
  }
  sys.closeView(secondView);
  return { purgeLowLimitNos, firstView, secondView, rollbackError };
}

function nonDecreasing(values: readonly number[]): boolean {
  return values.every((v, i) => i === 0 || v >= values[i - 1]!);
}

describe('seed 002: the purge view never moves backwards', () => {
  it('reuses an autocommit view only while nothing started or committed since it was made', async () => {
    const db = await open();
    const sys = db.engine.trxSystem;
    const v1 = sys.openAutocommitView();
    sys.closeView(v1);
    const again = sys.openAutocommitView();
    expect(again).toBe(v1); // nothing happened: the cached view is reused
    sys.closeView(again);
    await db.table<T1Row>('t1').update(1, { c2: 5 });
    const fresh = sys.openAutocommitView();
    expect(fresh).not.toBe(v1); // a commit since: a new view
    expect(fresh.lowLimitNo).toBeGreaterThan(v1.lowLimitNo);
    sys.closeView(fresh);
    await db.close();
  });

  it('replays the interleaving: the rollback completes, check() passes, the purge view only moves forward', async () => {
    const db = await open();
    const run = await replay(db, (sys) => sys.openAutocommitView());

    expect(run.rollbackError).toBeUndefined();
    // con1's second SELECT did not get its stale view back: a new one, not older than the purge view.
    expect(run.secondView).not.toBe(run.firstView);
    expect(run.secondView.lowLimitNo).toBeGreaterThanOrEqual(run.purgeLowLimitNos[1]!);
    expect(
      nonDecreasing(run.purgeLowLimitNos),
      `purge view low_limit_no over the steps: ${run.purgeLowLimitNos.join(' ')}`,
    ).toBe(true);
    // The rollback restored the committed state: c1 = 1+2, 2+2 and c2 = 1+1+1, 2+1+1.
    expect([...db.table<T1Row>('t1').scan()]).toEqual([
      { id: 1, c1: 3, c2: 3 },
      { id: 2, c1: 4, c2: 4 },
    ]);
    expect([...db.table<T1Row>('t1').scanIndex('k_c1')].map((r) => r.c1)).toEqual([3, 4]);
    db.check();
    db.purge();
    expect(db.status().historyLength).toBe(0);
    expect(db.check().entries).toBe(4); // two rows, two k_c1 entries: nothing left delete-marked
    await db.close();
  });

  it('each defence holds alone: the PURGE-MONO guard keeps the purge view when the stale view is reopened', async () => {
    const db = await open();
    const run = await replay(db, (sys) => sys.reopenCachedViewUnchecked()!);
    expect(run.secondView).toBe(run.firstView); // the stale view is open again ...
    expect(nonDecreasing(run.purgeLowLimitNos)).toBe(true); // ... but purge does not adopt it
    expect(run.rollbackError).toBeUndefined();
    db.check();
    db.purge();
    expect(db.status().historyLength).toBe(0);
    await db.close();
  });

  it('each defence holds alone: the reuse check never hands out a view older than the purge view', async () => {
    const db = await open({ allowPurgeViewBackwards: true });
    const run = await replay(db, (sys) => sys.openAutocommitView());
    expect(run.secondView).not.toBe(run.firstView);
    expect(nonDecreasing(run.purgeLowLimitNos)).toBe(true);
    expect(run.rollbackError).toBeUndefined();
    db.check();
    await db.close();
  });

  it('has teeth: with the guard taken away and the stale view reopened, the check fails', async () => {
    const db = await open({ allowPurgeViewBackwards: true });
    const run = await replay(db, (sys) => sys.reopenCachedViewUnchecked()!);

    // MySQL's behaviour: con1 gets its stale view back ...
    expect(run.secondView).toBe(run.firstView);
    // ... purge clones it and its low_limit_no goes down below what was already purged ...
    const [, afterPurgeAll, afterClone] = run.purgeLowLimitNos;
    expect(afterClone!).toBeLessThan(afterPurgeAll!);
    expect(nonDecreasing(run.purgeLowLimitNos)).toBe(false);
    // ... and the rollback's version walk (olderVersionHasEntry) reads undo that purge freed.
    expect(run.rollbackError).toMatchObject({ code: 'ERR_CORRUPTION' });
    expect(String(run.rollbackError)).toMatch(/U9 roll pointer/);
    expect((run.rollbackError as Error).stack).toMatch(/olderVersionHasEntry/);
    db.abandon();
  });
});
