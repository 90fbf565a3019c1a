/**
 * FaultVfs asynchronous syncs that take time (`asyncSyncs`, F12): a sync covers what was issued
 * before it started, lands after a seeded number of the caller's scheduler steps, and other
 * operations interleave with it. The window group commit depends on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IoError, SimulatedCrashError } from '../../src/errors.js';
import { ManualClock } from '../../src/util/clock.js';
import { ClockSyncScheduler, EventLoopSyncScheduler, FaultVfs, SteppedSyncScheduler } from '../../src/vfs/fault-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';
import { runOp, snapshot, vfsOpsArb } from './vfs-ops.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array(0)).toString('hex');

/** A VFS with one synced, empty file 'f', whose async syncs take exactly `steps` steps. */
function setUp(steps = 3, seed = 1): { vfs: FaultVfs; file: VfsFile; scheduler: SteppedSyncScheduler } {
  const scheduler = new SteppedSyncScheduler();
  const vfs = new FaultVfs({ seed, asyncSyncs: { scheduler, stepsMin: steps, stepsMax: steps } });
  const file = vfs.open('f', { create: true });
  vfs.syncDir('');
  return { vfs, file, scheduler };
}

/** Settles `promise` into a plain outcome without letting a rejection go unhandled. */
function track(promise: Promise<void>): { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } {
  const outcome: { state: 'pending' | 'resolved' | 'rejected'; error?: unknown } = { state: 'pending' };
  promise.then(
    () => (outcome.state = 'resolved'),
    (error: unknown) => {
      outcome.state = 'rejected';
      outcome.error = error;
    },
  );
  return outcome;
}

const microtasks = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await Promise.resolve();
};

