/**
 * The limits the README states ("Limits, and what is synchronous") are the ones the engine keeps:
 * at the default 16 KiB pages what stays in a row may take 8,126 bytes and not one more; an encoded
 * key of 2,028 bytes fits and one more byte does not. The errors name those limits. A value that
 * would take the row over moves to LOB pages instead (issue 13), so the row limit binds only what
 * cannot move: the key, fixed-size and small values, and the 24-byte references.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { KeyTooLargeError, ValueTooLargeError } from '../../src/errors.js';
import { PAGE_SIZE_DEFAULT } from '../../src/page/page.js';

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const ROW_LIMIT = 8126;
const KEY_LIMIT = 2028;

async function refusal(run: () => Promise<unknown>): Promise<KeyTooLargeError & ValueTooLargeError> {
  try {
    await run();
  } catch (error) {
    return error as KeyTooLargeError & ValueTooLargeError;
  }
  throw new Error('accepted');
}

describe("the README's size limits", () => {
  it('are stated for 16 KiB pages, the default', () => {
    expect(PAGE_SIZE_DEFAULT).toBe(16384);
    const text = readme.replace(/\s+/g, ' ');
    expect(text).toContain(
      '16 KiB pages, what stays in a row (its primary key, its fixed-size values, its small values and a 24-byte reference per value kept off-page) is at most 8,126 bytes',
    );
    expect(text).toContain('at most 2,028 bytes');
  });

  it('hold exactly: the largest row and key fit, one byte more is refused naming the limit', async () => {
    const db = await Database.open({ background: 'manual' });
    await db.createTable({
      name: 't',
      columns: [
        { name: 'k', type: 'string' },
        { name: 'v', type: 'bytes', nullable: true },
      ],
      primaryKey: ['k'],
    });
    const t = db.table('t');
    // A string key encodes to its UTF-8 bytes plus 2; this row's other bytes are 22 (key 'a' and the value's framing).
    await t.insert({ k: 'x'.repeat(KEY_LIMIT - 2) });
    const key = await refusal(() => t.insert({ k: 'y'.repeat(KEY_LIMIT - 1) }));
    expect(key.code).toBe('ERR_KEY_TOO_LARGE');
    expect(key.limitBytes).toBe(KEY_LIMIT);
    await t.insert({ k: 'a', v: new Uint8Array(ROW_LIMIT - 22) }); // the largest value kept in the row
    expect(db.engine.checkLobs().lobs).toBe(0);
    await t.insert({ k: 'b', v: new Uint8Array(ROW_LIMIT - 21) }); // one byte more: off-page
    expect(db.engine.checkLobs().lobs).toBe(1);
    expect((t.get('b')!['v'] as Uint8Array).length).toBe(ROW_LIMIT - 21);
    expect(t.count()).toBe(3);
    db.check();
    await db.close();
  });

  it('bind what cannot move off-page: a row of indexed values fits at 8,126 bytes, one more byte is refused', async () => {
    const db = await Database.open({ background: 'manual' });
    // Values of indexed columns never move off-page (index entries never point off-page). Key 'a'
    // (3 bytes), the row header (16), a null bitmap (1) and per value its 2-byte length and bytes.
    const m = 5;
    const total = ROW_LIMIT - (3 + 16 + 1 + 2 * m); // the values' bytes that make the row the limit
    const sizes = Array.from({ length: m }, (_, i) => Math.floor(total / m) + (i < total % m ? 1 : 0));
    const columns = sizes.map((_, i) => ({ name: `c${i}`, type: 'string' as const }));
    await db.createTable({
      name: 't',
      columns: [{ name: 'k', type: 'string' }, ...columns],
      primaryKey: ['k'],
      indexes: columns.map((c) => ({ name: `by_${c.name}`, columns: [c.name] })),
    });
    const rowOf = (k: string, extra: number) =>
      Object.fromEntries([['k', k], ...columns.map((c, i) => [c.name, k.repeat(sizes[i]! + (i === 0 ? extra : 0))])]);
    const t = db.table('t');
    await t.insert(rowOf('a', 0));
    const row = await refusal(() => t.insert(rowOf('b', 1)));
    expect(row.code).toBe('ERR_VALUE_TOO_LARGE');
    expect(row.limit).toBe(ROW_LIMIT);
    expect(t.count()).toBe(1);
    expect(db.engine.checkLobs().lobs).toBe(0);
    db.check();
    await db.close();
  });
});
