/**
 * Cursors and range scans over a B-tree's leaves.
 *
 * InnoDB counterpart: `btr/btr0pcur.cc`, the persistent cursor: it stores its position
 * (btr_pcur_store_position, which copies the record's key) and restores it after the page may
 * have changed (btr_pcur_restore_position, which re-searches by that key unless the page's
 * modify clock shows it did not change).
 *
 * Here a cursor fixes a page only inside one call (CUR1 of btree.ts): between two calls it holds
 * the page number, the slot, a copy of the key, the page's LSN and the tree's epoch (bumped by
 * every change that moves entries). The next step is taken in place when the tree's epoch and
 * the page's LSN are unchanged and the frame still holds the page; otherwise the cursor re-seeks
 * by its key (strictly after it going forward, strictly before it going backward). So other
 * operations may run between two steps: a step never returns a key twice nor skips a key that
 * was there all along (CUR2).
 *
 *     unpositioned --first/last/seek--> on entry --next/prev--> on entry
 *                                          |                     |
 *                                          +--past either end--> off the end (valid = false)
 */
import { ClosedError, CorruptionError, InvalidArgumentError, NotFoundError } from '../errors.js';
import { FIL_NEXT, FIL_PAGE_LSN, FIL_PAGE_TYPE, FIL_PREV, NIL_PAGE, PageType, readU16, readU32 } from '../page/page.js';
import { spaceFileName } from '../page/tablespace.js';
import {
  ENTRY_DELETE_MARK,
  compareBytes,
  entryCount,
  fillEntryView,
  newEntryView,
  pageLevel,
  slotAt,
  type BTreeEntry,
  type EntryView,
} from './index-page.js';
import type { BTree } from './btree.js';

/** Where `seek` lands: the first key >= / > the given one, or the last key <= / <. */
export type SeekMode = 'ge' | 'gt' | 'le' | 'lt';

export class BTreeCursor {
  readonly tree: BTree;
  /**
   * The entry under the cursor, in place in its frame: valid after a positioning call until
   * the next engine operation. `key()`, `value()` and `entry()` are always safe.
   */
  readonly view: EntryView = newEntryView();
  /** True while the cursor is on an entry. */
  valid = false;

  private pageNo = NIL_PAGE;
  private slot = -1;
  private frame = -1;
  private epoch = -1;
  private lsnHigh = 0;
  private lsnLow = 0;
  private saved = new Uint8Array(64);
  private savedLength = 0;

  constructor(tree: BTree) {
    this.tree = tree;
  }

  /** Back to unpositioned, keeping the key buffer (a reused scan: `BTree.releaseScan`). */
  reset(): void {
    this.valid = false;
    this.pageNo = NIL_PAGE;
    this.slot = -1;
    this.frame = -1;
    this.epoch = -1;
    this.savedLength = 0;
  }

  /** Positions on the smallest key; false when the tree is empty. */
  first(): boolean {
    const frame = this.tree.fixLeaf(this.saved, 0, -1);
    return this.settle(frame, 0, 1);
  }

  /** Positions on the largest key; false when the tree is empty. */
  last(): boolean {
    const frame = this.tree.fixLeaf(this.saved, 0, 1);
    return this.settle(frame, entryCount(this.tree.storage.pool.frames[frame]!) - 1, -1);
  }

  /** Positions by `mode` relative to `key`; false when no key qualifies. */
  seek(key: Uint8Array, mode: SeekMode = 'ge'): boolean {
    return this.seekKey(key, key.length, mode);
  }

  /** Steps to the next key; false (and invalid) past the last one. */
  next(): boolean {
    return this.step(1);
  }

  /** Steps to the previous key; false (and invalid) before the first one. */
  prev(): boolean {
    return this.step(-1);
  }

  /** A copy of the key under the cursor. */
  key(): Uint8Array {
    this.checkValid();
    return this.saved.slice(0, this.savedLength);
  }

  /** A copy of the value under the cursor. */
  value(): Uint8Array {
    const view = this.current();
    return view.page.slice(view.valueOffset, view.valueOffset + view.valueLength);
  }

  get flags(): number {
    return this.current().flags;
  }

  get deleteMarked(): boolean {
    return (this.current().flags & ENTRY_DELETE_MARK) !== 0;
  }

  /** The entry under the cursor, copied. */
  entry(): BTreeEntry {
    const view = this.current();
    return {
      key: this.saved.slice(0, this.savedLength),
      value: view.page.slice(view.valueOffset, view.valueOffset + view.valueLength),
      flags: view.flags,
      deleteMarked: (view.flags & ENTRY_DELETE_MARK) !== 0,
    };
  }

  /** Compares the key under the cursor with `key[0, keyLength)` (memcmp order). */
  compareKey(key: Uint8Array, keyLength = key.length): number {
    this.checkValid();
    return compareBytes(this.saved, 0, this.savedLength, key, 0, keyLength);
  }

  // ---------------------------------------------------------------- internals

