/**
 * The change buffer and read-only opens (change-buffer.ts, "Read-only opens"): a merge writes
 * pages, so a database with buffered changes is refused read-only (ERR_RECOVERY_NEEDED) until a
 * read-write open merges them (`db.mergeChangeBuffer()`, or the background drain with buffering
 * off); an empty change buffer changes nothing for a read-only open.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { MinnoError } from '../../src/errors.js';
import { type ItemRow, itemRow, loadedItems, openItems } from './fixture.js';

const ROWS = 1600;

/** Inserts rows `from`..`from + count - 1` and moves `count` old rows in both indexes: buffered. */
async function bufferSome(db: Database, from: number, count: number): Promise<void> {
  const items = db.table<ItemRow>('items');
  for (let i = 0; i < count; i++) {
    await items.insert(itemRow(from + i));
    await items.update(1 + ((i * 37) % ROWS), { v: 100_100 + i, w: 1_010 + i });
  }
}

async function refusal(open: () => Promise<Database>): Promise<MinnoError | undefined> {
  try {
    await (await open()).close();
  } catch (error) {
    return error as MinnoError;
  }
  return undefined;
}

describe('the change buffer and read-only opens', () => {
  it('refuses a read-only open while changes are buffered, and opens once mergeChangeBuffer() emptied it', async () => {
    const vfs = await loadedItems(ROWS);
    let db = await openItems(vfs);
    db.mergeChangeBuffer(); // what the load left buffered
    await bufferSome(db, ROWS + 1, 100);
    const buffered = db.status().changeBuffer;
    const records = Object.values(buffered.records).reduce((a, b) => a + b, 0);
    expect(records).toBeGreaterThan(0);
    const rows = [...db.table<ItemRow>('items').scan()];
    await db.close();

    const error = await refusal(() => openItems(vfs, { readOnly: true }));
    expect(error?.code).toBe('ERR_RECOVERY_NEEDED');
    expect(error?.message).toContain(`${records} buffered secondary-index change(s)`);
    expect(error?.message).toContain('mergeChangeBuffer()');

    // The cure, in a read-write open with buffering off (the default): nothing buffered since.
    db = await openItems(vfs, { changeBuffering: 'none' });
    expect(db.mergeChangeBuffer()).toBe(buffered.pages);
    expect(db.status().changeBuffer).toMatchObject({ pages: 0, sizeBytes: 0 });
    await db.close();

    db = await openItems(vfs, { readOnly: true });
    const items = db.table<ItemRow>('items');
    expect([...items.scan()]).toEqual(rows);
    const byV = [...rows].sort((a, b) => a.v - b.v || a.id - b.id).map((row) => row.id);
    expect([...items.scanIndex('by_v')].map((row) => row.id)).toEqual(byV);
    expect(db.check().rows).toBe(ROWS + 100);
    expect(() => db.mergeChangeBuffer()).toThrow(expect.objectContaining({ code: 'ERR_READ_ONLY' }));
    await db.close();
  });

  it("with changeBuffering 'none' the background drains what an earlier open buffered", async () => {
    const vfs = await loadedItems(ROWS);
    let db = await openItems(vfs);
    await bufferSome(db, ROWS + 1, 60);
    await db.close();
    db = await openItems(vfs, { changeBuffering: 'none' });
    const pages = db.status().changeBuffer.pages;
    expect(pages).toBeGreaterThan(0);
    let steps = 0;
    while (db.status().changeBuffer.pages > 0 && steps < 10 * pages) {
      db.runBackgroundWork();
      steps++;
    }
    expect(db.status().changeBuffer).toMatchObject({ pages: 0, sizeBytes: 0 });
    expect(steps).toBeLessThanOrEqual(pages); // at least a page per step
    db.check();
    await db.close();
    await (await openItems(vfs, { readOnly: true })).close();
  });
});
