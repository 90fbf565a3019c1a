/**
 * Reads: consistent reads through read views, and locking reads of the newest versions.
 *
 * InnoDB counterpart: `row/row0sel.cc` (row_search_mvcc: a consistent read builds the version its
 * view sees; a locking read locks the newest one; a secondary-index read looks up the clustered
 * record and checks the version it sees still has the entry) and `read/read0read.cc` for when a
 * view is opened: REPEATABLE READ and SERIALIZABLE keep one per transaction from its first read,
 * READ COMMITTED opens one per read, and an autocommit read uses a view only when some read-write
 * transaction is active (otherwise the newest committed version is exact).
 *
 * SERIALIZABLE turns a plain read into a shared locking read, as InnoDB does; reads are synchronous
 * here, so one that would have to wait throws ERR_WOULD_WAIT instead (getForShare waits).
 *
 * ## What a SERIALIZABLE plain read locks (InnoDB's row_search_mvcc with LOCK_S)
 * - A point read by primary key: the record (record lock), or the gap where it would be.
 * - A scan of the clustered index or of a secondary index: every entry it passes, delete-marked
 *   or not, with a next-key lock (the entry and the gap before it); then the gap past the last
 *   entry of the range (a forward scan that was not cut short by its limit), or the gap above the
 *   range (a reverse scan, locked first: its next-key locks cover the gaps below its entries).
 *   No row can then enter the range while the transaction is open (no phantom).
 * - Through a secondary index, also the clustered record of each live entry (record lock, as
 *   lock_clust_rec_read_check_and_lock with LOCK_REC_NOT_GAP), so a writer of the row waits too.
 * - `getByIndex` with every column of a unique index, finding a live entry: that entry alone
 *   (record lock: InnoDB's unique search takes LOCK_REC_NOT_GAP, since no other entry can have
 *   the key); a delete-marked one keeps its next-key lock and the search goes on.
 * An entry's implicit lock is its row's active writer's (approximating lock_sec_rec_some_has_impl
 * by the row's newest DB_TRX_ID), made explicit before the read asks (row-lock.ts).
 */
