/**
 * The transaction system in memory: ids, the active set, open read views and the purge view.
 *
 * InnoDB counterpart: `trx/trx0sys.cc` (trx_sys: the id counter, rw_trx_ids, the serialisation
 * list, trx_sys_init_at_db_start) and `read/read0read.cc` (MVCC: the view list, view_open,
 * clone_oldest_view). The persistent half (the max id written to disk, undo slots, the history
 * list) is the trx-sys page (`mvcc/trx-sys-page.ts`), which the engine's transaction system owns
 * as `page`: one object, one name (`trxSystem`), for both halves.
 *
 * One counter hands out transaction ids (at a transaction's first write) and serialisation numbers
 * (at commit), as in InnoDB 8.0. Commit is one synchronous step here (number assigned, changes made
 * visible, update undo put on the history list), so InnoDB's serialisation list, which exists
 * because those steps interleave with other threads, is always empty when a view is opened: a
 * view's lowLimitNo is the next number, exactly what that list would give.
 *
 * ## The purge view and seed 002 (MySQL bug 117553)
 * Purge may remove the history of every transaction whose serialisation number is below the purge
 * view's lowLimitNo. The purge view is a clone of the oldest open read view, or a fresh view when
 * none is open. In MySQL an autocommit SELECT could *reopen* a closed cached view while purge was
 * cloning: purge took the stale view, its lowLimitNo went backwards, and a rollback then read undo
 * purge had already freed. Here:
 *  1. The race cannot happen: view reuse (`openAutocommitView`) first checks that no read-write
 *     transaction started and none committed since the view was made (the counter did not move),
 *     and only then reopens it; the check and the reopen are one synchronous step, and purge runs
 *     only between engine operations. A reused view therefore has the current lowLimitNo.
 *  2. The invariant is still asserted (PURGE-MONO): installing a purge view whose lowLimitNo is <=
 *     the current one keeps the current one (MySQL's fix, with `<=` so there is one view per
 *     lowLimitNo), and the lowLimitNo of successive purge views never decreases.
 *
 * ## Autocommit view reuse (MVCC::view_open)
 * Every autocommit scan holds a view (row/statement-view.ts), and a lookup through an index makes
 * one scan per key: a view made and registered per scan cost as much as a tenth of such a lookup
 * (a new object's first use as a Set key makes its identity hash, and a Set emptied by each
 * removal shrinks its table then grows it at the next add: 0.3-0.5 us per scan in a Node 20
 * micro-benchmark, against a few ns for a flag). As InnoDB reuses a closed view of an autocommit
 * read-only statement when no read-write transaction started or committed since,
 * `openAutocommitView` reopens the last one:
 *  AV1. A view is reused only when it is closed (one holder at a time: two scans never share a
 *       view, so closing one never unregisters the other's) and the counter has not moved since it
 *       was made (no id or number handed out: no transaction began writing, committed, or made a
 *       DDL change) and the active set is as long as the view's (the set only shrinks without the
 *       counter moving, when a rollback finishes). The reused view is then exactly the view a
 *       fresh one would be, its lowLimitNo the current next number (asserted: PURGE-MONO).
 *  AV2. The cached view is registered by its `open` flag, not in the view set; when it is replaced
 *       while still held, it joins the set, so `oldestView` and `openViewCount` see every open view.
 *
 * Invariants:
 *  X1. Ids and numbers are unique and increasing (the persistent counter keeps them so across
 *      crashes: U11 of mvcc/trx-sys-page.ts).
 *  X2. `activeIds` is sorted and holds exactly the read-write transactions that started and have
 *      neither committed nor finished rolling back.
 *  X3. The purge view sees the changes of no active transaction (recovered ones included): each
 *      active id is in its active set or at or above its lowLimitId (checked at every clone).
 *  PURGE-MONO. The purge view's lowLimitNo never decreases.
 */
import type { Storage } from '../core/storage.js';
import { assert } from '../util/assert.js';
import { ReadView } from './read-view.js';
import { createTrxSysPage, openTrxSysPage, type TrxSysPage } from './trx-sys-page.js';

/** Where ids come from: the persistent counter of `mvcc/trx-sys-page.ts` (X1 is kept there, U11). */
export interface TrxIdSource {
  /** The next id or number that `allocate` will return. */
  readonly nextId: number;
  /** Hands out the next id or number, persisting the bound when due. No mtr may be active. */
  allocate(): number;
}

export interface TrxSystemOptions {
  readonly ids: TrxIdSource;
  /** The persistent half; absent only in unit tests of ids and views. */
  readonly page?: TrxSysPage;
  /** Test-only seam (seed 002's teeth): let the purge view move backwards. */
  readonly allowPurgeViewBackwards?: boolean;
  /** Test-only seam (issue 9's teeth): keep the first purge view without the recovered transactions. */
  readonly recoveredMissingFromPurgeView?: boolean;
}

