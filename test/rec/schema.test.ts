/**
 * Table schemas (src/rec/schema.ts): valid schemas pass, each rule S1..S5 is enforced with
 * ERR_INVALID_SCHEMA and an actionable message, the type codes never move, and the value checks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidSchemaError } from '../../src/errors.js';
import {
  COLUMN_TYPES,
  ColumnTypeCode,
  codePointLength,
  isColumnType,
  jsonText,
  validateSchema,
  type TableSchema,
} from '../../src/rec/schema.js';

/** The base every refusal below changes one part of (the sysbench table's shape). */
const base: TableSchema = {
  name: 'sbtest1',
  columns: ['id:int64', 'k:int32', 'c:string', 'pad:string'].map((spec) => {
    const [name, type] = spec.split(':') as [string, 'int64' | 'int32' | 'string'];
    return type === 'string' ? { name, type, maxLength: name === 'c' ? 120 : 60 } : { name, type };
  }),
  primaryKey: ['id'],
  indexes: [{ name: 'k_1', columns: ['k'] }],
};

/** `base` with some parts replaced; `as never` lets a test pass what the types forbid. */
const variant = (patch: Record<string, unknown>): TableSchema => ({ ...base, ...patch }) as never;

describe('validateSchema accepts', () => {
  it('the sysbench table', () => {
    expect(() => validateSchema(base)).not.toThrow();
  });

  it('every type, composite keys, nullable and unique secondary indexes, maxLength on string and bytes', () => {
    const schema: TableSchema = {
      name: 'orders',
      columns: [
        { name: 'tenant', type: 'string', maxLength: 32 },
        { name: 'id', type: 'int64' },
        { name: 'price', type: 'float64', nullable: false },
        { name: 'paid', type: 'boolean', nullable: true },
        { name: 'qty', type: 'int32', nullable: true },
        { name: 'blob', type: 'bytes', maxLength: 1000, nullable: true },
        { name: 'doc', type: 'json', nullable: true },
      ],
      primaryKey: ['tenant', 'id'],
      indexes: [
        { name: 'by_paid_price', columns: ['paid', 'price'] },
        { name: 'by_blob', columns: ['blob'], unique: true },
        { name: 'by_id', columns: ['id', 'tenant'], unique: false },
      ],
    };
    expect(() => validateSchema(schema)).not.toThrow();
  });
});

