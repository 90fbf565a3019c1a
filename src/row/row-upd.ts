/**
 * Updates and deletes: lock the row (phase 1), then undo record and index changes in one mtr (phase 2).
 *
 * InnoDB counterpart: `row/row0upd.cc` (row_upd_clust_step, row_upd_sec_step: the old secondary
 * entry delete-marked and the new one inserted; a primary-key change is a delete mark of the old
 * row and an insert of the new one) and the delete mark of `btr/btr0cur.cc`
 * (btr_cur_del_mark_set_clust_rec). The two phases and RE1 are described in row-ins.ts.
 *
 * A delete only marks the record and its entries; purge removes them when no read view can see
 * the record any more (row-purge.ts).
 */
import { InvalidArgumentError, UnknownColumnError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import { ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { compareBytes } from '../rec/key-codec.js';
import { LobBatch, type LobDiff } from '../lob/lob-build.js';
import { readLob, readLobWhole } from '../lob/lob-read.js';
import { smallChangeUndo, writeSmallChange } from '../lob/lob-update.js';
import { LobRef } from '../rec/lob-ref.js';
import { canPatchRow, patchRowInto } from '../rec/row-patch.js';
import {
  ROW_BYTES_LIMIT,
  ROW_ROLL_PTR_OFFSET,
  decodeRow,
  encodePrimaryKey,
  readTrxId,
  writeTrxIdInto,
  type Row,
} from '../rec/row-format.js';
import { UndoFieldKind, encodeLobDiffsField, encodeLobVersionField, undoFieldNo } from '../rec/undo-fields.js';
import { readRollPtrAt, writeRollPtrAt } from '../undo/roll-ptr.js';
import { UndoRecordType } from '../undo/undo-record.js';
import { assert } from '../util/assert.js';
import type { EngineStats } from './engine-stats.js';
import {
  ExternWrite,
  changeClustered,
  changeSecondary,
  encodeClustered,
  lobValueOf,
  prepareClustered,
  secondaryKeys,
} from './index-write.js';
import {
  byteColumn,
  checkDiffsInside,
  checkUtf8Diffs,
  checkedPatch,
  copyDiffs,
  inlineBytes,
  smallChangeFits,
} from './row-lob.js';
import { primaryKeyBytes, type KeyInput } from './keys.js';
import type { RowInsert } from './row-ins.js';
import { nextKey, type RowLocks } from './row-lock.js';
import { rowFromEntry, type MutableRow } from './row-vers.js';
import type { TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';
import { appendRowUndo, indexedColumns, undoFieldsOf } from './undo-append.js';
import type { RowEngineTestSeams } from './row-seams.js';

export class RowUpdate {
  private readonly storage: Storage;
  private readonly trxSystem: TrxSystem;
  private readonly trxs: TrxLifecycle;
  private readonly rowLocks: RowLocks;
  private readonly inserts: RowInsert;
  private readonly stats: EngineStats;
  private readonly indexChangeByFirstColumn: boolean;
  private readonly entry: EntryView = newEntryView();
  /** Where a patched update's value is built (row-patch.ts); the tree copies it into the page. */
  private readonly patchBuffer = new Uint8Array(ROW_BYTES_LIMIT);
  /** The last view of `patchBuffer` handed out: rows of one table mostly share a length. */
  private patchView: Uint8Array = this.patchBuffer.subarray(0, 0);

  constructor(
    storage: Storage,
    trxSystem: TrxSystem,
    trxs: TrxLifecycle,
    rowLocks: RowLocks,
    inserts: RowInsert,
    stats: EngineStats,
    seams: RowEngineTestSeams = {},
  ) {
    this.storage = storage;
    this.trxSystem = trxSystem;
    this.trxs = trxs;
    this.rowLocks = rowLocks;
    this.inserts = inserts;
    this.stats = stats;
    this.indexChangeByFirstColumn = seams.indexChangeByFirstColumn === true;
  }

  /**
   * Updates columns of the row with primary key `key`. Returns false when there is no such row.
   * A change of primary-key columns is a delete of the old row and an insert of the new one.
   */
  async update(trx: Trx, table: TableRuntime, key: KeyInput, changes: Row): Promise<boolean> {
    this.trxs.checkWritable(trx);
    if (changes === null || typeof changes !== 'object')
      throw new InvalidArgumentError('update changes must be an object of column values');
    for (const name of Object.keys(changes)) {
      if (!table.layout.columnIndexByName.has(name))
        throw new UnknownColumnError(
          table.name,
          name,
          table.layout.schema.columns.map((c) => c.name),
        );
    }
    const keyBytes = primaryKeyBytes(table, key);
    return this.withLockedRow(trx, table, keyBytes, (current) =>
      this.updateLocked(trx, table, keyBytes, current, changes),
    );
  }

  /**
   * Replaces bytes of one string, bytes or json value in place: each diff `{ offset, bytes }`
   * replaces `bytes.length` bytes at `offset`, in order; the value keeps its length. A value on
   * LOB pages changes there (row-lob.ts, lob/lob-update.ts): a small change (at most 100 bytes in
   * all) in place, its old bytes to undo as diffs (LOB-DIFF); a larger one by copying the slots it
   * touches into the LOB's next version. A value in the row is an ordinary update. Returns false
   * when there is no such row; refuses (typed, nothing changed) a diff past the end, a negative
   * offset, a NULL value, a column of another type, and bytes that would break a string's UTF-8
   * or a json value's JSON.
   */
  async updatePartial(
    trx: Trx,
    table: TableRuntime,
    key: KeyInput,
    columnName: string,
    givenDiffs: unknown,
  ): Promise<boolean> {
    this.trxs.checkWritable(trx);
    const column = byteColumn(table, columnName, 'a partial update');
    const diffs = copyDiffs(givenDiffs);
    const keyBytes = primaryKeyBytes(table, key);
    return this.withLockedRow(trx, table, keyBytes, async (current) => {
      const value = current[columnName];
      if (value === null || value === undefined)
        throw new InvalidArgumentError(`column ${JSON.stringify(columnName)} is NULL: a partial update needs a value`);
      if (!(value instanceof LobRef)) {
        const bytes = inlineBytes(column, value);
        checkDiffsInside(diffs, bytes.length);
        const patched = lobValueOf(table, columnName, checkedPatch(column, bytes, diffs));
        return this.updateLocked(trx, table, keyBytes, current, { [columnName]: patched as Row[string] });
      }
      checkDiffsInside(diffs, value.length);
      if (column.type === 'string') {
        const one = new Uint8Array(1);
        checkUtf8Diffs(diffs, value.length, (at) => {
          if (at >= value.length) return undefined;
          readLob(table.lobs, value, at, 1, one, 0);
          return one[0];
        });
      } else if (column.type === 'json') {
        // The text must stay JSON: checked on the whole value (a json value is read whole anyway).
        checkedPatch(column, readLobWhole(table.lobs, value), diffs);
      }
      // Phase 2 (RE1: no await from here).
      this.partialLocked(trx, table, keyBytes, table.layout.columnIndexByName.get(columnName)!, value, diffs);
      return true;
    });
  }

  /** Phase 2 of a partial update of a value on LOB pages: undo record, LOB pages, record, one mtr. */
  private partialLocked(
    trx: Trx,
    table: TableRuntime,
    keyBytes: Uint8Array,
    column: number,
    ref: LobRef,
    diffs: readonly LobDiff[],
  ): void {
    assert(table.clustered.find(keyBytes, this.entry), 'RE1 the locked row is still there');
    const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
    const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
    const oldValue = this.entry.page.slice(this.entry.valueOffset, this.entry.valueOffset + this.entry.valueLength);
    // A small change (LOB-DIFF): the old bytes go to the undo record, the new ones in place, the
    // version stays. A larger one: the touched slots copied into version + 1 (ahead when many).
    const small = smallChangeFits(table, keyBytes, diffs);
    const undo = small ? smallChangeUndo(table.lobs, ref, diffs) : undefined;
    const batch = small ? undefined : new LobBatch(table.lobs);
    const handle = batch?.addVersion(ref, diffs) ?? 0;
    batch?.writeAhead();
    const field =
      undo !== undefined
        ? { fieldNo: undoFieldNo(UndoFieldKind.LobDiffs, column), value: encodeLobDiffsField(ref, undo) }
        : {
            fieldNo: undoFieldNo(UndoFieldKind.LobVersion, column),
            value: encodeLobVersionField(ref, batch!.rangesOf(handle)),
          };
    const mtr = this.storage.startMtr();
    try {
      const rollPtr = appendRowUndo(
        trx,
        mtr,
        this.trxSystem.page,
        UndoRecordType.UpdateExisting,
        table,
        keyBytes,
        [field],
        oldTrxId,
        oldRollPtr,
      );
      let value: Uint8Array = oldValue;
      if (undo !== undefined) {
        writeSmallChange(mtr, table.lobs, ref, diffs, undo);
        writeTrxIdInto(value, 0, trx.trxId);
        writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
      } else {
        batch!.finish(mtr);
        const current = decodeRow(table.layout, keyBytes, oldValue) as MutableRow;
        current[table.layout.schema.columns[column]!.name] = batch!.changedRef(handle);
        value = encodeClustered(table, current, trx.trxId, rollPtr).value;
      }
      changeClustered(mtr, this.rowLocks.locks, table, keyBytes, 'update', value, 0);
      mtr.commit();
    } catch (error) {
      batch?.abandon();
      throw error;
    }
    this.stats.updates++;
  }

  /** The first `length` bytes of the patch buffer (the view reused while the length repeats). */
  private patchedView(length: number): Uint8Array {
    if (this.patchView.length !== length) this.patchView = this.patchBuffer.subarray(0, length);
    return this.patchView;
  }

  /** The body of an update once the row is X-locked (`current` is its newest version). */
  private updateLocked(
    trx: Trx,
    table: TableRuntime,
    keyBytes: Uint8Array,
    current: MutableRow,
    changes: Row,
  ): boolean | Promise<boolean | 'retry'> {
    const layout = table.layout;
    const changed: number[] = [];
    const next: MutableRow = { ...current };
    let keyColumnChanged = false;
    for (const name in changes) {
      if (!Object.hasOwn(changes, name)) continue;
      const value = changes[name];
      next[name] = value === undefined ? null : value;
      const column = layout.columnIndexByName.get(name)!;
      changed.push(column);
      if (layout.keyPosition[column]! >= 0) keyColumnChanged = true;
    }
    // A key change is judged on the encoded key, so values the key treats as equal (-0 and 0,
    // a bigint and a number) are no change.
    if (keyColumnChanged && compareBytes(encodePrimaryKey(layout, next), keyBytes) !== 0) {
      return this.moveRow(trx, table, keyBytes, current, next);
    }
    // Validate and encode the new row before any change (RE1); phase 2 stamps it in place. Values
    // the update does not touch keep their references; new large ones go off-page. Changes that
    // keep every field's length are checked here and patched into the old bytes in phase 2
    // (row-patch.ts: the bytes the encoder would write, without re-encoding the row).
    const patch = canPatchRow(table.layout, current, changes);
    let prepared = patch ? undefined : prepareClustered(table, next, false);
    const oldKeys = secondaryKeys(table, current);
    const newKeys = secondaryKeys(table, next);
    const affected = new Set<number>();
    for (let i = 0; i < oldKeys.length; i++) if (compareBytes(oldKeys[i]!, newKeys[i]!) !== 0) affected.add(i);
    if (this.indexChangeByFirstColumn) {
      // TEST ONLY: an index counts as changed only when its first column does (SEC=CLUST broken).
      for (const i of [...affected]) {
        const first =
          table.layout.schema.columns[table.layout.indexes[table.secondaries[i]!.layoutIndex]!.keyColumns[0]!]!.name;
        if (current[first] === next[first]) affected.delete(i);
      }
    }
    const wait = this.secondaryWriteLocks(trx, table, affected, oldKeys, newKeys, keyBytes);
    if (wait !== undefined) return this.rowLocks.waitLock(trx, wait).then(() => 'retry' as const);
    // Phase 2 (RE1: no await since the checks).
    assert(table.clustered.find(keyBytes, this.entry), 'RE1 the locked row is still there');
    const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
    const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
    const columns = new Set(changed);
    for (const i of affected)
      for (const c of table.layout.indexes[table.secondaries[i]!.layoutIndex]!.keyColumns) columns.add(c);
    const page = this.trxSystem.page;
    const entry = this.entry;
    const patched =
      patch && patchRowInto(table.layout, entry.page, entry.valueOffset, entry.valueLength, changes, this.patchBuffer)
        ? this.patchedView(entry.valueLength)
        : undefined;
    if (patched === undefined) prepared ??= prepareClustered(table, next, false);
    const externs = prepared === undefined ? undefined : ExternWrite.start(table, prepared);
    const mtr = this.storage.startMtr();
    try {
      const rollPtr = appendRowUndo(
        trx,
        mtr,
        page,
        UndoRecordType.UpdateExisting,
        table,
        keyBytes,
        undoFieldsOf(table, current, columns),
        oldTrxId,
        oldRollPtr,
      );
      const value = patched ?? externs!.finish(mtr);
      writeTrxIdInto(value, 0, trx.trxId);
      writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
      const locks = this.rowLocks.locks;
      changeClustered(mtr, locks, table, keyBytes, 'update', value, 0);
      for (const i of affected) {
        const secondary = table.secondaries[i]!;
        changeSecondary(mtr, locks, secondary, oldKeys[i]!, 'delete-mark');
        changeSecondary(mtr, locks, secondary, newKeys[i]!, 'insert');
      }
      mtr.commit();
    } catch (error) {
      externs?.abandon();
      throw error;
    }
    this.stats.updates++;
    return true;
  }

  /**
   * Runs `body` on the newest version of the row `keyBytes`, X-locked (phase 1 of an update or a
   * delete); false when there is no such row. `body` returns 'retry' after waiting for a lock.
   */
  private async withLockedRow(
    trx: Trx,
    table: TableRuntime,
    keyBytes: Uint8Array,
    body: (current: MutableRow) => boolean | 'retry' | Promise<boolean | 'retry'>,
  ): Promise<boolean> {
    this.trxs.ensureTrxId(trx);
    for (;;) {
      this.trxs.checkActive(trx);
      // Awaited only when it waits: a granted lock goes straight on to the body.
      const current = this.lockRowForWrite(trx, table, keyBytes);
      if (current instanceof Promise) {
        await this.rowLocks.waitLock(trx, current);
        continue;
      }
      if (current === undefined) return false;
      const done = body(current);
      const result = done instanceof Promise ? await done : done;
      if (result !== 'retry') return result;
    }
  }

  /**
   * Phase 1 for the row a write changes: X-locks it and returns its newest version, undefined
   * when it does not exist (after locking the gap at REPEATABLE READ and SERIALIZABLE), or the
   * lock to wait for (then the caller waits and tries again).
   */
  private lockRowForWrite(trx: Trx, table: TableRuntime, keyBytes: Uint8Array): MutableRow | undefined | Promise<void> {
    const indexId = table.record.primary.id;
    const found = table.clustered.find(keyBytes, this.entry);
    const live = found && (this.entry.flags & ENTRY_DELETE_MARK) === 0;
    let wait: Promise<void> | undefined;
    if (found) {
      // The entry view is still this record's: taking a lock without waiting changes no page.
      this.rowLocks.convertImplicit(trx, indexId, keyBytes, readTrxId(this.entry.page, this.entry.valueOffset));
      wait = this.rowLocks.lock(
        trx,
        indexId,
        keyBytes,
        'X',
        live || trx.isolation === 'read-committed' ? 'record' : 'next-key',
      );
    } else if (trx.isolation !== 'read-committed') {
      wait = this.rowLocks.lock(trx, indexId, nextKey(table.clustered, keyBytes), 'X', 'gap');
    }
    if (wait !== undefined) return wait;
    return live ? rowFromEntry(table, this.entry) : undefined;
  }

  /** X locks on the secondary entries an update delete-marks, insert checks for the new ones. */
  private secondaryWriteLocks(
    trx: Trx,
    table: TableRuntime,
    affected: ReadonlySet<number>,
    oldKeys: readonly Uint8Array[],
    newKeys: readonly Uint8Array[],
    primaryKey: Uint8Array,
  ): Promise<void> | undefined {
    for (const i of affected) {
      const secondary = table.secondaries[i]!;
      let wait = this.rowLocks.lockSecondaryOfLockedRow(trx, table, i, oldKeys[i]!);
      if (wait !== undefined) return wait;
      if (secondary.index.unique) {
        wait = this.inserts.uniqueCheck(trx, table, i, newKeys[i]!, primaryKey);
        if (wait !== undefined) return wait;
      }
      wait = this.rowLocks.insertIntention(trx, secondary.index.id, secondary.tree, newKeys[i]!);
      if (wait !== undefined) return wait;
    }
    return undefined;
  }

  /** A primary-key change: delete-mark the old row, insert the new (both undone by rollback). */
  private async moveRow(
    trx: Trx,
    table: TableRuntime,
    oldKey: Uint8Array,
    current: MutableRow,
    next: MutableRow,
  ): Promise<boolean> {
    const { key: newKey } = prepareClustered(table, next, false);
    const newKeys = secondaryKeys(table, next);
    for (;;) {
      this.trxs.checkActive(trx);
      const wait = this.inserts.insertChecks(trx, table, newKey, next, newKeys, undefined, oldKey);
      if (wait === undefined) break;
      await this.rowLocks.waitLock(trx, wait);
    }
    this.deleteLocked(trx, table, oldKey, current);
    await this.inserts.insert(trx, table, next);
    return true;
  }

  /** Deletes (delete-marks) the row with primary key `key`. Returns false when there is none. */
  async delete(trx: Trx, table: TableRuntime, key: KeyInput): Promise<boolean> {
    this.trxs.checkWritable(trx);
    const keyBytes = primaryKeyBytes(table, key);
    return this.withLockedRow(trx, table, keyBytes, async (current) => {
      const oldKeys = secondaryKeys(table, current);
      let wait: Promise<void> | undefined;
      for (let i = 0; i < table.secondaries.length && wait === undefined; i++) {
        wait = this.rowLocks.lockSecondaryOfLockedRow(trx, table, i, oldKeys[i]!);
      }
      if (wait !== undefined) {
        await this.rowLocks.waitLock(trx, wait);
        return 'retry';
      }
      this.deleteLocked(trx, table, keyBytes, current);
      return true;
    });
  }

  /** Phase 2 of a delete: the row and its secondary entries are locked. */
  private deleteLocked(trx: Trx, table: TableRuntime, keyBytes: Uint8Array, current: MutableRow): void {
    assert(table.clustered.find(keyBytes, this.entry), 'RE1 the locked row is still there');
    const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
    const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
    const value = this.entry.page.slice(this.entry.valueOffset, this.entry.valueOffset + this.entry.valueLength);
    const page = this.trxSystem.page;
    const mtr = this.storage.startMtr();
    const rollPtr = appendRowUndo(
      trx,
      mtr,
      page,
      UndoRecordType.DeleteMark,
      table,
      keyBytes,
      undoFieldsOf(table, current, indexedColumns(table)),
      oldTrxId,
      oldRollPtr,
    );
    writeTrxIdInto(value, 0, trx.trxId);
    writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
    const locks = this.rowLocks.locks;
    changeClustered(mtr, locks, table, keyBytes, 'update', value, ENTRY_DELETE_MARK);
    for (const [i, k] of secondaryKeys(table, current).entries())
      changeSecondary(mtr, locks, table.secondaries[i]!, k, 'delete-mark');
    mtr.commit();
    this.stats.deletes++;
  }
}
