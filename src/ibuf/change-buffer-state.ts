/**
 * The change buffer's shared state: its tree, header, bitmaps and counters, and the reads and
 * removals of records every part of it uses. The parts are layered as subclasses, one concept
 * per file: this state, the status and checks (change-buffer-checks.ts), the background sweep
 * (change-buffer-sweep.ts), then buffering and the merge on read (change-buffer.ts, whose module
 * doc describes the whole design and numbers the invariants IB1-IB10).
 *
 * InnoDB counterpart: `ibuf/ibuf0ibuf.cc` (the ibuf struct and the innodb_change_buffering and
 * innodb_change_buffer_max_size settings, ibuf_delete_rec). Held here:
 *  IB1. A page left without records outside a merge loses its BUFFERED bit in the same mtr
 *       (`clearBufferedIfDone`).
 *  IB2. A record removed is in the tree, and goes in the mtr the caller names (`removeRecord`).
 *  IB8. `busy` is set while the change buffer changes its own structures (`inOwnMtr`).
 *  IB10. A removal forgets its page's summary (recounted at next use).
 */
import { assert } from '../util/assert.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import type { BTree } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import { pageCapacity } from '../btree/index-page.js';
import type { Dictionary } from '../dict/dictionary.js';
import { BITMAP_BUFFERED, IbufBitmaps } from './ibuf-bitmap.js';
import type { IbufHeader } from './ibuf-header.js';
import { PageSummaries } from './ibuf-page-summary.js';
import {
  IBUF_OP_NAMES,
  IBUF_VALUE_HEADER_BYTES,
  type IbufOpName,
  type IbufOpValue,
  type IbufRecord,
  ibufKeyPage,
  ibufKeySpace,
  ibufPagePrefix,
  ibufRecordBytes,
  ibufValueIndexId,
  ibufValueOp,
} from './ibuf-record.js';

/** What `changeBuffering` may be: InnoDB's innodb_change_buffering values we support. */
export const CHANGE_BUFFERING_MODES = ['all', 'inserts', 'none'] as const;
export type ChangeBuffering = (typeof CHANGE_BUFFERING_MODES)[number];
/** The default, as MySQL 8.4's: off, until a measurement says otherwise (see "The default"). */
export const CHANGE_BUFFERING_DEFAULT: ChangeBuffering = 'none';

/** InnoDB's innodb_change_buffer_max_size default: the buffer may take 25% of the pool. */
export const CHANGE_BUFFER_POOL_SHARE = 0.25;
/** The change buffer tree's index id (the dictionary keeps ids below 16 for itself). */
export const IBUF_TREE_INDEX_ID = 2;

/** Test-only seams (through `openDatabaseWithTestSeams`): each breaks one rule on purpose. */
export interface ChangeBufferSeams {
  /**
   * Seed 004's bug: a merge applies the operations in one mtr and removes the records (and clears
   * BUFFERED) in a second one, run at the next background step, as the bug's second mtr ran after
   * the page latch was released (IBUF-SAME-MTR broken).
   */
  readonly mergeInTwoMtrs?: boolean;
}

export interface ChangeBufferOptions {
  readonly mode: ChangeBuffering;
  /** The cap on the records' bytes (default: 25% of the buffer pool). */
  readonly maxBytes?: number;
  /**
   * Whether row locks let operation `op` on entry `key` of index `indexId` skip the page (an
   * insert or a removal moves the gap locks around its entry: those need the page).
   */
  readonly admits?: (indexId: number, key: Uint8Array, op: IbufOpValue) => boolean;
  readonly seams?: ChangeBufferSeams;
}

export type OpCounts = Record<IbufOpName, number>;

export interface ChangeBufferStatus {
  readonly mode: ChangeBuffering;
  /** The cap: buffering stops when the records would take more bytes. */
  readonly maxBytes: number;
  /** Bytes the records take. */
  readonly sizeBytes: number;
  /** Pages with buffered operations. */
  readonly pages: number;
  /** Records in the change buffer, by operation. */
  readonly records: OpCounts;
  /** Since open: operations buffered, pages merged, operations applied and discarded by merges. */
  readonly buffered: OpCounts;
  readonly merges: number;
  readonly merged: OpCounts;
  readonly discarded: OpCounts;
  /**
   * Since open: changes that went to the page because the buffer was full, the page had no room
   * (or too many records), too few entries would surely remain, or row locks need the page.
   */
  readonly refused: { readonly full: number; readonly room: number; readonly records: number; readonly locks: number };
  /** Since open: pages of secondary indexes read from disk, and of those the leaves (what buffering saves). */
  readonly secondaryPageReads: number;
  readonly secondaryLeafReads: number;
  /** Since open: bitmap entries written (BUFFERED bits and the upkeep of free-space classes). */
  readonly bitmapWrites: number;
}

/** What one background step did. */
export interface ChangeBufferStepResult {
  /** Pages merged by reading them, records discarded (dropped tables and indexes). */
  readonly merged: number;
  readonly discarded: number;
}

export interface IndexInfo {
  readonly indexId: number;
  readonly spaceId: number;
  readonly rootPageNo: number;
  readonly unique: boolean;
}

export interface PageRef {
  readonly spaceId: number;
  readonly pageNo: number;
}

export function zeroCounts(): OpCounts {
  return Object.fromEntries(IBUF_OP_NAMES.map((name) => [name, 0])) as OpCounts;
}

