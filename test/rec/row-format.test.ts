/**
 * The row format (src/rec/row-format.ts): rows of random schemas round-trip through the value and
 * the key, one column reads alone, trailing fields added later read as NULL, the hidden DB_TRX_ID
 * and DB_ROLL_PTR are patched in place, secondary entries carry the primary key, and bad rows raise
 * typed errors naming the column.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MinnoError } from '../../src/errors.js';
import { compareBytes, decodeKey, encodeKeyPrefix } from '../../src/rec/key-codec.js';
import {
  columnIndex,
  compileTable,
  decodeRow,
  decodeRowAt,
  encodePrimaryKey,
  encodeRow,
  encodeRowInto,
  encodeSecondaryKey,
  encodeSecondaryKeyInto,
  extractPrimaryKeyFromSecondary,
  isDeleteMarked,
  limitsForPageSize,
  primaryKeyOffsetInSecondary,
  readColumn,
  readKeyColumn,
  readRollPtr,
  readTrxId,
  ROW_BYTES_LIMIT,
  ROW_ROLL_PTR_OFFSET,
  ROW_TRX_ID_OFFSET,
  setDeleteMarkInto,
  writeRollPtrInto,
  writeTrxIdInto,
  type Row,
  type TableLayout,
} from '../../src/rec/row-format.js';
import {
  COLUMN_TYPES,
  type ColumnDef,
  type ColumnType,
  type ColumnValue,
  type TableSchema,
} from '../../src/rec/schema.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

const valueArbs: Record<ColumnType, fc.Arbitrary<ColumnValue>> = {
  int32: fc.integer(),
  int64: fc.oneof(
    fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
    fc.constantFrom(INT64_MIN, INT64_MAX),
    fc.maxSafeInteger(),
  ),
  float64: fc.oneof(fc.double(), fc.constantFrom(-0, Number.NaN, -Infinity)),
  boolean: fc.boolean(),
  // Short strings take the hand-written UTF-8 loop, long ones (over 32 units) TextEncoder.encodeInto.
  string: fc.string({ unit: fc.constantFrom('a', '\u0000', '\u00e9', '\uffff', '\u{1f600}'), maxLength: 50 }),
  bytes: fc.uint8Array({ maxLength: 10 }),
  json: fc.jsonValue({ maxDepth: 2 }).filter((value) => value !== null) as fc.Arbitrary<ColumnValue>,
};

/** What a column reads back as: int64 always bigint; json as JSON.parse(JSON.stringify(v)) (-0 is 0); in the key, -0 is +0 (K3). */
function expected(column: ColumnDef, value: ColumnValue | undefined, inKey: boolean): ColumnValue | null {
  if (value === undefined || value === null) return null;
  if (column.type === 'int64') return BigInt(value as number | bigint);
  if (column.type === 'json') return JSON.parse(JSON.stringify(value)) as ColumnValue;
  if (inKey && value === 0) return 0;
  return value;
}

/** A random valid schema: 1 to 9 columns, a composite primary key of non-json columns, 0 to 3 indexes. */
const schemaArb: fc.Arbitrary<TableSchema> = fc
  .tuple(
    fc.constantFrom(...COLUMN_TYPES.filter((t) => t !== 'json')),
    fc.array(fc.record({ type: fc.constantFrom(...COLUMN_TYPES), nullable: fc.boolean() }), { maxLength: 8 }),
  )
  .chain(([firstType, rest]) => {
    const raw = [{ type: firstType, nullable: false }, ...rest];
    const keyable = raw.flatMap((c, i) => (c.type === 'json' ? [] : [`c${i}`]));
    const most = Math.min(3, keyable.length);
    return fc.record({
      raw: fc.constant(raw),
      primaryKey: fc.shuffledSubarray(keyable, { minLength: 1, maxLength: most }),
      indexes: fc.array(
        fc.record({ columns: fc.shuffledSubarray(keyable, { minLength: 1, maxLength: most }), unique: fc.boolean() }),
        { maxLength: 3 },
      ),
    });
  })
  .map(({ raw, primaryKey, indexes }) => ({
    name: 'random_table',
    columns: raw.map(
      (c, i): ColumnDef => ({ name: `c${i}`, type: c.type, nullable: c.nullable && !primaryKey.includes(`c${i}`) }),
    ),
    primaryKey,
    indexes: indexes.map((index, i) => ({ name: `idx${i}`, ...index })),
  }));

