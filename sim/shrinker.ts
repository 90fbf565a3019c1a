/**
 * The shrinker: from a failing plan to a short one that fails the same way.
 *
 * A plan is plain data and a run replays it exactly, so "does this smaller plan still fail?" is a
 * deterministic question, and delta debugging (Zeller and Hildebrandt, ddmin) answers it with few
 * runs. The passes, repeated while any of them makes progress and the run budget lasts:
 *
 *   1. epochs   drop the epochs after the failing one, then each earlier epoch
 *   2. faults   drop the optional faults (read corruption, sync failure, recovery crash, probe)
 *   3. crash    move the crash point earlier: n -> 1, n/2, ... (operations, syncs, events)
 *   4. steps    ddmin over each epoch's steps (chunks of halving size)
 *   5. clients  fewer clients: client c becomes c mod m
 *   6. ops      the workload's simpler variants of each remaining operation (shrinkOp)
 *
 * "Fails the same way" means a violation of the same rule: a smaller plan that fails for another
 * reason is a different bug and is not taken.
 */
import type { CrashPoint, EpochFaults } from './fault-plan.js';
import type { EpochPlan, SimPlan } from './plan.js';
import { planSteps } from './plan.js';
import { runPlan, type RunOptions, type RunViolation } from './runner.js';
import type { Step } from './scheduler.js';
import type { SimTarget, ViolationRule, Workload } from './workload.js';

export interface ShrinkOptions {
  /** Candidate runs at most (each is one run of a plan no larger than the original). */
  readonly maxRuns?: number;
}

export interface ShrinkResult<Op> {
  readonly plan: SimPlan<Op>;
  readonly violation: RunViolation;
  readonly runs: number;
  readonly stepsBefore: number;
  readonly stepsAfter: number;
}

class Budget {
  runs = 0;
  constructor(readonly max: number) {}
  get spent(): boolean {
    return this.runs >= this.max;
  }
}

export async function shrinkPlan<E, Op>(
  plan: SimPlan<Op>,
  workload: Workload<E, Op>,
  target: SimTarget<E>,
  runOptions: RunOptions,
  rule: ViolationRule,
  options: ShrinkOptions = {},
): Promise<ShrinkResult<Op> | undefined> {
  const budget = new Budget(options.maxRuns ?? 400);
  const failure = async (candidate: SimPlan<Op>): Promise<RunViolation | undefined> => {
    budget.runs++;
    const result = await runPlan(candidate, workload, target, { ...runOptions, trace: false });
    return result.violations.find((violation) => violation.rule === rule);
  };
  let violation = await failure(plan);
  if (violation === undefined) return undefined; // does not reproduce: nothing to shrink
  let best = plan;
  /** Takes `candidate` if it still fails; true when taken. */
  const attempt = async (candidate: SimPlan<Op>): Promise<boolean> => {
    if (budget.spent) return false;
    const found = await failure(candidate);
    if (found === undefined) return false;
    best = candidate;
    violation = found;
    return true;
  };

  // 1. Epochs: everything after the failing one never ran; then drop earlier ones.
  if (violation.epoch < best.epochs.length)
    await attempt(withEpochs(best, best.epochs.slice(0, Math.max(1, violation.epoch))));
  for (let e = 0; e < best.epochs.length - 1 && best.epochs.length > 1; ) {
    if (
      !(await attempt(
        withEpochs(
          best,
          best.epochs.filter((_, i) => i !== e),
        ),
      ))
    )
      e++;
  }

  for (let progress = true; progress && !budget.spent; ) {
    const before = planSize(best);
    for (let e = 0; e < best.epochs.length; e++) {
      await shrinkFaults(e, attempt, () => best);
      await shrinkCrash(e, attempt, () => best);
      await ddminSteps(e, attempt, () => best, budget);
    }
    await shrinkClients(attempt, () => best);
    await shrinkOps(workload, attempt, () => best, budget);
    progress = planSize(best) < before;
  }
  return { plan: best, violation, runs: budget.runs, stepsBefore: planSteps(plan), stepsAfter: planSteps(best) };
}

/** A measure that every pass lowers: steps, then clients, then faults. */
function planSize<Op>(plan: SimPlan<Op>): number {
  let faults = 0;
  for (const { faults: f } of plan.epochs) {
    faults +=
      Number(f.readCorruption !== undefined) +
      Number(f.syncFailure !== undefined) +
      Number(f.recoveryCrash !== undefined);
    faults += Number(f.corruptionProbe !== undefined);
    faults += f.crash.kind === 'end' ? 0 : f.crash.kind === 'event' ? f.crash.occurrence : f.crash.n;
  }
  return planSteps(plan) * 1_000_000 + plan.config.clients * 10_000 + faults;
}

function withEpochs<Op>(plan: SimPlan<Op>, epochs: readonly EpochPlan<Op>[]): SimPlan<Op> {
  return { ...plan, epochs };
}

