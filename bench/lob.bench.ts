/**
 * Large-value benchmarks (issue 13): partial updates, streaming and inserting values on LOB pages.
 *
 * Everything runs through the table API on `NodeVfs` in a scratch directory under os.tmpdir(), 16
 * KiB pages, durability `none`, background work in manual mode, with a pool and a redo log of
 * 256 MiB each at `full`, which hold the partial-update and stream workloads (so their figures are
 * the LOB paths' and not the page cleaner's). The table is `docs (id int32 primary key, body bytes)`.
 *
 * Workloads (`SIZES` gives the sizes per scale; the issue's targets are stated at `full`):
 *
 *  1. partial-update  a value of `valueBytes` (1 MiB). Per round, in one transaction each: `ops`
 *                     partial updates of 100 bytes at random offsets (small changes, in place), and
 *                     `ops / 50` rewrites of the whole value (`update`), timed per operation; the
 *                     first round warms up (JIT) and is not counted.
 *                     - the speedup: whole rewrite / partial update, per round, target >= 50x
 *                     - data pages one partial update writes (LOB pages dirtied from a clean pool:
 *                       one, or two when the 100 bytes cross a page boundary), target <= 2
 *                     - its redo bytes (LSN delta of the operation and its commit), and the undo
 *                       record it writes, target <= the 100 changed bytes + 160
 *  2. stream          a value of `streamBytes` (64 MiB) in the pool, streamed whole (`table.stream`,
 *                     1 MiB chunks) per round: GB/s, target >= 1, against a memcpy of the same bytes
 *                     in 16 KiB pieces in the same round (paired); and `readSlice` of the whole.
 *  3. insert          `inserts` values of 1 MiB per round, each its own autocommit insert at
 *                     durability none: MB/s, target >= 200; against writing the same bytes to a file
 *                     (the page cache's speed, no sync: a ceiling, paired). Unlike the others this
 *                     workload outgrows the pool and the log (64 MiB a round, 640 MiB at full), so
 *                     its rounds pay what a sustained writer pays: log-full flushes (C1 of
 *                     core/storage.ts, an eighth of the log at a time), evictions, the log's first
 *                     lap growing the file; the note gives the rate over all rounds together.
 *
 * Figures are medians over rounds (or operations), with the p99 on the side that hurts (lib/report.ts).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Database } from '../src/api/database.js';
import { PageType, pageTypeOf } from '../src/page/page.js';
import { ROW_ROLL_PTR_OFFSET, readTrxId } from '../src/rec/row-format.js';
import { readRollPtrAt } from '../src/undo/roll-ptr.js';
import { poolPageSource } from '../src/undo/undo-log.js';
import { readUndoRecord } from '../src/undo/undo-log-read.js';
import { RandomSource } from '../src/util/random.js';
import { metric, type Metric } from './lib/report.js';
import type { BenchScale, BenchSuite } from './lib/suite.js';
import { makeTempDir } from './lib/temp-dir.js';

const KiB = 1024;
const MiB = 1024 * KiB;

interface Sizes {
  readonly valueBytes: number;
  readonly ops: number;
  readonly rounds: number;
  readonly streamBytes: number;
  readonly inserts: number;
}

const SIZES: Record<BenchScale, Sizes> = {
  tiny: { valueBytes: 64 * KiB, ops: 10, rounds: 2, streamBytes: 512 * KiB, inserts: 3 },
  quick: { valueBytes: MiB, ops: 500, rounds: 5, streamBytes: 16 * MiB, inserts: 16 },
  full: { valueBytes: MiB, ops: 2000, rounds: 9, streamBytes: 64 * MiB, inserts: 64 },
};

const CHANGE_BYTES = 100;

async function openDocs(path: string, scale: BenchScale): Promise<Database> {
  const big = scale === 'tiny' ? 16 * MiB : 256 * MiB;
  const db = await Database.open({
    path,
    pageSize: 16 * KiB,
    bufferPoolBytes: big,
    redoLogBytes: big,
    durability: 'none',
    background: 'manual',
  });
  await db.createTable({
    name: 'docs',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'body', type: 'bytes' },
    ],
    primaryKey: ['id'],
  });
  return db;
}

function randomBytes(rng: RandomSource, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i += 4) {
    const word = rng.int(2 ** 31);
    out[i] = word;
    out[i + 1] = word >>> 8;
    out[i + 2] = word >>> 16;
    out[i + 3] = word >>> 24;
  }
  return out;
}

/** LOB pages of the table's space that are dirty in the pool. */
function dirtyLobPages(db: Database): number {
  const pool = db.storage.pool;
  const space = db.engine.table('docs').record.spaceId;
  let count = 0;
  for (let frame = 0; frame < pool.frameCount; frame++) {
    if (!pool.isDirty(frame) || pool.spaceOf(frame) !== space) continue;
    const type = pageTypeOf(pool.frames[frame]!);
    if (type === PageType.LobData || type === PageType.LobFirst || type === PageType.LobIndex) count++;
  }
  return count;
}

