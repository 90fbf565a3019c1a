/**
 * Change-buffer benchmarks (issue 14): what buffering secondary-index changes buys when the data
 * is ten times the buffer pool, and what it costs, each against `changeBuffering: 'none'` measured
 * in the same run, so that MySQL 8.4's and MariaDB's objections (recovery, write amplification,
 * bitmap upkeep, a few percent of gain, a system tablespace that only grows) each get a figure.
 *
 * The table is sysbench's `sbtest` (table-api.bench.ts: `id` int64 primary key, `k` int32 with the
 * non-unique index `k_idx`, `c` and `pad` strings), loaded once with a pool that holds it, closed,
 * and copied: one copy is reopened with `changeBuffering: 'all'`, the other with `'none'`, both
 * with a pool a tenth of the data. Everything runs on `NodeVfs` in scratch directories, background
 * work in manual mode: every `BACKGROUND_EVERY` operations the workload runs one slice of it
 * (`runBackgroundWork`: purge and the change buffer's merge step; `storage.backgroundStep`: the
 * page cleaner), inside the timed part, the same for both modes. Commits use durability 'none'.
 *
 * Workloads (`SIZES` per scale):
 *
 *  1. insert        sysbench oltp_insert: new ids in order, `k` uniform over the table. Rounds
 *                   alternate between the two databases (paired ratios); per round:
 *                   - operations per second; target: 'all' >= 2x 'none';
 *                   - secondary-index pages read from disk per 1000 operations (the change
 *                     buffer's read hook counts them, background merges included); target: 'all'
 *                     <= 1/5 of 'none' (cut >= 5x);
 *                   - bytes written per operation: redo, and pages (each page is written twice,
 *                     the doublewrite copy counted);
 *                   - the change buffer's size at the end of each round (its steady size under
 *                     this load; the cap is 25% of the pool) and its peak, in bytes and tree pages;
 *                   - the system tablespace's file size after each round: it must level off.
 *  2. update-index  sysbench oltp_update_index: `k = k + 1` for a random id (a delete mark and an
 *                   insert in `k_idx`, and a clustered leaf read both modes pay). The same figures.
 *  3. recovery      after workload 2 (the change buffer as full as the load leaves it), each
 *                   database is dropped without closing (a process kill) and reopened: the
 *                   recovery time, 'all' against 'none'; then the time to merge the whole change
 *                   buffer, which recovery does not need to do (merges happen as pages are read).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Database } from '../src/api/database.js';
import type { ChangeBuffering } from '../src/ibuf/change-buffer.js';
import { metric, type Metric } from './lib/report.js';
import { MiB } from './lib/rss.js';
import type { BenchScale, BenchSuite } from './lib/suite.js';
import { makeTempDir, type TempDir } from './lib/temp-dir.js';
import { SBTEST, type SbtestRow, SysbenchValues, formatInt, loadSbtest } from './table-api.bench.js';

export interface ChangeBufferBenchSize {
  readonly pageSize: number;
  readonly rows: number;
  /** The pool the load runs with (holds the data) and the pool of the measured runs (a tenth of it). */
  readonly loadPoolBytes: number;
  readonly poolBytes: number;
  readonly redoLogBytes: number;
  readonly rounds: number;
  readonly opsPerRound: number;
}

export const SIZES: Readonly<Record<BenchScale, ChangeBufferBenchSize>> = {
  tiny: {
    pageSize: 4096,
    rows: 5000,
    loadPoolBytes: 4 * MiB,
    poolBytes: 64 * 4096,
    redoLogBytes: 1 * MiB,
    rounds: 2,
    opsPerRound: 80,
  },
  quick: {
    pageSize: 16384,
    rows: 150_000,
    loadPoolBytes: 128 * MiB,
    poolBytes: 4 * MiB,
    redoLogBytes: 32 * MiB,
    rounds: 3,
    opsPerRound: 3000,
  },
  full: {
    pageSize: 16384,
    rows: 1_200_000,
    loadPoolBytes: 512 * MiB,
    poolBytes: 28 * MiB,
    redoLogBytes: 128 * MiB,
    rounds: 5,
    opsPerRound: 20_000,
  },
};

/** Operations between two slices of background work. */
const BACKGROUND_EVERY = 50;
type Mode = Exclude<ChangeBuffering, 'inserts'>;
const MODES: readonly Mode[] = ['all', 'none'];

interface Side {
  readonly mode: Mode;
  readonly dir: TempDir;
  db: Database;
  nextId: number;
  readonly values: SysbenchValues;
}

