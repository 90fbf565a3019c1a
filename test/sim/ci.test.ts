/**
 * The simulator in CI, second part: the second slice of the bounded CI run (the first is in
 * sim.test.ts; two files so that vitest runs them on two cores) and the shrinker.
 */
import { describe, expect, it } from 'vitest';
import { CI_FRESH_RUNS, CI_SLICE_RUNS, runCiSlice, runFreshCiSlice } from '../../sim/ci.js';
import { storageTarget } from '../../sim/core-target.js';
import { coreWorkload } from '../../sim/core-workload.js';
import { describePlan, generatePlan, planSteps } from '../../sim/plan.js';
import { runPlan } from '../../sim/runner.js';
import { shrinkPlan } from '../../sim/shrinker.js';
import type { ViolationRule } from '../../sim/workload.js';

describe('simulator: bounded CI run (second slice)', () => {
  it(`runs ${CI_SLICE_RUNS} more seeded runs and finds no violation`, async () => {
    const { summary, problems } = await runCiSlice(1);
    console.log(summary);
    expect(problems).toEqual([]);
  }, 300_000);

  it(`runs ${CI_FRESH_RUNS.core} runs from a fresh seed (printed with its replay command) and finds no violation`, async () => {
    const { summary, problems } = await runFreshCiSlice('core');
    console.log(summary);
    expect(problems).toEqual([]);
  }, 300_000);
});

describe('simulator: shrinker', () => {
  it('shrinks a seam-broken failing run to a shorter schedule that fails the same way', async () => {
    const seams = { disableDoublewrite: true };
    let failing: { seed: number; rule: ViolationRule } | undefined;
    for (let seed = 1; seed <= 60 && failing === undefined; seed++) {
      const result = await runPlan(generatePlan(seed, coreWorkload, storageTarget), coreWorkload, storageTarget, {
        seams,
      });
      if (result.violations.length > 0) failing = { seed, rule: result.violations[0]!.rule };
    }
    expect(failing, 'a seed among 1..60 breaks without the doublewrite buffer').toBeDefined();
    const plan = generatePlan(failing!.seed, coreWorkload, storageTarget);
    const rule = (await runPlan(plan, coreWorkload, storageTarget, { seams })).violations[0]!.rule;
    const shrunk = await shrinkPlan(plan, coreWorkload, storageTarget, { seams }, rule, { maxRuns: 250 });
    expect(shrunk).toBeDefined();
    expect(shrunk!.stepsAfter).toBeLessThan(shrunk!.stepsBefore);
    expect(shrunk!.stepsAfter).toBeLessThanOrEqual(Math.max(10, shrunk!.stepsBefore / 4));
    expect(shrunk!.plan.epochs.length).toBeLessThanOrEqual(plan.epochs.length);
    // The shrunk plan still fails with the same rule, and only with the seam.
    const again = await runPlan(shrunk!.plan, coreWorkload, storageTarget, { seams, trace: true });
    expect(again.violations.map((v) => v.rule)).toContain(rule);
    expect((await runPlan(shrunk!.plan, coreWorkload, storageTarget, {})).violations).toEqual([]);
    console.log(
      `shrunk seed ${failing!.seed} (${rule}) from ${shrunk!.stepsBefore} to ${shrunk!.stepsAfter} steps in ${shrunk!.runs} runs:\n` +
        [...describePlan(shrunk!.plan, coreWorkload), ...again.trace].join('\n'),
    );
    expect(planSteps(shrunk!.plan)).toBe(shrunk!.stepsAfter);
  }, 300_000);
});
