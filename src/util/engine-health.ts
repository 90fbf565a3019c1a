/**
 * The engine's health: one state machine answers "may the engine still change anything?".
 *
 * InnoDB stops the server when a log write, a page write or an fsync fails (ib::fatal in
 * `os0file.cc`, `log0write.cc`, `buf0flu.cc`); an embedded engine must not kill its host, so
 * minno stops *itself* instead: it refuses all further work until it is reopened, and recovery
 * (redo and the doublewrite buffer) takes it on from what is on disk. This replaces the three
 * flags that used to say it separately (the redo log's L4, the buffer pool's B7, the storage's C4).
 *
 *                  poison(cause)
 *       open ---------------------------> poisoned
 *        |                                   |
 *        | close() / abandon()               | close() (releases without writing) / abandon()
 *        v                                   v
 *      closed <------------------------------+
 *
 * | transition        | called by                                   | why                                                      |
 * |-------------------|---------------------------------------------|----------------------------------------------------------|
 * | open -> poisoned  | `RedoLog.fail` (redo/redo-log.ts, L4)        | a log write or sync failed: a retry could falsely succeed |
 * |                   | `BufferPool.flushFrames` (buffer/, B7)       | a page write or tablespace sync failed                    |
 * |                   | `Storage.dropAbandonedMtr` (core/, C4)       | an mtr that changed pages was abandoned by an exception   |
 * | open -> closed    | `Storage.close` (after flushing everything) | a clean close                                             |
 * | poisoned -> closed| `Storage.close` (nothing written)           | reopening recovers                                        |
 * | any -> closed     | `Storage.abandon`                           | the process "died" (tests, the simulator)                 |
 *
 * | state    | mtrs, commits, page flushes, checkpoints     | reads                    | close                    |
 * |----------|----------------------------------------------|--------------------------|--------------------------|
 * | open     | run                                          | run                      | flush, checkpoint, close |
 * | poisoned | refused: ERR_IO naming the first failure     | refused: ERR_IO (C4)     | release without writing |
 * | closed   | refused: ERR_CLOSED                          | ERR_CLOSED               | nothing to do            |
 *
 * Reads are refused too once poisoned: the frames may hold half of the operation that failed
 * (C4: a B-tree half split, an entry removed and not yet put back) or changes whose commits were
 * refused, and corruption is never returned as data. A reader arriving while an abandoned mtr is
 * still active poisons the engine itself (`Storage.checkNoAbandonedMtr`, called before every read
 * and between the rows of every scan), so no read ever sees half an operation.
 *
 * The redo log listens for the step out of `open` to reject every commit still waiting for a
 * sync (`onLeaveOpen`): after a failure no waiter may be told its commit is durable.
 *
 * Invariants:
 *  H1. The state only moves forward: open -> poisoned -> closed, or open -> closed.
 *  H2. The first cause is kept; later failures (usually consequences of the first) do not replace it.
 *  H3. While not open, nothing reaches the log or a tablespace (every writer checks `isOpen` first).
 */
import { ClosedError, IoError, type MinnoError } from '../errors.js';

export const HEALTH_STATES = ['open', 'poisoned', 'closed'] as const;
export type HealthState = (typeof HEALTH_STATES)[number];

export class EngineHealth {
  private stateValue: HealthState = 'open';
  private causeValue: unknown = undefined;
  private failedWhat = '';
  private readonly listeners: Array<() => void> = [];

  get state(): HealthState {
    return this.stateValue;
  }

  get isOpen(): boolean {
    return this.stateValue === 'open';
  }

  get poisoned(): boolean {
    return this.stateValue === 'poisoned';
  }

  /** The failure that poisoned the engine (H2), or undefined. */
  get cause(): unknown {
    return this.causeValue;
  }

  /**
   * open -> poisoned: `what` failed with `cause` (for the message of every later refusal). A
   * no-op when already poisoned or closed (H1, H2).
   */
  poison(cause: unknown, what: string): void {
    if (this.stateValue !== 'open') return;
    this.stateValue = 'poisoned';
    this.causeValue = cause;
    this.failedWhat = what;
    this.leaveOpen();
  }

  /** open or poisoned -> closed. */
  close(): void {
    if (this.stateValue === 'closed') return;
    const wasOpen = this.stateValue === 'open';
    this.stateValue = 'closed';
    if (wasOpen) this.leaveOpen();
  }

  /** Runs `listener` once, when the state leaves `open`. */
  onLeaveOpen(listener: () => void): void {
    this.listeners.push(listener);
  }

  /** Throws the refusal for `operation` on `path` unless the engine is open (H3). */
  check(path: string, operation: string): void {
    if (this.stateValue !== 'open') throw this.refusal(path, operation);
  }

  /** The error a refused `operation` on `path` reports: ERR_IO after a failure, ERR_CLOSED after close. */
  refusal(path: string, operation: string): MinnoError {
    if (this.stateValue === 'closed' && this.causeValue === undefined) return new ClosedError('storage');
    return new IoError(
      path,
      operation,
      `an earlier ${this.failedWhat || 'operation'} failed; reopen the database to recover`,
      {
        cause: this.causeValue,
      },
    );
  }

  private leaveOpen(): void {
    for (const listener of this.listeners.splice(0)) listener();
  }
}
