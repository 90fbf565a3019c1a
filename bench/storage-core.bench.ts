/**
 * Storage core benchmarks (issue 3): the redo log, group commit, recovery, the buffer pool.
 *
 * Workloads (each an exported function taking its size; `SIZES` gives the sizes per scale).
 * All run on `NodeVfs` in a scratch directory under os.tmpdir() with 16 KiB pages and background
 * work in manual mode, unless stated.
 *
 *  1. redoThroughput   mini-transactions of 4 x 64-byte writes on random pages of a preallocated
 *                      set held in the pool, durability `none` (the once-a-second log sync of that
 *                      level is stepped by the loop). Figures: mtr commits/s, redo MB/s (from
 *                      `log.stats.bytes`). Sustained: once the 256 MiB log is 3/4 full, starting
 *                      an mtr flushes pages and checkpoints (C1 of storage.ts), as it would in
 *                      production; the figure's note says how many pages that flushed.
 *  2. groupCommit      N concurrent committers (1, 8, 16, 64), each looping: one small mtr, then
 *                      `commitDurable(lsn, 'full')`. Figures: commits/s, commits per log sync,
 *                      commit latency. Baseline, measured in the same run right before each round
 *                      (ratios are taken per pair of rounds): the raw rate of `write 512 B +
 *                      fdatasync` through NodeVfs on a preallocated file (like the log); also
 *                      shown against it, an appending variant and an asynchronous one (fdatasync
 *                      on libuv's pool, as group commit does). Targets: 1 committer >= 0.8x raw,
 *                      16 committers >= 5x raw.
 *  3. recoveryApply    generate `redoBytes` of redo (log 256 MiB, pages never flushed), make it
 *                      durable, abandon (a process crash: the log stays in the OS cache), then time
 *                      `Storage.open`. Figure: recovered redo bytes (`recovery.redoBytes`) per
 *                      second of open. Target >= 200 MB/s. Also on MemoryVfs (CPU only).
 *  4. poolHit          `pool.fix` + `pool.unfix` of a page already in the pool (young: the steady
 *                      state of a hot page), one page and random among 1024 hot pages. Target
 *                      <= 150 ns per pair.
 *     pageChecksum     `checksum64` of a 16 KiB page. Target about 1 us.
 *  5. eviction         a pool of 8 MiB over 128 MiB of pages read round-robin, so every access
 *                      misses: evict the LRU tail, read, verify. Figure: pages/s, against the raw
 *                      rate of the same 16 KiB reads through the VFS (baseline). Also the dirty
 *                      variant (each access changes its page, so eviction flushes: log sync,
 *                      doublewrite, write in place, space sync).
 *  6. rssBound         in a child process: pool 64 MiB, 640 MiB of pages written then read at
 *                      random; RSS sampled throughout. Figure: max RSS - pool. Target <= 64 MiB.
 *
 * Figures are medians over samples (tinybench batches, or timed rounds), with the p99 on the side
 * that hurts; see `lib/report.ts`.
 */
import type { Storage } from '../src/core/storage.js';
import { loadChecksums, checksum64 } from '../src/page/checksum.js';
import { FIL_HEADER_BYTES, FIL_TRAILER_BYTES } from '../src/page/page.js';
import { spaceFileName } from '../src/page/tablespace.js';
import { ManualClock } from '../src/util/clock.js';
import { RandomSource } from '../src/util/random.js';
import type { Vfs, VfsFile } from '../src/vfs/vfs.js';
import { metric, type Metric } from './lib/report.js';
import { MiB, RssSampler } from './lib/rss.js';
import { BENCH_SPACE_ID, StorageFixture, allocatePages, withFixture, type VfsKind } from './lib/storage-fixture.js';
import type { BenchScale, BenchSuite } from './lib/suite.js';
import { perSecond, timeBatches } from './lib/timing.js';

const KiB = 1024;
const PAGE_SIZE = 16 * KiB;

// ------------------------------------------------------------------------------------------ sizes

/** The shape of the small mini-transaction workloads 1 to 3 commit. */
export interface SmallMtrShape {
  readonly writesPerMtr: number;
  readonly writeBytes: number;
}

export interface RedoSize extends SmallMtrShape {
  readonly vfs: VfsKind;
  readonly pages: number;
  readonly mtrsPerCall: number;
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly bufferPoolBytes: number;
  readonly redoLogBytes: number;
}

export interface GroupCommitSize extends SmallMtrShape {
  readonly committers: readonly number[];
  readonly rounds: number;
  readonly roundMs: number;
  readonly pages: number;
  readonly rawWriteBytes: number;
  readonly rawFileBytes: number;
  readonly bufferPoolBytes: number;
  readonly redoLogBytes: number;
}

