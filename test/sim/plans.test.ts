/**
 * The corpus of shrunk plans: every plan the simulator once failed on (saved by
 * `npm run sim -- --save-plans <dir>`), replayed on every change. Each must now pass. The story
 * and the teeth of each finding are in a scripted test named in the plan's file name; the corpus
 * keeps the exact schedule the simulator found, as fuzzers keep their crash inputs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayPlan } from '../../sim/simulator.js';
import { workloadByName } from '../../sim/workloads.js';
import type { SimPlan } from '../../sim/plan.js';

const DIRECTORY = join(import.meta.dirname, 'plans');

describe('simulator: the corpus of shrunk plans', () => {
  for (const file of readdirSync(DIRECTORY).filter((name) => name.endsWith('.json'))) {
    it(`${file} replays without a violation`, async () => {
      const saved = JSON.parse(readFileSync(join(DIRECTORY, file), 'utf8')) as SimPlan<unknown> & { workload?: string };
      const { workload, target } = workloadByName(saved.workload ?? 'core');
      const report = await replayPlan({ workload, target, seed: saved.seed }, saved);
      expect(report.violations.map((v) => `[${v.rule}] ${v.message}`)).toEqual([]);
      expect(report.crashPoints).toBeGreaterThan(0);
    });
  }
});
