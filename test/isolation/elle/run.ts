/**
 * One checked run: the workload on a store from a seed, then the checker over its history. Shared
 * by the CI slice (`elle.test.ts`), the teeth (`elle-teeth.test.ts`) and long runs (`cli.ts`).
 */
import type { IsolationLevel } from '../../../src/mvcc/trx.js';
import { checkHistory, type Report } from './checker.js';
import type { Incident } from './history.js';
import { runWorkload, type ListAppendStore, type WorkloadOptions } from './workload.js';

export interface CheckedRun {
  readonly level: IsolationLevel;
  readonly seed: number;
  readonly report: Report;
  readonly incidents: readonly Incident[];
  readonly outcomes: Readonly<Record<string, number>>;
  readonly store: Readonly<Record<string, number>>;
  /** Transactions the workload ran (the final read not counted). */
  readonly txns: number;
  /** Share of those a deadlock rolled back. */
  readonly deadlockRate: number;
  /** Whether the run passed: nothing the level forbids, no incident. */
  readonly ok: boolean;
}

export async function checkedRun(store: ListAppendStore, options: WorkloadOptions): Promise<CheckedRun> {
  const result = await runWorkload(store, options);
  const report = checkHistory(result.history, options.level);
  const txns = result.history.length - 1;
  return {
    level: options.level,
    seed: options.seed,
    report,
    incidents: result.incidents,
    outcomes: result.outcomes,
    store: result.store,
    txns,
    deadlockRate: (result.outcomes['ERR_DEADLOCK'] ?? 0) / txns,
    ok: report.forbidden.length === 0 && result.incidents.length === 0,
  };
}

/** A run in a few lines; with the examples of every forbidden anomaly and every incident when it failed. */
export function describeRun(run: CheckedRun): string {
  const found = Object.entries(run.report.counts)
    .filter(([, n]) => n > 0)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
  const lines = [
    `${run.level} seed ${run.seed}: ${run.txns} txns, ${JSON.stringify(run.outcomes)}, deadlocks ${(100 * run.deadlockRate).toFixed(1)}%; found: ${found === '' ? 'nothing' : found}`,
  ];
  if (run.ok) return lines[0]!;
  lines.push(
    `FORBIDDEN at ${run.level}: ${run.report.forbidden.join(', ') || '(none)'}; incidents: ${run.incidents.length}`,
  );
  for (const example of run.report.examples)
    if (run.report.forbidden.includes(example.name)) lines.push(`  ${example.name}: ${example.explanation}`);
  for (const incident of run.incidents.slice(0, 5)) lines.push(`  ${incident.kind}: ${incident.detail}`);
  return lines.join('\n');
}
