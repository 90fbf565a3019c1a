/**
 * Memcomparable keys: typed key values encoded so that comparing two keys is a byte compare.
 *
 * Counterparts: InnoDB compares typed fields with `cmp_dtuple_rec` (`rem/rem0cmp.cc`) on every
 * search step; minno instead encodes the key once so the B-tree compares bytes, as MyRocks
 * (`rdb_datadic.cc`, "mem-comparable form"), the FoundationDB tuple layer and CockroachDB's
 * `util/encoding` do. The price is an encode per write and per search key; the gain is a compare
 * that is a plain loop over bytes, with no type dispatch, on the hottest path of the engine.
 *
 * A key is the concatenation of its fields' encodings, in key column order:
 *
 * | part                   | size      | encoding                                                         |
 * |------------------------|-----------|------------------------------------------------------------------|
 * | null marker            | 1         | only before a nullable column: 0x00 NULL (nothing follows), 0x01 present |
 * | int32                  | 4         | big-endian two's complement with bit 31 flipped                   |
 * | int64                  | 8         | big-endian two's complement with bit 63 flipped                   |
 * | float64                | 8         | IEEE 754 big-endian; negative: every bit inverted; else: sign bit set |
 * | boolean                | 1         | 0x00 false, 0x01 true                                             |
 * | string                 | n + 2 ... | UTF-8, each 0x00 byte written 0x00 0xFF, then terminator 0x00 0x01 |
 * | bytes                  | n + 2 ... | the bytes, each 0x00 written 0x00 0xFF, then terminator 0x00 0x01 |
 *
 * Decisions:
 *  - float64: -0 is written as +0 (they are equal, so they are one key). Every NaN is written as
 *    one canonical NaN that sorts after +Infinity, and all NaNs are equal (a NaN key is findable).
 *  - strings order by Unicode code point, which is UTF-8 byte order. JavaScript's `<` compares
 *    UTF-16 code units and disagrees for astral characters ('\u{10000}' < '\uFFFF' by code point
 *    is false, by `<` it is true): tests compare with a code-point comparator. A string with a lone
 *    surrogate is refused (ERR_TYPE_MISMATCH): it has no UTF-8 form.
 *  - int64 takes a bigint, or a safe-integer number; it always decodes to a bigint.
 *  - The key size limit (`KeySpec.maxBytes`, default 3072 as InnoDB's for 16 KiB pages) is checked
 *    while writing; a key over it is ERR_KEY_TOO_LARGE naming the index.
 *
 * Prefixes and ranges. Encoding the first k values of a key gives a byte prefix of every full key
 * that starts with those values (K2), so a range on leading columns maps to byte bounds. With
 * P = encodeKeyPrefix(values) and S = prefixSuccessor(P), the smallest byte string above every
 * string starting with P (null: there is none, the range is open):
 *
 * | leading columns ... | keys k with           |
 * |---------------------|-----------------------|
 * | = values            | P <= k < S            |
 * | >= values           | P <= k                |
 * | >  values           | S <= k (none if S null) |
 * | <= values           | k < S (all if S null) |
 * | <  values           | k < P                 |
 *
 * Invariants:
 *  K1. Order: for two keys of one KeySpec, `compareBytes(encode(a), encode(b))` has the sign of the
 *      field-by-field comparison of the typed values: NULL first, numbers by value (-0 = +0,
 *      NaN = NaN > +Infinity), false < true, strings by code point, bytes lexicographically
 *      (a proper prefix first).
 *  K2. Prefix-free fields: each field's encoding is self-delimiting and no field's encoding is a
 *      proper prefix of another value's, so fields never bleed into the next and the encoding of
 *      leading values is a byte prefix of the full key.
 *  K3. Round trip: `decodeKey(encodeKey(v))` equals v, but -0 reads +0, every NaN the NaN, an int64
 *      given as a number reads as a bigint, and a Buffer reads as a plain Uint8Array.
 *  K4. Size: an encoded key is at most `spec.maxBytes` bytes; `encodeKeyInto` writes nothing past
 *      offset + maxBytes and throws ERR_KEY_TOO_LARGE instead.
 *  K5. Null markers: exactly one marker byte, 0x00 or 0x01, before each nullable field; none before
 *      a NOT NULL field.
 *  K6. Escapes: in a string or bytes body every 0x00 is followed by 0xFF (a NUL) or 0x01 (the end).
 *
 * Allocation: `encodeKeyInto`, `writeKeyField`, `skipKeyFields`, `compareKeys` and
 * `prefixSuccessorInto` allocate nothing (key strings are UTF-8 encoded and escaped by hand, int64
 * and float64 go through module-level scratch typed arrays; errors allocate, on their way out).
 * `writeUtf8` without escaping (the row format's) hands strings over 32 UTF-16 units to
 * `TextEncoder.encodeInto`, which costs one subarray view and is faster from that length on. The decoders allocate the values they return (strings,
 * bigints, copies of bytes) and `decodeKey` its result array; `encodeKey` and `prefixSuccessor`
 * allocate the returned bytes.
 */
