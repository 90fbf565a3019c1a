/**
 * Benchmark figures and how they are reported: a markdown table on stdout and a JSON file per
 * suite in `bench/results/` (git-ignored).
 *
 * A `Metric` is one figure built from samples (one sample per timed batch or per round), reported
 * as its median and its p99 on the side that hurts (see stats.ts). A metric may name a baseline
 * measured in the same run, and a target from the issue; the table says whether the target is met
 * and by how much it is missed. The ratio to a baseline is the median of per-round ratios when the
 * baseline was measured right before each round of the metric (`paired`: a disk whose speed
 * drifts, or that other processes share, moves both sides of each ratio alike), and the median
 * over the baseline's median otherwise.
 *
 * Table columns:
 *
 *   workload | metric | median | p99 worst | unit | n | vs baseline | target | status
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { median, percentileOfSorted, sortedCopy, worstP99, type Better } from './stats.js';

/**
 * A target from the issue. `on: 'ratio'` compares the ratio to the baseline, `on: 'median'` the
 * figure itself. `'~'` ("about") is met up to `APPROX_SLACK` times the value on the bad side.
 */
export interface Target {
  readonly op: '>=' | '<=' | '~';
  readonly value: number;
  readonly on: 'median' | 'ratio';
}

/** How far past an "about X" target a figure may be and still count as met. */
export const APPROX_SLACK = 1.25;

/** A baseline as a metric names it: its samples, paired one to one with the metric's or not. */
export interface BaselineInput {
  readonly name: string;
  readonly samples: readonly number[];
  readonly paired: boolean;
}

export interface Baseline {
  readonly name: string;
  readonly median: number;
  readonly paired: boolean;
  /** The metric over the baseline (see the module doc). */
  readonly ratio: number;
}

export interface Metric {
  readonly workload: string;
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
  readonly samples: readonly number[];
  readonly median: number;
  readonly p99Worst: number;
  readonly baseline?: Baseline;
  readonly target?: Target;
  readonly note?: string;
}

export interface MetricInput {
  readonly workload: string;
  readonly name: string;
  readonly unit: string;
  readonly better: Better;
  readonly samples: readonly number[];
  readonly baseline?: BaselineInput;
  readonly target?: Target;
  readonly note?: string;
}

/** Builds a metric from its samples; every sample must be a finite number. */
export function metric(input: MetricInput): Metric {
  if (input.samples.length === 0) throw new RangeError(`${input.workload} / ${input.name}: no samples`);
  for (const sample of input.samples) {
    if (!Number.isFinite(sample))
      throw new RangeError(`${input.workload} / ${input.name}: sample ${sample} is not finite`);
  }
  const value = median(input.samples);
  const { baseline, ...rest } = input;
  return {
    ...rest,
    median: value,
    p99Worst: worstP99(input.samples, input.better),
    ...(baseline === undefined ? {} : { baseline: resolveBaseline(input, value, baseline) }),
  };
}

function resolveBaseline(input: MetricInput, value: number, baseline: BaselineInput): Baseline {
  const baselineMedian = median(baseline.samples);
  if (!baseline.paired)
    return { name: baseline.name, median: baselineMedian, paired: false, ratio: value / baselineMedian };
  if (baseline.samples.length !== input.samples.length) {
    throw new RangeError(
      `${input.workload} / ${input.name}: ${input.samples.length} samples paired with ${baseline.samples.length} baseline samples`,
    );
  }
  const ratios = input.samples.map((sample, i) => sample / baseline.samples[i]!);
  return { name: baseline.name, median: baselineMedian, paired: true, ratio: median(ratios) };
}

export type TargetStatus = 'met' | 'missed' | 'none';

