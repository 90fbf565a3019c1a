/**
 * FaultVfs faults other than crashes: a failing fsync that drops the unsynced data, failed and
 * corrupted reads, misdirected writes, a full disk; and the audit (counts, trace, unsynced
 * directory entries) and the onWrite hook that engine oracles hang on.
 */
import { describe, expect, it } from 'vitest';
import { IoError } from '../../src/errors.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const code = (value: string) => expect.objectContaining({ code: value });
const readAt = (file: VfsFile, position: number, length: number): Uint8Array => {
  const bytes = new Uint8Array(length);
  const count = file.read(bytes, position);
  return bytes.subarray(0, count);
};

function syncedFile(seed = 1, path = 'f'): { vfs: FaultVfs; file: VfsFile } {
  const vfs = new FaultVfs({ seed });
  const file = vfs.open(path, { create: true });
  vfs.syncDir('');
  file.write(filled(1024, 0x11), 0);
  file.sync();
  return { vfs, file };
}

describe('failNextSync: EIO, and the unsynced data is dropped for good', () => {
  it('throws IoError; reads keep the cached bytes; the retry succeeds; the data is in no image', () => {
    const { vfs, file } = syncedFile();
    file.write(filled(100, 0x22), 0);
    file.write(filled(100, 0x33), 1024); // extends
    vfs.failNextSync('f');
    let error: unknown;
    try {
      file.datasync();
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(IoError);
    expect(error).toMatchObject({ code: 'ERR_IO', path: 'f', operation: 'fdatasync' });
    expect(hex(readAt(file, 0, 100))).toBe(hex(filled(100, 0x22))); // the page cache still has it
    expect(file.size()).toBe(1124);
    file.datasync(); // the retry succeeds...
    expect(hex(vfs.durableImage().files.get('f')!)).toBe(hex(filled(1024, 0x11))); // ...with nothing to write
    file.write(filled(10, 0x44), 500); // later writes are durable again, only their own bytes
    file.sync();
    const expected = filled(1024, 0x11);
    expected.fill(0x44, 500, 510);
    expect(hex(vfs.crashNow('process-crash').files.get('f')!)).toBe(hex(expected)); // even kill -9 lost it
    expect(vfs.trace().filter((e) => e.failed !== undefined)).toEqual([
      { op: 'datasync', path: 'f', failed: 'ERR_IO' },
    ]);
  });

  it('with a path it hits only that file; without one, the next sync of any file; fsync names itself', () => {
    const { vfs, file } = syncedFile();
    const other = vfs.open('g', { create: true });
    vfs.failNextSync('g');
    file.sync(); // not g
    expect(() => other.sync()).toThrow(expect.objectContaining({ code: 'ERR_IO', operation: 'fsync' }));
    other.sync();
    vfs.failNextSync();
    expect(() => file.sync()).toThrow(code('ERR_IO'));
    file.sync();
    expect(vfs.audit('f')).toMatchObject({ syncs: 4 }); // the failed ones were called, so they count
  });

  it('direct-I/O writes queued on the file still become durable (F5)', () => {
    const { vfs, file } = syncedFile();
    file.write(filled(10, 0x22), 0); // buffered, will be dropped
    vfs.open('f', { direct: true }).write(filled(10, 0x77), 100); // queued behind it, durable
    vfs.failNextSync();
    expect(() => file.datasync()).toThrow(code('ERR_IO'));
    const expected = filled(1024, 0x11);
    expected.fill(0x77, 100, 110);
    expect(hex(vfs.crashNow('power-cut').files.get('f')!)).toBe(hex(expected));
  });

  it('an async sync rejects with the same error', async () => {
    const { vfs, file } = syncedFile();
    vfs.failNextSync('f');
    await expect(file.syncAsync()).rejects.toMatchObject({ code: 'ERR_IO', operation: 'fsync' });
    await expect(file.datasyncAsync()).resolves.toBeUndefined();
  });
});

describe('injectReadFault', () => {
  it("'error' fails the next `count` reads with IoError, then reads work", () => {
    const { vfs, file } = syncedFile();
    vfs.injectReadFault({ kind: 'error', count: 2 });
    for (let i = 0; i < 2; i++)
      expect(() => readAt(file, 0, 10)).toThrow(expect.objectContaining({ code: 'ERR_IO', operation: 'read' }));
    expect(hex(readAt(file, 0, 10))).toBe(hex(filled(10, 0x11)));
  });

  it("'corrupt' flips exactly one bit of the returned bytes, inside the range; stored bytes stay (F9)", () => {
    const { vfs, file } = syncedFile();
    vfs.injectReadFault({ kind: 'corrupt', range: { position: 512, length: 512 } });
    expect(hex(readAt(file, 0, 512))).toBe(hex(filled(512, 0x11))); // misses the range: not hit
    const seen = readAt(file, 0, 1024);
    let flippedBits = 0;
    let at = -1;
    for (let i = 0; i < 1024; i++) {
      const diff = (seen[i] as number) ^ 0x11;
      if (diff !== 0) at = i;
      for (let bit = diff; bit !== 0; bit >>= 1) flippedBits += bit & 1;
    }
    expect(flippedBits).toBe(1);
    expect(at).toBeGreaterThanOrEqual(512);
    expect(hex(readAt(file, 0, 1024))).toBe(hex(filled(1024, 0x11))); // count 1: used up
    expect(hex(vfs.crashNow('process-crash').files.get('f')!)).toBe(hex(filled(1024, 0x11)));
  });

  it('a latent sector error (count Infinity, a range) fails every read over it, and only those', () => {
    const { vfs, file } = syncedFile();
    vfs.injectReadFault({ kind: 'error', count: Infinity, range: { position: 512, length: 512 } });
    for (let i = 0; i < 5; i++) expect(() => readAt(file, 1000, 10)).toThrow(code('ERR_IO'));
    expect(readAt(file, 0, 512)).toHaveLength(512);
    vfs.clearReadFaults();
    expect(readAt(file, 1000, 10)).toHaveLength(10);
  });

  it('hits a seeded share of reads with `probability`, and only the named file', () => {
    const { vfs, file } = syncedFile(9);
    const other = vfs.open('g', { create: true });
    other.write(filled(10, 1), 0);
    vfs.injectReadFault({ path: 'f', kind: 'error', count: Infinity, probability: 0.25 });
    let failed = 0;
    for (let i = 0; i < 400; i++) {
      try {
        readAt(file, 0, 1);
      } catch (error) {
        expect(error).toBeInstanceOf(IoError);
        failed++;
      }
      readAt(other, 0, 1); // never fails
    }
    expect(failed).toBeGreaterThan(60); // 100 expected
    expect(failed).toBeLessThan(140);
  });

  it('refuses bad options with typed errors', () => {
    const vfs = new FaultVfs({ seed: 1 });
    expect(() => vfs.injectReadFault({ kind: 'explode' as 'error' })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => vfs.injectReadFault({ kind: 'error', probability: 2 })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => vfs.injectReadFault({ kind: 'error', count: 0 })).toThrow(code('ERR_INVALID_ARGUMENT'));
    expect(() => vfs.injectReadFault({ kind: 'error', path: '../x' })).toThrow(code('ERR_PATH_OUTSIDE_ROOT'));
  });
});

describe('misdirectNextWrite', () => {
  it('lands the write at `toPosition`; the intended place keeps its old bytes', () => {
    const { vfs, file } = syncedFile();
    vfs.misdirectNextWrite({ path: 'f', toPosition: 2048 });
    file.write(filled(512, 0x77), 0);
    expect(hex(readAt(file, 0, 512))).toBe(hex(filled(512, 0x11)));
    expect(file.size()).toBe(2560);
    expect(hex(readAt(file, 2048, 512))).toBe(hex(filled(512, 0x77)));
    expect(vfs.trace().at(-1)).toEqual({
      op: 'write',
      path: 'f',
      position: 0,
      length: 512,
      direct: false,
      landedAt: 2048,
    });
    file.write(filled(512, 0x78), 0); // only the next one
    expect(hex(readAt(file, 0, 512))).toBe(hex(filled(512, 0x78)));
  });

  it('without a position lands at a seeded sector-aligned place other than the intended one', () => {
    const landings = new Set<number>();
    for (let seed = 1; seed <= 30; seed++) {
      const { vfs, file } = syncedFile(seed);
      vfs.misdirectNextWrite();
      file.write(filled(512, 0x77), 512);
      const landedAt = vfs.trace().at(-1)?.landedAt as number;
      expect(landedAt % 512, `seed ${seed}`).toBe(0);
      expect(landedAt, `seed ${seed}`).not.toBe(512);
      expect(landedAt).toBeLessThanOrEqual(1536);
      landings.add(landedAt);
    }
    expect([...landings].sort((a, b) => a - b)).toEqual([0, 1024, 1536]);
  });
});

describe('setCapacity: a full disk', () => {
  it('refuses a growing write or truncate with NoSpaceError and changes nothing (F7)', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const a = vfs.open('a', { create: true });
    const b = vfs.open('b', { create: true });
    vfs.setCapacity(1000);
    a.write(filled(600, 1), 0);
    expect(() => b.write(filled(500, 2), 0)).toThrow(expect.objectContaining({ code: 'ERR_NO_SPACE', path: 'b' }));
    expect(b.size()).toBe(0);
    expect(() => a.truncate(1001)).toThrow(code('ERR_NO_SPACE'));
    expect(a.size()).toBe(600);
    a.write(filled(600, 3), 0); // an overwrite takes no space
    b.write(filled(400, 2), 0); // exactly full
    vfs.remove('a'); // frees its 600 bytes
    b.write(filled(600, 4), 400);
    expect(b.size()).toBe(1000);
    vfs.setCapacity(undefined);
    b.write(filled(10, 5), 5000);
    expect(
      vfs
        .trace()
        .filter((e) => e.failed === 'ERR_NO_SPACE')
        .map((e) => e.op),
    ).toEqual(['write', 'truncate']);
  });
});

