/**
 * Transactions as the row layer runs them: begin, the first write, commit, rollback (whole or to a
 * savepoint), deadlock victims, and the transactions recovery found active.
 *
 * InnoDB counterpart: `trx/trx0trx.cc` (trx_start_low, trx_commit: the serialisation number, the
 * undo logs committed, the locks released) and `trx/trx0roll.cc` (trx_rollback_to_savepoint,
 * trx_rollback_or_clean_recovered). The lifecycle is drawn in mvcc/trx.ts.
 *
 * Commit is one synchronous step: the transaction gets its serialisation number and leaves the
 * active set, its undo logs are committed in one mtr (the update log joins the history list), it
 * becomes visible and releases its locks at once, and only durability is awaited (InnoDB's
 * trx_commit_in_memory before the log flush). Rollback applies the undo records newest first
 * (row-undo.ts) and then frees the logs.
 *
 * Recovery: every undo log in a slot belongs to a transaction that was active at the crash (or to
 * a committed insert log whose freeing was cut short: finished here). Those transactions are
 * registered again, keep their rows locked (InnoDB: implicit locks through DB_TRX_ID; here made
 * explicit at once) and are rolled back in the background, a bounded `rollbackRecoveredStep` at a time.
 */
import { ClosedError, InvalidArgumentError, ReadOnlyTransactionError, TransactionFinishedError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { LockManager } from '../lock/lock-manager.js';
import { Trx, type IsolationLevel } from '../mvcc/trx.js';
import { recoveryActionFor } from '../mvcc/trx-sys-page.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import type { Durability } from '../redo/redo-log.js';
import { commitUndoLog, freeUndoLog, runUndoSteps, type PageSource, type UndoLogRef } from '../undo/undo-log.js';
import { lastUndoRecord, prevUndoRecord, type UndoLogCursor } from '../undo/undo-log-read.js';
import type { EngineStats } from './engine-stats.js';
import type { RowUndo } from './row-undo.js';
import { assert } from '../util/assert.js';

export class TrxLifecycle {
  /** Transactions found active at open, rolled back in the background. */
  readonly recoveredTrxs: Trx[] = [];
  /** The undo logs of recovered transactions whose rows are still to be locked (`lockRecoveredStep`). */
  private readonly recoveredLocking: Array<{ trx: Trx; log: UndoLogRef; cursor: UndoLogCursor | undefined }> = [];
  private recoveredPages: PageSource | undefined;
  private recoveredPrimaryIndexOf: (tableId: number) => number | undefined = () => undefined;
  private readonly storage: Storage;
  private readonly trxSystem: TrxSystem;
  private readonly locks: LockManager;
  private readonly undo: RowUndo;
  private readonly stats: EngineStats;
  private readonly active = new Set<Trx>();
  /** Active transactions that have an id: the owners of implicit locks. */
  private readonly activeById = new Map<number, Trx>();
  private readonly startMtr: Storage['startMtr'];

  constructor(storage: Storage, trxSystem: TrxSystem, locks: LockManager, undo: RowUndo, stats: EngineStats) {
    this.storage = storage;
    this.trxSystem = trxSystem;
    this.locks = locks;
    this.undo = undo;
    this.stats = stats;
    this.startMtr = () => storage.startMtr();
  }

  begin(isolation: IsolationLevel, readOnly: boolean, durability: Durability): Trx {
    const trx = new Trx(isolation, readOnly, durability);
    this.active.add(trx);
    return trx;
  }

  checkActive(trx: Trx): void {
    if (trx.state !== 'active' && trx.snapshot) throw new ClosedError('snapshot');
    if (trx.state !== 'active')
      throw new TransactionFinishedError(trx.deadlockVictim ? 'rolled back (deadlock victim)' : trx.state);
    this.checkHealthy();
  }

  /** Once the engine is poisoned (util/engine-health.ts) nothing may change or be made visible. */
  private checkHealthy(): void {
    this.storage.checkNoAbandonedMtr();
    this.storage.health.check('redo log', 'transaction');
  }

  /**
   * Before every read (and every step of a scan): no half-done mtr may be in the frames (C4), and
   * a poisoned engine serves no reads: after a failure the pages may hold what no commit vouches
   * for, or half an operation, and corruption is never returned as data.
   */
  checkReadable(): void {
    this.storage.checkNoAbandonedMtr();
    this.storage.health.check('storage', 'read');
  }

  checkWritable(trx: Trx): void {
    this.checkActive(trx);
    if (trx.readOnly) throw new ReadOnlyTransactionError();
  }

  /** Gives `trx` its id at its first write or lock (no mtr may be active). */
  ensureTrxId(trx: Trx): void {
    if (trx.trxId !== 0) return;
    trx.trxId = this.trxSystem.beginReadWrite();
    this.activeById.set(trx.trxId, trx);
    if (trx.view !== undefined) trx.view.creatorId = trx.trxId;
  }

  /** The active transaction with id `trxId`: the holder of the implicit locks on what it wrote. */
  activeHolder(trxId: number): Trx | undefined {
    const holder = this.activeById.get(trxId);
    return holder === undefined || holder.state !== 'active' ? undefined : holder;
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
    const page = this.trxSystem.page;
    const mtr = this.storage.startMtr();
    let insertDone = true;
    if (trx.insertUndo !== undefined) insertDone = commitUndoLog(mtr, page, trx.insertUndo, trxNo);
    if (trx.updateUndo !== undefined) commitUndoLog(mtr, page, trx.updateUndo, trxNo);
    const lsn = mtr.commit();
    // A large insert undo log is committed above and freed in bounded steps after.
    if (!insertDone) this.freeLog(trx.insertUndo!);
    this.finish(trx, 'committed');
    this.stats.commits++;
    return this.storage.commitDurable(lsn, trx.durability);
  }

  /**
   * A snapshot (`db.snapshot()`): a read-only transaction whose view opens now (InnoDB's START
   * TRANSACTION READ ONLY WITH CONSISTENT SNAPSHOT). It never gets an id, writes or locks.
   */
  beginSnapshot(): Trx {
    this.checkReadable();
    const trx = this.begin('repeatable-read', true, 'none');
    trx.snapshot = true;
    trx.view = this.trxSystem.openView(0);
    return trx;
  }

  /** Ends a snapshot: its view closes (purge may go on). Idempotent; never refused, even poisoned. */
  releaseSnapshot(trx: Trx): void {
    if (trx.state !== 'active') return;
    assert(trx.snapshot && trx.trxId === 0 && trx.insertUndo === undefined, 'a snapshot has written nothing');
    this.finish(trx, 'committed');
  }

  /** Frees an undo log in bounded mtrs: after commit (insert log), rollback, or recovery. */
  private freeLog(log: UndoLogRef): void {
    const page = this.trxSystem.page;
    runUndoSteps(this.startMtr, (mtr) => freeUndoLog(mtr, page, log));
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
    this.undo.undoDownTo(trx, undoNo);
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
    this.undo.undoDownTo(trx, 0);
    for (const log of [trx.insertUndo, trx.updateUndo]) {
      if (log !== undefined) this.freeLog(log);
    }
    trx.insertUndo = trx.updateUndo = undefined;
    if (trx.trxId !== 0) this.trxSystem.finishRollback(trx.trxId);
    this.finish(trx, 'rolled-back');
    this.stats.rollbacks++;
  }

  /** True when a transaction that has written or locked anything is open (DDL waits for none). */
  hasOpenWriters(): boolean {
    for (const trx of this.active) {
      if (
        trx.trxId !== 0 &&
        (trx.insertUndo !== undefined || trx.updateUndo !== undefined || this.locks.locksOf(trx).length > 0)
      )
        return true;
    }
    return false;
  }

  activeCount(): number {
    return this.active.size;
  }

  /**
   * Re-registers the transactions recovery found active, and locks their rows. `primaryIndexOf`
   * names the clustered index of a table id (undefined: the table was dropped since).
   */
  recover(pages: PageSource, primaryIndexOf: (tableId: number) => number | undefined): void {
    const byId = new Map<number, Trx>();
    for (const info of this.trxSystem.page.activeUndoLogs(pages)) {
      const action = recoveryActionFor(info);
      if (action === 'cached') continue; // U14: kept for reuse, no transaction's (listed at open)
      if (action === 'finish-free') {
        this.freeLog(info.log);
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
      // Its rows stay locked until it is rolled back (InnoDB: implicit locks via DB_TRX_ID), locked
      // by `lockRecoveredStep`s before anyone else may read or write.
      for (const log of [trx.insertUndo, trx.updateUndo])
        if (log !== undefined) this.recoveredLocking.push({ trx, log, cursor: undefined });
    }
    this.recoveredPages = pages;
    this.recoveredPrimaryIndexOf = primaryIndexOf;
  }

  /**
   * Locks the rows of the recovered transactions, up to `maxRecords` undo records a step (the open
   * runs the steps between turns of the event loop, before it hands the database out: issue 11).
   * Returns true when every row is locked.
   */
  lockRecoveredStep(maxRecords = Number.POSITIVE_INFINITY): boolean {
    const pages = this.recoveredPages;
    for (let budget = maxRecords; budget > 0; ) {
      const work = this.recoveredLocking[0];
      if (work === undefined || pages === undefined) return true;
      let on: boolean;
      if (work.cursor === undefined) {
        work.cursor = lastUndoRecord(pages, work.log);
        on = work.cursor !== undefined;
      } else on = prevUndoRecord(pages, work.cursor);
      if (!on) {
        this.recoveredLocking.shift();
        continue;
      }
      const cursor = work.cursor!;
      const indexId = this.recoveredPrimaryIndexOf(cursor.tableId);
      if (indexId !== undefined) this.locks.acquire(work.trx, indexId, cursor.primaryKey(), 'X', 'record');
      budget--;
    }
    return this.recoveredLocking.length === 0;
  }

  /**
   * Rolls back up to `maxRecords` undo records of the oldest recovered transaction, newest first
   * (as to a savepoint: each undone record is truncated from its log, so a crash meanwhile
   * resumes where this stopped), and ends it once its last record is undone (background work, a
   * bounded step: issue 11). Returns false when none is left.
   */
  rollbackRecoveredStep(maxRecords = Number.POSITIVE_INFINITY): boolean {
    const trx = this.recoveredTrxs[0];
    if (trx === undefined) return false;
    if (trx.state === 'active' && trx.undoNo > maxRecords) {
      this.rollbackTo(trx, trx.undoNo - maxRecords);
      return true;
    }
    this.recoveredTrxs.shift();
    if (trx.state === 'active') this.rollback(trx);
    return true;
  }
}
