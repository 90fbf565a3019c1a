/**
 * The row engine: rows in clustered and secondary B-trees, under transactions. A thin facade over
 * the row layer's files, one per InnoDB `row0*` file.
 *
 * ## Records
 * A clustered entry is (primary key, row value); the value starts with DB_TRX_ID and DB_ROLL_PTR
 * (rec/row-format.ts). A secondary entry is (secondary columns + primary key, empty). Either may
 * carry the B-tree's delete mark. A delete only marks; purge removes later, when no read view can
 * see the record any more.
 *
 * ## The files
 *
 *   row-engine.ts     this facade: open, and the calls the API makes       (ha_innodb.cc)
 *   trx-lifecycle.ts  begin, first write, commit, rollback, recovered trxs (trx0trx.cc, trx0roll.cc)
 *   row-sel.ts        consistent and locking reads, read views             (row0sel.cc)
 *   row-vers.ts       old versions from undo, row_vers_old_has_index_entry (row0vers.cc)
 *   row-ins.ts        insert: duplicate checks, insert intention           (row0ins.cc)
 *   row-upd.ts        update, delete mark, primary-key change              (row0upd.cc)
 *   row-undo.ts       rollback of one undo record at a time                (row0undo.cc, row0uins.cc, row0umod.cc)
 *   row-purge.ts      purge, behind its own narrow `PurgeContext`          (trx0purge.cc, row0purge.cc)
 *   row-check.ts      the SEC=CLUST checker                                (row_check_index)
 *   row-ddl.ts        create / drop table and index                        (row0mysql.cc)
 *   index-build.ts    an index filled from the rows, in slices             (row0merge.cc)
 *   statement-view.ts the one read view a lazy scan holds for its life     (read0read.cc)
 *   row-lock.ts       record / gap / next-key / implicit locks on rows     (lock0lock.cc entry points)
 *   undo-append.ts    the undo record written before each row change       (trx0rec.cc)
 *   index-write.ts    every index record change: the ibuf and LOB seams    (btr0cur.cc calls)
 *   row-lob.ts        large values: reading, partial updates, LOB undo     (lob calls of row0sel, row0upd,
 *                     in rollback and purge, the LOB checker                 row0umod, row0purge)
 *   keys.ts           API keys and ranges to bytes
 *   table-runtime.ts  a table's compiled layout and trees; the table cache (dict0dict.cc cache)
 *
 * ## Where the layers below plug in (see index-write.ts)
 * - The change buffer (`src/ibuf/`): every secondary-index change (insert, delete-mark, unmark,
 *   remove, purge), from every writer including rollback and purge, goes through
 *   `changeSecondary`; it is opened here before any table page is read (its read hook merges).
 * - Large values (`src/lob/`): every new row image is sized by `prepareClustered` (its largest
 *   values go off-page), stored by `ExternWrite` and written by `changeClustered`, which frees a
 *   removed record's LOBs; old values reach undo as references or LOB-DIFF diffs (row-lob.ts,
 *   undo-append.ts).
 * - Row locks (`src/lock/`): both doors move gap locks when a record appears inside a locked gap
 *   or disappears between two (lock_update_insert / lock_update_delete, rule IW2).
 *
 * The invariants are stated where they are enforced: RE1 (phase 2 after phase 1 with no await)
 * in row-ins.ts, RE2 (the version chain) in row-vers.ts, RE3 (SEC=CLUST) in row-check.ts, RE4
 * (rollback pops in the applying mtr) in row-undo.ts, PG1 in row-purge.ts, IW1 in index-write.ts.
 */
