/**
 * DDL as the row layer runs it: tables and indexes created and dropped, and an index built from
 * the rows already there.
 *
 * InnoDB counterpart: `row/row0mysql.cc` (row_create_table_for_mysql, row_drop_table_for_mysql)
 * and `row/row0merge.cc` (row_merge_build_indexes: read the clustered index, write the new one).
 * The crash safety of each step is the dictionary's (dict/dictionary.ts); this file decides what
 * may run when; index-build.ts fills a new index.
 *
 * DDL waits for no transaction: it is refused (ERR_IN_USE) while any read-write transaction is
 * open, instead of InnoDB's metadata locks, and on a table while one of its indexes is being
 * built. A new index is stamped with a number from the id counter: views opened before it cannot
 * use it (ERR_INDEX_NOT_VISIBLE), since older versions of rows may lack their entries. The build
 * itself runs in slices (index-build.ts); the caller decides when each slice runs. So do drops:
 * a dropped index is unlinked at once and its tree freed a bounded step at a time, and a
 * dropped table's record goes first, its space after, in steps (`cleanUpStep`) the caller runs
 * between event-loop turns (api/database.ts).
 */
import { InUseError, UnknownIndexError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { Dictionary } from '../dict/dictionary.js';
import type { LockManager } from '../lock/lock-manager.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import { assert } from '../util/assert.js';
import { IndexBuild } from './index-build.js';
import type { TableCache, TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';

export class RowDdl {
  private readonly storage: Storage;
  private readonly dictionary: Dictionary;
  private readonly trxSystem: TrxSystem;
  private readonly tables: TableCache;
  private readonly trxs: TrxLifecycle;
  private readonly locks: LockManager;
  private readonly builds = new Set<IndexBuild>();
  /** Spaces of dropped tables (and orphans) being dropped, in order; `step` once started. */
  private readonly spaceDrops: Array<{ spaceId: number; step: (() => boolean) | undefined }> = [];

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

  /**
   * Drops a table's record (durably) and forgets the table: from now on nothing reaches it.
   * Returns its space id; the caller drops the space (in slices: `Storage.dropSpaceSlice`), and a
   * crash before that leaves an orphan space the next open drops (dictionary.ts cleanUp).
   */
  dropTable(name: string): number {
    const table = this.tables.get(name);
    this.checkTableIdle(table, 'drop');
    const record = this.dictionary.unlinkTable(name);
    this.tables.remove(table);
    this.spaceDrops.push({ spaceId: record.spaceId, step: undefined });
    return record.spaceId;
  }

  /** Queues the drop of spaces no table names (a crash cut a drop or a create short). */
  dropOrphanSpaces(spaceIds: readonly number[]): void {
    for (const spaceId of spaceIds) this.spaceDrops.push({ spaceId, step: undefined });
  }

  /** Whether dropped tables' spaces or dropped indexes' trees are still to be freed. */
  get cleanUpPending(): boolean {
    return this.spaceDrops.length > 0 || this.dictionary.droppedTrees().length > 0;
  }

  /**
   * One bounded step of what drops leave to do: shrinking or removing a dropped table's space
   * file (`Storage.startSpaceDrop`), or one mtr of freeing a dropped index's tree. Returns true
   * when nothing is left. Reads, writes and other DDL go on between steps: nothing reaches a
   * dropped table or tree any more.
   */
  cleanUpStep(): boolean {
    const drop = this.spaceDrops[0];
    if (drop !== undefined) {
      drop.step ??= this.storage.startSpaceDrop(drop.spaceId);
      if (drop.step()) this.spaceDrops.shift();
      return !this.cleanUpPending;
    }
    return this.freeDroppedTreesStep().done;
  }

  /**
   * Starts adding a secondary index (index-build.ts): recorded 'building', to be filled by
   * `IndexBuild.copySlice` and made part of the table by `finishIndexBuild`. From now until then
   * the table takes no writes and no DDL (IB1).
   */
  startIndexBuild(tableName: string, def: IndexDef): IndexBuild {
    const table = this.tables.get(tableName);
    this.checkTableIdle(table, 'add an index to');
    // The index exists for views opened after this id: older snapshots may need versions it lacks.
    const createdAt = this.trxSystem.allocateDdlId();
    this.trxSystem.clonePurgeView();
    const { tree, index } = this.dictionary.beginIndex(tableName, def, createdAt);
    const build = new IndexBuild(this.storage, this.locks, table, def, index, tree);
    table.indexBuilding = index.name;
    this.builds.add(build);
    return build;
  }

  /** Marks a copied index 'ready' and installs the table with it: writes may go on. */
  finishIndexBuild(build: IndexBuild): TableRuntime {
    assert(build.state === 'copied', () => `IB2 an index is finished once every row is copied (${build.state})`);
    const record = this.dictionary.finishIndex(build.table.name, build.index.id);
    this.endBuild(build, 'finished');
    return this.tables.install(record);
  }

  /** Drops the index of a build that failed or was cancelled (the table is as before it). */
  abandonIndexBuild(build: IndexBuild): void {
    if (build.state === 'finished' || build.state === 'abandoned') return;
    this.endBuild(build, 'abandoned');
    this.dictionary.dropIndex(build.table.name, build.index.name);
  }

  /** Whether an index build is running (purge waits for it: IB1). */
  get building(): boolean {
    return this.builds.size > 0;
  }

  private endBuild(build: IndexBuild, state: 'finished' | 'abandoned'): void {
    build.setState(state);
    build.table.indexBuilding = undefined;
    this.builds.delete(build);
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
    const record = this.dictionary.unlinkIndex(tableName, indexName);
    return this.tables.install(record);
  }

  /** One mtr of freeing the trees of dropped indexes (dictionary.ts DD5); done when none is left. */
  private freeDroppedTreesStep(): { freed: number; done: boolean } {
    const next = this.dictionary.droppedTrees()[0];
    if (next === undefined) return { freed: 0, done: true };
    const step = this.dictionary.freeDroppedTreeStep(next.table, next.rootPageNo);
    return { freed: step.freed, done: step.done && this.dictionary.droppedTrees().length === 0 };
  }

  private checkTableIdle(table: TableRuntime, what: string): void {
    if (table.indexBuilding !== undefined) {
      throw new InUseError(
        `cannot ${what} table ${JSON.stringify(table.name)} while its index ${JSON.stringify(table.indexBuilding)} is being built`,
      );
    }
    if (this.trxs.hasOpenWriters()) {
      throw new InUseError(
        `cannot ${what} table ${JSON.stringify(table.name)} while read-write transactions are open; commit or roll them back first`,
      );
    }
  }
}
