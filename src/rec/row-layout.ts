/**
 * The row format's layout: the bytes of a clustered-index entry's value and of secondary-index
 * entries, and the per-table `TableLayout` every codec of the row format is driven by.
 * The codecs live beside it, one concept each: `row-keys.ts` (index keys built from a row),
 * `row-sys-fields.ts` (DB_TRX_ID, DB_ROLL_PTR and the delete mark, patched in place),
 * `row-encode.ts` (writing the value), `row-extern.ts` (choosing values to keep on LOB pages),
 * `row-decode.ts` (reading columns and rows back). `row-format.ts` re-exports them all.
 *
 * InnoDB counterpart: the COMPACT/DYNAMIC record (`rem/rem0rec.cc`, `include/rem0rec.h`): a header
 * with info bits (the delete mark), the null bitmap and the lengths of variable-length fields, the
 * hidden DB_TRX_ID and DB_ROLL_PTR, then the columns; a 20-byte external reference for a value
 * stored on LOB pages (`lob0lob.h`). Where we differ, and why:
 *  - The B-tree stores (key, value) pairs and the key is the memcomparable primary key
 *    (`key-codec.ts`), so key columns are not repeated in the value: `decodeRow` takes both.
 *  - DB_TRX_ID and DB_ROLL_PTR sit at fixed offsets at the start of the value, so the transaction
 *    layer reads and patches them in place without parsing the rest (InnoDB finds them through
 *    the key fields' lengths).
 *  - Fixed-size columns keep their slot when NULL (zeros) so any fixed column is read at an offset
 *    known from the schema alone; InnoDB leaves NULL fields out entirely, saving bytes, not time.
 *  - Variable-length fields are found by their end offsets (15 bits, plus InnoDB's external flag),
 *    one u16 each, so one column is read without touching the others.
 *
 * Value byte table (integers big-endian):
 *
 * | offset           | size        | field      | meaning                                                   |
 * |------------------|-------------|------------|-----------------------------------------------------------|
 * | 0                | 1           | INFO       | bits 0-3 format version (1); bit 5 (0x20) DELETED, the delete mark (InnoDB's REC_INFO_DELETED_FLAG); other bits zero |
 * | 1                | 6           | DB_TRX_ID  | id of the transaction that wrote this version              |
 * | 7                | 7           | DB_ROLL_PTR| undo record of the previous version (bit 55: insert undo)  |
 * | 14               | 2           | N_FIELDS   | n: how many stored (non-key) fields follow; fields past n read as NULL |
 * | 16               | ceil(n/8)   | NULLS      | bit (i & 7) of byte (i >> 3) set when field i is NULL       |
 * | E = 16+ceil(n/8) | 2 v         | VAR_ENDS   | one per variable-length field among the n, in field order: bit 15 EXTERN (value on LOB pages, reserved), bits 0-14 end of its bytes relative to V |
 * | X = E + 2v       | F           | FIXED      | each fixed-size field in its slot, in field order; zeros when NULL |
 * | V = X + F        | ...         | VAR        | the variable-length fields' bytes, in field order          |
 *
 * Stored fields are the table's non-key columns in schema order. v and F depend only on n, so a
 * row written before columns were appended to the schema still reads: its missing trailing fields
 * read as NULL. Field encodings: int32 4 bytes and int64 8 bytes two's complement, float64 8 bytes
 * IEEE 754 exactly as given (-0 and NaN payloads kept; unlike keys), boolean 1 byte 0/1, string UTF-8,
 * bytes as is, json UTF-8 of JSON.stringify. A NULL var field is empty (its end equals the previous).
 *
 * A secondary-index entry is key = encoded secondary columns + encoded primary-key columns
 * (`SecondaryIndexLayout.spec`), value = empty. The primary key makes every entry unique, so a
 * non-unique index needs no duplicate handling, and it is how a secondary hit finds its row.
 * A unique index's uniqueness is checked by the B-tree with a prefix scan on the secondary columns
 * (entries with a NULL in them never conflict, as in InnoDB).
 *
 * Size limits: the encoded primary key is at most `maxKeyBytes` (ERR_KEY_TOO_LARGE naming the index),
 * a secondary entry too; the primary key plus the value, the clustered record's payload, is at most
 * `maxRowBytes`. A row that does not fit keeps its largest string, bytes and json values on LOB
 * pages (`encodeRowStoring`, W8) and only their 24-byte references (`lob-ref.ts`) in the record,
 * with the VAR_ENDS EXTERN bit set; only what stays in the record counts against `maxRowBytes`
 * (ERR_VALUE_TOO_LARGE naming the largest variable-length column when even that does not fit).
 *
 * Invariants:
 *  W1. INFO's version is ROW_FORMAT_VERSION and its unused bits are zero.
 *  W2. The value is exactly V + (end of the last var field) bytes long; var ends never decrease.
 *  W3. Encoding is a function of the values: NULL slots, the bitmap's spare bits and the unused INFO
 *      bits are zero, so equal rows give equal bytes.
 *  W4. N_FIELDS never exceeds the schema's stored field count, and a field at position >= n is NULL.
 *  W5. primary-key bytes + value bytes <= maxRowBytes <= ROW_BYTES_LIMIT (so var ends fit 15 bits).
 *  W6. DB_TRX_ID < 2^48 and DB_ROLL_PTR < 2^56, at the fixed offsets ROW_TRX_ID_OFFSET and
 *      ROW_ROLL_PTR_OFFSET, patched in place by `writeTrxIdInto` / `writeRollPtrInto`.
 *  W7. A field with EXTERN set holds exactly a `LobRef` (LOB_REF_BYTES bytes) and decodes to one;
 *      the row layer reads the value from the LOB layer when a caller needs its bytes.
 *  W8. A column in a secondary index is never stored off-page (its value is bounded by the key
 *      size limit and index entries never point off-page); off-page values are chosen largest
 *      first until the rest of the row fits, so a row that fits is stored whole.
 *
 * This file checks W5's limit when a layout is compiled; each codec asserts the rules it keeps.
 */
