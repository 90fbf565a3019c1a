/**
 * The crash harness: the one recipe every crash test follows (STYLE.md 8).
 *
 *     image  = base image: a fresh FaultVfs, the engine opened, set up, closed cleanly
 *     counts = the workload once with no crash: its mutating operations, syncs, engine events
 *     for each crash point (every operation, every sync, an engine event, a seeded random point, the end):
 *       run    = the engine opened on a FaultVfs made from `image`; the point armed
 *       crash  = the workload until the VFS crashes (or to its end, then a crash now); the process dies
 *       recover= the engine opened on the crash image: recovery runs
 *       compare= the test's model: what must have survived, and nothing in part
 *
 * A test supplies the engine (`open`: a Database, a Storage, with its oracles and seams), the
 * workload (which records what it acknowledged in its own progress object, so a crash part way
 * still leaves the model right) and the comparison; the harness does the rest the same way for
 * all of them. `crashAtEach(image, pointsOf(EVERY_WRITE_AND_SYNC, counts), steps)` is the whole
 * loop in one call; `firstFailure` runs the same loop with a rule broken and names the first run
 * that catches it. Two sequences the fault model has beyond a crash image of durable bytes are here too:
 *
 *  - a kill -9 keeps the OS page cache: a 'process-crash' image reopens with the dead process's
 *    unsynced writes still unsynced (FaultVfs F11), and `powerCut` on the recovered run cuts the
 *    power afterwards (recovery must have made durable what it built on: recovery.ts RC2);
 *  - slow syncs: `new CrashHarness(open, { slowSyncs: { stepsMin, stepsMax } })` gives every VFS
 *    a `SteppedSyncScheduler` (FaultVfs F12), handed to the workload as `run.syncs`, so a workload
 *    decides when an fsync lands while commits go on.
 *
 * A run's seed seeds its VFS (its crash image and every random choice, F8); tests keep their seeds,
 * so a failure names the run to replay.
 */
import { expect } from 'vitest';
import {
  type AsyncSyncOptions,
  type CrashImage,
  type CrashPolicyName,
  FaultVfs,
  SteppedSyncScheduler,
} from '../../src/vfs/fault-vfs.js';
import { ENGINE_EVENTS, type EngineEvent } from '../../src/vfs/vfs.js';

/** What a crash test runs: a Database or a Storage (anything that closes cleanly or dies). */
export interface CrashEngine {
  close(): Promise<void>;
  /** The process dies: nothing more is written. */
  abandon(): void;
}

/** Where a run crashes. Counts start once the engine is open (or before it, with `includeOpen`). */
export type CrashPoint =
  | { readonly at: 'operation' | 'sync'; readonly n: number; readonly policy: CrashPolicyName }
  | { readonly at: 'event'; readonly event: EngineEvent; readonly n: number; readonly policy: CrashPolicyName }
  /** A seeded point among the next `within` operations; the workload may end first (then a crash at the end). */
  | { readonly at: 'random'; readonly within: number; readonly policy: CrashPolicyName }
  /** No crash armed: the workload runs to its end, then the crash comes. */
  | { readonly at: 'end'; readonly policy: CrashPolicyName };

export function describePoint(point: CrashPoint): string {
  switch (point.at) {
    case 'operation':
    case 'sync':
      return `${point.policy} at ${point.at} ${point.n}`;
    case 'event':
      return `${point.policy} at ${point.event} ${point.n}`;
    case 'random':
      return `${point.policy} at a random point of ${point.within}`;
    case 'end':
      return `${point.policy} at the end`;
  }
}

/** Every `stride`-th operation (or sync) from 1 to `count`, under each policy in turn. */
export function everyPoint(
  policies: readonly CrashPolicyName[],
  at: 'operation' | 'sync',
  count: number,
  stride = 1,
): CrashPoint[] {
  const points: CrashPoint[] = [];
  for (const policy of policies) for (let n = 1; n <= count; n += stride) points.push({ at, n, policy });
  return points;
}

