/**
 * The B+tree of opaque byte keys and values, on index pages (index-page.ts).
 *
 * InnoDB counterpart: `btr/btr0cur.cc` (search to a leaf, optimistic and pessimistic insert,
 * update, delete): this file, the tree's object, its descents and its entry points. The page
 * operations of `btr/btr0btr.cc` have their own files: page split and root raise in
 * btree-split.ts, merge, redistribution, discard and lift in btree-merge.ts, free in
 * btree-drop.ts; cursors and scans (`btr/btr0pcur.cc`) in btree-cursor.ts, the checker
 * (`btr_validate_index`) in btree-check.ts.
 *
 * Keys compare as bytes (memcmp, shorter prefix first): the layer above encodes typed keys so that
 * this order is theirs. Every entry carries a flags byte whose bit 0 is the delete mark; the tree
 * never hides delete-marked entries: the transaction layer decides what is visible, and purge
 * removes them with `delete`.
 *
 * ## Shape
 *
 *                          root (level 2, page number fixed for life: R1)
 *                 [-inf | "k"  | "t"]                    internal entry = (separator, child page)
 *                  /        |       \
 *      [-inf | "d"]    ["k" | "p"]   ["t" | "x"]         level 1
 *       /      |         /     \       /      \
 *    leaf <-> leaf <-> leaf <-> leaf <-> leaf <-> leaf   level 0, siblings linked at every level
 *
 * A separator is a lower bound: child i holds the keys in [separator i, separator i+1). The key
 * of an internal page's first entry is never compared (IP5), so removing or replacing a page's
 * leftmost child never rewrites a key. Leaf splits push up the shortest key between the two
 * halves (suffix truncation); internal splits push up the right half's first key.
 *
 * ## Operations and their mini-transactions
 * Writes take the caller's `MiniTransaction`, so several changes (a row and its secondary-index
 * entries, say) commit as one atomic group; `insertOne` and friends run one change in its own
 * mtr. An mtr cannot be rolled back (mtr.ts), so every check that can refuse an operation (sizes,
 * duplicate key, a missing key) runs before its first write.
 *  - insert: search to the leaf; if the entry does not fit, split (at the insert point when the
 *    page's last insert was its neighbour, InnoDB's PAGE_LAST_INSERT heuristic, so sequential
 *    loads fill pages; by bytes in the middle otherwise), and insert the separator into the parent,
 *    splitting upwards. A full root is raised: its content moves to a new child and the root
 *    becomes its parent (R1). (btree-split.ts)
 *  - delete: remove the entry; a page below a quarter full merges with a sibling under the same
 *    parent when both fit in one page, else the two share their entries evenly (when the new
 *    separator fits the parent); a merge removes a parent entry and may cascade. An empty page
 *    is unlinked and freed (InnoDB btr_discard_page). A root left with one child takes over the
 *    child's content (InnoDB btr_lift_page_up). (btree-merge.ts)
 *  - update: the new value in place when it is not longer; otherwise delete and insert in the
 *    same mtr (the insert may split).
 *  - reads (`find`, `get`, cursors) use no mtr: they fix and unfix pages through the buffer pool
 *    and compare keys in place in the frames.
 *
 * ## Invariants (BTn; checked by `checkTree`, btree-check.ts)
 *  R1.  The root page number never changes: raise and collapse copy content, never move the root.
 *  BT1. Every page of the tree is an index page of this space with the root's INDEX_ID.
 *  BT2. Levels: the root has the highest, a child is one below its parent, leaves are level 0.
 *  BT3. Keys are in strictly ascending order within a page (internal pages from slot 1).
 *  BT4. Every key of a subtree lies in [its separator, the next separator) of every ancestor.
 *  BT5. Each level is a doubly linked list (FIL_PREV / FIL_NEXT) in key order, NIL at both ends.
 *  BT6. No page LSN is above the log's current LSN.
 *  BT7. Free-space accounting of every page matches its entries (IP1 to IP3 of index-page.ts).
 *  BT8. Every non-root page holds an entry; an internal root holds at least two.
 *  BT9. Entries are well formed: only known flag bits, internal values are 4-byte page numbers,
 *       sizes within the limits (`btreeLimits`).
 *  CUR1. A cursor never holds a page fixed between calls; it remembers its key and re-seeks
 *       when the tree changed (btree-cursor.ts).
 *  CUR2. A step never returns a key twice nor skips a key present from the scan's start to its
 *       end, whatever ran between two steps.
 */
