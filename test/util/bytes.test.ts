/**
 * copyBytes (util/bytes.ts): the write path's copy of short byte runs gives what `set` gives,
 * below and above the length where it switches from a loop to a view.
 */
import { describe, expect, it } from 'vitest';
import { copyBytes } from '../../src/util/bytes.js';

describe('copyBytes', () => {
  it('copies exactly source[start, end) to target at `at`, on both sides of the loop threshold', () => {
    const source = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) & 0xff);
    for (const length of [0, 1, 2, 31, 32, 33, 64, 150]) {
      for (const start of [0, 5]) {
        const target = new Uint8Array(256).fill(0xee);
        copyBytes(target, 17, source, start, start + length);
        const expected = new Uint8Array(256).fill(0xee);
        expected.set(source.subarray(start, start + length), 17);
        expect(target).toEqual(expected);
      }
    }
  });
});
