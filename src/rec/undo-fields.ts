/**
 * How a column's old value is written into an undo record, and read back.
 *
 * InnoDB counterpart: the old field values of `trx/trx0rec.cc` (trx_undo_page_report_modify) and,
 * for large values, the external field references and LOB binary diffs of
 * `trx_undo_report_blob_update` / `trx_undo_read_blob_update` with `lob::undo_data_t`
 * (`lob/lob0undo.cc`).
 *
 * ## Inline values
 * InnoDB stores old field values in undo in the record format's own field encoding; so do we, by
 * column type: int32 4 bytes and int64 8 bytes (two's complement, big-endian), float64 8 bytes IEEE
 * (exactly: -0 and NaN payloads kept), boolean 1 byte, string UTF-8, bytes as is, json the UTF-8 of
 * JSON.stringify. NULL is the undo record's own NULL length (undo-record.ts), never an empty value
 * (seed 003: an empty string is a zero-length value and must round-trip as one).
 *
 * ## Field kinds: large values (src/lob/)
 * An undo field's FIELD_NO carries its kind in its top two bits (`undoFieldNo`); a record with any
 * kind but Inline sets the record's FLAGS bit `UNDO_FLAG_FIELD_KINDS` (undo-record.ts), so a reader
 * that does not know kinds refuses the record instead of misreading it.
 *
 * | kind (stored on disk: never renumber) | the field's value bytes                                  |
 * |----------------|-----------------------------------------------------------------------------|
 * | 0 Inline       | the old value, encoded by column type as above                              |
 * | 1 Extern       | the old value was on LOB pages and was replaced whole: its reference (24 bytes, rec/lob-ref.ts); purge frees that LOB |
 * | 2 LobDiffs     | a small partial update made in place (rule LOB-DIFF): the table below        |
 * | 3 LobVersion   | a larger partial update that copied pages into LOB version + 1: the table below |
 *
 * LobDiffs value (integers big-endian):
 *
 * | offset | size | field   | meaning                                                            |
 * |--------|------|---------|--------------------------------------------------------------------|
 * | 0      | 24   | REF     | the LOB's reference before (and after) the change: the version the diffs were taken from |
 * | 24     | 2    | N_DIFFS | how many diffs follow (0 legal)                                    |
 * | 26     | ...  | DIFF    | N_DIFFS times, in the order the change applied them:               |
 * |   +0   | 6    | OFFSET  | where in the value                                                 |
 * |   +6   | 2    | LENGTH  | n: how many bytes the change replaced (0 legal: seed 003)          |
 * |   +8   | n    | OLD     | the bytes it replaced                                              |
 * |   +8+n | 4    | PAGE    | the data page it wrote them in (the slot of OFFSET), NIL when n = 0 |
 * |  +12+n | 4    | PAGE2   | the next slot's page when the diff crosses into it, else NIL       |
 *
 * LobVersion value:
 *
 * | offset | size | field    | meaning                                                           |
 * |--------|------|----------|-------------------------------------------------------------------|
 * | 0      | 24   | REF      | the LOB's reference before the change (version v; the change wrote v + 1) |
 * | 24     | 2    | N_RANGES | how many slot ranges follow                                       |
 * | 26     | 8 N  | RANGE    | FIRST_SLOT (4), LAST_SLOT (4): the index slots whose pages the change copied |
 *
 * Seed 003 (MySQL bug 111647): 8.0.25 copied each diff's old bytes into a fresh allocation and
 * took the pointer the copy returned as its position in the record; a zero-length diff got a null
 * allocation, the reader lost its place, and the next read crashed an MVCC read. Here the reader
 * (`LobDiffReader`) advances by each declared length, zero included, reads every length against
 * the field's end, and must end exactly at it; nothing is inferred from a copy (UF2).
 *
 * Invariants:
 *  UF1. decodeUndoField(type, encodeUndoField(type, v)) equals v for every valid v of the type.
 *  UF2 (LOB-DIFF, seed 003). A LobDiffs value parses from its bytes alone: every diff advances the
 *       reader by exactly 8 + LENGTH + 8 bytes, LENGTH = 0 included, and the diffs end exactly at
 *       the value's end; anything else is `CorruptionError`. Encoding then decoding gives back every
 *       diff, byte for byte.
 *  UF3 (bug class 13). A LobDiffs field applies only to the version it was taken from: the newer
 *       row version it is applied to must read the same LOB at REF's version; a LobVersion field
 *       only to the LOB's next version. Anything else is corruption, never a wrong old value.
 */
