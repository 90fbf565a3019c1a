/** RowEngine.versionChain: a row's undo chain as a test script would dump it. */
import { expect, it } from 'vitest';
import { openTestDatabase } from '../support/open.js';

it('lists the versions a view may still need, newest first, and shrinks to one once purge view passes them', async () => {
  const db = await openTestDatabase();
  await db.createTable({
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'v', type: 'string' },
    ],
    primaryKey: ['id'],
  });
  const t = db.table('t');
  await t.insert({ id: 1, v: 'a' });
  const reader = db.begin();
  expect(reader.table('t').get(1)).toEqual({ id: 1, v: 'a' }); // holds a view: history stays reachable
  await t.update(1, { v: 'b' });
  await t.update(1, { v: 'c' });
  const table = db.engine.table('t');
  const chain = db.engine.versionChain(table, 1);
  expect(chain.map((v) => v.row['v'])).toEqual(['c', 'b', 'a']);
  expect(chain[0]!.trxId).toBeGreaterThan(chain[1]!.trxId);
  expect(chain.every((v) => !v.deleted)).toBe(true);
  expect(db.engine.versionChain(table, 2)).toEqual([]);
  await reader.commit();
  db.purge();
  expect(db.engine.versionChain(table, 1).map((v) => v.row['v'])).toEqual(['c']);
  await db.close();
});
