/**
 * The adapters' ORDER BY and DISTINCT (bench/harness/engines/digest.ts) must order strings exactly
 * as SQLite's BINARY collation does (memcmp of the UTF-8), or the engines' digests would disagree
 * on data other than sysbench's digits. Checked against Buffer.compare of the UTF-8 bytes.
 */
import { describe, expect, it } from 'vitest';
import {
  compareBinary,
  distinctSortedDigest,
  distinctValues,
  orderedDigest,
  sortBinary,
} from '../../../bench/harness/engines/digest.js';

const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Strings from a small alphabet that makes ties, prefixes, NULs, Latin-1, BMP and astral units. */
function strings(count: number, seed: number): string[] {
  const alphabet = ['a', 'b', '\u0000', '\u00ff', '\u0100', '\ue000', '\uffff', '😀', '\u{10000}', 'é'];
  let x = seed;
  const next = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 8;
  };
  return Array.from({ length: count }, () => {
    let text = '';
    for (let i = next() % 6; i > 0; i--) text += alphabet[next() % alphabet.length];
    return text;
  });
}

describe('digest: ORDER BY and DISTINCT in binary order', () => {
  it('compareBinary is the order of the UTF-8 bytes, surrogates above U+E000', () => {
    const texts = strings(300, 1);
    for (let i = 0; i + 1 < texts.length; i++)
      expect(Math.sign(compareBinary(texts[i]!, texts[i + 1]!))).toBe(Math.sign(utf8Order(texts[i]!, texts[i + 1]!)));
    expect(compareBinary('\u{10000}', '\uffff')).toBeGreaterThan(0); // UTF-16's `<` says the opposite
  });

  it('sortBinary gives the comparison sort for few and many strings, with long runs of tied prefixes', () => {
    for (const [count, seed] of [
      [2, 3],
      [100, 4],
      [256, 5],
      [257, 6],
      [3000, 7],
    ] as const) {
      const texts = strings(count, seed);
      const expected = texts.slice().sort(utf8Order);
      expect(sortBinary(texts.slice())).toEqual(expected);
    }
    const tied = Array.from({ length: 50 }, (_, i) => `abc${(i * 37) % 50}`); // one prefix key: a run of 50
    expect(sortBinary(tied.slice())).toEqual(tied.slice().sort(utf8Order));
  });

  it('IN lists each value once, in first-seen order, short lists and long', () => {
    expect(distinctValues([5, 3, 5, 1, 3])).toEqual([5, 3, 1]);
    const long = Array.from({ length: 40 }, (_, i) => (i * 7) % 13);
    expect(distinctValues(long)).toEqual([...new Set(long)]);
  });

  it('DISTINCT keeps each value once, in order', () => {
    const texts = ['b', 'a', 'b', 'c', 'a', 'a'];
    expect(distinctSortedDigest(texts.slice())).toBe(orderedDigest(['a', 'b', 'c']));
  });
});
