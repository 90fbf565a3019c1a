/**
 * Crash tests of the table API, in the recipe of STYLE.md: run a workload of transactions and
 * DDL on the fault VFS, crash at every write and every sync (and at seeded random points of a
 * larger workload) under several crash policies, reopen the crash image, let the background roll
 * back the transactions recovery found active, and compare with the model of what must survive:
 *
 *  - the durable state (`model`): every transaction and DDL statement whose promise settled (durability 'full') is
 *    there whole;
 *  - `pending`: the one unit of work in flight at the crash (a commit or a DDL statement whose
 *    promise had not settled) may be there whole instead; never in part;
 *  - a transaction that had not begun to commit, or was rolled back, is gone;
 *  - tables and indexes exist whole or not at all (an index scans to exactly the model's rows,
 *    check() holds SEC=CLUST), and no tablespace file is left that no table names.
 *
 * The small workload creates a table, loads it (leaf splits, root raise), flushes pages (so torn
 * and reordered page writes are in play), builds a unique index on the populated table, commits
 * and rolls back transactions, deletes and purges (merges), creates a second table, drops an
 * index and a table, and ends with a transaction still open. The reopened database then takes
 * new work, is closed, reopened and checked again.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { Row } from '../../src/rec/row-format.js';
import type { IndexDef, TableSchema } from '../../src/rec/schema.js';
import { RandomSource } from '../../src/util/random.js';
import type { CrashImage, CrashPolicyName } from '../../src/vfs/fault-vfs.js';
import { CrashHarness, type CrashPoint } from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';
import {
  type DbModel,
  REGIONS,
  Twin,
  expectSameData,
  keyInput,
  outcomeOf,
  pick,
  sameOutcome,
  show,
  type Cell,
  type Outcome,
  type TableModel,
} from './model.js';

const POLICIES: readonly CrashPolicyName[] = ['power-cut', 'torn-garbage', 'reorder', 'process-crash'];

// A pool that holds the data (see BUG-UNDO-KEY-VIEW in model.test.ts); pages reach the disk
// through the workload's explicit flushes and the checkpoints a 256 KiB log forces.
const tables = new CrashHarness((vfs) => openTestDatabase(vfs, { poolPages: 512, redoLogBytes: 256 * 1024 }));

/** Long region values make ~390-byte keys: a few rows split a leaf, a dozen leaves raise the root. */
const ORDERS: TableSchema = {
  name: 'orders',
  columns: [
    { name: 'region', type: 'string', maxLength: 200 },
    { name: 'id', type: 'int64' },
    { name: 'qty', type: 'int32' },
    { name: 'tag', type: 'string', nullable: true },
    { name: 'note', type: 'json', nullable: true },
    { name: 'pad', type: 'string' },
  ],
  primaryKey: ['region', 'id'],
  indexes: [{ name: 'by_qty', columns: ['qty'] }],
};
/** Unique, built on the populated table; tags are unique by construction (or NULL). */
const BY_TAG: IndexDef = { name: 'by_tag', columns: ['tag'], unique: true };
const BY_QTY: IndexDef = { name: 'by_qty', columns: ['qty'] };

const AUDIT: TableSchema = {
  name: 'audit',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'what', type: 'string' },
    { name: 'at', type: 'float64', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_what', columns: ['what'] }],
};

/**
 * One workload run: the database, and what must survive a crash now. `model` (the Twin's) is the
 * durable state; `pending` is the state if the unit of work in flight completes.
 */
class Workload extends Twin {
  readonly rng: RandomSource;
  pending: DbModel | undefined;
  nextId = 1;
  /** Units of work (commits and DDL statements) acknowledged so far. */
  units = 0;
  openTx: Transaction | undefined;
  /** When set (the dry run), the shape of the orders tree after each flush: [height, pages]. */
  shapes: Array<[number, number]> | undefined;

  constructor(db: Database, seed: number) {
    super(db);
    this.rng = new RandomSource(seed);
  }

  /** One unit of work (a commit or a DDL statement): `next` survives once `action` settles. */
  protected override async settle(next: DbModel, action: () => Promise<unknown>): Promise<void> {
    this.pending = next;
    await action();
    this.model = next;
    this.pending = undefined;
    this.units++;
  }

  orderRow(tagged = true): Row {
    const id = this.nextId++;
    return {
      region: pick(this.rng, REGIONS),
      id: BigInt(id),
      qty: this.rng.int(50),
      tag: tagged && this.rng.chance(0.7) ? `t${id}` : null,
      note: this.rng.chance(0.5) ? null : { id, list: [1, 'two'] },
      pad: 'p'.repeat(200 + this.rng.int(700)),
    };
  }

