/**
 * Random VFS operation sequences and their observable outcomes, for the differential test.
 *
 * An operation names its handle by an index into the handles the sequence has opened so far
 * (modulo their count), so one sequence drives every implementation the same way. `runOp` turns
 * each call into plain data (a return value, the bytes a read produced, or the error `code`), and
 * `snapshot` reads a whole tree back, so two implementations agree exactly when their outcomes and
 * snapshots are equal.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { MinnoError, type ErrorCode } from '../../src/errors.js';
import type { CrashImage } from '../../src/vfs/fault-vfs.js';
import type { Vfs, VfsFile } from '../../src/vfs/vfs.js';

export type VfsOp =
  | {
      readonly kind: 'open';
      readonly path: string;
      readonly create: boolean;
      readonly exclusive: boolean;
      readonly truncate: boolean;
      readonly readOnly: boolean;
      readonly direct: boolean;
    }
  | { readonly kind: 'read'; readonly handle: number; readonly length: number; readonly position: number }
  | { readonly kind: 'write'; readonly handle: number; readonly data: Uint8Array; readonly position: number }
  | { readonly kind: 'truncate'; readonly handle: number; readonly size: number }
  | { readonly kind: 'badBuffer'; readonly handle: number; readonly write: boolean }
  | {
      readonly kind: 'size' | 'info' | 'sync' | 'datasync' | 'syncAsync' | 'datasyncAsync' | 'close';
      readonly handle: number;
    }
  | { readonly kind: 'stat' | 'list' | 'remove' | 'rmdir' | 'syncDir' | 'syncDirAsync'; readonly path: string }
  | { readonly kind: 'mkdir'; readonly path: string; readonly recursive: boolean }
  | { readonly kind: 'rename'; readonly from: string; readonly to: string };

export type OpenOp = Extract<VfsOp, { kind: 'open' }>;

/** An open operation: every flag false unless given. */
export function openOp(path: string, flags: Partial<Omit<OpenOp, 'kind' | 'path'>> = {}): OpenOp {
  return {
    kind: 'open',
    path,
    create: false,
    exclusive: false,
    truncate: false,
    readOnly: false,
    direct: false,
    ...flags,
  };
}

export type Outcome = { readonly ok: unknown } | { readonly error: ErrorCode };

/** Byte a read target is filled with first, so bytes a read must not touch (V1) are checked too. */
export const UNTOUCHED = 0xee;

/** Paths inside the root, few so that operations meet each other's files; some unnormalised. */
const COMMON_PATHS = ['a', 'b', 'd', 'd/a', 'd/e', './a', 'd//a'];
/** The root, deeper paths, and paths through a file ('a/x' when 'a' is a file). */
const RARE_PATHS = ['', '.', 'd/b', 'd/./b', 'd/e/a', 'a/x', 'a/x/y'];
/** Paths `normalizePath` refuses. */
const BAD_PATHS = ['../x', '/abs', 'a\0b', 'd/../a', 'C:x', 'a\\b'];

const pathArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...COMMON_PATHS) },
  { weight: 3, arbitrary: fc.constantFrom(...RARE_PATHS) },
  { weight: 1, arbitrary: fc.constantFrom(...BAD_PATHS) },
);
/** Mostly small, sometimes across MemoryVfs's 4096-byte first allocation, rarely invalid. */
const positionArb = fc.oneof(
  { weight: 10, arbitrary: fc.nat(80) },
  { weight: 4, arbitrary: fc.nat(5000) },
  { weight: 1, arbitrary: fc.constantFrom(-1, 1.5, Number.NaN, 2 ** 53) },
);
const handleArb = fc.nat(15);

/** The usual open modes, plus any mix of the flags (mostly invalid with readOnly) now and then. */
const openArb = fc
  .record({
    path: pathArb,
    mode: fc.oneof(
      {
        weight: 3,
        arbitrary: fc.constantFrom(
          { create: true },
          { create: true, exclusive: true },
          { create: true, truncate: true },
          {},
          { readOnly: true },
          { truncate: true },
        ),
      },
      {
        weight: 1,
        arbitrary: fc.record({
          create: fc.boolean(),
          exclusive: fc.boolean(),
          truncate: fc.boolean(),
          readOnly: fc.boolean(),
        }),
      },
    ),
    direct: fc.boolean(),
  })
  .map(({ path, mode, direct }) => openOp(path, { ...mode, direct }));

