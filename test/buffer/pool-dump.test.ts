/**
 * The buffer pool dump and load (pool-dump.ts PD1 to PD4, buffer-pool.ts B10): a clean close
 * lists the pool's pages, the next open reads them back in the background; a dump that is torn,
 * foreign or stale is ignored or harmless; the load never evicts and never installs a page of a
 * dropped space.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { DUMP_FILE, PoolLoad, loadReserve, readPoolDump, writePoolDump } from '../../src/buffer/pool-dump.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';
import { TEST_PAGE_SIZE, openTestDatabase } from '../support/open.js';

const ITEMS = { name: 'items', columns: ITEMS_COLUMNS, primaryKey: ['id'], indexes: [] } as const;
const ROWS = 600;
const label = (id: number, round = 0): string => `label ${id} round ${round} ${'x'.repeat(300)}`;

/** A database whose timers run on `clock` (background 'auto', so the dump and the load are on). */
function openAuto(vfs: Vfs, clock: ManualClock, poolPages = 256): Promise<Database> {
  return openTestDatabase(vfs, { background: 'auto', clock, poolPages, bufferPoolDumpPct: 100 });
}

async function loadItems(db: Database, round = 0): Promise<void> {
  const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, v: i, label: label(i + 1, round) }));
  if (round === 0) await db.createTable(ITEMS);
  await db.transaction(async (tx) => {
    if (round === 0) await tx.table('items').insertMany(rows);
    else for (const row of rows) await tx.table('items').update(row.id, { label: row.label });
  });
}

/** Steps the timers until the load has nothing left (its count stops moving for 200 steps). */
function runLoad(db: Database, clock: ManualClock): number {
  let installed = -1;
  while (installed !== db.storage.pool.stats.installed) {
    installed = db.storage.pool.stats.installed;
    for (let i = 0; i < 200; i++) clock.advance(1);
  }
  return installed;
}

function expectItems(db: Database, round: number): void {
  const items = db.table('items');
  expect(items.count()).toBe(ROWS);
  for (let id = 1; id <= ROWS; id += 37) expect(items.get(id)?.label).toBe(label(id, round));
  db.check();
  db.storage.pool.validate();
}

