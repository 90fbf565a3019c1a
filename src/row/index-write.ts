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
 * ## Clustered records: `prepareClustered`, `encodeClustered` and `changeClustered`
 * The clustered record is the row: its value is the encoded row, stamped with DB_TRX_ID and
 * DB_ROLL_PTR. Every clustered write goes through `changeClustered`. The LOB layer (`src/lob/`)
 * hooks in here (InnoDB: btr_store_big_rec_extern_fields, btr_free_externally_stored_field):
 *  - a new row image is validated and sized by `prepareClustered` in phase 1: a row too large for
 *    the page keeps its largest values off-page (rec/row-format.ts W8);
 *  - in phase 2, `ExternWrite` stores them on LOB pages (ahead of the row change's mtr when they
 *    are large: lob-build.ts) and, in that mtr, gives the value with their references, so the
 *    record switches to the new LOBs in one mtr (IW3);
 *  - `changeClustered(..., 'remove')` frees the LOBs the removed record references (only it does:
 *    lob/README.md L1), after `prepareRemoveClustered` freed their pages in bounded mtrs ahead.
 * Old values reach undo as references or LOB-DIFF diffs (undo-append.ts, row-lob.ts).
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
 *  IW3. A clustered record names only whole LOBs: the references it gets are written in the mtr
 *       that finishes their LOBs, and a LOB is freed in the mtr that removes its last reference.
 */
import { ENTRY_DELETE_MARK } from '../btree/btree.js';
import { ChangeBuffer } from '../ibuf/change-buffer.js';
import { IbufOp, type IbufOpValue } from '../ibuf/ibuf-record.js';
import { onEntryInserted, onEntryRemoved } from '../lock/gap-inheritance.js';
import type { LockManager } from '../lock/lock-manager.js';
import { LobBatch } from '../lob/lob-build.js';
import { finishFree, prepareFree } from '../lob/lob-free.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { LobRef } from '../rec/lob-ref.js';
import {
  ROW_ROLL_PTR_OFFSET,
  type EncodedRow,
  type StoredRow,
  type StoredValue,
  encodeRow,
  encodeRowStoring,
  encodeSecondaryKey,
  externRefsOf,
} from '../rec/row-format.js';
import { writeRollPtrAt, type RollPtr } from '../undo/roll-ptr.js';
import { readLobWhole } from '../lob/lob-read.js';
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
      // With no lock on the entry there are none to pass on (IW2): one descent checks and removes.
      if (!locks.hasLocksOn(secondary.index.id, key)) {
        tree.deleteIfMarked(mtr, key);
        return;
      }
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
      // IW3: the LOBs only this record references go with it.
      for (const ref of clusteredLobs(table, key)) finishFree(mtr, table.lobs, ref.firstPageNo, ref.lobId);
      onEntryRemoved(locks, primaryId, table.clustered, key);
      return table.clustered.delete(mtr, key);
  }
}

/** The references in the clustered record `key` (none when there is no such record). */
function clusteredLobs(table: TableRuntime, key: Uint8Array): LobRef[] {
  const tree = table.clustered;
  if (!tree.find(key, tree.view)) return [];
  const view = tree.view;
  return externRefsOf(table.layout, view.page, view.valueOffset, view.valueLength);
}

/**
 * Before the mtr that removes the clustered record `key`: frees, in bounded mtrs of their own, the
 * pages of its LOBs but their first pages (lob-free.ts prepareFree), so that mtr stays small.
 */
export function prepareRemoveClustered(table: TableRuntime, key: Uint8Array): void {
  for (const ref of clusteredLobs(table, key)) prepareFree(table.lobs, ref.firstPageNo, ref.lobId);
}

/** Encodes a row that fits the page (its large values already references) as a clustered record stamped with `trxId` and `rollPtr`. */
export function encodeClustered(
  table: TableRuntime,
  row: StoredRow,
  trxId: number,
  rollPtr: RollPtr,
): { key: Uint8Array; value: Uint8Array } {
  const encoded = encodeRow(table.layout, row, trxId, 0n);
  writeRollPtrAt(encoded.value, ROW_ROLL_PTR_OFFSET, rollPtr);
  return encoded;
}