import { InvalidArgumentError, KeyTooLargeError, NotNullError, TypeMismatchError } from '../errors.js';
import { assert } from '../util/assert.js';
import {
  checkBoolean,
  checkBytes,
  checkFloat64,
  checkInt32,
  checkInt64,
  checkString,
  ColumnTypeCode,
  type ColumnDef,
  type KeyValue,
} from './schema.js';

/** InnoDB's key size limit for 16 KiB pages (3072 bytes, DYNAMIC row format). */
export const KEY_BYTES_MAX_DEFAULT = 3072;

export const NULL_MARKER = 0x00;
export const PRESENT_MARKER = 0x01;
/** After 0x00 inside a string or bytes body: the 0x00 was a byte of the value. */
export const ESCAPED_NUL = 0xff;
/** After 0x00 inside a string or bytes body: the body has ended. */
export const TERMINATOR = 0x01;

/** A compiled key description: the columns of one index's key, in order, and its size limit. */
export interface KeySpec {
  /** The index's name for error messages: `PRIMARY` for the primary key. */
  readonly name: string;
  readonly columns: readonly ColumnDef[];
  /** `ColumnTypeCode` of each column, for a number switch on the hot path. */
  readonly typeCodes: Uint8Array;
  /** 1 where the column is nullable and so carries a null marker (K5). */
  readonly nullable: Uint8Array;
  readonly maxBytes: number;
}

/**
 * Compiles a key description. `columns` are the key's column definitions in key order (json is
 * refused: it has no order). Build one per index when a table is opened, not per call.
 */
export function compileKeySpec(name: string, columns: readonly ColumnDef[], maxBytes = KEY_BYTES_MAX_DEFAULT): KeySpec {
  if (columns.length === 0) throw new InvalidArgumentError(`key ${JSON.stringify(name)} must have at least one column`);
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1) {
    throw new InvalidArgumentError(`key size limit must be a positive integer, got ${String(maxBytes)}`);
  }
  const typeCodes = new Uint8Array(columns.length);
  const nullable = new Uint8Array(columns.length);
  columns.forEach((column, i) => {
    if (column.type === 'json' || ColumnTypeCode[column.type] === undefined) {
      throw new InvalidArgumentError(
        `key ${JSON.stringify(name)}: column ${JSON.stringify(column.name)} of type ${String(column.type)} cannot be a key column`,
      );
    }
    typeCodes[i] = ColumnTypeCode[column.type];
    nullable[i] = column.nullable === true ? 1 : 0;
  });
  return Object.freeze({ name, columns: Object.freeze([...columns]), typeCodes, nullable, maxBytes });
}

