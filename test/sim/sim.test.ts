/**
 * The simulator in CI: a bounded simulation on every change (thousands of crash points, zero
 * violations), determinism (same seed, same report apart from timings), the shrinker on a
 * seam-broken run, the durability-window ledger, and the command line.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CI_SLICE_RUNS, runCiSlice } from '../../sim/ci.js';
import { storageTarget } from '../../sim/core-target.js';
import { coreWorkload } from '../../sim/core-workload.js';
import { CommitLedger } from '../../sim/ledger.js';
import { generatePlan } from '../../sim/plan.js';
import { TIMING_FIELDS, withoutTimings } from '../../sim/report.js';
import { runPlan } from '../../sim/runner.js';
import { simulate } from '../../sim/simulator.js';

describe('simulator: bounded CI run (first slice; the second is in ci.test.ts)', () => {
  it(`runs ${CI_SLICE_RUNS} seeded runs with well over a thousand crash points and finds no violation`, async () => {
    const { summary, problems } = await runCiSlice(0);
    console.log(summary);
    expect(problems).toEqual([]);
  }, 300_000);
});

describe('simulator: determinism', () => {
  it('the same seeds give the same report, apart from the timings', async () => {
    const options = { workload: coreWorkload, target: storageTarget, seed: 4242, runs: 6 };
    const first = await simulate(options);
    const second = await simulate(options);
    expect(first.crashPoints).toBeGreaterThan(6);
    expect(withoutTimings(second)).toEqual(withoutTimings(first));
    for (const field of TIMING_FIELDS) expect(typeof first[field]).toBe('number');
  }, 120_000);

  it('a run replays step for step from its plan, and plans depend on the seed only', async () => {
    const plan = generatePlan(99, coreWorkload, storageTarget);
    expect(generatePlan(99, coreWorkload, storageTarget)).toEqual(plan);
    expect(generatePlan(100, coreWorkload, storageTarget)).not.toEqual(plan);
    const a = await runPlan(plan, coreWorkload, storageTarget, { trace: true });
    const b = await runPlan(plan, coreWorkload, storageTarget, { trace: true });
    expect(a.trace.length).toBeGreaterThan(20);
    expect(b.trace).toEqual(a.trace);
    expect(b.stats).toEqual(a.stats);
  }, 60_000);
});

describe('simulator: the durability window (ledger)', () => {
  function ledgerWith(levels: readonly ('full' | 'write' | 'none')[]): CommitLedger {
    const ledger = new CommitLedger();
    for (const level of levels) {
      const index = ledger.begin(level);
      ledger.appended(index);
      ledger.committed(index);
    }
    return ledger;
  }

  it('requires every commit acknowledged under full, and what precedes it in the log', () => {
    const ledger = ledgerWith(['none', 'full', 'write', 'none']);
    expect(ledger.bounds(false)).toMatchObject({ min: 0, max: 4 });
    ledger.acked(2);
    expect(ledger.bounds(false)).toMatchObject({ min: 2, max: 4, minReason: 'acknowledged under full' });
  });

  it("requires 'write' commits only when the crash kept the OS cache", () => {
    const ledger = ledgerWith(['write', 'none']);
    ledger.acked(1);
    ledger.acked(2);
    expect(ledger.bounds(false).min).toBe(0);
    expect(ledger.bounds(true).min).toBe(1);
  });

  it('a completed log sync or durable DDL covers every commit made before it', () => {
    const ledger = ledgerWith(['none', 'write']);
    ledger.logSynced();
    const later = ledger.begin('none');
    ledger.appended(later);
    ledger.committed(later);
    expect(ledger.bounds(false)).toMatchObject({ min: 2, max: 3 });
    ledger.durablePoint();
    expect(ledger.bounds(false).min).toBe(3);
  });

  it("a sync failure revokes the process-crash promise of 'write' commits not yet synced", () => {
    const ledger = ledgerWith(['write']);
    ledger.acked(1);
    ledger.syncFailureInjected();
    expect(ledger.bounds(true).min).toBe(0);
    ledger.logSynced(); // a tick on a failed log syncs nothing
    expect(ledger.bounds(false).min).toBe(0);
  });

  it('numbering continues after the recovered prefix', () => {
    const ledger = ledgerWith(['full', 'full', 'full']);
    ledger.truncate(2);
    expect(ledger.last).toBe(2);
    expect(ledger.begin('full')).toBe(3);
    expect(ledger.bounds(false)).toMatchObject({ min: 2, max: 2 });
  });
});

describe('simulator: command line', () => {
  const cli = (args: string[]): { status: number | null; stdout: string; stderr: string } => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/sim.ts', ...args], {
      encoding: 'utf8',
      env: { ...process.env, MINNO_DEBUG: '0' },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  };

  it('prints one JSON object with the report fields and exits 0 when every check passes', () => {
    const { status, stdout } = cli(['--seed', '7', '--runs', '3', '--json']);
    expect(status).toBe(0);
    const report = JSON.parse(stdout) as Record<string, unknown>;
    for (const field of [
      'seed',
      'runs',
      'crashes',
      'recoveries',
      'violations',
      'simulatedOpsPerSecond',
      'crashPoints',
      'crashPointsPerMinute',
      'eventsCrashedAt',
      'policies',
      'elapsedMs',
    ]) {
      expect(report, field).toHaveProperty(field);
    }
    expect(report['seed']).toBe(7);
    expect(report['runs']).toBe(3);
    expect(report['violations']).toEqual([]);
  }, 60_000);

  it('picks and prints a seed when given none', () => {
    const { status, stdout } = cli(['--runs', '1', '--quiet']);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^seed: \d+ \(fresh\)/);
  }, 60_000);

  it('exits non-zero and prints the replay command when a check fails (a rule removed for the demonstration)', () => {
    const { status, stdout, stderr } = cli([
      '--seed',
      '1',
      '--runs',
      '1',
      '--json',
      '--break',
      'skipWal',
      '--no-shrink',
    ]);
    expect(stderr).toMatch(/TEST-ONLY/);
    expect(status).toBe(1);
    const report = JSON.parse(stdout) as { violations: { rule: string; replay: string }[]; brokenRules: string[] };
    expect(report.brokenRules).toEqual(['skipWal']);
    expect(report.violations[0]!.rule).toBe('WAL');
    expect(report.violations[0]!.replay).toBe('npm run sim -- --seed 1 --runs 1 --break skipWal');
  }, 60_000);
});