import { InvalidArgumentError, InvalidSchemaError, UnknownColumnError } from '../errors.js';
import { compileKeySpec, KEY_BYTES_MAX_DEFAULT, type KeySpec } from './key-codec.js';
import type { LobRef } from './lob-ref.js';
import {
  ColumnTypeCode,
  FIXED_WIDTH_BYTES,
  PRIMARY_INDEX_NAME,
  validateSchema,
  type ColumnDef,
  type ColumnValue,
  type IndexDef,
  type TableSchema,
} from './schema.js';

export const ROW_FORMAT_VERSION = 1;
/** INFO bits. Stored on disk: never renumber. */
export const RowInfo = {
  VersionMask: 0x0f,
  /** The delete mark (InnoDB's REC_INFO_DELETED_FLAG has the same value). */
  Deleted: 0x20,
} as const;

export const ROW_INFO_OFFSET = 0;
export const ROW_TRX_ID_OFFSET = 1;
export const ROW_TRX_ID_BYTES = 6;
export const ROW_ROLL_PTR_OFFSET = 7;
export const ROW_ROLL_PTR_BYTES = 7;
export const ROW_N_FIELDS_OFFSET = 14;
export const ROW_NULLS_OFFSET = 16;
/** Bytes before the null bitmap: the smallest possible value (a table whose columns are all key columns). */
export const ROW_HEADER_BYTES = 16;
/** VAR_ENDS bit 15: the field holds a reference to LOB pages, not its value (W7). */
export const VAR_END_EXTERN = 0x8000;
export const VAR_END_MASK = 0x7fff;
/** The largest `maxRowBytes` a layout accepts: a var end must fit its 15 bits (W5). */
export const ROW_BYTES_LIMIT = 0x7fff;
/** InnoDB's row size limit for 16 KiB pages ("Row size too large (> 8126)"): about half a page. */
export const ROW_BYTES_MAX_DEFAULT = 8126;
export const TRX_ID_LIMIT = 2 ** 48;
export const ROLL_PTR_LIMIT = 2n ** 56n;

