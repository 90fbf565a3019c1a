/**
 * Statement snapshots (row/statement-view.ts) and `db.snapshot()` (api/snapshot.ts): a lazy scan,
 * index scan or count reads one view from its call to its last row, whatever is written while it
 * is read; the view is released when the scan ends, is broken off, or is dropped, and purge waits
 * for every view still held, then goes on.
 */
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { MinnoError } from '../../src/errors.js';

const ITEMS = {
  name: 'items',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'v', type: 'int32' },
    { name: 'tag', type: 'string', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_v', columns: ['v'] }],
} as const;

/** A database with rows id 1..n, v = id * 10; manual background, so purge runs only when asked. */
async function withItems(n: number): Promise<Database> {
  const db = await Database.open({ background: 'manual' });
  await db.createTable(ITEMS);
  await db.table(ITEMS).insertMany(Array.from({ length: n }, (_, i) => ({ id: i + 1, v: (i + 1) * 10 })));
  return db;
}

const ids = (rows: Iterable<{ id: number }>): number[] => [...rows].map((r) => r.id);

/** Writes while a scan is half read: an insert ahead of it, an update and a delete ahead, one behind. */
async function writeMeanwhile(db: Database): Promise<void> {
  const t = db.table(ITEMS);
  await t.insert({ id: 100, v: 55 });
  await t.update(7, { v: 1000, tag: 'moved' });
  await t.delete(8);
  await t.delete(2);
  await t.update(9, { tag: 'changed' });
}

