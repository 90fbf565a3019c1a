/**
 * The event loop keeps turning through the engine's long operations (issue 11): dropping an index
 * and a table, the page cleaner's checkpoint flushes under a write load, purge of many deleted
 * rows, and recovery (redo apply and the rollback of a transaction the crash left active).
 *
 * Each test measures the largest gap between the ticks of a 10 ms interval timer while its
 * operation runs and prints it. Sizes: MINNO_LONG_ROWS rows (default 3,000; issue 11 asks for
 * 1,000,000 — on disk from 100,000 rows up):
 *
 *     MINNO_LONG_ROWS=1000000 npx vitest run test/api/long-operations.test.ts
 *
 * The assertions are about structure, never durations: the work ran in more than one slice, and
 * a timer or an I/O callback ran between two of them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Database, type DatabaseOptions, openDatabaseWithTestSeams } from '../../src/api/database.js';
import { debugChecks, setDebugChecks } from '../../src/util/assert.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';

const ROWS = Number(process.env.MINNO_LONG_ROWS ?? 3_000);
const ON_DISK = ROWS >= 100_000 || process.env.MINNO_LONG_DISK === '1';
const BATCH = 10_000;

const ITEMS = {
  name: 'items',
  columns: ITEMS_COLUMNS,
  primaryKey: ['id'],
  indexes: [{ name: 'by_v', columns: ['v'] }],
} as const;

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Where a test's database lives: a temporary directory (large runs) or memory. */
function place(): Pick<DatabaseOptions, 'path' | 'vfs'> {
  if (!ON_DISK) return { vfs: new MemoryVfs() };
  const dir = mkdtempSync(join(tmpdir(), 'minno-long-'));
  dirs.push(dir);
  return { path: join(dir, 'db') };
}

interface Gaps {
  /** The largest wall-clock gap between ticks: what an application waits (inflated on a busy machine). */
  largestGap: number;
  /** The largest CPU time the process used between two ticks: the engine's work, whatever the load. */
  largestCpuGap: number;
  ticks: number;
  ms: number;
}

/** The largest gaps between 10 ms timer ticks from `watch()` to `stop()`, edges included. */
function watch(): { stop(): Gaps } {
  const cpuMs = (): number => {
    const { user, system } = process.cpuUsage();
    return (user + system) / 1000;
  };
  const started = { wall: performance.now(), cpu: cpuMs() };
  const ticks: { wall: number; cpu: number }[] = [];
  const timer = setInterval(() => ticks.push({ wall: performance.now(), cpu: cpuMs() }), 10);
  return {
    stop() {
      const ended = { wall: performance.now(), cpu: cpuMs() };
      clearInterval(timer);
      let largestGap = 0;
      let largestCpuGap = 0;
      let last = started;
      for (const t of [...ticks, ended]) {
        largestGap = Math.max(largestGap, t.wall - last.wall);
        largestCpuGap = Math.max(largestCpuGap, t.cpu - last.cpu);
        last = t;
      }
      return { largestGap, largestCpuGap, ticks: ticks.length, ms: ended.wall - started.wall };
    },
  };
}

function report(what: string, measured: Gaps, extra = ''): void {
  console.log(
    `${what} (${ROWS} rows${ON_DISK ? ', on disk' : ''}): ${measured.ms.toFixed(0)} ms, ${measured.ticks} ticks, ` +
      `largest gap between ticks ${measured.largestGap.toFixed(1)} ms (CPU ${measured.largestCpuGap.toFixed(1)} ms)${extra}`,
  );
}

async function withoutDebugChecks<T>(fn: () => Promise<T>): Promise<T> {
  const was = debugChecks();
  setDebugChecks(false);
  try {
    return await fn();
  } finally {
    setDebugChecks(was);
  }
}

function rows(from: number, to: number): { id: number; v: number; label: string }[] {
  const out: { id: number; v: number; label: string }[] = [];
  for (let id = from; id <= to; id++) out.push({ id, v: ROWS - id, label: `row ${id}` });
  return out;
}

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Rows 1..n in transactions of `batch` (durability 'none'), the event loop turning between them. */
async function load(db: Database, n: number, batch = BATCH): Promise<void> {
  for (let from = 1; from <= n; from += batch) {
    const chunk = rows(from, Math.min(n, from + batch - 1));
    await db.transaction((tx) => tx.table(ITEMS).insertMany(chunk), { durability: 'none' });
    await nextTurn();
  }
}

async function loaded(options: Partial<DatabaseOptions> = {}): Promise<Database> {
  const db = await Database.open({ background: 'manual', ...place(), ...options });
  await db.createTable(ITEMS);
  await withoutDebugChecks(() => load(db, ROWS));
  return db;
}

/**
 * Counts the slices of a sliced operation from the outside: a `setImmediate` chain ticks once per
 * event-loop turn, so a one-pass operation lets it tick at most once.
 */
function turns(): { stop(): number } {
  let count = 0;
  let stopped = false;
  const next = (): void => {
    if (stopped) return;
    count++;
    setImmediate(next);
  };
  setImmediate(next);
  return {
    stop() {
      stopped = true;
      return count;
    },
  };
}

/** Large runs let the timers' background work run (background 'auto'), as an application does. */
const BACKGROUND = ON_DISK ? 'auto' : 'manual';

