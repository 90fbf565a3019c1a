/**
 * Row versions: the version of a clustered record a read view sees, rebuilt along its undo chain.
 *
 * InnoDB counterpart: `row/row0vers.cc` (row_vers_build_for_consistent_read,
 * row_vers_old_has_index_entry) and `trx/trx0rec.cc` (trx_undo_prev_version_build). The newest
 * version of a row is in the clustered tree; each older one is rebuilt by applying the undo record
 * its roll pointer names (the old values of the columns that changed), newest first:
 *
 *     clustered: {id 1, v: 'c', trx 30, roll -> U3}
 *                 U3 (trx 30's update undo): v was 'b', trx 20, roll -> U2
 *                 U2 (trx 20's update undo): v was 'a', trx 10, roll -> insert undo (no older version)
 *
 * A consistent read walks the chain until a version's DB_TRX_ID is visible to its read view.
 *
 * `olderVersionHasEntry` (row_vers_old_has_index_entry) asks whether a version some view may still
 * see has a given secondary entry; rollback and purge ask it before removing one. It walks back
 * only while the purge view cannot see a version's writer: older versions are invisible to every
 * view, and purge may have freed their undo. Seed 002 is this walk reading undo that purge had
 * already freed because the purge view went backwards; ours cannot (mvcc/trx-system.ts), and the
 * undo reader raises corruption rather than read a freed page (U9), so the test has something to
 * catch.
 *
 * Invariant:
 *  RE2. A clustered entry's DB_TRX_ID and DB_ROLL_PTR name the transaction that wrote it and its
 *       undo record; the chain from it ends in an insert undo pointer or a null roll pointer.
 */
import { ENTRY_DELETE_MARK, type EntryView } from '../btree/btree.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import type { ReadView } from '../mvcc/read-view.js';
import { compareBytes } from '../rec/key-codec.js';
import {
  ROW_ROLL_PTR_OFFSET,
  decodeRowAt,
  encodeSecondaryKey,
  readTrxId,
  type StoredValue,
} from '../rec/row-format.js';
import { olderStoredValue, undoFieldColumn } from '../rec/undo-fields.js';
import { readRollPtrAt, rollPtrIsInsert, type RollPtr } from '../undo/roll-ptr.js';
import type { PageSource } from '../undo/undo-log.js';
import { UndoLogCursor, readUndoRecord } from '../undo/undo-log-read.js';
import { UndoRecordType, type UndoRecordCursor } from '../undo/undo-record.js';
import { assert } from '../util/assert.js';
import type { EngineStats } from './engine-stats.js';
import type { TableRuntime } from './table-runtime.js';

/** A row as the row layer holds it: large values stay `LobRef`s until the API reads them (row-lob.ts). */
export type MutableRow = Record<string, StoredValue | null>;

/** One version of a row, stepped back in place by `previousVersion`. */
export interface Version {
  row: MutableRow;
  deleted: boolean;
  trxId: number;
  rollPtr: RollPtr;
}

export class RowVersions {
  private readonly pages: PageSource;
  private readonly trxSystem: TrxSystem;
  private readonly stats: EngineStats;
  private readonly undoCursor = new UndoLogCursor();
  /** TEST ONLY (RowEngineTestSeams.lobDiffReaderLosesPlace): seed 003 put back. */
  private readonly lobDiffReaderLosesPlace: boolean;

  constructor(pages: PageSource, trxSystem: TrxSystem, stats: EngineStats, lobDiffReaderLosesPlace = false) {
    this.pages = pages;
    this.trxSystem = trxSystem;
    this.stats = stats;
    this.lobDiffReaderLosesPlace = lobDiffReaderLosesPlace;
  }

