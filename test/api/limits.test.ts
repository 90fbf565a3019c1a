/**
 * The limits the README states ("Limits, and what is synchronous") are the ones the engine keeps:
 * at the default 16 KiB pages an encoded row of 8,126 bytes fits and one more byte does not; an
 * encoded key of 2,028 bytes fits and one more byte does not. The errors name those limits.
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
    expect(readme).toContain('16 KiB pages, an encoded row (primary key and values) is at most 8,126 bytes');
    expect(readme).toContain('at most 2,028\n  bytes');
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
    await t.insert({ k: 'a', v: new Uint8Array(ROW_LIMIT - 22) });
    const row = await refusal(() => t.insert({ k: 'b', v: new Uint8Array(ROW_LIMIT - 21) }));
    expect(row.code).toBe('ERR_VALUE_TOO_LARGE');
    expect(row.limit).toBe(ROW_LIMIT);
    expect(t.count()).toBe(2);
    db.check();
    await db.close();
  });
});
