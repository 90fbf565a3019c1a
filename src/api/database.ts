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
 * Background work (page cleaner and log sync in the storage core; here purge and the rollback of
 * transactions recovery found active) runs on the clock's timers in `background: 'auto'` mode,
 * and only when stepped (`db.runBackgroundWork()`) in `'manual'` mode.
 */
import { mkdirSync } from 'node:fs';
import { ClosedError, InvalidArgumentError, LockedError } from '../errors.js';
import { type Storage, openStorageWithTestSeams, type StorageOptions, type StorageTestSeams } from '../core/storage.js';
import { WITH_TEST_SEAMS } from '../util/test-seams.js';
import { MemoryVfs } from '../vfs/memory-vfs.js';
import { NodeVfs } from '../vfs/node-vfs.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';
import { SystemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { DURABILITY_LEVELS, type Durability } from '../redo/redo-log.js';
import type { RecoveryProgress } from '../redo/recovery.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import type { Row } from '../rec/row-format.js';
import { RowEngine, type RowEngineTestSeams } from '../row/row-engine.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../mvcc/trx.js';
import type { PurgeResult } from '../row/row-purge.js';
import {
  CHANGE_BUFFERING_MODES,
  type ChangeBuffering,
  type ChangeBufferStatus,
  type ChangeBufferStepResult,
} from '../ibuf/change-buffer.js';
import { Table } from './table.js';
import { Transaction, type TransactionOptions } from './transaction.js';

export interface DatabaseOptions {
  /** A directory on disk (created if missing). Give `path` or `vfs`; neither means memory. */
  readonly path?: string;
  /** Any VFS: `MemoryVfs`, `NodeVfs`, `FaultVfs`. */
  readonly vfs?: Vfs;
  /** Page size of a new database: 4 to 64 KiB, a power of two (default 16 KiB). */
  readonly pageSize?: number;
  /** The memory cap for cached pages (default 64 MiB). */
  readonly bufferPoolBytes?: number;
  /** Redo log capacity of a new database (default 64 MiB). */
  readonly redoLogBytes?: number;
  /** Default durability of commits: 'full' (default), 'write' or 'none'. */
  readonly durability?: Durability;
  /** Default isolation level: 'repeatable-read' (default, as InnoDB), 'read-committed', 'serializable'. */
  readonly isolation?: IsolationLevel;
  /** How long a write waits for a row lock before ERR_LOCK_WAIT_TIMEOUT (default 50 s). */
  readonly lockWaitTimeoutMs?: number;
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
  readonly lsn: number;
  readonly durableLsn: number;
  readonly checkpointLsn: number;
  readonly bufferPool: ReturnType<Storage['pool']['snapshot']>;
  readonly changeBuffer: ChangeBufferStatus;
}

const LOCK_FILE = 'minno.lock';
const PURGE_INTERVAL_MS = 100;
/** Paths open in this process: a second open of one directory would corrupt it. */
const openPaths = new Set<string>();

export class Database implements AsyncDisposable {
  /** @internal the layers below, for tests and tools */
  readonly storage: Storage;
  /** @internal */
  readonly engine: RowEngine;
  readonly defaultDurability: Durability;
  readonly defaultIsolation: IsolationLevel;
  private closed = false;
  private readonly clock: Clock;
  private readonly lockFile: VfsFile | undefined;
  private readonly lockPath: string | undefined;
  private timer: TimerHandle | undefined;
  private readonly handles = new Map<string, Table>();

  private constructor(
    storage: Storage,
    engine: RowEngine,
    options: DatabaseOptions,
    clock: Clock,
    lock: { file: VfsFile; path: string } | undefined,
  ) {
    this.storage = storage;
    this.engine = engine;
    this.defaultDurability = options.durability ?? 'full';
    this.defaultIsolation = options.isolation ?? 'repeatable-read';
    this.clock = clock;
    this.lockFile = lock?.file;
    this.lockPath = lock?.path;
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
    let vfs = options.vfs;
    let lockPath: string | undefined;
    if (options.path !== undefined) {
      if (typeof options.path !== 'string' || options.path === '')
        throw new InvalidArgumentError('path must be a non-empty string');
      mkdirSync(options.path, { recursive: true });
      vfs = new NodeVfs(options.path);
      lockPath = (vfs as NodeVfs).rootDir;
      if (openPaths.has(lockPath)) throw new LockedError(lockPath);
    }
    vfs ??= new MemoryVfs();
    const clock = options.clock ?? new SystemClock();
    const lock = lockPath === undefined ? undefined : { file: vfs.open(LOCK_FILE, { create: true }), path: lockPath };
    if (lockPath !== undefined) openPaths.add(lockPath);
    try {
      const storageOptions: StorageOptions = {
        vfs,
        clock,
        background: options.background ?? 'auto',
        ...(options.pageSize !== undefined ? { pageSize: options.pageSize } : {}),
        ...(options.bufferPoolBytes !== undefined ? { bufferPoolBytes: options.bufferPoolBytes } : {}),
        ...(options.redoLogBytes !== undefined ? { redoLogBytes: options.redoLogBytes } : {}),
        ...(options.onRecoveryProgress !== undefined ? { onRecoveryProgress: options.onRecoveryProgress } : {}),
      };
      const storage = await openStorageWithTestSeams(storageOptions, seams.storage ?? {});
      let engine: RowEngine;
      try {
        engine = RowEngine.open(storage, {
          clock,
          ...(options.lockWaitTimeoutMs !== undefined
            ? { lockWaitTimeoutMs: checkTimeout(options.lockWaitTimeoutMs) }
            : {}),
          ...(options.changeBuffering !== undefined ? { changeBuffering: options.changeBuffering } : {}),
          seams,
        });
      } catch (error) {
        storage.abandon();
        throw error;
      }
      const db = new Database(storage, engine, options, clock, lock);
      if ((options.background ?? 'auto') === 'auto') db.scheduleBackground();
      return db;
    } catch (error) {
      lock?.file.close();
      if (lockPath !== undefined) openPaths.delete(lockPath);
      throw error;
    }
  }

  private scheduleBackground(): void {
    const step = (): void => {
      if (this.closed) return;
      try {
        this.runBackgroundWork();
      } catch {
        // Purge or rollback failing here would fail again in the foreground, where it is reported.
      }
      this.timer = this.clock.setTimer(PURGE_INTERVAL_MS, step);
    };
    this.timer = this.clock.setTimer(0, step);
  }

  /**
   * One slice of background work: roll back one transaction recovery found active, a purge batch,
   * and a change-buffer step (discards, and merges once the buffer is half full). In 'manual' mode
   * tests call this (and `storage.backgroundStep()`) themselves.
   */
  runBackgroundWork(maxPurgeRecords = 1000): {
    rolledBack: boolean;
    purge: PurgeResult;
    changeBuffer: ChangeBufferStepResult;
  } {
    this.checkOpen();
    const rolledBack = this.engine.rollbackRecoveredStep();
    const purge = this.engine.purgeStep(maxPurgeRecords);
    return { rolledBack, purge, changeBuffer: this.engine.changeBufferStep() };
  }

  /** Runs purge until the history list is empty or nothing more can be purged now. */
  purge(): number {
    this.checkOpen();
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

  get isClosed(): boolean {
    return this.closed;
  }

  /** The names of the tables, sorted. */
  get tables(): string[] {
    this.checkOpen();
    return this.engine.tableNames();
  }

  /** Creates a table and its indexes; durable when the promise settles. */
  async createTable(definition: TableDefinition): Promise<void> {
    this.checkOpen();
    if (definition === null || typeof definition !== 'object')
      throw new InvalidArgumentError('createTable takes a table definition object');
    const schema: TableSchema = { ...definition, indexes: definition.indexes ?? [] };
    this.engine.createTable(schema);
    this.handles.delete(schema.name);
  }

  async dropTable(name: string): Promise<void> {
    this.checkOpen();
    this.engine.dropTable(name);
    this.handles.delete(name);
  }

  /** Adds a secondary index, built from the rows already there. */
  async createIndex(table: string, index: IndexDef): Promise<void> {
    this.checkOpen();
    this.engine.createIndex(table, index);
  }

  async dropIndex(table: string, index: string): Promise<void> {
    this.checkOpen();
    this.engine.dropIndex(table, index);
  }

  /** The table for autocommit use: each read is a snapshot, each write its own transaction. */
  table<R extends Row = Row>(name: string): Table<R> {
    this.checkOpen();
    let handle = this.handles.get(name);
    if (handle === undefined) {
      handle = new Table<Row>(this, this.engine.table(name).name, undefined);
      this.handles.set(name, handle);
    }
    return handle as unknown as Table<R>;
  }

  /** Starts a transaction; commit or roll it back. */
  begin(options: TransactionOptions = {}): Transaction {
    this.checkOpen();
    return new Transaction(this, options);
  }

  /**
   * Runs `fn` in a transaction: commits when it returns (settling once durable), rolls back and
   * rethrows when it throws.
   */
  async transaction<T>(fn: (tx: Transaction) => T | Promise<T>, options: TransactionOptions = {}): Promise<T> {
    const tx = this.begin(options);
    let result: T;
    try {
      result = await fn(tx);
    } catch (error) {
      if (tx.state === 'active') await tx.rollback();
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
      lsn: log.currentLsn,
      durableLsn: log.durableLsn,
      checkpointLsn: log.checkpointLsn,
      bufferPool: this.storage.pool.snapshot(),
      changeBuffer: this.engine.changeBufferStatus(),
    };
  }

  /** Rolls back open transactions, flushes everything, closes the files. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
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
      this.lockFile?.close();
      if (this.lockPath !== undefined) openPaths.delete(this.lockPath);
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
    this.timer?.cancel();
    this.storage.abandon();
    try {
      this.lockFile?.close();
    } catch {
      // after a simulated crash the VFS refuses every call
    }
    if (this.lockPath !== undefined) openPaths.delete(this.lockPath);
  }
}

function checkTimeout(ms: number): number {
  if (!Number.isFinite(ms) || ms < 0)
    throw new InvalidArgumentError(`lockWaitTimeoutMs must be a non-negative number, got ${String(ms)}`);
  return ms;
}

/** Tests and the simulator only (not exported from the package): a Database with rules removed. */
export function openDatabaseWithTestSeams(options: DatabaseOptions, seams: DatabaseTestSeams): Promise<Database> {
  return Database[WITH_TEST_SEAMS](options, seams);
}
