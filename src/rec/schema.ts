/**
 * Table schemas: columns, their types, the primary key and the secondary indexes, and the rules a
 * schema must follow before any row is encoded with it.
 *
 * InnoDB counterpart: the data dictionary's `dict_table_t` / `dict_col_t` / `dict_index_t`
 * (`include/dict0mem.h`) and the checks of `CREATE TABLE` in the SQL layer (`sql/sql_table.cc`:
 * duplicate column, key column doesn't exist, BLOB/TEXT column used in key without a length).
 * Where we differ:
 *  - a primary key is required. InnoDB invents a hidden 6-byte DB_ROW_ID for a table without one;
 *    minno asks the user to name one, because every lookup, every secondary-index entry and every
 *    undo record carries it, and an invisible key is a poor thing to debug.
 *  - `json` columns cannot be key columns: two JSON texts have no natural order worth keeping.
 *  - names are case-sensitive and compared exactly (MySQL folds column names to lower case).
 *
 * Column types (`COLUMN_TYPES`, a closed set) and what JavaScript values they hold:
 *
 * | type      | JavaScript value                | stored as (row)           | maxLength        |
 * |-----------|---------------------------------|---------------------------|------------------|
 * | `int32`   | integer number in [-2^31, 2^31) | 4 bytes                   | not allowed      |
 * | `int64`   | bigint in [-2^63, 2^63); a safe-integer number is accepted and read back as bigint | 8 bytes | not allowed |
 * | `float64` | number (NaN, ±Infinity, -0 too) | 8 bytes IEEE 754          | not allowed      |
 * | `boolean` | boolean                         | 1 byte                    | not allowed      |
 * | `string`  | well-formed string (no lone surrogate) | UTF-8              | code points      |
 * | `bytes`   | Uint8Array (a Buffer is one)    | the bytes                 | bytes            |
 * | `json`    | a JSON-serialisable value       | UTF-8 of JSON.stringify   | not allowed      |
 *
 * `maxLength` of a string counts Unicode code points ("characters"), as MySQL's VARCHAR(n) counts
 * characters: `'é'` and `'😀'` are one each. It is a user-facing limit; the byte limits (row size,
 * key size) are checked separately on the encoded bytes. A JSON `null` and SQL NULL are one thing:
 * `null` stored into a `json` column is SQL NULL.
 *
 * Invariants of a valid schema (checked by `validateSchema`, cited in its messages):
 *  S1. Table, column and index names are non-empty strings of at most `NAME_LENGTH_MAX` UTF-16
 *      units, without NUL; column names are unique in the table, index names unique in the table,
 *      and no secondary index is named `PRIMARY` (the name errors use for the primary key).
 *  S2. Every column's type is one of `COLUMN_TYPES`; `nullable` and `unique` are booleans when given;
 *      `maxLength` is given only for `string` and `bytes`, and is a positive safe integer.
 *  S3. The primary key names 1 to `KEY_COLUMNS_MAX` distinct existing columns, none nullable, none `json`.
 *  S4. Every secondary index names 1 to `KEY_COLUMNS_MAX` distinct existing columns, none `json`
 *      (nullable columns are allowed: NULL sorts first).
 *  S5. At most `COLUMNS_MAX` columns and `INDEXES_MAX` secondary indexes.
 */
import { InvalidSchemaError, OutOfRangeError, TypeMismatchError, ValueTooLargeError } from '../errors.js';

/** The column types, a closed set: gives both the `ColumnType` type and the runtime check. */
export const COLUMN_TYPES = ['int32', 'int64', 'float64', 'boolean', 'string', 'bytes', 'json'] as const;

export type ColumnType = (typeof COLUMN_TYPES)[number];

/** Types that may be key columns: all but `json`. */
export type KeyColumnType = Exclude<ColumnType, 'json'>;

/**
 * Each type's number, for the data dictionary and the codecs' hot loops (a number switch is
 * cheaper than a string switch). Stored on disk: never renumber, only append.
 */
export const ColumnTypeCode = {
  int32: 1,
  int64: 2,
  float64: 3,
  boolean: 4,
  string: 5,
  bytes: 6,
  json: 7,
} as const satisfies Record<ColumnType, number>;

export type ColumnTypeCodeValue = (typeof ColumnTypeCode)[ColumnType];

