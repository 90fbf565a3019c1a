/**
 * How a column's old value is written into an undo record, and read back.
 *
 * InnoDB stores old field values in undo in the record format's own field encoding
 * (trx_undo_page_report_modify); so do we, by column type: int32 4 bytes and int64 8 bytes
 * (two's complement, big-endian), float64 8 bytes IEEE (exactly: -0 and NaN payloads kept),
 * boolean 1 byte, string UTF-8, bytes as is, json the UTF-8 of JSON.stringify. NULL is the undo
 * record's own NULL length (undo-record.ts), never an empty value (seed 003: an empty string is a
 * zero-length value and must round-trip as one).
 *
 * Invariant:
 *  UF1. decodeUndoField(type, encodeUndoField(type, v)) equals v for every valid v of the type.
 */
import { readFloat64, readInt64, readU32BE, writeFloat64, writeInt64, writeU32BE } from './key-codec.js';
import type { ColumnType, ColumnValue } from './schema.js';
import { unreachable } from '../util/assert.js';

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
