/**
 * The simulator's long run: both workloads in turn, in slices, each slice from a fresh seed, for
 * as long as it is given; one JSON report at the end (and after every slice, so a run that is
 * stopped early still leaves its figures).
 *
 *   npm run sim:soak -- --minutes 120                       an hour of each workload
 *   npm run sim:soak -- --minutes 480 --out soak.json       overnight
 *   npm run sim:soak -- --minutes 10 --slice-minutes 1 --workloads table
 *
 * Options:
 *   --minutes <m>         total time (default 60), shared equally by the workloads
 *   --slice-minutes <m>   length of one slice (default 5): every slice starts from a fresh seed,
 *                         printed, so a soak covers many starting points
 *   --workloads <list>    core,table (default both)
 *   --out <file>          the JSON report (default: minno-sim-soak-<date>.json in the OS temp directory)
 *   --save-plans <dir>    where failing runs' plans go (default: next to the report)
 *   --no-debug-checks     without the engine's expensive invariant checks (on by default, as in
 *                         `npm run sim` and the test suite)
 *
 * The report: for each workload its slices (seed, runs, crash points, crashes during recovery,
 * violations, ops per second) and their totals; every violation with its replay command and its
 * plan file. Exit 1 if anything was found, 2 on bad options.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { formatReport, type SimReport, type ViolationReport } from '../sim/report.js';
import { simulate } from '../sim/simulator.js';
import { WORKLOAD_NAMES, isWorkloadName, workloadByName, type WorkloadName } from '../sim/workloads.js';
import { setDebugChecks } from '../src/util/assert.js';
import { freshSeed } from '../src/util/random.js';

interface SliceSummary {
  readonly seed: number;
  readonly runs: number;
  readonly crashPoints: number;
  readonly crashesInRecovery: number;
  readonly settleCrashes: number;
  readonly recoveries: number;
  readonly violations: number;
  readonly elapsedMs: number;
  readonly simulatedOpsPerSecond: number;
  readonly crashPointsPerMinute: number;
}

interface WorkloadSoak {
  readonly workload: WorkloadName;
  readonly slices: SliceSummary[];
  readonly totals: {
    runs: number;
    crashPoints: number;
    crashesInRecovery: number;
    settleCrashes: number;
    recoveries: number;
    elapsedMs: number;
    simulatedOps: number;
  };
  readonly violations: ViolationReport[];
}

function fail(message: string): never {
  process.stderr.write(`sim:soak: ${message}\n`);
  process.exit(2);
}

function positive(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!(n > 0)) fail(`--${name} needs a positive number, got ${value}`);
  return n;
}

function summary(report: SimReport): SliceSummary {
  return {
    seed: report.seed,
    runs: report.runs,
    crashPoints: report.crashPoints,
    crashesInRecovery: report.crashesInRecovery,
    settleCrashes: report.settleCrashes.crashes,
    recoveries: report.recoveries,
    violations: report.violations.length,
    elapsedMs: report.elapsedMs,
    simulatedOpsPerSecond: report.simulatedOpsPerSecond,
    crashPointsPerMinute: report.crashPointsPerMinute,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string' },
      'slice-minutes': { type: 'string' },
      workloads: { type: 'string' },
      out: { type: 'string' },
      'save-plans': { type: 'string' },
      'no-debug-checks': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  setDebugChecks(!values['no-debug-checks']);
  if (values.help) {
    process.stdout.write(
      'usage: npm run sim:soak -- [--minutes 60] [--slice-minutes 5] [--workloads core,table] [--out file] [--save-plans dir]\n',
    );
    return;
  }
  const minutes = positive(values.minutes, 'minutes', 60);
  const sliceMinutes = positive(values['slice-minutes'], 'slice-minutes', 5);
  const names = (values.workloads ?? WORKLOAD_NAMES.join(',')).split(',').map((name) => {
    if (!isWorkloadName(name)) fail(`--workloads takes ${WORKLOAD_NAMES.join(', ')}, got ${name}`);
    return name;
  });
  const started = new Date();
  const out = values.out ?? join(tmpdir(), `minno-sim-soak-${started.toISOString().replace(/[:.]/g, '-')}.json`);
  const plans = values['save-plans'] ?? join(dirname(out), 'minno-sim-soak-plans');
  mkdirSync(plans, { recursive: true });
  const soaks: WorkloadSoak[] = names.map((workload) => ({
    workload,
    slices: [],
    totals: {
      runs: 0,
      crashPoints: 0,
      crashesInRecovery: 0,
      settleCrashes: 0,
      recoveries: 0,
      elapsedMs: 0,
      simulatedOps: 0,
    },
    violations: [],
  }));
  const write = (finished: boolean): void => {
    const report = {
      started: started.toISOString(),
      finished: finished ? new Date().toISOString() : undefined,
      host: hostname(),
      node: process.version,
      minutes,
      sliceMinutes,
      workloads: soaks,
    };
    writeFileSync(out, `${JSON.stringify(report, null, 1)}\n`);
  };
  process.stderr.write(
    `sim:soak: ${minutes} min over ${names.join(', ')} in slices of ${sliceMinutes} min; report: ${out}\n`,
  );
  const deadline = performance.now() + minutes * 60_000;
  const perWorkloadMs = (minutes * 60_000) / names.length;
  for (let turn = 0; performance.now() < deadline; turn++) {
    const soak = soaks[turn % soaks.length]!;
    if (soak.totals.elapsedMs >= perWorkloadMs) {
      if (soaks.every((s) => s.totals.elapsedMs >= perWorkloadMs)) break;
      continue;
    }
    const { workload, target } = workloadByName(soak.workload);
    const seed = freshSeed();
    const slice = Math.min(
      sliceMinutes,
      (perWorkloadMs - soak.totals.elapsedMs) / 60_000,
      (deadline - performance.now()) / 60_000,
    );
    process.stderr.write(`sim:soak: ${soak.workload} from seed ${seed} for ${slice.toFixed(1)} min\n`);
    const report = await simulate({
      workload,
      target,
      seed,
      minutes: slice,
      shrink: true,
      shrinkRuns: 200,
      planDirectory: plans,
      planWorkload: soak.workload,
      replayFlags: [
        ...(soak.workload === 'core' ? [] : ['--workload', soak.workload]),
        ...(values['no-debug-checks'] ? ['--no-debug-checks'] : []),
      ],
    });
    const line = summary(report);
    soak.slices.push(line);
    soak.totals.runs += report.runs;
    soak.totals.crashPoints += report.crashPoints;
    soak.totals.crashesInRecovery += report.crashesInRecovery;
    soak.totals.settleCrashes += report.settleCrashes.crashes;
    soak.totals.recoveries += report.recoveries;
    soak.totals.elapsedMs += report.elapsedMs;
    soak.totals.simulatedOps += report.simulatedOps;
    soak.violations.push(...report.violations);
    process.stderr.write(
      `sim:soak: ${soak.workload} seed ${seed}: ${line.runs} runs, ${line.crashPoints} crash points, ${line.violations} violations\n`,
    );
    if (report.violations.length > 0)
      for (const text of formatReport(report).filter((l) => !l.startsWith('      '))) process.stdout.write(`${text}\n`);
    write(false);
  }
  write(true);
  for (const soak of soaks) {
    const t = soak.totals;
    const minutesRun = t.elapsedMs / 60_000;
    process.stdout.write(
      `${soak.workload}: ${soak.slices.length} seeds (${soak.slices.map((s) => s.seed).join(', ')}), ${minutesRun.toFixed(1)} min, ` +
        `${t.runs} runs, ${t.crashPoints} crash points (${t.crashesInRecovery} during recovery, ${t.settleCrashes} in background work after recovery), ` +
        `${t.recoveries} recoveries checked, ${Math.round(t.simulatedOps / Math.max(1, t.elapsedMs / 1000))} ops/s, ${soak.violations.length} violations\n`,
    );
  }
  process.stdout.write(`report: ${out}\n`);
  process.exitCode = soaks.some((soak) => soak.violations.length > 0) ? 1 : 0;
}

await main();
