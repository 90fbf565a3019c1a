/**
 * The large-value benchmarks (issue 13) at scale `tiny`, so they keep working (STYLE 12): a 64 KiB
 * value, a few operations a figure. Figures are only checked to be there, finite and positive;
 * speed is `npm run bench`'s business, never a test's. What a partial update writes is a count,
 * not a speed, so it is checked: at most two LOB pages, and an undo record of the changed bytes
 * plus a small constant.
 */
import { describe, expect, it } from 'vitest';
import { suite } from '../../bench/lob.bench.js';
import { formatTable } from '../../bench/lib/report.js';
import { badFigures } from '../support/bench-figures.js';

describe('large-value benchmarks (tiny)', () => {
  it.each(suite.workloads.map((w) => [w.name, w] as const))(
    '%s runs and reports positive figures',
    async (_, workload) => {
      const metrics = await workload.run('tiny', () => {});
      expect(metrics.length).toBeGreaterThan(0);
      expect(badFigures(metrics)).toEqual([]);
      expect(formatTable(metrics).split('\n')).toHaveLength(metrics.length + 2);
      if (workload.name === 'partial-update') {
        const pages = metrics.find((m) => m.name.startsWith('LOB pages'))!;
        expect(Math.max(...pages.samples)).toBeLessThanOrEqual(2);
        const undo = metrics.find((m) => m.name.startsWith('undo record'))!;
        expect(Math.max(...undo.samples)).toBeLessThanOrEqual(100 + 160);
      }
    },
  );

  it('measures what the issue asks for', () => {
    expect(suite.workloads.map((w) => w.name)).toEqual(['partial-update', 'stream', 'insert']);
  });
});
