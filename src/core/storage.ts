/**
 * The storage core: opens, recovers, runs and closes the layers below the B-tree.
 *
 * InnoDB counterpart: `srv/srv0start.cc` (srv_start: create or recover, then start the
 * background threads) and `srv/srv0srv.cc` (the master thread's once-a-second work). Files in the
 * database directory (any VFS):
 *
 *   redo.log            the redo log (log-file.ts), created first: it marks a database as existing
 *   system.ibd          space 0: the system tablespace (dictionary, transaction system, undo)
 *   space-NNNNNN.ibd    one tablespace per table, named by space id
 *   doublewrite.dblwr   the doublewrite buffer
 *   buffer-pool.dump    the pages in the pool at the last clean close, loaded after an open (pool-dump.ts)
 *   minno.lock/         the directory lock, if the VFS keeps it in files (NodeVfs: node-directory-lock.ts)
 *
 * What an open accepts to find there (a database, nothing, or foreign files: refused) is
 * `database-dir.ts`; a read-only open is `read-only-open.ts`.
 *
 * ## Lifecycle
 *
 *     open --check dir, lock--+--no redo.log--> create log, bootstrap system space ----+
 *                             +--redo.log----> recover (checkpoint, doublewrite, apply) --+--> running --close--> closed
 *                             +--readOnly----> check clean (read-only-open.ts) ----------+     running --crash (test)--> abandoned
 *
 * The directory lock (contract V8) is taken before anything is written, and released by `close`
 * and `abandon` (C5).
 *
 * While running, the engine's health (`health`, util/engine-health.ts) says whether anything may
 * still be written: open, poisoned (after a failed log sync L4, a failed page flush B7, or an
 * abandoned mtr C4: every write refused until reopened), closed (`close`, `abandon`). The buffer
 * pool and the redo log share this one object.
 *
 * ## Background work (the page cleaner and the master thread)
 * In `background: 'auto'` mode the clock's timers drive `backgroundStep()` every 100 ms (once a
 * second while the checkpoint age is low and frames are free: `cleanerMayRest`) and `log.tick()` (the weaker durability levels' sync) every second. In `'manual'` mode nothing runs
 * by itself: tests and the simulator call them step by step (DESIGN: every background task can be
 * paused, stepped and resumed). The page cleaner flushes from the flush list's oldest end, faster
 * as the checkpoint age grows (InnoDB's adaptive flushing), and from the LRU tail when free frames
 * run low, then checkpoints. While the log is more than half full, the next step comes after one
 * turn of the event loop instead of 100 ms (issue 11: the process keeps serving while the cleaner
 * works; InnoDB's cleaners are threads). The timers' steps, and writers waiting for log room,
 * wait for each batch's syncs (redo, doublewrite, tablespaces) on libuv's thread pool, not on the
 * event loop (C6; issue 16: those syncs were a fifth of a 1M-row update workload's time), so the
 * event loop is busy only for a batch's copies and writes; a step by hand (`backgroundStep`)
 * syncs in place, as every synchronous flush does.
 *
 * ## Invariants
 *  C1 (L2). Before each mini-transaction starts, the log has room for it (InnoDB log_free_check):
 *      if not, the oldest dirty pages are flushed and a checkpoint taken, synchronously. Callers
 *      that can wait (the asynchronous API in 'auto' mode) make room earlier, in slices:
 *      `waitForLogRoom`.
 *  C2 (rule DIR). Files are created and removed with their directory synced.
 *  C3. A space id is never reused (recovery relies on it; the dictionary hands them out).
 *  C4. An operation that throws mid-mtr never leaves the engine half-working: the next mtr aborts
 *      it, or poisons the engine's health if it had changed pages (`dropAbandonedMtr`).
 *  C5. While a Storage is open (and only then) it holds its directory's lock: exclusive, or
 *      shared when read-only. Nothing is written to the directory before the lock is held.
 *  C6. The timers' page cleaner waits for its syncs off the event loop (buffer-pool.ts B11); once
 *      `close` begins it starts no more batches, and `close` closes no file before the last of
 *      those syncs has settled.
 */
