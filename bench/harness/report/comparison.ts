/**
 * The report of one comparison: what ran, on what, with every sample, the medians, and the ratio
 * of every engine's median throughput to every other's in the same run. report.json is this
 * object; the markdown table and the chart are drawn from it.
 */
import { machineInfo, type SuiteReport } from '../../lib/report.js';
import { median } from '../../lib/stats.js';
import type { EngineKind } from '../engines/engine.js';
import type { DiskUsage, SyncRate } from '../measure.js';
import type { PrepareResult, RunResult } from '../runner.js';
import type { WorkloadFamily, WorkloadName } from '../workloads/catalog.js';

export interface EngineDescription {
  /** The name on the command line (`minno:pool=10%`). */
  readonly label: string;
  readonly kind: EngineKind;
  readonly packageName: string;
  readonly version: string;
  readonly embeddedVersion: string | null;
  /** What "durable" (or not) means for it in this run. */
  readonly durability: string;
  readonly secondaryIndex: string;
  readonly notes: readonly string[];
}

export interface DatasetReport {
  readonly family: WorkloadFamily;
  readonly engine: EngineKind;
  readonly ok: boolean;
  readonly error?: string;
  readonly prepare?: PrepareResult;
}

export interface ResultSummary {
  /** Median over the repetitions. Events per second (bulk_insert: rows per second). */
  readonly eventsPerS: number;
  /** Medians over the repetitions, µs; `max` is the largest of any repetition. */
  readonly latencyUs: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number };
  readonly rssPeakBytes: number;
  readonly disk: DiskUsage;
  /** Median over the repetitions of bytes sent to storage (write_bytes) per event; null without /proc. */
  readonly writeBytesPerEvent: number | null;
  /** The same for bytes passed to write calls (wchar). */
  readonly wcharPerEvent: number | null;
  readonly retries: number;
  readonly events: number;
}

export interface WorkloadResult {
  readonly workload: WorkloadName;
  readonly engine: string;
  readonly kind: EngineKind;
  /** minno: the buffer pool this run had. */
  readonly bufferPoolBytes?: number;
  readonly limits: { readonly timeS: number; readonly events: number };
  readonly ok: boolean;
  readonly error?: string;
  readonly run?: RunResult;
  readonly summary?: ResultSummary;
}

export interface ComparisonReport {
  readonly tool: 'minno-bench';
  readonly format: 1;
  readonly command: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly machine: SuiteReport['machine'];
  /** Durable runs: the disk's raw overwrite + fdatasync rate, measured before and after the engines (median). */
  readonly syncRate: (SyncRate & { readonly samples: readonly SyncRate[] }) | null;
  readonly options: Readonly<Record<string, unknown>>;
  readonly engines: readonly EngineDescription[];
  readonly skippedEngines: readonly { readonly kind: EngineKind; readonly reason: string }[];
  readonly datasets: readonly DatasetReport[];
  readonly results: readonly WorkloadResult[];
  /** ratios[workload][a][b]: a's median throughput over b's. */
  readonly ratios: Readonly<Record<string, Readonly<Record<string, Readonly<Record<string, number>>>>>>;
}

export function summarizeRun(run: RunResult): ResultSummary {
  const reps = run.repetitions;
  const perEvent = (bytes: (r: RunResult['repetitions'][number]) => number | undefined): number | null => {
    const values = reps.filter((r) => r.io !== null && r.events > 0).map((r) => bytes(r)! / r.events);
    return values.length === 0 ? null : median(values);
  };
  return {
    eventsPerS: median(reps.map((r) => r.eventsPerS)),
    latencyUs: {
      p50: median(reps.map((r) => r.latencyUs.p50)),
      p95: median(reps.map((r) => r.latencyUs.p95)),
      p99: median(reps.map((r) => r.latencyUs.p99)),
      max: Math.max(...reps.map((r) => r.latencyUs.max)),
    },
    rssPeakBytes: run.rssPeakBytes,
    disk: run.disk,
    writeBytesPerEvent: perEvent((r) => r.io?.writeBytes),
    wcharPerEvent: perEvent((r) => r.io?.wchar),
    retries: reps.reduce((sum, r) => sum + r.retries, 0),
    events: reps.reduce((sum, r) => sum + r.events, 0),
  };
}

/** Every pair of engines that ran a workload, both ways. */
export function ratiosOf(results: readonly WorkloadResult[]): ComparisonReport['ratios'] {
  const ratios: Record<string, Record<string, Record<string, number>>> = {};
  for (const a of results) {
    if (a.summary === undefined) continue;
    for (const b of results) {
      if (b.workload !== a.workload || b.engine === a.engine || b.summary === undefined || b.summary.eventsPerS === 0)
        continue;
      ((ratios[a.workload] ??= {})[a.engine] ??= {})[b.engine] = a.summary.eventsPerS / b.summary.eventsPerS;
    }
  }
  return ratios;
}

export { machineInfo };
