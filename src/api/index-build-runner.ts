/**
 * Runs an index build (row/index-build.ts) in slices of about `SLICE_MS` of work each, giving the
 * event loop back between slices (`setImmediate`: timers and I/O callbacks run in between), and
 * reports progress after each slice.
 *
 * InnoDB counterpart: none as such. InnoDB builds an index on a server thread while other
 * threads serve queries; an embedded engine shares the caller's one thread, so the build has to
 * step aside by itself. lmdb and classic-level have no index builds; better-sqlite3's CREATE
 * INDEX blocks its thread to the end.
 *
 * While the build runs: reads of the table go on (through the indexes it already had), writes to
 * it wait their turn (`Table` awaits the build; row/index-build.ts IB1), purge waits, and DDL on
 * the table is refused with ERR_IN_USE. `db.close()` cancels a running build: the index is
 * dropped and `createIndex` rejects with ERR_CLOSED. A crash leaves the index 'building' and the
 * next open drops it.
 */
import { ClosedError, InvalidArgumentError } from '../errors.js';
import type { IndexBuild } from '../row/index-build.js';
import type { RowEngine } from '../row/row-engine.js';
import { turnDeadline } from '../util/slices.js';

/** Work per slice by default: the event loop waits about this long for the build (plus one mtr). */
const SLICE_MS = 20;

export interface IndexBuildProgress {
  readonly table: string;
  readonly index: string;
  /** Rows copied into the index so far (delete-marked ones not yet purged included). */
  readonly rows: number;
  /** True in the last report, once every row is copied (the index becomes ready right after). */
  readonly done: boolean;
}

export interface CreateIndexOptions {
  /** Called after each slice of the build; a throw from it cancels the build. */
  readonly onProgress?: (progress: IndexBuildProgress) => void;
  /**
   * Milliseconds of work per slice (default 20): smaller keeps timers more punctual, larger
   * builds sooner. 0 yields after every mtr of 64 entries.
   */
  readonly sliceMs?: number;
}

/** Refuses bad options before the build starts (nothing is written for them). */
export function checkCreateIndexOptions(options: CreateIndexOptions): void {
  if (options === null || typeof options !== 'object')
    throw new InvalidArgumentError('createIndex options must be an object');
  const { sliceMs, onProgress } = options;
  if (sliceMs !== undefined && (typeof sliceMs !== 'number' || !Number.isFinite(sliceMs) || sliceMs < 0))
    throw new InvalidArgumentError(`sliceMs must be a non-negative number, got ${String(sliceMs)}`);
  if (onProgress !== undefined && typeof onProgress !== 'function')
    throw new InvalidArgumentError('onProgress must be a function');
}

/** Why a build must stop between slices: its database is closing, or was dropped without writing. */
export type BuildStop = 'closing' | 'abandoned' | undefined;

/** Runs `build` to the end, a slice per event-loop turn; on any failure the index is dropped. */
export async function runIndexBuild(
  engine: RowEngine,
  build: IndexBuild,
  options: CreateIndexOptions,
  stop: () => BuildStop,
): Promise<void> {
  const onProgress = options.onProgress;
  const sliceMs = options.sliceMs ?? SLICE_MS;
  try {
    for (;;) {
      const deadline = turnDeadline(sliceMs); // shared with timers due in the same turn (util/slices.ts)
      const copied = build.copySlice(() => performance.now() >= deadline);
      onProgress?.({ table: build.table.name, index: build.index.name, rows: build.rows, done: copied });
      if (copied) break;
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (stop() !== undefined) throw new ClosedError('database');
    }
    engine.finishIndexBuild(build);
  } catch (error) {
    // An abandoned database writes nothing more: the next open drops the 'building' index.
    if (stop() !== 'abandoned') {
      try {
        engine.abandonIndexBuild(build);
      } catch {
        // A failed drop (the engine is poisoned, say) leaves the index 'building': the next open
        // drops it. The error that stopped the build is the one to report.
      }
    }
    throw error;
  }
}