  private checkValid(): void {
    if (!this.valid)
      throw new InvalidArgumentError('the cursor is not on an entry (position it with first, last or seek)');
  }

  /** True when the remembered position still describes the page in its frame (CUR1). */
  private isCurrent(): boolean {
    const tree = this.tree;
    if (tree.storage.isClosed) throw new ClosedError('storage');
    const pool = tree.storage.pool;
    if (
      tree.state.epoch !== this.epoch ||
      pool.pageOf(this.frame) !== this.pageNo ||
      pool.spaceOf(this.frame) !== tree.spaceId
    )
      return false;
    const page = pool.frames[this.frame]!;
    return readU32(page, FIL_PAGE_LSN) === this.lsnHigh && readU32(page, FIL_PAGE_LSN + 4) === this.lsnLow;
  }

  /** The view of the entry under the cursor, re-found by key if the tree changed since. */
  private current(): EntryView {
    this.checkValid();
    if (this.isCurrent()) return this.view;
    const key = this.saved.slice(0, this.savedLength);
    if (this.seekKey(key, key.length, 'ge') && this.compareKey(key) === 0) return this.view;
    // Gone: keep the old key so that next/prev continue from where the cursor was.
    this.saved.set(key);
    this.savedLength = key.length;
    this.valid = true;
    this.epoch = -1;
    throw new NotFoundError(
      Buffer.from(key).toString('hex'),
      'the B-tree entry under the cursor (removed since the cursor reached it)',
    );
  }

  private step(direction: 1 | -1): boolean {
    if (!this.valid) return false;
    if (!this.isCurrent()) return this.seekKey(this.saved, this.savedLength, direction > 0 ? 'gt' : 'lt');
    const pool = this.tree.storage.pool;
    const slot = this.slot + direction;
    const page = pool.frames[this.frame]!;
    if (slot >= 0 && slot < entryCount(page)) {
      // Same page, unchanged (isCurrent): read it in place; nothing runs in between, so no fix.
      // Its number, LSN and the tree's epoch are the ones remembered: only the slot moves.
      this.slot = slot;
      this.rememberEntry(page, slot);
      return true;
    }
    return this.settle(pool.fix(this.tree.spaceId, this.pageNo), slot, direction);
  }

  private seekKey(key: Uint8Array, keyLength: number, mode: SeekMode): boolean {
    const result = this.tree.searchToLeaf(key, keyLength);
    const frame = this.tree.leafFrame;
    const lowerBound = result >>> 1;
    const found = result & 1;
    switch (mode) {
      case 'ge':
        return this.settle(frame, lowerBound, 1);
      case 'gt':
        return this.settle(frame, lowerBound + found, 1);
      case 'le':
        return this.settle(frame, found === 1 ? lowerBound : lowerBound - 1, -1);
      case 'lt':
        return this.settle(frame, lowerBound - 1, -1);
      default:
        this.tree.storage.pool.unfix(frame);
        throw new InvalidArgumentError(`seek mode must be 'ge', 'gt', 'le' or 'lt', got ${String(mode)}`);
    }
  }

  /**
   * Positions on `slot` of the fixed leaf `frame`, or, when the slot is off the page, on the
   * nearest entry in `direction` along the sibling links. Unfixes every page it fixed.
   */
  private settle(frame: number, slot: number, direction: 1 | -1): boolean {
    const tree = this.tree;
    const pool = tree.storage.pool;
    for (;;) {
      const page = pool.frames[frame]!;
      const n = entryCount(page);
      if (slot >= 0 && slot < n) {
        this.remember(frame, page, slot);
        pool.unfix(frame);
        return true;
      }
      const siblingNo = readU32(page, direction > 0 ? FIL_NEXT : FIL_PREV);
      pool.unfix(frame);
      if (siblingNo === NIL_PAGE) {
        this.valid = false;
        return false;
      }
      frame = pool.fix(tree.spaceId, siblingNo);
      const sibling = pool.frames[frame]!;
      if (readU16(sibling, FIL_PAGE_TYPE) !== PageType.Index || pageLevel(sibling) !== 0) {
        pool.unfix(frame);
        throw new CorruptionError(
          spaceFileName(tree.spaceId),
          siblingNo,
          'BT5 a leaf sibling link names a page that is not a leaf',
        );
      }
      slot = direction > 0 ? 0 : entryCount(sibling) - 1;
    }
  }

  private remember(frame: number, page: Uint8Array, slot: number): void {
    const pool = this.tree.storage.pool;
    this.valid = true;
    this.frame = frame;
    this.pageNo = pool.pageOf(frame);
    this.slot = slot;
    this.epoch = this.tree.state.epoch;
    this.lsnHigh = readU32(page, FIL_PAGE_LSN);
    this.lsnLow = readU32(page, FIL_PAGE_LSN + 4);
    this.rememberEntry(page, slot);
  }

