/**
 * The pool dump through crashes (pool-dump.ts PD1, PD2): a transaction, then a clean close that
 * writes the dump, crashed at every write and every sync. Whatever the crash leaves of the dump
 * (the base image's stale one, a half-written `.tmp`, a renamed dump whose bytes never reached
 * the disk, torn garbage), the next open loads it or ignores it, and the rows are what recovery
 * must give: the transaction whole or not at all.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { DUMP_FILE, readPoolDump } from '../../src/buffer/pool-dump.js';
import { ManualClock } from '../../src/util/clock.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { CrashHarness, EVERY_WRITE_AND_SYNC, pointsOf, type CrashSteps } from '../support/crash-harness.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';
import { TEST_PAGE_SIZE, openTestDatabase } from '../support/open.js';

const ITEMS = { name: 'items', columns: ITEMS_COLUMNS, primaryKey: ['id'], indexes: [] } as const;
const ROWS = 120;
const label = (id: number, round: number): string => `label ${id} round ${round} ${'x'.repeat(200)}`;

/** Background 'auto' on a clock only the test moves: the dump and the load are on, nothing else runs by itself. */
const clocks = new WeakMap<Database, ManualClock>();
async function openDb(vfs: Vfs): Promise<Database> {
  const clock = new ManualClock();
  const db = await openTestDatabase(vfs, { background: 'auto', clock, durability: 'full', bufferPoolDumpPct: 100 });
  clocks.set(db, clock);
  return db;
}

interface Acknowledged {
  committed: boolean;
}

describe('the pool dump survives a crash at every write and sync of a close', () => {
  it('the next open loads or ignores what is left of it, and the rows are whole', async () => {
    const harness = new CrashHarness(openDb);
    // The base: the table, a clean close and its dump, which is never synced (PD1): a process
    // crash keeps it (the OS cache survives, F11), a power cut loses it.
    const base = await harness.start(1);
    await base.engine.createTable(ITEMS);
    await base.engine
      .table('items')
      .insertMany(Array.from({ length: ROWS }, (_, i) => ({ id: i, v: i, label: label(i, 0) })));
    await base.engine.close();
    const image = base.vfs.crashNow('process-crash');
    const workload = async (db: Database, ack: Acknowledged): Promise<void> => {
      await db.transaction(async (tx) => {
        for (let id = 0; id < ROWS; id++) await tx.table('items').update(id, { label: label(id, 1) });
      });
      ack.committed = true;
      await db.close(); // flush, checkpoint, rewind, then the dump
    };
    const counts = await harness.count(image, 2, (db) => workload(db, { committed: false }));
    expect(counts.operations).toBeGreaterThan(5);
    const outcomes = { loaded: 0, ignored: 0, rounds: new Set<number>() };
    const steps: CrashSteps<Database, Acknowledged, void> = {
      progress: () => ({ committed: false }),
      workload: (db, ack) => workload(db, ack),
      verify: async (crashed, seed, ack, what) => {
        const { engine: db, vfs } = await harness.recover(crashed, seed);
        const dump = vfs.stat(DUMP_FILE) === undefined ? undefined : readPoolDump(vfs, TEST_PAGE_SIZE);
        const clock = clocks.get(db)!;
        for (let i = 0; i < 200; i++) clock.advance(1); // the load runs to its end
        const installed = db.storage.pool.stats.installed;
        if (installed > 0) outcomes.loaded++;
        else outcomes.ignored++;
        if (dump === undefined) expect(installed, `${what}: no good dump, nothing loaded`).toBe(0);
        const items = db.table('items');
        const round = items.get(0)?.label === label(0, 1) ? 1 : 0;
        if (ack.committed) expect(round, `${what}: the acknowledged commit survives`).toBe(1);
        outcomes.rounds.add(round);
        expect(items.count(), what).toBe(ROWS);
        for (let id = 0; id < ROWS; id++) expect(items.get(id)?.label, what).toBe(label(id, round));
        db.check();
        db.storage.pool.validate();
        await db.close();
      },
    };
    await harness.crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), steps);
    expect(outcomes.loaded).toBeGreaterThan(0);
    expect(outcomes.ignored).toBeGreaterThan(0);
    expect(outcomes.rounds.size).toBe(2);
  }, 300_000);
});
