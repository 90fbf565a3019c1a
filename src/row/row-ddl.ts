/**
 * DDL as the row layer runs it: tables and indexes created and dropped, and an index built from
 * the rows already there.
 *
 * InnoDB counterpart: `row/row0mysql.cc` (row_create_table_for_mysql, row_drop_table_for_mysql)
 * and `row/row0merge.cc` (row_merge_build_indexes: read the clustered index, write the new one).
 * The crash safety of each step is the dictionary's (dict/dictionary.ts); this file decides what
 * may run when, and fills a new index.
 *
 * DDL waits for no transaction: it is refused (ERR_IN_USE) while any read-write transaction is
 * open, instead of InnoDB's metadata locks. A new index is stamped with a number from the id
 * counter: views opened before it cannot use it (ERR_INDEX_NOT_VISIBLE), since older versions of
 * rows may lack their entries. The build copies the newest version of every row, delete-marked
 * rows as delete-marked entries (purge removes them as it would have), checking uniqueness on the
 * live ones, in mtrs of 64 entries.
 */
import { DuplicateKeyError, InUseError, UnknownIndexError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { Dictionary } from '../dict/dictionary.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { decodeRowAt, encodeSecondaryKey } from '../rec/row-format.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import { changeSecondary } from './index-write.js';
import { hex, secondaryPrefix } from './keys.js';
import { TableRuntime, type TableCache } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';

/** Index-build batch: entries written per mini-transaction. */
const BUILD_BATCH_ENTRIES = 64;

export class RowDdl {
  private readonly storage: Storage;
  private readonly dictionary: Dictionary;
  private readonly trxSystem: TrxSystem;
  private readonly tables: TableCache;
  private readonly trxs: TrxLifecycle;
  private readonly locks: LockManager;

  constructor(
    storage: Storage,
    dictionary: Dictionary,
    trxSystem: TrxSystem,
    tables: TableCache,
    trxs: TrxLifecycle,
    locks: LockManager,
  ) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.trxSystem = trxSystem;
    this.tables = tables;
    this.trxs = trxs;
    this.locks = locks;
  }

  createTable(schema: TableSchema): TableRuntime {
    const record = this.dictionary.createTable(schema, this.trxSystem.allocateDdlId());
    return this.tables.install(record);
  }

  dropTable(name: string): void {
    const table = this.tables.get(name);
    this.checkTableIdle(table, 'drop');
    this.dictionary.dropTable(name);
    this.tables.remove(table);
  }

  /** Adds a secondary index, filled from the newest version of every row. */
  createIndex(tableName: string, def: IndexDef): TableRuntime {
    const table = this.tables.get(tableName);
    this.checkTableIdle(table, 'add an index to');
    // The index exists for views opened after this id: older snapshots may need versions it lacks.
    const createdAt = this.trxSystem.allocateDdlId();
    this.trxSystem.clonePurgeView();
    const record = this.dictionary.createIndex(tableName, def, createdAt, (tree, index) => {
      const schema: TableSchema = { ...table.record.schema, indexes: [...(table.record.schema.indexes ?? []), def] };
      const layout = new TableRuntime(this.storage, { ...table.record, schema, indexes: [] }).layout;
      const li = layout.indexes.findIndex((l) => l.def.name === index.name);
      const target = { index, tree, layoutIndex: li };
      const scan = table.clustered.scan();
      const seen = new Set<string>(); // secondary-column prefixes of live rows (a unique index)
      let batch: Array<{ key: Uint8Array; marked: boolean }> = [];
      const flush = (): void => {
        const mtr = this.storage.startMtr();
        for (const item of batch)
          changeSecondary(mtr, this.locks, target, item.key, item.marked ? 'insert-marked' : 'insert');
        mtr.commit();
        batch = [];
      };
      for (const entry of scan) {
        const row = decodeRowAt(layout, entry.key, 0, entry.key.length, entry.value, 0, entry.value.length);
        const key = encodeSecondaryKey(layout, li, row);
        if (index.unique && !entry.deleteMarked) {
          const prefix = secondaryPrefix(layout.indexes[li]!.spec, layout.indexes[li]!.secondaryFieldCount, key);
          if (prefix !== undefined) {
            const id = hex(prefix);
            if (seen.has(id))
              throw new DuplicateKeyError(table.name, index.name, '(two existing rows share its values)');
            seen.add(id);
          }
        }
        batch.push({ key, marked: entry.deleteMarked });
        if (batch.length >= BUILD_BATCH_ENTRIES) flush();
      }
      if (batch.length > 0) flush();
    });
    return this.tables.install(record);
  }

  dropIndex(tableName: string, indexName: string): TableRuntime {
    const table = this.tables.get(tableName);
    if (table.secondary(indexName) === undefined) {
      throw new UnknownIndexError(
        tableName,
        indexName,
        table.secondaries.map((s) => s.index.name),
      );
    }
    this.checkTableIdle(table, 'drop an index of');
    const record = this.dictionary.dropIndex(tableName, indexName);
    return this.tables.install(record);
  }

  private checkTableIdle(table: TableRuntime, what: string): void {
    if (this.trxs.hasOpenWriters()) {
      throw new InUseError(
        `cannot ${what} table ${JSON.stringify(table.name)} while read-write transactions are open; commit or roll them back first`,
      );
    }
  }
}
