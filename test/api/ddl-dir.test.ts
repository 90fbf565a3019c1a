/**
 * Rule DIR through the public API: after every DDL statement has settled, no directory entry is
 * left unsynced (`FaultVfs.unsyncedEntries()`), so a power cut right then keeps the statement's
 * effect. docs/architecture.md names this as DIR's proof; the core-level counterpart (create and
 * drop a space, with a kill -9 in between) is in test/core/crash.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { openTestDatabase as openDb } from '../support/open.js';
import { indexNames } from './model.js';

const table = (name: string) => ({
  name,
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'tag', type: 'string' as const },
  ],
  primaryKey: ['id'],
  indexes: [],
});

/** The tables and the index names a fresh process finds after a power cut now. */
async function afterPowerCut(vfs: FaultVfs, seed: number): Promise<string[]> {
  const db = await openDb(FaultVfs.fromImage(vfs.durableImage(), { seed }));
  const found = db.tables.map((name) => `${name}[${indexNames(db, name).join(',')}]`);
  await db.close();
  return found.sort();
}

describe('DIR: every DDL statement leaves its directory entries synced when it settles', () => {
  it('create and open, createTable, createIndex, dropIndex, dropTable, one after another', async () => {
    const vfs = new FaultVfs({ seed: 1 });
    const db = await openDb(vfs);
    expect(vfs.unsyncedEntries(), 'after creating the database').toEqual([]);
    const steps: Array<{ readonly what: string; readonly run: () => Promise<void>; readonly expected: string[] }> = [
      { what: 'createTable a', run: () => db.createTable(table('a')), expected: ['a[]'] },
      {
        what: 'insert into a',
        run: async () => void (await db.table('a').insert({ id: 1, tag: 'x' })),
        expected: ['a[]'],
      },
      { what: 'createTable b', run: () => db.createTable(table('b')), expected: ['a[]', 'b[]'] },
      {
        what: 'createIndex a.by_tag',
        run: () => db.createIndex('a', { name: 'by_tag', columns: ['tag'] }),
        expected: ['a[by_tag]', 'b[]'],
      },
      { what: 'dropIndex a.by_tag', run: () => db.dropIndex('a', 'by_tag'), expected: ['a[]', 'b[]'] },
      { what: 'dropTable a', run: () => db.dropTable('a'), expected: ['b[]'] },
      { what: 'createTable c', run: () => db.createTable(table('c')), expected: ['b[]', 'c[]'] },
      { what: 'dropTable b', run: () => db.dropTable('b'), expected: ['c[]'] },
    ];
    let seed = 10;
    for (const step of steps) {
      await step.run();
      expect(vfs.unsyncedEntries(), `after ${step.what}`).toEqual([]);
      expect(await afterPowerCut(vfs, seed++), `a power cut right after ${step.what}`).toEqual(step.expected);
    }
    await db.close();
    expect(vfs.unsyncedEntries(), 'after close').toEqual([]);
  });

  it('reopening after a kill -9 leaves nothing unsynced either (recovery syncs what it found)', async () => {
    const vfs = new FaultVfs({ seed: 2 });
    const db = await openDb(vfs);
    await db.createTable(table('a'));
    vfs.crashAtOperation(3, 'process-crash'); // somewhere inside the next DDL statement
    await db.createTable(table('b')).catch(() => undefined);
    expect(vfs.crashed).toBe(true);
    db.abandon();
    const reopened = FaultVfs.fromImage(vfs.crashImage(), { seed: 3 });
    const again = await openDb(reopened);
    const seen = again.tables.slice().sort();
    expect(reopened.unsyncedEntries()).toEqual([]);
    await again.close();
    expect((await afterPowerCut(reopened, 4)).map((entry) => entry.replace(/\[.*\]/, ''))).toEqual(seen);
  });
});
