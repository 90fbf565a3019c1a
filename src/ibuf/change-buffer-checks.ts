/**
 * The change buffer's status and checks: the counts `db.status()` reports, and `validate`,
 * which recounts the records against the header and the bitmap (the checker and tests run it
 * before anything reads the pages, since reading them merges them).
 *
 * InnoDB counterpart: `ibuf/ibuf0ibuf.cc` (ibuf_print, ibuf_is_empty, and its debug-build
 * bitmap and count checks). The invariants are numbered in change-buffer.ts; checked here: IB1
 * both ways, IB2 (no page in use in the pool has records; after the checker's walk no live index
 * has any left), IB3 against each page's bitmap entry, IB6, IB9 against a recount, and IB10 (each
 * cached page summary equals a recount of its records).
 */
import { assert } from '../util/assert.js';
import { BITMAP_BUFFERED, promisedFreeBytes } from './ibuf-bitmap.js';
import { insertRoomBytes } from './ibuf-page-summary.js';
import {
  IBUF_OP_COUNT,
  IBUF_OP_NAMES,
  type IbufOpName,
  addsEntry,
  ibufKeyPage,
  ibufKeySpace,
  ibufRecordBytes,
} from './ibuf-record.js';
import { type ChangeBufferStatus, ChangeBufferState, type PageRef, zeroCounts } from './change-buffer-state.js';

/** The change buffer with its status and checks (the layer above its shared state). */
export class ChangeBufferChecks extends ChangeBufferState {
  status(): ChangeBufferStatus {
    const header = this.header;
    const records = zeroCounts();
    for (let op = 0; op < IBUF_OP_COUNT; op++) records[IBUF_OP_NAMES[op]!] = header.records[op]!;
    return {
      mode: this.mode,
      maxBytes: this.maxBytes,
      sizeBytes: header.bytes,
      pages: header.pages,
      records,
      buffered: { ...this.stats.buffered },
      merges: this.stats.merges,
      merged: { ...this.stats.merged },
      discarded: { ...this.stats.discarded },
      refused: { ...this.stats.refused },
      secondaryPageReads: this.stats.secondaryPageReads,
      secondaryLeafReads: this.stats.secondaryLeafReads,
      bitmapWrites: this.bitmaps.writes,
    };
  }

  /**
   * Checks the change buffer as it stands, before anything reads the pages it has operations for
   * (reading merges them): its tree (BT1-BT9), IB9 against a recount, IB6, IB1 both ways, IB3
   * against each page's bitmap entry, and IB2's "no page in use in the pool has records".
   */
  validate(): void {
    this.ibufTree.check();
    const header = this.header;
    const records = new Array<number>(IBUF_OP_COUNT).fill(0);
    let bytes = 0;
    const pages = new Map<string, PageRef & { insertBytes: number }>();
    for (const record of this.scanFrom(undefined)) {
      assert(record.op < IBUF_OP_COUNT, () => `IB6 a change-buffer record holds a known operation, found ${record.op}`);
      records[record.op]!++;
      bytes += ibufRecordBytes(record.entryKey.length);
      const spaceId = ibufKeySpace(record.key);
      const pageNo = ibufKeyPage(record.key);
      const id = `${spaceId}:${pageNo}`;
      let page = pages.get(id);
      if (page === undefined) pages.set(id, (page = { spaceId, pageNo, insertBytes: 0 }));
      if (addsEntry(record.op)) page.insertBytes += insertRoomBytes(record.entryKey.length);
    }
    assert(
      records.every((n, op) => n === header.records[op]) && bytes === header.bytes && pages.size === header.pages,
      () =>
        `IB9 the change buffer header counts ${JSON.stringify({ records: header.records, bytes: header.bytes, pages: header.pages })} equal a recount ${JSON.stringify({ records, bytes, pages: pages.size })}`,
    );
    const pool = this.storage.pool;
    for (const { spaceId, pageNo, insertBytes } of pages.values()) {
      if (!this.storage.spaces.exists(spaceId)) continue;
      const entry = this.bitmaps.read(spaceId, pageNo);
      assert(
        (entry & BITMAP_BUFFERED) !== 0,
        `IB1 page ${spaceId}:${pageNo} has buffered operations: its BUFFERED bit is set`,
      );
      assert(
        insertBytes <= promisedFreeBytes(entry, this.storage.pageSize),
        `IB3 the inserts buffered for page ${spaceId}:${pageNo} (${insertBytes} bytes) fit the room its bitmap promises`,
      );
      const frame = pool.lookup(spaceId, pageNo);
      assert(
        this.mergeInTwoMtrs || frame < 0 || pool.awaitsReadHook(frame),
        `IB2 page ${spaceId}:${pageNo} is in use in the buffer pool with operations not merged into it`,
      );
    }
    for (const { spaceId, pageNo, summary, recount } of this.summaries.cached()) {
      assert(
        summary.records === recount.records &&
          summary.insertBytes === recount.insertBytes &&
          sameKeys(summary.present, recount.present) &&
          sameKeys(summary.removed, recount.removed),
        () => `IB10 the summary of page ${spaceId}:${pageNo} equals a recount of its records`,
      );
    }
    for (const table of this.dictionary.tables()) {
      if (!this.storage.spaces.exists(table.spaceId)) continue;
      for (const [pageNo, entry] of this.bitmaps.entries(table.spaceId)) {
        if ((entry & BITMAP_BUFFERED) === 0) continue;
        assert(
          pages.has(`${table.spaceId}:${pageNo}`),
          `IB1 page ${table.spaceId}:${pageNo} has its BUFFERED bit set: the change buffer has operations for it`,
        );
      }
    }
  }

  /** After every leaf of every live index was read (the checker's walk): no live index has records left. */
  validateMerged(): void {
    if (this.mergeInTwoMtrs) return;
    for (const record of this.scanFrom(undefined)) {
      const spaceId = ibufKeySpace(record.key);
      const live = this.storage.spaces.exists(spaceId) && this.indexInfo(record.indexId) !== undefined;
      assert(
        !live,
        () =>
          `IB2 page ${spaceId}:${ibufKeyPage(record.key)} was read, yet index ${record.indexId} still has an operation buffered for it`,
      );
    }
  }

  /** The operations buffered for a page, in the order they will be applied (tests and tools). */
  operationsOf(spaceId: number, pageNo: number): IbufOpName[] {
    return [...this.recordsOf(spaceId, pageNo)].map((record) => IBUF_OP_NAMES[record.op]!);
  }

  /** The change buffer tree's pages (a walk: for benchmarks and tools, not the hot path). */
  treePages(): number {
    return this.ibufTree.check().pages;
  }
}

function sameKeys(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}
