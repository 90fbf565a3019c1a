/**
 * Memcomparable keys (src/rec/key-codec.ts): byte order equals the typed order (K1), fields are
 * prefix-free (K2), decode inverts encode (K3), the size limit holds (K4), and bad values raise
 * typed errors with stable codes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinnoError } from '../../src/errors.js';
import {
  compareBytes,
  compareKeys,
  compileKeySpec,
  decodeKey,
  encodeKey,
  encodeKeyInto,
  encodeKeyPrefix,
  encodeKeyPrefixInto,
  prefixSuccessor,
  prefixSuccessorInto,
  readKeyField,
  readUtf8,
  skipKeyFields,
  utf8Length,
  writeUtf8,
  type KeySpec,
} from '../../src/rec/key-codec.js';
import type { ColumnDef, KeyColumnType, KeyValue } from '../../src/rec/schema.js';

type Value = KeyValue | null;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const KEY_TYPES: readonly KeyColumnType[] = ['int32', 'int64', 'float64', 'boolean', 'string', 'bytes'];

/** Characters chosen to collide and to disagree between code-unit and code-point order. */
const trickyChar = fc.constantFrom(
  '\u0000',
  '\u0001',
  'a',
  'b',
  '\u00e9',
  '\uffff',
  '\u{10000}',
  '\u{1f600}',
  '\u{10ffff}',
);
const valueArbs: Record<KeyColumnType, fc.Arbitrary<KeyValue>> = {
  int32: fc.oneof(fc.integer(), fc.constantFrom(-(2 ** 31), 2 ** 31 - 1, -1, 0, 1)),
  int64: fc.oneof(
    fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
    fc.constantFrom(INT64_MIN, INT64_MAX, -1n, 0n, 1n, INT64_MIN + 1n, INT64_MAX - 1n),
    fc.integer({ min: -1000, max: 1000 }).map(BigInt),
  ),
  float64: fc.oneof(
    fc.double(),
    fc.constantFrom(
      0,
      -0,
      Number.NaN,
      Infinity,
      -Infinity,
      Number.MIN_VALUE,
      -Number.MIN_VALUE,
      Number.MAX_VALUE,
      -Number.MAX_VALUE,
      1,
      -1,
    ),
  ),
  boolean: fc.boolean(),
  string: fc.oneof(fc.string({ unit: trickyChar, maxLength: 5 }), fc.string({ unit: 'binary', maxLength: 12 })),
  bytes: fc.oneof(
    fc.uint8Array({ maxLength: 12 }),
    fc.array(fc.constantFrom(0, 1, 0xfe, 0xff), { maxLength: 5 }).map((bytes) => Uint8Array.from(bytes)),
  ),
};

const column = (type: KeyColumnType, nullable: boolean, i = 0): ColumnDef => ({ name: `k${i}`, type, nullable });
const specOf = (columns: readonly ColumnDef[]): KeySpec => compileKeySpec('test_index', columns, 1 << 14);
const valueFor = (col: ColumnDef): fc.Arbitrary<Value> =>
  col.nullable === true
    ? fc.option(valueArbs[col.type as KeyColumnType], { nil: null, freq: 4 })
    : valueArbs[col.type as KeyColumnType];

// Reference order of typed values (K1): NULL first, code points for strings, NaN last and equal.
function codePoints(text: string): number[] {
  return Array.from(text, (ch) => ch.codePointAt(0)!);
}
function compareArrays(a: ArrayLike<number>, b: ArrayLike<number>): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return Math.sign(a.length - b.length);
}
function compareValues(a: Value, b: Value): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) === Number.isNaN(b) ? 0 : Number.isNaN(a) ? 1 : -1;
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (typeof a === 'bigint' && typeof b === 'bigint') return a === b ? 0 : a < b ? -1 : 1;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return compareArrays(codePoints(a), codePoints(b));
  return compareArrays(a as Uint8Array, b as Uint8Array);
}
function compareTuples(a: readonly Value[], b: readonly Value[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const c = compareValues(a[i]!, b[i]!);
    if (c !== 0) return c;
  }
  return Math.sign(a.length - b.length);
}
/** What a value decodes to (K3). */
function normalized(value: Value): Value {
  if (typeof value === 'number' && value === 0) return 0;
  if (value instanceof Uint8Array) return Uint8Array.from(value);
  return value;
}