import { ClosedError, CorruptionError, EntryTooLargeError, InvalidArgumentError, KeyTooLargeError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { FIL_NEXT, FIL_PAGE_TYPE, FIL_PREV, NIL_PAGE, PageType, readU16, readU32 } from '../page/page.js';
import { allocatePage } from '../page/space-allocator.js';
import { spaceFileName } from '../page/tablespace.js';
import { assert, debugChecks } from '../util/assert.js';
import { adaptiveHashOf, type AdaptiveHashIndex, type HashTagHolder } from './adaptive-hash.js';
import {
  ENTRY_DELETE_MARK,
  ENTRY_FLAGS,
  ENTRY_FLAGS_KNOWN,
  EntrySource,
  PAGE_INDEX_ID,
  btreeLimits,
  childAt,
  entryCount,
  entryValueLength,
  entryValueOffset,
  initIndexPage,
  pageCapacity,
  pageLevel,
  removeEntryAt,
  searchInternal,
  searchLeaf,
  shrinkValueInPlace,
  slotAt,
  usedBytes,
  fillEntryView,
  newEntryView,
  type BTreeEntry,
  type BTreeLimits,
  type EntryView,
} from './index-page.js';
import { BTreeCursor, ScanIterator, type ScanRange } from './btree-cursor.js';
import { checkTree, type TreeCheckResult } from './btree-check.js';
import { dropStep } from './btree-drop.js';
import { rebalance } from './btree-merge.js';
import { insertAtDepth } from './btree-split.js';

export { btreeLimits, newEntryView, type BTreeEntry, type BTreeLimits, type EntryView } from './index-page.js';

/** Which leaf a read descends to: by key (0), or the leftmost (-1) / rightmost (1) one. */
export type Edge = -1 | 0 | 1;

/** State shared by every `BTree` object of one tree in one storage (cursors watch `epoch`). */
export interface TreeState extends HashTagHolder {
  /** Bumped by every change that moves entries or frees pages (CUR1). */
  epoch: number;
  dropped: boolean;
}

const MAX_INDEX_ID = Number.MAX_SAFE_INTEGER;

const treeStates = new WeakMap<Storage, Map<number, TreeState>>();

/**
 * The state of the tree rooted at (spaceId, rootPageNo). `fresh` starts a new one: a tree just
 * created there (its root page may have belonged to a dropped tree, whose objects keep the old
 * state and stay dropped).
 */
function treeState(storage: Storage, spaceId: number, rootPageNo: number, fresh: boolean): TreeState {
  let trees = treeStates.get(storage);
  if (trees === undefined) treeStates.set(storage, (trees = new Map()));
  const key = spaceId * 4294967296 + rootPageNo;
  let state = trees.get(key);
  if (state === undefined || fresh)
    trees.set(key, (state = { epoch: 0, dropped: false, hashTag: 0, hashGeneration: -1 }));
  return state;
}

/**
 * Marks the tree rooted at (spaceId, rootPageNo) changed, so its cursors re-seek (CUR1): for a
 * layer that changes a leaf in place without the tree's methods (the change buffer's merge).
 */
export function noteTreeChanged(storage: Storage, spaceId: number, rootPageNo: number): void {
  treeState(storage, spaceId, rootPageNo, false).epoch++;
}

export class BTree {
  readonly storage: Storage;
  readonly spaceId: number;
  readonly rootPageNo: number;
  readonly indexId: number;
  readonly limits: BTreeLimits;
  /** The view `find` fills by default. */
  readonly view: EntryView = newEntryView();
  /** @internal shared with cursors */
  readonly state: TreeState;
  /** @internal Bytes a page holds for entries and slots (btree-split.ts, btree-merge.ts). */
  readonly capacity: number;
  /** @internal A page with fewer used bytes than this after a delete is merged or refilled. */
  readonly mergeBelowBytes: number;
  private readonly fileName: string;

  // The write path from the root (depth 0) down: pages, their numbers, and the slot each one
  // has in its parent. Reused by every write (no allocation per operation); a split or merge
  // (btree-split.ts, btree-merge.ts) works on it.
  /** @internal */
  readonly pathPages: Uint8Array[] = [];
  /** @internal */
  readonly pathNos: number[] = [];
  /** @internal */
  readonly pathSlots: number[] = [];
  private readonly leafSource = new EntrySource();
  /** @internal The storage's adaptive hash index, undefined when it is off. */
  readonly adaptiveHash: AdaptiveHashIndex | undefined;
  /** @internal The leaf frame `searchToLeaf` left fixed. */
  leafFrame = -1;
  /** @internal The entry offset of the slot `searchToLeaf` answered, when it came from the hash; else -1. */
  leafEntry = -1;
  /** A scan given back by `releaseScan`, handed out again by `scan`. */
  private spareScan: ScanIterator | undefined = undefined;

  private constructor(storage: Storage, spaceId: number, rootPageNo: number, indexId: number, created: boolean) {
    this.storage = storage;
    this.spaceId = spaceId;
    this.rootPageNo = rootPageNo;
    this.indexId = indexId;
    this.limits = btreeLimits(storage.pageSize);
    this.capacity = pageCapacity(storage.pageSize);
    this.mergeBelowBytes = Math.floor(this.capacity / 4);
    this.fileName = spaceFileName(spaceId);
    this.state = treeState(storage, spaceId, rootPageNo, created);
    this.adaptiveHash = adaptiveHashOf(storage);
  }

  /**
   * Creates an empty tree in `spaceId`: allocates its root, which keeps its page number for life
   * (store it in the dictionary). Runs in `mtr` when given, else in its own.
   */
  static create(storage: Storage, spaceId: number, indexId: number, mtr?: MiniTransaction): BTree {
    if (!Number.isInteger(indexId) || indexId < 0 || indexId > MAX_INDEX_ID) {
      throw new InvalidArgumentError(`index id must be an integer from 0 to ${MAX_INDEX_ID}, got ${String(indexId)}`);
    }
    const create = (m: MiniTransaction): BTree => {
      const { pageNo, page } = allocatePage(m, spaceId, PageType.Index);
      initIndexPage(m, page, 0, indexId);
      return new BTree(storage, spaceId, pageNo, indexId, true);
    };
    return mtr === undefined ? runInMtr(storage, create) : create(mtr);
  }

  /** Opens the tree whose root is `rootPageNo`, checking that it is an index root. */
  static open(storage: Storage, spaceId: number, rootPageNo: number): BTree {
    if (storage.isClosed) throw new ClosedError('storage');
    const pool = storage.pool;
    const frame = pool.fix(spaceId, rootPageNo);
    const page = pool.frames[frame]!;
    const type = readU16(page, FIL_PAGE_TYPE);
    const isRoot = readU32(page, FIL_PREV) === NIL_PAGE && readU32(page, FIL_NEXT) === NIL_PAGE;
    const indexId = readU32(page, PAGE_INDEX_ID) * 4294967296 + readU32(page, PAGE_INDEX_ID + 4);
    pool.unfix(frame);
    if (type !== PageType.Index || !isRoot) {
      throw new CorruptionError(
        spaceFileName(spaceId),
        rootPageNo,
        `BT1 page ${rootPageNo} is not a B-tree root (type ${type})`,
      );
    }
    return new BTree(storage, spaceId, rootPageNo, indexId, false);
  }

  // ---------------------------------------------------------------- reads (no mtr)

  /**
   * Descends to the leaf that holds `key[0, keyLength)` (or the first or last leaf) and returns
   * its frame, fixed: the caller unfixes it. The hot path of every read.
   */
  fixLeaf(key: Uint8Array, keyLength: number, edge: Edge): number {
    this.checkReadable();
    return this.descendToLeaf(key, keyLength, edge);
  }

  /** `fixLeaf` without the readable check. */
  private descendToLeaf(key: Uint8Array, keyLength: number, edge: Edge): number {
    const pool = this.storage.pool;
    const frames = pool.frames;
    let pageNo = this.rootPageNo;
    let expectedLevel = -1;
    for (;;) {
      const frame = this.fixNode(pageNo, expectedLevel);
      const page = frames[frame]!;
      const level = pageLevel(page);
      if (level === 0) return frame;
      const slot = edge === 0 ? searchInternal(page, key, keyLength) : edge < 0 ? 0 : entryCount(page) - 1;
      pageNo = childAt(page, slot);
      expectedLevel = level - 1;
      pool.unfix(frame);
    }
  }

  /**
   * Finds where `key[0, keyLength)` is or would be in its leaf: returns `searchLeaf`'s answer
   * (slot * 2 + found) and leaves the leaf's frame fixed in `leafFrame` (the caller unfixes it).
   * Through the adaptive hash index when it holds a valid position (adaptive-hash.ts, AHI1 to
   * AHI4), else by a descent, whose answer it then remembers. The hot path of every point read.
   */
  searchToLeaf(key: Uint8Array, keyLength: number): number {
    this.checkReadable();
    const hash = this.adaptiveHash;
    const pool = this.storage.pool;
    if (hash === undefined || this.storage.activeMtr !== undefined) {
      // AHI1: inside an mtr the pages may be halfway through a change; descend.
      const frame = this.descendToLeaf(key, keyLength, 0);
      this.leafFrame = frame;
      this.leafEntry = -1;
      return searchLeaf(pool.frames[frame]!, key, keyLength);
    }
    const guess = hash.lookup(pool, hash.tagOf(this.state), key, keyLength);
    if (guess >= 0) {
      this.leafFrame = hash.frame;
      this.leafEntry = hash.entry;
      if (debugChecks()) this.checkGuess(key, keyLength, guess);
      return guess;
    }
    const frame = this.descendToLeaf(key, keyLength, 0);
    const result = searchLeaf(pool.frames[frame]!, key, keyLength);
    hash.remember(pool, frame, result);
    this.leafFrame = frame;
    this.leafEntry = -1;
    return result;
  }

  /** AHI5 (debug): a hash hit gives what a descent gives. */
  private checkGuess(key: Uint8Array, keyLength: number, guess: number): void {
    const pool = this.storage.pool;
    const frame = this.descendToLeaf(key, keyLength, 0);
    const page = pool.frames[frame]!;
    const result = searchLeaf(page, key, keyLength);
    const same = frame === this.leafFrame && result === guess && slotAt(page, result >>> 1) === this.leafEntry;
    pool.unfix(frame);
    if (!same) pool.unfix(this.leafFrame);
    assert(
      same,
      () =>
        `AHI5 the adaptive hash index answered frame ${this.leafFrame} slot ${guess >>> 1} found ${guess & 1}, ` +
        `the descent frame ${frame} slot ${result >>> 1} found ${result & 1}`,
    );
  }

  /**
   * The page number of the leaf that holds (or would hold) `key`, found without reading that
   * leaf: the descent stops at level 1 and returns the child it points to. NIL_PAGE when the root
   * is the leaf. The change buffer's question (InnoDB's BTR_INSERT descent to the level above the
   * leaves): is the leaf in the buffer pool, and if not, which page to buffer the change for.
   */
  leafPageNoFor(key: Uint8Array): number {
    this.checkReadable();
    const pool = this.storage.pool;
    let pageNo = this.rootPageNo;
    let expectedLevel = -1;
    for (;;) {
      const frame = this.fixNode(pageNo, expectedLevel);
      const page = pool.frames[frame]!;
      const level = pageLevel(page);
      const child = level === 0 ? NIL_PAGE : childAt(page, searchInternal(page, key, key.length));
      pool.unfix(frame);
      if (level <= 1) return child;
      pageNo = child;
      expectedLevel = level - 1;
    }
  }

  /** Fixes a node met on a descent, checked (BT1, BT2, BT8): the caller unfixes it. */
  private fixNode(pageNo: number, expectedLevel: number): number {
    const pool = this.storage.pool;
    const frame = pool.fix(this.spaceId, pageNo);
    const page = pool.frames[frame]!;
    const level = pageLevel(page);
    if (
      readU16(page, FIL_PAGE_TYPE) !== PageType.Index ||
      (expectedLevel >= 0 && level !== expectedLevel) ||
      (level > 0 && entryCount(page) === 0)
    ) {
      pool.unfix(frame);
      throw this.corruptNode(page, pageNo, expectedLevel);
    }
    return frame;
  }

  /**
   * Point lookup without copying: fills `view` (by default `this.view`) with the entry of `key`
   * in place in its frame and returns true, or returns false. The view is valid until the next
   * engine operation. `keyLength`: the key is key[0, keyLength) (a scratch array reused by the caller).
   */
  find(key: Uint8Array, view: EntryView = this.view, keyLength = key.length): boolean {
    const pool = this.storage.pool;
    const result = this.searchToLeaf(key, keyLength);
    const frame = this.leafFrame;
    const page = pool.frames[frame]!;
    if ((result & 1) === 1)
      fillEntryView(view, page, this.leafEntry >= 0 ? this.leafEntry : slotAt(page, result >>> 1));
    pool.unfix(frame);
    return (result & 1) === 1;
  }

  /** The entry of `key`, copied, or undefined. */
  get(key: Uint8Array): BTreeEntry | undefined {
    const view = this.view;
    if (!this.find(key, view)) return undefined;
    return {
      key: key.slice(),
      value: view.page.slice(view.valueOffset, view.valueOffset + view.valueLength),
      flags: view.flags,
      deleteMarked: (view.flags & ENTRY_DELETE_MARK) !== 0,
    };
  }

  /**
   * Copies the value of `key` into `target` when it is large enough. Returns the value's length
   * (copied only if <= target.length), or -1 when the key is absent.
   */
  getInto(key: Uint8Array, target: Uint8Array): number {
    const view = this.view;
    if (!this.find(key, view)) return -1;
    if (view.valueLength <= target.length)
      target.set(view.page.subarray(view.valueOffset, view.valueOffset + view.valueLength));
    return view.valueLength;
  }

  /** A cursor, not yet positioned (`first`, `last`, `seek`). */
  cursor(): BTreeCursor {
    return new BTreeCursor(this);
  }

  /** A lazy range scan: entries copied out, in key order or reversed, bounded and limited. */
  scan(range: ScanRange = {}): ScanIterator {
    const spare = this.spareScan;
    if (spare === undefined) return new ScanIterator(this, range);
    this.spareScan = undefined;
    spare.reset(range);
    return spare;
  }

  /**
   * Gives back a scan of this tree that its holder will never use again, for the next `scan` to
   * reuse: a lookup through an index makes one scan per key, and a new one (cursor, key buffer,
   * entry view) costs about as much as the lookup's descent.
   */
  releaseScan(scan: ScanIterator): void {
    assert(scan.cursor.tree === this, 'a scan is given back to its own tree');
    this.spareScan = scan;
  }

  /** Walks the whole tree and checks every invariant (BT1 to BT9); throws `CorruptionError`. */
  check(): TreeCheckResult {
    return checkTree(this.storage, this.spaceId, this.rootPageNo);
  }

  // ---------------------------------------------------------------- writes (in the caller's mtr)

  /**
   * Inserts `key` -> `value` with `flags` (0, or `ENTRY_DELETE_MARK`). Returns false, changing
   * nothing, when the key is already present (delete-marked or not: the caller decides).
   * Throws `KeyTooLargeError` / `EntryTooLargeError` over the limits.
   */
  insert(mtr: MiniTransaction, key: Uint8Array, value: Uint8Array, flags = 0): boolean {
    this.checkEntry(key, value, flags);
    key = this.detach(key);
    value = this.detach(value);
    const depth = this.descendForWrite(mtr, key);
    const result = searchLeaf(this.pathPages[depth]!, key, key.length);
    if ((result & 1) === 1) return false;
    insertAtDepth(
      this,
      mtr,
      depth,
      result >>> 1,
      this.leafSource.set(flags, key, 0, key.length, value, 0, value.length),
    );
    this.state.epoch++;
    return true;
  }

  /**
   * Replaces the value of `key` (and its flags when given; kept otherwise). Returns false when
   * the key is absent. In place when the value does not grow; else delete + insert in `mtr`.
   */
  update(mtr: MiniTransaction, key: Uint8Array, value: Uint8Array, flags?: number): boolean {
    this.checkEntry(key, value, flags ?? 0);
    key = this.detach(key);
    value = this.detach(value);
    const depth = this.descendForWrite(mtr, key);
    const leaf = this.pathPages[depth]!;
    const result = searchLeaf(leaf, key, key.length);
    if ((result & 1) === 0) return false;
    const slot = result >>> 1;
    const entry = slotAt(leaf, slot);
    const oldFlags = leaf[entry + ENTRY_FLAGS]!;
    const newFlags = flags ?? oldFlags;
    const oldLength = entryValueLength(leaf, entry);
    if (value.length <= oldLength) {
      // In place: no entry moves, so cursors stay valid (no epoch bump unless pages merge).
      if (newFlags !== oldFlags) mtr.writeU8(leaf, entry + ENTRY_FLAGS, newFlags);
      if (value.length === oldLength) {
        mtr.writeChanged(leaf, entryValueOffset(leaf, entry), value);
        return true;
      }
      shrinkValueInPlace(mtr, leaf, entry, value);
      if (depth > 0 && usedBytes(leaf) < this.mergeBelowBytes) {
        rebalance(this, mtr, depth);
        this.state.epoch++;
      }
      return true;
    }
    removeEntryAt(mtr, leaf, slot);
    insertAtDepth(this, mtr, depth, slot, this.leafSource.set(newFlags, key, 0, key.length, value, 0, value.length));
    this.state.epoch++;
    return true;
  }

  /** Removes `key` for good (purge). Returns false when absent. May merge pages. */
  delete(mtr: MiniTransaction, key: Uint8Array): boolean {
    return this.remove(mtr, key, false);
  }

  /**
   * Removes `key` only if it carries the delete mark (purge's removal of an old secondary entry),
   * in one descent rather than a lookup and then a delete. Returns false, changing nothing, when
   * the key is absent or not marked.
   */
  deleteIfMarked(mtr: MiniTransaction, key: Uint8Array): boolean {
    return this.remove(mtr, key, true);
  }

  private remove(mtr: MiniTransaction, key: Uint8Array, onlyMarked: boolean): boolean {
    this.checkKey(key);
    const depth = this.descendForWrite(mtr, key);
    const leaf = this.pathPages[depth]!;
    const result = searchLeaf(leaf, key, key.length);
    if ((result & 1) === 0) return false;
    if (onlyMarked && (leaf[slotAt(leaf, result >>> 1) + ENTRY_FLAGS]! & ENTRY_DELETE_MARK) === 0) return false;
    removeEntryAt(mtr, leaf, result >>> 1);
    rebalance(this, mtr, depth);
    this.state.epoch++;
    return true;
  }

  /** Sets or clears the delete mark of `key` in place. Returns false when absent. */
  setDeleteMark(mtr: MiniTransaction, key: Uint8Array, marked: boolean): boolean {
    this.checkKey(key);
    const depth = this.descendForWrite(mtr, key);
    const leaf = this.pathPages[depth]!;
    const result = searchLeaf(leaf, key, key.length);
    if ((result & 1) === 0) return false;
    const entry = slotAt(leaf, result >>> 1);
    const flags = leaf[entry + ENTRY_FLAGS]!;
    const next = marked ? flags | ENTRY_DELETE_MARK : flags & ~ENTRY_DELETE_MARK;
    if (next !== flags) mtr.writeU8(leaf, entry + ENTRY_FLAGS, next);
    return true;
  }

  // ---------------------------------------------------------------- each in its own mtr

  /**
   * Runs `fn` in a new mini-transaction and commits it. If `fn` throws before writing anything,
   * the mtr is aborted; after a write it cannot be (no mtr rollback, mtr.ts), so it stays open
   * and the error propagates: the engine must not go on (InnoDB would abort the process).
   */
  atomic<T>(fn: (mtr: MiniTransaction) => T): T {
    return runInMtr(this.storage, fn);
  }

  insertOne(key: Uint8Array, value: Uint8Array, flags = 0): boolean {
    return this.atomic((mtr) => this.insert(mtr, key, value, flags));
  }

  updateOne(key: Uint8Array, value: Uint8Array, flags?: number): boolean {
    return this.atomic((mtr) => this.update(mtr, key, value, flags));
  }

  deleteOne(key: Uint8Array): boolean {
    return this.atomic((mtr) => this.delete(mtr, key));
  }

  setDeleteMarkOne(key: Uint8Array, marked: boolean): boolean {
    return this.atomic((mtr) => this.setDeleteMark(mtr, key, marked));
  }

  /**
   * Frees every page of the tree, root last, in mtrs of bounded size (InnoDB btr_free_but_not_root
   * then btr_free_root). Each mtr frees the leftmost leaf and the ancestors it leaves empty, so
   * after a crash the tree is still a tree and `drop` can run again. `finalize` runs in the mtr
   * that frees the root: remove the dictionary's reference there, so both happen atomically.
   * Returns the pages freed.
   */
  drop(finalize?: (mtr: MiniTransaction) => void): number {
    let freed = 0;
    for (;;) {
      const step = this.dropStep(finalize);
      freed += step.freed;
      if (step.done) return freed;
    }
  }

  /**
   * One mtr of `drop` (at most a bounded number of pages, btree-drop.ts): a caller that frees a
   * large tree calls it in slices and gives the event loop back in between (dict/dictionary.ts).
   * `done` once the root is freed.
   */
  dropStep(finalize?: (mtr: MiniTransaction) => void): { freed: number; done: boolean } {
    return dropStep(this, finalize);
  }

  // ---------------------------------------------------------------- internals

  /** @internal Throws `ClosedError` when the storage is closed or the tree dropped. */
  checkReadable(): void {
    if (this.storage.isClosed) throw new ClosedError('storage');
    if (this.state.dropped) throw new ClosedError(`B-tree with root ${this.spaceId}:${this.rootPageNo} (dropped)`);
  }

  private checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array)) throw new InvalidArgumentError('a B-tree key must be a Uint8Array');
    if (key.length > this.limits.keyBytesMax) {
      throw new KeyTooLargeError(
        `index id ${this.indexId}`,
        this.limits.keyBytesMax,
        `${key.length} bytes (page size ${this.storage.pageSize})`,
      );
    }
  }

  private checkEntry(key: Uint8Array, value: Uint8Array, flags: number): void {
    this.checkKey(key);
    if (!(value instanceof Uint8Array)) throw new InvalidArgumentError('a B-tree value must be a Uint8Array');
    if (!Number.isInteger(flags) || (flags & ~ENTRY_FLAGS_KNOWN) !== 0) {
      throw new InvalidArgumentError(
        `B-tree entry flags must use only known bits (${ENTRY_FLAGS_KNOWN}), got ${String(flags)}`,
      );
    }
    const bytes = key.length + value.length;
    if (bytes > this.limits.entryBytesMax) {
      throw new EntryTooLargeError(
        bytes,
        this.limits.entryBytesMax,
        `key ${key.length} + value ${value.length} bytes (page size ${this.storage.pageSize})`,
      );
    }
  }

  /**
   * A copy of `bytes` when they are a view into the buffer pool (an `EntryView`'s page, say):
   * a split or reorganisation may move them while they are being written.
   */
  private detach(bytes: Uint8Array): Uint8Array {
    return this.storage.pool.holdsView(bytes) ? bytes.slice() : bytes;
  }

  private corruptNode(page: Uint8Array, pageNo: number, expectedLevel: number): CorruptionError {
    const type = readU16(page, FIL_PAGE_TYPE);
    const detail =
      type !== PageType.Index
        ? `BT1 expected a B-tree page of root ${this.rootPageNo}, found page type ${type}`
        : pageLevel(page) > 0 && entryCount(page) === 0
          ? `BT8 internal page ${pageNo} has no entries`
          : `BT2 expected level ${expectedLevel}, found ${pageLevel(page)}`;
    return new CorruptionError(this.fileName, pageNo, detail);
  }

  /** @internal Throws `CorruptionError` unless `page` is an index page at `expectedLevel` (BT1, BT2). */
  checkNode(page: Uint8Array, pageNo: number, expectedLevel: number): void {
    if (readU16(page, FIL_PAGE_TYPE) !== PageType.Index || (expectedLevel >= 0 && pageLevel(page) !== expectedLevel)) {
      throw this.corruptNode(page, pageNo, expectedLevel);
    }
  }

  /** Fixes the path root -> leaf for `key` in `mtr`; returns the leaf's depth. */
  private descendForWrite(mtr: MiniTransaction, key: Uint8Array): number {
    this.checkReadable();
    assert(mtr.isActive, 'T2 B-tree write in an active mini-transaction');
    const pages = this.pathPages;
    const nos = this.pathNos;
    const slots = this.pathSlots;
    let pageNo = this.rootPageNo;
    let slot = 0;
    let expectedLevel = -1;
    for (let depth = 0; ; depth++) {
      const page = mtr.getPage(this.spaceId, pageNo);
      this.checkNode(page, pageNo, expectedLevel);
      // Overwritten in place (entries past the leaf are stale): no reallocation per write.
      pages[depth] = page;
      nos[depth] = pageNo;
      slots[depth] = slot;
      const level = pageLevel(page);
      if (level === 0) return depth;
      if (entryCount(page) === 0) throw this.corruptNode(page, pageNo, expectedLevel);
      slot = searchInternal(page, key, key.length);
      pageNo = childAt(page, slot);
      expectedLevel = level - 1;
    }
  }

  /** @internal The page `pageNo` in `mtr`, checked to be an index page at `level` (BT1, BT2). */
  getNode(mtr: MiniTransaction, pageNo: number, level: number): Uint8Array {
    const page = mtr.getPage(this.spaceId, pageNo);
    this.checkNode(page, pageNo, level);
    return page;
  }
}

/** Runs `fn` in its own mtr (see `BTree.atomic`). */
export function runInMtr<T>(storage: Storage, fn: (mtr: MiniTransaction) => T): T {
  const mtr = storage.startMtr();
  let result: T;
  try {
    result = fn(mtr);
  } catch (error) {
    if (mtr.redoBytes === 0) mtr.abort();
    throw error;
  }
  mtr.commit();
  return result;
}

export { ENTRY_DELETE_MARK } from './index-page.js';
