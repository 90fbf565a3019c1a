/**
 * The table workload's operations: their kinds, the base mix and the fixed mixes of two races, and
 * the seeded generator that draws them (swarm testing over kinds, durability and isolation). What
 * each operation does is table-workload.ts; what a read is compared with is table-reads.ts.
 */
import { DURABILITY_LEVELS, type Durability } from '../src/redo/redo-log.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../src/mvcc/trx.js';
import type { RandomSource } from '../src/util/random.js';
import { describeWeights, pickWeighted, swarmWeights, type Focus } from './swarm.js';
import type { OpGenerator } from './workload.js';

export const TABLE_OP_KINDS = [
  'transfer',
  'open-account',
  'rename',
  'close-account',
  'patch',
  'duplicate',
  'locking-scan',
  'savepoint',
  'rollback-to-savepoint',
  'commit',
  'rollback',
  'reader-open',
  'reader-check',
  'autocommit-read',
  'stale-view',
] as const;
export type TableOpKind = (typeof TABLE_OP_KINDS)[number];

export const BASE_OP_WEIGHTS: Readonly<Record<TableOpKind, number>> = {
  transfer: 30,
  'open-account': 4,
  rename: 7,
  'close-account': 3,
  patch: 8,
  duplicate: 2,
  'locking-scan': 3,
  savepoint: 4,
  'rollback-to-savepoint': 3,
  commit: 20,
  rollback: 5,
  'reader-open': 3,
  'reader-check': 4,
  'autocommit-read': 5,
  'stale-view': 2,
};

export interface TableOp {
  readonly kind: TableOpKind;
  readonly slot: number;
  readonly a: number;
  readonly b: number;
  /** 0: the whole balance (drains the account, so it can be closed). */
  readonly amount: number;
  readonly durability: Durability;
  readonly isolation: IsolationLevel;
}

export const PICK_BOUND = 2 ** 31;

/**
 * The operation mix of seed 002's race (autocommit reads caching a view, commits, 'stale-view',
 * rollbacks of index-changing updates), for the PURGE-MONO teeth: every run draws it unswarmed.
 */
export const PURGE_RACE_WEIGHTS: Readonly<Record<TableOpKind, number>> = {
  ...BASE_OP_WEIGHTS,
  'autocommit-read': 10,
  'stale-view': 5,
  rollback: 12,
  rename: 10,
  'reader-open': 0,
  'reader-check': 0,
  'locking-scan': 0,
  patch: 0,
};

/**
 * The mix of issue 9's first bug: owners renamed back and forth (an index key that returns to an
 * older value, with that history unpurged), transactions left active by crashes, and recovery's
 * rollback after purge. For the teeth of rule X3 (test/sim/table-teeth.test.ts).
 */
export const RENAME_RACE_WEIGHTS: Readonly<Record<TableOpKind, number>> = {
  ...BASE_OP_WEIGHTS,
  rename: 30,
  transfer: 10,
  'close-account': 1,
  'reader-open': 0,
  'reader-check': 0,
  'stale-view': 0,
};

export function opGenerator(
  random: RandomSource,
  focus: Focus | undefined,
  fixed: Readonly<Record<TableOpKind, number>> | undefined,
): OpGenerator<TableOp> {
  const swarm = random.chance(0.75);
  let durabilities = swarmWeights(random, DURABILITY_LEVELS, { full: 2 }, swarm);
  if (focus === 'durability' || focus === 'torn-log') durabilities = { full: 1, write: 2, none: 2 };
  const drawn = swarmWeights(random, TABLE_OP_KINDS, BASE_OP_WEIGHTS, swarm);
  const kinds = fixed === undefined ? drawn : { ...fixed };
  // Every run transfers and commits: without them there is nothing to recover.
  kinds.transfer = Math.max(kinds.transfer, BASE_OP_WEIGHTS.transfer);
  kinds.commit = Math.max(kinds.commit, BASE_OP_WEIGHTS.commit);
  const isolations = swarmWeights(random, ISOLATION_LEVELS, { 'repeatable-read': 2 }, swarm);
  return {
    mix: `durability ${describeWeights(durabilities)}; isolation ${describeWeights(isolations)}; ops ${describeWeights(kinds)}`,
    next(random: RandomSource): TableOp {
      return {
        kind: pickWeighted(random, TABLE_OP_KINDS, kinds),
        slot: random.int(PICK_BOUND),
        a: random.int(PICK_BOUND),
        b: random.int(PICK_BOUND),
        amount: random.chance(0.15) ? 0 : random.intBetween(1, 300),
        durability: pickWeighted(random, DURABILITY_LEVELS, durabilities),
        isolation: pickWeighted(random, ISOLATION_LEVELS, isolations),
      };
    },
  };
}
