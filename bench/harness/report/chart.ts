/**
 * The chart: an SVG drawn by Vega-Lite (compiled to Vega and rendered headless by vega's View,
 * no browser and no canvas), two rows of small multiples, one panel per workload:
 *
 *   - throughput: a bar per engine (events/s; bulk_insert rows/s), each panel its own scale;
 *   - latency: p50, p95, p99 and max per engine, µs on a log scale.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { ComparisonReport } from './comparison.js';

const PANEL_COLUMNS = 4;

export function chartSpec(report: ComparisonReport): TopLevelSpec {
  const ok = report.results.filter((r) => r.summary !== undefined);
  const engines = report.engines.map((e) => e.label);
  const throughput = ok.map((r) => ({ workload: r.workload, engine: r.engine, throughput: r.summary!.eventsPerS }));
  const latency = ok.flatMap((r) =>
    (['p50', 'p95', 'p99', 'max'] as const).map((percentile) => ({
      workload: r.workload,
      engine: r.engine,
      percentile,
      us: Math.max(0.001, r.summary!.latencyUs[percentile]),
    })),
  );
  const color = {
    field: 'engine',
    type: 'nominal',
    scale: { domain: engines },
    legend: { orient: 'top', title: null },
  } as const;
  const durability = String(report.options['durability']);
  const panels = (title: string, values: readonly object[], spec: object) => ({
    title,
    data: { values },
    facet: { field: 'workload', type: 'nominal', title: null, sort: report.options['workloads'] as string[] },
    columns: PANEL_COLUMNS,
    spec: { width: 170, height: 130, ...spec },
    resolve: { scale: { y: 'independent' } },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `minno-bench, ${report.startedAt.slice(0, 10)}`,
      subtitle: `durability ${durability}, ${String(report.options['threads'])} client(s), medians of ${String(report.options['repetitions'])} repetition(s)`,
    },
    config: { font: 'sans-serif', view: { stroke: null } },
    vconcat: [
      panels('Throughput (events/s; bulk_insert: rows/s)', throughput, {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'engine', type: 'nominal', axis: null, sort: engines },
          y: { field: 'throughput', type: 'quantitative', title: null, axis: { format: '~s' } },
          color,
        },
      }),
      panels('Latency per event (µs, log scale)', latency, {
        mark: { type: 'line', point: true, tooltip: true },
        encoding: {
          x: {
            field: 'percentile',
            type: 'ordinal',
            sort: ['p50', 'p95', 'p99', 'max'],
            title: null,
            axis: { labelAngle: 0 },
          },
          y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: null, axis: { format: '~s' } },
          color,
        },
      }),
    ],
  } as TopLevelSpec;
}

/** The chart as an SVG document. */
export async function renderChart(report: ComparisonReport): Promise<string> {
  const { spec } = compile(chartSpec(report));
  const view = new vega.View(vega.parse(spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
