/**
 * Delete-side rebalancing: after an entry leaves a page (or a value shrinks), an underfull page
 * merges with a sibling or shares entries with it, an empty page is unlinked and freed, and a
 * root left with one child takes over the child's content (the "delete" of btree.ts).
 *
 * InnoDB counterpart: `btr/btr0btr.cc` `btr_compress` (merge with a sibling under the same
 * parent), `btr_discard_page` (an empty page goes) and `btr_lift_page_up` (the root takes its
 * only child's content); the caller is `btr_cur_pessimistic_delete` (btr0cur.cc), here
 * `BTree.delete` / `BTree.update`. Where we differ: InnoDB merges when a page falls under
 * BTR_CUR_PAGE_COMPRESS_LIMIT and never redistributes; we merge below a quarter of a page and,
 * when the pair does not fit one page, share their bytes evenly (so a page does not stay
 * underfull while its sibling is nearly full).
 *
 * ## Invariants this file keeps (numbered in btree.ts)
 *  R1.  A root left with one child takes the child's content; the root is never moved.
 *  BT4. A merge gives the right page's first internal entry the parent's separator as its key;
 *       a redistribution puts the new lower bound of the right page in the parent.
 *  BT5. A freed page is unlinked from its level first (prev and next point to each other).
 *  BT8. An empty non-root page is freed at once; an internal root with one child collapses.
 *  A redistribution whose new separator would not fit the parent is skipped: both pages stay
 *  valid as they are, so no refusal can come after a write.
 */
import type { MiniTransaction } from '../redo/mtr.js';
import { FIL_NEXT, FIL_PREV, NIL_PAGE, readU32 } from '../page/page.js';
import { freePage } from '../page/space-allocator.js';
import type { BTree } from './btree.js';
import {
  ENTRY_HEADER_BYTES,
  EntrySource,
  SLOT_BYTES,
  childAt,
  entryBytes,
  entryCount,
  entryKeyLength,
  freeBytes,
  insertEntryAt,
  pageLevel,
  removeEntryAt,
  shortestSeparator,
  slotAt,
  usedBytes,
} from './index-page.js';
import { builderLeft, builderRight } from './scratch-builders.js';

/**
 * After a delete at `depth`: merge or refill an underfull page, cascading up; collapse a root
 * left with one child (InnoDB btr_compress, btr_lift_page_up).
 */
export function rebalance(tree: BTree, mtr: MiniTransaction, depth: number): void {
  for (;;) {
    if (depth === 0) {
      shrinkRoot(tree, mtr);
      return;
    }
    const page = tree.pathPages[depth]!;
    if (usedBytes(page) >= tree.mergeBelowBytes) return;
    const parent = tree.pathPages[depth - 1]!;
    const slot = tree.pathSlots[depth]!;
    if (entryCount(page) === 0) {
      // An empty page simply goes: its neighbour in the parent takes over its (empty) key
      // range; if it was the parent's first child, the next one's key becomes the uncompared
      // first key (IP5). Always possible, unlike a merge.
      unlinkAndFree(tree, mtr, page, tree.pathNos[depth]!);
      removeEntryAt(mtr, parent, slot);
      depth--;
      continue;
    }
    if (entryCount(parent) === 1) return; // no sibling under this parent
    const j = slot > 0 ? slot : 1; // the parent slot of the right page of the pair
    const level = pageLevel(page);
    const leftNo = childAt(parent, j - 1);
    const rightNo = childAt(parent, j);
    const left = slot > 0 ? tree.getNode(mtr, leftNo, level) : page;
    const right = slot > 0 ? page : tree.getNode(mtr, rightNo, level);
    if (merge(tree, mtr, parent, j, left, leftNo, right, rightNo)) {
      depth--;
      continue;
    }
    redistribute(tree, mtr, parent, j, left, right, rightNo);
    return;
  }
}

/**
 * Merges `right` into `left` when everything fits one page; frees `right` and removes its
 * parent entry (slot `j`). On internal pages the right page's first entry takes the parent's
 * separator as its key (its own key was never compared, IP5).
 */
function merge(
  tree: BTree,
  mtr: MiniTransaction,
  parent: Uint8Array,
  j: number,
  left: Uint8Array,
  leftNo: number,
  right: Uint8Array,
  rightNo: number,
): boolean {
  const internal = pageLevel(left) > 0;
  const separator = slotAt(parent, j);
  const nRight = entryCount(right);
  const keyGrowth =
    internal && nRight > 0 ? entryKeyLength(parent, separator) - entryKeyLength(right, slotAt(right, 0)) : 0;
  if (usedBytes(left) + usedBytes(right) + keyGrowth > tree.capacity) return false;
  const builder = builderLeft.reset();
  for (let slot = 0; slot < nRight; slot++) {
    const entry = slotAt(right, slot);
    if (internal && slot === 0)
      builder.addFromWithKey(right, entry, parent, separator + ENTRY_HEADER_BYTES, entryKeyLength(parent, separator));
    else builder.addFrom(right, entry);
  }
  if (nRight > 0) builder.appendTo(mtr, left);
  const next = readU32(right, FIL_NEXT);
  mtr.writeU32(left, FIL_NEXT, next);
  if (next !== NIL_PAGE) mtr.writeU32(tree.getNode(mtr, next, pageLevel(left)), FIL_PREV, leftNo);
  freePage(mtr, tree.spaceId, rightNo);
  removeEntryAt(mtr, parent, j);
  return true;
}

