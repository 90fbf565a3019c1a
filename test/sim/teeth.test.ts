/**
 * Teeth: the simulator catches each crash-safety rule being broken.
 *
 * Each case removes one rule through the engine's test-only seams (StorageTestSeams, never
 * reachable from the public API) and runs the normal simulator, seeds 1, 2, 3..., until a run
 * reports a violation; it must come within TEETH_SEEDS runs. The failing seed then runs without
 * the seam and must pass: the violation is the missing rule's, not the simulator's.
 *
 *   rule          seam                 how the simulator sees it
 *   ------------  -------------------  --------------------------------------------------------------
 *   WAL           skipWal              the write oracle (a page LSN above the durable log); without
 *                                       the oracle, the recovered state after a power cut
 *   TORN          disableDoublewrite   a torn page recovery cannot repair (ERR_CORRUPTION on a crash
 *                                       image where no corruption was injected)
 *   MTR/LOG-TAIL  applyTornGroups      a torn tail group applied: garbage records, an mtr in part
 *   CHECKSUM      skipPageChecks       an injected read corruption comes back as data
 *   PURGE-MONO    (issue 5)            the purge view moving backwards: its seam and workload land
 *                                       with the transaction layer
 */
import { describe, expect, it } from 'vitest';
import { storageTarget } from '../../sim/core-target.js';
import { coreWorkload } from '../../sim/core-workload.js';
import { generatePlan } from '../../sim/plan.js';
import { runPlan, type RunViolation } from '../../sim/runner.js';
import type { SeamName, ViolationRule } from '../../sim/workload.js';

const TEETH_SEEDS = 50;

interface Tooth {
  readonly seam: SeamName;
  readonly walOracle: boolean;
  /** The rules a violation may be reported under when this rule is missing. */
  readonly rules: readonly ViolationRule[];
}

const TEETH: readonly Tooth[] = [
  { seam: 'skipWal', walOracle: true, rules: ['WAL'] },
  { seam: 'skipWal', walOracle: false, rules: ['CORRUPTION', 'MTR', 'DURABLE', 'RECOVERY'] },
  { seam: 'disableDoublewrite', walOracle: true, rules: ['CORRUPTION', 'RECOVERY', 'MTR', 'DURABLE'] },
  { seam: 'applyTornGroups', walOracle: true, rules: ['CORRUPTION', 'RECOVERY', 'MTR', 'DURABLE'] },
  { seam: 'skipPageChecks', walOracle: true, rules: ['CHECKSUM', 'LIVE', 'MTR'] },
];

async function firstFailure(tooth: Tooth): Promise<{ seed: number; violation: RunViolation } | undefined> {
  for (let seed = 1; seed <= TEETH_SEEDS; seed++) {
    const plan = generatePlan(seed, coreWorkload, storageTarget);
    const result = await runPlan(plan, coreWorkload, storageTarget, {
      seams: { [tooth.seam]: true },
      walOracle: tooth.walOracle,
    });
    const violation = result.violations[0];
    if (violation !== undefined) return { seed, violation };
  }
  return undefined;
}

describe('simulator teeth: each crash-safety rule removed is caught', () => {
  for (const tooth of TEETH) {
    it(`catches ${tooth.seam}${tooth.walOracle ? '' : ' without the WAL oracle'} within ${TEETH_SEEDS} seeds`, async () => {
      const found = await firstFailure(tooth);
      expect(found, `no violation in seeds 1..${TEETH_SEEDS}`).toBeDefined();
      const { seed, violation } = found!;
      console.log(
        `teeth: ${tooth.seam}${tooth.walOracle ? '' : ' (no oracle)'} caught at run ${seed}: [${violation.rule}] ${violation.message}`,
      );
      expect(tooth.rules).toContain(violation.rule);
      const clean = await runPlan(generatePlan(seed, coreWorkload, storageTarget), coreWorkload, storageTarget, {
        walOracle: tooth.walOracle,
      });
      expect(clean.violations, `seed ${seed} passes with the rule in place`).toEqual([]);
    }, 300_000);
  }
});
