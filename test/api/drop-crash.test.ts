/**
 * Drops in slices (dictionary.ts DD5, Storage.startSpaceDrop) stay crash-safe: a crash at every
 * write and every sync of `dropIndex` and `dropTable` leaves, after recovery, the index or table
 * whole or gone, never half; what a crash cut short is finished by the open; no page of a
 * dropped tree stays allocated; no space file stays that no table names.
 *
 * The page cleaner runs between slices (a flush and a checkpoint after each turn of the event
 * loop), so some crashes find a checkpoint past the drop's FILE_DELETE: a shortened space file
 * with no redo, which only the dictionary shows to be an orphan.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { readU32 } from '../../src/page/page.js';
import { SPACE_FREE_LEN_OFFSET, SPACE_SIZE_OFFSET, spaceIdFromFileName } from '../../src/page/tablespace.js';
import type { CrashImage } from '../../src/vfs/fault-vfs.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { CrashHarness, EVERY_WRITE_AND_SYNC, pointsOf, type CrashSteps } from '../support/crash-harness.js';
import { openTestDatabase } from '../support/open.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';

const ROWS = 900;
const ITEMS = {
  name: 'items',
  columns: ITEMS_COLUMNS,
  primaryKey: ['id'],
  indexes: [
    { name: 'by_v', columns: ['v'] },
    { name: 'by_label', columns: ['label'] },
  ],
} as const;
const OTHER = { ...ITEMS, name: 'other', indexes: [] };

const label = (id: number): string => `label ${String(id).padStart(5, '0')} ${'x'.repeat(150)}`;
const openDb = (vfs: Vfs): Promise<Database> => openTestDatabase(vfs, { poolPages: 512 });

/** Pages in use in a space: its size less its free list (space-allocator.ts A1). */
function usedPages(db: Database, spaceId: number): number {
  const pool = db.storage.pool;
  const frame = pool.fix(spaceId, 0);
  const header = pool.frames[frame]!;
  const used = readU32(header, SPACE_SIZE_OFFSET) - readU32(header, SPACE_FREE_LEN_OFFSET);
  pool.unfix(frame);
  return used;
}

function spaceFiles(db: Database): number[] {
  return db.storage.vfs
    .list('')
    .map((name) => spaceIdFromFileName(name))
    .filter((id): id is number => id !== undefined && id !== 0)
    .sort((a, b) => a - b);
}

/** Nothing a drop left: no tree to free, and a space file for each table, no other. */
function expectNothingLeft(db: Database, where: string): void {
  expect(db.engine.dictionary.droppedTrees(), where).toEqual([]);
  expect(db.engine.cleanUpPending, where).toBe(false);
  expect(spaceFiles(db), where).toEqual([...db.engine.dictionary.tables()].map((t) => t.spaceId).sort((a, b) => a - b));
}

/** Every row of `items` is there, through the clustered index and each index it still has. */
function expectItems(db: Database, where: string): void {
  const items = db.table('items');
  expect(items.count(), where).toBe(ROWS);
  expect(items.get(ROWS)?.label, where).toBe(label(ROWS));
  const indexes = db.engine.table('items').secondaries.map((s) => s.index.name);
  if (indexes.includes('by_label'))
    expect(
      [...items.scanIndex('by_label')].map((r) => r.id),
      where,
    ).toEqual(Array.from({ length: ROWS }, (_, i) => i + 1));
  if (indexes.includes('by_v')) expect(items.getByIndex('by_v', 0)?.id, where).toBe(ROWS);
}

/** The page cleaner between slices: after each event-loop turn, flush everything and checkpoint. */
function cleanerBetweenSlices(db: Database): () => void {
  let stopped = false;
  const tick = (): void => {
    if (stopped || db.isClosed) return;
    try {
      db.storage.pool.flushAll();
      db.storage.checkpoint();
    } catch {
      return; // the crash came: the VFS refuses everything now
    }
    setImmediate(tick);
  };
  setImmediate(tick);
  return () => void (stopped = true);
}