/**
 * Shares the entries of two siblings that do not fit one page so that their used bytes are as
 * even as possible, and replaces their separator in the parent (slot `j`). Skipped when the
 * new separator would not fit the parent (the pages stay as they are: still valid).
 */
function redistribute(
  tree: BTree,
  mtr: MiniTransaction,
  parent: Uint8Array,
  j: number,
  left: Uint8Array,
  right: Uint8Array,
  rightNo: number,
): void {
  const level = pageLevel(left);
  const internal = level > 0;
  const nLeft = entryCount(left);
  const total = nLeft + entryCount(right);
  const separator = slotAt(parent, j);
  const separatorStart = separator + ENTRY_HEADER_BYTES;
  const separatorLength = entryKeyLength(parent, separator);
  // On internal pages the right page's first entry carries the parent's separator as soon as
  // it is not first on its page any more.
  const keyGrowth = internal ? separatorLength - entryKeyLength(right, slotAt(right, 0)) : 0;
  const pageOf = (c: number): Uint8Array => (c < nLeft ? left : right);
  const entryOf = (c: number): number => (c < nLeft ? slotAt(left, c) : slotAt(right, c - nLeft));
  const usedLeft = usedBytes(left);
  const usedRight = usedBytes(right);
  const totalBytes = usedLeft + usedRight + keyGrowth;
  let best = -1;
  let bestScore = Math.abs(usedLeft - usedRight);
  let leftBytes = 0;
  for (let m = 1; m < total; m++) {
    const c = m - 1;
    leftBytes += SLOT_BYTES + entryBytes(pageOf(c), entryOf(c)) + (c === nLeft ? keyGrowth : 0);
    if (m === nLeft) continue;
    const rightBytes = totalBytes - leftBytes;
    if (leftBytes > tree.capacity || rightBytes > tree.capacity) continue;
    const score = Math.abs(leftBytes - rightBytes);
    if (score < bestScore) {
      best = m;
      bestScore = score;
    }
  }
  if (best < 0) return;
  const lastLeft = entryOf(best - 1);
  const firstRight = entryOf(best);
  const lastLeftPage = pageOf(best - 1);
  const firstRightPage = pageOf(best);
  const newSeparator = internal
    ? firstRightPage.slice(
        firstRight + ENTRY_HEADER_BYTES,
        firstRight + ENTRY_HEADER_BYTES + entryKeyLength(firstRightPage, firstRight),
      )
    : shortestSeparator(
        // Leaves: the shortest key between the two halves.
        lastLeftPage,
        lastLeft + ENTRY_HEADER_BYTES,
        entryKeyLength(lastLeftPage, lastLeft),
        firstRightPage,
        firstRight + ENTRY_HEADER_BYTES,
        entryKeyLength(firstRightPage, firstRight),
      );
  const oldParentEntry = entryBytes(parent, separator);
  if (freeBytes(parent) + oldParentEntry < ENTRY_HEADER_BYTES + newSeparator.length + 4) return;
  const leftBuilder = builderLeft.reset();
  const rightBuilder = builderRight.reset();
  for (let c = 0; c < total; c++) {
    const builder = c < best ? leftBuilder : rightBuilder;
    if (internal && c === nLeft) builder.addFromWithKey(right, entryOf(c), parent, separatorStart, separatorLength);
    else builder.addFrom(pageOf(c), entryOf(c));
  }
  leftBuilder.writeTo(mtr, left, level);
  rightBuilder.writeTo(mtr, right, level);
  removeEntryAt(mtr, parent, j);
  insertEntryAt(mtr, parent, j, new EntrySource().setChild(newSeparator, rightNo));
}

/** While the root is internal with one child, the child's content moves up into it. */
function shrinkRoot(tree: BTree, mtr: MiniTransaction): void {
  const root = tree.pathPages[0]!;
  for (;;) {
    const level = pageLevel(root);
    const n = entryCount(root);
    if (level === 0 || n >= 2) return;
    if (n === 0) {
      builderLeft.reset().writeTo(mtr, root, 0);
      return;
    }
    const childNo = childAt(root, 0);
    const child = tree.getNode(mtr, childNo, level - 1);
    const builder = builderLeft.reset();
    for (let slot = 0, count = entryCount(child); slot < count; slot++) builder.addFrom(child, slotAt(child, slot));
    builder.writeTo(mtr, root, level - 1);
    freePage(mtr, tree.spaceId, childNo);
  }
}

/** Unlinks an empty page from its level and frees it. */
function unlinkAndFree(tree: BTree, mtr: MiniTransaction, page: Uint8Array, pageNo: number): void {
  const prev = readU32(page, FIL_PREV);
  const next = readU32(page, FIL_NEXT);
  const level = pageLevel(page);
  if (prev !== NIL_PAGE) mtr.writeU32(tree.getNode(mtr, prev, level), FIL_NEXT, next);
  if (next !== NIL_PAGE) mtr.writeU32(tree.getNode(mtr, next, level), FIL_PREV, prev);
  freePage(mtr, tree.spaceId, pageNo);
}
