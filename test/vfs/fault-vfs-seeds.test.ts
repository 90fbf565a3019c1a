/**
 * The two source documents FaultVfs answers directly.
 *
 * Seed 001 (MariaDB: an LD_PRELOAD that simulates a kernel crash): after a trigger, writes are
 * skipped (all, or a percentage); reads still return skipped data; positions stay right; a skipped
 * write that extends a file drags every later write to that file with it; direct-I/O writes are
 * never skipped; the crash comes at the first fsync; fsync and fdatasync are counted apart.
 *
 * Seed 000 (ext4 on ARM64): a reader racing an extending write sees the new length with zeros where
 * the new bytes go; a later read sees the bytes.
 */
import { describe, expect, it } from 'vitest';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const crashCode = expect.objectContaining({ code: 'ERR_SIMULATED_CRASH' });
const readAll = (file: VfsFile): Uint8Array => {
  const bytes = new Uint8Array(file.size());
  expect(file.read(bytes, 0)).toBe(bytes.length);
  return bytes;
};

/** `db` with 4096 durable bytes of 0x11 and its entry synced. */
function preallocated(seed: number): { vfs: FaultVfs; db: VfsFile } {
  const vfs = new FaultVfs({ seed });
  const db = vfs.open('db', { create: true });
  vfs.syncDir('');
  db.write(filled(4096, 0x11), 0);
  db.datasync();
  return { vfs, db };
}

describe('seed 001: trigger, skipped writes, crash at the first sync', () => {
  it('skips every write after the trigger by default; what came before survives (kill -9)', () => {
    const { vfs, db } = preallocated(1);
    db.write(filled(100, 0x22), 0); // before the trigger, unsynced: reached the kernel
    vfs.trigger();
    db.write(filled(100, 0x33), 200);
    db.write(filled(100, 0x44), 400);
    expect(
      vfs
        .trace()
        .filter((entry) => entry.skipped === true)
        .map((entry) => entry.position),
    ).toEqual([200, 400]);
    expect(() => db.datasync()).toThrow(crashCode);
    const expected = filled(4096, 0x11);
    expected.fill(0x22, 0, 100);
    expect(hex(vfs.crashImage().files.get('db')!)).toBe(hex(expected));
  });

  it('skips a seeded percentage of writes, the same ones for the same seed', () => {
    const skippedFor = (seed: number): string => {
      const { vfs, db } = preallocated(seed);
      vfs.trigger({ skipWritesPercent: 30 });
      for (let i = 0; i < 200; i++) db.write(Uint8Array.of(i + 1), i * 20);
      const skipped = vfs.trace().filter((entry) => entry.skipped === true);
      expect(skipped.length, `seed ${seed}`).toBeGreaterThan(30); // 60 expected
      expect(skipped.length, `seed ${seed}`).toBeLessThan(90);
      return skipped.map((entry) => entry.position).join(',');
    };
    expect(skippedFor(42)).toBe(skippedFor(42));
    expect(skippedFor(42)).not.toBe(skippedFor(43));
  });

  it('reads return skipped data and positions stay right; the image keeps exactly the unskipped writes', () => {
    const { vfs, db } = preallocated(42);
    vfs.trigger({ skipWritesPercent: 30 });
    for (let i = 0; i < 200; i++) db.write(Uint8Array.of(i + 1), i * 20);
    const expectedView = filled(4096, 0x11);
    for (let i = 0; i < 200; i++) expectedView[i * 20] = i + 1;
    expect(hex(readAll(db))).toBe(hex(expectedView)); // every write visible, each at its position
    const skipped = new Set(
      vfs
        .trace()
        .filter((entry) => entry.skipped === true)
        .map((entry) => entry.position),
    );
    expect(() => vfs.syncDir('')).toThrow(crashCode); // syncDir counts as a sync too
    const expectedImage = filled(4096, 0x11);
    for (let i = 0; i < 200; i++) if (!skipped.has(i * 20)) expectedImage[i * 20] = i + 1;
    expect(hex(vfs.crashImage().files.get('db')!)).toBe(hex(expectedImage));
  });

  it('0% skips nothing: the image is everything written', () => {
    const { vfs, db } = preallocated(3);
    vfs.trigger({ skipWritesPercent: 0 });
    db.write(filled(10, 0x55), 4096);
    expect(() => db.sync()).toThrow(crashCode);
    expect(vfs.crashImage().files.get('db')!.length).toBe(4106);
  });

  it('a skipped extending write makes every later write to that file skipped, and only that file', () => {
    const { vfs, db } = preallocated(5);
    const other = vfs.open('other', { create: true });
    vfs.trigger({ skipWritesPercent: 100 });
    db.write(filled(100, 0x66), 4096); // skipped, extends db to 4196
    expect(db.size()).toBe(4196); // the size moved: appends after it land right
    vfs.trigger({ skipWritesPercent: 0 }); // from now on nothing would be skipped...
    db.write(filled(10, 0x77), 0); // ...but db is dragged: skipped
    db.write(filled(10, 0x78), 4196); // append at size(): skipped
    other.write(filled(10, 0x79), 0); // another file: not skipped
    const writes = vfs
      .trace()
      .filter((e) => e.op === 'write')
      .slice(1); // after the preallocation
    expect(writes.map((e) => `${e.path}@${e.position}:${e.skipped === true}`)).toEqual([
      'db@4096:true',
      'db@0:true',
      'db@4196:true',
      'other@0:false',
    ]);
    const view = readAll(db);
    expect(view.length).toBe(4206);
    expect(hex(view.subarray(4096, 4206))).toBe(hex(filled(100, 0x66)) + hex(filled(10, 0x78)));
    expect(() => other.datasync()).toThrow(crashCode);
    const image = vfs.crashImage();
    expect(hex(image.files.get('db')!)).toBe(hex(filled(4096, 0x11)));
    expect(hex(image.files.get('other')!)).toBe(hex(filled(10, 0x79)));
  });

  it('direct-I/O writes are never skipped, even on a dragged file (F5)', () => {
    const { vfs, db } = preallocated(6);
    const direct = vfs.open('db', { direct: true });
    vfs.trigger();
    db.write(filled(10, 0x66), 4096); // skipped, extends: drags db
    direct.write(filled(512, 0x77), 512);
    direct.write(filled(512, 0x78), 4096 + 512);
    const writes = vfs
      .trace()
      .filter((e) => e.op === 'write')
      .slice(1); // after the preallocation
    expect(writes.map((e) => e.skipped === true)).toEqual([true, false, false]);
    expect(() => db.sync()).toThrow(crashCode);
    const image = vfs.crashImage().files.get('db')!;
    const expected = new Uint8Array(4096 + 1024);
    expected.fill(0x11, 0, 4096);
    expected.fill(0x77, 512, 1024);
    expected.fill(0x78, 4096 + 512);
    expect(hex(image)).toBe(hex(expected)); // the skipped extension is a zero gap
  });

  it('crashes at the first sync, datasync or syncDir after the trigger, before it takes effect', () => {
    for (const sync of ['sync', 'datasync', 'syncDir'] as const) {
      const vfs = new FaultVfs({ seed: 7 });
      const file = vfs.open('f', { create: true });
      vfs.syncDir('');
      file.write(filled(10, 0x21), 0); // before the trigger, unsynced
      vfs.trigger({ skipWritesPercent: 0, policy: 'power-cut' });
      file.truncate(20); // not a sync: no crash
      vfs.mkdir('d'); // not a sync: no crash
      file.write(filled(10, 0x22), 10);
      expect(vfs.crashed, sync).toBe(false);
      expect(() => (sync === 'syncDir' ? vfs.syncDir('') : file[sync]()), sync).toThrow(crashCode);
      // Under a power cut the sync did not happen, so nothing after the first one survives.
      expect(vfs.crashImage().files.get('f'), sync).toEqual(new Uint8Array(0));
      expect([...vfs.crashImage().directories], sync).toEqual([]);
    }
  });

  it('counts fsync and fdatasync apart, per file', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const log = vfs.open('log', { create: true });
    const data = vfs.open('data', { create: true });
    log.write(filled(10, 1), 0);
    log.datasync();
    log.datasync();
    data.sync();
    log.sync();
    vfs.syncDir('');
    expect(vfs.audit('log')).toEqual({
      writes: 1,
      bytesWritten: 10,
      syncs: 1,
      datasyncs: 2,
      truncates: 0,
      syncDirs: 0,
    });
    expect(vfs.audit('data')).toEqual({
      writes: 0,
      bytesWritten: 0,
      syncs: 1,
      datasyncs: 0,
      truncates: 0,
      syncDirs: 0,
    });
    expect(vfs.audit('').syncDirs).toBe(1);
  });
});

