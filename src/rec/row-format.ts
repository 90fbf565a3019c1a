/**
 * The row format: the bytes of a clustered-index entry's value and of secondary-index entries
 * (InnoDB's COMPACT/DYNAMIC record, `rem/rem0rec.cc`). One entry point for the layers above; each
 * concept is its own file, and this one only re-exports them:
 *  - `row-layout.ts`: the byte table, the invariants W1..W8, the constants and `compileTable`.
 *  - `row-keys.ts`: primary and secondary index keys built from a row (`row0row.cc`).
 *  - `row-sys-fields.ts`: DB_TRX_ID, DB_ROLL_PTR and the delete mark, read and patched in place.
 *  - `row-encode.ts`: writing a value (`rec_convert_dtuple_to_rec`), the size limit (W5).
 *  - `row-extern.ts`: choosing the values a row keeps on LOB pages (W8, `dtuple_convert_big_rec`).
 *  - `row-decode.ts`: reading columns, rows and projections back (`rec_get_nth_field`).
 * Re-exports are bindings resolved when the modules link: a call through here costs nothing per row.
 */
export {
  checkRowColumns,
  columnIndex,
  compileTable,
  limitsForPageSize,
  ROLL_PTR_LIMIT,
  ROW_BYTES_LIMIT,
  ROW_BYTES_MAX_DEFAULT,
  ROW_FORMAT_VERSION,
  ROW_HEADER_BYTES,
  ROW_INFO_OFFSET,
  ROW_N_FIELDS_OFFSET,
  ROW_NULLS_OFFSET,
  ROW_ROLL_PTR_BYTES,
  ROW_ROLL_PTR_OFFSET,
  ROW_TRX_ID_BYTES,
  ROW_TRX_ID_OFFSET,
  RowInfo,
  TRX_ID_LIMIT,
  VAR_END_EXTERN,
  VAR_END_MASK,
  type LayoutOptions,
  type Row,
  type SecondaryIndexLayout,
  type StoredRow,
  type StoredValue,
  type TableLayout,
} from './row-layout.js';
export {
  encodePrimaryKey,
  encodePrimaryKeyInto,
  encodeSecondaryKey,
  encodeSecondaryKeyInto,
  extractPrimaryKeyFromSecondary,
  primaryKeyOffsetInSecondary,
} from './row-keys.js';
export {
  isDeleteMarked,
  readRollPtr,
  readTrxId,
  setDeleteMarkInto,
  writeRollPtrInto,
  writeTrxIdInto,
} from './row-sys-fields.js';
export { encodeRow, encodeRowInto } from './row-encode.js';
export { encodeRowStoring, type EncodedRow, type ExternValue } from './row-extern.js';
export { decodeRow, decodeRowAt, externRefsOf, holdsExternField, readColumn, readKeyColumn } from './row-decode.js';