/** Key and row size limits for a page size, as InnoDB sets them: keys 3/16 of a page up to 3072 bytes, rows about half a page. */
export function limitsForPageSize(pageSize: number): { maxKeyBytes: number; maxRowBytes: number } {
  return {
    maxKeyBytes: Math.min(KEY_BYTES_MAX_DEFAULT, Math.floor((pageSize * 3) / 16)),
    maxRowBytes: Math.min(ROW_BYTES_LIMIT, Math.floor(pageSize / 2) - 66),
  };
}

export interface SecondaryIndexLayout {
  readonly def: IndexDef;
  /** The entry's key: the index's columns, then the primary-key columns. Named after the index. */
  readonly spec: KeySpec;
  /** Table column index of each field of `spec`. */
  readonly keyColumns: Int16Array;
  /** How many leading fields of `spec` are the index's own columns. */
  readonly secondaryFieldCount: number;
}

/** A validated schema compiled for the codecs: build once when a table is opened, pass to every call. */
export interface TableLayout {
  readonly schema: TableSchema;
  readonly primaryKey: KeySpec;
  /** Table column index of each primary-key field. */
  readonly primaryKeyColumns: Int16Array;
  readonly indexes: readonly SecondaryIndexLayout[];
  readonly maxKeyBytes: number;
  readonly maxRowBytes: number;
  /** Per table column: its position in the primary key, or -1. */
  readonly keyPosition: Int16Array;
  /** Per table column: its stored field position in the value, or -1 for a key column. */
  readonly fieldPosition: Int16Array;
  /** Per stored field: its table column index. */
  readonly fieldColumns: Int16Array;
  readonly fieldTypeCodes: Uint8Array;
  /** Per stored field: 1 when the column is in a secondary index (W8: never stored off-page). */
  readonly indexedFields: Uint8Array;
  /** Per stored field: the offset of its slot in FIXED, or for a var field its index in VAR_ENDS. */
  readonly fieldSlot: Int32Array;
  /** For n in 0..fieldCount: bytes of FIXED in a row of n fields. */
  readonly fixedBytesFor: Int32Array;
  /** For n in 0..fieldCount: entries of VAR_ENDS in a row of n fields. */
  readonly varCountFor: Int32Array;
  readonly fieldCount: number;
  readonly columnIndexByName: ReadonlyMap<string, number>;
}

export interface LayoutOptions {
  /** Default `KEY_BYTES_MAX_DEFAULT` (3072). */
  readonly maxKeyBytes?: number;
  /** Default `ROW_BYTES_MAX_DEFAULT` (8126); at most `ROW_BYTES_LIMIT`. */
  readonly maxRowBytes?: number;
}