/** A random key spec (1 to 4 columns) with two value tuples for it, often sharing leading fields. */
const specAndPair = fc
  .array(fc.record({ type: fc.constantFrom(...KEY_TYPES), nullable: fc.boolean() }), { minLength: 1, maxLength: 4 })
  .chain((cols) => {
    const columns = cols.map((c, i) => column(c.type, c.nullable, i));
    const tuple = fc.tuple(...columns.map(valueFor));
    return fc.record({
      spec: fc.constant(specOf(columns)),
      a: tuple,
      b: tuple,
      shared: fc.integer({ min: 0, max: columns.length }),
    });
  })
  .map(({ spec, a, b, shared }) => ({ spec, a, b: [...a.slice(0, shared), ...b.slice(shared)] as Value[] }));

const sign = (n: number): number => Math.sign(n);
const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean =>
  prefix.length <= bytes.length && compareKeys(bytes, 0, prefix.length, prefix, 0, prefix.length) === 0;
const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MinnoError);
    return (error as MinnoError).code;
  }
  throw new Error('expected a MinnoError, nothing was thrown');
};

describe('K1 order: byte order equals typed order', () => {
  for (const type of KEY_TYPES) {
    for (const nullable of [false, true]) {
      it(`${type}${nullable ? ' nullable' : ''}`, () => {
        const spec = specOf([column(type, nullable)]);
        const arb = valueFor(spec.columns[0]!);
        fc.assert(
          fc.property(arb, arb, (a, b) => {
            expect(sign(compareBytes(encodeKey([a], spec), encodeKey([b], spec)))).toBe(compareValues(a, b));
          }),
          { numRuns: 400 },
        );
      });
    }
  }

  it('composite keys compare field by field', () => {
    fc.assert(
      fc.property(specAndPair, ({ spec, a, b }) => {
        expect(sign(compareBytes(encodeKey(a, spec), encodeKey(b, spec)))).toBe(compareTuples(a, b));
      }),
      { numRuns: 1000 },
    );
  });

  it('float64: a fixed ladder from -Infinity to NaN is strictly increasing; -0 is +0; all NaNs are one', () => {
    const spec = specOf([column('float64', false)]);
    const ladder = [
      -Infinity,
      -Number.MAX_VALUE,
      -1,
      -Number.MIN_VALUE,
      0,
      Number.MIN_VALUE,
      1,
      Number.MAX_VALUE,
      Infinity,
      Number.NaN,
    ];
    const encoded = ladder.map((v) => encodeKey([v], spec));
    for (let i = 1; i < encoded.length; i++) expect(compareBytes(encoded[i - 1]!, encoded[i]!)).toBeLessThan(0);
    expect(encodeKey([-0], spec)).toEqual(encodeKey([0], spec));
    // A negative NaN with a payload encodes like the canonical NaN.
    const odd = new Float64Array(new Uint8Array([1, 0, 0, 0, 0, 0, 0xf8, 0xff]).buffer)[0]!;
    expect(Number.isNaN(odd)).toBe(true);
    expect(encodeKey([odd], spec)).toEqual(encodeKey([Number.NaN], spec));
  });

  it('int64 extremes and numbers: -2^63 < -1 < 0 < 2^63-1; a safe number encodes as its bigint', () => {
    const spec = specOf([column('int64', false)]);
    const ladder = [INT64_MIN, -(2n ** 53n), -1n, 0n, 1n, 2n ** 53n, INT64_MAX].map((v) => encodeKey([v], spec));
    for (let i = 1; i < ladder.length; i++) expect(compareBytes(ladder[i - 1]!, ladder[i]!)).toBeLessThan(0);
    expect(encodeKey([INT64_MIN], spec)).toEqual(new Uint8Array(8));
    expect(encodeKey([INT64_MAX], spec)).toEqual(new Uint8Array(8).fill(0xff));
    for (const n of [0, -1, 1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, -(2 ** 32), 2 ** 32 + 5]) {
      expect(encodeKey([n], spec)).toEqual(encodeKey([BigInt(n)], spec));
    }
  });

  it('strings: code-point order, where JavaScript < (code units) disagrees', () => {
    const spec = specOf([column('string', false)]);
    // By code point U+FFFF < U+10000, though its UTF-16 code unit 0xFFFF is above the surrogate 0xD800.
    expect(compareBytes(encodeKey(['\uffff'], spec), encodeKey(['\u{10000}'], spec))).toBeLessThan(0);
    expect(compareBytes(encodeKey(['\u{10000}x'], spec), encodeKey(['\uffffx'], spec))).toBeGreaterThan(0);
    // Any two strings: the encoded order is exactly the code-point order.
    const codePointOrder = (a: string, b: string): number => {
      const x = Array.from(a, (c) => c.codePointAt(0)!);
      const y = Array.from(b, (c) => c.codePointAt(0)!);
      for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
      return x.length - y.length;
    };
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
        expect(
          Math.sign(compareBytes(encodeKey([a], spec), encodeKey([b], spec))),
          `${JSON.stringify(a)} vs ${JSON.stringify(b)}`,
        ).toBe(Math.sign(codePointOrder(a, b)));
      }),
      { numRuns: 500 },
    );
    const ladder = [
      '',
      '\u0000',
      '\u0000\u0000',
      '\u0000\u0001',
      '\u0001',
      'a',
      'a\u0000',
      'a\u0000b',
      'a\u0001',
      'ab',
      '\u00e9',
      '\uffff',
      '\u{10000}',
    ];
    const encoded = ladder.map((s) => encodeKey([s], spec));
    for (let i = 1; i < encoded.length; i++) expect(compareBytes(encoded[i - 1]!, encoded[i]!)).toBeLessThan(0);
  });

  it('composite fields do not bleed: ("a", "z") < ("ab", "") and ("", x) < ("\\0", y)', () => {
    const spec = specOf([column('string', false, 0), column('string', false, 1)]);
    expect(compareBytes(encodeKey(['a', 'z'], spec), encodeKey(['ab', ''], spec))).toBeLessThan(0);
    expect(compareBytes(encodeKey(['', '\u{10ffff}'], spec), encodeKey(['\u0000', ''], spec))).toBeLessThan(0);
    const bytes = specOf([column('bytes', false, 0), column('int32', false, 1)]);
    expect(
      compareBytes(
        encodeKey([new Uint8Array([1]), 2 ** 31 - 1], bytes),
        encodeKey([new Uint8Array([1, 0]), -(2 ** 31)], bytes),
      ),
    ).toBeLessThan(0);
  });

  it('NULL sorts before every value, including the smallest', () => {
    const spec = specOf([column('int64', true)]);
    expect(encodeKey([null], spec)).toEqual(new Uint8Array([0]));
    expect(encodeKey([undefined], spec)).toEqual(new Uint8Array([0]));
    expect(compareBytes(encodeKey([null], spec), encodeKey([INT64_MIN], spec))).toBeLessThan(0);
  });
});

