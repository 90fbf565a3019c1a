/**
 * Reading only some columns (`columns` on `get`, `scan` and `scanIndex`, issue 16): the rows hold exactly
 * those columns in schema order, old versions are rebuilt whole and then cut, and a secondary
 * index scan still skips entries of other versions (CS2 of row/consistent-scan.ts) whether or not
 * the columns it compares are asked for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { openTestDatabase } from '../support/open.js';

const ITEMS = {
  name: 'items',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'k', type: 'int32' as const },
    { name: 'c', type: 'string' as const },
    { name: 'pad', type: 'string' as const, nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_k', columns: ['k'] }],
};

let db: Database;

afterEach(async () => {
  await db.close();
});

async function seeded(): Promise<Database> {
  db = await openTestDatabase();
  await db.createTable(ITEMS);
  const items = db.table('items');
  for (let id = 1; id <= 20; id++) await items.insert({ id, k: id % 5, c: `c-${id}-${'x'.repeat(id)}`, pad: null });
  return db;
}

describe('get, scan and scanIndex with columns', () => {
  it('return only the columns asked for, in schema order, key columns included when asked', async () => {
    await seeded();
    const items = db.table('items');
    const rows = [...items.scan({ gte: 3, lte: 5, columns: ['pad', 'c'] })];
    expect(rows).toEqual([
      { c: 'c-3-xxx', pad: null },
      { c: 'c-4-xxxx', pad: null },
      { c: 'c-5-xxxxx', pad: null },
    ]);
    expect(Object.keys(rows[0]!)).toEqual(['c', 'pad']);
    expect([...items.scan({ gte: 19, columns: ['id'] })]).toEqual([{ id: 19 }, { id: 20 }]);
    expect(items.get(3, { columns: ['k', 'c'] })).toEqual({ k: 3, c: 'c-3-xxx' });
    expect(items.get(30, { columns: ['c'] })).toBeUndefined();
    const byK = [...items.scanIndex('by_k', { gte: 2, lte: 2, columns: ['id', 'c'] })];
    expect(byK).toEqual([2, 7, 12, 17].map((id) => ({ id, c: `c-${id}-${'x'.repeat(id)}` })));
    // The same rows as a whole-row scan, cut.
    const whole = [...items.scanIndex('by_k', { gte: 2, lte: 2 })].map((r) => ({ id: r.id, c: r.c }));
    expect(byK).toEqual(whole);
  });

  it('refuse an unknown column with ERR_UNKNOWN_COLUMN before reading', async () => {
    await seeded();
    expect(() => db.table('items').scan({ columns: ['nope'] })).toThrow(
      expect.objectContaining({ code: 'ERR_UNKNOWN_COLUMN' }),
    );
  });

  it('read the snapshot version, projected, and skip index entries of other versions', async () => {
    await seeded();
    const items = db.table('items');
    const tx = db.begin({ isolation: 'repeatable-read' });
    const snap = tx.table('items');
    snap.get(1); // opens the snapshot
    await items.update(2, { k: 4, c: 'changed' }); // moves row 2 from k=2 to k=4
    await items.delete(7);
    // The snapshot sees the old row 2 (an older version: rebuilt, compared with the entry, cut).
    expect([...snap.scanIndex('by_k', { gte: 2, lte: 2, columns: ['c'] })].map((r) => r.c)).toEqual([
      'c-2-xx',
      'c-7-xxxxxxx',
      'c-12-xxxxxxxxxxxx',
      'c-17-xxxxxxxxxxxxxxxxx',
    ]);
    // Its new entry under k=4 is not the snapshot's version of row 2.
    expect([...snap.scanIndex('by_k', { gte: 4, lte: 4, columns: ['id'] })].map((r) => r.id)).toEqual([4, 9, 14, 19]);
    expect([...snap.scan({ gte: 2, lte: 2, columns: ['k', 'c'] })]).toEqual([{ k: 2, c: 'c-2-xx' }]);
    expect(snap.get(2, { columns: ['c'] })).toEqual({ c: 'c-2-xx' });
    expect(items.get(2, { columns: ['c'] })).toEqual({ c: 'changed' });
    await tx.commit();
    // The newest versions: row 2 under k=4 only, row 7 gone.
    expect([...items.scanIndex('by_k', { gte: 2, lte: 2, columns: ['id'] })].map((r) => r.id)).toEqual([12, 17]);
    expect([...items.scanIndex('by_k', { gte: 4, lte: 4, columns: ['id', 'c'] })]).toEqual([
      { id: 2, c: 'changed' },
      { id: 4, c: 'c-4-xxxx' },
      { id: 9, c: 'c-9-xxxxxxxxx' },
      { id: 14, c: 'c-14-xxxxxxxxxxxxxx' },
      { id: 19, c: 'c-19-xxxxxxxxxxxxxxxxxxx' },
    ]);
    expect([...items.scan({ gte: 6, lte: 8, columns: ['id'] })]).toEqual([{ id: 6 }, { id: 8 }]);
  });
});
