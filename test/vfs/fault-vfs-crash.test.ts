/**
 * FaultVfs crash scheduling (crash points by operation, sync, engine event, seeded random), the
 * crashed state (F6), reopening an image and crashing again, and a model-based property: the
 * power-cut image is the synced model, the process-crash image the written one, and a 'prefix' image
 * one of the prefixes of the unsynced operations in global order.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SimulatedCrashError } from '../../src/errors.js';
import { FaultVfs, type CrashImage } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Vfs, VfsFile } from '../../src/vfs/vfs.js';

const filled = (length: number, value: number): Uint8Array => new Uint8Array(length).fill(value);
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
const crashCode = expect.objectContaining({ code: 'ERR_SIMULATED_CRASH' });

/** Each step is exactly one mutating operation (writes through handle 0 or 1). */
type Step = (vfs: Vfs, handles: VfsFile[]) => void;
const STEPS: readonly Step[] = [
  (vfs, h) => void h.push(vfs.open('log', { create: true })), // create
  (vfs) => vfs.syncDir(''),
  (_vfs, h) => h[0]!.write(filled(700, 1), 0),
  (_vfs, h) => h[0]!.write(filled(300, 2), 700),
  (_vfs, h) => h[0]!.datasync(),
  (vfs) => vfs.mkdir('data'),
  (vfs, h) => void h.push(vfs.open('data/tmp', { create: true })), // create
  (_vfs, h) => h[1]!.write(filled(2000, 3), 0),
  (_vfs, h) => h[1]!.sync(),
  (vfs) => vfs.rename('data/tmp', 'data/page'),
  (vfs) => vfs.syncDir('data'),
  (vfs) => vfs.syncDir(''),
  (_vfs, h) => h[0]!.truncate(500),
  (_vfs, h) => h[0]!.write(filled(10, 4), 495),
  (_vfs, h) => h[0]!.sync(),
  (vfs) => vfs.remove('log'),
];

/** A MemoryVfs tree as an image, to compare with what a crash kept. */
function treeOf(vfs: Vfs, dir = '', image = { files: new Map<string, string>(), directories: [] as string[] }) {
  for (const name of vfs.list(dir)) {
    const path = dir === '' ? name : `${dir}/${name}`;
    if (vfs.stat(path)?.kind === 'directory') {
      image.directories.push(path);
      treeOf(vfs, path, image);
    } else {
      const file = vfs.open(path, { readOnly: true });
      const bytes = new Uint8Array(file.size());
      file.read(bytes, 0);
      image.files.set(path, hex(bytes));
    }
  }
  return image;
}
const imageTree = (image: CrashImage) => ({
  files: new Map([...image.files].map(([path, bytes]) => [path, hex(bytes)])),
  directories: [...image.directories],
});