  someKey(table: TableModel): Cell[] | undefined {
    return table.size === 0 ? undefined : table.pk(table.all()[this.rng.int(table.size)]!);
  }

  /**
   * An explicit transaction of random writes on `orders` (inserts, non-key and indexed updates,
   * key moves of untagged rows, deletes), committed or rolled back; with `keepOpen` it is left
   * open (a crash must roll it back).
   */
  async transaction(writes: number, end: 'commit' | 'rollback' | 'keepOpen'): Promise<void> {
    const tx = this.db.begin();
    const model = this.model.clone();
    const orders = (): TableModel => model.table('orders');
    for (let i = 0; i < writes; i++) {
      const table = tx.table('orders');
      const key = this.someKey(orders());
      const kind = key === undefined ? 0 : this.rng.int(5);
      let expected: Outcome;
      let actual: Outcome;
      if (kind === 0) {
        const row = this.orderRow();
        expected = orders().insert(row);
        actual = await outcomeOf(() => table.insert(row));
      } else if (kind === 1 || kind === 2) {
        const changes: Row =
          kind === 1 ? { pad: 'q'.repeat(100 + this.rng.int(800)) } : { qty: this.rng.int(50), note: { n: i } };
        expected = orders().update(key!, changes);
        actual = await outcomeOf(() => table.update(keyInput(key!), changes));
      } else if (kind === 3 && orders().get(key!)!['tag'] === null) {
        // A primary-key change (rows with a tag keep theirs: BUG-PK-MOVE-UNIQUE).
        const changes: Row = { id: BigInt(this.nextId++) };
        expected = orders().update(key!, changes);
        actual = await outcomeOf(() => table.update(keyInput(key!), changes));
      } else {
        expected = orders().delete(key!) ? { kind: 'done' } : { kind: 'missing' };
        actual = await outcomeOf(() => table.delete(keyInput(key!)));
      }
      if (!sameOutcome(actual, expected))
        throw new Error(`transaction write ${i}: expected ${show(expected)}, got ${show(actual)}`);
    }
    if (end === 'commit') await this.settle(model, () => tx.commit());
    else if (end === 'rollback') await tx.rollback();
    else this.openTx = tx;
  }

  async deleteSome(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const key = this.someKey(this.model.table('orders'));
      if (key === undefined) return;
      await this.delete('orders', key);
    }
  }

  /** The page cleaner's step: dirty pages through the doublewrite buffer, then a checkpoint. */
  flush(): void {
    this.db.storage.backgroundStep();
    if (this.shapes !== undefined && this.db.tables.includes('orders')) {
      const tree = this.db.engine.table('orders').clustered.check();
      this.shapes.push([tree.height, tree.pages]);
    }
  }
}

/** The small workload: every kind of change once, a few hundred VFS operations. */
async function smallWorkload(w: Workload): Promise<void> {
  await w.createTable(ORDERS);
  await w.load(
    'orders',
    Array.from({ length: 14 }, () => w.orderRow()),
  );
  w.flush();
  await w.createIndex('orders', BY_TAG);
  await w.transaction(6, 'commit');
  w.flush();
  await w.deleteSome(8);
  w.db.purge(); // removes the delete-marked records: pages merge
  w.flush();
  await w.createTable(AUDIT);
  await w.load(
    'audit',
    [1, 2, 3].map((id) => ({ id, what: `event ${id}`, at: id === 2 ? null : -0 })),
  );
  await w.dropIndex('orders', 'by_qty');
  await w.transaction(4, 'rollback');
  await w.dropTable('audit');
  await w.transaction(3, 'keepOpen');
  w.flush(); // WAL: the open transaction's redo becomes durable, so recovery finds it active
}

