/**
 * Rollback: a transaction's undo records applied newest first, each popped in the mtr that applies it.
 *
 * InnoDB counterpart: `row/row0undo.cc` (row_undo: pick the newest record of the insert and update
 * logs), `row/row0uins.cc` (undo of an insert: remove the entries and the record) and
 * `row/row0umod.cc` (undo of an update or delete mark: restore the old values, delete mark and
 * DB_TRX_ID / DB_ROLL_PTR; remove or mark the secondary entries the change added).
 *
 * Removing a secondary entry that an update inserted first asks whether an older version still
 * needs that entry (`RowVersions.olderVersionHasEntry`, row_vers_old_has_index_entry): if a view
 * may still see such a version the entry is delete-marked instead. A rollback back to a delete
 * that every view already sees removes the record (row_undo_mod_remove_clust_low): purge may have
 * passed its undo already and would never come back for it.
 *
 * Invariant:
 *  RE4. An undo record is popped in the same mtr that applies it during rollback, so a crash
 *       mid-rollback resumes exactly where it stopped.
 */
import type { Storage } from '../core/storage.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import { compareBytes } from '../rec/key-codec.js';
import { readTrxId } from '../rec/row-format.js';
import { truncateUndoLog, type PageSource } from '../undo/undo-log.js';
import { UndoLogCursor, lastUndoRecord } from '../undo/undo-log-read.js';
import { UndoRecordType } from '../undo/undo-record.js';
import {
  changeClustered,
  changeSecondary,
  encodeClustered,
  prepareRemoveClustered,
  secondaryKeys,
} from './index-write.js';
import { type LobUndoPlan, NO_LOB_UNDO, finishLobUndo, planLobUndo, prepareLobUndo } from './row-lob.js';
import { applyUndoFields, rowFromEntry, type MutableRow, type RowVersions, type Version } from './row-vers.js';
import type { TableCache } from './table-runtime.js';

export class RowUndo {
  private readonly storage: Storage;
  private readonly pages: PageSource;
  private readonly tables: TableCache;
  private readonly versions: RowVersions;
  private readonly trxSystem: TrxSystem;
  /** The lock table: gap locks follow the entries rollback removes and re-inserts (IW2). */
  private readonly locks: LockManager;
  private readonly entry: EntryView = newEntryView();

  constructor(
    storage: Storage,
    pages: PageSource,
    tables: TableCache,
    versions: RowVersions,
    trxSystem: TrxSystem,
    locks: LockManager,
  ) {
    this.storage = storage;
    this.pages = pages;
    this.tables = tables;
    this.versions = versions;
    this.trxSystem = trxSystem;
    this.locks = locks;
  }

  /** Applies undo records of `trx` newest first, down to undo number `toUndoNo` (RE4). */
  undoDownTo(trx: Trx, toUndoNo: number): void {
    const cursor = new UndoLogCursor();
    for (;;) {
      const insertTop =
        trx.insertUndo === undefined ? undefined : lastUndoRecord(this.pages, trx.insertUndo, new UndoLogCursor());
      const updateTop = trx.updateUndo === undefined ? undefined : lastUndoRecord(this.pages, trx.updateUndo, cursor);
      const top =
        insertTop === undefined
          ? updateTop
          : updateTop === undefined || insertTop.undoNo > updateTop.undoNo
            ? insertTop
            : updateTop;
      if (top === undefined || top.undoNo < toUndoNo) break;
      const log = top === insertTop ? trx.insertUndo! : trx.updateUndo!;
      const lobs = this.prepareLobs(trx, top); // LOB pages freed ahead, in bounded mtrs (row-lob.ts)
      const mtr = this.storage.startMtr();
      this.applyUndo(mtr, trx, top, lobs);
      truncateUndoLog(mtr, log, top.undoNo);
      mtr.commit();
    }
  }

  /**
   * Before the mtr that undoes `record`: what it does to LOBs, and the LOB pages it frees or drops
   * freed ahead in their own bounded mtrs (undefined when the record changes nothing).
   */
  private prepareLobs(trx: Trx, record: UndoLogCursor): { plan: LobUndoPlan; removing: boolean } | undefined {
    const table = this.tables.getById(record.tableId);
    if (table === undefined) return undefined;
    const key = record.primaryKey().slice();
    if (!table.clustered.find(key, this.entry)) return undefined;
    if (readTrxId(this.entry.page, this.entry.valueOffset) !== trx.trxId) return undefined;
    const current = rowFromEntry(table, this.entry);
    let old: MutableRow | undefined;
    if (record.type !== UndoRecordType.Insert) {
      old = { ...current };
      applyUndoFields(table, record, old);
    }
    const plan = planLobUndo(current, old, record);
    const removing = this.removesRecord(record);
    if (plan !== NO_LOB_UNDO) prepareLobUndo(table, plan, removing);
    if (record.type === UndoRecordType.Insert || removing) prepareRemoveClustered(table, key);
    return { plan, removing };
  }

