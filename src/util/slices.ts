/**
 * Long engine work in slices: a bounded step run again and again for about `sliceMs`, then the
 * event loop is given back (`setImmediate`: timers and I/O callbacks run in between) before the
 * next slice. The drops of tables and indexes, what a crash left of them at open, and recovery's
 * redo apply and flush run this way (issue 11: no operation blocks the process for long); index
 * builds have their own runner with progress (index-build-runner.ts).
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
    const deadline = performance.now() + sliceMs;
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