export class TrxSystem {
  private readonly ids: TrxIdSource;
  private readonly active: number[] = [];
  private readonly views = new Set<ReadView>();
  private purgeViewValue: ReadView;
  private cachedAutocommitView: ReadView | undefined;
  /** Whether purge has cloned a view yet (recovered transactions must be adopted before). */
  private purgeViewCloned = false;
  private readonly allowPurgeViewBackwards: boolean;
  private readonly recoveredMissingFromPurgeView: boolean;
  private readonly pageValue: TrxSysPage | undefined;

  constructor(options: TrxSystemOptions) {
    this.ids = options.ids;
    this.pageValue = options.page;
    this.allowPurgeViewBackwards = options.allowPurgeViewBackwards === true;
    this.recoveredMissingFromPurgeView = options.recoveredMissingFromPurgeView === true;
    this.purgeViewValue = new ReadView(this.nextId, this.nextId, 0, []);
    this.purgeViewValue.open = false;
  }

  /**
   * Opens the trx-sys page of `storage` (creating it, durably, in a new database) and the
   * transaction system around it; ids come from the page's persistent counter (U11); the
   * id that writes the counter does so in its own mtr, the others need none. No mtr may be active.
   */
  static open(
    storage: Storage,
    options: { readonly allowPurgeViewBackwards?: boolean; readonly recoveredMissingFromPurgeView?: boolean } = {},
  ): TrxSystem {
    let opened = openTrxSysPage(storage);
    if (opened === undefined) {
      const mtr = storage.startMtr();
      opened = createTrxSysPage(mtr);
      storage.log.flushUpTo(mtr.commit());
    }
    const page = opened;
    return new TrxSystem({
      ids: {
        get nextId() {
          return page.nextTrxIdOrNo;
        },
        allocate: () => {
          // Most ids need no counter write (U11): no mtr for them, two fewer per transaction.
          const unlogged = page.assignWithoutWrite();
          if (unlogged !== undefined) return unlogged;
          const mtr = storage.startMtr();
          const id = page.assignTrxId(mtr);
          mtr.commit();
          return id;
        },
      },
      page,
      allowPurgeViewBackwards: options.allowPurgeViewBackwards === true,
      recoveredMissingFromPurgeView: options.recoveredMissingFromPurgeView === true,
    });
  }

  /** The trx-sys page: the id counter, the undo log slots and the history list. */
  get page(): TrxSysPage {
    assert(this.pageValue !== undefined, 'the transaction system was opened on storage (TrxSystem.open)');
    return this.pageValue;
  }

  private get nextIdValue(): number {
    return this.ids.nextId;
  }

  get nextId(): number {
    return this.ids.nextId;
  }

  /** Hands out the next id or serialisation number (X1). */
  private allocate(): number {
    const id = this.ids.allocate();
    assert(id === this.ids.nextId - 1, 'X1 ids are handed out in order');
    return id;
  }

  /**
   * A number for a DDL change (an index's creation stamp): consumed from the counter so that
   * every view opened afterwards has lowLimitId above it, and every view opened before, at or below.
   */
  allocateDdlId(): number {
    return this.allocate();
  }

  /** A read-write transaction's id, at its first write. */
  beginReadWrite(): number {
    const id = this.allocate();
    this.active.push(id); // ids increase, so the array stays sorted (X2)
    return id;
  }

  /** Commit: a serialisation number, and the transaction leaves the active set. */
  commit(trxId: number): number {
    const trxNo = this.allocate();
    this.removeActive(trxId);
    return trxNo;
  }

  /** A transaction finished rolling back: it leaves the active set. */
  finishRollback(trxId: number): void {
    this.removeActive(trxId);
  }

  /**
   * Re-registers a transaction found active by recovery (it is being rolled back). Called while
   * the engine opens, before purge or any view exists, as InnoDB builds `rw_trx_ids` from the undo
   * slots before `trx_purge_sys_initialize` clones the first purge view. The purge view made at
   * construction said "nobody is active"; it is remade with the recovered transaction in its
   * active set, at the same low_limit_no (PURGE-MONO holds), so X3 holds from the start.
   */
  adoptRecovered(trxId: number): void {
    assert(trxId < this.nextIdValue, 'X1 a recovered id is below the next id');
    assert(
      this.openViewCount() === 0 && !this.purgeViewCloned,
      'X3 recovered transactions are adopted before any view or purge exists',
    );
    const at = this.active.findIndex((id) => id > trxId);
    if (at < 0) this.active.push(trxId);
    else this.active.splice(at, 0, trxId);
    if (this.recoveredMissingFromPurgeView) return; // TEST ONLY: issue 9's bug
    const initial = this.purgeViewValue;
    this.purgeViewValue = new ReadView(initial.lowLimitId, initial.lowLimitNo, 0, this.active.slice());
    this.purgeViewValue.open = false;
  }

  private removeActive(trxId: number): void {
    const at = this.active.indexOf(trxId);
    assert(at >= 0, `X2 transaction ${trxId} is active`);
    this.active.splice(at, 1);
  }

  isActive(trxId: number): boolean {
    return this.active.includes(trxId);
  }