// Scratch for the bit-level work on int64 and float64: one 8-byte buffer seen three ways.
const scratchBuffer = new ArrayBuffer(8);
const scratchF64 = new Float64Array(scratchBuffer);
const scratchI64 = new BigInt64Array(scratchBuffer);
const scratchU32 = new Uint32Array(scratchBuffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
/** Index in `scratchU32` of the high and low 32 bits of the 64-bit value. */
const HI = LITTLE_ENDIAN ? 1 : 0;
const LO = LITTLE_ENDIAN ? 0 : 1;

export function writeU32BE(out: Uint8Array, pos: number, value: number): void {
  out[pos] = value >>> 24;
  out[pos + 1] = value >>> 16;
  out[pos + 2] = value >>> 8;
  out[pos + 3] = value;
}

export function readU32BE(bytes: Uint8Array, pos: number): number {
  return ((bytes[pos]! << 24) | (bytes[pos + 1]! << 16) | (bytes[pos + 2]! << 8) | bytes[pos + 3]!) >>> 0;
}

/**
 * Writes a checked int64 (number or bigint) as 8 big-endian bytes, XORing `flip` into the high word
 * (0x80000000 for keys: sign bit flipped; 0 for rows: plain two's complement).
 */
export function writeInt64(out: Uint8Array, pos: number, value: number | bigint, flip: number): void {
  let hi: number;
  let lo: number;
  if (typeof value === 'number') {
    hi = Math.floor(value / 4294967296);
    lo = value - hi * 4294967296;
  } else {
    scratchI64[0] = value;
    hi = scratchU32[HI]!;
    lo = scratchU32[LO]!;
  }
  writeU32BE(out, pos, (hi ^ flip) >>> 0);
  writeU32BE(out, pos + 4, lo);
}

export function readInt64(bytes: Uint8Array, pos: number, flip: number): bigint {
  scratchU32[HI] = (readU32BE(bytes, pos) ^ flip) >>> 0;
  scratchU32[LO] = readU32BE(bytes, pos + 4);
  return scratchI64[0]!;
}

/** Writes a float64 as 8 big-endian IEEE bytes, exactly (rows keep -0 and NaN payloads). */
export function writeFloat64(out: Uint8Array, pos: number, value: number): void {
  scratchF64[0] = value;
  writeU32BE(out, pos, scratchU32[HI]!);
  writeU32BE(out, pos + 4, scratchU32[LO]!);
}

export function readFloat64(bytes: Uint8Array, pos: number): number {
  scratchU32[HI] = readU32BE(bytes, pos);
  scratchU32[LO] = readU32BE(bytes, pos + 4);
  return scratchF64[0]!;
}

function writeFloat64Key(out: Uint8Array, pos: number, value: number): void {
  // biome-ignore lint/suspicious/noSelfCompare: the one test that is true only for NaN, on the hot path
  if (value !== value) {
    // K1: one canonical NaN, above +Infinity (0x7FF8... with the sign bit set).
    writeU32BE(out, pos, 0xfff80000);
    writeU32BE(out, pos + 4, 0);
    return;
  }
  scratchF64[0] = value === 0 ? 0 : value; // -0 becomes +0
  let hi = scratchU32[HI]!;
  let lo = scratchU32[LO]!;
  if (hi >= 0x80000000) {
    hi = ~hi;
    lo = ~lo;
  } else {
    hi ^= 0x80000000;
  }
  writeU32BE(out, pos, hi >>> 0);
  writeU32BE(out, pos + 4, lo >>> 0);
}

function readFloat64Key(bytes: Uint8Array, pos: number): number {
  let hi = readU32BE(bytes, pos);
  let lo = readU32BE(bytes, pos + 4);
  if (hi >= 0x80000000) {
    hi ^= 0x80000000;
  } else {
    hi = ~hi;
    lo = ~lo;
  }
  scratchU32[HI] = hi >>> 0;
  scratchU32[LO] = lo >>> 0;
  return scratchF64[0]!;
}

function loneSurrogate(column: string, _text: string, at: number): never {
  throw new TypeMismatchError(
    column,
    'a well-formed string',
    `a string with a lone surrogate at index ${at} (not valid Unicode, no UTF-8 form); fix the string or store it as bytes`,
  );
}

/**
 * Writes `text` as UTF-8 at `pos`, and with `escape` the key form (0x00 as 0x00 0xFF, then the
 * terminator 0x00 0x01: K6). Returns the position after it, or -1 if it would pass `bound` (nothing
 * at or after `bound` is written). A lone surrogate is ERR_TYPE_MISMATCH naming `column`.
 */
export function writeUtf8(
  column: string,
  text: string,
  out: Uint8Array,
  pos: number,
  bound: number,
  escape: boolean,
): number {
  const length = text.length;
  if (!escape && length > UTF8_NATIVE_MIN_UNITS) return writeUtf8Native(column, text, out, pos, bound);
  for (let i = 0; i < length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      pos = putByte(out, pos, bound, code, escape);
      if (pos < 0) return -1;
    } else if (code < 0x800) {
      if (pos + 2 > bound) return -1;
      out[pos++] = 0xc0 | (code >>> 6);
      out[pos++] = 0x80 | (code & 0x3f);
    } else if (code < 0xd800 || code > 0xdfff) {
      if (pos + 3 > bound) return -1;
      out[pos++] = 0xe0 | (code >>> 12);
      out[pos++] = 0x80 | ((code >>> 6) & 0x3f);
      out[pos++] = 0x80 | (code & 0x3f);
    } else {
      const low = i + 1 < length ? text.charCodeAt(i + 1) : 0;
      if (code > 0xdbff || low < 0xdc00 || low > 0xdfff) loneSurrogate(column, text, i);
      code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
      i++;
      if (pos + 4 > bound) return -1;
      out[pos++] = 0xf0 | (code >>> 18);
      out[pos++] = 0x80 | ((code >>> 12) & 0x3f);
      out[pos++] = 0x80 | ((code >>> 6) & 0x3f);
      out[pos++] = 0x80 | (code & 0x3f);
    }
  }
  return escape ? writeTerminator(out, pos, bound) : pos;
}

