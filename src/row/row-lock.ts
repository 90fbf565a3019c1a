/**
 * Row locks as reads and writes take them: record, gap and next-key locks on index entries,
 * insert intention, implicit locks, and waiting (with deadlock victims rolled back).
 *
 * InnoDB counterpart: the row-level entry points of `lock/lock0lock.cc` (lock_clust_rec_read_check_and_lock,
 * lock_sec_rec_read_check_and_lock, lock_rec_insert_check_and_lock, lock_rec_convert_impl_to_expl)
 * as `row/row0ins.cc` and `row/row0sel.cc` call them. The lock table itself is lock/lock-manager.ts.
 *
 * Locks (InnoDB's, for the cases here): a search for one primary key that finds it takes a record
 * lock; one that does not find it takes, at REPEATABLE READ and SERIALIZABLE, a gap lock on the
 * next key so the key cannot appear (no phantom). Range scans with locks take next-key locks
 * (record locks at READ COMMITTED), and a gap lock at the end of the range. A read through a
 * secondary index locks the entries it passes and the clustered record of each row it returns
 * (row-sel.ts says which lock where). An insert checks for gap locks on the next key in every index
 * (insert intention: stored only when it must wait) and stores no lock for its own record: the
 * record is locked *implicitly* by its DB_TRX_ID while that transaction is active, and the lock
 * becomes explicit only when another transaction wants it (`convertImplicit`), as in InnoDB.
 */
import { DeadlockError } from '../errors.js';
import { type BTree, type EntryView, newEntryView } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import { SUPREMUM, type LockKind, type LockManager, type LockMode } from '../lock/lock-manager.js';
import type { Trx } from '../mvcc/trx.js';
import { extractPrimaryKeyFromSecondary, readTrxId } from '../rec/row-format.js';
import { assert, debugChecks } from '../util/assert.js';
import type { TableRuntime } from './table-runtime.js';
import type { TrxLifecycle } from './trx-lifecycle.js';

export class RowLocks {
  readonly locks: LockManager;
  private readonly trxs: TrxLifecycle;
  private readonly entry: EntryView = newEntryView();

  constructor(locks: LockManager, trxs: TrxLifecycle) {
    this.locks = locks;
    this.trxs = trxs;
  }

  /** Waits for a lock; a deadlock victim is rolled back here before the error propagates. */
  async waitLock(trx: Trx, wait: Promise<void>): Promise<void> {
    try {
      await wait;
    } catch (error) {
      if (error instanceof DeadlockError) {
        trx.deadlockVictim = true;
        if (trx.state === 'active') this.trxs.rollback(trx);
      }
      throw error;
    }
  }

  lock(trx: Trx, indexId: number, key: Uint8Array, mode: LockMode, kind: LockKind): Promise<void> | undefined {
    return this.locks.acquire(trx, indexId, key, mode, kind);
  }

  /**
   * Takes a lock only if that needs no wait (a SERIALIZABLE plain read, which is synchronous):
   * true when it is granted or already held, false when it would have to wait (nothing is queued).
   */
  tryLock(trx: Trx, indexId: number, key: Uint8Array, mode: LockMode, kind: LockKind): boolean {
    if (this.locks.wouldWait(trx, indexId, key, mode, kind)) return false;
    assert(
      this.locks.acquire(trx, indexId, key, mode, kind) === undefined,
      'K2 a request that need not wait is granted at once',
    );
    return true;
  }

  /**
   * An insert-intention check (lock_rec_insert_check_and_lock): nothing is stored unless the
   * insert must wait for a gap lock, which is the common case of a free gap costing one lookup.
   */
  insertIntention(trx: Trx, indexId: number, tree: BTree, key: Uint8Array): Promise<void> | undefined {
    // No gap-covering lock in this index (a bulk load, writers that lock only rows): nothing can
    // make the insert wait, so the next-key seek, which would read the leaf, is skipped. This is
    // also what lets the change buffer take the insert without reading the page.
    if (!this.locks.mayInheritOnInsert(indexId)) return undefined;
    const after = nextKey(tree, key);
    if (!this.locks.wouldWait(trx, indexId, after, 'X', 'insert-intention')) return undefined;
    return this.locks.acquire(trx, indexId, after, 'X', 'insert-intention');
  }

