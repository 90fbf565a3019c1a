/**
 * A transaction, as the application holds it.
 *
 * Reads inside it are consistent with its read view (REPEATABLE READ: one view from the first read
 * to the end; READ COMMITTED: a new view per read) and see its own writes. Writes take row locks
 * and may wait for other transactions. After `commit` or `rollback` (or after being chosen as a
 * deadlock victim, which rolls it back) every call fails with ERR_TRANSACTION_FINISHED.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Trx } from '../mvcc/trx.js';
import type { Database } from './database.js';
import { Table } from './table.js';
import type { CheckedSchema, RowOf, SchemaShape, TypesOf } from './typed-table.js';
import { DURABILITY_LEVELS, ISOLATION_LEVELS, type Durability, type IsolationLevel, type Row } from './types.js';

export interface TransactionOptions {
  readonly isolation?: IsolationLevel;
  readonly durability?: Durability;
  /** Refuse writes (and locking reads for update); lets the engine skip all write bookkeeping. */
  readonly readOnly?: boolean;
}

export class Transaction {
  /** @internal */
  readonly trx: Trx;
  private readonly db: Database;
  private readonly handles = new Map<string, Table>();

  /** Use `db.begin()` or `db.transaction()`. */
  constructor(db: Database, options: TransactionOptions) {
    if (options === null || typeof options !== 'object')
      throw new InvalidArgumentError('transaction options must be an object');
    const isolation = options.isolation ?? db.defaultIsolation;
    if (!(ISOLATION_LEVELS as readonly string[]).includes(isolation)) {
      throw new InvalidArgumentError(
        `isolation must be one of ${ISOLATION_LEVELS.join(', ')}, got ${String(isolation)}`,
      );
    }
    const durability = options.durability ?? db.defaultDurability;
    if (!(DURABILITY_LEVELS as readonly string[]).includes(durability)) {
      throw new InvalidArgumentError(
        `durability must be one of ${DURABILITY_LEVELS.join(', ')}, got ${String(durability)}`,
      );
    }
    this.db = db;
    this.trx = db.engine.begin(isolation, options.readOnly === true, durability);
  }

  get state(): 'active' | 'committed' | 'rolled-back' {
    return this.trx.state;
  }

  get isolation(): IsolationLevel {
    return this.trx.isolation;
  }

  /** The transaction id (0 until its first write or lock). */
  get id(): number {
    return this.trx.trxId;
  }

  /** A table, read and written in this transaction; `table(schema)` gives a typed handle. */
  table<const S extends SchemaShape>(schema: CheckedSchema<S>): Table<RowOf<S>, TypesOf<S>>;
  table<R extends Row = Row>(name: string): Table<R>;
  table(nameOrSchema: string | SchemaShape): Table {
    this.db.checkOpen();
    this.db.engine.checkActive(this.trx);
    const name = typeof nameOrSchema === 'string' ? nameOrSchema : nameOrSchema?.name;
    let handle = this.handles.get(name);
    if (handle === undefined) {
      handle = new Table<Row>(this.db, this.db.engine.table(name).name, this.trx);
      this.handles.set(name, handle);
    }
    return handle;
  }

  /** Commits: visible to others at once; the promise settles when durable. */
  commit(): Promise<void> {
    this.db.checkOpen();
    return this.db.engine.commit(this.trx);
  }

  /** Undoes every change and releases every lock. */
  async rollback(): Promise<void> {
    this.db.checkOpen();
    this.db.engine.rollback(this.trx);
  }

  /** Marks a point to roll back to (a later savepoint of the same name replaces it). */
  savepoint(name: string): void {
    this.db.engine.checkActive(this.trx);
    if (typeof name !== 'string' || name === '')
      throw new InvalidArgumentError('a savepoint name must be a non-empty string');
    const at = this.trx.savepoints.findIndex((s) => s.name === name);
    if (at >= 0) this.trx.savepoints.splice(at, 1);
    this.trx.savepoints.push({ name, undoNo: this.trx.undoNo });
  }

  /**
   * Undoes the changes made since the savepoint; the transaction stays open and the savepoint
   * stays set (as SQL's ROLLBACK TO SAVEPOINT). Locks taken since are kept, as InnoDB does.
   */
  async rollbackToSavepoint(name: string): Promise<void> {
    this.db.engine.checkActive(this.trx);
    const at = this.trx.savepoints.findIndex((s) => s.name === name);
    if (at < 0) throw new InvalidArgumentError(`no savepoint named ${JSON.stringify(name)}`);
    const savepoint = this.trx.savepoints[at]!;
    this.trx.savepoints.splice(at + 1);
    this.db.engine.rollbackTo(this.trx, savepoint.undoNo);
  }

  releaseSavepoint(name: string): void {
    this.db.engine.checkActive(this.trx);
    const at = this.trx.savepoints.findIndex((s) => s.name === name);
    if (at < 0) throw new InvalidArgumentError(`no savepoint named ${JSON.stringify(name)}`);
    this.trx.savepoints.splice(at);
  }
}
