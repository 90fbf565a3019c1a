/**
 * DDL through the public API: creating and dropping tables and indexes, index builds on populated
 * tables (unique ones refused cleanly over duplicates), DDL refused while read-write transactions
 * are open (ERR_IN_USE), old snapshots refused an index created after them
 * (ERR_INDEX_NOT_VISIBLE), everything kept across a clean reopen and a crash, and every DDL
 * statement crashed at each of its operations. The dictionary's own rules (DD1-DD4: the clean-up at
 * open of orphan tablespaces, indexes left 'building' and trees of dropped indexes; ids that only
 * grow) are tested on a storage core alone in test/dict/dictionary.test.ts.
 *
 * Each test compares the database with the model (test/api/model.ts) and ends with `check()`.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { Row } from '../../src/rec/row-format.js';
import type { IndexDef, TableSchema } from '../../src/rec/schema.js';
import type { MinnoError } from '../../src/errors.js';
import { RandomSource } from '../../src/util/random.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { CrashHarness } from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';
import { type DbModel, Twin, expectSameData, indexNames, refused, type TableModel } from './model.js';

const openDb = (vfs: Vfs): Promise<Database> => openTestDatabase(vfs, { poolPages: 512 });

const USERS: TableSchema = {
  name: 'users',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'name', type: 'string' },
    { name: 'email', type: 'string', nullable: true },
    { name: 'age', type: 'int32', nullable: true },
    { name: 'score', type: 'float64', nullable: true },
    { name: 'pad', type: 'string' },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_name', columns: ['name'] }],
};

const ORDERS: TableSchema = {
  name: 'orders',
  columns: [
    { name: 'user', type: 'int64' },
    { name: 'no', type: 'int32' },
    { name: 'total', type: 'float64' },
  ],
  primaryKey: ['user', 'no'],
  indexes: [],
};

function user(id: number, rng: RandomSource): Row {
  return {
    id: BigInt(id),
    name: `name${rng.int(40)}`,
    email: rng.chance(0.2) ? null : `u${id}@example.org`,
    age: rng.chance(0.1) ? null : rng.int(90),
    score: rng.chance(0.1) ? null : rng.int(1000) / 8,
    pad: 'p'.repeat(100 + rng.int(400)),
  };
}

/** A database with `users` holding `rows` rows, and its model. */
async function populated(rows: number, vfs: Vfs = new MemoryVfs()): Promise<{ twin: Twin; db: Database; vfs: Vfs }> {
  const twin = new Twin(await openDb(vfs));
  await twin.createTable(USERS);
  const rng = new RandomSource(rows);
  const all = Array.from({ length: rows }, (_, i) => user(i, rng));
  for (let i = 0; i < all.length; i += 100) await twin.load('users', all.slice(i, i + 100));
  return { twin, db: twin.db, vfs };
}

/** Closes the database, reopens it and compares again: DDL and data survive a clean close. */
async function expectSurvivesReopen(twin: Twin, vfs: Vfs): Promise<void> {
  twin.verify('before close');
  await twin.db.close();
  const again = await openDb(vfs);
  expectSameData(again, twin.model, undefined, 'after reopen');
  again.check();
  await again.close();
}

function spaceFiles(db: Database): number[] {
  return db.storage.spaces.listSpaceFiles().filter((id) => id !== 0);
}

/** DD1: the tablespace files are exactly the dictionary's tables' spaces. */
function expectNoOrphans(db: Database): void {
  expect(spaceFiles(db)).toEqual([...db.engine.dictionary.tables()].map((t) => t.spaceId).sort((a, b) => a - b));
}

