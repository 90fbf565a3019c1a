/**
 * Keys and key ranges as the API takes them, turned into the bytes the trees compare.
 *
 * InnoDB counterpart: the search tuples of `row/row0sel.cc` (row_sel_convert_mysql_key_to_innobase)
 * and the range bounds of the handler's index_read. A key is one value for a one-column key or an
 * array for a composite one; a range bound may give a prefix of a composite key (its leading
 * columns), so `gt` and `lte` on a prefix become byte bounds past every key with that prefix.
 */
import { InvalidArgumentError, UnknownColumnError } from '../errors.js';
import {
  compareBytes,
  encodeKeyInto,
  encodeKeyPrefix,
  prefixSuccessor,
  skipKeyFields,
  type KeySpec,
} from '../rec/key-codec.js';
import type { StoredRow } from '../rec/row-format.js';
import type { KeyValue, TableSchema } from '../rec/schema.js';
import type { TableRuntime } from './table-runtime.js';

/** A key as the API takes it: one value for a one-column key, an array for a composite one. */
export type KeyInput = KeyValue | readonly KeyValue[];

/** A range of keys; `K` narrows the bounds for a typed table (api/typed-table.ts). */
export interface KeyRange<K = KeyInput> {
  readonly gt?: K;
  readonly gte?: K;
  readonly lt?: K;
  readonly lte?: K;
  readonly reverse?: boolean;
  readonly limit?: number;
  /**
   * Only these columns in each row (any order; rows keep schema order). The others are not
   * decoded: a range that reads one column of wide rows skips the rest (sysbench's SELECT c).
   */
  readonly columns?: readonly string[];
}

/** Options of a point read (`get`). */
export interface ReadOptions {
  /** Only these columns in the row (any order; the row keeps schema order), as `KeyRange.columns`. */
  readonly columns?: readonly string[];
}

/** A key range in bytes; `limit: 0` marks a range no key can fall in. `reverse`: a scan's direction. */
export interface ByteRange {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  limit?: number;
  reverse?: boolean;
}

/** Encodes a full primary key into the table's scratch buffer; returns its length. */
export function encodePrimary(table: TableRuntime, key: KeyInput): number {
  const values = keyValues(table.layout.primaryKey.columns.length, key, table.name, 'primary key');
  return encodeKeyInto(values, table.layout.primaryKey, table.keyScratch, 0);
}

/** A full primary key's bytes (a copy: it may be kept across awaits). */
export function primaryKeyBytes(table: TableRuntime, key: KeyInput): Uint8Array {
  return table.keyScratch.slice(0, encodePrimary(table, key));
}

/** The primary-key byte bounds of a range over `table`. */
export function primaryRange(table: TableRuntime, range: KeyRange): ByteRange {
  return byteRange(table.layout.primaryKey, range, `${table.name} primary key`, table.layout.primaryKey.columns.length);
}

/** The byte bounds of a key range over a key spec (prefixes of composite keys allowed). */
export function byteRange(spec: KeySpec, range: KeyRange, what: string, fieldCount: number): ByteRange {
  // Every field present, in one order: the scan reads these bounds through one hidden class (a
  // range built by adding only the bounds given, then spread, cost a lookup miss per absent bound).
  const out: ByteRange = {
    gt: undefined,
    gte: undefined,
    lt: undefined,
    lte: undefined,
    limit: undefined,
    reverse: false,
  };
  if (range.gte !== undefined && range.gte === range.lte && range.gt === undefined && range.lt === undefined) {
    // One key (a lookup through an index by its value): encoded once.
    const prefix = boundBytes(spec, range.gte, what, fieldCount);
    out.gte = prefix;
    const successor = prefixSuccessor(prefix);
    if (successor !== null) out.lt = successor;
    return out;
  }
  if (range.gte !== undefined) out.gte = boundBytes(spec, range.gte, what, fieldCount);
  if (range.gt !== undefined) {
    // Greater than every key that starts with the prefix.
    const successor = prefixSuccessor(boundBytes(spec, range.gt, what, fieldCount));
    if (successor === null)
      out.limit = 0; // nothing sorts after every key with this prefix: empty
    else out.gte = out.gte === undefined || compareBytes(successor, out.gte) > 0 ? successor : out.gte;
  }
  if (range.lt !== undefined) out.lt = boundBytes(spec, range.lt, what, fieldCount);
  if (range.lte !== undefined) {
    const successor = prefixSuccessor(boundBytes(spec, range.lte, what, fieldCount));
    if (successor !== null) out.lt = out.lt === undefined || compareBytes(successor, out.lt) < 0 ? successor : out.lt;
  }
  return out;
}

