/**
 * An update's new clustered value made by patching a copy of the old record's bytes: each changed
 * field written in its place, when no change moves a byte of any other field.
 *
 * InnoDB counterpart: the in-place update of `btr/btr0cur.cc` (btr_cur_update_in_place, chosen by
 * row_upd_changes_field_size_or_external): when no field changes size and none is external, the
 * record is changed where it is instead of being rebuilt from a tuple. Where we differ: the tree
 * still replaces the whole value (BTree.update); what is saved is re-encoding the row from JS
 * values (every column checked and written again), and the check is made on the values in phase 1
 * (`canPatchRow`) and on the bytes in phase 2 (`patchRowInto`), which may still say no.
 *
 * A change can be patched when its column is not a primary-key column (those live in the key), its
 * type is not json (whose text is only known by stringifying), its new value is not a `LobRef`, and
 * it keeps the value's length: any fixed-size value, NULL or not (the slot stays, W3 zeros it when
 * NULL); a string or bytes value of the old value's byte length (an inline one: the bytes say
 * EXTERN for one on LOB pages). A record written before columns were appended (N_FIELDS short of
 * the schema's, W4) is never patched: re-encoding writes the missing fields, so the bytes differ.
 *
 * Invariants:
 *  RP1. When `patchRowInto` says yes, the bytes it wrote equal what `encodeRow` writes for the old row with the
 *       changes applied (byte for byte, the same DB_TRX_ID and DB_ROLL_PTR): the fast path is only
 *       faster (test/rec/row-patch.test.ts compares them over random schemas and values).
 *  RP2. `canPatchRow` refuses a value with the typed error the encoder would raise, or leaves it to
 *       the encoder (returns false); it never accepts a value the encoder would refuse.
 */
import { NotNullError } from '../errors.js';
import { assert } from '../util/assert.js';
import { copyBytes } from '../util/bytes.js';
import { utf8Length, writeFloat64, writeInt64, writeU32BE, writeUtf8 } from './key-codec.js';
import { LobRef } from './lob-ref.js';
import {
  ROW_N_FIELDS_OFFSET,
  ROW_NULLS_OFFSET,
  VAR_END_EXTERN,
  VAR_END_MASK,
  type Row,
  type StoredRow,
  type TableLayout,
} from './row-layout.js';
import {
  checkBoolean,
  checkBytes,
  checkFloat64,
  checkInt32,
  checkInt64,
  checkString,
  ColumnTypeCode,
  FIXED_WIDTH_BYTES,
} from './schema.js';

type WellFormed = { isWellFormed(): boolean };

/**
 * Phase 1: whether every change of `changes` to the row `current` (its newest version, decoded) can
 * be patched; checks each value as the encoder would (RP2). `changes` names only known columns.
 */
export function canPatchRow(layout: TableLayout, current: StoredRow, changes: Row): boolean {
  const columns = layout.schema.columns;
  for (const name in changes) {
    if (!Object.hasOwn(changes, name)) continue;
    const column = layout.columnIndexByName.get(name)!;
    if (layout.keyPosition[column]! >= 0) return false;
    const def = columns[column]!;
    const value = changes[name];
    const code = layout.fieldTypeCodes[layout.fieldPosition[column]!]!;
    if (code === ColumnTypeCode.json || (value as unknown) instanceof LobRef) return false;
    const old = current[name];
    if (value === null || value === undefined) {
      if (def.nullable !== true) throw new NotNullError(name);
      // A var value becomes NULL in place only when it was empty (its end stays).
      if (code >= ColumnTypeCode.string && old !== null && old !== undefined && !isEmptyInline(old)) return false;
      continue;
    }
    switch (code) {
      case ColumnTypeCode.int32:
        checkInt32(name, value);
        break;
      case ColumnTypeCode.int64:
        checkInt64(name, value);
        break;
      case ColumnTypeCode.float64:
        checkFloat64(name, value);
        break;
      case ColumnTypeCode.boolean:
        checkBoolean(name, value);
        break;
      case ColumnTypeCode.string: {
        const text = checkString(name, value, def.maxLength);
        // A lone surrogate is the encoder's error to raise (RP2).
        if (!(text as unknown as WellFormed).isWellFormed()) return false;
        const oldLength = old === null || old === undefined ? 0 : typeof old === 'string' ? utf8Length(old) : -1;
        if (utf8Length(text) !== oldLength) return false;
        break;
      }
      default: {
        const bytes = checkBytes(name, value, def.maxLength);
        const oldLength = old === null || old === undefined ? 0 : old instanceof Uint8Array ? old.length : -1;
        if (bytes.length !== oldLength) return false;
      }
    }
  }
  return true;
}

