/**
 * The redo log system: LSNs, the log buffer, writing, group commit, checkpoints.
 *
 * InnoDB counterpart: `log/log0write.cc` (log_write_up_to, the log writer and flusher),
 * `log/log0chkp.cc` (checkpoints), `innodb_flush_log_at_trx_commit`. The LSN is a byte position
 * in the endless log stream; the file keeps the last `capacity` bytes of it (see log-file.ts).
 *
 *     appended (log buffer)       written (OS cache)        durable (datasync)
 *     ... currentLsn  >=  writtenLsn  >=  durableLsn  >=  checkpointLsn
 *
 * ## Group commit
 * `waitDurable(lsn)` queues a waiter. One asynchronous datasync (off the main thread, through the
 * VFS) covers everything written when it started; when it settles, every waiter at or below the
 * LSN it covered is resolved at once, and if waiters remain, the next sync starts. The next sync
 * starts on `setImmediate`, after the resolved committers' continuations have run, so that the
 * commits they make right away share it instead of each starting their own. When that deferred
 * start finds a single waiter, the sync runs synchronously instead (no one could share it, and
 * the thread-pool round trip costs about a quarter of the single-committer rate).
 *
 * ## Durability (per commit)
 * - `full`: the promise settles when the commit's redo is durable (innodb_flush_log_at_trx_commit=1).
 * - `write`: redo written to the OS at commit, synced about once a second by `tick()`: a process
 *   crash loses nothing, an OS crash or power cut about a second (=2).
 * - `none`: written and synced about once a second: any crash may lose about a second (=0).
 *
 * ## Invariants
 *  L1. currentLsn >= writtenLsn >= durableLsn >= checkpointLsn; all only grow.
 *  L2. currentLsn - checkpointLsn <= capacity: the log never overwrites bytes recovery may need.
 *      `reserve` bytes are kept free for the mini-transaction being built; callers make room
 *      (flush and checkpoint) before starting an mtr, never during one.
 *  L3. A checkpoint LSN is <= durableLsn, and <= every dirty page's oldest modification (the
 *      caller computes it so).
 *  L4. After a failed sync (EIO), the log refuses all further work, page flushes included: the
 *      unsynced bytes may be lost and retrying the sync would falsely succeed (fsyncgate; see
 *      FaultVfs `failNextSync`), and frames may hold changes of mtrs the log then refused. The
 *      failure poisons the engine's health (util/engine-health.ts), which every writer checks;
 *      leaving `open` for any reason rejects every commit still waiting for a sync.
 *  L5. A sync that succeeds makes durable everything it covers, even while an asynchronous sync
 *      is in flight. A failed writeback marks the dirty pages it met clean, so their bytes never
 *      reach the disk, and a later sync on the same descriptor succeeds without them (Linux's
 *      errseq reports a writeback error once per open file). A synchronous `flushUpTo` that runs
 *      while the group commit's asynchronous sync is in flight therefore writes that sync's range
 *      again (kept in `inFlightCopy` from the moment it started) before its own datasync: its
 *      success then covers those bytes whatever the asynchronous one meets. Without this, the
 *      synchronous sync acknowledged commits and let pages be written whose redo the failed
 *      asynchronous sync had dropped (issue 9, found by the simulator's core soak: DURABLE,
 *      MTR and "page LSN ahead of the log" after a power cut or a process crash). InnoDB and
 *      PostgreSQL avoid the overlap instead: one flusher (log_flusher) or one lock
 *      (WALWriteLock) serialises every redo sync; our page flushes and DDL need durability
 *      synchronously, so they cannot wait for the asynchronous sync and rewrite instead.
 *  L6. Acknowledged redo is never written again. The first synchronous sync that rewrites the
 *      in-flight range (L5) and succeeds makes it durable and acknowledges it, so it drops the
 *      copy: a later sync rewriting those bytes could be torn by a power cut, leaving garbage
 *      over commits already acknowledged (found by session 3's core soak: DURABLE, plan
 *      `issue-9-torn-rewrite-of-acknowledged-redo.json`).
 */
import type { MinnoError } from '../errors.js';
import { assert } from '../util/assert.js';
import { EngineHealth } from '../util/engine-health.js';
import type { EngineEvent } from '../vfs/vfs.js';
import { GROUP_HEADER_BYTES, GROUP_OVERHEAD_BYTES, sealGroup } from './redo-record.js';
import type { LogFile } from './log-file.js';

/** L5: the most log bytes an asynchronous sync covers; past it the sync runs in place. */
const IN_FLIGHT_COPY_MAX = 1024 * 1024;

export const DURABILITY_LEVELS = ['full', 'write', 'none'] as const;
export type Durability = (typeof DURABILITY_LEVELS)[number];

