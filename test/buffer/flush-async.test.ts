/**
 * Asynchronous flush batches (buffer-pool.ts B11, storage.ts C6): the timers' page cleaner waits
 * for a batch's syncs off the event loop, while mini-transactions keep changing pages.
 *
 * On a FaultVfs whose asynchronous syncs land only when a SteppedSyncScheduler is stepped, these
 * tests hold a batch in flight, change pages under it, finish it from a synchronous flush, and cut
 * the power at every step of it: a page changed while its copy was being written stays dirty from
 * that change, a batch is written once whoever finishes it, and recovery brings back every change.
 */
import { describe, expect, it } from 'vitest';
import { Storage } from '../../src/core/storage.js';
import { FIL_HEADER_BYTES, readU32 } from '../../src/page/page.js';
import type { FaultVfs, SteppedSyncScheduler } from '../../src/vfs/fault-vfs.js';
import { CrashHarness } from '../support/crash-harness.js';
import { setUpPages, storageOptions, type PageRef } from '../core/mtr-workload.js';

const PAGES = 6;
const eventLoopTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
const openStorage = (vfs: FaultVfs): Promise<Storage> => Storage.open(storageOptions(vfs));
const harness = new CrashHarness(openStorage, { slowSyncs: { stepsMin: 3, stepsMax: 3 } });

/** Writes `value` into each page's first word, one durable mtr per page; returns each mtr's start LSN. */
function writeAll(storage: Storage, pages: readonly PageRef[], value: (i: number) => number): number[] {
  return pages.map((page, i) => {
    const start = storage.log.currentLsn;
    const mtr = storage.startMtr();
    mtr.writeU32(mtr.getPage(page.spaceId, page.pageNo), FIL_HEADER_BYTES, value(i));
    storage.log.flushUpTo(mtr.commit());
    return start;
  });
}

function firstWord(storage: Storage, page: PageRef): number {
  const mtr = storage.startMtr();
  const word = readU32(mtr.getPage(page.spaceId, page.pageNo), FIL_HEADER_BYTES);
  mtr.commit();
  return word;
}

function frameOf(storage: Storage, page: PageRef): number {
  const frame = storage.pool.lookup(page.spaceId, page.pageNo);
  expect(frame).toBeGreaterThanOrEqual(0);
  return frame;
}

/** A database with PAGES pages on one space, every page flushed, then every page dirtied again. */
async function dirtyDatabase(seed: number): Promise<{
  storage: Storage;
  vfs: FaultVfs;
  syncs: SteppedSyncScheduler;
  pages: PageRef[];
}> {
  const run = await harness.start(seed);
  const pages = setUpPages(run.engine, [1], PAGES);
  run.engine.pool.flushAll();
  run.engine.checkpoint();
  writeAll(run.engine, pages, (i) => 100 + i);
  return { storage: run.engine, vfs: run.vfs, syncs: run.syncs!, pages };
}

/** Steps the device and the event loop until `promise` settles. */
async function settle(promise: Promise<unknown>, syncs: SteppedSyncScheduler): Promise<void> {
  let settled = false;
  void promise.then(
    () => (settled = true),
    () => (settled = true),
  );
  for (let turn = 0; !settled; turn++) {
    expect(turn).toBeLessThan(1000);
    await eventLoopTurn();
    syncs.step();
  }
}

