/**
 * Dropping a tree: every page freed, root last, in mini-transactions of bounded size.
 *
 * InnoDB counterpart: `btr/btr0btr.cc` `btr_free_but_not_root` (frees the leaf and internal
 * segments in mtrs of bounded size) then `btr_free_root`. Where we differ: InnoDB frees whole
 * file segments (the tree owns a leaf and a non-leaf segment); our pages come one by one from
 * the space allocator, so a drop walks the tree: each mtr frees the leftmost leaf and the
 * ancestors it leaves empty.
 *
 * ## Invariants this file keeps (numbered in btree.ts)
 *  R1, BT2, BT4, BT8 after every mtr of a drop: what is left is still a tree (only leftmost
 *       subtrees go, and an internal page that loses its last child goes with it, root aside),
 *       so after a crash `drop` can run again from the start.
 *  DR1. The root is freed last, in the mtr that runs `finalize` (the dictionary's reference goes
 *       with it, atomically); only then is the tree marked dropped (its objects refuse reads).
 */
import type { MiniTransaction } from '../redo/mtr.js';
import { freePage } from '../page/space-allocator.js';
import type { BTree } from './btree.js';
import { childAt, entryCount, pageLevel, removeEntryAt } from './index-page.js';

/** Pages a drop frees per mini-transaction: bounds its redo and the frames it fixes. */
const DROP_PAGES_PER_MTR = 32;

/**
 * One mtr of `drop` (at most DROP_PAGES_PER_MTR pages): a caller that frees a large tree calls
 * it in slices and gives the event loop back in between (dict/dictionary.ts). `done` once the
 * root is freed.
 */
export function dropStep(tree: BTree, finalize?: (mtr: MiniTransaction) => void): { freed: number; done: boolean } {
  tree.checkReadable();
  let freed = 0;
  const done = tree.atomic((mtr) => {
    const root = mtr.getPage(tree.spaceId, tree.rootPageNo);
    tree.checkNode(root, tree.rootPageNo, -1);
    for (let budget = DROP_PAGES_PER_MTR; budget > 0 && pageLevel(root) > 0 && entryCount(root) > 0; ) {
      // The leftmost path down to a leaf.
      const pages = [root];
      const nos = [tree.rootPageNo];
      while (pageLevel(pages[pages.length - 1]!) > 0) {
        const pageNo = childAt(pages[pages.length - 1]!, 0);
        const page = mtr.getPage(tree.spaceId, pageNo);
        tree.checkNode(page, pageNo, pageLevel(pages[pages.length - 1]!) - 1);
        pages.push(page);
        nos.push(pageNo);
      }
      // Free the leaf, and each ancestor it leaves empty (never the root here).
      for (let depth = pages.length - 1; depth > 0; depth--) {
        freePage(mtr, tree.spaceId, nos[depth]!);
        freed++;
        budget--;
        removeEntryAt(mtr, pages[depth - 1]!, 0);
        if (entryCount(pages[depth - 1]!) > 0) break;
      }
    }
    if (pageLevel(root) > 0 && entryCount(root) > 0) return false;
    freePage(mtr, tree.spaceId, tree.rootPageNo);
    freed++;
    finalize?.(mtr);
    return true;
  });
  if (done) {
    tree.state.epoch++;
    tree.state.dropped = true;
  }
  return { freed, done };
}
