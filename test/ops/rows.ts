/** Rows of every column type, and an exact comparison (Object.is for floats), shared by the ops tests. */
import { expect } from 'vitest';
import type { Row } from '../../src/rec/row-format.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { RandomSource } from '../../src/util/random.js';

export const ALL_TYPES: TableSchema = {
  name: 'all_types',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'i', type: 'int32' },
    { name: 'big', type: 'int64', nullable: true },
    { name: 'f', type: 'float64', nullable: true },
    { name: 'flag', type: 'boolean', nullable: true },
    { name: 's', type: 'string', nullable: true },
    { name: 'raw', type: 'bytes', nullable: true },
    { name: 'doc', type: 'json', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_s', columns: ['s'] }],
};

const FLOATS = [0, -0, Number.NaN, Infinity, -Infinity, 0.1, -1.5e-300, 5e-324, Number.MAX_VALUE, 2 ** 53 + 2, Math.PI];
const STRINGS = [
  '',
  ' ',
  'a,b',
  'say "hi"',
  'line\nbreak',
  'cr\r\nlf',
  'tab\tand\\slash',
  "it's",
  'é😀𝄞',
  '\u0000nul',
  'null',
  'NULL',
];

export function allTypeRows(count: number, seed: number): Row[] {
  const random = new RandomSource(seed);
  const rows: Row[] = [];
  for (let n = 0; n < count; n++) {
    const k = n % 13;
    rows.push({
      id: BigInt(n) * 7919n - 50000n,
      i: [0, -2147483648, 2147483647, random.intBetween(-1000, 1000)][n % 4]!,
      big: k === 0 ? null : [-(2n ** 63n), 2n ** 63n - 1n, 0n, BigInt(random.int(1e9)) * 1000003n][n % 4]!,
      f: k === 1 ? null : FLOATS[n % FLOATS.length]!,
      flag: k === 2 ? null : n % 2 === 0,
      s: k === 3 ? null : `${STRINGS[n % STRINGS.length]!}${n % 5 === 0 ? '' : n}`,
      raw: k === 4 ? null : random.fill(new Uint8Array(n % 40)),
      doc:
        k === 5
          ? null
          : { n, list: [1, 'two', null, true, { deep: [n / 3] }], text: STRINGS[n % STRINGS.length]!, lone: '\ud800' },
    });
  }
  return rows;
}

export function expectSameRows(actual: readonly Row[], expected: readonly Row[]): void {
  expect(actual.length).toBe(expected.length);
  for (let r = 0; r < expected.length; r++) {
    for (const [name, want] of Object.entries(expected[r]!)) {
      const got = actual[r]![name];
      if (typeof want === 'number')
        expect(Object.is(got, want), `${name} of row ${r}: ${String(got)} vs ${String(want)}`).toBe(true);
      else expect(got, `${name} of row ${r}`).toEqual(want);
    }
  }
}