export interface RecoverySize extends SmallMtrShape {
  readonly vfs: VfsKind;
  readonly pages: number;
  readonly redoBytes: number;
  readonly redoLogBytes: number;
  readonly bufferPoolBytes: number;
  readonly repeats: number;
}

export interface HitSize {
  readonly pages: number;
  readonly hotPages: number;
  readonly pairsPerCall: number;
  readonly timeMs: number;
  readonly warmupMs: number;
  readonly bufferPoolBytes: number;
}

export interface ChecksumSize {
  readonly pageSize: number;
  readonly perCall: number;
  readonly timeMs: number;
  readonly warmupMs: number;
}

export interface EvictionSize {
  readonly bufferPoolBytes: number;
  readonly dataPages: number;
  readonly readsPerCall: number;
  readonly dirtyPerCall: number;
  readonly timeMs: number;
  readonly warmupMs: number;
}

export interface RssSize {
  readonly bufferPoolBytes: number;
  readonly dataFactor: number;
  readonly randomReads: number;
}

export interface StorageCoreSizes {
  readonly redo: RedoSize;
  readonly groupCommit: GroupCommitSize;
  readonly recovery: RecoverySize;
  readonly recoveryMemory: RecoverySize;
  readonly hit: HitSize;
  readonly checksum: ChecksumSize;
  readonly eviction: EvictionSize;
  readonly rss: RssSize;
}

const SHAPE: SmallMtrShape = { writesPerMtr: 4, writeBytes: 64 };
const COMMITTERS = [1, 8, 16, 64] as const;
// What the quick and full scales share: they differ in time, rounds and data size.
const REDO = { ...SHAPE, vfs: 'node', pages: 1024, mtrsPerCall: 200, bufferPoolBytes: 64 * MiB } as const;
const GROUP_COMMIT = {
  ...SHAPE,
  committers: COMMITTERS,
  pages: 1024,
  rawWriteBytes: 512,
  bufferPoolBytes: 64 * MiB,
  redoLogBytes: 64 * MiB,
} as const;
const RECOVERY = { ...SHAPE, vfs: 'node', pages: 1024, bufferPoolBytes: 32 * MiB } as const;
const HIT = { pages: 2048, hotPages: 1024, pairsPerCall: 10_000, bufferPoolBytes: 64 * MiB } as const;
const CHECKSUM = { pageSize: PAGE_SIZE, perCall: 1000 } as const;
const EVICTION = { readsPerCall: 1000, dirtyPerCall: 256 } as const;

export const SIZES: Readonly<Record<BenchScale, StorageCoreSizes>> = {
  tiny: {
    redo: {
      ...SHAPE,
      vfs: 'node',
      pages: 16,
      mtrsPerCall: 10,
      timeMs: 10,
      warmupMs: 0,
      bufferPoolBytes: 2 * MiB,
      redoLogBytes: MiB,
    },
    groupCommit: {
      ...SHAPE,
      committers: COMMITTERS,
      rounds: 1,
      roundMs: 15,
      pages: 16,
      rawWriteBytes: 512,
      rawFileBytes: 64 * KiB,
      bufferPoolBytes: 2 * MiB,
      redoLogBytes: MiB,
    },
    recovery: {
      ...SHAPE,
      vfs: 'node',
      pages: 16,
      redoBytes: 200_000,
      redoLogBytes: MiB,
      bufferPoolBytes: 2 * MiB,
      repeats: 1,
    },
    recoveryMemory: {
      ...SHAPE,
      vfs: 'memory',
      pages: 16,
      redoBytes: 200_000,
      redoLogBytes: MiB,
      bufferPoolBytes: 2 * MiB,
      repeats: 1,
    },
    hit: { pages: 64, hotPages: 32, pairsPerCall: 100, timeMs: 5, warmupMs: 0, bufferPoolBytes: 2 * MiB },
    checksum: { pageSize: PAGE_SIZE, perCall: 10, timeMs: 5, warmupMs: 0 },
    eviction: { bufferPoolBytes: MiB, dataPages: 160, readsPerCall: 64, dirtyPerCall: 16, timeMs: 10, warmupMs: 0 },
    rss: { bufferPoolBytes: MiB, dataFactor: 10, randomReads: 2000 },
  },
  quick: {
    redo: { ...REDO, timeMs: 500, warmupMs: 100, redoLogBytes: 128 * MiB },
    groupCommit: { ...GROUP_COMMIT, rounds: 3, roundMs: 300, rawFileBytes: 16 * MiB },
    recovery: { ...RECOVERY, redoBytes: 25_000_000, redoLogBytes: 64 * MiB, repeats: 1 },
    recoveryMemory: { ...RECOVERY, vfs: 'memory', redoBytes: 25_000_000, redoLogBytes: 64 * MiB, repeats: 1 },
    hit: { ...HIT, timeMs: 300, warmupMs: 100 },
    checksum: { ...CHECKSUM, timeMs: 300, warmupMs: 100 },
    eviction: { ...EVICTION, bufferPoolBytes: 4 * MiB, dataPages: 2048, timeMs: 500, warmupMs: 100 },
    rss: { bufferPoolBytes: 16 * MiB, dataFactor: 10, randomReads: 50_000 },
  },
  full: {
    redo: { ...REDO, timeMs: 2000, warmupMs: 300, redoLogBytes: 256 * MiB },
    groupCommit: { ...GROUP_COMMIT, rounds: 5, roundMs: 1000, rawFileBytes: 64 * MiB },
    recovery: { ...RECOVERY, redoBytes: 100_000_000, redoLogBytes: 256 * MiB, repeats: 3 },
    recoveryMemory: { ...RECOVERY, vfs: 'memory', redoBytes: 100_000_000, redoLogBytes: 256 * MiB, repeats: 2 },
    hit: { ...HIT, timeMs: 1000, warmupMs: 200 },
    checksum: { ...CHECKSUM, timeMs: 1000, warmupMs: 200 },
    eviction: { ...EVICTION, bufferPoolBytes: 8 * MiB, dataPages: 8192, timeMs: 2000, warmupMs: 300 },
    rss: { bufferPoolBytes: 64 * MiB, dataFactor: 10, randomReads: 200_000 },
  },
};