import type { Clock } from '../util/clock.js';
import { InUseError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import { Dictionary } from '../dict/dictionary.js';
import { LockManager, type LockMode } from '../lock/lock-manager.js';
import type { Trx, IsolationLevel } from '../mvcc/trx.js';
import { TrxSystem } from '../mvcc/trx-system.js';
import type { Durability } from '../redo/redo-log.js';
import type { Row, StoredValue } from '../rec/row-format.js';
import { cleanUpPending } from '../lob/lob-pending.js';
import type { IndexDef, TableSchema } from '../rec/schema.js';
import { poolPageSource, removeFromHistory, runUndoSteps, type PageSource } from '../undo/undo-log.js';
import { newEngineStats, type EngineStats } from './engine-stats.js';
import { primaryKeyBytes, type KeyInput, type KeyRange, type ReadOptions } from './keys.js';
import { checkRows, type RowCheckReport } from './row-check.js';
import type { IndexBuild } from './index-build.js';
import { RowDdl } from './row-ddl.js';
import { RowInsert } from './row-ins.js';
import { RowLocks } from './row-lock.js';
import { Purge, type PurgeContext, type PurgeResult } from './row-purge.js';
import { type LobCheckReport, byteColumn, checkLobs, checkSlice, readStoredSlice, storedLength } from './row-lob.js';
import { RowSelect, type ValueReader } from './row-sel.js';
import { RowUndo } from './row-undo.js';
import { RowUpdate } from './row-upd.js';
import { RowVersions, type Version } from './row-vers.js';
import { TableCache, type TableRuntime } from './table-runtime.js';
import type { RowEngineTestSeams } from './row-seams.js';
import { TrxLifecycle } from './trx-lifecycle.js';
import {
  CHANGE_BUFFERING_DEFAULT,
  ChangeBuffer,
  type ChangeBuffering,
  type ChangeBufferStatus,
  type ChangeBufferStepResult,
} from '../ibuf/change-buffer.js';
import { addsEntry, removesEntry } from '../ibuf/ibuf-record.js';

export type { EngineStats } from './engine-stats.js';
export type { Version } from './row-vers.js';
export type { KeyInput, KeyRange } from './keys.js';
export type { ValueReader } from './row-sel.js';

export type { RowEngineTestSeams } from './row-seams.js';

export interface RowEngineOptions {
  readonly clock: Clock;
  readonly lockWaitTimeoutMs?: number;
  /** The largest value stored (off-page); default the most the page size allows (src/lob/). */
  readonly valueBytesMax?: number;
  /**
   * Purge lag (InnoDB's innodb_max_purge_lag, as work instead of a delay): when a commit finds
   * more committed update undo logs than this waiting for purge, it runs a purge step of
   * `PURGE_LAG_RECORDS` itself. Each such log holds at least one undo page, so this bounds the
   * undo in the system tablespace (and its growth on disk) when the timers' purge cannot keep up
   * or never runs (a caller that never yields to the event loop). Undefined: off (background
   * 'manual': tests step purge themselves).
   */
  readonly purgeLagLogs?: number;
  /** Which secondary-index changes the change buffer takes (default 'none': see change-buffer.ts). */
  readonly changeBuffering?: ChangeBuffering;
  readonly seams?: RowEngineTestSeams;
}

/** The records a commit over the purge lag purges: more than one update transaction leaves behind. */
export const PURGE_LAG_RECORDS = 8;

/**
 * Commits that skip the purge lag's step after one that could purge nothing (an open read view
 * holds the oldest log back): each attempt costs a purge view and two page reads, on every commit
 * for as long as the view stays open. Purge itself is unaffected: the timers' steps go on.
 */
const PURGE_LAG_BACKOFF_COMMITS = 64;

export class RowEngine {
  readonly storage: Storage;
  readonly dictionary: Dictionary;
  /** The transaction system: ids, active transactions, read views, the purge view, and its trx-sys page. */
  readonly trxSystem: TrxSystem;
  readonly locks: LockManager;
  readonly changeBuffer: ChangeBuffer;
  readonly stats: EngineStats = newEngineStats();
  private readonly pages: PageSource;
  private readonly tables: TableCache;
  private readonly trxs: TrxLifecycle;
  private readonly select: RowSelect;
  private readonly inserts: RowInsert;
  private readonly updates: RowUpdate;
  private readonly ddl: RowDdl;
  private readonly purger: Purge;
  private readonly versions: RowVersions;
  private readonly purgeLagLogs: number;
  /** Commits left before the purge lag tries again (PURGE_LAG_BACKOFF_COMMITS). */
  private purgeLagBackoff = 0;

  private constructor(storage: Storage, dictionary: Dictionary, trxSystem: TrxSystem, options: RowEngineOptions) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.trxSystem = trxSystem;
    this.pages = poolPageSource(storage.pool);
    this.locks = new LockManager({
      clock: options.clock,
      lockWaitTimeoutMs: options.lockWaitTimeoutMs ?? 50_000,
      ...(options.seams?.locks !== undefined ? { seams: options.seams.locks } : {}),
    });
    const locks = this.locks;
    this.changeBuffer = ChangeBuffer.open(storage, dictionary, {
      mode: options.changeBuffering ?? CHANGE_BUFFERING_DEFAULT,
      // An insert or a removal moves the gap locks around its entry (lock_update_insert and
      // lock_update_delete, rule IW2 of index-write.ts, need the page): InnoDB buffers neither
      // where explicit locks exist. Where this admits a change, both calls would do nothing.
      admits: (indexId, key, op) =>
        addsEntry(op) ? !locks.mayInheritOnInsert(indexId) : removesEntry(op) ? !locks.hasLocksOn(indexId, key) : true,
      seams: { mergeInTwoMtrs: options.seams?.ibufMergeInTwoMtrs === true },
    });
    this.tables = new TableCache(storage, dictionary, options.valueBytesMax);
    const versions = new RowVersions(
      this.pages,
      trxSystem,
      this.stats,
      options.seams?.lobDiffReaderLosesPlace === true,
    );
    this.versions = versions;
    const undo = new RowUndo(storage, this.pages, this.tables, versions, trxSystem, this.locks);
    this.trxs = new TrxLifecycle(storage, trxSystem, this.locks, undo, this.stats);
    const rowLocks = new RowLocks(this.locks, this.trxs);
    this.select = new RowSelect(trxSystem, this.trxs, versions, rowLocks, options.seams);
    this.inserts = new RowInsert(storage, trxSystem, this.trxs, rowLocks, this.stats);
    this.updates = new RowUpdate(storage, trxSystem, this.trxs, rowLocks, this.inserts, this.stats, options.seams);
    this.ddl = new RowDdl(storage, dictionary, trxSystem, this.tables, this.trxs, this.locks);
    this.purger = new Purge(purgeContext(storage, trxSystem, this.pages, this.tables, versions, this.locks));
    this.purgeLagLogs = options.purgeLagLogs ?? Number.POSITIVE_INFINITY;
  }

  /**
   * Opens (or, in a new database, creates) the transaction system and dictionary on `storage`.
   * Before anyone else uses the engine, the caller runs `lockRecoveredStep` until it returns true
   * (the rows of transactions recovery found active, locked in bounded steps: api/database.ts),
   * and `cleanUpStep` until it does (what drops a crash cut short left to free).
   */
  static open(storage: Storage, options: RowEngineOptions): RowEngine {
    const trxSystem = TrxSystem.open(storage, {
      allowPurgeViewBackwards: options.seams?.allowPurgeViewBackwards === true,
      recoveredMissingFromPurgeView: options.seams?.recoveredMissingFromPurgeView === true,
    });
    const dictionary = Dictionary.openOrCreate(storage);
    const engine = new RowEngine(storage, dictionary, trxSystem, options);
    // Spaces and trees of drops a crash cut short: freed in slices by the open (api/database.ts).
    engine.ddl.dropOrphanSpaces(dictionary.cleanUp(true).orphanSpaces);
    engine.tables.loadAll();
    // LOB work a crash cut short before its row change's mtr (lob/lob-pending.ts, README L5).
    for (const table of engine.tables.all()) cleanUpPending(table.lobs);
    engine.trxs.recover(engine.pages, (tableId) => engine.tables.getById(tableId)?.record.primary.id);
    return engine;
  }

  // ------------------------------------------------------------------ tables and DDL

  table(name: string): TableRuntime {
    return this.tables.get(name);
  }

  tableNames(): string[] {
    return this.dictionary.tableNames();
  }

  createTable(schema: TableSchema): TableRuntime {
    return this.ddl.createTable(schema);
  }

  /** Drops a table's record; its space follows in `cleanUpStep`s. */
  dropTable(name: string): void {
    this.changeBuffer.discardSpace(this.ddl.dropTable(name));
  }

  /** One bounded step of freeing what drops left (row-ddl.ts); true when nothing is left. */
  cleanUpStep(): boolean {
    return this.ddl.cleanUpStep();
  }

  get cleanUpPending(): boolean {
    return this.ddl.cleanUpPending;
  }

  /** Starts an index build; the caller runs its slices (index-build.ts) and finishes or abandons it. */
  startIndexBuild(tableName: string, def: IndexDef): IndexBuild {
    return this.ddl.startIndexBuild(tableName, def);
  }

  finishIndexBuild(build: IndexBuild): TableRuntime {
    return this.ddl.finishIndexBuild(build);
  }

  abandonIndexBuild(build: IndexBuild): void {
    this.ddl.abandonIndexBuild(build);
  }

  dropIndex(tableName: string, indexName: string): TableRuntime {
    return this.ddl.dropIndex(tableName, indexName);
  }

  // ------------------------------------------------------------------ transactions

  begin(isolation: IsolationLevel, readOnly: boolean, durability: Durability): Trx {
    return this.trxs.begin(isolation, readOnly, durability);
  }

  checkActive(trx: Trx): void {
    this.trxs.checkActive(trx);
  }

  /** A read-only transaction with its view open now (`db.snapshot()`). */
  beginSnapshot(): Trx {
    return this.trxs.beginSnapshot();
  }

  releaseSnapshot(trx: Trx): void {
    this.trxs.releaseSnapshot(trx);
  }

  /** Read views open now (transactions', snapshots', running scans'): each holds purge back. */
  openReadViews(): number {
    return this.trxSystem.openViewCount();
  }

  /** Commits; the promise settles when durable under the transaction's durability. */
  commit(trx: Trx): Promise<void> {
    const addsHistory = trx.updateUndo !== undefined;
    const durable = this.trxs.commit(trx);
    if (addsHistory && this.historyLength() > this.purgeLagLogs) {
      try {
        if (this.purgeLagBackoff > 0) this.purgeLagBackoff--;
        else {
          // Through `purgeStep`, which waits while an index is built (IB1), as the timers' purge does.
          const step = this.purgeStep(PURGE_LAG_RECORDS);
          if (step.records === 0 && step.logs === 0) this.purgeLagBackoff = PURGE_LAG_BACKOFF_COMMITS;
        }
      } catch {
        // The commit is done and its promise stands; a purge failure poisons or recurs, and the
        // next foreground write or `db.purge()` reports it (as for the timers' purge).
      }
    }
    return durable;
  }

  /** Rolls back the whole transaction and releases its locks. */
  rollback(trx: Trx): void {
    this.trxs.rollback(trx);
  }

  /** Undoes the changes with undo numbers from `undoNo` on (a savepoint); the transaction stays open. */
  rollbackTo(trx: Trx, undoNo: number): void {
    this.trxs.rollbackTo(trx, undoNo);
  }

  /** Rolls back every transaction still open (the database is closing). */
  rollbackAllActive(): void {
    this.trxs.rollbackAllActive();
  }

  /** Rolls back one transaction recovery found active (background work). False when none is left. */
  /** Locks a bounded part of the rows of transactions recovery found active; true when all are. */
  lockRecoveredStep(maxRecords?: number): boolean {
    return this.trxs.lockRecoveredStep(maxRecords);
  }

  rollbackRecoveredStep(maxRecords?: number): boolean {
    return this.trxs.rollbackRecoveredStep(maxRecords);
  }

  activeTransactions(): number {
    return this.trxs.activeCount();
  }

  // ------------------------------------------------------------------ reads

  get(trx: Trx | undefined, table: TableRuntime, key: KeyInput, options?: ReadOptions): Row | undefined {
    return this.select.get(trx, table, key, options);
  }

  scan(trx: Trx | undefined, table: TableRuntime, range: KeyRange = {}): IterableIterator<Row> {
    return this.select.scan(trx, table, range);
  }

  indexScan(trx: Trx | undefined, table: TableRuntime, indexName: string, range: KeyRange = {}): IterableIterator<Row> {
    return this.select.indexScan(trx, table, indexName, range);
  }

  getByIndex(trx: Trx | undefined, table: TableRuntime, indexName: string, key: KeyInput): Row | undefined {
    return this.select.getByIndex(trx, table, indexName, key);
  }

  lockingGet(trx: Trx, table: TableRuntime, key: KeyInput, mode: LockMode): Promise<Row | undefined> {
    return this.select.lockingGet(trx, table, key, mode);
  }

  lockingScan(trx: Trx, table: TableRuntime, range: KeyRange, mode: LockMode): AsyncGenerator<Row, void, undefined> {
    return this.select.lockingScan(trx, table, range, mode);
  }

  primaryKeyBytes(table: TableRuntime, key: KeyInput): Uint8Array {
    return primaryKeyBytes(table, key);
  }

  // ------------------------------------------------------------------ writes

  insert(trx: Trx, table: TableRuntime, row: Row): Promise<void> {
    checkNotBuilding(table);
    return this.inserts.insert(trx, table, row);
  }

  /** `insert` that returns undefined, with the row inserted, when no lock wait was needed (row-ins.ts). */
  insertOrWait(trx: Trx, table: TableRuntime, row: Row): Promise<void> | undefined {
    checkNotBuilding(table);
    return this.inserts.insertOrWait(trx, table, row);
  }

  update(trx: Trx, table: TableRuntime, key: KeyInput, changes: Row): Promise<boolean> {
    checkNotBuilding(table);
    return this.updates.update(trx, table, key, changes);
  }

  delete(trx: Trx, table: TableRuntime, key: KeyInput): Promise<boolean> {
    checkNotBuilding(table);
    return this.updates.delete(trx, table, key);
  }

  /** Replaces bytes of one value in place (`{ offset, bytes }` diffs; row-upd.ts). */
  updatePartial(trx: Trx, table: TableRuntime, key: KeyInput, column: string, diffs: unknown): Promise<boolean> {
    return this.updates.updatePartial(trx, table, key, column, diffs);
  }

  // ------------------------------------------------------------------ large values, in slices

  /** The stored value of one column as `trx` reads it (a large value as its reference), null, or undefined for no row. */
  storedValue(
    trx: Trx | undefined,
    table: TableRuntime,
    key: KeyInput,
    column: string,
  ): StoredValue | null | undefined {
    byteColumn(table, column, 'a slice read');
    return this.select.storedValue(trx, table, key, column);
  }

  /** A reader of one value that outlives the call, on its own read view (row-sel.ts). */
  openValueReader(
    trx: Trx | undefined,
    table: TableRuntime,
    key: KeyInput,
    column: string,
  ): ValueReader | null | undefined {
    byteColumn(table, column, 'a stream');
    return this.select.openValueReader(trx, table, key, column);
  }

  /** Bytes [offset, offset + length) of a stored value (ERR_INVALID_ARGUMENT past its end). */
  readStoredSlice(table: TableRuntime, column: string, value: StoredValue, offset: number, length: number): Uint8Array {
    const def = byteColumn(table, column, 'a slice read');
    checkSlice(offset, length, storedLength(def, value));
    return readStoredSlice(table, def, value, offset, length);
  }

  /** The byte length of a stored value. */
  storedLength(table: TableRuntime, column: string, value: StoredValue): number {
    return storedLength(byteColumn(table, column, 'a length'), value);
  }

  // ------------------------------------------------------------------ purge and checks

  /** One bounded purge step (background work; `db.purge()` runs it to the end). */
  purgeStep(maxRecords: number): PurgeResult {
    // Purge waits while an index is built (IB1): it would remove delete-marked records whose
    // entries the build has copied into the new index, which purge does not know of yet.
    if (this.ddl.building) return { records: 0, logs: 0, historyLength: this.historyLength() };
    return this.purger.step(maxRecords);
  }

  /**
   * The undo chain of the row with primary key `key`, newest version first, back to the first one
   * the purge view sees (row-vers.ts `chain`); empty when no record has the key. For tools and test
   * scripts ("dump the undo chain of a row").
   */
  versionChain(table: TableRuntime, key: KeyInput): Version[] {
    const tree = table.clustered;
    if (!tree.find(primaryKeyBytes(table, key), tree.view)) return [];
    return this.versions.chain(table, tree.view);
  }

  /** Committed update undo logs waiting for purge. */
  historyLength(): number {
    return this.trxSystem.page.historyLength(this.pages);
  }

  /**
   * Walks every tree and checks RE3 (SEC=CLUST on the newest versions), the dictionary, the locks
   * and every LOB (lob/README.md L1 to L6). The change buffer is checked first, as it stands; the
   * walk then reads every leaf, which merges what was buffered for it, so SEC=CLUST is proved with
   * every buffered change applied.
   */
  check(): RowCheckReport {
    this.changeBuffer.validate();
    const report = checkRows(this.tables, this.dictionary, this.locks);
    this.changeBuffer.validateMerged();
    this.checkLobs();
    return report;
  }

  /** The LOB checker alone: every LOB page reached from one reference, none leaked; what it saw. */
  checkLobs(): LobCheckReport {
    return checkLobs(this.tables, this.trxSystem, this.pages);
  }

  /**
   * One bounded slice of the change buffer's background work: discards, and merges (`pages` of
   * them, or as many as its fill calls for).
   */
  changeBufferStep(pages?: number): ChangeBufferStepResult {
    return this.changeBuffer.backgroundStep(pages);
  }

  changeBufferStatus(): ChangeBufferStatus {
    return this.changeBuffer.status();
  }
}

