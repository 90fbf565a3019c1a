/** Purge leaves no delete-marked record behind, including after rollbacks that restore deletes. */
import { expect, it } from 'vitest';
import { openTestDatabase } from '../support/open.js';
it('purge removes every deleted row and its secondary entries', async () => {
  const db = await openTestDatabase();
  await db.createTable({
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'v', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'v', columns: ['v'] }],
  });
  const t = db.table('t');
  for (let i = 0; i < 20; i++) await t.insert({ id: i, v: i });
  for (let i = 0; i < 20; i += 2) await t.update(i, { v: 100 + i });
  for (let i = 0; i < 20; i += 3) await t.delete(i);
  await db.transaction(async (tx) => {
    await tx.table('t').insert({ id: 100, v: 1 });
    await tx.table('t').delete(100);
  });
  await db.transaction(async (tx) => {
    await tx.table('t').delete(1);
    await tx.table('t').insert({ id: 1, v: 5 });
    await tx.table('t').delete(1);
  });
  console.log('purged', db.purge(), db.status().historyLength);
  const table = db.engine.table('t');
  let marked = 0;
  for (const e of table.clustered.scan())
    if (e.deleteMarked) {
      marked++;
      console.log('left', e.key);
    }
  let smarked = 0;
  for (const e of table.secondaries[0]!.tree.scan()) if (e.deleteMarked) smarked++;
  console.log('clustered marked', marked, 'secondary marked', smarked);
  expect(marked).toBe(0);
  expect(smarked).toBe(0);
});
it('rollback of a re-insert over a purged delete leaves nothing for purge to miss', async () => {
  const db = await openTestDatabase();
  await db.createTable({
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'v', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'v', columns: ['v'] }],
  });
  const t = db.table('t');
  await t.insert({ id: 1, v: 1 });
  await t.delete(1);
  const t2 = db.begin();
  await t2.table('t').insert({ id: 1, v: 2 });
  db.purge();
  await t2.rollback();
  db.purge();
  const table = db.engine.table('t');
  expect([...table.clustered.scan()].length).toBe(0);
  expect([...table.secondaries[0]!.tree.scan()].length).toBe(0);
  db.check();
});