/** From this many UTF-16 units TextEncoder.encodeInto (one view allocated) beats the loop above (measured on Node 20). */
const UTF8_NATIVE_MIN_UNITS = 32;
const utf8Encoder = new TextEncoder();
type WellFormed = { isWellFormed(): boolean };

function writeUtf8Native(column: string, text: string, out: Uint8Array, pos: number, bound: number): number {
  if (!(text as unknown as WellFormed).isWellFormed()) {
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdfff) {
        const pair = code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
        if (!pair) loneSurrogate(column, text, i);
        i++;
      }
    }
  }
  if (pos > bound) return -1;
  const { read, written } = utf8Encoder.encodeInto(text, out.subarray(pos, bound));
  return read < text.length ? -1 : pos + written;
}

function writeTerminator(out: Uint8Array, pos: number, bound: number): number {
  if (pos + 2 > bound) return -1;
  out[pos] = 0;
  out[pos + 1] = TERMINATOR;
  return pos + 2;
}

/** UTF-8 bytes of `text` (a lone surrogate counts 3, as U+FFFD would; the writers refuse it anyway). */
export function utf8Length(text: string): number {
  let bytes = text.length; // one per unit, plus what each wider character adds
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) continue;
    if (code < 0x800) bytes += 1;
    else if (code <= 0xdbff && code >= 0xd800 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 2; // a surrogate pair: 4 bytes for 2 units
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/** Writes one byte at `pos`, a 0x00 as 0x00 0xFF when `escape` (K6). Returns the next position, or -1 past `bound`. */
function putByte(out: Uint8Array, pos: number, bound: number, byte: number, escape: boolean): number {
  if (byte === 0 && escape) {
    if (pos + 2 > bound) return -1;
    out[pos] = 0;
    out[pos + 1] = ESCAPED_NUL;
    return pos + 2;
  }
  if (pos >= bound) return -1;
  out[pos] = byte;
  return pos + 1;
}

function writeEscapedBytes(value: Uint8Array, out: Uint8Array, pos: number, bound: number): number {
  for (let i = 0; i < value.length && pos >= 0; i++) pos = putByte(out, pos, bound, value[i]!, true);
  return pos < 0 ? -1 : writeTerminator(out, pos, bound);
}

const utf8Decoder = new TextDecoder();

// Long text in a page (a buffer pool frame, an undo page) is decoded by a Node Buffer over the
// same memory (`toString('utf8', start, end)`), without a view per call or TextDecoder's argument
// checks: about 1.6x faster for sbtest's 60-120 character columns in a micro-benchmark on Node 20.
// (Calling the Buffer's undocumented `utf8Slice` directly measured no faster in a range scan's
// profile: the cost is the call into C++ that makes the string; holding the Buffer in a WeakRef
// cost 4% of a range scan, so it is held strongly.) Only arrays of 65 bytes to a page
// (PAGE_SIZE_MAX) take this path: V8 keeps smaller typed arrays on its heap, and the first read of
// their `.buffer` moves their bytes out (buffer-pool.ts `holdsView`); a large value's bytes are
// decoded by TextDecoder, so the memory kept here is a pool's slab, as index-page.ts keeps a
// DataView over it (a closed pool's slab until the next open's first read).
const BUFFER_DECODE_MAX_BYTES = 65536;
let utf8Memory: ArrayBufferLike | undefined;
let utf8Buffer: Buffer = Buffer.alloc(0);
/** The array last decoded through `utf8Buffer` (a pool frame, as a rule) and its offset in `utf8Memory`. */
let utf8Source: Uint8Array | undefined;
let utf8SourceOffset = 0;

/**
 * Decodes UTF-8 bytes [start, end): short ASCII by hand (no view, no decoder call), long text in a
 * large array by a Buffer over its memory, the rest by TextDecoder. Measured on Node 20: by hand
 * wins up to about 8 characters. Invalid sequences become U+FFFD either way.
 */
export function readUtf8(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 8) {
    let text = '';
    for (let i = start; i < end; i++) {
      const byte = bytes[i]!;
      if (byte >= 0x80) return utf8Decoder.decode(bytes.subarray(start, end));
      text += String.fromCharCode(byte);
    }
    return text;
  }
  if (bytes.length > 64 && bytes.length <= BUFFER_DECODE_MAX_BYTES) {
    if (bytes !== utf8Source) {
      // A typed array's memory and offset never change: read them once per array, not per value
      // (the `.buffer` getter was the costliest line of a range of 100 rows' profile).
      const memory = bytes.buffer;
      if (memory !== utf8Memory) {
        utf8Memory = memory;
        utf8Buffer = Buffer.from(memory);
      }
      utf8Source = bytes;
      utf8SourceOffset = bytes.byteOffset;
    }
    const at = utf8SourceOffset;
    return utf8Buffer.toString('utf8', at + start, at + end);
  }
  return utf8Decoder.decode(bytes.subarray(start, end));
}

