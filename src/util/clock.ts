/**
 * The injectable clock that every layer takes from its options.
 *
 * Nothing in minno calls `Date.now`, `performance.now` or `setTimeout` directly. Time is needed for
 * the midpoint LRU's old-blocks time, the once-a-second log sync of the weaker durability settings,
 * lock-wait timeouts and the background scheduler. `SystemClock` is the real one; `ManualClock`
 * only moves when a test or the simulator calls `advance`, and fires due timers in order of
 * deadline (ties in order of creation), so a run replays exactly.
 */
import { InvalidArgumentError } from '../errors.js';

export interface TimerHandle {
  cancel(): void;
}

export interface TimerOptions {
  /**
   * The pending timer keeps the process alive (a real clock's timer is otherwise unref'd, so
   * background work never holds a process open). Set for timers that end something the
   * application awaits: a lock wait's timeout, so the waiting promise always settles.
   */
  readonly keepAlive?: boolean;
}

export interface Clock {
  /** Milliseconds, monotonic; only differences are meaningful. */
  nowMs(): number;
  /** Calls `callback` once, no earlier than `delayMs` from now. */
  setTimer(delayMs: number, callback: () => void, options?: TimerOptions): TimerHandle;
}

/** setTimeout's longest delay; a longer one fires at once (Node clamps it to 1 ms). */
const TIMEOUT_MAX_MS = 2 ** 31 - 1;

export class SystemClock implements Clock {
  nowMs(): number {
    return performance.now();
  }

  setTimer(delayMs: number, callback: () => void, options?: TimerOptions): TimerHandle {
    checkDelay(delayMs);
    const keepAlive = options?.keepAlive === true;
    let timer: ReturnType<typeof setTimeout>;
    const arm = (remainingMs: number): void => {
      // Longer than setTimeout can wait: wait in steps instead of firing at once.
      const stepMs = Math.min(Math.max(0, remainingMs), TIMEOUT_MAX_MS);
      timer = setTimeout(
        stepMs === remainingMs || remainingMs <= 0 ? callback : () => arm(remainingMs - stepMs),
        stepMs,
      );
      // A pending background timer must never keep the process alive on its own.
      if (!keepAlive) timer.unref?.();
    };
    arm(delayMs);
    return { cancel: () => clearTimeout(timer) };
  }
}

/** A delay is a number of milliseconds; a negative one means "now". */
function checkDelay(delayMs: number): void {
  if (typeof delayMs !== 'number' || Number.isNaN(delayMs)) {
    throw new InvalidArgumentError(`timer delay must be a number of milliseconds, got ${String(delayMs)}`);
  }
}

interface ManualTimer {
  readonly dueMs: number;
  readonly order: number;
  readonly callback: () => void;
  cancelled: boolean;
}

export class ManualClock implements Clock {
  private currentMs: number;
  private nextOrder = 0;
  private timers: ManualTimer[] = [];

  constructor(startMs = 0) {
    this.currentMs = startMs;
  }

  nowMs(): number {
    return this.currentMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    checkDelay(delayMs); // NaN would make a deadline that compares false with everything
    const timer: ManualTimer = {
      dueMs: this.currentMs + Math.max(0, delayMs),
      order: this.nextOrder++,
      callback,
      cancelled: false,
    };
    this.timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Number of timers not yet fired or cancelled. */
  pendingTimers(): number {
    return this.timers.filter((t) => !t.cancelled).length;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in deadline order. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new InvalidArgumentError(`cannot move a clock backwards (${ms} ms)`);
    const targetMs = this.currentMs + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.cancelled || t.dueMs > targetMs) continue;
        if (next === undefined || t.dueMs < next.dueMs || (t.dueMs === next.dueMs && t.order < next.order)) next = t;
      }
      if (next === undefined) break;
      this.currentMs = Math.max(this.currentMs, next.dueMs);
      next.cancelled = true;
      this.timers = this.timers.filter((t) => !t.cancelled);
      next.callback();
    }
    // A callback may itself have advanced the clock further: time never moves back.
    this.currentMs = Math.max(this.currentMs, targetMs);
  }
}
