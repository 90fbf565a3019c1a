/**
 * The simulator's workloads by name (`--workload core|table`), each with the target it drives.
 * The simulator is generic over engine and operation; callers that pick a workload at run time
 * (the command line, saved plans) get it here with the types erased once.
 */
import { storageTarget } from './core-target.js';
import { coreWorkload } from './core-workload.js';
import { tableTarget } from './table-target.js';
import { tableWorkload } from './table-workload.js';
import type { SimTarget, Workload } from './workload.js';

export const WORKLOAD_NAMES = ['core', 'table'] as const;
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

export interface NamedWorkload {
  readonly name: WorkloadName;
  readonly workload: Workload<unknown, unknown>;
  readonly target: SimTarget<unknown>;
}

export function isWorkloadName(name: string): name is WorkloadName {
  return (WORKLOAD_NAMES as readonly string[]).includes(name);
}

export function workloadByName(name: string): NamedWorkload {
  if (name === 'table')
    return { name, workload: tableWorkload as Workload<unknown, unknown>, target: tableTarget as SimTarget<unknown> };
  if (name === 'core')
    return { name, workload: coreWorkload as Workload<unknown, unknown>, target: storageTarget as SimTarget<unknown> };
  throw new Error(`unknown simulator workload ${name} (known: ${WORKLOAD_NAMES.join(', ')})`);
}