describe('audit, trace and unsynced entries', () => {
  it('counts writes, bytes, syncs, datasyncs and truncates per file, and syncDirs per directory', () => {
    const vfs = new FaultVfs({ seed: 1 });
    vfs.mkdir('redo');
    const log = vfs.open('redo/log0', { create: true });
    log.write(filled(100, 1), 0);
    log.write(filled(50, 1), 100);
    log.datasync();
    log.truncate(10);
    vfs.syncDir('redo');
    vfs.syncDir('redo');
    vfs.open('redo/log0', { truncate: true }).sync();
    const report = vfs.audit();
    expect(report.files.get('redo/log0')).toEqual({
      writes: 2,
      bytesWritten: 150,
      syncs: 1,
      datasyncs: 1,
      truncates: 2,
    });
    expect(report.directories.get('redo')).toEqual({ syncDirs: 2 });
    expect(vfs.audit('redo')).toEqual({
      writes: 0,
      bytesWritten: 0,
      syncs: 0,
      datasyncs: 0,
      truncates: 0,
      syncDirs: 2,
    });
    expect(vfs.audit('./redo//log0').writes).toBe(2);
  });

  it('traces every performed operation in order', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('tmp', { create: true });
    file.write(Uint8Array.of(1, 2), 3);
    file.datasync();
    vfs.rename('tmp', 'final');
    vfs.syncDir('');
    vfs.engineEvent('checkpoint');
    vfs.mkdir('d');
    vfs.rmdir('d');
    vfs.remove('final');
    expect(vfs.trace()).toEqual([
      { op: 'create', path: 'tmp' },
      { op: 'write', path: 'tmp', position: 3, length: 2, direct: false },
      { op: 'datasync', path: 'tmp' },
      { op: 'rename', path: 'tmp', to: 'final' },
      { op: 'syncDir', path: '' },
      { op: 'event', path: 'checkpoint' },
      { op: 'mkdir', path: 'd' },
      { op: 'rmdir', path: 'd' },
      { op: 'remove', path: 'final' },
    ]);
    expect(vfs.mutatingOperations).toBe(8);
  });

  it('lists the entries a syncDir has not made durable (rule DIR)', () => {
    const vfs = new FaultVfs({ seed: 1 });
    vfs.open('a', { create: true });
    vfs.mkdir('d');
    vfs.open('d/x', { create: true });
    expect(vfs.unsyncedEntries()).toEqual(['a', 'd', 'd/x']);
    vfs.syncDir('');
    expect(vfs.unsyncedEntries()).toEqual(['d/x']);
    vfs.syncDir('d');
    expect(vfs.unsyncedEntries()).toEqual([]);
    vfs.rename('a', 'd/y');
    vfs.remove('d/x');
    expect(vfs.unsyncedEntries()).toEqual(['a', 'd/x', 'd/y']);
    vfs.syncDir('d');
    expect(vfs.unsyncedEntries()).toEqual(['a']);
  });
});