/**
 * Checks `value` against key column `field` of `spec` and writes its encoding (with its null marker
 * when the column is nullable) at `pos`. Returns the position after it, or -1 if it would pass
 * `bound`. Throws the typed errors for a wrong type, an out-of-range value or NULL in NOT NULL.
 * `undefined` is NULL.
 */
export function writeKeyField(
  spec: KeySpec,
  field: number,
  value: unknown,
  out: Uint8Array,
  pos: number,
  bound: number,
): number {
  const column = spec.columns[field]!;
  if (value === null || value === undefined) {
    if (spec.nullable[field] === 0) throw new NotNullError(column.name);
    if (pos >= bound) return -1;
    out[pos] = NULL_MARKER;
    return pos + 1;
  }
  if (spec.nullable[field] === 1) {
    if (pos >= bound) return -1;
    out[pos++] = PRESENT_MARKER;
  }
  switch (spec.typeCodes[field]) {
    case ColumnTypeCode.int32: {
      const int = checkInt32(column.name, value);
      if (pos + 4 > bound) return -1;
      writeU32BE(out, pos, (int ^ 0x80000000) >>> 0);
      return pos + 4;
    }
    case ColumnTypeCode.int64: {
      const int = checkInt64(column.name, value);
      if (pos + 8 > bound) return -1;
      writeInt64(out, pos, int, 0x80000000);
      return pos + 8;
    }
    case ColumnTypeCode.float64: {
      const float = checkFloat64(column.name, value);
      if (pos + 8 > bound) return -1;
      writeFloat64Key(out, pos, float);
      return pos + 8;
    }
    case ColumnTypeCode.boolean: {
      const flag = checkBoolean(column.name, value);
      if (pos >= bound) return -1;
      out[pos] = flag ? 1 : 0;
      return pos + 1;
    }
    case ColumnTypeCode.string:
      return writeUtf8(column.name, checkString(column.name, value, column.maxLength), out, pos, bound, true);
    case ColumnTypeCode.bytes:
      return writeEscapedBytes(checkBytes(column.name, value, column.maxLength), out, pos, bound);
    default:
      assert(false, `K1 key column ${column.name} has type code ${String(spec.typeCodes[field])}`);
  }
}