/** The larger workload: random rounds of the same kinds of work. */
async function largeWorkload(w: Workload, rounds: number): Promise<void> {
  await w.createTable(ORDERS);
  await w.load(
    'orders',
    Array.from({ length: 20 }, () => w.orderRow()),
  );
  for (let round = 0; round < rounds; round++) {
    const hasTag = w.model.table('orders').schema.indexes.some((i) => i.name === 'by_tag');
    const hasQty = w.model.table('orders').schema.indexes.some((i) => i.name === 'by_qty');
    const hasAudit = w.model.tables.has('audit');
    switch (w.rng.int(10)) {
      case 0:
      case 1:
        await w.load(
          'orders',
          Array.from({ length: 3 + w.rng.int(8) }, () => w.orderRow()),
        );
        break;
      case 2:
      case 3:
        await w.transaction(2 + w.rng.int(8), w.rng.chance(0.75) ? 'commit' : 'rollback');
        break;
      case 4:
        await w.deleteSome(1 + w.rng.int(6));
        break;
      case 5:
        w.db.purge();
        break;
      case 6:
        w.flush();
        break;
      case 7:
        if (hasTag) await w.dropIndex('orders', 'by_tag');
        else await w.createIndex('orders', BY_TAG);
        break;
      case 8:
        if (hasQty) await w.dropIndex('orders', 'by_qty');
        else await w.createIndex('orders', BY_QTY);
        break;
      case 9:
        if (hasAudit) await w.dropTable('audit');
        else {
          await w.createTable(AUDIT);
          await w.load(
            'audit',
            [1, 2].map((id) => ({ id, what: `e${id}`, at: id })),
          );
        }
        break;
    }
  }
  await w.transaction(4, 'keepOpen');
  w.flush();
}

type WorkloadFn = (w: Workload) => Promise<void>;

/** A database created on a fault VFS and closed cleanly: every run starts from its image. */
async function baseImage(seed: number): Promise<CrashImage> {
  return (await tables.baseImage(seed)).image;
}

/** Mutating VFS operations the workload performs when nothing crashes. */
async function countOperations(
  image: CrashImage,
  workload: WorkloadFn,
  seed: number,
): Promise<{ operations: number; units: number; shapes: Array<[number, number]> }> {
  let w: Workload | undefined;
  const { operations } = await tables.count(image, seed, (db) => {
    w = new Workload(db, seed);
    w.shapes = [];
    return workload(w);
  });
  return { operations, units: w!.units, shapes: w!.shapes! };
}

interface CrashRun {
  /** Units of work acknowledged before the crash. */
  units: number;
  /** Whether the unit in flight was found there (vs absent); undefined when none was in flight. */
  pendingLanded: boolean | undefined;
  rolledBack: number;
  /** Pages recovery restored from the doublewrite buffer (torn writes repaired). */
  restoredPages: number;
}

/**
 * Runs the workload until the crash point (or to its end, then crashes now), reopens the crash
 * image and checks it against the model.
 */
async function crashAndRecover(
  image: CrashImage,
  workload: WorkloadFn,
  seed: number,
  point: CrashPoint,
): Promise<CrashRun> {
  let w: Workload | undefined;
  const { image: after } = await tables.crash(image, seed, point, (db) => {
    w = new Workload(db, seed);
    return workload(w);
  });
  return verifyRecovered(after, w!, seed + 1);
}

/** Reopens a crash image, rolls back what recovery found active, and checks against the model. */
async function verifyRecovered(image: CrashImage, w: Workload, seed: number): Promise<CrashRun> {
  const recovered = await tables.recover(image, seed);
  const db = recovered.engine;
  const restoredPages = db.storage.recovery?.pagesRestoredFromDoublewrite ?? 0;
  const where = `seed ${seed - 1}, after ${w.units} units${w.pending === undefined ? '' : ' with one in flight'}`;
  // Before the rollback: recovered transactions are active, so reads use views that skip them.
  const landed = matchModel(db, w, `${where}, before rollback`);
  let rolledBack = 0;
  while (db.runBackgroundWork().rolledBack) rolledBack++;
  expect(db.status().activeTransactions, where).toBe(0);
  db.check();
  expectSameData(db, landed ? w.pending! : w.model, undefined, `${where}, after rollback`);
  expectNoOrphanSpaces(db, where);
  // The recovered database takes new work and survives a clean reopen.
  const model = (landed ? w.pending! : w.model).clone();
  if (model.tables.has('orders')) {
    const row: Row = { region: REGIONS[0]!, id: 10_000n, qty: 1, tag: 'after-recovery', note: null, pad: 'r' };
    await db.table('orders').insert(row);
    model.table('orders').insert(row);
  }
  db.purge();
  db.check();
  await db.close();
  const { engine: again } = await tables.recover(recovered.vfs.durableImage(), seed);
  expectSameData(again, model, undefined, `${where}, reopened after recovery`);
  again.check();
  await again.close();
  return { units: w.units, pendingLanded: w.pending === undefined ? undefined : landed, rolledBack, restoredPages };
}

