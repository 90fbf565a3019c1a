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
import { freshSeed } from '../src/util/random.js';

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
export const CI_TABLE_SLICE_RUNS = 60;

/**
 * Runs the table workload's CI slice: no violation; crashes at every event incl. purge steps;
 * crashes of the background work after recovery; pool pressure in nearly every phase; corruption
 * probes that land on pages the workload reads and are reported; secondary-index changes buffered
 * and merged by the change buffer.
 */
export async function runTableCiSlice(): Promise<{ summary: string; problems: string[] }> {
  const report = await simulate({
    workload: tableWorkload,
    target: tableTarget,
    seed: CI_TABLE_FIRST_SEED,
    runs: CI_TABLE_SLICE_RUNS,
    shrink: false,
  });
  const problems = coverageProblems(report, {
    crashPointsMin: 250,
    crashEvents: [...tableTarget.crashEvents, 'recovery-apply'],
    policiesMin: 10,
    evictingPhasesMin: { run: 0.8, recovery: 0.8, settle: 0.8 },
    settleCrashes: true,
  });
  if (report.changeBuffer.buffered === 0 || report.changeBuffer.merges === 0)
    problems.push(`the change buffer was not exercised: ${JSON.stringify(report.changeBuffer)}`);
  const summary = { ...ciSummary(report), changeBuffer: report.changeBuffer };
  return { summary: `simulator CI table slice: ${JSON.stringify(summary)}`, problems };
}

/** Runs per workload from the fresh seed CI adds to its fixed ones. */
export const CI_FRESH_RUNS: Readonly<Record<'core' | 'table', number>> = { core: 120, table: 12 };

/**
 * A slice from a fresh seed (printed with the command that replays it): the fixed seeds keep CI
 * deterministic, the fresh one makes every CI run look somewhere new. Only violations count here.
 */
export async function runFreshCiSlice(
  workload: 'core' | 'table',
  seed = freshSeed(),
): Promise<{ summary: string; problems: string[] }> {
  const runs = CI_FRESH_RUNS[workload];
  const table = workload === 'table';
  const report = table
    ? await simulate({ workload: tableWorkload, target: tableTarget, seed, runs, shrink: false })
    : await simulate({ workload: coreWorkload, target: storageTarget, seed, runs, shrink: false });
  const replay = `npm run sim -- --seed ${seed} --runs ${runs}${table ? ' --workload table' : ''}`;
  const problems = report.violations.map((v) => `[${v.rule}] ${v.replay}: ${v.message}`);
  return {
    summary: `simulator CI fresh ${workload} slice from seed ${seed} (replay: ${replay}): ${JSON.stringify(ciSummary(report))}`,
    problems,
  };
}