import { CorruptionError } from '../errors.js';
import { assert, unreachable } from '../util/assert.js';
import { readFloat64, readInt64, readU32BE, writeFloat64, writeInt64, writeU32BE } from './key-codec.js';
import { LOB_REF_BYTES, LobRef, type LobUndoDiff, lobRefIsValid, readLobRef, writeLobRef } from './lob-ref.js';
import type { StoredValue } from './row-format.js';
import type { ColumnType, ColumnValue } from './schema.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The undo bytes of a non-null value of `type`. */
export function encodeUndoField(type: ColumnType, value: ColumnValue): Uint8Array {
  switch (type) {
    case 'int32': {
      const out = new Uint8Array(4);
      writeU32BE(out, 0, (value as number) >>> 0);
      return out;
    }
    case 'int64': {
      const out = new Uint8Array(8);
      writeInt64(out, 0, value as number | bigint, 0);
      return out;
    }
    case 'float64': {
      const out = new Uint8Array(8);
      writeFloat64(out, 0, value as number);
      return out;
    }
    case 'boolean':
      return new Uint8Array([value === true ? 1 : 0]);
    case 'string':
      return encoder.encode(value as string);
    case 'bytes':
      return (value as Uint8Array).slice();
    case 'json':
      return encoder.encode(JSON.stringify(value));
    default:
      return unreachable(type, 'column type');
  }
}

/** The value of `type` stored in `bytes[start, end)` by `encodeUndoField`. */
export function decodeUndoField(type: ColumnType, bytes: Uint8Array, start: number, end: number): ColumnValue {
  switch (type) {
    case 'int32':
      return readU32BE(bytes, start) | 0;
    case 'int64':
      return readInt64(bytes, start, 0);
    case 'float64':
      return readFloat64(bytes, start);
    case 'boolean':
      return bytes[start] === 1;
    case 'string':
      return decoder.decode(bytes.subarray(start, end));
    case 'bytes':
      return bytes.slice(start, end);
    case 'json':
      return JSON.parse(decoder.decode(bytes.subarray(start, end))) as ColumnValue;
    default:
      return unreachable(type, 'column type');
  }
}

// --- field kinds -------------------------------------------------------------------------------

/** An undo field's kind, in FIELD_NO's top two bits. Stored on disk: never renumber. */
export const UndoFieldKind = {
  Inline: 0,
  Extern: 1,
  LobDiffs: 2,
  LobVersion: 3,
} as const;
export type UndoFieldKindValue = (typeof UndoFieldKind)[keyof typeof UndoFieldKind];

const KIND_SHIFT = 14;
const COLUMN_MASK = (1 << KIND_SHIFT) - 1;
const NIL = 0xffffffff;

/** FIELD_NO of an undo field: the column (below 2^14: schema.ts COLUMNS_MAX) and the kind. */
export function undoFieldNo(kind: UndoFieldKindValue, column: number): number {
  assert(column >= 0 && column <= COLUMN_MASK, () => `undo field column ${column} fits 14 bits`);
  return (kind << KIND_SHIFT) | column;
}

export function undoFieldKind(fieldNo: number): UndoFieldKindValue {
  return (fieldNo >>> KIND_SHIFT) as UndoFieldKindValue;
}

export function undoFieldColumn(fieldNo: number): number {
  return fieldNo & COLUMN_MASK;
}

/** The kind and bytes of a column's old value: a reference is an Extern field, anything else Inline. */
export function encodeStoredUndoField(
  type: ColumnType,
  value: StoredValue,
): { kind: UndoFieldKindValue; bytes: Uint8Array } {
  if (value instanceof LobRef) {
    const bytes = new Uint8Array(LOB_REF_BYTES);
    writeLobRef(bytes, 0, value);
    return { kind: UndoFieldKind.Extern, bytes };
  }
  return { kind: UndoFieldKind.Inline, bytes: encodeUndoField(type, value) };
}

