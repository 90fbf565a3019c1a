/**
 * The row format: the bytes of a clustered-index entry's value and of secondary-index entries.
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
 * Allocation: `encodeRowInto`, `encodePrimaryKeyInto`, `encodeSecondaryKeyInto`, the trx id /
 * roll ptr / delete mark accessors (but `readRollPtr`, which returns a bigint) and
 * `primaryKeyOffsetInSecondary` allocate nothing, except `encodeRowInto` for a json column
 * (JSON.stringify) and for a string over 32 UTF-16 units (one subarray view for
 * TextEncoder.encodeInto). `readColumn` allocates only the value it returns (string, bigint, bytes
 * copy, parsed json); `decodeRow` allocates the result object, the key's value array and the values.
 */
import {
  IncompatibleFormatError,
  InvalidArgumentError,
  InvalidSchemaError,
  NotNullError,
  TypeMismatchError,
  UnknownColumnError,
  ValueTooLargeError,
} from '../errors.js';
import { assert } from '../util/assert.js';
import {
  checkKeyRoom,
  compileKeySpec,
  decodeKeyInto,
  KEY_BYTES_MAX_DEFAULT,
  readFloat64,
  readInt64,
  readKeyField,
  readU32BE,
  readUtf8,
  skipKeyFields,
  throwKeyTooLarge,
  utf8Length,
  writeFloat64,
  writeInt64,
  writeKeyField,
  writeU32BE,
  writeUtf8,
  type KeySpec,
} from './key-codec.js';
import { LOB_REF_BYTES, LOB_REF_PLACEHOLDER, LobRef, readLobRef, writeLobRef } from './lob-ref.js';
import {
  checkBoolean,
  checkBytes,
  checkFloat64,
  checkInt32,
  checkInt64,
  checkString,
  ColumnTypeCode,
  FIXED_WIDTH_BYTES,
  jsonText,
  PRIMARY_INDEX_NAME,
  validateSchema,
  type ColumnDef,
  type ColumnValue,
  type IndexDef,
  type KeyValue,
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

// --- keys --------------------------------------------------------------------------------------

function encodeKeyFromRow(
  spec: KeySpec,
  columnsOf: Int16Array,
  layout: TableLayout,
  row: StoredRow,
  out: Uint8Array,
  offset: number,
): number {
  checkKeyRoom(spec, out, offset);
  const columns = layout.schema.columns;
  const bound = offset + spec.maxBytes;
  let pos = offset;
  for (let field = 0; field < columnsOf.length; field++) {
    pos = writeKeyField(spec, field, row[columns[columnsOf[field]!]!.name], out, pos, bound);
    if (pos < 0) throwKeyTooLarge(spec, columnsOf.length, (i) => row[columns[columnsOf[i]!]!.name]);
  }
  return pos - offset;
}

/** Encodes the row's primary key into `out` (room for `maxKeyBytes` from `offset`); returns its length. Allocates nothing. */
export function encodePrimaryKeyInto(layout: TableLayout, row: StoredRow, out: Uint8Array, offset: number): number {
  return encodeKeyFromRow(layout.primaryKey, layout.primaryKeyColumns, layout, row, out, offset);
}

let scratch = new Uint8Array(ROW_BYTES_MAX_DEFAULT);
function scratchOf(bytes: number): Uint8Array {
  if (scratch.length < bytes) scratch = new Uint8Array(bytes);
  return scratch;
}

export function encodePrimaryKey(layout: TableLayout, row: StoredRow): Uint8Array {
  const out = scratchOf(layout.maxKeyBytes);
  return out.slice(0, encodePrimaryKeyInto(layout, row, out, 0));
}

/** Encodes the secondary-index entry key (index columns + primary key) of `row` for `layout.indexes[index]`. Allocates nothing. */
export function encodeSecondaryKeyInto(
  layout: TableLayout,
  index: number,
  row: StoredRow,
  out: Uint8Array,
  offset: number,
): number {
  const secondary = secondaryLayout(layout, index);
  return encodeKeyFromRow(secondary.spec, secondary.keyColumns, layout, row, out, offset);
}

export function encodeSecondaryKey(layout: TableLayout, index: number, row: StoredRow): Uint8Array {
  const out = scratchOf(layout.maxKeyBytes);
  return out.slice(0, encodeSecondaryKeyInto(layout, index, row, out, 0));
}

function secondaryLayout(layout: TableLayout, index: number): SecondaryIndexLayout {
  const secondary = layout.indexes[index];
  if (secondary === undefined) {
    throw new InvalidArgumentError(
      `table ${JSON.stringify(layout.schema.name)} has no secondary index #${index} (it has ${layout.indexes.length})`,
    );
  }
  return secondary;
}

/** Where the primary key starts in the secondary entry at bytes[offset, end). Allocates nothing. */
export function primaryKeyOffsetInSecondary(
  layout: TableLayout,
  index: number,
  bytes: Uint8Array,
  offset: number,
  end: number,
): number {
  const secondary = secondaryLayout(layout, index);
  return skipKeyFields(bytes, offset, end, secondary.spec, 0, secondary.secondaryFieldCount);
}

/** The encoded primary key inside a secondary entry: a view on `secondaryKey`'s bytes, not a copy. */
export function extractPrimaryKeyFromSecondary(
  layout: TableLayout,
  index: number,
  secondaryKey: Uint8Array,
): Uint8Array {
  return secondaryKey.subarray(primaryKeyOffsetInSecondary(layout, index, secondaryKey, 0, secondaryKey.length));
}

// --- hidden columns and info bits, in place --------------------------------------------------------

export function readTrxId(row: Uint8Array, rowOffset = 0): number {
  const at = rowOffset + ROW_TRX_ID_OFFSET;
  return ((row[at]! << 8) | row[at + 1]!) * 4294967296 + readU32BE(row, at + 2);
}

/** Patches DB_TRX_ID in place (W6). */
export function writeTrxIdInto(row: Uint8Array, rowOffset: number, trxId: number): void {
  assert(Number.isSafeInteger(trxId) && trxId >= 0 && trxId < TRX_ID_LIMIT, () => `W6 trx id ${trxId} out of 48 bits`);
  const at = rowOffset + ROW_TRX_ID_OFFSET;
  const hi = Math.floor(trxId / 4294967296);
  row[at] = hi >>> 8;
  row[at + 1] = hi;
  writeU32BE(row, at + 2, trxId >>> 0);
}

/** 8 bytes to pass DB_ROLL_PTR through the int64 codec: byte 0 is zero, bytes 1..7 are the pointer. */
const rollPtrScratch = new Uint8Array(8);

/** DB_ROLL_PTR as a bigint (is_insert << 55 | undo space << 48 | page << 16 | offset). Allocates the bigint. */
export function readRollPtr(row: Uint8Array, rowOffset = 0): bigint {
  const at = rowOffset + ROW_ROLL_PTR_OFFSET;
  rollPtrScratch[0] = 0;
  for (let i = 0; i < ROW_ROLL_PTR_BYTES; i++) rollPtrScratch[i + 1] = row[at + i]!;
  return readInt64(rollPtrScratch, 0, 0);
}

/** Patches DB_ROLL_PTR in place (W6). Allocates nothing. */
export function writeRollPtrInto(row: Uint8Array, rowOffset: number, rollPtr: bigint): void {
  assert(rollPtr >= 0n && rollPtr < ROLL_PTR_LIMIT, () => `W6 roll ptr ${rollPtr} out of 56 bits`);
  writeInt64(rollPtrScratch, 0, rollPtr, 0);
  const at = rowOffset + ROW_ROLL_PTR_OFFSET;
  for (let i = 0; i < ROW_ROLL_PTR_BYTES; i++) row[at + i] = rollPtrScratch[i + 1]!;
}

export function isDeleteMarked(row: Uint8Array, rowOffset = 0): boolean {
  return (row[rowOffset + ROW_INFO_OFFSET]! & RowInfo.Deleted) !== 0;
}

/** Sets or clears the delete mark in place. */
export function setDeleteMarkInto(row: Uint8Array, rowOffset: number, marked: boolean): void {
  const at = rowOffset + ROW_INFO_OFFSET;
  row[at] = marked ? row[at]! | RowInfo.Deleted : row[at]! & ~RowInfo.Deleted;
}

// --- the value -------------------------------------------------------------------------------------

/**
 * Encodes the value of `row`'s clustered-index entry into `out` at `offset` and returns its length.
 * `keyLength` is the length of the row's encoded primary key, counted against `maxRowBytes` (W5).
 * `out` must have room for `maxRowBytes` from `offset`. Refuses unknown columns, wrong types,
 * NULL in NOT NULL and a row over the limit, with their typed errors. A `LobRef` given for a
 * string, bytes or json column is stored as the external reference it is (W7).
 */
export function encodeRowInto(
  layout: TableLayout,
  row: StoredRow,
  trxId: number,
  rollPtr: bigint,
  out: Uint8Array,
  offset: number,
  keyLength: number,
): number {
  const length = encodeRowIntoOrOverflow(layout, row, trxId, rollPtr, out, offset, keyLength);
  if (length < 0) throwRowTooLarge(layout, row, keyLength);
  return length;
}

/** `encodeRowInto`, but -1 when the row is over the limit (W5) instead of the error. */
function encodeRowIntoOrOverflow(
  layout: TableLayout,
  row: StoredRow,
  trxId: number,
  rollPtr: bigint,
  out: Uint8Array,
  offset: number,
  keyLength: number,
): number {
  if (out.length - offset < layout.maxRowBytes) {
    throw new InvalidArgumentError(
      `row buffer too small: ${out.length - offset} bytes from offset ${offset}, need ${layout.maxRowBytes}`,
    );
  }
  checkRowColumns(layout, row);
  const columns = layout.schema.columns;
  const n = layout.fieldCount;
  const nullsBytes = (n + 7) >> 3;
  const endsStart = offset + ROW_NULLS_OFFSET + nullsBytes;
  const fixedStart = endsStart + 2 * layout.varCountFor[n]!;
  const varStart = fixedStart + layout.fixedBytesFor[n]!;
  const bound = offset + layout.maxRowBytes - keyLength; // W5
  // W3: header, bitmap, ends and fixed slots start zeroed; only set bits and values are written.
  out.fill(0, offset, varStart);
  out[offset + ROW_INFO_OFFSET] = ROW_FORMAT_VERSION;
  writeTrxIdInto(out, offset, trxId);
  writeRollPtrInto(out, offset, rollPtr);
  out[offset + ROW_N_FIELDS_OFFSET] = n >>> 8;
  out[offset + ROW_N_FIELDS_OFFSET + 1] = n;
  let pos = varStart;
  let overflow = varStart > bound;
  for (let field = 0; field < n && !overflow; field++) {
    const column = columns[layout.fieldColumns[field]!]!;
    const value = row[column.name];
    const code = layout.fieldTypeCodes[field]!;
    const slot = layout.fieldSlot[field]!;
    const isVar = code >= ColumnTypeCode.string; // string, bytes, json: the variable-size codes
    let extern = 0;
    if (value === null || value === undefined) {
      if (column.nullable !== true) throw new NotNullError(column.name);
      const at = offset + ROW_NULLS_OFFSET + (field >> 3);
      out[at] = out[at]! | (1 << (field & 7));
    } else if (value instanceof LobRef) {
      // W7: a value kept on LOB pages; only its reference is in the row.
      if (!isVar) throw new TypeMismatchError(column.name, `a ${column.type}`, 'a reference to a large value');
      if (pos + LOB_REF_BYTES > bound) pos = -1;
      else {
        writeLobRef(out, pos, value);
        pos += LOB_REF_BYTES;
        extern = VAR_END_EXTERN;
      }
    } else {
      const at = fixedStart + slot;
      switch (code) {
        case ColumnTypeCode.int32:
          writeU32BE(out, at, checkInt32(column.name, value) >>> 0);
          break;
        case ColumnTypeCode.int64:
          writeInt64(out, at, checkInt64(column.name, value), 0);
          break;
        case ColumnTypeCode.float64:
          writeFloat64(out, at, checkFloat64(column.name, value));
          break;
        case ColumnTypeCode.boolean:
          out[at] = checkBoolean(column.name, value) ? 1 : 0;
          break;
        case ColumnTypeCode.string:
          pos = writeUtf8(column.name, checkString(column.name, value, column.maxLength), out, pos, bound, false);
          break;
        case ColumnTypeCode.bytes: {
          const bytes = checkBytes(column.name, value, column.maxLength);
          if (pos + bytes.length > bound) pos = -1;
          else {
            out.set(bytes, pos);
            pos += bytes.length;
          }
          break;
        }
        default:
          pos = writeUtf8(column.name, jsonText(column.name, value), out, pos, bound, false);
      }
    }
    if (pos < 0) overflow = true;
    else if (isVar) {
      const end = pos - varStart;
      assert(end <= VAR_END_MASK, 'W5 var end exceeds 15 bits');
      out[endsStart + 2 * slot] = (end >>> 8) | (extern >>> 8);
      out[endsStart + 2 * slot + 1] = end;
    }
  }
  return overflow ? -1 : pos - offset;
}

/** A value the row keeps off-page: its column and the bytes to store on LOB pages. */
export interface ExternValue {
  /** The table column index. */
  readonly column: number;
  /** The value's stored bytes: a bytes value as is, a string's UTF-8, a json value's JSON text. */
  readonly bytes: Uint8Array;
}

/** A clustered entry ready to write, with the values it stores off-page (W8). */
export interface EncodedRow {
  readonly key: Uint8Array;
  /** The value with `LOB_REF_PLACEHOLDER` where each extern's reference goes. */
  readonly value: Uint8Array;
  /** In column order; empty when the whole row fits the page. */
  readonly externs: readonly ExternValue[];
}

const utf8 = new TextEncoder();

/**
 * Encodes `row`, choosing which values go off-page when it does not fit (W8, InnoDB's DYNAMIC
 * format): the largest string, bytes or json values of columns in no secondary index move to LOB
 * pages, one at a time, until the rest fits `maxRowBytes`; a `LobRef` already in the row stays a
 * reference. Refuses (typed, before anything is stored) a value over `valueBytesMax`, and a row that
 * does not fit even with every such value off-page.
 */
export function encodeRowStoring(layout: TableLayout, row: StoredRow, valueBytesMax: number): EncodedRow {
  const out = scratchOf(layout.maxKeyBytes + layout.maxRowBytes);
  const keyLength = encodePrimaryKeyInto(layout, row, out, 0);
  const key = out.slice(0, keyLength);
  const fitting = encodeRowIntoOrOverflow(layout, row, 0, 0n, out, 0, keyLength);
  if (fitting >= 0) return { key, value: out.slice(0, fitting), externs: NO_EXTERNS };
  // Too large for the page: measure every variable-length value once (validating it).
  const columns = layout.schema.columns;
  const n = layout.fieldCount;
  let total = keyLength + ROW_HEADER_BYTES + ((n + 7) >> 3) + 2 * layout.varCountFor[n]! + layout.fixedBytesFor[n]!;
  const candidates: { field: number; bytes: Uint8Array }[] = [];
  for (let field = 0; field < n; field++) {
    const code = layout.fieldTypeCodes[field]!;
    if (code < ColumnTypeCode.string) continue;
    const column = columns[layout.fieldColumns[field]!]!;
    const value = row[column.name];
    if (value === null || value === undefined) continue;
    if (value instanceof LobRef) {
      total += LOB_REF_BYTES;
      continue;
    }
    const bytes =
      code === ColumnTypeCode.bytes
        ? checkBytes(column.name, value, column.maxLength)
        : utf8.encode(
            code === ColumnTypeCode.string
              ? checkString(column.name, value, column.maxLength)
              : jsonText(column.name, value),
          );
    total += bytes.length;
    if (layout.indexedFields[field] === 0) candidates.push({ field, bytes });
  }
  candidates.sort((a, b) => b.bytes.length - a.bytes.length || a.field - b.field);
  const chosen = new Set<number>();
  for (const candidate of candidates) {
    if (total <= layout.maxRowBytes) break;
    if (candidate.bytes.length <= LOB_REF_BYTES) break;
    total -= candidate.bytes.length - LOB_REF_BYTES;
    chosen.add(candidate.field);
  }
  if (total > layout.maxRowBytes) throwRowTooLarge(layout, row, keyLength);
  const externs: ExternValue[] = [];
  const stored: Record<string, StoredValue | null | undefined> = { ...row };
  for (const candidate of candidates) {
    if (!chosen.has(candidate.field)) continue;
    const column = layout.fieldColumns[candidate.field]!;
    const name = columns[column]!.name;
    if (candidate.bytes.length > valueBytesMax) {
      throw new ValueTooLargeError(
        name,
        valueBytesMax,
        `a value of ${candidate.bytes.length} bytes is over the largest value this database stores (${valueBytesMax} bytes: the maxValueBytes option)`,
      );
    }
    stored[name] = LOB_REF_PLACEHOLDER;
    externs.push({ column, bytes: candidate.bytes });
  }
  externs.sort((a, b) => a.column - b.column);
  const length = encodeRowIntoOrOverflow(layout, stored, 0, 0n, out, 0, keyLength);
  assert(length >= 0, 'W8 the row fits once its chosen values are off-page');
  return { key, value: out.slice(0, length), externs };
}

const NO_EXTERNS: readonly ExternValue[] = Object.freeze([]);

/** ERR_VALUE_TOO_LARGE naming the largest variable-length column (the one to shorten). The slow path. */
function throwRowTooLarge(layout: TableLayout, row: StoredRow, keyLength: number): never {
  const columns = layout.schema.columns;
  const n = layout.fieldCount;
  let total = ROW_HEADER_BYTES + ((n + 7) >> 3) + 2 * layout.varCountFor[n]! + layout.fixedBytesFor[n]!;
  let largest: ColumnDef | undefined;
  let largestBytes = -1;
  for (let field = 0; field < n; field++) {
    const column = columns[layout.fieldColumns[field]!]!;
    const value = row[column.name];
    if (value === null || value === undefined) {
      if (column.nullable !== true) throw new NotNullError(column.name);
      continue;
    }
    let bytes: number;
    switch (column.type) {
      case 'string':
        bytes = utf8Length(checkString(column.name, value, column.maxLength));
        break;
      case 'bytes':
        bytes = checkBytes(column.name, value, column.maxLength).length;
        break;
      case 'json':
        bytes = utf8Length(jsonText(column.name, value));
        break;
      default:
        continue;
    }
    total += bytes;
    if (bytes > largestBytes) {
      largest = column;
      largestBytes = bytes;
    }
  }
  const name = largest?.name ?? columns[layout.fieldColumns[0] ?? 0]!.name;
  throw new ValueTooLargeError(
    name,
    layout.maxRowBytes,
    `the row would take ${total + keyLength} bytes (primary key ${keyLength} + row ${total}), over the row size limit of ` +
      `${layout.maxRowBytes} bytes; its largest value is this column's (${Math.max(largestBytes, 0)} bytes): store less in it ` +
      `(values kept outside the page are not supported yet)`,
  );
}

/** The encoded key and value of `row`'s clustered-index entry, as new bytes. */
export function encodeRow(
  layout: TableLayout,
  row: StoredRow,
  trxId: number,
  rollPtr: bigint,
): { key: Uint8Array; value: Uint8Array } {
  const out = scratchOf(layout.maxKeyBytes + layout.maxRowBytes);
  const keyLength = encodePrimaryKeyInto(layout, row, out, 0);
  const key = out.slice(0, keyLength);
  const valueLength = encodeRowInto(layout, row, trxId, rollPtr, out, 0, keyLength);
  return { key, value: out.slice(0, valueLength) };
}

// --- reading -------------------------------------------------------------------------------------

function checkInfo(bytes: Uint8Array, rowOffset: number): void {
  const info = bytes[rowOffset + ROW_INFO_OFFSET]!;
  if ((info & ~RowInfo.Deleted) !== ROW_FORMAT_VERSION) {
    // W1: a version we do not know is a newer format, not garbage (the page checksum passed).
    throw new IncompatibleFormatError(
      '(row)',
      `row format info byte 0x${info.toString(16)}; this minno reads version ${ROW_FORMAT_VERSION}`,
    );
  }
}

function readU16(bytes: Uint8Array, at: number): number {
  return (bytes[at]! << 8) | bytes[at + 1]!;
}

/** Decodes stored field `field` of the value at [rowOffset, rowOffset + rowLength), NULL as `null`. */
function readField(
  layout: TableLayout,
  bytes: Uint8Array,
  rowOffset: number,
  rowLength: number,
  field: number,
): StoredValue | null {
  const n = readU16(bytes, rowOffset + ROW_N_FIELDS_OFFSET);
  assert(n <= layout.fieldCount, () => `W4 row has ${n} fields, schema ${layout.fieldCount}`);
  return readFieldOf(layout, bytes, rowOffset, rowLength, n, field);
}

/**
 * Decodes stored field `field` of a value with `n` fields (read from its header by the caller,
 * once per row when a row's fields are read in turn), NULL as `null`.
 */
function readFieldOf(
  layout: TableLayout,
  bytes: Uint8Array,
  rowOffset: number,
  rowLength: number,
  n: number,
  field: number,
): StoredValue | null {
  if (field >= n) return null; // W4: appended after this row was written
  if ((bytes[rowOffset + ROW_NULLS_OFFSET + (field >> 3)]! & (1 << (field & 7))) !== 0) return null;
  const endsStart = rowOffset + ROW_NULLS_OFFSET + ((n + 7) >> 3);
  const fixedStart = endsStart + 2 * layout.varCountFor[n]!;
  const slot = layout.fieldSlot[field]!;
  switch (layout.fieldTypeCodes[field]) {
    case ColumnTypeCode.int32:
      return readU32BE(bytes, fixedStart + slot) | 0;
    case ColumnTypeCode.int64:
      return readInt64(bytes, fixedStart + slot, 0);
    case ColumnTypeCode.float64:
      return readFloat64(bytes, fixedStart + slot);
    case ColumnTypeCode.boolean:
      return bytes[fixedStart + slot] === 1;
  }
  const varStart = fixedStart + layout.fixedBytesFor[n]!;
  const endWord = readU16(bytes, endsStart + 2 * slot);
  const start = varStart + (slot === 0 ? 0 : readU16(bytes, endsStart + 2 * slot - 2) & VAR_END_MASK);
  const end = varStart + (endWord & VAR_END_MASK);
  assert(start <= end && end <= rowOffset + rowLength, () => `W2 var field [${start}, ${end}) outside the row`);
  if ((endWord & VAR_END_EXTERN) !== 0) {
    // W7: the field is the value's reference; the row layer reads the LOB when it needs the bytes.
    assert(end - start === LOB_REF_BYTES, () => `W7 an external field is ${LOB_REF_BYTES} bytes, not ${end - start}`);
    return readLobRef(bytes, start);
  }
  switch (layout.fieldTypeCodes[field]) {
    case ColumnTypeCode.string:
      return readUtf8(bytes, start, end);
    case ColumnTypeCode.bytes:
      return bytes.slice(start, end);
    default:
      return JSON.parse(readUtf8(bytes, start, end)) as ColumnValue;
  }
}

/** The references (W7) in the value at bytes[rowOffset, rowOffset + rowLength), in field order. */
export function externRefsOf(layout: TableLayout, bytes: Uint8Array, rowOffset: number, rowLength: number): LobRef[] {
  checkInfo(bytes, rowOffset);
  const n = readU16(bytes, rowOffset + ROW_N_FIELDS_OFFSET);
  assert(n <= layout.fieldCount, () => `W4 row has ${n} fields, schema ${layout.fieldCount}`);
  const refs: LobRef[] = [];
  const endsStart = rowOffset + ROW_NULLS_OFFSET + ((n + 7) >> 3);
  for (let slot = 0; slot < layout.varCountFor[n]!; slot++) {
    if ((readU16(bytes, endsStart + 2 * slot) & VAR_END_EXTERN) === 0) continue;
    for (let field = 0; field < n; field++) {
      if (layout.fieldTypeCodes[field]! >= ColumnTypeCode.string && layout.fieldSlot[field] === slot) {
        const value = readField(layout, bytes, rowOffset, rowLength, field);
        if (value instanceof LobRef) refs.push(value);
      }
    }
  }
  return refs;
}

/**
 * Reads one non-key column (`columnIndex` in the schema's column order) from the value at
 * bytes[offset, offset + length) without decoding the others. Key columns live in the key: use
 * `readKeyColumn`.
 */
export function readColumn(
  layout: TableLayout,
  bytes: Uint8Array,
  offset: number,
  length: number,
  columnIndex: number,
): StoredValue | null {
  const field = positionOf(layout, columnIndex, false);
  checkInfo(bytes, offset);
  return readField(layout, bytes, offset, length, field);
}

/** Reads one primary-key column (`columnIndex` in schema order) from the key at bytes[offset, offset + length). */
export function readKeyColumn(
  layout: TableLayout,
  bytes: Uint8Array,
  offset: number,
  length: number,
  columnIndex: number,
): StoredValue | null {
  return readKeyField(bytes, layout.primaryKey, positionOf(layout, columnIndex, true), offset, offset + length);
}

/** The column's position in the key (`inKey`) or among the stored fields, or ERR_INVALID_ARGUMENT saying where it is. */
function positionOf(layout: TableLayout, columnIndex: number, inKey: boolean): number {
  const position = (inKey ? layout.keyPosition : layout.fieldPosition)[columnIndex];
  if (position === undefined) {
    throw new InvalidArgumentError(`table ${JSON.stringify(layout.schema.name)} has no column #${columnIndex}`);
  }
  if (position < 0) {
    const name = JSON.stringify(layout.schema.columns[columnIndex]!.name);
    throw new InvalidArgumentError(
      inKey
        ? `column ${name} is not a primary-key column; read it from the row with readColumn`
        : `column ${name} is a primary-key column; read it from the key with readKeyColumn`,
    );
  }
  return position;
}

/** Key values of the row being decoded (reused: `decodeRowAt` copies them into the row it returns). */
const keyValuesScratch: (KeyValue | null)[] = [];

/**
 * Decodes a clustered-index entry (key at key[keyOffset, +keyLength), value at value[rowOffset,
 * +rowLength)) into a plain object with every column, in schema order; with `columns` (indexes in
 * schema order, ascending), with those columns only. The value's header is read once per row and
 * the key's fields into a reused array: the row object and its values are the only allocations.
 */
export function decodeRowAt(
  layout: TableLayout,
  key: Uint8Array,
  keyOffset: number,
  keyLength: number,
  value: Uint8Array,
  rowOffset: number,
  rowLength: number,
  columns?: Int16Array,
): Record<string, StoredValue | null> {
  checkInfo(value, rowOffset);
  const n = readU16(value, rowOffset + ROW_N_FIELDS_OFFSET);
  assert(n <= layout.fieldCount, () => `W4 row has ${n} fields, schema ${layout.fieldCount}`);
  // W2: the value ends where its last var field ends.
  const endsStart = rowOffset + ROW_NULLS_OFFSET + ((n + 7) >> 3);
  const varCount = layout.varCountFor[n]!;
  const varStart = endsStart + 2 * varCount + layout.fixedBytesFor[n]!;
  const last = varCount === 0 ? 0 : readU16(value, endsStart + 2 * varCount - 2) & VAR_END_MASK;
  assert(
    varStart + last === rowOffset + rowLength,
    () => `W2 row is ${rowLength} bytes, its fields end at ${varStart + last - rowOffset}`,
  );
  const result: Record<string, StoredValue | null> = {};
  const schemaColumns = layout.schema.columns;
  const keyPosition = layout.keyPosition;
  if (columns === undefined) {
    decodeKeyInto(key, layout.primaryKey, keyOffset, keyOffset + keyLength, keyValuesScratch);
    for (let i = 0; i < schemaColumns.length; i++) {
      const position = keyPosition[i]!;
      result[schemaColumns[i]!.name] =
        position >= 0
          ? keyValuesScratch[position]!
          : readFieldOf(layout, value, rowOffset, rowLength, n, layout.fieldPosition[i]!);
    }
    return result;
  }
  for (let c = 0; c < columns.length; c++) {
    const i = columns[c]!;
    const position = keyPosition[i]!;
    result[schemaColumns[i]!.name] =
      position >= 0
        ? readKeyField(key, layout.primaryKey, position, keyOffset, keyOffset + keyLength)
        : readFieldOf(layout, value, rowOffset, rowLength, n, layout.fieldPosition[i]!);
  }
  return result;
}

/** Decodes a clustered-index entry into a plain object with every column, in schema order. */
export function decodeRow(
  layout: TableLayout,
  keyBytes: Uint8Array,
  rowBytes: Uint8Array,
): Record<string, StoredValue | null> {
  return decodeRowAt(layout, keyBytes, 0, keyBytes.length, rowBytes, 0, rowBytes.length);
}
