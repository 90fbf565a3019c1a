/**
 * The storage core benchmarks at scale `tiny`, so they keep working (STYLE 12). Each workload runs
 * for a few milliseconds; the figures are meaningless at this size and only checked to be there,
 * finite and positive. Speed is `npm run bench`'s business, never a test's.
 */
import { describe, expect, it } from 'vitest';
import { suite } from '../../bench/storage-core.bench.js';
import { formatTable, type Metric } from '../../bench/lib/report.js';

function expectSane(metrics: readonly Metric[]): void {
  expect(metrics.length).toBeGreaterThan(0);
  for (const m of metrics) {
    expect(m.samples.length, `${m.workload} / ${m.name}`).toBeGreaterThan(0);
    for (const value of [m.median, m.p99Worst, ...m.samples]) {
      expect(Number.isFinite(value), `${m.workload} / ${m.name}: ${value}`).toBe(true);
      expect(value, `${m.workload} / ${m.name}`).toBeGreaterThan(0);
    }
    if (m.baseline !== undefined) expect(m.baseline.ratio, `${m.workload} / ${m.name} ratio`).toBeGreaterThan(0);
  }
  expect(formatTable(metrics).split('\n')).toHaveLength(metrics.length + 2);
}

describe('storage core benchmarks (tiny)', () => {
  for (const workload of suite.workloads) {
    it(`${workload.name} runs and reports positive figures`, async () => {
      expectSane(await workload.run('tiny', () => {}));
    });
  }
});
