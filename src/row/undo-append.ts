/**
 * Writing the undo record of a row change, before the change itself, in the same mtr.
 *
 * InnoDB counterpart: `trx/trx0rec.cc` (trx_undo_report_row_operation, trx_undo_page_report_modify):
 * an insert writes a TRX_UNDO_INSERT_REC to the transaction's insert undo log; an update, a delete
 * mark, or an insert over a delete-marked record writes the old values of the columns that change
 * to its update undo log, with the record's old DB_TRX_ID and DB_ROLL_PTR, and the new record's
 * DB_ROLL_PTR points at it (RE2). A transaction's logs are created at its first write of each kind.
 * Old values are stored in the record format's field encoding (rec/undo-fields.ts).
 */
import type { MiniTransaction } from '../redo/mtr.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSysPage } from '../mvcc/trx-sys-page.js';
import type { StoredRow } from '../rec/row-format.js';
import { UndoFieldKind, encodeStoredUndoField, undoFieldKind, undoFieldNo } from '../rec/undo-fields.js';
import type { RollPtr } from '../undo/roll-ptr.js';
import { appendUndoRecord, createUndoLog, type UndoLogRef } from '../undo/undo-log.js';
import {
  UNDO_FLAG_FIELD_KINDS,
  UndoRecordType,
  encodeUndoRecord,
  type UndoField,
  type UndoRecordTypeValue,
} from '../undo/undo-record.js';
import type { TableRuntime } from './table-runtime.js';

function undoLogFor(trx: Trx, mtr: MiniTransaction, trxSysPage: TrxSysPage, kind: 'insert' | 'update'): UndoLogRef {
  if (kind === 'insert') return (trx.insertUndo ??= createUndoLog(mtr, trxSysPage, trx.trxId, 'insert'));
  return (trx.updateUndo ??= createUndoLog(mtr, trxSysPage, trx.trxId, 'update'));
}

/** Appends the undo record of a change of row `key` in `table` and returns its roll pointer. */
export function appendRowUndo(
  trx: Trx,
  mtr: MiniTransaction,
  trxSysPage: TrxSysPage,
  type: UndoRecordTypeValue,
  table: TableRuntime,
  key: Uint8Array,
  fields: readonly UndoField[],
  oldTrxId: number,
  oldRollPtr: RollPtr,
): RollPtr {
  const bytes = encodeUndoRecord({
    type,
    // A field kind other than Inline (a large value's reference, diffs, version) needs the flag (U2).
    flags: fields.some((f) => undoFieldKind(f.fieldNo) !== UndoFieldKind.Inline) ? UNDO_FLAG_FIELD_KINDS : 0,
    undoNo: trx.undoNo,
    tableId: table.id,
    oldTrxId,
    oldRollPtr,
    primaryKey: key,
    fields,
  });
  const log = undoLogFor(trx, mtr, trxSysPage, type === UndoRecordType.Insert ? 'insert' : 'update');
  const rollPtr = appendUndoRecord(mtr, log, bytes);
  trx.undoNo++;
  return rollPtr;
}

/**
 * Undo fields: the old values of `columns` (table column indexes) in `row`. Key columns are
 * skipped. A value on LOB pages is remembered by its reference (an Extern field: the LOB stays for
 * older readers until purge frees it).
 */
export function undoFieldsOf(table: TableRuntime, row: StoredRow, columns: Iterable<number>): UndoField[] {
  const fields: UndoField[] = [];
  const schema = table.layout.schema;
  for (const column of columns) {
    if (table.layout.keyPosition[column]! >= 0) continue;
    const def = schema.columns[column]!;
    const value = row[def.name];
    if (value === null || value === undefined) {
      fields.push({ fieldNo: undoFieldNo(UndoFieldKind.Inline, column), value: null });
      continue;
    }
    const { kind, bytes } = encodeStoredUndoField(def.type, value);
    fields.push({ fieldNo: undoFieldNo(kind, column), value: bytes });
  }
  return fields;
}

/** Every column of the table (an insert over a delete-marked record remembers the whole old row). */
export function allStoredColumns(table: TableRuntime): number[] {
  return table.layout.schema.columns.map((_, i) => i);
}

/** The columns of any secondary index (a delete mark remembers them, for purge and rollback). */
export function indexedColumns(table: TableRuntime): Set<number> {
  const columns = new Set<number>();
  for (const s of table.secondaries) for (const c of table.layout.indexes[s.layoutIndex]!.keyColumns) columns.add(c);
  return columns;
}
