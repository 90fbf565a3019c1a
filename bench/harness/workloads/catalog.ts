/**
 * Every workload the harness runs, by its standard name, and what each needs before it starts.
 *
 * YCSB workloads are also accepted under the names of YCSB's property files (`workloada`) and as
 * `ycsb-A`; the report uses `ycsb-a`.
 */
import {
  SYSBENCH_DESCRIPTIONS,
  SYSBENCH_WORKLOADS,
  sysbenchNeedsPreparedData,
  type SysbenchWorkloadName,
} from './sysbench.js';
import { YCSB_DESCRIPTIONS, YCSB_WORKLOADS, type YcsbWorkloadName } from './ycsb.js';

export const WORKLOADS = [...SYSBENCH_WORKLOADS, ...YCSB_WORKLOADS] as const;
export type WorkloadName = SysbenchWorkloadName | YcsbWorkloadName;
export type WorkloadFamily = 'sysbench' | 'ycsb';

export function isSysbench(name: WorkloadName): name is SysbenchWorkloadName {
  return (SYSBENCH_WORKLOADS as readonly string[]).includes(name);
}

export function workloadFamily(name: WorkloadName): WorkloadFamily {
  return isSysbench(name) ? 'sysbench' : 'ycsb';
}

/** The workload a name on the command line means, or undefined. */
export function resolveWorkloadName(text: string): WorkloadName | undefined {
  const lower = text.toLowerCase();
  if ((WORKLOADS as readonly string[]).includes(lower)) return lower as WorkloadName;
  const ycsb = /^(?:workload|ycsb-?)([a-f])$/.exec(lower);
  return ycsb === null ? undefined : (`ycsb-${ycsb[1]}` as YcsbWorkloadName);
}

/** Whether the workload starts on loaded tables (everything but bulk_insert, which loads). */
export function needsPreparedData(name: WorkloadName): boolean {
  return isSysbench(name) ? sysbenchNeedsPreparedData(name) : true;
}

export function describeWorkload(name: WorkloadName): string {
  return isSysbench(name) ? SYSBENCH_DESCRIPTIONS[name] : YCSB_DESCRIPTIONS[name];
}
