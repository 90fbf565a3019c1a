/**
 * The data dictionary (src/dict/dictionary.ts) on a storage core alone, without the row layer:
 * its invariants, its refusals, and crash-safe DDL at the dictionary level.
 *
 *  - DD1: after `cleanUp`, the tablespace files are exactly the records' spaces; a space no record
 *    names (a crash between creating it and recording the table), an index left 'building' and the
 *    tree of a dropped index not yet freed are finished at open.
 *  - DD2: table, index and space ids only grow; a dropped name created again gets new ones, and
 *    NEXT_SPACE_ID is durable before its space exists (no id a crash left on disk is handed out again).
 *  - DD3: the cache equals SYS_TABLES (`validate`), across a reopen.
 *  - DD4: an index goes 'building' -> 'ready' once.
 *  - Crash-safe DDL: each DDL call crashed at every write and every sync (test/support/crash-harness.ts);
 *    after recovery the table or index exists whole or not at all, a call that returned survived,
 *    and DD1-DD3 hold.
 *
 * What the DDL means to rows (index builds over data, DDL refused while transactions are open,
 * snapshots refused an index newer than them) is test/api/ddl.test.ts's.
 */
import { describe, expect, it } from 'vitest';
import { BTree } from '../../src/btree/btree.js';
import type { Storage } from '../../src/core/storage.js';
import {
  DICT_HEADER_POINTER_OFFSET,
  DICT_NEXT_INDEX_ID,
  DICT_NEXT_SPACE_ID,
  DICT_NEXT_TABLE_ID,
  Dictionary,
  type TableRecord,
} from '../../src/dict/dictionary.js';
import { readU32, readU64 } from '../../src/page/page.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { type CrashImage, FaultVfs } from '../../src/vfs/fault-vfs.js';
import { type CrashEngine, CrashHarness, EVERY_WRITE_AND_SYNC, pointsOf } from '../support/crash-harness.js';
import { openTestStorage } from '../support/open.js';

/** A storage core with its dictionary opened as the engine opens it: `openOrCreate`, `cleanUp`, `validate`. */
interface DictRun extends CrashEngine {
  readonly storage: Storage;
  readonly dict: Dictionary;
  readonly cleaned: ReturnType<Dictionary['cleanUp']>;
}

async function openDict(vfs: FaultVfs): Promise<DictRun> {
  const storage = await openTestStorage(vfs, { poolPages: 64, redoLogBytes: 512 * 1024 });
  const dict = Dictionary.openOrCreate(storage);
  const cleaned = dict.cleanUp();
  dict.validate(); // DD3
  return { storage, dict, cleaned, close: () => storage.close(), abandon: () => storage.abandon() };
}

const USERS: TableSchema = {
  name: 'users',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'name', type: 'string' },
    { name: 'email', type: 'string', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_name', columns: ['name'] }],
};

const ORDERS: TableSchema = {
  name: 'orders',
  columns: [
    { name: 'no', type: 'int32' },
    { name: 'user', type: 'int32' },
  ],
  primaryKey: ['no'],
  indexes: [
    { name: 'by_user', columns: ['user'] },
    { name: 'by_user_no', columns: ['user', 'no'], unique: true },
  ],
};

/** The dictionary header's counters (DD2). */
function counters(run: DictRun): { table: number; index: number; space: number } {
  const mtr = run.storage.startMtr();
  const pointer = readU32(mtr.getPage(0, 0), DICT_HEADER_POINTER_OFFSET);
  const header = mtr.getPage(0, pointer);
  const out = {
    table: Number(readU64(header, DICT_NEXT_TABLE_ID)),
    index: Number(readU64(header, DICT_NEXT_INDEX_ID)),
    space: readU32(header, DICT_NEXT_SPACE_ID),
  };
  mtr.commit();
  return out;
}

/** createTable's step (1) by hand: NEXT_SPACE_ID taken and made durable; the id it took. */
function reserveSpace(run: DictRun): number {
  const mtr = run.storage.startMtr();
  const header = mtr.getPage(0, readU32(mtr.getPage(0, 0), DICT_HEADER_POINTER_OFFSET));
  const spaceId = readU32(header, DICT_NEXT_SPACE_ID);
  mtr.writeU32(header, DICT_NEXT_SPACE_ID, spaceId + 1);
  run.storage.log.flushUpTo(mtr.commit());
  return spaceId;
}