  activeIds(): readonly number[] {
    return this.active;
  }

  /** Opens a read view for `creatorId` (0 for a transaction without an id yet). */
  openView(creatorId: number): ReadView {
    const view = new ReadView(this.nextIdValue, this.nextIdValue, creatorId, this.active.slice());
    this.views.add(view);
    return view;
  }

  /**
   * A registered copy of the open view `view` (the same snapshot), for a reader that outlives the
   * statement or transaction that opened `view` (a stream of a large value); close it with
   * `closeView`. Purge keeps what it sees, as for any open view (PURGE-MONO).
   */
  openViewCopy(view: ReadView): ReadView {
    assert(view.open, 'a copied view is open: purge has kept what it sees');
    const copy = new ReadView(view.lowLimitId, view.lowLimitNo, view.creatorId, view.activeIds);
    this.views.add(copy);
    return copy;
  }

  closeView(view: ReadView): void {
    view.open = false;
    if (view !== this.cachedAutocommitView) this.views.delete(view); // AV2: the cached one is not in the set
  }

  /**
   * A view for an autocommit read-only statement, reusing the last one when nothing changed since
   * it was made and nobody holds it (AV1; "The purge view and seed 002" above): check first, then
   * reopen. Close it with `closeView`.
   */
  openAutocommitView(): ReadView {
    const cached = this.cachedAutocommitView;
    if (cached !== undefined) {
      if (!cached.open && cached.lowLimitId === this.nextIdValue && this.active.length === cached.activeIds.length) {
        assert(
          cached.lowLimitNo === this.nextIdValue && cached.lowLimitNo >= this.purgeViewValue.lowLimitNo,
          'PURGE-MONO AV1 a reused view is the present, not older than the purge view',
        );
        cached.open = true;
        return cached;
      }
      if (cached.open) this.views.add(cached); // AV2: still held by its reader; registered in the set from now on
    }
    const view = new ReadView(this.nextIdValue, this.nextIdValue, 0, this.active.slice());
    this.cachedAutocommitView = view;
    return view;
  }

  /** Test-only seam (seed 002 teeth): reopen the cached autocommit view without the check. */
  reopenCachedViewUnchecked(): ReadView | undefined {
    const cached = this.cachedAutocommitView;
    if (cached === undefined) return undefined;
    cached.open = true; // AV2: registered by its flag
    return cached;
  }

  openViewCount(): number {
    const cached = this.cachedAutocommitView;
    return this.views.size + (cached?.open === true ? 1 : 0);
  }

  /** The oldest open view (smallest lowLimitNo), or undefined; the cached autocommit view too when open (AV2). */
  private oldestView(): ReadView | undefined {
    const cached = this.cachedAutocommitView;
    let oldest: ReadView | undefined = cached?.open === true ? cached : undefined;
    for (const view of this.views) if (oldest === undefined || view.lowLimitNo < oldest.lowLimitNo) oldest = view;
    return oldest;
  }

  /**
   * MVCC::clone_oldest_view: the purge view becomes the oldest open view (or the present when none
   * is open), unless that would not move it forward (PURGE-MONO).
   */
  clonePurgeView(): ReadView {
    this.purgeViewCloned = true;
    const candidate = this.oldestView() ?? new ReadView(this.nextIdValue, this.nextIdValue, 0, this.active.slice());
    if (candidate.lowLimitNo <= this.purgeViewValue.lowLimitNo && !this.allowPurgeViewBackwards) {
      this.checkPurgeViewSeesNoActive();
      return this.purgeViewValue;
    }
    const previous = this.purgeViewValue.lowLimitNo;
    const clone = new ReadView(candidate.lowLimitId, candidate.lowLimitNo, 0, candidate.activeIds);
    clone.open = false;
    this.purgeViewValue = clone;
    if (!this.allowPurgeViewBackwards) {
      assert(
        clone.lowLimitNo > previous,
        () => `PURGE-MONO purge view low_limit_no ${clone.lowLimitNo} <= previous ${previous}`,
      );
    }
    if (!this.allowPurgeViewBackwards) this.checkPurgeViewSeesNoActive();
    return clone;
  }

  /**
   * X3: the purge view sees the changes of no active transaction, recovered ones included (each
   * is in its active set or started after it). Purge and rollback's version walks stop at the
   * first version the purge view sees; a live transaction's version taken for "seen by all" lets
   * purge remove a secondary entry that transaction's rollback restores (issue 9's SEC=CLUST
   * violation, when recovered transactions were missing from the first purge view).
   */
  private checkPurgeViewSeesNoActive(): void {
    if (this.recoveredMissingFromPurgeView) return; // TEST ONLY: the seam breaks X3 on purpose
    const view = this.purgeViewValue;
    for (const id of this.active) {
      assert(!view.changesVisible(id), () => `X3 the purge view ${view.describe()} sees active transaction ${id}`);
    }
  }

  get purgeView(): ReadView {
    return this.purgeViewValue;
  }
}
