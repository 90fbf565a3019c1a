/**
 * Inserts: duplicate checks and insert-intention locks, then the undo record and every index.
 *
 * InnoDB counterpart: `row/row0ins.cc` (row_ins_clust_index_entry, row_ins_sec_index_entry,
 * row_ins_duplicate_error_in_clust, row_ins_scan_sec_index_for_duplicate). An insert over a
 * delete-marked record (its delete committed, purge not yet run) is an update that remembers the
 * whole old row (TRX_UNDO_UPD_DEL_REC), as in InnoDB.
 *
 * ## Writes: checks and locks first, then one mini-transaction
 * Every write (here and in row-upd.ts) runs in two phases. Phase 1 checks (duplicates, sizes,
 * types) and takes the row locks; any lock that must wait is awaited and phase 1 starts again, so
 * it always ends with the world as it is. Phase 2 is synchronous: one mtr appends the undo record
 * and changes every index. So a check that fails changes nothing, and a crash never leaves a row
 * change without its undo (rule MTR makes the pair atomic).
 *
 * Invariant:
 *  RE1. Phase 2 of a write starts only after every check and lock of phase 1 passed with no await
 *       since (the write sees the state it checked).
 */
import { DuplicateKeyError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import { ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { compareBytes } from '../rec/key-codec.js';
import {
  ROW_ROLL_PTR_OFFSET,
  encodeSecondaryKey,
  extractPrimaryKeyFromSecondary,
  readTrxId,
  writeTrxIdInto,
  type StoredRow,
} from '../rec/row-format.js';
import { ROLL_PTR_NULL, readRollPtrAt, writeRollPtrAt } from '../undo/roll-ptr.js';
import { UndoRecordType } from '../undo/undo-record.js';
import { assert } from '../util/assert.js';
import type { EngineStats } from './engine-stats.js';
import {
  ExternWrite,
  type PreparedClustered,
  changeClustered,
  changeSecondary,
  prepareClustered,
  secondaryKeys,
} from './index-write.js';
import { describeKey, secondaryPrefix, startsWith } from './keys.js';
import type { RowLocks } from './row-lock.js';
import { rowFromEntry } from './row-vers.js';
import type { TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';
import { allStoredColumns, appendRowUndo, undoFieldsOf } from './undo-append.js';

const RESOLVED = Promise.resolve();

export class RowInsert {
  private readonly storage: Storage;
  private readonly trxSystem: TrxSystem;
  private readonly trxs: TrxLifecycle;
  private readonly rowLocks: RowLocks;
  private readonly stats: EngineStats;
  private readonly entry: EntryView = newEntryView();
  /** Whether the last `insertChecks` found a record at its key (delete-marked, or it would have thrown). */
  private lastFound = false;

  constructor(storage: Storage, trxSystem: TrxSystem, trxs: TrxLifecycle, rowLocks: RowLocks, stats: EngineStats) {
    this.storage = storage;
    this.trxSystem = trxSystem;
    this.trxs = trxs;
    this.rowLocks = rowLocks;
    this.stats = stats;
  }

  /**
   * Inserts a row; waits for locks; ERR_DUPLICATE_KEY when the key is taken. A `LobRef` in `row`
   * (a row moving to a new primary key) is copied into a new LOB.
   */
  insert(trx: Trx, table: TableRuntime, row: StoredRow): Promise<void> {
    try {
      return this.insertOrWait(trx, table, row) ?? RESOLVED;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * `insert` without a promise when no lock must be waited for: the row is inserted before this
   * returns undefined (a bulk `insertMany` pays no promise and no await per row). Otherwise the
   * returned promise settles once the insert is done. Errors found before any wait are thrown.
   */
  insertOrWait(trx: Trx, table: TableRuntime, row: StoredRow): Promise<void> | undefined {
    this.trxs.checkWritable(trx);
    // Every check that can fail on the row itself runs before anything changes (RE1). The row is
    // encoded once, its largest values chosen to go off-page when it does not fit (index-write.ts);
    // phase 2 stamps DB_TRX_ID and DB_ROLL_PTR into it in place.
    const prepared = prepareClustered(table, row, true);
    const key = prepared.key;
    const newKeys = secondaryKeys(table, prepared.row);
    this.trxs.ensureTrxId(trx);
    const wait = this.insertChecks(trx, table, key, prepared.row, newKeys, undefined);
    if (wait === undefined) {
      this.write(trx, table, prepared, newKeys);
      return undefined;
    }
    return this.waitAndInsert(trx, table, prepared, newKeys, wait);
  }

  private async waitAndInsert(
    trx: Trx,
    table: TableRuntime,
    prepared: PreparedClustered,
    newKeys: readonly Uint8Array[],
    first: Promise<void>,
  ): Promise<void> {
    for (let wait: Promise<void> | undefined = first; wait !== undefined; ) {
      await this.rowLocks.waitLock(trx, wait);
      this.trxs.checkActive(trx);
      wait = this.insertChecks(trx, table, prepared.key, prepared.row, newKeys, undefined);
    }
    this.write(trx, table, prepared, newKeys);
  }

  /** Phase 2 (RE1: called with no await since phase 1 passed). */
  private write(trx: Trx, table: TableRuntime, prepared: PreparedClustered, newKeys: readonly Uint8Array[]): void {
    const key = prepared.key;
    // Phase 1's search of the key still holds (no await since, RE1) unless large values are
    // written ahead below; only a found (delete-marked) record needs searching again, for its
    // fields (phase 1's checks searched other keys with the same view since).
    const searchAgain = this.lastFound || prepared.externs.length > 0;
    // Large values first, ahead of the row's mtr (IW2); a row without any needs no LOB batch.
    const externs = prepared.externs.length === 0 ? undefined : ExternWrite.start(table, prepared);
    const page = this.trxSystem.page;
    const locks = this.rowLocks.locks;
    const mtr = this.storage.startMtr();
    try {
      if (searchAgain && table.clustered.find(key, this.entry)) {
        // Over a delete-marked record (its delete committed, purge not yet run): an update that
        // remembers the whole old row (TRX_UNDO_UPD_DEL_REC).
        const old = rowFromEntry(table, this.entry);
        const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
        const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
        const oldKeys = secondaryKeys(table, old);
        const fields = undoFieldsOf(table, old, allStoredColumns(table));
        const rollPtr = appendRowUndo(
          trx,
          mtr,
          page,
          UndoRecordType.UpdateDeleteMarked,
          table,
          key,
          fields,
          oldTrxId,
          oldRollPtr,
        );
        const value = externs === undefined ? prepared.value : externs.finish(mtr);
        writeTrxIdInto(value, 0, trx.trxId);
        writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
        changeClustered(mtr, locks, table, key, 'update', value, 0);
        table.secondaries.forEach((s, i) => {
          changeSecondary(
            mtr,
            locks,
            s,
            newKeys[i]!,
            compareBytes(oldKeys[i]!, newKeys[i]!) !== 0 ? 'insert' : 'unmark',
          );
        });
      } else {
        const rollPtr = appendRowUndo(trx, mtr, page, UndoRecordType.Insert, table, key, [], 0, ROLL_PTR_NULL);
        const value = externs === undefined ? prepared.value : externs.finish(mtr);
        writeTrxIdInto(value, 0, trx.trxId);
        writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
        assert(changeClustered(mtr, locks, table, key, 'insert', value, 0), 'RE1 the key checked free is free');
        const secondaries = table.secondaries;
        for (let i = 0; i < secondaries.length; i++)
          changeSecondary(mtr, locks, secondaries[i]!, newKeys[i]!, 'insert');
      }
      mtr.commit();
    } catch (error) {
      externs?.abandon();
      throw error;
    }
    this.stats.inserts++;
  }

  /**
   * Phase 1 of an insert (or of the new row of a key-changing update): duplicates and locks.
   * Returns a lock wait, or undefined when everything is checked and locked.
   */
  insertChecks(
    trx: Trx,
    table: TableRuntime,
    key: Uint8Array,
    row: StoredRow,
    newKeys: readonly Uint8Array[],
    skipIndexes: ReadonlySet<number> | undefined,
    movingFrom?: Uint8Array,
  ): Promise<void> | undefined {
    const primaryId = table.record.primary.id;
    this.lastFound = table.clustered.find(key, this.entry);
    if (this.lastFound) {
      if ((this.entry.flags & ENTRY_DELETE_MARK) === 0) {
        // InnoDB locks the duplicate (shared) before reporting it: if its inserter rolls back, we
        // win. The record only, at every level (row_ins_duplicate_error_in_clust: LOCK_REC_NOT_GAP).
        const wait = this.rowLocks.lockClustered(trx, table, key, 'S', 'record');
        if (wait !== undefined) return wait;
        if (table.clustered.find(key, this.entry) && (this.entry.flags & ENTRY_DELETE_MARK) === 0) {
          throw new DuplicateKeyError(
            table.name,
            'PRIMARY',
            describeKey(
              table.layout.primaryKey.columns.length,
              row,
              table.layout.primaryKeyColumns,
              table.layout.schema,
            ),
          );
        }
      }
      const wait = this.rowLocks.lockClustered(trx, table, key, 'X', 'record');
      if (wait !== undefined) return wait;
    } else {
      const wait = this.rowLocks.insertIntention(trx, primaryId, table.clustered, key);
      if (wait !== undefined) return wait;
    }
    for (let i = 0; i < table.secondaries.length; i++) {
      if (skipIndexes?.has(i) === true) continue;
      const secondary = table.secondaries[i]!;
      const entryKey = newKeys[i]!;
      if (secondary.index.unique) {
        const wait = this.uniqueCheck(trx, table, i, entryKey, key, movingFrom);
        if (wait !== undefined) return wait;
      }
      const wait = this.rowLocks.insertIntention(trx, secondary.index.id, secondary.tree, entryKey);
      if (wait !== undefined) return wait;
    }
    // The new record is locked implicitly by its DB_TRX_ID (see row-lock.ts convertImplicit).
    return undefined;
  }

  /** A unique index must hold no other live entry with the same secondary columns (NULLs never clash). */
  uniqueCheck(
    trx: Trx,
    table: TableRuntime,
    i: number,
    entryKey: Uint8Array,
    primaryKey: Uint8Array,
    movingFrom?: Uint8Array,
  ): Promise<void> | undefined {
    const secondary = table.secondaries[i]!;
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const prefix = secondaryPrefix(layout.spec, layout.secondaryFieldCount, entryKey);
    if (prefix === undefined) return undefined;
    const cursor = secondary.tree.cursor();
    for (let on = cursor.seek(prefix, 'ge'); on && startsWith(cursor.key(), prefix); on = cursor.next()) {
      const other = cursor.key();
      const otherPrimary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, other);
      if (compareBytes(otherPrimary, primaryKey) === 0) continue;
      if (movingFrom !== undefined && compareBytes(otherPrimary, movingFrom) === 0) continue; // the row itself, moving
      const marked = cursor.deleteMarked;
      // Lock it (shared) either way: a delete-marked entry's delete may still roll back.
      const wait = this.rowLocks.lockSecondary(
        trx,
        table,
        i,
        other,
        'S',
        trx.isolation === 'read-committed' ? 'record' : 'next-key',
      );
      if (wait !== undefined) return wait;
      if (!marked && this.liveEntry(table, secondary.layoutIndex, otherPrimary, other)) {
        throw new DuplicateKeyError(table.name, secondary.index.name, '(the same values as an existing row)');
      }
    }
    return undefined;
  }

  /** Whether the newest version of the row `primary` is live and has the secondary key `entry`. */
  private liveEntry(table: TableRuntime, layoutIndex: number, primary: Uint8Array, entry: Uint8Array): boolean {
    if (!table.clustered.find(primary, this.entry) || (this.entry.flags & ENTRY_DELETE_MARK) !== 0) return false;
    return compareBytes(encodeSecondaryKey(table.layout, layoutIndex, rowFromEntry(table, this.entry)), entry) === 0;
  }
}
