/**
 * The simulator's entry point: runs seeds `seed, seed + 1, ...` for a number of runs or a time
 * budget, sums them into one report, and for the first failing run of each rule prints the
 * command that replays it and shrinks it to a short schedule.
 *
 *   const report = await simulate({ workload: coreWorkload, target: storageTarget, seed: 1, runs: 200 });
 *
 * In the spirit of TigerBeetle's VOPR and FoundationDB's simulation: one seed drives the
 * workload, the interleaving, the background work and every fault; any failure replays from it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describePlan, generatePlan, DEFAULT_PLAN_SHAPE, type PlanShape, type SimPlan } from './plan.js';
import { accumulate, emptyReport, finish, violationReport, type SimReport } from './report.js';
import { runPlan, type RunResult } from './runner.js';
import { shrinkPlan } from './shrinker.js';
import { SEAM_NAMES, type SimSeams, type SimTarget, type ViolationRule, type Workload } from './workload.js';

export interface SimulateOptions<E, Op> {
  readonly workload: Workload<E, Op>;
  readonly target: SimTarget<E>;
  /** The first seed; run i uses seed + i. */
  readonly seed: number;
  /** Stop after this many runs (default 100 unless `minutes` is given). */
  readonly runs?: number;
  /** Stop starting runs once this many minutes have passed. */
  readonly minutes?: number;
  /** TEST ONLY: rules removed through the engine's test seams. */
  readonly seams?: SimSeams;
  readonly walOracle?: boolean;
  /** Slow asynchronous syncs (default on; RunOptions.slowSyncs). */
  readonly slowSyncs?: boolean;
  /** Process crashes leave the OS cache for a later power cut (default on; RunOptions.osCache). */
  readonly osCache?: boolean;
  readonly shape?: PlanShape;
  /** Shrink the first failing run of each rule (default true). */
  readonly shrink?: boolean;
  /** Candidate runs per shrink (default 300). */
  readonly shrinkRuns?: number;
  /** Stop after this many failing runs (default: never). */
  readonly stopAfterFailures?: number;
  /** Extra command-line flags the replay command needs (the seams, the oracle switch). */
  readonly replayFlags?: readonly string[];
  /** Where the plans of failing runs, and shrunk plans, are saved (default: not saved). */
  readonly planDirectory?: string;
  /** The workload's command-line name, written into saved plans so `--plan` replays the right one. */
  readonly planWorkload?: string;
  /** Called after every run (progress). */
  readonly onRun?: (result: RunResult, report: SimReport) => void;
}

/** The command that replays run `seed` alone. */
export function replayCommand(seed: number, flags: readonly string[] = []): string {
  return ['npm run sim -- --seed', String(seed), '--runs 1', ...flags].join(' ');
}

export async function simulate<E, Op>(options: SimulateOptions<E, Op>): Promise<SimReport> {
  const started = performance.now();
  const broken = SEAM_NAMES.filter((name) => options.seams?.[name] === true);
  const report = emptyReport(options.seed, options.target.name, options.workload.name, broken);
  const runs = options.runs ?? (options.minutes === undefined ? 100 : Infinity);
  const deadline = options.minutes === undefined ? Infinity : started + options.minutes * 60_000;
  const shrunkRules = new Set<string>();
  let failures = 0;
  for (let i = 0; i < runs && performance.now() < deadline; i++) {
    const seed = options.seed + i;
    const plan = generatePlan(seed, options.workload, options.target, options.shape ?? DEFAULT_PLAN_SHAPE);
    const result = await runPlan(plan, options.workload, options.target, {
      seams: options.seams ?? {},
      walOracle: options.walOracle ?? true,
      slowSyncs: options.slowSyncs ?? true,
      osCache: options.osCache ?? true,
    });
    accumulate(report, result, plan.focus);
    if (result.violations.length > 0) {
      failures++;
      await reportViolations(options, report, plan, result, shrunkRules);
    }
    options.onRun?.(result, report);
    if (options.stopAfterFailures !== undefined && failures >= options.stopAfterFailures) break;
  }
  return finish(report, performance.now() - started);
}

