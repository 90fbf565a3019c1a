/**
 * Insert with page split: putting an entry on a page that cannot take it, splitting upwards and
 * raising the root when the split reaches it (the "insert" of btree.ts's operations).
 *
 * InnoDB counterpart: `btr/btr0btr.cc` `btr_page_split_and_insert` (with its split-point choice
 * `btr_page_get_split_rec_to_right` / `_to_left`, driven by PAGE_LAST_INSERT) and
 * `btr_root_raise_and_insert`; the caller is `btr_cur_pessimistic_insert` (btr0cur.cc), here
 * `BTree.insert` / `BTree.update`. Where we differ: InnoDB latches the path and may retry the
 * descent; a single thread needs neither, so the write path `BTree.descendForWrite` fixed in the
 * mtr is used as is. Leaf splits push up the shortest separator (suffix truncation), which InnoDB
 * does not do on leaves (it pushes up the whole first key of the right page, minus columns beyond
 * the unique prefix).
 *
 * ## Invariants this file keeps (numbered in btree.ts)
 *  R1.  A full root is raised by copying its content to a new child: the root keeps its number.
 *  BT2. The new sibling takes the split page's level; a raised root goes one level up.
 *  BT3, BT4. The split keeps the entry sequence (old entries with the new one at its slot) in
 *       order, and the separator pushed up lies in (last left key, first right key].
 *  BT5. The new right page is linked between the split page and its old right neighbour.
 *  BT8. Both halves hold at least one entry (`chooseSplit` asserts a split point exists).
 *  All size checks ran before the first write (`BTree.checkEntry`): a split cannot fail halfway.
 */
import type { MiniTransaction } from '../redo/mtr.js';
import { FIL_NEXT, FIL_PREV, NIL_PAGE, PageType, readU16, readU32 } from '../page/page.js';
import { allocatePage } from '../page/space-allocator.js';
import { assert } from '../util/assert.js';
import type { BTree } from './btree.js';
import {
  ENTRY_HEADER_BYTES,
  EntrySource,
  PAGE_LAST_INSERT,
  SLOT_BYTES,
  entryBytes,
  entryCount,
  entryKeyLength,
  freeBytes,
  initIndexPage,
  insertEntryAt,
  pageLevel,
  shortestSeparator,
  slotAt,
  truncateEntries,
  usedBytes,
} from './index-page.js';
import { builderLeft } from './scratch-builders.js';

const EMPTY = new Uint8Array(0);

/** The page number of the right page the last `split` created (one operation at a time, SB1). */
let splitRightNo = NIL_PAGE;

/** Inserts `source` at `slot` of the page at `depth`, splitting upwards as needed. */
export function insertAtDepth(
  tree: BTree,
  mtr: MiniTransaction,
  depth: number,
  slot: number,
  source: EntrySource,
): void {
  for (;;) {
    const page = tree.pathPages[depth]!;
    if (freeBytes(page) >= source.bytes + SLOT_BYTES) {
      insertEntryAt(mtr, page, slot, source);
      return;
    }
    if (depth === 0) {
      raiseRoot(tree, mtr);
      depth = 1;
    }
    const separator = split(tree, mtr, depth, slot, source);
    source = new EntrySource().setChild(separator, splitRightNo);
    slot = tree.pathSlots[depth]! + 1;
    depth--;
  }
}

/**
 * Root raise (InnoDB btr_root_raise_and_insert): the root's content moves to a new page, and
 * the root becomes its parent, one level up, with a single entry. The root keeps its page
 * number (R1). The path gains that page at depth 1.
 */
function raiseRoot(tree: BTree, mtr: MiniTransaction): void {
  const root = tree.pathPages[0]!;
  const level = pageLevel(root);
  const builder = builderLeft.reset();
  for (let slot = 0, n = entryCount(root); slot < n; slot++) builder.addFrom(root, slotAt(root, slot));
  const { pageNo, page } = allocatePage(mtr, tree.spaceId, PageType.Index);
  initIndexPage(mtr, page, level, tree.indexId);
  builder.writeTo(mtr, page, level);
  builder.reset().add(new EntrySource().setChild(EMPTY, pageNo), false);
  builder.writeTo(mtr, root, level + 1);
  tree.pathPages.splice(1, 0, page);
  tree.pathNos.splice(1, 0, pageNo);
  tree.pathSlots.splice(1, 0, 0);
}

