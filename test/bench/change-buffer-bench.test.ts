/**
 * The change-buffer benchmarks (bench/change-buffer.bench.ts) at scale `tiny`, so they keep
 * working (STYLE 12). Figures are only checked to be there, finite and positive; the ratios are
 * `npm run bench`'s business, never a test's.
 */
import { describe, expect, it } from 'vitest';
import { suite } from '../../bench/change-buffer.bench.js';
import { formatTable, type Metric } from '../../bench/lib/report.js';

function badFigures(metrics: readonly Metric[]): string[] {
  return metrics.flatMap((m) =>
    [m.median, m.p99Worst, m.baseline?.ratio ?? 1, ...m.samples]
      .filter((v) => !(Number.isFinite(v) && v > 0))
      .map((v) => `${m.workload} / ${m.name}: ${v}`),
  );
}

describe('change-buffer benchmarks (tiny)', () => {
  it('measures what the issue asks for, in suite order (the workloads share their databases)', async () => {
    expect(suite.workloads.map((w) => w.name)).toEqual(['insert', 'update-index', 'recovery']);
    for (const workload of suite.workloads) {
      const metrics = await workload.run('tiny', () => {});
      expect(metrics.length, workload.name).toBeGreaterThan(0);
      expect(badFigures(metrics)).toEqual([]);
      expect(formatTable(metrics).split('\n')).toHaveLength(metrics.length + 2);
    }
  }, 120_000);
});
