/**
 * Runs one workload against one engine, in this process: the part of a comparison that happens
 * inside an engine's own process (child.ts), and what the test suite calls directly at tiny sizes.
 *
 *   open -> [load, untimed, unless the directory holds a prepared copy] -> warm-up (untimed)
 *        -> repetition 1 .. R (each until --time or --events) -> close -> bytes on disk, peak RSS
 *
 * Clients: `threads` async tasks on the one database, each drawing its events from a stream of its
 * own (so client i's sequence is the same for every engine) and starting its next event when the
 * last one settles. A synchronous engine answers in place; with several clients each event is
 * followed by a microtask yield so the clients take turns, and every client yields to the event
 * loop (setImmediate) at least every YIELD_MS so timers and I/O callbacks (an engine's background
 * work, the progress messages) run. An error the adapter calls retryable (a deadlock victim) is
 * counted and the event run again, as sysbench does with its ignored errors.
 *
 * Each client works in batches (runPhase): draw a few events, run them back to back reading the
 * clock once as each settles, then record their latencies. Latency is per event, from its start
 * (the previous event's settling, for one client) to its settling, in nanoseconds in an HDR
 * histogram (3 significant digits): every event is recorded, none sampled. Throughput is events
 * per second of the time the engine had: a repetition's wall time less the harness's own time,
 * drawing events (for bulk_insert, the rows: about as long as the fastest engine takes to store
 * them) and recording latencies. What the harness still charges the engine per event is one clock
 * read, a few stores and its loop: under 0.1 µs of CPU against a point select's 2 to 6 µs
 * (`minno-bench overhead` measures it; docs/bench/agreement.md). The JSON keeps both times.
 */
import * as hdr from 'hdr-histogram-js';
import { addDigest } from './engines/digest.js';
import type { EngineAdapter, EngineConfig, EngineKind, EngineSession } from './engines/engine.js';
import { loadAdapter } from './engines/catalog.js';
import {
  diskUsage,
  ioDelta,
  minnoDataBytes,
  peakRssBytes,
  readIoCounters,
  type DiskUsage,
  type IoCounters,
} from './measure.js';
import { Random, STREAM } from './random.js';
import {
  isSysbench,
  needsPreparedData,
  workloadFamily,
  type WorkloadFamily,
  type WorkloadName,
} from './workloads/catalog.js';
import { sbtestRows } from './workloads/sbtest.js';
import { SysbenchRun, type SbEvent, type SysbenchOptions } from './workloads/sysbench.js';
import { YcsbRun, ycsbRecord, type YcsbOperation, type YcsbOptions, type YcsbRecord } from './workloads/ycsb.js';

/** A macrotask yield at least this often, ms. */
const YIELD_MS = 10;
/** Most events a client draws ahead and runs as one batch (runPhase). */
const BATCH_MAX = 256;
/** What a batch aims to last, ms: a time limit or a yield waits about this long at most. */
const BATCH_TARGET_MS = 1;
/** Progress callbacks at most this often, ms. */
const PROGRESS_MS = 250;
/** Rows (records) per transaction when loading tables before a run. */
export const LOAD_CHUNK_ROWS = 10_000;

export interface DatasetSpec {
  readonly family: WorkloadFamily;
  readonly sysbench: SysbenchOptions;
  readonly ycsb: YcsbOptions;
  readonly seed: number;
}

export interface RunSpec extends DatasetSpec {
  readonly engine: EngineKind;
  readonly config: EngineConfig;
  readonly workload: WorkloadName;
  readonly threads: number;
  /** Per repetition; 0 = no limit (at least one of the two is set). */
  readonly timeS: number;
  readonly events: number;
  readonly warmupTimeS: number;
  readonly warmupEvents: number;
  readonly repetitions: number;
  /** Seconds between interval reports; 0 = none. */
  readonly reportIntervalS: number;
  /** The engine's directory: empty, or a prepared copy when `prepared`. */
  readonly dir: string;
  readonly prepared: boolean;
}

