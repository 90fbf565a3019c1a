/**
 * A run's plan: everything it will do, drawn up front from one seed, so that the run itself draws
 * nothing and replays exactly (the fault VFSs it opens are seeded from the plan too).
 *
 *   seed ─┬─ fork ─> config    engine sizes, clients, epochs (how many crash-recover cycles),
 *         │                    this run's swarm weights and operation mix (swarm.ts)
 *         ├─ fork ─> workload  the operations
 *         ├─ fork ─> scheduler the interleaving, background moments, clock
 *         ├─ fork ─> faults    crash points, policies, corruptions, sync failures
 *         └─ draw  ─> vfsSeed  seeds of every FaultVfs of the run
 *
 * A plan is plain data: the shrinker edits copies of it, and `describePlan` prints it.
 */
import { RandomSource } from '../src/util/random.js';
import type { EngineEvent } from '../src/vfs/vfs.js';
import {
  BASE_CRASH_KIND_WEIGHTS,
  BASE_EVENT_WEIGHTS,
  BASE_POLICY_WEIGHTS,
  CRASH_KINDS,
  DEFAULT_FAULT_RATES,
  SIM_POLICY_NAMES,
  describeFaults,
  planFaults,
  type EpochFaults,
  type FaultRates,
  type CrashKind,
  type FaultWeights,
  type SimPolicyName,
} from './fault-plan.js';
import {
  BASE_STEP_WEIGHTS,
  STEP_KINDS,
  describeStep,
  generateSchedule,
  type Step,
  type StepKind,
} from './scheduler.js';
import { describeWeights, drawFocus, swarmWeights, type Focus, type Weights } from './swarm.js';
import type { SimConfig, SimTarget, Workload } from './workload.js';

export interface EpochPlan<Op> {
  readonly steps: readonly Step<Op>[];
  readonly faults: EpochFaults;
}

export interface SimPlan<Op> {
  readonly seed: number;
  readonly vfsSeed: number;
  readonly config: SimConfig;
  /** This run's focus, if it has one, and its swarm weights and operation mix, described (swarm.ts). */
  readonly focus: Focus | undefined;
  readonly mix: readonly string[];
  readonly epochs: readonly EpochPlan<Op>[];
}

/** Sizes of the runs a seed draws. */
export interface PlanShape {
  readonly epochsMax: number;
  readonly stepsMin: number;
  readonly stepsMax: number;
  readonly clientsMax: number;
  readonly faultRates: FaultRates;
}

export const DEFAULT_PLAN_SHAPE: PlanShape = {
  epochsMax: 3,
  stepsMin: 30,
  stepsMax: 220,
  clientsMax: 5,
  faultRates: DEFAULT_FAULT_RATES,
};

/** What a focus sets (see the table in swarm.ts); what it leaves out keeps the run's swarm weights. */
interface FocusWeights {
  readonly policies?: Weights<SimPolicyName>;
  readonly events?: Weights<EngineEvent>;
  readonly crashKinds?: Weights<CrashKind>;
  /** Factors on the base step weights. */
  readonly steps?: Readonly<Partial<Record<StepKind, number>>>;
  readonly rates?: Partial<FaultRates>;
}

const ONLY = <T extends string>(all: readonly T[], kept: Weights<T>): Weights<T> =>
  Object.fromEntries(all.map((item) => [item, kept[item] ?? 0])) as Weights<T>;

const FOCUS_WEIGHTS: Readonly<Record<Focus, FocusWeights>> = {
  'torn-log': {
    policies: ONLY(SIM_POLICY_NAMES, {
      'torn-zeros': 1,
      'torn-garbage': 1,
      'torn-stale': 1,
      'torn-all-zeros': 2,
      'torn-all-garbage': 2,
      'torn-all-stale': 2,
    }),
    // Right after a log write, before its sync: the only moment a log tail is in flight.
    events: { 'mtr-commit': 0, 'log-write': 1, 'log-sync': 0, 'page-flush': 0, doublewrite: 0, checkpoint: 0 },
    crashKinds: { event: 4, operation: 0, sync: 1, end: 0 },
  },
  'torn-page': {
    policies: ONLY(SIM_POLICY_NAMES, {
      'torn-zeros': 1,
      'torn-garbage': 1,
      'torn-stale': 1,
      'torn-all-zeros': 1,
      'torn-all-garbage': 1,
      'torn-all-stale': 1,
    }),
    events: { 'mtr-commit': 0, 'log-write': 0, 'log-sync': 0, 'page-flush': 4, doublewrite: 1, checkpoint: 0 },
    crashKinds: { event: 3, operation: 2, sync: 0, end: 0 },
    steps: { background: 2 },
  },
  durability: {
    policies: ONLY(SIM_POLICY_NAMES, { 'power-cut': 2, 'process-crash': 2, prefix: 1, reorder: 1, 'lose-dir-ops': 1 }),
    events: { 'mtr-commit': 2, 'log-write': 1, 'log-sync': 2, 'page-flush': 0, doublewrite: 0, checkpoint: 1 },
    crashKinds: { event: 2, operation: 1, sync: 1, end: 2 },
    steps: { clock: 2, yield: 1.5 },
  },
  corruption: { rates: { readCorruption: 0.8, corruptionProbe: 0.8 } },
  'sync-failure': { rates: { syncFailure: 0.7 } },
};

