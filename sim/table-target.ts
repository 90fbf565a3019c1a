/**
 * The simulator's target for the whole engine (`src/api/database.ts`): a `Database` on a fault VFS
 * in `background: 'manual'` mode on a `ManualClock`. The target emulates the storage core's timers
 * itself (page cleaner every 100 ms, log tick every second of clock), so the scheduler's clock
 * steps still make the weaker durability levels durable, and it steps every background task
 * directly at seeded moments: page cleaner, checkpoint, log tick, purge (`runBackgroundWork`, which
 * also rolls back a transaction recovery found active) and a whole purge (`db.purge()`).
 *
 * `makeTableTarget({ allowPurgeViewBackwards: true })` is TEST ONLY (the teeth of rule PURGE-MONO,
 * test/sim/table-workload.test.ts): the engine's purge view may move backwards, and the workload's
 * 'stale-view' operation reopens the cached autocommit view unchecked (seed 002).
 */
import { type Database, openDatabaseWithTestSeams } from '../src/api/database.js';
import { ManualClock } from '../src/util/clock.js';
import type { FaultVfs } from '../src/vfs/fault-vfs.js';
import { storageSeams, storageTarget, tickSynced, type CoreEngine } from './core-target.js';
import {
  ROW_SEAM_NAMES,
  type BackgroundResult,
  type PoolCounters,
  type SimConfig,
  type SimSeams,
  type SimTarget,
  type Violation,
} from './workload.js';

/** The engine handle the table workload drives. */
export interface TableEngine {
  readonly db: Database;
  readonly clock: ManualClock;
  readonly vfs: FaultVfs;
  /** Clock time at open: the emulated timers fire on whole periods from here. */
  readonly openedAtMs: number;
  /** TEST ONLY: the purge view may move backwards and stale autocommit views are reopened unchecked. */
  readonly purgeViewBackwards: boolean;
  /**
   * Set by the workload when an injected read corruption surfaced inside an asynchronous action:
   * the engine is left with its mini-transaction open (the next one fails T2), as after any
   * ERR_CORRUPTION, so the epoch runs no more engine work (the runner stops an epoch the same way
   * when it sees the error itself).
   */
  halted: string | undefined;
}

const LOG_TICK_MS = 1000;
const CLEANER_MS = 100;

export const TABLE_BACKGROUND_ACTIONS = ['page-cleaner', 'checkpoint', 'log-tick', 'purge', 'purge-all'] as const;

export interface TableTargetOptions {
  /** TEST ONLY: remove rule PURGE-MONO (the seed-002 seam). */
  readonly allowPurgeViewBackwards?: boolean;
}

function coreView(engine: TableEngine): CoreEngine {
  return { storage: engine.db.storage, clock: engine.clock, openedAtMs: engine.openedAtMs };
}

export function makeTableTarget(options: TableTargetOptions = {}): SimTarget<TableEngine> {
  const backwards = options.allowPurgeViewBackwards === true;
  return {
    name: backwards ? 'database (TEST ONLY: purge view may move backwards)' : 'database',

    async open(vfs: FaultVfs, config: SimConfig, seams: SimSeams): Promise<TableEngine> {
      const clock = new ManualClock();
      const db = await openDatabaseWithTestSeams(
        {
          vfs,
          pageSize: config.pageSize,
          bufferPoolBytes: config.poolPages * config.pageSize,
          // Transactions write undo as well as rows: twice the core workload's log.
          redoLogBytes: config.logBytes * 2,
          background: 'manual',
          clock,
          lockWaitTimeoutMs: 5_000,
          // Buffered secondary-index changes and their merges under every fault (off by default).
          changeBuffering: 'all',
        },
        {
          ...(backwards ? { allowPurgeViewBackwards: true } : {}),
          ...Object.fromEntries(ROW_SEAM_NAMES.map((name) => [name, seams[name] === true])),
          storage: storageSeams(seams),
        },
      );
      return { db, clock, vfs, openedAtMs: clock.nowMs(), purgeViewBackwards: backwards, halted: undefined };
    },

    backgroundActions: TABLE_BACKGROUND_ACTIONS,

    runBackground(engine: TableEngine, action: string): BackgroundResult {
      const db = engine.db;
      if (engine.halted !== undefined) return { logSynced: false };
      switch (action) {
        case 'page-cleaner':
          db.storage.backgroundStep();
          return { logSynced: false };
        case 'checkpoint':
          db.storage.checkpoint();
          return { logSynced: false };
        case 'log-tick':
          return { logSynced: tickSynced(db.storage) };
        case 'purge':
          db.runBackgroundWork();
          return { logSynced: false };
        case 'purge-all':
          db.purge();
          return { logSynced: false };
        default:
          throw new Error(`unknown background action ${action}`);
      }
    },

    advanceClock(engine: TableEngine, ms: number): BackgroundResult {
      if (engine.halted !== undefined) return { logSynced: false };
      const before = engine.clock.nowMs() - engine.openedAtMs;
      engine.clock.advance(ms); // lock wait timeouts fire
      const after = engine.clock.nowMs() - engine.openedAtMs;
      // The timers of background 'auto', stepped here so that the run stays on one call stack.
      if (Math.floor(after / CLEANER_MS) > Math.floor(before / CLEANER_MS)) engine.db.storage.backgroundStep();
      const tick = Math.floor(after / LOG_TICK_MS) > Math.floor(before / LOG_TICK_MS);
      return { logSynced: tick && tickSynced(engine.db.storage) };
    },

    crashEvents: ['mtr-commit', 'log-write', 'log-sync', 'page-flush', 'doublewrite', 'checkpoint', 'purge-step'],
    recoveryCrashEvents: ['recovery-apply', 'doublewrite', 'page-flush', 'checkpoint'],
    logPath: 'redo.log',

    recoveryCounters(engine: TableEngine): Readonly<Record<string, number>> {
      return storageTarget.recoveryCounters(coreView(engine));
    },

    poolCounters(engine: TableEngine): PoolCounters {
      const changeBuffer = engine.db.engine.changeBufferStatus();
      let buffered = 0;
      for (const n of Object.values(changeBuffer.buffered)) buffered += n;
      return { ...storageTarget.poolCounters(coreView(engine)), buffered, merges: changeBuffer.merges };
    },

    selfCheck(engine: TableEngine): void {
      engine.db.check();
    },

    installOracles(vfs: FaultVfs, engine: () => TableEngine | undefined, report: (violation: Violation) => void): void {
      storageTarget.installOracles(
        vfs,
        () => {
          const live = engine();
          return live === undefined ? undefined : coreView(live);
        },
        report,
      );
    },

    abandon(engine: TableEngine): void {
      engine.db.abandon();
    },

    async close(engine: TableEngine): Promise<void> {
      await engine.db.close();
    },
  };
}

export const tableTarget: SimTarget<TableEngine> = makeTableTarget();
