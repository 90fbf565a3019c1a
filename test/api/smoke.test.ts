import { describe, expect, it } from 'vitest';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { openTestDatabase } from '../support/open.js';

const schema = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int64' as const },
    { name: 'owner', type: 'string' as const, maxLength: 50 },
    { name: 'balance', type: 'int32' as const },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_owner', columns: ['owner'] }],
};

const open = (vfs = new MemoryVfs()) => openTestDatabase(vfs);

describe('Database smoke', () => {
  it('creates a table, writes, reads, scans, survives reopen and crash', async () => {
    const vfs = new MemoryVfs();
    const db = await open(vfs);
    await db.createTable(schema);
    const t = db.table('accounts');
    await t.insert({ id: 1n, owner: 'ann', balance: 100 });
    await t.insert({ id: 2n, owner: 'bob', balance: 50 });
    expect(t.get(1n)).toEqual({ id: 1n, owner: 'ann', balance: 100 });
    expect(await t.update(2n, { balance: 60 })).toBe(true);
    expect(t.get(2n)?.balance).toBe(60);
    expect([...t.scan()].map((r) => r.id)).toEqual([1n, 2n]);
    expect([...t.scanIndex('by_owner', { gte: 'b' })].map((r) => r.owner)).toEqual(['bob']);
    await expect(t.insert({ id: 1n, owner: 'x', balance: 0 })).rejects.toMatchObject({ code: 'ERR_DUPLICATE_KEY' });
    await db.transaction(async (tx) => {
      const a = tx.table('accounts');
      await a.update(1n, { balance: 90 });
      await a.update(2n, { balance: 70 });
    });
    expect(t.get(1n)?.balance).toBe(90);
    await expect(
      db.transaction(async (tx) => {
        await tx.table('accounts').update(1n, { balance: 0, owner: 'zed' });
        await tx.table('accounts').delete(2n);
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(t.get(1n)).toEqual({ id: 1n, owner: 'ann', balance: 90 });
    expect(t.get(2n)?.balance).toBe(70);
    expect(db.check().rows).toBe(2);
    await t.delete(2n);
    expect(t.get(2n)).toBeUndefined();
    expect(db.purge()).toBeGreaterThan(0);
    expect(db.check().entries).toBe(2);
    await db.close();

    const again = await open(vfs);
    expect(again.table('accounts').get(1n)?.owner).toBe('ann');
    const tx = again.begin();
    await tx.table('accounts').insert({ id: 3n, owner: 'cy', balance: 1 });
    again.abandon();
    const recovered = await open(vfs);
    expect(recovered.table('accounts').get(3n)).toBeUndefined(); // MemoryVfs keeps everything: the active trx is rolled back
    recovered.runBackgroundWork();
    expect(recovered.table('accounts').get(3n)).toBeUndefined();
    expect(recovered.check().rows).toBe(1);
    await recovered.close();
  });

  it('gives each reader its snapshot while writers commit (REPEATABLE READ)', async () => {
    const db = await open();
    await db.createTable(schema);
    const t = db.table('accounts');
    await t.insert({ id: 1n, owner: 'ann', balance: 100 });
    const reader = db.begin();
    expect(reader.table('accounts').get(1n)?.balance).toBe(100);
    for (let i = 1; i <= 10; i++) await t.update(1n, { balance: 100 + i });
    expect(reader.table('accounts').get(1n)?.balance).toBe(100);
    expect(t.get(1n)?.balance).toBe(110);
    const rc = db.begin({ isolation: 'read-committed' });
    expect(rc.table('accounts').get(1n)?.balance).toBe(110);
    await reader.commit();
    await rc.commit();
    db.purge();
    db.check();
    await db.close();
  });

  it('makes a conflicting writer wait until the holder commits', async () => {
    const db = await open();
    await db.createTable(schema);
    await db.table('accounts').insert({ id: 1n, owner: 'ann', balance: 100 });
    const a = db.begin();
    const b = db.begin();
    await a.table('accounts').update(1n, { balance: 1 });
    let bDone = false;
    const bWrite = b
      .table('accounts')
      .update(1n, { balance: 2 })
      .then(() => (bDone = true));
    await new Promise((r) => setImmediate(r));
    expect(bDone).toBe(false);
    await a.commit();
    await bWrite;
    expect(bDone).toBe(true);
    await b.commit();
    expect(db.table('accounts').get(1n)?.balance).toBe(2);
    await db.close();
  });
});