function generateConfig(random: RandomSource, shape: PlanShape): SimConfig {
  const pageSize = 4096;
  const poolPages = random.pick([64, 64, 96, 128]);
  const livePagesMax = random.intBetween(24, 150);
  return {
    pageSize,
    poolPages,
    logBytes: random.pick([256, 256, 384, 512]) * 1024,
    flushBatchPages: random.pick([4, 8, 16]),
    clients: random.intBetween(1, shape.clientsMax),
    livePagesMax,
    livePagesMin: Math.min(6, livePagesMax),
    liveSpacesMax: random.intBetween(2, 6),
    initialSpaces: random.intBetween(1, 3),
    initialPages: random.intBetween(4, Math.max(4, Math.floor(livePagesMax / 2))),
    dataPages: Math.ceil(poolPages * 1.5),
  };
}

export function generatePlan<E, Op>(
  seed: number,
  workload: Workload<E, Op>,
  target: SimTarget<E>,
  shape: PlanShape = DEFAULT_PLAN_SHAPE,
): SimPlan<Op> {
  const root = new RandomSource(seed);
  const configRandom = root.fork();
  const workloadRandom = root.fork();
  const schedulerRandom = root.fork();
  const faultRandom = root.fork();
  const vfsSeed = root.int(2 ** 31);
  // Forked after everything above, so that adding it changed none of their streams.
  const paceRandom = root.fork();
  const config = { ...generateConfig(configRandom, shape), clientTurns: paceRandom.pick([1, 1, 1, 2, 8]) };
  const epochs0 = configRandom.intBetween(1, shape.epochsMax);
  const swarm = configRandom.chance(0.75);
  const focus = drawFocus(configRandom);
  // A focused run aims at a narrow window: more crash points per run for the same set-up.
  const epochCount = focus === undefined ? epochs0 : epochs0 + 3;
  const weights: FaultWeights = {
    policies: swarmWeights(configRandom, SIM_POLICY_NAMES, BASE_POLICY_WEIGHTS, swarm),
    events: swarmWeights(configRandom, target.crashEvents, BASE_EVENT_WEIGHTS, swarm),
    crashKinds: swarmWeights(configRandom, CRASH_KINDS, BASE_CRASH_KIND_WEIGHTS, swarm),
  };
  const stepWeights = swarmWeights(configRandom, STEP_KINDS, BASE_STEP_WEIGHTS, swarm);
  if (stepWeights.op === 0) stepWeights.op = BASE_STEP_WEIGHTS.op ?? 1; // a run without operations tests nothing
  let faultRates = shape.faultRates;
  if (focus !== undefined) {
    const focused = FOCUS_WEIGHTS[focus];
    Object.assign(weights, {
      policies: focused.policies ?? weights.policies,
      events: focused.events ?? weights.events,
      crashKinds: focused.crashKinds ?? weights.crashKinds,
    });
    for (const [kind, factor] of Object.entries(focused.steps ?? {}))
      stepWeights[kind as StepKind] = (BASE_STEP_WEIGHTS[kind as StepKind] ?? 1) * factor;
    faultRates = { ...faultRates, ...focused.rates };
  }
  const ops = workload.opGenerator(configRandom, focus);
  const epochs: EpochPlan<Op>[] = [];
  for (let e = 0; e < epochCount; e++) {
    const count = schedulerRandom.intBetween(shape.stepsMin, shape.stepsMax);
    const steps = generateSchedule(
      schedulerRandom,
      count,
      { clients: config.clients, backgroundActions: target.backgroundActions, weights: stepWeights },
      () => ops.next(workloadRandom),
    );
    const faults = planFaults(faultRandom, count, target.crashEvents, target.recoveryCrashEvents, faultRates, weights);
    epochs.push({ steps, faults });
  }
  const mix = [
    `${swarm ? 'swarm' : 'base'}${focus === undefined ? '' : `, focus ${focus}`}; policies: ${describeWeights(weights.policies)}`,
    `events: ${describeWeights(weights.events)}; crash kinds: ${describeWeights(weights.crashKinds)}`,
    `steps: ${describeWeights(stepWeights)}; operations: ${ops.mix}`,
  ];
  return { seed, vfsSeed, config, focus, mix, epochs };
}

/** The plan as lines: the faults of each epoch, then its steps. */
export function describePlan<E, Op>(plan: SimPlan<Op>, workload: Workload<E, Op>): string[] {
  const lines = [
    `config: ${plan.config.clients} clients, pool ${plan.config.poolPages} pages, log ${plan.config.logBytes / 1024} KiB, ` +
      `batch ${plan.config.flushBatchPages}, live pages ${plan.config.livePagesMin}-${plan.config.livePagesMax}, ` +
      `spaces <= ${plan.config.liveSpacesMax} (${plan.config.initialSpaces} with ${plan.config.initialPages} pages at set-up), ` +
      `client turns ${plan.config.clientTurns ?? 1}`,
    ...plan.mix.map((line) => `mix: ${line}`),
  ];
  plan.epochs.forEach((epoch, e) => {
    lines.push(`epoch ${e + 1}: ${describeFaults(epoch.faults).join('; ')}`);
    epoch.steps.forEach((step, i) =>
      lines.push(`  ${String(i + 1).padStart(3)} ${describeStep(step, (op) => workload.describeOp(op))}`),
    );
  });
  return lines;
}

/** Counts the steps of a plan (all epochs). */
export function planSteps<Op>(plan: SimPlan<Op>): number {
  return plan.epochs.reduce((sum, epoch) => sum + epoch.steps.length, 0);
}