/** The length of the undo record the row's newest version points at. */
function newestUndoBytes(db: Database, id: number): number {
  const table = db.engine.table('docs');
  const tree = table.clustered;
  if (!tree.find(db.engine.primaryKeyBytes(table, id), tree.view)) throw new Error(`no row ${id}`);
  const view = tree.view;
  const rollPtr = readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET);
  const trxId = readTrxId(view.page, view.valueOffset);
  const cursor = readUndoRecord(poolPageSource(db.storage.pool), rollPtr, trxId);
  return cursor.end - cursor.start;
}

async function partialUpdate(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const sizes = SIZES[scale];
  const dir = makeTempDir('minno-bench-lob-');
  const db = await openDocs(dir.path, scale);
  try {
    const rng = new RandomSource(13);
    const value = randomBytes(rng, sizes.valueBytes);
    await db.table('docs').insert({ id: 1, body: value });
    const change = (): { offset: number; bytes: Uint8Array } => ({
      offset: rng.int(sizes.valueBytes - CHANGE_BYTES + 1),
      bytes: randomBytes(rng, CHANGE_BYTES),
    });
    // What one partial update writes: from a clean pool, its LOB pages, redo and undo record.
    const pages: number[] = [];
    const redo: number[] = [];
    const undo: number[] = [];
    for (let i = 0; i < Math.min(40, sizes.ops); i++) {
      db.storage.pool.flushAll();
      const before = db.storage.log.currentLsn;
      await db.table('docs').updatePartial(1, 'body', [change()]);
      redo.push(db.storage.log.currentLsn - before);
      pages.push(dirtyLobPages(db));
      undo.push(newestUndoBytes(db, 1));
    }
    db.purge();
    // Speed: partial updates and whole rewrites, each in a transaction of its own per round.
    const partialUs: number[] = [];
    const wholeUs: number[] = [];
    const speedups: number[] = [];
    const whole = Math.max(2, Math.floor(sizes.ops / 50));
    for (let round = 0; round < sizes.rounds + 1; round++) {
      const changes = Array.from({ length: sizes.ops }, change);
      let t0 = performance.now();
      await db.transaction(async (tx) => {
        const t = tx.table('docs');
        for (const c of changes) await t.updatePartial(1, 'body', [c]);
      });
      const partial = ((performance.now() - t0) * 1000) / sizes.ops;
      const values = Array.from({ length: whole }, () => randomBytes(rng, sizes.valueBytes));
      t0 = performance.now();
      await db.transaction(async (tx) => {
        const t = tx.table('docs');
        for (const v of values) await t.update(1, { body: v });
      });
      const rewrite = ((performance.now() - t0) * 1000) / whole;
      db.purge();
      if (round === 0) continue; // warm-up
      partialUs.push(partial);
      wholeUs.push(rewrite);
      speedups.push(rewrite / partial);
      log(
        `round ${round}: partial ${partial.toFixed(1)} us, whole ${rewrite.toFixed(0)} us, ${(rewrite / partial).toFixed(0)}x`,
      );
    }
    const workload = 'partial-update';
    return [
      metric({
        workload,
        name: `partial update (${CHANGE_BYTES} B of ${sizes.valueBytes / KiB} KiB)`,
        unit: 'us/op',
        better: 'lower',
        samples: partialUs,
      }),
      metric({
        workload,
        name: `whole rewrite (${sizes.valueBytes / KiB} KiB)`,
        unit: 'us/op',
        better: 'lower',
        samples: wholeUs,
      }),
      metric({
        workload,
        name: 'speedup: whole rewrite / partial update',
        unit: 'x',
        better: 'higher',
        samples: speedups,
        target: { op: '>=', value: 50, on: 'median' },
      }),
      metric({
        workload,
        name: 'LOB pages one partial update writes',
        unit: 'pages',
        better: 'lower',
        samples: pages,
        target: { op: '<=', value: 2, on: 'median' },
        note: `max ${Math.max(...pages)} over ${pages.length}`,
      }),
      metric({
        workload,
        name: 'redo of one partial update (with its commit)',
        unit: 'bytes',
        better: 'lower',
        samples: redo,
      }),
      metric({
        workload,
        name: `undo record of a ${CHANGE_BYTES} B change`,
        unit: 'bytes',
        better: 'lower',
        samples: undo,
        target: { op: '<=', value: CHANGE_BYTES + 160, on: 'median' },
        note: `max ${Math.max(...undo)}`,
      }),
    ];
  } finally {
    await db.close();
    dir.remove();
  }
}

