/**
 * Table API benchmarks (issue 4): the sysbench table through the public API (`Database`, `Table`).
 *
 * The table is sysbench's `sbtest` (oltp_common.lua): `id` int64 primary key, `k` int32 with the
 * secondary index `k_idx`, `c` string(120), `pad` string(60). Values as sysbench's prepare makes
 * them: ids 1..rows in order, `k` uniform in [1, rows] (sysbench 1.1's default `--rand-type`), `c`
 * ten groups of 11 random digits joined by '-' (119 characters), `pad` five such groups (59). The
 * digit groups come from a seeded pool of 4096, so a run is reproducible and drawing a row costs
 * little; the bytes stored are the same shape as sysbench's.
 *
 * Everything runs on `NodeVfs` in a scratch directory under os.tmpdir(), 16 KiB pages, background
 * work in manual mode (as the storage-core bench: nothing runs unless the workload says so; the
 * redo log's free check still flushes in the foreground when it fills, as in production). The
 * database is loaded once per run and kept for every workload below (`--filter` on a later one
 * loads it untimed first); the database's default durability is `none`, and the load's
 * transactions ask for `full`.
 *
 * Workloads (`SIZES` gives the sizes per scale; the issue's targets are stated at `full`):
 *
 *  1. load           bulk load: `rows` rows in transactions of `rowsPerTrx` (`insertMany` inside
 *                    `db.transaction(fn, { durability: 'full' })`), with a pool that holds all
 *                    the data. Rows are drawn outside the timed part; one sample per transaction.
 *                    Target >= 100,000 rows/s. Also the raw datasync rate of the same disk (a
 *                    transaction of 1000 rows pays one).
 *  2. pool-holds-data  on the loaded database (every page in the pool):
 *                    - point get by primary key (`table.get(id)`, ids uniform), target >= 450,000/s
 *                    - point get through the secondary index (`getByIndex('k_idx', k)` with the k
 *                      of a random existing row), target >= 225,000/s
 *                    - range scan of 100 rows (`scan({ gte: id, lte: id + 99 })`, sysbench's
 *                      simple_ranges), target >= 35,000 scans/s
 *                    - update of `c` (a non-key column), autocommit (durability none)
 *                    - the same update in `db.transaction(fn, { durability: 'full' })`, against
 *                      the raw datasync rate measured right before each round (paired)
 *                    Baseline for the point reads: `Map.get` of the same bigint keys (the floor of
 *                    any lookup in JavaScript). Purge runs between update rounds, untimed.
 *  3. pool-tenth     in a child process (RSS as the storage-core bench measures it): the same
 *                    database reopened with a pool a tenth of the data's pages, the same reads and
 *                    updates (against workload 2 as the baseline when it ran), RSS sampled
 *                    throughout. Target: max RSS - pool <= 64 MiB.
 *
 * The load is not repeated with the small pool: loading the full size once is most of the run.
 * Figures are medians over samples (tinybench batches, or timed rounds), with the p99 on the side
 * that hurts; see `lib/report.ts`.
 */
import * as os from 'node:os';
import { Database } from '../src/api/database.js';
import type { Table } from '../src/api/table.js';
import type { TableSchema } from '../src/rec/schema.js';
import type { Durability } from '../src/redo/redo-log.js';
import { RandomSource } from '../src/util/random.js';
import { NodeVfs } from '../src/vfs/node-vfs.js';
import type { VfsFile } from '../src/vfs/vfs.js';
import { metric, type Metric } from './lib/report.js';
import { MiB, RssSampler } from './lib/rss.js';
import type { BenchScale, BenchSuite } from './lib/suite.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';
import { perSecond, timeBatches } from './lib/timing.js';

const KiB = 1024;
const PAGE_SIZE = 16 * KiB;

// ------------------------------------------------------------------------------------------ sizes

/** The timed operations on a loaded table (workloads 2 and 3). */
export interface OpsSize {
  /** Point gets per tinybench call. */
  readonly getsPerCall: number;
  /** Range scans per tinybench call. */
  readonly scansPerCall: number;
  readonly timeMs: number;
  readonly warmupMs: number;
  /** Rounds of each update variant; the first, shorter one warms up and is dropped. */
  readonly updateRounds: number;
  readonly updateRoundMs: number;
}

export interface TableApiSize {
  readonly rows: number;
  readonly rowsPerTrx: number;
  /** The pool of workloads 1 and 2: must hold every page of the loaded table. */
  readonly bufferPoolBytes: number;
  readonly redoLogBytes: number;
  /** Rounds of the raw datasync rate reported with the load. */
  readonly rawRoundMs: number;
  readonly ops: OpsSize;
}