import { ClosedError, CorruptionError, InvalidArgumentError, IoError } from '../errors.js';
import { assert } from '../util/assert.js';
import { EngineHealth } from '../util/engine-health.js';
import { SystemClock, type Clock, type TimerHandle } from '../util/clock.js';
import { WITH_TEST_SEAMS } from '../util/test-seams.js';
import { TurnTaker, nextTurn } from '../util/slices.js';
import type { DirectoryLock, EngineEvent, Vfs } from '../vfs/vfs.js';
import { ReadOnlyVfs } from '../vfs/read-only-vfs.js';
import { loadChecksums } from '../page/checksum.js';
import { PAGE_SIZE_DEFAULT, checkPageSize, readU32 } from '../page/page.js';
import { SPACE_ID_MAX, SYSTEM_SPACE_ID, SpaceRegistry } from '../page/tablespace.js';
import { initSpaceHeader } from '../page/space-allocator.js';
import { BufferPool, POOL_FRAMES_MIN, type PageIo } from '../buffer/buffer-pool.js';
import { Doublewrite } from '../buffer/doublewrite.js';
import { schedulePoolLoad, writePoolDump } from '../buffer/pool-dump.js';
import { LOG_CAPACITY_MIN, LOG_FILE, LSN_START, LogFile } from '../redo/log-file.js';
import { RedoLog, type Durability } from '../redo/redo-log.js';
import { MiniTransaction, MtrContext } from '../redo/mtr.js';
import { recover, type RecoveryProgress, type RecoveryResult } from '../redo/recovery.js';
import { checkDatabaseDir } from './database-dir.js';
import { openReadOnly } from './read-only-open.js';

export interface StorageOptions {
  readonly vfs: Vfs;
  /** Page size of a new database (4 to 64 KiB, a power of two). An existing one keeps its own. */
  readonly pageSize?: number;
  /**
   * Buffer pool size in bytes. Default 64 MiB. The adaptive hash index's share of it
   * (`adaptiveHashBytes`) is taken out of the pages, as InnoDB takes its AHI from the pool.
   */
  readonly bufferPoolBytes?: number;
  /**
   * The adaptive hash index (InnoDB's innodb_adaptive_hash_index; btree/adaptive-hash.ts): point
   * lookups skip the B-tree descent when a remembered leaf position is still valid. Default true.
   */
  readonly adaptiveHashIndex?: boolean;
  /**
   * The share (0 to 100) of the pool's pages, most recently used first, that a clean close
   * lists in `buffer-pool.dump` and the next open reads back in the background (InnoDB's
   * innodb_buffer_pool_dump_pct with dump_at_shutdown and load_at_startup; pool-dump.ts).
   * Default 25, as InnoDB; 0: no dump is written and none is loaded. Only with background 'auto'.
   */
  readonly bufferPoolDumpPct?: number;
  /** Redo log capacity of a new database in bytes. Default 64 MiB. */
  readonly redoLogBytes?: number;
  /**
   * Pages per flush batch, and slots in the doublewrite file. Default 128 (InnoDB's doublewrite
   * buffer before 8.0.20: two 64-page blocks): each batch costs two syncs (the doublewrite copy,
   * then the in-place writes, D1/D2), so a sustained write load pays one sync per 64 pages.
   */
  readonly flushBatchPages?: number;
  readonly maxOpenFiles?: number;
  readonly clock?: Clock;
  /** 'auto' (default): timers run background work. 'manual': the caller steps it. */
  readonly background?: 'auto' | 'manual';
  /**
   * Grow the log's first lap in zero-filled, synced extents (default true), so log syncs never
   * change its size; false: each write extends the file (log-file.ts, Growth).
   */
  readonly preallocateLog?: boolean;
  readonly onRecoveryProgress?: (progress: RecoveryProgress) => void;
  /** The midpoint LRU's old-blocks time. Default 1000 ms. */
  readonly oldBlocksTimeMs?: number;
  /**
   * Open without writing anything, sharing the directory with other read-only opens; refuses a
   * database that needs crash recovery (ERR_RECOVERY_NEEDED). See read-only-open.ts.
   */
  readonly readOnly?: boolean;
  /** Create a database if none is there (default true). See database-dir.ts. */
  readonly createIfMissing?: boolean;
  /** Refuse to open an existing database: ERR_ALREADY_EXISTS (default false). */
  readonly errorIfExists?: boolean;
}

/**
 * Test-only seams that switch a crash-safety mechanism off, so tests can prove the mechanism is
 * what keeps data safe. Not exported from the package.
 */
export interface StorageTestSeams {
  /** Flush pages without the doublewrite buffer (torn pages become unrecoverable). Rule TORN. */
  readonly disableDoublewrite?: boolean;
  /** Write pages without first making their redo durable. Rule WAL. */
  readonly skipWal?: boolean;
  /** Hand out pages that fail their checks instead of raising. Rule CHECKSUM. */
  readonly skipPageChecks?: boolean;
  /** Recovery applies groups whose checksum fails or whose end is missing. Rules MTR, LOG-TAIL. */
  readonly applyTornGroups?: boolean;
  /** Evict dirty pages without writing them (a lost write; B2). The simulator's pool-pressure teeth. */
  readonly evictDirtyPages?: boolean;
  /**
   * The log's first lap grows write by write instead of in zero-filled extents (StorageOptions
   * `preallocateLog: false` through the public entry), so every log write extends the file and a
   * test can arm seed 000's zero tail on it.
   */
  readonly logGrowsByWrites?: boolean;
  /** Recovery's slices (RC4 of recovery.ts) in ms instead of the default: 0 yields at every look. */
  readonly recoverySliceMs?: number;
  /** Recovery's window on the log (RC5 of recovery.ts) instead of RECOVERY_WINDOW_BYTES. */
  readonly recoveryWindowBytes?: number;
}

