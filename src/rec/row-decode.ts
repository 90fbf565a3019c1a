/**
 * Reading a clustered entry back: one column from the value or the key without decoding the others,
 * a whole row or a projection of it, and the LOB references a value holds. The byte layout is in
 * `row-layout.ts`.
 *
 * InnoDB counterpart: `rec_get_offsets` / `rec_get_nth_field` (`rem/rem0rec.cc`) and
 * `row_sel_store_mysql_rec` (`row/row0sel.cc`). Where we differ: no offsets array is built per
 * record; a field is found from the schema's fixed slots and its var end, the header is read once
 * per row, and a NULL fixed field still has its (zeroed) slot.
 *
 * Invariants kept here (numbered in `row-layout.ts`): W1 (an unknown version is
 * ERR_INCOMPATIBLE_FORMAT), W2 and W4 (asserted on every row read), W7 (an EXTERN field is asserted
 * to be one reference and decodes to a `LobRef`).
 *
 * Allocation: `readColumn` allocates only the value it returns (string, bigint, bytes copy, parsed
 * json); `decodeRow` / `decodeRowAt` allocate the result object and its values (the key's fields
 * are decoded into a reused array).
 */
import { IncompatibleFormatError, InvalidArgumentError } from '../errors.js';
import { assert } from '../util/assert.js';
import { decodeKeyInto, readFloat64, readInt64, readKeyField, readU32BE, readUtf8 } from './key-codec.js';
import { LOB_REF_BYTES, LobRef, readLobRef } from './lob-ref.js';
import {
  ROW_FORMAT_VERSION,
  ROW_INFO_OFFSET,
  ROW_N_FIELDS_OFFSET,
  ROW_NULLS_OFFSET,
  RowInfo,
  VAR_END_EXTERN,
  VAR_END_MASK,
  type StoredValue,
  type TableLayout,
} from './row-layout.js';
import { ColumnTypeCode, type ColumnValue, type KeyValue } from './schema.js';

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
 * Whether the value at bytes[rowOffset...] keeps some field off-page (W7: its var end has the
 * EXTERN bit). A row decoded from a value without one holds no `LobRef`, so a reader can hand it
 * out without looking for references. Reads the header and the var ends only.
 */
export function holdsExternField(layout: TableLayout, bytes: Uint8Array, rowOffset: number): boolean {
  const n = readU16(bytes, rowOffset + ROW_N_FIELDS_OFFSET);
  assert(n <= layout.fieldCount, "W4 a row has at most the schema's fields");
  const endsStart = rowOffset + ROW_NULLS_OFFSET + ((n + 7) >> 3);
  const varCount = layout.varCountFor[n]!;
  for (let slot = 0; slot < varCount; slot++)
    if ((readU16(bytes, endsStart + 2 * slot) & VAR_END_EXTERN) !== 0) return true;
  return false;
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