interface RoundFigures {
  readonly opsPerS: number;
  readonly bitmapWritesPerKop: number;
  readonly secondaryReadsPerKop: number;
  readonly secondaryLeafReadsPerKop: number;
  readonly redoBytesPerOp: number;
  readonly pageBytesPerOp: number;
  readonly changeBufferBytes: number;
  readonly changeBufferBytesPeak: number;
  readonly systemFileBytes: number;
}

interface Pair {
  readonly size: ChangeBufferBenchSize;
  readonly sides: Record<Mode, Side>;
  readonly dataBytes: number;
}

const pairs = new Map<BenchScale, Promise<Pair>>();

function openOptions(size: ChangeBufferBenchSize, path: string, poolBytes: number, mode: Mode) {
  return {
    path,
    pageSize: size.pageSize,
    bufferPoolBytes: poolBytes,
    redoLogBytes: size.redoLogBytes,
    durability: 'none',
    background: 'manual',
    changeBuffering: mode,
  } as const;
}

/** Loads sbtest once, then copies it: the two databases the workloads compare. */
function pair(scale: BenchScale, log: (line: string) => void): Promise<Pair> {
  let promise = pairs.get(scale);
  if (promise === undefined) {
    promise = makePair(SIZES[scale], log);
    pairs.set(scale, promise);
    promise.catch(() => pairs.delete(scale));
  }
  return promise;
}

async function makePair(size: ChangeBufferBenchSize, log: (line: string) => void): Promise<Pair> {
  const source = makeTempDir('minno-bench-ibuf-load-');
  try {
    // Loaded with buffering on, so that the bitmap describes every leaf from the start (with 'none'
    // it is not kept, and each leaf would first have to be changed in place to earn its classes);
    // the pool holds everything, so nothing is buffered, and a merge of everything makes sure.
    const db = await Database.open(openOptions(size, source.path, size.loadPoolBytes, 'all'));
    const load = await loadSbtest(db, new SysbenchValues(1, size.rows), size.rows, 1000, 'none');
    db.engine.changeBuffer.mergeAll();
    const pool = db.storage.pool.snapshot();
    const dataBytes = (pool.frames - pool.freeFrames) * size.pageSize;
    await db.close();
    log(
      `loaded ${formatInt(size.rows)} rows in ${(load.elapsedMs / 1000).toFixed(1)} s: ${(dataBytes / MiB).toFixed(1)} MiB of pages, pool ${(size.poolBytes / MiB).toFixed(2)} MiB (${(dataBytes / size.poolBytes).toFixed(1)}x)`,
    );
    const sides: Partial<Record<Mode, Side>> = {};
    for (const mode of MODES) {
      const dir = makeTempDir(`minno-bench-ibuf-${mode}-`);
      process.once('exit', () => dir.remove());
      fs.cpSync(source.path, dir.path, { recursive: true });
      fs.rmSync(nodePath.join(dir.path, 'minno.lock'), { force: true });
      const opened = await Database.open(openOptions(size, dir.path, size.poolBytes, mode));
      sides[mode] = { mode, dir, db: opened, nextId: size.rows + 1, values: new SysbenchValues(7, size.rows) };
    }
    return { size, sides: sides as Record<Mode, Side>, dataBytes };
  } finally {
    source.remove();
  }
}

async function disposePair(scale: BenchScale): Promise<void> {
  const promise = pairs.get(scale);
  pairs.delete(scale);
  if (promise === undefined) return;
  const { sides } = await promise;
  for (const side of Object.values(sides)) {
    try {
      await side.db.close();
    } finally {
      side.dir.remove();
    }
  }
}

function systemFileBytes(side: Side): number {
  return fs.statSync(nodePath.join(side.dir.path, 'system.ibd')).size;
}

/** One timed round of `op` on one database, with its share of background work. */
async function round(side: Side, ops: number, op: (side: Side) => Promise<unknown>): Promise<RoundFigures> {
  const db = side.db;
  const reads0 = db.status().changeBuffer.secondaryPageReads;
  const leafReads0 = db.status().changeBuffer.secondaryLeafReads;
  const bitmapWrites0 = db.status().changeBuffer.bitmapWrites;
  const redo0 = db.storage.log.stats.bytes;
  const pages0 = db.storage.pool.stats.writes;
  let peak = 0;
  const start = performance.now();
  for (let i = 1; i <= ops; i++) {
    await op(side);
    if (i % BACKGROUND_EVERY === 0) {
      db.runBackgroundWork();
      db.storage.backgroundStep();
      peak = Math.max(peak, db.status().changeBuffer.sizeBytes);
    }
  }
  const elapsedMs = performance.now() - start;
  const status = db.status().changeBuffer;
  return {
    opsPerS: (ops * 1000) / elapsedMs,
    secondaryReadsPerKop: ((status.secondaryPageReads - reads0) * 1000) / ops,
    secondaryLeafReadsPerKop: ((status.secondaryLeafReads - leafReads0) * 1000) / ops,
    bitmapWritesPerKop: ((status.bitmapWrites - bitmapWrites0) * 1000) / ops,
    redoBytesPerOp: (db.storage.log.stats.bytes - redo0) / ops,
    // Each flushed page is written twice: its doublewrite copy, then in place.
    pageBytesPerOp: ((db.storage.pool.stats.writes - pages0) * 2 * db.storage.pageSize) / ops,
    changeBufferBytes: status.sizeBytes,
    changeBufferBytesPeak: Math.max(peak, status.sizeBytes),
    systemFileBytes: systemFileBytes(side),
  };
}