describe('FaultVfs crash scheduling', () => {
  it('crashAtOperation enumerates every crash point: ops before it done, it and later ones not', () => {
    const counting = new FaultVfs({ seed: 1 });
    const handles: VfsFile[] = [];
    for (const step of STEPS) step(counting, handles);
    expect(counting.mutatingOperations).toBe(STEPS.length);
    expect(counting.syncOperations).toBe(6);

    for (let n = 1; n <= STEPS.length; n++) {
      const vfs = new FaultVfs({ seed: 1 });
      vfs.crashAtOperation(n, 'process-crash');
      const faultHandles: VfsFile[] = [];
      const model = new MemoryVfs();
      const modelHandles: VfsFile[] = [];
      let crashedAt = -1;
      for (const [i, step] of STEPS.entries()) {
        try {
          step(vfs, faultHandles);
        } catch (error) {
          expect(error).toBeInstanceOf(SimulatedCrashError);
          crashedAt = i;
          break;
        }
        step(model, modelHandles);
      }
      expect(crashedAt, `crash point ${n}`).toBe(n - 1);
      expect(vfs.crashed).toBe(true);
      expect(vfs.mutatingOperations).toBe(n - 1);
      expect(vfs.trace()).toHaveLength(n - 1);
      // kill -9 keeps everything performed before the crash point, and nothing after it.
      expect(imageTree(vfs.crashImage()), `crash point ${n}`).toEqual(treeOf(model));
    }
  });

  it('the power-cut image at each crash point is what was synced, with synced entries', () => {
    const expected: Record<number, Record<string, string>> = {
      1: {},
      2: {},
      3: { log: '' }, // created and its directory synced: empty
      5: { log: '' },
      6: { log: hex(filled(700, 1)) + hex(filled(300, 2)) }, // after the datasync
      11: { log: hex(filled(700, 1)) + hex(filled(300, 2)) }, // data/ not yet in a synced root
      13: { log: hex(filled(700, 1)) + hex(filled(300, 2)), 'data/page': hex(filled(2000, 3)) },
      16: { log: hex(filled(495, 1)) + hex(filled(10, 4)), 'data/page': hex(filled(2000, 3)) },
    };
    for (const [n, files] of Object.entries(expected)) {
      const vfs = new FaultVfs({ seed: 2 });
      vfs.crashAtOperation(Number(n)); // default policy: power-cut
      const handles: VfsFile[] = [];
      expect(() => {
        for (const step of STEPS) step(vfs, handles);
      }).toThrow(crashCode);
      const image = vfs.crashImage();
      expect(Object.fromEntries([...image.files].map(([p, b]) => [p, hex(b)])), `crash point ${n}`).toEqual(files);
    }
  });

  it('crashAtSync counts only sync, datasync and syncDir, and crashes before the sync takes effect', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    vfs.crashAtSync(3);
    vfs.syncDir(''); // sync 1
    file.write(filled(10, 7), 0);
    file.datasync(); // sync 2
    file.write(filled(10, 8), 10);
    expect(vfs.syncOperations).toBe(2);
    expect(() => file.sync()).toThrow(crashCode); // sync 3, not performed
    expect(vfs.syncOperations).toBe(2);
    expect(hex(vfs.crashImage().files.get('f')!)).toBe(hex(filled(10, 7)));
  });

  it('crashAtEvent crashes at the given occurrence from now and counts every event', () => {
    const vfs = new FaultVfs({ seed: 1 });
    expect(vfs.eventCounts()['log-sync']).toBe(0);
    vfs.engineEvent('log-sync');
    vfs.crashAtEvent('log-sync', 2);
    vfs.engineEvent('mtr-commit');
    vfs.engineEvent('log-sync'); // 1st from now
    expect(vfs.crashed).toBe(false);
    vfs.engineEvent('checkpoint');
    expect(() => vfs.engineEvent('log-sync')).toThrow(crashCode); // 2nd from now
    expect(vfs.crashed).toBe(true);
    expect(vfs.eventCounts()).toMatchObject({ 'log-sync': 3, 'mtr-commit': 1, checkpoint: 1, 'page-flush': 0 });
    expect(vfs.trace().map((entry) => entry.path)).toEqual([
      'log-sync',
      'mtr-commit',
      'log-sync',
      'checkpoint',
      'log-sync',
    ]);
  });

  it('engine events are a closed set: a typo is a typed error, not a crash point that never fires', () => {
    const vfs = new FaultVfs({ seed: 1 });
    expect(() => vfs.engineEvent('log-synk' as 'log-sync')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    expect(() => vfs.crashAtEvent('nope' as 'log-sync')).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('crashAtRandom picks a seeded point among the next n operations', () => {
    const pointOf = (seed: number): number => {
      const vfs = new FaultVfs({ seed });
      const file = vfs.open('f', { create: true }); // operation 1, before the schedule
      const n = vfs.crashAtRandom(10);
      expect(() => {
        for (let i = 0; i < 20; i++) file.write(filled(1, i), i);
      }).toThrow(crashCode);
      expect(vfs.mutatingOperations, `seed ${seed}`).toBe(n);
      expect(vfs.trace().filter((entry) => entry.op === 'write')).toHaveLength(n - 1);
      return n;
    };
    const points = Array.from({ length: 30 }, (_, i) => pointOf(i + 1));
    expect(points.every((n) => n >= 1 && n <= 10)).toBe(true);
    expect(new Set(points).size).toBeGreaterThanOrEqual(6);
    expect(pointOf(5)).toBe(points[4]);
  });

  it('counts what the module doc says: open when it creates or truncates, mkdir when it creates', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const counts: number[] = [];
    const step = (call: () => unknown): void => {
      call();
      counts.push(vfs.mutatingOperations);
    };
    step(() => vfs.open('f', { create: true })); // create: 1
    step(() => vfs.open('f', { create: true })); // exists: 1
    step(() => vfs.open('f', { truncate: true })); // truncate: 2
    step(() => vfs.open('f', { readOnly: true })); // 2
    step(() => vfs.mkdir('a/b/c', { recursive: true })); // one op for three directories: 3
    step(() => vfs.mkdir('a/b', { recursive: true })); // all there: 3
    step(() => vfs.rename('f', 'f')); // a rename onto itself is still a call: 4
    step(() => vfs.open('f').write(new Uint8Array(0), 100)); // a zero-length write: 5, size stays 0
    step(() => vfs.engineEvent('mtr-commit')); // events are not operations: 5
    step(() => vfs.stat('f')); // 5
    expect(counts).toEqual([1, 1, 2, 2, 3, 3, 4, 5, 5, 5]);
    expect(vfs.stat('f')).toEqual({ kind: 'file', size: 0 });
    expect(vfs.trace().map((e) => e.op)).toEqual(['create', 'truncate', 'mkdir', 'rename', 'write', 'event']);
  });

  it('a new schedule replaces the old one', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    vfs.crashAtOperation(1);
    vfs.crashAtOperation(3);
    file.write(filled(1, 1), 0);
    file.write(filled(1, 2), 1);
    expect(vfs.crashed).toBe(false);
    expect(() => file.write(filled(1, 3), 2)).toThrow(crashCode);
  });

  it('after a crash every call on the VFS and its handles throws SimulatedCrashError (F6)', async () => {
    const vfs = new FaultVfs({ seed: 1 });
    vfs.mkdir('d');
    const file = vfs.open('d/f', { create: true });
    const closed = vfs.open('d/g', { create: true });
    closed.close();
    const image = vfs.crashNow();
    expect(vfs.crashed).toBe(true);
    expect(vfs.crashImage()).toBe(image);
    expect(vfs.durableImage()).toBe(image);
    const calls: [string, () => unknown][] = [
      ['open', () => vfs.open('d/f')],
      ['stat', () => vfs.stat('d')],
      ['list', () => vfs.list('')],
      ['mkdir', () => vfs.mkdir('e')],
      ['rename', () => vfs.rename('d/f', 'd/h')],
      ['remove', () => vfs.remove('d/f')],
      ['rmdir', () => vfs.rmdir('d')],
      ['syncDir', () => vfs.syncDir('d')],
      ['engineEvent', () => vfs.engineEvent('log-sync')],
      ['crashNow', () => vfs.crashNow()],
      ['crashAtOperation', () => vfs.crashAtOperation(1)],
      ['trigger', () => vfs.trigger()],
      ['read', () => file.read(new Uint8Array(1), 0)],
      ['write', () => file.write(new Uint8Array(1), 0)],
      ['size', () => file.size()],
      ['truncate', () => file.truncate(0)],
      ['sync', () => file.sync()],
      ['datasync', () => file.datasync()],
      ['close', () => file.close()],
      ['closed handle', () => closed.read(new Uint8Array(1), -1)],
    ];
    for (const [name, call] of calls) expect(call, name).toThrow(crashCode);
    await expect(vfs.syncDirAsync('d')).rejects.toThrow(crashCode);
    await expect(file.syncAsync()).rejects.toThrow(crashCode);
    await expect(file.datasyncAsync()).rejects.toThrow(crashCode);
    expect(vfs.crashImage()).toBe(image);
  });

  it('crashImage before a crash is a typed error', () => {
    expect(() => new FaultVfs({ seed: 1 }).crashImage()).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });

  it('durableImage shows what is durable without crashing', () => {
    const vfs = new FaultVfs({ seed: 1 });
    const file = vfs.open('f', { create: true });
    vfs.syncDir('');
    file.write(filled(4, 1), 0);
    file.sync();
    file.write(filled(4, 2), 4);
    expect(hex(vfs.durableImage().files.get('f')!)).toBe(hex(filled(4, 1)));
    expect(vfs.crashed).toBe(false);
    expect(file.size()).toBe(8);
  });
});

