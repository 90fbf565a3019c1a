/**
 * Crash tests of the storage core, in the recipe of STYLE.md: run a workload on the fault VFS,
 * crash at every write and every sync (and at seeded random points for the large workload), under
 * every crash policy, recover, and compare with the model of what must survive
 * (test/core/mtr-workload.ts): a prefix of the mtrs, never one in part, every acknowledged one.
 *
 * A WAL oracle sits on every page write (rule WAL): a page whose LSN is above the durable log
 * fails the test at the write itself.
 *
 * A 'process-crash' image keeps the dead process's unsynced writes in the OS page cache (FaultVfs
 * F11), so the tests below also cover a kill -9 followed by a power cut during the recovery that
 * follows or after it: recovery must make durable what it builds on (recovery.ts RC2).
 */
import { describe, expect, it } from 'vitest';
import type { Storage, StorageTestSeams } from '../../src/core/storage.js';
import { SimulatedCrashError } from '../../src/errors.js';
import { readU64 } from '../../src/page/page.js';
import { CRASH_POLICY_NAMES, type CrashImage, type FaultVfs } from '../../src/vfs/fault-vfs.js';
import { CrashHarness, type CrashPoint } from '../support/crash-harness.js';
import { openTestStorage } from '../support/open.js';
import { RECOVERY_WINDOW_BYTES } from '../../src/redo/recovery.js';
import {
  LOG_CAPACITY,
  PAGE_SIZE,
  planWorkload,
  runWorkload,
  setUpPages,
  storageOptions,
  verifyRecovered,
  type PageRef,
  type WorkloadPlan,
} from './mtr-workload.js';

/** Installs the WAL oracle: every page written to a tablespace is at or below the durable LSN. */
function installWalOracle(vfs: FaultVfs, durableLsn: () => number): void {
  vfs.onWrite((write) => {
    if (!write.path.endsWith('.ibd')) return;
    for (let at = 0; at + PAGE_SIZE <= write.data.length; at += PAGE_SIZE) {
      const lsn = readU64(write.data, at + 16);
      if (lsn > durableLsn())
        throw new Error(`WAL oracle: ${write.path} page written with LSN ${lsn} > durable ${durableLsn()}`);
    }
  });
}

/** The storage core under test, with the WAL oracle on every page write. */
function harness(seams: StorageTestSeams = {}): CrashHarness<Storage> {
  return new CrashHarness(async (vfs) => {
    let storage: Storage | undefined;
    // During recovery every page comes from the synced log: the oracle starts once the log is open.
    installWalOracle(vfs, () => (storage === undefined ? Number.MAX_SAFE_INTEGER : storage.log.durableLsn));
    storage = await openTestStorage(vfs, storageOptions(vfs), seams);
    return storage;
  });
}

const core = harness();

async function baseImage(seed: number, pagesPerSpace: number): Promise<{ image: CrashImage; pages: PageRef[] }> {
  const { image, built } = await core.baseImage<PageRef[]>(seed, (storage) =>
    setUpPages(storage, [1, 2], pagesPerSpace),
  );
  return { image, pages: built };
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
  point: CrashPoint,
  subject = core,
): Promise<CrashRun> {
  const progress = { acked: 0, committed: 0 };
  // The caller checks `crashed` (without the doublewrite buffer the workload does fewer operations).
  const { image: after, crashed } = await subject.crash(
    image,
    seed,
    point,
    (storage) => runWorkload(storage, plan, progress),
    { mayFinishFirst: true },
  );
  const { engine: recovered } = await subject.recover(after, seed + 1);
  const k = verifyRecovered(recovered, plan, progress.acked, progress.committed);
  const restoredPages = recovered.recovery?.pagesRestoredFromDoublewrite ?? 0;
  recovered.pool.validate();
  await recovered.close();
  return { crashed, acked: progress.acked, committed: progress.committed, recovered: k, restoredPages };
}

/** Mutating operations the workload performs with no crash. */
async function countOperations(image: CrashImage, plan: WorkloadPlan, seed: number): Promise<number> {
  const { operations } = await core.count(image, seed, (storage) =>
    runWorkload(storage, plan, { acked: 0, committed: 0 }),
  );
  return operations;
}

/**
 * A kill -9 with work to recover: `mtrs` mtrs of a plan without background work, no page flushed,
 * the log's tail handed to the OS but not synced, so it is only in the page cache that outlives
 * the process.
 */