/** Replays one saved plan (a shrunk one, from `--plan`). */
export async function replayPlan<E, Op>(options: SimulateOptions<E, Op>, plan: SimPlan<Op>): Promise<SimReport> {
  const started = performance.now();
  const broken = SEAM_NAMES.filter((name) => options.seams?.[name] === true);
  const report = emptyReport(plan.seed, options.target.name, options.workload.name, broken);
  const result = await runPlan(plan, options.workload, options.target, {
    seams: options.seams ?? {},
    walOracle: options.walOracle ?? true,
    slowSyncs: options.slowSyncs ?? true,
    osCache: options.osCache ?? true,
    trace: true,
  });
  accumulate(report, result, plan.focus);
  for (const violation of result.violations) {
    const entry = violationReport(plan.seed, violation, 'npm run sim -- --plan <file>');
    entry.shrunk = {
      runs: 0,
      stepsBefore: 0,
      stepsAfter: 0,
      schedule: [...describePlan(plan, options.workload), 'executed:', ...result.trace],
    };
    report.violations.push(entry);
  }
  return finish(report, performance.now() - started);
}

/** Distinct violations shrunk per invocation (shrinking costs hundreds of runs each). */
const SHRINKS_MAX = 6;

/** What makes two violations "the same bug" for shrinking: the rule and where it was seen. */
function signature(violation: { readonly rule: ViolationRule; readonly phase: string }): string {
  return `${violation.rule} @ ${violation.phase.replace(/\d+/g, 'N')}`;
}

function savePlan<Op>(directory: string, name: string, workload: string | undefined, plan: SimPlan<Op>): string {
  const file = join(directory, name);
  writeFileSync(file, `${JSON.stringify(workload === undefined ? plan : { workload, ...plan }, null, 1)}\n`);
  return file;
}

/**
 * Adds a failing run's violations to the report. Every one gets the command that replays its run
 * and, when a plan directory is given, a plan file: the run's plan, or the shrunk plan of the first
 * failing run with the same signature (rule and phase), shrunk here (up to SHRINKS_MAX per call).
 */
async function reportViolations<E, Op>(
  options: SimulateOptions<E, Op>,
  report: SimReport,
  plan: SimPlan<Op>,
  result: RunResult,
  shrunkRules: Set<string>,
): Promise<void> {
  const replay = replayCommand(plan.seed, options.replayFlags);
  const first = result.violations[0]!;
  const entries = result.violations.map((violation) => violationReport(plan.seed, violation, replay));
  report.violations.push(...entries);
  const directory = options.planDirectory;
  const runPlanFile =
    directory === undefined
      ? undefined
      : savePlan(directory, `minno-sim-seed-${plan.seed}.json`, options.planWorkload, plan);
  const planReplay = (file: string): string =>
    [
      'npm run sim -- --plan',
      file,
      ...(options.replayFlags ?? []).filter((flag, i, all) => flag !== '--workload' && all[i - 1] !== '--workload'),
    ].join(' ');
  for (const entry of entries) {
    if (runPlanFile !== undefined) Object.assign(entry, { planFile: runPlanFile, planReplay: planReplay(runPlanFile) });
  }
  const key = signature(first);
  if (options.shrink === false || shrunkRules.has(key) || shrunkRules.size >= SHRINKS_MAX) return;
  shrunkRules.add(key);
  const runOptions = {
    seams: options.seams ?? {},
    walOracle: options.walOracle ?? true,
    slowSyncs: options.slowSyncs ?? true,
    osCache: options.osCache ?? true,
  };
  const shrunk = await shrinkPlan(plan, options.workload, options.target, runOptions, first.rule, {
    maxRuns: options.shrinkRuns ?? 300,
  });
  if (shrunk === undefined) return;
  const traced = await runPlan(shrunk.plan, options.workload, options.target, { ...runOptions, trace: true });
  const planFile =
    directory === undefined
      ? undefined
      : savePlan(directory, `minno-sim-shrunk-seed-${plan.seed}-${first.rule}.json`, options.planWorkload, shrunk.plan);
  entries[0]!.shrunk = {
    runs: shrunk.runs,
    stepsBefore: shrunk.stepsBefore,
    stepsAfter: shrunk.stepsAfter,
    schedule: [...describePlan(shrunk.plan, options.workload), 'executed:', ...traced.trace],
    ...(planFile === undefined ? {} : { planFile, replay: planReplay(planFile) }),
  };
}