const FULL_OPS: OpsSize = {
  getsPerCall: 2000,
  scansPerCall: 100,
  timeMs: 2000,
  warmupMs: 300,
  updateRounds: 5,
  updateRoundMs: 1000,
};

export const SIZES: Readonly<Record<BenchScale, TableApiSize>> = {
  tiny: {
    rows: 1500,
    rowsPerTrx: 500,
    bufferPoolBytes: 4 * MiB,
    redoLogBytes: 4 * MiB,
    rawRoundMs: 10,
    ops: { getsPerCall: 50, scansPerCall: 5, timeMs: 5, warmupMs: 0, updateRounds: 1, updateRoundMs: 10 },
  },
  quick: {
    rows: 100_000,
    rowsPerTrx: 1000,
    bufferPoolBytes: 64 * MiB,
    redoLogBytes: 64 * MiB,
    rawRoundMs: 200,
    ops: { getsPerCall: 1000, scansPerCall: 50, timeMs: 300, warmupMs: 100, updateRounds: 3, updateRoundMs: 300 },
  },
  full: {
    rows: 1_000_000,
    rowsPerTrx: 1000,
    bufferPoolBytes: 512 * MiB,
    redoLogBytes: 256 * MiB,
    rawRoundMs: 500,
    ops: FULL_OPS,
  },
};

// ------------------------------------------------------------------------------------------ the sysbench table

export const SBTEST = 'sbtest';

export const SBTEST_SCHEMA: TableSchema = {
  name: SBTEST,
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'k', type: 'int32' },
    { name: 'c', type: 'string', maxLength: 120 },
    { name: 'pad', type: 'string', maxLength: 60 },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'k_idx', columns: ['k'] }],
};

export type SbtestRow = { id: bigint; k: number; c: string; pad: string };

const DIGIT_GROUPS = 4096;
const DIGITS_PER_GROUP = 11;

/** sysbench's value generators for `sbtest`, seeded. */
export class SysbenchValues {
  readonly random: RandomSource;
  readonly tableSize: number;
  private readonly groups: string[] = [];

  constructor(seed: number, tableSize: number) {
    this.random = new RandomSource(seed);
    this.tableSize = tableSize;
    for (let g = 0; g < DIGIT_GROUPS; g++) {
      let group = '';
      for (let d = 0; d < DIGITS_PER_GROUP; d++) group += String.fromCharCode(48 + this.random.int(10));
      this.groups.push(group);
    }
  }

  /** `sysbench.rand.default(1, table_size)`: an existing id, or a k value. */
  id(): number {
    return 1 + this.random.int(this.tableSize);
  }

  k(): number {
    return 1 + this.random.int(this.tableSize);
  }

  private digits(groups: number): string {
    let out = this.groups[this.random.int(DIGIT_GROUPS)]!;
    for (let g = 1; g < groups; g++) out += `-${this.groups[this.random.int(DIGIT_GROUPS)]!}`;
    return out;
  }

  /** The `c` template: 10 groups of 11 digits, 119 characters. */
  c(): string {
    return this.digits(10);
  }

  /** The `pad` template: 5 groups of 11 digits, 59 characters. */
  pad(): string {
    return this.digits(5);
  }

  row(id: number): SbtestRow {
    return { id: BigInt(id), k: this.k(), c: this.c(), pad: this.pad() };
  }
}

/** Random draws made up front, so the timed loops spend nothing on drawing them. */
export const SEQUENCE_LENGTH = 1 << 16;
export const SEQUENCE_MASK = SEQUENCE_LENGTH - 1;

/** `SEQUENCE_LENGTH` ids uniform in [1, maxId], as bigints (the type the API reads int64 back as). */
export function idSequence(random: RandomSource, maxId: number): bigint[] {
  return Array.from({ length: SEQUENCE_LENGTH }, () => BigInt(1 + random.int(maxId)));
}

/** Values of `c` for the update loops, drawn up front (few: the child's RSS counts them). */
export const C_VALUES = 4096;
export const C_MASK = C_VALUES - 1;

export function cSequence(values: SysbenchValues): string[] {
  return Array.from({ length: C_VALUES }, () => values.c());
}

export interface LoadResult {
  /** Rows per second of each transaction (the time of drawing its rows excluded). */
  readonly trxRowsPerS: number[];
  /** The whole load, drawing included. */
  readonly elapsedMs: number;
  /** Pages the pool wrote during the load (the log's free check flushes when it fills). */
  readonly pagesWritten: number;
  /** The CPU share of the load (`CpuMeter`). */
  readonly cpu: string;
}

