/**
 * Every change to an index record, in one place: the seams the next two layers plug into.
 *
 * InnoDB counterpart: the index-entry writes of `row/row0ins.cc` (row_ins_clust_index_entry,
 * row_ins_sec_index_entry), `row/row0upd.cc` (row_upd_sec_index_entry, btr_cur_del_mark_set_*),
 * `row/row0uins.cc` / `row0umod.cc` (rollback) and `row/row0purge.cc` (row_purge_remove_*). In
 * InnoDB they all reach the B-tree through `btr_cur_search_to_nth_level` with an operation flag
 * (BTR_INSERT, BTR_DELETE_MARK, BTR_DELETE), which is where the change buffer steps in.
 *
 * ## Secondary indexes: `changeSecondary`, the one door
 * Insert, delete-mark, unmark and remove of a secondary entry, from every writer (insert, update,
 * delete, rollback, purge, index build), go through `changeSecondary` and nothing else calls the
 * tree's write methods on a secondary index. The change buffer (`src/ibuf/change-buffer.ts`)
 * hooks in here: when the leaf page the change needs is not in the buffer pool, the change is
 * recorded in the change buffer instead (in the caller's mtr) and merged when the page is next
 * read (rule IBUF-SAME-MTR: the merge marks the buffered record processed in the mtr that applies
 * it); after a change made in the tree, the change buffer's bitmap follows the leaves it changed.
 * The op set below is InnoDB's IBUF_OP_INSERT / IBUF_OP_DELETE_MARK / IBUF_OP_DELETE ('purge')
 * plus the unmark, marked insert and unconditional removal that rollback needs. A change is
 * buffered only where the gap-lock calls below would do nothing (the change buffer's `admits`
 * gate, set by row-engine.ts): no gap-covering lock in the index for an entry added, no lock on
 * the entry for one removed. A merge moves no lock either: a lock taken after the change was
 * buffered either read the page (merging it first) or lies on a later page, and then the gap it
 * covers begins at the buffered entry, not before it (the range it guards holds no key below).
 *
 * ## Clustered records: `encodeClustered` and `changeClustered`
 * The clustered record is the row: its value is the encoded row, stamped with DB_TRX_ID and
 * DB_ROLL_PTR. Every row image is encoded by `encodeClustered` and every clustered write goes
 * through `changeClustered`. The LOB layer (`src/lob/`, issue 13) hooks in here: the encoder
 * stores a column too large for the page on LOB pages and leaves a reference in the record
 * (with its old bytes reaching undo as LOB-DIFF diffs), and removing a record frees the LOB
 * pages only it references (purge).
 *
 * ## Gap locks follow the gaps (issue 10)
 * Row locks name keys (lock/lock-manager.ts), so a record that appears inside a locked gap, or
 * disappears from between two gaps, changes what the locks cover. Both doors tell the lock table,
 * in the same synchronous step as the tree change (no other transaction runs in between), as
 * InnoDB's btr_cur_*_insert / btr_cur_*_delete call lock_update_insert / lock_update_delete:
 *  - an entry *inserted* (a new record, marked or not) takes its successor's gap-covering locks
 *    as gap locks, so both halves of the split gap stay locked (`onEntryInserted`);
 *  - an entry *removed* (rollback of what a change added, purge) passes its locks to its successor
 *    as gap locks, so the joined gap stays locked (`onEntryRemoved`).
 * Setting or clearing a delete mark, and an insert that only un-marks the entry already there,
 * move nothing: the record stays. An index build writes into a new index, on which no lock can
 * exist yet, so the calls there cost one map lookup each.
 *
 * Invariants:
 *  IW1. Index records change only here (secondary) or through `changeClustered` (clustered), each
 *       inside the caller's mini-transaction; index builds write into a new tree the same way.
 *  IW2. Every record inserted into or removed from an index tree is reported to the lock table in
 *       the same synchronous step (lock_update_insert / lock_update_delete), so no gap a
 *       transaction locked ever opens without it (issue 10's phantom).
 */
import { ENTRY_DELETE_MARK } from '../btree/btree.js';
import { ChangeBuffer } from '../ibuf/change-buffer.js';
import { IbufOp, type IbufOpValue } from '../ibuf/ibuf-record.js';
import { onEntryInserted, onEntryRemoved } from '../lock/gap-inheritance.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { ROW_ROLL_PTR_OFFSET, encodeRow, encodeSecondaryKey, type Row } from '../rec/row-format.js';
import { writeRollPtrAt, type RollPtr } from '../undo/roll-ptr.js';
import { assert } from '../util/assert.js';
import type { SecondaryRuntime, TableRuntime } from './table-runtime.js';

/**
 * - `insert`: a live entry; one already there (delete-marked) is unmarked.
 * - `insert-marked`: a delete-marked entry, or the mark set on the one already there (rollback
 *   restoring a deleted version; an index build copying a delete-marked row).
 * - `delete-mark` / `unmark`: the entry's delete mark set or cleared in place.
 * - `remove`: the entry removed for good (rollback of its insert).
 * - `purge`: the entry removed if it is still delete-marked (purge, InnoDB's IBUF_OP_DELETE: the
 *   check is part of the change, so a buffered purge needs no read of the page).
 */
