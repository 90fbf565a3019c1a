/**
 * log_free_check for the asynchronous API (core/storage.ts `waitForLogRoom`, issue 11): in
 * background 'auto' mode, `db.transaction()` that finds the log more than three quarters full
 * waits, the event loop turning, while the oldest pages are flushed, and runs its function with
 * room in the log, instead of flushing in the middle of it. 'manual' mode keeps the old behaviour
 * (nothing flushes by itself until the log is full: C1), which gives the test its teeth.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { debugChecks, setDebugChecks } from '../../src/util/assert.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';

const ITEMS = { name: 'items', columns: ITEMS_COLUMNS, primaryKey: ['id'] } as const;
const LOG_BYTES = 256 * 1024;

/** Checkpoint age over the usable log (a quarter of the capacity is the mtr reserve). */
function logAge(db: Database): number {
  const { lsn, checkpointLsn } = db.status();
  return (lsn - checkpointLsn) / ((LOG_BYTES * 3) / 4);
}

async function fillLog(background: 'auto' | 'manual'): Promise<{ ageBefore: number; ageInside: number }> {
  // A manual clock: the page cleaner's timers never fire, so only the wait can flush.
  const db = await Database.open({
    vfs: new MemoryVfs(),
    background,
    clock: new ManualClock(),
    redoLogBytes: LOG_BYTES,
    pageSize: 4096,
  });
  await db.createTable(ITEMS);
  let id = 0;
  const checks = debugChecks();
  setDebugChecks(false); // the fill only: the engine's own checks run per mtr
  try {
    while (logAge(db) < 0.8) {
      // begin/commit: no wait before the work, so the log fills past the mark.
      const tx = db.begin({ durability: 'none' });
      for (let i = 0; i < 50; i++, id++) tx.table(ITEMS).insert({ id, v: id, label: `row ${id} `.repeat(8) });
      await tx.commit();
    }
  } finally {
    setDebugChecks(checks);
  }
  const ageBefore = logAge(db);
  let ageInside = Number.NaN;
  await db.transaction((tx) => {
    ageInside = logAge(db);
    tx.table(ITEMS).insert({ id: -1, v: 0, label: 'after the wait' });
  });
  expect(db.table(ITEMS).get(-1)?.label).toBe('after the wait');
  expect(db.table(ITEMS).count()).toBe(id + 1);
  db.check();
  await db.close();
  return { ageBefore, ageInside };
}

describe('an asynchronous write waits for room in the log', () => {
  it("background 'auto': the transaction's function runs once the oldest pages are flushed", async () => {
    const { ageBefore, ageInside } = await fillLog('auto');
    expect(ageBefore).toBeGreaterThan(0.75);
    expect(ageInside).toBeLessThanOrEqual(0.75);
  });

  it("background 'manual': no wait, the log stays as full as it was", async () => {
    const { ageBefore, ageInside } = await fillLog('manual');
    expect(ageInside).toBe(ageBefore);
    expect(ageInside).toBeGreaterThan(0.75);
  });
});
