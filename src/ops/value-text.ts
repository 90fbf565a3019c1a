/**
 * Column values as text and JSON, exactly: the encoding `minno export` writes and `minno import`
 * reads, so that every value comes back bit for bit.
 *
 * JSON has no bigint, no NaN, no infinities, no -0 and no bytes, so the column's type (from the
 * schema, which the NDJSON header carries) decides:
 *
 * | type      | NDJSON value                                 | CSV field                        |
 * |-----------|----------------------------------------------|----------------------------------|
 * | `int32`   | number                                       | decimal                          |
 * | `int64`   | string of decimal digits ("-9223372036854775808") | decimal                     |
 * | `float64` | number; "NaN", "Infinity", "-Infinity", "-0" as strings | the same texts; a finite number as JavaScript prints it (shortest round-trip form) |
 * | `boolean` | true / false                                 | true / false                     |
 * | `string`  | string                                       | the text                         |
 * | `bytes`   | base64 string                                | base64                           |
 * | `json`    | the JSON value itself                        | its JSON text                    |
 * | NULL      | null                                         | an empty unquoted field (`""` is the empty string) |
 *
 * A json column's JSON `null` is SQL NULL (schema.ts), so the table has no ambiguity. A string
 * with a lone surrogate never leaves minno (the row format refuses it), and one that comes in is
 * refused by the same check, named by its line (ERR_IMPORT_LINE wrapping ERR_TYPE_MISMATCH).
 */
import { TypeMismatchError } from '../errors.js';
import type { ColumnDef, ColumnValue, JsonValue } from '../rec/schema.js';

export type Cell = ColumnValue | null;

function floatText(value: number): string {
  if (Object.is(value, -0)) return '-0';
  return String(value); // NaN, Infinity, -Infinity, or the shortest text that reads back the same
}

function parseFloatText(column: string, text: string): number {
  if (text === '-0') return -0;
  if (text === 'NaN') return Number.NaN;
  if (text === 'Infinity') return Number.POSITIVE_INFINITY;
  if (text === '-Infinity') return Number.NEGATIVE_INFINITY;
  if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text))
    throw new TypeMismatchError(column, 'a float64', JSON.stringify(text));
  return Number(text);
}

function parseBigIntText(column: string, text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new TypeMismatchError(column, 'an int64 in decimal digits', JSON.stringify(text));
  return BigInt(text);
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function parseBase64(column: string, text: string): Uint8Array {
  if (text.length % 4 !== 0 || !BASE64.test(text)) {
    throw new TypeMismatchError(column, 'bytes in base64', JSON.stringify(text.slice(0, 40)));
  }
  const buffer = Buffer.from(text, 'base64');
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** A value as the NDJSON encoding holds it (a JSON value). */
export function toJsonCell(column: ColumnDef, value: Cell | undefined): JsonValue {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'int64':
      return String(value);
    case 'float64': {
      const n = value as number;
      return Number.isFinite(n) && !Object.is(n, -0) ? n : floatText(n);
    }
    case 'bytes':
      return base64(value as Uint8Array);
    default:
      return value as JsonValue;
  }
}

/** The NDJSON value back to the column's value; type errors name the column. */
export function fromJsonCell(column: ColumnDef, value: unknown): Cell {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'int64':
      if (typeof value === 'string') return parseBigIntText(column.name, value);
      if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
      throw new TypeMismatchError(column.name, 'an int64 as a string of digits', typeof value);
    case 'float64':
      if (typeof value === 'number') return value;
      if (typeof value === 'string') return parseFloatText(column.name, value);
      throw new TypeMismatchError(column.name, 'a float64', typeof value);
    case 'bytes':
      if (typeof value !== 'string') throw new TypeMismatchError(column.name, 'bytes in base64', typeof value);
      return parseBase64(column.name, value);
    case 'json':
      return value as JsonValue;
    default:
      return value as Cell; // int32, boolean, string: the row format checks them (V1, V3, V4)
  }
}

/** A value as one CSV field; `null` stays null (written as an empty unquoted field). */
export function toTextCell(column: ColumnDef, value: Cell | undefined): string | null {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'float64':
      return floatText(value as number);
    case 'bytes':
      return base64(value as Uint8Array);
    case 'json':
      return JSON.stringify(value);
    default:
      return String(value);
  }
}

/** A CSV field back to the column's value. `quoted` tells `""` (empty string) from NULL. */
export function fromTextCell(column: ColumnDef, text: string, quoted: boolean): Cell {
  if (text === '' && !quoted) return null;
  switch (column.type) {
    case 'int32': {
      if (!/^-?\d+$/.test(text)) throw new TypeMismatchError(column.name, 'an int32', JSON.stringify(text));
      return Number(text);
    }
    case 'int64':
      return parseBigIntText(column.name, text);
    case 'float64':
      return parseFloatText(column.name, text);
    case 'boolean':
      if (text === 'true') return true;
      if (text === 'false') return false;
      throw new TypeMismatchError(column.name, 'true or false', JSON.stringify(text));
    case 'bytes':
      return parseBase64(column.name, text);
    case 'json':
      try {
        return JSON.parse(text) as JsonValue;
      } catch {
        throw new TypeMismatchError(column.name, 'JSON text', JSON.stringify(text.slice(0, 40)));
      }
    default:
      return text;
  }
}