/** Which of the allowed states the database is in: the durable one (false) or the pending one (true). */
function matchModel(db: Database, w: Workload, where: string): boolean {
  try {
    expectSameData(db, w.model, undefined, where);
    return false;
  } catch (error) {
    if (w.pending === undefined) throw error;
    try {
      expectSameData(db, w.pending, undefined, `${where} (the unit in flight landed)`);
      return true;
    } catch (second) {
      throw new Error(
        `neither the durable state nor the one with the unit in flight:\n${String(error)}\n---\n${String(second)}`,
      );
    }
  }
}

/** Rule DD1: every tablespace file but the system one belongs to a table of the dictionary. */
function expectNoOrphanSpaces(db: Database, where: string): void {
  const named = [...db.engine.dictionary.tables()].map((t) => t.spaceId).sort((a, b) => a - b);
  const files = db.storage.spaces.listSpaceFiles().filter((id) => id !== 0);
  expect(files, `${where}: tablespace files`).toEqual(named);
}

describe('table API crash safety', () => {
  it('recovers the durable state (or it plus the unit in flight) at every operation of a workload with splits, merges and DDL', async () => {
    const seed = 31;
    const image = await baseImage(seed);
    const { operations, units, shapes } = await countOperations(image, smallWorkload, seed);
    expect(operations).toBeGreaterThan(50);
    // The load split leaves and raised the root; the deletes and purge merged pages away.
    const [afterLoad, beforeDeletes, afterPurge] = shapes;
    expect(afterLoad![0]).toBeGreaterThanOrEqual(2);
    expect(afterPurge![1]).toBeLessThan(beforeDeletes![1]);
    const landed = { yes: 0, no: 0 };
    const unitsSeen = new Set<number>();
    let rolledBack = 0;
    let restoredPages = 0;
    for (const policy of POLICIES) {
      for (let n = 1; n <= operations; n++) {
        const run = await crashAndRecover(image, smallWorkload, seed, { at: 'operation', n, policy });
        unitsSeen.add(run.units);
        if (run.pendingLanded === true) landed.yes++;
        if (run.pendingLanded === false) landed.no++;
        rolledBack += run.rolledBack;
        restoredPages += run.restoredPages;
      }
      // And at the end, with the last transaction still open.
      const run = await crashAndRecover(image, smallWorkload, seed, { at: 'end', policy });
      expect(run.units).toBe(units);
      expect(run.rolledBack, `${policy}: the open transaction was rolled back by the background`).toBe(1);
      rolledBack += run.rolledBack;
    }
    console.log(
      `crash enumeration: ${operations} operations x ${POLICIES.length} policies; units ${units}; in-flight landed ${landed.yes}, absent ${landed.no}; recovered transactions rolled back ${rolledBack}; torn pages restored ${restoredPages}; shapes ${JSON.stringify(shapes)}`,
    );
    // Every unit boundary was crashed at, and in-flight units were seen both landed and not.
    expect(unitsSeen.size).toBe(units + 1);
    expect(landed.yes).toBeGreaterThan(0);
    expect(landed.no).toBeGreaterThan(0);
    expect(rolledBack).toBeGreaterThan(0);
    expect(restoredPages, 'torn page writes were repaired from the doublewrite buffer').toBeGreaterThan(0);
  }, 240_000);

  it('recovers at seeded random crash points of a larger workload', async () => {
    const TRIALS = 48;
    const image = await baseImage(77);
    let crashed = 0;
    let maxHeight = 0;
    let unitsTotal = 0;
    for (let trial = 0; trial < TRIALS; trial++) {
      const seed = 500 + trial;
      const workload = (w: Workload): Promise<void> => largeWorkload(w, 40);
      const { operations, shapes } = await countOperations(image, workload, seed);
      const policy = POLICIES[trial % POLICIES.length]!;
      const run = await crashAndRecover(image, workload, seed, { at: 'random', within: operations, policy });
      if (run.units > 0) crashed++;
      maxHeight = Math.max(maxHeight, ...shapes.map(([height]) => height));
      unitsTotal += run.units;
    }
    console.log(
      `random crashes: ${TRIALS} trials, ${unitsTotal} units acknowledged before the crashes, orders tree height up to ${maxHeight}`,
    );
    expect(crashed).toBeGreaterThan(TRIALS / 2);
    expect(maxHeight).toBeGreaterThanOrEqual(3);
  }, 240_000);
});