function fieldCorrupt(detail: string): CorruptionError {
  return new CorruptionError('undo record', undefined, detail);
}

function readRef(bytes: Uint8Array, start: number, end: number, what: string): LobRef {
  if (end - start < LOB_REF_BYTES) throw fieldCorrupt(`UF2 ${what} field of ${end - start} bytes has no reference`);
  const ref = readLobRef(bytes, start);
  if (!lobRefIsValid(ref)) throw fieldCorrupt(`${what} field holds an invalid reference ${ref.describe()}`);
  return ref;
}

/** The reference an Extern field holds. */
export function decodeExternField(bytes: Uint8Array, start: number, end: number): LobRef {
  if (end - start !== LOB_REF_BYTES) throw fieldCorrupt(`Extern field of ${end - start} bytes`);
  return readRef(bytes, start, end, 'Extern');
}

// --- LobDiffs ----------------------------------------------------------------------------------

/** One diff as the writer gives it: where, the bytes the change replaced, and the pages it wrote. */
export interface LobDiffInput {
  readonly offset: number;
  readonly old: Uint8Array;
  /** One page per slot the diff touches (none for a zero-length diff, at most two). */
  readonly pages: readonly number[];
}

const DIFF_HEADER_BYTES = 8;
const DIFF_PAGES_BYTES = 8;
/** The most diffs one LobDiffs field holds (the rest of a partial update is a larger change). */
export const LOB_DIFFS_MAX = 256;

/** The bytes of a LobDiffs field: `ref` (the version the diffs were taken from) and the diffs in order. */
export function encodeLobDiffsField(ref: LobRef, diffs: readonly LobDiffInput[]): Uint8Array {
  assert(diffs.length <= LOB_DIFFS_MAX, () => `${diffs.length} LOB diffs fit one undo field`);
  let length = LOB_REF_BYTES + 2;
  for (const diff of diffs) length += DIFF_HEADER_BYTES + diff.old.length + DIFF_PAGES_BYTES;
  const out = new Uint8Array(length);
  writeLobRef(out, 0, ref);
  out[LOB_REF_BYTES] = diffs.length >>> 8;
  out[LOB_REF_BYTES + 1] = diffs.length;
  let at = LOB_REF_BYTES + 2;
  for (const diff of diffs) {
    assert(diff.old.length <= 0xffff && diff.pages.length <= 2, 'a LOB diff is at most 64 KiB over two pages');
    assert(diff.offset >= 0 && diff.offset + diff.old.length <= ref.length, 'a LOB diff lies inside the value');
    writeU48(out, at, diff.offset);
    out[at + 6] = diff.old.length >>> 8;
    out[at + 7] = diff.old.length;
    out.set(diff.old, at + DIFF_HEADER_BYTES);
    at += DIFF_HEADER_BYTES + diff.old.length;
    writeU32BE(out, at, diff.pages[0] ?? NIL);
    writeU32BE(out, at + 4, diff.pages[1] ?? NIL);
    at += DIFF_PAGES_BYTES;
  }
  assert(at === length, 'UF2 the encoded LobDiffs field has its computed length');
  return out;
}

/**
 * Walks the diffs of a LobDiffs field in place (UF2): after `open`, each `next()` sets `offset`,
 * `length`, `oldStart` (the old bytes are bytes[oldStart, oldStart + length)) and `pages`, and
 * returns false after the last. Every length is checked against the field's end before it is used.
 */
export class LobDiffReader {
  /**
   * TEST ONLY (RowEngineTestSeams.lobDiffReaderLosesPlace): seed 003 put back, 8.0.25's reading
   * of a zero-length diff's empty copy as "no more data". Always false outside the seed's test.
   */
  private readonly losesPlaceAtEmptyDiff: boolean;
  bytes: Uint8Array = new Uint8Array(0);
  ref: LobRef | undefined;
  count = 0;
  index = -1;
  offset = 0;
  length = 0;
  oldStart = 0;
  readonly pages: number[] = [];
  private at = 0;
  private end = 0;

