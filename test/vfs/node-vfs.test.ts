/**
 * NodeVfs on a real disk: what the differential test cannot see because MemoryVfs has no
 * counterpart (errno mapping, directory fsync, the thread-pool syncs, persistence across
 * instances, positions past 4 GiB). Agreement with MemoryVfs is `differential.test.ts`.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { IoError, NoSpaceError, NotFoundError } from '../../src/errors.js';
import { fromErrno, NodeVfs } from '../../src/vfs/node-vfs.js';
import { codeOf } from './vfs-ops.js';

const baseDir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-node-vfs-'));
let root = '';
let vfs: NodeVfs;

beforeEach(() => {
  root = fs.mkdtempSync(nodePath.join(baseDir, 'case-'));
  vfs = new NodeVfs(root);
});

afterAll(() => {
  fs.rmSync(baseDir, { recursive: true, force: true });
  expect(fs.existsSync(baseDir)).toBe(false);
});

const errno = (code: string): NodeJS.ErrnoException => Object.assign(new Error(`${code}: simulated`), { code });

describe('NodeVfs constructor', () => {
  it('refuses a missing root with NotFoundError and a file with NotADirectoryError', () => {
    expect(codeOf(() => new NodeVfs(nodePath.join(root, 'missing')))).toBe('ERR_NOT_FOUND');
    fs.writeFileSync(nodePath.join(root, 'plain'), 'x');
    expect(codeOf(() => new NodeVfs(nodePath.join(root, 'plain')))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => new NodeVfs(''))).toBe('ERR_INVALID_ARGUMENT');
  });

  it('resolves a relative root to an absolute path once', () => {
    const relative = nodePath.relative(process.cwd(), root);
    expect(new NodeVfs(relative).rootDir).toBe(root);
  });
});

describe('NodeVfs files on disk', () => {
  it('stores a VFS path at the root joined with it, and the bytes survive a new NodeVfs', () => {
    vfs.mkdir('redo');
    const file = vfs.open('redo/log0', { create: true });
    file.write(Uint8Array.from([1, 2, 3, 4]), 2);
    file.close();
    expect([...fs.readFileSync(nodePath.join(root, 'redo', 'log0'))]).toEqual([0, 0, 1, 2, 3, 4]);

    const again = new NodeVfs(root).open('redo/log0', { readOnly: true });
    const target = new Uint8Array(8).fill(0xee);
    expect(again.read(target, 0)).toBe(6);
    expect([...target]).toEqual([0, 0, 1, 2, 3, 4, 0xee, 0xee]);
    again.close();
  });

  it('writes and reads 1 MiB in one call', () => {
    const data = new Uint8Array(1 << 20);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7 + (i >>> 11)) & 0xff;
    const file = vfs.open('big', { create: true });
    file.write(data, 0);
    const back = new Uint8Array(data.length);
    expect(file.read(back, 0)).toBe(data.length);
    expect(Buffer.compare(back, data)).toBe(0);
    file.close();
  });

  it('handles positions past 4 GiB (a sparse file)', () => {
    const file = vfs.open('sparse', { create: true });
    const position = 2 ** 32 + 5;
    file.write(Uint8Array.from([0xab, 0xcd]), position);
    expect(file.size()).toBe(position + 2);
    const target = new Uint8Array(4);
    expect(file.read(target, position - 1)).toBe(3);
    expect([...target]).toEqual([0, 0xab, 0xcd, 0]);
    file.truncate(0);
    expect(fs.statSync(nodePath.join(root, 'sparse')).size).toBe(0);
    file.close();
  });

  it('treats direct as a hint: unaligned writes work (no O_DIRECT)', () => {
    const file = vfs.open('direct', { create: true, direct: true });
    expect(file.direct).toBe(true);
    file.write(Uint8Array.from([5, 6, 7]), 3); // O_DIRECT would refuse this with EINVAL
    expect(file.size()).toBe(6);
    file.close();
  });

  it('keeps a removed file readable through its open handle while its name is gone', () => {
    const file = vfs.open('gone', { create: true });
    file.write(Uint8Array.from([9, 8]), 0);
    vfs.remove('gone');
    expect(fs.existsSync(nodePath.join(root, 'gone'))).toBe(false);
    file.write(Uint8Array.from([7]), 2);
    const target = new Uint8Array(3);
    expect(file.read(target, 0)).toBe(3);
    expect([...target]).toEqual([9, 8, 7]);
    file.close();
  });

  it('lists names sorted by code unit, whatever order the directory returns', () => {
    for (const name of ['b', 'a', '_', 'B', 'a0']) vfs.open(name, { create: true }).close();
    vfs.mkdir('Z');
    expect(vfs.list('')).toEqual(['B', 'Z', '_', 'a', 'a0', 'b']);
  });

  it('reports a file of a handle after rename at its new OS path', () => {
    const file = vfs.open('tmp', { create: true });
    file.write(Uint8Array.from([1]), 0);
    vfs.rename('tmp', 'final');
    file.write(Uint8Array.from([2]), 1);
    file.close();
    expect([...fs.readFileSync(nodePath.join(root, 'final'))]).toEqual([1, 2]);
    expect(fs.existsSync(nodePath.join(root, 'tmp'))).toBe(false);
  });
});

describe('NodeVfs syncs', () => {
  it('fsyncs a directory, and refuses a file or a missing one', async () => {
    vfs.mkdir('sub');
    vfs.open('sub/f', { create: true }).close();
    expect(vfs.syncDir('')).toBeUndefined();
    expect(vfs.syncDir('sub')).toBeUndefined();
    await expect(vfs.syncDirAsync('sub')).resolves.toBeUndefined();
    expect(codeOf(() => vfs.syncDir('sub/f'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.syncDir('nope'))).toBe('ERR_NOT_FOUND');
    await expect(vfs.syncDirAsync('sub/f')).rejects.toMatchObject({ code: 'ERR_NOT_A_DIRECTORY' });
    await expect(vfs.syncDirAsync('../x')).rejects.toMatchObject({ code: 'ERR_PATH_OUTSIDE_ROOT' });
  });

  it('resolves the asynchronous file syncs on a later turn of the event loop (V7)', async () => {
    const file = vfs.open('f', { create: true });
    file.write(new Uint8Array(64 * 1024).fill(3), 0);
    let settled = false;
    const pending = file.syncAsync().then(() => {
      settled = true;
    });
    // Done synchronously, the promise would settle within these microtasks; on libuv's thread
    // pool it settles only when the loop polls the completed request.
    for (let i = 0; i < 5; i++) await Promise.resolve();
    expect(settled).toBe(false);
    await pending;
    expect(settled).toBe(true);
    await expect(file.datasyncAsync()).resolves.toBeUndefined();
    file.close();
    await expect(file.syncAsync()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(file.datasyncAsync()).rejects.toMatchObject({ code: 'ERR_CLOSED' });
  });

  it('closes the descriptor only after an in-flight sync ends (N5)', async () => {
    const file = vfs.open('f', { create: true });
    const fd = (file as unknown as { fd: number }).fd;
    const pending = file.datasyncAsync();
    file.close();
    expect(file.closed).toBe(true);
    expect(codeOf(() => file.size())).toBe('ERR_CLOSED');
    expect(fs.fstatSync(fd).isFile()).toBe(true); // still open: libuv may be syncing it
    await pending;
    expect(() => fs.fstatSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('NodeVfs errno mapping (N3)', () => {
  it.each([
    ['ENOENT', 'ERR_NOT_FOUND'],
    ['EEXIST', 'ERR_ALREADY_EXISTS'],
    ['ENOTDIR', 'ERR_NOT_A_DIRECTORY'],
    ['EISDIR', 'ERR_NOT_A_DIRECTORY'],
    ['ENOTEMPTY', 'ERR_DIRECTORY_NOT_EMPTY'],
    ['ENOSPC', 'ERR_NO_SPACE'],
    ['EDQUOT', 'ERR_NO_SPACE'],
    ['EIO', 'ERR_IO'],
    ['EBADF', 'ERR_IO'],
    ['EINVAL', 'ERR_IO'],
  ])('%s -> %s', (code, expected) => {
    expect(fromErrno(errno(code), 'p', 'op').code).toBe(expected);
  });

  it('keeps the Node error as the cause of an IoError and a NoSpaceError', () => {
    const eio = errno('EIO');
    const io = fromErrno(eio, 'redo/log0', 'fsync');
    expect(io).toBeInstanceOf(IoError);
    expect(io.cause).toBe(eio);
    expect(io.message).toBe('fsync failed on redo/log0: input/output error (EIO)');
    const full = errno('ENOSPC');
    expect(fromErrno(full, 'ibdata', 'write')).toBeInstanceOf(NoSpaceError);
    expect(fromErrno(full, 'ibdata', 'write').cause).toBe(full);
    const odd = errno('EBADF');
    expect(fromErrno(odd, 'x', 'read').cause).toBe(odd);
    expect(fromErrno(odd, 'x', 'read').message).toContain('EBADF');
  });

  it('passes a MinnoError through unchanged and names the root "."', () => {
    const own = new NotFoundError('x');
    expect(fromErrno(own, 'y', 'op')).toBe(own);
    expect((fromErrno(errno('ENOENT'), '', 'readdir', 'directory') as NotFoundError).path).toBe('.');
  });

  it.skipIf(!fs.existsSync('/dev/full'))(
    'maps the errors a real device returns: ENOSPC and EINVAL from /dev/full',
    async () => {
      const dev = new NodeVfs('/dev');
      const full = dev.open('full');
      const failure = (() => {
        try {
          full.write(Uint8Array.from([1]), 0);
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(failure).toBeInstanceOf(NoSpaceError);
      expect((failure as NoSpaceError).cause).toMatchObject({ code: 'ENOSPC' });
      expect(codeOf(() => full.truncate(0))).toBe('ERR_IO');
      expect(codeOf(() => full.sync())).toBe('ERR_IO');
      await expect(full.syncAsync()).rejects.toMatchObject({ code: 'ERR_IO', cause: { code: 'EINVAL' } });
      const zeros = new Uint8Array(3).fill(1);
      expect(full.read(zeros, 0)).toBe(3);
      expect([...zeros]).toEqual([0, 0, 0]);
      full.close();
    },
  );

  it('maps real misuse of the tree the way MemoryVfs raises it', () => {
    vfs.mkdir('d');
    vfs.open('d/f', { create: true }).close();
    vfs.open('file', { create: true }).close();
    expect(codeOf(() => vfs.rmdir('d'))).toBe('ERR_DIRECTORY_NOT_EMPTY');
    expect(codeOf(() => vfs.rmdir('file'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.remove('d'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('d'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('d', { readOnly: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('file/x/y', { create: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.mkdir('file', { recursive: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.mkdir('d'))).toBe('ERR_ALREADY_EXISTS');
    expect(codeOf(() => vfs.open('d/f', { create: true, exclusive: true }))).toBe('ERR_ALREADY_EXISTS');
    expect(codeOf(() => vfs.list('missing'))).toBe('ERR_NOT_FOUND');
    expect(codeOf(() => vfs.rename('d', 'e'))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.rename('file', 'd'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(vfs.stat('file/x')).toBeUndefined();
    expect(vfs.stat('d')).toEqual({ kind: 'directory', size: 0 });
  });
});
