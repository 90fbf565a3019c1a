/**
 * The simulator's target for the storage core (`src/core/storage.ts`): how to open it on a fault
 * VFS, its background actions, and its protocol oracle.
 *
 * The engine runs with `background: 'auto'` on a `ManualClock`, so the engine's own timers (page
 * cleaner every 100 ms, log tick every second) fire when the scheduler moves the clock, and the
 * scheduler can also step each action directly at seeded moments (DESIGN: every background task
 * can be paused, stepped and resumed).
 *
 * The WAL oracle (fault-models.md: "on every page write check page LSN <= durable redo LSN", what
 * SQLite's journal-test VFS does for its journal) sits on every tablespace write and reports, never
 * throws: the engine must behave exactly as without it.
 */
import { type Storage, openStorageWithTestSeams, type StorageTestSeams } from '../src/core/storage.js';
import { readU64 } from '../src/page/page.js';
import { ManualClock } from '../src/util/clock.js';
import type { FaultVfs } from '../src/vfs/fault-vfs.js';
import {
  STORAGE_SEAM_NAMES,
  type BackgroundResult,
  type PoolCounters,
  type SimConfig,
  type SimSeams,
  type SimTarget,
  type Violation,
} from './workload.js';

/** The engine handle the storage-core workload drives. */
export interface CoreEngine {
  readonly storage: Storage;
  readonly clock: ManualClock;
  /** Clock time at open: the log tick timer fires every LOG_TICK_MS from here. */
  readonly openedAtMs: number;
}

/** `Storage`'s once-a-second log tick (LOG_TICK_MS in src/core/storage.ts). */
const LOG_TICK_MS = 1000;
const PAGE_LSN_OFFSET = 16; // FIL_PAGE_LSN, page.ts

/**
 * Runs the once-a-second log tick; true only when it left everything logged before it durable.
 * A poisoned log's tick syncs nothing (L4), and the ledger must not count it as a sync.
 */
export function tickSynced(storage: Storage): boolean {
  const lsn = storage.log.currentLsn;
  storage.log.tick();
  return storage.health.isOpen && storage.log.durableLsn >= lsn;
}

export const CORE_BACKGROUND_ACTIONS = ['page-cleaner', 'checkpoint', 'log-tick'] as const;

export function storageSeams(seams: SimSeams): StorageTestSeams {
  return Object.fromEntries(STORAGE_SEAM_NAMES.map((name) => [name, seams[name] === true]));
}

export const storageTarget: SimTarget<CoreEngine> = {
  name: 'storage-core',

  async open(vfs: FaultVfs, config: SimConfig, seams: SimSeams): Promise<CoreEngine> {
    const clock = new ManualClock();
    const storage = await openStorageWithTestSeams(
      {
        vfs,
        pageSize: config.pageSize,
        bufferPoolBytes: config.poolPages * config.pageSize,
        redoLogBytes: config.logBytes,
        flushBatchPages: config.flushBatchPages,
        background: 'auto',
        clock,
      },
      storageSeams(seams),
    );
    return { storage, clock, openedAtMs: clock.nowMs() };
  },

  backgroundActions: CORE_BACKGROUND_ACTIONS,

  runBackground(engine: CoreEngine, action: string): BackgroundResult {
    switch (action) {
      case 'page-cleaner':
        engine.storage.backgroundStep();
        return { logSynced: false };
      case 'checkpoint':
        engine.storage.checkpoint();
        return { logSynced: false };
      case 'log-tick':
        return { logSynced: tickSynced(engine.storage) };
      default:
        throw new Error(`unknown background action ${action}`);
    }
  },

  advanceClock(engine: CoreEngine, ms: number): BackgroundResult {
    const before = engine.clock.nowMs() - engine.openedAtMs;
    const lsn = engine.storage.log.currentLsn;
    engine.clock.advance(ms);
    const after = engine.clock.nowMs() - engine.openedAtMs;
    // A tick fired inside the advance when a whole period boundary was crossed; it synced only if
    // the log still works (a poisoned log's tick does nothing).
    const ticked = Math.floor(after / LOG_TICK_MS) > Math.floor(before / LOG_TICK_MS);
    return { logSynced: ticked && engine.storage.health.isOpen && engine.storage.log.durableLsn >= lsn };
  },

  crashEvents: ['mtr-commit', 'log-write', 'log-sync', 'page-flush', 'doublewrite', 'checkpoint'],
  recoveryCrashEvents: ['recovery-apply', 'doublewrite', 'page-flush', 'checkpoint'],
  logPath: 'redo.log',

  recoveryCounters(engine: CoreEngine): Readonly<Record<string, number>> {
    const result = engine.storage.recovery;
    if (result === undefined) return {};
    return {
      groupsReplayed: result.groups,
      pagesApplied: result.pagesApplied,
      pagesRestoredFromDoublewrite: result.pagesRestoredFromDoublewrite,
      spacesCreated: result.spacesCreated,
      spacesDeleted: result.spacesDeleted,
    };
  },

  poolCounters(engine: CoreEngine): PoolCounters {
    const stats = engine.storage.pool.stats;
    return { reads: stats.reads, evictions: stats.evictions };
  },

  selfCheck(engine: CoreEngine): void {
    engine.storage.pool.validate();
  },

  installOracles(vfs: FaultVfs, engine: () => CoreEngine | undefined, report: (violation: Violation) => void): void {
    vfs.onWrite((write) => {
      if (!write.path.endsWith('.ibd')) return;
      const live = engine();
      if (live === undefined) return; // opening: recovery writes pages from the synced log
      const pageSize = live.storage.pageSize;
      const durable = live.storage.log.durableLsn;
      for (let at = 0; at + pageSize <= write.data.length; at += pageSize) {
        const lsn = readU64(write.data, at + PAGE_LSN_OFFSET);
        if (lsn > durable) {
          report({
            rule: 'WAL',
            message: `${write.path} page ${write.position / pageSize + at / pageSize} written with LSN ${lsn} while the log is durable only to ${durable}`,
          });
        }
      }
    });
  },

  abandon(engine: CoreEngine): void {
    engine.storage.abandon();
  },

  async close(engine: CoreEngine): Promise<void> {
    await engine.storage.close();
  },
};