/** A family of crash points: every `stride`-th operation, sync or occurrence of an engine event, under `policy`. */
export interface CrashPlan {
  readonly policy: CrashPolicyName;
  readonly at: 'operation' | 'sync' | EngineEvent;
  readonly stride: number;
}

/**
 * STYLE.md 8's points: every operation under 'process-crash' (unsynced writes survive, so every
 * write makes a different image); every sync under 'power-cut' (unsynced writes are lost, so only
 * the syncs make different images); every fourth operation under 'torn-garbage' (the doublewrite
 * buffer repairs torn page writes, so fewer are needed).
 */
export const EVERY_WRITE_AND_SYNC: readonly CrashPlan[] = [
  { policy: 'process-crash', at: 'operation', stride: 1 },
  { policy: 'power-cut', at: 'sync', stride: 1 },
  { policy: 'torn-garbage', at: 'operation', stride: 4 },
];

/** The points of `plans` in a workload of `counts` (from `CrashHarness.count`), plan after plan. */
export function pointsOf(
  plans: readonly CrashPlan[],
  counts: Pick<WorkloadCounts, 'operations' | 'syncs'> & { readonly events?: WorkloadCounts['events'] },
): CrashPoint[] {
  const points: CrashPoint[] = [];
  for (const { policy, at, stride } of plans) {
    if (at === 'operation' || at === 'sync') {
      points.push(...everyPoint([policy], at, at === 'operation' ? counts.operations : counts.syncs, stride));
      continue;
    }
    const occurrences = counts.events?.[at] ?? 0;
    for (let n = 1; n <= occurrences; n += stride) points.push({ at: 'event', event: at, n, policy });
  }
  return points;
}

/** A point's number: the seed of its run (and, plus 7, of its recovery), so a failure names the run to replay. */
function numberOf(point: CrashPoint): number {
  return point.at === 'random' || point.at === 'end' ? 0 : point.n;
}

/** What `crashAtEach` does at each point: the model, the workload, the check of what recovery gives. */
export interface CrashSteps<E, P, R> {
  /** What the workload records as it goes (what must survive), made fresh on each run's engine. */
  progress(engine: E): P;
  /** The workload: records into `progress` what it had acknowledged; a crash may cut it anywhere. */
  workload(engine: E, progress: P, run: CrashRun<E>): unknown | Promise<unknown>;
  /** Recovers `image` (on a VFS seeded `seed`) and compares it with `progress`; its results are collected. */
  verify(image: CrashImage, seed: number, progress: P, what: string): R | Promise<R>;
}

/** One run of the engine on a FaultVfs. */
export interface CrashRun<E> {
  readonly engine: E;
  readonly vfs: FaultVfs;
  /** With `slowSyncs`: the scheduler the VFS's asynchronous syncs wait on (`step()` lands them). */
  readonly syncs: SteppedSyncScheduler | undefined;
}

export type Workload<E> = (engine: E, run: CrashRun<E>) => unknown | Promise<unknown>;

export interface WorkloadCounts {
  readonly operations: number;
  readonly syncs: number;
  readonly events: Readonly<Record<EngineEvent, number>>;
  /** With `crashAtEnd`: the image the crash at the end left. */
  readonly image: CrashImage | undefined;
}

export interface CrashOutcome {
  /** The image the crash left, to recover from. */
  readonly image: CrashImage;
  /** Whether the armed point was reached (false: the workload ended first and crashed there). */
  readonly crashed: boolean;
  /** The crashed VFS, for its trace and audit. */
  readonly vfs: FaultVfs;
  /** What the workload (or the open) threw when the crash came; undefined if it ended first. */
  readonly error: unknown;
}

export interface CrashHarnessOptions {
  /** Asynchronous syncs that land after a seeded number of scheduler steps (FaultVfs F12). */
  readonly slowSyncs?: Omit<AsyncSyncOptions, 'scheduler'>;
}