// ------------------------------------------------------------------------------------------ helpers

/** Random positions drawn up front, so the timed loops spend nothing on drawing them. */
const SEQUENCE_LENGTH = 1 << 16;
const SEQUENCE_MASK = SEQUENCE_LENGTH - 1;

/** `SEQUENCE_LENGTH` uniform integers in [0, bound). */
function randomSequence(random: RandomSource, bound: number): Uint32Array {
  const out = new Uint32Array(SEQUENCE_LENGTH);
  for (let i = 0; i < SEQUENCE_LENGTH; i++) out[i] = random.int(bound);
  return out;
}

/** Commits small mini-transactions: `writesPerMtr` writes of `writeBytes` at random places. */
class SmallMtrs {
  private readonly storage: Storage;
  private readonly shape: SmallMtrShape;
  private readonly pageNos: Uint32Array;
  private readonly offsets: Uint32Array;
  private readonly sourceStarts: Uint32Array;
  private readonly source: Uint8Array;
  private cursor = 0;

  constructor(storage: Storage, pageNos: readonly number[], shape: SmallMtrShape, seed: number) {
    const random = new RandomSource(seed);
    this.storage = storage;
    this.shape = shape;
    const picks = randomSequence(random, pageNos.length);
    this.pageNos = picks.map((i) => pageNos[i]!);
    const bodyBytes = storage.pageSize - FIL_HEADER_BYTES - FIL_TRAILER_BYTES - shape.writeBytes;
    this.offsets = randomSequence(random, bodyBytes).map((o) => o + FIL_HEADER_BYTES);
    this.source = random.fill(new Uint8Array(4096));
    this.sourceStarts = randomSequence(random, this.source.length - shape.writeBytes);
  }

  /** Commits one mtr; returns its end LSN. */
  commitOne(): number {
    const mtr = this.storage.startMtr();
    const { writesPerMtr, writeBytes } = this.shape;
    for (let w = 0; w < writesPerMtr; w++) {
      const i = this.cursor++ & SEQUENCE_MASK;
      const page = mtr.getPage(BENCH_SPACE_ID, this.pageNos[i]!);
      const start = this.sourceStarts[i]!;
      mtr.write(page, this.offsets[i]!, this.source, start, start + writeBytes);
    }
    return mtr.commit();
  }
}

function describeShape(shape: SmallMtrShape): string {
  return `${shape.writesPerMtr}×${shape.writeBytes} B writes`;
}

// ------------------------------------------------------------------------------------------ 1. redo