function spaceFiles(run: DictRun): number[] {
  return run.storage.spaces.listSpaceFiles().filter((id) => id !== 0);
}

/** What the dictionary says, without the ids and pages a run hands out: `users: by_name ready`. */
function shape(dict: Dictionary): string {
  return dict
    .tableNames()
    .map((name) => {
      const t = dict.require(name);
      const indexes = t.indexes.map((i) => `${i.name}(${i.columns.join(',')})${i.unique ? ' unique' : ''} ${i.state}`);
      return `${name}[${t.schema.columns.map((c) => c.name).join(',')}]: ${indexes.join('; ') || 'no indexes'}`;
    })
    .join(' | ');
}

/**
 * DD1-DD3 on an opened (cleaned-up) dictionary: the spaces are the records', nothing is left
 * 'building' or waiting to be freed, every tree checks, and every counter is past every id in use
 * and every space `cleanUp` found orphaned.
 */
function expectRules(run: DictRun, what: string): void {
  const records = [...run.dict.tables()];
  expect(spaceFiles(run), `${what}: DD1 the spaces are the records'`).toEqual(
    records.map((t) => t.spaceId).sort((a, b) => a - b),
  );
  for (const t of records) {
    expect(t.droppedTrees, `${what}: ${t.name} has no dropped tree left to free`).toEqual([]);
    expect(
      t.indexes.filter((i) => i.state !== 'ready').map((i) => i.name),
      `${what}: nothing left building`,
    ).toEqual([]);
    for (const root of [t.primary.rootPageNo, ...t.indexes.map((i) => i.rootPageNo)])
      BTree.open(run.storage, t.spaceId, root).check();
  }
  const next = counters(run);
  for (const t of records) {
    expect(next.table, `${what}: DD2 NEXT_TABLE_ID past ${t.name}`).toBeGreaterThan(t.id);
    expect(next.space, `${what}: DD2 NEXT_SPACE_ID past ${t.name}`).toBeGreaterThan(t.spaceId);
    for (const id of [t.primary.id, ...t.indexes.map((i) => i.id)])
      expect(next.index, `${what}: DD2 NEXT_INDEX_ID past ${id}`).toBeGreaterThan(id);
  }
  for (const orphan of run.cleaned.orphanSpaces)
    expect(next.space, `${what}: DD2 the orphan space ${orphan} is never handed out again`).toBeGreaterThan(orphan);
}

/** `count` entries of about 100 bytes in one of a table's trees, 50 per mtr: a tree of many pages. */
function fill(run: DictRun, table: TableRecord, rootPageNo: number, count: number): void {
  const tree = BTree.open(run.storage, table.spaceId, rootPageNo);
  for (let first = 0; first < count; first += 50) {
    const mtr = run.storage.startMtr();
    for (let i = first; i < Math.min(count, first + 50); i++)
      tree.insert(
        mtr,
        new TextEncoder().encode(`name${String(i).padStart(5, '0')}`),
        new Uint8Array(90).fill(i & 0xff),
      );
    mtr.commit();
  }
}

const harness = new CrashHarness(openDict);

/** The base: `users` (its by_name tree filled: about 60 pages, freed over more than one mtr) and `orders`. */
async function baseImage(): Promise<CrashImage> {
  const { image } = await harness.baseImage(1, (run) => {
    const users = run.dict.createTable(USERS, 1);
    fill(run, users, users.indexes[0]!.rootPageNo, 2000);
    run.dict.createTable(ORDERS, 1);
  });
  return image;
}