export interface RunOptions {
  /** Count (or crash) from before the engine opens: the crash point may fall inside recovery. */
  readonly includeOpen?: boolean;
  /** The workload may end before the point is reached (then the crash comes at its end). */
  readonly mayFinishFirst?: boolean;
}

export interface CountOptions extends RunOptions {
  /** Crash at the end of the counted run under this policy, and return the image (`WorkloadCounts.image`). */
  readonly crashAtEnd?: CrashPolicyName;
}

export class CrashHarness<E extends CrashEngine> {
  private readonly openEngine: (vfs: FaultVfs) => Promise<E>;
  private readonly options: CrashHarnessOptions;

  /** `open` opens (or recovers) the engine under test on a VFS, with whatever oracles the test installs. */
  constructor(open: (vfs: FaultVfs) => Promise<E>, options: CrashHarnessOptions = {}) {
    this.openEngine = open;
    this.options = options;
  }

  /** A FaultVfs for a run: fresh, or made from `image` (a process crash's keeps the OS cache, F11). */
  vfs(seed: number, image?: CrashImage): { vfs: FaultVfs; syncs: SteppedSyncScheduler | undefined } {
    const syncs = this.options.slowSyncs === undefined ? undefined : new SteppedSyncScheduler();
    const options = {
      seed,
      ...(syncs === undefined ? {} : { asyncSyncs: { ...this.options.slowSyncs, scheduler: syncs } }),
    };
    return { vfs: image === undefined ? new FaultVfs(options) : FaultVfs.fromImage(image, options), syncs };
  }

  /** Opens the engine on a fresh VFS (no image) or recovers it from `image`. */
  async start(seed: number, image?: CrashImage): Promise<CrashRun<E>> {
    const { vfs, syncs } = this.vfs(seed, image);
    return { engine: await this.openEngine(vfs), vfs, syncs };
  }

  /** Recovery: the engine opened on what a crash left. */
  recover(image: CrashImage, seed: number): Promise<CrashRun<E>> {
    return this.start(seed, image);
  }

  /** The process dies now under `policy`: the image it leaves. */
  die(run: CrashRun<E>, policy: CrashPolicyName): CrashImage {
    const image = run.vfs.crashNow(policy);
    run.engine.abandon();
    return image;
  }

  /** A power cut after a run (after a kill -9 and its recovery: what recovery did not sync is gone), then recovery. */
  powerCut(run: CrashRun<E>, seed: number): Promise<CrashRun<E>> {
    return this.recover(this.die(run, 'power-cut'), seed);
  }

  /** The image every run starts from: a fresh VFS, `build` on the engine, a clean close. */
  async baseImage<T>(seed: number, build: Workload<E> = () => undefined): Promise<{ image: CrashImage; built: T }> {
    const run = await this.start(seed);
    const built = (await build(run.engine, run)) as T;
    await run.engine.close();
    return { image: run.vfs.durableImage(), built };
  }

  /** The workload once with no crash (from `image`): what it does, counted. The process dies at the end. */
  async count(
    image: CrashImage,
    seed: number,
    workload: Workload<E>,
    options: CountOptions = {},
  ): Promise<WorkloadCounts> {
    const { vfs, syncs } = this.vfs(seed, image);
    let before = options.includeOpen === true ? snapshot(vfs) : undefined;
    const engine = await this.openEngine(vfs);
    before ??= snapshot(vfs);
    await workload(engine, { engine, vfs, syncs });
    const after = snapshot(vfs);
    const end = options.crashAtEnd === undefined ? undefined : vfs.crashNow(options.crashAtEnd);
    engine.abandon();
    return {
      image: end,
      operations: after.operations - before.operations,
      syncs: after.syncs - before.syncs,
      events: Object.fromEntries(ENGINE_EVENTS.map((e) => [e, after.events[e] - before.events[e]])) as Record<
        EngineEvent,
        number
      >,
    };
  }

