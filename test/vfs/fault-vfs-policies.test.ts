/**
 * FaultVfs crash policies: for each one, the image is exactly what the policy says (fault-policy.ts
 * table), and the seeded choices replay from the seed (F8).
 */
import { describe, expect, it } from 'vitest';
import {
  CRASH_POLICIES,
  CRASH_POLICY_NAMES,
  FaultVfs,
  type CrashImage,
  type CrashPolicy,
} from '../../src/vfs/fault-vfs.js';

const SECTOR = 512;
const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const fileOf = (image: CrashImage, path: string): Uint8Array => {
  const bytes = image.files.get(path);
  if (bytes === undefined) throw new Error(`no ${path} in the image: ${[...image.files.keys()].join(', ')}`);
  return bytes;
};
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

/** A file `a` with 1024 durable bytes of 0x11, its entry synced. */
function withDurableFile(seed: number): { vfs: FaultVfs; a: ReturnType<FaultVfs['open']> } {
  const vfs = new FaultVfs({ seed });
  const a = vfs.open('a', { create: true });
  vfs.syncDir('');
  a.write(filled(1024, 0x11), 0);
  a.sync();
  return { vfs, a };
}

/**
 * Four unsynced writes across two synced files, one sector each, in this global order:
 * a@0 = 0xA1, b@0 = 0xB1, a@512 = 0xA2, b@512 = 0xB2 (both files start as 1024 bytes of 0x00).
 */
function fourUnsyncedWrites(seed: number): FaultVfs {
  const vfs = new FaultVfs({ seed });
  const a = vfs.open('a', { create: true });
  const b = vfs.open('b', { create: true });
  vfs.syncDir('');
  for (const file of [a, b]) {
    file.write(filled(1024, 0), 0);
    file.sync();
  }
  a.write(filled(SECTOR, 0xa1), 0);
  b.write(filled(SECTOR, 0xb1), 0);
  a.write(filled(SECTOR, 0xa2), SECTOR);
  b.write(filled(SECTOR, 0xb2), SECTOR);
  return vfs;
}

/** Which of the four writes an image kept, as a 4-bit string in global order ('1010'). */
function keptWrites(image: CrashImage): string {
  const a = fileOf(image, 'a');
  const b = fileOf(image, 'b');
  const sector = (bytes: Uint8Array, index: number, value: number): string => {
    const piece = bytes.subarray(index * SECTOR, (index + 1) * SECTOR);
    if (piece.every((x) => x === value)) return '1';
    expect(
      piece.every((x) => x === 0),
      `sector ${index} is all new or all old`,
    ).toBe(true);
    return '0';
  };
  expect(a.length).toBe(1024);
  expect(b.length).toBe(1024);
  return sector(a, 0, 0xa1) + sector(b, 0, 0xb1) + sector(a, 1, 0xa2) + sector(b, 1, 0xb2);
}

