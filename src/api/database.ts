/**
 * The public database API: what an application embedding minno uses.
 *
 * Shape: the conventions of better-sqlite3, lmdb and classic-level. Reads are synchronous and
 * consistent (a read view, InnoDB's consistent read); writes return promises because a write may
 * have to wait for another transaction's row lock, and a commit settles when it is durable under
 * its durability level (group commit). `transaction(fn)` commits when `fn` returns and rolls back
 * when it throws. `close()` is idempotent and `await using db = ...` closes it too.
 *
 *     Database.open --> open --close / [Symbol.asyncDispose]--> closed (every call: ERR_CLOSED)
 *
 * One process writes a database at a time. `open` takes the directory's lock (the storage core
 * does, through the VFS: contract V8 in `vfs.ts`) and `close` releases it; a second read-write
 * open, from this process or another, by any path, symlink or VFS instance, gets ERR_LOCKED at
 * once with the holder's pid. `readOnly: true` opens share the lock with each other, write
 * nothing, and refuse a database that needs crash recovery (ERR_RECOVERY_NEEDED:
 * `core/read-only-open.ts`). A writer meeting readers gets ERR_LOCKED at once rather than wait:
 * it cannot know when they will close, and a caller that wants to wait can retry. Which
 * directories an open accepts (`createIfMissing`, `errorIfExists`, foreign files refused) is
 * `core/database-dir.ts`.
 *
 * Background work (page cleaner and log sync in the storage core; here purge and the rollback of
 * transactions recovery found active) runs on the clock's timers in `background: 'auto'` mode,
 * in slices of about 20 ms, and only when stepped (`db.runBackgroundWork()`) in `'manual'` mode.
 * Long operations give the event loop back between slices (issue 11): index builds
 * (index-build-runner.ts), the freeing of dropped indexes and tables (`finishDrops`), and at open
 * recovery, the locking of recovered transactions' rows and what unfinished drops left
 * (util/slices.ts).
 */
