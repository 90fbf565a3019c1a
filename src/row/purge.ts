/**
 * Purge: removes what no read view can see any more, and frees the undo that described it.
 *
 * InnoDB counterpart: `trx/trx0purge.cc` (trx_purge: clone the oldest view, walk the history list)
 * and `row/row0purge.cc` (row_purge_del_mark, row_purge_upd_exist_or_extern, row_purge_poss_sec).
 *
 * Each step clones the purge view (never backwards: PURGE-MONO, trx-system.ts), then takes the
 * committed update undo logs off the history list oldest first, while their serialisation number
 * is below the view's low_limit_no (every open view sees those transactions). For each record:
 *  - DELETE_MARK: if the clustered record is still delete-marked by this very change (its roll
 *    pointer names this undo record), no view can see the row: remove its secondary entries and
 *    the record itself.
 *  - an update that changed indexed columns: the old secondary entries (delete-marked by the
 *    update) are removed unless some version a view may still see has the same entry.
 * When a log is done it is unlinked from the history list and freed. Steps are bounded by a
 * record budget and resume where they stopped; repeating a record after a crash is harmless
 * (everything checks before it removes).
 *
 * Invariant:
 *  PG1 (PURGE-MONO, second half). Nothing an open read view or a rolling-back transaction can
 *      reach is removed: records are removed only for logs below the purge view's low_limit_no,
 *      and a secondary entry only when no version newer than the purge view's horizon has it.
 */
import { decodeKey } from '../btree/key-codec.js';
import { ENTRY_DELETE_MARK } from '../btree/btree.js';
import { ROW_ROLL_PTR_OFFSET, decodeRowAt, encodeSecondaryKey, readTrxId, type Row } from '../btree/row-format.js';
import type { ColumnValue } from '../btree/schema.js';
import { readRollPtrAt } from '../undo/roll-ptr.js';
import { UndoRecordType } from '../undo/undo-record.js';
import { UndoLogCursor, firstUndoRecord, nextUndoRecord, removeFromHistory, undoLogInfo } from '../undo/undo-log.js';
import { decodeUndoField } from './undo-fields.js';
import { onEntryRemoved } from '../lock/gap-inheritance.js';
import type { RowEngine } from './row-engine.js';
import type { TableRuntime } from './table-runtime.js';

export interface PurgeResult {
  /** Undo records processed. */
  readonly records: number;
  /** Undo logs finished and freed. */
  readonly logs: number;
  /** History list length after the step. */
  readonly historyLength: number;
}

/** Where the purge of the oldest log stopped (records of it already processed). */
const progress = new WeakMap<RowEngine, { logPageNo: number; done: number }>();

export function purgeStep(engine: RowEngine, maxRecords: number): PurgeResult {
  const view = engine.trxSystem.clonePurgeView();
  engine.storage.vfs.engineEvent('purge-step');
  const source = engine.source;
  let records = 0;
  let logs = 0;
  while (records < maxRecords) {
    const log = engine.trxSys.historyFirst(source);
    if (log === undefined) break;
    const info = undoLogInfo(source, log);
    if (!view.purgeable(info.trxNo)) break;
    let state = progress.get(engine);
    if (state === undefined || state.logPageNo !== log.pageNo) progress.set(engine, (state = { logPageNo: log.pageNo, done: 0 }));
    const cursor = new UndoLogCursor();
    let on = firstUndoRecord(source, log, cursor) !== undefined;
    for (let skip = state.done; on && skip > 0; skip--) on = nextUndoRecord(source, cursor);
    while (on && records < maxRecords) {
      purgeRecord(engine, cursor, log.trxId);
      state.done++;
      records++;
      on = nextUndoRecord(engine.source, cursor);
    }
    if (on) break; // budget spent inside this log
    for (let done = false; !done; ) {
      const mtr = engine.storage.startMtr();
      done = removeFromHistory(mtr, engine.trxSys, log);
      mtr.commit();
    }
    progress.delete(engine);
    logs++;
  }
  return { records, logs, historyLength: engine.trxSys.historyLength(source) };
}

