/**
 * Timing of synchronous operations through tinybench.
 *
 * One tinybench call runs a batch of `opsPerCall` operations, so the timer's resolution and call
 * overhead (tens of nanoseconds) vanish against the batch; each sample is then divided back to
 * one operation. Workloads that need concurrency (group commit) or a process of their own time
 * themselves in rounds instead: tinybench's samples are per call, and a call there is not one
 * operation.
 */
import { Bench } from 'tinybench';

export interface BatchTimingOptions {
  /** Operations one call of `fn` performs. */
  readonly opsPerCall: number;
  /** Time budget of the measured phase, ms. */
  readonly timeMs: number;
  /** Time budget of the warm-up phase (JIT, caches), ms. */
  readonly warmupMs: number;
  /** At least this many calls are measured, whatever the time budget. */
  readonly minCalls?: number;
}

/** Times `fn` and returns one sample per call: milliseconds per operation. */
export async function timeBatches(name: string, fn: () => void, options: BatchTimingOptions): Promise<number[]> {
  const bench = new Bench({
    time: options.timeMs,
    warmupTime: options.warmupMs,
    warmupIterations: 1,
    warmup: options.warmupMs > 0,
    iterations: options.minCalls ?? 5,
    retainSamples: true,
    throws: true,
  });
  bench.add(name, fn);
  const [task] = await bench.run();
  const result = task?.result;
  if (result === undefined || result.state !== 'completed' || result.latency.samples === undefined) {
    throw new Error(`tinybench task ${name} did not complete (${result?.state ?? 'no result'})`);
  }
  return result.latency.samples.map((ms) => ms / options.opsPerCall);
}

/** Converts per-operation times (ms) to rates (operations per second). */
export function perSecond(perOpMs: readonly number[]): number[] {
  return perOpMs.map((ms) => 1000 / ms);
}
