/**
 * Export and import round-trip every column type exactly (bigint at both ends of its range, -0,
 * NaN, the infinities, subnormals, strings with every character CSV and JSON quote, astral
 * characters, bytes, nested json), in NDJSON and CSV; a bad line is named by number, a string
 * with a lone surrogate is refused, and the batches before it stay.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { ImportLineError, type MinnoError } from '../../src/errors.js';
import { exportTables } from '../../src/ops/export.js';
import { importRows } from '../../src/ops/import.js';
import type { Row } from '../../src/rec/row-format.js';
import { openTestDatabase } from '../support/open.js';
import { ALL_TYPES, allTypeRows, expectSameRows } from './rows.js';

async function loaded(rows: readonly Row[]): Promise<Database> {
  const db = await openTestDatabase();
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
      const target = await openTestDatabase();
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
    const target = await openTestDatabase();
    const error = (await importRows(target, [broken], { format: 'ndjson', batchRows: 10 }).catch(
      (e) => e,
    )) as ImportLineError;
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

  it('refuses a json value MariaDB cannot hold as JSON, and keeps it exactly as LONGTEXT', async () => {
    const db = await loaded(allTypeRows(6, 3)); // every doc holds a lone surrogate (allTypeRows)
    const sql = (jsonType: 'json' | 'longtext') => {
      let text = '';
      return exportTables(db, { format: 'sql', jsonType, write: (chunk) => void (text += chunk) }).then(() => text);
    };
    await expect(sql('json')).rejects.toMatchObject({ code: 'ERR_OUT_OF_RANGE', column: 'doc' });
    const text = await sql('longtext');
    expect(text).toContain('`doc` LONGTEXT NULL');
    expect(text).toContain(String.raw`"lone":"\\ud800"`);
    expect(text).toContain("X''"); // empty bytes
    expect(text).toMatch(/-0e0|NULL/);
    await db.close();
  });

  it('names a bad CSV line', async () => {
    const target = await openTestDatabase();
    await target.createTable(ALL_TYPES);
    const csv = 'id,i,s\n1,2,"a\nb"\n2,x,c\n';
    await expect(importRows(target, [csv], { format: 'csv', table: 'all_types' })).rejects.toMatchObject({
      code: 'ERR_IMPORT_LINE',
      line: 4,
    });
    await target.close();
  });
});