describe('asynchronous flush batches (B11)', () => {
  it('a page changed while its batch is in flight stays dirty from that change; the rest come clean', async () => {
    const { storage, syncs, pages } = await dirtyDatabase(11);
    const writesBefore = storage.pool.stats.writes;
    const flushed = storage.pool.flushOldestAsync(PAGES);
    expect(storage.pool.flushInFlight).toBe(true);
    await eventLoopTurn();
    const [changedAt] = writeAll(storage, [pages[2]!], () => 777); // under the batch
    await settle(flushed, syncs);
    expect(await flushed).toBe(PAGES);
    expect(storage.pool.flushInFlight).toBe(false);
    expect(storage.pool.stats.writes - writesBefore).toBe(PAGES);
    for (let i = 0; i < PAGES; i++) expect(storage.pool.isDirty(frameOf(storage, pages[i]!))).toBe(i === 2);
    // Its oldest modification is the change made under the batch, not the one the batch wrote.
    expect(storage.pool.oldestModification()).toBe(changedAt);
    expect(firstWord(storage, pages[2]!)).toBe(777);
    await storage.close();
  });

  it('a synchronous flush finishes the batch in flight, and the batch is written once', async () => {
    const { storage, syncs, pages } = await dirtyDatabase(12);
    const writesBefore = storage.pool.stats.writes;
    const flushed = storage.pool.flushOldestAsync(PAGES);
    expect(storage.pool.flushInFlight).toBe(true);
    expect(storage.pool.flushOldest(Number.POSITIVE_INFINITY)).toBe(0); // finishes it, nothing more
    expect(storage.pool.flushInFlight).toBe(false);
    expect(storage.pool.dirtyPages()).toBe(0);
    expect(storage.pool.stats.writes - writesBefore).toBe(PAGES);
    await settle(flushed, syncs);
    expect(await flushed).toBe(PAGES);
    expect(storage.pool.stats.writes - writesBefore).toBe(PAGES); // the continuation wrote nothing
    expect(storage.pool.dirtyPages()).toBe(0);
    await settle(storage.close(), syncs);
    for (const page of pages) expect(storage.pool.lookup(page.spaceId, page.pageNo)).toBe(-1);
  });

  it('a power cut at any step of a batch in flight, with changes under it, loses no durable change', async () => {
    let cutsInFlight = 0;
    for (let cutAfter = 0; ; cutAfter++) {
      const { storage, vfs, syncs, pages } = await dirtyDatabase(20 + cutAfter);
      const flushed = storage.pool.flushOldestAsync(PAGES);
      let steps = 0;
      let done = false;
      void flushed.then(
        () => (done = true),
        () => undefined, // the power cut fails the batch's syncs
      );
      // Step the batch `cutAfter` times, changing a page after each step, then cut the power.
      while (steps < cutAfter && !done) {
        await eventLoopTurn();
        syncs.step();
        writeAll(storage, [pages[steps % PAGES]!], () => 1000 + steps);
        steps++;
      }
      const expected = pages.map((page) => firstWord(storage, page));
      if (storage.pool.flushInFlight) cutsInFlight++;
      const recovered = await harness.powerCut({ engine: storage, vfs, syncs }, 99);
      for (let i = 0; i < PAGES; i++) expect(firstWord(recovered.engine, pages[i]!)).toBe(expected[i]);
      await recovered.engine.close();
      if (done) break;
      expect(cutAfter).toBeLessThan(50);
    }
    expect(cutsInFlight).toBeGreaterThanOrEqual(3); // cuts with the copies' sync, and the in-place one, in flight
  });

  it('a batch finished in place after its failing tablespace sync landed unheard writes its pages again (B12)', async () => {
    const { storage, vfs, syncs, pages } = await dirtyDatabase(31);
    const expected = pages.map((page) => firstWord(storage, page));
    const writesBefore = storage.pool.stats.writes;
    vfs.failNextSync('space-000001.ibd'); // taken by the batch's asynchronous sync of the pages
    const flushed = storage.pool.flushOldestAsync(PAGES);
    void flushed.then(
      () => undefined,
      () => undefined,
    );
    for (let turn = 0; storage.pool.stats.writes - writesBefore < PAGES; turn++) {
      expect(turn).toBeLessThan(100);
      await eventLoopTurn();
      syncs.step();
    }
    expect(storage.pool.flushInFlight).toBe(true); // written in place, the failing sync in flight
    // The failing sync lands (the kernel drops the pages it covered) before its continuation has
    // heard of it: the batch is still in flight when a synchronous flush finishes it in place.
    for (let step = 0; vfs.syncsInFlight > 0; step++) {
      expect(step).toBeLessThan(100);
      syncs.step();
    }
    expect(storage.pool.flushInFlight).toBe(true);
    storage.pool.flushOldest(Number.POSITIVE_INFINITY); // finishes it in place
    storage.checkpoint(); // past every page of the batch: only their writes in place hold them now
    const recovered = await harness.powerCut({ engine: storage, vfs, syncs }, 99);
    for (let i = 0; i < PAGES; i++) expect(firstWord(recovered.engine, pages[i]!)).toBe(expected[i]);
    await recovered.engine.close();
  });
});
