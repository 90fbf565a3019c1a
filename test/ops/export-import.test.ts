/**
 * Export and import round-trip every column type exactly (bigint at both ends of its range, -0,
 * NaN, the infinities, subnormals, strings with every character CSV and JSON quote, astral
 * characters, bytes, nested json), in NDJSON and CSV; a bad line is named by number, a string
 * with a lone surrogate is refused, and the batches before it stay.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { ImportLineError, type MinnoError } from '../../src/errors.js';
import { exportTables } from '../../src/ops/export.js';
import { importRows } from '../../src/ops/import.js';
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
const STRINGS = ['', ' ', 'a,b', 'say "hi"', 'line\nbreak', 'cr\r\nlf', 'tab\tand\\slash', "it's", 'é😀𝄞', '\u0000nul', 'null', 'NULL'];

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
      doc: k === 5 ? null : { n, list: [1, 'two', null, true, { deep: [n / 3] }], text: STRINGS[n % STRINGS.length]!, lone: '\ud800' },
    });
  }
  return rows;
}

export function expectSameRows(actual: readonly Row[], expected: readonly Row[]): void {
  expect(actual.length).toBe(expected.length);
  for (let r = 0; r < expected.length; r++) {
    for (const [name, want] of Object.entries(expected[r]!)) {
      const got = actual[r]![name];
      if (typeof want === 'number') expect(Object.is(got, want), `${name} of row ${r}: ${String(got)} vs ${String(want)}`).toBe(true);
      else expect(got, `${name} of row ${r}`).toEqual(want);
    }
  }
}

async function loaded(rows: readonly Row[]): Promise<Database> {
  const db = await Database.open({ background: 'manual' });
  await db.createTable(ALL_TYPES);
  await db.table('all_types').insertMany(rows);
  return db;
}

async function exported(db: Database, format: 'ndjson' | 'csv'): Promise<string> {
  let text = '';
  await exportTables(db, { format, tables: ['all_types'], write: (chunk) => void (text += chunk), batchRows: 7 });
  return text;
}

/** The text in uneven chunks, as a stream delivers it. */
function* chunks(text: string): Generator<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  for (let at = 0; at < bytes.length; at += 97) yield bytes.subarray(at, at + 97);
}

describe('export and import', () => {
  for (const format of ['ndjson', 'csv'] as const) {
    it(`round-trips every column type exactly through ${format}`, async () => {
      const rows = allTypeRows(150, 1);
      const source = await loaded(rows);
      const text = await exported(source, format);
      await source.close();
      const target = await Database.open({ background: 'manual' });
      if (format === 'csv') await target.createTable(ALL_TYPES); // CSV carries no schema
      const progress: number[] = [];
      const result = await importRows(target, chunks(text), {
        format,
        table: 'all_types',
        batchRows: 50,
        onProgress: (p) => progress.push(p.rows),
      });
      expect(result.rows).toBe(rows.length);
      const back = [...target.table('all_types').scan()];
      const sorted = [...rows].sort((a, b) => ((a.id as bigint) < (b.id as bigint) ? -1 : 1));
      expectSameRows(back, sorted);
      target.check();
      // And out again: the same text.
      expect(await exported(target, format)).toBe(text);
      await target.close();
    });
  }

  it('names a bad NDJSON line, keeps the batches before it, and refuses a lone surrogate', async () => {
    const source = await loaded(allTypeRows(30, 2));
    const lines = (await exported(source, 'ndjson')).split('\n');
    await source.close();
    const broken = [...lines.slice(0, 25), '{"id": "1", "i": 1, "s": "\\ud800 alone"}', ...lines.slice(25)].join('\n');
    const target = await Database.open({ background: 'manual' });
    const error = (await importRows(target, [broken], { format: 'ndjson', batchRows: 10 }).catch((e) => e)) as ImportLineError;
    expect(error).toBeInstanceOf(ImportLineError);
    expect(error.code).toBe('ERR_IMPORT_LINE');
    expect(error.line).toBe(26);
    expect((error.cause as MinnoError).code).toBe('ERR_TYPE_MISMATCH');
    expect(error.rowsCommitted).toBe(20);
    expect(target.table('all_types').count()).toBe(20);
    const garbage = [lines[0], '{"id": "1", "i": 1}', '{not json'].join('\n');
    await expect(importRows(target, [garbage], { format: 'ndjson', table: 'all_types' })).rejects.toMatchObject({
      code: 'ERR_IMPORT_LINE',
      line: 3,
    });
    await target.close();
  });

  it('names a bad CSV line', async () => {
    const target = await Database.open({ background: 'manual' });
    await target.createTable(ALL_TYPES);
    const csv = 'id,i,s\n1,2,"a\nb"\n2,x,c\n';
    await expect(importRows(target, [csv], { format: 'csv', table: 'all_types' })).rejects.toMatchObject({
      code: 'ERR_IMPORT_LINE',
      line: 4,
    });
    await target.close();
  });
});