/**
 * Throws ERR_KEY_TOO_LARGE for the first `count` fields of `spec` (values from `valueAt`), with the
 * exact encoded size. The slow path after an overflow: it writes each field again into a buffer
 * big enough for any value, which also checks the fields after the overflow point.
 */
export function throwKeyTooLarge(spec: KeySpec, count: number, valueAt: (field: number) => unknown): never {
  let total = 0;
  for (let field = 0; field < count; field++) {
    const value = valueAt(field);
    // UTF-8 takes at most 3 bytes per UTF-16 unit, an escaped NUL 2 per byte; plus marker and terminator.
    const most =
      typeof value === 'string' ? 3 * value.length + 3 : value instanceof Uint8Array ? 2 * value.length + 3 : 9;
    const scratch = new Uint8Array(most);
    const end = writeKeyField(spec, field, value, scratch, 0, most);
    assert(end >= 0, 'K4 a key field outgrew its largest possible encoding');
    total += end;
  }
  throw new KeyTooLargeError(
    spec.name,
    spec.maxBytes,
    `its columns (${spec.columns.map((c) => c.name).join(', ')}) encode to ${total} bytes`,
  );
}

/** Refuses (ERR_INVALID_ARGUMENT) a buffer without room for `spec.maxBytes` from `offset` (K4 needs it). */
export function checkKeyRoom(spec: KeySpec, out: Uint8Array, offset: number): void {
  if (!Number.isInteger(offset) || offset < 0 || out.length - offset < spec.maxBytes) {
    throw new InvalidArgumentError(
      `key buffer too small: ${out.length - offset} bytes from offset ${offset}, index ${JSON.stringify(spec.name)} needs room for ${spec.maxBytes}`,
    );
  }
}

function encodeFieldsInto(values: readonly unknown[], spec: KeySpec, out: Uint8Array, offset: number): number {
  checkKeyRoom(spec, out, offset);
  const bound = offset + spec.maxBytes; // K4
  let pos = offset;
  for (let field = 0; field < values.length; field++) {
    pos = writeKeyField(spec, field, values[field], out, pos, bound);
    if (pos < 0) throwKeyTooLarge(spec, values.length, (i) => values[i]);
  }
  return pos - offset;
}

/**
 * Encodes a full key (one value per key column) into `out` at `offset` and returns the number of
 * bytes written. `out` must have room for `spec.maxBytes` from `offset` (K4). Allocates nothing.
 */
export function encodeKeyInto(values: readonly unknown[], spec: KeySpec, out: Uint8Array, offset: number): number {
  if (values.length !== spec.columns.length) {
    throw new InvalidArgumentError(
      `key of index ${JSON.stringify(spec.name)} takes ${spec.columns.length} values (${spec.columns.map((c) => c.name).join(', ')}), got ${values.length}; for a range on leading columns use encodeKeyPrefix`,
    );
  }
  return encodeFieldsInto(values, spec, out, offset);
}

/** As `encodeKeyInto` for the first `values.length` columns (0 to all): a byte prefix of every key starting with them (K2). */
export function encodeKeyPrefixInto(
  values: readonly unknown[],
  spec: KeySpec,
  out: Uint8Array,
  offset: number,
): number {
  if (values.length > spec.columns.length) {
    throw new InvalidArgumentError(
      `key of index ${JSON.stringify(spec.name)} has ${spec.columns.length} columns, got ${values.length} values`,
    );
  }
  return encodeFieldsInto(values, spec, out, offset);
}

let scratchKey = new Uint8Array(KEY_BYTES_MAX_DEFAULT);

function scratchFor(spec: KeySpec): Uint8Array {
  if (scratchKey.length < spec.maxBytes) scratchKey = new Uint8Array(spec.maxBytes);
  return scratchKey;
}

