/**
 * C4 for readers: after a write fails half-way through its mini-transaction, no read may see the
 * half-done change.
 *
 * The simulator found it (a table soak, seed 1223136802, shrunk to five steps): a transfer's row
 * update split a leaf, the split allocated a page, the allocation read the space's header page,
 * and that read was corrupt. The exception left the mtr active with the leaf already changed.
 * Writers found the abandoned mtr at their next `startMtr` and poisoned the engine (C4), but the
 * next *read* went straight to the frames and returned the table without the row the split was
 * moving. Now every read (and every step of a scan) drops an abandoned mtr first, poisoning the
 * engine, and a poisoned engine refuses reads with ERR_IO.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { CorruptionError, IoError } from '../../src/errors.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { openTestDatabase, TEST_PAGE_SIZE as PAGE_SIZE } from '../support/open.js';

interface Wide {
  [column: string]: number | string;
  id: number;
  pad: string;
}

const open = (vfs: FaultVfs): Promise<Database> => openTestDatabase(vfs, { poolPages: 64, redoLogBytes: 256 * 1024 });

async function failWriteHalfway(): Promise<{ db: Database; vfs: FaultVfs; inserted: number }> {
  const first = new FaultVfs({ seed: 3 });
  const created = await open(first);
  await created.createTable({
    name: 'wide',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'pad', type: 'string', maxLength: 600 },
    ],
    primaryKey: ['id'],
  });
  let id = 0;
  await created.transaction(async (tx) => {
    for (; id < 40; id++) await tx.table<Wide>('wide').insert({ id, pad: 'p'.repeat(500) });
  });
  await created.close();
  // Reopened cold: the space header (page 0) is not in the pool until a split allocates a page.
  // (Opening reads it for the list of LOBs a crash left pending, lob/lob-pending.ts: the space's
  // pages, all clean, are dropped from the pool again.)
  const vfs = FaultVfs.fromImage(first.durableImage(), { seed: 4 });
  const db = await open(vfs);
  const wide = db.table<Wide>('wide');
  expect(db.storage.pool.dirtyPages()).toBe(0);
  db.storage.pool.discardSpace(1);
  expect(db.storage.pool.lookup(1, 0)).toBe(-1);
  // That read of page 0 comes back with one bit flipped.
  vfs.injectReadFault({
    path: 'space-000001.ibd',
    kind: 'corrupt',
    count: 1,
    range: { position: 40, length: PAGE_SIZE - 48 },
  });
  for (let tries = 0; tries < 40; tries++, id++) {
    try {
      await wide.insert({ id, pad: 'q'.repeat(500) });
    } catch (error) {
      expect(error).toBeInstanceOf(CorruptionError); // the write reports the corruption...
      return { db, vfs, inserted: id };
    }
  }
  throw new Error('no insert split a leaf within 40 rows');
}

describe('reads after a write failed half-way (C4)', () => {
  it('an autocommit read refuses with ERR_IO instead of returning the half-done state', async () => {
    const { db } = await failWriteHalfway();
    const wide = db.table<Wide>('wide');
    expect(() => wide.get(5)).toThrow(IoError);
    expect(() => [...wide.scan()]).toThrow(IoError);
    expect(db.storage.health.poisoned).toBe(true);
    await db.close(); // releases without writing
  });

  it('a read in a transaction refuses too, and a scan stops at the next row', async () => {
    const { db } = await failWriteHalfway();
    expect(() => db.begin({ readOnly: true }).table<Wide>('wide').get(5)).toThrow(IoError);
    await db.close();
  });

  it('a reopen recovers every committed row and nothing of the failed insert', async () => {
    const { db, vfs, inserted } = await failWriteHalfway();
    await db.close();
    const reopened = await open(FaultVfs.fromImage(vfs.crashNow('process-crash'), { seed: 5 }));
    const ids = [...reopened.table<Wide>('wide').scan()].map((row) => row.id);
    expect(ids).toEqual(Array.from({ length: inserted }, (_, i) => i));
    reopened.check();
    await reopened.close();
  });
});
