/**
 * A table handle: reads, writes and scans, either in a transaction or autocommit.
 *
 * Keys: a single value for a one-column primary key (`get(42n)`), an array for a composite one
 * (`get(['eu', 7])`); range bounds may give a prefix of a composite key. Rows are plain objects;
 * int64 columns read back as bigint.
 *
 * Autocommit (a handle from `db.table(name)`): a read uses a snapshot of the newest committed data;
 * a write is its own transaction, committed under the database's default durability.
 */
import { InvalidArgumentError } from '../errors.js';
import type { Trx } from '../mvcc/trx.js';
import type { Database } from './database.js';
import type { KeyInput, KeyRange, Row } from './types.js';

export class Table<R extends Row = Row> {
  readonly name: string;
  private readonly db: Database;
  private readonly trx: Trx | undefined;

  /** Use `db.table(name)` or `tx.table(name)`. */
  constructor(db: Database, name: string, trx: Trx | undefined) {
    this.db = db;
    this.name = name;
    this.trx = trx;
  }

  private runtime() {
    this.db.checkOpen();
    return this.db.engine.table(this.name);
  }

  /** The row with primary key `key`, or undefined. Synchronous and consistent. */
  get(key: KeyInput): R | undefined {
    return this.db.engine.get(this.trx, this.runtime(), key) as R | undefined;
  }

  /** Rows by primary key in order (or `reverse`), between the bounds, at most `limit`. Lazy. */
  scan(range: KeyRange = {}): IterableIterator<R> {
    return this.db.engine.scan(this.trx, this.runtime(), range) as IterableIterator<R>;
  }

  /** Rows through a secondary index, in index order; bounds are on the index's columns. */
  scanIndex(index: string, range: KeyRange = {}): IterableIterator<R> {
    return this.db.engine.indexScan(this.trx, this.runtime(), index, range) as IterableIterator<R>;
  }

  /** The first row whose `index` columns equal `key` (for a unique index: the row). */
  getByIndex(index: string, key: KeyInput): R | undefined {
    return this.db.engine.getByIndex(this.trx, this.runtime(), index, key) as R | undefined;
  }

  /** Counts the rows in a primary-key range (a consistent scan). */
  count(range: KeyRange = {}): number {
    let n = 0;
    for (const _ of this.scan(range)) n++;
    return n;
  }

  insert(row: R): Promise<void> {
    return this.write((trx) => this.db.engine.insert(trx, this.runtime(), row));
  }

  /**
   * Inserts many rows as one statement: in its own transaction (autocommit) or in this one. If a
   * row is refused, the rows this call inserted before it are undone too (InnoDB's statement
   * rollback), and the transaction stays open.
   */
  insertMany(rows: Iterable<R>): Promise<void> {
    return this.write(async (trx) => {
      const table = this.runtime();
      const statementStart = trx.undoNo;
      try {
        for (const row of rows) await this.db.engine.insert(trx, table, row);
      } catch (error) {
        if (this.trx !== undefined && trx.state === 'active') this.db.engine.rollbackTo(trx, statementStart);
        throw error;
      }
    });
  }

  /** Sets the given columns of the row with primary key `key`. False when there is no such row. */
  update(key: KeyInput, changes: Partial<R>): Promise<boolean> {
    return this.write((trx) => this.db.engine.update(trx, this.runtime(), key, changes as Row));
  }

  /** Deletes the row with primary key `key`. False when there is no such row. */
  delete(key: KeyInput): Promise<boolean> {
    return this.write((trx) => this.db.engine.delete(trx, this.runtime(), key));
  }

  /** The newest version, exclusively locked until the transaction ends (SELECT ... FOR UPDATE). */
  getForUpdate(key: KeyInput): Promise<R | undefined> {
    return this.write(
      (trx) => this.db.engine.lockingGet(trx, this.runtime(), key, 'X') as Promise<R | undefined>,
      true,
    );
  }

  /** The newest version, share-locked until the transaction ends (SELECT ... FOR SHARE). */
  getForShare(key: KeyInput): Promise<R | undefined> {
    return this.write(
      (trx) => this.db.engine.lockingGet(trx, this.runtime(), key, 'S') as Promise<R | undefined>,
      true,
    );
  }

  /** A locking range scan (next-key locks keep phantoms out at REPEATABLE READ and SERIALIZABLE). */
  scanForUpdate(range: KeyRange = {}): AsyncIterableIterator<R> {
    return this.lockingScan(range, 'X');
  }

  scanForShare(range: KeyRange = {}): AsyncIterableIterator<R> {
    return this.lockingScan(range, 'S');
  }

  private lockingScan(range: KeyRange, mode: 'S' | 'X'): AsyncIterableIterator<R> {
    this.db.checkWritable();
    if (this.trx === undefined) {
      throw new InvalidArgumentError(
        'a locking scan holds its locks until the transaction ends: run it in a transaction (db.begin() or db.transaction())',
      );
    }
    return this.db.engine.lockingScan(this.trx, this.runtime(), range, mode) as AsyncIterableIterator<R>;
  }

  /** Runs a write in this handle's transaction, or in its own (autocommit). */
  private async write<T>(fn: (trx: Trx) => Promise<T>, reading = false): Promise<T> {
    this.db.checkWritable(); // a read-only database: locking reads too, as they need trx ids
    if (this.trx !== undefined) return fn(this.trx);
    const engine = this.db.engine;
    const trx = engine.begin(this.db.defaultIsolation, false, this.db.defaultDurability);
    let result: T;
    try {
      result = await fn(trx);
    } catch (error) {
      // The caller must see the error that failed the write (a corruption naming its file and
      // page, say), not the refusal a poisoned engine gives the rollback that follows it.
      if (trx.state === 'active') rollbackQuietly(engine, trx);
      throw error;
    }
    if (reading) {
      engine.rollback(trx); // nothing written: releasing the locks is all there is to do
      return result;
    }
    await engine.commit(trx);
    return result;
  }
}

/** Rolls back after a failure; a rollback the engine refuses (it is poisoned) stays unreported. */
function rollbackQuietly(engine: { rollback(trx: Trx): void }, trx: Trx): void {
  try {
    engine.rollback(trx);
  } catch {
    // The first error is the one that matters; reopening the database recovers.
  }
}
