/**
 * The simulator's report: one JSON object per invocation (what `npm run sim -- --json` prints and
 * CI reads), summed over runs, plus the human summary.
 *
 * Fields (counts are over every run):
 *
 *   seed, runs                 the first seed and how many runs (run i used seed + i)
 *   crashes                    simulated crashes: one per epoch, plus those during recovery
 *   crashesInRecovery          of which, crashes of a recovery in progress
 *   crashPoints                = crashes: every crash is a point the engine was checked after
 *   recoveries                 recoveries of a crash image that completed and were checked
 *   violations                 every broken check, with the command that replays it and, for the
 *                              first of each rule, the shrunk schedule
 *   simulatedOps               client operations (mini-transactions, DDL) + background actions +
 *                              clock advances + live checks
 *   eventsCrashedAt            crashes at engine events, by event (recovery's included)
 *   operationsCrashedAt        crashes at VFS operations, by operation and file kind
 *   crashKinds, policies       crashes by kind of crash point and by crash policy
 *   focuses                    runs by swarm focus ('none' for unfocused runs)
 *   commits, acked, commitsLost commits by durability; acknowledged; lost within their window
 *   readCorruptions, probes    injected corruptions and how they surfaced
 *   syncFailures               injected sync failures, seen, and the refusals after them
 *   recovery                   the target's recovery counters (groups replayed, pages restored...)
 *   slowSyncs                  epoch steps with an asynchronous sync in flight, and crashes that
 *                              came while one was (group commit's window; RunOptions.slowSyncs)
 *   settleCrashes              crashes of the background work after recovery (rollback of
 *                              recovered transactions, purge, flushing): chains, crashes in them,
 *                              and how often the work finished before its crash point
 *   pool                       pool pressure by phase (run, recovery, settle): phases, phases that
 *                              evicted pages, pages read and evicted
 *   elapsedMs, simulatedOpsPerSecond, crashPointsPerMinute   timings: the only fields that
 *                              differ between two runs of the same seeds
 */
import { POOL_PHASES, emptyStats, type RunResult, type RunStats, type RunViolation } from './runner.js';
import type { ViolationRule } from './workload.js';

export interface ShrunkSchedule {
  readonly runs: number;
  readonly stepsBefore: number;
  readonly stepsAfter: number;
  /** The shrunk plan, then what happened when it ran. */
  readonly schedule: readonly string[];
  /** Where the shrunk plan was saved, for `--plan`. */
  readonly planFile?: string;
  readonly replay?: string;
}

export interface ViolationReport {
  readonly seed: number;
  readonly rule: ViolationRule;
  readonly message: string;
  readonly epoch: number;
  readonly phase: string;
  /** The one command that replays the failing run. */
  readonly replay: string;
  /** The failing run's plan, saved (`--save-plans`, or the temp directory from the command line). */
  readonly planFile?: string;
  /** The command that replays that plan file. */
  readonly planReplay?: string;
  shrunk?: ShrunkSchedule;
}

/** The counts a report sums from its runs' stats, under the same names. */
type SharedCounts = Pick<
  RunStats,
  | 'crashes'
  | 'crashesInRecovery'
  | 'recoveries'
  | 'steps'
  | 'vfsOperations'
  | 'eventsCrashedAt'
  | 'operationsCrashedAt'
  | 'crashKinds'
  | 'policies'
  | 'commits'
  | 'acked'
  | 'commitsLost'
  | 'readCorruptions'
  | 'probes'
  | 'syncFailures'
  | 'recovery'
  | 'settleCrashes'
  | 'slowSyncs'
  | 'pool'
>;

export interface SimReport extends SharedCounts {
  seed: number;
  runs: number;
  target: string;
  workload: string;
  /** Rules removed through test-only seams (demonstrations only); empty in normal use. */
  brokenRules: string[];
  crashPoints: number;
  violations: ViolationReport[];
  simulatedOps: number;
  focuses: Record<string, number>;
  elapsedMs: number;
  simulatedOpsPerSecond: number;
  crashPointsPerMinute: number;
}

/** The fields that depend on the machine's speed, not on the seeds. */
export const TIMING_FIELDS = ['elapsedMs', 'simulatedOpsPerSecond', 'crashPointsPerMinute'] as const;

export function emptyReport(seed: number, target: string, workload: string, brokenRules: string[]): SimReport {
  const {
    eventsRaised: _events,
    epochs: _epochs,
    ops: _ops,
    opsSkipped: _skipped,
    background: _background,
    clockAdvances: _clock,
    liveChecks: _checks,
    ...shared
  } = emptyStats();
  return {
    seed,
    runs: 0,
    target,
    workload,
    brokenRules,
    crashPoints: 0,
    violations: [],
    simulatedOps: 0,
    focuses: {},
    ...shared,
    elapsedMs: 0,
    simulatedOpsPerSecond: 0,
    crashPointsPerMinute: 0,
  };
}