describe('FaultVfs crash policies', () => {
  it('exports a preset for every name, and every preset keeps what was synced', () => {
    expect(Object.keys(CRASH_POLICIES).sort()).toEqual([...CRASH_POLICY_NAMES].sort());
    for (const name of CRASH_POLICY_NAMES) {
      const vfs = new FaultVfs({ seed: 7 });
      vfs.mkdir('d');
      vfs.syncDir('');
      const file = vfs.open('d/f', { create: true });
      file.write(filled(3000, 0x42), 0);
      file.datasync();
      vfs.syncDir('d');
      const image = vfs.crashNow(name);
      expect([...image.directories], name).toEqual(['d']);
      expect([...image.files.keys()], name).toEqual(['d/f']);
      expect(hex(fileOf(image, 'd/f')), name).toBe(hex(filled(3000, 0x42)));
    }
  });

  it("'power-cut' (lose-all): exactly the durable bytes and size, nothing unsynced", () => {
    const { vfs, a } = withDurableFile(1);
    a.write(filled(SECTOR, 0x22), 0); // overwrite, unsynced
    a.write(filled(SECTOR, 0x33), 1024); // extend, unsynced
    a.truncate(1536 + 100); // unsynced
    expect(a.size()).toBe(1636);
    const image = vfs.crashNow('power-cut');
    expect(hex(fileOf(image, 'a'))).toBe(hex(filled(1024, 0x11)));
  });

  it("'process-crash' (keep-all): everything written, synced or not, with its size", () => {
    const { vfs, a } = withDurableFile(1);
    a.write(filled(SECTOR, 0x22), 0);
    a.write(filled(SECTOR, 0x33), 1024);
    a.truncate(1300);
    const expected = new Uint8Array(1300);
    expected.set(filled(SECTOR, 0x22), 0);
    expected.set(filled(SECTOR, 0x11), SECTOR);
    expected.set(filled(1300 - 1024, 0x33), 1024);
    expect(hex(fileOf(vfs.crashNow('process-crash'), 'a'))).toBe(hex(expected));
  });

  it("'prefix' (keep-prefix): a prefix in global order across files, every length reached", () => {
    const seen = new Set<string>();
    for (const seed of SEEDS) {
      const kept = keptWrites(fourUnsyncedWrites(seed).crashNow('prefix'));
      expect(['0000', '1000', '1100', '1110', '1111'], `seed ${seed} kept ${kept}`).toContain(kept);
      seen.add(kept);
    }
    expect([...seen].sort()).toEqual(['0000', '1000', '1100', '1110', '1111']);
  });

  it("'reorder' (keep-subset): any subset survives, including ones that are not a prefix", () => {
    const seen = new Set<string>();
    for (const seed of SEEDS) seen.add(keptWrites(fourUnsyncedWrites(seed).crashNow('reorder')));
    expect(seen.size).toBeGreaterThanOrEqual(10); // of 16 subsets, with 40 seeds
    expect([...seen].some((kept) => !['0000', '1000', '1100', '1110', '1111'].includes(kept))).toBe(true);
  });

  it('a direct-I/O write survives every policy, in order behind the buffered writes it follows (F5)', () => {
    for (const name of CRASH_POLICY_NAMES) {
      const { vfs, a } = withDurableFile(3);
      const direct = vfs.open('a', { direct: true });
      a.write(filled(SECTOR, 0x22), 0); // buffered, unsynced
      direct.write(filled(256, 0x77), 256); // durable at once, after the buffered write
      const image = fileOf(vfs.crashNow(name), 'a');
      expect(hex(image.subarray(256, 512)), name).toBe(hex(filled(256, 0x77)));
      expect(hex(image.subarray(512)), name).toBe(hex(filled(512, 0x11)));
      const head = image.subarray(0, 256);
      expect(head.every((x) => x === 0x22) || head.every((x) => x === 0x11) || name.startsWith('torn'), name).toBe(
        true,
      );
    }
    const { vfs, a } = withDurableFile(3);
    a.write(filled(SECTOR, 0x22), 0);
    vfs.open('a', { direct: true }).write(filled(256, 0x77), 256);
    const kept = fileOf(vfs.crashNow('process-crash'), 'a');
    expect(hex(kept.subarray(0, 512))).toBe(hex(filled(256, 0x22)) + hex(filled(256, 0x77)));
  });

  describe('torn writes: each sector of the write is all new data or all fill', () => {
    /** An 8-sector write of 0x5A at 0 over 4096 durable bytes of 0x11, torn under `torn`. */
    const tornSectors = (seed: number, torn: CrashPolicy['torn']): string[] => {
      const vfs = new FaultVfs({ seed });
      const file = vfs.open('f', { create: true });
      vfs.syncDir('');
      file.write(filled(4096, 0x11), 0);
      file.sync();
      file.write(filled(4096, 0x5a), 0);
      const image = fileOf(vfs.crashNow({ unsynced: 'keep-all', torn }), 'f');
      expect(image.length).toBe(4096);
      const kinds: string[] = [];
      for (let s = 0; s < 8; s++) {
        const piece = image.subarray(s * SECTOR, (s + 1) * SECTOR);
        if (piece.every((x) => x === 0x5a)) kinds.push('new');
        else if (piece.every((x) => x === 0)) kinds.push('zeros');
        else if (piece.every((x) => x === 0x11)) kinds.push('stale');
        else kinds.push(piece.some((x) => x !== 0 && x !== 0x11 && x !== 0x5a) ? 'garbage' : 'mixed');
      }
      return kinds;
    };

    for (const [torn, fill] of [
      ['zeros', 'zeros'],
      ['garbage', 'garbage'],
      ['stale', 'stale'],
    ] as const) {
      it(`torn: '${torn}'`, () => {
        let tornImages = 0;
        for (const seed of SEEDS) {
          const kinds = tornSectors(seed, torn);
          expect(
            kinds.every((kind) => kind === 'new' || kind === fill),
            `seed ${seed}: ${kinds.join(',')}`,
          ).toBe(true);
          if (kinds.includes('new') && kinds.includes(fill)) tornImages++;
        }
        expect(tornImages).toBeGreaterThanOrEqual(5); // half the writes are torn, then sectors land 1/2
      });
    }

    it('a torn write that is not sector-aligned tears only its own bytes, at sector boundaries', () => {
      let torn = 0;
      for (const seed of SEEDS) {
        const vfs = new FaultVfs({ seed });
        const file = vfs.open('f', { create: true });
        vfs.syncDir('');
        file.write(filled(2048, 0x11), 0);
        file.sync();
        file.write(filled(1000, 0x5a), 100); // pieces [100,512) [512,1024) [1024,1100)
        const image = fileOf(vfs.crashNow({ unsynced: 'keep-all', torn: 'zeros' }), 'f');
        expect(hex(image.subarray(0, 100))).toBe(hex(filled(100, 0x11)));
        expect(hex(image.subarray(1100))).toBe(hex(filled(948, 0x11)));
        const pieces = [
          [100, 512],
          [512, 1024],
          [1024, 1100],
        ].map(([from, to]) => {
          const piece = image.subarray(from, to);
          if (piece.every((x) => x === 0x5a)) return 'new';
          expect(
            piece.every((x) => x === 0),
            `seed ${seed} piece ${from}`,
          ).toBe(true);
          return 'zeros';
        });
        if (pieces.includes('new') && pieces.includes('zeros')) torn++;
      }
      expect(torn).toBeGreaterThanOrEqual(3);
    });
  });

  describe('directories', () => {
    /** `kept` and `gone` durable; then, unsynced: create `new`, remove `gone`, rename `kept` -> `moved`. */
    const directoryOps = (seed: number): FaultVfs => {
      const vfs = new FaultVfs({ seed });
      for (const name of ['kept', 'gone']) {
        const file = vfs.open(name, { create: true });
        file.write(filled(10, name.length), 0);
        file.sync();
      }
      vfs.syncDir('');
      const created = vfs.open('new', { create: true });
      created.write(filled(10, 0x99), 0);
      created.sync(); // the data is durable, the entry is not
      vfs.remove('gone');
      vfs.rename('kept', 'moved');
      return vfs;
    };

    it("'lose-unsynced': creates, removes and renames not followed by syncDir are lost", () => {
      const image = directoryOps(1).crashNow('lose-dir-ops');
      expect([...image.files.keys()]).toEqual(['gone', 'kept']);
      expect(hex(fileOf(image, 'kept'))).toBe(hex(filled(10, 4)));
    });

    it("'keep': every directory operation survives", () => {
      const image = directoryOps(1).crashNow({ unsynced: 'lose-all', directories: 'keep' });
      expect([...image.files.keys()]).toEqual(['moved', 'new']);
      expect(hex(fileOf(image, 'new'))).toBe(hex(filled(10, 0x99)));
    });

    it('syncDir makes them durable; a new directory needs its parent synced (F10)', () => {
      const vfs = directoryOps(1);
      vfs.syncDir('');
      vfs.mkdir('d');
      vfs.open('d/x', { create: true }).sync();
      vfs.syncDir('d'); // d's entries are durable, but d itself is not
      expect(vfs.durableImage().files.has('d/x')).toBe(false);
      const image = vfs.crashNow('power-cut');
      expect([...image.files.keys()]).toEqual(['moved', 'new']);
      expect([...image.directories]).toEqual([]);
    });

    it('defaults: entries follow `unsynced` (keep-all keeps them, the others lose them)', () => {
      expect([...directoryOps(1).crashNow({ unsynced: 'keep-all' }).files.keys()]).toEqual(['moved', 'new']);
      expect([...directoryOps(1).crashNow({ unsynced: 'keep-subset' }).files.keys()]).toEqual(['gone', 'kept']);
    });
  });

  describe("'rename-not-atomic': an unsynced rename ends in one of four states", () => {
    /** `final` = 0xF0 and `tmp` = 0x70, both durable; then rename tmp -> final, unsynced. */
    const replaceByRename = (seed: number): string => {
      const vfs = new FaultVfs({ seed });
      for (const [name, value] of [
        ['final', 0xf0],
        ['tmp', 0x70],
      ] as const) {
        const file = vfs.open(name, { create: true });
        file.write(filled(4, value), 0);
        file.sync();
      }
      vfs.syncDir('');
      vfs.rename('tmp', 'final');
      const image = vfs.crashNow('rename-not-atomic');
      return [...image.files].map(([path, bytes]) => `${path}=${hex(bytes.subarray(0, 1))}`).join(' ');
    };

    it('not done, done, both names or neither name, all reached', () => {
      const states = new Set(SEEDS.map(replaceByRename));
      expect([...states].sort()).toEqual(['', 'final=70', 'final=70 tmp=70', 'final=f0 tmp=70'].sort());
    });

    it('a half made durable by syncDir stays: the synced target always has the new name', () => {
      const states = new Set<string>();
      for (const seed of SEEDS) {
        const vfs = new FaultVfs({ seed });
        vfs.mkdir('from');
        vfs.mkdir('to');
        vfs.syncDir('');
        const file = vfs.open('from/x', { create: true });
        file.write(filled(3, 0x31), 0);
        file.sync();
        vfs.syncDir('from');
        vfs.rename('from/x', 'to/y');
        vfs.syncDir('to');
        states.add([...vfs.crashNow('rename-not-atomic').files.keys()].join(' '));
      }
      expect([...states].sort()).toEqual(['from/x to/y', 'to/y']);
    });
  });

  describe("'size-before-data': a lost extending write still extends the file", () => {
    it('the new range reads as zeros, the old bytes stay', () => {
      const { vfs, a } = withDurableFile(1);
      a.write(filled(100, 0x22), 0); // lost, inside the old size: no trace
      a.write(filled(600, 0x33), 1200); // lost, extends to 1800 with a gap
      const image = fileOf(vfs.crashNow('size-before-data'), 'a');
      expect(hex(image)).toBe(hex(filled(1024, 0x11)) + hex(filled(776, 0)));
    });

    it("with torn: 'garbage' the new range is random bytes", () => {
      const { vfs, a } = withDurableFile(1);
      a.write(filled(1000, 0x33), 1024);
      const image = fileOf(vfs.crashNow({ unsynced: 'lose-all', sizeBeforeData: true, torn: 'garbage' }), 'a');
      expect(image.length).toBe(2024);
      expect(hex(image.subarray(0, 1024))).toBe(hex(filled(1024, 0x11)));
      const tail = image.subarray(1024);
      expect(tail.every((x) => x === 0) || tail.every((x) => x === 0x33)).toBe(false);
    });
  });

  it("'drop-truncate': a pending truncate is lost, the writes around it are kept", () => {
    const { vfs, a } = withDurableFile(1);
    a.truncate(100);
    a.write(filled(10, 0x99), 50);
    expect(a.size()).toBe(100);
    const image = fileOf(vfs.crashNow('drop-truncate'), 'a');
    const expected = filled(1024, 0x11);
    expected.fill(0x99, 50, 60);
    expect(hex(image)).toBe(hex(expected));
  });

  it('the same seed and the same calls give a byte-identical image; other seeds choose differently (F8)', () => {
    const run = (seed: number, policy: (typeof CRASH_POLICY_NAMES)[number]): CrashImage => {
      const vfs = fourUnsyncedWrites(seed);
      vfs.open('a').write(filled(3000, 0x5a), 700);
      vfs.rename('b', 'c');
      return vfs.crashNow(policy);
    };
    for (const policy of ['reorder', 'prefix', 'torn-garbage', 'torn-zeros', 'rename-not-atomic'] as const) {
      expect(run(17, policy), policy).toEqual(run(17, policy));
      const images = new Set(
        SEEDS.slice(0, 10).map((seed) => JSON.stringify([...run(seed, policy).files].map(([p, b]) => [p, hex(b)]))),
      );
      expect(images.size, policy).toBeGreaterThan(1);
    }
  });

  it('refuses unknown policies with a typed error', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const bad: unknown[] = [
      'nope',
      { unsynced: 'some' },
      { unsynced: 'lose-all', torn: 'shredded' },
      { unsynced: 'lose-all', dropTruncate: 'yes' },
      null,
    ];
    for (const policy of bad) {
      expect(() => vfs.crashNow(policy as CrashPolicy), JSON.stringify(policy)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    }
    expect(vfs.crashed).toBe(false);
  });
});