export async function redoThroughput(size: RedoSize): Promise<Metric[]> {
  return withFixture(
    { vfs: size.vfs, pageSize: PAGE_SIZE, bufferPoolBytes: size.bufferPoolBytes, redoLogBytes: size.redoLogBytes },
    async ({ storage }) => {
      const pageNos = allocatePages(storage, size.pages);
      const mtrs = new SmallMtrs(storage, pageNos, size, 1);
      const log = storage.log;
      const writes0 = storage.pool.stats.writes;
      let lastTickMs = performance.now();
      const groups0 = log.stats.groups;
      const bytes0 = log.stats.bytes;
      const perMtrMs = await timeBatches(
        'redo',
        () => {
          for (let i = 0; i < size.mtrsPerCall; i++) void storage.commitDurable(mtrs.commitOne(), 'none');
          // What background 'auto' does once a second for durability `none`: write and sync.
          const nowMs = performance.now();
          if (nowMs - lastTickMs >= 1000) {
            log.tick();
            lastTickMs = nowMs;
          }
        },
        { opsPerCall: size.mtrsPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
      );
      const bytesPerMtr = (log.stats.bytes - bytes0) / (log.stats.groups - groups0);
      const commitsPerS = perSecond(perMtrMs);
      const flushed = storage.pool.stats.writes - writes0;
      const workload = `redo (${size.vfs === 'node' ? 'NodeVfs' : 'MemoryVfs'})`;
      const note = `${describeShape(size)}, ${formatInt(bytesPerMtr)} B of redo per mtr${flushed > 0 ? `, ${flushed} pages flushed for log room` : ''}`;
      return [
        metric({
          workload,
          name: 'mtr commits/s, durability none',
          unit: 'commits/s',
          better: 'higher',
          samples: commitsPerS,
          note,
        }),
        metric({
          workload,
          name: 'redo MB/s',
          unit: 'MB/s',
          better: 'higher',
          samples: commitsPerS.map((c) => (c * bytesPerMtr) / 1e6),
        }),
      ];
    },
  );
}

function formatInt(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

// ------------------------------------------------------------------------------------------ 2. group commit

/** The raw datasync loops of the same disk: the physical limit group commit is measured against. */
class RawSync {
  private readonly preallocated: VfsFile;
  private readonly appending: VfsFile;
  private readonly block: Uint8Array;
  private readonly fileBytes: number;
  private position = 0;
  private appendPosition = 0;

  constructor(vfs: Vfs, size: GroupCommitSize) {
    this.block = new RandomSource(2).fill(new Uint8Array(size.rawWriteBytes));
    this.fileBytes = Math.floor(size.rawFileBytes / size.rawWriteBytes) * size.rawWriteBytes;
    this.preallocated = vfs.open('raw-preallocated.dat', { create: true, truncate: true });
    const zeros = new Uint8Array(Math.min(MiB, this.fileBytes));
    for (let at = 0; at < this.fileBytes; at += zeros.length)
      this.preallocated.write(zeros.subarray(0, Math.min(zeros.length, this.fileBytes - at)), at);
    this.preallocated.sync();
    this.appending = vfs.open('raw-appending.dat', { create: true, truncate: true });
    this.appending.sync();
    vfs.syncDir('');
  }

  /** write + fdatasync in place (advancing through the preallocated file, as the log does), for `roundMs`; syncs/s. */
  preallocatedRound(roundMs: number): number {
    return timedLoop(roundMs, () => {
      this.preallocated.write(this.block, this.position);
      this.position = (this.position + this.block.length) % this.fileBytes;
      this.preallocated.datasync();
    });
  }

  /** write at the end + fdatasync (each sync also commits the new size), for `roundMs`; syncs/s. */
  appendingRound(roundMs: number): number {
    return timedLoop(roundMs, () => {
      this.appending.write(this.block, this.appendPosition);
      this.appendPosition += this.block.length;
      this.appending.datasync();
    });
  }

  /** As `preallocatedRound`, with fdatasync on libuv's thread pool as group commit runs it; syncs/s. */
  async preallocatedAsyncRound(roundMs: number): Promise<number> {
    const start = performance.now();
    const deadline = start + roundMs;
    let count = 0;
    while (performance.now() < deadline) {
      this.preallocated.write(this.block, this.position);
      this.position = (this.position + this.block.length) % this.fileBytes;
      await this.preallocated.datasyncAsync();
      count++;
    }
    return (count * 1000) / (performance.now() - start);
  }

  close(): void {
    this.preallocated.close();
    this.appending.close();
  }
}

/** Runs `op` until `roundMs` have passed; returns operations per second. */
function timedLoop(roundMs: number, op: () => void): number {
  const start = performance.now();
  const deadline = start + roundMs;
  let count = 0;
  while (performance.now() < deadline) {
    op();
    count++;
  }
  return (count * 1000) / (performance.now() - start);
}

interface CommitRound {
  readonly commitsPerS: number;
  readonly commitsPerSync: number;
  readonly latenciesMs: number[];
}

/** `committers` loops of (small mtr, durable commit) for `roundMs`. */
async function commitRound(
  storage: Storage,
  mtrs: SmallMtrs,
  committers: number,
  roundMs: number,
): Promise<CommitRound> {
  const log = storage.log;
  const syncs0 = log.stats.syncs;
  const latenciesMs: number[] = [];
  let commits = 0;
  const start = performance.now();
  const deadline = start + roundMs;
  const committer = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const t0 = performance.now();
      await storage.commitDurable(mtrs.commitOne(), 'full');
      latenciesMs.push(performance.now() - t0);
      commits++;
    }
  };
  await Promise.all(Array.from({ length: committers }, committer));
  const elapsedMs = performance.now() - start;
  return {
    commitsPerS: (commits * 1000) / elapsedMs,
    commitsPerSync: commits / Math.max(1, log.stats.syncs - syncs0),
    latenciesMs,
  };
}