/**
 * The adaptive hash index's share of the buffer pool's bytes: a sixteenth, in whole 16-byte
 * buckets, or nothing when the pages left would be fewer than the pool's minimum. (InnoDB
 * sizes its AHI's cell array at a 64th of the pool and takes its nodes from the pool's pages
 * as it grows; ours is allocated whole at open, so the budget is fixed: adaptive-hash.ts.)
 */
export function adaptiveHashShare(poolBytes: number, pageSize: number): number {
  if (!Number.isFinite(poolBytes)) return 0;
  const bytes = Math.floor(poolBytes / 16 / 16) * 16;
  return Math.floor((poolBytes - bytes) / pageSize) >= POOL_FRAMES_MIN ? bytes : 0;
}

const BACKGROUND_STEP_MS = 100;
/** Checkpoint age (of the usable log) above which an asynchronous write waits for room (`waitForLogRoom`). */
const LOG_WAIT_RATIO = 0.75;
/** Where that wait flushes down to: the oldest pages up to this age below the current LSN. */
const LOG_WAIT_TARGET = 0.625;
/** How much a step of `startSpaceDrop` shrinks the file by: about 8 ms of the kernel's work. */
const SPACE_DROP_STEP_BYTES = 16 << 20;
const LOG_TICK_MS = 1000;
/** Below this checkpoint age (a fraction of the usable log) the page cleaner rests (`cleanerMayRest`). */
const CLEANER_LOW_WATER = 0.1;
/** A resting cleaner still works every this many steps (once a second). */
const CLEANER_REST_STEPS = 10;

export class Storage {
  readonly vfs: Vfs;
  readonly pageSize: number;
  readonly clock: Clock;
  readonly spaces: SpaceRegistry;
  readonly pool: BufferPool;
  /** Bytes of `bufferPoolBytes` the adaptive hash index has (0 when off); the pool has the rest. */
  readonly adaptiveHashBytes: number;
  /** `bufferPoolDumpPct`, checked. */
  private readonly poolDumpPct: number;
  readonly doublewrite: Doublewrite | undefined;
  /** What the last open recovered, when the database already existed. */
  recovery: RecoveryResult | undefined;
  /** True when this open created the database. */
  created = false;
  /** Open, poisoned or closed: the one state every writer below checks (util/engine-health.ts). */
  readonly health = new EngineHealth();

  private redo: RedoLog | undefined;
  private mtrContext: MtrContext | undefined;
  private recoveryEndLsn = 0;
  private timers: TimerHandle[] = [];
  /** Set when `close` begins: the timers' page cleaner starts no more batches (C6). */
  private stopping = false;
  private readonly options: StorageOptions;
  private readonly seams: StorageTestSeams;
  /** C5: held from open to close. */
  private lock: DirectoryLock | undefined;
  readonly readOnly: boolean;

  private constructor(options: StorageOptions, pageSize: number, seams: StorageTestSeams, lock: DirectoryLock) {
    this.options = options;
    this.seams = seams;
    this.lock = lock;
    this.readOnly = options.readOnly === true;
    // The lock can be lost only across machines (node-directory-lock.ts NL4): stop writing at once.
    lock.onLost = (error) => this.health.poison(error, 'directory lock (taken over from another machine)');
    this.vfs = options.vfs;
    this.pageSize = pageSize;
    this.clock = options.clock ?? new SystemClock();
    this.spaces = new SpaceRegistry({ vfs: this.vfs, pageSize, maxOpenFiles: options.maxOpenFiles ?? 256 });
    const flushBatchPages = options.flushBatchPages ?? 128;
    if (!Number.isInteger(flushBatchPages) || flushBatchPages < 1 || flushBatchPages > 1024) {
      throw new InvalidArgumentError(
        `flushBatchPages must be an integer from 1 to 1024, got ${String(flushBatchPages)}`,
      );
    }
    this.doublewrite =
      seams.disableDoublewrite === true ? undefined : new Doublewrite(this.vfs, pageSize, flushBatchPages);
    const spaces = this.spaces;
    const io: PageIo = {
      readPage:
        seams.skipPageChecks === true
          ? (spaceId, pageNo, target) => void spaces.require(spaceId).readPageUnchecked(pageNo, target)
          : (spaceId, pageNo, target) => spaces.require(spaceId).readPage(pageNo, target),
      writeSealedPage: (spaceId, pageNo, image) => spaces.require(spaceId).writeSealedPage(pageNo, image),
      syncSpaces: (ids) => {
        for (const id of ids) spaces.get(id)?.sync();
      },
      syncSpacesAsync: async (ids) => {
        const syncs: Promise<void>[] = [];
        for (const id of ids) {
          const sync = spaces.get(id)?.syncAsync();
          if (sync !== undefined) syncs.push(sync);
        }
        await Promise.all(syncs);
      },
    };
    const poolBytes = options.bufferPoolBytes ?? 64 * 1024 * 1024;
    this.adaptiveHashBytes = options.adaptiveHashIndex === false ? 0 : adaptiveHashShare(poolBytes, pageSize);
    this.poolDumpPct = options.bufferPoolDumpPct ?? 25;
    if (!(this.poolDumpPct >= 0 && this.poolDumpPct <= 100)) {
      throw new InvalidArgumentError(`bufferPoolDumpPct must be from 0 to 100, got ${String(this.poolDumpPct)}`);
    }
    this.pool = new BufferPool({
      pageSize,
      poolBytes: poolBytes - this.adaptiveHashBytes,
      clock: this.clock,
      io,
      wal:
        seams.skipWal === true
          ? { flushLogUpTo: () => undefined, flushLogUpToAsync: () => undefined }
          : { flushLogUpTo: (lsn) => this.flushLogUpTo(lsn), flushLogUpToAsync: (lsn) => this.flushLogUpToAsync(lsn) },
      doublewrite: this.doublewrite,
      flushBatchPages,
      oldBlocksTimeMs: options.oldBlocksTimeMs ?? 1000,
      onEvent: this.onEvent,
      evictDirtyPages: seams.evictDirtyPages === true,
      health: this.health,
    });
  }

