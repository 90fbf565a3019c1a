/**
 * The deterministic simulator's command line (issue 6).
 *
 *   npm run sim -- --seed 1 --runs 200 --json     one JSON object; exit 1 if any check failed
 *   npm run sim -- --minutes 120                  a fresh seed, for two hours
 *   npm run sim -- --seed 42 --runs 1             replays run 42 (the command a failure prints)
 *   npm run sim -- --plan /tmp/shrunk.json        replays a saved (shrunk) plan
 *
 * Options:
 *   --seed <n>          first seed; run i uses seed + i (default: a fresh one, printed)
 *   --runs <k>          number of runs (default 100, or unbounded with --minutes)
 *   --minutes <m>       stop starting runs after m minutes
 *   --json              print only the report, as one JSON object
 *   --quiet             no progress lines and no shrunk schedules in the text output
 *   --no-shrink         do not shrink failing runs
 *   --shrink-runs <n>   candidate runs per shrink (default 300)
 *   --save-plans <dir>  save the plan of every failing run, and shrunk plans, there (default: the
 *                       OS temp directory); each violation prints its plan file and replay command
 *   --plan <file>       replay one saved plan (its workload is in the file)
 *   --break <rule>      TEST-ONLY DEMONSTRATION: remove a crash-safety rule through the engine's test
 *                       seams (skipWal, disableDoublewrite, applyTornGroups, skipPageChecks) and watch
 *                       the simulator catch it. Never part of a normal run.
 *   --no-wal-oracle     without the WAL write oracle (what the model alone catches)
 *   --workload <w>      core (default: storage-core mini-transactions) or table (the whole engine:
 *                       bank transactions on the Database API, sim/table-workload.ts); a table
 *                       run's replay command carries --workload table
 *   --data-sync-failures  fail syncs of tablespace files as often as log syncs (by default they
 *                       fail a third as often)
 *   --no-slow-syncs     asynchronous syncs land at once (by default they take 1 to 6 scheduler steps,
 *                       so group commit runs with syncs in flight)
 *   --no-os-cache       a process crash's unsynced writes become durable (by default they stay in the
 *                       OS cache, where a power cut during the recovery that follows can take them)
 *   --no-debug-checks   without the engine's expensive invariant checks (src/util/assert.ts). They
 *                       are on by default, as in the test suite: they catch what no model compares
 *                       (a page view kept past the next page read, U13 of undo-log.ts, was found so)
 *
 * The report's fields are documented in sim/report.ts.
 */
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { parseArgs } from 'node:util';
import { setDebugChecks } from '../src/util/assert.js';
import { freshSeed } from '../src/util/random.js';
import { storageTarget } from '../sim/core-target.js';
import { coreWorkload, type CoreOp } from '../sim/core-workload.js';
import { DEFAULT_PLAN_SHAPE, type PlanShape, type SimPlan } from '../sim/plan.js';
import { formatReport, type SimReport } from '../sim/report.js';
import { replayPlan, simulate, type SimulateOptions } from '../sim/simulator.js';
import { SEAM_NAMES, type SeamName } from '../sim/workload.js';
import type { CoreEngine } from '../sim/core-target.js';
import { tableTarget } from '../sim/table-target.js';
import { tableWorkload } from '../sim/table-workload.js';
import { workloadByName } from '../sim/workloads.js';