/** The bytes of one bound: the encoded prefix of the key it gives. */
function boundBytes(spec: KeySpec, input: KeyInput, what: string, fieldCount: number): Uint8Array {
  return encodeKeyPrefix(prefixValues(fieldCount, input, what), spec);
}

/** The bytes of the secondary columns of an entry key, or undefined when one is NULL (never unique-checked). */
export function secondaryPrefix(spec: KeySpec, fields: number, entryKey: Uint8Array): Uint8Array | undefined {
  let at = 0;
  for (let f = 0; f < fields; f++) {
    if (spec.nullable[f] === 1 && entryKey[at] === 0x00) return undefined; // NULL marker: never a duplicate
    at = skipKeyFields(entryKey, at, entryKey.length, spec, f, 1);
  }
  return entryKey.subarray(0, at);
}

function keyValues(fieldCount: number, key: KeyInput, table: string, what: string): KeyValue[] {
  const values = Array.isArray(key) ? (key as readonly KeyValue[]) : [key as KeyValue];
  if (values.length !== fieldCount) {
    throw new InvalidArgumentError(
      `${table} ${what} has ${fieldCount} column${fieldCount === 1 ? '' : 's'}; got ${values.length} value${values.length === 1 ? '' : 's'} (pass an array for a composite key)`,
    );
  }
  return values as KeyValue[];
}

export function prefixValues(fieldCount: number, key: KeyInput, what: string): KeyValue[] {
  const values = Array.isArray(key) ? (key as readonly KeyValue[]) : [key as KeyValue];
  if (values.length === 0 || values.length > fieldCount) {
    throw new InvalidArgumentError(
      `a bound on ${what} takes 1 to ${fieldCount} leading key values, got ${values.length}`,
    );
  }
  return values as KeyValue[];
}

/**
 * The schema indexes of `names`, ascending and without repeats (undefined: every column);
 * ERR_UNKNOWN_COLUMN for a name the table does not have.
 */
export function columnIndexes(table: TableRuntime, names: readonly string[] | undefined): Int16Array | undefined {
  if (names === undefined) return undefined;
  if (!Array.isArray(names)) throw new InvalidArgumentError('columns must be an array of column names');
  const byName = table.layout.columnIndexByName;
  const indexes = new Int16Array(names.length);
  for (let i = 0; i < names.length; i++) {
    const index = byName.get(names[i]!);
    if (index === undefined)
      throw new UnknownColumnError(
        table.name,
        String(names[i]),
        table.layout.schema.columns.map((c) => c.name),
      );
    indexes[i] = index;
  }
  indexes.sort();
  let unique = 0;
  for (let i = 0; i < indexes.length; i++)
    if (i === 0 || indexes[i] !== indexes[i - 1]) indexes[unique++] = indexes[i]!;
  return unique === indexes.length ? indexes : indexes.slice(0, unique);
}

export function checkLimit(limit: number | undefined): number {
  if (limit === undefined) return Infinity;
  if (!Number.isInteger(limit) || limit < 0)
    throw new InvalidArgumentError(`limit must be a non-negative integer, got ${String(limit)}`);
  return limit;
}

export function dropUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/** `(a=1, b="x")`: a primary key in an error message. */
export function describeKey(fields: number, row: StoredRow, columns: Int16Array, schema: TableSchema): string {
  const parts: string[] = [];
  for (let i = 0; i < fields; i++) {
    const name = schema.columns[columns[i]!]!.name;
    const value = row[name];
    parts.push(`${name}=${typeof value === 'bigint' ? `${value}n` : JSON.stringify(value)}`);
  }
  return `(${parts.join(', ')})`;
}

/** Lower-case hex of `bytes` (set members and messages). */
export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}