const rowArb = (schema: TableSchema): fc.Arbitrary<Row> =>
  fc.record(
    Object.fromEntries(
      schema.columns.map((c) => [
        c.name,
        c.nullable === true ? fc.option(valueArbs[c.type], { nil: null, freq: 4 }) : valueArbs[c.type],
      ]),
    ),
  ) as fc.Arbitrary<Row>;

const schemaAndRow = schemaArb.chain((schema) => fc.record({ schema: fc.constant(schema), row: rowArb(schema) }));

const trxIdArb = fc.integer({ min: 0, max: 2 ** 48 - 1 });
const rollPtrArb = fc.bigInt({ min: 0n, max: 2n ** 56n - 1n });

function expectedRow(layout: TableLayout, row: Row): Record<string, ColumnValue | null> {
  return Object.fromEntries(
    layout.schema.columns.map((c) => [c.name, expected(c, row[c.name], layout.schema.primaryKey.includes(c.name))]),
  );
}

/** Asserts that `fn` throws a MinnoError with this stable code. */
const expectCode = (fn: () => unknown, code: string): void => {
  expect(fn).toThrow(MinnoError);
  expect(fn).toThrow(expect.objectContaining({ code }) as Error);
};

const sbtest: TableSchema = {
  name: 'sbtest1',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'k', type: 'int32' },
    { name: 'c', type: 'string', maxLength: 120 },
    { name: 'pad', type: 'string', maxLength: 60 },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'k_1', columns: ['k'] }],
};

describe('round trip on random schemas', () => {
  it('decodeRow(encodeRow(row)) gives every column back; readColumn / readKeyColumn read each alone', () => {
    fc.assert(
      fc.property(schemaAndRow, trxIdArb, rollPtrArb, ({ schema, row }, trxId, rollPtr) => {
        const layout = compileTable(schema);
        const { key, value } = encodeRow(layout, row, trxId, rollPtr);
        const want = expectedRow(layout, row);
        expect(decodeRow(layout, key, value)).toEqual(want);
        expect(Object.keys(decodeRow(layout, key, value))).toEqual(schema.columns.map((c) => c.name));
        schema.columns.forEach((c, i) => {
          const got =
            layout.keyPosition[i]! >= 0
              ? readKeyColumn(layout, key, 0, key.length, i)
              : readColumn(layout, value, 0, value.length, i);
          expect(got).toEqual(want[c.name]);
        });
        expect(readTrxId(value)).toBe(trxId);
        expect(readRollPtr(value)).toBe(rollPtr);
        expect(isDeleteMarked(value)).toBe(false);
        expect(encodePrimaryKey(layout, row)).toEqual(key);
      }),
      { numRuns: 500 },
    );
  });

  it('W3: encoding into a dirty buffer at an offset gives the same bytes; decodeRowAt reads them in place', () => {
    fc.assert(
      fc.property(schemaAndRow, fc.integer({ min: 0, max: 9 }), ({ schema, row }, offset) => {
        const layout = compileTable(schema);
        const { key, value } = encodeRow(layout, row, 7, 9n);
        const page = new Uint8Array(offset + layout.maxRowBytes + 8).fill(0xa5);
        const length = encodeRowInto(layout, row, 7, 9n, page, offset, key.length);
        expect(page.subarray(offset, offset + length)).toEqual(value);
        expect(page[offset + length]).toBe(0xa5);
        const both = new Uint8Array([...key, ...value]);
        expect(decodeRowAt(layout, both, 0, key.length, both, key.length, value.length)).toEqual(
          decodeRow(layout, key, value),
        );
      }),
      { numRuns: 200 },
    );
  });

  it('W4: rows written before columns were appended read the new columns as NULL', () => {
    const appended = fc.array(fc.constantFrom(...COLUMN_TYPES), { minLength: 1, maxLength: 10 });
    fc.assert(
      fc.property(schemaAndRow, appended, ({ schema, row }, types) => {
        const old = compileTable(schema);
        const extra = types.map((type, i): ColumnDef => ({ name: `added${i}`, type, nullable: true }));
        const grown = compileTable({ ...schema, columns: [...schema.columns, ...extra] });
        const { key, value } = encodeRow(old, row, 1, 0n);
        const decoded = decodeRow(grown, key, value);
        expect(decoded).toEqual({ ...expectedRow(old, row), ...Object.fromEntries(extra.map((c) => [c.name, null])) });
        extra.forEach((c) => expect(readColumn(grown, value, 0, value.length, columnIndex(grown, c.name))).toBeNull());
      }),
      { numRuns: 200 },
    );
  });
});

