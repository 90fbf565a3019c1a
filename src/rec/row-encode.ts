/**
 * Writing a clustered entry's value: the header, the null bitmap, the var ends, the fixed slots and
 * the variable-length bytes of `row-layout.ts`, with every value checked against its column
 * (types, NOT NULL, lengths) and the row against the size limit.
 *
 * InnoDB counterpart: `rec_convert_dtuple_to_rec_comp` (`rem/rem0rec.cc`) and the "Row size too
 * large" check of `dict_index_too_big_for_tree`. Where we differ: the value is built straight from
 * the user's row object, without a data tuple in between, and the size check is made while
 * writing (the row is refused as it crosses the limit, then measured again to name the column).
 *
 * Invariants kept here (numbered in `row-layout.ts`): W1 (the version is written), W2 (ends are
 * written in field order from one cursor), W3 (the header, bitmap, ends and fixed slots are zeroed
 * first), W4 (N_FIELDS is the schema's field count), W5 (the bound, and the 15-bit end asserted),
 * W6 (through `row-sys-fields.ts`), W7 (a `LobRef` is written with the EXTERN bit).
 *
 * Allocation: `encodeRowInto` allocates nothing, except for a json column (JSON.stringify) and for
 * a string over 32 UTF-16 units (one subarray view for TextEncoder.encodeInto); `encodeRow`
 * allocates the key and value it returns.
 */
import { InvalidArgumentError, NotNullError, TypeMismatchError, ValueTooLargeError } from '../errors.js';
import { assert } from '../util/assert.js';
import { utf8Length, writeFloat64, writeInt64, writeU32BE, writeUtf8 } from './key-codec.js';
import { LOB_REF_BYTES, LobRef, writeLobRef } from './lob-ref.js';
import { encodePrimaryKeyInto, scratchOf } from './row-keys.js';
import {
  checkRowColumns,
  ROW_FORMAT_VERSION,
  ROW_HEADER_BYTES,
  ROW_INFO_OFFSET,
  ROW_N_FIELDS_OFFSET,
  ROW_NULLS_OFFSET,
  VAR_END_EXTERN,
  VAR_END_MASK,
  type StoredRow,
  type TableLayout,
} from './row-layout.js';
import { writeRollPtrInto, writeTrxIdInto } from './row-sys-fields.js';
import {
  checkBoolean,
  checkBytes,
  checkFloat64,
  checkInt32,
  checkInt64,
  checkString,
  ColumnTypeCode,
  jsonText,
  type ColumnDef,
} from './schema.js';

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
export function encodeRowIntoOrOverflow(
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

/** ERR_VALUE_TOO_LARGE naming the largest variable-length column (the one to shorten). The slow path. */
export function throwRowTooLarge(layout: TableLayout, row: StoredRow, keyLength: number): never {
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