/** Creates `sbtest` and loads `rows` rows, `rowsPerTrx` a transaction. */
export async function loadSbtest(
  db: Database,
  values: SysbenchValues,
  rows: number,
  rowsPerTrx: number,
  durability: Durability,
  onTrx: (loaded: number) => void = () => {},
): Promise<LoadResult> {
  await db.createTable(SBTEST_SCHEMA);
  const writes0 = db.storage.pool.stats.writes;
  const trxRowsPerS: number[] = [];
  const cpu = CpuMeter.started();
  const start = performance.now();
  for (let first = 1; first <= rows; first += rowsPerTrx) {
    const batch: SbtestRow[] = [];
    for (let id = first; id < first + rowsPerTrx && id <= rows; id++) batch.push(values.row(id));
    const t0 = performance.now();
    await db.transaction((tx) => tx.table<SbtestRow>(SBTEST).insertMany(batch), { durability });
    trxRowsPerS.push((batch.length * 1000) / (performance.now() - t0));
    onTrx(first + batch.length - 1);
  }
  return {
    trxRowsPerS,
    elapsedMs: performance.now() - start,
    pagesWritten: db.storage.pool.stats.writes - writes0,
    cpu: cpu.describe(),
  };
}

// ------------------------------------------------------------------------------------------ raw datasync

/** The raw rate of the disk: write 512 B in place in a preallocated file, then fdatasync. */
export class RawDatasync {
  private readonly dir: TempDir;
  private readonly file: VfsFile;
  private readonly block: Uint8Array;
  private readonly fileBytes: number;
  private position = 0;

  constructor(fileBytes = 4 * MiB, blockBytes = 512) {
    this.dir = makeTempDir('minno-bench-raw-');
    this.block = new RandomSource(2).fill(new Uint8Array(blockBytes));
    this.fileBytes = Math.floor(fileBytes / blockBytes) * blockBytes;
    this.file = new NodeVfs(this.dir.path).open('raw.dat', { create: true, truncate: true });
    this.file.write(new Uint8Array(this.fileBytes), 0);
    this.file.sync();
  }

  get description(): string {
    return `raw datasync (write ${this.block.length} B + fdatasync, preallocated file)`;
  }

  /** Syncs for `roundMs`; returns syncs/s. */
  round(roundMs: number): number {
    const start = performance.now();
    let count = 0;
    while (performance.now() - start < roundMs) {
      this.file.write(this.block, this.position);
      this.position = (this.position + this.block.length) % this.fileBytes;
      this.file.datasync();
      count++;
    }
    return (count * 1000) / (performance.now() - start);
  }

  close(): void {
    this.file.close();
    this.dir.remove();
  }
}

/** Runs `op` one at a time for `roundMs`; returns operations per second. */
export async function asyncRound(roundMs: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let count = 0;
  while (performance.now() - start < roundMs) await op(count++);
  return (count * 1000) / (performance.now() - start);
}

// ------------------------------------------------------------------------------------------ the dataset

interface Dataset {
  readonly dir: TempDir;
  db: Database | undefined;
  readonly load: LoadResult;
  readonly rawSyncPerS: number[];
  /** Pages of the loaded database (every page is in the big pool). */
  readonly dataBytes: number;
  /** Workload 2's samples, the baseline of workload 3. */
  holdsData?: OpsSamples;
}

/** One loaded database per scale, kept between workloads; removed by the last one or at exit. */
const datasets = new Map<BenchScale, Promise<Dataset>>();

function openOptions(dir: string, size: TableApiSize, bufferPoolBytes: number) {
  return {
    path: dir,
    pageSize: PAGE_SIZE,
    bufferPoolBytes,
    redoLogBytes: size.redoLogBytes,
    durability: 'none',
    background: 'manual',
  } as const;
}

function dataset(scale: BenchScale, log: (line: string) => void): Promise<Dataset> {
  let promise = datasets.get(scale);
  if (promise === undefined) {
    promise = createDataset(SIZES[scale], log);
    datasets.set(scale, promise);
    promise.catch(() => datasets.delete(scale));
  }
  return promise;
}

