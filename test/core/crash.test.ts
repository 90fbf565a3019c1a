/**
 * Crash tests of the storage core, in the recipe of STYLE.md: run a workload on the fault VFS,
 * crash at every write and every sync (and at seeded random points for the large workload), under
 * every crash policy, recover, and compare with the model of what must survive
 * (test/core/mtr-workload.ts): a prefix of the mtrs, never one in part, every acknowledged one.
 *
 * A WAL oracle sits on every page write (rule WAL): a page whose LSN is above the durable log
 * fails the test at the write itself.
 */
import { describe, expect, it } from 'vitest';
import { Storage, openStorageWithTestSeams, type StorageOptions, type StorageTestSeams } from '../../src/core/storage.js';
import { SimulatedCrashError } from '../../src/errors.js';
import { readU64 } from '../../src/page/page.js';
import { ManualClock } from '../../src/util/clock.js';
import { CRASH_POLICY_NAMES, FaultVfs, type CrashImage, type CrashPolicyName } from '../../src/vfs/fault-vfs.js';
import { planWorkload, runWorkload, setUpPages, verifyRecovered, type PageRef, type WorkloadPlan } from './mtr-workload.js';

const PAGE_SIZE = 4096;

function options(vfs: FaultVfs, extra: Partial<StorageOptions> = {}): StorageOptions {
  return {
    vfs,
    pageSize: PAGE_SIZE,
    bufferPoolBytes: 64 * PAGE_SIZE,
    redoLogBytes: 256 * 1024,
    flushBatchPages: 8,
    background: 'manual',
    clock: new ManualClock(),
    ...extra,
  };
}

/** Installs the WAL oracle: every page written to a tablespace is at or below the durable LSN. */
function installWalOracle(vfs: FaultVfs, durableLsn: () => number): void {
  vfs.onWrite((write) => {
    if (!write.path.endsWith('.ibd')) return;
    for (let at = 0; at + PAGE_SIZE <= write.data.length; at += PAGE_SIZE) {
      const lsn = readU64(write.data, at + 16);
      if (lsn > durableLsn()) throw new Error(`WAL oracle: ${write.path} page written with LSN ${lsn} > durable ${durableLsn()}`);
    }
  });
}

async function openWithOracle(vfs: FaultVfs, extra: Partial<StorageOptions> = {}, seams: StorageTestSeams = {}): Promise<Storage> {
  let storage: Storage | undefined;
  // During recovery every page comes from the synced log: the oracle starts once the log is open.
  installWalOracle(vfs, () => (storage === undefined ? Number.MAX_SAFE_INTEGER : storage.log.durableLsn));
  storage = await openStorageWithTestSeams(options(vfs, extra), seams);
  return storage;
}

async function baseImage(seed: number, pagesPerSpace: number): Promise<{ image: CrashImage; pages: PageRef[] }> {
  const vfs = new FaultVfs({ seed });
  const storage = await Storage.open(options(vfs));
  const pages = setUpPages(storage, [1, 2], pagesPerSpace);
  await storage.close();
  return { image: vfs.durableImage(), pages };
}

interface CrashRun {
  crashed: boolean;
  acked: number;
  committed: number;
  recovered: number;
  restoredPages: number;
}

/** One crash point: run until the crash, recover from the image, verify against the model. */
async function crashAndRecover(
  image: CrashImage,
  plan: WorkloadPlan,
  seed: number,
  crash: (vfs: FaultVfs) => void,
  policy: CrashPolicyName,
  seams: StorageTestSeams = {},
): Promise<CrashRun> {
  const vfs = FaultVfs.fromImage(image, { seed });
  const storage = await openWithOracle(vfs, {}, seams);
  crash(vfs);
  const progress = { acked: 0, committed: 0 };
  try {
    await runWorkload(storage, plan, progress);
  } catch (error) {
    if (!(error instanceof SimulatedCrashError) && !vfs.crashed) throw error;
  }
  const crashed = vfs.crashed;
  const after = crashed ? vfs.crashImage() : vfs.crashNow(policy);
  storage.abandon();
  const reopened = FaultVfs.fromImage(after, { seed: seed + 1 });
  const recovered = await openWithOracle(reopened, {}, seams);
  const k = verifyRecovered(recovered, plan, progress.acked, progress.committed);
  const restoredPages = recovered.recovery?.pagesRestoredFromDoublewrite ?? 0;
  recovered.pool.validate();
  await recovered.close();
  return { crashed, acked: progress.acked, committed: progress.committed, recovered: k, restoredPages };
}

/** Mutating operations the workload performs with no crash. */
async function countOperations(image: CrashImage, plan: WorkloadPlan, seed: number): Promise<number> {
  const vfs = FaultVfs.fromImage(image, { seed });
  const storage = await openWithOracle(vfs);
  const before = vfs.mutatingOperations;
  await runWorkload(storage, plan, { acked: 0, committed: 0 });
  const count = vfs.mutatingOperations - before;
  storage.abandon();
  return count;
}

