/**
 * The purge lag (row-engine.ts `purgeLagLogs`, issue 16): each committed update transaction leaves
 * an update undo log, at least one undo page in the system tablespace, until purge frees it. When
 * the timers' purge cannot keep up, or never runs because the caller never yields to the event
 * loop, a commit over the lag purges a step itself, so the history list and the system tablespace
 * stay bounded however many transactions run. Structural counts only, never timing.
 */
import { describe, expect, it, vi } from 'vitest';
import { Database, PURGE_LAG_LOGS } from '../../src/api/database.js';
import { readU32 } from '../../src/page/page.js';
import { SPACE_SIZE_OFFSET } from '../../src/page/tablespace.js';
import { PURGE_LAG_RECORDS } from '../../src/row/row-engine.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

const UPDATES = 1500;

/**
 * A database whose clock never advances (no timer ever fires) with table t (id, v), v indexed
 * when `indexed`.
 */
async function openWithTable(
  background: 'auto' | 'manual',
  indexed: boolean,
): Promise<{ db: Database; t: ReturnType<Database['table']> }> {
  const db = await Database.open({
    vfs: new MemoryVfs(),
    pageSize: 4096,
    bufferPoolBytes: 256 * 4096,
    redoLogBytes: 4 << 20,
    durability: 'none',
    background,
    clock: new ManualClock(),
  });
  await db.createTable({
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'v', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: indexed ? [{ name: 'v', columns: ['v'] }] : [],
  });
  return { db, t: db.table('t') };
}

/** Runs UPDATES one-row update transactions with no timer firing. */
async function updateMany(background: 'auto' | 'manual'): Promise<{ history: number; systemPages: number }> {
  const { db, t } = await openWithTable(background, true);
  for (let id = 0; id < 100; id++) await t.insert({ id, v: id });
  let historyMax = 0;
  for (let i = 0; i < UPDATES; i++) {
    await t.update(i % 100, { v: 1000 + i });
    historyMax = Math.max(historyMax, db.engine.historyLength());
  }
  const mtr = db.storage.startMtr();
  const systemPages = readU32(mtr.getPage(0, 0), SPACE_SIZE_OFFSET);
  mtr.commit();
  db.check();
  await db.close();
  return { history: historyMax, systemPages };
}

describe('purge lag', () => {
  it('stops trying at every commit while a read view holds purge back, and resumes once it closes', async () => {
    const { db, t } = await openWithTable('auto', false);
    await t.insert({ id: 1, v: 0 });
    const snapshot = db.snapshot();
    const purgeStep = vi.spyOn(db.engine, 'purgeStep');
    const updates = PURGE_LAG_LOGS + 130;
    for (let i = 1; i <= updates; i++) await t.update(1, { v: i });
    // Over the lag from the (PURGE_LAG_LOGS + 1)th commit on: one step that purges nothing, then a pause.
    expect(db.engine.historyLength()).toBe(updates);
    expect(purgeStep.mock.calls.length).toBeLessThanOrEqual(Math.ceil((updates - PURGE_LAG_LOGS) / 64));
    expect(purgeStep.mock.calls.length).toBeGreaterThan(0);
    snapshot.release();
    for (let i = 1; i <= 96; i++) await t.update(1, { v: updates + i });
    expect(db.engine.historyLength()).toBeLessThanOrEqual(PURGE_LAG_LOGS + 1);
    db.check();
    await db.close();
  });

  it('keeps the history list and the system tablespace bounded when the timers never run', async () => {
    const bounded = await updateMany('auto');
    // Over the lag, each commit purges PURGE_LAG_RECORDS (> the one record it adds).
    expect(PURGE_LAG_RECORDS).toBeGreaterThan(1);
    expect(bounded.history).toBeLessThanOrEqual(PURGE_LAG_LOGS + 1);
    expect(bounded.systemPages).toBeLessThan(PURGE_LAG_LOGS + 200);
    // Without it (background 'manual': purge only when stepped), one undo log a transaction piles up.
    const unbounded = await updateMany('manual');
    expect(unbounded.history).toBe(UPDATES);
    expect(unbounded.systemPages).toBeGreaterThan(UPDATES);
  }, 120_000);
});
