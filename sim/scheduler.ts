/**
 * The seeded scheduler: which client runs next, when background work runs, when time moves.
 *
 * The engine is single-threaded (DESIGN: the event loop is the latch): an operation runs to
 * completion synchronously, and clients interleave only where they await, which today is the
 * durability promise of a commit. So a schedule is a flat list of steps, drawn from the
 * scheduler's own random stream:
 *
 *   op c        client c runs its next operation (skipped while c still awaits its last commit);
 *               its commit's promise settles later, when the group commit's sync has run
 *   yield       one turn of the event loop: pending group-commit syncs run (one fsync covers
 *               every commit waiting), and the clients they acknowledge become ready
 *   background  an engine background action at a seeded moment (page cleaner, checkpoint, tick)
 *   clock +ms   the manual clock moves; the engine's timers fire (cleaner every 100 ms, tick 1 s)
 *   check       a live check: every committed change is visible without a crash
 *
 * A step that names a busy client is skipped rather than deferred, so that deleting any step
 * (the shrinker) leaves every other step meaning what it meant.
 */
import type { RandomSource } from '../src/util/random.js';
import { pickWeighted, type Weights } from './swarm.js';

export type Step<Op> =
  | { readonly kind: 'op'; readonly client: number; readonly op: Op }
  | { readonly kind: 'yield' }
  | { readonly kind: 'background'; readonly action: string }
  | { readonly kind: 'clock'; readonly ms: number }
  | { readonly kind: 'check' };

export const STEP_KINDS = ['op', 'yield', 'background', 'clock', 'check'] as const;
export type StepKind = (typeof STEP_KINDS)[number];
/** Base weights of the step kinds (the swarm reweighs them per run). */
export const BASE_STEP_WEIGHTS: Weights<StepKind> = { op: 62, yield: 17, background: 10, clock: 9.5, check: 1.5 };

export interface ScheduleShape {
  readonly clients: number;
  readonly backgroundActions: readonly string[];
  readonly weights: Weights<StepKind>;
}

const CLOCK_STEPS_MS = [5, 40, 100, 250, 600, 1000, 1500] as const;

/**
 * Draws `count` steps. Operations come from `nextOp` (the workload's stream); everything else
 * from `random` (the scheduler's stream).
 */
export function generateSchedule<Op>(
  random: RandomSource,
  count: number,
  shape: ScheduleShape,
  nextOp: () => Op,
): Step<Op>[] {
  const steps: Step<Op>[] = [];
  const weights = shape.backgroundActions.length > 0 ? shape.weights : { ...shape.weights, background: 0 };
  for (let i = 0; i < count; i++) {
    switch (pickWeighted(random, STEP_KINDS, weights)) {
      case 'op':
        steps.push({ kind: 'op', client: random.int(shape.clients), op: nextOp() });
        break;
      case 'yield':
        steps.push({ kind: 'yield' });
        break;
      case 'background':
        steps.push({ kind: 'background', action: random.pick(shape.backgroundActions) });
        break;
      case 'clock':
        steps.push({ kind: 'clock', ms: random.pick(CLOCK_STEPS_MS) });
        break;
      case 'check':
        steps.push({ kind: 'check' });
        break;
    }
  }
  return steps;
}

export function describeStep<Op>(step: Step<Op>, describeOp: (op: Op) => string): string {
  switch (step.kind) {
    case 'op':
      return `c${step.client} ${describeOp(step.op)}`;
    case 'yield':
      return 'yield';
    case 'background':
      return step.action;
    case 'clock':
      return `clock +${step.ms}ms`;
    case 'check':
      return 'check';
  }
}

/** One turn of the event loop: what a client awaiting I/O gives up. */
export function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Lets the microtasks queued so far run (clients resume after an already settled promise). */
export async function microtaskTurn(): Promise<void> {
  await Promise.resolve();
  await Promise.resolve();
}