/** What group commit is compared with: each measured right after its own raw baseline round. */
type Subject = 'appending' | 'async' | number;

export async function groupCommit(size: GroupCommitSize, log: (line: string) => void = () => {}): Promise<Metric[]> {
  return withFixture(
    { vfs: 'node', pageSize: PAGE_SIZE, bufferPoolBytes: size.bufferPoolBytes, redoLogBytes: size.redoLogBytes },
    async ({ storage, vfs }) => {
      const pageNos = allocatePages(storage, size.pages);
      const mtrs = new SmallMtrs(storage, pageNos, size, 3);
      const raw = new RawSync(vfs, size);
      try {
        const subjects: Subject[] = ['appending', 'async', ...size.committers];
        const rawBefore = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
        const rates = new Map<Subject, number[]>(subjects.map((s) => [s, []]));
        const rounds = new Map<number, CommitRound[]>(size.committers.map((n) => [n, []]));
        // Every subject round follows a raw baseline round of its own (half as long), and each
        // ratio is taken within its pair: a disk whose speed drifts, or that other processes
        // share, moves both sides alike. The first, shorter round warms up and is dropped.
        for (let round = -1; round < size.rounds; round++) {
          const warmup = round < 0;
          const roundMs = warmup ? Math.max(1, size.roundMs / 4) : size.roundMs;
          for (const subject of subjects) {
            const baseline = raw.preallocatedRound(roundMs / 2);
            let rate: number;
            if (subject === 'appending') rate = raw.appendingRound(roundMs);
            else if (subject === 'async') rate = await raw.preallocatedAsyncRound(roundMs);
            else {
              const result = await commitRound(storage, mtrs, subject, roundMs);
              rate = result.commitsPerS;
              if (!warmup) rounds.get(subject)!.push(result);
            }
            if (!warmup) {
              rawBefore.get(subject)!.push(baseline);
              rates.get(subject)!.push(rate);
            }
          }
          if (!warmup) {
            const last = (subject: Subject): string =>
              `${formatInt(rates.get(subject)!.at(-1)!)}/${formatInt(rawBefore.get(subject)!.at(-1)!)}`;
            log(
              `group commit round ${round + 1}/${size.rounds} (commits/s over raw syncs/s): ${size.committers.map((n) => `${n}: ${last(n)}`).join(', ')}`,
            );
          }
        }
        const workload = 'group commit (NodeVfs)';
        const paired = (subject: Subject) => ({ name: 'raw', samples: rawBefore.get(subject)!, paired: true });
        const metrics: Metric[] = [
          metric({
            workload,
            name: `raw datasync, preallocated file (write ${size.rawWriteBytes} B + fdatasync): baseline`,
            unit: 'syncs/s',
            better: 'higher',
            samples: [...rawBefore.values()].flat(),
          }),
          metric({
            workload,
            name: 'raw datasync, appending file',
            unit: 'syncs/s',
            better: 'higher',
            samples: rates.get('appending')!,
            baseline: paired('appending'),
          }),
          metric({
            workload,
            name: 'raw datasync, preallocated, async (libuv pool)',
            unit: 'syncs/s',
            better: 'higher',
            samples: rates.get('async')!,
            baseline: paired('async'),
          }),
        ];
        const targets = new Map([
          [1, 0.8],
          [16, 5],
        ]);
        for (const n of size.committers) {
          const results = rounds.get(n)!;
          const target = targets.get(n);
          const committers = `${n} committer${n === 1 ? '' : 's'}`;
          metrics.push(
            metric({
              workload,
              name: `durable commits/s, ${committers}`,
              unit: 'commits/s',
              better: 'higher',
              samples: rates.get(n)!,
              baseline: paired(n),
              ...(target === undefined ? {} : { target: { op: '>=', value: target, on: 'ratio' } }),
              note: describeShape(size),
            }),
            metric({
              workload,
              name: `commits per log sync, ${committers}`,
              unit: 'commits',
              better: 'higher',
              samples: results.map((r) => r.commitsPerSync),
            }),
            metric({
              workload,
              name: `commit latency, ${committers}`,
              unit: 'ms',
              better: 'lower',
              samples: results.flatMap((r) => r.latenciesMs),
            }),
          );
        }
        return metrics;
      } finally {
        raw.close();
      }
    },
  );
}

// ------------------------------------------------------------------------------------------ 3. recovery