function addCounts(into: Record<string, number>, from: Readonly<Record<string, number>>): void {
  for (const [key, count] of Object.entries(from)) into[key] = (into[key] ?? 0) + count;
}

function addFields<T extends Record<string, number>>(into: T, from: Readonly<T>): void {
  for (const key of Object.keys(from) as (keyof T)[]) (into[key] as number) += from[key];
}

/** Adds one run's counts to the report. */
export function accumulate(report: SimReport, result: RunResult, focus: string | undefined): void {
  const stats: RunStats = result.stats;
  report.runs++;
  report.crashes += stats.crashes;
  report.crashesInRecovery += stats.crashesInRecovery;
  report.crashPoints += stats.crashes;
  report.recoveries += stats.recoveries;
  report.steps += stats.steps;
  report.simulatedOps += stats.ops + stats.background + stats.clockAdvances + stats.liveChecks;
  report.vfsOperations += stats.vfsOperations;
  addCounts(report.eventsCrashedAt, stats.eventsCrashedAt);
  addCounts(report.operationsCrashedAt, stats.operationsCrashedAt);
  addCounts(report.crashKinds, stats.crashKinds);
  addCounts(report.policies, stats.policies);
  addCounts(report.focuses, { [focus ?? 'none']: 1 });
  addCounts(report.commits, stats.commits);
  addCounts(report.acked, stats.acked);
  report.commitsLost += stats.commitsLost;
  addFields(report.readCorruptions, stats.readCorruptions);
  addFields(report.probes, stats.probes);
  addFields(report.syncFailures, stats.syncFailures);
  addCounts(report.recovery, stats.recovery);
  addFields(report.settleCrashes, stats.settleCrashes);
  addFields(report.slowSyncs, stats.slowSyncs);
  for (const phase of POOL_PHASES) addFields(report.pool[phase], stats.pool[phase]);
}

export function violationReport(seed: number, violation: RunViolation, replay: string): ViolationReport {
  return {
    seed,
    rule: violation.rule,
    message: violation.message,
    epoch: violation.epoch,
    phase: violation.phase,
    replay,
  };
}

function sortedCounts(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Fills the timings and sorts the count maps (their order then depends on nothing). */
export function finish(report: SimReport, elapsedMs: number): SimReport {
  report.elapsedMs = Math.round(elapsedMs);
  const seconds = Math.max(elapsedMs, 1) / 1000;
  report.simulatedOpsPerSecond = Math.round(report.simulatedOps / seconds);
  report.crashPointsPerMinute = Math.round((report.crashPoints / seconds) * 60);
  for (const key of [
    'eventsCrashedAt',
    'operationsCrashedAt',
    'crashKinds',
    'policies',
    'focuses',
    'commits',
    'acked',
    'recovery',
  ] as const) {
    report[key] = sortedCounts(report[key]);
  }
  return report;
}

/** The report without its timings: equal for two runs of the same seeds. */
export function withoutTimings(report: SimReport): Omit<SimReport, (typeof TIMING_FIELDS)[number]> {
  const { elapsedMs: _elapsed, simulatedOpsPerSecond: _ops, crashPointsPerMinute: _crashes, ...rest } = report;
  return rest;
}

function counts(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record);
  return entries.length === 0 ? '-' : entries.map(([key, count]) => `${key} ${count}`).join(', ');
}