describe('the dictionary', () => {
  it('is created once and found again: records, their trees and the cache survive a reopen (DD3)', async () => {
    const vfs = new FaultVfs({ seed: 1 });
    let run = await openDict(vfs);
    expect(run.dict.tableNames()).toEqual([]);
    const users = run.dict.createTable(USERS, 7);
    const orders = run.dict.createTable(ORDERS, 8);
    expect(users.indexes.map((i) => [i.name, i.state, i.createdAtTrxId])).toEqual([['by_name', 'ready', 7]]);
    expect(orders.indexes.map((i) => i.unique)).toEqual([false, true]);
    expectRules(run, 'created');
    await run.close();
    run = await openDict(FaultVfs.fromImage(vfs.durableImage(), { seed: 2 }));
    expect(run.dict.tableNames()).toEqual(['orders', 'users']);
    expect(run.dict.require('users')).toEqual(users);
    expect(run.dict.require('orders')).toEqual(orders);
    expect(run.cleaned).toEqual({ orphanSpaces: [], unfinishedIndexes: [], droppedTrees: 0 });
    expectRules(run, 'reopened');
    await run.close();
  });

  it('hands out ids and spaces that only grow: a dropped name comes back with new ones (DD2)', async () => {
    const vfs = new FaultVfs({ seed: 3 });
    let run = await openDict(vfs);
    const first = run.dict.createTable(USERS, 1);
    run.dict.dropTable('users');
    expect(spaceFiles(run)).toEqual([]);
    const again = run.dict.createTable(USERS, 2);
    expect(again.id).toBeGreaterThan(first.id);
    expect(again.spaceId).toBeGreaterThan(first.spaceId);
    expect(again.primary.id).toBeGreaterThan(first.indexes[0]!.id);
    const built = run.dict.beginIndex('users', { name: 'by_email', columns: ['email'] }, 3);
    run.dict.finishIndex('users', built.index.id);
    run.dict.dropIndex('users', 'by_email');
    await run.close();
    run = await openDict(FaultVfs.fromImage(vfs.durableImage(), { seed: 4 }));
    const third = run.dict.beginIndex('users', { name: 'by_email', columns: ['email'] }, 4);
    expect(third.index.id, 'an index id is never reused, across a reopen').toBeGreaterThan(built.index.id);
    expect(run.dict.createTable(ORDERS, 5).spaceId).toBeGreaterThan(again.spaceId);
    run.dict.finishIndex('users', third.index.id);
    expectRules(run, 'after drops and reopen');
    await run.close();
  });

  it('refuses bad DDL with typed errors and changes nothing', async () => {
    const run = await openDict(new FaultVfs({ seed: 5 }));
    run.dict.createTable(USERS, 1);
    const before = { shape: shape(run.dict), counters: counters(run), spaces: spaceFiles(run) };
    const refusals: Array<[() => unknown, string]> = [
      [() => run.dict.createTable(USERS, 2), 'ERR_TABLE_EXISTS'],
      [() => run.dict.require('nope'), 'ERR_UNKNOWN_TABLE'],
      [() => run.dict.require(42 as unknown as string), 'ERR_INVALID_ARGUMENT'],
      [() => run.dict.dropTable('nope'), 'ERR_UNKNOWN_TABLE'],
      [() => run.dict.dropIndex('users', 'by_nothing'), 'ERR_INVALID_ARGUMENT'],
      [() => run.dict.beginIndex('users', { name: 'by_name', columns: ['email'] }, 2), 'ERR_INVALID_SCHEMA'],
      [() => run.dict.beginIndex('users', { name: 'by_x', columns: ['nope'] }, 2), 'ERR_INVALID_SCHEMA'],
      [() => run.dict.createTable({ ...ORDERS, primaryKey: [] }, 2), 'ERR_INVALID_SCHEMA'],
    ];
    for (const [call, code] of refusals) expect(call).toThrow(expect.objectContaining({ code }));
    expect({ shape: shape(run.dict), counters: counters(run), spaces: spaceFiles(run) }).toEqual(before);
    run.dict.validate();
    await run.close();
  });

  it("moves an index 'building' -> 'ready' once, never back (DD4)", async () => {
    const run = await openDict(new FaultVfs({ seed: 6 }));
    run.dict.createTable(USERS, 1);
    const { index } = run.dict.beginIndex('users', { name: 'by_email', columns: ['email'] }, 2);
    expect(index.state).toBe('building');
    expect(run.dict.finishIndex('users', index.id).indexes.find((i) => i.id === index.id)?.state).toBe('ready');
    expect(() => run.dict.finishIndex('users', index.id)).toThrow(/DD4/);
    expect(() => run.dict.finishIndex('users', 9999)).toThrow(/DD4/);
    run.dict.validate();
    await run.close();
  });

  it('finishes at open what a crash interrupted: an orphan space, an index left building (DD1)', async () => {
    const vfs = new FaultVfs({ seed: 7 });
    const run = await openDict(vfs);
    const users = run.dict.createTable(USERS, 1);
    // What createTable's steps (1) and (2) leave when a crash comes before (3): a space no record names.
    const orphan = reserveSpace(run);
    run.storage.createSpace(orphan);
    // A build the crash cut short: 'building', durably.
    run.dict.beginIndex('users', { name: 'by_email', columns: ['email'] }, 2);
    expect(spaceFiles(run)).toEqual([users.spaceId, orphan]);
    const image = vfs.crashNow('process-crash');
    run.abandon();
    const recovered = await openDict(FaultVfs.fromImage(image, { seed: 8 }));
    expect(recovered.cleaned).toEqual({
      orphanSpaces: [orphan],
      unfinishedIndexes: ['users.by_email'],
      droppedTrees: 0,
    });
    expect(shape(recovered.dict)).toBe('users[id,name,email]: by_name(name) ready');
    expectRules(recovered, 'after clean-up');
    await recovered.close();
  });
});

