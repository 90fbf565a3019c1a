/**
 * Typed tables (api/typed-table.ts): a schema declared `as const` types rows, keys, index names
 * and index keys, with no hand-written row type. The `@ts-expect-error` lines are the test's
 * teeth at compile time: `npm run typecheck` fails if any of them stops being an error (the
 * typing regressed to accept what it must refuse); the runtime part checks the types describe
 * what the engine really returns.
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { JsonValue } from '../../src/api/types.js';

const users = {
  name: 'users',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'email', type: 'string', maxLength: 200 },
    { name: 'age', type: 'int32' },
    { name: 'nick', type: 'string', nullable: true },
    { name: 'meta', type: 'json', nullable: true },
    { name: 'avatar', type: 'bytes', nullable: true },
    { name: 'active', type: 'boolean' },
    { name: 'score', type: 'float64' },
  ],
  primaryKey: ['id'],
  indexes: [
    { name: 'by_email', columns: ['email'], unique: true },
    { name: 'by_age_nick', columns: ['age', 'nick'] },
  ],
} as const;

const orders = {
  name: 'orders',
  columns: [
    { name: 'region', type: 'string' },
    { name: 'no', type: 'int32' },
    { name: 'total', type: 'float64' },
  ],
  primaryKey: ['region', 'no'],
} as const;

/** Compile-time checks only: never called. Each @ts-expect-error must stay an error. */
async function typeChecks(db: Database): Promise<void> {
  const t = db.table(users);
  const row = t.get(1n);
  expectTypeOf(row).toEqualTypeOf<
    | {
        id: bigint;
        email: string;
        age: number;
        nick: string | null;
        meta: JsonValue | null;
        avatar: Uint8Array | null;
        active: boolean;
        score: number;
      }
    | undefined
  >();
  t.get(1); // int64 takes a safe-integer number too
  // @ts-expect-error a string is not an int64 key
  t.get('1');
  // @ts-expect-error a one-column key is not an array
  t.get([1n, 2n]);
  await t.insert({ id: 1n, email: 'a@b', age: 3, active: true, score: 1 }); // nullable columns may be left out
  // @ts-expect-error `age` is required (NOT NULL)
  await t.insert({ id: 1n, email: 'a@b', active: true, score: 1 });
  // @ts-expect-error `age` is an int32: a number, not a string
  await t.insert({ id: 1n, email: 'a@b', age: '3', active: true, score: 1 });
  // @ts-expect-error no column `agee`
  await t.insert({ id: 1n, email: 'a@b', age: 3, agee: 3, active: true, score: 1 });
  // @ts-expect-error `email` is NOT NULL
  await t.update(1n, { email: null });
  await t.update(1n, { nick: null, age: 4 });
  t.getByIndex('by_email', 'a@b');
  // @ts-expect-error no index `by_mail`
  t.getByIndex('by_mail', 'a@b');
  // @ts-expect-error by_email's key is a string
  t.getByIndex('by_email', 5);
  [...t.scanIndex('by_age_nick', { gte: [30, 'x'], lt: 40 })]; // a composite index: a prefix bound
  // @ts-expect-error by_age_nick's first column is an int32
  t.scanIndex('by_age_nick', { gte: ['x'] });
  for (const r of t.scan({ gte: 10n, limit: 5 })) expectTypeOf(r.email).toEqualTypeOf<string>();
  // @ts-expect-error the primary key is an int64, not a string
  t.scan({ gte: 'a' });

  const o = db.table(orders);
  o.get(['eu', 7]);
  // @ts-expect-error a composite key is a tuple in primary-key order
  o.get([7, 'eu']);
  // @ts-expect-error the whole composite key is needed for a point read
  o.get(['eu']);
  o.count({ gte: ['eu'], lt: ['eu', 100] }); // a prefix for a bound
  // @ts-expect-error `orders` has no secondary index
  o.scanIndex('by_total');

  await db.transaction(async (tx) => {
    const tt = tx.table(users);
    const r = await tt.getForUpdate(1n);
    expectTypeOf(r).toEqualTypeOf<typeof row>();
    // @ts-expect-error unknown column in a transaction too
    await tt.update(1n, { nope: 1 });
  });
  const snap = db.snapshot();
  const st = snap.table(orders);
  expectTypeOf(st.get(['eu', 1])?.total).toEqualTypeOf<number | undefined>();
  // @ts-expect-error a snapshot reads; it does not write
  await st.insert({ region: 'eu', no: 1, total: 1 });
  snap.release();

  // @ts-expect-error a primary key names a column of the table
  db.table({ name: 'x', columns: [{ name: 'a', type: 'int32' }], primaryKey: ['b'] } as const);
  // @ts-expect-error an index names columns of the table
  db.table({ ...orders, indexes: [{ name: 'i', columns: ['nope'] }] } as const);
  // A table by name stays untyped: any row, any key.
  const loose = db.table('users');
  loose.get('anything');
}

describe('typed tables', () => {
  it('the types describe what the engine returns', async () => {
    expect(typeChecks).toBeTypeOf('function');
    const db = await Database.open();
    await db.createTable(users);
    await db.createTable(orders);
    const t = db.table(users);
    await t.insert({ id: 1, email: 'ann@example.org', age: 30, active: true, score: 0.5 });
    await t.insert({
      id: 2n,
      email: 'bob@example.org',
      age: 30,
      nick: 'b',
      meta: { tags: ['x'] },
      active: false,
      score: -1,
    });
    expect(t.get(1n)).toEqual({
      id: 1n,
      email: 'ann@example.org',
      age: 30,
      nick: null,
      meta: null,
      avatar: null,
      active: true,
      score: 0.5,
    });
    expect(t.getByIndex('by_email', 'bob@example.org')?.meta).toEqual({ tags: ['x'] });
    expect([...t.scanIndex('by_age_nick', { gte: [30, 'a'] })].map((r) => r.id)).toEqual([2n]);
    const o = db.table(orders);
    await o.insertMany([
      { region: 'eu', no: 2, total: 5 },
      { region: 'eu', no: 1, total: 4 },
      { region: 'us', no: 1, total: 3 },
    ]);
    expect([...o.scan({ gte: ['eu'], lte: ['eu'] })].map((r) => r.no)).toEqual([1, 2]);
    expect(o.count({ gte: ['us'] })).toBe(1);
    // The same handle as by name: one table, two views of its type.
    expect(db.table(users)).toBe(db.table('users'));
    await db.close();
  });
});