async function createDataset(size: TableApiSize, log: (line: string) => void): Promise<Dataset> {
  const dir = makeTempDir('minno-bench-sbtest-');
  process.once('exit', () => dir.remove());
  try {
    const db = await Database.open(openOptions(dir.path, size, size.bufferPoolBytes));
    const values = new SysbenchValues(1, size.rows);
    const every = Math.max(1, Math.round(size.rows / 10));
    let nextReport = every;
    const load = await loadSbtest(db, values, size.rows, size.rowsPerTrx, 'full', (loaded) => {
      if (loaded >= nextReport) {
        log(`loaded ${formatInt(loaded)} rows`);
        nextReport += every;
      }
    });
    const pool = db.storage.pool.snapshot();
    if (pool.evictions > 0)
      throw new Error(
        `table-api bench: the pool of ${size.bufferPoolBytes / MiB} MiB does not hold the data; raise bufferPoolBytes`,
      );
    const raw = new RawDatasync();
    const rawSyncPerS: number[] = [];
    try {
      for (let i = 0; i < 3; i++) rawSyncPerS.push(raw.round(size.rawRoundMs));
    } finally {
      raw.close();
    }
    const dataBytes = (pool.frames - pool.freeFrames) * PAGE_SIZE;
    log(
      `load: ${formatInt(size.rows)} rows in ${(load.elapsedMs / 1000).toFixed(1)} s, ${(dataBytes / MiB).toFixed(1)} MiB of pages, ${formatInt(load.pagesWritten)} pages written during the load`,
    );
    return { dir, db, load, rawSyncPerS, dataBytes };
  } catch (error) {
    dir.remove();
    throw error;
  }
}

async function disposeDataset(scale: BenchScale): Promise<void> {
  const promise = datasets.get(scale);
  datasets.delete(scale);
  if (promise === undefined) return;
  const data = await promise;
  try {
    await data.db?.close();
  } finally {
    data.dir.remove();
  }
}

// ------------------------------------------------------------------------------------------ 1. load

export async function bulkLoad(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const size = SIZES[scale];
  const data = await dataset(scale, log);
  const workload = 'sbtest bulk load (NodeVfs)';
  const trxs = data.load.trxRowsPerS.length;
  const rawSync = metric({
    workload,
    name: 'raw datasync, preallocated file (write 512 B + fdatasync): reference',
    unit: 'syncs/s',
    better: 'higher',
    samples: data.rawSyncPerS,
  });
  return [
    metric({
      workload,
      name: `rows/s, ${formatInt(size.rowsPerTrx)} rows a transaction, durability full`,
      unit: 'rows/s',
      better: 'higher',
      samples: data.load.trxRowsPerS,
      target: { op: '>=', value: 100_000, on: 'median' },
      note:
        `${formatInt(size.rows)} rows, ${trxs} transactions, ${(data.load.elapsedMs / 1000).toFixed(1)} s in all with drawing the rows, ` +
        `${(data.dataBytes / MiB).toFixed(0)} MiB of pages, ${formatInt(data.load.pagesWritten)} pages flushed for log room; ${data.load.cpu}`,
    }),
    rawSync,
  ];
}

// ------------------------------------------------------------------------------------------ 2 and 3. operations

/** What one run of the operations measured (samples, as JSON crosses the process boundary). */
export interface OpsSamples {
  readonly getMs: number[];
  readonly indexGetMs: number[];
  readonly scanMs: number[];
  /** Rows the scans returned, per scan (100 unless the table is short). */
  readonly rowsPerScan: number;
  readonly updateNonePerS: number[];
  readonly updateFullPerS: number[];
  /** The raw datasync rate measured right before each durable update round. */
  readonly rawBeforeFullPerS: number[];
  readonly purgedRecords: number;
  /** Page accesses and pool misses of the reads (gets, index gets, scans). */
  readonly readPages: number;
  readonly readMisses: number;
  /** The same during the updates and purges (each updating transaction takes a new undo page). */
  readonly updatePages: number;
  readonly updateMisses: number;
  /** `CpuMeter` of each timed phase. */
  readonly cpu: {
    readonly get: string;
    readonly indexGet: string;
    readonly scan: string;
    readonly updateNone: string;
    readonly updateFull: string;
  };
}

/** Keeps reads alive so that no loop can be optimised away. */
let sink = 0;

/** The phases of `measureOps`, in order. */
export const OPS_PHASES = ['setup', 'get', 'index get', 'scan', 'updates'] as const;
export type OpsPhase = (typeof OPS_PHASES)[number];

/**
 * The timed operations on a loaded `sbtest` of `rows` rows. `sample` is called every 256
 * operations (the child samples RSS there), `onPhase` as each phase starts.
 */