  /**
   * One crash: the workload on a VFS made from `image`, crashed at `point` (a point that counts
   * operations, syncs or events must be reached, unless `mayFinishFirst`: the test fails if the
   * workload ends first). Any
   * error but the crash fails the test. The process dies; the image is returned for recovery.
   */
  async crash(
    image: CrashImage,
    seed: number,
    point: CrashPoint,
    workload: Workload<E>,
    options: RunOptions = {},
  ): Promise<CrashOutcome> {
    const { vfs, syncs } = this.vfs(seed, image);
    let engine: E | undefined;
    let thrown: unknown;
    try {
      if (options.includeOpen === true) arm(vfs, point);
      engine = await this.openEngine(vfs);
      if (options.includeOpen !== true) arm(vfs, point);
      await workload(engine, { engine, vfs, syncs });
    } catch (error) {
      if (!vfs.crashed) throw error;
      thrown = error;
    }
    const crashed = vfs.crashed;
    if ((point.at === 'operation' || point.at === 'sync' || point.at === 'event') && options.mayFinishFirst !== true)
      expect(crashed, `${describePoint(point)}: the workload reached the crash point`).toBe(true);
    const after = crashed ? vfs.crashImage() : vfs.crashNow(point.policy);
    engine?.abandon();
    return { image: after, crashed, vfs, error: thrown };
  }

  /**
   * The loop of the recipe: for each point, a run from `image` crashed there, then `steps.verify`
   * on the image it left. A run's VFS is seeded with its point's number n, its recovery with n + 7.
   * Returns what each verify returned, in the order of `points`.
   */
  async crashAtEach<P, R>(
    image: CrashImage,
    points: readonly CrashPoint[],
    steps: CrashSteps<E, P, R>,
    options: RunOptions = {},
  ): Promise<R[]> {
    const results: R[] = [];
    for (const point of points) results.push(await this.crashAndVerify(image, point, steps, options));
    return results;
  }

  /**
   * The same runs in the same order, up to the first whose crash or check fails: the teeth of a
   * rule are "with the rule broken, a run fails" (and which one, `index` counting from 1).
   */
  async firstFailure<P>(
    image: CrashImage,
    points: readonly CrashPoint[],
    steps: CrashSteps<E, P, unknown>,
    options: RunOptions = {},
  ): Promise<{ index: number; what: string; error: unknown } | undefined> {
    for (const [index, point] of points.entries()) {
      try {
        await this.crashAndVerify(image, point, steps, options);
      } catch (error) {
        return { index: index + 1, what: describePoint(point), error };
      }
    }
    return undefined;
  }

  private async crashAndVerify<P, R>(
    image: CrashImage,
    point: CrashPoint,
    steps: CrashSteps<E, P, R>,
    options: RunOptions,
  ): Promise<R> {
    const n = numberOf(point);
    let progress: P | undefined;
    const outcome = await this.crash(
      image,
      n,
      point,
      async (engine, run) => {
        const recorded = steps.progress(engine);
        progress = recorded;
        await steps.workload(engine, recorded, run);
      },
      options,
    );
    // A crash inside the open (`includeOpen`) comes before the workload recorded anything.
    if (progress === undefined) throw new Error(`${describePoint(point)}: the crash came before the workload started`);
    return steps.verify(outcome.image, n + 7, progress, describePoint(point));
  }
}

function arm(vfs: FaultVfs, point: CrashPoint): void {
  switch (point.at) {
    case 'operation':
      vfs.crashAtOperation(point.n, point.policy);
      return;
    case 'sync':
      vfs.crashAtSync(point.n, point.policy);
      return;
    case 'event':
      vfs.crashAtEvent(point.event, point.n, point.policy);
      return;
    case 'random':
      vfs.crashAtRandom(point.within, point.policy);
      return;
    case 'end':
      return;
  }
}

function snapshot(vfs: FaultVfs): { operations: number; syncs: number; events: Record<EngineEvent, number> } {
  return { operations: vfs.mutatingOperations, syncs: vfs.syncOperations, events: { ...vfs.eventCounts() } };
}
