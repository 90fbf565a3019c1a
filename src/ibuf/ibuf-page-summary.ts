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
 * Memory is bounded: past SUMMARY_PAGES_MAX pages, or once its estimated size (`memoryBytes`:
 * SUMMARY_BYTES per page, KEY_ENTRY_BYTES and the key's own bytes per key) reaches
 * SUMMARY_MEMORY_MAX, the whole cache is dropped and rebuilt on demand, which costs one scan per
 * page again. The estimate is the engine's memory account of the cache (docs/architecture.md,
 * "Memory"); it counts bytes, not keys, because an entry key may be anything up to the key limit.
 */
import { ENTRY_HEADER_BYTES, SLOT_BYTES } from '../btree/index-page.js';
import { type IbufOpValue, type IbufRecord, addsEntry, removesEntry } from './ibuf-record.js';

const SUMMARY_PAGES_MAX = 16_384;
/** The most the cache may hold, by `memoryBytes`, before it is dropped. */
export const SUMMARY_MEMORY_MAX = 8 * 1024 * 1024;
/**
 * V8's cost of one summary beside its keys, estimated from heap snapshots: the object, its entry
 * in the page map and, once built, its two empty sets.
 */
const SUMMARY_BYTES = 256;
/** V8's cost of one key in a set beside its characters: the set entry and the string's header. */
const KEY_ENTRY_BYTES = 56;

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
  /** The characters of the keys in `present` and `removed` (one per byte of entry key). */
  keyChars = 0;

  /** Folds one more record, in counter order, into the summary. */
  add(op: number, entryKey: Uint8Array): void {
    this.records++;
    if (addsEntry(op)) this.insertBytes += insertRoomBytes(entryKey.length);
    const present = this.present;
    if (present === undefined) return;
    const removed = this.removed!;
    const keys = present.size + removed.size;
    if (addsEntry(op)) present.add(entryKeyString(entryKey));
    else if (removesEntry(op)) {
      const key = entryKeyString(entryKey);
      present.delete(key);
      removed.add(key);
    }
    this.keyChars += (present.size + removed.size - keys) * entryKey.length;
  }

  get keys(): number {
    return (this.present?.size ?? 0) + (this.removed?.size ?? 0);
  }

  /** The estimate of the module doc. */
  get memoryBytes(): number {
    return SUMMARY_BYTES + this.keys * KEY_ENTRY_BYTES + this.keyChars;
  }
}

/** The summaries of the pages the change buffer holds records for, built on demand. */
export class PageSummaries {
  private readonly pages = new Map<number, PageSummary>();
  /** The sum of the cached summaries' `memoryBytes`. */
  private bytes = 0;
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
    if (this.pages.size >= SUMMARY_PAGES_MAX || this.bytes >= SUMMARY_MEMORY_MAX) this.clear();
    else if (summary !== undefined) this.bytes -= summary.memoryBytes;
    summary = this.build(spaceId, pageNo, withKeys);
    this.bytes += summary.memoryBytes;
    this.pages.set(id, summary);
    return summary;
  }

  /**
   * The cache's estimated size (the engine's memory account). Below SUMMARY_MEMORY_MAX plus one
   * page's summary: a summary built past the cap clears the cache first.
   */
  memoryBytes(): number {
    return this.bytes;
  }

  /** A record for the page was inserted into the tree: its summary, if cached, follows (IB10). */
  noteBuffered(spaceId: number, pageNo: number, op: IbufOpValue, entryKey: Uint8Array): void {
    const summary = this.pages.get(spaceId * 4294967296 + pageNo);
    if (summary === undefined) return;
    const before = summary.memoryBytes;
    summary.add(op, entryKey);
    this.bytes += summary.memoryBytes - before;
  }

  /** A record of the page left the tree: its summary is rebuilt when next needed. */
  forget(spaceId: number, pageNo: number): void {
    const id = spaceId * 4294967296 + pageNo;
    const summary = this.pages.get(id);
    if (summary === undefined) return;
    this.bytes -= summary.memoryBytes;
    this.pages.delete(id);
  }

  clear(): void {
    this.pages.clear();
    this.bytes = 0;
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