function withEpoch<Op>(plan: SimPlan<Op>, index: number, epoch: EpochPlan<Op>): SimPlan<Op> {
  return withEpochs(
    plan,
    plan.epochs.map((e, i) => (i === index ? epoch : e)),
  );
}

type Attempt<Op> = (candidate: SimPlan<Op>) => Promise<boolean>;

async function shrinkFaults<Op>(e: number, attempt: Attempt<Op>, best: () => SimPlan<Op>): Promise<void> {
  for (const key of ['readCorruption', 'syncFailure', 'recoveryCrash', 'corruptionProbe'] as const) {
    const epoch = best().epochs[e]!;
    if (epoch.faults[key] === undefined) continue;
    const faults: EpochFaults = { ...epoch.faults, [key]: undefined };
    await attempt(withEpoch(best(), e, { ...epoch, faults }));
  }
}

/** Moves the crash point earlier: first try 1, then halve the distance while it still fails. */
async function shrinkCrash<Op>(e: number, attempt: Attempt<Op>, best: () => SimPlan<Op>): Promise<void> {
  const count = (crash: CrashPoint): number =>
    crash.kind === 'event' ? crash.occurrence : crash.kind === 'end' ? 0 : crash.n;
  const at = (crash: CrashPoint, n: number): CrashPoint =>
    crash.kind === 'event' ? { ...crash, occurrence: n } : crash.kind === 'end' ? crash : { ...crash, n };
  let low = 1;
  for (;;) {
    const epoch = best().epochs[e]!;
    const current = count(epoch.faults.crash);
    if (current <= low) return;
    const next = low + Math.floor((current - low) / 2);
    const taken = await attempt(
      withEpoch(best(), e, { ...epoch, faults: { ...epoch.faults, crash: at(epoch.faults.crash, next) } }),
    );
    if (!taken) {
      if (next === low) return;
      low = next + 1;
    }
  }
}

/** ddmin over one epoch's steps. Fault step indices move with the steps they precede. */
async function ddminSteps<Op>(e: number, attempt: Attempt<Op>, best: () => SimPlan<Op>, budget: Budget): Promise<void> {
  let chunks = 2;
  while (!budget.spent) {
    const steps = best().epochs[e]!.steps;
    if (steps.length === 0) return;
    chunks = Math.min(chunks, steps.length);
    const size = Math.ceil(steps.length / chunks);
    let removed = false;
    for (let start = 0; start < steps.length && !budget.spent; start += size) {
      const epoch = best().epochs[e]!;
      if (await attempt(withEpoch(best(), e, removeSteps(epoch, start, Math.min(start + size, epoch.steps.length))))) {
        removed = true;
        break;
      }
    }
    if (removed) {
      chunks = Math.max(chunks - 1, 2);
    } else {
      if (chunks >= steps.length) return;
      chunks = Math.min(chunks * 2, steps.length);
    }
  }
}

function removeSteps<Op>(epoch: EpochPlan<Op>, from: number, to: number): EpochPlan<Op> {
  const shift = (atStep: number): number => (atStep >= to ? atStep - (to - from) : Math.min(atStep, from));
  const faults = epoch.faults;
  return {
    steps: [...epoch.steps.slice(0, from), ...epoch.steps.slice(to)],
    faults: {
      ...faults,
      readCorruption:
        faults.readCorruption === undefined
          ? undefined
          : { ...faults.readCorruption, atStep: shift(faults.readCorruption.atStep) },
      syncFailure:
        faults.syncFailure === undefined
          ? undefined
          : { ...faults.syncFailure, atStep: shift(faults.syncFailure.atStep) },
    },
  };
}

async function shrinkClients<Op>(attempt: Attempt<Op>, best: () => SimPlan<Op>): Promise<void> {
  for (let clients = 1; clients < best().config.clients; clients++) {
    const plan = best();
    const epochs = plan.epochs.map((epoch) => ({
      ...epoch,
      steps: epoch.steps.map(
        (step): Step<Op> => (step.kind === 'op' ? { ...step, client: step.client % clients } : step),
      ),
    }));
    if (await attempt({ ...plan, config: { ...plan.config, clients }, epochs })) return;
  }
}

async function shrinkOps<E, Op>(
  workload: Workload<E, Op>,
  attempt: Attempt<Op>,
  best: () => SimPlan<Op>,
  budget: Budget,
): Promise<void> {
  for (let e = 0; e < best().epochs.length; e++) {
    for (let i = 0; i < best().epochs[e]!.steps.length && !budget.spent; i++) {
      const step = best().epochs[e]!.steps[i]!;
      if (step.kind !== 'op') continue;
      for (const op of workload.shrinkOp(step.op)) {
        const epoch = best().epochs[e]!;
        const steps = epoch.steps.map((s, j) => (j === i ? { ...step, op } : s));
        if (await attempt(withEpoch(best(), e, { ...epoch, steps }))) break;
      }
    }
  }
}
