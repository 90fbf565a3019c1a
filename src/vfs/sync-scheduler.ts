/**
 * Sync schedulers: where a `FaultVfs` asynchronous sync waits while "the device works".
 *
 * On a real disk an `fdatasync` takes from a hundred microseconds to milliseconds, and the event
 * loop runs other commits meanwhile (NodeVfs runs it on libuv's thread pool, contract V7). Group
 * commit can go wrong exactly in that window: redo written while a sync is in flight is not covered
 * by it. A `FaultVfs` built with `asyncSyncs` opens the window: its `datasyncAsync` (and
 * `syncAsync`, `syncDirAsync`) covers what was issued before the call, and completes only after a
 * seeded number of steps of a `SyncScheduler` the caller supplies. What a step is belongs to the
 * caller:
 *
 *   scheduler                      a step is                               for
 *   -----------------------------  --------------------------------------  -------------------------------
 *   SteppedSyncScheduler           one call of `step()`                    the simulator (one per scheduler
 *                                                                           step) and deterministic tests
 *   EventLoopSyncScheduler         one turn of the event loop (setImmediate) tests that only await
 *   ClockSyncScheduler             `msPerStep` on a `Clock` (ManualClock,   timed runs; real timers
 *                                  or SystemClock's real timers)
 *
 * InnoDB has no counterpart (it is a test device); LazyFS and CrashMonkey model a page cache but
 * not the latency of a sync, which is the part group commit depends on.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Clock } from '../util/clock.js';

/** Runs an in-flight sync's completion after a number of the caller's steps. */
export interface SyncScheduler {
  /** Calls `complete` once, after `steps` (>= 1) steps from now. */
  after(steps: number, complete: () => void): void;
}

/** How a `FaultVfs` delays its asynchronous syncs (`FaultVfsOptions.asyncSyncs`). */
export interface AsyncSyncOptions {
  readonly scheduler: SyncScheduler;
  /** Each sync's delay is drawn from [stepsMin, stepsMax] (seeded, F8). Defaults 1 and 4. */
  readonly stepsMin?: number;
  readonly stepsMax?: number;
}

function checkSteps(steps: number): void {
  if (!Number.isSafeInteger(steps) || steps < 1) {
    throw new InvalidArgumentError(`a sync delay is a positive whole number of steps, got ${String(steps)}`);
  }
}

/**
 * Steps only when told: `step()` moves one step and runs the completions that fall due, oldest
 * first. Deterministic by construction; the simulator calls `step()` once per scheduler step. A
 * sync lands only when stepped, so whoever awaits one (a group commit, `Storage.close` with
 * commits waiting) must keep stepping, or `drain()`.
 */
export class SteppedSyncScheduler implements SyncScheduler {
  private now = 0;
  private order = 0;
  private queue: { readonly due: number; readonly order: number; readonly complete: () => void }[] = [];

  after(steps: number, complete: () => void): void {
    checkSteps(steps);
    this.queue.push({ due: this.now + steps, order: this.order++, complete });
  }

  /** Completions waiting. */
  get pending(): number {
    return this.queue.length;
  }

  /** Moves `count` steps (default 1), running every completion due, in order of due step then of arrival. */
  step(count = 1): void {
    checkSteps(count);
    for (let i = 0; i < count; i++) {
      this.now++;
      const due = this.queue
        .filter((entry) => entry.due <= this.now)
        .sort((a, b) => a.due - b.due || a.order - b.order);
      if (due.length === 0) continue;
      this.queue = this.queue.filter((entry) => entry.due > this.now);
      for (const entry of due) entry.complete();
    }
  }

  /** Steps until nothing waits (a completion may queue more). */
  drain(): void {
    while (this.queue.length > 0) this.step();
  }
}

/** A step is one turn of the event loop. */
export class EventLoopSyncScheduler implements SyncScheduler {
  after(steps: number, complete: () => void): void {
    checkSteps(steps);
    const turn = (left: number): void => {
      if (left === 0) complete();
      else setImmediate(() => turn(left - 1));
    };
    turn(steps);
  }
}

/** A step is `msPerStep` milliseconds of a clock: a ManualClock's, or real time with SystemClock. */
export class ClockSyncScheduler implements SyncScheduler {
  private readonly clock: Clock;
  private readonly msPerStep: number;

  constructor(clock: Clock, msPerStep: number) {
    if (typeof msPerStep !== 'number' || !(msPerStep >= 0) || !Number.isFinite(msPerStep)) {
      throw new InvalidArgumentError(`msPerStep must be a finite number >= 0, got ${String(msPerStep)}`);
    }
    this.clock = clock;
    this.msPerStep = msPerStep;
  }

  after(steps: number, complete: () => void): void {
    checkSteps(steps);
    this.clock.setTimer(steps * this.msPerStep, complete);
  }
}