export async function recoveryApply(size: RecoverySize, log: (line: string) => void = () => {}): Promise<Metric[]> {
  const applyMBps: number[] = [];
  const openMs: number[] = [];
  let groups = 0;
  for (let repeat = 0; repeat < size.repeats; repeat++) {
    const fixture = await StorageFixture.create({
      vfs: size.vfs,
      pageSize: PAGE_SIZE,
      bufferPoolBytes: size.bufferPoolBytes,
      redoLogBytes: size.redoLogBytes,
    });
    try {
      const before = fixture.storage;
      const pageNos = allocatePages(before, size.pages);
      const mtrs = new SmallMtrs(before, pageNos, size, 10 + repeat);
      const checkpointLsn = before.log.checkpointLsn;
      const writes0 = before.pool.stats.writes;
      const bytes0 = before.log.stats.bytes;
      while (before.log.stats.bytes - bytes0 < size.redoBytes) {
        for (let i = 0; i < 256; i++) mtrs.commitOne();
      }
      if (before.log.checkpointLsn !== checkpointLsn || before.pool.stats.writes !== writes0) {
        throw new Error(
          'recovery bench: pages were flushed while generating redo; raise redoLogBytes or bufferPoolBytes',
        );
      }
      before.log.flushUpTo(before.log.currentLsn);
      before.abandon();
      const t0 = performance.now();
      const after = await fixture.reopen();
      const elapsedMs = performance.now() - t0;
      const recovery = after.recovery;
      if (recovery === undefined) throw new Error('recovery bench: the reopened storage reports no recovery');
      applyMBps.push(recovery.redoBytes / 1e6 / (elapsedMs / 1000));
      openMs.push(elapsedMs);
      groups = recovery.groups;
      log(
        `recovery ${repeat + 1}/${size.repeats} (${size.vfs}): ${formatInt(recovery.redoBytes)} B, ${formatInt(recovery.groups)} groups, ${recovery.pagesApplied} pages in ${elapsedMs.toFixed(0)} ms`,
      );
    } finally {
      await fixture.dispose();
    }
  }
  const workload = `recovery (${size.vfs === 'node' ? 'NodeVfs' : 'MemoryVfs'})`;
  const note = `${(size.redoBytes / 1e6).toFixed(size.redoBytes < 1e6 ? 1 : 0)} MB of redo, ${formatInt(groups)} groups on ${size.pages} pages`;
  return [
    metric({
      workload,
      name: 'redo applied per second of Storage.open',
      unit: 'MB/s',
      better: 'higher',
      samples: applyMBps,
      target: { op: '>=', value: 200, on: 'median' },
      note,
    }),
    metric({ workload, name: 'Storage.open with recovery', unit: 'ms', better: 'lower', samples: openMs }),
  ];
}

// ------------------------------------------------------------------------------------------ 4. hit, checksum

