/**
 * The redo log's growth (log-file.ts, "Growth"; issue 16): a new log holds one small extent, the
 * first lap grows in zero-filled, synced extents up to the capacity, no log write ever extends the
 * file (F1), and a crash at any operation around an extension recovers every acknowledged mtr
 * (rules LOG-TAIL, DURABLE), under every crash policy.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { Storage } from '../../src/core/storage.js';
import { SimulatedCrashError } from '../../src/errors.js';
import { LOG_EXTENT_BYTES_FIRST, LOG_FILE, LSN_START, LogFile, RING_OFFSET } from '../../src/redo/log-file.js';
import { CRASH_POLICY_NAMES, type CrashImage, type CrashPolicyName, FaultVfs } from '../../src/vfs/fault-vfs.js';
import {
  planWorkload,
  runWorkload,
  setUpPages,
  storageOptions,
  verifyRecovered,
  type PageRef,
  type WorkloadPlan,
} from '../core/mtr-workload.js';

const CAPACITY = 1024 * 1024; // extents of 512 KiB, then 1 MiB: one extension in the first lap
const options = (vfs: FaultVfs) => storageOptions(vfs, { redoLogBytes: CAPACITY });

/** A write to the log that extended the file: the operation number, and whether it wrote zeros only. */
interface Extension {
  readonly operation: number;
  readonly zeros: boolean;
}

function watchExtensions(vfs: FaultVfs): Extension[] {
  const extensions: Extension[] = [];
  let size = vfs.stat(LOG_FILE)?.size ?? 0;
  vfs.onWrite((write) => {
    if (write.path !== LOG_FILE) return;
    const end = write.position + write.data.length;
    if (end > size) extensions.push({ operation: vfs.mutatingOperations, zeros: write.data.every((b) => b === 0) });
    size = Math.max(size, end);
  });
  return extensions;
}

/**
 * A database with the workload's pages (spaces 1 and 2), whose log has already been written up to
 * about `fillBytes` of its ring by mtrs on other pages (space 3), so a short workload reaches the
 * end of the first extent.
 */
async function baseImage(seed: number, fillBytes: number): Promise<{ image: CrashImage; pages: PageRef[] }> {
  const vfs = new FaultVfs({ seed });
  const storage = await Storage.open(options(vfs));
  const pages = setUpPages(storage, [1, 2], 8);
  const filler = planWorkload(seed, setUpPages(storage, [3], 8), 1, false);
  const fill = { ...filler, mtrs: Array.from({ length: 64 }, () => filler.mtrs[0]!) };
  while (storage.log.currentLsn % CAPACITY < fillBytes) await runWorkload(storage, fill, { acked: 0, committed: 0 });
  await storage.close();
  return { image: vfs.durableImage(), pages };
}

/**
 * Runs `plan` (then a clean close when `close`) on `image` with a crash armed at operation `n`
 * under `policy`, and opens the crash image: recovery has run.
 */
async function crashRun(
  image: CrashImage,
  seed: number,
  n: number,
  policy: CrashPolicyName,
  plan: WorkloadPlan,
  close: boolean,
): Promise<{ recovered: Storage; progress: { acked: number; committed: number } }> {
  const vfs = FaultVfs.fromImage(image, { seed: seed + n });
  const storage = await Storage.open(options(vfs));
  vfs.crashAtOperation(n, policy);
  const progress = { acked: 0, committed: 0 };
  try {
    await runWorkload(storage, plan, progress);
    if (close) await storage.close();
  } catch (error) {
    if (!(error instanceof SimulatedCrashError) && !vfs.crashed) throw error;
  }
  expect(vfs.crashed, `policy ${policy} op ${n} crashed`).toBe(true);
  storage.abandon();
  const recovered = await Storage.open(options(FaultVfs.fromImage(vfs.crashImage(), { seed: seed + n + 1 })));
  return { recovered, progress };
}

/**
 * A database whose log has grown past its first extent (about 600 KiB of ring written) and holds
 * the workload's pages, as a power cut would leave it with everything durable: opening it runs
 * recovery, and the log keeps its grown size.
 */
async function grownImage(seed: number): Promise<{ image: CrashImage; pages: PageRef[] }> {
  const vfs = new FaultVfs({ seed });
  const storage = await Storage.open(options(vfs));
  const pages = setUpPages(storage, [1, 2], 8);
  const filler = planWorkload(seed, setUpPages(storage, [3], 8), 1, false);
  const fill = { ...filler, mtrs: Array.from({ length: 64 }, () => filler.mtrs[0]!) };
  while (storage.log.currentLsn % CAPACITY < LOG_EXTENT_BYTES_FIRST + 96 * 1024)
    await runWorkload(storage, fill, { acked: 0, committed: 0 });
  storage.checkpoint();
  const image = vfs.durableImage();
  storage.abandon();
  return { image, pages };
}

