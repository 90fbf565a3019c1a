/**
 * A process crash leaves the kernel's page cache alive (`osCacheSurvives`, the 'process-crash'
 * preset, F11): the next process reads every write, but a power cut later (during recovery or
 * after) still takes what nobody synced. The random-sequence version of these checks is in
 * fault-vfs-contract.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { CRASH_POLICIES, FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const hex = (bytes: Uint8Array | undefined): string => Buffer.from(bytes ?? new Uint8Array(0)).toString('hex');
const names = (image: CrashImage): string[] => [...image.files.keys()].sort();

function read(file: VfsFile): Uint8Array {
  const bytes = new Uint8Array(file.size());
  file.read(bytes, 0);
  return bytes;
}

/**
 * One of each: 'synced' written and synced; 'cached' synced once then overwritten; 'young'
 * created with no directory sync; 'gone' removed with no directory sync; 'moved' renamed from
 * 'before' with no directory sync. Then kill -9.
 */
function crashedProcess(): CrashImage {
  const vfs = new FaultVfs({ seed: 4 });
  for (const name of ['synced', 'cached', 'gone', 'before']) {
    const file = vfs.open(name, { create: true });
    file.write(filled(8, 0x10), 0);
    file.sync();
  }
  vfs.syncDir('');
  const cached = vfs.open('cached');
  cached.write(filled(4, 0x20), 2);
  cached.write(filled(4, 0x21), 8); // extends
  vfs.open('young', { create: true }).write(filled(3, 0x30), 0);
  vfs.remove('gone');
  vfs.rename('before', 'moved');
  return vfs.crashNow('process-crash');
}