function fail(message: string): never {
  process.stderr.write(`sim: ${message}\n`);
  process.exit(2);
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) fail(`--${name} needs an integer, got ${value}`);
  return n;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      seed: { type: 'string' },
      runs: { type: 'string' },
      minutes: { type: 'string' },
      json: { type: 'boolean', default: false },
      quiet: { type: 'boolean', default: false },
      'no-shrink': { type: 'boolean', default: false },
      'shrink-runs': { type: 'string' },
      'save-plans': { type: 'string' },
      plan: { type: 'string' },
      break: { type: 'string', multiple: true },
      'no-wal-oracle': { type: 'boolean', default: false },
      'data-sync-failures': { type: 'boolean', default: false },
      'no-slow-syncs': { type: 'boolean', default: false },
      'no-os-cache': { type: 'boolean', default: false },
      'no-debug-checks': { type: 'boolean', default: false },
      workload: { type: 'string', default: 'core' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(
      'usage: npm run sim -- [--seed n] [--runs k | --minutes m] [--json] [--quiet] [--no-shrink] [--plan file] [--break rule]\n',
    );
    return;
  }
  const given = integer(values.seed, 'seed');
  const seed = given ?? freshSeed();
  const runs = integer(values.runs, 'runs');
  if (runs !== undefined && runs < 1) fail('--runs must be at least 1');
  const minutes = values.minutes === undefined ? undefined : Number(values.minutes);
  if (minutes !== undefined && !(minutes > 0)) fail(`--minutes needs a positive number, got ${values.minutes}`);
  const broken = (values.break ?? []).map((name) => {
    if (!(SEAM_NAMES as readonly string[]).includes(name))
      fail(`--break takes one of ${SEAM_NAMES.join(', ')}, got ${name}`);
    return name as SeamName;
  });
  if (values.workload !== 'core' && values.workload !== 'table')
    fail(`--workload takes core or table, got ${values.workload}`);
  const replayFlags = [
    ...(values.workload === 'table' ? ['--workload', 'table'] : []),
    ...broken.flatMap((name) => ['--break', name]),
    ...(values['no-wal-oracle'] ? ['--no-wal-oracle'] : []),
    ...(values['data-sync-failures'] ? ['--data-sync-failures'] : []),
    ...(values['no-slow-syncs'] ? ['--no-slow-syncs'] : []),
    ...(values['no-os-cache'] ? ['--no-os-cache'] : []),
    ...(values['no-debug-checks'] ? ['--no-debug-checks'] : []),
  ];
  setDebugChecks(!values['no-debug-checks']);
  const shape: PlanShape = values['data-sync-failures']
    ? {
        ...DEFAULT_PLAN_SHAPE,
        faultRates: { ...DEFAULT_PLAN_SHAPE.faultRates, syncFailureTargets: { log: 2, data: 2, any: 1 } },
      }
    : DEFAULT_PLAN_SHAPE;
  const log = (line: string): void => {
    if (!values.json) process.stdout.write(`${line}\n`);
  };
  if (given === undefined) log(`seed: ${seed} (fresh)`);
  if (broken.length > 0)
    process.stderr.write(`sim: TEST-ONLY: running with rules removed (${broken.join(', ')}); expect violations\n`);

  // The simulator is generic over engine and operation; this script types its options with the
  // core workload's, and the table workload (its own engine and ops) is passed through the cast.
  const table = values.workload === 'table';
  const options: SimulateOptions<CoreEngine, CoreOp> = {
    workload: table ? (tableWorkload as unknown as typeof coreWorkload) : coreWorkload,
    target: table ? (tableTarget as unknown as typeof storageTarget) : storageTarget,
    seed,
    ...(runs === undefined ? {} : { runs }),
    ...(minutes === undefined ? {} : { minutes }),
    seams: Object.fromEntries(broken.map((name) => [name, true])),
    walOracle: !values['no-wal-oracle'],
    slowSyncs: !values['no-slow-syncs'],
    osCache: !values['no-os-cache'],
    shape,
    shrink: !values['no-shrink'],
    ...(values['shrink-runs'] === undefined ? {} : { shrinkRuns: integer(values['shrink-runs'], 'shrink-runs')! }),
    replayFlags,
    planDirectory: values['save-plans'] ?? tmpdir(),
    planWorkload: values.workload,
    onRun: progress(values.json || values.quiet, minutes),
  };

  let report: SimReport;
  if (values.plan !== undefined) {
    let plan: SimPlan<CoreOp> & { workload?: string };
    try {
      plan = JSON.parse(readFileSync(values.plan, 'utf8')) as SimPlan<CoreOp> & { workload?: string };
    } catch (error) {
      fail(`cannot read plan ${values.plan}: ${String(error)}`);
    }
    if (!Array.isArray(plan.epochs) || typeof plan.config !== 'object') fail(`${values.plan} is not a simulator plan`);
    // A saved plan names its workload; --workload is needed only for plans saved without one.
    const named = workloadByName(plan.workload ?? values.workload);
    report = await replayPlan(
      { ...options, workload: named.workload as typeof coreWorkload, target: named.target as typeof storageTarget },
      plan,
    );
  } else {
    report = await simulate(options);
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const lines = formatReport(report);
    const shown = values.quiet ? lines.filter((line) => !line.startsWith('      ')) : lines;
    for (const line of shown) log(line);
  }
  process.exitCode = report.violations.length > 0 ? 1 : 0;
}

/** A progress line every ten seconds on stderr (text mode, not quiet). */
function progress(silent: boolean, minutes: number | undefined): SimulateOptions<CoreEngine, CoreOp>['onRun'] {
  if (silent) return undefined;
  const started = performance.now();
  let last = started;
  return (_result, report) => {
    const now = performance.now();
    if (now - last < 10_000) return;
    last = now;
    const elapsed = (now - started) / 60_000;
    const budget = minutes === undefined ? '' : ` of ${minutes}`;
    process.stderr.write(
      `sim: ${elapsed.toFixed(1)}${budget} min, ${report.runs} runs, ${report.crashPoints} crash points, ${report.violations.length} violations\n`,
    );
  };
}

await main();