export async function measureOps(
  db: Database,
  rows: number,
  size: OpsSize,
  sample: () => void,
  seed: number,
  onPhase: (phase: OpsPhase) => void = () => {},
): Promise<OpsSamples> {
  onPhase('setup');
  const table: Table<SbtestRow> = db.table<SbtestRow>(SBTEST);
  const random = new RandomSource(seed);
  const ids = idSequence(random, rows);
  const scanStarts = idSequence(random, Math.max(1, rows - 99));
  // The k of existing rows, so that every lookup through k_idx finds one.
  const ks = ids.slice(0, 1 << 14).map((id) => table.get(id)!.k);
  const kMask = ks.length - 1;
  const values = new SysbenchValues(seed + 1, rows);
  const cs = cSequence(values);
  const pool = db.storage.pool;
  const pages = (): number => pool.stats.hits + pool.stats.misses;
  const pages0 = pages();
  const misses0 = pool.stats.misses;
  let cursor = 0;

  /** Times `op` (`perCall` of them a tinybench call, sampling every `sampleEvery`) as phase `phase`. */
  const timePhase = async (
    phase: OpsPhase,
    perCall: number,
    sampleEvery: number,
    op: () => void,
  ): Promise<{ ms: number[]; cpu: string }> => {
    onPhase(phase);
    const cpu = CpuMeter.started();
    const ms = await timeBatches(
      phase,
      () => {
        for (let i = 0; i < perCall; i++) {
          op();
          if ((++cursor & (sampleEvery - 1)) === 0) sample();
        }
      },
      { opsPerCall: perCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
    );
    return { ms, cpu: cpu.describe() };
  };
  const get = await timePhase('get', size.getsPerCall, 256, () => {
    sink += table.get(ids[cursor & SEQUENCE_MASK]!)!.c.length;
  });
  const indexGet = await timePhase('index get', size.getsPerCall, 256, () => {
    sink += table.getByIndex('k_idx', ks[cursor & kMask]!)!.c.length;
  });
  let scanned = 0;
  let scans = 0;
  const scan = await timePhase('scan', size.scansPerCall, 16, () => {
    const from = scanStarts[cursor & SEQUENCE_MASK]!;
    for (const row of table.scan({ gte: from, lte: from + 99n })) {
      sink += row.c.length;
      scanned++;
    }
    scans++;
  });
  const readPages = pages() - pages0;
  const readMisses = pool.stats.misses - misses0;
  onPhase('updates');
  // Updates: an autocommit one at the database's default (none), and one in a transaction at
  // full, each round of the latter right after a round of the raw datasync rate.
  const raw = new RawDatasync();
  const updateNonePerS: number[] = [];
  const updateFullPerS: number[] = [];
  const rawBeforeFullPerS: number[] = [];
  let purgedRecords = 0;
  const noneCpu = new CpuMeter();
  const fullCpu = new CpuMeter();
  try {
    for (let round = -1; round < size.updateRounds; round++) {
      const roundMs = round < 0 ? Math.max(1, size.updateRoundMs / 4) : size.updateRoundMs;
      noneCpu.start();
      const none = await asyncRound(roundMs, (i) => {
        if ((i & 255) === 0) sample();
        return table.update(ids[cursor++ & SEQUENCE_MASK]!, { c: cs[i & C_MASK]! });
      });
      noneCpu.stop();
      purgedRecords += db.purge();
      const rawRate = raw.round(roundMs / 2);
      fullCpu.start();
      const full = await asyncRound(roundMs, (i) => {
        if ((i & 255) === 0) sample();
        const id = ids[cursor++ & SEQUENCE_MASK]!;
        return db.transaction((tx) => tx.table<SbtestRow>(SBTEST).update(id, { c: cs[i & C_MASK]! }), {
          durability: 'full',
        });
      });
      fullCpu.stop();
      purgedRecords += db.purge();
      if (round >= 0) {
        updateNonePerS.push(none);
        updateFullPerS.push(full);
        rawBeforeFullPerS.push(rawRate);
      }
    }
  } finally {
    raw.close();
  }
  sample();
  return {
    getMs: get.ms,
    indexGetMs: indexGet.ms,
    scanMs: scan.ms,
    rowsPerScan: scans === 0 ? 0 : scanned / scans,
    updateNonePerS,
    updateFullPerS,
    rawBeforeFullPerS,
    purgedRecords,
    readPages,
    readMisses,
    updatePages: pages() - pages0 - readPages,
    updateMisses: pool.stats.misses - misses0 - readMisses,
    cpu: {
      get: get.cpu,
      indexGet: indexGet.cpu,
      scan: scan.cpu,
      updateNone: noneCpu.describe(),
      updateFull: fullCpu.describe(),
    },
  };
}

/** `Map.get` of the same keys, a map as large as the table: the floor of a lookup in JavaScript. */
async function mapGetBaseline(rows: number, size: OpsSize, seed: number): Promise<number[]> {
  const map = new Map<bigint, SbtestRow>();
  const values = new SysbenchValues(seed, rows);
  const shared = values.row(0);
  for (let id = 1; id <= rows; id++) map.set(BigInt(id), shared);
  const ids = idSequence(new RandomSource(seed), rows);
  let cursor = 0;
  return timeBatches(
    'map-get',
    () => {
      for (let i = 0; i < size.getsPerCall; i++) sink += map.get(ids[cursor++ & SEQUENCE_MASK]!)!.k;
    },
    { opsPerCall: size.getsPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
  );
}

interface OpsBaselines {
  readonly name: string;
  readonly of: OpsSamples | undefined;
  readonly mapGetMs?: number[];
}

/** The metrics of one run of `measureOps`; targets only where the issue states them (big pool). */
function opsMetrics(
  workload: string,
  samples: OpsSamples,
  baselines: OpsBaselines,
  withTargets: boolean,
  note: string,
): Metric[] {
  const against = (pick: (s: OpsSamples) => number[], perSecondOf: boolean) =>
    baselines.of === undefined
      ? {}
      : {
          baseline: {
            name: baselines.name,
            samples: perSecondOf ? perSecond(pick(baselines.of)) : pick(baselines.of),
            paired: false,
          },
        };
  const mapBaseline =
    baselines.mapGetMs === undefined
      ? undefined
      : { name: 'Map.get', samples: perSecond(baselines.mapGetMs), paired: false };
  const target = (value: number) => (withTargets ? { target: { op: '>=', value, on: 'median' } as const } : {});
  const metrics: Metric[] = [];
  if (baselines.mapGetMs !== undefined) {
    metrics.push(
      metric({
        workload,
        name: 'Map.get of the same bigint keys, as many entries: baseline',
        unit: 'gets/s',
        better: 'higher',
        samples: perSecond(baselines.mapGetMs),
      }),
    );
  }
  metrics.push(
    metric({
      workload,
      name: 'point get by primary key (table.get)',
      unit: 'gets/s',
      better: 'higher',
      samples: perSecond(samples.getMs),
      ...(mapBaseline === undefined ? against((s) => s.getMs, true) : { baseline: mapBaseline }),
      ...target(450_000),
      note: `${note}; ${samples.cpu.get}`,
    }),
    metric({
      workload,
      name: "point get through k_idx (getByIndex('k_idx', k))",
      unit: 'gets/s',
      better: 'higher',
      samples: perSecond(samples.indexGetMs),
      ...(mapBaseline === undefined ? against((s) => s.indexGetMs, true) : { baseline: mapBaseline }),
      ...target(225_000),
      note: samples.cpu.indexGet,
    }),
    metric({
      workload,
      name: `range scan of 100 rows (scan gte/lte; ${formatNumber1(samples.rowsPerScan)} rows a scan)`,
      unit: 'scans/s',
      better: 'higher',
      samples: perSecond(samples.scanMs),
      ...against((s) => s.scanMs, true),
      ...target(35_000),
      note: samples.cpu.scan,
    }),
    metric({
      workload,
      name: 'update of c, autocommit, durability none',
      unit: 'updates/s',
      better: 'higher',
      samples: samples.updateNonePerS,
      ...against((s) => s.updateNonePerS, false),
      note: `purge between rounds, untimed: ${formatInt(samples.purgedRecords)} records; ${samples.cpu.updateNone}`,
    }),
    metric({
      workload,
      name: 'update of c in its own transaction, durability full',
      unit: 'updates/s',
      better: 'higher',
      samples: samples.updateFullPerS,
      baseline: { name: 'raw datasync', samples: samples.rawBeforeFullPerS, paired: true },
      note: samples.cpu.updateFull,
    }),
  );
  return metrics;
}

export async function poolHoldsData(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const size = SIZES[scale];
  const data = await dataset(scale, log);
  data.db ??= await Database.open(openOptions(data.dir.path, size, size.bufferPoolBytes));
  const samples = await measureOps(data.db, size.rows, size.ops, () => {}, 11);
  data.holdsData = samples;
  const mapGetMs = await mapGetBaseline(size.rows, size.ops, 11);
  log(`pool holds data: ${describeMisses(samples)}`);
  const note = `${formatInt(size.rows)} rows, pool ${size.bufferPoolBytes / MiB} MiB, ${formatInt(samples.readMisses)} pool misses`;
  return opsMetrics(
    'sbtest, pool holds data (NodeVfs)',
    samples,
    { name: 'Map.get', of: undefined, mapGetMs },
    true,
    note,
  );
}

// ------------------------------------------------------------------------------------------ 3. pool a tenth, in a child

export interface PoolTenthArgs {
  readonly dir: string;
  readonly rows: number;
  readonly bufferPoolBytes: number;
  readonly size: TableApiSize;
}

export interface PoolTenthResult {
  readonly samples: OpsSamples;
  readonly rssStartBytes: number;
  readonly rssAfterOpenBytes: number;
  readonly rssMaxBytes: number;
  readonly rssSamples: number;
  /** The largest RSS sample of each phase of `measureOps`. */
  readonly rssMaxByPhase: Readonly<Partial<Record<OpsPhase, number>>>;
  readonly heapUsedBytes: number;
  readonly arrayBuffersBytes: number;
  /** Where the bytes were at the largest RSS sample: Node's heap and buffers, and the engine's account. */
  readonly atPeak: PeakBreakdown;
}

/** `process.memoryUsage()` and the engine's own account (`db.status().memory`) at the RSS peak. */
export interface PeakBreakdown {
  readonly rssBytes: number;
  /** V8's committed heap (young and old generations, code): garbage included. */
  readonly heapTotalBytes: number;
  readonly heapUsedBytes: number;
  /** Memory outside the V8 heap: ArrayBuffers (the pool's slab among them), WebAssembly, Node. */
  readonly externalBytes: number;
  /** The engine's account beyond the pool's frames, locks included (engine-memory.ts). */
  readonly engineBeyondPoolBytes: number;
}

/** Workload 3 itself; `poolTenth` runs it in a child process. */
export async function poolTenthInProcess(args: PoolTenthArgs): Promise<PoolTenthResult> {
  const sampler = new RssSampler();
  const db = await Database.open(openOptions(args.dir, args.size, args.bufferPoolBytes));
  try {
    const rssAfterOpenBytes = sampler.sample();
    const rssMaxByPhase: Partial<Record<OpsPhase, number>> = {};
    let phase: OpsPhase = 'setup';
    let atPeak = peakBreakdown(db);
    const sample = (): void => {
      const bytes = sampler.sample();
      if (bytes > (rssMaxByPhase[phase] ?? 0)) rssMaxByPhase[phase] = bytes;
      if (bytes > atPeak.rssBytes) atPeak = peakBreakdown(db); // rare: only as the peak rises
    };
    const samples = await measureOps(db, args.rows, args.size.ops, sample, 11, (next) => {
      sample();
      phase = next;
      sample();
    });
    const usage = process.memoryUsage();
    return {
      samples,
      rssStartBytes: sampler.startBytes,
      rssAfterOpenBytes,
      rssMaxBytes: sampler.max,
      rssSamples: sampler.samples,
      rssMaxByPhase,
      heapUsedBytes: usage.heapUsed,
      arrayBuffersBytes: usage.arrayBuffers,
      atPeak,
    };
  } finally {
    await db.close();
  }
}

function peakBreakdown(db: Database): PeakBreakdown {
  const usage = process.memoryUsage();
  const memory = db.status().memory;
  return {
    rssBytes: usage.rss,
    heapTotalBytes: usage.heapTotal,
    heapUsedBytes: usage.heapUsed,
    externalBytes: usage.external,
    engineBeyondPoolBytes: memory.total - memory.poolFrames,
  };
}

export async function poolTenth(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const size = SIZES[scale];
  try {
    const data = await dataset(scale, log);
    await data.db?.close();
    data.db = undefined;
    // A tenth of the data's pages, and never below the pool's minimum of 64 pages.
    const bufferPoolBytes = Math.max(64, Math.floor(data.dataBytes / 10 / PAGE_SIZE)) * PAGE_SIZE;
    // Imported here, not at the top: the child imports this module, and child.ts loads the
    // TypeScript compiler, which would count in the child's RSS.
    const { runInChild } = await import('./lib/child.js');
    const args: PoolTenthArgs = { dir: data.dir.path, rows: size.rows, bufferPoolBytes, size };
    const result = await runInChild<PoolTenthResult>(import.meta.url, 'poolTenthInProcess', args);
    const mib = (bytes: number): number => bytes / MiB;
    const s = result.samples;
    log(
      `pool a tenth: pool ${mib(bufferPoolBytes).toFixed(1)} MiB for ${mib(data.dataBytes).toFixed(1)} MiB of pages; ${describeMisses(s)}; ` +
        `rss start ${mib(result.rssStartBytes).toFixed(1)} MiB, after open ${mib(result.rssAfterOpenBytes).toFixed(1)}, max ${mib(result.rssMaxBytes).toFixed(1)} (${result.rssSamples} samples); ` +
        `max by phase: ${OPS_PHASES.map((p) => `${p} ${mib(result.rssMaxByPhase[p] ?? 0).toFixed(1)}`).join(', ')}; ` +
        `at the end heap used ${mib(result.heapUsedBytes).toFixed(1)} MiB, array buffers ${mib(result.arrayBuffersBytes).toFixed(1)} MiB; ` +
        `at the peak: ${describePeak(result.atPeak)}`,
    );
    const workload = 'sbtest, pool a tenth of the data (child process)';
    const note = `pool ${mib(bufferPoolBytes).toFixed(1)} MiB for ${mib(data.dataBytes).toFixed(0)} MiB of pages, ${percent(s.readMisses, s.readPages)} of the reads' page accesses missed`;
    return [
      ...opsMetrics(workload, s, { name: 'pool holds data', of: data.holdsData }, false, note),
      metric({
        workload,
        name: 'max RSS − pool size',
        unit: 'MiB',
        better: 'lower',
        samples: [mib(result.rssMaxBytes - bufferPoolBytes)],
        target: { op: '<=', value: 64, on: 'median' },
        note: `${result.rssSamples} RSS samples; the largest by phase (MiB): ${OPS_PHASES.map((p) => `${p} ${mib(result.rssMaxByPhase[p] ?? 0).toFixed(0)}`).join(', ')}; at the peak: ${describePeak(result.atPeak)}`,
      }),
      metric({
        workload,
        name: "the engine's own memory beyond the pool at the RSS peak (db.status().memory)",
        unit: 'MiB',
        better: 'lower',
        samples: [mib(result.atPeak.engineBeyondPoolBytes)],
      }),
      metric({
        workload,
        name: 'RSS before open (node + the modules loaded)',
        unit: 'MiB',
        better: 'lower',
        samples: [mib(result.rssStartBytes)],
      }),
      metric({
        workload,
        name: 'max RSS − RSS before open − pool size',
        unit: 'MiB',
        better: 'lower',
        samples: [mib(result.rssMaxBytes - result.rssStartBytes - bufferPoolBytes)],
      }),
    ];
  } finally {
    // The last workload of the suite: the loaded database is not needed any more.
    await disposeDataset(scale);
  }
}

// ------------------------------------------------------------------------------------------ helpers

/**
 * The CPU time this process got over the stretches between `start` and `stop`, as a share of
 * their wall time, with the machine's load average: a figure measured while other processes
 * compete for the CPUs is low by about that share, so notes say it. (Threads count too: libuv's
 * fsyncs and the GC helpers can lift the share above 100%.)
 */
export class CpuMeter {
  private cpuMicros = 0;
  private wallMs = 0;
  private cpu0: NodeJS.CpuUsage | undefined;
  private wall0 = 0;

  static started(): CpuMeter {
    const meter = new CpuMeter();
    meter.start();
    return meter;
  }

  start(): void {
    this.cpu0 = process.cpuUsage();
    this.wall0 = performance.now();
  }

  stop(): this {
    if (this.cpu0 === undefined) return this;
    const { user, system } = process.cpuUsage(this.cpu0);
    this.cpuMicros += user + system;
    this.wallMs += performance.now() - this.wall0;
    this.cpu0 = undefined;
    return this;
  }

  describe(): string {
    this.stop();
    return `${Math.round((100 * this.cpuMicros) / 1000 / Math.max(1e-9, this.wallMs))}% CPU, load ${os.loadavg()[0]!.toFixed(1)}`;
  }
}

function describePeak(peak: PeakBreakdown): string {
  const mib = (bytes: number): string => (bytes / MiB).toFixed(1);
  return `rss ${mib(peak.rssBytes)} MiB = V8 heap ${mib(peak.heapTotalBytes)} committed (${mib(peak.heapUsedBytes)} used, garbage included) + external ${mib(peak.externalBytes)} (the pool's slab among it) + code, Node and the rest; the engine's account beyond the pool ${mib(peak.engineBeyondPoolBytes)}`;
}

function percent(part: number, whole: number): string {
  return `${((100 * part) / Math.max(1, whole)).toFixed(1)}%`;
}

function describeMisses(s: OpsSamples): string {
  return `reads: ${formatInt(s.readMisses)} misses in ${formatInt(s.readPages)} page accesses (${percent(s.readMisses, s.readPages)}); updates and purge: ${formatInt(s.updateMisses)} in ${formatInt(s.updatePages)}`;
}

export function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function formatNumber1(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

// ------------------------------------------------------------------------------------------ suite

export const suite: BenchSuite = {
  name: 'table-api',
  title: 'Table API (issue 4): the sysbench table, load, point reads, ranges, updates',
  workloads: [
    { name: 'load', run: bulkLoad },
    { name: 'pool-holds-data', run: poolHoldsData },
    { name: 'pool-tenth', run: poolTenth },
  ],
};