/** The key of entry `c` of the sequence "page's entries with `source` inserted at `slot`". */
function withInserted(page: Uint8Array, slot: number, source: EntrySource, c: number): [Uint8Array, number, number] {
  if (c === slot) return [source.key, source.keyStart, source.keyLength];
  const entry = slotAt(page, c < slot ? c : c - 1);
  return [page, entry + ENTRY_HEADER_BYTES, entryKeyLength(page, entry)];
}

/**
 * Splits the page at `depth`, which cannot take `source` at `slot`: a new right sibling takes
 * the upper part, `source` goes where it belongs. Returns the separator for the parent (the
 * new page's number is in `splitRightNo`).
 */
function split(tree: BTree, mtr: MiniTransaction, depth: number, slot: number, source: EntrySource): Uint8Array {
  const page = tree.pathPages[depth]!;
  const pageNo = tree.pathNos[depth]!;
  const n = entryCount(page);
  const level = pageLevel(page);
  const m = chooseSplit(tree, page, n, slot, source);
  const [leftKey, leftStart, leftLength] = withInserted(page, slot, source, m - 1);
  const [rightKey, rightStart, rightLength] = withInserted(page, slot, source, m);
  const separator =
    level === 0
      ? shortestSeparator(leftKey, leftStart, leftLength, rightKey, rightStart, rightLength)
      : rightKey.slice(rightStart, rightStart + rightLength);
  const builder = builderLeft.reset();
  for (let c = m; c <= n; c++) {
    if (c === slot) builder.add(source, true);
    else builder.addFrom(page, slotAt(page, c < slot ? c : c - 1));
  }
  const { pageNo: rightNo, page: right } = allocatePage(mtr, tree.spaceId, PageType.Index);
  initIndexPage(mtr, right, level, tree.indexId);
  builder.writeTo(mtr, right, level);
  const next = readU32(page, FIL_NEXT);
  mtr.writeU32(right, FIL_PREV, pageNo);
  mtr.writeU32(right, FIL_NEXT, next);
  if (next !== NIL_PAGE) mtr.writeU32(tree.getNode(mtr, next, level), FIL_PREV, rightNo);
  mtr.writeU32(page, FIL_NEXT, rightNo);
  truncateEntries(mtr, page, slot < m ? m - 1 : m);
  if (slot < m) insertEntryAt(mtr, page, slot, source);
  splitRightNo = rightNo;
  return separator;
}

/**
 * How many entries of the sequence (n old ones + the new one at `slot`) stay left. Sequential
 * inserts (the page's last insert is the new entry's neighbour at an end) split at the insert
 * point, so ascending and descending loads leave full pages; otherwise the bytes are halved.
 */
function chooseSplit(tree: BTree, page: Uint8Array, n: number, slot: number, source: EntrySource): number {
  assert(n >= 1, 'a page that cannot take an entry holds entries');
  const lastInsert = readU16(page, PAGE_LAST_INSERT);
  if (lastInsert !== 0) {
    if (slot === n && slotAt(page, n - 1) === lastInsert) return n;
    if (slot === 0 && slotAt(page, 0) === lastInsert) return 1;
  }
  const total = usedBytes(page) + source.bytes + SLOT_BYTES;
  let best = -1;
  let bestScore = Infinity;
  let left = 0;
  for (let m = 1; m <= n; m++) {
    const c = m - 1;
    left += SLOT_BYTES + (c === slot ? source.bytes : entryBytes(page, slotAt(page, c < slot ? c : c - 1)));
    if (left > tree.capacity) break;
    const right = total - left;
    if (right > tree.capacity) continue;
    const score = Math.abs(left - right);
    if (score < bestScore) {
      best = m;
      bestScore = score;
    }
  }
  assert(best > 0, 'a split point exists (an entry takes at most half a page)');
  return best;
}
