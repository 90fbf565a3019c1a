/**
 * What a bench file exports, and the sizes it runs at.
 *
 * Every `bench/*.bench.ts` exports `suite: BenchSuite`. `bench/run.ts` runs every suite it finds;
 * `test/bench/` runs the same workloads at scale `tiny` so they never rot.
 *
 * Scales:
 *   tiny   a few milliseconds per workload: the test suite (figures meaningless, code exercised)
 *   quick  `npm run bench -- --quick`: a smoke run well under a minute
 *   full   `npm run bench`: the sizes the issue's targets are stated at (under ~5 minutes, 2 cores)
 */
import type { Metric } from './report.js';

export const BENCH_SCALES = ['tiny', 'quick', 'full'] as const;
export type BenchScale = (typeof BENCH_SCALES)[number];

export function isBenchScale(value: string): value is BenchScale {
  return (BENCH_SCALES as readonly string[]).includes(value);
}

export interface BenchWorkload {
  /** Short, stable: used by `--filter` and in the JSON. */
  readonly name: string;
  /** Runs the workload at a scale; `log` reports progress lines (stderr in `npm run bench`). */
  run(scale: BenchScale, log: (line: string) => void): Promise<Metric[]>;
}

export interface BenchSuite {
  /** Names the results file: `bench/results/<name>.json`. */
  readonly name: string;
  readonly title: string;
  readonly workloads: readonly BenchWorkload[];
}
