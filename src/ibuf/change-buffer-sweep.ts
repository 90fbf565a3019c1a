/**
 * The change buffer's background work: a sweep that visits the records a slice at a time,
 * discards those of dropped tables and indexes, and merges by reading them the pages with the
 * most records; `mergeAll` (InnoDB's slow shutdown) and `discardSpace` (a dropped table).
 *
 * InnoDB counterpart: `ibuf/ibuf0ibuf.cc` (ibuf_merge_in_background, ibuf_merge_pages,
 * ibuf_delete_for_discarded_space). The invariants are numbered in change-buffer.ts; held here:
 *  IB1. A page whose last record is discarded loses its BUFFERED bit in that mtr (`discard`).
 *  IB2. The sweep merges only pages no one uses: it reads them, and the read hook
 *       (change-buffer.ts) merges each in an mtr of its own.
 * Also the second mtr of seed 004's split merge (`runDeferred`), which runs only under the test
 * seam `mergeInTwoMtrs`.
 */
import { assert } from '../util/assert.js';
import { writeU32 } from '../page/page.js';
import { BITMAP_BUFFERED, bitmapClassesOf } from './ibuf-bitmap.js';
import { entryKeyString } from './ibuf-page-summary.js';
import { IBUF_OP_NAMES, type IbufRecord, ibufKeyPage, ibufKeySpace, ibufValueIndexId } from './ibuf-record.js';
import type { ChangeBufferStepResult, PageRef } from './change-buffer-state.js';
import { ChangeBufferChecks } from './change-buffer-checks.js';

/**
 * Records the background task visits per step. It merges nothing while the buffer is below half
 * its cap (a merge costs the page read buffering saved: pages are merged when something reads
 * them), then MERGE_PAGES_HALF_FULL pages per step, MERGE_PAGES_FULL from three quarters on.
 */
const SWEEP_RECORDS_PER_STEP = 1024;
const MERGE_PAGES_HALF_FULL = 1;
const MERGE_PAGES_FULL = 8;
/** Records discarded per mini-transaction. */
const DISCARDS_PER_MTR = 64;

/** The distinct pages of some records. */
function pagesOf(records: readonly IbufRecord[]): PageRef[] {
  const pages = new Map<string, PageRef>();
  for (const record of records) {
    const spaceId = ibufKeySpace(record.key);
    const pageNo = ibufKeyPage(record.key);
    pages.set(`${spaceId}:${pageNo}`, { spaceId, pageNo });
  }
  return [...pages.values()];
}

/** The change buffer with its background work (the layer above its status and checks). */
export class ChangeBufferSweep extends ChangeBufferChecks {
  /** Where the background sweep goes on from (a record key), or undefined: from the start. */
  private sweepFrom: Uint8Array | undefined;
  /**
   * The sweep's lap (start of the tree to its end): the dictionary version it started at, the
   * records it found to discard, and the version at which a whole lap found none (-1: not yet).
   */
  private readonly sweep = { version: -1, discards: 0, cleanAt: -1 };
  /** TEST ONLY (mergeInTwoMtrs): the second mtr of merges, waiting for the next background step. */
  protected readonly deferred: IbufRecord[] = [];

  /** Pages a background step merges by default: by how full the buffer is (see SWEEP_RECORDS_PER_STEP). */
  private mergePagesPerStep(): number {
    // Buffering off: nothing more comes in, so what earlier opens buffered drains steadily.
    if (this.mode === 'none') return MERGE_PAGES_HALF_FULL;
    const fill = this.header.bytes / this.maxBytes;
    return fill < 0.5 ? 0 : fill < 0.75 ? MERGE_PAGES_HALF_FULL : MERGE_PAGES_FULL;
  }