  /**
   * The version of the entry in `view` visible to `readView` (undefined: the newest); with
   * `columns` (schema indexes, ascending), those columns only. An older version is rebuilt from the
   * whole row (an undo record names the columns that changed) and projected at the end.
   */
  visibleRow(
    table: TableRuntime,
    view: EntryView,
    readView: ReadView | undefined,
    columns?: Int16Array,
  ): MutableRow | undefined {
    const trxId = readTrxId(view.page, view.valueOffset);
    const deleted = (view.flags & ENTRY_DELETE_MARK) !== 0;
    if (readView === undefined || readView.changesVisible(trxId))
      return deleted ? undefined : rowFromEntry(table, view, columns);
    const version: Version = {
      row: rowFromEntry(table, view),
      deleted,
      trxId,
      rollPtr: readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET),
    };
    while (this.previousVersion(table, version)) {
      if (!readView.changesVisible(version.trxId)) continue;
      if (version.deleted) return undefined;
      return columns === undefined ? version.row : projectRow(table, version.row, columns);
    }
    return undefined;
  }

  /** Steps `version` to the one before it; false when there is none (it was inserted). */
  previousVersion(table: TableRuntime, version: Version): boolean {
    if (rollPtrIsInsert(version.rollPtr)) return false;
    const cursor = readUndoRecord(this.pages, version.rollPtr, version.trxId, this.undoCursor);
    this.stats.versionsBuilt++;
    applyUndoFields(table, cursor, version.row, this.lobDiffReaderLosesPlace);
    version.deleted = cursor.type === UndoRecordType.UpdateDeleteMarked;
    version.trxId = cursor.oldTrxId;
    version.rollPtr = cursor.oldRollPtr;
    return true;
  }

  /**
   * The versions of the record in `view`, newest first, back to the first one the purge view sees
   * (older ones are invisible to every view and their undo may be freed). For tools and test
   * scripts that show a row's undo chain; each version is a copy.
   */
  chain(table: TableRuntime, view: EntryView): Version[] {
    const version = newestVersion(table, view);
    const versions: Version[] = [];
    for (;;) {
      versions.push({ ...version, row: { ...version.row } });
      if (this.trxSystem.purgeView.changesVisible(version.trxId)) return versions;
      if (!this.previousVersion(table, version)) return versions;
    }
  }

  /**
   * row_vers_old_has_index_entry: does `version` or an older one that some read view may still
   * see have secondary key `entry`? Walks back only while the purge view cannot see a version's
   * writer (older versions are invisible to every view, and purge may have freed their undo).
   */
  olderVersionHasEntry(table: TableRuntime, layoutIndex: number, version: Version, entry: Uint8Array): boolean {
    const purgeView = this.trxSystem.purgeView;
    for (;;) {
      if (!version.deleted && compareBytes(encodeSecondaryKey(table.layout, layoutIndex, version.row), entry) === 0)
        return true;
      if (purgeView.changesVisible(version.trxId)) return false;
      if (!this.previousVersion(table, version)) return false;
    }
  }

  /**
   * `olderVersionHasEntry` from the clustered record in `view` (purge's row_purge_poss_sec). The
   * record itself is decoded for the index's columns only: most often its writer is visible to
   * the purge view and the walk ends there. Stepping back decodes the whole row, since an undo
   * record may name any column (a LOB-DIFF field needs the newer value it applies to).
   */
  recordOrOlderHasEntry(table: TableRuntime, layoutIndex: number, view: EntryView, entry: Uint8Array): boolean {
    const newest = newestVersion(table, view, table.layout.indexes[layoutIndex]!.keyColumns);
    if (!newest.deleted && compareBytes(encodeSecondaryKey(table.layout, layoutIndex, newest.row), entry) === 0)
      return true;
    if (this.trxSystem.purgeView.changesVisible(newest.trxId)) return false;
    return this.olderVersionHasEntry(table, layoutIndex, newestVersion(table, view), entry);
  }
}

/** The newest version of the record in `view`, as a `Version` to step back from. */
export function newestVersion(table: TableRuntime, view: EntryView, columns?: Int16Array): Version {
  return {
    row: rowFromEntry(table, view, columns),
    deleted: (view.flags & ENTRY_DELETE_MARK) !== 0,
    trxId: readTrxId(view.page, view.valueOffset),
    rollPtr: readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET),
  };
}

/** The row in the clustered entry `view` (its newest version); with `columns`, those columns only. */
export function rowFromEntry(table: TableRuntime, view: EntryView, columns?: Int16Array): MutableRow {
  return decodeRowAt(
    table.layout,
    view.page,
    view.keyOffset,
    view.keyLength,
    view.page,
    view.valueOffset,
    view.valueLength,
    columns,
  ) as MutableRow;
}

/** The `columns` (schema indexes, ascending) of a whole row, as a new row in schema order. */
export function projectRow(table: TableRuntime, row: MutableRow, columns: Int16Array): MutableRow {
  const schemaColumns = table.layout.schema.columns;
  const projected: MutableRow = {};
  for (let c = 0; c < columns.length; c++) {
    const name = schemaColumns[columns[c]!]!.name;
    projected[name] = row[name] ?? null;
  }
  return projected;
}

/**
 * Applies an undo record's old values to `row` (the version before the change). A large value's
 * old version is a `LobRef`: the replaced LOB, the LOB at its older version, or with the undo
 * diffs of an in-place change to put back (rec/undo-fields.ts UF3, rule LOB-DIFF).
 */
export function applyUndoFields(
  table: TableRuntime,
  cursor: UndoRecordCursor,
  row: MutableRow,
  lobDiffReaderLosesPlace = false,
): void {
  const columns = table.layout.schema.columns;
  cursor.rewindFields();
  while (cursor.nextField()) {
    const def = columns[undoFieldColumn(cursor.fieldNo)];
    assert(def !== undefined, `undo field ${cursor.fieldNo} names a column of ${table.name}`);
    row[def.name] =
      cursor.valueLength < 0
        ? null
        : olderStoredValue(
            def.type,
            cursor.fieldNo,
            cursor.bytes,
            cursor.valueOffset,
            cursor.valueOffset + cursor.valueLength,
            row[def.name],
            lobDiffReaderLosesPlace,
          );
  }
}