/** Encodes a full key into new bytes of its exact size. */
export function encodeKey(values: readonly unknown[], spec: KeySpec): Uint8Array {
  const out = scratchFor(spec);
  return out.slice(0, encodeKeyInto(values, spec, out, 0));
}

/** Encodes the leading `values.length` key columns into new bytes: a byte prefix of every key that starts with them. */
export function encodeKeyPrefix(values: readonly unknown[], spec: KeySpec): Uint8Array {
  const out = scratchFor(spec);
  return out.slice(0, encodeKeyPrefixInto(values, spec, out, 0));
}

/** Position after the escaped body (and terminator) that starts at `pos` (K6). */
function skipEscaped(bytes: Uint8Array, pos: number, end: number): number {
  for (;;) {
    const zero = bytes.indexOf(0, pos);
    assert(zero !== -1 && zero + 1 < end, 'K6 escaped key field has no terminator');
    const next = bytes[zero + 1];
    if (next === TERMINATOR) return zero + 2;
    assert(next === ESCAPED_NUL, () => `K6 0x00 followed by ${String(next)} in a key field`);
    pos = zero + 2;
  }
}

/**
 * Position after `count` fields of `spec` starting with field `from`, for a key at `pos` that ends
 * at `end`. Allocates nothing. Used to find the primary key inside a secondary-index entry.
 */
export function skipKeyFields(
  bytes: Uint8Array,
  pos: number,
  end: number,
  spec: KeySpec,
  from: number,
  count: number,
): number {
  for (let field = from; field < from + count; field++) {
    if (spec.nullable[field] === 1) {
      const marker = bytes[pos++];
      assert(marker === NULL_MARKER || marker === PRESENT_MARKER, 'K5 bad null marker');
      if (marker === NULL_MARKER) continue;
    }
    switch (spec.typeCodes[field]) {
      case ColumnTypeCode.int32:
        pos += 4;
        break;
      case ColumnTypeCode.int64:
      case ColumnTypeCode.float64:
        pos += 8;
        break;
      case ColumnTypeCode.boolean:
        pos += 1;
        break;
      default:
        pos = skipEscaped(bytes, pos, end);
    }
  }
  assert(pos <= end, 'K2 key fields run past the end of the key');
  return pos;
}

/** Unescapes the body at [pos, bodyEnd) (bodyEnd is the terminator's 0x00) into new bytes. */
function unescape(bytes: Uint8Array, pos: number, bodyEnd: number): Uint8Array {
  let nuls = 0;
  for (let i = bytes.indexOf(0, pos); i !== -1 && i < bodyEnd; i = bytes.indexOf(0, i + 2)) nuls++;
  const result = new Uint8Array(bodyEnd - pos - nuls);
  let at = 0;
  for (let i = pos; i < bodyEnd; i++) {
    const byte = bytes[i]!;
    result[at++] = byte;
    if (byte === 0) i++; // skip the 0xFF of an escaped NUL (K6)
  }
  return result;
}

/**
 * Decodes field `field` at `pos` (the caller has checked its null marker). Returns the value; the
 * position after it is left in `decodeEnd`.
 */
let decodeEnd = 0;
function readFieldBody(bytes: Uint8Array, pos: number, end: number, spec: KeySpec, field: number): KeyValue {
  switch (spec.typeCodes[field]) {
    case ColumnTypeCode.int32:
      decodeEnd = pos + 4;
      return (readU32BE(bytes, pos) ^ 0x80000000) | 0;
    case ColumnTypeCode.int64:
      decodeEnd = pos + 8;
      return readInt64(bytes, pos, 0x80000000);
    case ColumnTypeCode.float64:
      decodeEnd = pos + 8;
      return readFloat64Key(bytes, pos);
    case ColumnTypeCode.boolean:
      decodeEnd = pos + 1;
      return bytes[pos] === 1;
    default: {
      const after = skipEscaped(bytes, pos, end);
      decodeEnd = after;
      const bodyEnd = after - 2;
      const isString = spec.typeCodes[field] === ColumnTypeCode.string;
      const firstZero = bytes.indexOf(0, pos);
      if (firstZero === bodyEnd) {
        // No escaped NUL: decode the body where it lies.
        return isString ? readUtf8(bytes, pos, bodyEnd) : bytes.slice(pos, bodyEnd);
      }
      const body = unescape(bytes, pos, bodyEnd);
      return isString ? utf8Decoder.decode(body) : body;
    }
  }
}

