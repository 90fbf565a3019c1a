/**
 * What each statement contributes to an event's digest, and the SQL semantics the key-value
 * adapters rebuild in JavaScript (ORDER BY c, DISTINCT, IN with repeated values, OR of ranges).
 *
 * The digest is the harness's agreement check: with one client and a fixed number of events,
 * every engine runs the same statements on the same data, so every engine must return the same
 * digest; a different one means an adapter answers a statement differently (the tests check it).
 * It is cheap on purpose (a few characters of each string read), so it costs every engine alike
 * and little.
 */

/** A cheap fingerprint of a string read: its length and two of its characters. */
export function textDigest(text: string): number {
  return text.length + 7 * text.charCodeAt(3) + 13 * text.charCodeAt(text.length - 2);
}

/** The digest of a list of strings in order: position matters. */
export function orderedDigest(texts: readonly string[]): number {
  let sum = 0;
  for (let i = 0; i < texts.length; i++) sum += (i + 1) * textDigest(texts[i]!);
  return sum;
}

/** `SELECT c ... ORDER BY c`: the values sorted in binary order (SQLite's default collation). */
export function sortedDigest(texts: string[]): number {
  return orderedDigest(sortBinary(texts));
}

/**
 * `SELECT DISTINCT c ... ORDER BY c`: sorted, then each value once (equal values are neighbours
 * once sorted), as SQLite's sorter does it; no hash of every string.
 */
export function distinctSortedDigest(texts: string[]): number {
  sortBinary(texts);
  let kept = 0;
  for (let i = 0; i < texts.length; i++) {
    const text = texts[i]!;
    if (kept === 0 || text !== texts[kept - 1]) texts[kept++] = text;
  }
  texts.length = kept;
  return orderedDigest(texts);
}

/**
 * SQLite's BINARY order of two strings: memcmp of their UTF-8, which is code point order. It is
 * JavaScript's `<` (UTF-16 code units) except between a surrogate (a code point above U+FFFF)
 * and a unit from U+E000: the surrogate's code point is the larger.
 */
export function compareBinary(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0xd800 && y >= 0xd800) {
      // Surrogates (D800-DFFF) move above E000-FFFF: UTF-16 order becomes code point order.
      x += x < 0xe000 ? 0x2000 : -0x800;
      y += y < 0xe000 ? 0x2000 : -0x800;
    }
    return x - y;
  }
  return a.length - b.length;
}

/** A run of strings with one prefix key longer than this is sorted by `Array.prototype.sort`. */
const INSERTION_RUN_MAX = 16;
let prefixKeys = new Uint32Array(256);
const sortScratch: string[] = [];

/** The prefix key's byte for `text[i]`: the code unit capped at 255, 0 past the end. */
function prefixByte(text: string, i: number): number {
  return i < text.length ? Math.min(text.charCodeAt(i), 255) : 0;
}

/**
 * Sorts `texts` in place in SQLite's BINARY order (`compareBinary`) and returns it. A comparison
 * sort of strings through `Array.prototype.sort` costs about 10 us for 100 sysbench `c` values, as
 * much as reading them; SQLite sorts in C. So each string gets a 32-bit key, its first three code
 * units capped at 255 above its index, the keys are sorted as numbers (a typed array's native sort),
 * and only strings whose keys' prefixes tie are compared (`compareBinary`). The prefix never orders
 * two strings against their order: a shorter string's missing units are 0, and a capped unit (255
 * stands for U+00FF and every unit above it) zeroes the units after it, so two strings that differ
 * only past it tie. The result is exactly the comparison sort's.
 */
export function sortBinary(texts: string[]): string[] {
  const n = texts.length;
  if (n < 2) return texts;
  if (n > 65536) return texts.sort(compareBinary);
  // Up to 256 strings: three units of prefix above an 8-bit index; else two above a 16-bit one.
  const indexBits = n <= 256 ? 8 : 16;
  const prefixShift = indexBits - 8;
  if (prefixKeys.length < n) prefixKeys = new Uint32Array(2 * n);
  const keys = prefixKeys.subarray(0, n);
  const original = sortScratch;
  for (let i = 0; i < n; i++) {
    const text = texts[i]!;
    original[i] = text;
    // A capped byte (255) stands for many units, so the units after it must not order the key.
    const b0 = prefixByte(text, 0);
    const b1 = b0 === 255 ? 0 : prefixByte(text, 1);
    const b2 = b1 === 255 || b0 === 255 ? 0 : prefixByte(text, 2);
    const prefix = (b0 << 16) | (b1 << 8) | b2;
    keys[i] = (((prefix >>> prefixShift) << indexBits) | i) >>> 0;
  }
  keys.sort();
  const indexMask = (1 << indexBits) - 1;
  let runStart = 0;
  let runPrefix = -1;
  for (let j = 0; j <= n; j++) {
    const key = j < n ? keys[j]! : -1;
    const prefix = j < n ? key >>> indexBits : -1;
    if (prefix !== runPrefix) {
      if (j - runStart > 1) sortRun(texts, runStart, j);
      runPrefix = prefix;
      runStart = j;
    }
    if (j < n) texts[j] = original[key & indexMask]!;
  }
  original.length = 0;
  return texts;
}

/** Sorts texts[start, end), strings whose prefix keys tie, by `compareBinary`. */
function sortRun(texts: string[], start: number, end: number): void {
  if (end - start > INSERTION_RUN_MAX) {
    const run = texts.slice(start, end).sort(compareBinary);
    for (let i = 0; i < run.length; i++) texts[start + i] = run[i]!;
    return;
  }
  for (let j = start + 1; j < end; j++) {
    const text = texts[j]!;
    let at = j;
    while (at > start && compareBinary(texts[at - 1]!, text) > 0) {
      texts[at] = texts[at - 1]!;
      at--;
    }
    texts[at] = text;
  }
}

/**
 * `WHERE k IN (...)` matches each row once however often its k is listed: the values, first
 * occurrences in order. Up to 16 values are compared pairwise (a Set of sysbench's 10 cost more).
 */
export function distinctValues(values: readonly number[]): number[] {
  if (values.length > 16) return [...new Set(values)];
  const out: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const value = values[i]!;
    if (!out.includes(value)) out.push(value);
  }
  return out;
}

/**
 * `WHERE k BETWEEN a1 AND b1 OR k BETWEEN a2 AND b2 ...` counts each row once: the ranges merged
 * where they overlap or touch, in ascending order.
 */
export function mergeRanges(ranges: readonly (readonly [number, number])[]): [number, number][] {
  const sorted = ranges.map(([low, high]) => [low, high] as [number, number]).sort((a, b) => a[0] - b[0]);
  const merged: [number, number][] = [];
  for (const range of sorted) {
    const last = merged[merged.length - 1];
    if (last !== undefined && range[0] <= last[1] + 1) last[1] = Math.max(last[1], range[1]);
    else merged.push(range);
  }
  return merged;
}

/** Digests are summed modulo 2^48 so they stay exact integers however long the run. */
export function addDigest(total: number, digest: number): number {
  return (total + digest) % 2 ** 48;
}