describe('DDL', () => {
  it('creates and drops tables; a dropped name can be created again, empty, in a new tablespace', async () => {
    const { twin, db, vfs } = await populated(50);
    await twin.createTable(ORDERS);
    await twin.load('orders', [
      { user: 1n, no: 1, total: 9.5 },
      { user: 1n, no: 2, total: -0 },
    ]);
    expect(db.tables).toEqual(['orders', 'users']);
    twin.verify();
    const handle = db.table('orders');
    const space = db.engine.table('orders').record.spaceId;
    await twin.dropTable('orders');
    expect(db.tables).toEqual(['users']);
    await refused(() => handle.get([1n, 1]), 'ERR_UNKNOWN_TABLE', ['"orders"']);
    await refused(() => db.table('orders'), 'ERR_UNKNOWN_TABLE', ['"orders"']);
    expect(spaceFiles(db)).not.toContain(space);
    await twin.createTable(ORDERS);
    expect(db.engine.table('orders').record.spaceId, 'space ids are never reused (C3)').toBeGreaterThan(space);
    expect(handle.count(), 'an old handle reaches the new table of that name').toBe(0);
    expectNoOrphans(db);
    await expectSurvivesReopen(twin, vfs);
  });

  it('builds an index on a populated table (several build batches, NULLs, a composite, a unique one)', async () => {
    const { twin, db } = await populated(300);
    for (const def of [
      { name: 'by_age', columns: ['age'] },
      { name: 'by_age_score', columns: ['age', 'score'] },
      { name: 'by_email', columns: ['email'], unique: true }, // NULLs never clash
    ] satisfies IndexDef[]) {
      await twin.createIndex('users', def);
      twin.verify(`after building ${def.name}`);
    }
    // The new indexes are maintained by later writes, and the unique one enforces uniqueness.
    await twin.update('users', [7n], { age: 200, email: 'changed@example.org' });
    expect((await twin.insert('users', { id: 1000n, name: 'x', email: 'changed@example.org', pad: '' })).kind).toBe(
      'duplicate',
    );
    await twin.delete('users', [8n]);
    expect(db.table('users').getByIndex('by_age', 200)?.['id']).toBe(7n);
    twin.verify();
    await db.close();
  });

  it('drops indexes (one, then another); the rest keep working', async () => {
    const { twin, db, vfs } = await populated(200);
    await twin.createIndex('users', { name: 'by_age', columns: ['age'] });
    await twin.dropIndex('users', 'by_name');
    await refused(() => db.table('users').scanIndex('by_name'), 'ERR_UNKNOWN_INDEX', ['"by_name"', 'by_age']);
    await twin.insert('users', { id: 5000n, name: 'late', age: 1, pad: '' });
    twin.verify();
    await twin.dropIndex('users', 'by_age');
    expect(indexNames(db, 'users')).toEqual([]);
    await expectSurvivesReopen(twin, vfs);
  });

  it('refuses a unique index over duplicates (far apart in the table) cleanly: no index, data intact, a retry after the fix works', async () => {
    const { twin, db, vfs } = await populated(300);
    // Rows 10 and 250 share a value: they are in different build batches.
    for (const id of [10n, 250n]) await twin.update('users', [id], { email: 'dup@example.org' });
    const files = spaceFiles(db);
    const byEmail: IndexDef = { name: 'by_email', columns: ['email'], unique: true };
    await refused(() => db.createIndex('users', byEmail), 'ERR_DUPLICATE_KEY', ['"by_email"', '"users"']);
    expect(indexNames(db, 'users')).toEqual(['by_name']);
    await refused(() => db.table('users').scanIndex('by_email'), 'ERR_UNKNOWN_INDEX', ['"by_email"']);
    expect(spaceFiles(db)).toEqual(files);
    twin.verify('after the refused build');
    // Writes go on (nothing half-built is maintained), and after the fix the build succeeds.
    await twin.update('users', [250n], { email: 'u250@example.org' });
    await twin.createIndex('users', byEmail);
    await expectSurvivesReopen(twin, vfs);
  });

  it('a deleted row does not block a unique index; a restored duplicate is refused', async () => {
    const { twin, db } = await populated(150);
    for (const id of [20n, 120n]) await twin.update('users', [id], { email: 'dup@example.org' });
    await twin.delete('users', [20n]); // delete-marked, not purged: its old value must not count
    await twin.createIndex('users', { name: 'by_email', columns: ['email'], unique: true });
    twin.verify();
    expect((await twin.insert('users', { id: 20n, name: 'back', email: 'dup@example.org', pad: '' })).kind).toBe(
      'duplicate',
    );
    db.purge();
    twin.verify('after purge');
    await db.close();
  });

  it('refuses DDL while a read-write transaction is open (ERR_IN_USE); a reader does not block it', async () => {
    const { twin, db } = await populated(20);
    await twin.createTable(ORDERS);
    const writer = db.begin();
    await writer.table('orders').insert({ user: 1n, no: 1, total: 1 });
    const reader = db.begin({ readOnly: true });
    expect(reader.table('users').count()).toBe(20);
    const files = spaceFiles(db);
    await refused(() => db.createIndex('users', { name: 'by_age', columns: ['age'] }), 'ERR_IN_USE', [
      '"users"',
      'read-write transactions',
    ]);
    await refused(() => db.dropIndex('users', 'by_name'), 'ERR_IN_USE', ['"users"']);
    await refused(() => db.dropTable('users'), 'ERR_IN_USE', ['"users"']);
    await refused(() => db.dropTable('orders'), 'ERR_IN_USE', ['"orders"']);
    expect(writer.state).toBe('active');
    expect(indexNames(db, 'users')).toEqual(['by_name']);
    expect(spaceFiles(db)).toEqual(files);
    await twin.change(
      (m) => void m.table('orders').insert({ user: 1n, no: 1, total: 1 }),
      () => writer.commit(),
    );
    // The reader (no writes, no locks) does not block DDL.
    await twin.createIndex('users', { name: 'by_age', columns: ['age'] });
    await twin.dropTable('orders');
    await reader.commit();
    twin.verify();
    await db.close();
  });

  it('refuses an index to a snapshot older than it (ERR_INDEX_NOT_VISIBLE), and only to that one', async () => {
    const { twin, db } = await populated(30);
    const users = (): TableModel => twin.model.table('users');
    const old = db.begin(); // REPEATABLE READ: its view opens at its first read
    expect(old.table('users').count()).toBe(30);
    const late = db.begin(); // begun before the DDL, first read after it
    const rc = db.begin({ isolation: 'read-committed' });
    expect(rc.table('users').count()).toBe(30);
    await twin.createIndex('users', { name: 'by_age', columns: ['age'] });
    await refused(() => old.table('users').scanIndex('by_age'), 'ERR_INDEX_NOT_VISIBLE', ['"by_age"', '"users"']);
    await refused(() => old.table('users').getByIndex('by_age', 5), 'ERR_INDEX_NOT_VISIBLE', ['"by_age"']);
    // The old snapshot still reads through the primary key and the indexes it knew.
    expect(old.table('users').count()).toBe(30);
    expect([...old.table('users').scanIndex('by_name')]).toEqual(users().indexOrder('by_name'));
    expect(old.state).toBe('active');
    await old.commit();
    expect([...late.table('users').scanIndex('by_age')]).toEqual(users().indexOrder('by_age'));
    expect([...rc.table('users').scanIndex('by_age')]).toEqual(users().indexOrder('by_age'));
    await late.commit();
    await rc.commit();
    twin.verify();
    await db.close();
  });

  it('keeps every table and index across a clean reopen and across a crash', async () => {
    const vfs = new FaultVfs({ seed: 5 });
    const { twin } = await populated(120, vfs);
    await twin.createTable(ORDERS);
    await twin.createIndex('orders', { name: 'by_total', columns: ['total'] });
    await twin.load('orders', [
      { user: 2n, no: 1, total: Number.NaN },
      { user: 1n, no: 1, total: 3 },
    ]);
    await twin.createIndex('users', { name: 'by_email', columns: ['email'], unique: true });
    await twin.dropIndex('users', 'by_name');
    await twin.db.close();
    const reopenedVfs = FaultVfs.fromImage(vfs.durableImage(), { seed: 6 });
    const reopened = new Twin(await openDb(reopenedVfs), twin.model);
    reopened.verify('after reopen');
    // A power cut right after more DDL: every acknowledged statement survives.
    await reopened.createTable({ ...ORDERS, name: 'refunds' });
    await reopened.createIndex('users', { name: 'by_age', columns: ['age'] });
    await reopened.dropTable('orders');
    const crashed = reopenedVfs.crashNow('power-cut');
    reopened.db.abandon();
    const recovered = new Twin(await openDb(FaultVfs.fromImage(crashed, { seed: 7 })), reopened.model);
    recovered.verify('after the power cut');
    expectNoOrphans(recovered.db);
    await recovered.db.close();
  });

  it('after a crash at any operation of each DDL statement, it exists whole or not at all and nothing is orphaned', async () => {
    const statements: Array<{ what: string; run: (db: Database) => Promise<unknown>; apply: (m: DbModel) => void }> = [
      { what: 'createTable', run: (db) => db.createTable(ORDERS), apply: (m) => m.createTable(ORDERS) },
      {
        what: 'createIndex',
        run: (db) => db.createIndex('users', { name: 'by_age', columns: ['age'] }),
        apply: (m) => void m.createIndex('users', { name: 'by_age', columns: ['age'] }),
      },
      {
        what: 'createIndex (unique, refused)',
        run: (db) =>
          db
            .createIndex('users', { name: 'by_name_u', columns: ['name'], unique: true })
            .catch((e: MinnoError) => expect(e.code).toBe('ERR_DUPLICATE_KEY')),
        apply: () => undefined,
      },
      {
        what: 'dropIndex',
        run: (db) => db.dropIndex('users', 'by_name'),
        apply: (m) => m.dropIndex('users', 'by_name'),
      },
      { what: 'dropTable', run: (db) => db.dropTable('users'), apply: (m) => m.dropTable('users') },
    ];
    const base = new FaultVfs({ seed: 11 });
    const { twin } = await populated(150, base);
    await twin.db.close();
    const model = twin.model;
    const image: CrashImage = base.durableImage();
    const counts: string[] = [];
    const ddl = new CrashHarness(openDb);
    for (const statement of statements) {
      // Count the statement's operations on a dry run.
      const { operations } = await ddl.count(image, 12, (db) => statement.run(db));
      expect(operations, statement.what).toBeGreaterThan(0);
      counts.push(`${statement.what}: ${operations}`);
      const after = model.clone();
      statement.apply(after);
      for (let n = 1; n <= operations; n++) {
        for (const policy of ['power-cut', 'torn-garbage', 'reorder', 'process-crash'] as const) {
          const crash = await ddl.crash(image, 100 + n, { at: 'operation', n, policy }, (db) => statement.run(db));
          const { engine: recovered } = await ddl.recover(crash.image, 200 + n);
          const where = `${statement.what}, crash at operation ${n}/${operations} (${policy})`;
          let landed = false;
          try {
            expectSameData(recovered, model, undefined, where);
          } catch {
            expectSameData(recovered, after, undefined, `${where} (landed)`);
            landed = true;
          }
          expectNoOrphans(recovered);
          recovered.check();
          // The statement can run (again) on the recovered database.
          if (!landed) {
            await statement.run(recovered);
            expectSameData(recovered, after, undefined, `${where}, run again`);
            recovered.check();
          }
          await recovered.close();
        }
      }
    }
    console.log(`DDL crash points (operations per statement): ${counts.join(', ')}`);
  }, 120_000);
});