/** The human summary. */
export function formatReport(report: SimReport): string[] {
  const lines = [
    `minno simulator: ${report.workload} on ${report.target}${report.brokenRules.length > 0 ? ` WITH RULES REMOVED (${report.brokenRules.join(', ')})` : ''}`,
    `seed ${report.seed}, ${report.runs} runs in ${(report.elapsedMs / 1000).toFixed(1)} s`,
    `crash points ${report.crashPoints} (${report.crashesInRecovery} during recovery), ${report.crashPointsPerMinute}/min; recoveries checked ${report.recoveries}`,
    `simulated ops ${report.simulatedOps} (${report.simulatedOpsPerSecond}/s), VFS operations ${report.vfsOperations}`,
    `crashed at events: ${counts(report.eventsCrashedAt)}`,
    `crashed at operations: ${counts(report.operationsCrashedAt)}`,
    `crash kinds: ${counts(report.crashKinds)}`,
    `policies: ${counts(report.policies)}`,
    `focuses: ${counts(report.focuses)}`,
    `commits: ${counts(report.commits)}; acknowledged: ${counts(report.acked)}; lost within their window: ${report.commitsLost}`,
    `read corruptions armed ${report.readCorruptions.armed}, reported ${report.readCorruptions.reported}; probes: reported ${report.probes.reported}, wrong data ${report.probes.wrongData}, missed ${report.probes.missed}`,
    `sync failures armed ${report.syncFailures.armed}, seen ${report.syncFailures.observed}, later refusals ${report.syncFailures.refusals} (+${report.syncFailures.refusedByAssertion} by assertion)`,
    `recovery: ${counts(report.recovery)}`,
    `slow syncs: ${report.slowSyncs.stepsInFlight} steps with a sync in flight, ${report.slowSyncs.crashesInFlight} crashes during one`,
    `background work after recovery crashed: ${report.settleCrashes.crashes} times in ${report.settleCrashes.chains} chains (${report.settleCrashes.completedBeforeCrash} finished before their crash point)`,
    `pool pressure: ${POOL_PHASES.map((phase) => {
      const p = report.pool[phase];
      return `${phase} ${p.evicting}/${p.phases} phases evicting (${p.evictions} evictions, ${p.reads} reads)`;
    }).join('; ')}`,
    report.violations.length === 0 ? 'violations: none' : `VIOLATIONS: ${report.violations.length}`,
  ];
  for (const violation of report.violations) {
    lines.push(
      `  [${violation.rule}] seed ${violation.seed}, epoch ${violation.epoch}, ${violation.phase}: ${violation.message}`,
    );
    lines.push(`    replay: ${violation.replay}`);
    if (violation.planFile !== undefined && violation.shrunk?.planFile === undefined)
      lines.push(`    plan: ${violation.planFile}`);
    const shrunk = violation.shrunk;
    if (shrunk !== undefined) {
      lines.push(
        `    shrunk from ${shrunk.stepsBefore} to ${shrunk.stepsAfter} steps in ${shrunk.runs} runs${shrunk.replay === undefined ? '' : `; replay: ${shrunk.replay}`}:`,
      );
      for (const line of shrunk.schedule) lines.push(`      ${line}`);
    }
  }
  return lines;
}

/** What a bounded run must have covered (CI): at least so many crash points, at every named event. */
export interface CoverageExpectation {
  readonly crashPointsMin: number;
  readonly crashEvents: readonly string[];
  readonly policiesMin: number;
  /** Share of the phases of each kind that must evict pages (pool pressure); unchecked when absent. */
  readonly evictingPhasesMin?: Readonly<Partial<Record<(typeof POOL_PHASES)[number], number>>>;
  /** Whether chains of crashed background work after recovery must have happened. */
  readonly settleCrashes?: boolean;
}

/**
 * Why a report does not show a healthy, well-covered run: every violation, too few crash points,
 * an engine event never crashed at, a fault kind that never fired or surfaced wrongly. Empty when fine.
 */
export function coverageProblems(report: SimReport, expected: CoverageExpectation): string[] {
  const problems = report.violations.map((v) => `[${v.rule}] ${v.replay}: ${v.message}`);
  const check = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  check(
    report.crashPoints >= expected.crashPointsMin,
    `${report.crashPoints} crash points, wanted ${expected.crashPointsMin}`,
  );
  for (const event of expected.crashEvents)
    check((report.eventsCrashedAt[event] ?? 0) > 0, `never crashed at engine event ${event}`);
  check(
    Object.keys(report.policies).length >= expected.policiesMin,
    `only ${Object.keys(report.policies).length} crash policies used`,
  );
  check(report.crashesInRecovery > 0, 'no recovery was crashed');
  check(
    report.probes.reported > 0 && report.probes.wrongData === 0,
    `corruption probes: ${JSON.stringify(report.probes)}`,
  );
  check(report.syncFailures.observed > 0, 'no sync failure was seen');
  check((report.recovery['pagesRestoredFromDoublewrite'] ?? 0) > 0, 'no page was restored from the doublewrite buffer');
  check(report.commitsLost > 0, 'no commit was lost within its window: the windows were not exercised');
  for (const [phase, share] of Object.entries(expected.evictingPhasesMin ?? {}) as [
    (typeof POOL_PHASES)[number],
    number,
  ][]) {
    const p = report.pool[phase];
    check(
      p.phases > 0 && p.evicting >= share * p.phases,
      `pool pressure: ${p.evicting} of ${p.phases} ${phase} phases evicted pages, wanted ${Math.round(share * 100)}%`,
    );
  }
  if (expected.settleCrashes === true) {
    check(
      report.settleCrashes.chains > 0 && report.settleCrashes.crashes > report.settleCrashes.chains,
      `background work after recovery: ${JSON.stringify(report.settleCrashes)}`,
    );
  }
  return problems;
}

/** The headline numbers of a report, for a test's log line. */
export function ciSummary(report: SimReport): Record<string, unknown> {
  return {
    runs: report.runs,
    crashPoints: report.crashPoints,
    crashesInRecovery: report.crashesInRecovery,
    recoveries: report.recoveries,
    elapsedMs: report.elapsedMs,
    simulatedOpsPerSecond: report.simulatedOpsPerSecond,
    crashPointsPerMinute: report.crashPointsPerMinute,
    eventsCrashedAt: report.eventsCrashedAt,
  };
}