describe('secondary-index entries', () => {
  it('key = index columns + primary key; the primary key is extracted as a view; the prefix bounds it', () => {
    fc.assert(
      fc.property(schemaAndRow, ({ schema, row }) => {
        const layout = compileTable(schema);
        const primary = encodePrimaryKey(layout, row);
        layout.indexes.forEach((index, i) => {
          const entry = encodeSecondaryKey(layout, i, row);
          const pk = extractPrimaryKeyFromSecondary(layout, i, entry);
          expect(pk).toEqual(primary);
          expect(pk.buffer).toBe(entry.buffer);
          expect(primaryKeyOffsetInSecondary(layout, i, entry, 0, entry.length)).toBe(entry.length - primary.length);
          const secondaryValues = index.def.columns.map((name) => row[name] ?? null);
          const prefix = encodeKeyPrefix(secondaryValues, index.spec);
          expect(compareBytes(entry.subarray(0, prefix.length), prefix)).toBe(0);
          const names = [...index.def.columns, ...schema.primaryKey];
          const columns = names.map((name) => schema.columns.find((c) => c.name === name)!);
          expect(decodeKey(entry, index.spec)).toEqual(names.map((name, f) => expected(columns[f]!, row[name], true)));
          const buffer = new Uint8Array(layout.maxKeyBytes + 3);
          expect(buffer.subarray(3, 3 + encodeSecondaryKeyInto(layout, i, row, buffer, 3))).toEqual(entry);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('a secondary key too large names the index', () => {
    const layout = compileTable({ ...sbtest, indexes: [{ name: 'by_c', columns: ['c'] }] }, { maxKeyBytes: 64 });
    const error = (() => {
      try {
        encodeSecondaryKey(layout, 0, { id: 1n, k: 1, c: 'x'.repeat(100), pad: '' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'ERR_KEY_TOO_LARGE', index: 'by_c', limitBytes: 64 });
    expectCode(() => encodeSecondaryKey(layout, 1, { id: 1n }), 'ERR_INVALID_ARGUMENT');
  });
});

describe('hidden columns and the delete mark, in place', () => {
  it('writeTrxIdInto / writeRollPtrInto patch only their bytes, at their fixed offsets', () => {
    fc.assert(
      fc.property(trxIdArb, rollPtrArb, fc.integer({ min: 0, max: 5 }), (trxId, rollPtr, offset) => {
        const layout = compileTable(sbtest);
        const row = { id: 42n, k: 3, c: 'see', pad: 'pad' };
        const { key, value } = encodeRow(layout, row, 1, 1n);
        const page = new Uint8Array(offset + value.length);
        page.set(value, offset);
        const before = page.slice();
        writeTrxIdInto(page, offset, trxId);
        writeRollPtrInto(page, offset, rollPtr);
        expect(readTrxId(page, offset)).toBe(trxId);
        expect(readRollPtr(page, offset)).toBe(rollPtr);
        for (let i = 0; i < page.length; i++) {
          const hidden = i >= offset + ROW_TRX_ID_OFFSET && i < offset + ROW_ROLL_PTR_OFFSET + 7;
          if (!hidden) expect(page[i]).toBe(before[i]);
        }
        expect(decodeRowAt(layout, key, 0, key.length, page, offset, value.length)).toEqual({ ...row, id: 42n });
        expect(page.subarray(offset)).toEqual(encodeRow(layout, row, trxId, rollPtr).value);
      }),
      { numRuns: 200 },
    );
  });

  it('extremes: trx id 2^48-1 and roll ptr 2^56-1 fit; beyond them is a bug (assertion)', () => {
    const value = encodeRow(compileTable(sbtest), { id: 1n, k: 1, c: '', pad: '' }, 2 ** 48 - 1, 2n ** 56n - 1n).value;
    expect([...value.subarray(1, 14)]).toEqual(new Array(13).fill(0xff));
    expect(readTrxId(value)).toBe(2 ** 48 - 1);
    expect(() => writeTrxIdInto(value, 0, 2 ** 48)).toThrow(/W6/);
    expect(() => writeRollPtrInto(value, 0, 2n ** 56n)).toThrow(/W6/);
    expect(() => writeRollPtrInto(value, 0, -1n)).toThrow(/W6/);
  });

  it('the delete mark sets and clears bit 0x20 of INFO and nothing else; a marked row still decodes', () => {
    const layout = compileTable(sbtest);
    const { key, value } = encodeRow(layout, { id: 1n, k: 2, c: 'c', pad: 'p' }, 5, 6n);
    const clean = value.slice();
    setDeleteMarkInto(value, 0, true);
    expect(isDeleteMarked(value)).toBe(true);
    expect(value[0]).toBe(0x21);
    expect(decodeRow(layout, key, value)).toEqual({ id: 1n, k: 2, c: 'c', pad: 'p' });
    setDeleteMarkInto(value, 0, false);
    expect(value).toEqual(clean);
  });
});

describe('golden bytes (the format is stored on disk)', () => {
  it('a row of every type', () => {
    const layout = compileTable({
      name: 'golden',
      columns: [
        { name: 'id', type: 'int32' },
        { name: 's', type: 'string' },
        { name: 'i', type: 'int32', nullable: true },
        { name: 'b', type: 'bytes' },
        { name: 'big', type: 'int64' },
        { name: 'f', type: 'float64' },
        { name: 'ok', type: 'boolean' },
        { name: 'j', type: 'json', nullable: true },
      ],
      primaryKey: ['id'],
      indexes: [],
    });
    const { key, value } = encodeRow(
      layout,
      { id: 1, s: 'hi', i: null, b: new Uint8Array([9]), big: -2n, f: -0, ok: true, j: [1] },
      0x010203040506,
      0x0708090a0b0c0dn,
    );
    expect([...key]).toEqual([0x80, 0, 0, 1]);
    expect([...value]).toEqual([
      0x01, // INFO: version 1
      0x01,
      0x02,
      0x03,
      0x04,
      0x05,
      0x06, // DB_TRX_ID
      0x07,
      0x08,
      0x09,
      0x0a,
      0x0b,
      0x0c,
      0x0d, // DB_ROLL_PTR
      0x00,
      0x07, // N_FIELDS: s i b big f ok j
      0b0000_0010, // NULLS: field 1 (i)
      0x00,
      0x02,
      0x00,
      0x03,
      0x00,
      0x06, // VAR_ENDS: s ends at 2, b at 3, j at 6
      0x00,
      0x00,
      0x00,
      0x00, // i (NULL: zeros)
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xff,
      0xfe, // big -2
      0x80,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00,
      0x00, // f -0 kept exactly
      0x01, // ok
      0x68,
      0x69,
      0x09,
      0x5b,
      0x31,
      0x5d, // "hi", [9], "[1]"
    ]);
    expect(Object.is(readColumn(layout, value, 0, value.length, 5), -0)).toBe(true);
  });
});

describe('row size limit', () => {
  const layout = compileTable(
    {
      name: 'docs',
      columns: [
        { name: 'id', type: 'int64' },
        { name: 'title', type: 'string' },
        { name: 'body', type: 'string' },
      ],
      primaryKey: ['id'],
      indexes: [],
    },
    { maxRowBytes: 100 },
  );
  // Key 8 + header 16 + bitmap 1 + ends 4 = 29 bytes before the strings: 71 bytes of text fit.

  it('a row exactly at the limit (key + value) is accepted; one byte more is refused', () => {
    const { key, value } = encodeRow(layout, { id: 1n, title: 'x', body: 'y'.repeat(70) }, 1, 0n);
    expect(key.length + value.length).toBe(100);
    expectCode(() => encodeRow(layout, { id: 1n, title: 'x', body: 'y'.repeat(71) }, 1, 0n), 'ERR_VALUE_TOO_LARGE');
  });

  it('ERR_VALUE_TOO_LARGE names the largest column and the limit', () => {
    let error: unknown;
    try {
      encodeRow(layout, { id: 1n, title: 'x'.repeat(30), body: '\u00e9'.repeat(40) }, 1, 0n);
    } catch (e) {
      error = e;
    }
    expect(error).toMatchObject({ code: 'ERR_VALUE_TOO_LARGE', column: 'body', limit: 100 });
    expect((error as Error).message).toMatch(/"body".*139 bytes.*limit of 100 bytes.*\(80 bytes\)/);
  });

  it('writes nothing past offset + maxRowBytes - keyLength', () => {
    const page = new Uint8Array(200).fill(0xa5);
    expectCode(
      () => encodeRowInto(layout, { id: 1n, title: '', body: 'z'.repeat(500) }, 1, 0n, page, 10, 8),
      'ERR_VALUE_TOO_LARGE',
    );
    expect([...page.subarray(10 + 100 - 8)].every((b) => b === 0xa5)).toBe(true);
  });

  it('a json value too large is refused the same way', () => {
    expect(() =>
      encodeRow(
        compileTable(
          {
            name: 't',
            columns: [
              { name: 'id', type: 'int32' },
              { name: 'doc', type: 'json' },
            ],
            primaryKey: ['id'],
            indexes: [],
          },
          { maxRowBytes: 64 },
        ),
        { id: 1, doc: { text: 'x'.repeat(64) } },
        1,
        0n,
      ),
    ).toThrow(expect.objectContaining({ code: 'ERR_VALUE_TOO_LARGE', column: 'doc' }) as Error);
  });

  it('the primary key over its limit is ERR_KEY_TOO_LARGE naming PRIMARY', () => {
    const small = compileTable(
      { ...sbtest, columns: [{ name: 'id', type: 'string' }, ...sbtest.columns.slice(1)] },
      { maxKeyBytes: 16 },
    );
    expect(() => encodeRow(small, { id: 'x'.repeat(20), k: 1, c: '', pad: '' }, 1, 0n)).toThrow(
      expect.objectContaining({ code: 'ERR_KEY_TOO_LARGE', index: 'PRIMARY' }) as Error,
    );
  });

  it('limits for page sizes follow InnoDB (3072-byte keys and 8126-byte rows at 16 KiB)', () => {
    expect(limitsForPageSize(16384)).toEqual({ maxKeyBytes: 3072, maxRowBytes: 8126 });
    expect(limitsForPageSize(4096)).toEqual({ maxKeyBytes: 768, maxRowBytes: 1982 });
    expect(limitsForPageSize(65536)).toEqual({ maxKeyBytes: 3072, maxRowBytes: 32702 });
  });

  it('compileTable refuses limits it cannot honour, and schemas whose fixed part alone is over the limit', () => {
    expectCode(() => compileTable(sbtest, { maxRowBytes: ROW_BYTES_LIMIT + 1 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => compileTable(sbtest, { maxRowBytes: 1.5 }), 'ERR_INVALID_ARGUMENT');
    expectCode(() => compileTable(sbtest, { maxKeyBytes: 0 }), 'ERR_INVALID_ARGUMENT');
    const wide: TableSchema = {
      name: 'wide',
      columns: Array.from({ length: 1000 }, (_, i) => ({ name: `c${i}`, type: 'int64' as const })),
      primaryKey: ['c0'],
      indexes: [],
    };
    expect(() => compileTable(wide)).toThrow(/W5: a row takes at least 8133 bytes.*limit is 8126/);
  });
});

describe('bad rows: typed errors naming the column', () => {
  const layout = compileTable({
    ...sbtest,
    columns: [
      ...sbtest.columns,
      { name: 'doc', type: 'json', nullable: true },
      { name: 'n', type: 'float64', nullable: true },
    ],
  });
  const good = { id: 1n, k: 1, c: 'c', pad: 'p' };
  const cases: [string, Row, string, string][] = [
    ['an unknown column', { ...good, kk: 1 }, 'ERR_UNKNOWN_COLUMN', 'kk'],
    ['a missing NOT NULL column', { id: 1n, k: 1, c: 'c' }, 'ERR_NOT_NULL', 'pad'],
    ['null in a NOT NULL column', { ...good, c: null }, 'ERR_NOT_NULL', 'c'],
    ['a missing primary-key column', { k: 1, c: 'c', pad: 'p' }, 'ERR_NOT_NULL', 'id'],
    ['a number for a string', { ...good, pad: 5 }, 'ERR_TYPE_MISMATCH', 'pad'],
    ['a non-integer int32', { ...good, k: 2.5 }, 'ERR_TYPE_MISMATCH', 'k'],
    ['an int32 out of range', { ...good, k: 2 ** 31 }, 'ERR_OUT_OF_RANGE', 'k'],
    ['an unsafe number for int64', { ...good, id: 2 ** 60 }, 'ERR_TYPE_MISMATCH', 'id'],
    ['a bigint for float64', { ...good, n: 1n }, 'ERR_TYPE_MISMATCH', 'n'],
    ['a bigint inside json', { ...good, doc: { n: 1n } } as never, 'ERR_TYPE_MISMATCH', 'doc'],
    ['a string over maxLength', { ...good, pad: 'p'.repeat(61) }, 'ERR_VALUE_TOO_LARGE', 'pad'],
    ['a lone surrogate', { ...good, c: '\ud800' }, 'ERR_TYPE_MISMATCH', 'c'],
    ['a lone surrogate in a long string', { ...good, c: `${'x'.repeat(40)}\u{1f600}\udc00` }, 'ERR_TYPE_MISMATCH', 'c'],
  ];
  for (const [what, row, code, column] of cases) {
    it(`${what}: ${code}`, () => {
      let error: unknown;
      try {
        encodeRow(layout, row, 1, 0n);
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code, column });
    });
  }

  it('unknown column messages list the table columns', () => {
    expect(() => encodeRow(layout, { ...good, Pad: 'x' }, 1, 0n)).toThrow(
      /table "sbtest1" has no column "Pad"; its columns are "id", "k", "c", "pad"/,
    );
    expectCode(() => columnIndex(layout, 'nope'), 'ERR_UNKNOWN_COLUMN');
  });

  it('readColumn refuses key columns and readKeyColumn non-key ones, pointing at the other', () => {
    const { key, value } = encodeRow(layout, good, 1, 0n);
    expect(() => readColumn(layout, value, 0, value.length, 0)).toThrow(
      /"id" is a primary-key column; read it from the key with readKeyColumn/,
    );
    expect(() => readKeyColumn(layout, key, 0, key.length, 1)).toThrow(/"k" is not a primary-key column/);
    expectCode(() => readColumn(layout, value, 0, value.length, 99), 'ERR_INVALID_ARGUMENT');
  });

  it('W1: a row with an unknown format version is ERR_INCOMPATIBLE_FORMAT, not data', () => {
    const { key, value } = encodeRow(layout, good, 1, 0n);
    value[0] = 0x02;
    expectCode(() => decodeRow(layout, key, value), 'ERR_INCOMPATIBLE_FORMAT');
    expectCode(() => readColumn(layout, value, 0, value.length, 1), 'ERR_INCOMPATIBLE_FORMAT');
  });

  it('W2: a value whose length disagrees with its fields is an assertion, never data', () => {
    const { key, value } = encodeRow(layout, good, 1, 0n);
    expect(() => decodeRow(layout, key, value.subarray(0, value.length - 1))).toThrow(/W2/);
  });

  it('refuses a buffer without room for maxRowBytes', () => {
    expectCode(() => encodeRowInto(layout, good, 1, 0n, new Uint8Array(100), 0, 8), 'ERR_INVALID_ARGUMENT');
  });

  it('compileTable keeps a frozen copy: changing the given schema later changes nothing', () => {
    const given = { ...sbtest, columns: sbtest.columns.map((c) => ({ ...c })), primaryKey: ['id'] };
    const compiled = compileTable(given);
    given.primaryKey.push('k');
    (given.columns[3] as { name: string }).name = 'renamed';
    expect(compiled.schema.primaryKey).toEqual(['id']);
    expect(compiled.schema.columns[3]!.name).toBe('pad');
    expect(Object.isFrozen(compiled.schema.columns[0])).toBe(true);
  });

  it('compileTable validates the schema (ERR_INVALID_SCHEMA)', () => {
    expectCode(() => compileTable({ ...sbtest, primaryKey: ['nope'] }), 'ERR_INVALID_SCHEMA');
  });
});