  /** Fills the view with the entry in `slot` of `page` and saves a copy of its key. */
  private rememberEntry(page: Uint8Array, slot: number): void {
    const view = this.view;
    fillEntryView(view, page, slotAt(page, slot));
    const keyLength = view.keyLength;
    if (keyLength > this.saved.length) this.saved = new Uint8Array(Math.max(keyLength, this.saved.length * 2));
    const saved = this.saved;
    const keyOffset = view.keyOffset;
    for (let i = 0; i < keyLength; i++) saved[i] = page[keyOffset + i]!;
    this.savedLength = keyLength;
  }
}

function checkBound(bound: Uint8Array | undefined): void {
  if (bound !== undefined && !(bound instanceof Uint8Array))
    throw new InvalidArgumentError('scan bounds must be Uint8Arrays');
}

/** Bounds of a range scan: at most one lower (`gt`/`gte`) and one upper (`lt`/`lte`) bound. */
export interface ScanRange {
  readonly gt?: Uint8Array;
  readonly gte?: Uint8Array;
  readonly lt?: Uint8Array;
  readonly lte?: Uint8Array;
  /** Largest key first. */
  readonly reverse?: boolean;
  /** At most this many entries (a non-negative integer). */
  readonly limit?: number;
}

/**
 * A lazy range scan: each `next()` takes one cursor step and copies the entry out. `step()`
 * advances without copying, leaving the entry in `cursor.view` (the zero-copy path for the
 * layers above). Holds no page between steps (CUR1), so nothing needs closing; `return()` (a
 * `break` out of `for...of`) just ends it.
 */
export class ScanIterator implements IterableIterator<BTreeEntry> {
  readonly cursor: BTreeCursor;
  // Set by `reset`: a scan given back with `BTree.releaseScan` is reused for another range.
  private lower: Uint8Array | undefined = undefined;
  private lowerInclusive = true;
  private upper: Uint8Array | undefined = undefined;
  private upperInclusive = true;
  private reverse = false;
  private limit = Infinity;
  private started = false;
  private finished = false;
  private count = 0;

  constructor(tree: BTree, range: ScanRange) {
    this.cursor = new BTreeCursor(tree);
    this.reset(range);
  }

  /** Starts over on `range`, unpositioned. */
  reset(range: ScanRange): void {
    if (range.gt !== undefined && range.gte !== undefined)
      throw new InvalidArgumentError('a scan takes at most one of gt and gte');
    if (range.lt !== undefined && range.lte !== undefined)
      throw new InvalidArgumentError('a scan takes at most one of lt and lte');
    checkBound(range.gt);
    checkBound(range.gte);
    checkBound(range.lt);
    checkBound(range.lte);
    const limit = range.limit ?? Infinity;
    if (limit !== Infinity && (!Number.isInteger(limit) || limit < 0)) {
      throw new InvalidArgumentError(`scan limit must be a non-negative integer, got ${String(limit)}`);
    }
    this.lower = range.gt ?? range.gte;
    this.lowerInclusive = range.gt === undefined;
    this.upper = range.lt ?? range.lte;
    this.upperInclusive = range.lt === undefined;
    this.reverse = range.reverse === true;
    this.limit = limit;
    this.started = false;
    this.finished = false;
    this.count = 0;
    this.cursor.reset();
  }

  /** Advances to the next entry in range; true while there is one (in `cursor`). */
  step(): boolean {
    if (this.finished) return false;
    if (this.count >= this.limit) return this.finish();
    const cursor = this.cursor;
    let positioned: boolean;
    if (this.started) {
      positioned = this.reverse ? cursor.prev() : cursor.next();
    } else {
      this.started = true;
      positioned = this.start();
    }
    if (!positioned || !this.inRange()) return this.finish();
    this.count++;
    return true;
  }

  next(): IteratorResult<BTreeEntry, undefined> {
    return this.step() ? { done: false, value: this.cursor.entry() } : { done: true, value: undefined };
  }

  return(): IteratorResult<BTreeEntry, undefined> {
    this.finished = true;
    return { done: true, value: undefined };
  }

  [Symbol.iterator](): this {
    return this;
  }

  private start(): boolean {
    const cursor = this.cursor;
    if (this.reverse) {
      if (this.upper === undefined) return cursor.last();
      return cursor.seek(this.upper, this.upperInclusive ? 'le' : 'lt');
    }
    if (this.lower === undefined) return cursor.first();
    return cursor.seek(this.lower, this.lowerInclusive ? 'ge' : 'gt');
  }

  /** The bound on the far side of the direction of travel (the near one was applied by the seek). */
  private inRange(): boolean {
    if (this.reverse) {
      if (this.lower === undefined) return true;
      const c = this.cursor.compareKey(this.lower);
      return this.lowerInclusive ? c >= 0 : c > 0;
    }
    if (this.upper === undefined) return true;
    const c = this.cursor.compareKey(this.upper);
    return this.upperInclusive ? c <= 0 : c < 0;
  }

  private finish(): boolean {
    this.finished = true;
    return false;
  }
}