describe('onWrite hooks', () => {
  it('see every write before it lands, direct and skipped ones too', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    const direct = vfs.open('f', { direct: true });
    const seen: string[] = [];
    vfs.onWrite((w) => seen.push(`${w.path}@${w.position}+${w.data.length}:${w.direct}:${file.size()}`));
    file.write(filled(10, 1), 0);
    direct.write(filled(5, 2), 10);
    vfs.trigger();
    file.write(filled(5, 3), 15);
    expect(seen).toEqual(['f@0+10:false:0', 'f@10+5:true:10', 'f@15+5:false:15']);
  });

  it('a hook that throws stops the write, and the error reaches the caller (a WAL oracle)', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const page = vfs.open('space', { create: true });
    let durableLsn = 100;
    const violation = new Error('WAL-1 page lsn above durable lsn');
    const stop = vfs.onWrite((w) => {
      const lsn = new DataView(w.data.buffer, w.data.byteOffset).getUint32(0);
      if (lsn > durableLsn) throw violation;
    });
    const pageWithLsn = (lsn: number): Uint8Array => {
      const bytes = filled(16, 0xee);
      new DataView(bytes.buffer).setUint32(0, lsn);
      return bytes;
    };
    page.write(pageWithLsn(90), 0);
    expect(() => page.write(pageWithLsn(120), 16)).toThrow(violation);
    expect(page.size()).toBe(16);
    durableLsn = 130;
    page.write(pageWithLsn(120), 16);
    stop();
    page.write(pageWithLsn(999), 32);
    expect(page.size()).toBe(48);
    stop(); // idempotent
  });
});
