/**
 * Crashes during a backup, and incremental backups.
 *
 * A crash of the backup's destination at every operation of a backup (under a power cut, which
 * loses what was not synced, and a process crash, which keeps it): the crash image is either
 * refused as incomplete (ERR_INCOMPLETE_BACKUP, BK1) or, when the marker had landed, restores to
 * exactly the transactions committed at or below its END_LSN. A partial backup is never taken
 * for a complete one. A crash of the source during the backup leaves no marker either.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { MinnoError } from '../../src/errors.js';
import { restoreBackup } from '../../src/ops/restore.js';
import { verifyBackup } from '../../src/ops/verify.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { openTestDatabase } from '../support/open.js';
import { LedgerWorkload, expectRows } from './backup-workload.js';

const openDb = (vfs: FaultVfs): Promise<Database> => openTestDatabase(vfs, { poolPages: 96 });

async function sourceImage(): Promise<CrashImage> {
  const vfs = new FaultVfs({ seed: 11 });
  const db = await openDb(vfs);
  await LedgerWorkload.setUp(db);
  const work = new LedgerWorkload(db, 11, 200);
  for (let i = 0; i < 50; i++) await work.step();
  await db.close();
  return vfs.durableImage();
}

/** A backup of a fresh copy of `image` into `dest`, with writers between slices. */
async function backupInto(image: CrashImage, dest: FaultVfs) {
  const db = await openDb(FaultVfs.fromImage(image, { seed: 12 }));
  const work = new LedgerWorkload(db, 12, 200).adoptExisting();
  let result: Awaited<ReturnType<Database['backup']>> | undefined;
  let error: unknown;
  try {
    result = await db.backup(dest, { slicePages: 3, betweenSlices: () => work.step() });
  } catch (caught) {
    error = caught;
  }
  await db.close();
  return { work, result, error };
}

describe('a crash during a backup', () => {
  it('never leaves a partial backup that passes for a complete one', async () => {
    const image = await sourceImage();
    const wholeDest = new FaultVfs({ seed: 1 });
    const whole = await backupInto(image, wholeDest);
    expect(whole.error).toBeUndefined();
    const operations = wholeDest.trace().length + 2; // past the last one
    let incomplete = 0;
    let complete = 0;
    let completeAfterCrash = 0;
    // Every operation near the start and the end (the marker's write, sync, rename, directory
    // sync), every tenth in between.
    const points = [...Array(operations).keys()]
      .map((i) => i + 1)
      .filter((n) => n <= 6 || n > operations - 24 || n % 10 === 0);
    for (const n of points) {
      for (const policy of ['power-cut', 'process-crash'] as const) {
        if (policy === 'process-crash' && n % 2 !== 0 && n <= operations - 24) continue;
        const dest = new FaultVfs({ seed: n });
        dest.crashAtOperation(n, policy);
        const run = await backupInto(image, dest);
        if (run.error === undefined) {
          complete++;
          continue; // the crash point lies past the backup's last operation
        }
        expect((run.error as MinnoError).code).toBe('ERR_SIMULATED_CRASH');
        const after = FaultVfs.fromImage(dest.crashImage(), { seed: n });
        let restored: MemoryVfs | undefined = new MemoryVfs();
        try {
          await restoreBackup(after, restored);
        } catch (error) {
          expect((error as MinnoError).code, `crash at operation ${n} (${policy})`).toBe('ERR_INCOMPLETE_BACKUP');
          await expect(verifyBackup(after)).rejects.toMatchObject({ code: 'ERR_INCOMPLETE_BACKUP' });
          restored = undefined;
          incomplete++;
        }
        if (restored !== undefined) {
          // The marker landed before the crash: the backup is whole and exact.
          const { readManifest } = await import('../../src/core/backup-format.js');
          const endLsn = readManifest(after)!.endLsn;
          const db = await openTestDatabase(restored);
          expectRows(db, run.work.expectedAt(endLsn));
          await db.close();
          completeAfterCrash++;
        }
      }
    }
    expect(incomplete).toBeGreaterThan(points.length / 2);
    expect(complete).toBeGreaterThan(0);
    expect(completeAfterCrash).toBeGreaterThan(0); // a process crash right after the rename keeps it
  });

  it('of the source leaves no completion marker', async () => {
    const image = await sourceImage();
    const source = FaultVfs.fromImage(image, { seed: 3 });
    const db = await openDb(source);
    const work = new LedgerWorkload(db, 3, 200);
    const dest = new MemoryVfs();
    let slices = 0;
    await expect(
      db.backup(dest, {
        slicePages: 2,
        betweenSlices: async () => {
          await work.step();
          if (++slices === 5) source.crashNow('power-cut');
        },
      }),
    ).rejects.toMatchObject({ code: 'ERR_SIMULATED_CRASH' });
    db.abandon();
    await expect(restoreBackup(dest, new MemoryVfs())).rejects.toMatchObject({ code: 'ERR_INCOMPLETE_BACKUP' });
  });
});

describe('incremental backups', () => {
  it('restore a full backup and two incrementals to exactly the last END_LSN', async () => {
    const vfs = new FaultVfs({ seed: 21 });
    const db = await openDb(vfs);
    await LedgerWorkload.setUp(db);
    const work = new LedgerWorkload(db, 21, 300);
    for (let i = 0; i < 100; i++) await work.step();
    const during = { slicePages: 4, betweenSlices: () => work.step() };
    const full = new MemoryVfs();
    const first = await db.backup(full, during);
    for (let i = 0; i < 60; i++) await work.step();
    db.storage.backgroundStep();
    const inc1 = new MemoryVfs();
    const second = await db.backup(inc1, { ...during, sinceLsn: first.endLsn });
    expect(second.kind).toBe('incremental');
    expect(second.pagesCopied).toBeLessThan(first.pagesCopied + second.spaces.reduce((n, s) => n + s.pages, 0));
    for (let i = 0; i < 30; i++) await work.step();
    const inc2 = new MemoryVfs();
    const third = await db.backup(inc2, { ...during, sinceLsn: second.endLsn });
    for (let i = 0; i < 10; i++) await work.step();
    await db.close();

    const target = new MemoryVfs();
    const restored = await restoreBackup(full, target, { incrementals: [inc1, inc2] });
    expect(restored.endLsn).toBe(third.endLsn);
    const reopened = await openTestDatabase(target);
    expectRows(reopened, work.expectedAt(third.endLsn));
    await reopened.close();

    // Out of order, the chain is refused.
    await expect(restoreBackup(full, new MemoryVfs(), { incrementals: [inc2] })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
  });
});