  private readonly onEvent = (name: EngineEvent): void => this.vfs.engineEvent(name);

  /** Opens the database in `options.vfs`, creating it if empty and recovering it otherwise. */
  static open(options: StorageOptions): Promise<Storage> {
    return Storage[WITH_TEST_SEAMS](options, {});
  }

  /** @internal tests and the simulator only: `openStorageWithTestSeams`. */
  static async [WITH_TEST_SEAMS](options: StorageOptions, seams: StorageTestSeams): Promise<Storage> {
    if (options === null || typeof options !== 'object' || options.vfs === undefined) {
      throw new InvalidArgumentError('Storage.open needs options with a vfs');
    }
    if (options.pageSize !== undefined) checkPageSize(options.pageSize);
    await loadChecksums();
    const readOnly = options.readOnly === true;
    const wishes = {
      readOnly,
      createIfMissing: options.createIfMissing ?? true,
      errorIfExists: options.errorIfExists === true,
    };
    // First by reading alone, so a refused directory gets nothing written, not even a lock entry;
    // then again under the lock, which makes the answer final (C5).
    checkDatabaseDir(options.vfs, wishes);
    const lock = options.vfs.lockDirectory(readOnly ? 'shared' : 'exclusive');
    let storage: Storage | undefined;
    try {
      checkDatabaseDir(options.vfs, wishes);
      const vfs = readOnly ? new ReadOnlyVfs(options.vfs) : options.vfs;
      storage = new Storage({ ...options, vfs }, Storage.pageSizeFor(vfs, options.pageSize), seams, lock);
      await storage.start();
      return storage;
    } catch (error) {
      if (storage === undefined) lock.release();
      else storage.abandon(); // closes what start() opened, and releases the lock
      throw error;
    }
  }

  /** The page size of an existing database (from its log header), or the option's for a new one. */
  private static pageSizeFor(vfs: Vfs, pageSize: number | undefined): number {
    if (vfs.stat(LOG_FILE) === undefined) return pageSize ?? PAGE_SIZE_DEFAULT;
    const file = vfs.open(LOG_FILE, { readOnly: true });
    const header = new Uint8Array(20);
    const got = file.read(header, 0);
    file.close();
    if (got < 20) throw new CorruptionError(LOG_FILE, undefined, 'log file header is truncated');
    const stored = readU32(header, 16);
    // LogFile.open validates magic, checksum and the match with the requested size.
    return pageSize ?? (stored >= 4096 && stored <= 65536 ? stored : PAGE_SIZE_DEFAULT);
  }

