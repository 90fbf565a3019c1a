/**
 * The change buffer and row locks: a locking read through a secondary index sees the buffered
 * changes (its read merges them before it locks), and while a gap-covering lock exists in an index
 * an insert into it is not buffered (lock_update_insert needs the page: the `admits` gate of
 * row-engine.ts), so the gap locks still follow the gaps (IW2 of row/index-write.ts).
 */
import { describe, expect, it } from 'vitest';
import { type ItemRow, itemRow, loadedItems, openItems } from './fixture.js';

const ROWS = 1600;
const V = 100_500; // above every v of the load: the entries below go to the last leaves of by_v

describe('the change buffer and row locks', () => {
  it('a SERIALIZABLE scan through the index sees buffered inserts and locks them; inserts wait, or go to the page while gap locks exist', async () => {
    const vfs = await loadedItems(ROWS);
    const db = await openItems(vfs);
    db.mergeChangeBuffer(); // what the load left buffered
    const items = db.table<ItemRow>('items');
    for (let i = 0; i < 10; i++) await items.insert(itemRow(ROWS + 1 + i, V + 2 * i));
    const afterInserts = db.status().changeBuffer;
    expect(afterInserts.buffered.insert).toBeGreaterThan(0);
    expect(afterInserts.refused.locks).toBe(0);

    const reader = db.begin({ isolation: 'serializable' });
    const seen = [...reader.table<ItemRow>('items').scanIndex('by_v', { gte: V, lte: V + 18 })];
    expect(seen.map((row) => row.v)).toEqual([...Array(10).keys()].map((i) => V + 2 * i));

    // Inside the locked range: the insert waits for the reader's next-key locks.
    const writer = db.begin();
    let inserted = false;
    const blocked = writer
      .table<ItemRow>('items')
      .insert(itemRow(ROWS + 20, V + 5))
      .then(() => {
        inserted = true;
      });
    await new Promise((resolve) => setImmediate(resolve));
    expect(inserted).toBe(false);

    // Elsewhere in by_v, on a leaf out of the pool: no wait, but not buffered either (a gap lock
    // exists in the index, so lock_update_insert must look at the page).
    const refused = db.status().changeBuffer.refused.locks;
    await db.table<ItemRow>('items').insert(itemRow(ROWS + 21, 17));
    expect(db.status().changeBuffer.refused.locks).toBeGreaterThan(refused);
    db.engine.locks.validate();

    await reader.commit();
    await blocked;
    await writer.commit();
    const vs = [...items.scanIndex('by_v', { gte: V, lte: V + 18 })].map((row) => row.v);
    expect(vs).toEqual([...[...Array(10).keys()].map((i) => V + 2 * i), V + 5].sort((a, b) => a - b));
    expect(items.getByIndex('by_v', 17)?.id).toBe(ROWS + 21);
    db.check();
    await db.close();
  });
});
