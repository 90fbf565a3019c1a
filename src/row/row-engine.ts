/**
 * The row engine: rows in clustered and secondary B-trees, under transactions.
 *
 * InnoDB counterpart: `row/row0ins.cc` (insert, duplicate checks), `row/row0upd.cc` (update,
 * delete mark), `row/row0sel.cc` (consistent and locking reads), `row/row0vers.cc` (building old
 * versions, row_vers_old_has_index_entry), `row/row0undo.cc` / `row0umod.cc` / `row0uins.cc`
 * (rollback), `trx/trx0trx.cc` (commit) and `trx/trx0roll.cc` (rollback of recovered transactions).
 *
 * ## Records
 * A clustered entry is (primary key, row value); the value starts with DB_TRX_ID and DB_ROLL_PTR
 * (row-format.ts). A secondary entry is (secondary columns + primary key, empty). Either may carry
 * the B-tree's delete mark. A delete only marks; purge removes later, when no read view can see
 * the record any more.
 *
 * ## Versions
 * The newest version of a row is in the clustered tree; each older one is rebuilt by applying the
 * undo record its roll pointer names (the old values of the columns that changed), newest first:
 *
 *     clustered: {id 1, v: 'c', trx 30, roll -> U3}
 *                 U3 (trx 30's update undo): v was 'b', trx 20, roll -> U2
 *                 U2 (trx 20's update undo): v was 'a', trx 10, roll -> insert undo (no older version)
 *
 * A consistent read walks the chain until a version's DB_TRX_ID is visible to its read view.
 *
 * ## Writes: checks and locks first, then one mini-transaction
 * Every write runs in two phases. Phase 1 checks (duplicates, sizes, types) and takes the row
 * locks; any lock that must wait is awaited and phase 1 starts again, so it always ends with the
 * world as it is. Phase 2 is synchronous: one mtr appends the undo record and changes every index.
 * So a check that fails changes nothing, and a crash never leaves a row change without its undo
 * (rule MTR makes the pair atomic).
 *
 * Locks (InnoDB's, for the cases here): a search for one primary key that finds it takes a record
 * lock; one that does not find it takes, at REPEATABLE READ and SERIALIZABLE, a gap lock on the
 * next key so the key cannot appear (no phantom). Range scans with locks take next-key locks
 * (record locks at READ COMMITTED). An insert checks for gap locks on the next key in every index
 * (insert intention: stored only when it must wait) and stores no lock for its own record: the
 * record is locked *implicitly* by its DB_TRX_ID while that transaction is active, and the lock
 * becomes explicit only when another transaction wants it (`convertImplicit`), as in InnoDB.
 *
 * ## Rollback
 * Undo records are applied newest first, each in one mtr together with popping it from its log,
 * so a crash mid-rollback resumes exactly where it stopped. Removing a secondary entry that an
 * update inserted first asks whether an older version still needs that entry
 * (`olderVersionHasEntry`, InnoDB's row_vers_old_has_index_entry): it walks the version chain
 * only as far as the purge view cannot see; seed 002 is this walk reading undo that purge had
 * already freed because the purge view went backwards. Our purge view cannot (trx-system.ts), and
 * the undo reader raises corruption rather than read a freed page, so the test has something to catch.
 *
 * Invariants:
 *  RE1. Phase 2 of a write starts only after every check and lock of phase 1 passed with no await
 *       since (the write sees the state it checked).
 *  RE2. A clustered entry's DB_TRX_ID and DB_ROLL_PTR name the transaction that wrote it and its
 *       undo record; the chain from it ends in an insert undo pointer or a null roll pointer.
 *  RE3 (SEC=CLUST). The secondary entries that are not delete-marked are exactly the projections
 *       of the clustered entries that are not delete-marked (checked by `check`).
 *  RE4. An undo record is popped in the same mtr that applies it during rollback.
 */
import {
  DuplicateKeyError,
  IndexNotVisibleError,
  InvalidArgumentError,
  ReadOnlyTransactionError,
  TransactionFinishedError,
  UnknownColumnError,
  UnknownIndexError,
  WouldWaitError,
  DeadlockError,
  InUseError,
  IoError,
} from '../errors.js';
import { assert } from '../util/assert.js';
import type { Clock } from '../util/clock.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { BTree, ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import { compareBytes, encodeKeyInto, encodeKeyPrefix, prefixSuccessor, skipKeyFields, type KeySpec } from '../btree/key-codec.js';
import {
  ROW_ROLL_PTR_OFFSET,
  ROW_TRX_ID_OFFSET,
  decodeRowAt,
  encodeRow,
  encodeSecondaryKey,
  extractPrimaryKeyFromSecondary,
  readTrxId,
  writeTrxIdInto,
  type Row,
} from '../btree/row-format.js';
import type { ColumnValue, IndexDef, KeyValue, TableSchema } from '../btree/schema.js';
import { Dictionary, type TableRecord } from '../dict/dictionary.js';
import { LockManager, SUPREMUM, type LockKind, type LockManagerTestSeams, type LockMode } from '../lock/lock-manager.js';
import { onEntryInserted, onEntryRemoved } from '../lock/gap-inheritance.js';
import type { ReadView } from '../mvcc/read-view.js';
import { TrxSystem } from '../mvcc/trx-system.js';
import { createTrxSys, openTrxSys, recoveryActionFor, type TrxSys } from '../undo/trx-sys.js';
import {
  UndoLogCursor,
  appendUndoRecord,
  commitUndoLog,
  createUndoLog,
  freeUndoLog,
  lastUndoRecord,
  poolPageSource,
  prevUndoRecord,
  readUndoRecord,
  truncateUndoLog,
  type PageSource,
  type UndoLogRef,
} from '../undo/undo-log.js';
import { UndoRecordType, encodeUndoRecord, type UndoField, type UndoRecordTypeValue } from '../undo/undo-record.js';
import { ROLL_PTR_NULL, readRollPtrAt, rollPtrIsInsert, writeRollPtrAt, type RollPtr } from '../undo/roll-ptr.js';
import { TableRuntime } from './table-runtime.js';
import { Trx, type IsolationLevel } from './trx.js';
import { decodeUndoField, encodeUndoField } from './undo-fields.js';
import type { Durability } from '../redo/redo-log.js';

/** A key as the API takes it: one value for a one-column key, an array for a composite one. */
export type KeyInput = KeyValue | readonly KeyValue[];

export interface KeyRange {
  readonly gt?: KeyInput;
  readonly gte?: KeyInput;
  readonly lt?: KeyInput;
  readonly lte?: KeyInput;
  readonly reverse?: boolean;
  readonly limit?: number;
}

export interface RowEngineTestSeams {
  /** Seed 002's teeth: the purge view may move backwards. */
  readonly allowPurgeViewBackwards?: boolean;
  /** Issue 10's teeth: the lock manager's two bugs, put back. */
  readonly locks?: LockManagerTestSeams;
}

export interface RowEngineOptions {
  readonly clock: Clock;
  readonly lockWaitTimeoutMs?: number;
  readonly seams?: RowEngineTestSeams;
}

type MutableRow = Record<string, ColumnValue | null>;

interface Version {
  row: MutableRow;
  deleted: boolean;
  trxId: number;
  rollPtr: RollPtr;
}

export interface EngineStats {
  inserts: number;
  updates: number;
  deletes: number;
  commits: number;
  rollbacks: number;
  versionsBuilt: number;
}

export class RowEngine {
  readonly storage: Storage;
  readonly dictionary: Dictionary;
  readonly trxSys: TrxSys;
  readonly trxSystem: TrxSystem;
  readonly locks: LockManager;
  readonly source: PageSource;
  readonly stats: EngineStats = { inserts: 0, updates: 0, deletes: 0, commits: 0, rollbacks: 0, versionsBuilt: 0 };
  /** Transactions found active at open, rolled back in the background. */
  readonly recoveredTrxs: Trx[] = [];
  private readonly active = new Set<Trx>();
  /** Active transactions that have an id: the owners of implicit locks. */
  private readonly activeById = new Map<number, Trx>();
  private readonly tables = new Map<string, TableRuntime>();
  private readonly tablesById = new Map<number, TableRuntime>();
  private readonly undoCursor = new UndoLogCursor();
  private readonly entry: EntryView = newEntryView();

