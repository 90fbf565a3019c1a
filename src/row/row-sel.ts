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
import { IndexNotVisibleError, ReadOnlyTransactionError, UnknownIndexError, WouldWaitError } from '../errors.js';
import { type BTree, ENTRY_DELETE_MARK, type EntryView, newEntryView } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import type { LockKind, LockMode } from '../lock/lock-manager.js';
import type { ReadView } from '../mvcc/read-view.js';
import type { Trx } from '../mvcc/trx.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { compareBytes, encodeKeyPrefix } from '../rec/key-codec.js';
import { encodeSecondaryKey, extractPrimaryKeyFromSecondary, readTrxId, type Row } from '../rec/row-format.js';
import {
  byteRange,
  checkLimit,
  dropUndefined,
  encodePrimary,
  prefixValues,
  primaryKeyBytes,
  primaryRange,
  type ByteRange,
  type KeyInput,
  type KeyRange,
} from './keys.js';
import { firstKeyAbove, firstKeyAtOrAfter, nextKey, type RowLocks } from './row-lock.js';
import { rowFromEntry, type RowVersions } from './row-vers.js';
import type { RowEngineTestSeams } from './row-seams.js';
import type { SecondaryRuntime, TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';

export class RowSelect {
  private readonly trxSystem: TrxSystem;
  private readonly trxs: TrxLifecycle;
  private readonly versions: RowVersions;
  private readonly rowLocks: RowLocks;
  private readonly readsNewestInIndexScans: boolean;
  private readonly entry: EntryView = newEntryView();

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
  get(trx: Trx | undefined, table: TableRuntime, key: KeyInput): Row | undefined {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const length = encodePrimary(table, key);
    if (trx?.isolation === 'serializable') return this.serializableGet(trx, table, table.keyScratch.slice(0, length));
    const keyBytes = length === table.keyScratch.length ? table.keyScratch : table.keyScratch.subarray(0, length);
    const { view, close } = this.viewFor(trx);
    try {
      if (!table.clustered.find(keyBytes, this.entry)) return undefined;
      return this.versions.visibleRow(table, this.entry, view);
    } finally {
      this.releaseView(view, close);
    }
  }

  /** SERIALIZABLE turns a plain read into a shared locking read (InnoDB); it must not wait here. */
  private serializableGet(trx: Trx, table: TableRuntime, key: Uint8Array): Row | undefined {
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

  /** Consistent range scan by primary key; lazy. */
  *scan(trx: Trx | undefined, table: TableRuntime, range: KeyRange = {}): Generator<Row, void, undefined> {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const limit = checkLimit(range.limit);
    if (trx?.isolation === 'serializable') {
      yield* this.serializableScan(trx, table, range, limit);
      return;
    }
    const { view, close } = this.viewFor(trx);
    try {
      const it = table.clustered.scan({ ...primaryRange(table, range), reverse: range.reverse === true });
      let count = 0;
      while (count < limit && it.step()) {
        const row = this.versions.visibleRow(table, it.cursor.view, view);
        if (row === undefined) continue;
        count++;
        yield row;
        this.trxs.checkReadable(); // the consumer ran between rows: C4 again
      }
    } finally {
      this.releaseView(view, close);
    }
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
        return cursor.deleteMarked ? undefined : rowFromEntry(table, cursor.view);
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
      return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : rowFromEntry(table, this.entry);
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

  /** Consistent scan through a secondary index, in index order; returns whole rows. */
  *indexScan(
    trx: Trx | undefined,
    table: TableRuntime,
    indexName: string,
    range: KeyRange = {},
  ): Generator<Row, void, undefined> {
    if (trx !== undefined) this.trxs.checkActive(trx);
    const secondary = secondaryOf(table, indexName);
    const limit = checkLimit(range.limit);
    if (trx?.isolation === 'serializable') {
      yield* this.serializableIndexScan(trx, table, secondary, range, limit, false);
      return;
    }
    const layout = table.layout.indexes[secondary.layoutIndex]!;
    const { view, close } = this.viewFor(trx);
    try {
      if (view !== undefined && view.lowLimitId <= secondary.index.createdAtTrxId)
        throw new IndexNotVisibleError(table.name, indexName);
      const it = secondary.tree.scan({
        ...byteRange(layout.spec, range, `${table.name}.${indexName}`, layout.secondaryFieldCount),
        reverse: range.reverse === true,
      });
      let count = 0;
      while (count < limit && it.step()) {
        const entryKey = it.cursor.key();
        const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entryKey);
        if (!table.clustered.find(primary, this.entry)) continue;
        // TEST ONLY (indexScanReadsNewest): the newest version instead of the view's.
        const row = this.versions.visibleRow(table, this.entry, this.readsNewestInIndexScans ? undefined : view);
        // The version this view sees must be the one this entry indexes (an entry of an older or
        // newer version of the row is skipped: SEC=CLUST per view).
        if (
          row === undefined ||
          compareBytes(encodeSecondaryKey(table.layout, secondary.layoutIndex, row), entryKey) !== 0
        )
          continue;
        count++;
        yield row;
        this.trxs.checkReadable(); // the consumer ran between rows: C4 again
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
        const row = this.versions.visibleRow(table, this.entry, view);
        if (row === undefined) continue;
        if (
          view !== undefined &&
          compareBytes(encodeSecondaryKey(table.layout, secondary.layoutIndex, row), entryKey) !== 0
        )
          continue;
        return row;
      }
      return undefined;
    } finally {
      this.releaseView(view, close);
    }
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
      const wait = found
        ? this.rowLocks.lockClustered(trx, table, keyBytes, mode, 'record')
        : trx.isolation === 'read-committed'
          ? undefined
          : this.rowLocks.lock(trx, indexId, nextKey(table.clustered, keyBytes), mode, 'gap');
      if (wait !== undefined) {
        await this.rowLocks.waitLock(trx, wait);
        continue;
      }
      if (!table.clustered.find(keyBytes, this.entry)) return undefined;
      return (this.entry.flags & ENTRY_DELETE_MARK) !== 0 ? undefined : rowFromEntry(table, this.entry);
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
      const row = rowFromEntry(table, this.entry);
      count++;
      yield row;
      this.trxs.checkReadable(); // the consumer ran between rows: C4 again
      if (count >= limit) return;
    }
  }
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