/** Fixed width in bytes of each fixed-size type's value, in a row and in a key; 0 for variable-size types. */
export const FIXED_WIDTH_BYTES = {
  int32: 4,
  int64: 8,
  float64: 8,
  boolean: 1,
  string: 0,
  bytes: 0,
  json: 0,
} as const satisfies Record<ColumnType, number>;

/** MySQL's identifier limit (64 characters). */
export const NAME_LENGTH_MAX = 64;
/** InnoDB allows 1017 columns a table; we keep a round number under it. */
export const COLUMNS_MAX = 1000;
/** MySQL's limit of secondary indexes a table. */
export const INDEXES_MAX = 64;
/** MySQL's limit of columns in one index (MAX_REF_PARTS). */
export const KEY_COLUMNS_MAX = 16;
/** The name errors give the primary key; reserved, so no secondary index may take it. */
export const PRIMARY_INDEX_NAME = 'PRIMARY';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  /** Defaults to false: NOT NULL. Primary-key columns must not be nullable (S3). */
  readonly nullable?: boolean;
  /** `string`: code points; `bytes`: bytes. Not allowed for other types (S2). */
  readonly maxLength?: number;
}

export interface IndexDef {
  readonly name: string;
  readonly columns: readonly string[];
  /** Defaults to false. Several NULLs never conflict in a unique index (as in InnoDB). */
  readonly unique?: boolean;
}

export interface TableSchema {
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  readonly primaryKey: readonly string[];
  readonly indexes: readonly IndexDef[];
}

/** A JSON value as `JSON.parse` returns it. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | { readonly [key: string]: JsonValue };

/** A value a key column holds (int64 read back as bigint). */
export type KeyValue = number | bigint | boolean | string | Uint8Array;

/** A value any column holds; `null` is SQL NULL. */
export type ColumnValue = KeyValue | JsonValue;

export function isColumnType(value: unknown): value is ColumnType {
  return typeof value === 'string' && (COLUMN_TYPES as readonly string[]).includes(value);
}

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

function checkName(table: string, what: string, name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) {
    throw new InvalidSchemaError(table, `S1: ${what} must be a non-empty string, got ${describe(name)}`);
  }
  if (name.length > NAME_LENGTH_MAX) {
    throw new InvalidSchemaError(
      table,
      `S1: ${what} ${JSON.stringify(name)} is ${name.length} characters long; shorten it to at most ${NAME_LENGTH_MAX}`,
    );
  }
  if (name.includes('\u0000')) {
    throw new InvalidSchemaError(table, `S1: ${what} ${JSON.stringify(name)} contains a NUL character; remove it`);
  }
}