const insertOp = (side: Side): Promise<unknown> => {
  const row: SbtestRow = {
    id: BigInt(side.nextId++),
    k: side.values.k(),
    c: side.values.c(),
    pad: side.values.pad(),
  };
  return side.db.table<SbtestRow>(SBTEST).insert(row);
};

const updateIndexOp = async (side: Side): Promise<unknown> => {
  const table = side.db.table<SbtestRow>(SBTEST);
  const id = BigInt(side.values.id());
  const row = table.get(id);
  return row === undefined ? undefined : table.update(id, { k: row.k + 1 });
};

/** Rounds alternating between the two databases; the metrics of one workload, 'none' the baseline. */
async function compare(
  scale: BenchScale,
  workload: string,
  op: (side: Side) => Promise<unknown>,
  log: (line: string) => void,
): Promise<Metric[]> {
  const { size, sides } = await pair(scale, log);
  const figures: Record<Mode, RoundFigures[]> = { all: [], none: [] };
  const systemStart = { all: systemFileBytes(sides.all), none: systemFileBytes(sides.none) };
  // A first short round each warms the pool and the JIT; not counted.
  for (const mode of MODES) await round(sides[mode], Math.ceil(size.opsPerRound / 4), op);
  for (let r = 0; r < size.rounds; r++) {
    for (const mode of r % 2 === 0 ? MODES : [...MODES].reverse()) {
      const f = await round(sides[mode], size.opsPerRound, op);
      figures[mode].push(f);
      const status = sides[mode].db.status().changeBuffer;
      log(
        `${workload} round ${r + 1} ${mode}: ${formatInt(f.opsPerS)} ops/s, ${f.secondaryLeafReadsPerKop.toFixed(0)} secondary leaf reads/1000 ops (${f.secondaryReadsPerKop.toFixed(0)} all levels), change buffer ${formatInt(f.changeBufferBytes)} B; since open: merges ${status.merges}, refused ${JSON.stringify(status.refused)}`,
      );
    }
  }
  const all = figures.all;
  const none = figures.none;
  const pick = (list: RoundFigures[], key: keyof RoundFigures): number[] => list.map((f) => f[key]);
  const w = `sbtest ${workload}, data ${SIZES[scale].rows >= 1e6 ? '10x' : '~10x'} the pool`;
  const ibufTreePages = sides.all.db.engine.changeBuffer.treePages();
  return [
    metric({
      workload: w,
      name: "operations/s, changeBuffering 'all' (baseline 'none', paired rounds)",
      unit: 'ops/s',
      better: 'higher',
      samples: pick(all, 'opsPerS'),
      baseline: { name: "changeBuffering 'none'", samples: pick(none, 'opsPerS'), paired: true },
      target: { op: '>=', value: 2, on: 'ratio' },
    }),
    metric({
      workload: w,
      name: "secondary-index leaf pages read per 1000 operations, 'all' (baseline 'none')",
      unit: 'pages/1000 ops',
      better: 'lower',
      samples: pick(all, 'secondaryLeafReadsPerKop').map((v) => Math.max(v, 1e-3)),
      baseline: { name: "changeBuffering 'none'", samples: pick(none, 'secondaryLeafReadsPerKop'), paired: true },
      target: { op: '<=', value: 0.2, on: 'ratio' },
      note: 'background merges included: the pages buffering avoids',
    }),
    metric({
      workload: w,
      name: "secondary-index pages read per 1000 operations, every level, 'all' (baseline 'none')",
      unit: 'pages/1000 ops',
      better: 'lower',
      samples: pick(all, 'secondaryReadsPerKop').map((v) => Math.max(v, 1e-3)),
      baseline: { name: "changeBuffering 'none'", samples: pick(none, 'secondaryReadsPerKop'), paired: true },
      note: 'internal pages included: both modes descend to level 1',
    }),
    metric({
      workload: w,
      name: "redo bytes written per operation, 'all' (baseline 'none')",
      unit: 'B/op',
      better: 'lower',
      samples: pick(all, 'redoBytesPerOp'),
      baseline: { name: "changeBuffering 'none'", samples: pick(none, 'redoBytesPerOp'), paired: true },
    }),
    metric({
      workload: w,
      name: "page bytes written per operation (doublewrite included), 'all' (baseline 'none')",
      unit: 'B/op',
      better: 'lower',
      samples: pick(all, 'pageBytesPerOp').map((v) => Math.max(v, 1e-3)),
      baseline: {
        name: "changeBuffering 'none'",
        samples: pick(none, 'pageBytesPerOp').map((v) => Math.max(v, 1e-3)),
        paired: true,
      },
    }),
    metric({
      workload: w,
      name: "bitmap entries written per 1000 operations (upkeep and BUFFERED bits), 'all'",
      unit: 'writes/1000 ops',
      better: 'lower',
      samples: pick(all, 'bitmapWritesPerKop').map((v) => Math.max(v, 1e-3)),
      note: "'none' keeps no bitmap: 0",
    }),
    metric({
      workload: w,
      name: 'change buffer size at the end of each round (steady)',
      unit: 'bytes',
      better: 'lower',
      samples: pick(all, 'changeBufferBytes').map((v) => Math.max(v, 1)),
      note: `cap ${formatInt(sides.all.db.status().changeBuffer.maxBytes)} B; tree ${ibufTreePages} pages at the end`,
    }),
    metric({
      workload: w,
      name: 'change buffer size, peak within each round',
      unit: 'bytes',
      better: 'lower',
      samples: pick(all, 'changeBufferBytesPeak').map((v) => Math.max(v, 1)),
    }),
    metric({
      workload: w,
      name: "system tablespace growth since the workload began, 'all' (baseline 'none')",
      unit: 'KiB',
      better: 'lower',
      samples: pick(all, 'systemFileBytes').map((v) => Math.max((v - systemStart.all) / 1024, 1e-3)),
      baseline: {
        name: "changeBuffering 'none'",
        samples: pick(none, 'systemFileBytes').map((v) => Math.max((v - systemStart.none) / 1024, 1e-3)),
        paired: true,
      },
      note: 'after each round: it levels off (the tree reuses the pages it frees)',
    }),
  ];
}