describe('statement snapshots', () => {
  it('an autocommit scan reads the rows as they were at its call, however slowly it is read', async () => {
    const db = await withItems(10);
    const scan = db.table(ITEMS).scan();
    // No read-write transaction is active at the call: the scan still takes its own view.
    expect(db.status().openReadViews).toBe(1);
    const first = scan.next();
    expect(first.value).toEqual({ id: 1, v: 10, tag: null });
    await writeMeanwhile(db);
    const rest = [...scan];
    expect(rest.map((r) => r.id)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(rest.find((r) => r.id === 7)).toEqual({ id: 7, v: 70, tag: null });
    expect(rest.find((r) => r.id === 9)!.tag).toBeNull();
    expect(db.status().openReadViews).toBe(0); // released at the end
    // A new scan sees the writes.
    expect(ids(db.table(ITEMS).scan())).toEqual([1, 3, 4, 5, 6, 7, 9, 10, 100]);
    await db.close();
  });

  it('the view is taken at the call, not at the first row', async () => {
    const db = await withItems(5);
    const scan = db.table(ITEMS).scan({ reverse: true });
    const byIndex = db.table(ITEMS).scanIndex('by_v', { gte: 20 });
    await db.table(ITEMS).insert({ id: 6, v: 60 });
    await db.table(ITEMS).delete(3);
    expect(ids(scan)).toEqual([5, 4, 3, 2, 1]);
    expect(ids(byIndex)).toEqual([2, 3, 4, 5]);
    await db.close();
  });

  it('an index scan keeps its view: entries moved, added and removed meanwhile are not seen', async () => {
    const db = await withItems(10);
    const scan = db.table(ITEMS).scanIndex('by_v', { gte: 30 });
    expect(scan.next().value).toEqual({ id: 3, v: 30, tag: null });
    await writeMeanwhile(db); // v 55 added (between 50 and 60), 70 moved to 1000, 80 removed
    const rest = [...scan];
    expect(rest.map((r) => r.v)).toEqual([40, 50, 60, 70, 80, 90, 100]);
    expect(ids(db.table(ITEMS).scanIndex('by_v', { gte: 30 }))).toEqual([3, 4, 5, 100, 6, 9, 10, 7]);
    await db.close();
  });

  it('count() is one consistent pass', async () => {
    const db = await withItems(50);
    const tx = db.begin(); // a writer active while counting: the count still uses one view
    await tx.table(ITEMS).insert({ id: 51, v: 1 });
    expect(db.table(ITEMS).count()).toBe(50);
    expect(db.table(ITEMS).count({ gt: 10, lte: 20 })).toBe(10);
    await tx.commit();
    expect(db.table(ITEMS).count()).toBe(51);
    expect(db.status().openReadViews).toBe(0);
    await db.close();
  });

  it('breaking out of a loop, return() and a throwing step release the view', async () => {
    const db = await withItems(20);
    for (const row of db.table(ITEMS).scan()) if (row.id === 3) break;
    expect(db.status().openReadViews).toBe(0);
    const scan = db.table(ITEMS).scanIndex('by_v');
    scan.next();
    expect(db.status().openReadViews).toBe(1);
    scan.return?.();
    expect(scan.next().done).toBe(true);
    expect(db.status().openReadViews).toBe(0);
    // A scan that is never read holds its view until it is returned.
    const unread = db.table(ITEMS).scan();
    expect(db.status().openReadViews).toBe(1);
    unread.return?.();
    expect(db.status().openReadViews).toBe(0);
    // An index the view cannot use: refused at the call, and no view is left behind.
    const old = db.begin();
    old.table(ITEMS).count();
    await db.createIndex('items', { name: 'by_tag', columns: ['tag'] });
    expect(() => old.table(ITEMS).scanIndex('by_tag' as 'by_v')).toThrow(
      expect.objectContaining({ code: 'ERR_INDEX_NOT_VISIBLE' }),
    );
    expect(db.status().openReadViews).toBe(1); // the transaction's own
    await old.commit();
    expect(db.status().openReadViews).toBe(0);
    await db.close();
  });

  it('autocommit scans reuse a view only while nothing committed and no other scan holds it (AV1)', async () => {
    const db = await withItems(4);
    const t = db.table(ITEMS);
    expect(ids(t.scan())).toEqual([1, 2, 3, 4]);
    await t.insert({ id: 5, v: 50 });
    expect(ids(t.scan())).toEqual([1, 2, 3, 4, 5]); // a commit since the last scan: not its view
    const first = t.scan();
    first.next();
    const second = t.scanIndex('by_v'); // `first` holds the last view: a view of its own
    second.next();
    expect(db.status().openReadViews).toBe(2);
    first.return?.();
    await t.delete(3);
    await t.update(4, { v: 41 });
    db.purge(); // `second` still needs both old versions
    expect([...second].map((r) => [r.id, r.v])).toEqual([
      [2, 20],
      [3, 30],
      [4, 40],
      [5, 50],
    ]);
    expect(db.status().openReadViews).toBe(0);
    db.purge();
    expect(db.status().historyLength).toBe(0);
    db.check();
    await db.close();
  });

  it('purge waits for a scan still being read, and goes on once it is released', async () => {
    const db = await withItems(10);
    const scan = db.table(ITEMS).scan();
    scan.next();
    await db.table(ITEMS).delete(5);
    await db.table(ITEMS).update(6, { v: 61 });
    db.purge();
    expect(db.status().historyLength).toBe(2); // both changes are still needed by the scan
    expect(ids(scan)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    db.purge();
    expect(db.status().historyLength).toBe(0);
    expect(ids(db.table(ITEMS).scan())).toEqual([1, 2, 3, 4, 6, 7, 8, 9, 10]);
    db.check();
    await db.close();
  });

  it('a forgotten half-read scan is released when it is garbage-collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const db = await withItems(10);
    (() => {
      const scan = db.table(ITEMS).scan();
      scan.next(); // half read, then dropped without return()
    })();
    await db.table(ITEMS).delete(4);
    expect(db.status().openReadViews).toBe(1);
    for (let attempt = 0; attempt < 50 && db.status().openReadViews > 0; attempt++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(db.status().openReadViews).toBe(0);
    db.purge();
    expect(db.status().historyLength).toBe(0);
    await db.close();
  });

  it('a READ COMMITTED scan keeps its own view while the transaction reads on', async () => {
    const db = await withItems(10);
    const tx = db.begin({ isolation: 'read-committed' });
    const scan = tx.table(ITEMS).scan();
    scan.next();
    await writeMeanwhile(db);
    // A point read of the same transaction takes a new view (READ COMMITTED) and sees the writes...
    expect(tx.table(ITEMS).get(8)).toBeUndefined();
    db.purge();
    // ...while the scan goes on in its own.
    expect(ids(scan)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10]);
    await tx.commit();
    await db.close();
  });

  it('a transaction scan read after the transaction ended is refused', async () => {
    const db = await withItems(10);
    const tx = db.begin();
    const scan = tx.table(ITEMS).scan();
    scan.next();
    await tx.commit();
    let error: MinnoError | undefined;
    try {
      scan.next();
    } catch (e) {
      error = e as MinnoError;
    }
    expect(error?.code).toBe('ERR_TRANSACTION_FINISHED');
    await db.close();
  });
});

describe('db.snapshot()', () => {
  it('several reads, of several tables, see one moment', async () => {
    const db = await withItems(10);
    await db.createTable({ ...ITEMS, name: 'other', indexes: [] });
    await db.table('other').insert({ id: 1, v: 1 });
    const snap = db.snapshot();
    await writeMeanwhile(db);
    await db.table('other').delete(1);
    const items = snap.table(ITEMS);
    expect(items.get(8)).toEqual({ id: 8, v: 80, tag: null });
    expect(items.get(100)).toBeUndefined();
    expect(items.count()).toBe(10);
    expect(items.getByIndex('by_v', 70)?.id).toBe(7);
    expect(ids(items.scanIndex('by_v', { gte: 50, lt: 80 }))).toEqual([5, 6, 7]);
    expect(snap.table('other').get(1)).toEqual({ id: 1, v: 1, tag: null });
    // A scan started from the snapshot reads its view too.
    const scan = items.scan({ gte: 7 });
    await db.table(ITEMS).delete(9);
    expect(ids(scan)).toEqual([7, 8, 9, 10]);
    snap.release();
    snap.release(); // idempotent
    expect(snap.released).toBe(true);
    expect(db.status().openReadViews).toBe(0);
    expect(() => items.get(1)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    expect(() => snap.table(ITEMS)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    await db.close();
  });

  it('purge waits for an open snapshot and resumes after release', async () => {
    const db = await withItems(10);
    const snap = db.snapshot();
    await db.table(ITEMS).delete(3);
    await db.table(ITEMS).update(4, { v: 41 });
    db.runBackgroundWork();
    db.purge();
    expect(db.status().historyLength).toBe(2);
    expect(snap.table(ITEMS).get(3)?.v).toBe(30);
    expect(snap.table(ITEMS).get(4)?.v).toBe(40);
    snap.release();
    db.purge();
    expect(db.status().historyLength).toBe(0);
    db.check();
    await db.close();
  });

  it('releasing snapshots in any order moves the purge view forward only (PURGE-MONO)', async () => {
    const db = await withItems(10);
    const purgeViewNo = (): number => db.engine.trxSystem.purgeView.lowLimitNo;
    const seen: number[] = [];
    const older = db.snapshot();
    await db.table(ITEMS).delete(1);
    const newer = db.snapshot();
    await db.table(ITEMS).delete(2);
    const scan = db.table(ITEMS).scan(); // a statement view, newest of the three
    await db.table(ITEMS).delete(3);
    db.purge();
    seen.push(purgeViewNo());
    expect(db.status().historyLength).toBe(3); // the older snapshot needs all three
    older.release(); // the oldest goes first: purge may pass the first delete only
    db.purge();
    seen.push(purgeViewNo());
    expect(db.status().historyLength).toBe(2);
    scan.return?.(); // a newer view going first changes nothing: `newer` is still the oldest
    db.purge();
    seen.push(purgeViewNo());
    expect(db.status().historyLength).toBe(2);
    expect(newer.table(ITEMS).get(2)?.id).toBe(2);
    newer.release();
    db.purge();
    seen.push(purgeViewNo());
    expect(db.status().historyLength).toBe(0);
    for (let i = 1; i < seen.length; i++) expect(seen[i]).toBeGreaterThanOrEqual(seen[i - 1]!);
    expect(seen[3]).toBeGreaterThan(seen[0]!);
    db.check();
    await db.close();
  });

  it('Symbol.dispose releases it at the end of a `using` scope', async () => {
    const db = await withItems(3);
    {
      using snap = db.snapshot();
      expect(snap.table(ITEMS).count()).toBe(3);
      expect(db.status().openReadViews).toBe(1);
    }
    expect(db.status().openReadViews).toBe(0);
    await db.close();
  });

  it('a snapshot refuses writes, does not block DDL, and ends with the database', async () => {
    const db = await withItems(3);
    const snap = db.snapshot();
    // The type offers reads only; a JavaScript caller reaching for a write gets ERR_READ_ONLY.
    const items = snap.table(ITEMS) as unknown as { insert(row: object): Promise<void> };
    await expect(items.insert({ id: 9, v: 9 })).rejects.toMatchObject({ code: 'ERR_READ_ONLY' });
    await db.createIndex('items', { name: 'by_tag', columns: ['tag'] });
    expect(() => snap.table(ITEMS).scanIndex('by_tag' as 'by_v')).toThrow(
      expect.objectContaining({ code: 'ERR_INDEX_NOT_VISIBLE' }),
    );
    await db.close();
    expect(snap.released).toBe(true);
    expect(() => snap.table(ITEMS)).toThrow(expect.objectContaining({ code: 'ERR_CLOSED' }));
    snap.release();
  });
});
