/**
 * The crash recipe of STYLE.md, once: a workload runs on the fault VFS from a fixed image and is
 * crashed at every write (or every n-th) and every sync under a list of policies; each crash
 * image is recovered and checked against what the workload recorded it had done. The tests that
 * use it (test/ibuf/crash.test.ts) supply the workload, what it records, and the check.
 *
 * `firstFailingPoint` runs the same points in the same order but stops at the first whose check
 * fails, and says which it was: the teeth of a rule are "removing it fails within n points".
 */
import { SimulatedCrashError } from '../../src/errors.js';
import { type CrashImage, type CrashPolicyName, FaultVfs } from '../../src/vfs/fault-vfs.js';

export interface CrashPoints {
  readonly policy: CrashPolicyName;
  readonly at: 'operation' | 'sync';
  /** Every `stride`-th point (1: all). */
  readonly stride: number;
}

export interface CrashRecipe<Db, Progress> {
  /** The image every run starts from. */
  readonly image: CrashImage;
  /** Opens (recovers) a database on `vfs`. */
  open(vfs: FaultVfs): Promise<Db>;
  /** What the workload has done so far, fresh for a run on `db`. */
  progress(db: Db): Progress;
  /** The workload: records into `progress` what must survive; may be cut by a simulated crash. */
  run(db: Db, progress: Progress): Promise<void>;
  /** Drops a database whose VFS crashed. */
  abandon(db: Db): void;
  /** Recovers `image` and checks it against `progress`; returns a label of the state reached. */
  verify(image: CrashImage, seed: number, progress: Progress, what: string): Promise<string>;
}

/** One crash point: where the VFS crashes, and its name in messages. */
interface Point {
  readonly policy: CrashPolicyName;
  readonly at: 'operation' | 'sync';
  readonly n: number;
  readonly what: string;
}

/** How many mutating operations and syncs the whole workload makes from the image. */
export async function measureWorkload<Db, Progress>(
  recipe: CrashRecipe<Db, Progress>,
): Promise<{ operations: number; syncs: number; progress: Progress; endImage: CrashImage }> {
  const probe = FaultVfs.fromImage(recipe.image, { seed: 1 });
  const db = await recipe.open(probe);
  const operationsBefore = probe.mutatingOperations;
  const syncsBefore = probe.syncOperations;
  const progress = recipe.progress(db);
  await recipe.run(db, progress);
  const operations = probe.mutatingOperations - operationsBefore;
  const syncs = probe.syncOperations - syncsBefore;
  const endImage = probe.crashNow('process-crash');
  recipe.abandon(db);
  return { operations, syncs, progress, endImage };
}

function pointsOf(lists: readonly CrashPoints[], operations: number, syncs: number): Point[] {
  const points: Point[] = [];
  for (const { policy, at, stride } of lists) {
    const count = at === 'operation' ? operations : syncs;
    for (let n = 1; n <= count; n += stride) points.push({ policy, at, n, what: `${policy} at ${at} ${n}` });
  }
  return points;
}

/** Runs the workload once, crashing at `point`; returns the image the crash left and the progress. */
async function crashAt<Db, Progress>(
  recipe: CrashRecipe<Db, Progress>,
  point: Point,
): Promise<{ image: CrashImage; progress: Progress }> {
  const vfs = FaultVfs.fromImage(recipe.image, { seed: point.n });
  const db = await recipe.open(vfs);
  const progress = recipe.progress(db);
  if (point.at === 'operation') vfs.crashAtOperation(point.n, point.policy);
  else vfs.crashAtSync(point.n, point.policy);
  try {
    await recipe.run(db, progress);
  } catch (error) {
    if (!(error instanceof SimulatedCrashError) && !vfs.crashed) throw error;
  }
  if (!vfs.crashed) throw new Error(`${point.what}: the workload ended before its crash point`);
  recipe.abandon(db);
  return { image: vfs.crashImage(), progress };
}

/** Crashes the workload at every point of `lists` and verifies each recovery; returns the states reached. */
export async function crashAtEveryPoint<Db, Progress>(
  recipe: CrashRecipe<Db, Progress>,
  lists: readonly CrashPoints[],
  measured: { readonly operations: number; readonly syncs: number },
): Promise<{ runs: number; reached: Set<string> }> {
  const reached = new Set<string>();
  let runs = 0;
  for (const point of pointsOf(lists, measured.operations, measured.syncs)) {
    const { image, progress } = await crashAt(recipe, point);
    reached.add(await recipe.verify(image, point.n + 7, progress, point.what));
    runs++;
  }
  return { runs, reached };
}

/** The same points in the same order, up to the first whose recovery fails its check. */
export async function firstFailingPoint<Db, Progress>(
  recipe: CrashRecipe<Db, Progress>,
  lists: readonly CrashPoints[],
  measured: { readonly operations: number; readonly syncs: number },
): Promise<{ index: number; what: string; error: unknown } | undefined> {
  const points = pointsOf(lists, measured.operations, measured.syncs);
  for (const [index, point] of points.entries()) {
    try {
      const { image, progress } = await crashAt(recipe, point);
      await recipe.verify(image, point.n + 7, progress, point.what);
    } catch (error) {
      return { index: index + 1, what: point.what, error };
    }
  }
  return undefined;
}