/** Validates `schema` (S1..S5, ERR_INVALID_SCHEMA) and compiles it for the codecs. */
export function compileTable(given: TableSchema, options: LayoutOptions = {}): TableLayout {
  validateSchema(given);
  // A frozen copy: the layout's arrays describe this schema, so the caller must not change it under them.
  const schema: TableSchema = Object.freeze({
    ...given,
    columns: Object.freeze(given.columns.map((column) => Object.freeze({ ...column }))),
    primaryKey: Object.freeze([...given.primaryKey]),
    indexes: Object.freeze(
      given.indexes.map((index) => Object.freeze({ ...index, columns: Object.freeze([...index.columns]) })),
    ),
  });
  const maxKeyBytes = options.maxKeyBytes ?? KEY_BYTES_MAX_DEFAULT;
  const maxRowBytes = options.maxRowBytes ?? ROW_BYTES_MAX_DEFAULT;
  if (!Number.isSafeInteger(maxRowBytes) || maxRowBytes < ROW_HEADER_BYTES || maxRowBytes > ROW_BYTES_LIMIT) {
    throw new InvalidArgumentError(
      `maxRowBytes must be an integer from ${ROW_HEADER_BYTES} to ${ROW_BYTES_LIMIT}, got ${String(maxRowBytes)}`,
    );
  }
  const columns = schema.columns;
  const columnIndexByName = new Map(columns.map((column, i) => [column.name, i] as const));
  const indexOf = (name: string): number => columnIndexByName.get(name)!;
  const pick = (names: readonly string[]): ColumnDef[] => names.map((name) => columns[indexOf(name)]!);

  const primaryKeyColumns = Int16Array.from(schema.primaryKey, indexOf);
  const primaryKey = compileKeySpec(PRIMARY_INDEX_NAME, pick(schema.primaryKey), maxKeyBytes);
  const keyPosition = new Int16Array(columns.length).fill(-1);
  primaryKeyColumns.forEach((column, position) => (keyPosition[column] = position));

  const fieldPosition = new Int16Array(columns.length).fill(-1);
  const stored = columns.flatMap((_column, i) => (keyPosition[i] === -1 ? [i] : []));
  const fieldCount = stored.length;
  const fieldColumns = Int16Array.from(stored);
  const fieldTypeCodes = new Uint8Array(fieldCount);
  const fieldSlot = new Int32Array(fieldCount);
  const fixedBytesFor = new Int32Array(fieldCount + 1);
  const varCountFor = new Int32Array(fieldCount + 1);
  stored.forEach((column, field) => {
    const type = columns[column]!.type;
    fieldPosition[column] = field;
    fieldTypeCodes[field] = ColumnTypeCode[type];
    const width = FIXED_WIDTH_BYTES[type];
    fieldSlot[field] = width > 0 ? fixedBytesFor[field]! : varCountFor[field]!;
    fixedBytesFor[field + 1] = fixedBytesFor[field]! + width;
    varCountFor[field + 1] = varCountFor[field]! + (width > 0 ? 0 : 1);
  });
  const smallest =
    ROW_HEADER_BYTES + ((fieldCount + 7) >> 3) + 2 * varCountFor[fieldCount]! + fixedBytesFor[fieldCount]!;
  if (smallest > maxRowBytes) {
    throw new InvalidSchemaError(
      schema.name,
      `W5: a row takes at least ${smallest} bytes (header and fixed-size columns) but the row size limit is ${maxRowBytes}; drop columns or use a larger page size`,
    );
  }
  const indexedFields = new Uint8Array(fieldCount);
  for (const def of schema.indexes) {
    for (const name of def.columns) {
      const field = fieldPosition[indexOf(name)]!;
      if (field >= 0) indexedFields[field] = 1;
    }
  }
  const indexes = schema.indexes.map((def): SecondaryIndexLayout => {
    const names = [...def.columns, ...schema.primaryKey];
    return Object.freeze({
      def,
      spec: compileKeySpec(def.name, pick(names), maxKeyBytes),
      keyColumns: Int16Array.from(names, indexOf),
      secondaryFieldCount: def.columns.length,
    });
  });
  return Object.freeze({
    schema,
    primaryKey,
    primaryKeyColumns,
    indexes: Object.freeze(indexes),
    maxKeyBytes,
    maxRowBytes,
    keyPosition,
    fieldPosition,
    fieldColumns,
    fieldTypeCodes,
    indexedFields,
    fieldSlot,
    fixedBytesFor,
    varCountFor,
    fieldCount,
    columnIndexByName,
  });
}

/** A row as the user gives it and reads it: column name to value, `null` (or absent) for NULL. */
export type Row = { readonly [column: string]: ColumnValue | undefined };

/** A column's value as the row layer holds it: the value, or the reference to it on LOB pages (W7). */
export type StoredValue = ColumnValue | LobRef;

/** A row as the row layer holds it: large values may be references (`LobRef`) not read yet. */
export type StoredRow = { readonly [column: string]: StoredValue | null | undefined };

/** The table column index of `name`, or ERR_UNKNOWN_COLUMN listing the table's columns. */
export function columnIndex(layout: TableLayout, name: string): number {
  const index = layout.columnIndexByName.get(name);
  if (index === undefined) throw unknownColumn(layout, name);
  return index;
}

function unknownColumn(layout: TableLayout, name: string): UnknownColumnError {
  return new UnknownColumnError(
    layout.schema.name,
    name,
    layout.schema.columns.map((column) => column.name),
  );
}

/** Refuses a row that names a column the table does not have (ERR_UNKNOWN_COLUMN). */
export function checkRowColumns(layout: TableLayout, row: StoredRow): void {
  for (const name in row) {
    if (!layout.columnIndexByName.has(name)) throw unknownColumn(layout, name);
  }
}
