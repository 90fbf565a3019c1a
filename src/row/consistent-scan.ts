/**
 * The rows of a consistent (non-locking) range scan, one per call: by primary key, or through a
 * secondary index with each row looked up in the clustered index.
 *
 * InnoDB counterpart: the consistent-read branch of `row/row0sel.cc` row_search_mvcc: the
 * persistent cursor steps to the next record in place (btr_pcur_move_to_next), the version the
 * view sees is built only when the record's DB_TRX_ID is not visible
 * (row_sel_build_prev_vers_for_mysql), and a secondary record is checked against its clustered
 * record only when the clustered version read is an older one or the secondary record is
 * delete-marked (row_sel_get_clust_rec_for_mysql calling row_sel_sec_rec_is_for_clust_rec).
 *
 * A row source is a plain object with `nextRow()`, not a generator: a range of 100 rows costs a
 * cursor step, a visibility check and a row decode per row, and no generator frame to resume. The
 * statement iterator (statement-view.ts) owns the view and calls `nextRow()` for each `next()`.
 *
 * Invariants:
 *  CS1. Every row returned is the version the scan's view sees of a record in the range, in key
 *       order (or reversed), at most `limit` of them (SV2 of statement-view.ts).
 *  CS2. Through a secondary index, a row is returned for an entry only when the version the view
 *       sees has that entry's key (SEC=CLUST per view): a live entry read against the newest
 *       version is its projection (RE3), every other case is compared.
 *  CS3. A row is returned with its large values read (`materializeRow`); a newest version whose
 *       value keeps nothing off-page (no EXTERN var end, W7) has no reference to read and is
 *       returned as decoded.
 */
import { ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { ScanIterator } from '../btree/btree-cursor.js';
import { compareBytes } from '../btree/index-page.js';
import type { ReadView } from '../mvcc/read-view.js';
import { encodeSecondaryKeyInto, holdsExternField, primaryKeyOffsetInSecondary, readTrxId } from '../rec/row-format.js';
import { materializeRow } from './row-lob.js';
import { type MutableRow, projectRow, type RowVersions, rowFromEntry } from './row-vers.js';
import type { RowSource } from './statement-view.js';
import type { SecondaryRuntime, TableRuntime } from './table-runtime.js';

/** Rows by primary key through `view` (CS1). `afterRow` runs before each step after the first (the consumer ran). */
export class ClusteredRows implements RowSource<MutableRow> {
  private count = 0;
  private started = false;

  constructor(
    private readonly table: TableRuntime,
    private readonly versions: RowVersions,
    private readonly view: ReadView,
    private readonly entries: ScanIterator,
    private readonly limit: number,
    private readonly afterRow: () => void,
    private readonly columns: Int16Array | undefined,
  ) {}

  nextRow(): MutableRow | undefined {
    if (this.started) this.afterRow();
    this.started = true;
    const entries = this.entries;
    const table = this.table;
    while (this.count < this.limit && entries.step()) {
      const entry = entries.cursor.view;
      if (this.view.changesVisible(readTrxId(entry.page, entry.valueOffset))) {
        // The newest version (RowVersions.visibleRow's first case), read here so that a row
        // with nothing off-page skips materializeRow's walk of its properties (CS3).
        if ((entry.flags & ENTRY_DELETE_MARK) !== 0) continue;
        this.count++;
        return newestRowOf(table, entry, this.columns);
      }
      const row = this.versions.visibleRow(table, entry, this.view, this.columns);
      if (row === undefined) continue;
      this.count++;
      return materializeRow(table, row);
    }
    return undefined;
  }

  /** The statement is over: the tree may reuse the scan (its holder never steps it again). */
  close(): void {
    this.table.clustered.releaseScan(this.entries);
  }
}

/**
 * The newest version of the clustered entry `entry`, ready to hand out (CS3): its large values
 * read when it keeps some off-page, else as decoded (a row decoded from such a value holds no
 * reference to look for).
 */
function newestRowOf(table: TableRuntime, entry: EntryView, columns: Int16Array | undefined): MutableRow {
  const row = rowFromEntry(table, entry, columns);
  return holdsExternField(table.layout, entry.page, entry.valueOffset) ? materializeRow(table, row) : row;
}

/**
 * Key bytes one secondary row lookup works in, shared by every scan: a lookup is synchronous and
 * runs no caller code, so two scans read in turn never see each other's bytes. Grown to the
 * largest table key met.
 */
function newScratch(bytes: number): { entryKey: Uint8Array; primary: Uint8Array; encoded: Uint8Array } {
  return { entryKey: new Uint8Array(bytes), primary: new Uint8Array(bytes), encoded: new Uint8Array(bytes) };
}
let scratch = newScratch(0);

/**
 * Rows through a secondary index (CS1, CS2): each entry's key is copied out of the leaf (the
 * clustered lookup may reuse the leaf's frame: CUR1), its clustered record found by the primary
 * key at its end, and the version the view sees compared with the entry only when it is an older
 * version or the entry is delete-marked.
 */
export class SecondaryRows implements RowSource<MutableRow> {
  private count = 0;
  private started = false;
  private readonly record: EntryView = newEntryView();
  /** `rowOf` read the newest version (its large values already read), not one rebuilt from undo. */
  private rowIsNewest = false;

  /** `readsNewest`: TEST ONLY (RowEngineTestSeams.indexScanReadsNewest): the newest version instead of the view's. */
  constructor(
    private readonly table: TableRuntime,
    private readonly secondary: SecondaryRuntime,
    private readonly versions: RowVersions,
    private readonly view: ReadView,
    private readonly entries: ScanIterator,
    private readonly limit: number,
    private readonly afterRow: () => void,
    private readonly readsNewest: boolean,
    private readonly columns: Int16Array | undefined,
  ) {
    const bytes = table.layout.maxKeyBytes + 16;
    if (scratch.entryKey.length < bytes) scratch = newScratch(bytes);
  }

  nextRow(): MutableRow | undefined {
    if (this.started) this.afterRow();
    this.started = true;
    const entries = this.entries;
    while (this.count < this.limit && entries.step()) {
      const row = this.rowOf(entries.cursor.view);
      if (row === undefined) continue;
      this.count++;
      return this.rowIsNewest ? row : materializeRow(this.table, row);
    }
    return undefined;
  }

  /** The statement is over: the index may reuse the scan (its holder never steps it again). */
  close(): void {
    this.secondary.tree.releaseScan(this.entries);
  }

  /** The row of the secondary entry `entry` as the view sees it, or undefined (CS2). */
  private rowOf(entry: EntryView): MutableRow | undefined {
    const table = this.table;
    const layout = table.layout;
    const layoutIndex = this.secondary.layoutIndex;
    const page = entry.page;
    const keyOffset = entry.keyOffset;
    const keyLength = entry.keyLength;
    const entryLive = (entry.flags & ENTRY_DELETE_MARK) === 0;
    const { entryKey, primary, encoded } = scratch;
    for (let i = 0; i < keyLength; i++) entryKey[i] = page[keyOffset + i]!;
    const at = primaryKeyOffsetInSecondary(layout, layoutIndex, entryKey, 0, keyLength);
    for (let i = at; i < keyLength; i++) primary[i - at] = entryKey[i]!;
    const record = this.record;
    if (!table.clustered.find(primary, record, keyLength - at)) return undefined;
    const view = this.readsNewest ? undefined : this.view;
    if (entryLive && (view === undefined || view.changesVisible(readTrxId(record.page, record.valueOffset)))) {
      // CS2: a live entry is the projection of its row's newest version (RE3): nothing to compare.
      this.rowIsNewest = true;
      return (record.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : newestRowOf(table, record, this.columns);
    }
    this.rowIsNewest = false;
    const row = this.versions.visibleRow(table, record, view);
    if (row === undefined) return undefined;
    const encodedLength = encodeSecondaryKeyInto(layout, layoutIndex, row, encoded, 0);
    if (compareBytes(encoded, 0, encodedLength, entryKey, 0, keyLength) !== 0) return undefined;
    return this.columns === undefined ? row : projectRow(table, row, this.columns);
  }
}
