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
 * Latency is per event, from its start to its settling, recorded in nanoseconds in an HDR
 * histogram (3 significant digits). Throughput is events per second of the time the engine had:
 * a repetition's wall time less the harness's own time drawing events (a few µs an event; for
 * bulk_insert, the rows: about as long as the fastest engine takes to store them). The JSON keeps
 * both times.
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
  /** Of that, the harness's own time drawing events (keys, and the rows bulk_insert writes). */
  readonly drawMs: number;
  /** Events per second of the time left to the engine: durationMs - drawMs. */
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
interface WorkloadDriver<E> {
  next(random: Random, client: number, budget: number): E;
  units(event: E): number;
  execute(session: EngineSession, event: E): number | Promise<number>;
  finished(event: E): void;
}

function sysbenchDriver(run: SysbenchRun): WorkloadDriver<SbEvent> {
  return {
    next: (random, client, budget) => run.next(random, client, budget),
    units: (event) => event.units,
    execute: (session, event) => session.sysbench(event),
    finished: () => {},
  };
}

function ycsbDriver(run: YcsbRun): WorkloadDriver<YcsbOperation> {
  return {
    next: (random) => run.next(random),
    units: () => 1,
    execute: (session, op) => session.ycsb(op),
    finished: (op) => {
      if (op.op === 'insert') run.inserts.acknowledge(op.keynum);
    },
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

interface PhaseLimits {
  readonly timeMs: number;
  readonly events: number;
}

interface PhaseResult {
  readonly events: number;
  readonly durationMs: number;
  readonly drawMs: number;
  readonly histogram: hdr.Histogram;
  readonly retries: number;
  readonly intervals: IntervalSample[];
  readonly digest: number;
}

/** Runs `threads` clients until the limits; records latencies when `record`. */
async function runPhase<E>(
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
  let drawMs = 0;
  let nextProgress = start + PROGRESS_MS;
  let intervalStart = start;
  let intervalEvents = 0;
  const intervalMs = reportIntervalS * 1000;
  const fraction = (now: number): number =>
    Math.min(1, Math.max((now - start) / (stopAt - start), limits.events > 0 ? events / limits.events : 0));
  const interleave = randoms.length > 1;

  const client = async (index: number): Promise<void> => {
    const random = randoms[index]!;
    let lastYield = performance.now();
    for (;;) {
      const drawStart = performance.now();
      if (remaining <= 0 || drawStart >= stopAt) break;
      const event = driver.next(random, index, remaining);
      const units = driver.units(event);
      remaining -= units;
      const t0 = performance.now();
      drawMs += t0 - drawStart;
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
      const t1 = performance.now();
      driver.finished(event);
      const ns = Math.max(1, Math.round((t1 - t0) * 1e6));
      histogram.recordValue(ns);
      intervalHistogram?.recordValue(ns);
      events += units;
      intervalEvents += units;
      digest = addDigest(digest, result);
      if (t1 >= nextProgress) {
        nextProgress = t1 + PROGRESS_MS;
        onProgress(fraction(t1), (events * 1000) / (t1 - start));
      }
      if (intervalHistogram !== undefined && t1 - intervalStart >= intervalMs) {
        const sample = {
          atS: (t1 - start) / 1000,
          eventsPerS: (intervalEvents * 1000) / (t1 - intervalStart),
          p95Us: intervalHistogram.getValueAtPercentile(95) / 1000,
        };
        intervals.push(sample);
        onInterval(sample);
        intervalHistogram.reset();
        intervalStart = t1;
        intervalEvents = 0;
      }
      if (t1 - lastYield >= YIELD_MS) {
        await macrotask();
        lastYield = performance.now();
      } else if (interleave) {
        await undefined;
      }
    }
  };

  await Promise.all(randoms.map((_, i) => client(i)));
  const durationMs = performance.now() - start;
  onProgress(1, (events * 1000) / (durationMs - drawMs));
  return { events, durationMs, drawMs, histogram, retries, intervals, digest };
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
      drawMs: phase.drawMs,
      eventsPerS: (phase.events * 1000) / (phase.durationMs - phase.drawMs),
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