describe('FaultVfs.fromImage: reopen, recover, crash again', () => {
  it('reopens an image as all-durable, copies it, and can crash during recovery', () => {
    const first = new FaultVfs({ seed: 1 });
    first.mkdir('redo');
    first.syncDir('');
    const log = first.open('redo/log0', { create: true });
    first.syncDir('redo');
    log.write(filled(512, 0xaa), 0);
    log.datasync();
    log.write(filled(512, 0xbb), 512); // lost
    const image = first.crashNow('power-cut');
    expect(image.files.get('redo/log0')).toEqual(filled(512, 0xaa));

    // Recovery run 1: everything in the image is durable already (power cut at once loses nothing).
    const second = FaultVfs.fromImage(image, { seed: 2 });
    expect(second.list('')).toEqual(['redo']);
    expect(second.unsyncedEntries()).toEqual([]);
    expect(second.durableImage()).toEqual(image);
    const reopened = second.open('redo/log0');
    expect(reopened.size()).toBe(512);
    reopened.write(filled(512, 0xcc), 512);
    reopened.datasync();
    reopened.write(filled(512, 0xdd), 1024);
    second.crashAtOperation(1);
    expect(() => reopened.datasync()).toThrow(crashCode); // crash during recovery
    const again = second.crashImage();
    expect(hex(again.files.get('redo/log0')!)).toBe(hex(filled(512, 0xaa)) + hex(filled(512, 0xcc)));

    // The first image was copied, not shared: reopening it again gives the first content.
    const third = FaultVfs.fromImage(image, { seed: 3 });
    expect(third.open('redo/log0').size()).toBe(512);
    expect(image.files.get('redo/log0')).toEqual(filled(512, 0xaa));
    expect(FaultVfs.fromImage(again, { seed: 4 }).crashNow('power-cut')).toEqual(again);
  });

  it('takes a hand-built image, creating parents, and refuses a path named twice', () => {
    const vfs = FaultVfs.fromImage(
      { files: new Map([['a/b/c', Uint8Array.of(1, 2)]]), directories: new Set(['e']) },
      { seed: 1 },
    );
    expect(vfs.list('')).toEqual(['a', 'e']);
    expect(vfs.stat('a/b/c')).toEqual({ kind: 'file', size: 2 });
    const clash = { files: new Map([['x', Uint8Array.of(1)]]), directories: new Set(['x']) };
    expect(() => FaultVfs.fromImage(clash, { seed: 1 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
  });
});

describe('FaultVfs against a model (fast-check)', () => {
  type Op =
    | {
        readonly kind: 'write';
        readonly file: number;
        readonly position: number;
        readonly length: number;
        readonly value: number;
      }
    | { readonly kind: 'truncate'; readonly file: number; readonly size: number }
    | { readonly kind: 'sync' | 'datasync' | 'failSync'; readonly file: number };
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.record({
        kind: fc.constant('write' as const),
        file: fc.nat(2),
        position: fc.nat(3000),
        length: fc.integer({ min: 1, max: 1500 }),
        value: fc.integer({ min: 1, max: 255 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant('truncate' as const), file: fc.nat(2), size: fc.nat(4000) }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constantFrom('sync' as const, 'datasync' as const, 'failSync' as const),
        file: fc.nat(2),
      }),
    },
  );
  const NAMES = ['f0', 'f1', 'f2'];

  /** The model: per file the durable bytes and the unsynced ops; globally the unsynced ops in order. */
  const apply = (bytes: number[], op: Op): number[] => {
    const next = bytes.slice();
    if (op.kind === 'write') {
      while (next.length < op.position + op.length) next.push(0);
      next.fill(op.value, op.position, op.position + op.length);
    } else if (op.kind === 'truncate') {
      next.length = op.size;
      next.fill(0, bytes.length);
    }
    return next;
  };

  it('power-cut = synced model, process-crash = model with dropped syncs, prefix = a global prefix', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), fc.integer({ min: 1, max: 1000 }), (ops, seed) => {
        const run = (): { vfs: FaultVfs; durable: number[][]; pending: { file: number; op: Op }[] } => {
          const vfs = new FaultVfs({ seed });
          const handles = NAMES.map((name) => vfs.open(name, { create: true }));
          vfs.syncDir('');
          const durable: number[][] = [[], [], []];
          let pending: { file: number; op: Op }[] = [];
          for (const op of ops) {
            const handle = handles[op.file]!;
            if (op.kind === 'write') handle.write(new Uint8Array(op.length).fill(op.value), op.position);
            else if (op.kind === 'truncate') handle.truncate(op.size);
            else if (op.kind === 'failSync') {
              vfs.failNextSync(NAMES[op.file]);
              expect(() => handle.sync()).toThrow(expect.objectContaining({ code: 'ERR_IO' }));
            } else handle[op.kind]();
            if (op.kind === 'write' || op.kind === 'truncate') pending.push({ file: op.file, op });
            else {
              // A sync makes the file's pending ops durable; a failed one drops them.
              for (const p of pending)
                if (p.file === op.file && op.kind !== 'failSync') durable[op.file] = apply(durable[op.file]!, p.op);
              pending = pending.filter((p) => p.file !== op.file);
            }
          }
          return { vfs, durable, pending };
        };
        const filesOf = (image: CrashImage): number[][] => NAMES.map((name) => Array.from(image.files.get(name)!));
        const stateAfter = (durable: number[][], pending: readonly { file: number; op: Op }[]): number[][] => {
          const state = durable.map((bytes) => bytes.slice());
          for (const p of pending) state[p.file] = apply(state[p.file]!, p.op);
          return state;
        };

        const powerCut = run();
        expect(filesOf(powerCut.vfs.crashNow('power-cut'))).toEqual(powerCut.durable);

        const processCrash = run();
        expect(filesOf(processCrash.vfs.crashNow('process-crash'))).toEqual(
          stateAfter(processCrash.durable, processCrash.pending),
        );

        const prefix = run();
        const image = filesOf(prefix.vfs.crashNow('prefix'));
        const prefixes = Array.from({ length: prefix.pending.length + 1 }, (_, k) =>
          JSON.stringify(stateAfter(prefix.durable, prefix.pending.slice(0, k))),
        );
        expect(prefixes).toContain(JSON.stringify(image));
      }),
      { numRuns: 150 },
    );
  });
});