import { ClosedError, InvalidArgumentError, ReadOnlyError, RecoveryNeededError } from '../errors.js';
import { type Storage, openStorageWithTestSeams, type StorageOptions, type StorageTestSeams } from '../core/storage.js';
import { WITH_TEST_SEAMS } from '../util/test-seams.js';
import { MemoryVfs } from '../vfs/memory-vfs.js';
import { NodeVfs } from '../vfs/node-vfs.js';
import type { Vfs } from '../vfs/vfs.js';
import { SystemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { DURABILITY_LEVELS, type Durability } from '../redo/redo-log.js';
import { checkPageSize } from '../page/page.js';
import type { RecoveryProgress } from '../redo/recovery.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import type { Row } from '../rec/row-format.js';
import { LOB_BYTES_LIMIT } from '../lob/lob-format.js';
import { RowEngine, type RowEngineTestSeams } from '../row/row-engine.js';
import { type AdaptiveHashStatus, adaptiveHashStatus } from '../btree/adaptive-hash.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../mvcc/trx.js';
import type { PurgeResult } from '../row/row-purge.js';
import {
  CHANGE_BUFFERING_MODES,
  type ChangeBuffering,
  type ChangeBufferStatus,
  type ChangeBufferStepResult,
} from '../ibuf/change-buffer.js';
import { type BackupOptions, type BackupResult, hotBackup } from '../core/hot-backup.js';
import { checkCreateIndexOptions, type CreateIndexOptions, runIndexBuild } from './index-build-runner.js';
import { TurnTaker, nextTurn, runInSlices } from '../util/slices.js';
import { Snapshot } from './snapshot.js';
import { Table } from './table.js';
import { Transaction, type TransactionOptions } from './transaction.js';
import { type EngineMemory, engineMemory } from './engine-memory.js';
import type { CheckedSchema, RowOf, SchemaShape, TypesOf } from './typed-table.js';

export interface DatabaseOptions {
  /** A directory on disk. Give `path` or `vfs`; neither means memory. */
  readonly path?: string;
  /** Any VFS: `MemoryVfs`, `NodeVfs`, `FaultVfs`. */
  readonly vfs?: Vfs;
  /**
   * Create the directory (with `path`) and a database in it when there is none (default true).
   * A directory holding anything else is refused whatever this says (ERR_INCOMPATIBLE_FORMAT).
   */
  readonly createIfMissing?: boolean;
  /** Refuse to open a database that already exists: ERR_ALREADY_EXISTS (default false). */
  readonly errorIfExists?: boolean;
  /**
   * Read only: shares the directory with other read-only opens (a writer then gets ERR_LOCKED),
   * writes nothing, refuses a database that needs crash recovery (ERR_RECOVERY_NEEDED). Writes,
   * DDL, locking reads and purge throw ERR_READ_ONLY. Default false.
   */
  readonly readOnly?: boolean;
  /** Page size of a new database: 4 to 64 KiB, a power of two (default 16 KiB). */
  readonly pageSize?: number;
  /**
   * The memory cap for cached pages (default 64 MiB), the adaptive hash index's sixteenth
   * included (src/btree/adaptive-hash.ts).
   */
  readonly bufferPoolBytes?: number;
  /**
   * Point lookups skip the B-tree descent when a remembered leaf position is still valid
   * (InnoDB's innodb_adaptive_hash_index). Default true.
   */
  readonly adaptiveHashIndex?: boolean;
  /**
   * The share (0 to 100, default 25, as InnoDB) of the pool's pages that a clean close lists in
   * `buffer-pool.dump`, most recently used first, for the next open to read back in the
   * background (InnoDB's innodb_buffer_pool_dump_pct, dump at shutdown, load at startup).
   * 0 turns both off. A hint only: a stale or damaged dump is ignored or harmless.
   */
  readonly bufferPoolDumpPct?: number;
  /** Redo log capacity of a new database (default 64 MiB). */
  readonly redoLogBytes?: number;
  /** Default durability of commits: 'full' (default), 'write' or 'none'. */
  readonly durability?: Durability;
  /** Default isolation level: 'repeatable-read' (default, as InnoDB), 'read-committed', 'serializable'. */
  readonly isolation?: IsolationLevel;
  /** How long a write waits for a row lock before ERR_LOCK_WAIT_TIMEOUT (default 50 s). */
  readonly lockWaitTimeoutMs?: number;
  /**
   * The largest string, bytes or json value stored, in bytes (ERR_VALUE_TOO_LARGE above it):
   * at least 64 KiB; default and at most what the page size allows (4 GiB - 1 from 8 KiB pages up).
   */
  readonly maxValueBytes?: number;
  /** 'auto' (default): background work runs on timers. 'manual': only `runBackgroundWork()`. */
  readonly background?: 'auto' | 'manual';
  /**
   * Which changes to secondary-index pages that are not in the buffer pool are buffered instead
   * of reading the page (InnoDB's innodb_change_buffering): 'all', 'inserts' or 'none' (default,
   * as MySQL 8.4; see src/ibuf/change-buffer.ts for the measurements behind it).
   */
  readonly changeBuffering?: ChangeBuffering;
  readonly clock?: Clock;
  readonly onRecoveryProgress?: (progress: RecoveryProgress) => void;
}

export interface DropOptions {
  /**
   * Milliseconds of work per slice while the dropped table's file or index's pages are freed
   * (default 20): smaller keeps timers more punctual. 0 gives the event loop back after every step.
   */
  readonly sliceMs?: number;
}

/** A table's definition: `TableSchema` with `indexes` optional. */
export type TableDefinition = Omit<TableSchema, 'indexes'> & { readonly indexes?: TableSchema['indexes'] };

/** Test-only seams; not exported from the package. */
export interface DatabaseTestSeams extends RowEngineTestSeams {
  readonly storage?: StorageTestSeams;
}

export interface CheckReport {
  readonly tables: number;
  readonly rows: number;
  readonly entries: number;
}

export interface DatabaseStatus {
  readonly tables: number;
  readonly activeTransactions: number;
  readonly historyLength: number;
  /** Read views open now (transactions, snapshots, scans being read): purge waits for the oldest. */
  readonly openReadViews: number;
  readonly lsn: number;
  readonly durableLsn: number;
  readonly checkpointLsn: number;
  readonly bufferPool: ReturnType<Storage['pool']['snapshot']>;
  readonly adaptiveHash: AdaptiveHashStatus;
  readonly changeBuffer: ChangeBufferStatus;
  /** What the engine holds in memory, the pool and beyond it (engine-memory.ts; docs "Memory"). */
  readonly memory: EngineMemory;
}

const PURGE_INTERVAL_MS = 100;
/** Undo records a background step rolls back of a transaction recovery found active. */
const ROLLBACK_RECORDS_PER_STEP = 1000;
/** Undo records of recovered transactions whose rows the open locks between two looks at the clock. */
const RECOVERED_LOCKS_PER_STEP = 256;
/** The timers' background work between two turns of the event loop (`backgroundSlice`). */
const BACKGROUND_SLICE_MS = 20;
/** Undo records per step inside a timer's slice: the most a slice overruns its time by. */
const BACKGROUND_STEP_RECORDS = 16;
/**
 * History length above which a commit purges a step itself (row-engine.ts `purgeLagLogs`). Small:
 * purge then runs a dozen transactions behind the writers, while the leaves and the undo page they
 * changed are likelier still in the CPU's caches, and the undo cache hands each log straight back.
 * At 1000, the timers' slices purged hundreds of logs at once, each on leaves long gone cold. CPU
 * per small update transaction, medians of alternated runs (issue 16): 41.7 us at 1000, 36.6 at
 * 64 (steps of 16 records), 34.1 against 31.3 at 16 (steps of 8), no better at 4.
 */
export const PURGE_LAG_LOGS = 16;

export class Database implements AsyncDisposable {
  /** @internal the layers below, for tests and tools */
  readonly storage: Storage;
  /** @internal */
  readonly engine: RowEngine;
  readonly defaultDurability: Durability;
  readonly defaultIsolation: IsolationLevel;
  /** Opened with `readOnly: true`. */
  readonly readOnly: boolean;
  private closed = false;
  /** Dropped without writing (`abandon()`, a crashed test process). */
  private abandoned = false;
  private readonly clock: Clock;
  /** Index builds running, by table (api/index-build-runner.ts). */
  private readonly indexBuilds = new Map<string, Promise<void>>();
  /** Drops freeing their space or tree in slices (`finishDrops`). */
  private readonly drops = new Set<Promise<boolean>>();
  private timer: TimerHandle | undefined;
  /** The timers' purge takes turns with the page cleaner's step (util/slices.ts). */
  private readonly backgroundTurns = new TurnTaker();
  private readonly handles = new Map<string, Table>();

  private constructor(storage: Storage, engine: RowEngine, options: DatabaseOptions, clock: Clock) {
    this.storage = storage;
    this.engine = engine;
    this.defaultDurability = options.durability ?? 'full';
    this.defaultIsolation = options.isolation ?? 'repeatable-read';
    this.readOnly = options.readOnly === true;
    this.clock = clock;
  }

  /** Opens a database (creating it if the place is empty, recovering it after a crash). */
  static open(options: DatabaseOptions = {}): Promise<Database> {
    return Database[WITH_TEST_SEAMS](options, {});
  }

  /** @internal tests and the simulator only: `openDatabaseWithTestSeams`. */
  static async [WITH_TEST_SEAMS](options: DatabaseOptions, seams: DatabaseTestSeams): Promise<Database> {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('Database.open takes an options object');
    if (options.path !== undefined && options.vfs !== undefined)
      throw new InvalidArgumentError('give Database.open either path or vfs, not both');
    if (options.durability !== undefined && !(DURABILITY_LEVELS as readonly string[]).includes(options.durability)) {
      throw new InvalidArgumentError(
        `durability must be one of ${DURABILITY_LEVELS.join(', ')}, got ${String(options.durability)}`,
      );
    }
    if (options.isolation !== undefined && !(ISOLATION_LEVELS as readonly string[]).includes(options.isolation)) {
      throw new InvalidArgumentError(
        `isolation must be one of ${ISOLATION_LEVELS.join(', ')}, got ${String(options.isolation)}`,
      );
    }
    if (
      options.changeBuffering !== undefined &&
      !(CHANGE_BUFFERING_MODES as readonly string[]).includes(options.changeBuffering)
    ) {
      throw new InvalidArgumentError(
        `changeBuffering must be one of ${CHANGE_BUFFERING_MODES.join(', ')}, got ${String(options.changeBuffering)}`,
      );
    }
    for (const flag of ['createIfMissing', 'errorIfExists', 'readOnly'] as const) {
      if (options[flag] !== undefined && typeof options[flag] !== 'boolean') {
        throw new InvalidArgumentError(`${flag} must be a boolean, got ${String(options[flag])}`);
      }
    }
    // Every argument is checked before the directory is made: a refused open creates nothing.
    if (options.pageSize !== undefined) checkPageSize(options.pageSize);
    const lockWaitTimeoutMs =
      options.lockWaitTimeoutMs === undefined ? undefined : checkTimeout(options.lockWaitTimeoutMs);
    const valueBytesMax = options.maxValueBytes === undefined ? undefined : checkMaxValueBytes(options.maxValueBytes);
    const readOnly = options.readOnly === true;
    const createIfMissing = !readOnly && options.createIfMissing !== false;
    let vfs = options.vfs;
    if (options.path !== undefined) {
      if (typeof options.path !== 'string' || options.path === '')
        throw new InvalidArgumentError('path must be a non-empty string');
      // ERR_NOT_A_DIRECTORY for a file there; ERR_NOT_FOUND if missing and not to be created.
      vfs = new NodeVfs(options.path, { createIfMissing });
    }
    vfs ??= new MemoryVfs();
    const clock = options.clock ?? new SystemClock();
    const storageOptions: StorageOptions = {
      vfs,
      clock,
      background: options.background ?? 'auto',
      readOnly,
      createIfMissing,
      errorIfExists: options.errorIfExists === true,
      ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
      ...(options.bufferPoolBytes !== undefined ? { bufferPoolBytes: options.bufferPoolBytes } : {}),
      ...(options.adaptiveHashIndex !== undefined ? { adaptiveHashIndex: options.adaptiveHashIndex } : {}),
      ...(options.bufferPoolDumpPct !== undefined ? { bufferPoolDumpPct: options.bufferPoolDumpPct } : {}),
      ...(options.redoLogBytes !== undefined ? { redoLogBytes: options.redoLogBytes } : {}),
      ...(options.onRecoveryProgress !== undefined ? { onRecoveryProgress: options.onRecoveryProgress } : {}),
    };
    const storage = await openStorageWithTestSeams(storageOptions, seams.storage ?? {});
    let engine: RowEngine;
    try {
      engine = RowEngine.open(storage, {
        clock,
        ...(lockWaitTimeoutMs !== undefined ? { lockWaitTimeoutMs } : {}),
        ...(valueBytesMax !== undefined ? { valueBytesMax } : {}),
        ...((options.background ?? 'auto') === 'auto' ? { purgeLagLogs: PURGE_LAG_LOGS } : {}),
        ...(options.changeBuffering !== undefined ? { changeBuffering: options.changeBuffering } : {}),
        seams,
      });
    } catch (error) {
      storage.abandon(); // releases the directory lock too
      // The layers above needed a page change at open (an unfinished DDL, undo to free): recovery work.
      if (readOnly && error instanceof ReadOnlyError) {
        throw new RecoveryNeededError(
          vfs.location,
          'cleanup left by a read-write open that did not close (an unfinished DDL or transaction)',
        );
      }
      throw error;
    }
    if (readOnly && engine.activeTransactions() > 0) {
      storage.abandon();
      throw new RecoveryNeededError(
        vfs.location,
        `${engine.activeTransactions()} transaction(s) left active by a read-write open that did not close must be rolled back`,
      );
    }
    try {
      // The rows of transactions recovery found active, locked before anyone can reach them, in
      // slices that start after the engine's open has given the event loop a turn.
      await nextTurn();
      await runInSlices(() => engine.lockRecoveredStep(RECOVERED_LOCKS_PER_STEP));
    } catch (error) {
      storage.abandon();
      throw error;
    }
    if (engine.cleanUpPending) {
      // Drops a crash cut short: their spaces and trees are freed now, in slices (util/slices.ts).
      if (readOnly) {
        storage.abandon();
        throw new RecoveryNeededError(vfs.location, 'a table or index drop left unfinished by a read-write open');
      }
      try {
        await runInSlices(() => engine.cleanUpStep());
      } catch (error) {
        storage.abandon();
        throw error;
      }
    }
    const db = new Database(storage, engine, options, clock);
    if ((options.background ?? 'auto') === 'auto' && !readOnly) db.scheduleBackground();
    return db;
  }

  private scheduleBackground(): void {
    const turns = this.backgroundTurns;
    const step = (): void => {
      if (this.closed) return;
      // The page cleaner's step may have run in the same timers phase: a turn later (util/slices.ts).
      if (turns.deferNow()) {
        this.timer = this.clock.setTimer(1, step);
        return;
      }
      let more = false;
      try {
        more = this.backgroundSlice();
      } catch {
        // Purge or rollback failing here would fail again in the foreground, where it is reported.
      }
      // Work left: back as soon as the event loop has turned; none: look again later.
      this.timer = this.clock.setTimer(more ? 1 : PURGE_INTERVAL_MS, step);
    };
    this.timer = this.clock.setTimer(0, step);
  }

  /**
   * The timers' background work: steps of BACKGROUND_STEP_RECORDS undo records (rollback of
   * recovered transactions, then purge) until BACKGROUND_SLICE_MS have passed or nothing is
   * left, then a change-buffer step (issue 11: a slice, not a pass). Returns whether work is left.
   */
  private backgroundSlice(): boolean {
    this.checkWritable();
    // Within the turn's budget: the page cleaner's step may have run in the same timers phase.
    const deadline = this.backgroundTurns.deadline(BACKGROUND_SLICE_MS);
    for (;;) {
      const rolledBack = this.engine.rollbackRecoveredStep(BACKGROUND_STEP_RECORDS);
      const purge = rolledBack ? undefined : this.engine.purgeStep(BACKGROUND_STEP_RECORDS);
      const busy = rolledBack || (purge !== undefined && (purge.records > 0 || purge.logs > 0));
      if (!busy) break;
      if (performance.now() >= deadline) {
        this.engine.changeBufferStep();
        return true;
      }
    }
    this.engine.changeBufferStep();
    return false;
  }

  /**
   * One step of background work: roll back a bounded part of a transaction recovery found active
   * (`rolledBack` says one was there), a purge batch,
   * and a change-buffer step (discards, and merges once the buffer is half full). In 'manual' mode
   * tests call this (and `storage.backgroundStep()`) themselves.
   */
  runBackgroundWork(maxPurgeRecords = 1000): {
    rolledBack: boolean;
    purge: PurgeResult;
    changeBuffer: ChangeBufferStepResult;
  } {
    this.checkWritable();
    const rolledBack = this.engine.rollbackRecoveredStep(ROLLBACK_RECORDS_PER_STEP);
    const purge = this.engine.purgeStep(maxPurgeRecords);
    return { rolledBack, purge, changeBuffer: this.engine.changeBufferStep() };
  }

  /**
   * Merges every buffered secondary-index change into its page now, and drops those of dropped
   * indexes; returns the pages merged. InnoDB's slow shutdown: a read-only open refuses a database
   * whose change buffer is not empty (ERR_RECOVERY_NEEDED). Synchronous, like `check()`.
   */
  mergeChangeBuffer(): number {
    this.checkWritable();
    return this.engine.changeBuffer.mergeAll();
  }

  /** Runs purge until the history list is empty or nothing more can be purged now. */
  purge(): number {
    this.checkWritable();
    let total = 0;
    for (;;) {
      const step = this.engine.purgeStep(10_000);
      total += step.records;
      if (step.records === 0 && step.logs === 0) return total;
    }
  }

  /** @internal */
  checkOpen(): void {
    if (this.closed) throw new ClosedError('database');
  }

  /** @internal writes, DDL, locking reads and purge: ERR_READ_ONLY in a read-only database. */
  checkWritable(): void {
    this.checkOpen();
    if (this.readOnly) throw new ReadOnlyError('database');
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The names of the tables, sorted. */
  get tables(): string[] {
    this.checkOpen();
    return this.engine.tableNames();
  }

  /**
   * Creates a table and its indexes; durable when the promise settles. With the definition
   * declared `as const`, `db.table(definition)` is its typed handle (api/typed-table.ts).
   */
  async createTable(definition: TableDefinition): Promise<void> {
    this.checkWritable();
    if (definition === null || typeof definition !== 'object')
      throw new InvalidArgumentError('createTable takes a table definition object');
    const schema: TableSchema = { ...definition, indexes: definition.indexes ?? [] };
    this.engine.createTable(schema);
    this.handles.delete(schema.name);
  }

  /**
   * Drops a table: gone at once (durably), then its file is shrunk and removed in slices that give
   * the event loop back (api/slices.ts); the promise settles when the file is gone. Meanwhile
   * everything else goes on. A crash or `close()` in between leaves the rest to the next open.
   */
  async dropTable(name: string, options: DropOptions = {}): Promise<void> {
    this.checkWritable();
    const sliceMs = checkDropOptions(options);
    this.engine.dropTable(name);
    this.handles.delete(name);
    await this.finishDrops(sliceMs);
  }

  /** Runs what drops leave to free (row/row-ddl.ts `cleanUpStep`) in slices, until done or closed. */
  private async finishDrops(sliceMs: number | undefined): Promise<void> {
    const running = runInSlices(() => this.engine.cleanUpStep(), {
      ...(sliceMs !== undefined ? { sliceMs } : {}),
      stop: () => this.closed,
    });
    this.drops.add(running);
    try {
      await running;
    } finally {
      this.drops.delete(running);
    }
  }

  /**
   * Adds a secondary index, built from the rows already there in slices that give the event loop
   * back between them (api/index-build-runner.ts), with `onProgress` after each. Meanwhile reads
   * go on, writes to the table wait until the index is ready, and `close()` cancels the build.
   */
  async createIndex(table: string, index: IndexDef, options: CreateIndexOptions = {}): Promise<void> {
    this.checkWritable();
    checkCreateIndexOptions(options);
    const build = this.engine.startIndexBuild(table, index);
    const name = build.table.name;
    const running = runIndexBuild(this.engine, build, options, () =>
      this.abandoned ? 'abandoned' : this.closed ? 'closing' : undefined,
    );
    this.indexBuilds.set(name, running);
    try {
      await running;
    } finally {
      if (this.indexBuilds.get(name) === running) this.indexBuilds.delete(name);
    }
  }

  /** @internal the index build running on `table`, if any: writes to the table wait for it. */
  indexBuildOf(table: string): Promise<void> | undefined {
    return this.indexBuilds.get(table);
  }

  /**
   * Drops a secondary index: gone at once (durably), then its tree's pages are freed in slices
   * that give the event loop back; the promise settles when they are. Meanwhile reads, writes and
   * other DDL go on. A crash or `close()` in between leaves the rest to the next open.
   */
  async dropIndex(table: string, index: string, options: DropOptions = {}): Promise<void> {
    this.checkWritable();
    const sliceMs = checkDropOptions(options);
    this.engine.dropIndex(table, index);
    await this.finishDrops(sliceMs);
  }

  /**
   * The table for autocommit use: each read is a snapshot, each write its own transaction.
   * `table(schema)` (the schema declared `as const`) gives a handle typed by it.
   */
  table<const S extends SchemaShape>(schema: CheckedSchema<S>): Table<RowOf<S>, TypesOf<S>>;
  table<R extends Row = Row>(name: string): Table<R>;
  table(nameOrSchema: string | SchemaShape): Table {
    this.checkOpen();
    const name = typeof nameOrSchema === 'string' ? nameOrSchema : nameOrSchema?.name;
    let handle = this.handles.get(name);
    if (handle === undefined) {
      handle = new Table<Row>(this, this.engine.table(name).name, undefined);
      this.handles.set(name, handle);
    }
    return handle;
  }

  /**
   * A snapshot: synchronous reads of any tables, all from one read view taken now (api/snapshot.ts).
   * Release it (`release()`, or `using snap = db.snapshot()`): until then purge waits for it.
   */
  snapshot(): Snapshot {
    this.checkOpen();
    return new Snapshot(this);
  }

  /**
   * Starts a transaction; commit or roll it back. In a read-only database every transaction is
   * read-only, and SERIALIZABLE reads as REPEATABLE READ: with no writer anywhere the two see the
   * same rows, and the shared locks SERIALIZABLE takes would need transaction ids, which are written.
   */
  begin(options: TransactionOptions = {}): Transaction {
    this.checkOpen();
    if (!this.readOnly) return new Transaction(this, options);
    const isolation =
      (options.isolation ?? this.defaultIsolation) === 'serializable' ? 'repeatable-read' : options.isolation;
    return new Transaction(this, { ...options, readOnly: true, ...(isolation !== undefined ? { isolation } : {}) });
  }

  /**
   * Runs `fn` in a transaction: commits when it returns (settling once durable), rolls back and
   * rethrows when it throws.
   */
  async transaction<T>(fn: (tx: Transaction) => T | Promise<T>, options: TransactionOptions = {}): Promise<T> {
    // log_free_check: with the log nearly full, wait (the event loop turning) while the oldest pages
    // are flushed, rather than flush in the middle of `fn`. No await when there is room: `fn` runs now.
    const logRoom = this.storage.waitForLogRoom();
    if (logRoom !== undefined) await logRoom;
    const tx = this.begin(options);
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      // The caller sees the error `fn` threw, not the refusal a poisoned engine gives the rollback.
      if (tx.state === 'active') await tx.rollback().catch(() => undefined);
      throw error;
    }
    if (tx.state === 'active') await tx.commit();
    return result;
  }

  /** Walks every tree and checks the invariants; throws on the first violation. */
  check(): CheckReport {
    this.checkOpen();
    this.storage.pool.validate();
    return this.engine.check();
  }

  status(): DatabaseStatus {
    this.checkOpen();
    const log = this.storage.log;
    return {
      tables: this.engine.tableNames().length,
      activeTransactions: this.engine.activeTransactions(),
      historyLength: this.engine.historyLength(),
      openReadViews: this.engine.openReadViews(),
      lsn: log.currentLsn,
      durableLsn: log.durableLsn,
      checkpointLsn: log.checkpointLsn,
      bufferPool: this.storage.pool.snapshot(),
      adaptiveHash: adaptiveHashStatus(this.storage),
      changeBuffer: this.engine.changeBufferStatus(),
      memory: engineMemory(this.storage, this.engine),
    };
  }

  /**
   * Hot backup into `destination` (a directory path, created if missing, or any VFS), which must
   * be empty; writes go on meanwhile. Settles with the manifest once the backup is complete;
   * `minno restore` (ops/restore.ts) turns it into a database consistent at its `endLsn`.
   */
  async backup(destination: string | Vfs, options: BackupOptions = {}): Promise<BackupResult> {
    this.checkOpen();
    if (typeof destination === 'string') {
      if (destination === '') throw new InvalidArgumentError('backup destination must be a non-empty path');
      return hotBackup(this.storage, new NodeVfs(destination, { createIfMissing: true }), options);
    }
    return hotBackup(this.storage, destination, options);
  }

  /** Rolls back open transactions, flushes everything, closes the files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    // Running index builds see `closed` between slices, drop their index and stop; so do drops.
    if (this.indexBuilds.size > 0) await Promise.allSettled(this.indexBuilds.values());
    if (this.drops.size > 0) await Promise.allSettled(this.drops.values());
    try {
      if (this.storage.health.poisoned) {
        // An earlier sync failed (the operation that hit it was told): nothing may be written any
        // more, so release everything; the next open recovers from what is on disk.
        this.storage.abandon();
        return;
      }
      this.engine.rollbackAllActive();
      await this.storage.close();
    } finally {
      this.storage.abandon(); // a no-op after close; after a failure above, releases the lock all the same
    }
  }

  /** `await using db = await Database.open(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal a crashed test process: drop everything without writing. */
  abandon(): void {
    if (this.closed) return;
    this.closed = true;
    this.abandoned = true;
    this.timer?.cancel();
    this.storage.abandon(); // releases the directory lock, as the death of a process does
  }
}

function checkDropOptions(options: DropOptions): number | undefined {
  if (options === null || typeof options !== 'object') throw new InvalidArgumentError('drop options must be an object');
  const { sliceMs } = options;
  if (sliceMs !== undefined && (typeof sliceMs !== 'number' || !Number.isFinite(sliceMs) || sliceMs < 0))
    throw new InvalidArgumentError(`sliceMs must be a non-negative number, got ${String(sliceMs)}`);
  return sliceMs;
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0)
    throw new InvalidArgumentError(`lockWaitTimeoutMs must be a non-negative number, got ${String(ms)}`);
  return ms;
}

function checkMaxValueBytes(bytes: number): number {
  if (!Number.isSafeInteger(bytes) || bytes < 65536 || bytes > LOB_BYTES_LIMIT)
    throw new InvalidArgumentError(
      `maxValueBytes must be an integer from 65536 to ${LOB_BYTES_LIMIT}, got ${String(bytes)}`,
    );
  return bytes;
}

/** Tests and the simulator only (not exported from the package): a Database with rules removed. */
export function openDatabaseWithTestSeams(options: DatabaseOptions, seams: DatabaseTestSeams): Promise<Database> {
  return Database[WITH_TEST_SEAMS](options, seams);
}
