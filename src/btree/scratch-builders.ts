/**
 * The two scratch page builders the tree's structure changes share (btree-split.ts,
 * btree-merge.ts): a split or raise builds one page image, a redistribution two.
 *
 * InnoDB counterpart: none as such; InnoDB reorganises a page through a temporary copy of its
 * frame (`page_copy_rec_list_end`, `btr_page_reorganize_low`). Here a builder is about two page
 * sizes of memory, so the tree keeps two for the process instead of allocating them per change.
 *
 * ## Invariants
 *  SB1. One tree operation runs at a time (single thread), and no two uses of the same builder
 *       nest: each use starts with `reset()` and ends with `writeTo`/`appendTo` before the next.
 */
import { PageBuilder } from './index-page.js';

export const builderLeft = new PageBuilder();
export const builderRight = new PageBuilder();