/**
 * A write to a table whose index is being built is refused (IB1); the API makes writes wait for
 * the build instead, so only a caller of the engine itself sees this.
 */
function checkNotBuilding(table: TableRuntime): void {
  if (table.indexBuilding !== undefined) {
    throw new InUseError(
      `table ${JSON.stringify(table.name)} takes no writes while its index ${JSON.stringify(table.indexBuilding)} is being built`,
    );
  }
}

/** The narrow view of the engine purge works through (row-purge.ts). */
function purgeContext(
  storage: Storage,
  trxSystem: TrxSystem,
  pages: PageSource,
  tables: TableCache,
  versions: RowVersions,
  locks: LockManager,
): PurgeContext {
  const startMtr = () => storage.startMtr();
  return {
    clonePurgeView: () => trxSystem.clonePurgeView(),
    historyFirst: () => trxSystem.page.historyFirst(pages),
    historyLength: () => trxSystem.page.historyLength(pages),
    removeFromHistory: (log) => runUndoSteps(startMtr, (mtr) => removeFromHistory(mtr, trxSystem.page, log)),
    undoPages: pages,
    tableById: (tableId) => tables.getById(tableId),
    recordOrOlderHasEntry: (table, layoutIndex, view, entry) =>
      versions.recordOrOlderHasEntry(table, layoutIndex, view, entry),
    startMtr,
    locks,
    onStep: () => storage.vfs.engineEvent('purge-step'),
  };
}