describe('DDL bugs found by the model (regressions)', () => {
  it('BUG-UNIQUE-BUILD-BATCH: a unique index builds over duplicates that fall in one build batch', async () => {
    const { db } = await populated(10);
    await db.table('users').update(2n, { email: 'dup@example.org' }); // rows 2 and 3: adjacent, one batch
    await db.table('users').update(3n, { email: 'dup@example.org' });
    // Expected ERR_DUPLICATE_KEY. Actual: the index is built with two entries for one value.
    // row-engine.ts createIndex checks each key against the tree (checkUniqueWhileBuilding), but
    // the keys of the current batch of 64 are only in `batch`, not yet in the tree.
    await refused(
      () => db.createIndex('users', { name: 'by_email', columns: ['email'], unique: true }),
      'ERR_DUPLICATE_KEY',
      ['"by_email"'],
    );
    expect(indexNames(db, 'users')).toEqual(['by_name']);
    await db.close();
  });

  it('BUG-UNIQUE-BUILD-BATCH: a delete-marked entry hides a live duplicate from the unique build check', async () => {
    const { db } = await populated(300);
    // Rows 10 (deleted, not purged), 150 and 290 share a value; 150 and 290 are in different batches.
    for (const id of [10n, 150n, 290n]) await db.table('users').update(id, { email: 'dup@example.org' });
    await db.table('users').delete(10n);
    // checkUniqueWhileBuilding looks only at the first entry with the value (row 10's, delete-marked).
    await refused(
      () => db.createIndex('users', { name: 'by_email', columns: ['email'], unique: true }),
      'ERR_DUPLICATE_KEY',
      ['"by_email"'],
    );
    await db.close();
  });
});