  constructor(losesPlaceAtEmptyDiff = false) {
    this.losesPlaceAtEmptyDiff = losesPlaceAtEmptyDiff;
  }

  open(bytes: Uint8Array, start: number, end: number): this {
    const ref = readRef(bytes, start, end, 'LobDiffs');
    if (end - start < LOB_REF_BYTES + 2) throw fieldCorrupt('UF2 LobDiffs field has no diff count');
    this.bytes = bytes;
    this.ref = ref;
    this.count = (bytes[start + LOB_REF_BYTES]! << 8) | bytes[start + LOB_REF_BYTES + 1]!;
    this.index = -1;
    this.at = start + LOB_REF_BYTES + 2;
    this.end = end;
    return this;
  }

  next(): boolean {
    if (this.index + 1 >= this.count) {
      if (this.at !== this.end) throw fieldCorrupt(`UF2 ${this.end - this.at} bytes after the last LOB diff`);
      return false;
    }
    const bytes = this.bytes;
    const at = this.at;
    if (at + DIFF_HEADER_BYTES > this.end) throw fieldCorrupt(`UF2 LOB diff ${this.index + 1} runs past its field`);
    this.index++;
    this.offset = readU48(bytes, at);
    const length = (bytes[at + 6]! << 8) | bytes[at + 7]!;
    const oldStart = at + DIFF_HEADER_BYTES;
    if (oldStart + length + DIFF_PAGES_BYTES > this.end)
      throw fieldCorrupt(`UF2 LOB diff ${this.index} of ${length} bytes runs past its field`);
    this.length = length;
    this.oldStart = oldStart;
    // Seed 003 (LOB-DIFF): the position moves by the declared length, zero included; it is never
    // taken from a copy of the old bytes (8.0.25 read a null allocation as "no more data").
    let pagesAt = oldStart + length; // seed 003: by the declared length, zero included
    if (length === 0 && this.losesPlaceAtEmptyDiff) pagesAt = this.end; // TEST ONLY: seed 003 put back
    this.pages.length = 0;
    for (const page of [readU32BE(bytes, pagesAt), readU32BE(bytes, pagesAt + 4)])
      if (page !== NIL) this.pages.push(page);
    if (length > 0 ? this.pages.length === 0 : this.pages.length !== 0)
      throw fieldCorrupt(`UF2 LOB diff ${this.index} of ${length} bytes names ${this.pages.length} pages`);
    if (this.ref !== undefined && this.offset + length > this.ref.length)
      throw fieldCorrupt(`UF2 LOB diff [${this.offset}, +${length}) lies past the value's ${this.ref.length} bytes`);
    this.at = pagesAt + DIFF_PAGES_BYTES;
    return true;
  }

  /** The current diff's old bytes: a copy. */
  old(): Uint8Array {
    return this.bytes.slice(this.oldStart, this.oldStart + this.length);
  }
}

/** A LobDiffs field decoded (copies of its bytes): the reference and the diffs in the order they were applied. */
export function decodeLobDiffsField(
  bytes: Uint8Array,
  start: number,
  end: number,
): { ref: LobRef; diffs: LobDiffInput[] } {
  const reader = new LobDiffReader().open(bytes, start, end);
  const diffs: LobDiffInput[] = [];
  while (reader.next()) diffs.push({ offset: reader.offset, old: reader.old(), pages: [...reader.pages] });
  return { ref: reader.ref!, diffs };
}

// --- LobVersion --------------------------------------------------------------------------------

/** An inclusive range of index slots. */
export interface SlotRange {
  readonly first: number;
  readonly last: number;
}

/** The bytes of a LobVersion field: the reference before the change and the slot ranges it copied. */
export function encodeLobVersionField(ref: LobRef, ranges: readonly SlotRange[]): Uint8Array {
  assert(ranges.length <= 0xffff, 'slot ranges fit 16 bits');
  const out = new Uint8Array(LOB_REF_BYTES + 2 + 8 * ranges.length);
  writeLobRef(out, 0, ref);
  out[LOB_REF_BYTES] = ranges.length >>> 8;
  out[LOB_REF_BYTES + 1] = ranges.length;
  ranges.forEach((range, i) => {
    assert(range.first <= range.last, 'a slot range is not empty');
    writeU32BE(out, LOB_REF_BYTES + 2 + 8 * i, range.first);
    writeU32BE(out, LOB_REF_BYTES + 6 + 8 * i, range.last);
  });
  return out;
}