  private async start(): Promise<void> {
    const vfs = this.vfs;
    if (this.readOnly) {
      this.redo = await openReadOnly(vfs, this.pageSize, this.spaces, this.onEvent, this.health);
      this.mtrContext = new MtrContext(this.pool, this.redo, this.onEvent);
      return; // no background work: it writes
    }
    if (vfs.stat(LOG_FILE) === undefined) {
      this.createDatabase();
    } else {
      const logFile = LogFile.open(vfs, this.pageSize, this.preallocateLog());
      this.recoveryEndLsn = Number.MAX_SAFE_INTEGER; // pages flushed during recovery come from the synced log
      const result = await recover({
        logFile,
        registry: this.spaces,
        pool: this.pool,
        doublewrite: this.doublewrite,
        onProgress: this.options.onRecoveryProgress,
        onEvent: this.onEvent,
        applyTornGroups: this.seams.applyTornGroups === true,
        ...(this.seams.recoverySliceMs !== undefined ? { sliceMs: this.seams.recoverySliceMs } : {}),
        ...(this.seams.recoveryWindowBytes !== undefined ? { windowBytes: this.seams.recoveryWindowBytes } : {}),
      });
      this.recoveryEndLsn = 0;
      this.recovery = result;
      this.redo = new RedoLog(
        logFile,
        result.nextLsn,
        { number: result.checkpointNumber, lsn: result.checkpointLsn },
        this.onEvent,
        this.health,
      );
      this.mtrContext = new MtrContext(this.pool, this.redo, this.onEvent);
      // Step 7 of recovery: continue one lap later (see recovery.ts).
      this.redo.writeCheckpoint(result.nextLsn);
      if (!this.spaces.exists(SYSTEM_SPACE_ID)) this.bootstrapSystemSpace();
    }
    this.startBackground();
    if (this.poolDumpOn()) {
      const load = schedulePoolLoad(this.vfs, this.pool, this.spaces, this.clock, () => this.health.isOpen);
      if (load !== undefined) this.timers.push(load);
    }
  }

  /** Whether a clean close writes a pool dump and an open loads it (pool-dump.ts). */
  private poolDumpOn(): boolean {
    return (this.options.background ?? 'auto') === 'auto' && !this.readOnly && this.poolDumpPct > 0;
  }

  private preallocateLog(): boolean {
    return (this.options.preallocateLog ?? true) && this.seams.logGrowsByWrites !== true;
  }

  /** An empty directory, or one holding only an interrupted creation's leftovers (`checkDatabaseDir`). */
  private createDatabase(): void {
    const vfs = this.vfs;
    const capacity = this.options.redoLogBytes ?? 64 * 1024 * 1024;
    const capacityMin = Math.max(LOG_CAPACITY_MIN, 32 * this.pageSize);
    if (!Number.isInteger(capacity) || capacity < capacityMin) {
      throw new InvalidArgumentError(
        `redoLogBytes must be an integer >= ${capacityMin} (32 pages), got ${String(capacity)}`,
      );
    }
    const logFile = LogFile.create(vfs, capacity, this.pageSize, this.preallocateLog());
    this.redo = new RedoLog(logFile, LSN_START, { number: 1, lsn: LSN_START }, this.onEvent, this.health);
    this.mtrContext = new MtrContext(this.pool, this.redo, this.onEvent);
    // Empty space files left by an earlier attempt whose redo never became durable.
    for (const spaceId of this.spaces.listSpaceFiles()) this.spaces.deleteFile(spaceId);
    this.created = true;
    this.bootstrapSystemSpace();
  }

  private bootstrapSystemSpace(): void {
    this.createSpace(SYSTEM_SPACE_ID);
  }

  private startBackground(): void {
    if ((this.options.background ?? 'auto') !== 'auto') return;
    let rested = 0;
    const turns = new TurnTaker();
    const step = (): void => {
      if (this.isClosed) return;
      if (this.cleanerMayRest() && ++rested < CLEANER_REST_STEPS) {
        this.timers[0] = this.clock.setTimer(BACKGROUND_STEP_MS, step);
        return;
      }
      rested = 0;
      // Purge's slice may have run in the same timers phase: this step then comes a turn later, or
      // keeps to what is left of the turn's budget (util/slices.ts).
      if (turns.deferNow()) {
        this.timers[0] = this.clock.setTimer(1, step);
        return;
      }
      const next = (): void => {
        if (this.isClosed || this.stopping) return;
        // With the log half full, the cleaner comes back as soon as the event loop has turned: it
        // must keep ahead of the writers, or their mtrs flush synchronously (C1).
        const soon = this.log.checkpointAgeRatio() >= 0.5;
        this.timers[0] = this.clock.setTimer(soon ? 1 : BACKGROUND_STEP_MS, step);
      };
      // A failed background flush leaves the pages dirty and the engine poisoned (B7, L4); the
      // next foreground write reports it.
      this.pageCleanerStepAsync().then(next, next);
    };
    const tick = (): void => {
      if (this.isClosed) return;
      try {
        this.log.tick();
      } catch {
        // As above: the health remembers the failure and later commits are refused.
      }
      this.timers[1] = this.clock.setTimer(LOG_TICK_MS, tick);
    };
    this.timers = [this.clock.setTimer(BACKGROUND_STEP_MS, step), this.clock.setTimer(LOG_TICK_MS, tick)];
  }

  /**
   * The storage core's memory beyond the pool's frames, by part (the engine's memory account,
   * docs/architecture.md "Memory"): the pool's metadata and flush batch, and the log's buffers
   * with the mtr records.
   */
  memoryOverhead(): { readonly pool: number; readonly log: number } {
    return {
      pool: this.pool.overheadBytes(),
      log: (this.redo?.memoryBytes() ?? 0) + (this.mtrContext?.memoryBytes() ?? 0),
    };
  }