/** A DDL call on the base, and the dictionary's shape before and after it. */
interface Ddl {
  readonly run: (run: DictRun) => void;
  readonly before: string;
  readonly after: string;
}

const BEFORE =
  'orders[no,user]: by_user(user) ready; by_user_no(user,no) unique ready | users[id,name,email]: by_name(name) ready';

const DDL: Record<string, Ddl> = {
  createTable: {
    run: (run) => void run.dict.createTable({ ...ORDERS, name: 'items' }, 9),
    before: BEFORE,
    after: `items[no,user]: by_user(user) ready; by_user_no(user,no) unique ready | ${BEFORE}`,
  },
  dropTable: {
    run: (run) => run.dict.dropTable('users'),
    before: BEFORE,
    after: 'orders[no,user]: by_user(user) ready; by_user_no(user,no) unique ready',
  },
  createIndex: {
    run: (run) => {
      const { index } = run.dict.beginIndex('users', { name: 'by_email', columns: ['email'] }, 9);
      fill(run, run.dict.require('users'), index.rootPageNo, 200);
      run.dict.finishIndex('users', index.id);
    },
    before: BEFORE,
    after: `${BEFORE}; by_email(email) ready`,
  },
  dropIndex: {
    run: (run) => void run.dict.dropIndex('users', 'by_name'),
    before: BEFORE,
    after: 'orders[no,user]: by_user(user) ready; by_user_no(user,no) unique ready | users[id,name,email]: no indexes',
  },
};

describe('crash-safe DDL at the dictionary level', () => {
  for (const [name, ddl] of Object.entries(DDL)) {
    it(`${name}: after a crash at every write and sync, it exists whole or not at all, and DD1-DD3 hold`, async () => {
      const image = await baseImage();
      const counts = await harness.count(image, 2, (run) => ddl.run(run));
      const cleanedUp = { orphanSpaces: 0, unfinishedIndexes: 0, droppedTrees: 0 };
      const outcomes = await harness.crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), {
        progress: () => ({ returned: false }),
        workload: (run, progress) => {
          ddl.run(run);
          progress.returned = true; // every DDL call makes its last step durable before it returns
        },
        async verify(crashed, seed, progress, what) {
          const { engine: run } = await harness.recover(crashed, seed);
          const found = shape(run.dict);
          expect([ddl.before, ddl.after], `${name} ${what}: whole or not at all`).toContain(found);
          if (progress.returned) expect(found, `${name} ${what}: the call returned, so it survived`).toBe(ddl.after);
          expectRules(run, `${name} ${what}`);
          cleanedUp.orphanSpaces += run.cleaned.orphanSpaces.length;
          cleanedUp.unfinishedIndexes += run.cleaned.unfinishedIndexes.length;
          cleanedUp.droppedTrees += run.cleaned.droppedTrees;
          await run.close();
          return found === ddl.after;
        },
      });
      expect(outcomes.length).toBeGreaterThan(counts.operations);
      expect(outcomes, `${name}: some crashes came before it landed`).toContain(false);
      expect(outcomes, `${name}: some after`).toContain(true);
      // The clean-up at open is what some of these recoveries needed (DD1).
      if (name === 'createTable') expect(cleanedUp.orphanSpaces).toBeGreaterThan(0);
      if (name === 'createIndex') expect(cleanedUp.unfinishedIndexes).toBeGreaterThan(0);
      if (name === 'dropIndex') expect(cleanedUp.droppedTrees).toBeGreaterThan(0);
    }, 120_000);
  }
});
