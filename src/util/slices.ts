/**
 * Long engine work in slices: a bounded step run again and again for about `sliceMs`, then the
 * event loop is given back (`setImmediate`: timers and I/O callbacks run in between) before the
 * next slice. The drops of tables and indexes, what a crash left of them at open, and recovery's
 * redo apply and flush run this way (issue 11: no operation blocks the process for long); index
 * builds have their own runner with progress (index-build-runner.ts).
 *
 * The engine's slices share one budget per turn of the event loop (`turnDeadline`): Node runs every
 * timer that is due in one phase, back to back, so the page cleaner's step and purge's slice, each
 * about SLICE_MS, were one stretch of twice that (53.9 ms at 1,000,000 rows) although each kept
 * its own limit.
 *
 * InnoDB counterpart: none as such. InnoDB does this work on background threads (the DDL log's
 * post-DDL step frees pages and files, the page cleaners flush); an embedded engine shares its
 * caller's one thread, so the work steps aside by itself.
 */

/** Work per slice by default: the event loop waits about this long (plus one step). */
export const SLICE_MS = 20;

/** Resolves on the next turn of the event loop, after timers and I/O callbacks due now. */
export function nextTurn(): Promise<void> {
  return new Promise<void>((resolve) => setImmediate(resolve));
}

/** The end of the current turn's budget, while one is open (see `turnDeadline`), and who opened it. */
let turnEnds = 0;
let turnOpen = false;
let turnOpener: object | undefined;
const closeTurn = (): void => {
  turnOpen = false;
  turnOpener = undefined;
};

/**
 * The deadline of a slice of at most `sliceMs` that starts now, within the budget of the current
 * turn of the event loop: the first slice in a turn opens a budget of `sliceMs`, and a slice that
 * runs later in the same turn (another timer due in the same phase, another database in the same
 * process) gets what is left of it. A slice that finds the budget spent still takes its one
 * bounded step (callers look at the deadline after a step): nothing starves. The budget closes at
 * the next `setImmediate`, when the loop has gone on to its check phase. `owner` (a `TurnTaker`)
 * that opened the budget itself gets `sliceMs` again: only a manual clock fires one timer twice
 * in a turn, and its steps stay as they were alone.
 */
export function turnDeadline(sliceMs = SLICE_MS, owner?: object): number {
  const now = performance.now();
  if (!turnOpen) {
    turnOpen = true;
    turnOpener = owner;
    turnEnds = now + sliceMs;
    setImmediate(closeTurn);
  } else if (owner !== undefined && owner === turnOpener) {
    return now + sliceMs;
  }
  return Math.min(turnEnds, now + sliceMs);
}

/**
 * Timer work that takes turns with the engine's other timer work (the page cleaner, purge): when
 * it finds this turn's budget spent by another, it lets the turn go and comes back on the next
 * (`deferNow` true), but never twice in a row, so neither starves the other. Alone (the page
 * cleaner of a bare Storage, as the simulator runs it) it never defers.
 */
export class TurnTaker {
  private deferredLast = false;

  /** `turnDeadline` for this taker's slices. */
  deadline(sliceMs: number): number {
    return turnDeadline(sliceMs, this);
  }

  deferNow(): boolean {
    const spent = turnOpen && turnOpener !== this && performance.now() >= turnEnds;
    this.deferredLast = spent && !this.deferredLast;
    return this.deferredLast;
  }
}

/**
 * Runs `step` (one bounded piece of work; true when nothing is left) until it is done, giving the
 * event loop back after each slice of about `sliceMs` (0: after every step). `stop` is asked
 * between slices: true ends the run early, and the run returns false (the work is left for later:
 * every step leaves the database consistent). `onSlice` is called after each slice.
 */
export async function runInSlices(
  step: () => boolean,
  options: { readonly sliceMs?: number; readonly stop?: () => boolean; readonly onSlice?: () => void } = {},
): Promise<boolean> {
  const sliceMs = options.sliceMs ?? SLICE_MS;
  for (;;) {
    const deadline = turnDeadline(sliceMs);
    let done = step();
    while (!done && performance.now() < deadline) done = step();
    options.onSlice?.();
    if (done) return true;
    await nextTurn();
    if (options.stop?.() === true) return false;
  }
}

/**
 * For loops that cannot be cut into steps from outside (recovery's scan and apply): `due()` says
 * when the current slice has run its time, `yield()` gives the event loop back and starts the
 * next one.
 */
export class SliceClock {
  private deadline: number;
  private readonly sliceMs: number;

  constructor(sliceMs = SLICE_MS) {
    this.sliceMs = sliceMs;
    this.deadline = performance.now() + sliceMs;
  }

  due(): boolean {
    return performance.now() >= this.deadline;
  }

  async yield(): Promise<void> {
    await nextTurn();
    this.deadline = performance.now() + this.sliceMs;
  }
}