describe("'process-crash': the page cache outlives the process", () => {
  it('the next process reads every write and every unsynced entry', () => {
    const image = crashedProcess();
    expect(image.osCache).toBeDefined();
    expect(names(image)).toEqual(['cached', 'moved', 'synced', 'young']);
    const vfs = FaultVfs.fromImage(image, { seed: 5 });
    expect(vfs.list('')).toEqual(['cached', 'moved', 'synced', 'young']);
    expect(hex(read(vfs.open('cached')))).toBe(
      hex(new Uint8Array([0x10, 0x10, 0x20, 0x20, 0x20, 0x20, 0x10, 0x10, 0x21, 0x21, 0x21, 0x21])),
    );
    expect(vfs.unsyncedEntries()).toEqual(['before', 'gone', 'moved', 'young']);
  });

  it('a power cut after the reopening takes back every unsynced write and entry', () => {
    const vfs = FaultVfs.fromImage(crashedProcess(), { seed: 5 });
    const image = vfs.crashNow('power-cut');
    expect(names(image)).toEqual(['before', 'cached', 'gone', 'synced']);
    expect(hex(image.files.get('cached'))).toBe(hex(filled(8, 0x10)));
  });

  it("what the new process syncs is durable, including the dead one's writes to that file", () => {
    const vfs = FaultVfs.fromImage(crashedProcess(), { seed: 5 });
    vfs.open('cached').datasync(); // fdatasync flushes the file's dirty pages, whoever wrote them
    vfs.syncDir('');
    const image = vfs.crashNow('power-cut');
    expect(names(image)).toEqual(['cached', 'moved', 'synced', 'young']);
    expect(image.files.get('cached')!.length).toBe(12);
    expect(hex(image.files.get('young'))).toBe(''); // its entry is durable, its data was never synced
  });

  it('writes of the new process keep their order after the old ones (F3), for a prefix crash', () => {
    const cuts = new Set<string>();
    for (let seed = 0; seed < 40; seed++) {
      const again = FaultVfs.fromImage(crashedProcess(), { seed: 5 });
      again.open('synced').write(filled(2, 0x40), 0);
      const image = FaultVfs.fromImage(again.crashNow('process-crash'), { seed }).crashNow('prefix');
      const newWrite = image.files.get('synced')![0] === 0x40;
      const oldWrites = image.files.get('cached')!.length === 12;
      expect(!newWrite || oldWrites, `seed ${seed}: a later write survived without an earlier one`).toBe(true);
      cuts.add(`${String(newWrite)} ${String(oldWrites)}`);
    }
    expect(cuts.size).toBeGreaterThan(1);
  });

  it('reopens the same image any number of times, each VFS on its own copy', () => {
    const image = crashedProcess();
    const first = FaultVfs.fromImage(image, { seed: 1 });
    first.open('synced').write(filled(8, 0x77), 0);
    first.open('synced').sync();
    const second = FaultVfs.fromImage(image, { seed: 1 });
    expect(hex(read(second.open('synced')))).toBe(hex(filled(8, 0x10)));
    expect(hex(second.crashNow('power-cut').files.get('synced'))).toBe(hex(filled(8, 0x10)));
  });

  it('one inode behind two names stays one inode: a rename half done, then synced through the new name', () => {
    const vfs = new FaultVfs({ seed: 2 });
    const file = vfs.open('a', { create: true });
    vfs.syncDir('');
    vfs.rename('a', 'b');
    file.write(filled(4, 0x55), 0);
    const reopened = FaultVfs.fromImage(vfs.crashNow('process-crash'), { seed: 3 });
    reopened.open('b').datasync();
    // The rename never became durable, so a power cut brings back 'a': the same inode, whose data is now synced.
    expect(hex(reopened.crashNow('power-cut').files.get('a'))).toBe(hex(filled(4, 0x55)));
  });

  it('skipped writes (seed 001) and data a failed sync dropped are not in the cache the next process reads', () => {
    const vfs = new FaultVfs({ seed: 6 });
    const file = vfs.open('f', { create: true });
    vfs.syncDir('');
    file.write(filled(4, 0x11), 0);
    file.sync();
    vfs.trigger({ skipWritesPercent: 100 });
    file.write(filled(4, 0x22), 0); // skipped: never reached the kernel
    expect(() => file.sync()).toThrow(); // the crash at the first sync after the trigger
    const image = vfs.crashImage();
    expect(image.osCache).toBeDefined();
    expect(hex(read(FaultVfs.fromImage(image, { seed: 7 }).open('f')))).toBe(hex(filled(4, 0x11)));
  });

  it('only a policy that keeps everything may keep the cache; an image with its files replaced may not', () => {
    const vfs = new FaultVfs({ seed: 1 });
    expect(() => vfs.crashAtOperation(1, { unsynced: 'lose-all', osCacheSurvives: true })).toThrow(
      InvalidArgumentError,
    );
    expect(() =>
      vfs.crashAtOperation(1, { unsynced: 'keep-all', directories: 'lose-unsynced', osCacheSurvives: true }),
    ).toThrow(InvalidArgumentError);
    expect(() => vfs.crashAtOperation(1, { unsynced: 'keep-all', torn: 'zeros', osCacheSurvives: true })).toThrow(
      InvalidArgumentError,
    );
    expect(CRASH_POLICIES['process-crash'].osCacheSurvives).toBe(true);
    const image = crashedProcess();
    const edited: CrashImage = { ...image, files: new Map(image.files) };
    expect(() => FaultVfs.fromImage(edited, { seed: 1 })).toThrow(/files were replaced/);
    const { osCache: _dropped, ...durable } = edited;
    const plain = FaultVfs.fromImage(durable, { seed: 1 });
    expect(plain.unsyncedEntries()).toEqual([]);
    expect(names(plain.crashNow('power-cut'))).toEqual(names(image)); // without it, all of it durable
  });

  it('a keep-all policy without osCacheSurvives makes the image durable, as before', () => {
    const vfs = new FaultVfs({ seed: 1 });
    vfs.open('f', { create: true }).write(filled(4, 0x11), 0);
    const image = vfs.crashNow({ unsynced: 'keep-all', directories: 'keep' });
    expect(image.osCache).toBeUndefined();
    expect(hex(FaultVfs.fromImage(image, { seed: 1 }).crashNow('power-cut').files.get('f'))).toBe(hex(filled(4, 0x11)));
  });
});