describe('storage core crash safety', () => {
  it('recovers a prefix with every acknowledged mtr, crashing at every operation under every policy', async () => {
    const seed = 7;
    const { image, pages } = await baseImage(seed, 6);
    const plan = planWorkload(seed, pages, 30);
    const operations = await countOperations(image, plan, seed);
    expect(operations).toBeGreaterThan(30);
    let runs = 0;
    let restored = 0;
    const recoveredPrefixes = new Set<number>();
    for (const policy of CRASH_POLICY_NAMES) {
      for (let n = 1; n <= operations; n++) {
        const run = await crashAndRecover(image, plan, seed + n, (vfs) => vfs.crashAtOperation(n, policy), policy);
        expect(run.crashed, `policy ${policy} op ${n} crashed`).toBe(true);
        recoveredPrefixes.add(run.recovered);
        restored += run.restoredPages;
        runs++;
      }
    }
    expect(runs).toBe(operations * CRASH_POLICY_NAMES.length);
    // The enumeration reached many different recovery states, including partial ones.
    expect(recoveredPrefixes.size).toBeGreaterThan(5);
    // Torn policies tore in-place page writes that the doublewrite buffer then repaired.
    expect(restored).toBeGreaterThan(0);
  }, 300_000);

  it('survives seeded random crashes in a workload that wraps the log several times', async () => {
    const { image, pages } = await baseImage(11, 12);
    let wrapped = false;
    for (let trial = 0; trial < 24; trial++) {
      const seed = 1000 + trial;
      const plan = planWorkload(seed, pages, 1200);
      const policy = CRASH_POLICY_NAMES[trial % CRASH_POLICY_NAMES.length]!;
      const run = await crashAndRecover(image, plan, seed, (vfs) => vfs.crashAtRandom(4000, policy), policy);
      if (run.committed > 900) wrapped = true;
      expect(run.recovered).toBeGreaterThanOrEqual(run.acked);
    }
    // 1200 mtrs of ~300 bytes is more than one lap of a 256 KiB log.
    expect(wrapped).toBe(true);
  }, 300_000);

  it('gives the same result when recovery itself is crashed at every operation and run again', async () => {
    const seed = 23;
    const { image, pages } = await baseImage(seed, 6);
    const plan = planWorkload(seed, pages, 40, false);
    // A crash image with work to recover: everything written, no page flushed.
    const vfs = FaultVfs.fromImage(image, { seed });
    const storage = await openWithOracle(vfs);
    const progress = { acked: 0, committed: 0 };
    await runWorkload(storage, plan, progress);
    const crashed = vfs.crashNow('process-crash');
    storage.abandon();

    // Reference: one clean recovery.
    const reference = await openWithOracle(FaultVfs.fromImage(crashed, { seed }));
    const expected = verifyRecovered(reference, plan, progress.acked, progress.committed);
    expect(expected).toBe(progress.committed);
    await reference.close();

    const probe = FaultVfs.fromImage(crashed, { seed });
    const before = probe.mutatingOperations;
    (await openWithOracle(probe)).abandon();
    const recoveryOperations = probe.mutatingOperations - before;
    expect(recoveryOperations).toBeGreaterThan(5);

    for (const policy of ['power-cut', 'torn-garbage', 'reorder'] as const) {
      for (let n = 1; n <= recoveryOperations; n++) {
        const first = FaultVfs.fromImage(crashed, { seed: n });
        first.crashAtOperation(n, policy);
        await expect(openWithOracle(first)).rejects.toBeInstanceOf(SimulatedCrashError);
        const second = await openWithOracle(FaultVfs.fromImage(first.crashImage(), { seed: n + 1 }));
        expect(verifyRecovered(second, plan, progress.committed, progress.committed)).toBe(expected);
        await second.close();
      }
    }
  }, 300_000);

  it('has teeth: without the doublewrite buffer the same torn writes are reported as corruption', async () => {
    const seed = 7;
    const { image, pages } = await baseImage(seed, 6);
    const plan = planWorkload(seed, pages, 30);
    const operations = await countOperations(image, plan, seed);
    let corruptions = 0;
    for (const policy of ['torn-garbage', 'torn-zeros'] as const) {
      for (let n = 1; n <= operations; n++) {
        try {
          await crashAndRecover(image, plan, seed + n, (vfs) => vfs.crashAtOperation(n, policy), policy, { disableDoublewrite: true });
        } catch (error) {
          // Reported, never returned as data: the error names the tablespace file and page.
          expect((error as { code?: string }).code).toBe('ERR_CORRUPTION');
          expect(String(error)).toMatch(/space-00000\d\.ibd page \d+/);
          corruptions++;
        }
      }
    }
    expect(corruptions).toBeGreaterThan(0);
  }, 300_000);
});