  get log(): RedoLog {
    assert(this.redo !== undefined, 'the log is open once start() has run');
    return this.redo;
  }

  private checkOpen(): void {
    if (this.isClosed) throw new ClosedError('storage');
  }

  private flushLogUpTo(lsn: number): void {
    if (this.redo === undefined || this.recoveryEndLsn !== 0) return; // recovery: every page LSN is <= the synced log end
    this.redo.flushUpTo(lsn);
  }

  private flushLogUpToAsync(lsn: number): Promise<void> | undefined {
    if (this.redo === undefined || this.recoveryEndLsn !== 0) return undefined;
    if (this.redo.durableLsn >= lsn && this.health.isOpen) return undefined;
    return this.redo.waitDurable(lsn);
  }

  /**
   * The mini-transaction running now, if any (T2: at most one). A page read while it runs is read
   * inside it: the change buffer's merge of that page joins it (ibuf/change-buffer.ts).
   */
  get activeMtr(): MiniTransaction | undefined {
    return this.mtrContext?.active;
  }

  /**
   * C4 for everything that is not an mtr: a reader or a writer arriving while an mtr is still
   * active found one that an exception abandoned (one thread: nothing else leaves one open). Its
   * frames hold half an operation, so it is dropped (poisoning the engine if it changed pages)
   * before anyone reads them. Cheap: one property read when nothing was abandoned.
   */
  checkNoAbandonedMtr(): void {
    const abandoned = this.mtrContext?.active;
    if (abandoned !== undefined) this.dropAbandonedMtr(abandoned);
  }

  /** Starts a mini-transaction, first making room in the log if needed (C1). */
  startMtr(): MiniTransaction {
    this.checkOpen();
    const abandoned = this.mtrContext!.active;
    if (abandoned !== undefined) this.dropAbandonedMtr(abandoned);
    this.health.check('storage', 'mini-transaction');
    if (this.log.needsRoom()) this.makeLogRoom();
    return new MiniTransaction(this.mtrContext!);
  }

  /**
   * C4. An mtr still active when the next starts was abandoned by an exception (everything is
   * synchronous, so nothing else can leave one open). One that wrote nothing is simply aborted.
   * One that did has half an operation in the frames and none of it in the log (there is no mtr
   * rollback, as in InnoDB): the engine is poisoned and refuses all further work, and reopening
   * recovers.
   */
  private dropAbandonedMtr(mtr: MiniTransaction): void {
    if (mtr.redoBytes === 0) {
      mtr.abort();
      return;
    }
    const error = new IoError(
      'storage',
      'mini-transaction',
      'an operation failed after changing pages (see the error it raised); reopen the database to recover',
    );
    this.health.poison(error, 'operation that changed pages');
    mtr.releaseAfterFailure();
    throw error;
  }

  /**
   * Flushes the oldest dirty pages and checkpoints until the log has room (C1, L2). Each call
   * frees an eighth of the usable log, as InnoDB's sync flush brings the age just under its limit
   * (log_free_check): a writer that outruns the page cleaner pays the flushing in small, even
   * stalls, not one flush of half the pool (issue 13: 1 MiB LOB inserts ran at 160-200 MB/s in
   * the rounds with such a stall and 390-450 MB/s in the others). The work per page is the same.
   * The timers' page cleaner exists to keep writers from getting here (`startBackground`).
   */
  makeLogRoom(): void {
    const log = this.log;
    while (log.needsRoom()) {
      const target = log.currentLsn - Math.floor(((log.capacity - log.reserve) * 7) / 8);
      this.pool.flushOldest(Infinity, target);
      const before = log.checkpointLsn;
      this.checkpoint();
      assert(
        log.checkpointLsn > before,
        'C1 making log room advanced the checkpoint (no dirty page may stay fixed between mtrs)',
      );
    }
  }

  /**
   * C1 for a caller that can wait (InnoDB's log_free_check waits for the page cleaner instead of
   * flushing in the writer): in background 'auto' mode, while the checkpoint age is above
   * LOG_WAIT_RATIO of the usable log, flushes the oldest pages a batch at a time, each batch's
   * syncs off the event loop (C6), and checkpoints, giving the event loop back between batches. Returns undefined, without a promise,
   * when the log has room (or in 'manual' mode, or read-only, or not open). The asynchronous API
   * waits here before a transaction's work, so the synchronous flush of `makeLogRoom` is left to
   * writes that cannot wait: synchronous calls, and a transaction that writes more than the
   * headroom.
   */
  waitForLogRoom(): Promise<void> | undefined {
    if (!this.logRoomWanted()) return undefined;
    return (async () => {
      while (this.logRoomWanted()) {
        const log = this.log;
        // C6: one batch at a time, its syncs off the event loop: a wait joins the batch in flight
        // (the page cleaner's, or another waiting writer's) rather than finishing it in place.
        const inFlight = this.pool.settleFlush();
        if (inFlight !== undefined) {
          await inFlight;
          continue;
        }
        const target = log.currentLsn - Math.floor((log.capacity - log.reserve) * LOG_WAIT_TARGET);
        const flushed = await this.pool.flushOldestAsync(this.pool.flushBatchPages, target);
        if (!this.logRoomWanted()) return;
        const before = log.checkpointLsn;
        this.checkpoint();
        // Nothing flushable (every old page fixed by a running operation): C1 stays the writer's.
        if (flushed === 0 && log.checkpointLsn === before) return;
        await nextTurn();
      }
    })();
  }