describe('the buffer pool dump and load', () => {
  it('a clean close lists the pool, and the next open reads those pages back: reads then hit', async () => {
    const vfs = new MemoryVfs();
    const db = await openAuto(vfs, new ManualClock());
    await loadItems(db);
    const resident = db.storage.pool.frameCount - db.storage.pool.freeFrames();
    await db.close();
    const listed = readPoolDump(vfs, TEST_PAGE_SIZE);
    expect(listed?.length).toBe(resident * 2);

    const clock = new ManualClock();
    const again = await openAuto(vfs, clock);
    expect(again.storage.pool.stats.installed).toBe(0); // nothing before the timers run (PD3)
    const installed = runLoad(again, clock);
    expect(installed).toBeGreaterThan(ROWS / 20);
    const misses = again.storage.pool.stats.misses;
    expectItems(again, 0);
    expect(again.storage.pool.stats.misses).toBe(misses); // every page the reads needed was loaded
    expect(again.storage.pool.stats.evictions).toBe(0);
    await again.close();
  });

  it('bufferPoolDumpPct: 0 writes no dump; a percentage lists that share, most recent first', async () => {
    const vfs = new MemoryVfs();
    const db = await openTestDatabase(vfs, { background: 'auto', clock: new ManualClock(), bufferPoolDumpPct: 0 });
    await loadItems(db);
    await db.close();
    expect(vfs.stat(DUMP_FILE)).toBeUndefined();
    await expect(openTestDatabase(vfs, { bufferPoolDumpPct: 101 })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });

    const clock = new ManualClock();
    const again = await openAuto(vfs, clock);
    expect(runLoad(again, clock)).toBe(0);
    expectItems(again, 0);
    const pool = again.storage.pool;
    const resident = pool.frameCount - pool.freeFrames();
    expect(writePoolDump(vfs, pool, 25)).toBe(Math.ceil(resident / 4));
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toEqual(pool.residentPages(Math.ceil(resident / 4)));
    await again.close();

    // The default is InnoDB's: a quarter of the pool, most recently used first.
    const byDefault = await openTestDatabase(vfs, { background: 'auto', clock: new ManualClock() });
    expectItems(byDefault, 0);
    const frames = byDefault.storage.pool;
    const listed = Math.ceil((frames.frameCount - frames.freeFrames()) / 4);
    await byDefault.close();
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)!.length).toBe(2 * listed);
  });

  it('PD2: a torn, truncated, zero-filled or foreign dump is ignored whole', async () => {
    const vfs = new MemoryVfs();
    const db = await openAuto(vfs, new ManualClock());
    await loadItems(db);
    await db.close();
    const file = vfs.open(DUMP_FILE);
    const good = new Uint8Array(file.size());
    file.read(good, 0);
    file.close();
    const put = (bytes: Uint8Array): void => {
      const f = vfs.open(DUMP_FILE, { truncate: true });
      f.write(bytes, 0);
      f.close();
    };
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toBeDefined();
    expect(readPoolDump(vfs, TEST_PAGE_SIZE * 2)).toBeUndefined(); // another page size
    const flipped = good.slice();
    flipped[40]! ^= 1;
    put(flipped);
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toBeUndefined();
    put(good.slice(0, good.length - 9));
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toBeUndefined();
    put(new Uint8Array(good.length));
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toBeUndefined();
    put(new Uint8Array(3));
    expect(readPoolDump(vfs, TEST_PAGE_SIZE)).toBeUndefined();

    const clock = new ManualClock();
    const again = await openAuto(vfs, clock);
    expect(runLoad(again, clock)).toBe(0);
    expectItems(again, 0);
    await again.close();
  });

  it('PD1: a stale dump (pages since changed, split, freed; a space since dropped) loads only what is on disk now', async () => {
    const vfs = new MemoryVfs();
    const db = await openAuto(vfs, new ManualClock());
    await loadItems(db);
    await db.createTable({ ...ITEMS, name: 'gone' });
    await db.table('gone').insertMany(Array.from({ length: 100 }, (_, i) => ({ id: i, v: i, label: label(i) })));
    await db.close();
    const stale = new Uint8Array(vfs.stat(DUMP_FILE)!.size);
    const file = vfs.open(DUMP_FILE);
    file.read(stale, 0);
    file.close();

    const changed = await openAuto(vfs, new ManualClock());
    await loadItems(changed, 1);
    await changed.table('items').delete(5);
    await changed.table('items').insert({ id: 5, v: 4, label: label(5, 1) });
    await changed.dropTable('gone');
    await changed.close();
    const put = vfs.open(DUMP_FILE, { truncate: true });
    put.write(stale, 0);
    put.close();

    // Stepped by hand: the timers' load would race purge for the same pages.
    const again = await openTestDatabase(vfs);
    const load = new PoolLoad(again.storage.pool, again.storage.spaces, readPoolDump(vfs, TEST_PAGE_SIZE)!);
    expect(load.step()).toBe(true);
    expect(load.loaded).toBeGreaterThan(0);
    expect(load.skipped).toBeGreaterThan(0); // the dropped space's pages, and those the open read
    expectItems(again, 1);
    expect(again.tables).toEqual(['items']);
    await again.close();
  });

  it('PD3: the load takes only free frames and leaves a reserve: nothing is evicted', async () => {
    const vfs = new MemoryVfs();
    const db = await openAuto(vfs, new ManualClock(), 512);
    await loadItems(db);
    await loadItems(db, 1);
    await db.close();
    const listed = readPoolDump(vfs, TEST_PAGE_SIZE)!;

    const small = await openTestDatabase(vfs, { poolPages: 96 });
    const pool = small.storage.pool;
    expect(listed.length / 2).toBeGreaterThan(pool.frameCount);
    const evictions = pool.stats.evictions;
    const load = new PoolLoad(pool, small.storage.spaces, listed);
    expect(load.step()).toBe(true);
    expect(pool.stats.evictions).toBe(evictions);
    expect(pool.freeFrames()).toBe(loadReserve(pool.frameCount));
    expect(load.loaded).toBe(pool.stats.installed);
    expect(load.loaded).toBeGreaterThan(pool.frameCount / 2);
    expectItems(small, 1);
    await small.close();
  });

  it('B10: a page of a space discarded since open is never installed, nor one already in the pool', async () => {
    const vfs = new MemoryVfs();
    const db = await openTestDatabase(vfs);
    await loadItems(db);
    const spaceId = db.engine.table('items').record.spaceId;
    const pool = db.storage.pool;
    await db.storage.pool.flushAll();
    const pairs = pool.residentPages(pool.frameCount).filter((_, i, all) => i % 2 === 0 && all[i] === spaceId);
    expect(pairs.length).toBeGreaterThan(0);
    const image = pool.frames[pool.lookup(spaceId, 0)]!.slice();
    expect(pool.installPage(spaceId, 0, image)).toBe(false); // in the pool already
    const load = new PoolLoad(pool, db.storage.spaces, Uint32Array.from([spaceId, 0, spaceId, 1]));
    db.storage.pool.discardSpace(spaceId);
    expect(pool.installPage(spaceId, 0, image)).toBe(false);
    expect(load.step()).toBe(true);
    expect(load.loaded).toBe(0);
    expect(load.skipped).toBe(2);
    expect(pool.lookup(spaceId, 0)).toBe(-1);
    db.storage.abandon();
  });

  it('PD4: a listed page that fails its check, lies past its file or names no space is skipped, never raised', async () => {
    const vfs = new MemoryVfs();
    const db = await openTestDatabase(vfs);
    await loadItems(db);
    await db.close();
    const again = await openTestDatabase(vfs);
    const pool = again.storage.pool;
    const spaceId = again.engine.table('items').record.spaceId;
    const pages = again.storage.spaces.require(spaceId).filePages();
    // Page 3 of the items space, torn on disk (not in the pool: nothing has read it since open).
    expect(pool.lookup(spaceId, 3)).toBe(-1);
    const file = vfs.open(again.storage.spaces.require(spaceId).path);
    file.write(new Uint8Array([1, 2, 3]), 3 * TEST_PAGE_SIZE + 100);
    file.close();
    const load = new PoolLoad(
      pool,
      again.storage.spaces,
      Uint32Array.from([spaceId, 3, spaceId, 4, spaceId, pages + 5, 4242, 1]),
    );
    expect(load.step()).toBe(true);
    expect(load.loaded).toBe(1); // page 4
    expect(load.skipped).toBe(3);
    expect(pool.lookup(spaceId, 3)).toBe(-1);
    expect(() => pool.fix(spaceId, 3)).toThrow(/checksum/); // the real read reports it
    again.storage.abandon();
  });
});
