/**
 * The patched update (src/rec/row-patch.ts): over random schemas, rows and changes, a change
 * `canPatchRow` accepts and `patchRow` applies gives the bytes `encodeRow` writes for the changed
 * row (RP1); a change it refuses with an error is one the encoder refuses too (RP2); key columns,
 * json columns, values on LOB pages, a length change and a record with fewer fields go to the
 * encoder.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LobRef } from '../../src/rec/lob-ref.js';
import { compileTable, decodeRow, encodeRow, encodeRowStoring, type Row } from '../../src/rec/row-format.js';
import { canPatchRow, patchRowInto } from '../../src/rec/row-patch.js';
import { COLUMN_TYPES, type ColumnDef, type ColumnType, type TableSchema } from '../../src/rec/schema.js';

const text = fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '\u00e9', '\uffff', '\u{1f600}'), maxLength: 40 });
const valueArbs: Record<ColumnType, fc.Arbitrary<unknown>> = {
  int32: fc.oneof(fc.integer(), fc.constantFrom(1.5, 2 ** 31, 'x')),
  int64: fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.maxSafeInteger()),
  float64: fc.oneof(fc.double(), fc.constantFrom(-0, Number.NaN)),
  boolean: fc.oneof(fc.boolean(), fc.constant(0)),
  // Short strings of one byte length so that many changes keep it; the units change it or not.
  string: fc.oneof(text, fc.constantFrom('ab', 'é', '\u{1f600}', '\ud800', 'abcd', '')),
  bytes: fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.constant('not bytes')),
  json: fc.jsonValue({ maxDepth: 1 }).filter((v) => v !== null),
};

/** A schema of 2 to 9 columns, a primary key of one or two non-json columns, some nullable. */
const schemaArb: fc.Arbitrary<TableSchema> = fc
  .array(fc.record({ type: fc.constantFrom(...COLUMN_TYPES), nullable: fc.boolean(), max: fc.boolean() }), {
    minLength: 1,
    maxLength: 8,
  })
  .chain((rest) => {
    const raw = [{ type: 'int32' as ColumnType, nullable: false, max: false }, ...rest];
    const keyable = raw.flatMap((c, i) => (c.type === 'json' ? [] : [`c${i}`]));
    return fc.record({
      raw: fc.constant(raw),
      primaryKey: fc.shuffledSubarray(keyable, { minLength: 1, maxLength: Math.min(2, keyable.length) }),
    });
  })
  .map(({ raw, primaryKey }) => ({
    name: 'patched',
    columns: raw.map(
      (c, i): ColumnDef => ({
        name: `c${i}`,
        type: c.type,
        nullable: c.nullable && !primaryKey.includes(`c${i}`),
        ...(c.max && c.type === 'string' ? { maxLength: 3 } : {}),
      }),
    ),
    primaryKey,
    indexes: [],
  }));

/** A valid value of `column` (the old row), NULL sometimes when nullable. */
const validArb = (column: ColumnDef): fc.Arbitrary<unknown> => {
  const valid = {
    ...valueArbs,
    int32: fc.integer(),
    boolean: fc.boolean(),
    string: text.filter((s) => column.maxLength === undefined || [...s].length <= column.maxLength),
    bytes: fc.uint8Array({ maxLength: 4 }),
  }[column.type];
  return column.nullable === true ? fc.option(valid, { nil: null, freq: 4 }) : valid;
};

/** A value of the old one's length: its code points reversed, its bytes inverted. */
function sameLength(value: unknown): unknown {
  if (typeof value === 'string') return [...value].reverse().join('');
  if (value instanceof Uint8Array) return value.map((b) => 255 - b);
  return value;
}

const caseArb = schemaArb.chain((schema) =>
  fc.record(Object.fromEntries(schema.columns.map((c) => [c.name, validArb(c)]))).chain((old) =>
    fc.record({
      schema: fc.constant(schema),
      old: fc.constant(old),
      changes: fc
        .subarray([...schema.columns], { minLength: 1, maxLength: 2 })
        .chain((changed) =>
          fc.record(
            Object.fromEntries(
              changed.map((c) => [
                c.name,
                fc.oneof(
                  valueArbs[c.type],
                  validArb(c),
                  fc.constant(sameLength(old[c.name])),
                  fc.constantFrom(null, undefined),
                ),
              ]),
            ),
          ),
        ),
    }),
  ),
);

function outcome(run: () => Uint8Array | undefined): { bytes?: Uint8Array; error?: string } {
  try {
    return { bytes: run() };
  } catch (error) {
    return { error: (error as { code?: string }).code ?? String(error) };
  }
}

