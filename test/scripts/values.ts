/**
 * Column values as golden scripts write and show them (engine-host.ts). Ints are numbers; a long
 * run of one character is `x*60`; a `bytes` value is shown with its length and a hash, so an old
 * reader's bytes are compared byte for byte, and, when it is one, decoded as the small MySQL
 * binary JSON array seed 003 stores (`json[w*10000,def]`):
 *
 *     insert 1 b=json[abc,def]          a binary JSON array of two strings (19 bytes)
 *     update 1 b=json[w*10000,def]      its first string 10,000 w's: a large value (10,017 bytes)
 *     update 1 pad=x*60                 a string of 60 x's
 *     b=hex:0100                        raw bytes
 *
 *  V1. What `parseValue` reads, `formatValue` shows the same way (`json[...]` round-trips), so a
 *      script's output can be read back as its input.
 *  V2. A `bytes` value always shows its length and the first 12 hex digits of its SHA-1: two
 *      values shown the same are the same bytes (a changed byte cannot hide in a summary).
 */
import { createHash } from 'node:crypto';
import { LobRef } from '../../src/rec/lob-ref.js';
import type { ColumnType, ColumnValue } from '../../src/rec/schema.js';
import { ScriptError } from './golden.js';

/** `x*60` for a string of 60 x's (more than 8 of one character), else the text. */
function formatText(text: string): string {
  return text.length > 8 && text === text[0]!.repeat(text.length) ? `${text[0]}*${text.length}` : text;
}

/** `w*10000` -> 10,000 w's; anything else as written. */
function parseText(text: string): string {
  const m = /^(.)\*(\d+)$/.exec(text);
  return m === null ? text : m[1]!.repeat(Number(m[2]));
}

/** MySQL's variable-length integer (json_binary.cc): 7 bits a byte, low first. */
function varLength(n: number): number[] {
  const out: number[] = [];
  do {
    out.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
    n >>>= 7;
  } while (n > 0);
  return out;
}

/**
 * MySQL binary JSON, a small array of strings (json_binary.cc): type 0x02, count (2 bytes), size
 * (2 bytes), one 3-byte entry per element (type 0x0c, offset), then the strings.
 */
export function jsonArray(strings: readonly string[]): Uint8Array {
  const values = strings.map((s) => {
    const text = new TextEncoder().encode(s);
    return Uint8Array.from([...varLength(text.length), ...text]);
  });
  const header = 4 + 3 * strings.length;
  const size = header + values.reduce((sum, v) => sum + v.length, 0);
  const out = new Uint8Array(1 + size);
  out[0] = 0x02;
  out[1] = strings.length & 0xff;
  out[2] = strings.length >> 8;
  out[3] = size & 0xff;
  out[4] = size >> 8;
  let at = 1 + header;
  values.forEach((value, i) => {
    out[5 + 3 * i] = 0x0c;
    out[6 + 3 * i] = (at - 1) & 0xff; // offsets count from the array's start (after the type)
    out[7 + 3 * i] = (at - 1) >> 8;
    out.set(value, at);
    at += value.length;
  });
  return out;
}

/** The strings of a small binary JSON array, as its count and entries say; undefined if it is not one. */
function decodeJsonArray(bytes: Uint8Array): string[] | undefined {
  if (bytes.length < 5 || bytes[0] !== 0x02) return undefined;
  const count = bytes[1]! | (bytes[2]! << 8);
  const strings: string[] = [];
  for (let i = 0; i < count; i++) {
    const entry = 5 + 3 * i;
    if (entry + 3 > bytes.length || bytes[entry] !== 0x0c) return undefined;
    let at = 1 + (bytes[entry + 1]! | (bytes[entry + 2]! << 8));
    let length = 0;
    for (let shift = 0; ; shift += 7) {
      if (at >= bytes.length || shift > 28) return undefined;
      const byte = bytes[at++]!;
      length |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) break;
    }
    if (at + length > bytes.length) return undefined;
    strings.push(new TextDecoder().decode(bytes.subarray(at, at + length)));
  }
  return strings;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** `json[w*10000,def] (10017 bytes, sha1 0123456789ab)` (V2). */
function formatBytes(bytes: Uint8Array): string {
  const strings = decodeJsonArray(bytes);
  const what =
    strings === undefined
      ? `hex:${hex(bytes.subarray(0, 16))}${bytes.length > 16 ? '...' : ''}`
      : `json[${strings.map(formatText).join(',')}]`;
  const sha1 = createHash('sha1').update(bytes).digest('hex').slice(0, 12);
  return `${what} (${bytes.length} bytes, sha1 ${sha1})`;
}

/** A reference to a LOB in an old version: which version, and the undo diffs that rebuild it. */
function formatLobRef(ref: LobRef): string {
  const diffs = ref.undoDiffs.map(
    (d) => `(offset ${d.offset}, ${d.old.length} bytes${d.old.length === 0 ? '' : `: ${hex(d.old)}`})`,
  );
  return `lob ${ref.lobId} version ${ref.version}, ${ref.length} bytes${diffs.length === 0 ? '' : `, undo diffs ${diffs.join(' ')}`}`;
}

/** How a script shows a value it read (a row's column, or an old version's LOB reference). */
export function formatValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'none';
  if (typeof value === 'string') return formatText(value);
  if (value instanceof Uint8Array) return formatBytes(value);
  if (value instanceof LobRef) return formatLobRef(value);
  return String(value);
}

/** A literal of a column of `type` (V1): a number, `x*60`, `json[a,b*3]` or `hex:0100` (bytes), `null`. */
export function parseValue(text: string, type: ColumnType): ColumnValue {
  if (text === 'null') return null;
  switch (type) {
    case 'string':
      return parseText(text);
    case 'bytes': {
      const json = /^json\[(.*)\]$/.exec(text);
      if (json !== null) return jsonArray(json[1] === '' ? [] : json[1]!.split(',').map(parseText));
      const raw = /^hex:([0-9a-f]*)$/.exec(text);
      if (raw !== null && raw[1]!.length % 2 === 0) return new Uint8Array(Buffer.from(raw[1]!, 'hex'));
      throw new ScriptError(`a bytes value is json[...] or hex:..., not ${JSON.stringify(text)}`);
    }
    case 'int32':
    case 'int64':
    case 'float64': {
      if (!/^-?\d+$/.test(text)) throw new ScriptError(`a ${type} value is a number, not ${JSON.stringify(text)}`);
      return type === 'int64' ? BigInt(text) : Number(text);
    }
    default:
      throw new ScriptError(`scripts do not write ${type} values (${JSON.stringify(text)})`);
  }
}

/** `1:0100` (offset 1, bytes 01 00), `8:` (offset 8, no bytes): a diff of a partial update. */
export function parseDiff(text: string): { offset: number; bytes: Uint8Array } {
  const m = /^(\d+):([0-9a-f]*)$/.exec(text);
  if (m === null || m[2]!.length % 2 !== 0)
    throw new ScriptError(`a diff is <offset>:<hex>, not ${JSON.stringify(text)}`);
  return { offset: Number(m[1]), bytes: new Uint8Array(Buffer.from(m[2]!, 'hex')) };
}
