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
  return orderedDigest(texts.sort());
}

/** `SELECT DISTINCT c ... ORDER BY c`. */
export function distinctSortedDigest(texts: readonly string[]): number {
  return orderedDigest([...new Set(texts)].sort());
}

/** `WHERE k IN (...)` matches each row once however often its k is listed. */
export function distinctValues(values: readonly number[]): number[] {
  return [...new Set(values)];
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