describe('validateSchema refuses, with ERR_INVALID_SCHEMA and what to change', () => {
  const long = 'x'.repeat(65);
  const cases: [string, TableSchema, RegExp][] = [
    ['a schema that is not an object', null as never, /must be an object/],
    ['an empty table name', variant({ name: '' }), /S1: table name must be a non-empty string/],
    ['a table name that is not a string', variant({ name: 7 }), /S1: table name.*number 7/],
    ['a table name over 64 characters', variant({ name: long }), /S1:.*shorten it to at most 64/],
    ['a name with NUL', variant({ name: 'a\u0000b' }), /S1:.*NUL character/],
    ['no columns', variant({ columns: [] }), /columns must be a non-empty array/],
    ['columns that are not an array', variant({ columns: 'id' }), /columns must be a non-empty array/],
    ['a column that is not an object', variant({ columns: [...base.columns, 'x'] }), /column #4 must be an object/],
    [
      'an empty column name',
      variant({ columns: [...base.columns, { name: '', type: 'int32' }] }),
      /S1: column #4 name/,
    ],
    [
      'a duplicate column',
      variant({ columns: [...base.columns, { name: 'k', type: 'int64' }] }),
      /S1: two columns are named "k"; rename one/,
    ],
    [
      'an unknown type',
      variant({ columns: [...base.columns, { name: 'x', type: 'varchar' }] }),
      /S2: column "x" has unknown type string "varchar"; use one of int32, int64/,
    ],
    [
      'a missing type',
      variant({ columns: [...base.columns, { name: 'x' }] }),
      /S2: column "x" has unknown type undefined/,
    ],
    [
      'nullable that is not a boolean',
      variant({ columns: [...base.columns, { name: 'x', type: 'int32', nullable: 'yes' }] }),
      /S2: column "x": nullable must be true or false/,
    ],
    [
      'maxLength on int32',
      variant({ columns: [...base.columns, { name: 'x', type: 'int32', maxLength: 4 }] }),
      /S2: column "x" of type int32 cannot have maxLength/,
    ],
    [
      'maxLength on json',
      variant({ columns: [...base.columns, { name: 'x', type: 'json', maxLength: 4 }] }),
      /S2:.*only string and bytes/,
    ],
    [
      'maxLength 0',
      variant({ columns: [...base.columns, { name: 'x', type: 'string', maxLength: 0 }] }),
      /S2: column "x": maxLength must be a positive integer/,
    ],
    [
      'maxLength 1.5',
      variant({ columns: [...base.columns, { name: 'x', type: 'bytes', maxLength: 1.5 }] }),
      /maxLength must be a positive integer/,
    ],
    ['no primary key', variant({ primaryKey: [] }), /S3: the primary key must list at least one column/],
    ['a primary key that is not an array', variant({ primaryKey: 'id' }), /S3: the primary key must list/],
    [
      'a primary-key column that does not exist',
      variant({ primaryKey: ['idd'] }),
      /S3: the primary key names column "idd", which the table does not have; add the column or use one of "id", "k"/,
    ],
    ['a primary-key column listed twice', variant({ primaryKey: ['id', 'id'] }), /S3:.*lists column "id" twice/],
    [
      'a nullable primary-key column',
      variant({ columns: [{ name: 'id', type: 'int64', nullable: true }], primaryKey: ['id'], indexes: [] }),
      /S3: primary-key column "id" is nullable; remove nullable: true/,
    ],
    [
      'a json primary-key column',
      variant({ columns: [{ name: 'id', type: 'json' }], primaryKey: ['id'], indexes: [] }),
      /S3:.*json column "id".*cannot be keyed/,
    ],
    [
      'indexes that are not an array',
      variant({ indexes: undefined }),
      /indexes must be an array \(use \[\] for none\)/,
    ],
    ['an index that is not an object', variant({ indexes: [null] }), /index #0 must be an object/],
    ['an index without a name', variant({ indexes: [{ columns: ['k'] }] }), /S1: index #0 name/],
    [
      'an index named PRIMARY',
      variant({ indexes: [{ name: 'PRIMARY', columns: ['k'] }] }),
      /S1: PRIMARY is the primary key's name/,
    ],
    [
      'two indexes with one name',
      variant({
        indexes: [
          { name: 'i', columns: ['k'] },
          { name: 'i', columns: ['c'] },
        ],
      }),
      /S1: two indexes are named "i"/,
    ],
    [
      'an index without columns',
      variant({ indexes: [{ name: 'i', columns: [] }] }),
      /S4: index "i" must list at least one column/,
    ],
    [
      'an index on a missing column',
      variant({ indexes: [{ name: 'i', columns: ['kk'] }] }),
      /S4: index "i" names column "kk", which the table does not have/,
    ],
    [
      'an index listing a column twice',
      variant({ indexes: [{ name: 'i', columns: ['k', 'c', 'k'] }] }),
      /S4: index "i" lists column "k" twice/,
    ],
    [
      'an index listing a non-string',
      variant({ indexes: [{ name: 'i', columns: [3] }] }),
      /S4: index "i" lists number 3; list column names/,
    ],
    [
      'an index on a json column',
      variant({
        columns: [...base.columns, { name: 'doc', type: 'json' }],
        indexes: [{ name: 'i', columns: ['doc'] }],
      }),
      /S4: index "i" uses json column "doc"/,
    ],
    [
      'unique that is not a boolean',
      variant({ indexes: [{ name: 'i', columns: ['k'], unique: 1 }] }),
      /S2: index "i": unique must be true or false/,
    ],
    [
      'an index of 17 columns',
      variant({
        columns: Array.from({ length: 17 }, (_, i) => ({ name: `c${i}`, type: 'int32' })),
        primaryKey: ['c0'],
        indexes: [{ name: 'wide', columns: Array.from({ length: 17 }, (_, i) => `c${i}`) }],
      }),
      /S4: index "wide" has 17 columns; an index takes at most 16/,
    ],
    [
      '1001 columns',
      variant({
        columns: Array.from({ length: 1001 }, (_, i) => ({ name: `c${i}`, type: 'int32' })),
        primaryKey: ['c0'],
        indexes: [],
      }),
      /S5: 1001 columns; a table has at most 1000/,
    ],
    [
      '65 indexes',
      variant({ indexes: Array.from({ length: 65 }, (_, i) => ({ name: `i${i}`, columns: ['k'] })) }),
      /S5: 65 secondary indexes; a table has at most 64/,
    ],
  ];
  for (const [what, schema, message] of cases) {
    it(what, () => {
      let error: unknown;
      try {
        validateSchema(schema);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidSchemaError);
      expect((error as InvalidSchemaError).code).toBe('ERR_INVALID_SCHEMA');
      expect((error as Error).message).toMatch(message);
    });
  }

  it('names the table in the error', () => {
    expect(() => validateSchema(variant({ primaryKey: ['nope'] }))).toThrow(/invalid schema for table "sbtest1"/);
    try {
      validateSchema(variant({ primaryKey: ['nope'] }));
    } catch (error) {
      expect((error as InvalidSchemaError).table).toBe('sbtest1');
    }
  });
});

describe('column types', () => {
  it('type codes are stored on disk: the values never change', () => {
    expect(ColumnTypeCode).toEqual({ int32: 1, int64: 2, float64: 3, boolean: 4, string: 5, bytes: 6, json: 7 });
    expect(Object.keys(ColumnTypeCode)).toEqual([...COLUMN_TYPES]);
  });

  it('isColumnType knows exactly the closed set', () => {
    for (const type of COLUMN_TYPES) expect(isColumnType(type)).toBe(true);
    for (const other of ['INT32', 'int', 'text', '', 7, null, undefined, 'toString'])
      expect(isColumnType(other)).toBe(false);
  });
});

describe('value checks', () => {
  it('codePointLength counts code points (lone surrogates count one each)', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: fc.constantFrom('a', '\u00e9', '\u{1f600}', '\ud800', '\udc00', '\uffff') }),
        (text) => {
          expect(codePointLength(text)).toBe(Array.from(text).length);
        },
      ),
    );
  });

  it('jsonText refuses what JSON cannot hold, naming the column', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    for (const value of [undefined, () => 1, Symbol('s'), 1n, { n: 1n }, cyclic]) {
      expect(() => jsonText('doc', value)).toThrow(
        expect.objectContaining({ code: 'ERR_TYPE_MISMATCH', column: 'doc' }) as Error,
      );
    }
    expect(jsonText('doc', { a: [1, 'x', null, true] })).toBe('{"a":[1,"x",null,true]}');
  });
});