  private logRoomWanted(): boolean {
    return (
      (this.options.background ?? 'auto') === 'auto' &&
      !this.readOnly &&
      this.health.isOpen &&
      this.log.checkpointAgeRatio() > LOG_WAIT_RATIO
    );
  }

  /** Takes a fuzzy checkpoint at the oldest modification among dirty pages (L3). */
  checkpoint(): void {
    this.checkOpen();
    const lsn = this.pool.oldestModification() ?? this.log.currentLsn;
    this.spaces.syncAll();
    this.log.writeCheckpoint(lsn);
  }

  /**
   * Creates a tablespace: its file (directory synced, C2), then an mtr that logs FILE_CREATE and
   * writes its header page; the redo is made durable before returning.
   */
  createSpace(spaceId: number): void {
    this.checkOpen();
    if (!Number.isInteger(spaceId) || spaceId < 0 || spaceId > SPACE_ID_MAX) {
      throw new InvalidArgumentError(`space id must be an integer from 0 to ${SPACE_ID_MAX}, got ${String(spaceId)}`);
    }
    if (this.spaces.exists(spaceId)) throw new InvalidArgumentError(`tablespace ${spaceId} already exists`);
    this.spaces.createFile(spaceId);
    const mtr = this.startMtr();
    mtr.logFileCreate(spaceId);
    initSpaceHeader(mtr, spaceId, this.pageSize);
    this.log.flushUpTo(mtr.commit());
  }

  /**
   * Drops a tablespace in one pass: FILE_DELETE made durable, its pages discarded, its file
   * removed (C2). The engine's drops use `startSpaceDrop`, which does the same in steps.
   */
  dropSpace(spaceId: number): void {
    this.startSpaceDrop(spaceId, false)();
  }

  /**
   * Drops a tablespace in steps, so a caller can give the event loop back between them (removing
   * a large file in one call blocks for about 0.5 ms per MiB while the kernel drops its cache):
   * now, FILE_DELETE is made durable and the space's pages leave the buffer pool; then each call
   * of the returned step shrinks the file by SPACE_DROP_STEP_BYTES, and the last removes it (C2)
   * and returns true. Page 0 stays until the file goes: a crash between steps leaves either
   * FILE_DELETE in the log (recovery deletes the file) or, once a checkpoint passed it, a shorter
   * file with a valid header and no redo, which no table names (dictionary.ts cleanUp drops it).
   * Nothing reads the space meanwhile: its table is gone from the dictionary first.
   */
  startSpaceDrop(spaceId: number, shrinkFirst = true): () => boolean {
    this.checkOpen();
    if (spaceId === SYSTEM_SPACE_ID) throw new InvalidArgumentError('the system tablespace cannot be dropped');
    const space = this.spaces.require(spaceId);
    const mtr = this.startMtr();
    mtr.logFileDelete(spaceId);
    this.log.flushUpTo(mtr.commit());
    this.pool.discardSpace(spaceId);
    let size = shrinkFirst ? this.spaces.handleFor(space).size() : 0;
    return () => {
      this.checkOpen();
      this.health.check('tablespaces', 'space drop');
      if (size > this.pageSize) {
        size = Math.max(this.pageSize, size - SPACE_DROP_STEP_BYTES);
        this.spaces.handleFor(space).truncate(size);
        return false;
      }
      this.spaces.deleteFile(spaceId);
      return true;
    };
  }

  /** Settles when a commit whose last mtr ended at `lsn` is as durable as `durability` promises. */
  commitDurable(lsn: number, durability: Durability): Promise<void> {
    return this.log.commit(lsn, durability);
  }

  /**
   * True when the timers' page cleaner may skip a step: the checkpoint age is below
   * CLEANER_LOW_WATER of the log and free frames are plenty. Each step costs a doublewrite sync, a
   * sync per tablespace and a checkpoint sync, on this thread and on the disk the commits' log
   * syncs wait for: at ten a second they were a fifth of the syncs of a durable update workload
   * (issue 16). Resting, it works once a second (InnoDB: no adaptive flushing below
   * innodb_adaptive_flushing_lwm, 10%). `backgroundStep` itself, as tests step it, is unchanged.
   */
  private cleanerMayRest(): boolean {
    return (
      this.log.checkpointAgeRatio() < CLEANER_LOW_WATER &&
      this.pool.freeFrames() >= 2 * Math.max(POOL_FRAMES_MIN / 4, this.pool.frameCount / 32)
    );
  }

