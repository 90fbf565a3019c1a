// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { Database } from '../src/index.js';

const db = await Database.open(); // memory; Database.open({ path: './data' }) for a directory
await db.createTable({
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'owner', type: 'string', maxLength: 100 },
    { name: 'balance', type: 'int32' },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_owner', columns: ['owner'] }],
});

// Autocommit: each write is its own transaction, settled once durable.
const accounts = db.table('accounts');
await accounts.insert({ id: 1n, owner: 'ann', balance: 100 });
await accounts.insert({ id: 2n, owner: 'bob', balance: 50 });
// Reads are synchronous.
console.log(accounts.get(1n)); // → { id: 1n, owner: 'ann', balance: 100 }
console.log([...accounts.scan({ gte: 1n, limit: 10 })].map((row) => row.owner)); // → [ 'ann', 'bob' ]
console.log(accounts.getByIndex('by_owner', 'bob')?.id); // → 2n

// A transaction: commits when the function returns, rolls back if it throws.
await db.transaction(async (tx) => {
  const t = tx.table('accounts');
  const from = await t.getForUpdate(1n); // locks the row until commit
  await t.update(1n, { balance: Number(from!.balance) - 10 });
  await t.update(2n, { balance: 60 });
});

// Explicit, with a savepoint and another isolation level.
const tx = db.begin({ isolation: 'read-committed' });
tx.savepoint('before');
await tx.table('accounts').delete(2n);
await tx.rollbackToSavepoint('before');
await tx.commit();

// Walks every tree: order, links, free space, secondary = clustered.
console.log(db.check()); // → { tables: 1, rows: 2, entries: 4 }
await db.close();
