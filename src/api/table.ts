/**
 * A table handle: reads, writes and scans, either in a transaction or autocommit.
 *
 * Keys: a single value for a one-column primary key (`get(42n)`), an array for a composite one
 * (`get(['eu', 7])`); range bounds may give a prefix of a composite key. Rows are plain objects;
 * int64 columns read back as bigint.
 *
 * Autocommit (a handle from `db.table(name)`): a read uses a snapshot of the newest committed data
 * (a scan, index scan or count keeps its one snapshot however slowly it is read: `row/statement-view.ts`);
 * a write is its own transaction, committed under the database's default durability.
 *
 * Typed handles (`db.table(schema)`, `db.createTable(schema)` with a schema declared `as const`)
 * carry the table's types in `T` (api/typed-table.ts): rows, keys, index names and index keys
 * are checked by the compiler. A handle by name is untyped (`T` accepts any row and key).
 *
 * While an index of the table is being built, writes wait until it is ready (`db.createIndex`).
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '../errors.js';
import type { Trx } from '../mvcc/trx.js';
import { checkSlice } from '../row/row-lob.js';
import type { Database } from './database.js';
import type { KeyInput, KeyRange, ReadOptions, Row } from './types.js';
import type { TableTypes, UntypedTable } from './typed-table.js';

/** The index names of a table's types (any string for an untyped table). */
type IndexOf<T extends TableTypes> = keyof T['indexes'] & string;

/** What a handle belongs to, checked before each call: a snapshot refuses reads once released. */
export interface TableOwner {
  checkUsable(): void;
}

export class Table<R extends Row = Row, T extends TableTypes = UntypedTable<R>> {
  readonly name: string;
  private readonly db: Database;
  private readonly trx: Trx | undefined;
  private readonly owner: TableOwner | undefined;

  /** Use `db.table(name)`, `tx.table(name)` or `snapshot.table(name)`. */
  constructor(db: Database, name: string, trx: Trx | undefined, owner?: TableOwner) {
    this.db = db;
    this.name = name;
    this.trx = trx;
    this.owner = owner;
  }

  private runtime() {
    this.db.checkOpen();
    this.owner?.checkUsable();
    return this.db.engine.table(this.name);
  }

  /**
   * The row with primary key `key`, or undefined. Synchronous and consistent. With
   * `{ columns: [...] }`, only those columns are decoded and returned.
   */
  get(key: T['key'], options?: ReadOptions): R | undefined {
    return this.db.engine.get(this.trx, this.runtime(), key, options) as R | undefined;
  }

  /**
   * Rows by primary key in order (or `reverse`), between the bounds, at most `limit`. Lazy, and
   * one snapshot from this call to the last row (rows written meanwhile are not seen); breaking
   * out of the loop releases the snapshot.
   */
  scan(range: KeyRange<T['bound']> = {}): IterableIterator<R> {
    return this.db.engine.scan(this.trx, this.runtime(), range) as IterableIterator<R>;
  }

  /** Rows through a secondary index, in index order; bounds are on the index's columns. One snapshot, as `scan`. */
  scanIndex<I extends IndexOf<T>>(index: I, range: KeyRange<T['indexes'][I]> = {}): IterableIterator<R> {
    return this.db.engine.indexScan(this.trx, this.runtime(), index, range) as IterableIterator<R>;
  }

  /** The first row whose `index` columns equal `key` (for a unique index: the row). */
  getByIndex<I extends IndexOf<T>>(index: I, key: T['indexes'][I]): R | undefined {
    return this.db.engine.getByIndex(this.trx, this.runtime(), index, key) as R | undefined;
  }

  /** Counts the rows in a primary-key range: a full consistent scan of the range, synchronous. */
  count(range: KeyRange<T['bound']> = {}): number {
    let n = 0;
    for (const _ of this.scan(range)) n++;
    return n;
  }

  /**
   * Bytes [offset, offset + length) of a string, bytes or json value (a string's UTF-8, a json
   * value's JSON text), without reading the rest of a large value: synchronous and consistent,
   * like `get`. Null when the value is NULL, undefined when there is no row; ERR_INVALID_ARGUMENT
   * for a slice past the end or a negative offset, ERR_TYPE_MISMATCH for a column of another type.
   */
  readSlice(key: T['key'], column: string, offset: number, length: number): Uint8Array | null | undefined {
    checkSlice(offset, length, Number.MAX_SAFE_INTEGER);
    const table = this.runtime();
    const value = this.db.engine.storedValue(this.trx, table, key, column);
    if (value === undefined || value === null) return value;
    return this.db.engine.readStoredSlice(table, column, value, offset, length);
  }

  /** The length in bytes of a string, bytes or json value (as `readSlice` counts); null for NULL, undefined for no row. */
  byteLength(key: T['key'], column: string): number | null | undefined {
    const table = this.runtime();
    const value = this.db.engine.storedValue(this.trx, table, key, column);
    if (value === undefined || value === null) return value;
    return this.db.engine.storedLength(table, column, value);
  }