function isEmptyInline(value: unknown): boolean {
  return value === '' || (value instanceof Uint8Array && value.length === 0);
}

/**
 * Phase 2: writes into `out[0, length)` a copy of the clustered value at `bytes[offset, offset +
 * length)` with `changes` (accepted by `canPatchRow`) in place; false when the bytes say it cannot
 * be patched (a record with fewer fields, a value on LOB pages, a length that differs), and then
 * `out` holds nothing of use. DB_TRX_ID and DB_ROLL_PTR are the old ones: the caller stamps the
 * new. `out` is the caller's (a scratch reused across updates: a value over 64 bytes allocated per
 * update costs more than the patch).
 */
export function patchRowInto(
  layout: TableLayout,
  bytes: Uint8Array,
  offset: number,
  length: number,
  changes: Row,
  out: Uint8Array,
): boolean {
  const n = layout.fieldCount;
  if (((bytes[offset + ROW_N_FIELDS_OFFSET]! << 8) | bytes[offset + ROW_N_FIELDS_OFFSET + 1]!) !== n) return false;
  copyBytes(out, 0, bytes, offset, offset + length);
  const endsStart = ROW_NULLS_OFFSET + ((n + 7) >> 3);
  const fixedStart = endsStart + 2 * layout.varCountFor[n]!;
  const varStart = fixedStart + layout.fixedBytesFor[n]!;
  const columns = layout.schema.columns;
  for (const name in changes) {
    if (!Object.hasOwn(changes, name)) continue;
    const field = layout.fieldPosition[layout.columnIndexByName.get(name)!]!;
    assert(field >= 0, 'RP1 a patched column is a stored field');
    const value = changes[name];
    const code = layout.fieldTypeCodes[field]!;
    const slot = layout.fieldSlot[field]!;
    const nullAt = ROW_NULLS_OFFSET + (field >> 3);
    const nullBit = 1 << (field & 7);
    const isNull = value === null || value === undefined;
    if (code < ColumnTypeCode.string) {
      const at = fixedStart + slot;
      const type = columns[layout.fieldColumns[field]!]!.type;
      if (isNull) out.fill(0, at, at + FIXED_WIDTH_BYTES[type]);
      else if (code === ColumnTypeCode.int32) writeU32BE(out, at, (value as number) >>> 0);
      else if (code === ColumnTypeCode.int64) writeInt64(out, at, value as number | bigint, 0);
      else if (code === ColumnTypeCode.float64) writeFloat64(out, at, value as number);
      else out[at] = value === true ? 1 : 0;
    } else {
      if (code === ColumnTypeCode.json) return false;
      const endAt = endsStart + 2 * slot;
      const rawEnd = (out[endAt]! << 8) | out[endAt + 1]!;
      if ((rawEnd & VAR_END_EXTERN) !== 0) return false;
      const start = slot === 0 ? 0 : ((out[endAt - 2]! << 8) | out[endAt - 1]!) & VAR_END_MASK;
      const end = rawEnd & VAR_END_MASK;
      if (isNull) {
        if (end !== start) return false;
      } else if (code === ColumnTypeCode.string) {
        const text = value as string;
        if (utf8Length(text) !== end - start) return false;
        writeUtf8(name, text, out, varStart + start, varStart + end, false);
      } else {
        const given = value as Uint8Array;
        if (given.length !== end - start) return false;
        out.set(given, varStart + start);
      }
    }
    if (isNull) out[nullAt] = out[nullAt]! | nullBit;
    else out[nullAt] = out[nullAt]! & ~nullBit;
  }
  return true;
}
