/**
 * An index build in slices: a new secondary index filled from the clustered index a slice at a
 * time, so the caller can give the event loop back between slices (issue 11: no operation blocks
 * the process for long).
 *
 * InnoDB counterpart: `row/row0merge.cc` (row_merge_build_indexes: read the clustered index,
 * write the new one) run by ALTER TABLE ... ADD INDEX, ALGORITHM=INPLACE, LOCK=SHARED: reads go
 * on while the index builds, writes to the table wait (InnoDB's LOCK=NONE would let them go on
 * and replay them from an online log, `row0log.cc`; minno does not keep such a log). The build
 * copies the newest version of every row, delete-marked rows as delete-marked entries (purge
 * removes them as it would have), checking uniqueness on the live ones, in mtrs of 64 entries.
 *
 *     start (dictionary: 'building', durable) --copy slices--> copied --finish--> ready (installed)
 *                    \--------------- error / cancel: abandon (index dropped) ---------/
 *     a crash anywhere: the next open drops the 'building' index (dict/dictionary.ts cleanUp)
 *
 * Each slice re-enters the clustered index after the last key it copied, so no cursor is held
 * across event-loop turns (the pages it would point into may leave the buffer pool meanwhile).
 *
 * Invariants:
 *  IB1. While an index of a table is being built, nothing writes that table's clustered index:
 *       writes wait or are refused (row-engine.ts), purge waits (row-engine.ts `purgeStep`), and
 *       DDL on the table is refused (row-ddl.ts). Asserted at the one door of clustered writes
 *       (index-write.ts `changeClustered`). So the rows copied in earlier slices are still the
 *       rows when the index becomes ready, and the uniqueness checked across slices still holds.
 *  IB2. Slices copy each clustered record exactly once, in key order (each starts after the
 *       last key the previous one copied).
 *  IB3. A unique build's memory does not grow with the table: a live row's secondary columns are
 *       checked against the entries already in the new tree (every live one, past any
 *       delete-marked entry with the same values) and against the pending batch's (at most
 *       BUILD_BATCH_ENTRIES), and nothing else is kept. Until session 6 the build kept every
 *       live row's values in a Set of hex strings (50 bytes a row and more: the string and its
 *       slot), 50 MiB and more beside the pool for a million rows. InnoDB's merge sort (row0merge) finds duplicates in its sorted
 *       runs, within its sort buffer.
 */