  /**
   * The bytes of a string, bytes or json value as a Node `Readable` (`Readable.toWeb(stream)` for a
   * web ReadableStream), in chunks of `chunkBytes` (default 1 MiB), from `offset` for `length`
   * bytes (default: to the end). Never holds the whole value: each chunk is read when the consumer
   * asks. The stream reads the snapshot this read would see now, on a read view of its own that it
   * releases when it ends, fails or is destroyed (so purge keeps that snapshot meanwhile). Null when
   * the value is NULL, undefined when there is no row.
   */
  stream(
    key: T['key'],
    column: string,
    options: { readonly offset?: number; readonly length?: number; readonly chunkBytes?: number } = {},
  ): Readable | null | undefined {
    const chunkBytes = options.chunkBytes ?? 1024 * 1024;
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 1)
      throw new InvalidArgumentError(`chunkBytes must be an integer >= 1, got ${String(chunkBytes)}`);
    const reader = this.db.engine.openValueReader(this.trx, this.runtime(), key, column);
    if (reader === undefined || reader === null) return reader;
    const start = options.offset ?? 0;
    const end = options.length === undefined ? reader.length : start + options.length;
    try {
      checkSlice(start, end - start, reader.length);
    } catch (error) {
      reader.close();
      throw error;
    }
    const db = this.db;
    let at = start;
    return new Readable({
      highWaterMark: chunkBytes,
      read(): void {
        try {
          db.checkOpen();
          if (at >= end) {
            reader.close();
            this.push(null);
            return;
          }
          const count = Math.min(chunkBytes, end - at);
          const chunk = Buffer.allocUnsafe(count); // every byte of it is read into
          reader.read(at, count, chunk);
          at += count;
          this.push(chunk);
        } catch (error) {
          reader.close();
          this.destroy(error as Error);
        }
      },
      destroy(error, callback): void {
        reader.close();
        callback(error);
      },
    });
  }

  insert(row: T['insert']): Promise<void> {
    return this.write((trx) => this.db.engine.insert(trx, this.runtime(), row));
  }

  /**
   * Inserts many rows as one statement: in its own transaction (autocommit) or in this one. If a
   * row is refused, the rows this call inserted before it are undone too (InnoDB's statement
   * rollback), and the transaction stays open.
   */
  insertMany(rows: Iterable<T['insert']>): Promise<void> {
    return this.write(async (trx) => {
      const table = this.runtime();
      const statementStart = trx.undoNo;
      try {
        // No promise and no await per row unless a row must wait for a lock.
        for (const row of rows) {
          const wait = this.db.engine.insertOrWait(trx, table, row);
          if (wait !== undefined) await wait;
        }
      } catch (error) {
        if (this.trx !== undefined && trx.state === 'active') this.db.engine.rollbackTo(trx, statementStart);
        throw error;
      }
    });
  }

  /** Sets the given columns of the row with primary key `key`. False when there is no such row. */
  update(key: T['key'], changes: Partial<T['insert']>): Promise<boolean> {
    return this.write((trx) => this.db.engine.update(trx, this.runtime(), key, changes as Row));
  }

  /**
   * Replaces bytes of a string, bytes or json value in place, without rewriting it: each diff
   * `{ offset, bytes }` replaces `bytes.length` bytes at `offset`, in order; the value keeps its
   * length (a zero-length diff is a no-op). A change of at most 100 bytes in all is made in place
   * and only its old bytes go to undo; a larger one copies just the pages it touches. False when
   * there is no such row. Refused, nothing changed: a diff past the end or with a negative offset
   * (ERR_INVALID_ARGUMENT), a NULL value, a column of another type (ERR_TYPE_MISMATCH), bytes that
   * would leave a string not UTF-8 or a json value not JSON.
   */
  updatePartial(
    key: T['key'],
    column: string,
    diffs: readonly { readonly offset: number; readonly bytes: Uint8Array }[],
  ): Promise<boolean> {
    return this.write((trx) => this.db.engine.updatePartial(trx, this.runtime(), key, column, diffs));
  }

  /** Deletes the row with primary key `key`. False when there is no such row. */
  delete(key: T['key']): Promise<boolean> {
    return this.write((trx) => this.db.engine.delete(trx, this.runtime(), key));
  }

  /** The newest version, exclusively locked until the transaction ends (SELECT ... FOR UPDATE). */
  getForUpdate(key: T['key']): Promise<R | undefined> {
    return this.write(
      (trx) => this.db.engine.lockingGet(trx, this.runtime(), key, 'X') as Promise<R | undefined>,
      true,
    );
  }

  /** The newest version, share-locked until the transaction ends (SELECT ... FOR SHARE). */
  getForShare(key: T['key']): Promise<R | undefined> {
    return this.write(
      (trx) => this.db.engine.lockingGet(trx, this.runtime(), key, 'S') as Promise<R | undefined>,
      true,
    );
  }

  /** A locking range scan (next-key locks keep phantoms out at REPEATABLE READ and SERIALIZABLE). */
  scanForUpdate(range: KeyRange<T['bound']> = {}): AsyncIterableIterator<R> {
    return this.lockingScan(range, 'X');
  }

  scanForShare(range: KeyRange<T['bound']> = {}): AsyncIterableIterator<R> {
    return this.lockingScan(range, 'S');
  }

  private lockingScan(range: KeyRange<KeyInput>, mode: 'S' | 'X'): AsyncIterableIterator<R> {
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
    // Writes wait for an index build on the table (row/index-build.ts IB1); its failure is its caller's.
    for (let build = this.db.indexBuildOf(this.name); build !== undefined; build = this.db.indexBuildOf(this.name))
      await build.catch(() => undefined);
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
