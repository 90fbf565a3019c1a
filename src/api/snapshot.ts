/**
 * A snapshot: several synchronous reads, over any tables, all from one read view.
 *
 * InnoDB counterpart: `START TRANSACTION READ ONLY WITH CONSISTENT SNAPSHOT` (trx_start_low with
 * a read-only transaction, `trx_assign_read_view` at once). lmdb's read transactions and
 * classic-level's snapshots give the same thing: every read sees the database as it was when the
 * snapshot was taken, whatever is written meanwhile.
 *
 *     db.snapshot() --view opened--> open --release() / [Symbol.dispose]--> released
 *                                          (and db.close(): every read after it is ERR_CLOSED)
 *
 * A snapshot is a read-only transaction that never gets an id, so it takes no lock, writes no
 * undo, and does not stop DDL; its view, like any open view, holds purge back (nothing it can see
 * is removed) until it is released. Release it: `using snap = db.snapshot()` (TypeScript 5.2+,
 * compiled for Node 20) or `try { ... } finally { snap.release() }`. A forgotten snapshot is not
 * released by the garbage collector (a scan from it may still be running, and the view is the
 * scan's); `db.status().openReadViews` counts the views held.
 *
 * Reads: `table(name).get / scan / scanIndex / getByIndex / count`, all synchronous. A scan from a
 * snapshot reads the snapshot's view; reading it after `release()` throws ERR_CLOSED.
 */
import type { Trx } from '../mvcc/trx.js';
import type { Row } from '../rec/row-format.js';
import type { Database } from './database.js';
import { Table, type TableOwner } from './table.js';
import type { CheckedSchema, RowOf, SchemaShape, TableTypes, TypesOf, UntypedTable } from './typed-table.js';
import { ClosedError } from '../errors.js';

/** The reads of a table handle: what a snapshot offers. */
export type ReadTable<R extends Row = Row, T extends TableTypes = UntypedTable<R>> = Pick<
  Table<R, T>,
  'name' | 'get' | 'scan' | 'scanIndex' | 'getByIndex' | 'count' | 'readSlice' | 'byteLength' | 'stream'
>;

export class Snapshot implements Disposable, TableOwner {
  private readonly db: Database;
  private readonly trx: Trx;
  private readonly handles = new Map<string, Table>();

  /** Use `db.snapshot()`. */
  constructor(db: Database) {
    this.db = db;
    this.trx = db.engine.beginSnapshot();
  }

  /** True once released (or once its database closed). */
  get released(): boolean {
    return this.trx.state !== 'active';
  }

  /** @internal each read checks the snapshot is still held */
  checkUsable(): void {
    if (this.released) throw new ClosedError('snapshot');
  }

  /** A table read through this snapshot; `table(schema)` gives a typed handle. */
  table<const S extends SchemaShape>(schema: CheckedSchema<S>): ReadTable<RowOf<S>, TypesOf<S>>;
  table<R extends Row = Row>(name: string): ReadTable<R>;
  table(nameOrSchema: string | SchemaShape): ReadTable {
    this.db.checkOpen();
    this.checkUsable();
    const name = typeof nameOrSchema === 'string' ? nameOrSchema : nameOrSchema.name;
    let handle = this.handles.get(name);
    if (handle === undefined) {
      handle = new Table<Row>(this.db, this.db.engine.table(name).name, this.trx, this);
      this.handles.set(name, handle);
    }
    return handle;
  }

  /** Closes the view: purge may go on past it. Idempotent. */
  release(): void {
    this.db.engine.releaseSnapshot(this.trx);
  }

  /** `using snap = db.snapshot()` releases it at the end of the scope. */
  [Symbol.dispose](): void {
    this.release();
  }
}