interface Waiter {
  readonly lsn: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

export interface RedoLogStats {
  groups: number;
  bytes: number;
  writes: number;
  syncs: number;
  checkpoints: number;
}

/** The largest in-flight copy kept between asynchronous syncs (L5); a larger one is released. */
const IN_FLIGHT_COPY_KEEP_BYTES = 1024 * 1024;

export class RedoLog {
  readonly file: LogFile;
  readonly capacity: number;
  /** Bytes kept free for one mini-transaction (L2). */
  readonly reserve: number;

  currentLsn: number;
  writtenLsn: number;
  durableLsn: number;
  checkpointLsn: number;
  checkpointNumber: number;

  /** Log bytes from `writtenLsn` to `currentLsn`. */
  private buffer: Uint8Array;
  private bufferLength = 0;
  private readonly bufferFlushBytes: number;
  private waiters: Waiter[] = [];
  private syncInFlight = false;
  /**
   * L5: the log bytes [inFlightFromLsn, inFlightFromLsn + inFlightLength) that the asynchronous
   * sync in flight covers, copied when it started. Reused between syncs (no allocation per group).
   */
  private inFlightCopy: Uint8Array = new Uint8Array(0);
  private inFlightFromLsn = 0;
  private inFlightLength = 0;
  private syncScheduled = false;
  private readonly health: EngineHealth;
  private readonly onEvent: ((name: EngineEvent) => void) | undefined;
  readonly stats: RedoLogStats = { groups: 0, bytes: 0, writes: 0, syncs: 0, checkpoints: 0 };

  constructor(
    file: LogFile,
    startLsn: number,
    checkpoint: { number: number; lsn: number },
    onEvent?: (name: EngineEvent) => void,
    health = new EngineHealth(),
  ) {
    this.file = file;
    this.capacity = file.capacity;
    this.reserve = Math.max(Math.floor(file.capacity / 4), 8 * file.pageSize);
    this.currentLsn = this.writtenLsn = this.durableLsn = startLsn;
    this.checkpointLsn = checkpoint.lsn;
    this.checkpointNumber = checkpoint.number;
    // Written to the OS every 256 KiB: large enough to batch a bulk load's writes, small enough
    // to keep the engine's resident memory close to the pool's (the buffer grows only for an mtr
    // larger than it).
    this.bufferFlushBytes = Math.min(256 * 1024, Math.floor(file.capacity / 8));
    this.buffer = new Uint8Array(this.bufferFlushBytes + 64 * 1024);
    this.onEvent = onEvent;
    this.health = health;
    health.onLeaveOpen(() => this.rejectWaiters());
  }

  private checkHealthy(): void {
    this.health.check(this.file.file.path, 'redo log');
  }

  /** Bytes that may still be appended before a checkpoint is needed (L2). */
  freeBytes(): number {
    return this.capacity - (this.currentLsn - this.checkpointLsn);
  }

  /** True when the next mtr must wait for a checkpoint to make room (InnoDB's log_free_check). */
  needsRoom(): boolean {
    return this.currentLsn - this.checkpointLsn > this.capacity - this.reserve;
  }

  /** Checkpoint age as a fraction of the usable capacity: drives adaptive flushing. */
  checkpointAgeRatio(): number {
    return (this.currentLsn - this.checkpointLsn) / (this.capacity - this.reserve);
  }

  /**
   * Appends one mini-transaction's records as a group and returns its [start, end) LSNs.
   * `records` holds `length` bytes of records.
   */
  appendGroup(records: Uint8Array, length: number): { startLsn: number; endLsn: number } {
    this.checkHealthy();
    const groupBytes = length + GROUP_OVERHEAD_BYTES;
    const startLsn = this.currentLsn;
    const endLsn = startLsn + groupBytes;
    assert(
      endLsn - this.checkpointLsn <= this.capacity,
      () =>
        `L2 log full: group of ${groupBytes} bytes at ${startLsn}, checkpoint ${this.checkpointLsn}, capacity ${this.capacity}`,
    );
    assert(
      groupBytes <= this.reserve,
      `mini-transaction of ${groupBytes} bytes exceeds the log reserve ${this.reserve}`,
    );
    this.ensureBuffer(this.bufferLength + groupBytes);
    const at = this.bufferLength;
    this.buffer.set(records.subarray(0, length), at + GROUP_HEADER_BYTES);
    sealGroup(this.buffer.subarray(at), groupBytes, startLsn, this.durableLsn);
    this.bufferLength += groupBytes;
    this.currentLsn = endLsn;
    this.stats.groups++;
    this.stats.bytes += groupBytes;
    if (this.bufferLength >= this.bufferFlushBytes) this.write();
    return { startLsn, endLsn };
  }