/**
 * Waits until `finished`: large runs leave it to the timers' background slices; small ones step
 * `runBackgroundWork` (a fixed budget per step) with the event loop turning in between, and
 * return the steps taken.
 */
async function drain(db: Database, finished: () => boolean): Promise<number> {
  let steps = 0;
  await withoutDebugChecks(async () => {
    while (!finished()) {
      if (BACKGROUND === 'auto') await new Promise((resolve) => setTimeout(resolve, 20));
      else db.runBackgroundWork();
      steps++;
      await nextTurn();
    }
  });
  return steps;
}

describe('long operations give the event loop back', () => {
  it('dropIndex and dropTable', { timeout: 30 * 60_000 }, async () => {
    const db = await loaded();
    db.storage.pool.flushAll();
    const readsBefore = db.table(ITEMS).get(7);
    let loop = watch();
    let turning = turns();
    await withoutDebugChecks(() => db.dropIndex('items', 'by_v'));
    let measured = loop.stop();
    report('dropIndex', measured, `, ${turning.stop()} event-loop turns`);
    expect(db.table(ITEMS).get(7)).toEqual(readsBefore);
    db.check();
    loop = watch();
    turning = turns();
    // Small runs drop a step per slice (a file shorter than one 16 MiB step: FILE_DELETE and the
    // shrink, then the removal), so the slicing shows whatever the machine's speed.
    await withoutDebugChecks(() => db.dropTable('items', ON_DISK ? {} : { sliceMs: 0 }));
    measured = loop.stop();
    const dropTurns = turning.stop();
    report('dropTable', measured, `, ${dropTurns} event-loop turns`);
    expect(dropTurns).toBeGreaterThanOrEqual(ON_DISK ? 0 : 1);
    expect(db.tables).toEqual([]);
    db.check();
    await db.close();
  });

  it('checkpoint flushes under a write load', { timeout: 30 * 60_000 }, async () => {
    const db = await Database.open({ background: 'auto', ...place() });
    await db.createTable(ITEMS);
    const loop = watch();
    // Small transactions, so what the timer waits for is the engine's background work and the
    // flushes a full log forces, not one huge statement.
    await withoutDebugChecks(() => load(db, ROWS, 500));
    const measured = loop.stop();
    report('write load with checkpoint flushes', measured, `, checkpoint LSN ${db.status().checkpointLsn}`);
    db.check();
    await db.close();
  });

  it('purge of deleted rows', { timeout: 30 * 60_000 }, async () => {
    const db = await loaded({ background: BACKGROUND });
    for (let from = 1; from <= ROWS; from += BATCH) {
      const to = Math.min(ROWS, from + BATCH - 1);
      await withoutDebugChecks(() =>
        db.transaction(
          (tx) => {
            const t = tx.table(ITEMS);
            for (let id = from; id <= to; id += 2) t.delete(id);
          },
          { durability: 'none' },
        ),
      );
    }
    const loop = watch();
    const steps = await drain(db, () => db.status().historyLength === 0);
    const measured = loop.stop();
    report('purge', measured, `, ${BACKGROUND} background, ${steps} waits or steps`);
    expect(steps).toBeGreaterThan(1);
    expect(db.table(ITEMS).count()).toBe(Math.floor(ROWS / 2));
    db.check();
    await db.close();
  });

  it('recovery: redo apply and the rollback of a transaction left active', { timeout: 30 * 60_000 }, async () => {
    const where = place();
    const db = await loaded({ ...where, redoLogBytes: 256 << 20, bufferPoolBytes: 256 << 20 });
    // A transaction the crash leaves active, its redo durable: recovery must roll it back.
    const open = db.begin({ durability: 'none' });
    await withoutDebugChecks(() =>
      open.table(ITEMS).insertMany(rows(ROWS + 1, ROWS + Math.max(2_500, Math.ceil(ROWS / 10)))),
    );
    await db.transaction((tx) => tx.table(ITEMS).update(1, { label: 'durable' }), { durability: 'full' });
    const redo = db.status().lsn - db.status().checkpointLsn;
    db.abandon();
    let progress = 0;
    const loop = watch();
    const turning = turns();
    // Small runs yield at every look at the clock (a test seam), so the slicing shows.
    const again = await withoutDebugChecks(() =>
      openDatabaseWithTestSeams(
        { ...where, background: BACKGROUND, onRecoveryProgress: () => progress++ },
        ON_DISK ? {} : { storage: { recoverySliceMs: 0 } },
      ),
    );
    const opened = loop.stop();
    const openTurns = turning.stop();
    report('recovery (open)', opened, `, ${(redo / 1e6).toFixed(1)} MB of redo, ${openTurns} event-loop turns`);
    expect(progress).toBeGreaterThan(1);
    expect(openTurns).toBeGreaterThan(progress / 2); // the loop turned between pages
    expect(again.status().activeTransactions).toBe(1);
    const rollback = watch();
    const steps = await drain(again, () => again.status().activeTransactions === 0);
    report(
      'recovery (rollback of the active transaction)',
      rollback.stop(),
      `, ${BACKGROUND} background, ${steps} waits or steps`,
    );
    expect(steps).toBeGreaterThan(1); // bounded steps: 1,000 undo records each
    expect(again.table(ITEMS).count()).toBe(ROWS);
    expect(again.table(ITEMS).get(1)?.label).toBe('durable');
    again.check();
    await again.close();
  });
});
