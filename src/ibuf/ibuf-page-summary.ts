/**
 * What the change buffer holds for one page, summed up in memory: the figures IB3 and IB4 check a
 * new operation against, kept so that buffering an operation costs the same whether the page has
 * one record buffered or two hundred.
 *
 * InnoDB counterpart: none kept in memory. ibuf_insert_low calls ibuf_get_volume_buffered, which
 * reads the change buffer's leaf records of the page (and its neighbours) for every buffered
 * operation; ibuf_get_volume_buffered_hash keeps a small hash of the entries seen so that a
 * delete-mark and its purge are not counted twice. Our first version did the same scan, and a
 * profile of sbtest oltp_update_index at 10x the pool (issue 14) put a fifth of the time in it:
 * the pages `k = k + 1` touches collect a delete-mark, an insert and a purge per update, so the
 * scan grew with every operation buffered for the page.
 *
 * ## The summary of a page
 *  - `records`: how many records are buffered for it (the cap pageRecordsMax, "too many records");
 *  - `insertBytes`: the room its buffered inserts take (IB3);
 *  - `present` and `removed`, built only when a removal is first checked for the page (a page
 *    that only gets inserts never needs them): the entry keys whose last buffered operation
 *    inserts them, and the keys some buffered removal takes (IB4).
 *
 * ## Why it stays exact (IB10)
 * A summary is built by reading the page's records from the tree, then follows every change to
 * them: `noteBuffered` in the mtr that inserts a record (change-buffer.ts `buffer`, after the insert
 * succeeded), and `forget` when any record of the page is removed (a merge, a discard, the split
 * merge seam). Nothing else writes the change buffer's tree while the engine runs; after a crash
 * or a reopen the cache starts empty. A page's records only change by those paths, so a summary
 * equals a recount (`validate` in change-buffer.ts compares them).
 *
 * Memory is bounded: past SUMMARY_KEYS_MAX keys or SUMMARY_PAGES_MAX pages the whole cache is
 * dropped and rebuilt on demand, which costs one scan per page again.
 */
import { ENTRY_HEADER_BYTES, SLOT_BYTES } from '../btree/index-page.js';
import { type IbufOpValue, type IbufRecord, addsEntry, removesEntry } from './ibuf-record.js';

const SUMMARY_PAGES_MAX = 16_384;
const SUMMARY_KEYS_MAX = 262_144;

/** The bytes a buffered insert of an entry with `keyLength` bytes of key takes on its page (IB3). */
export function insertRoomBytes(keyLength: number): number {
  return ENTRY_HEADER_BYTES + keyLength + SLOT_BYTES;
}

/** An entry key as a map key (latin1: one char per byte, no decoding). */
export function entryKeyString(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

export class PageSummary {
  records = 0;
  insertBytes = 0;
  /** Keys surely present once the page's records are applied (their last operation inserts). */
  present: Set<string> | undefined;
  /** Keys a buffered removal takes. */
  removed: Set<string> | undefined;

  /** Folds one more record, in counter order, into the summary. */
  add(op: number, entryKey: Uint8Array): void {
    this.records++;
    if (addsEntry(op)) this.insertBytes += insertRoomBytes(entryKey.length);
    if (this.present === undefined) return;
    if (addsEntry(op)) this.present.add(entryKeyString(entryKey));
    else if (removesEntry(op)) {
      const key = entryKeyString(entryKey);
      this.present.delete(key);
      this.removed!.add(key);
    }
  }

  get keys(): number {
    return (this.present?.size ?? 0) + (this.removed?.size ?? 0);
  }
}

/** The summaries of the pages the change buffer holds records for, built on demand. */
export class PageSummaries {
  private readonly pages = new Map<number, PageSummary>();
  private keys = 0;
  /** Reads a page's records from the tree, in counter order. */
  private readonly recordsOf: (spaceId: number, pageNo: number) => Iterable<IbufRecord>;

  constructor(recordsOf: (spaceId: number, pageNo: number) => Iterable<IbufRecord>) {
    this.recordsOf = recordsOf;
  }

  /** The page's summary, with its key sets when `withKeys` (built from the tree when missing). */
  of(spaceId: number, pageNo: number, withKeys: boolean): PageSummary {
    const id = spaceId * 4294967296 + pageNo;
    let summary = this.pages.get(id);
    if (summary !== undefined && (!withKeys || summary.present !== undefined)) return summary;
    if (this.pages.size >= SUMMARY_PAGES_MAX || this.keys >= SUMMARY_KEYS_MAX) this.clear();
    if (summary !== undefined) this.keys -= summary.keys;
    summary = this.build(spaceId, pageNo, withKeys);
    this.keys += summary.keys;
    this.pages.set(id, summary);
    return summary;
  }

  /** A record for the page was inserted into the tree: its summary, if cached, follows (IB10). */
  noteBuffered(spaceId: number, pageNo: number, op: IbufOpValue, entryKey: Uint8Array): void {
    const summary = this.pages.get(spaceId * 4294967296 + pageNo);
    if (summary === undefined) return;
    const before = summary.keys;
    summary.add(op, entryKey);
    this.keys += summary.keys - before;
  }

  /** A record of the page left the tree: its summary is rebuilt when next needed. */
  forget(spaceId: number, pageNo: number): void {
    const id = spaceId * 4294967296 + pageNo;
    const summary = this.pages.get(id);
    if (summary === undefined) return;
    this.keys -= summary.keys;
    this.pages.delete(id);
  }

  clear(): void {
    this.pages.clear();
    this.keys = 0;
  }

  /** (Checks) every cached summary, with the summary a fresh read of the tree gives. */
  *cached(): Generator<{ spaceId: number; pageNo: number; summary: PageSummary; recount: PageSummary }> {
    for (const [id, summary] of this.pages) {
      const spaceId = Math.floor(id / 4294967296);
      const pageNo = id % 4294967296;
      yield { spaceId, pageNo, summary, recount: this.build(spaceId, pageNo, summary.present !== undefined) };
    }
  }

  private build(spaceId: number, pageNo: number, withKeys: boolean): PageSummary {
    const summary = new PageSummary();
    if (withKeys) {
      summary.present = new Set();
      summary.removed = new Set();
    }
    for (const record of this.recordsOf(spaceId, pageNo)) summary.add(record.op, record.entryKey);
    return summary;
  }
}
