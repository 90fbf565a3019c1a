/**
 * Statement snapshots: a lazy consistent read that owns one read view for its whole life.
 *
 * InnoDB counterpart: `read/read0read.cc` (a statement's view, `trx_assign_read_view`, closed by
 * `ha_innobase::external_lock` / `trx_sys_t::close_read_view` when the statement ends) and the
 * cursor of `row_search_mvcc`, which reads every row through the one view of its statement.
 *
 * In InnoDB a statement is over when the server has read its last row. A minno scan is a lazy
 * iterator: its "statement" lasts from the `scan()` call until the caller has read the last row,
 * breaks out of the loop (`return()`), or drops the iterator. So the iterator owns a `ViewLease`:
 *
 *     scan() --open view--> reading --last row / return() / throw / GC--> released (view closed)
 *
 *  - An autocommit scan, index scan or `count()`, and each scan of a READ COMMITTED transaction,
 *    opens its own view at the call (not at the first `next()`): rows inserted, updated or deleted
 *    after the call are invisible to it, however slowly it is read. An autocommit scan's view is
 *    the last autocommit view reopened when nothing started or committed since and no other scan
 *    holds it (AV1 of mvcc/trx-system.ts, InnoDB's view reuse): the same snapshot a new view would
 *    be. (A point read is one synchronous step and keeps using `viewFor`, which may skip the view
 *    when nothing is active.)
 *  - A REPEATABLE READ transaction's scans read its one view (`trx.view`), which the transaction
 *    owns: the lease is borrowed and releasing it does nothing.
 *
 * ## Purge and a forgotten iterator
 * An open view holds purge back (PURGE-MONO, PG1): purge never removes a version it could need.
 * A `for...of` loop that finishes or breaks releases the view at once. An iterator the caller
 * abandons half-read (kept in no variable, never returned) is released when the garbage collector
 * reclaims it: the iterator is registered with a `FinalizationRegistry` whose held value is the
 * lease alone (never the iterator, which would then never be collected). It is registered at the
 * microtask checkpoint after the synchronous run that made it, and only if it is still reading:
 * most scans are done by then, and registering costs as much as a short scan. Until then purge waits,
 * which costs history length, never correctness; `db.status().openReadViews` shows the views held.
 * An application that keeps a half-read iterator in a variable holds its view as long as it keeps
 * the variable, as an open transaction would: call `return()` on it to let purge go on.
 *
 * Invariants:
 *  SV1. A lease's view is open (registered with the transaction system) from the lease's creation
 *       to its release, and is closed exactly once.
 *  SV2. An iterator's rows are all read through its lease's view; the view is released when the
 *       iterator is done, returned, throws, or is collected, whichever comes first.
 */
import type { ReadView } from '../mvcc/read-view.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { assert } from '../util/assert.js';

/** A read view held by one reader: released once (SV1), or borrowed (a transaction's own view). */
export class ViewLease {
  readonly view: ReadView;
  private readonly trxSystem: TrxSystem | undefined;
  private released = false;

  /** `trxSystem` given: the lease owns the view and closes it on release; absent: borrowed. */
  constructor(view: ReadView, trxSystem: TrxSystem | undefined) {
    this.view = view;
    this.trxSystem = trxSystem;
  }

  get owned(): boolean {
    return this.trxSystem !== undefined;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (this.trxSystem === undefined) return;
    assert(this.view.open, 'SV1 an owned view stays open until its lease is released');
    this.trxSystem.closeView(this.view);
  }
}

/** Releases the view of an iterator the caller dropped without finishing it (see the module doc). */
const abandoned = new FinalizationRegistry<ViewLease>((lease) => lease.release());

/**
 * Iterators made since the last microtask checkpoint, not yet registered with `abandoned`. Most
 * scans (a lookup through an index, a range of 100 rows) finish in the synchronous run that made
 * them, and register + unregister costs about 0.7 us per scan, as much as the lookup itself. So
 * an iterator is registered only if it still holds its view once that run is over; until then
 * this list holds it, so it cannot be collected unregistered (SV2 still holds).
 */
let unregistered: StatementIterator<unknown>[] = [];
/** Past this many entries, finished iterators are dropped from the list (a long synchronous loop). */
const UNREGISTERED_COMPACT_AT = 1024;

function registerUnfinished(): void {
  const iterators = unregistered;
  unregistered = [];
  for (let i = 0; i < iterators.length; i++) iterators[i]!.registerIfReading();
}

function deferRegistration(iterator: StatementIterator<unknown>): void {
  if (unregistered.length === 0) queueMicrotask(registerUnfinished);
  else if (unregistered.length >= UNREGISTERED_COMPACT_AT) {
    let kept = 0;
    for (let i = 0; i < unregistered.length; i++) {
      const it = unregistered[i]!;
      if (it.holdsView) unregistered[kept++] = it;
    }
    unregistered.length = kept; // the checkpoint scheduled when the list filled up is still pending
  }
  unregistered.push(iterator);
}

/** The rows a statement iterator hands out, one per call; undefined at the end (consistent-scan.ts). */
export interface RowSource<T> {
  nextRow(): T | undefined;
  /** The iterator is done with the source: `nextRow` is never called again (resources may be reused). */
  close?(): void;
}

const DONE: IteratorReturnResult<undefined> = Object.freeze({ done: true, value: undefined });

/**
 * An iterator over `rows` (a generator reading through `lease.view`) that releases the lease when
 * it is done, returned, throws or is collected (SV2). `beforeStep` runs before each row is read:
 * a transaction's scan refuses to go on once the transaction has ended.
 */
export class StatementIterator<T> implements IterableIterator<T> {
  private rows: RowSource<T> | undefined;
  private lease: ViewLease | undefined;
  private readonly beforeStep: (() => void) | undefined;
  /** Registered with `abandoned` (an owned lease still held after the run that made it). */
  private registered = false;

  constructor(lease: ViewLease, rows: RowSource<T>, beforeStep?: () => void) {
    this.rows = rows;
    this.lease = lease;
    this.beforeStep = beforeStep;
    if (lease.owned) deferRegistration(this);
  }

  /** @internal At the microtask checkpoint after this iterator was made: register it if it still reads. */
  registerIfReading(): void {
    const lease = this.lease;
    if (lease === undefined || this.registered) return;
    this.registered = true;
    abandoned.register(this, lease, this);
  }

  /** Whether the iterator still holds its view. */
  get holdsView(): boolean {
    return this.lease !== undefined;
  }

  next(): IteratorResult<T, undefined> {
    const rows = this.rows;
    if (rows === undefined) return DONE;
    let row: T | undefined;
    try {
      this.beforeStep?.();
      row = rows.nextRow();
    } catch (error) {
      this.finish();
      throw error;
    }
    if (row === undefined) {
      this.finish();
      return DONE;
    }
    return { done: false, value: row };
  }

  /** Stops early (a `for...of` loop's `break` calls this): the view is released at once. */
  return(): IteratorResult<T, undefined> {
    this.finish();
    return DONE;
  }

  [Symbol.iterator](): this {
    return this;
  }

  private finish(): void {
    const rows = this.rows;
    this.rows = undefined;
    rows?.close?.();
    const lease = this.lease;
    if (lease === undefined) return;
    this.lease = undefined;
    if (this.registered) abandoned.unregister(this);
    lease.release();
  }
}
