/**
 * The change buffer (src/ibuf/change-buffer.ts) through the table API: what it buffers and what it
 * refuses, that every kind of read sees what it buffered (reads merge), the modes, the cap, index
 * and table drops, the background merge, and `check()` before and after.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { PageSummaries } from '../../src/ibuf/ibuf-page-summary.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { ITEMS, type ItemRow, itemRow, loadedItems, openItems } from './fixture.js';

const ROWS = 1600;

/** The rows of the table, by id: the model every read is compared with. */
function modelOf(rows: number): Map<number, ItemRow> {
  const model = new Map<number, ItemRow>();
  for (let id = 1; id <= rows; id++) model.set(id, itemRow(id));
  return model;
}

/** Inserts, index-moving updates and deletes spread over the table, applied to the model too. */
async function churn(db: Database, model: Map<number, ItemRow>, from: number, count: number): Promise<void> {
  const items = db.table<ItemRow>('items');
  for (let i = 0; i < count; i++) {
    const id = from + i;
    const row = itemRow(id);
    await items.insert(row);
    model.set(id, row);
    const target = 1 + ((id * 37) % (from - 1));
    if (!model.has(target)) continue;
    if (i % 3 === 0) {
      await items.delete(target);
      model.delete(target);
    } else {
      const changes = { v: (id * 13) % 100_003, w: id % 1_009 };
      await items.update(target, changes);
      model.set(target, { ...model.get(target)!, ...changes });
    }
  }
}

function byIndex(model: Map<number, ItemRow>, column: 'v' | 'w'): number[] {
  return [...model.values()]
    .sort(
      (a, b) =>
        a[column] - b[column] || (column === 'w' ? (a.pad < b.pad ? -1 : a.pad > b.pad ? 1 : 0) : 0) || a.id - b.id,
    )
    .map((row) => row.id);
}

function expectReadsMatch(db: Database, model: Map<number, ItemRow>): void {
  const items = db.table<ItemRow>('items');
  expect([...items.scanIndex('by_v')].map((r) => r.id)).toEqual(byIndex(model, 'v'));
  expect([...items.scanIndex('by_w')].map((r) => r.id)).toEqual(byIndex(model, 'w'));
  for (const id of [1, 2, 3, 500, 1200, ROWS - 1]) {
    const row = model.get(id);
    if (row !== undefined) expect(items.getByIndex('by_v', row.v)?.v).toBe(row.v);
  }
}

/**
 * IB10: the per-page summaries the IB3/IB4 checks use equal a recount (validate passes), and a
 * summary that drifted from its page's records is caught (validate has teeth); then restored.
 */
function expectSummariesChecked(db: Database): void {
  const ibuf = db.engine.changeBuffer;
  ibuf.validate();
  const summaries = Reflect.get(ibuf, 'summaries') as PageSummaries;
  const cached = [...summaries.cached()].find((c) => c.summary.present !== undefined);
  expect(cached, 'a removal was checked against a page with buffered records').toBeDefined();
  cached!.summary.records++;
  expect(() => ibuf.validate()).toThrow(/IB10/);
  cached!.summary.records--;
  ibuf.validate();
}

