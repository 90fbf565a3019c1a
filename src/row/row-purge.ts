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
 * Large values (row-lob.ts): the LOBs of a removed record go with it, a LOB an update replaced
 * whole is freed, and the LOB versions a larger partial update made old are freed.
 * When a log is done it is unlinked from the history list and freed. Steps are bounded by a
 * record budget and resume where they stopped; repeating a record after a crash is harmless
 * (everything checks before it removes).
 *
 * ## What purge sees of the engine: `PurgeContext`
 * Purge reaches the engine only through `PurgeContext` (built by row-engine.ts): the purge view,
 * the history list, the undo pages, tables by id, the version walk, and mini-transactions. Its
 * index changes go through the same doors as every writer's (index-write.ts), so the change
 * buffer and the LOB layer see purge's removals too, and the locks on a removed record pass to
 * its successor there (lock_update_delete, rule IW2).
 *
 * Invariant:
 *  PG1 (PURGE-MONO, second half). Nothing an open read view or a rolling-back transaction can
 *      reach is removed: records are removed only for logs below the purge view's low_limit_no,
 *      and a secondary entry only when no version newer than the purge view's horizon has it.
 */
import { ENTRY_DELETE_MARK, type EntryView } from '../btree/btree.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { ReadView } from '../mvcc/read-view.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { decodeKey } from '../rec/key-codec.js';
import { ROW_ROLL_PTR_OFFSET, decodeRowAt, encodeSecondaryKey, readTrxId, type Row } from '../rec/row-format.js';
import type { ColumnValue } from '../rec/schema.js';
import { UndoFieldKind, decodeUndoField, undoFieldKind } from '../rec/undo-fields.js';
import { readRollPtrAt } from '../undo/roll-ptr.js';
import type { PageSource, UndoLogRef } from '../undo/undo-log.js';
import { UndoLogCursor, firstUndoRecord, nextUndoRecord, undoLogTrxNo } from '../undo/undo-log-read.js';
import { UndoRecordType } from '../undo/undo-record.js';
import { changeClustered, changeSecondary, prepareRemoveClustered } from './index-write.js';
import { purgeLobFields } from './row-lob.js';
import type { TableRuntime } from './table-runtime.js';

export interface PurgeResult {
  /** Undo records processed. */
  readonly records: number;
  /** Undo logs finished and freed. */
  readonly logs: number;
  /** History list length after the step. */
  readonly historyLength: number;
}

/** Everything purge needs from the engine, and nothing more. */
export interface PurgeContext {
  /** Clones the oldest open read view into the purge view (never backwards: PURGE-MONO). */
  clonePurgeView(): ReadView;
  /** The oldest committed update undo log in the history list, or undefined. */
  historyFirst(): UndoLogRef | undefined;
  historyLength(): number;
  /** Unlinks a log purge is done with from the history list and frees it, in bounded mtrs. */
  removeFromHistory(log: UndoLogRef): void;
  /** Where undo records are read from (the buffer pool). */
  readonly undoPages: PageSource;
  /** The table an undo record names, or undefined when it was dropped since. */
  tableById(tableId: number): TableRuntime | undefined;
  /** row_vers_old_has_index_entry (row-vers.ts) from the clustered record in `view`: may a view still see a version with `entry`? */
  recordOrOlderHasEntry(table: TableRuntime, layoutIndex: number, view: EntryView, entry: Uint8Array): boolean;
  startMtr(): MiniTransaction;
  /** The lock table: locks on a removed record pass to its successor (lock_update_delete, through index-write.ts). */
  readonly locks: LockManager;
  /** Called once per step, after the view is cloned (the fault VFS's 'purge-step' crash point). */
  onStep(): void;
}

export class Purge {
  private readonly ctx: PurgeContext;
  /**
   * Where the purge of the oldest log stopped: the cursor on its first record not yet processed
   * (U13: it holds page numbers and a copy of the record, never a frame). A step resumes there
   * instead of walking again from the log's first record, which made each step of a log of N
   * records cost up to N record reads (a transaction that deleted 500,000 rows: seconds per step).
   */
  private progress: { logPageNo: number; trxId: number; cursor: UndoLogCursor } | undefined;
  /** The one cursor every step reads with (a new one per log cost about 1% of an update workload's CPU: its copy buffer). */
  private readonly cursor = new UndoLogCursor();

  constructor(ctx: PurgeContext) {
    this.ctx = ctx;
  }