  private constructor(storage: Storage, dictionary: Dictionary, trxSys: TrxSys, options: RowEngineOptions) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.trxSys = trxSys;
    this.source = poolPageSource(storage.pool);
    this.trxSystem = new TrxSystem({
      ids: {
        get nextId() {
          return trxSys.nextTrxIdOrNo;
        },
        allocate: () => {
          const mtr = storage.startMtr();
          const id = trxSys.assignTrxId(mtr);
          mtr.commit();
          return id;
        },
      },
      allowPurgeViewBackwards: options.seams?.allowPurgeViewBackwards === true,
    });
    this.locks = new LockManager({ clock: options.clock, lockWaitTimeoutMs: options.lockWaitTimeoutMs ?? 50_000, ...(options.seams?.locks !== undefined ? { seams: options.seams.locks } : {}) });
  }

  /** Opens (or, in a new database, creates) the transaction system and dictionary on `storage`. */
  static open(storage: Storage, options: RowEngineOptions): RowEngine {
    let trxSys = openTrxSys(storage);
    if (trxSys === undefined) {
      const mtr = storage.startMtr();
      trxSys = createTrxSys(mtr);
      storage.log.flushUpTo(mtr.commit());
    }
    const dictionary = Dictionary.openOrCreate(storage);
    const engine = new RowEngine(storage, dictionary, trxSys, options);
    dictionary.cleanUp();
    engine.loadTables();
    engine.recoverTransactions();
    return engine;
  }

  // ------------------------------------------------------------------ tables

  private loadTables(): void {
    this.tables.clear();
    this.tablesById.clear();
    for (const record of this.dictionary.tables()) this.install(record);
  }

  private install(record: TableRecord): TableRuntime {
    const runtime = new TableRuntime(this.storage, record);
    this.tables.set(record.name, runtime);
    this.tablesById.set(record.id, runtime);
    return runtime;
  }

  table(name: string): TableRuntime {
    const runtime = this.tables.get(name);
    if (runtime === undefined) this.dictionary.require(name); // throws UnknownTableError
    return runtime!;
  }

  tableNames(): string[] {
    return this.dictionary.tableNames();
  }

  createTable(schema: TableSchema): TableRuntime {
    const record = this.dictionary.createTable(schema, this.trxSystem.allocateDdlId());
    return this.install(record);
  }

  dropTable(name: string): void {
    const table = this.table(name);
    this.checkTableIdle(table, 'drop');
    this.dictionary.dropTable(name);
    this.tables.delete(name);
    this.tablesById.delete(table.id);
  }

  /** Adds a secondary index, filled from the newest version of every row. */
  createIndex(tableName: string, def: IndexDef): TableRuntime {
    const table = this.table(tableName);
    this.checkTableIdle(table, 'add an index to');
    // The index exists for views opened after this id: older snapshots may need versions it lacks.
    const createdAt = this.trxSystem.allocateDdlId();
    this.trxSystem.clonePurgeView();
    const record = this.dictionary.createIndex(tableName, def, createdAt, (tree, index) => {
      const schema: TableSchema = { ...table.record.schema, indexes: [...(table.record.schema.indexes ?? []), def] };
      const layout = new TableRuntime(this.storage, { ...table.record, schema, indexes: [] }).layout;
      const li = layout.indexes.findIndex((l) => l.def.name === index.name);
      const scan = table.clustered.scan();
      const seen = new Set<string>(); // secondary-column prefixes of live rows (a unique index)
      let batch: Array<{ key: Uint8Array; flags: number }> = [];
      const flush = (): void => {
        const mtr = this.storage.startMtr();
        for (const item of batch) tree.insert(mtr, item.key, new Uint8Array(0), item.flags);
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
            if (seen.has(id)) throw new DuplicateKeyError(table.name, index.name, '(two existing rows share its values)');
            seen.add(id);
          }
        }
        batch.push({ key, flags: entry.deleteMarked ? ENTRY_DELETE_MARK : 0 });
        if (batch.length >= 64) flush();
      }
      if (batch.length > 0) flush();
    });
    return this.install(record);
  }

  dropIndex(tableName: string, indexName: string): TableRuntime {
    const table = this.table(tableName);
    if (table.secondary(indexName) === undefined) {
      throw new UnknownIndexError(tableName, indexName, table.secondaries.map((s) => s.index.name));
    }
    this.checkTableIdle(table, 'drop an index of');
    const record = this.dictionary.dropIndex(tableName, indexName);
    return this.install(record);
  }

  private checkTableIdle(table: TableRuntime, what: string): void {
    for (const trx of this.active) {
      if (trx.trxId !== 0 && (trx.insertUndo !== undefined || trx.updateUndo !== undefined || this.locks.locksOf(trx).length > 0)) {
        throw new InUseError(`cannot ${what} table ${JSON.stringify(table.name)} while read-write transactions are open; commit or roll them back first`);
      }
    }
  }

  // ------------------------------------------------------------------ transactions

  begin(isolation: IsolationLevel, readOnly: boolean, durability: Durability): Trx {
    const trx = new Trx(isolation, readOnly, durability);
    this.active.add(trx);
    return trx;
  }

  checkActive(trx: Trx): void {
    if (trx.state !== 'active') throw new TransactionFinishedError(trx.deadlockVictim ? 'rolled back (deadlock victim)' : trx.state);
    this.checkHealthy();
  }

  /** After a failed log sync (L4) nothing may change or be made visible: reopen to recover. */
  private checkHealthy(): void {
    if (this.storage.log.failed) {
      throw new IoError('redo log', 'transaction', 'an earlier log sync or operation failed; close and reopen the database to recover');
    }
  }

  private checkWritable(trx: Trx): void {
    this.checkActive(trx);
    if (trx.readOnly) throw new ReadOnlyTransactionError();
  }

  /** Gives `trx` its id at its first write or lock (no mtr may be active). */
  private ensureTrxId(trx: Trx): void {
    if (trx.trxId !== 0) return;
    trx.trxId = this.trxSystem.beginReadWrite();
    this.activeById.set(trx.trxId, trx);
    if (trx.view !== undefined) trx.view.creatorId = trx.trxId;
  }

  /** Commits; the promise settles when durable under the transaction's durability. */
  commit(trx: Trx): Promise<void> {
    this.checkActive(trx); // refuses after a log failure, before anything becomes visible
    if (trx.recovered) throw new InvalidArgumentError('a recovered transaction can only be rolled back');
    if (trx.insertUndo === undefined && trx.updateUndo === undefined) {
      // Nothing written: no serialisation number, no log (InnoDB's read-only commit).
      if (trx.trxId !== 0) this.trxSystem.finishRollback(trx.trxId);
      this.finish(trx, 'committed');
      this.stats.commits++;
      return Promise.resolve();
    }
    const trxNo = this.trxSystem.commit(trx.trxId);
    const mtr = this.storage.startMtr();
    let insertDone = true;
    if (trx.insertUndo !== undefined) insertDone = commitUndoLog(mtr, this.trxSys, trx.insertUndo, trxNo);
    if (trx.updateUndo !== undefined) commitUndoLog(mtr, this.trxSys, trx.updateUndo, trxNo);
    const lsn = mtr.commit();
    // A large insert undo log is committed above and freed in bounded steps after.
    while (!insertDone) {
      const step = this.storage.startMtr();
      insertDone = freeUndoLog(step, this.trxSys, trx.insertUndo!);
      step.commit();
    }
    this.finish(trx, 'committed');
    this.stats.commits++;
    return this.storage.commitDurable(lsn, trx.durability);
  }

  private finish(trx: Trx, state: 'committed' | 'rolled-back'): void {
    trx.state = state;
    if (trx.view !== undefined) {
      this.trxSystem.closeView(trx.view);
      trx.view = undefined;
    }
    this.locks.releaseAll(trx);
    this.active.delete(trx);
    this.activeById.delete(trx.trxId);
  }

  /** Undoes the changes with undo numbers from `undoNo` on (a savepoint); the transaction stays open. */
  rollbackTo(trx: Trx, undoNo: number): void {
    this.checkActive(trx);
    this.undoDownTo(trx, undoNo);
    trx.undoNo = undoNo;
  }

  /** Rolls back every transaction still open (the database is closing). */
  rollbackAllActive(): void {
    for (const trx of [...this.active]) if (trx.state === 'active') this.rollback(trx);
    this.recoveredTrxs.length = 0;
  }

  /** Rolls back the whole transaction and releases its locks. */
  rollback(trx: Trx): void {
    this.checkActive(trx);
    this.undoDownTo(trx, 0);
    for (const log of [trx.insertUndo, trx.updateUndo]) {
      if (log === undefined) continue;
      for (let done = false; !done; ) {
        const mtr = this.storage.startMtr();
        done = freeUndoLog(mtr, this.trxSys, log);
        mtr.commit();
      }
    }
    trx.insertUndo = trx.updateUndo = undefined;
    if (trx.trxId !== 0) this.trxSystem.finishRollback(trx.trxId);
    this.finish(trx, 'rolled-back');
    this.stats.rollbacks++;
  }

  /** Waits for a lock; a deadlock victim is rolled back here before the error propagates. */
  private async waitLock(trx: Trx, wait: Promise<void>): Promise<void> {
    try {
      await wait;
    } catch (error) {
      if (error instanceof DeadlockError) {
        trx.deadlockVictim = true;
        if (trx.state === 'active') this.rollback(trx);
      }
      throw error;
    }
  }

  private lock(trx: Trx, indexId: number, key: Uint8Array, mode: LockMode, kind: LockKind): Promise<void> | undefined {
    return this.locks.acquire(trx, indexId, key, mode, kind);
  }

  /**
   * An insert-intention check (lock_rec_insert_check_and_lock): nothing is stored unless the
   * insert must wait for a gap lock, which is the common case of a free gap costing one lookup.
   */
  private insertIntention(trx: Trx, indexId: number, tree: BTree, key: Uint8Array): Promise<void> | undefined {
    // No lock anywhere (a bulk load, a lone writer): no gap can be locked, skip the next-key seek.
    if (this.locks.isEmpty()) return undefined;
    const nextKey = this.nextKey(tree, key);
    if (!this.locks.wouldWait(trx, indexId, nextKey, 'X', 'insert-intention')) return undefined;
    return this.locks.acquire(trx, indexId, nextKey, 'X', 'insert-intention');
  }

  /**
   * InnoDB's implicit locks: a record written by a transaction that is still active is locked by
   * it without any entry in the lock table (its DB_TRX_ID says so). Before another transaction
   * locks the record, the implicit lock becomes an explicit one (lock_rec_convert_impl_to_expl),
   * so the newcomer queues behind it. `writerTrxId` is the DB_TRX_ID of the row behind the entry.
   */
  private convertImplicit(trx: Trx, indexId: number, key: Uint8Array, writerTrxId: number): void {
    if (writerTrxId === trx.trxId) return;
    const holder = this.activeById.get(writerTrxId);
    if (holder === undefined || holder.state !== 'active') return;
    this.locks.grantImplicit(holder, indexId, key);
  }

  /** Locks a clustered record, converting its writer's implicit lock first. */
  private lockClustered(trx: Trx, table: TableRuntime, key: Uint8Array, mode: LockMode, kind: LockKind): Promise<void> | undefined {
    if (kind !== 'gap' && table.clustered.find(key, this.entry)) {
      this.convertImplicit(trx, table.record.primary.id, key, readTrxId(this.entry.page, this.entry.valueOffset));
    }
    return this.locks.acquire(trx, table.record.primary.id, key, mode, kind);
  }

  /** Locks a secondary entry, converting the implicit lock of the row's writer first. */
  private lockSecondary(trx: Trx, table: TableRuntime, i: number, entry: Uint8Array, mode: LockMode, kind: LockKind): Promise<void> | undefined {
    const secondary = table.secondaries[i]!;
    if (kind !== 'gap') {
      const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entry);
      if (table.clustered.find(primary, this.entry)) {
        this.convertImplicit(trx, secondary.index.id, entry, readTrxId(this.entry.page, this.entry.valueOffset));
      }
    }
    return this.locks.acquire(trx, secondary.index.id, entry, mode, kind);
  }

  // ------------------------------------------------------------------ keys

  /** Encodes a full primary key into the table's scratch buffer; returns its length. */
  private encodePrimary(table: TableRuntime, key: KeyInput): number {
    const values = keyValues(table.layout.primaryKey.columns.length, key, table.name, 'primary key');
    return encodeKeyInto(values, table.layout.primaryKey, table.keyScratch, 0);
  }

  primaryKeyBytes(table: TableRuntime, key: KeyInput): Uint8Array {
    return table.keyScratch.slice(0, this.encodePrimary(table, key));
  }

  private rowFromEntry(table: TableRuntime, view: EntryView): MutableRow {
    return decodeRowAt(table.layout, view.page, view.keyOffset, view.keyLength, view.page, view.valueOffset, view.valueLength) as MutableRow;
  }

  // ------------------------------------------------------------------ versions

  /**
   * The read view a consistent read of `trx` uses, or undefined for "the newest committed
   * version", which is exact when no read-write transaction is active. `statement` views (READ
   * COMMITTED, autocommit) are closed by the caller.
   */
  viewFor(trx: Trx | undefined): { view: ReadView | undefined; close: boolean } {
    if (trx === undefined) {
      if (this.trxSystem.activeIds().length === 0) return { view: undefined, close: false };
      return { view: this.trxSystem.openAutocommitView(), close: true };
    }
    if (trx.isolation === 'read-committed') {
      if (trx.view !== undefined) this.trxSystem.closeView(trx.view);
      trx.view = this.trxSystem.openView(trx.trxId);
      return { view: trx.view, close: false };
    }
    trx.view ??= this.trxSystem.openView(trx.trxId);
    return { view: trx.view, close: false };
  }

  releaseView(view: ReadView | undefined, close: boolean): void {
    if (close && view !== undefined) this.trxSystem.closeView(view);
  }

  /** The version of the entry in `view` visible to `readView` (undefined: the newest). */
  private visibleRow(table: TableRuntime, view: EntryView, readView: ReadView | undefined): MutableRow | undefined {
    const trxId = readTrxId(view.page, view.valueOffset);
    const deleted = (view.flags & ENTRY_DELETE_MARK) !== 0;
    if (readView === undefined || readView.changesVisible(trxId)) return deleted ? undefined : this.rowFromEntry(table, view);
    const version: Version = {
      row: this.rowFromEntry(table, view),
      deleted,
      trxId,
      rollPtr: readRollPtrAt(view.page, view.valueOffset + ROW_ROLL_PTR_OFFSET),
    };
    while (this.previousVersion(table, version)) {
      if (readView.changesVisible(version.trxId)) return version.deleted ? undefined : version.row;
    }
    return undefined;
  }

  /** Steps `version` to the one before it; false when there is none (it was inserted). */
  private previousVersion(table: TableRuntime, version: Version): boolean {
    if (rollPtrIsInsert(version.rollPtr)) return false;
    const cursor = readUndoRecord(this.source, version.rollPtr, version.trxId, this.undoCursor);
    this.stats.versionsBuilt++;
    applyUndoFields(table, cursor, version.row);
    version.deleted = cursor.type === UndoRecordType.UpdateDeleteMarked;
    version.trxId = cursor.oldTrxId;
    version.rollPtr = cursor.oldRollPtr;
    return true;
  }

  // ------------------------------------------------------------------ consistent reads

  /** Point read by primary key, consistent (or, at SERIALIZABLE, with a shared lock taken). */
  get(trx: Trx | undefined, table: TableRuntime, key: KeyInput): Row | undefined {
    if (trx !== undefined) this.checkActive(trx);
    const length = this.encodePrimary(table, key);
    if (trx?.isolation === 'serializable') return this.serializableGet(trx, table, table.keyScratch.slice(0, length));
    const keyBytes = length === table.keyScratch.length ? table.keyScratch : table.keyScratch.subarray(0, length);
    const { view, close } = this.viewFor(trx);
    try {
      if (!table.clustered.find(keyBytes, this.entry)) return undefined;
      return this.visibleRow(table, this.entry, view);
    } finally {
      this.releaseView(view, close);
    }
  }

  /** SERIALIZABLE turns a plain read into a shared locking read (InnoDB); it must not wait here. */
  private serializableGet(trx: Trx, table: TableRuntime, key: Uint8Array): Row | undefined {
    this.ensureTrxId(trx);
    const found = table.clustered.find(key, this.entry);
    const [lockKey, kind]: [Uint8Array, LockKind] = found ? [key, 'record'] : [this.nextKey(table.clustered, key), 'gap'];
    if (found) this.convertImplicit(trx, table.record.primary.id, key, readTrxId(this.entry.page, this.entry.valueOffset));
    if (this.locks.wouldWait(trx, table.record.primary.id, lockKey, 'S', kind)) throw new WouldWaitError(table.name);
    this.lock(trx, table.record.primary.id, lockKey, 'S', kind);
    if (!table.clustered.find(key, this.entry)) return undefined;
    return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : this.rowFromEntry(table, this.entry);
  }

  /** The byte bounds of a key range over a key spec (prefixes of composite keys allowed). */
  private byteRange(spec: KeySpec, range: KeyRange, what: string, fieldCount: number): { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; limit?: number } {
    const out: { gt?: Uint8Array; gte?: Uint8Array; lt?: Uint8Array; lte?: Uint8Array; limit?: number } = {};
    const prefix = (input: KeyInput): Uint8Array => encodeKeyPrefix(prefixValues(fieldCount, input, what), spec);
    if (range.gte !== undefined) out.gte = prefix(range.gte);
    if (range.gt !== undefined) {
      // Greater than every key that starts with the prefix.
      const successor = prefixSuccessor(prefix(range.gt));
      if (successor === null) out.limit = 0; // nothing sorts after every key with this prefix: empty
      else out.gte = out.gte === undefined || compareBytes(successor, out.gte) > 0 ? successor : out.gte;
    }
    if (range.lt !== undefined) out.lt = prefix(range.lt);
    if (range.lte !== undefined) {
      const successor = prefixSuccessor(prefix(range.lte));
      if (successor !== null) out.lt = out.lt === undefined || compareBytes(successor, out.lt) < 0 ? successor : out.lt;
    }
    return out;
  }

  /** Consistent range scan by primary key; lazy. */
  *scan(trx: Trx | undefined, table: TableRuntime, range: KeyRange = {}): Generator<Row, void, undefined> {
    if (trx !== undefined) this.checkActive(trx);
    const limit = checkLimit(range.limit);
    if (trx?.isolation === 'serializable') {
      yield* this.serializableScan(trx, table, range, limit);
      return;
    }
    const { view, close } = this.viewFor(trx);
    try {
      const it = table.clustered.scan({ ...this.byteRange(table.layout.primaryKey, range, `${table.name} primary key`, table.layout.primaryKey.columns.length), reverse: range.reverse === true });
      let count = 0;
      while (count < limit && it.step()) {
        const row = this.visibleRow(table, it.cursor.view, view);
        if (row === undefined) continue;
        count++;
        yield row;
      }
    } finally {
      this.releaseView(view, close);
    }
  }

  private *serializableScan(trx: Trx, table: TableRuntime, range: KeyRange, limit: number): Generator<Row, void, undefined> {
    this.ensureTrxId(trx);
    const indexId = table.record.primary.id;
    const it = table.clustered.scan({ ...this.byteRange(table.layout.primaryKey, range, `${table.name} primary key`, table.layout.primaryKey.columns.length), reverse: range.reverse === true });
    let count = 0;
    let last: Uint8Array | undefined;
    while (count < limit && it.step()) {
      const key = it.cursor.key();
      last = key;
      this.convertImplicit(trx, indexId, key, readTrxId(it.cursor.view.page, it.cursor.view.valueOffset));
      if (this.locks.wouldWait(trx, indexId, key, 'S', 'next-key')) throw new WouldWaitError(table.name);
      this.lock(trx, indexId, key, 'S', 'next-key');
      if (it.cursor.deleteMarked) continue;
      count++;
      yield this.rowFromEntry(table, it.cursor.view);
    }
    if (count < limit && range.reverse !== true) {
      const after = last === undefined ? SUPREMUM : this.nextKey(table.clustered, last);
      if (this.locks.wouldWait(trx, indexId, after, 'S', 'gap')) throw new WouldWaitError(table.name);
      this.lock(trx, indexId, after, 'S', 'gap');
    }
  }

  /** Consistent scan through a secondary index, in index order; returns whole rows. */
  *indexScan(trx: Trx | undefined, table: TableRuntime, indexName: string, range: KeyRange = {}): Generator<Row, void, undefined> {
    if (trx !== undefined) this.checkActive(trx);
    const secondary = this.secondaryOf(table, indexName);
    const limit = checkLimit(range.limit);
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const { view, close } = this.viewFor(trx);
    try {
      if (view !== undefined && view.lowLimitId <= secondary.index.createdAtTrxId) throw new IndexNotVisibleError(table.name, indexName);
      const it = secondary.tree.scan({ ...this.byteRange(layout.spec, range, `${table.name}.${indexName}`, layout.secondaryFieldCount), reverse: range.reverse === true });
      let count = 0;
      while (count < limit && it.step()) {
        const entryKey = it.cursor.key();
        const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entryKey);
        if (!table.clustered.find(primary, this.entry)) continue;
        const row = this.visibleRow(table, this.entry, view);
        // The version this view sees must be the one this entry indexes (an entry of an older or
        // newer version of the row is skipped: SEC=CLUST per view).
        if (row === undefined || compareBytes(encodeSecondaryKey(table.layout, secondary.layoutIndex, row), entryKey) !== 0) continue;
        count++;
        yield row;
      }
    } finally {
      this.releaseView(view, close);
    }
  }

  /**
   * The first row (in index order) whose secondary columns start with `key`, consistent: one
   * seek, keys compared in place. Reading the newest versions, a live entry is the projection of
   * its row (SEC=CLUST), so the row needs no re-check; under a read view it does.
   */
  getByIndex(trx: Trx | undefined, table: TableRuntime, indexName: string, key: KeyInput): Row | undefined {
    if (trx !== undefined) this.checkActive(trx);
    const secondary = this.secondaryOf(table, indexName);
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    if (trx?.isolation === 'serializable') {
      for (const row of this.indexScan(trx, table, indexName, { gte: key, lte: key, limit: 1 })) return row;
      return undefined;
    }
    const prefix = encodeKeyPrefix(prefixValues(layout.secondaryFieldCount, key, `${table.name}.${indexName}`), layout.spec);
    const { view, close } = this.viewFor(trx);
    try {
      if (view !== undefined && view.lowLimitId <= secondary.index.createdAtTrxId) throw new IndexNotVisibleError(table.name, indexName);
      const cursor = secondary.tree.cursor();
      for (let on = cursor.seek(prefix, 'ge'); on; on = cursor.next()) {
        const entry = cursor.view;
        if (entry.keyLength < prefix.length || compareBytes(entry.page.subarray(entry.keyOffset, entry.keyOffset + prefix.length), prefix) !== 0) return undefined;
        const deleteMarked = (entry.flags & ENTRY_DELETE_MARK) !== 0;
        if (view === undefined && deleteMarked) continue;
        const entryKey = entry.page.slice(entry.keyOffset, entry.keyOffset + entry.keyLength);
        const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entryKey);
        if (!table.clustered.find(primary, this.entry)) continue;
        const row = this.visibleRow(table, this.entry, view);
        if (row === undefined) continue;
        if (view !== undefined && compareBytes(encodeSecondaryKey(table.layout, secondary.layoutIndex, row), entryKey) !== 0) continue;
        return row;
      }
      return undefined;
    } finally {
      this.releaseView(view, close);
    }
  }

  private secondaryOf(table: TableRuntime, indexName: string): (typeof table.secondaries)[number] {
    const secondary = table.secondary(indexName);
    if (secondary === undefined) throw new UnknownIndexError(table.name, indexName, table.secondaries.map((s) => s.index.name));
    return secondary;
  }

  /** The key after `key` in `tree`, or SUPREMUM (a copy: it is kept across awaits). */
  private nextKey(tree: BTree, key: Uint8Array, cursor?: BTreeCursor): Uint8Array {
    const c = cursor ?? tree.cursor();
    return c.seek(key, 'gt') ? c.key() : SUPREMUM;
  }

  // ------------------------------------------------------------------ locking reads

  /** getForUpdate / getForShare: the newest version, locked. */
  async lockingGet(trx: Trx, table: TableRuntime, key: KeyInput, mode: LockMode): Promise<Row | undefined> {
    this.checkActive(trx);
    if (mode === 'X' && trx.readOnly) throw new ReadOnlyTransactionError();
    this.ensureTrxId(trx);
    const keyBytes = this.primaryKeyBytes(table, key);
    const indexId = table.record.primary.id;
    for (;;) {
      this.checkActive(trx);
      const found = table.clustered.find(keyBytes, this.entry);
      const wait = found
        ? this.lockClustered(trx, table, keyBytes, mode, 'record')
        : trx.isolation === 'read-committed'
          ? undefined
          : this.lock(trx, indexId, this.nextKey(table.clustered, keyBytes), mode, 'gap');
      if (wait !== undefined) {
        await this.waitLock(trx, wait);
        continue;
      }
      if (!table.clustered.find(keyBytes, this.entry)) return undefined;
      return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : this.rowFromEntry(table, this.entry);
    }
  }

  /** A locking range scan by primary key: next-key locks (record locks at READ COMMITTED). */
  async *lockingScan(trx: Trx, table: TableRuntime, range: KeyRange, mode: LockMode): AsyncGenerator<Row, void, undefined> {
    this.checkActive(trx);
    if (mode === 'X' && trx.readOnly) throw new ReadOnlyTransactionError();
    this.ensureTrxId(trx);
    const limit = checkLimit(range.limit);
    const indexId = table.record.primary.id;
    const kind: LockKind = trx.isolation === 'read-committed' ? 'record' : 'next-key';
    const bounds = this.byteRange(table.layout.primaryKey, range, `${table.name} primary key`, table.layout.primaryKey.columns.length);
    if (bounds.limit === 0) return; // a range no key can fall in
    const reverse = range.reverse === true;
    let resumeAfter: Uint8Array | undefined;
    let count = 0;
    for (;;) {
      this.checkActive(trx);
      const start = resumeAfter === undefined ? bounds : reverse ? { ...bounds, lt: resumeAfter, lte: undefined } : { ...bounds, gt: resumeAfter, gte: undefined };
      const it = table.clustered.scan({ ...dropUndefined(start), reverse });
      if (!it.step()) {
        // Past the range: lock the gap up to the next key so nothing can be inserted into it.
        if (!reverse && kind === 'next-key') {
          const after = resumeAfter === undefined ? this.firstKeyAtOrAfter(table.clustered, bounds) : this.nextKey(table.clustered, resumeAfter);
          const wait = this.lock(trx, indexId, after, mode, 'gap');
          if (wait !== undefined) await this.waitLock(trx, wait);
        }
        return;
      }
      const key = it.cursor.key();
      const wait = this.lockClustered(trx, table, key, mode, kind);
      if (wait !== undefined) {
        await this.waitLock(trx, wait);
        continue; // re-read from the same position: the entry may have changed while we waited
      }
      resumeAfter = key;
      if (!table.clustered.find(key, this.entry) || (this.entry.flags & ENTRY_DELETE_MARK) !== 0) continue;
      const row = this.rowFromEntry(table, this.entry);
      count++;
      yield row;
      if (count >= limit) return;
    }
  }

  private firstKeyAtOrAfter(tree: BTree, bounds: { gt?: Uint8Array; gte?: Uint8Array }): Uint8Array {
    const cursor = tree.cursor();
    if (bounds.gte !== undefined) return cursor.seek(bounds.gte, 'ge') ? cursor.key() : SUPREMUM;
    if (bounds.gt !== undefined) return cursor.seek(bounds.gt, 'gt') ? cursor.key() : SUPREMUM;
    return cursor.first() ? cursor.key() : SUPREMUM;
  }

  // ------------------------------------------------------------------ writes

  private undoLogFor(trx: Trx, mtr: MiniTransaction, kind: 'insert' | 'update'): UndoLogRef {
    if (kind === 'insert') return (trx.insertUndo ??= createUndoLog(mtr, this.trxSys, trx.trxId, 'insert'));
    return (trx.updateUndo ??= createUndoLog(mtr, this.trxSys, trx.trxId, 'update'));
  }

  private appendUndo(
    trx: Trx,
    mtr: MiniTransaction,
    type: UndoRecordTypeValue,
    table: TableRuntime,
    key: Uint8Array,
    fields: readonly UndoField[],
    oldTrxId: number,
    oldRollPtr: RollPtr,
  ): RollPtr {
    const bytes = encodeUndoRecord({ type, undoNo: trx.undoNo, tableId: table.id, oldTrxId, oldRollPtr, primaryKey: key, fields });
    const log = this.undoLogFor(trx, mtr, type === UndoRecordType.Insert ? 'insert' : 'update');
    const rollPtr = appendUndoRecord(mtr, log, bytes);
    trx.undoNo++;
    return rollPtr;
  }

  /** Encodes a row as a clustered value stamped with `trxId` and `rollPtr`. */
  private encodeValue(table: TableRuntime, row: Row, trxId: number, rollPtr: RollPtr): { key: Uint8Array; value: Uint8Array } {
    const encoded = encodeRow(table.layout, row, trxId, 0n);
    writeRollPtrAt(encoded.value, ROW_ROLL_PTR_OFFSET, rollPtr);
    return encoded;
  }

  private secondaryKeys(table: TableRuntime, row: Row): Uint8Array[] {
    return table.secondaries.map((s) => encodeSecondaryKey(table.layout, s.layoutIndex, row));
  }

  /** Inserts a row; waits for locks; ERR_DUPLICATE_KEY when the key is taken. */
  async insert(trx: Trx, table: TableRuntime, row: Row): Promise<void> {
    this.checkWritable(trx);
    // Every check that can fail on the row itself runs before anything changes (RE1). The row is
    // encoded once; phase 2 stamps DB_TRX_ID and DB_ROLL_PTR into it in place.
    const encoded = this.encodeValue(table, row, 0, ROLL_PTR_NULL);
    const key = encoded.key;
    const secondaryKeys = this.secondaryKeys(table, row);
    this.ensureTrxId(trx);
    for (;;) {
      this.checkActive(trx);
      const wait = this.insertChecks(trx, table, key, row, secondaryKeys, undefined);
      if (wait === undefined) break;
      await this.waitLock(trx, wait);
    }
    const mtr = this.storage.startMtr();
    if (table.clustered.find(key, this.entry)) {
      // Over a delete-marked record (its delete committed, purge not yet run): an update that
      // remembers the whole old row (TRX_UNDO_UPD_DEL_REC).
      const old = this.rowFromEntry(table, this.entry);
      const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
      const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
      const oldKeys = this.secondaryKeys(table, old);
      const fields = this.fieldsOf(table, old, allStoredColumns(table));
      const rollPtr = this.appendUndo(trx, mtr, UndoRecordType.UpdateDeleteMarked, table, key, fields, oldTrxId, oldRollPtr);
      const { value } = this.encodeValue(table, row, trx.trxId, rollPtr);
      table.clustered.update(mtr, key, value, 0);
      table.secondaries.forEach((s, i) => {
        if (compareBytes(oldKeys[i]!, secondaryKeys[i]!) !== 0) this.putSecondary(mtr, s, secondaryKeys[i]!);
        else s.tree.setDeleteMark(mtr, secondaryKeys[i]!, false);
      });
    } else {
      const rollPtr = this.appendUndo(trx, mtr, UndoRecordType.Insert, table, key, [], 0, ROLL_PTR_NULL);
      const value = encoded.value;
      writeTrxIdInto(value, 0, trx.trxId);
      writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
      assert(table.clustered.insert(mtr, key, value, 0), 'RE1 the key checked free is free');
      onEntryInserted(this.locks, table.record.primary.id, table.clustered, key); // issue 10: lock_update_insert
      table.secondaries.forEach((s, i) => this.putSecondary(mtr, s, secondaryKeys[i]!));
    }
    mtr.commit();
    this.stats.inserts++;
  }

  /** Inserts a secondary entry, or un-marks the delete-marked one already there. */
  private putSecondary(mtr: MiniTransaction, secondary: TableRuntime['secondaries'][number], key: Uint8Array): void {
    if (secondary.tree.insert(mtr, key, EMPTY, 0)) onEntryInserted(this.locks, secondary.index.id, secondary.tree, key); // issue 10
    else secondary.tree.setDeleteMark(mtr, key, false);
  }

  /** Removes an index entry; its locks pass to the entry after it (issue 10: lock_update_delete). */
  private removeEntry(mtr: MiniTransaction, indexId: number, tree: BTree, key: Uint8Array): void {
    onEntryRemoved(this.locks, indexId, tree, key);
    tree.delete(mtr, key);
  }

  /**
   * Phase 1 of an insert (or of the new row of a key-changing update): duplicates and locks.
   * Returns a lock wait, or undefined when everything is checked and locked.
   */
  private insertChecks(
    trx: Trx,
    table: TableRuntime,
    key: Uint8Array,
    row: Row,
    secondaryKeys: readonly Uint8Array[],
    skipIndexes: ReadonlySet<number> | undefined,
    movingFrom?: Uint8Array,
  ): Promise<void> | undefined {
    const primaryId = table.record.primary.id;
    if (table.clustered.find(key, this.entry)) {
      if ((this.entry.flags & ENTRY_DELETE_MARK) === 0) {
        // InnoDB locks the duplicate (shared) before reporting it: if its inserter rolls back, we
        // win. The record only, at every level (row_ins_duplicate_error_in_clust: LOCK_REC_NOT_GAP).
        const wait = this.lockClustered(trx, table, key, 'S', 'record');
        if (wait !== undefined) return wait;
        if (table.clustered.find(key, this.entry) && (this.entry.flags & ENTRY_DELETE_MARK) === 0) {
          throw new DuplicateKeyError(table.name, 'PRIMARY', describeKey(table.layout.primaryKey.columns.length, row, table.layout.primaryKeyColumns, table.layout.schema));
        }
      }
      const wait = this.lockClustered(trx, table, key, 'X', 'record');
      if (wait !== undefined) return wait;
    } else {
      const wait = this.insertIntention(trx, primaryId, table.clustered, key);
      if (wait !== undefined) return wait;
    }
    for (let i = 0; i < table.secondaries.length; i++) {
      if (skipIndexes?.has(i) === true) continue;
      const secondary = table.secondaries[i]!;
      const entryKey = secondaryKeys[i]!;
      if (secondary.index.unique) {
        const wait = this.uniqueCheck(trx, table, i, entryKey, key, movingFrom);
        if (wait !== undefined) return wait;
      }
      const wait = this.insertIntention(trx, secondary.index.id, secondary.tree, entryKey);
      if (wait !== undefined) return wait;
    }
    // The new record is locked implicitly by its DB_TRX_ID (see convertImplicit).
    return undefined;
  }

  /** A unique index must hold no other live entry with the same secondary columns (NULLs never clash). */
  private uniqueCheck(trx: Trx, table: TableRuntime, i: number, entryKey: Uint8Array, primaryKey: Uint8Array, movingFrom?: Uint8Array): Promise<void> | undefined {
    const secondary = table.secondaries[i]!;
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const prefix = secondaryPrefix(layout.spec, layout.secondaryFieldCount, entryKey);
    if (prefix === undefined) return undefined;
    const cursor = secondary.tree.cursor();
    for (let on = cursor.seek(prefix, 'ge'); on && startsWith(cursor.key(), prefix); on = cursor.next()) {
      const other = cursor.key();
      const otherPrimary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, other);
      if (compareBytes(otherPrimary, primaryKey) === 0) continue;
      if (movingFrom !== undefined && compareBytes(otherPrimary, movingFrom) === 0) continue; // the row itself, moving
      const marked = cursor.deleteMarked;
      // Lock it (shared) either way: a delete-marked entry's delete may still roll back.
      const wait = this.lockSecondary(trx, table, i, other, 'S', trx.isolation === 'read-committed' ? 'record' : 'next-key');
      if (wait !== undefined) return wait;
      if (!marked && this.liveEntry(table, secondary.layoutIndex, otherPrimary, other)) {
        throw new DuplicateKeyError(table.name, secondary.index.name, '(the same values as an existing row)');
      }
    }
    return undefined;
  }

  /** Whether the newest version of the row `primary` is live and has the secondary key `entry`. */
  private liveEntry(table: TableRuntime, layoutIndex: number, primary: Uint8Array, entry: Uint8Array): boolean {
    if (!table.clustered.find(primary, this.entry) || (this.entry.flags & ENTRY_DELETE_MARK) !== 0) return false;
    return compareBytes(encodeSecondaryKey(table.layout, layoutIndex, this.rowFromEntry(table, this.entry)), entry) === 0;
  }

  /** Undo fields: the old values of `columns` (table column indexes) in `row`. Key columns are skipped. */
  private fieldsOf(table: TableRuntime, row: Row, columns: Iterable<number>): UndoField[] {
    const fields: UndoField[] = [];
    const schema = table.layout.schema;
    for (const column of columns) {
      if (table.layout.keyPosition[column]! >= 0) continue;
      const def = schema.columns[column]!;
      const value = row[def.name];
      fields.push({ fieldNo: column, value: value === null || value === undefined ? null : encodeUndoField(def.type, value) });
    }
    return fields;
  }

  /**
   * Updates columns of the row with primary key `key`. Returns false when there is no such row.
   * A change of primary-key columns is a delete of the old row and an insert of the new one.
   */
  async update(trx: Trx, table: TableRuntime, key: KeyInput, changes: Row): Promise<boolean> {
    this.checkWritable(trx);
    if (changes === null || typeof changes !== 'object') throw new InvalidArgumentError('update changes must be an object of column values');
    const changed: number[] = [];
    for (const name of Object.keys(changes)) {
      const column = table.layout.columnIndexByName.get(name);
      if (column === undefined) throw new UnknownColumnError(table.name, name, table.layout.schema.columns.map((c) => c.name));
      changed.push(column);
    }
    const keyBytes = this.primaryKeyBytes(table, key);
    return this.withLockedRow(trx, table, keyBytes, async (current) => {
      const next: MutableRow = { ...current };
      for (const [name, value] of Object.entries(changes)) next[name] = value === undefined ? null : value;
      // A key change is judged on the encoded key, so values the key treats as equal (-0 and 0,
      // a bigint and a number) are no change.
      if (changed.some((c) => table.layout.keyPosition[c]! >= 0) && compareBytes(this.encodeValue(table, next, 0, ROLL_PTR_NULL).key, keyBytes) !== 0) {
        return this.moveRow(trx, table, keyBytes, current, next);
      }
      // Validate and encode the new row before any change (RE1); phase 2 stamps it in place.
      const encoded = this.encodeValue(table, next, 0, ROLL_PTR_NULL);
      const oldKeys = this.secondaryKeys(table, current);
      const newKeys = this.secondaryKeys(table, next);
      const affected = new Set<number>();
      oldKeys.forEach((k, i) => {
        if (compareBytes(k, newKeys[i]!) !== 0) affected.add(i);
      });
      const wait = this.secondaryWriteLocks(trx, table, affected, oldKeys, newKeys, keyBytes);
      if (wait !== undefined) {
        await this.waitLock(trx, wait);
        return 'retry';
      }
      // Phase 2 (RE1: no await since the checks).
      assert(table.clustered.find(keyBytes, this.entry), 'RE1 the locked row is still there');
      const oldTrxId = readTrxId(this.entry.page, this.entry.valueOffset);
      const oldRollPtr = readRollPtrAt(this.entry.page, this.entry.valueOffset + ROW_ROLL_PTR_OFFSET);
      const columns = new Set(changed);
      for (const i of affected) for (const c of table.layout.indexes[table.secondaries[i]!.layoutIndex]!.keyColumns) columns.add(c);
      const mtr = this.storage.startMtr();
      const rollPtr = this.appendUndo(trx, mtr, UndoRecordType.UpdateExisting, table, keyBytes, this.fieldsOf(table, current, columns), oldTrxId, oldRollPtr);
      const value = encoded.value;
      writeTrxIdInto(value, 0, trx.trxId);
      writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
      table.clustered.update(mtr, keyBytes, value, 0);
      for (const i of affected) {
        const secondary = table.secondaries[i]!;
        secondary.tree.setDeleteMark(mtr, oldKeys[i]!, true);
        this.putSecondary(mtr, secondary, newKeys[i]!);
      }
      mtr.commit();
      this.stats.updates++;
      return true;
    });
  }

  /**
   * Runs `body` on the newest version of the row `keyBytes`, X-locked (phase 1 of an update or a
   * delete); false when there is no such row. `body` returns 'retry' after waiting for a lock.
   */
  private async withLockedRow(trx: Trx, table: TableRuntime, keyBytes: Uint8Array, body: (current: MutableRow) => Promise<boolean | 'retry'>): Promise<boolean> {
    this.ensureTrxId(trx);
    for (;;) {
      this.checkActive(trx);
      const current = await this.lockRowForWrite(trx, table, keyBytes);
      if (current === 'retry') continue;
      if (current === undefined) return false;
      const result = await body(current);
      if (result !== 'retry') return result;
    }
  }

  /**
   * Phase 1 for the row a write changes: X-locks it and returns its newest version, undefined
   * when it does not exist (after locking the gap at REPEATABLE READ and SERIALIZABLE), or
   * 'retry' after a wait.
   */
  private async lockRowForWrite(trx: Trx, table: TableRuntime, keyBytes: Uint8Array): Promise<MutableRow | undefined | 'retry'> {
    const indexId = table.record.primary.id;
    const found = table.clustered.find(keyBytes, this.entry);
    const live = found && (this.entry.flags & ENTRY_DELETE_MARK) === 0;
    let wait: Promise<void> | undefined;
    if (found) {
      // The entry view is still this record's: taking a lock without waiting changes no page.
      this.convertImplicit(trx, indexId, keyBytes, readTrxId(this.entry.page, this.entry.valueOffset));
      wait = this.lock(trx, indexId, keyBytes, 'X', live || trx.isolation === 'read-committed' ? 'record' : 'next-key');
    } else if (trx.isolation !== 'read-committed') {
      wait = this.lock(trx, indexId, this.nextKey(table.clustered, keyBytes), 'X', 'gap');
    }
    if (wait !== undefined) {
      await this.waitLock(trx, wait);
      return 'retry';
    }
    return live ? this.rowFromEntry(table, this.entry) : undefined;
  }

  /** X locks on the secondary entries an update delete-marks, insert checks for the new ones. */
  private secondaryWriteLocks(trx: Trx, table: TableRuntime, affected: ReadonlySet<number>, oldKeys: readonly Uint8Array[], newKeys: readonly Uint8Array[], primaryKey: Uint8Array): Promise<void> | undefined {
    for (const i of affected) {
      const secondary = table.secondaries[i]!;
      let wait = this.lockSecondary(trx, table, i, oldKeys[i]!, 'X', 'record');
      if (wait !== undefined) return wait;
      if (secondary.index.unique) {
        wait = this.uniqueCheck(trx, table, i, newKeys[i]!, primaryKey);
        if (wait !== undefined) return wait;
      }
      wait = this.insertIntention(trx, secondary.index.id, secondary.tree, newKeys[i]!);
      if (wait !== undefined) return wait;
    }
    return undefined;
  }

  /** A primary-key change: delete-mark the old row, insert the new (both undone by rollback). */
  private async moveRow(trx: Trx, table: TableRuntime, oldKey: Uint8Array, current: MutableRow, next: MutableRow): Promise<boolean> {
    const { key: newKey } = this.encodeValue(table, next, 0, ROLL_PTR_NULL);
    const newKeys = this.secondaryKeys(table, next);
    for (;;) {
      this.checkActive(trx);
      const wait = this.insertChecks(trx, table, newKey, next, newKeys, undefined, oldKey);
      if (wait === undefined) break;
      await this.waitLock(trx, wait);
    }
    this.deleteLocked(trx, table, oldKey, current);
    await this.insert(trx, table, next);
    return true;
  }

  /** Deletes (delete-marks) the row with primary key `key`. Returns false when there is none. */
  async delete(trx: Trx, table: TableRuntime, key: KeyInput): Promise<boolean> {
    this.checkWritable(trx);
    const keyBytes = this.primaryKeyBytes(table, key);
    return this.withLockedRow(trx, table, keyBytes, async (current) => {
      const oldKeys = this.secondaryKeys(table, current);
      let wait: Promise<void> | undefined;
      for (let i = 0; i < table.secondaries.length && wait === undefined; i++) {
        wait = this.lockSecondary(trx, table, i, oldKeys[i]!, 'X', 'record');
      }
      if (wait !== undefined) {
        await this.waitLock(trx, wait);
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
    const mtr = this.storage.startMtr();
    const rollPtr = this.appendUndo(trx, mtr, UndoRecordType.DeleteMark, table, keyBytes, this.fieldsOf(table, current, indexedColumns(table)), oldTrxId, oldRollPtr);
    writeTrxIdInto(value, 0, trx.trxId);
    writeRollPtrAt(value, ROW_ROLL_PTR_OFFSET, rollPtr);
    table.clustered.update(mtr, keyBytes, value, ENTRY_DELETE_MARK);
    for (const [i, k] of this.secondaryKeys(table, current).entries()) table.secondaries[i]!.tree.setDeleteMark(mtr, k, true);
    mtr.commit();
    this.stats.deletes++;
  }

  // ------------------------------------------------------------------ rollback

  /** Applies undo records of `trx` newest first, down to undo number `toUndoNo` (RE4). */
  private undoDownTo(trx: Trx, toUndoNo: number): void {
    const cursor = new UndoLogCursor();
    for (;;) {
      const insertTop = trx.insertUndo === undefined ? undefined : lastUndoRecord(this.source, trx.insertUndo, new UndoLogCursor());
      const updateTop = trx.updateUndo === undefined ? undefined : lastUndoRecord(this.source, trx.updateUndo, cursor);
      const top = insertTop === undefined ? updateTop : updateTop === undefined || insertTop.undoNo > updateTop.undoNo ? insertTop : updateTop;
      if (top === undefined || top.undoNo < toUndoNo) break;
      const log = top === insertTop ? trx.insertUndo! : trx.updateUndo!;
      const mtr = this.storage.startMtr();
      this.applyUndo(mtr, trx, top);
      truncateUndoLog(mtr, log, top.undoNo);
      mtr.commit();
    }
  }

  /** Undoes one record in `mtr` (row0uins.cc / row0umod.cc). */
  private applyUndo(mtr: MiniTransaction, trx: Trx, record: UndoLogCursor): void {
    const table = this.tablesById.get(record.tableId);
    if (table === undefined) return; // the table was dropped: nothing left to undo
    // A copy: the undo page the record lies in may leave the pool while the indexes are searched.
    const key = record.primaryKey().slice();
    if (!table.clustered.find(key, this.entry)) return; // never reached the tree (crash between mtrs cannot happen: RE1; kept defensive)
    if (readTrxId(this.entry.page, this.entry.valueOffset) !== trx.trxId) return;
    const current = this.rowFromEntry(table, this.entry);
    const currentKeys = this.secondaryKeys(table, current);
    if (record.type === UndoRecordType.Insert) {
      currentKeys.forEach((k, i) => this.removeEntry(mtr, table.secondaries[i]!.index.id, table.secondaries[i]!.tree, k));
      this.removeEntry(mtr, table.record.primary.id, table.clustered, key);
      return;
    }
    const old: MutableRow = { ...current };
    applyUndoFields(table, record, old);
    const oldDeleted = record.type === UndoRecordType.UpdateDeleteMarked;
    const oldTrxId = record.oldTrxId;
    const oldRollPtr = record.oldRollPtr;
    if (oldDeleted && this.trxSystem.purgeView.changesVisible(oldTrxId)) {
      // Back to a delete every view already sees, whose undo purge may have processed (and
      // skipped, since this transaction held the row) and freed: nobody would ever purge the
      // restored record, so remove it now (InnoDB's row_undo_mod_remove_clust_low).
      const oldKeys = this.secondaryKeys(table, old);
      table.secondaries.forEach((s, i) => {
        this.removeEntry(mtr, s.index.id, s.tree, currentKeys[i]!);
        if (compareBytes(oldKeys[i]!, currentKeys[i]!) !== 0) this.removeEntry(mtr, s.index.id, s.tree, oldKeys[i]!);
      });
      this.removeEntry(mtr, table.record.primary.id, table.clustered, key);
      return;
    }
    const { value } = this.encodeValue(table, old, oldTrxId, oldRollPtr);
    table.clustered.update(mtr, key, value, oldDeleted ? ENTRY_DELETE_MARK : 0);
    const oldKeys = this.secondaryKeys(table, old);
    const version: Version = { row: old, deleted: oldDeleted, trxId: oldTrxId, rollPtr: oldRollPtr };
    table.secondaries.forEach((s, i) => {
      const oldKey = oldKeys[i]!;
      const newKey = currentKeys[i]!;
      if (record.type === UndoRecordType.DeleteMark || compareBytes(oldKey, newKey) === 0) {
        s.tree.setDeleteMark(mtr, oldKey, oldDeleted);
        return;
      }
      // The entry this change added: removed, unless an older version a view may see still has it.
      if (this.olderVersionHasEntry(table, s.layoutIndex, { ...version, row: { ...version.row } }, newKey)) s.tree.setDeleteMark(mtr, newKey, true);
      else this.removeEntry(mtr, s.index.id, s.tree, newKey);
      if (s.tree.insert(mtr, oldKey, EMPTY, oldDeleted ? ENTRY_DELETE_MARK : 0)) onEntryInserted(this.locks, s.index.id, s.tree, oldKey); // issue 10
      else s.tree.setDeleteMark(mtr, oldKey, oldDeleted);
    });
  }

  /**
   * row_vers_old_has_index_entry: does `version` or an older one that some read view may still
   * see have secondary key `entry`? Walks back only while the purge view cannot see a version's
   * writer (older versions are invisible to every view, and purge may have freed their undo).
   */
  olderVersionHasEntry(table: TableRuntime, layoutIndex: number, version: Version, entry: Uint8Array): boolean {
    const purgeView = this.trxSystem.purgeView;
    for (;;) {
      if (!version.deleted && compareBytes(encodeSecondaryKey(table.layout, layoutIndex, version.row), entry) === 0) return true;
      if (purgeView.changesVisible(version.trxId)) return false;
      if (!this.previousVersion(table, version)) return false;
    }
  }

  // ------------------------------------------------------------------ recovery

  /** Re-registers the transactions recovery found active, and locks their rows. */
  private recoverTransactions(): void {
    const byId = new Map<number, Trx>();
    for (const info of this.trxSys.activeUndoLogs(this.source)) {
      if (recoveryActionFor(info) === 'finish-free') {
        for (let done = false; !done; ) {
          const mtr = this.storage.startMtr();
          done = freeUndoLog(mtr, this.trxSys, info.log);
          mtr.commit();
        }
        continue;
      }
      let trx = byId.get(info.log.trxId);
      if (trx === undefined) {
        trx = new Trx('repeatable-read', false, 'full');
        trx.trxId = info.log.trxId;
        trx.recovered = true;
        byId.set(trx.trxId, trx);
      }
      if (info.log.kind === 'insert') trx.insertUndo = info.log;
      else trx.updateUndo = info.log;
      trx.undoNo = Math.max(trx.undoNo, (info.topUndoNo ?? -1) + 1);
    }
    for (const trx of [...byId.values()].sort((a, b) => a.trxId - b.trxId)) {
      this.trxSystem.adoptRecovered(trx.trxId);
      this.active.add(trx);
      this.activeById.set(trx.trxId, trx);
      this.recoveredTrxs.push(trx);
      // Its rows stay locked until it is rolled back (InnoDB: implicit locks via DB_TRX_ID).
      for (const log of [trx.insertUndo, trx.updateUndo]) {
        if (log === undefined) continue;
        const cursor = lastUndoRecord(this.source, log);
        for (let on = cursor !== undefined; on; on = prevUndoRecord(this.source, cursor!)) {
          const table = this.tablesById.get(cursor!.tableId);
          if (table !== undefined) this.locks.acquire(trx, table.record.primary.id, cursor!.primaryKey(), 'X', 'record');
        }
      }
    }
  }

  /** Rolls back one recovered transaction (background work). Returns false when none is left. */
  rollbackRecoveredStep(): boolean {
    const trx = this.recoveredTrxs.shift();
    if (trx === undefined) return false;
    if (trx.state === 'active') this.rollback(trx);
    return true;
  }

  // ------------------------------------------------------------------ checks

  /** Walks every tree and checks RE3 (SEC=CLUST on the newest versions) and the dictionary. */
  check(): { tables: number; rows: number; entries: number } {
    this.dictionary.validate();
    this.locks.validate();
    let rows = 0;
    let entries = 0;
    for (const table of this.tables.values()) {
      table.clustered.check();
      const expected = table.secondaries.map(() => new Set<string>());
      for (const entry of table.clustered.scan()) {
        entries++;
        if (entry.deleteMarked) continue;
        rows++;
        const row = decodeRowAt(table.layout, entry.key, 0, entry.key.length, entry.value, 0, entry.value.length);
        this.secondaryKeys(table, row).forEach((k, i) => expected[i]!.add(hex(k)));
      }
      table.secondaries.forEach((s, i) => {
        s.tree.check();
        const live = new Set<string>();
        for (const entry of s.tree.scan()) {
          entries++;
          if (!entry.deleteMarked) live.add(hex(entry.key));
        }
        for (const k of expected[i]!) assert(live.has(k), () => `RE3 SEC=CLUST: ${table.name}.${s.index.name} lacks the entry of a live row (${k})`);
        for (const k of live) assert(expected[i]!.has(k), () => `RE3 SEC=CLUST: ${table.name}.${s.index.name} has a live entry no live row projects to (${k})`);
      });
    }
    return { tables: this.tables.size, rows, entries };
  }

  activeTransactions(): number {
    return this.active.size;
  }

  /** For purge.ts. */
  tableById(id: number): TableRuntime | undefined {
    return this.tablesById.get(id);
  }
}

const EMPTY = new Uint8Array(0);

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** Applies an undo record's old values to `row` (the version before the change). */
export function applyUndoFields(table: TableRuntime, cursor: UndoLogCursor, row: MutableRow): void {
  const columns = table.layout.schema.columns;
  cursor.rewindFields();
  while (cursor.nextField()) {
    const def = columns[cursor.fieldNo];
    assert(def !== undefined, `undo field ${cursor.fieldNo} names a column of ${table.name}`);
    row[def.name] = cursor.valueLength < 0 ? null : decodeUndoField(def.type, cursor.bytes, cursor.valueOffset, cursor.valueOffset + cursor.valueLength);
  }
}

function allStoredColumns(table: TableRuntime): number[] {
  return table.layout.schema.columns.map((_, i) => i);
}

function indexedColumns(table: TableRuntime): Set<number> {
  const columns = new Set<number>();
  for (const s of table.secondaries) for (const c of table.layout.indexes[s.layoutIndex]!.keyColumns) columns.add(c);
  return columns;
}

/** The bytes of the secondary columns of an entry key, or undefined when one is NULL (never unique-checked). */
function secondaryPrefix(spec: KeySpec, fields: number, entryKey: Uint8Array): Uint8Array | undefined {
  let at = 0;
  for (let f = 0; f < fields; f++) {
    if (spec.nullable[f] === 1 && entryKey[at] === 0x00) return undefined; // NULL marker: never a duplicate
    at = skipField(entryKey, at, spec, f);
  }
  return entryKey.subarray(0, at);
}


function skipField(bytes: Uint8Array, at: number, spec: KeySpec, field: number): number {
  return skipKeyFields(bytes, at, bytes.length, spec, field, 1);
}

function keyValues(fieldCount: number, key: KeyInput, table: string, what: string): KeyValue[] {
  const values = Array.isArray(key) ? (key as readonly KeyValue[]) : [key as KeyValue];
  if (values.length !== fieldCount) {
    throw new InvalidArgumentError(`${table} ${what} has ${fieldCount} column${fieldCount === 1 ? '' : 's'}; got ${values.length} value${values.length === 1 ? '' : 's'} (pass an array for a composite key)`);
  }
  return values as KeyValue[];
}

function prefixValues(fieldCount: number, key: KeyInput, what: string): KeyValue[] {
  const values = Array.isArray(key) ? (key as readonly KeyValue[]) : [key as KeyValue];
  if (values.length === 0 || values.length > fieldCount) {
    throw new InvalidArgumentError(`a bound on ${what} takes 1 to ${fieldCount} leading key values, got ${values.length}`);
  }
  return values as KeyValue[];
}

function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0) throw new InvalidArgumentError(`limit must be a non-negative integer, got ${String(limit)}`);
  return limit;
}

function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function describeKey(fields: number, row: Row, columns: Int16Array, schema: TableSchema): string {
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) {
    const name = schema.columns[columns[i]!]!.name;
    const value = row[name];
    parts.push(`${name}=${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)}`);
  }
  return `(${parts.join(', ')})`;
}