describe('seed 000: a racing reader sees the new length before the bytes', () => {
  /** A relay log of 2048 bytes of 0xAA, then an extending write of 2048 bytes of 0xBB. */
  const relayLog = (): { vfs: FaultVfs; writer: VfsFile; reader: VfsFile } => {
    const vfs = new FaultVfs({ seed: 1 });
    const writer = vfs.open('relay', { create: true });
    writer.write(filled(2048, 0xaa), 0);
    writer.write(filled(2048, 0xbb), 2048);
    return { vfs, writer, reader: vfs.open('relay', { readOnly: true }) };
  };

  it('the next read sees the new length with zeros in the new range; a later read sees the bytes', () => {
    const { vfs, reader } = relayLog();
    vfs.armZeroTail('relay');
    const first = new Uint8Array(4096);
    expect(reader.read(first, 0)).toBe(4096); // the new length
    expect(hex(first)).toBe(hex(filled(2048, 0xaa)) + hex(filled(2048, 0))); // zeros, not 0xBB
    const second = new Uint8Array(4096);
    expect(reader.read(second, 0)).toBe(4096);
    expect(hex(second)).toBe(hex(filled(2048, 0xaa)) + hex(filled(2048, 0xbb)));
  });

  it('reads that miss the range do not use it up; `reads` sets how many see zeros', () => {
    const { vfs, reader } = relayLog();
    vfs.armZeroTail('relay', { reads: 2 });
    const head = new Uint8Array(1024);
    reader.read(head, 0);
    expect(hex(head)).toBe(hex(filled(1024, 0xaa)));
    for (let i = 0; i < 2; i++) {
      const tail = new Uint8Array(100);
      expect(reader.read(tail, 3000)).toBe(100);
      expect(hex(tail), `read ${i}`).toBe(hex(filled(100, 0)));
    }
    const tail = new Uint8Array(100);
    reader.read(tail, 3000);
    expect(hex(tail)).toBe(hex(filled(100, 0xbb)));
  });

  it('only the part past the old end is zero, and nothing stored changes (F9)', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('relay', { create: true });
    file.write(filled(100, 0xaa), 0);
    file.write(filled(100, 0xbb), 50); // overlaps 50..100, extends to 150
    vfs.armZeroTail('relay');
    const seen = new Uint8Array(150);
    file.read(seen, 0);
    expect(hex(seen)).toBe(hex(filled(50, 0xaa)) + hex(filled(50, 0xbb)) + hex(filled(50, 0)));
    const image = vfs.crashNow('process-crash').files.get('relay')!;
    expect(hex(image)).toBe(hex(filled(50, 0xaa)) + hex(filled(100, 0xbb)));
  });
});
