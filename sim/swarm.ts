/**
 * Swarm testing (Groce, Zhang, Eide, Chen and Regehr, ISSTA 2012): instead of one fixed mix of
 * operations and faults for every run, each run draws its own weights, leaving some kinds out
 * entirely. Runs that concentrate on one kind of fault reach the narrow windows a uniform mix
 * almost never does (a torn log group needs a torn policy AND an unsynced log write AND a group
 * across a sector boundary), while over many runs every kind is still drawn.
 *
 * A quarter of the runs keep the base weights unchanged: the plain mix is always tested too.
 *
 * Some windows need several features at once, which independent weights almost never line up: a
 * torn log group needs a torn policy AND a crash right after a log write AND a group that spans a
 * sector boundary (about 2% of such crashes tear the tail group). So a run may also take one
 * focus, which sets the weights of every feature that window needs (correlated feature selection):
 *
 *   focus          policies       crash at                      operations / schedule
 *   -------------  -------------  ----------------------------  -------------------------------
 *   torn-log       torn-*         log-write, syncs              bulk mtrs, 'write' and 'none'
 *   torn-page      torn-*         page-flush, operations        more background flushing
 *   durability     power-cut,     log-sync, mtr-commit, ends    every durability, more clock
 *                  process-crash
 *   corruption     any            any                           read corruption and probes armed
 *   sync-failure   any            any                           a sync failure armed
 */
import type { RandomSource } from '../src/util/random.js';

export type Weights<T extends string> = Readonly<Partial<Record<T, number>>>;

/** One item, with probability proportional to its weight (default 1; 0 never). */
export function pickWeighted<T extends string>(random: RandomSource, items: readonly T[], weights: Weights<T>): T {
  const total = items.reduce((sum, item) => sum + (weights[item] ?? 1), 0);
  let roll = random.float() * total;
  for (const item of items) {
    roll -= weights[item] ?? 1;
    if (roll < 0) return item;
  }
  // Only reachable through rounding: the last item with a weight.
  for (let i = items.length - 1; i >= 0; i--) if ((weights[items[i]!] ?? 1) > 0) return items[i]!;
  return items[items.length - 1]!;
}

/**
 * This run's weights: with `swarm`, each item is kept with probability 0.6 (at least one is),
 * its base weight (default 1) multiplied by 1, 2 or 3; otherwise the base weights.
 */
export function swarmWeights<T extends string>(
  random: RandomSource,
  items: readonly T[],
  base: Weights<T>,
  swarm: boolean,
): Record<T, number> {
  const weights = {} as Record<T, number>;
  let kept = 0;
  for (const item of items) {
    const keep = random.chance(0.6);
    const factor = random.intBetween(1, 3);
    weights[item] = swarm ? (keep ? (base[item] ?? 1) * factor : 0) : (base[item] ?? 1);
    if (weights[item] > 0) kept++;
  }
  if (kept === 0) {
    const item = random.pick(items);
    weights[item] = base[item] ?? 1;
  }
  return weights;
}

/** `{ a: 3, b: 0, c: 1 }` as `a3 c1`, for printed plans. */
export function describeWeights<T extends string>(weights: Weights<T>): string {
  return (Object.entries(weights) as [string, number][])
    .filter(([, weight]) => weight > 0)
    .map(([item, weight]) => `${item}${weight}`)
    .join(' ');
}

export const FOCUSES = ['torn-log', 'torn-page', 'durability', 'corruption', 'sync-failure'] as const;
export type Focus = (typeof FOCUSES)[number];

/** How often each focus is drawn, relative: torn-log is the narrowest window. */
const FOCUS_WEIGHTS: Weights<Focus> = { 'torn-log': 2 };

/** Draws this run's focus: none for most runs. */
export function drawFocus(random: RandomSource): Focus | undefined {
  const focus = pickWeighted(random, FOCUSES, FOCUS_WEIGHTS);
  return random.chance(0.4) ? focus : undefined;
}
