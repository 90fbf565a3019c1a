/**
 * The engine's memory account: what minno itself holds beyond the buffer pool's frames, by part,
 * and the bound each part keeps (docs/architecture.md, "Memory"). `db.status().memory` reports it.
 *
 * InnoDB counterpart: the "BUFFER POOL AND MEMORY" section of SHOW ENGINE INNODB STATUS, and
 * `innodb_buffer_pool_size` being most, not all, of mysqld's memory (the log buffer, the adaptive
 * hash index, the lock heap and the change buffer's bitmap sit beside it).
 *
 * What it counts: typed arrays by their size, and the few JavaScript structures that grow with
 * the work (the change buffer's page summaries, the row locks held) by an estimate per entry,
 * calibrated on heap snapshots. What it leaves out, because it is small, fixed per object and
 * not a typed array: about 19 KiB per open table, 0.7 to 1.5 KiB per open transaction, 0.5 to
 * 1.3 KiB per open scan or snapshot (`bench/memory-probe.ts objects`). What is transient and
 * bounded, so never between operations: recovery at open (RC5 of redo/recovery.ts: about 10 MiB
 * whatever the redo), the pool load (pool-dump.ts), a unique index build's batch (IB3 of
 * row/index-build.ts). What it cannot count, because the engine does not own it: Node itself
 * (about 42 MiB of RSS), minno's own code and module sources once imported (about 12 MiB), V8's
 * young generation (its semi-spaces grow to 16 MiB each under any long allocation-heavy run
 * unless the process runs with `--max-semi-space-size`), and garbage not yet collected. Those are
 * the process's, and set by Node's flags: docs/architecture.md "Memory" takes a benchmark
 * process's peak RSS apart, phase by phase.
 *
 * ## Invariants
 *  EM1. Between operations, `fixed` (everything but the locks) stays within `engineMemoryBound`
 *       of the open options, whatever the data size: no structure beyond the pool grows with the
 *       data. Checked by test/api/engine-memory.test.ts on a load ten times the pool.
 *  EM2. `locks` grows with the row locks open transactions hold, and only with them: a
 *       transaction's locks are freed when it ends.
 */
import type { Storage } from '../core/storage.js';
import type { RowEngine } from '../row/row-engine.js';
import { SUMMARY_MEMORY_MAX } from '../ibuf/ibuf-page-summary.js';
import { adaptiveHashOf } from '../btree/adaptive-hash.js';

/**
 * Bytes per frame beyond the page itself: 66 of typed-array metadata, at most 48 of page hash
 * (a power-of-two table of at least twice the frames and under four times, 12 bytes a slot), the frame's view object
 * (about 112) and the mtr's modified flag (1), rounded up.
 */
export const POOL_BYTES_PER_FRAME = 240;
/** V8's cost of one row lock, beside its key's bytes: the lock object, its key string, two list slots. */
export const LOCK_BYTES = 256;
/** The log buffer's spare room past its flush size, the mtr records buffer, the in-flight copy kept. */
const LOG_FIXED_BYTES = 64 * 1024 + 64 * 1024 + 1024 * 1024;

export interface EngineMemory {
  /** The pool's frames: `bufferPoolBytes` less the adaptive hash index's share, in whole pages. */
  readonly poolFrames: number;
  /** The adaptive hash index's buckets: inside `bufferPoolBytes`, beside the frames (adaptive-hash.ts). */
  readonly adaptiveHash: number;
  /** Per-frame metadata, the page hash and the flush batch's page images. */
  readonly poolOverhead: number;
  /** The log buffer, the copy an asynchronous log sync covers, the mtr records buffer. */
  readonly log: number;
  /** The change buffer's per-page summaries (an estimate; capped, then dropped and rebuilt). */
  readonly changeBufferSummaries: number;
  /** The row locks open transactions hold (an estimate, LOCK_BYTES each). */
  readonly locks: number;
  /** Everything above but `poolFrames` and `locks`: what EM1 bounds. */
  readonly fixed: number;
  readonly total: number;
}

export function engineMemory(storage: Storage, engine: RowEngine): EngineMemory {
  const poolFrames = storage.pool.frameBytes;
  const core = storage.memoryOverhead();
  const changeBufferSummaries = engine.changeBuffer.summaryMemoryBytes();
  const locks = engine.locks.totalLockCount() * LOCK_BYTES;
  const fixed = core.pool + core.log + changeBufferSummaries;
  const adaptiveHash = adaptiveHashOf(storage)?.bytes ?? 0;
  return {
    poolFrames,
    adaptiveHash,
    poolOverhead: core.pool,
    log: core.log,
    changeBufferSummaries,
    locks,
    fixed,
    total: poolFrames + adaptiveHash + fixed + locks,
  };
}

export interface MemoryBoundOptions {
  readonly pageSize: number;
  readonly bufferPoolBytes: number;
  /** Storage's `flushBatchPages` (default 128). */
  readonly flushBatchPages: number;
  /** Storage's `redoLogBytes`. */
  readonly redoLogBytes: number;
}

/**
 * EM1's bound on `fixed`, in bytes: per frame POOL_BYTES_PER_FRAME, the flush batch (at most a
 * quarter of the frames), the log buffer (a flush size of min(256 KiB, an eighth of the log)) with
 * LOG_FIXED_BYTES, and the change buffer's summaries (their cap, plus one page's summary built
 * past it: at most 16 pages' worth). It holds between operations: a single mtr or log group larger
 * than the buffers grows them for its own life, and an asynchronous log sync's copy of at most
 * 1 MiB of log (IN_FLIGHT_COPY_MAX of redo-log.ts) may sit in an array of up to 2 MiB while the
 * sync runs.
 */
export function engineMemoryBound(options: MemoryBoundOptions): number {
  const frames = Math.floor(options.bufferPoolBytes / options.pageSize);
  const batchPages = Math.max(1, Math.min(options.flushBatchPages, Math.floor(frames / 4)));
  const logFlushBytes = Math.min(256 * 1024, Math.floor(options.redoLogBytes / 8));
  return (
    frames * POOL_BYTES_PER_FRAME +
    batchPages * options.pageSize +
    logFlushBytes +
    LOG_FIXED_BYTES +
    SUMMARY_MEMORY_MAX +
    16 * options.pageSize
  );
}