export async function poolHit(size: HitSize): Promise<Metric[]> {
  const clock = new ManualClock();
  return withFixture(
    { vfs: 'memory', pageSize: PAGE_SIZE, bufferPoolBytes: size.bufferPoolBytes, clock },
    async ({ storage }) => {
      const pool = storage.pool;
      const pageNos = allocatePages(storage, size.pages);
      const hot = pageNos.slice(0, size.hotPages);
      // A hot page is young: accessed again after the old-blocks time, it left the old sublist.
      clock.advance(60_000);
      for (const pageNo of hot) pool.unfix(pool.fix(BENCH_SPACE_ID, pageNo));
      const one = hot[hot.length - 1]!;
      const onePerPairMs = await timeBatches(
        'hit-one',
        () => {
          for (let i = 0; i < size.pairsPerCall; i++) pool.unfix(pool.fix(BENCH_SPACE_ID, one));
        },
        { opsPerCall: size.pairsPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
      );
      const picks = randomSequence(new RandomSource(4), hot.length).map((i) => hot[i]!);
      let cursor = 0;
      const misses0 = pool.stats.misses;
      const randomPerPairMs = await timeBatches(
        'hit-random',
        () => {
          for (let i = 0; i < size.pairsPerCall; i++)
            pool.unfix(pool.fix(BENCH_SPACE_ID, picks[cursor++ & SEQUENCE_MASK]!));
        },
        { opsPerCall: size.pairsPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
      );
      if (pool.stats.misses !== misses0) throw new Error('pool hit bench: a hot page missed');
      const workload = 'buffer pool hit';
      const target = { op: '<=', value: 150, on: 'median' } as const;
      return [
        metric({
          workload,
          name: 'fix + unfix, one hot page',
          unit: 'ns',
          better: 'lower',
          samples: onePerPairMs.map((ms) => ms * 1e6),
          target,
        }),
        metric({
          workload,
          name: `fix + unfix, random among ${hot.length} hot pages`,
          unit: 'ns',
          better: 'lower',
          samples: randomPerPairMs.map((ms) => ms * 1e6),
          target,
        }),
      ];
    },
  );
}

/** Keeps the checksums alive so the loop cannot be optimised away. */
let checksumSink = 0n;

export async function pageChecksum(size: ChecksumSize): Promise<Metric[]> {
  await loadChecksums();
  const page = new RandomSource(5).fill(new Uint8Array(size.pageSize));
  const perPageMs = await timeBatches(
    'checksum',
    () => {
      for (let i = 0; i < size.perCall; i++) checksumSink ^= checksum64(page);
    },
    { opsPerCall: size.perCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
  );
  return [
    metric({
      workload: 'checksum',
      name: `checksum64 (xxh64, xxhash-wasm) of a ${size.pageSize / KiB} KiB page`,
      unit: 'µs',
      better: 'lower',
      samples: perPageMs.map((ms) => ms * 1000),
      target: { op: '~', value: 1, on: 'median' },
    }),
  ];
}

// ------------------------------------------------------------------------------------------ 5. eviction

export async function eviction(size: EvictionSize): Promise<Metric[]> {
  return withFixture(
    { vfs: 'node', pageSize: PAGE_SIZE, bufferPoolBytes: size.bufferPoolBytes },
    async ({ storage, vfs }) => {
      const pool = storage.pool;
      // The midpoint LRU keeps the young sublist of the allocation phase resident for good (a
      // round-robin scan only ever cycles through the old sublist: InnoDB's scan resistance), so
      // the cycle skips those pages to make every access a miss.
      const pageNos = allocatePages(storage, size.dataPages).filter(
        (pageNo) => pool.lookup(BENCH_SPACE_ID, pageNo) < 0,
      );
      if (pageNos.length <= pool.frameCount) throw new Error('eviction bench: the data must be larger than the pool');
      let cursor = 0;
      const next = (): number => {
        const pageNo = pageNos[cursor]!;
        cursor = cursor + 1 === pageNos.length ? 0 : cursor + 1;
        return pageNo;
      };
      // Baseline: the same reads straight from the tablespace file through the VFS (no pool).
      const file = vfs.open(spaceFileName(BENCH_SPACE_ID), { readOnly: true });
      const target = new Uint8Array(PAGE_SIZE);
      let rawPerPageMs: number[];
      try {
        rawPerPageMs = await timeBatches(
          'eviction-raw-read',
          () => {
            for (let i = 0; i < size.readsPerCall; i++) file.read(target, next() * PAGE_SIZE);
          },
          { opsPerCall: size.readsPerCall, timeMs: size.timeMs / 2, warmupMs: size.warmupMs },
        );
      } finally {
        file.close();
      }
      const hits0 = pool.stats.hits;
      const cleanPerPageMs = await timeBatches(
        'eviction-clean',
        () => {
          for (let i = 0; i < size.readsPerCall; i++) pool.unfix(pool.fix(BENCH_SPACE_ID, next()));
        },
        { opsPerCall: size.readsPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
      );
      if (pool.stats.hits !== hits0)
        throw new Error('eviction bench: a round-robin read hit; the data must be larger than the pool');
      const writes0 = pool.stats.writes;
      const syncs0 = storage.log.stats.syncs;
      const dirtyPerPageMs = await timeBatches(
        'eviction-dirty',
        () => {
          for (let i = 0; i < size.dirtyPerCall; i++) {
            const mtr = storage.startMtr();
            const page = mtr.getPage(BENCH_SPACE_ID, next());
            mtr.writeU32(page, FIL_HEADER_BYTES, cursor);
            mtr.commit();
          }
        },
        { opsPerCall: size.dirtyPerCall, timeMs: size.timeMs, warmupMs: size.warmupMs },
      );
      const pagesWritten = pool.stats.writes - writes0;
      const workload = 'eviction (NodeVfs)';
      const shape = `pool ${size.bufferPoolBytes / MiB} MiB, ${(size.dataPages * PAGE_SIZE) / MiB} MiB of pages read round-robin`;
      const rawRead = metric({
        workload,
        name: `raw ${PAGE_SIZE / KiB} KiB reads of the same pages (VfsFile.read): baseline`,
        unit: 'pages/s',
        better: 'higher',
        samples: perSecond(rawPerPageMs),
      });
      return [
        rawRead,
        metric({
          workload,
          name: 'clean pages evicted and read, every access a miss',
          unit: 'pages/s',
          better: 'higher',
          samples: perSecond(cleanPerPageMs),
          baseline: { name: 'raw read', samples: rawRead.samples, paired: false },
          note: shape,
        }),
        metric({
          workload,
          name: 'dirty: each access changes its page, eviction flushes',
          unit: 'pages/s',
          better: 'higher',
          samples: perSecond(dirtyPerPageMs),
          note: `${formatInt(pagesWritten)} pages flushed, ${formatInt(storage.log.stats.syncs - syncs0)} log syncs`,
        }),
      ];
    },
  );
}

// ------------------------------------------------------------------------------------------ 6. RSS

export interface RssResult {
  readonly bufferPoolBytes: number;
  readonly dataBytes: number;
  readonly rssStartBytes: number;
  readonly rssAfterOpenBytes: number;
  readonly rssAfterWriteBytes: number;
  readonly rssMaxBytes: number;
  readonly rssSamples: number;
  readonly reads: number;
  readonly misses: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly arrayBuffersBytes: number;
}

/** The RSS workload itself; `rssBound` runs it in a child process. */
export async function rssBoundInProcess(size: RssSize): Promise<RssResult> {
  const sampler = new RssSampler();
  return withFixture(
    { vfs: 'node', pageSize: PAGE_SIZE, bufferPoolBytes: size.bufferPoolBytes },
    async ({ storage }) => {
      const rssAfterOpenBytes = sampler.sample();
      const dataPages = Math.floor((size.dataFactor * size.bufferPoolBytes) / PAGE_SIZE);
      let mtrs = 0;
      const pageNos = allocatePages(storage, dataPages, () => {
        if (++mtrs % 32 === 0) sampler.sample();
      });
      const rssAfterWriteBytes = sampler.sample();
      const picks = randomSequence(new RandomSource(6), pageNos.length);
      const pool = storage.pool;
      const misses0 = pool.stats.misses;
      for (let i = 0; i < size.randomReads; i++) {
        pool.unfix(pool.fix(BENCH_SPACE_ID, pageNos[picks[i & SEQUENCE_MASK]!]!));
        if ((i & 255) === 0) sampler.sample();
      }
      sampler.sample();
      const usage = process.memoryUsage();
      return {
        bufferPoolBytes: size.bufferPoolBytes,
        dataBytes: dataPages * PAGE_SIZE,
        rssStartBytes: sampler.startBytes,
        rssAfterOpenBytes,
        rssAfterWriteBytes,
        rssMaxBytes: sampler.max,
        rssSamples: sampler.samples,
        reads: size.randomReads,
        misses: pool.stats.misses - misses0,
        heapUsedBytes: usage.heapUsed,
        heapTotalBytes: usage.heapTotal,
        arrayBuffersBytes: usage.arrayBuffers,
      };
    },
  );
}

export async function rssBound(size: RssSize, log: (line: string) => void = () => {}): Promise<Metric[]> {
  // Imported here, not at the top: the child imports this module, and child.ts loads the
  // TypeScript compiler, which would count in the child's RSS.
  const { runInChild } = await import('./lib/child.js');
  const result = await runInChild<RssResult>(import.meta.url, 'rssBoundInProcess', size);
  const mib = (bytes: number): number => bytes / MiB;
  log(
    `rss: start ${mib(result.rssStartBytes).toFixed(1)} MiB, after open ${mib(result.rssAfterOpenBytes).toFixed(1)}, after writing ${mib(result.rssAfterWriteBytes).toFixed(1)}, ` +
      `max ${mib(result.rssMaxBytes).toFixed(1)} (${result.rssSamples} samples); ${result.misses}/${result.reads} reads missed; ` +
      `heap used ${mib(result.heapUsedBytes).toFixed(1)} of ${mib(result.heapTotalBytes).toFixed(1)} MiB, array buffers ${mib(result.arrayBuffersBytes).toFixed(1)} MiB`,
  );
  const workload = 'memory bound (child process)';
  const note = `pool ${mib(result.bufferPoolBytes)} MiB, ${mib(result.dataBytes)} MiB of pages written then read at random`;
  return [
    metric({
      workload,
      name: 'max RSS − pool size',
      unit: 'MiB',
      better: 'lower',
      samples: [mib(result.rssMaxBytes - result.bufferPoolBytes)],
      target: { op: '<=', value: 64, on: 'median' },
      note,
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
      samples: [mib(result.rssMaxBytes - result.rssStartBytes - result.bufferPoolBytes)],
    }),
  ];
}

// ------------------------------------------------------------------------------------------ suite

export const suite: BenchSuite = {
  name: 'storage-core',
  title: 'Storage core (issue 3): redo, group commit, recovery, buffer pool',
  workloads: [
    { name: 'redo', run: (scale) => redoThroughput(SIZES[scale].redo) },
    { name: 'group-commit', run: (scale, log) => groupCommit(SIZES[scale].groupCommit, log) },
    { name: 'recovery', run: (scale, log) => recoveryApply(SIZES[scale].recovery, log) },
    { name: 'recovery-memory', run: (scale, log) => recoveryApply(SIZES[scale].recoveryMemory, log) },
    { name: 'pool-hit', run: (scale) => poolHit(SIZES[scale].hit) },
    { name: 'checksum', run: (scale) => pageChecksum(SIZES[scale].checksum) },
    { name: 'eviction', run: (scale) => eviction(SIZES[scale].eviction) },
    { name: 'rss', run: (scale, log) => rssBound(SIZES[scale].rss, log) },
  ],
};