  /**
   * One slice of background work: the page cleaner flushes a batch sized by the checkpoint age
   * (adaptive flushing) and from the LRU tail when free frames run low, then a checkpoint.
   * Returns the pages flushed.
   */
  backgroundStep(): number {
    return this.pageCleanerStep();
  }

  /** `backgroundStep`'s work, every sync in place (`pageCleanerStepAsync` is the timers'). */
  private pageCleanerStep(): number {
    this.checkOpen();
    const ratio = this.log.checkpointAgeRatio();
    const pages = ratio < 0.25 ? 8 : ratio < 0.5 ? 32 : ratio < 0.75 ? 128 : 512;
    let flushed = 0;
    while (flushed < pages) {
      const batch = this.pool.flushOldest(Math.min(this.pool.flushBatchPages, pages - flushed));
      flushed += batch;
      if (batch === 0) break;
    }
    if (this.pool.freeFrames() < Math.max(POOL_FRAMES_MIN / 4, this.pool.frameCount / 32)) {
      flushed += this.pool.flushLruTail(this.pool.frameCount / 16);
    }
    this.checkpoint();
    return flushed;
  }

  /**
   * The timers' page cleaner (C6): `pageCleanerStep` with each batch's syncs off the event loop
   * (buffer-pool.ts B11), so transactions run while the device works. It stops between batches
   * once `close` has begun.
   */
  private async pageCleanerStepAsync(): Promise<number> {
    this.checkOpen();
    const ratio = this.log.checkpointAgeRatio();
    const pages = ratio < 0.25 ? 8 : ratio < 0.5 ? 32 : ratio < 0.75 ? 128 : 512;
    let flushed = 0;
    while (flushed < pages) {
      const inFlight = this.pool.settleFlush(); // a waiting writer's batch (waitForLogRoom)
      if (inFlight !== undefined) {
        await inFlight;
        if (this.stopping || this.isClosed) return flushed;
        continue;
      }
      const batch = await this.pool.flushOldestAsync(Math.min(this.pool.flushBatchPages, pages - flushed));
      flushed += batch;
      if (this.stopping || this.isClosed) return flushed;
      // No time limit, unlike `pageCleanerStep`: the event loop is busy only for a batch's copies
      // and writes (about 2 ms for 128 pages), and steps stay the same whatever the time, so
      // the simulator replays.
      if (batch === 0) break;
    }
    if (this.pool.freeFrames() < Math.max(POOL_FRAMES_MIN / 4, this.pool.frameCount / 32)) {
      flushed += await this.pool.flushLruTailAsync(this.pool.frameCount / 16);
      if (this.stopping || this.isClosed) return flushed;
    }
    this.checkpoint();
    return flushed;
  }

  /**
   * Flushes everything, checkpoints, and closes every file (open -> closed); a poisoned engine
   * closes without writing anything (poisoned -> closed). Idempotent.
   */
  async close(): Promise<void> {
    if (this.isClosed) return;
    this.stopping = true;
    for (const timer of this.timers) timer.cancel();
    this.timers = [];
    if (this.health.isOpen && !this.readOnly) {
      await this.log.waitDurable(this.log.currentLsn);
      this.pool.flushAll();
      this.checkpoint();
      this.log.rewindAtCleanClose(); // the log's disk space back (log-file.ts, Rewind)
      if (this.poolDumpOn()) {
        try {
          writePoolDump(this.vfs, this.pool, this.poolDumpPct);
        } catch {
          // A hint only (pool-dump.ts PD1): a dump that cannot be written costs a cold start.
        }
      }
    }
    // C6: the page cleaner's last sync settles before the files it syncs are closed.
    await this.pool.settleFlush();
    this.health.close();
    this.release();
  }

  /** Drops everything without writing: the process "died" (tests, after a simulated crash). */
  abandon(): void {
    if (this.isClosed) return;
    this.health.close(); // rejects every commit still waiting for a sync
    for (const timer of this.timers) timer.cancel();
    this.timers = [];
    try {
      this.release();
    } catch {
      // The VFS may refuse every call after a simulated crash; nothing is written here anyway.
    }
  }

  private release(): void {
    try {
      this.pool.reset();
      this.mtrContext = undefined;
      this.redo?.file.close();
      this.doublewrite?.close();
      this.spaces.close();
    } finally {
      this.lock?.release(); // C5
      this.lock = undefined;
    }
  }

  get isClosed(): boolean {
    return this.health.state === 'closed';
  }
}

/** Tests and the simulator only (not exported from the package): a Storage with rules removed. */
export function openStorageWithTestSeams(options: StorageOptions, seams: StorageTestSeams): Promise<Storage> {
  return Storage[WITH_TEST_SEAMS](options, seams);
}
