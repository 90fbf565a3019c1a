/**
 * A table whose secondary index is much larger than a small buffer pool, for the change-buffer
 * tests: after a reopen (the pool starts empty) almost every leaf of `by_v` is out of the pool, so
 * changes to it are buffered.
 */
import { Database, type DatabaseOptions } from '../../src/api/database.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { ManualClock } from '../../src/util/clock.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import type { Vfs } from '../../src/vfs/vfs.js';

export const PAGE_SIZE = 4096;
/** The smallest pool (64 pages). */
export const POOL_BYTES = 64 * PAGE_SIZE;

export interface ItemRow {
  [column: string]: number | string;
  id: number;
  v: number;
  w: number;
  pad: string;
}

/** `by_v` and `by_w` are non-unique (buffered); `by_u` is unique (never buffered). */
export const ITEMS: TableSchema = {
  name: 'items',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'v', type: 'int32' },
    { name: 'w', type: 'int32' },
    { name: 'pad', type: 'string' },
  ],
  primaryKey: ['id'],
  indexes: [
    { name: 'by_v', columns: ['v'] },
    { name: 'by_w', columns: ['w', 'pad'] },
    { name: 'by_u', columns: ['id', 'v'], unique: true },
  ],
};

/** Row `id` of the initial load: v and w scatter over the index, pad makes the entries fat. */
export function itemRow(id: number, v = (id * 7919) % 100_003, w = (id * 104_729) % 1_009): ItemRow {
  return { id, v, w, pad: `p${'x'.repeat(40 + (id % 23))}` };
}

export function openItems(vfs: Vfs, options: Partial<DatabaseOptions> = {}): Promise<Database> {
  return Database.open({
    vfs,
    pageSize: PAGE_SIZE,
    bufferPoolBytes: POOL_BYTES,
    redoLogBytes: 1 << 20,
    background: 'manual',
    clock: new ManualClock(),
    changeBuffering: 'all',
    ...options,
  });
}

/** Creates the table and loads `rows` rows in batches, then closes the database. */
export async function loadItems(vfs: Vfs, rows: number, options: Partial<DatabaseOptions> = {}): Promise<void> {
  const db = await openItems(vfs, options);
  await db.createTable(ITEMS);
  for (let first = 1; first <= rows; first += 200) {
    const batch: ItemRow[] = [];
    for (let id = first; id < first + 200 && id <= rows; id++) batch.push(itemRow(id));
    await db.table<ItemRow>('items').insertMany(batch);
  }
  await db.close();
}

const images = new Map<number, Promise<CrashImage>>();

/**
 * A database holding the table loaded with `rows` rows, closed cleanly: a fresh copy of the same
 * image per call (loaded once per test file), so each test starts with an empty pool.
 */
export async function loadedItems(rows: number): Promise<FaultVfs> {
  let image = images.get(rows);
  if (image === undefined) {
    image = (async () => {
      const vfs = new FaultVfs({ seed: rows });
      await loadItems(vfs, rows);
      return vfs.durableImage();
    })();
    images.set(rows, image);
  }
  return FaultVfs.fromImage(await image, { seed: rows });
}