import {
  IndexNotVisibleError,
  InvalidArgumentError,
  ReadOnlyTransactionError,
  UnknownIndexError,
  WouldWaitError,
} from '../errors.js';
import { type BTree, ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import type { LockKind, LockMode } from '../lock/lock-manager.js';
import type { ReadView } from '../mvcc/read-view.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { compareBytes, encodeKeyPrefix } from '../rec/key-codec.js';
import {
  encodeSecondaryKey,
  extractPrimaryKeyFromSecondary,
  readTrxId,
  type Row,
  type StoredValue,
} from '../rec/row-format.js';
import {
  byteRange,
  checkLimit,
  columnIndexes,
  dropUndefined,
  encodePrimary,
  prefixValues,
  primaryKeyBytes,
  primaryRange,
  type ByteRange,
  type KeyInput,
  type KeyRange,
  type ReadOptions,
} from './keys.js';
import { firstKeyAbove, firstKeyAtOrAfter, nextKey, type RowLocks } from './row-lock.js';
import { materializeRow, readStoredSlice, storedLength } from './row-lob.js';
import { projectRow, rowFromEntry, type MutableRow, type RowVersions } from './row-vers.js';
import type { RowEngineTestSeams } from './row-seams.js';
import type { SecondaryRuntime, TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';
import { type RowSource, StatementIterator, ViewLease } from './statement-view.js';
import { ClusteredRows, SecondaryRows } from './consistent-scan.js';

/** One value read in slices over time (`RowSelect.openValueReader`). */
export interface ValueReader {
  /** The value's length in bytes (a string's UTF-8, a json value's JSON text). */
  readonly length: number;
  /** Bytes [offset, offset + count) of the value as the reader's view sees it, into `out` (or a new array). */
  read(offset: number, count: number, out?: Uint8Array): Uint8Array;
  /** Releases the reader's read view. Idempotent. */
  close(): void;
}

export class RowSelect {
  private readonly trxSystem: TrxSystem;
  private readonly trxs: TrxLifecycle;
  private readonly versions: RowVersions;
  private readonly rowLocks: RowLocks;
  private readonly readsNewestInIndexScans: boolean;
  private readonly entry: EntryView = newEntryView();
  /** Between two rows of a lazy read the consumer ran: C4 again (the engine may have been poisoned). */
  private readonly afterRow = (): void => this.trxs.checkReadable();

  constructor(
    trxSystem: TrxSystem,
    trxs: TrxLifecycle,
    versions: RowVersions,
    rowLocks: RowLocks,
    seams: RowEngineTestSeams = {},
  ) {
    this.trxSystem = trxSystem;
    this.trxs = trxs;
    this.versions = versions;
    this.rowLocks = rowLocks;
    this.readsNewestInIndexScans = seams.indexScanReadsNewest === true;
  }

  /**
   * The read view a consistent read of `trx` uses, or undefined for "the newest committed
   * version", which is exact when no read-write transaction is active. `statement` views (READ
   * COMMITTED, autocommit) are closed by the caller.
   */
  viewFor(trx: Trx | undefined): { view: ReadView | undefined; close: boolean } {
    if (trx === undefined) {
      this.trxs.checkReadable(); // a transaction's reads were checked by checkActive
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

  // ------------------------------------------------------------------ consistent reads

  /** Point read by primary key, consistent (or, at SERIALIZABLE, with a shared lock taken). */
  get(trx: Trx | undefined, table: TableRuntime, key: KeyInput, options?: ReadOptions): Row | undefined {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const columns = options === undefined ? undefined : columnIndexes(table, options.columns);
    const length = encodePrimary(table, key);
    if (trx?.isolation === 'serializable')
      return this.serializableGet(trx, table, table.keyScratch.slice(0, length), columns);
    const { view, close } = this.viewFor(trx);
    try {
      // The key is keyScratch[0, length): found in place, no view of it made.
      if (!table.clustered.find(table.keyScratch, this.entry, length)) return undefined;
      const row = this.versions.visibleRow(table, this.entry, view, columns);
      return row === undefined ? undefined : (materializeRow(table, row) as Row);
    } finally {
      this.releaseView(view, close);
    }
  }

  /** SERIALIZABLE turns a plain read into a shared locking read (InnoDB); it must not wait here. */
  private serializableGet(
    trx: Trx,
    table: TableRuntime,
    key: Uint8Array,
    columns: Int16Array | undefined,
  ): Row | undefined {
    const row = this.serializableRow(trx, table, key);
    if (row === undefined) return undefined;
    return materializeRow(table, columns === undefined ? row : projectRow(table, row, columns)) as Row;
  }

  /** The newest version share-locked, its large values references. */
  private serializableRow(trx: Trx, table: TableRuntime, key: Uint8Array): MutableRow | undefined {
    this.trxs.ensureTrxId(trx);
    const primaryId = table.record.primary.id;
    if (!table.clustered.find(key, this.entry)) {
      this.shareNow(trx, table, primaryId, nextKey(table.clustered, key), 'gap');
      return undefined;
    }
    this.rowLocks.convertImplicit(trx, primaryId, key, readTrxId(this.entry.page, this.entry.valueOffset));
    this.shareNow(trx, table, primaryId, key, 'record');
    return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : rowFromEntry(table, this.entry);
  }

  /** A SERIALIZABLE plain read's shared lock, taken now: one it would have to wait for is ERR_WOULD_WAIT. */
  private shareNow(trx: Trx, table: TableRuntime, indexId: number, key: Uint8Array, kind: LockKind): void {
    if (!this.rowLocks.tryLock(trx, indexId, key, 'S', kind)) throw new WouldWaitError(table.name);
  }

  /**
   * The view a lazy consistent read holds for its whole life (statement-view.ts): its own for an
   * autocommit or READ COMMITTED scan, opened now; the transaction's for REPEATABLE READ.
   */
  private statementView(trx: Trx | undefined): ViewLease {
    if (trx === undefined) {
      this.trxs.checkReadable();
      // The last autocommit view when nothing changed since and no scan holds it (AV1 of trx-system.ts).
      return new ViewLease(this.trxSystem.openAutocommitView(), this.trxSystem);
    }
    if (trx.isolation === 'read-committed') return new ViewLease(this.trxSystem.openView(trx.trxId), this.trxSystem);
    trx.view ??= this.trxSystem.openView(trx.trxId);
    return new ViewLease(trx.view, undefined);
  }

  /** A transaction's scan stops once the transaction has ended (its view is closed then). */
  private stepCheck(trx: Trx | undefined): (() => void) | undefined {
    return trx === undefined ? undefined : () => this.trxs.checkActive(trx);
  }

  /** Consistent range scan by primary key; lazy, over one view from this call on (SV2). */
  scan(trx: Trx | undefined, table: TableRuntime, range: KeyRange = {}): IterableIterator<Row> {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const limit = checkLimit(range.limit);
    const columns = columnIndexes(table, range.columns);
    if (trx?.isolation === 'serializable')
      return projectRows(table, this.serializableScan(trx, table, range, limit), columns);
    const bounds = primaryRange(table, range);
    bounds.reverse = range.reverse === true;
    const entries = table.clustered.scan(bounds);
    const lease = this.statementView(trx);
    const rows = new ClusteredRows(table, this.versions, lease.view, entries, limit, this.afterRow, columns);
    return new StatementIterator(lease, rows as RowSource<Row>, this.stepCheck(trx));
  }

  private *serializableScan(
    trx: Trx,
    table: TableRuntime,
    range: KeyRange,
    limit: number,
  ): Generator<Row, void, undefined> {
    const indexId = table.record.primary.id;
    yield* this.serializableRange(
      trx,
      table,
      table.clustered,
      indexId,
      primaryRange(table, range),
      range,
      limit,
      (key, cursor) => {
        this.rowLocks.convertImplicit(trx, indexId, key, readTrxId(cursor.view.page, cursor.view.valueOffset));
        this.shareNow(trx, table, indexId, key, 'next-key');
        return cursor.deleteMarked ? undefined : newestRow(table, cursor.view);
      },
    );
  }

  /**
   * A SERIALIZABLE scan through a secondary index (the locks are listed at the top of this file).
   * `uniqueKey`: the range is one full key of a unique index, so a live entry is locked alone.
   * The newest versions are read, so an index built after the transaction began is usable.
   */
  private *serializableIndexScan(
    trx: Trx,
    table: TableRuntime,
    secondary: SecondaryRuntime,
    range: KeyRange,
    limit: number,
    uniqueKey: boolean,
  ): Generator<Row, void, undefined> {
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const bounds = byteRange(layout.spec, range, `${table.name}.${secondary.index.name}`, layout.secondaryFieldCount);
    const indexId = secondary.index.id;
    const primaryId = table.record.primary.id;
    yield* this.serializableRange(trx, table, secondary.tree, indexId, bounds, range, limit, (entryKey, cursor) => {
      const marked = cursor.deleteMarked;
      const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entryKey);
      const found = table.clustered.find(primary, this.entry);
      const writer = found ? readTrxId(this.entry.page, this.entry.valueOffset) : 0;
      if (found) this.rowLocks.convertImplicit(trx, indexId, entryKey, writer);
      this.shareNow(trx, table, indexId, entryKey, uniqueKey && !marked ? 'record' : 'next-key');
      if (marked || !found) return undefined;
      this.rowLocks.convertImplicit(trx, primaryId, primary, writer);
      this.shareNow(trx, table, primaryId, primary, 'record');
      // A live entry is the projection of its row's newest version (RE3, SEC=CLUST): no re-check.
      return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : newestRow(table, this.entry);
    });
  }

  /**
   * The frame of a SERIALIZABLE scan of one index: the gap above the range first (reverse), then
   * each entry in range through `lockEntry` (it locks the entry and returns its row, or undefined
   * to skip it), then the gap past the last entry (forward, unless the limit cut the scan short).
   */
  private *serializableRange(
    trx: Trx,
    table: TableRuntime,
    tree: BTree,
    indexId: number,
    bounds: ByteRange,
    range: KeyRange,
    limit: number,
    lockEntry: (key: Uint8Array, cursor: BTreeCursor) => Row | undefined,
  ): Generator<Row, void, undefined> {
    this.trxs.ensureTrxId(trx);
    if (bounds.limit === 0) return; // a range no key can fall in: nothing to lock
    const reverse = range.reverse === true;
    if (reverse) this.shareNow(trx, table, indexId, firstKeyAbove(tree, bounds), 'gap');
    const it = tree.scan({ ...bounds, reverse });
    let count = 0;
    let last: Uint8Array | undefined;
    while (count < limit && it.step()) {
      last = it.cursor.key();
      const row = lockEntry(last, it.cursor);
      if (row === undefined) continue;
      count++;
      yield row;
      this.trxs.checkReadable(); // the consumer ran between rows: C4 again
    }
    if (count < limit && !reverse)
      this.shareNow(
        trx,
        table,
        indexId,
        last === undefined ? firstKeyAtOrAfter(tree, bounds) : nextKey(tree, last),
        'gap',
      );
  }

  /** Consistent scan through a secondary index, in index order; returns whole rows. Lazy, one view (SV2). */
  indexScan(trx: Trx | undefined, table: TableRuntime, indexName: string, range: KeyRange = {}): IterableIterator<Row> {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const secondary = secondaryOf(table, indexName);
    const limit = checkLimit(range.limit);
    const columns = columnIndexes(table, range.columns);
    if (trx?.isolation === 'serializable')
      return projectRows(table, this.serializableIndexScan(trx, table, secondary, range, limit, false), columns);
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const bounds = byteRange(layout.spec, range, `${table.name}.${secondary.index.name}`, layout.secondaryFieldCount);
    bounds.reverse = range.reverse === true;
    const entries = secondary.tree.scan(bounds);
    const lease = this.statementView(trx);
    if (lease.view.lowLimitId <= secondary.index.createdAtTrxId) {
      lease.release();
      throw new IndexNotVisibleError(table.name, indexName);
    }
    const rows = new SecondaryRows(
      table,
      secondary,
      this.versions,
      lease.view,
      entries,
      limit,
      this.afterRow,
      this.readsNewestInIndexScans,
      columns,
    );
    return new StatementIterator(lease, rows as RowSource<Row>, this.stepCheck(trx));
  }

  /**
   * The first row (in index order) whose secondary columns start with `key`, consistent: one
   * seek, keys compared in place. Reading the newest versions, a live entry is the projection of
   * its row (SEC=CLUST), so the row needs no re-check; under a read view it does.
   */
  getByIndex(trx: Trx | undefined, table: TableRuntime, indexName: string, key: KeyInput): Row | undefined {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const secondary = secondaryOf(table, indexName);
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const values = prefixValues(layout.secondaryFieldCount, key, `${table.name}.${indexName}`);
    if (trx?.isolation === 'serializable') {
      const uniqueKey =
        secondary.index.unique && values.length === layout.secondaryFieldCount && values.every((v) => v !== null);
      for (const row of this.serializableIndexScan(trx, table, secondary, { gte: key, lte: key }, 1, uniqueKey))
        return row;
      return undefined;
    }
    const prefix = encodeKeyPrefix(values, layout.spec);
    const { view, close } = this.viewFor(trx);
    try {
      if (view !== undefined && view.lowLimitId <= secondary.index.createdAtTrxId)
        throw new IndexNotVisibleError(table.name, indexName);
      const cursor = secondary.tree.cursor();
      for (let on = cursor.seek(prefix, 'ge'); on; on = cursor.next()) {
        const entry = cursor.view;
        if (
          entry.keyLength < prefix.length ||
          compareBytes(entry.page.subarray(entry.keyOffset, entry.keyOffset + prefix.length), prefix) !== 0
        )
          return undefined;
        const deleteMarked = (entry.flags & ENTRY_DELETE_MARK) !== 0;
        if (view === undefined && deleteMarked) continue;
        const entryKey = entry.page.slice(entry.keyOffset, entry.keyOffset + entry.keyLength);
        const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entryKey);
        if (!table.clustered.find(primary, this.entry)) continue;
        // CS2 (consistent-scan.ts): a live entry read against the newest version needs no comparison.
        const newestSeen =
          view === undefined || view.changesVisible(readTrxId(this.entry.page, this.entry.valueOffset));
        const row = this.versions.visibleRow(table, this.entry, view);
        if (row === undefined) continue;
        if (
          !(newestSeen && !deleteMarked) &&
          compareBytes(encodeSecondaryKey(table.layout, secondary.layoutIndex, row), entryKey) !== 0
        )
          continue;
        return materializeRow(table, row) as Row;
      }
      return undefined;
    } finally {
      this.releaseView(view, close);
    }
  }

  // ------------------------------------------------------------------ one value, in slices

  /**
   * The stored value of column `name` in the row `key` as a read of `trx` sees it: a large value
   * as its `LobRef` (not read), null for NULL, undefined when there is no row. At SERIALIZABLE the
   * newest version, share-locked (as `get`).
   */
  storedValue(trx: Trx | undefined, table: TableRuntime, key: KeyInput, name: string): StoredValue | null | undefined {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const length = encodePrimary(table, key);
    const keyBytes = table.keyScratch.slice(0, length);
    if (trx?.isolation === 'serializable') {
      const row = this.serializableRow(trx, table, keyBytes);
      return row === undefined ? undefined : (row[name] ?? null);
    }
    const { view, close } = this.viewFor(trx);
    try {
      return this.storedValueIn(table, keyBytes, name, view);
    } finally {
      this.releaseView(view, close);
    }
  }

  private storedValueIn(
    table: TableRuntime,
    keyBytes: Uint8Array,
    name: string,
    view: ReadView | undefined,
  ): StoredValue | null | undefined {
    if (!table.clustered.find(keyBytes, this.entry)) return undefined;
    const row = this.versions.visibleRow(table, this.entry, view);
    return row === undefined ? undefined : (row[name] ?? null);
  }

  /**
   * A reader of one value that outlives this call (a stream): it holds its own read view, a copy
   * of the snapshot this read would use, so purge keeps every version it may need, and it finds the
   * value again under that view at each read, so in-place changes made since are undone for it
   * (LOB-DIFF). Null for NULL, undefined when there is no row.
   */
  openValueReader(
    trx: Trx | undefined,
    table: TableRuntime,
    key: KeyInput,
    name: string,
  ): ValueReader | null | undefined {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const keyBytes = primaryKeyBytes(table, key);
    let view: ReadView | undefined;
    if (trx?.isolation === 'serializable') {
      this.serializableRow(trx, table, keyBytes); // the share lock: the newest version stays as read
      view = this.trxSystem.openView(trx.trxId);
    } else if (trx !== undefined && trx.isolation === 'repeatable-read') {
      trx.view ??= this.trxSystem.openView(trx.trxId);
      view = this.trxSystem.openViewCopy(trx.view);
    } else {
      view = this.trxSystem.openView(trx?.trxId ?? 0);
    }
    const first = this.storedValueIn(table, keyBytes, name, view);
    if (first === undefined || first === null) {
      this.trxSystem.closeView(view);
      return first;
    }
    const trxSystem = this.trxSystem;
    const column = table.layout.schema.columns[table.layout.columnIndexByName.get(name)!]!;
    const length = storedLength(column, first);
    let open = true;
    return {
      length,
      read: (offset: number, count: number, out?: Uint8Array): Uint8Array => {
        if (!open) throw new InvalidArgumentError('the value reader is closed');
        const value = this.storedValueIn(table, keyBytes, name, view);
        if (value === undefined || value === null || storedLength(column, value) !== length)
          throw new InvalidArgumentError(
            `the value of ${JSON.stringify(name)} changed length under its reader (its own transaction wrote it)`,
          );
        return readStoredSlice(table, column, value, offset, count, out);
      },
      close: (): void => {
        if (!open) return;
        open = false;
        trxSystem.closeView(view);
      },
    };
  }

  // ------------------------------------------------------------------ locking reads

  /** getForUpdate / getForShare: the newest version, locked. */
  async lockingGet(trx: Trx, table: TableRuntime, key: KeyInput, mode: LockMode): Promise<Row | undefined> {
    this.trxs.checkActive(trx);
    if (mode === 'X' && trx.readOnly) throw new ReadOnlyTransactionError();
    this.trxs.ensureTrxId(trx);
    const keyBytes = primaryKeyBytes(table, key);
    const indexId = table.record.primary.id;
    for (;;) {
      this.trxs.checkActive(trx);
      const found = table.clustered.find(keyBytes, this.entry);
      let wait: Promise<void> | undefined;
      if (found) {
        // The record's writer is read from the entry just found (lockClustered would look it up again).
        this.rowLocks.convertImplicit(trx, indexId, keyBytes, readTrxId(this.entry.page, this.entry.valueOffset));
        wait = this.rowLocks.lock(trx, indexId, keyBytes, mode, 'record');
      } else if (trx.isolation !== 'read-committed') {
        wait = this.rowLocks.lock(trx, indexId, nextKey(table.clustered, keyBytes), mode, 'gap');
      }
      if (wait !== undefined) {
        await this.rowLocks.waitLock(trx, wait);
        continue;
      }
      // Granted at once: taking a lock changes no page, so the entry view is still the record's.
      if (!found) return undefined;
      return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : newestRow(table, this.entry);
    }
  }

  /** A locking range scan by primary key: next-key locks (record locks at READ COMMITTED). */
  async *lockingScan(
    trx: Trx,
    table: TableRuntime,
    range: KeyRange,
    mode: LockMode,
  ): AsyncGenerator<Row, void, undefined> {
    this.trxs.checkActive(trx);
    if (mode === 'X' && trx.readOnly) throw new ReadOnlyTransactionError();
    this.trxs.ensureTrxId(trx);
    const limit = checkLimit(range.limit);
    const indexId = table.record.primary.id;
    const kind: LockKind = trx.isolation === 'read-committed' ? 'record' : 'next-key';
    const bounds = primaryRange(table, range);
    if (bounds.limit === 0) return; // a range no key can fall in
    const reverse = range.reverse === true;
    if (reverse && kind === 'next-key') {
      // The gap above the range: the next-key locks below cover the gaps under the entries only.
      const wait = this.rowLocks.lock(trx, indexId, firstKeyAbove(table.clustered, bounds), mode, 'gap');
      if (wait !== undefined) await this.rowLocks.waitLock(trx, wait);
    }
    let resumeAfter: Uint8Array | undefined;
    let count = 0;
    for (;;) {
      this.trxs.checkActive(trx);
      const start =
        resumeAfter === undefined
          ? bounds
          : reverse
            ? { ...bounds, lt: resumeAfter, lte: undefined }
            : { ...bounds, gt: resumeAfter, gte: undefined };
      const it = table.clustered.scan({ ...dropUndefined(start), reverse });
      if (!it.step()) {
        // Past the range: lock the gap up to the next key so nothing can be inserted into it.
        if (!reverse && kind === 'next-key') {
          const after =
            resumeAfter === undefined
              ? firstKeyAtOrAfter(table.clustered, bounds)
              : nextKey(table.clustered, resumeAfter);
          const wait = this.rowLocks.lock(trx, indexId, after, mode, 'gap');
          if (wait !== undefined) await this.rowLocks.waitLock(trx, wait);
        }
        return;
      }
      const key = it.cursor.key();
      const wait = this.rowLocks.lockClustered(trx, table, key, mode, kind);
      if (wait !== undefined) {
        await this.rowLocks.waitLock(trx, wait);
        continue; // re-read from the same position: the entry may have changed while we waited
      }
      resumeAfter = key;
      if (!table.clustered.find(key, this.entry) || (this.entry.flags & ENTRY_DELETE_MARK) !== 0) continue;
      const row = newestRow(table, this.entry);
      count++;
      yield row;
      this.trxs.checkReadable(); // the consumer ran between rows: C4 again
      if (count >= limit) return;
    }
  }
}

/** The newest version of the entry, its large values read. */
function newestRow(table: TableRuntime, entry: EntryView): Row {
  return materializeRow(table, rowFromEntry(table, entry)) as Row;
}

/** The secondary index called `indexName`; ERR_UNKNOWN_INDEX when there is none. */
export function secondaryOf(table: TableRuntime, indexName: string): SecondaryRuntime {
  const secondary = table.secondary(indexName);
  if (secondary === undefined)
    throw new UnknownIndexError(
      table.name,
      indexName,
      table.secondaries.map((s) => s.index.name),
    );
  return secondary;
}

/** The rows of a locking or SERIALIZABLE scan with only `columns` (schema indexes) kept, when given. */
function* projectRows(
  table: TableRuntime,
  rows: Generator<Row, void, undefined>,
  columns: Int16Array | undefined,
): Generator<Row, void, undefined> {
  if (columns === undefined) return yield* rows;
  for (const row of rows) yield projectRow(table, row as MutableRow, columns) as Row;
}
