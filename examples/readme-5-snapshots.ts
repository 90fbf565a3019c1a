// Kept identical to a code block of README.md (test/docs/readme.test.ts checks it).
import { Database } from '../src/index.js';

// A schema declared `as const` types its table: rows, keys, index names and index keys.
const users = {
  name: 'users',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'email', type: 'string' },
    { name: 'nick', type: 'string', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_email', columns: ['email'], unique: true }],
} as const;

const db = await Database.open();
await db.createTable(users);
const t = db.table(users); // rows are { id: number; email: string; nick: string | null }
await t.insertMany([1, 2, 3].map((id) => ({ id, email: `u${id}@example.org` }))); // nick may be left out
console.log(t.getByIndex('by_email', 'u2@example.org')); // → { id: 2, email: 'u2@example.org', nick: null }
// t.get('2') or t.getByIndex('by_mail', ...) would not compile.

// A lazy scan reads one snapshot, from the call to its last row: later writes are not seen.
const scan = t.scan();
await t.insert({ id: 4, email: 'u4@example.org' });
await t.delete(1);
console.log([...scan].map((row) => row.id)); // → [ 1, 2, 3 ]

// Several reads over one view: release it (or `using snap = db.snapshot()` in TypeScript 5.2+).
const snap = db.snapshot();
try {
  await t.update(2, { nick: 'two' });
  console.log(snap.table(users).get(2)?.nick, t.get(2)?.nick); // → null two
  console.log(db.status().openReadViews); // → 1
} finally {
  snap.release(); // until then purge keeps every version the snapshot can see
}

// An index build runs in slices: timers and other requests go on meanwhile; writes to the
// table wait for it. (Purge first, so the deleted row 1 is gone and not copied.)
db.purge();
await db.createIndex(
  'users',
  { name: 'by_nick', columns: ['nick'] },
  {
    onProgress: ({ rows, done }) => done && console.log(`by_nick: ${rows} rows`), // → by_nick: 3 rows
  },
);
await db.close();