describe('K3 round trip', () => {
  it('decode(encode(x)) = x, with -0 -> +0, NaN -> NaN, Buffer -> Uint8Array', () => {
    fc.assert(
      fc.property(specAndPair, ({ spec, a }) => {
        const decoded = decodeKey(encodeKey(a, spec), spec);
        expect(decoded).toEqual(a.map(normalized));
        decoded.forEach((value, i) => {
          if (a[i] === 0) expect(Object.is(value, 0)).toBe(true);
          if (a[i] instanceof Uint8Array) expect(Object.getPrototypeOf(value)).toBe(Uint8Array.prototype);
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('int64 numbers decode as bigint; a Buffer decodes as a plain Uint8Array', () => {
    const spec = specOf([column('int64', false, 0), column('bytes', false, 1)]);
    const decoded = decodeKey(encodeKey([-5, Buffer.from([0, 1, 0])], spec), spec);
    expect(decoded).toEqual([-5n, new Uint8Array([0, 1, 0])]);
    expect(Buffer.isBuffer(decoded[1])).toBe(false);
  });

  it('readKeyField and skipKeyFields agree with decodeKey, at an offset inside a larger buffer', () => {
    fc.assert(
      fc.property(specAndPair, fc.integer({ min: 0, max: 7 }), ({ spec, a }, offset) => {
        const buffer = new Uint8Array(offset + spec.maxBytes + 3).fill(0xaa);
        const length = encodeKeyInto(a, spec, buffer, offset);
        expect(buffer.subarray(offset, offset + length)).toEqual(encodeKey(a, spec));
        expect(buffer[offset + length]).toBe(0xaa);
        const end = offset + length;
        expect(skipKeyFields(buffer, offset, end, spec, 0, a.length)).toBe(end);
        a.forEach((value, field) => {
          expect(readKeyField(buffer, spec, field, offset, end)).toEqual(normalized(value));
        });
        expect(decodeKey(buffer, spec, offset, end)).toEqual(a.map(normalized));
      }),
      { numRuns: 300 },
    );
  });
});

describe('K2 prefixes and range bounds', () => {
  it('the encoding of leading values is a byte prefix of the full key, and decodes to those values', () => {
    fc.assert(
      fc.property(specAndPair, fc.nat(), ({ spec, a }, n) => {
        const k = n % (a.length + 1);
        const prefix = encodeKeyPrefix(a.slice(0, k), spec);
        expect(startsWith(encodeKey(a, spec), prefix)).toBe(true);
        expect(decodeKey(prefix, spec)).toEqual(a.slice(0, k).map(normalized));
        const into = new Uint8Array(spec.maxBytes + 2);
        expect(into.subarray(2, 2 + encodeKeyPrefixInto(a.slice(0, k), spec, into, 2))).toEqual(prefix);
      }),
      { numRuns: 500 },
    );
  });

  it('P <= key < successor(P) exactly for keys whose leading values equal the prefix; gt/lt map to S and P', () => {
    fc.assert(
      fc.property(specAndPair, fc.nat(), ({ spec, a, b }, n) => {
        const k = 1 + (n % a.length);
        const lead = a.slice(0, k);
        const P = encodeKeyPrefix(lead, spec);
        const S = prefixSuccessor(P);
        const key = encodeKey(b, spec);
        const cmp = compareTuples(b.slice(0, k), lead);
        const atLeastP = compareBytes(key, P) >= 0;
        const belowS = S === null || compareBytes(key, S) < 0;
        expect(atLeastP && belowS).toBe(cmp === 0); // = values
        expect(atLeastP).toBe(cmp >= 0); // >= values
        expect(!belowS).toBe(cmp > 0); // > values
        expect(belowS).toBe(cmp <= 0); // <= values
        expect(!atLeastP).toBe(cmp < 0); // < values
        expect(startsWith(key, P)).toBe(cmp === 0);
      }),
      { numRuns: 1000 },
    );
  });

  it('prefixSuccessor: increments the last byte below 0xFF, drops the 0xFF tail; none for all-0xFF or empty', () => {
    expect(prefixSuccessor(new Uint8Array([1, 2, 3]))).toEqual(new Uint8Array([1, 2, 4]));
    expect(prefixSuccessor(new Uint8Array([1, 0xff, 0xff]))).toEqual(new Uint8Array([2]));
    expect(prefixSuccessor(new Uint8Array([0xff, 0xff]))).toBeNull();
    expect(prefixSuccessor(new Uint8Array([]))).toBeNull();
    const original = new Uint8Array([7, 0xff]);
    prefixSuccessor(original);
    expect(original).toEqual(new Uint8Array([7, 0xff]));
    const inPlace = new Uint8Array([9, 9, 5, 0xff, 9]);
    expect(prefixSuccessorInto(inPlace, 1, 3)).toBe(2);
    expect(inPlace).toEqual(new Uint8Array([9, 9, 6, 0xff, 9]));
    expect(prefixSuccessorInto(inPlace, 3, 1)).toBe(-1);
    // int32 max is all 0xFF: "> max" is an empty range, "<= max" is unbounded.
    expect(
      prefixSuccessor(encodeKeyPrefix([2 ** 31 - 1], specOf([column('int32', false, 0), column('int32', false, 1)]))),
    ).toBeNull();
  });
});

describe('K4 key size limit', () => {
  const spec = compileKeySpec('idx_name', [column('string', false, 0), column('int32', false, 1)], 16);

  it('a key at the limit encodes; one byte over is ERR_KEY_TOO_LARGE naming the index, the limit and the size', () => {
    expect(encodeKey(['x'.repeat(10), 1], spec).length).toBe(16);
    let error: unknown;
    try {
      encodeKey(['x'.repeat(11), 1], spec);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_KEY_TOO_LARGE', index: 'idx_name', limitBytes: 16 });
    expect((error as Error).message).toMatch(/idx_name.*17 bytes.*limit is 16/);
  });

  it('writes nothing past offset + maxBytes', () => {
    const buffer = new Uint8Array(40).fill(0xaa);
    expect(codeOf(() => encodeKeyInto(['\u{1f600}'.repeat(20), 1], spec, buffer, 4))).toBe('ERR_KEY_TOO_LARGE');
    expect([...buffer.subarray(20)].every((b) => b === 0xaa)).toBe(true);
  });

  it('a bad value after the overflow point is reported as itself', () => {
    expect(codeOf(() => encodeKey(['x'.repeat(40), 'not a number'], spec))).toBe('ERR_TYPE_MISMATCH');
  });

  it('refuses a buffer without room for maxBytes', () => {
    expect(codeOf(() => encodeKeyInto(['a', 1], spec, new Uint8Array(20), 5))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('bad input: typed errors with stable codes', () => {
  const cases: [KeyColumnType, boolean, unknown, string][] = [
    ['int32', false, 1.5, 'ERR_TYPE_MISMATCH'],
    ['int32', false, 1n, 'ERR_TYPE_MISMATCH'],
    ['int32', false, '1', 'ERR_TYPE_MISMATCH'],
    ['int32', false, Number.NaN, 'ERR_TYPE_MISMATCH'],
    ['int32', false, 2 ** 31, 'ERR_OUT_OF_RANGE'],
    ['int32', false, -(2 ** 31) - 1, 'ERR_OUT_OF_RANGE'],
    ['int32', false, null, 'ERR_NOT_NULL'],
    ['int32', false, undefined, 'ERR_NOT_NULL'],
    ['int64', false, 2n ** 63n, 'ERR_OUT_OF_RANGE'],
    ['int64', false, -(2n ** 63n) - 1n, 'ERR_OUT_OF_RANGE'],
    ['int64', false, 2 ** 53, 'ERR_TYPE_MISMATCH'],
    ['int64', false, 0.5, 'ERR_TYPE_MISMATCH'],
    ['int64', false, '5', 'ERR_TYPE_MISMATCH'],
    ['float64', false, 1n, 'ERR_TYPE_MISMATCH'],
    ['float64', false, '1.0', 'ERR_TYPE_MISMATCH'],
    ['boolean', false, 1, 'ERR_TYPE_MISMATCH'],
    ['string', false, 5, 'ERR_TYPE_MISMATCH'],
    ['string', false, 'a\ud800b', 'ERR_TYPE_MISMATCH'],
    ['string', false, '\udc00', 'ERR_TYPE_MISMATCH'],
    ['string', false, 'x\ud83d', 'ERR_TYPE_MISMATCH'],
    ['bytes', false, [1, 2], 'ERR_TYPE_MISMATCH'],
    ['bytes', false, new Uint16Array(2), 'ERR_TYPE_MISMATCH'],
    ['bytes', false, null, 'ERR_NOT_NULL'],
  ];
  for (const [type, nullable, value, code] of cases) {
    it(`${type}: ${String(value)} -> ${code}`, () => {
      expect(codeOf(() => encodeKey([value], specOf([{ name: 'col_x', type, nullable }])))).toBe(code);
    });
  }

  it('messages name the column and say what to pass', () => {
    expect(() => encodeKey([1.5], specOf([{ name: 'qty', type: 'int32' }]))).toThrow(/"qty".*integer/);
    expect(() => encodeKey([2 ** 40], specOf([{ name: 'qty', type: 'int32' }]))).toThrow(/"qty".*int64/);
    expect(() => encodeKey([null], specOf([{ name: 'qty', type: 'int32' }]))).toThrow(/"qty".*NOT NULL/);
    expect(() => encodeKey(['a\ud800'], specOf([{ name: 'title', type: 'string' }]))).toThrow(
      /"title".*lone surrogate/,
    );
  });

  it('maxLength: strings count code points, bytes count bytes', () => {
    const strings = specOf([{ name: 's', type: 'string', maxLength: 3 }]);
    expect(decodeKey(encodeKey(['\u{1f600}'.repeat(3)], strings), strings)).toEqual(['\u{1f600}'.repeat(3)]);
    expect(codeOf(() => encodeKey(['\u{1f600}'.repeat(4)], strings))).toBe('ERR_VALUE_TOO_LARGE');
    expect(() => encodeKey(['abcd'], strings)).toThrow(/"s".*4 characters exceeds maxLength 3/);
    const bytes = specOf([{ name: 'b', type: 'bytes', maxLength: 2 }]);
    expect(codeOf(() => encodeKey([new Uint8Array(3)], bytes))).toBe('ERR_VALUE_TOO_LARGE');
  });

  it('the wrong number of values, and json or empty key specs, are ERR_INVALID_ARGUMENT', () => {
    const spec = specOf([column('int32', false, 0), column('int32', false, 1)]);
    expect(codeOf(() => encodeKey([1], spec))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => encodeKeyPrefix([1, 2, 3], spec))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => compileKeySpec('j', [{ name: 'doc', type: 'json' }]))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => compileKeySpec('none', []))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => compileKeySpec('zero', [column('int32', false)], 0))).toBe('ERR_INVALID_ARGUMENT');
  });
});

describe('golden bytes (the format is stored on disk)', () => {
  it('one key of every type', () => {
    const spec = specOf(KEY_TYPES.map((type, i) => column(type, i === 0, i)));
    const key = encodeKey([-1, -2n, -1.5, true, 'a\u0000', new Uint8Array([0, 7])], spec);
    expect([...key]).toEqual([
      0x01,
      0x7f,
      0xff,
      0xff,
      0xff, // nullable int32 -1: marker, sign flipped
      0x7f,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xfe, // int64 -2
      0x40,
      0x07,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff, // float64 -1.5 (0xBFF8...) inverted
      0x01, // true
      0x61,
      0x00,
      0xff,
      0x00,
      0x01, // 'a', escaped NUL, terminator
      0x00,
      0xff,
      0x07,
      0x00,
      0x01, // bytes [0, 7]
    ]);
  });
});

describe('the hand-written UTF-8 codec', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 80 }); // both sides of UTF8_NATIVE_MIN_UNITS
  it('writeUtf8 (unescaped) writes what TextEncoder writes; utf8Length counts it; readUtf8 reads it back', () => {
    fc.assert(
      fc.property(anyText, fc.integer({ min: 0, max: 4 }), (text, offset) => {
        const want = new TextEncoder().encode(text);
        const out = new Uint8Array(offset + 4 * text.length + 1);
        const end = writeUtf8('col', text, out, offset, out.length, false);
        expect(out.subarray(offset, end)).toEqual(want);
        expect(utf8Length(text)).toBe(want.length);
        expect(readUtf8(out, offset, end)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });

  it('utf8Length counts a lone surrogate as TextEncoder does (U+FFFD, 3 bytes)', () => {
    for (const text of ['\ud800', 'a\udc00b', '\ud83d\ud83d', '\u{1f600}\ud800']) {
      expect(utf8Length(text)).toBe(new TextEncoder().encode(text).length);
    }
  });

  it('returns -1 at the bound, exactly: a character that does not fit entirely is not written', () => {
    for (const lead of ['ab', 'a'.repeat(40)]) {
      const text = `${lead}\u{1f600}`;
      const out = new Uint8Array(lead.length + 6).fill(0xaa);
      expect(writeUtf8('col', text, out, 0, lead.length + 3, false)).toBe(-1);
      expect([...out.subarray(lead.length)]).toEqual([0xaa, 0xaa, 0xaa, 0xaa, 0xaa, 0xaa]);
      expect(writeUtf8('col', text, out, 0, lead.length + 4, false)).toBe(lead.length + 4);
    }
  });

  it('refuses lone surrogates on both paths, and accepts pairs', () => {
    for (const lead of ['', 'a'.repeat(40)]) {
      for (const bad of ['\ud800', '\udc00', '\ud800a', '\udc00\ud800']) {
        expect(() => writeUtf8('col', lead + bad, new Uint8Array(200), 0, 200, false)).toThrow(/"col".*lone surrogate/);
      }
      expect(writeUtf8('col', `${lead}\u{1f600}`, new Uint8Array(200), 0, 200, false)).toBe(lead.length + 4);
    }
  });
});
