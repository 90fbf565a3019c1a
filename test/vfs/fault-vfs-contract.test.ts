/**
 * FaultVfs with no faults keeps the VFS contract (the op-by-op agreement with MemoryVfs and NodeVfs
 * is `differential.test.ts`); here: bad input gives typed errors, refused calls are not counted as
 * operations, and after random operation sequences the process-crash image (and its reopening)
 * equals what the reads see, the reopening keeps unsynced what was unsynced (F11), and the
 * power-cut image equals it once everything is synced.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';
import { imageSnapshot, runOp, snapshot, vfsOpsArb } from './vfs-ops.js';

const code = (value: string) => expect.objectContaining({ code: value });

describe('FaultVfs: typed errors for bad input', () => {
  it('refuses negative and non-integer offsets, and non-buffers', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    expect(() => file.read(new Uint8Array(1), -1)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => file.write(new Uint8Array(1), -5)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => file.write(new Uint8Array(1), 0.5)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => file.truncate(-1)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => file.write('x' as unknown as Uint8Array, 0)).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(vfs.mutatingOperations).toBe(1); // only the create: refused calls are not operations
    expect(file.size()).toBe(0);
  });

  it('refuses a closed handle with ClosedError; close is idempotent', async () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    file.close();
    file.close();
    expect(file.closed).toBe(true);
    for (const call of [
      () => file.read(new Uint8Array(1), 0),
      () => file.write(new Uint8Array(1), 0),
      () => file.size(),
      () => file.truncate(0),
      () => file.sync(),
      () => file.datasync(),
    ]) {
      expect(call).toThrow(code('ERR_CLOSED'));
    }
    await expect(file.syncAsync()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('refuses missing files and directories with NotFoundError', () => {
    const vfs = new FaultVfs({ seed: 1 });
    expect(() => vfs.open('missing')).toThrow(code('ERR_NOT_FOUND'));
    expect(() => vfs.open('nodir/f', { create: true })).toThrow(code('ERR_NOT_FOUND'));
    expect(() => vfs.remove('missing')).toThrow(code('ERR_NOT_FOUND'));
    expect(() => vfs.rename('missing', 'x')).toThrow(code('ERR_NOT_FOUND'));
    expect(() => vfs.syncDir('nodir')).toThrow(code('ERR_NOT_FOUND'));
    expect(() => vfs.rmdir('nodir')).toThrow(code('ERR_NOT_FOUND'));
    expect(vfs.stat('missing')).toBeUndefined();
    expect(vfs.mutatingOperations).toBe(0);
  });

  it('refuses paths outside the root with PathOutsideRootError, in every entry point', () => {
    const vfs = new FaultVfs({ seed: 1 });
    for (const path of ['../x', '/etc/passwd', 'a\0b', 'C:/x', 'a/../../b']) {
      expect(() => vfs.open(path, { create: true }), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.stat(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.mkdir(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.syncDir(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.armZeroTail(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.failNextSync(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.misdirectNextWrite({ path }), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
      expect(() => vfs.audit(path), path).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
    }
    expect(vfs.list('')).toEqual([]);
  });

  it('refuses writes through a read-only handle, and bad options', () => {
    const vfs = new FaultVfs({ seed: 1 });
    vfs.open('f', { create: true });
    const reader = vfs.open('f', { readOnly: true });
    expect(() => reader.write(new Uint8Array(1), 0)).toThrow(code('ERR_READ_ONLY'));
    expect(() => reader.truncate(0)).toThrow(code('ERR_READ_ONLY'));
    const invalid = code('ERR_INVALID_ARGUMENT');
    expect(() => new FaultVfs({ seed: 1.5 })).toThrow(invalid);
    expect(() => new FaultVfs({ seed: 1, sectorBytes: 0 })).toThrow(invalid);
    expect(() => new FaultVfs(undefined as unknown as { seed: number })).toThrow(invalid);
    expect(() => vfs.crashAtOperation(0)).toThrow(invalid);
    expect(() => vfs.crashAtSync(1.5)).toThrow(invalid);
    expect(() => vfs.crashAtEvent('log-sync', -1)).toThrow(invalid);
    expect(() => vfs.crashAtRandom(0)).toThrow(invalid);
    expect(() => vfs.trigger({ skipWritesPercent: 101 })).toThrow(invalid);
    expect(() => vfs.setCapacity(-1)).toThrow(invalid);
    expect(() => vfs.armZeroTail('f', { reads: 0 })).toThrow(invalid);
    expect(() => vfs.misdirectNextWrite({ toPosition: -1 })).toThrow(invalid);
    expect(() => vfs.onWrite('hook' as unknown as () => void)).toThrow(invalid);
    expect(vfs.crashed).toBe(false);
  });

  it('keeps handles working after rename and remove (V5), and lists sorted', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('b', { create: true });
    vfs.open('a', { create: true });
    vfs.rename('b', 'c');
    file.write(Uint8Array.of(9), 0);
    expect(vfs.stat('c')).toEqual({ kind: 'file', size: 1 });
    vfs.remove('c');
    file.write(Uint8Array.of(8), 1);
    expect(file.size()).toBe(2);
    expect(vfs.list('')).toEqual(['a']);
    expect(vfs.crashNow('process-crash').files.has('c')).toBe(false);
  });
});

describe('FaultVfs images agree with what the reads see (fast-check, vfs-ops sequences)', () => {
  it('process-crash image = the tree MemoryVfs shows; reopened, the same tree and the same durable part; all synced, power-cut too', async () => {
    await fc.assert(
      fc.asyncProperty(vfsOpsArb, fc.integer({ min: 1, max: 1 << 30 }), async (ops, seed) => {
        const memory = new MemoryVfs();
        const fault = new FaultVfs({ seed });
        const memoryHandles: VfsFile[] = [];
        const faultHandles: VfsFile[] = [];
        for (const op of ops) {
          expect(await runOp(fault, faultHandles, op)).toEqual(await runOp(memory, memoryHandles, op));
        }
        const expected = snapshot(memory);
        expect(snapshot(fault)).toEqual(expected);

        const durableBefore = imageSnapshot(fault.durableImage());
        const image = fault.crashNow('process-crash');
        expect(imageSnapshot(image)).toEqual(expected);
        const reopened = FaultVfs.fromImage(image, { seed });
        expect(snapshot(reopened)).toEqual(expected);
        // F11: the kernel kept its page cache; a power cut now leaves what it would have at the crash.
        expect(imageSnapshot(reopened.durableImage())).toEqual(durableBefore);
        const again = FaultVfs.fromImage(reopened.crashNow('process-crash'), { seed });
        expect(snapshot(again)).toEqual(expected);
        expect(imageSnapshot(again.durableImage())).toEqual(durableBefore);

        // Sync every file (through a fresh handle) and every directory, deepest first: nothing is lost.
        const synced = new FaultVfs({ seed });
        const syncedHandles: VfsFile[] = [];
        for (const op of ops) await runOp(synced, syncedHandles, op);
        const paths = Object.keys(expected);
        for (const path of paths) if (expected[path] !== 'dir') synced.open(path).sync();
        for (const dir of [...paths.filter((p) => expected[p] === 'dir').reverse(), '']) synced.syncDir(dir);
        expect(synced.unsyncedEntries()).toEqual([]);
        expect(imageSnapshot(synced.crashNow('power-cut'))).toEqual(expected);
      }),
      { numRuns: 150 },
    );
  });
});