  /**
   * InnoDB's implicit locks: a record written by a transaction that is still active is locked by
   * it without any entry in the lock table (its DB_TRX_ID says so). Before another transaction
   * locks the record, the implicit lock becomes an explicit one (lock_rec_convert_impl_to_expl),
   * so the newcomer queues behind it. `writerTrxId` is the DB_TRX_ID of the row behind the entry.
   */
  convertImplicit(trx: Trx, indexId: number, key: Uint8Array, writerTrxId: number): void {
    if (writerTrxId === trx.trxId) return;
    const holder = this.trxs.activeHolder(writerTrxId);
    if (holder === undefined) return;
    this.locks.grantImplicit(holder, indexId, key);
  }

  /** Locks a clustered record, converting its writer's implicit lock first. */
  lockClustered(
    trx: Trx,
    table: TableRuntime,
    key: Uint8Array,
    mode: LockMode,
    kind: LockKind,
  ): Promise<void> | undefined {
    if (kind !== 'gap' && table.clustered.find(key, this.entry)) {
      this.convertImplicit(trx, table.record.primary.id, key, readTrxId(this.entry.page, this.entry.valueOffset));
    }
    return this.locks.acquire(trx, table.record.primary.id, key, mode, kind);
  }

  /** Locks a secondary entry, converting the implicit lock of the row's writer first. */
  lockSecondary(
    trx: Trx,
    table: TableRuntime,
    i: number,
    entry: Uint8Array,
    mode: LockMode,
    kind: LockKind,
  ): Promise<void> | undefined {
    const secondary = table.secondaries[i]!;
    if (kind !== 'gap') {
      const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entry);
      if (table.clustered.find(primary, this.entry)) {
        this.convertImplicit(trx, secondary.index.id, entry, readTrxId(this.entry.page, this.entry.valueOffset));
      }
    }
    return this.locks.acquire(trx, secondary.index.id, entry, mode, kind);
  }

  /**
   * X-locks the secondary entry `entry` of a row whose clustered record `trx` holds X-locked (an
   * update or a delete in phase 1): InnoDB's lock_sec_rec_modify_check_and_lock. No implicit lock
   * to convert: the entry's implicit holder is the row's writer, and `trx` could lock the record
   * only after that writer ended (or is `trx`), so the clustered lookup `lockSecondary` makes to
   * find the writer is skipped (checked under debug checks).
   */
  lockSecondaryOfLockedRow(trx: Trx, table: TableRuntime, i: number, entry: Uint8Array): Promise<void> | undefined {
    const secondary = table.secondaries[i]!;
    if (debugChecks()) {
      const primary = extractPrimaryKeyFromSecondary(table.layout, secondary.layoutIndex, entry);
      if (table.clustered.find(primary, this.entry)) {
        const writer = readTrxId(this.entry.page, this.entry.valueOffset);
        assert(
          writer === trx.trxId || this.trxs.activeHolder(writer) === undefined,
          'no other active transaction holds the row of a secondary entry locked for a write',
        );
      }
    }
    return this.locks.acquire(trx, secondary.index.id, entry, 'X', 'record');
  }
}

/** The key after `key` in `tree`, or SUPREMUM (a copy: it is kept across awaits). */
export function nextKey(tree: BTree, key: Uint8Array, cursor?: BTreeCursor): Uint8Array {
  const c = cursor ?? tree.cursor();
  return c.seek(key, 'gt') ? c.key() : SUPREMUM;
}

/**
 * The first key of `tree` above the upper bound, or SUPREMUM: the gap a reverse locking scan locks
 * first, since its next-key locks cover the gaps below the entries it passes, not the one above.
 */
export function firstKeyAbove(tree: BTree, bounds: { lt?: Uint8Array; lte?: Uint8Array }): Uint8Array {
  const cursor = tree.cursor();
  if (bounds.lt !== undefined) return cursor.seek(bounds.lt, 'ge') ? cursor.key() : SUPREMUM;
  if (bounds.lte !== undefined) return cursor.seek(bounds.lte, 'gt') ? cursor.key() : SUPREMUM;
  return SUPREMUM;
}

/** The first key of `tree` inside the lower bound, or SUPREMUM: the gap a locking scan past its range locks. */
export function firstKeyAtOrAfter(tree: BTree, bounds: { gt?: Uint8Array; gte?: Uint8Array }): Uint8Array {
  const cursor = tree.cursor();
  if (bounds.gte !== undefined) return cursor.seek(bounds.gte, 'ge') ? cursor.key() : SUPREMUM;
  if (bounds.gt !== undefined) return cursor.seek(bounds.gt, 'gt') ? cursor.key() : SUPREMUM;
  return cursor.first() ? cursor.key() : SUPREMUM;
}