export type SecondaryChange = 'insert' | 'insert-marked' | 'delete-mark' | 'unmark' | 'remove' | 'purge';

const EMPTY = new Uint8Array(0);

const IBUF_OPS: Readonly<Record<SecondaryChange, IbufOpValue>> = {
  insert: IbufOp.Insert,
  'insert-marked': IbufOp.InsertMarked,
  'delete-mark': IbufOp.DeleteMark,
  unmark: IbufOp.Unmark,
  remove: IbufOp.Remove,
  purge: IbufOp.Purge,
};

/**
 * Changes the secondary entry `key` of `secondary` in `mtr` (IW1): the change buffer's hook. Gap
 * locks in `locks` follow an entry inserted or removed (IW2).
 */
export function changeSecondary(
  mtr: MiniTransaction,
  locks: LockManager,
  secondary: SecondaryRuntime,
  key: Uint8Array,
  change: SecondaryChange,
): void {
  const tree = secondary.tree;
  const ibuf = ChangeBuffer.of(tree.storage);
  if (ibuf?.buffer(mtr, tree, key, IBUF_OPS[change]) === true) return;
  changeSecondaryInTree(mtr, locks, secondary, key, change);
  ibuf?.afterDirectChange(mtr, tree);
}

function changeSecondaryInTree(
  mtr: MiniTransaction,
  locks: LockManager,
  secondary: SecondaryRuntime,
  key: Uint8Array,
  change: SecondaryChange,
): void {
  const tree = secondary.tree;
  switch (change) {
    case 'insert':
      if (tree.insert(mtr, key, EMPTY, 0)) onEntryInserted(locks, secondary.index.id, tree, key);
      else tree.setDeleteMark(mtr, key, false);
      return;
    case 'insert-marked':
      if (tree.insert(mtr, key, EMPTY, ENTRY_DELETE_MARK)) onEntryInserted(locks, secondary.index.id, tree, key);
      else tree.setDeleteMark(mtr, key, true);
      return;
    case 'delete-mark':
      tree.setDeleteMark(mtr, key, true);
      return;
    case 'unmark':
      tree.setDeleteMark(mtr, key, false);
      return;
    case 'remove':
      onEntryRemoved(locks, secondary.index.id, tree, key);
      tree.delete(mtr, key);
      return;
    case 'purge':
      if (!tree.find(key, tree.view) || (tree.view.flags & ENTRY_DELETE_MARK) === 0) return;
      onEntryRemoved(locks, secondary.index.id, tree, key);
      tree.delete(mtr, key);
      return;
  }
}

/**
 * - `insert`: a new record (the key is free: checked by the caller).
 * - `update`: the record's value and delete mark replaced (an update, a delete mark, a rollback).
 * - `remove`: the record removed for good (rollback of its insert, purge).
 */
export type ClusteredChange = 'insert' | 'update' | 'remove';

/**
 * Changes the clustered record `key` of `table` in `mtr` (IW1): the LOB layer's hook. `value`
 * and `flags` (0 or ENTRY_DELETE_MARK) are the new record's for `insert` and `update`. Gap locks
 * in `locks` follow a record inserted or removed (IW2). Returns the tree's answer (false: the key
 * was taken for an insert, absent otherwise).
 */
export function changeClustered(
  mtr: MiniTransaction,
  locks: LockManager,
  table: TableRuntime,
  key: Uint8Array,
  change: ClusteredChange,
  value: Uint8Array = EMPTY,
  flags = 0,
): boolean {
  const primaryId = table.record.primary.id;
  assert(
    table.indexBuilding === undefined,
    () => `IB1 no clustered write to ${table.name} while its index ${table.indexBuilding} is being built`,
  );
  switch (change) {
    case 'insert': {
      const inserted = table.clustered.insert(mtr, key, value, flags);
      if (inserted) onEntryInserted(locks, primaryId, table.clustered, key);
      return inserted;
    }
    case 'update':
      return table.clustered.update(mtr, key, value, flags);
    case 'remove':
      onEntryRemoved(locks, primaryId, table.clustered, key);
      return table.clustered.delete(mtr, key);
  }
}

/** Encodes a row as a clustered record stamped with `trxId` and `rollPtr` (the LOB layer's other hook). */
export function encodeClustered(
  table: TableRuntime,
  row: Row,
  trxId: number,
  rollPtr: RollPtr,
): { key: Uint8Array; value: Uint8Array } {
  const encoded = encodeRow(table.layout, row, trxId, 0n);
  writeRollPtrAt(encoded.value, ROW_ROLL_PTR_OFFSET, rollPtr);
  return encoded;
}

/** The secondary entry keys of `row`, one per secondary index in `table.secondaries` order. */
export function secondaryKeys(table: TableRuntime, row: Row): Uint8Array[] {
  return table.secondaries.map((s) => encodeSecondaryKey(table.layout, s.layoutIndex, row));
}