describe('redo log growth', () => {
  it('a clean close gives the grown log back (Rewind): the file shrinks to its first extent, the log continues at a lap boundary, and a crash at each operation of the rewind, under every policy, loses nothing', async () => {
    const seed = 11;
    const { image, pages } = await grownImage(seed);
    const plan = planWorkload(seed, pages, 20, false);
    // A dry run: the rewind is the last four operations of the close (checkpoint write, its
    // datasync, the truncation, its sync).
    const dry = FaultVfs.fromImage(image, { seed });
    const dryStorage = await Storage.open(options(dry));
    expect(dryStorage.log.file.allocatedBytes).toBe(CAPACITY);
    const start = dry.mutatingOperations;
    await runWorkload(dryStorage, plan, { acked: 0, committed: 0 });
    const endLsn = dryStorage.log.currentLsn;
    await dryStorage.close();
    const closeOps = dry.mutatingOperations - start;
    expect(dry.stat(LOG_FILE)?.size).toBe(RING_OFFSET + LOG_EXTENT_BYTES_FIRST);
    const reopened = await Storage.open(options(FaultVfs.fromImage(dry.durableImage(), { seed })));
    const rewoundAt = reopened.log.checkpointLsn;
    expect(rewoundAt % CAPACITY).toBe(0); // recovery's own lap jump keeps ring position 0
    expect(rewoundAt).toBeGreaterThan(endLsn);
    verifyRecovered(reopened, plan, plan.mtrs.length, plan.mtrs.length);
    await runWorkload(reopened, plan, { acked: 0, committed: 0 }); // the log continues from position 0
    await reopened.close();
    let runs = 0;
    for (let n = closeOps - 4; n < closeOps; n++) {
      for (const policy of CRASH_POLICY_NAMES) {
        // Every mtr was acknowledged before the close began (the close made them durable first).
        const { recovered } = await crashRun(image, seed, n, policy, plan, true);
        verifyRecovered(recovered, plan, plan.mtrs.length, plan.mtrs.length);
        await recovered.close();
        runs++;
      }
    }
    expect(runs).toBe(4 * CRASH_POLICY_NAMES.length);
  }, 300_000);

  it('a new database on disk is at most 1 MiB, its log one extent', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'minno-log-growth-'));
    try {
      const db = await Database.open({ path: dir });
      await db.close();
      let bytes = 0;
      for (const name of readdirSync(dir)) bytes += statSync(join(dir, name)).size;
      expect(statSync(join(dir, LOG_FILE)).size).toBe(RING_OFFSET + LOG_EXTENT_BYTES_FIRST);
      expect(bytes).toBeLessThanOrEqual(1024 * 1024);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('grows the first lap in zero-filled, synced extents (doubling, at most LOG_EXTENT_BYTES_MAX) up to the capacity, then never again; no log write extends the file (F1)', () => {
    const vfs = new FaultVfs({ seed: 3 });
    const capacity = 12 * 1024 * 1024;
    const log = LogFile.create(vfs, capacity, 4096, true);
    const extensions = watchExtensions(vfs);
    const allocated = [log.allocatedBytes];
    const chunk = new Uint8Array(96 * 1024).fill(7);
    for (let lsn = LSN_START; lsn < LSN_START + 2 * capacity; lsn += chunk.length) {
      log.writeRing(chunk, lsn);
      if (log.allocatedBytes !== allocated.at(-1)) allocated.push(log.allocatedBytes);
      expect(vfs.stat(LOG_FILE)?.size).toBe(RING_OFFSET + log.allocatedBytes);
    }
    const MiB = 1024 * 1024;
    expect(allocated).toEqual([MiB / 2, MiB, 2 * MiB, 4 * MiB, 8 * MiB, 12 * MiB]);
    expect(extensions.every((e) => e.zeros)).toBe(true);
    // Each extension synced once (size and block map); the log's own writes only datasync.
    expect(vfs.audit(LOG_FILE).syncs).toBe(5);
    log.close();
  });

  it('a crash at each operation around an extension, under every policy, recovers every acknowledged mtr', async () => {
    const seed = 5;
    const { image, pages } = await baseImage(seed, LOG_EXTENT_BYTES_FIRST - 32 * 1024);
    // About 185 bytes an mtr: the log passes the end of its first extent after about 180.
    const plan: WorkloadPlan = planWorkload(seed, pages, 400);
    // A dry run finds the operations that extend the log.
    const dry = FaultVfs.fromImage(image, { seed });
    const extensions = watchExtensions(dry);
    const dryStorage = await Storage.open(options(dry));
    const start = dry.mutatingOperations;
    await runWorkload(dryStorage, plan, { acked: 0, committed: 0 });
    dryStorage.abandon();
    expect(extensions.length).toBe(1);
    let runs = 0;
    for (const extension of extensions) {
      // The write before, the zero fill, its sync, and the log writes and syncs after it.
      for (let n = extension.operation - start - 1; n <= extension.operation - start + 3; n++) {
        for (const policy of CRASH_POLICY_NAMES) {
          const { recovered, progress } = await crashRun(image, seed, n, policy, plan, false);
          verifyRecovered(recovered, plan, progress.acked, progress.committed);
          await recovered.close();
          runs++;
        }
      }
    }
    expect(runs).toBe(5 * CRASH_POLICY_NAMES.length);
  }, 300_000);
});