/** Workload 3: recovery with the change buffer as full as the writes left it, then the whole merge. */
async function recovery(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const { size, sides } = await pair(scale, log);
  if (sides.all.db.status().changeBuffer.sizeBytes === 0) await compare(scale, 'update-index', updateIndexOp, log);
  const recoveryMs: Record<Mode, number[]> = { all: [], none: [] };
  let buffered = 0;
  let mergeMs = 0;
  for (const mode of MODES) {
    const side = sides[mode];
    const status = side.db.status().changeBuffer;
    if (mode === 'all') buffered = status.sizeBytes;
    side.db.abandon(); // a process kill: what was written stays in the OS cache, nothing is flushed
    const start = performance.now();
    side.db = await Database.open(openOptions(size, side.dir.path, size.poolBytes, mode));
    recoveryMs[mode].push(performance.now() - start);
    if (mode === 'all') {
      const t0 = performance.now();
      side.db.engine.changeBuffer.mergeAll();
      mergeMs = performance.now() - t0;
    }
    log(`recovery ${mode}: ${recoveryMs[mode][0]!.toFixed(0)} ms`);
  }
  await disposePair(scale);
  const w = 'sbtest recovery after a process kill';
  return [
    metric({
      workload: w,
      name: `recovery time, changeBuffering 'all' with ${formatInt(buffered)} B buffered (baseline 'none')`,
      unit: 'ms',
      better: 'lower',
      samples: recoveryMs.all,
      baseline: { name: "changeBuffering 'none'", samples: recoveryMs.none, paired: true },
    }),
    metric({
      workload: w,
      name: 'merging the whole change buffer after recovery (not part of recovery)',
      unit: 'ms',
      better: 'lower',
      samples: [Math.max(mergeMs, 1e-3)],
    }),
  ];
}

export const suite: BenchSuite = {
  name: 'change-buffer',
  title: "Change buffer (issue 14): changeBuffering 'all' against 'none' with the data 10x the pool",
  workloads: [
    { name: 'insert', run: (scale, log) => compare(scale, 'insert', insertOp, log) },
    { name: 'update-index', run: (scale, log) => compare(scale, 'update-index', updateIndexOp, log) },
    { name: 'recovery', run: recovery },
  ],
};