  /** Back to a delete every view already sees: the record goes (see applyUndo). */
  private removesRecord(record: UndoLogCursor): boolean {
    return (
      record.type === UndoRecordType.UpdateDeleteMarked && this.trxSystem.purgeView.changesVisible(record.oldTrxId)
    );
  }

  /** Undoes one record in `mtr` (row0uins.cc / row0umod.cc). */
  private applyUndo(
    mtr: MiniTransaction,
    trx: Trx,
    record: UndoLogCursor,
    lobs: { plan: LobUndoPlan; removing: boolean } | undefined,
  ): void {
    const table = this.tables.getById(record.tableId);
    if (table === undefined) return; // the table was dropped: nothing left to undo
    // A copy: the undo page the record lies in may leave the pool while the indexes are searched.
    const key = record.primaryKey().slice();
    if (!table.clustered.find(key, this.entry)) return; // never reached the tree (crash between mtrs cannot happen: RE1; kept defensive)
    if (readTrxId(this.entry.page, this.entry.valueOffset) !== trx.trxId) return;
    const current = rowFromEntry(table, this.entry);
    const currentKeys = secondaryKeys(table, current);
    const locks = this.locks;
    if (record.type === UndoRecordType.Insert) {
      currentKeys.forEach((k, i) => changeSecondary(mtr, locks, table.secondaries[i]!, k, 'remove'));
      changeClustered(mtr, locks, table, key, 'remove');
      return;
    }
    const old: MutableRow = { ...current };
    applyUndoFields(table, record, old);
    const oldDeleted = record.type === UndoRecordType.UpdateDeleteMarked;
    const oldTrxId = record.oldTrxId;
    const oldRollPtr = record.oldRollPtr;
    const plan = lobs?.plan ?? NO_LOB_UNDO;
    if (this.removesRecord(record)) {
      // Back to a delete every view already sees, whose undo purge may have processed (and
      // skipped, since this transaction held the row) and freed: nobody would ever purge the
      // restored record, so remove it now (InnoDB's row_undo_mod_remove_clust_low).
      const oldKeys = secondaryKeys(table, old);
      table.secondaries.forEach((s, i) => {
        changeSecondary(mtr, locks, s, currentKeys[i]!, 'remove');
        if (compareBytes(oldKeys[i]!, currentKeys[i]!) !== 0) changeSecondary(mtr, locks, s, oldKeys[i]!, 'remove');
      });
      changeClustered(mtr, locks, table, key, 'remove'); // frees the LOBs the change wrote
      finishLobUndo(mtr, table, plan, true, true); // and those of the deleted row
      return;
    }
    const { value } = encodeClustered(table, old, oldTrxId, oldRollPtr);
    changeClustered(mtr, locks, table, key, 'update', value, oldDeleted ? ENTRY_DELETE_MARK : 0);
    finishLobUndo(mtr, table, plan, false, false);
    const oldKeys = secondaryKeys(table, old);
    const version: Version = { row: old, deleted: oldDeleted, trxId: oldTrxId, rollPtr: oldRollPtr };
    table.secondaries.forEach((s, i) => {
      const oldKey = oldKeys[i]!;
      const newKey = currentKeys[i]!;
      if (record.type === UndoRecordType.DeleteMark || compareBytes(oldKey, newKey) === 0) {
        changeSecondary(mtr, locks, s, oldKey, oldDeleted ? 'delete-mark' : 'unmark');
        return;
      }
      // The entry this change added: removed, unless an older version a view may see still has it.
      if (this.versions.olderVersionHasEntry(table, s.layoutIndex, { ...version, row: { ...version.row } }, newKey)) {
        changeSecondary(mtr, locks, s, newKey, 'delete-mark');
      } else {
        changeSecondary(mtr, locks, s, newKey, 'remove');
      }
      changeSecondary(mtr, locks, s, oldKey, oldDeleted ? 'insert-marked' : 'insert');
    });
  }
}