/** The fields every part of the change buffer shares, and its reads and removals of records. */
export class ChangeBufferState {
  readonly mode: ChangeBuffering;
  readonly maxBytes: number;
  protected readonly storage: Storage;
  protected readonly dictionary: Dictionary;
  protected readonly ibufTree: BTree;
  protected readonly header: IbufHeader;
  protected readonly bitmaps: IbufBitmaps;
  protected readonly admits: ChangeBufferOptions['admits'];
  protected readonly mergeInTwoMtrs: boolean;
  /** The most a page's buffered inserts may take (half a page), and its records: bound a merge. */
  protected readonly pageInsertBytesMax: number;
  protected readonly pageRecordsMax: number;
  protected indexes = new Map<number, IndexInfo>();
  protected indexesVersion = -1;
  /** IB8: set while the change buffer changes its own structures. */
  protected busy = false;
  /** What is buffered for each page, summed (IB3, IB4 without a scan; IB10). */
  protected readonly summaries = new PageSummaries((spaceId, pageNo) => this.recordsOf(spaceId, pageNo));

  /** The page summaries' estimated memory (ibuf-page-summary.ts; the engine's memory account). */
  summaryMemoryBytes(): number {
    return this.summaries.memoryBytes();
  }

  protected readonly stats = {
    buffered: zeroCounts(),
    merges: 0,
    merged: zeroCounts(),
    discarded: zeroCounts(),
    refused: { full: 0, room: 0, records: 0, locks: 0 },
    secondaryPageReads: 0,
    secondaryLeafReads: 0,
  };

  protected constructor(
    storage: Storage,
    dictionary: Dictionary,
    tree: BTree,
    header: IbufHeader,
    options: ChangeBufferOptions,
  ) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.ibufTree = tree;
    this.header = header;
    this.bitmaps = new IbufBitmaps(storage);
    this.mode = options.mode;
    this.maxBytes =
      options.maxBytes ?? Math.floor(storage.pool.frameCount * storage.pageSize * CHANGE_BUFFER_POOL_SHARE);
    this.admits = options.admits;
    this.mergeInTwoMtrs = options.seams?.mergeInTwoMtrs === true;
    const capacity = pageCapacity(storage.pageSize);
    this.pageInsertBytesMax = Math.floor(capacity / 2);
    this.pageRecordsMax = Math.max(16, Math.floor(capacity / 64));
  }

  /** Removes a record and takes it off the counts (the caller writes the header in the same mtr). */
  protected removeRecord(mtr: MiniTransaction, record: IbufRecord): void {
    this.summaries.forget(ibufKeySpace(record.key), ibufKeyPage(record.key)); // IB10
    assert(this.ibufTree.delete(mtr, record.key), 'IB2 a record being merged or discarded is in the change buffer');
    this.header.records[record.op]!--;
    this.header.bytes -= ibufRecordBytes(record.entryKey.length);
  }

  /** The record under `cursor`, copied out. */
  protected recordAt(cursor: BTreeCursor): IbufRecord {
    const view = cursor.view;
    const value = view.page;
    const at = view.valueOffset;
    return {
      key: cursor.key(),
      op: ibufValueOp(value, at),
      indexId: ibufValueIndexId(value, at),
      entryKey: value.slice(at + IBUF_VALUE_HEADER_BYTES, at + view.valueLength),
    };
  }

  /**
   * IB1 after records of some pages were removed outside a merge: each of those pages left without
   * records loses its BUFFERED bit in `mtr` (if its space lives); then the header is written.
   */
  protected clearBufferedIfDone(mtr: MiniTransaction, pages: readonly PageRef[]): void {
    for (const { spaceId, pageNo } of pages) {
      if (this.hasRecords(spaceId, pageNo)) continue;
      this.header.pages--;
      if (this.storage.spaces.exists(spaceId))
        this.bitmaps.write(mtr, spaceId, pageNo, this.bitmaps.read(spaceId, pageNo) & ~BITMAP_BUFFERED);
    }
    this.header.write(mtr);
  }

  /** Runs `fn` as the change buffer's own work in a new mtr (no mtr may be active). */
  protected inOwnMtr(fn: (mtr: MiniTransaction) => void): void {
    const mtr = this.storage.startMtr();
    this.busy = true;
    try {
      fn(mtr);
    } catch (error) {
      if (mtr.redoBytes === 0) mtr.abort();
      throw error;
    } finally {
      this.busy = false;
    }
    mtr.commit();
  }

  // ------------------------------------------------------------------ reading the tree

  /** The records of page (space, page), in counter order. */
  protected *recordsOf(spaceId: number, pageNo: number): Generator<IbufRecord> {
    for (const record of this.scanFrom(ibufPagePrefix(spaceId, pageNo))) {
      if (ibufKeySpace(record.key) !== spaceId || ibufKeyPage(record.key) !== pageNo) return;
      yield record;
    }
  }

  protected hasRecords(spaceId: number, pageNo: number): boolean {
    for (const _ of this.recordsOf(spaceId, pageNo)) return true;
    return false;
  }

  /** Every record from `from` on (the first key >= it), copied out. */
  protected *scanFrom(from: Uint8Array | undefined): Generator<IbufRecord> {
    const cursor = this.ibufTree.cursor();
    for (let on = from === undefined ? cursor.first() : cursor.seek(from, 'ge'); on; on = cursor.next())
      yield this.recordAt(cursor);
  }

  // ------------------------------------------------------------------ the dictionary's indexes

  /** A live secondary index by id (the dictionary's 'ready' and 'building' ones), or undefined. */
  protected indexInfo(indexId: number): IndexInfo | undefined {
    if (this.indexesVersion !== this.dictionary.version) {
      const indexes = new Map<number, IndexInfo>();
      for (const table of this.dictionary.tables()) {
        for (const index of table.indexes) {
          indexes.set(index.id, {
            indexId: index.id,
            spaceId: table.spaceId,
            rootPageNo: index.rootPageNo,
            unique: index.unique,
          });
        }
      }
      this.indexes = indexes;
      this.indexesVersion = this.dictionary.version;
    }
    return this.indexes.get(indexId);
  }
}