import { DuplicateKeyError, KeyTooLargeError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { IndexRecord } from '../dict/dictionary.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { BTree } from '../btree/btree.js';
import { compareBytes } from '../rec/key-codec.js';
import { LobRef } from '../rec/lob-ref.js';
import { decodeRowAt, encodeSecondaryKey, type TableLayout } from '../rec/row-format.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import { assert } from '../util/assert.js';
import { changeSecondary } from './index-write.js';
import { hex, secondaryPrefix, startsWith } from './keys.js';
import { TableRuntime } from './table-runtime.js';

/** Index-build batch: entries written per mini-transaction. */
const BUILD_BATCH_ENTRIES = 64;

export type IndexBuildState = 'copying' | 'copied' | 'finished' | 'abandoned';

export class IndexBuild {
  /** The table as it was when the build started (its runtime carries `indexBuilding`: IB1). */
  readonly table: TableRuntime;
  readonly index: IndexRecord;
  /** Rows (clustered records, delete-marked ones included) copied so far. */
  rows = 0;
  private stateValue: IndexBuildState = 'copying';
  private readonly storage: Storage;
  private readonly locks: LockManager;
  private readonly layout: TableLayout;
  private readonly target: { index: IndexRecord; tree: BTree; layoutIndex: number };
  /** The last clustered key copied: the next slice starts after it (IB2). */
  private resumeAfter: Uint8Array | undefined;
  /** Secondary-column prefixes of the live rows in `batch` (a unique index; IB3). */
  private readonly batchPrefixes = new Set<string>();
  private batch: Array<{ key: Uint8Array; marked: boolean }> = [];

  /** Use `RowDdl.startIndexBuild`: the index must be recorded 'building' already. */
  constructor(
    storage: Storage,
    locks: LockManager,
    table: TableRuntime,
    def: IndexDef,
    index: IndexRecord,
    tree: BTree,
  ) {
    this.storage = storage;
    this.locks = locks;
    this.table = table;
    this.index = index;
    const schema: TableSchema = { ...table.record.schema, indexes: [...(table.record.schema.indexes ?? []), def] };
    this.layout = new TableRuntime(storage, { ...table.record, schema, indexes: [] }).layout;
    const layoutIndex = this.layout.indexes.findIndex((l) => l.def.name === index.name);
    this.target = { index, tree, layoutIndex };
  }

  get state(): IndexBuildState {
    return this.stateValue;
  }

  /**
   * Copies rows until all are copied (returns true) or `shouldYield` says to stop (checked after
   * each mtr of entries; returns false, and the next call goes on where this one stopped).
   * Throws DuplicateKeyError for a unique index two live rows share, KeyTooLargeError for a row
   * whose value of an indexed column is stored off-page; the caller then abandons.
   */
  copySlice(shouldYield: () => boolean): boolean {
    assert(this.stateValue === 'copying', () => `IB2 a build copies only while copying (it is ${this.stateValue})`);
    const layout = this.layout;
    const li = this.target.layoutIndex;
    const spec = layout.indexes[li]!;
    const from = this.resumeAfter;
    for (const entry of this.table.clustered.scan(from === undefined ? {} : { gt: from })) {
      assert(from === undefined || compareBytes(entry.key, from) > 0, 'IB2 a slice starts after the last key copied');
      const row = decodeRowAt(layout, entry.key, 0, entry.key.length, entry.value, 0, entry.value.length);
      for (const name of this.index.columns) {
        // Index entries never point off-page (rec/row-format.ts W8): a value the row keeps on LOB
        // pages is not indexed; the row must store it smaller first.
        const value = row[name];
        if (value instanceof LobRef)
          throw new KeyTooLargeError(
            this.index.name,
            layout.maxKeyBytes,
            `column ${JSON.stringify(name)} holds a value of ${value.length} bytes stored off-page in a row, and index entries never point off-page`,
          );
      }
      const key = encodeSecondaryKey(layout, li, row);
      if (this.index.unique && !entry.deleteMarked) {
        const prefix = secondaryPrefix(spec.spec, spec.secondaryFieldCount, key);
        if (prefix !== undefined) {
          const id = hex(prefix);
          if (this.batchPrefixes.has(id) || this.liveEntryWith(prefix))
            throw new DuplicateKeyError(this.table.name, this.index.name, '(two existing rows share its values)');
          this.batchPrefixes.add(id);
        }
      }
      this.batch.push({ key, marked: entry.deleteMarked });
      this.rows++;
      this.resumeAfter = entry.key;
      if (this.batch.length >= BUILD_BATCH_ENTRIES) {
        this.flush();
        if (shouldYield()) return false;
      }
    }
    this.flush();
    this.stateValue = 'copied';
    return true;
  }

  /** @internal RowDdl moves the state on. */
  setState(state: 'finished' | 'abandoned'): void {
    this.stateValue = state;
  }

  /**
   * IB3: whether the new tree holds a live entry with these secondary columns. Every entry in it
   * came from this build (IB1), and a live one from a live row; delete-marked ones are passed over.
   */
  private liveEntryWith(prefix: Uint8Array): boolean {
    const cursor = this.target.tree.cursor();
    for (let on = cursor.seek(prefix, 'ge'); on && startsWith(cursor.key(), prefix); on = cursor.next())
      if (!cursor.deleteMarked) return true;
    return false;
  }

  /** Writes the pending entries in one mtr (IW1: through `changeSecondary`). */
  private flush(): void {
    if (this.batch.length === 0) return;
    const mtr = this.storage.startMtr();
    for (const item of this.batch)
      changeSecondary(mtr, this.locks, this.target, item.key, item.marked ? 'insert-marked' : 'insert');
    mtr.commit();
    this.batch = [];
    this.batchPrefixes.clear();
  }
}