/** Whether a metric meets its target, and the figure compared. */
export function targetStatus(m: Metric): { status: TargetStatus; actual?: number } {
  const target = m.target;
  if (target === undefined) return { status: 'none' };
  const actual = target.on === 'ratio' ? m.baseline?.ratio : m.median;
  if (actual === undefined) return { status: 'none' };
  let met: boolean;
  switch (target.op) {
    case '>=':
      met = actual >= target.value;
      break;
    case '<=':
      met = actual <= target.value;
      break;
    case '~':
      met = m.better === 'lower' ? actual <= target.value * APPROX_SLACK : actual >= target.value / APPROX_SLACK;
      break;
  }
  return { status: met ? 'met' : 'missed', actual };
}

/** Three significant digits, thousands separated; small values keep their digits. */
export function formatNumber(value: number): string {
  if (value === 0) return '0';
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, 2 - magnitude);
  return value.toLocaleString('en-US', { maximumFractionDigits: decimals, minimumFractionDigits: 0 });
}

function describeTarget(m: Metric): string {
  const target = m.target;
  if (target === undefined) return '';
  const op = target.op === '~' ? '≈' : target.op === '>=' ? '≥' : '≤';
  return target.on === 'ratio'
    ? `${op} ${formatNumber(target.value)}×`
    : `${op} ${formatNumber(target.value)} ${m.unit}`;
}

function describeStatus(m: Metric): string {
  const { status, actual } = targetStatus(m);
  if (status === 'none' || actual === undefined) return '';
  if (status === 'met') return 'met';
  const value = m.target!.value;
  // How far off, as the factor the figure must improve by.
  const factor = m.better === 'higher' ? value / actual : actual / value;
  return `**missed** (${formatNumber(factor)}× off)`;
}

/** The metrics as a markdown table. */
export function formatTable(metrics: readonly Metric[]): string {
  const header = ['workload', 'metric', 'median', 'p99 worst', 'unit', 'n', 'vs baseline', 'target', 'status'];
  const rows = metrics.map((m) => [
    m.workload,
    m.note === undefined ? m.name : `${m.name} (${m.note})`,
    formatNumber(m.median),
    formatNumber(m.p99Worst),
    m.unit,
    String(m.samples.length),
    m.baseline === undefined ? '' : `${formatNumber(m.baseline.ratio)}× ${m.baseline.name}`,
    describeTarget(m),
    describeStatus(m),
  ]);
  const line = (cells: readonly string[]): string => `| ${cells.map((c) => c.replaceAll('|', '\\|')).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** More samples than this are written to JSON as percentiles 0, 1, ..., 100 instead. */
export const JSON_SAMPLES_MAX = 1000;

/** A metric as written to JSON: its samples, or their percentiles when there are many. */
export type JsonMetric = Omit<Metric, 'samples'> & {
  readonly sampleCount: number;
  readonly samples?: readonly number[];
  readonly percentiles?: readonly number[];
};

export function toJsonMetric(m: Metric): JsonMetric {
  const { samples, ...rest } = m;
  if (samples.length <= JSON_SAMPLES_MAX) return { ...rest, sampleCount: samples.length, samples };
  const sorted = sortedCopy(samples);
  return {
    ...rest,
    sampleCount: samples.length,
    percentiles: Array.from({ length: 101 }, (_, p) => percentileOfSorted(sorted, p)),
  };
}

/** What a suite's JSON file holds. */
export interface SuiteReport {
  readonly suite: string;
  readonly scale: string;
  /** The `--filter` text the run was limited by, if any: then only some workloads ran. */
  readonly filter: string | null;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly memoryBytes: number;
    readonly tmpdir: string;
  };
  readonly metrics: readonly JsonMetric[];
  readonly errors: readonly { readonly workload: string; readonly message: string }[];
}

export function machineInfo(): SuiteReport['machine'] {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryBytes: os.totalmem(),
    tmpdir: os.tmpdir(),
  };
}

/** Writes `<dir>/<suite>.json` and returns its path. */
export function writeReport(dir: string, report: SuiteReport): string {
  fs.mkdirSync(dir, { recursive: true });
  const path = nodePath.join(dir, `${report.suite}.json`);
  fs.writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  return path;
}