async function stream(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const sizes = SIZES[scale];
  const dir = makeTempDir('minno-bench-lob-');
  const db = await openDocs(dir.path, scale);
  try {
    const size = sizes.streamBytes;
    await db.table('docs').insert({ id: 1, body: randomBytes(new RandomSource(5), size) });
    const source = new Uint8Array(size);
    const target = new Uint8Array(size);
    const streamed: number[] = [];
    const copied: number[] = [];
    const sliced: number[] = [];
    for (let round = 0; round < sizes.rounds + 1; round++) {
      let t0 = performance.now();
      for (let at = 0; at < size; at += 16 * KiB) target.set(source.subarray(at, at + 16 * KiB), at);
      const copy = size / ((performance.now() - t0) * 1e6);
      t0 = performance.now();
      let bytes = 0;
      for await (const chunk of db.table('docs').stream(1, 'body')!) bytes += (chunk as Buffer).length;
      const rate = bytes / ((performance.now() - t0) * 1e6);
      t0 = performance.now();
      db.table('docs').readSlice(1, 'body', 0, size);
      const slice = size / ((performance.now() - t0) * 1e6);
      if (round === 0) continue;
      streamed.push(rate);
      copied.push(copy);
      sliced.push(slice);
      log(
        `round ${round}: stream ${rate.toFixed(2)} GB/s, slice ${slice.toFixed(2)} GB/s, memcpy ${copy.toFixed(2)} GB/s`,
      );
    }
    const workload = 'stream';
    const name = `${size / MiB} MiB`;
    return [
      metric({
        workload,
        name: `stream a ${name} value from the pool`,
        unit: 'GB/s',
        better: 'higher',
        samples: streamed,
        baseline: { name: 'memcpy in 16 KiB pieces', samples: copied, paired: true },
        target: { op: '>=', value: 1, on: 'median' },
      }),
      metric({ workload, name: `readSlice of the whole ${name}`, unit: 'GB/s', better: 'higher', samples: sliced }),
    ];
  } finally {
    await db.close();
    dir.remove();
  }
}

async function insert(scale: BenchScale, log: (line: string) => void): Promise<Metric[]> {
  const sizes = SIZES[scale];
  const valueBytes = scale === 'tiny' ? 64 * KiB : MiB;
  const dir = makeTempDir('minno-bench-lob-');
  const db = await openDocs(dir.path, scale);
  const raw = fs.openSync(nodePath.join(dir.path, 'raw.bin'), 'w');
  try {
    const rng = new RandomSource(7);
    const values = Array.from({ length: 4 }, () => randomBytes(rng, valueBytes));
    const rates: number[] = [];
    const floors: number[] = [];
    let timedMs = 0;
    let id = 0;
    for (let round = 0; round < sizes.rounds + 1; round++) {
      let t0 = performance.now();
      for (let i = 0; i < sizes.inserts; i++)
        await db.table('docs').insert({ id: ++id, body: values[i % values.length]! });
      const elapsedMs = performance.now() - t0;
      const rate = (sizes.inserts * valueBytes) / (elapsedMs * 1000);
      t0 = performance.now();
      for (let i = 0; i < sizes.inserts; i++)
        fs.writeSync(raw, values[i % values.length]!, 0, valueBytes, i * valueBytes);
      const floor = (sizes.inserts * valueBytes) / ((performance.now() - t0) * 1000);
      db.storage.backgroundStep(); // the page cleaner between rounds, untimed
      if (round === 0) continue;
      timedMs += elapsedMs;
      rates.push(rate);
      floors.push(floor);
      log(`round ${round}: ${rate.toFixed(0)} MB/s (file writes ${floor.toFixed(0)} MB/s)`);
    }
    return [
      metric({
        workload: 'insert',
        name: `insert ${valueBytes / KiB} KiB values (autocommit, durability none)`,
        unit: 'MB/s',
        better: 'higher',
        samples: rates,
        baseline: { name: 'writing the same bytes to a file', samples: floors, paired: true },
        target: { op: '>=', value: 200, on: 'median' },
        note: `all ${rates.length} rounds together: ${((rates.length * sizes.inserts * valueBytes) / (timedMs * 1000)).toFixed(0)} MB/s`,
      }),
    ];
  } finally {
    fs.closeSync(raw);
    await db.close();
    dir.remove();
  }
}

export const suite: BenchSuite = {
  name: 'lob',
  title: 'Large values (issue 13)',
  workloads: [
    { name: 'partial-update', run: partialUpdate },
    { name: 'stream', run: stream },
    { name: 'insert', run: insert },
  ],
};