describe('asyncSyncs: a sync in flight', () => {
  it('covers the writes issued before it started, not those issued while it is in flight', async () => {
    const { vfs, file, scheduler } = setUp(3);
    file.write(filled(100, 0x11), 0);
    const sync = track(file.datasyncAsync());
    file.write(filled(100, 0x22), 100); // while the device works
    scheduler.step(2);
    await microtasks();
    expect(sync.state).toBe('pending');
    expect(vfs.syncsInFlight).toBe(1);
    expect(hex(vfs.durableImage().files.get('f'))).toBe(''); // not landed yet
    scheduler.step();
    await microtasks();
    expect(sync.state).toBe('resolved');
    expect(vfs.syncsInFlight).toBe(0);
    expect(hex(vfs.durableImage().files.get('f'))).toBe(hex(filled(100, 0x11)));
    expect(hex(vfs.crashNow('power-cut').files.get('f'))).toBe(hex(filled(100, 0x11)));
  });

  it('is counted and traced when it starts, so crashAtSync crashes at the call', async () => {
    const { vfs, file, scheduler } = setUp(2);
    file.write(filled(10, 0x11), 0);
    const first = track(file.datasyncAsync());
    expect(vfs.syncOperations).toBe(2); // syncDir + this one
    expect(vfs.audit('f').datasyncs).toBe(1);
    vfs.crashAtSync(1, 'power-cut');
    const second = track(file.datasyncAsync());
    await microtasks();
    expect(second.state).toBe('rejected');
    expect(second.error).toBeInstanceOf(SimulatedCrashError);
    // The crash came while the first was in flight: it never lands, and says so.
    expect(first.state).toBe('rejected');
    expect(first.error).toBeInstanceOf(SimulatedCrashError);
    scheduler.drain();
    expect(hex(vfs.crashImage().files.get('f'))).toBe('');
    expect(vfs.trace().filter((entry) => entry.op === 'datasync')).toEqual([
      { op: 'datasync', path: 'f', phase: 'started' },
    ]);
  });

  it('a crash while it is in flight loses what it covered under a power cut, and rejects it', async () => {
    const { vfs, file } = setUp(5);
    file.write(filled(10, 0x11), 0);
    const sync = track(file.datasyncAsync());
    const image = vfs.crashNow('power-cut');
    await microtasks();
    expect(sync.state).toBe('rejected');
    expect(sync.error).toBeInstanceOf(SimulatedCrashError);
    expect(hex(image.files.get('f'))).toBe('');
  });

  it('draws each delay from the seeded stream, within [stepsMin, stepsMax], the same for the same seed', async () => {
    async function delays(seed: number): Promise<number[]> {
      const scheduler = new SteppedSyncScheduler();
      const vfs = new FaultVfs({ seed, asyncSyncs: { scheduler, stepsMin: 2, stepsMax: 6 } });
      const file = vfs.open('f', { create: true });
      const result: number[] = [];
      for (let i = 0; i < 20; i++) {
        file.write(Uint8Array.of(i), i);
        const sync = track(file.datasyncAsync());
        let steps = 0;
        while (sync.state === 'pending') {
          scheduler.step();
          steps++;
          await microtasks();
        }
        result.push(steps);
      }
      return result;
    }
    const a = await delays(5);
    expect(a.every((steps) => steps >= 2 && steps <= 6)).toBe(true);
    expect(new Set(a).size).toBeGreaterThan(2);
    expect(await delays(5)).toEqual(a);
    expect(await delays(6)).not.toEqual(a);
  });

  it('a failing one (failNextSync) drops what it covered when it lands; later writes stay pending', async () => {
    const { vfs, file, scheduler } = setUp(2);
    file.write(filled(10, 0x11), 0);
    vfs.failNextSync('f');
    const sync = track(file.datasyncAsync());
    file.write(filled(10, 0x22), 10);
    scheduler.step(2);
    await microtasks();
    expect(sync.state).toBe('rejected');
    expect(sync.error).toBeInstanceOf(IoError);
    file.sync(); // the retry succeeds, but the first write is gone for good (fsyncgate)
    expect(hex(vfs.durableImage().files.get('f'))).toBe(hex(new Uint8Array([...filled(10, 0), ...filled(10, 0x22)])));
    expect(
      vfs
        .trace()
        .filter((entry) => entry.op === 'datasync')
        .map((entry) => entry.failed ?? entry.phase),
    ).toEqual(['started', 'ERR_IO']);
  });

  it('a synchronous sync meanwhile makes everything durable; the late landing changes nothing', async () => {
    const { vfs, file, scheduler } = setUp(3);
    file.write(filled(10, 0x11), 0);
    const sync = track(file.datasyncAsync());
    file.write(filled(10, 0x22), 10);
    file.datasync();
    file.write(filled(10, 0x33), 20);
    scheduler.drain();
    await microtasks();
    expect(sync.state).toBe('resolved');
    expect(hex(vfs.crashNow('power-cut').files.get('f'))).toBe(
      hex(new Uint8Array([...filled(10, 0x11), ...filled(10, 0x22)])),
    );
  });

  it('syncDirAsync covers the entries of its start; an older landing never undoes a newer sync (F12)', async () => {
    const { vfs, scheduler } = setUp(2);
    vfs.open('a', { create: true });
    const first = track(vfs.syncDirAsync(''));
    vfs.open('b', { create: true });
    scheduler.step(2);
    await microtasks();
    expect(first.state).toBe('resolved');
    expect(vfs.unsyncedEntries()).toEqual(['b']);
    // Start a sync, then let a later synchronous one land first: the old copy must not win.
    const late = track(vfs.syncDirAsync(''));
    vfs.open('c', { create: true });
    vfs.syncDir('');
    scheduler.drain();
    await microtasks();
    expect(late.state).toBe('resolved');
    expect(vfs.unsyncedEntries()).toEqual([]);
    expect([...vfs.crashNow('power-cut').files.keys()].sort()).toEqual(['a', 'b', 'c', 'f']);
  });

  it('a rename becomes durable only when a directory sync that started after it lands', async () => {
    const { vfs, scheduler } = setUp(2);
    const file = vfs.open('old', { create: true });
    file.write(filled(4, 0x44), 0);
    file.sync();
    vfs.syncDir('');
    const before = track(vfs.syncDirAsync(''));
    vfs.rename('old', 'new');
    scheduler.drain();
    await microtasks();
    expect(before.state).toBe('resolved');
    expect(vfs.unsyncedEntries()).toEqual(['new', 'old']);
    expect([...vfs.durableImage().files.keys()].sort()).toEqual(['f', 'old']);
    const after = track(vfs.syncDirAsync(''));
    scheduler.drain();
    await microtasks();
    expect(after.state).toBe('resolved');
    expect(vfs.unsyncedEntries()).toEqual([]);
    // Both halves durable: even a crash that leaves renames half done keeps exactly the new name.
    const image = vfs.crashNow({ unsynced: 'keep-all', directories: 'lose-unsynced', renameNotAtomic: true });
    expect([...image.files.keys()].sort()).toEqual(['f', 'new']);
  });

  it('runs on the event loop (EventLoopSyncScheduler) and on a clock (ClockSyncScheduler)', async () => {
    const loop = new FaultVfs({
      seed: 3,
      asyncSyncs: { scheduler: new EventLoopSyncScheduler(), stepsMin: 2, stepsMax: 2 },
    });
    const loopFile = loop.open('f', { create: true });
    loop.syncDir('');
    loopFile.write(filled(8, 0x55), 0);
    const landing = loopFile.datasyncAsync();
    expect(loop.syncsInFlight).toBe(1);
    await landing;
    expect(hex(loop.durableImage().files.get('f'))).toBe(hex(filled(8, 0x55)));

    const clock = new ManualClock();
    const timed = new FaultVfs({
      seed: 3,
      asyncSyncs: { scheduler: new ClockSyncScheduler(clock, 0.5), stepsMin: 2, stepsMax: 2 },
    });
    const timedFile = timed.open('f', { create: true });
    timed.syncDir('');
    timedFile.write(filled(8, 0x66), 0);
    const sync = track(timedFile.datasyncAsync());
    clock.advance(0.9);
    await microtasks();
    expect(sync.state).toBe('pending');
    clock.advance(0.1);
    await microtasks();
    expect(sync.state).toBe('resolved');
    expect(hex(timed.durableImage().files.get('f'))).toBe(hex(filled(8, 0x66)));
  });

  it('without asyncSyncs an async sync has landed before its promise settles (the default)', async () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    vfs.syncDir('');
    file.write(filled(4, 0x77), 0);
    const promise = file.datasyncAsync();
    expect(hex(vfs.durableImage().files.get('f'))).toBe(hex(filled(4, 0x77)));
    await promise;
  });

  it('refuses a scheduler without after() and an empty step range', () => {
    expect(() => new FaultVfs({ seed: 1, asyncSyncs: { scheduler: {} as never } })).toThrow(
      /asyncSyncs needs a scheduler/,
    );
    const scheduler = new SteppedSyncScheduler();
    expect(() => new FaultVfs({ seed: 1, asyncSyncs: { scheduler, stepsMin: 3, stepsMax: 2 } })).toThrow(
      /below stepsMin/,
    );
    expect(() => new FaultVfs({ seed: 1, asyncSyncs: { scheduler, stepsMin: 0 } })).toThrow(/positive/);
    expect(() => scheduler.after(0, () => undefined)).toThrow(/positive whole number/);
  });

  it('awaited at once, the async syncs agree with MemoryVfs and leave the image a plain FaultVfs leaves (F8)', async () => {
    await fc.assert(
      fc.asyncProperty(vfsOpsArb, fc.integer({ min: 1, max: 1 << 30 }), async (ops, seed) => {
        const memory = new MemoryVfs();
        const plain = new FaultVfs({ seed });
        const slow = new FaultVfs({
          seed,
          asyncSyncs: { scheduler: new EventLoopSyncScheduler(), stepsMin: 1, stepsMax: 3 },
        });
        const handles: VfsFile[][] = [[], [], []];
        for (const op of ops) {
          const expected = await runOp(memory, handles[0]!, op);
          expect(await runOp(plain, handles[1]!, op)).toEqual(expected);
          expect(await runOp(slow, handles[2]!, op)).toEqual(expected);
        }
        expect(snapshot(slow)).toEqual(snapshot(memory));
        const images = [plain.crashNow('reorder'), slow.crashNow('reorder')];
        expect([...images[1]!.files].map(([path, bytes]) => [path, hex(bytes)])).toEqual(
          [...images[0]!.files].map(([path, bytes]) => [path, hex(bytes)]),
        );
      }),
      { numRuns: 100 },
    );
  });
});
