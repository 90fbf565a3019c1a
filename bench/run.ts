/**
 * minno's own micro benchmarks: runs every suite in `bench/*.bench.ts`, prints a markdown table
 * per suite and writes `bench/results/<suite>.json` (git-ignored). `npm run bench` with no
 * workload named (and `minno-bench micro`) comes here; naming a workload runs the comparison
 * harness instead (bench/cli.ts).
 *
 *   npm run bench                         full sizes (the issue's targets are stated at these)
 *   npm run bench -- --quick              smaller sizes: a smoke run well under a minute
 *   npm run bench -- --scale tiny         the test suite's sizes
 *   npm run bench -- --filter recovery    only workloads whose suite/name contains the text
 *   MINNO_BENCH_SCALE=quick npm run bench the scale from the environment
 *
 * Progress goes to stderr, the tables to stdout. The exit code is 1 if a workload failed (the
 * others still run); a missed target is reported, not an error.
 */
import * as fs from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { debugChecks, setDebugChecks } from '../src/util/assert.js';
import { formatTable, machineInfo, toJsonMetric, writeReport, type Metric } from './lib/report.js';
import { BENCH_SCALES, isBenchScale, type BenchScale, type BenchSuite } from './lib/suite.js';
import { UsageError } from './lib/usage-error.js';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

function parseCommandLine(args: readonly string[]): { scale: BenchScale; filter: string | undefined } {
  const { values } = parseArgs({
    args: [...args],
    options: {
      quick: { type: 'boolean', default: false },
      scale: { type: 'string' },
      filter: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      `usage: npm run bench -- [--quick | --scale ${BENCH_SCALES.join('|')}] [--filter TEXT]   (minno-bench --help: the comparison harness)\n`,
    );
    process.exit(0);
  }
  const scale = values.scale ?? (values.quick ? 'quick' : (process.env['MINNO_BENCH_SCALE'] ?? 'full'));
  if (!isBenchScale(scale)) throw new UsageError(`unknown scale '${scale}': use one of ${BENCH_SCALES.join(', ')}`);
  return { scale, filter: values.filter };
}

async function loadSuites(): Promise<BenchSuite[]> {
  const files = fs
    .readdirSync(BENCH_DIR)
    .filter((name) => name.endsWith('.bench.ts'))
    .sort();
  const suites: BenchSuite[] = [];
  for (const file of files) {
    const module = (await import(new URL(file, import.meta.url).href)) as { suite?: BenchSuite };
    if (module.suite === undefined) throw new Error(`bench/${file} exports no 'suite'`);
    suites.push(module.suite);
  }
  return suites;
}

/** Runs the suites; `args` are the options after the command (`--quick`, `--filter recovery`). */
export async function runMicroSuites(args: readonly string[]): Promise<void> {
  const { scale, filter } = parseCommandLine(args);
  // Figures are for the engine as shipped: the expensive invariant checks stay off.
  if (debugChecks())
    process.stderr.write('note: MINNO_DEBUG=1 is set; turning expensive checks off for this process\n');
  setDebugChecks(false);
  const log = (line: string): void => void process.stderr.write(`  ${line}\n`);
  let failed = false;
  for (const suite of await loadSuites()) {
    const workloads = suite.workloads.filter((w) => filter === undefined || `${suite.name}/${w.name}`.includes(filter));
    if (workloads.length === 0) continue;
    const startedAt = new Date();
    const metrics: Metric[] = [];
    const errors: { workload: string; message: string }[] = [];
    process.stderr.write(`# ${suite.title} (scale ${scale})\n`);
    for (const workload of workloads) {
      const t0 = performance.now();
      process.stderr.write(`- ${workload.name}...\n`);
      try {
        metrics.push(...(await workload.run(scale, log)));
        log(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      } catch (error) {
        failed = true;
        const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
        errors.push({ workload: workload.name, message });
        process.stderr.write(`  FAILED: ${message}\n`);
      }
    }
    const durationMs = Date.now() - startedAt.getTime();
    const path = writeReport(RESULTS_DIR, {
      suite: suite.name,
      scale,
      filter: filter ?? null,
      startedAt: startedAt.toISOString(),
      durationMs,
      machine: machineInfo(),
      metrics: metrics.map(toJsonMetric),
      errors,
    });
    process.stdout.write(
      `\n## ${suite.title}\n\nscale ${scale}, ${(durationMs / 1000).toFixed(0)} s, ${machineInfo().cpus} CPUs, node ${process.version}\n\n`,
    );
    process.stdout.write(`${formatTable(metrics)}\n\n`);
    process.stdout.write(
      `p99 worst: the 99th percentile on the side that hurts (of a time; the 1st of a rate). Written to ${path}\n`,
    );
  }
  if (failed) process.exitCode = 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  await runMicroSuites(process.argv.slice(2));
