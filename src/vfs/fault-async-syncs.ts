/**
 * The asynchronous syncs of a `FaultVfs` between their start and their landing (`asyncSyncs`).
 *
 * A sync takes time on a real disk, and group commit can go wrong in that window (see
 * `sync-scheduler.ts`). `FaultVfs` counts an asynchronous sync, and may crash at it, when it is
 * called and fixes then what it covers (F12, in the module doc of `fault-vfs.ts`); this file holds
 * the rest: the seeded delay each one waits on the caller's `SyncScheduler`, the set of syncs in
 * flight, and their end at a crash, which rejects every one with SimulatedCrashError so that none
 * lands afterwards (F6). The delays come from a stream of their own (F8), forked by `FaultVfs` after
 * its other streams so that adding this machinery shifted none of them.
 *
 * InnoDB has no counterpart (this is a test device).
 */
import { InvalidArgumentError, SimulatedCrashError } from '../errors.js';
import type { RandomSource } from '../util/random.js';
import { checkCount } from './fault-schedule.js';
import type { AsyncSyncOptions, SyncScheduler } from './sync-scheduler.js';

/** An asynchronous sync between its start and its completion. */
interface InFlightSync {
  readonly reject: (error: unknown) => void;
}

export class InFlightSyncs {
  private readonly delay: { readonly scheduler: SyncScheduler; readonly min: number; readonly max: number } | undefined;
  private readonly syncs = new Set<InFlightSync>();

  /** Checks `options` (undefined: every sync lands at once, before its promise settles). */
  constructor(
    private readonly random: RandomSource,
    options: AsyncSyncOptions | undefined,
  ) {
    if (options === undefined) return;
    if (typeof options !== 'object' || options === null || typeof options.scheduler?.after !== 'function') {
      throw new InvalidArgumentError('asyncSyncs needs a scheduler: { scheduler: new SteppedSyncScheduler() }');
    }
    const min = options.stepsMin ?? 1;
    const max = options.stepsMax ?? Math.max(4, min);
    checkCount(min, 'asyncSyncs.stepsMin');
    checkCount(max, 'asyncSyncs.stepsMax');
    if (max < min) throw new InvalidArgumentError(`asyncSyncs.stepsMax ${max} is below stepsMin ${min}`);
    this.delay = { scheduler: options.scheduler, min, max };
  }

  /** True when syncs are delayed (the VFS was built with `asyncSyncs`). */
  get delayed(): boolean {
    return this.delay !== undefined;
  }

  /** Syncs started and not yet landed or rejected. */
  get size(): number {
    return this.syncs.size;
  }

  /**
   * Schedules the landing of an asynchronous sync `steps` (seeded) from now. A crash before it
   * lands rejects it with SimulatedCrashError (F6: the process is gone) and the sync never lands.
   */
  schedule(land: () => void): Promise<void> {
    if (this.delay === undefined) throw new InvalidArgumentError('no asyncSyncs: a sync lands at once');
    const { scheduler, min, max } = this.delay;
    const steps = this.random.intBetween(min, max);
    return new Promise<void>((resolve, reject) => {
      const sync: InFlightSync = { reject };
      this.syncs.add(sync);
      scheduler.after(steps, () => {
        if (!this.syncs.delete(sync)) return; // a crash settled it
        try {
          land();
          resolve();
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  /** The VFS crashed: every sync in flight is rejected and will never land (F6). */
  rejectAll(reason: string): void {
    const inFlight = [...this.syncs];
    this.syncs.clear();
    for (const sync of inFlight) sync.reject(new SimulatedCrashError(reason));
  }
}
