/**
 * The whole-engine workload (sim/table-workload.ts): a bounded CI slice, and the teeth of rule
 * PURGE-MONO (the purge view never moves backwards, seed 002).
 *
 * Teeth: on the TEST-ONLY target `makeTableTarget({ allowPurgeViewBackwards: true })` the workload's
 * 'stale-view' operation purges, reopens the cached autocommit view unchecked and purges again, so
 * the purge view moves back past undo already freed; a later rollback (or consistent read) of an
 * index-changing update walks into it and the undo reader raises ERR_CORRUPTION, reported as rule
 * CORRUPTION. With seed 002's operation mix (PURGE_RACE_WEIGHTS) that must happen within
 * TEETH_SEEDS seeds, and the failing seed must pass with the guard in place.
 */
import { describe, expect, it } from 'vitest';
import { CI_FRESH_RUNS, CI_TABLE_SLICE_RUNS, runFreshCiSlice, runTableCiSlice } from '../../sim/ci.js';
import { generatePlan } from '../../sim/plan.js';
import { runPlan } from '../../sim/runner.js';
import { makeTableTarget, tableTarget } from '../../sim/table-target.js';
import { PURGE_RACE_WEIGHTS } from '../../sim/table-ops.js';
import { makeTableWorkload, tableStatsTotal } from '../../sim/table-workload.js';

const TEETH_SEEDS = 40;

describe('simulator: the table workload', () => {
  it(`runs ${CI_TABLE_SLICE_RUNS} seeded whole-engine runs and finds no violation`, async () => {
    const before = { ...tableStatsTotal };
    const { summary, problems } = await runTableCiSlice();
    console.log(summary);
    const delta = Object.fromEntries(
      Object.entries(tableStatsTotal).map(([k, v]) => [k, v - before[k as keyof typeof before]]),
    );
    console.log(`table workload: ${JSON.stringify(delta)}`);
    expect(problems).toEqual([]);
    // The workload did what it claims: contention, refused duplicates, savepoints, readers, recovery rollbacks.
    for (const key of [
      'deadlocks',
      'duplicatesRefused',
      'savepointRollbacks',
      'rollbacks',
      'commits',
      'readerChecks',
      'staleViews',
      'recoveredRollbacks',
    ] as const) {
      expect(delta[key], key).toBeGreaterThan(0);
    }
  }, 300_000);

  it(`runs ${CI_FRESH_RUNS.table} runs from a fresh seed (printed with its replay command) and finds no violation`, async () => {
    const { summary, problems } = await runFreshCiSlice('table');
    console.log(summary);
    expect(problems).toEqual([]);
  }, 300_000);

  it(`has teeth: the purge view allowed to move backwards is caught within ${TEETH_SEEDS} seeds`, async () => {
    const workload = makeTableWorkload(PURGE_RACE_WEIGHTS);
    const broken = makeTableTarget({ allowPurgeViewBackwards: true });
    let found: { seed: number; rule: string; message: string } | undefined;
    for (let seed = 1; seed <= TEETH_SEEDS && found === undefined; seed++) {
      const result = await runPlan(generatePlan(seed, workload, broken), workload, broken);
      const violation = result.violations[0];
      if (violation !== undefined) found = { seed, rule: violation.rule, message: violation.message };
    }
    expect(found, `no violation in seeds 1..${TEETH_SEEDS}`).toBeDefined();
    console.log(`teeth: allowPurgeViewBackwards caught at run ${found!.seed}: [${found!.rule}] ${found!.message}`);
    expect(found!.rule).toBe('CORRUPTION');
    expect(found!.message).toMatch(/U9|undo/);
    const clean = await runPlan(generatePlan(found!.seed, workload, tableTarget), workload, tableTarget);
    expect(clean.violations, `seed ${found!.seed} passes with PURGE-MONO in place`).toEqual([]);
  }, 300_000);

  it('the race mix passes with the guard in place', async () => {
    const workload = makeTableWorkload(PURGE_RACE_WEIGHTS);
    for (let seed = 1; seed <= 20; seed++) {
      const result = await runPlan(generatePlan(seed, workload, tableTarget), workload, tableTarget);
      expect(result.violations, `seed ${seed}`).toEqual([]);
    }
  }, 300_000);
});