/** A short description of a value for an error message: its type and, when short, the value. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'bigint') return `bigint ${value}n`;
  if (typeof value === 'number') return `number ${String(value)}`;
  if (typeof value === 'string')
    return value.length <= 40 ? `string ${JSON.stringify(value)}` : `string of length ${value.length}`;
  if (typeof value === 'boolean') return `boolean ${String(value)}`;
  if (value instanceof Uint8Array) return `Uint8Array of ${value.length} bytes`;
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? `an object (${Object.prototype.toString.call(value)})` : typeof value;
}

function checkColumn(table: string, column: unknown, index: number): ColumnDef {
  if (!isRecord(column))
    throw new InvalidSchemaError(table, `column #${index} must be an object, got ${describe(column)}`);
  checkName(table, `column #${index} name`, column['name']);
  const name = column['name'];
  const type = column['type'];
  if (!isColumnType(type)) {
    throw new InvalidSchemaError(
      table,
      `S2: column ${JSON.stringify(name)} has unknown type ${describe(type)}; use one of ${COLUMN_TYPES.join(', ')}`,
    );
  }
  const nullable = column['nullable'];
  if (nullable !== undefined && typeof nullable !== 'boolean') {
    throw new InvalidSchemaError(
      table,
      `S2: column ${JSON.stringify(name)}: nullable must be true or false, got ${describe(nullable)}`,
    );
  }
  const maxLength = column['maxLength'];
  if (maxLength !== undefined) {
    if (type !== 'string' && type !== 'bytes') {
      throw new InvalidSchemaError(
        table,
        `S2: column ${JSON.stringify(name)} of type ${type} cannot have maxLength; only string and bytes columns take one`,
      );
    }
    if (typeof maxLength !== 'number' || !Number.isSafeInteger(maxLength) || maxLength < 1) {
      throw new InvalidSchemaError(
        table,
        `S2: column ${JSON.stringify(name)}: maxLength must be a positive integer, got ${describe(maxLength)}`,
      );
    }
  }
  return column as unknown as ColumnDef;
}

function checkKeyColumns(
  table: string,
  what: string,
  names: unknown,
  byName: ReadonlyMap<string, ColumnDef>,
  isPrimary: boolean,
): void {
  const rule = isPrimary ? 'S3' : 'S4';
  if (!Array.isArray(names) || names.length === 0) {
    throw new InvalidSchemaError(table, `${rule}: ${what} must list at least one column, got ${describe(names)}`);
  }
  if (names.length > KEY_COLUMNS_MAX) {
    throw new InvalidSchemaError(
      table,
      `${rule}: ${what} has ${names.length} columns; an index takes at most ${KEY_COLUMNS_MAX}`,
    );
  }
  const seen = new Set<string>();
  for (const name of names as unknown[]) {
    if (typeof name !== 'string')
      throw new InvalidSchemaError(table, `${rule}: ${what} lists ${describe(name)}; list column names`);
    const column = byName.get(name);
    if (column === undefined) {
      throw new InvalidSchemaError(
        table,
        `${rule}: ${what} names column ${JSON.stringify(name)}, which the table does not have; ` +
          `add the column or use one of ${[...byName.keys()].map((n) => JSON.stringify(n)).join(', ')}`,
      );
    }
    if (seen.has(name)) {
      throw new InvalidSchemaError(table, `${rule}: ${what} lists column ${JSON.stringify(name)} twice; list it once`);
    }
    seen.add(name);
    if (column.type === 'json') {
      throw new InvalidSchemaError(
        table,
        `${rule}: ${what} uses json column ${JSON.stringify(name)}; json values have no order and cannot be keyed: ` +
          `index a string or number column extracted from the value instead`,
      );
    }
    if (isPrimary && column.nullable === true) {
      throw new InvalidSchemaError(
        table,
        `S3: primary-key column ${JSON.stringify(name)} is nullable; remove nullable: true (primary-key columns are NOT NULL)`,
      );
    }
  }
}

/**
 * Checks every rule S1..S5 and throws an `InvalidSchemaError` (ERR_INVALID_SCHEMA) naming the
 * first one broken and what to change. Works on untyped input too (a schema read from JSON).
 */
export function validateSchema(schema: TableSchema): void {
  if (!isRecord(schema)) throw new InvalidSchemaError('?', `a schema must be an object, got ${describe(schema)}`);
  const tableName = typeof schema.name === 'string' ? schema.name : '?';
  checkName(tableName, 'table name', schema.name);
  const table = schema.name;
  if (!Array.isArray(schema.columns) || schema.columns.length === 0) {
    throw new InvalidSchemaError(table, `columns must be a non-empty array, got ${describe(schema.columns)}`);
  }
  if (schema.columns.length > COLUMNS_MAX) {
    throw new InvalidSchemaError(table, `S5: ${schema.columns.length} columns; a table has at most ${COLUMNS_MAX}`);
  }
  const byName = new Map<string, ColumnDef>();
  schema.columns.forEach((raw, index) => {
    const column = checkColumn(table, raw, index);
    if (byName.has(column.name)) {
      throw new InvalidSchemaError(table, `S1: two columns are named ${JSON.stringify(column.name)}; rename one`);
    }
    byName.set(column.name, column);
  });
  checkKeyColumns(table, 'the primary key', schema.primaryKey, byName, true);
  if (!Array.isArray(schema.indexes)) {
    throw new InvalidSchemaError(table, `indexes must be an array (use [] for none), got ${describe(schema.indexes)}`);
  }
  if (schema.indexes.length > INDEXES_MAX) {
    throw new InvalidSchemaError(
      table,
      `S5: ${schema.indexes.length} secondary indexes; a table has at most ${INDEXES_MAX}`,
    );
  }
  const indexNames = new Set<string>();
  schema.indexes.forEach((raw: unknown, position) => {
    if (!isRecord(raw))
      throw new InvalidSchemaError(table, `index #${position} must be an object, got ${describe(raw)}`);
    checkName(table, `index #${position} name`, raw['name']);
    const name = raw['name'];
    if (name === PRIMARY_INDEX_NAME) {
      throw new InvalidSchemaError(
        table,
        `S1: ${PRIMARY_INDEX_NAME} is the primary key's name; give the secondary index another`,
      );
    }
    if (indexNames.has(name))
      throw new InvalidSchemaError(table, `S1: two indexes are named ${JSON.stringify(name)}; rename one`);
    indexNames.add(name);
    const unique = raw['unique'];
    if (unique !== undefined && typeof unique !== 'boolean') {
      throw new InvalidSchemaError(
        table,
        `S2: index ${JSON.stringify(name)}: unique must be true or false, got ${describe(unique)}`,
      );
    }
    checkKeyColumns(table, `index ${JSON.stringify(name)}`, raw['columns'], byName, false);
  });
}