export interface LatencySummary {
  /** Microseconds. */
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

export interface IntervalSample {
  /** Seconds from the start of the repetition. */
  readonly atS: number;
  readonly eventsPerS: number;
  readonly p95Us: number;
}

export interface RepetitionResult {
  readonly events: number;
  /** Wall time of the repetition. */
  readonly durationMs: number;
  /**
   * Of that, the harness's own time: drawing events (keys, and the rows bulk_insert writes) and
   * recording their latencies.
   */
  readonly harnessMs: number;
  /** Events per second of the time left to the engine: durationMs - harnessMs. */
  readonly eventsPerS: number;
  readonly latencyUs: LatencySummary;
  /** The whole latency histogram (nanoseconds), HdrHistogram's compressed base64 encoding. */
  readonly histogram: string;
  readonly retries: number;
  /** I/O during the repetition, or null where /proc/self/io is not readable. */
  readonly io: IoCounters | null;
  readonly intervals: readonly IntervalSample[];
  readonly digest: number;
}

export interface RunResult {
  readonly repetitions: readonly RepetitionResult[];
  readonly warmupEvents: number;
  /** The untimed load of this run's own tables, engine time (0 for a prepared copy or bulk_insert). */
  readonly loadMs: number;
  readonly rssPeakBytes: number;
  readonly disk: DiskUsage;
  readonly embeddedVersion: string | null;
  /** All repetitions' digests combined: equal across engines for equal event sequences. */
  readonly digest: number;
}

export interface ProgressUpdate {
  readonly phase: 'load' | 'warm-up' | 'run';
  readonly repetition: number;
  /** 0..1 of the phase (by time or events, whichever is nearer its end), or of the load. */
  readonly fraction: number;
  readonly eventsPerS: number;
}

export interface RunHooks {
  progress?(update: ProgressUpdate): void;
  interval?(repetition: number, sample: IntervalSample): void;
}

/** What a workload is to the client loop: events drawn, executed, finished. */
export interface WorkloadDriver<E> {
  next(random: Random, client: number, budget: number): E;
  units(event: E): number;
  execute(session: EngineSession, event: E): number | Promise<number>;
  finished(event: E): void;
  /**
   * Whether the client must run this event before it draws the next: a YCSB insert, which the
   * next draws may read only once acknowledged (the `latest` distribution).
   */
  endsBatch(event: E): boolean;
}

export function sysbenchDriver(run: SysbenchRun): WorkloadDriver<SbEvent> {
  return {
    next: (random, client, budget) => run.next(random, client, budget),
    units: (event) => event.units,
    execute: (session, event) => session.sysbench(event),
    finished: () => {},
    // Inserts take their ids from counters when drawn: no draw waits for an event to run.
    endsBatch: () => false,
  };
}

export function ycsbDriver(run: YcsbRun): WorkloadDriver<YcsbOperation> {
  return {
    next: (random) => run.next(random),
    units: () => 1,
    execute: (session, op) => session.ycsb(op),
    finished: (op) => {
      if (op.op === 'insert') run.inserts.acknowledge(op.keynum);
    },
    endsBatch: (op) => op.op === 'insert',
  };
}

function newHistogram(): hdr.Histogram {
  // Nanoseconds, one to an hour, three significant digits.
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

function summarize(histogram: hdr.Histogram): LatencySummary {
  // A percentile is the top of its bucket (three significant digits), which can lie above the
  // largest value recorded: no percentile is reported above the maximum.
  const us = (ns: number): number => Math.min(ns, histogram.maxValue) / 1000;
  return {
    p50: us(histogram.getValueAtPercentile(50)),
    p95: us(histogram.getValueAtPercentile(95)),
    p99: us(histogram.getValueAtPercentile(99)),
    max: us(histogram.maxValue),
    mean: us(histogram.mean),
  };
}

function isPromise(value: unknown): value is Promise<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

const macrotask = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export interface PhaseLimits {
  readonly timeMs: number;
  readonly events: number;
}

export interface PhaseResult {
  readonly events: number;
  readonly durationMs: number;
  /** Of durationMs, the harness's own time: drawing events and recording their latencies. */
  readonly harnessMs: number;
  readonly histogram: hdr.Histogram;
  readonly retries: number;
  readonly intervals: IntervalSample[];
  readonly digest: number;
}

/**
 * Runs `threads` clients until the limits; records latencies when `record`.
 *
 * Each client works in batches: it draws up to `size` events (harness time), runs them back to
 * back reading the clock once as each settles (engine time), then records their latencies in the
 * histograms and reports progress (harness time). The engine is charged the wall time less the
 * harness's; an event's latency runs from the previous event's settling (one client) or from its
 * own start (several clients: they take turns between events) to its settling, so it includes
 * one clock read and a few stores, and nothing else of the harness. `size` starts at 1 and
 * doubles while a batch runs under BATCH_TARGET_MS (halves above 4x it), up to BATCH_MAX, so a
 * limit, a progress report or a yield waits at most about a millisecond or one event.
 */
export async function runPhase<E>(
  adapter: EngineAdapter,
  session: EngineSession,
  driver: WorkloadDriver<E>,
  randoms: readonly Random[],
  limits: PhaseLimits,
  reportIntervalS: number,
  onProgress: (fraction: number, eventsPerS: number) => void,
  onInterval: (sample: IntervalSample) => void,
): Promise<PhaseResult> {
  const histogram = newHistogram();
  const intervalHistogram = reportIntervalS > 0 ? newHistogram() : undefined;
  const intervals: IntervalSample[] = [];
  const start = performance.now();
  const stopAt = limits.timeMs > 0 ? start + limits.timeMs : Infinity;
  let remaining = limits.events > 0 ? limits.events : Infinity;
  let events = 0;
  let retries = 0;
  let digest = 0;
  let harnessMs = 0;
  let nextProgress = start + PROGRESS_MS;
  let intervalStart = start;
  let intervalHarnessMs = 0;
  let intervalEvents = 0;
  const intervalMs = reportIntervalS * 1000;
  const fraction = (now: number): number =>
    Math.min(1, Math.max((now - start) / (stopAt - start), limits.events > 0 ? events / limits.events : 0));
  const interleave = randoms.length > 1;

  const client = async (index: number): Promise<void> => {
    const random = randoms[index]!;
    const batch: E[] = [];
    const starts = new Float64Array(BATCH_MAX);
    const ends = new Float64Array(BATCH_MAX);
    let size = 1;
    let lastYield = performance.now();
    for (;;) {
      // Draw (harness time).
      const drawStart = performance.now();
      if (remaining <= 0 || drawStart >= stopAt) break;
      batch.length = 0;
      while (batch.length < size && remaining > 0) {
        const event = driver.next(random, index, remaining);
        remaining -= driver.units(event);
        batch.push(event);
        if (driver.endsBatch(event)) break;
      }
      // Run (engine time): one clock read per event.
      const runStart = performance.now();
      harnessMs += runStart - drawStart;
      let eventStart = runStart;
      for (let i = 0; i < batch.length; i++) {
        const event = batch[i]!;
        let result: number;
        for (;;) {
          try {
            const answer = driver.execute(session, event);
            result = isPromise(answer) ? await answer : answer;
            break;
          } catch (error) {
            if (!adapter.isRetryable(error)) throw error;
            retries++;
          }
        }
        const settled = performance.now();
        starts[i] = eventStart;
        ends[i] = settled;
        driver.finished(event);
        digest = addDigest(digest, result);
        if (interleave) {
          await undefined;
          eventStart = performance.now();
        } else {
          eventStart = settled;
        }
      }
      // Record (harness time). With several clients, others ran between this batch's last event
      // and now: the clock is read afresh.
      const runEnd = ends[batch.length - 1]!;
      const recordStart = interleave ? performance.now() : runEnd;
      for (let i = 0; i < batch.length; i++) {
        const ns = Math.max(1, Math.round((ends[i]! - starts[i]!) * 1e6));
        histogram.recordValue(ns);
        intervalHistogram?.recordValue(ns);
        const units = driver.units(batch[i]!);
        events += units;
        intervalEvents += units;
      }
      if (runEnd >= nextProgress) {
        nextProgress = runEnd + PROGRESS_MS;
        onProgress(fraction(runEnd), (events * 1000) / (runEnd - start - harnessMs));
      }
      if (intervalHistogram !== undefined && runEnd - intervalStart >= intervalMs) {
        const sample = {
          atS: (runEnd - start) / 1000,
          // Of the engine's time, as the repetition's figure (the harness's so far in this batch excluded).
          eventsPerS: (intervalEvents * 1000) / (runEnd - intervalStart - (harnessMs - intervalHarnessMs)),
          p95Us: intervalHistogram.getValueAtPercentile(95) / 1000,
        };
        intervals.push(sample);
        onInterval(sample);
        intervalHistogram.reset();
        intervalStart = runEnd;
        intervalHarnessMs = harnessMs;
        intervalEvents = 0;
      }
      const ran = runEnd - runStart;
      if (ran < BATCH_TARGET_MS && batch.length === size) size = Math.min(BATCH_MAX, size * 2);
      else if (ran > 4 * BATCH_TARGET_MS) size = Math.max(1, size >> 1);
      const recorded = performance.now();
      harnessMs += recorded - recordStart;
      if (recorded - lastYield >= YIELD_MS) {
        await macrotask();
        lastYield = performance.now();
      } else if (interleave) {
        await undefined;
      }
    }
  };

  await Promise.all(randoms.map((_, i) => client(i)));
  const durationMs = performance.now() - start;
  onProgress(1, (events * 1000) / (durationMs - harnessMs));
  return { events, durationMs, harnessMs, histogram, retries, intervals, digest };
}

/**
 * Creates and loads the tables of a family (the prepare step), in transactions of LOAD_CHUNK_ROWS.
 * Returns the time spent in the engine's calls, ms (drawing the rows is not counted).
 */
export async function loadTables(
  session: EngineSession,
  spec: DatasetSpec,
  onProgress: (fraction: number, rowsPerS: number) => void,
): Promise<number> {
  let engineMs = 0;
  let done = 0;
  const timed = async (load: () => Promise<void>): Promise<void> => {
    const t0 = performance.now();
    await load();
    engineMs += performance.now() - t0;
  };
  const report = (total: number): void => onProgress(done / total, (done * 1000) / engineMs);
  if (spec.family === 'sysbench') {
    const { tables, tableSize } = spec.sysbench;
    await session.createSbtest(tables);
    for (let table = 1; table <= tables; table++) {
      for (let first = 1; first <= tableSize; first += LOAD_CHUNK_ROWS) {
        const count = Math.min(LOAD_CHUNK_ROWS, tableSize - first + 1);
        const rows = sbtestRows(spec.seed, table, first, count, tableSize);
        await timed(() => session.loadSbtest(table, rows));
        done += count;
        report(tables * tableSize);
      }
    }
  } else {
    const { recordcount, fieldcount, fieldlength } = spec.ycsb;
    await session.createUsertable(fieldcount, fieldlength);
    for (let first = 0; first < recordcount; first += LOAD_CHUNK_ROWS) {
      const records: YcsbRecord[] = [];
      for (let keynum = first; keynum < Math.min(recordcount, first + LOAD_CHUNK_ROWS); keynum++)
        records.push(ycsbRecord(spec.seed, keynum, spec.ycsb));
      await timed(() => session.loadUsertable(records));
      done += records.length;
      report(recordcount);
    }
  }
  return engineMs;
}

export interface PrepareSpec extends DatasetSpec {
  readonly engine: EngineKind;
  readonly config: EngineConfig;
  readonly dir: string;
}

export interface PrepareResult {
  readonly rows: number;
  /** Time spent in the engine's load calls (drawing the rows excluded). */
  readonly loadMs: number;
  readonly disk: DiskUsage;
  /** minno only: the bytes of its tablespaces, what pool percentages are of. */
  readonly minnoDataBytes: number | null;
}

/** Loads a family's tables into an empty directory and closes the engine: a copy source. */
export async function prepareDataset(spec: PrepareSpec, hooks: RunHooks = {}): Promise<PrepareResult> {
  const adapter = await loadAdapter(spec.engine);
  const session = await adapter.open(spec.dir, spec.config);
  let loadMs: number;
  try {
    loadMs = await loadTables(session, spec, (fraction, eventsPerS) =>
      hooks.progress?.({ phase: 'load', repetition: 0, fraction, eventsPerS }),
    );
  } finally {
    await session.close();
  }
  return {
    rows: spec.family === 'sysbench' ? spec.sysbench.tables * spec.sysbench.tableSize : spec.ycsb.recordcount,
    loadMs,
    disk: diskUsage(spec.dir),
    minnoDataBytes: spec.engine === 'minno' ? minnoDataBytes(spec.dir) : null,
  };
}

/** Runs a workload (see the module doc). */
export async function runWorkload(spec: RunSpec, hooks: RunHooks = {}): Promise<RunResult> {
  if (workloadFamily(spec.workload) !== spec.family)
    throw new Error(`runWorkload: ${spec.workload} is not a ${spec.family} workload`);
  const adapter = await loadAdapter(spec.engine);
  const session = await adapter.open(spec.dir, spec.config);
  let result: Omit<RunResult, 'rssPeakBytes' | 'disk'>;
  try {
    result = await runOpen(adapter, session, spec, hooks);
  } finally {
    await session.close();
  }
  return { ...result, rssPeakBytes: peakRssBytes(), disk: diskUsage(spec.dir) };
}

async function runOpen(
  adapter: EngineAdapter,
  session: EngineSession,
  spec: RunSpec,
  hooks: RunHooks,
): Promise<Omit<RunResult, 'rssPeakBytes' | 'disk'>> {
  let loadMs = 0;
  let driver: WorkloadDriver<SbEvent> | WorkloadDriver<YcsbOperation>;
  if (isSysbench(spec.workload)) {
    const run = new SysbenchRun(spec.workload, spec.sysbench, spec.threads, spec.seed);
    if (!needsPreparedData(spec.workload)) await session.createSbtest(run.bulkTables());
    driver = sysbenchDriver(run);
  } else {
    driver = ycsbDriver(new YcsbRun(spec.workload, spec.ycsb));
  }
  if (needsPreparedData(spec.workload)) {
    if (spec.prepared) {
      if (spec.family === 'ycsb') session.useUsertable(spec.ycsb.fieldcount);
    } else {
      loadMs = await loadTables(session, spec, (fraction, eventsPerS) =>
        hooks.progress?.({ phase: 'load', repetition: 0, fraction, eventsPerS }),
      );
    }
  }
  const clients = Array.from({ length: spec.threads }, (_, i) => i);
  const progress = (phase: ProgressUpdate['phase'], repetition: number) => (fraction: number, eventsPerS: number) =>
    hooks.progress?.({ phase, repetition, fraction, eventsPerS });

  let warmupEvents = 0;
  if (spec.warmupTimeS > 0 || spec.warmupEvents > 0) {
    const randoms = clients.map((i) => new Random(spec.seed, STREAM.warmup, i));
    const warmup = await runPhase(
      adapter,
      session,
      driver as WorkloadDriver<unknown>,
      randoms,
      { timeMs: spec.warmupTimeS * 1000, events: spec.warmupEvents },
      0,
      progress('warm-up', 0),
      () => {},
    );
    warmupEvents = warmup.events;
  }

  // The measured streams continue from one repetition to the next.
  const randoms = clients.map((i) => new Random(spec.seed, STREAM.client, i));
  const repetitions: RepetitionResult[] = [];
  let digest = 0;
  for (let r = 1; r <= spec.repetitions; r++) {
    const ioBefore = readIoCounters();
    const phase = await runPhase(
      adapter,
      session,
      driver as WorkloadDriver<unknown>,
      randoms,
      { timeMs: spec.timeS * 1000, events: spec.events },
      spec.reportIntervalS,
      progress('run', r),
      (sample) => hooks.interval?.(r, sample),
    );
    const io = ioDelta(ioBefore, readIoCounters()) ?? null;
    repetitions.push({
      events: phase.events,
      durationMs: phase.durationMs,
      harnessMs: phase.harnessMs,
      eventsPerS: (phase.events * 1000) / (phase.durationMs - phase.harnessMs),
      latencyUs: summarize(phase.histogram),
      histogram: hdr.encodeIntoCompressedBase64(phase.histogram),
      retries: phase.retries,
      io,
      intervals: phase.intervals,
      digest: phase.digest,
    });
    digest = addDigest(digest, phase.digest);
  }
  return { repetitions, warmupEvents, loadMs, embeddedVersion: session.embeddedVersion() ?? null, digest };
}