  /**
   * One bounded slice of background work (ibuf_merge_in_background): visits up to
   * SWEEP_RECORDS_PER_STEP records from where the last step stopped, discards those of dropped
   * tables and indexes, and merges by reading them the `pagesMax` pages with the most records
   * among those it met (the most work saved per page read).
   */
  backgroundStep(pagesMax = this.mergePagesPerStep()): ChangeBufferStepResult {
    this.runDeferred();
    if (this.header.recordCount === 0) return { merged: 0, discarded: 0 };
    // Nothing to merge, and a whole lap of the sweep found nothing to discard since the dictionary
    // last changed: every record names a live index (only `buffer` adds records, for live ones).
    if (pagesMax === 0 && this.sweep.cleanAt === this.dictionary.version) return { merged: 0, discarded: 0 };
    const toDiscard: IbufRecord[] = [];
    const pages = new Map<number, PageRef & { records: number }>();
    const cursor = this.ibufTree.cursor();
    const view = cursor.view;
    let visited = 0;
    /** Visits the record under the cursor, in place (no copy unless it is to be discarded). */
    const visit = (): void => {
      const spaceId = ibufKeySpace(view.page, view.keyOffset);
      const pageNo = ibufKeyPage(view.page, view.keyOffset);
      if (
        !this.storage.spaces.exists(spaceId) ||
        this.indexInfo(ibufValueIndexId(view.page, view.valueOffset)) === undefined
      ) {
        toDiscard.push(this.recordAt(cursor));
        return;
      }
      const id = spaceId * 4294967296 + pageNo;
      const page = pages.get(id);
      if (page === undefined) pages.set(id, { spaceId, pageNo, records: 1 });
      else page.records++;
    };
    // From where the last step stopped to the end, then from the start up to there.
    const from = this.sweepFrom;
    const version = this.dictionary.version;
    if (from === undefined) this.startSweepLap(version);
    let last: Uint8Array | undefined;
    for (let on = from === undefined ? cursor.first() : cursor.seek(from, 'ge'); on; on = cursor.next()) {
      visit();
      if (++visited >= SWEEP_RECORDS_PER_STEP) {
        last = cursor.key();
        break;
      }
    }
    if (visited < SWEEP_RECORDS_PER_STEP) {
      // The end of the tree: the lap is over; clean if nothing it met was to be discarded.
      if (this.sweep.version === version && this.sweep.discards + toDiscard.length === 0) this.sweep.cleanAt = version;
      if (from !== undefined) {
        this.startSweepLap(version);
        const lapStart = toDiscard.length;
        for (let on = cursor.first(); on; on = cursor.next()) {
          if (cursor.compareKey(from) >= 0) break;
          visit();
          if (++visited >= SWEEP_RECORDS_PER_STEP) {
            last = cursor.key();
            break;
          }
        }
        this.sweep.discards -= lapStart; // only the new lap's discards count against it (below)
      }
    }
    this.sweep.discards += toDiscard.length;
    this.sweepFrom = last === undefined ? undefined : keyAfter(last);
    const discarded = this.discard(toDiscard);
    let merged = 0;
    const pool = this.storage.pool;
    const chosen = [...pages.values()].sort((a, b) => b.records - a.records).slice(0, pagesMax);
    for (const { spaceId, pageNo } of chosen) {
      const frame = pool.lookup(spaceId, pageNo);
      if (frame >= 0 && !pool.awaitsReadHook(frame)) continue; // in use already: only the split-merge seam
      const before = this.stats.merges;
      pool.unfix(pool.fix(spaceId, pageNo)); // the read hook merges it, in its own mtr (none is active)
      merged += this.stats.merges - before;
    }
    return { merged, discarded };
  }

  private startSweepLap(version: number): void {
    this.sweep.version = version;
    this.sweep.discards = 0;
  }

  /** Merges or discards every record (`db.mergeChangeBuffer()`, InnoDB's slow shutdown); returns the pages merged. */
  mergeAll(): number {
    let merged = 0;
    for (let rounds = 0; this.header.recordCount > 0 || this.deferred.length > 0; rounds++) {
      assert(rounds < 1_000_000, 'the change buffer empties');
      merged += this.backgroundStep(64).merged;
    }
    return merged;
  }

  /** A table's space was dropped: its records go (the bitmap went with the space). */
  discardSpace(spaceId: number): void {
    this.bitmaps.forget(spaceId);
    const prefix = new Uint8Array(4);
    writeU32(prefix, 0, spaceId);
    const records: IbufRecord[] = [];
    for (const record of this.scanFrom(prefix)) {
      if (ibufKeySpace(record.key) !== spaceId) break;
      records.push(record);
    }
    this.discard(records);
  }

  /**
   * Removes records unapplied (a dropped table or index), in mtrs of DISCARDS_PER_MTR; a page
   * losing its last record loses BUFFERED in the same mtr when its space still exists (IB1).
   */
  private discard(records: readonly IbufRecord[]): number {
    for (let at = 0; at < records.length; at += DISCARDS_PER_MTR) {
      const batch = records.slice(at, at + DISCARDS_PER_MTR);
      this.inOwnMtr((mtr) => {
        for (const record of batch) {
          this.removeRecord(mtr, record);
          this.stats.discarded[IBUF_OP_NAMES[record.op]!]++;
        }
        this.clearBufferedIfDone(mtr, pagesOf(batch));
      });
    }
    return records.length;
  }

  /** TEST ONLY (mergeInTwoMtrs): the second mtr of seed 004's split merge. */
  private runDeferred(): void {
    if (this.deferred.length === 0) return;
    const records = new Map(this.deferred.splice(0).map((record) => [entryKeyString(record.key), record]));
    this.inOwnMtr((mtr) => {
      const removed = [...records.values()].filter((record) => this.ibufTree.find(record.key));
      for (const record of removed) this.removeRecord(mtr, record);
      const pool = this.storage.pool;
      for (const { spaceId, pageNo } of pagesOf(removed)) {
        const frame = pool.lookup(spaceId, pageNo);
        if (frame < 0 || this.hasRecords(spaceId, pageNo)) continue;
        const entry = this.bitmaps.read(spaceId, pageNo);
        this.bitmaps.write(mtr, spaceId, pageNo, bitmapClassesOf(pool.frames[frame]!) | (entry & BITMAP_BUFFERED));
      }
      this.clearBufferedIfDone(mtr, pagesOf(removed));
    });
  }
}

/** The smallest key after `key` (where the next sweep starts). */
function keyAfter(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}