function purgeRecord(engine: RowEngine, record: UndoLogCursor, trxId: number): void {
  const table = engine.tableById(record.tableId);
  if (table === undefined) return; // dropped since
  // A copy: the undo page the record lies in may leave the pool while the indexes are searched.
  const key = record.primaryKey().slice();
  const rollPtr = record.rollPtr;
  const old = oldRow(table, key, record);
  const clustered = table.clustered;
  const found = clustered.find(key, clustered.view);
  if (record.type === UndoRecordType.DeleteMark && found) {
    const view = clustered.view;
    const stillThisDelete =
      (view.flags & ENTRY_DELETE_MARK) !== 0 &&
      readTrxId(view.page, view.valueOffset) === trxId &&
      readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET) === rollPtr;
    if (stillThisDelete) {
      const row = decodeRowAt(table.layout, view.page, view.keyOffset, view.keyLength, view.page, view.valueOffset, view.valueLength);
      const mtr = engine.storage.startMtr();
      for (const s of table.secondaries) {
        const entry = encodeSecondaryKey(table.layout, s.layoutIndex, row);
        if (s.tree.find(entry, s.tree.view) && (s.tree.view.flags & ENTRY_DELETE_MARK) !== 0) {
          onEntryRemoved(engine.locks, s.index.id, s.tree, entry); // issue 10: lock_update_delete
          s.tree.delete(mtr, entry);
        }
      }
      onEntryRemoved(engine.locks, table.record.primary.id, clustered, key); // issue 10: lock_update_delete
      clustered.delete(mtr, key);
      mtr.commit();
      return;
    }
  }
  // Old secondary entries of an update (or of a delete whose row came back): remove those that no
  // visible version needs.
  for (const s of table.secondaries) {
    const columns = table.layout.indexes[s.layoutIndex]!.keyColumns;
    if (!coversColumns(table, old, columns)) continue;
    const entry = encodeSecondaryKey(table.layout, s.layoutIndex, old as Row);
    if (!s.tree.find(entry, s.tree.view) || (s.tree.view.flags & ENTRY_DELETE_MARK) === 0) continue;
    if (stillNeeded(engine, table, s.layoutIndex, key, entry)) continue;
    const mtr = engine.storage.startMtr();
    onEntryRemoved(engine.locks, s.index.id, s.tree, entry); // issue 10: lock_update_delete
    s.tree.delete(mtr, entry);
    mtr.commit();
  }
}

/** row_purge_poss_sec: does the newest version, or one a view may still see, have `entry`? */
function stillNeeded(engine: RowEngine, table: TableRuntime, layoutIndex: number, key: Uint8Array, entry: Uint8Array): boolean {
  const clustered = table.clustered;
  if (!clustered.find(key, clustered.view)) return false;
  const view = clustered.view;
  const version = {
    row: decodeRowAt(table.layout, view.page, view.keyOffset, view.keyLength, view.page, view.valueOffset, view.valueLength) as Record<string, ColumnValue | null>,
    deleted: (view.flags & ENTRY_DELETE_MARK) !== 0,
    trxId: readTrxId(view.page, view.valueOffset),
    rollPtr: readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET),
  };
  return engine.olderVersionHasEntry(table, layoutIndex, version, entry);
}

/** The columns an undo record knows of the old row: the primary key and its fields. */
function oldRow(table: TableRuntime, key: Uint8Array, record: UndoLogCursor): Record<string, ColumnValue | null | undefined> {
  const row: Record<string, ColumnValue | null | undefined> = {};
  const values = decodeKey(key, table.layout.primaryKey);
  table.layout.primaryKeyColumns.forEach((column, i) => {
    row[table.layout.schema.columns[column]!.name] = values[i] as ColumnValue;
  });
  const columns = table.layout.schema.columns;
  record.rewindFields();
  while (record.nextField()) {
    const def = columns[record.fieldNo]!;
    row[def.name] = record.valueLength < 0 ? null : decodeUndoField(def.type, record.bytes, record.valueOffset, record.valueOffset + record.valueLength);
  }
  return row;
}

function coversColumns(table: TableRuntime, row: Record<string, unknown>, columns: Int16Array): boolean {
  for (const c of columns) if (!(table.layout.schema.columns[c]!.name in row)) return false;
  return true;
}