// Value checks, shared by the key codec and the row format. Each returns the value as the codecs
// write it, or throws the typed error naming the column and what to pass instead (V1..V6).
//  V1. int32: an integer number in [-2^31, 2^31). A bigint is refused (pass a number).
//  V2. int64: a bigint in [-2^63, 2^63), or a safe-integer number (read back as bigint). An unsafe
//      integer number is refused: its low digits are already lost, so the caller must pass a bigint.
//  V3. float64: any number. boolean: a boolean.
//  V4. string: a string of at most maxLength code points (the UTF-8 writers refuse lone surrogates:
//      TextEncoder would turn them into U+FFFD and make two different strings one key).
//  V5. bytes: a Uint8Array of at most maxLength bytes.
//  V6. json: a value JSON.stringify turns into text (not undefined, a function, a symbol, a bigint
//      or a cycle).

export const INT32_MIN = -2147483648;
export const INT32_MAX = 2147483647;
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

export function checkInt32(column: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeMismatchError(column, 'an integer number (int32)', describe(value));
  }
  if (value < INT32_MIN || value > INT32_MAX) {
    throw new OutOfRangeError(
      column,
      `${value} is outside int32 [${INT32_MIN}, ${INT32_MAX}]; declare the column int64 to hold it`,
    );
  }
  return value;
}

export function checkInt64(column: string, value: unknown): number | bigint {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new OutOfRangeError(column, `${value}n is outside int64 [-2^63, 2^63 - 1]`);
    }
    return value;
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  throw new TypeMismatchError(column, 'a bigint (or a safe-integer number) (int64)', describe(value));
}

export function checkFloat64(column: string, value: unknown): number {
  if (typeof value !== 'number') throw new TypeMismatchError(column, 'a number (float64)', describe(value));
  return value;
}

export function checkBoolean(column: string, value: unknown): boolean {
  if (typeof value !== 'boolean') throw new TypeMismatchError(column, 'a boolean', describe(value));
  return value;
}

/** Code points in `text`: its UTF-16 length less one for each surrogate pair. */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

export function checkString(column: string, value: unknown, maxLength: number | undefined): string {
  if (typeof value !== 'string') throw new TypeMismatchError(column, 'a string', describe(value));
  // A string's code points never outnumber its UTF-16 units, so the count runs only past the limit.
  if (maxLength !== undefined && value.length > maxLength) {
    const length = codePointLength(value);
    if (length > maxLength) {
      throw new ValueTooLargeError(
        column,
        maxLength,
        `string of ${length} characters exceeds maxLength ${maxLength}; shorten it or raise maxLength`,
      );
    }
  }
  return value;
}

export function checkBytes(column: string, value: unknown, maxLength: number | undefined): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeMismatchError(column, 'a Uint8Array', describe(value));
  if (maxLength !== undefined && value.length > maxLength) {
    throw new ValueTooLargeError(
      column,
      maxLength,
      `${value.length} bytes exceed maxLength ${maxLength}; shorten the value or raise maxLength`,
    );
  }
  return value;
}

/** The JSON text of a json column's value (V6). */
export function jsonText(column: string, value: unknown): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new TypeMismatchError(
      column,
      'a JSON-serialisable value (json)',
      `${describe(value)} that JSON.stringify refuses (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  if (text === undefined) throw new TypeMismatchError(column, 'a JSON-serialisable value (json)', describe(value));
  return text;
}
