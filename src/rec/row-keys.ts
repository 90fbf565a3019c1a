/**
 * Index keys built from a row: the clustered entry's primary key and each secondary-index entry's
 * key (the index's columns, then the primary key), and the primary key found back inside a
 * secondary entry. The byte layout and its rules are in `row-layout.ts`.
 *
 * InnoDB counterpart: `row_build_index_entry` and `row_build_row_ref` (`row/row0row.cc`). Where we
 * differ: the key is one memcomparable byte string (`key-codec.ts`), so the primary key inside a
 * secondary entry is found by skipping the secondary fields, not by field offsets.
 *
 * Allocation: `encodePrimaryKeyInto`, `encodeSecondaryKeyInto` and `primaryKeyOffsetInSecondary`
 * allocate nothing; `encodePrimaryKey` / `encodeSecondaryKey` allocate the key they return.
 */
import { InvalidArgumentError } from '../errors.js';
import { checkKeyRoom, skipKeyFields, throwKeyTooLarge, writeKeyField, type KeySpec } from './key-codec.js';
import { ROW_BYTES_MAX_DEFAULT, type SecondaryIndexLayout, type StoredRow, type TableLayout } from './row-layout.js';

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
/** The encoders' one scratch buffer (here and in `row-encode.ts`, `row-extern.ts`), grown to `bytes`. */
export function scratchOf(bytes: number): Uint8Array {
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