export function decodeLobVersionField(
  bytes: Uint8Array,
  start: number,
  end: number,
): { ref: LobRef; ranges: SlotRange[] } {
  const ref = readRef(bytes, start, end, 'LobVersion');
  if (end - start < LOB_REF_BYTES + 2) throw fieldCorrupt('LobVersion field has no range count');
  const count = (bytes[start + LOB_REF_BYTES]! << 8) | bytes[start + LOB_REF_BYTES + 1]!;
  if (end - start !== LOB_REF_BYTES + 2 + 8 * count)
    throw fieldCorrupt(`LobVersion field of ${end - start} bytes does not hold ${count} ranges`);
  const ranges: SlotRange[] = [];
  for (let i = 0; i < count; i++) {
    const first = readU32BE(bytes, start + LOB_REF_BYTES + 2 + 8 * i);
    const last = readU32BE(bytes, start + LOB_REF_BYTES + 6 + 8 * i);
    if (first > last) throw fieldCorrupt(`LobVersion range [${first}, ${last}] is empty`);
    ranges.push({ first, last });
  }
  return { ref, ranges };
}

// --- applying an undo field to a row version ------------------------------------------------------

/**
 * The value a column had before the change an undo field describes, given `newer`, its value in
 * the row version after that change (UF3). Allocates the value (copies of the undo bytes).
 * `lobDiffReaderLosesPlace` is seed 003's test seam (LobDiffReader), false but in that test.
 */
export function olderStoredValue(
  type: ColumnType,
  fieldNo: number,
  bytes: Uint8Array,
  start: number,
  end: number,
  newer: StoredValue | null | undefined,
  lobDiffReaderLosesPlace = false,
): StoredValue {
  switch (undoFieldKind(fieldNo)) {
    case UndoFieldKind.Inline:
      return decodeUndoField(type, bytes, start, end);
    case UndoFieldKind.Extern:
      return decodeExternField(bytes, start, end);
    case UndoFieldKind.LobDiffs: {
      const reader = new LobDiffReader(lobDiffReaderLosesPlace).open(bytes, start, end);
      const ref = reader.ref!;
      // UF3 (bug class 13): the diffs were taken from exactly the version the newer row reads.
      if (!(newer instanceof LobRef) || !newer.sameLob(ref) || newer.version !== ref.version) {
        throw fieldCorrupt(
          `UF3 LOB diffs taken from ${ref.describe()} applied to ${newer instanceof LobRef ? newer.describe() : 'a value not on LOB pages'}`,
        );
      }
      const diffs: LobUndoDiff[] = [];
      while (reader.next())
        diffs.push({ version: ref.version, offset: reader.offset, old: reader.old(), pages: [...reader.pages] });
      diffs.reverse(); // undone newest first
      return newer.withUndoDiffs(diffs);
    }
    case UndoFieldKind.LobVersion: {
      const { ref } = decodeLobVersionField(bytes, start, end);
      if (!(newer instanceof LobRef) || !newer.sameLob(ref) || newer.version !== ref.version + 1) {
        throw fieldCorrupt(
          `UF3 LOB version change from ${ref.describe()} applied to ${newer instanceof LobRef ? newer.describe() : 'a value not on LOB pages'}`,
        );
      }
      return newer.atVersion(ref.version);
    }
    default:
      throw fieldCorrupt(`unknown undo field kind in field number 0x${fieldNo.toString(16)}`);
  }
}

function readU48(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 8) | bytes[at + 1]!) * 4294967296 + readU32BE(bytes, at + 2);
}

function writeU48(bytes: Uint8Array, at: number, value: number): void {
  const hi = Math.floor(value / 4294967296);
  bytes[at] = hi >>> 8;
  bytes[at + 1] = hi;
  writeU32BE(bytes, at + 2, value >>> 0);
}
