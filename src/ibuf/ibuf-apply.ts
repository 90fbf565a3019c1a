/**
 * Applying one buffered operation to its leaf page: the in-page half of a merge.
 *
 * InnoDB counterpart: `ibuf_insert_to_index_page`, `ibuf_set_del_mark` and `ibuf_delete` in
 * `ibuf/ibuf0ibuf.cc`. Each does on the page exactly what `changeSecondary` (row/index-write.ts)
 * does through the tree when the page is in the pool, so a merged page equals the page the direct
 * path would have made. It never splits, merges or frees a page: the bitmap promised the room for
 * every buffered insert (IB3) and at least two entries after every buffered removal (IB4), and
 * the merge runs inside whatever mini-transaction read the page (change-buffer.ts), where a
 * change of the tree's shape would pull in pages the caller may be in the middle of using.
 */
import { assert, debugChecks } from '../util/assert.js';
import type { MiniTransaction } from '../redo/mtr.js';
import {
  ENTRY_DELETE_MARK,
  ENTRY_FLAGS,
  EntrySource,
  SLOT_BYTES,
  freeBytes,
  insertEntryAt,
  removeEntryAt,
  searchLeaf,
  slotAt,
} from '../btree/index-page.js';
import { IbufOp } from './ibuf-record.js';

const EMPTY = new Uint8Array(0);
const source = new EntrySource();

/** Sets or clears the delete mark of the entry in `slot`, writing only when it changes. */
function setMark(mtr: MiniTransaction, page: Uint8Array, slot: number, marked: boolean): void {
  const at = slotAt(page, slot) + ENTRY_FLAGS;
  const flags = page[at]!;
  const next = marked ? flags | ENTRY_DELETE_MARK : flags & ~ENTRY_DELETE_MARK;
  if (next !== flags) mtr.writeU8(page, at, next);
}

/**
 * Applies `op` for the entry `key` to the leaf `page` in `mtr`. Returns false when the operation
 * found nothing to do (an unmark or delete mark of an absent entry, a purge of an entry no longer
 * delete-marked): as on the direct path, that is not an error.
 */
export function applyIbufOp(mtr: MiniTransaction, page: Uint8Array, op: number, key: Uint8Array): boolean {
  const result = searchLeaf(page, key, key.length);
  const found = (result & 1) === 1;
  const slot = result >>> 1;
  switch (op) {
    case IbufOp.Insert:
    case IbufOp.InsertMarked: {
      const marked = op === IbufOp.InsertMarked;
      if (found) {
        // IB7 (debug): an insert meets its entry only delete-marked (a row deleted and inserted
        // again); a live one means this operation was applied before: seed 004's double merge.
        assert(
          !debugChecks() || marked || (page[slotAt(page, slot) + ENTRY_FLAGS]! & ENTRY_DELETE_MARK) !== 0,
          'IB7 (IBUF-SAME-MTR) a buffered insert finds its entry already live: it was merged twice',
        );
        setMark(mtr, page, slot, marked);
        return true;
      }
      source.set(marked ? ENTRY_DELETE_MARK : 0, key, 0, key.length, EMPTY, 0, 0);
      assert(
        freeBytes(page) >= source.bytes + SLOT_BYTES,
        'IB3 a buffered insert fits its page: the bitmap promised the room',
      );
      insertEntryAt(mtr, page, slot, source);
      return true;
    }
    case IbufOp.DeleteMark:
    case IbufOp.Unmark:
      if (!found) return false;
      setMark(mtr, page, slot, op === IbufOp.DeleteMark);
      return true;
    case IbufOp.Purge:
      if (!found || (page[slotAt(page, slot) + ENTRY_FLAGS]! & ENTRY_DELETE_MARK) === 0) return false;
      removeEntryAt(mtr, page, slot);
      return true;
    case IbufOp.Remove:
      if (!found) return false;
      removeEntryAt(mtr, page, slot);
      return true;
    default:
      assert(false, `IB6 a change-buffer record holds a known operation, found ${op}`);
  }
}
