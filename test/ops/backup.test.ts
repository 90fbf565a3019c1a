/**
 * Hot backup under a concurrent write workload (NodeVfs and FaultVfs), restored and compared with
 * the ledger: each restored backup holds exactly the transactions committed at or below its
 * END_LSN, and passes check(). Pages caught failing their checksum are read again; a redo tail
 * that reads zeros (seed 000) is "not there yet" and read again later.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Database, type DatabaseTestSeams } from '../../src/api/database.js';
import type { BackupProgress } from '../../src/core/hot-backup.js';
import { restoreBackup } from '../../src/ops/restore.js';
import { verifyBackup } from '../../src/ops/verify.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import { LedgerWorkload, expectRows } from './backup-workload.js';
import { LOG_FILE, RING_OFFSET } from '../../src/redo/log-file.js';
import { openTestDatabase } from '../support/open.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minno-backup-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const openRestored = (vfs: MemoryVfs | NodeVfs): Promise<Database> => openTestDatabase(vfs);

function faultDb(vfs: FaultVfs, redoLogBytes = 1 << 20, seams: DatabaseTestSeams = {}): Promise<Database> {
  return openTestDatabase(vfs, { poolPages: 96, redoLogBytes }, seams);
}

describe('hot backup', () => {
  it('on NodeVfs, with writers running on their own, restores exactly what was committed before END_LSN', async () => {
    const db = await Database.open({
      path: tempDir(),
      pageSize: 4096,
      bufferPoolBytes: 64 * 4096,
      redoLogBytes: 4 << 20,
    });
    await LedgerWorkload.setUp(db);
    const work = new LedgerWorkload(db, 1);
    for (let i = 0; i < 150; i++) await work.step();
    const before = work.transactions;
    let stop = false;
    const writers = [0, 1, 2].map(async () => {
      while (!stop) await work.step();
    });
    const progress: BackupProgress[] = [];
    const dest = tempDir();
    const result = await db.backup(join(dest, 'b'), { onProgress: (p) => progress.push(p), slicePages: 8 });
    stop = true;
    await Promise.all(writers);
    const after = work.transactions;
    await db.close();

    expect(result.endLsn).toBeGreaterThan(result.startLsn);
    expect(progress.at(-1)!.phase).toBe('done');
    expect(progress.at(-1)!.pagesCopied).toBe(result.pagesCopied);
    expect(progress.some((p) => p.redoBytes > 0)).toBe(true);
    const committedBeforeEnd = work.committed.filter((c) => c.lsn <= result.endLsn).length;
    expect(committedBeforeEnd).toBeGreaterThan(before); // writers ran during the copy
    expect(after).toBeGreaterThan(committedBeforeEnd); // and after END_LSN: those must be absent

    const backupVfs = new NodeVfs(join(dest, 'b'));
    expect((await verifyBackup(backupVfs)).ok).toBe(true);
    const target = new NodeVfs(tempDir());
    const restored = await restoreBackup(backupVfs, target);
    expect(restored.endLsn).toBe(result.endLsn);
    const reopened = await openRestored(target);
    expectRows(reopened, work.expectedAt(result.endLsn));
    reopened.check();
    await reopened.close();
  });

  it('on FaultVfs, writers between every slice, pages read corrupt once are read again', async () => {
    for (const seed of [1, 2]) {
      const vfs = new FaultVfs({ seed });
      const db = await faultDb(vfs);
      await LedgerWorkload.setUp(db);
      const work = new LedgerWorkload(db, seed);
      for (let i = 0; i < 200; i++) await work.step();
      db.storage.checkpoint();
      const dest = new MemoryVfs();
      const result = await db.backup(dest, {
        slicePages: 4,
        betweenSlices: async () => {
          vfs.clearReadFaults(); // the engine's own reads see the disk as it is
          for (let i = 0; i < 3; i++) await work.step();
          if (work.transactions % 7 === 0) db.storage.backgroundStep(); // flushes and checkpoints meanwhile
          // Until the next slice ends, only the backup reads the table's file: its next read is bad.
          vfs.injectReadFault({ path: 'space-000001.ibd', kind: 'corrupt', count: 1 });
        },
      });
      vfs.clearReadFaults();
      for (let i = 0; i < 20; i++) await work.step();
      await db.close();
      expect(result.pagesReread).toBeGreaterThan(0);
      const target = new MemoryVfs();
      const restored = await restoreBackup(dest, target);
      expect(restored.check.tables).toBe(1);
      const reopened = await openRestored(target);
      expectRows(reopened, work.expectedAt(result.endLsn));
      await reopened.close();
    }
  });

  it('reads a redo tail of zeros (seed 000) as "not there yet" and still ends exactly at END_LSN', async () => {
    const vfs = new FaultVfs({ seed: 5 });
    const first = await faultDb(vfs);
    await LedgerWorkload.setUp(first);
    await first.close();
    // A log that grows as it is written (not preallocated), so each log write extends the file
    // and the seed-000 mode can show a reader the new length with zeros where the bytes are.
    const lsnEnd = first.storage.log.currentLsn;
    const capacity = first.storage.log.capacity;
    const log = vfs.open(LOG_FILE);
    log.truncate(RING_OFFSET + (lsnEnd % capacity));
    log.sync();
    log.close();
    // (The default log grows its first lap in zero-filled extents: a log write then extends
    // nothing, and a reader racing the extension sees zeros that are really there.)
    const db = await faultDb(vfs, 1 << 20, { storage: { logGrowsByWrites: true } });
    const work = new LedgerWorkload(db, 5, 300);
    for (let i = 0; i < 150; i++) await work.step();
    let zeroTails = 0;
    const dest = new MemoryVfs();
    const result = await db.backup(dest, {
      slicePages: 2,
      betweenSlices: async () => {
        await work.step();
        db.storage.log.write(); // the log write extends the file ...
        vfs.armZeroTail(LOG_FILE, { reads: 1 }); // ... and the next read of it sees zeros there
        zeroTails++;
      },
    });
    await work.step();
    await db.close();
    expect(zeroTails).toBeGreaterThan(5);
    expect(result.tailWaits).toBeGreaterThan(0);
    const target = new MemoryVfs();
    await restoreBackup(dest, target);
    const reopened = await openRestored(target);
    expectRows(reopened, work.expectedAt(result.endLsn));
    await reopened.close();
  });
});
