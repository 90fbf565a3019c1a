/**
 * The crash recipe of STYLE.md, shared by the crash tests of the transactional layers
 * (test/mvcc/crash.test.ts, test/lob/lob-crash.test.ts): run a workload on the fault VFS from a
 * base image, crash it at every write and sync under several policies, reopen the crash image,
 * and let the test compare it with its model.
 *
 * The crash points: every operation under 'process-crash' (unsynced writes survive, so every
 * write makes a different image); every sync under 'power-cut' (unsynced writes are lost, so only
 * the syncs make different images); every fourth operation under 'torn-garbage' (the doublewrite
 * buffer repairs torn page writes). A test may add its own, such as every occurrence of an engine
 * event (`at: 'mtr-commit'`).
 */
import { expect } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { SimulatedCrashError } from '../../src/errors.js';
import { FaultVfs, type CrashImage, type CrashPolicyName } from '../../src/vfs/fault-vfs.js';
import type { EngineEvent } from '../../src/vfs/vfs.js';

export interface CrashPoint {
  readonly policy: CrashPolicyName;
  /** Every mutating operation, every sync, or every occurrence of an engine event. */
  readonly at: 'operation' | 'sync' | EngineEvent;
  readonly stride: number;
}

export const CRASH_POINTS: readonly CrashPoint[] = [
  { policy: 'process-crash', at: 'operation', stride: 1 },
  { policy: 'power-cut', at: 'sync', stride: 1 },
  { policy: 'torn-garbage', at: 'operation', stride: 4 },
];

/** What a workload does to the VFS when nothing crashes: its mutating operations, syncs and engine events. */
export interface WorkloadSize {
  readonly operations: number;
  readonly syncs: number;
  readonly events?: Readonly<Record<EngineEvent, number>>;
}

export interface CrashRecipe<P> {
  /** The image every run starts from. */
  readonly image: CrashImage;
  readonly open: (vfs: FaultVfs) => Promise<Database>;
  /** Called on each database right after it opens, before the workload (hooks on the VFS). */
  readonly prepare?: (vfs: FaultVfs, db: Database) => void;
  /** What the workload reports as it goes (for the model); made fresh for each run. */
  readonly progress: (db: Database) => P;
  readonly workload: (db: Database, progress: P) => Promise<void>;
  /** Reopens and checks a crash image (a label and a seed for its own VFS given). */
  readonly verify: (image: CrashImage, progress: P, what: string, seed: number) => Promise<void>;
  readonly points?: readonly CrashPoint[];
}

/** Runs the workload once without a crash and counts what it does (the crash points to come). */
export async function measureWorkload<P>(
  recipe: CrashRecipe<P>,
  seed: number,
): Promise<WorkloadSize & { progress: P }> {
  const vfs = FaultVfs.fromImage(recipe.image, { seed });
  const db = await recipe.open(vfs);
  recipe.prepare?.(vfs, db);
  const operations = vfs.mutatingOperations;
  const syncs = vfs.syncOperations;
  const before = vfs.eventCounts();
  const progress = recipe.progress(db);
  await recipe.workload(db, progress);
  const after = vfs.eventCounts();
  const events = Object.fromEntries(
    Object.entries(after).map(([name, count]) => [name, count - before[name as EngineEvent]]),
  ) as Record<EngineEvent, number>;
  const size = { operations: vfs.mutatingOperations - operations, syncs: vfs.syncOperations - syncs, events, progress };
  db.abandon();
  return size;
}

/**
 * Crashes the workload at every crash point of `size` (from `measureWorkload`), and verifies each
 * crash image. Returns how many runs crashed.
 */
export async function crashAtEveryPoint<P>(recipe: CrashRecipe<P>, size: WorkloadSize): Promise<number> {
  let runs = 0;
  for (const { policy, at, stride } of recipe.points ?? CRASH_POINTS) {
    const points = at === 'operation' ? size.operations : at === 'sync' ? size.syncs : (size.events?.[at] ?? 0);
    for (let n = 1; n <= points; n += stride) {
      const vfs = FaultVfs.fromImage(recipe.image, { seed: n });
      const db = await recipe.open(vfs);
      recipe.prepare?.(vfs, db);
      const progress = recipe.progress(db);
      if (at === 'operation') vfs.crashAtOperation(n, policy);
      else if (at === 'sync') vfs.crashAtSync(n, policy);
      else vfs.crashAtEvent(at, n, policy);
      try {
        await recipe.workload(db, progress);
      } catch (error) {
        if (!(error instanceof SimulatedCrashError) && !vfs.crashed) throw error;
      }
      expect(vfs.crashed, `${policy} ${at} ${n} crashed`).toBe(true);
      db.abandon();
      await recipe.verify(vfs.crashImage(), progress, `${policy} ${at} ${n}`, n + 7);
      runs++;
    }
  }
  return runs;
}