describe('the change buffer', () => {
  it('buffers changes to leaves out of the pool, and every read sees them', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    const model = modelOf(ROWS);
    // A snapshot taken before the changes: MVCC reads through the index must not see them.
    const before = db.begin({ isolation: 'repeatable-read' });
    const snapshot = [...before.table<ItemRow>('items').scanIndex('by_v', { limit: 1 })];
    await churn(db, model, ROWS + 1, 200);
    const status = db.status().changeBuffer;
    expect(status.buffered.insert).toBeGreaterThan(100);
    expect(status.buffered.deleteMark).toBeGreaterThan(50);
    expect(status.records.insert + status.records.deleteMark).toBeGreaterThan(0);
    expect(status.sizeBytes).toBeGreaterThan(0);
    // The old snapshot reads through the secondary index as of before the churn.
    const old = [...before.table<ItemRow>('items').scanIndex('by_v')];
    expect(old.length).toBe(ROWS);
    expect(old[0]).toEqual(snapshot[0]);
    await before.commit();
    // Purge removes the old entries: buffered too when their pages are out of the pool.
    await churn(db, model, ROWS + 201, 60);
    db.purge();
    expect(db.status().changeBuffer.buffered.purge).toBeGreaterThan(0);
    expectSummariesChecked(db);
    // Locking reads, point reads and scans through both indexes see every buffered change.
    const locked = db.begin();
    let n = 0;
    for await (const row of locked.table<ItemRow>('items').scanForUpdate({ gte: 1, lte: 50 })) {
      expect(row).toEqual(model.get(row.id));
      n++;
    }
    expect(n).toBe([...model.keys()].filter((id) => id <= 50).length);
    await locked.commit();
    expectReadsMatch(db, model);
    expect(db.status().changeBuffer.merges).toBeGreaterThan(0);
    db.check();
    await db.close();
  });

  it('check() proves SEC=CLUST with the buffered changes merged, and leaves the buffer empty of them', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    const model = modelOf(ROWS);
    await churn(db, model, ROWS + 1, 200);
    expect(db.status().changeBuffer.pages).toBeGreaterThan(0);
    db.check();
    expect(db.status().changeBuffer).toMatchObject({ pages: 0, sizeBytes: 0 });
    expectReadsMatch(db, model);
    await db.close();
  });

  it('survives a clean close and reopen with changes still buffered', async () => {
    const vfs = await loadedItems(ROWS);
    let db = await openItems(vfs);
    const model = modelOf(ROWS);
    await churn(db, model, ROWS + 1, 200);
    const pending = db.status().changeBuffer;
    expect(pending.pages).toBeGreaterThan(0);
    await db.close();
    db = await openItems(vfs);
    expect(db.status().changeBuffer).toMatchObject({ pages: pending.pages, sizeBytes: pending.sizeBytes });
    expectReadsMatch(db, model);
    db.check();
    await db.close();
  });

  it('merges in bounded background steps until it is empty', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    db.engine.changeBuffer.mergeAll(); // what the load left buffered
    await churn(db, modelOf(ROWS), ROWS + 1, 60);
    db.purge();
    const pages = db.status().changeBuffer.pages;
    expect(pages).toBeGreaterThan(8);
    // Below half its cap the background merges nothing (pages are merged when they are read).
    expect(db.status().changeBuffer.sizeBytes).toBeLessThan(db.status().changeBuffer.maxBytes / 2);
    expect(db.runBackgroundWork().changeBuffer.merged).toBe(0);
    const step = db.engine.changeBufferStep(4);
    expect(step.merged).toBe(4);
    expect(db.status().changeBuffer.pages).toBe(pages - step.merged);
    for (let i = 0; i < 1000 && db.status().changeBuffer.pages > 0; i++) db.engine.changeBufferStep(4);
    expect(db.status().changeBuffer).toMatchObject({ pages: 0, sizeBytes: 0 });
    db.check();
    await db.close();
  });

  it('never buffers a unique index, nor a page in the pool', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    const items = db.table<ItemRow>('items');
    // Everything by_u holds is read into the pool by this scan; by_v and by_w stay out.
    expect([...items.scanIndex('by_u')].length).toBe(ROWS);
    const before = db.status().changeBuffer.buffered;
    for (let id = ROWS + 1; id <= ROWS + 50; id++) await items.insert(itemRow(id));
    const after = db.status().changeBuffer.buffered;
    // Three indexes, 50 inserts: at most the two non-unique ones were buffered.
    expect(after.insert - before.insert).toBeGreaterThan(0);
    expect(after.insert - before.insert).toBeLessThanOrEqual(100);
    // The unique index holds every new row right away (it is never buffered).
    db.engine.changeBuffer.validate();
    await db.close();
  });

  it("with 'inserts' buffers inserts only; with 'none' nothing, and the next open with buffering starts from cleared bitmaps", async () => {
    const vfs = await loadedItems(ROWS);
    let db = await openItems(vfs, { changeBuffering: 'inserts' });
    const model = modelOf(ROWS);
    await churn(db, model, ROWS + 1, 150);
    let status = db.status().changeBuffer;
    expect(status.mode).toBe('inserts');
    expect(status.buffered.insert).toBeGreaterThan(0);
    expect(status.buffered.deleteMark + status.buffered.purge).toBe(0);
    await db.close();
    // 'none': nothing is buffered, what was buffered before still merges on read.
    db = await openItems(vfs, { changeBuffering: 'none' });
    await churn(db, model, ROWS + 151, 20);
    status = db.status().changeBuffer;
    expect(Object.values(status.buffered).every((n) => n === 0)).toBe(true);
    expect(status.pages).toBeGreaterThan(0); // some pages kept what 'inserts' buffered for them
    await db.close();
    // Back to 'all': the classes of pages without buffered changes were cleared (pages that filled
    // up under 'none' must not be trusted); those of pages with buffered changes still hold (IB3).
    db = await openItems(vfs, { changeBuffering: 'all' });
    db.engine.changeBuffer.validate();
    await churn(db, model, ROWS + 171, 150);
    expectReadsMatch(db, model);
    db.check();
    await db.close();
  });

  it('stops buffering at its cap', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    const model = modelOf(ROWS);
    await churn(db, model, ROWS + 1, 600);
    const status = db.status().changeBuffer;
    expect(status.refused.full).toBeGreaterThan(0);
    expect(status.sizeBytes).toBeLessThanOrEqual(status.maxBytes);
    expect(status.maxBytes).toBe(64 * 4096 * 0.25);
    expectReadsMatch(db, model);
    await db.close();
  });

  it('discards the buffered changes of a dropped index and of a dropped table', async () => {
    const vfs = await loadedItems(ROWS);
    let db = await openItems(vfs);
    const model = modelOf(ROWS);
    await churn(db, model, ROWS + 1, 200);
    const before = db.status().changeBuffer;
    await db.dropIndex('items', 'by_w');
    const after = db.status().changeBuffer;
    expect(after.sizeBytes).toBeLessThan(before.sizeBytes);
    expect(Object.values(after.discarded).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
    db.engine.changeBuffer.validate();
    expect([...db.table<ItemRow>('items').scanIndex('by_v')].map((r) => r.id)).toEqual(byIndex(model, 'v'));
    // A second table, whose changes are buffered too; dropping it leaves none of them.
    await db.createTable({ ...ITEMS, name: 'other' });
    await db.close();
    db = await openItems(vfs);
    await db.table<ItemRow>('other').insertMany([...Array(1500).keys()].map((i) => itemRow(i + 1)));
    await db.close();
    db = await openItems(vfs);
    for (let id = 1501; id <= 1700; id++) await db.table<ItemRow>('other').insert(itemRow(id));
    expect(db.status().changeBuffer.sizeBytes).toBeGreaterThan(0);
    await db.dropTable('other');
    db.engine.changeBuffer.validate();
    db.check();
    expect(db.status().changeBuffer.sizeBytes).toBe(0);
    await db.close();
  });

  it('rolls back buffered changes like any other', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    const model = modelOf(ROWS);
    const tx = db.begin();
    const items = tx.table<ItemRow>('items');
    for (let id = ROWS + 1; id <= ROWS + 100; id++) await items.insert(itemRow(id));
    for (let id = 1; id <= 100; id += 2) await items.update(id, { v: id + 1, w: 7 });
    for (let id = 2; id <= 100; id += 2) await items.delete(id);
    expect(db.status().changeBuffer.buffered.insert).toBeGreaterThan(0);
    await tx.rollback();
    db.purge();
    expectReadsMatch(db, model);
    db.check();
    await db.close();
  });
});

describe('changeBuffering option', () => {
  it('rejects an unknown value with a typed error at open', async () => {
    await expect(openItems(new MemoryVfs(), { changeBuffering: 'some' as never })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