  /**
   * Bytes the log holds in memory (the engine's memory account): the log buffer, and the copy an
   * asynchronous sync in flight covers. Each grows only to the largest group appended.
   */
  memoryBytes(): number {
    return this.buffer.byteLength + this.inFlightCopy.byteLength;
  }

  private ensureBuffer(bytes: number): void {
    if (bytes <= this.buffer.length) return;
    let size = this.buffer.length * 2;
    while (size < bytes) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buffer.subarray(0, this.bufferLength));
    this.buffer = grown;
  }

  /** Writes the log buffer to the file (the OS cache). No sync. */
  write(): void {
    this.checkHealthy();
    if (this.bufferLength === 0) return;
    this.file.writeRing(this.buffer.subarray(0, this.bufferLength), this.writtenLsn);
    this.writtenLsn = this.currentLsn;
    this.bufferLength = 0;
    // A group larger than the buffer grew it; give that back once written, so the log's memory
    // stays at its documented size between such groups (docs/architecture.md, "Memory").
    if (this.buffer.length > this.bufferFlushBytes + 64 * 1024)
      this.buffer = new Uint8Array(this.bufferFlushBytes + 64 * 1024);
    this.stats.writes++;
    this.onEvent?.('log-write');
  }

  /**
   * Makes the log durable up to at least `lsn`, synchronously (rule WAL for page flushes). After
   * a failure (L4) it refuses even when `lsn` is already durable: a frame may then hold changes of
   * an mtr the log refused, so no page may be written any more.
   */
  flushUpTo(lsn: number): void {
    this.checkHealthy();
    if (this.durableLsn >= lsn) return;
    assert(lsn <= this.currentLsn, `L1 flush up to ${lsn} beyond the current LSN ${this.currentLsn}`);
    this.write();
    const target = this.writtenLsn;
    try {
      // L5: an asynchronous sync in flight may fail and drop the bytes it covers; write them
      // again so that this sync's success alone makes them durable.
      if (this.syncInFlight && this.inFlightLength > 0) {
        this.file.writeRing(this.inFlightCopy.subarray(0, this.inFlightLength), this.inFlightFromLsn);
      }
      this.file.file.datasync();
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.stats.syncs++;
    this.durableLsn = Math.max(this.durableLsn, target);
    // L6: this sync made the in-flight range durable, and the waiters resolved below acknowledge
    // it: never write it again (a torn rewrite would lose acknowledged commits).
    this.inFlightLength = 0;
    this.onEvent?.('log-sync');
    this.resolveWaiters();
  }

  /** Resolves when the log is durable up to `lsn` (group commit). */
  waitDurable(lsn: number): Promise<void> {
    if (!this.health.isOpen) return Promise.reject(this.failureError());
    if (this.durableLsn >= lsn) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiters.push({ lsn, resolve, reject });
      this.scheduleSync();
    });
  }

  private failureError(): MinnoError {
    return this.health.refusal(this.file.file.path, 'redo log sync');
  }

  private scheduleSync(): void {
    if (this.syncInFlight || this.syncScheduled) return;
    this.syncScheduled = true;
    setImmediate(() => {
      this.syncScheduled = false;
      this.startSync();
    });
  }

  private startSync(): void {
    if (this.syncInFlight || this.waiters.length === 0 || !this.health.isOpen) return;
    if (this.waiters.length === 1) {
      // A lone committer: nobody could share the sync, and the thread-pool round trip of the
      // asynchronous datasync costs about a quarter of the rate (measured). Sync in place.
      try {
        this.flushUpTo(this.currentLsn);
      } catch (error) {
        this.fail(error);
      }
      return;
    }
    const fromLsn = this.durableLsn;
    if (this.currentLsn - fromLsn > IN_FLIGHT_COPY_MAX) {
      // Too much to keep a copy of (L5): a sync in place covers it without one.
      try {
        this.flushUpTo(this.currentLsn);
      } catch (error) {
        this.fail(error);
      }
      return;
    }
    try {
      this.copyUnsynced(fromLsn);
      this.write();
    } catch (error) {
      this.fail(error);
      return;
    }
    const target = this.writtenLsn;
    this.syncInFlight = true;
    this.file.file.datasyncAsync().then(
      () => {
        this.syncInFlight = false;
        this.inFlightLength = 0;
        // The copy spans everything unsynced (with durability none, up to the log's capacity):
        // kept for the next sync when small, released when it grew past IN_FLIGHT_COPY_KEEP_BYTES.
        if (this.inFlightCopy.length > IN_FLIGHT_COPY_KEEP_BYTES) this.inFlightCopy = new Uint8Array(0);
        this.stats.syncs++;
        this.durableLsn = Math.max(this.durableLsn, target);
        try {
          this.onEvent?.('log-sync');
        } catch (error) {
          // A simulated crash at this event: the sync happened, but the process is "dead".
          this.fail(error);
          return;
        }
        this.resolveWaiters();
        if (this.waiters.length > 0) this.scheduleSync();
      },
      (error: unknown) => {
        this.syncInFlight = false;
        this.inFlightLength = 0;
        this.fail(error);
      },
    );
  }

  /**
   * L5: copies the log bytes from `fromLsn` (durable) to `currentLsn` before the asynchronous
   * sync that will cover them starts: the part already written is read back from the OS cache
   * (nothing has failed since it was written, or the log would be poisoned), the rest is the
   * log buffer.
   */
  private copyUnsynced(fromLsn: number): void {
    const length = this.currentLsn - fromLsn;
    if (this.inFlightCopy.length < length) {
      this.inFlightCopy = new Uint8Array(Math.max(length, 2 * this.inFlightCopy.length, 4096));
    }
    const written = this.writtenLsn - fromLsn;
    if (written > 0) {
      const got = this.file.readRing(this.inFlightCopy.subarray(0, written), fromLsn);
      assert(got === written, () => `L5 read back ${got} of ${written} written log bytes at ${fromLsn}`);
    }
    this.inFlightCopy.set(this.buffer.subarray(0, this.bufferLength), written);
    assert(written + this.bufferLength === length, 'L5 the log buffer holds [writtenLsn, currentLsn)');
    this.inFlightFromLsn = fromLsn;
    this.inFlightLength = length;
  }

  private resolveWaiters(): void {
    if (this.waiters.length === 0) return;
    const remaining: Waiter[] = [];
    for (const waiter of this.waiters) {
      if (waiter.lsn <= this.durableLsn) waiter.resolve();
      else remaining.push(waiter);
    }
    this.waiters = remaining;
  }

  /** L4: a failed sync poisons the engine; every waiter and every later call fails. */
  private fail(error: unknown): void {
    this.health.poison(error, 'log sync');
    this.rejectWaiters();
  }

  /** Rejects every commit waiting for a sync (the engine left `open`). */
  private rejectWaiters(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const waiter of waiters) waiter.reject(this.failureError());
  }

  /**
   * Settles a commit at `lsn` under a durability level. `full` waits for the group sync;
   * `write` hands the bytes to the OS now; `none` leaves them to the once-a-second `tick`.
   */
  commit(lsn: number, durability: Durability): Promise<void> {
    switch (durability) {
      case 'full':
        return this.waitDurable(lsn);
      case 'write':
        try {
          this.write();
        } catch (error) {
          return Promise.reject(error);
        }
        return Promise.resolve();
      case 'none':
        return this.health.isOpen ? Promise.resolve() : Promise.reject(this.failureError());
    }
  }

  /** The once-a-second work of the weaker durability levels: write and sync what is there. */
  tick(): void {
    if (!this.health.isOpen || this.durableLsn >= this.currentLsn) return;
    this.flushUpTo(this.currentLsn);
  }

  /**
   * The last step of a clean close (log-file.ts, Rewind): when the checkpoint is at the end of the
   * log (every page flushed, everything durable), the file shrinks back to its first extent and
   * the log continues at the next lap boundary. Does nothing otherwise.
   */
  rewindAtCleanClose(): void {
    this.checkHealthy();
    if (this.checkpointLsn !== this.currentLsn || this.durableLsn !== this.currentLsn) return;
    let rewound: { number: number; lsn: number };
    try {
      rewound = this.file.rewind({ number: this.checkpointNumber, lsn: this.checkpointLsn });
    } catch (error) {
      this.fail(error);
      throw error;
    }
    // L1: all four move forward together; nothing lies between them.
    this.currentLsn = this.writtenLsn = this.durableLsn = this.checkpointLsn = rewound.lsn;
    this.checkpointNumber = rewound.number;
  }

  /**
   * Writes a checkpoint at `lsn` (L3: the caller has flushed every page older than it) into the
   * next slot, and syncs it.
   */
  writeCheckpoint(lsn: number): void {
    this.checkHealthy();
    assert(lsn >= this.checkpointLsn, `L1 checkpoint ${lsn} behind ${this.checkpointLsn}`);
    if (lsn > this.durableLsn) this.flushUpTo(lsn);
    assert(lsn <= this.durableLsn, 'L3 checkpoint LSN is durable');
    if (lsn === this.checkpointLsn) return;
    const checkpoint = { number: this.checkpointNumber + 1, lsn };
    this.file.writeCheckpoint(checkpoint);
    try {
      this.file.file.datasync();
    } catch (error) {
      this.fail(error);
      throw error;
    }
    this.checkpointNumber = checkpoint.number;
    this.checkpointLsn = lsn;
    this.stats.checkpoints++;
    this.onEvent?.('checkpoint');
  }
}