async function baseImage(): Promise<{ image: CrashImage; usedWithoutByLabel: number; itemsSpace: number }> {
  const harness = new CrashHarness(openDb);
  let usedWithoutByLabel = 0;
  let itemsSpace = 0;
  const { image } = await harness.baseImage(1, async (db) => {
    await db.createTable(ITEMS);
    await db.createTable(OTHER);
    const rows = Array.from({ length: ROWS }, (_, i) => ({ id: i + 1, v: ROWS - i - 1, label: label(i + 1) }));
    await db.transaction(async (tx) => {
      await tx.table('items').insertMany(rows);
      await tx.table('other').insertMany(rows.slice(0, 50));
    });
    itemsSpace = db.engine.table('items').record.spaceId;
  });
  // The reference: the same drop with no crash, for the pages it leaves in use.
  const reference = await harness.recover(image, 2);
  await reference.engine.dropIndex('items', 'by_label', { sliceMs: 0 });
  usedWithoutByLabel = usedPages(reference.engine, itemsSpace);
  await reference.engine.close();
  return { image, usedWithoutByLabel, itemsSpace };
}

interface Acknowledged {
  done: boolean;
}

describe('drops in slices survive a crash at every write and sync', () => {
  it('dropIndex: the index is whole or gone, its tree freed by the open, no page leaked', async () => {
    const { image, usedWithoutByLabel, itemsSpace } = await baseImage();
    const harness = new CrashHarness(openDb);
    const workload = async (db: Database, ack: Acknowledged): Promise<void> => {
      const stop = cleanerBetweenSlices(db);
      try {
        await db.dropIndex('items', 'by_label', { sliceMs: 0 });
        ack.done = true;
      } finally {
        stop();
      }
    };
    const counts = await harness.count(image, 3, (db) => workload(db, { done: false }));
    console.log(`dropIndex: ${counts.operations} operations, ${counts.syncs} syncs`);
    expect(counts.operations).toBeGreaterThan(10); // several slices, each its own writes
    const outcomes = { gone: 0, whole: 0 };
    const steps: CrashSteps<Database, Acknowledged, void> = {
      progress: () => ({ done: false }),
      workload: (db, ack) => workload(db, ack),
      verify: async (crashed, seed, ack, what) => {
        const { engine: db } = await harness.recover(crashed, seed);
        const indexes = db.engine.table('items').secondaries.map((s) => s.index.name);
        if (ack.done) expect(indexes, `${what}: an acknowledged drop stays`).toEqual(['by_v']);
        expectItems(db, what);
        expectNothingLeft(db, what);
        db.check();
        if (indexes.includes('by_label')) {
          outcomes.whole++;
          await db.dropIndex('items', 'by_label', { sliceMs: 0 });
        } else outcomes.gone++;
        expect(usedPages(db, itemsSpace), `${what}: every page of the dropped tree is free`).toBe(usedWithoutByLabel);
        expectItems(db, what);
        db.check();
        await db.close();
      },
    };
    await harness.crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), steps);
    expect(outcomes.gone).toBeGreaterThan(0);
    expect(outcomes.whole).toBeGreaterThan(0);
  }, 300_000);

  it('dropTable: the table is whole or gone, its file removed by the open, other tables untouched', async () => {
    const { image } = await baseImage();
    const harness = new CrashHarness(openDb);
    const workload = async (db: Database, ack: Acknowledged): Promise<void> => {
      const stop = cleanerBetweenSlices(db);
      try {
        await db.dropTable('items', { sliceMs: 0 });
        ack.done = true;
      } finally {
        stop();
      }
    };
    const counts = await harness.count(image, 4, (db) => workload(db, { done: false }));
    const outcomes = { gone: 0, whole: 0 };
    const steps: CrashSteps<Database, Acknowledged, void> = {
      progress: () => ({ done: false }),
      workload: (db, ack) => workload(db, ack),
      verify: async (crashed, seed, ack, what) => {
        const { engine: db } = await harness.recover(crashed, seed);
        if (ack.done) expect(db.tables, `${what}: an acknowledged drop stays`).toEqual(['other']);
        expectNothingLeft(db, what);
        expect(db.table('other').count(), what).toBe(50);
        if (db.tables.includes('items')) {
          outcomes.whole++;
          expectItems(db, what);
          db.check();
          await db.dropTable('items', { sliceMs: 0 });
          expectNothingLeft(db, `${what}, dropped again`);
        } else outcomes.gone++;
        db.check();
        await db.close();
      },
    };
    await harness.crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), steps);
    expect(outcomes.gone).toBeGreaterThan(0);
    expect(outcomes.whole).toBeGreaterThan(0);
  }, 300_000);
});