export const vfsOpArb: fc.Arbitrary<VfsOp> = fc.oneof(
  { weight: 8, arbitrary: openArb },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      handle: handleArb,
      length: fc.nat(100),
      position: positionArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      handle: handleArb,
      data: fc.uint8Array({ maxLength: 48 }),
      position: positionArb,
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('truncate' as const), handle: handleArb, size: positionArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ kind: fc.constant('badBuffer' as const), handle: handleArb, write: fc.boolean() }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('size', 'info', 'sync', 'datasync', 'syncAsync', 'datasyncAsync', 'close'),
      handle: handleArb,
    }),
  },
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constantFrom('stat', 'list', 'remove', 'rmdir', 'syncDir', 'syncDirAsync'),
      path: pathArb,
    }),
  },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('mkdir' as const), path: pathArb, recursive: fc.boolean() }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('rename' as const), from: pathArb, to: pathArb }) },
);

/** A sequence starts with a directory and a file, so the interesting cases are reached early. */
export const vfsOpsArb: fc.Arbitrary<VfsOp[]> = fc
  .array(vfsOpArb, { minLength: 1, maxLength: 60, size: 'max' })
  .map((ops) => [{ kind: 'mkdir', path: 'd', recursive: false } as const, openOp('a', { create: true }), ...ops]);

/** Runs `call`, returning its value or the code of the MinnoError it threw; anything else is a bug and propagates. */
async function capture(call: () => unknown): Promise<Outcome> {
  try {
    return { ok: await call() };
  } catch (error) {
    if (error instanceof MinnoError) return { error: error.code };
    throw error;
  }
}

/** Applies `op` to `vfs`; `handles` collects what the sequence has opened. */
export function runOp(vfs: Vfs, handles: VfsFile[], op: VfsOp): Promise<Outcome> {
  switch (op.kind) {
    case 'open':
      return capture(() => {
        const { kind: _kind, path, ...options } = op;
        handles.push(vfs.open(path, options));
        return handles.length - 1;
      });
    case 'stat':
      return capture(() => vfs.stat(op.path));
    case 'list':
      return capture(() => vfs.list(op.path));
    case 'mkdir':
      return capture(() => vfs.mkdir(op.path, { recursive: op.recursive }));
    case 'rename':
      return capture(() => vfs.rename(op.from, op.to));
    case 'remove':
      return capture(() => vfs.remove(op.path));
    case 'rmdir':
      return capture(() => vfs.rmdir(op.path));
    case 'syncDir':
      return capture(() => vfs.syncDir(op.path));
    case 'syncDirAsync':
      return capture(() => vfs.syncDirAsync(op.path));
    default:
      break;
  }
  const file = handles[op.handle % Math.max(1, handles.length)];
  if (file === undefined) return Promise.resolve({ ok: 'no handle' });
  switch (op.kind) {
    case 'read':
      return capture(() => {
        const target = new Uint8Array(op.length).fill(UNTOUCHED);
        return { count: file.read(target, op.position), bytes: Array.from(target) };
      });
    case 'write':
      return capture(() => file.write(op.data, op.position));
    case 'truncate':
      return capture(() => file.truncate(op.size));
    case 'badBuffer':
      return capture(() => {
        const notBytes = 'not bytes' as unknown as Uint8Array;
        return op.write ? file.write(notBytes, 0) : file.read(notBytes, 0);
      });
    case 'size':
      return capture(() => file.size());
    case 'info':
      return capture(() => ({ path: file.path, readOnly: file.readOnly, direct: file.direct, closed: file.closed }));
    case 'sync':
      return capture(() => file.sync());
    case 'datasync':
      return capture(() => file.datasync());
    case 'syncAsync':
      return capture(() => file.syncAsync());
    case 'datasyncAsync':
      return capture(() => file.datasyncAsync());
    case 'close':
      return capture(() => {
        file.close();
        return file.closed;
      });
  }
}

/** Every file and directory under `dir`, with each file's bytes, as comparable data. */
export function snapshot(vfs: Vfs, dir = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of vfs.list(dir)) {
    const path = dir === '' ? name : `${dir}/${name}`;
    const stat = vfs.stat(path);
    if (stat?.kind === 'directory') {
      out[path] = 'dir';
      Object.assign(out, snapshot(vfs, path));
    } else {
      const file = vfs.open(path, { readOnly: true });
      const bytes = new Uint8Array(file.size());
      const count = file.read(bytes, 0);
      file.close();
      out[path] = `file ${count}: ${Buffer.from(bytes).toString('hex')}`;
    }
  }
  return out;
}

/** A crash image in the form of `snapshot`. */
export function imageSnapshot(image: CrashImage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const dir of image.directories) out[dir] = 'dir';
  for (const [path, bytes] of image.files) out[path] = `file ${bytes.length}: ${Buffer.from(bytes).toString('hex')}`;
  return out;
}

/** The code of the MinnoError `call` throws; fails the test if it throws anything else or nothing. */
export function codeOf(call: () => unknown): ErrorCode {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(MinnoError);
    return (error as MinnoError).code;
  }
  throw new Error('expected a MinnoError, nothing was thrown');
}