/**
 * Decodes the key at [offset, end) into one value per field, NULL as `null`. A prefix (fewer
 * fields than the spec) decodes to fewer values. Allocates the array and the values.
 */
export function decodeKey(bytes: Uint8Array, spec: KeySpec, offset = 0, end = bytes.length): (KeyValue | null)[] {
  const values: (KeyValue | null)[] = [];
  values.length = decodeKeyInto(bytes, spec, offset, end, values);
  return values;
}

/**
 * `decodeKey` into `values[0, count)`; returns the count (entries past it are left as they were:
 * a row decode reuses one array, and setting an array's length is a runtime call).
 */
export function decodeKeyInto(
  bytes: Uint8Array,
  spec: KeySpec,
  offset: number,
  end: number,
  values: (KeyValue | null)[],
): number {
  let pos = offset;
  let count = 0;
  for (let field = 0; field < spec.columns.length && pos < end; field++) {
    if (spec.nullable[field] === 1) {
      const marker = bytes[pos++];
      assert(marker === NULL_MARKER || marker === PRESENT_MARKER, 'K5 bad null marker');
      if (marker === NULL_MARKER) {
        values[count++] = null;
        continue;
      }
    }
    values[count++] = readFieldBody(bytes, pos, end, spec, field);
    pos = decodeEnd;
  }
  assert(pos === end, () => `K2 key decodes to ${pos - offset} bytes, stored ${end - offset}`);
  return count;
}

/** Decodes one field of the key at [offset, end) without decoding the others (it skips them). */
export function readKeyField(
  bytes: Uint8Array,
  spec: KeySpec,
  field: number,
  offset = 0,
  end = bytes.length,
): KeyValue | null {
  let pos = skipKeyFields(bytes, offset, end, spec, 0, field);
  if (spec.nullable[field] === 1) {
    const marker = bytes[pos++];
    assert(marker === NULL_MARKER || marker === PRESENT_MARKER, 'K5 bad null marker');
    if (marker === NULL_MARKER) return null;
  }
  return readFieldBody(bytes, pos, end, spec, field);
}

/** Byte-wise comparison of a[aStart, aEnd) and b[bStart, bEnd): negative, zero or positive. Allocates nothing. */
export function compareKeys(
  a: Uint8Array,
  aStart: number,
  aEnd: number,
  b: Uint8Array,
  bStart: number,
  bEnd: number,
): number {
  const aLength = aEnd - aStart;
  const bLength = bEnd - bStart;
  const length = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < length; i++) {
    const diff = a[aStart + i]! - b[bStart + i]!;
    if (diff !== 0) return diff;
  }
  return aLength - bLength;
}

/** Byte-wise comparison of two whole arrays (the order of encoded keys, K1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  return compareKeys(a, 0, a.length, b, 0, b.length);
}

/**
 * Turns bytes[offset, offset + length) into its prefix successor in place: the smallest byte string
 * greater than every string that starts with it (drop trailing 0xFF bytes, add one to the last).
 * Returns the new length, or -1 when there is none (empty or all 0xFF: the range is open above).
 */
export function prefixSuccessorInto(bytes: Uint8Array, offset: number, length: number): number {
  for (let i = offset + length - 1; i >= offset; i--) {
    if (bytes[i] !== 0xff) {
      bytes[i] = bytes[i]! + 1;
      return i - offset + 1;
    }
  }
  return -1;
}

/**
 * The prefix successor of `prefix` as new bytes, or null when there is none (see
 * `prefixSuccessorInto`). One allocation, and never a `subarray` of a small array (V8 would move
 * its bytes off the heap: buffer-pool.ts `holdsView`).
 */
export function prefixSuccessor(prefix: Uint8Array): Uint8Array | null {
  let last = prefix.length - 1;
  while (last >= 0 && prefix[last] === 0xff) last--;
  if (last < 0) return null;
  const successor = prefix.slice(0, last + 1);
  successor[last] = successor[last]! + 1;
  return successor;
}
