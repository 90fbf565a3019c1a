/**
 * The transaction benchmarks (issue 5) at scale `tiny`, so they keep working (STYLE 12): a table
 * of 1000 rows, rounds of tens of milliseconds. Figures are only checked to be there, finite and
 * positive, and the version-chain reads to have walked the chains asked for; speed is
 * `npm run bench`'s business, never a test's.
 */
import { describe, expect, it } from 'vitest';
import { SIZES, suite } from '../../bench/transactions.bench.js';
import { formatTable, type Metric } from '../../bench/lib/report.js';

function expectPositiveFigures(metrics: readonly Metric[]): void {
  expect(metrics.length).toBeGreaterThan(0);
  const bad = metrics.flatMap((m) =>
    [m.median, m.p99Worst, m.baseline?.ratio ?? 1, ...m.samples]
      .filter((v) => !(Number.isFinite(v) && v > 0))
      .map((v) => `${m.name}: ${v}`),
  );
  expect(bad).toEqual([]);
  expect(formatTable(metrics).split('\n')).toHaveLength(metrics.length + 2);
}

describe('transaction benchmarks (tiny)', () => {
  for (const workload of suite.workloads) {
    it(`${workload.name} runs and reports positive figures`, async () => {
      const metrics = await workload.run('tiny', () => {});
      expectPositiveFigures(metrics);
      if (workload.name === 'version-chain') {
        // Each read walked a chain as long as the number of updates after the reader's view.
        const walked = metrics.filter((m) => m.name.includes('chain of')).map((m) => m.note?.split(' versions')[0]);
        expect(walked).toEqual(SIZES.tiny.chain.chainLengths.map((n) => n.toFixed(1)));
      }
    });
  }
});