describe('patched update', () => {
  it('RP1/RP2: a patch writes the encoder’s bytes; a refusal is the encoder’s', () => {
    let patched = 0;
    fc.assert(
      fc.property(caseArb, fc.integer({ min: 0, max: 2 ** 48 - 1 }), ({ schema, old, changes }, trxId) => {
        const layout = compileTable(schema);
        const before = encodeRow(layout, old as Row, trxId, 5n);
        const current = decodeRow(layout, before.key, before.value);
        const next: Record<string, unknown> = { ...current };
        for (const [name, value] of Object.entries(changes)) next[name] = value === undefined ? null : value;
        const slow = outcome(() => encodeRow(layout, next as Row, trxId, 5n).value);
        const fast = outcome(() => {
          if (!canPatchRow(layout, current, changes as Row)) return undefined;
          // At an offset inside a larger buffer, as on a page.
          const page = new Uint8Array(before.value.length + 9);
          page.set(before.value, 7);
          const out = new Uint8Array(before.value.length);
          return patchRowInto(layout, page, 7, before.value.length, changes as Row, out) ? out : undefined;
        });
        // With several bad values the two may name different ones first; both refuse.
        if (fast.error !== undefined) expect(slow.error).toBeDefined();
        if (fast.bytes !== undefined) {
          patched++;
          expect(slow.error).toBeUndefined();
          expect(fast.bytes).toEqual(slow.bytes);
        }
      }),
      { numRuns: 2000 },
    );
    // The property must exercise the patch, not only the fallbacks.
    expect(patched).toBeGreaterThan(400);
  });

  const schema: TableSchema = {
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'k', type: 'int32' },
      { name: 's', type: 'string' },
      { name: 'j', type: 'json', nullable: true },
    ],
    primaryKey: ['id'],
    indexes: [],
  };
  const layout = compileTable(schema);
  const row = { id: 1, k: 2, s: 'abc', j: { a: 1 } };

  it('patches a fixed-size change and a same-length string (the sysbench update)', () => {
    const before = encodeRow(layout, row, 9, 3n);
    const current = decodeRow(layout, before.key, before.value);
    expect(canPatchRow(layout, current, { k: 3, s: 'xyz' })).toBe(true);
    const bytes = new Uint8Array(before.value.length);
    expect(patchRowInto(layout, before.value, 0, before.value.length, { k: 3, s: 'xyz' }, bytes)).toBe(true);
    expect(bytes).toEqual(encodeRow(layout, { ...row, k: 3, s: 'xyz' }, 9, 3n).value);
  });

  it('leaves key columns, json, LOB references and length changes to the encoder', () => {
    const before = encodeRow(layout, row, 9, 3n);
    const current = decodeRow(layout, before.key, before.value);
    expect(canPatchRow(layout, current, { id: 2 })).toBe(false);
    expect(canPatchRow(layout, current, { j: { a: 2 } })).toBe(false);
    expect(canPatchRow(layout, current, { s: 'abcd' })).toBe(false);
    expect(canPatchRow(layout, current, { s: 'abé' })).toBe(false); // three units, four bytes
    const ref = new LobRef(1, 2, 3, 3, 0);
    expect(canPatchRow(layout, current, { s: ref as unknown as string })).toBe(false);
    expect(canPatchRow(layout, { ...current, s: ref }, { s: 'abc' })).toBe(false);
  });

  it('leaves a value on LOB pages to the encoder even when the row object says otherwise', () => {
    const small = compileTable(schema, { maxRowBytes: 200 });
    const big = { ...row, s: 'x'.repeat(400) };
    const stored = encodeRowStoring(small, big, 1 << 20);
    expect(stored.externs.length).toBe(1);
    // The bytes say EXTERN: no patch, whatever the caller believed.
    const out = new Uint8Array(stored.value.length);
    expect(patchRowInto(small, stored.value, 0, stored.value.length, { s: 'y'.repeat(24) }, out)).toBe(false);
  });

  it('leaves a record written before a column was appended to the encoder', () => {
    const older = compileTable({ ...schema, columns: schema.columns.slice(0, 3) });
    const before = encodeRow(older, { id: 1, k: 2, s: 'abc' }, 9, 3n);
    const current = decodeRow(layout, before.key, before.value);
    expect(canPatchRow(layout, current, { k: 3 })).toBe(true);
    const out = new Uint8Array(before.value.length);
    expect(patchRowInto(layout, before.value, 0, before.value.length, { k: 3 }, out)).toBe(false);
  });
});