  /** One bounded step: at most `maxRecords` undo records purged, oldest log first. */
  step(maxRecords: number): PurgeResult {
    const ctx = this.ctx;
    const view = ctx.clonePurgeView();
    ctx.onStep();
    const source = ctx.undoPages;
    let records = 0;
    let logs = 0;
    while (records < maxRecords) {
      const log = ctx.historyFirst();
      if (log === undefined) break;
      if (!view.purgeable(undoLogTrxNo(source, log))) break;
      // A committed log in the history list does not change until purge frees it: the cursor
      // a step left on it is still on the record it names.
      const state = this.progress;
      const resumed = state !== undefined && state.logPageNo === log.pageNo && state.trxId === log.trxId;
      this.progress = undefined;
      const cursor = resumed ? state.cursor : this.cursor;
      let on = resumed || firstUndoRecord(source, log, cursor) !== undefined;
      while (on && records < maxRecords) {
        this.purgeRecord(cursor, log.trxId);
        records++;
        on = nextUndoRecord(source, cursor);
      }
      if (on) {
        this.progress = { logPageNo: log.pageNo, trxId: log.trxId, cursor }; // budget spent inside this log
        break;
      }
      ctx.removeFromHistory(log);
      logs++;
    }
    return { records, logs, historyLength: ctx.historyLength() };
  }

  private purgeRecord(record: UndoLogCursor, trxId: number): void {
    const ctx = this.ctx;
    const table = ctx.tableById(record.tableId);
    if (table === undefined) return; // dropped since
    // A copy: the undo page the record lies in may leave the pool while the indexes are searched.
    const key = record.primaryKey().slice();
    const rollPtr = record.rollPtr;
    const old = oldRow(table, key, record);
    const clustered = table.clustered;
    if (record.type === UndoRecordType.DeleteMark && clustered.find(key, clustered.view)) {
      const view = clustered.view;
      const stillThisDelete =
        (view.flags & ENTRY_DELETE_MARK) !== 0 &&
        readTrxId(view.page, view.valueOffset) === trxId &&
        readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET) === rollPtr;
      if (stillThisDelete) {
        const row = decodeRowAt(
          table.layout,
          view.page,
          view.keyOffset,
          view.keyLength,
          view.page,
          view.valueOffset,
          view.valueLength,
        );
        prepareRemoveClustered(table, key); // its LOBs' pages first, in bounded mtrs (IW2)
        const mtr = ctx.startMtr();
        for (const s of table.secondaries) {
          // 'purge' removes the entry only if it is still delete-marked: checked where it is
          // applied, so the change buffer can take it without reading the page.
          changeSecondary(mtr, ctx.locks, s, encodeSecondaryKey(table.layout, s.layoutIndex, row), 'purge');
        }
        changeClustered(mtr, ctx.locks, table, key, 'remove');
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
      if (this.stillNeeded(table, s.layoutIndex, key, entry)) continue;
      const mtr = ctx.startMtr();
      changeSecondary(mtr, ctx.locks, s, entry, 'purge'); // only if still delete-marked (see above)
      mtr.commit();
    }
    // Large values: a LOB the change replaced whole, and the LOB versions it made old (row-lob.ts).
    purgeLobFields(table, record);
  }

  /** row_purge_poss_sec: does the newest version, or one a view may still see, have `entry`? */
  private stillNeeded(table: TableRuntime, layoutIndex: number, key: Uint8Array, entry: Uint8Array): boolean {
    const clustered = table.clustered;
    if (!clustered.find(key, clustered.view)) return false;
    return this.ctx.recordOrOlderHasEntry(table, layoutIndex, clustered.view, entry);
  }
}

/** The columns an undo record knows of the old row: the primary key and its fields. */
function oldRow(
  table: TableRuntime,
  key: Uint8Array,
  record: UndoLogCursor,
): Record<string, ColumnValue | null | undefined> {
  const row: Record<string, ColumnValue | null | undefined> = {};
  const values = decodeKey(key, table.layout.primaryKey);
  table.layout.primaryKeyColumns.forEach((column, i) => {
    row[table.layout.schema.columns[column]!.name] = values[i] as ColumnValue;
  });
  const columns = table.layout.schema.columns;
  record.rewindFields();
  while (record.nextField()) {
    // Large values (other kinds) are never indexed: purge's secondary work does not need them.
    if (undoFieldKind(record.fieldNo) !== UndoFieldKind.Inline) continue;
    const def = columns[record.fieldNo]!;
    row[def.name] =
      record.valueLength < 0
        ? null
        : decodeUndoField(def.type, record.bytes, record.valueOffset, record.valueOffset + record.valueLength);
  }
  return row;
}

function coversColumns(table: TableRuntime, row: Record<string, unknown>, columns: Int16Array): boolean {
  for (const c of columns) if (!(table.layout.schema.columns[c]!.name in row)) return false;
  return true;
}
