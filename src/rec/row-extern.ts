/**
 * Choosing the values a row keeps off-page: when a row does not fit `maxRowBytes`, its largest
 * string, bytes and json values move to LOB pages, and the record keeps only their references
 * (`lob-ref.ts`) with the VAR_ENDS EXTERN bit set. The LOB layer stores the chosen bytes; the row
 * layer patches the real references over the placeholders. The byte layout is in `row-layout.ts`.
 *
 * InnoDB counterpart: `dtuple_convert_big_rec` (`data/data0data.cc`), which picks the longest
 * fields of a DYNAMIC record to store externally until the record fits, and `btr_store_big_rec_extern_fields`
 * (`lob0lob.cc`), which stores them. Where we differ: a column in a secondary index is never chosen
 * (W8; InnoDB keeps a prefix in the index instead), so index entries never point off-page.
 *
 * Invariants kept here (numbered in `row-layout.ts`): W7 (a chosen value becomes a reference), W8
 * (asserted: the row fits once its chosen values are off-page).
 *
 * Allocation: a row that fits allocates its key and value copies only; a row that does not also
 * allocates each variable-length value's bytes, the candidate list and a copy of the row object.
 */
import { ValueTooLargeError } from '../errors.js';
import { assert } from '../util/assert.js';
import { encodeRowIntoOrOverflow, throwRowTooLarge } from './row-encode.js';
import { LOB_REF_BYTES, LOB_REF_PLACEHOLDER, LobRef } from './lob-ref.js';
import { encodePrimaryKeyInto, scratchOf } from './row-keys.js';
import { ROW_HEADER_BYTES, type StoredRow, type StoredValue, type TableLayout } from './row-layout.js';
import { checkBytes, checkString, ColumnTypeCode, jsonText } from './schema.js';

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