async function killedWithRedo(seed: number, mtrs: number) {
  const { image, pages } = await baseImage(seed, 6);
  const plan = planWorkload(seed, pages, mtrs, false);
  const progress = { acked: 0, committed: 0 };
  const { image: crashed } = await core.crash(image, seed, { at: 'end', policy: 'process-crash' }, async (storage) => {
    await runWorkload(storage, plan, progress);
    storage.log.write();
    expect(storage.log.durableLsn).toBeLessThan(storage.log.writtenLsn);
  });
  return { pages, plan, progress, crashed };
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
        const run = await crashAndRecover(image, plan, seed + n, { at: 'operation', n, policy });
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
      const run = await crashAndRecover(image, plan, seed, { at: 'random', within: 4000, policy });
      if (run.committed > 900) wrapped = true;
      expect(run.recovered).toBeGreaterThanOrEqual(run.acked);
    }
    // 1200 mtrs of ~300 bytes is more than one lap of a 256 KiB log.
    expect(wrapped).toBe(true);
  }, 300_000);

  it('after a kill -9, gives the same result when recovery itself is crashed at every operation and run again (WAL, IDEMPOTENT)', async () => {
    const seed = 23;
    const { plan, progress, crashed } = await killedWithRedo(seed, 40);

    // Reference: one clean recovery finds everything, the unsynced tail included.
    const { engine: reference } = await core.recover(crashed, seed);
    expect(verifyRecovered(reference, plan, progress.committed, progress.committed)).toBe(progress.committed);
    await reference.close();

    const { operations: recoveryOperations } = await core.count(crashed, seed, () => undefined, { includeOpen: true });
    expect(recoveryOperations).toBeGreaterThan(5);

    // A crash at every operation of recovery, then recovery again. Once recovery has synced the log
    // it found in the page cache, everything must come back; before that, a power cut may take the
    // unsynced tail, but never an acknowledged mtr and never part of one. The second recovery
    // replays over the pages the first one wrote: only rule IDEMPOTENT keeps the 'copy' MOVEs right.
    let pagesWrittenBeforeCrash = 0;
    for (const policy of ['power-cut', 'torn-garbage', 'reorder', 'process-crash'] as const) {
      for (let n = 1; n <= recoveryOperations; n++) {
        const first = await core.crash(crashed, n, { at: 'operation', n, policy }, () => undefined, {
          includeOpen: true,
        });
        expect(first.error).toBeInstanceOf(SimulatedCrashError);
        const trace = first.vfs.trace();
        const logSynced = trace.some((entry) => entry.op === 'datasync' && entry.path === 'redo.log');
        if (trace.some((entry) => entry.op === 'write' && entry.path.startsWith('space-'))) pagesWrittenBeforeCrash++;
        const { engine: second } = await core.recover(first.image, n + 1);
        const k = verifyRecovered(second, plan, progress.acked, progress.committed);
        if (logSynced || policy === 'process-crash')
          expect(k, `${policy} at recovery operation ${n}`).toBe(progress.committed);
        await second.close();
      }
    }
    expect(pagesWrittenBeforeCrash).toBeGreaterThan(0);
  }, 300_000);

  it('a process crash at every operation, recovery, then a power cut: nothing acknowledged is lost', async () => {
    // The kernel outlives a kill -9 with the dead process's unsynced writes (log, pages mid-batch,
    // directory entries) in its cache. Recovery must make durable whatever it builds on before the
    // log moves on (its checkpoint one lap later), or a power cut afterwards takes it.
    const seed = 31;
    const { image, pages } = await baseImage(seed, 6);
    const plan = planWorkload(seed, pages, 30);
    const operations = await countOperations(image, plan, seed);
    for (let n = 1; n <= operations; n++) {
      const progress = { acked: 0, committed: 0 };
      const { image: killed } = await core.crash(image, n, { at: 'operation', n, policy: 'process-crash' }, (storage) =>
        runWorkload(storage, plan, progress),
      );
      const recovered = await core.recover(killed, n + 1);
      verifyRecovered(recovered.engine, plan, progress.acked, progress.committed);
      const { engine: again } = await core.powerCut(recovered, n + 2);
      verifyRecovered(again, plan, progress.acked, progress.committed);
      await again.close();
    }
  }, 300_000);

  it('DIR: a process crash at each operation of createSpace and dropSpace, recovery, a power cut: the space exists whole or not at all', async () => {
    const { image } = await baseImage(41, 2);
    const ddl = (storage: Storage): void => {
      storage.dropSpace(2);
      storage.createSpace(3);
    };
    const { operations } = await core.count(image, 1, ddl);
    for (let n = 1; n <= operations; n++) {
      const killed = await core.crash(image, n, { at: 'operation', n, policy: 'process-crash' }, ddl);
      expect(killed.error, `operation ${n}: the DDL statement died of the crash`).toBeInstanceOf(SimulatedCrashError);
      const recovered = await core.recover(killed.image, n + 1);
      const seen = [2, 3].map((id) => recovered.engine.spaces.exists(id));
      expect(recovered.vfs.unsyncedEntries(), `operation ${n}: recovery leaves no entry unsynced`).toEqual([]);
      const { engine: again } = await core.powerCut(recovered, n + 2);
      expect(
        [2, 3].map((id) => again.spaces.exists(id)),
        `operation ${n}: the power cut undid no DDL recovery saw`,
      ).toEqual(seen);
      await again.close();
    }
  });

  it('RC5: recovery holds a window of the log, not the log: batch by batch through 1 KiB it recovers what one window does', async () => {
    const seed = 31;
    const { pages, plan, progress, crashed } = await killedWithRedo(seed, 120);
    const pageImages = (storage: Storage): string[] => {
      const mtr = storage.startMtr();
      const images = pages.map((ref) => Buffer.from(mtr.getPage(ref.spaceId, ref.pageNo)).toString('hex'));
      mtr.commit();
      return images;
    };

    // The default window: the whole redo in one batch, the window no longer than the log.
    const { engine: whole } = await core.recover(crashed, seed);
    const reference = whole.recovery!;
    expect(reference.batches).toBe(1);
    expect(reference.windowBytes).toBe(Math.min(LOG_CAPACITY, RECOVERY_WINDOW_BYTES));
    expect(verifyRecovered(whole, plan, progress.committed, progress.committed)).toBe(progress.committed);
    const expected = pageImages(whole);
    await whole.close();

    // A window of 1 KiB over tens of KiB of redo: many batches, the same pages, the same records.
    const windowBytes = 1024;
    expect(reference.redoBytes).toBeGreaterThan(16 * windowBytes);
    const { engine: windowed } = await harness({ recoveryWindowBytes: windowBytes }).recover(crashed, seed);
    const result = windowed.recovery!;
    expect(result.windowBytes).toBe(windowBytes); // no group of this workload is longer
    expect(result.batches).toBeGreaterThanOrEqual(Math.floor(reference.redoBytes / windowBytes));
    expect(result.endLsn).toBe(reference.endLsn);
    expect(result.recordsApplied).toBe(reference.recordsApplied);
    expect(verifyRecovered(windowed, plan, progress.committed, progress.committed)).toBe(progress.committed);
    expect(pageImages(windowed)).toEqual(expected);
    windowed.pool.validate();
    await windowed.close();
  });

  it('IDEMPOTENT: a record older than its page is not applied again (a MOVE would copy newer bytes)', async () => {
    const run = await core.start(3);
    const storage = run.engine;
    const [page] = setUpPages(storage, [1], 1);
    const { spaceId, pageNo } = page!;
    const edit = async (change: (bytes: Uint8Array, mtr: ReturnType<Storage['startMtr']>) => void): Promise<void> => {
      const mtr = storage.startMtr();
      change(mtr.getPage(spaceId, pageNo), mtr);
      await storage.commitDurable(mtr.commit(), 'full');
    };
    const A = 200;
    const B = 300;
    await edit((bytes, mtr) => mtr.write(bytes, A, new Uint8Array(16).fill(0xaa)));
    storage.pool.flushAll();
    storage.checkpoint(); // recovery starts after the first write
    await edit((bytes, mtr) => mtr.move(bytes, B, A, 16)); // B := A (0xaa)
    await edit((bytes, mtr) => mtr.write(bytes, A, new Uint8Array(16).fill(0xbb)));
    storage.pool.flushAll(); // the page on disk is newer than both records; the log still has them
    const { engine: recovered } = await core.recover(core.die(run, 'power-cut'), 4);
    expect(recovered.recovery!.groups).toBe(2);
    expect(recovered.recovery!.pagesApplied).toBe(1);
    const mtr = recovered.startMtr();
    const bytes = mtr.getPage(spaceId, pageNo);
    expect(Buffer.from(bytes.subarray(B, B + 16)).toString('hex')).toBe('aa'.repeat(16));
    expect(Buffer.from(bytes.subarray(A, A + 16)).toString('hex')).toBe('bb'.repeat(16));
    mtr.commit();
    await recovered.close();
  });

  it('has teeth: without the doublewrite buffer the same torn writes are reported as corruption', async () => {
    const seed = 7;
    const { image, pages } = await baseImage(seed, 6);
    const plan = planWorkload(seed, pages, 30);
    const operations = await countOperations(image, plan, seed);
    const withoutDoublewrite = harness({ disableDoublewrite: true });
    let corruptions = 0;
    for (const policy of ['torn-garbage', 'torn-zeros'] as const) {
      for (let n = 1; n <= operations; n++) {
        try {
          await crashAndRecover(image, plan, seed + n, { at: 'operation', n, policy }, withoutDoublewrite);
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