/** A new row image checked and encoded in phase 1, with the values it will keep off-page. */
export interface PreparedClustered extends EncodedRow {
  /** The row as encoded (references given as values copied into bytes when `copyRefs`). */
  readonly row: StoredRow;
}

/**
 * Phase 1 of a write: validates `row` and encodes it, choosing which values go off-page (W8).
 * With `copyRefs` (an insert), a `LobRef` in the row (a primary-key change moving a row) is read
 * and stored again as a new LOB: a LOB is referenced by one record only (lob/README.md L1).
 */
export function prepareClustered(table: TableRuntime, row: StoredRow, copyRefs: boolean): PreparedClustered {
  let stored = row;
  if (copyRefs) {
    // A `for...in` over the row, not Object.entries: no array per row on a bulk load's path.
    let copy: Record<string, StoredValue | null | undefined> | undefined;
    for (const name in row) {
      const value = row[name];
      if (!(value instanceof LobRef)) continue;
      copy ??= { ...row };
      copy[name] = lobValueOf(table, name, readLobWhole(table.lobs, value));
    }
    stored = copy ?? row;
  }
  const encoded = encodeRowStoring(table.layout, stored, table.lobs.valueBytesMax);
  return { key: encoded.key, value: encoded.value, externs: encoded.externs, row: stored };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The value of column `name` whose stored bytes are `bytes` (a bytes value, a string's UTF-8, a json text). */
export function lobValueOf(table: TableRuntime, name: string, bytes: Uint8Array): StoredValue {
  const column = table.layout.schema.columns[table.layout.columnIndexByName.get(name)!]!;
  if (column.type === 'bytes') return bytes;
  const text = utf8.decode(bytes);
  return column.type === 'string' ? text : (JSON.parse(text) as StoredValue);
}

/**
 * Phase 2 of a write with values off-page: their LOBs are written (`start`, before the row
 * change's mtr), then `finish` in that mtr gives the record's value with their references (IW3).
 * On any failure before `finish` returned, `abandon` drops what was written.
 */
export class ExternWrite {
  private readonly table: TableRuntime;
  private readonly prepared: PreparedClustered;
  private readonly batch: LobBatch;
  private readonly handles: number[] = [];

  private constructor(table: TableRuntime, prepared: PreparedClustered) {
    this.table = table;
    this.prepared = prepared;
    this.batch = new LobBatch(table.lobs);
    for (const extern of prepared.externs) this.handles.push(this.batch.addNew(extern.bytes));
  }

  /** Writes the large LOBs ahead in their own mtrs (nothing when the row has no value off-page). */
  static start(table: TableRuntime, prepared: PreparedClustered): ExternWrite {
    const write = new ExternWrite(table, prepared);
    write.batch.writeAhead();
    return write;
  }

  /** In the row change's mtr: finishes the LOBs and returns the record's value (unstamped). */
  finish(mtr: MiniTransaction): Uint8Array {
    const prepared = this.prepared;
    if (prepared.externs.length === 0) return prepared.value;
    this.batch.finish(mtr);
    const row: Record<string, StoredValue | null | undefined> = { ...prepared.row };
    prepared.externs.forEach((extern, i) => {
      row[this.table.layout.schema.columns[extern.column]!.name] = this.batch.refOf(this.handles[i]!);
    });
    return encodeRow(this.table.layout, row, 0, 0n).value;
  }

  abandon(): void {
    this.batch.abandon();
  }
}

/** The secondary entry keys of `row`, one per secondary index in `table.secondaries` order. */
export function secondaryKeys(table: TableRuntime, row: StoredRow): Uint8Array[] {
  return table.secondaries.map((s) => encodeSecondaryKey(table.layout, s.layoutIndex, row));
}
