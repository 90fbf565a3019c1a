/**
 * MemoryVfs unit tests: its invariants M1 (the bytes past a file's size are zero) and M2 (each
 * directory entry names one inode; the root is a directory), and the cases where it must fail as a
 * real file system does. Agreement with NodeVfs over random sequences is `differential.test.ts`.
 */
import { describe, expect, it } from 'vitest';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { VfsFile } from '../../src/vfs/vfs.js';
import { codeOf } from './vfs-ops.js';

function readAll(file: VfsFile): number[] {
  const target = new Uint8Array(file.size());
  expect(file.read(target, 0)).toBe(target.length);
  return [...target];
}

/** White-box view of a handle's inode, to check M1 on the buffer itself. */
function inodeOf(file: VfsFile): { bytes: Uint8Array; size: number } {
  return (file as unknown as { inode: { bytes: Uint8Array; size: number } }).inode;
}

function expectZeroTail(file: VfsFile): void {
  const { bytes, size } = inodeOf(file);
  expect(size).toBeLessThanOrEqual(bytes.length);
  expect(bytes.subarray(size).every((b) => b === 0)).toBe(true);
}

describe('MemoryVfs M1: the bytes past the size are zero', () => {
  it('truncate down then up exposes zeros, not the old tail', () => {
    const file = new MemoryVfs().open('f', { create: true });
    file.write(Uint8Array.from([1, 2, 3, 4, 5, 6]), 0);
    file.truncate(2);
    expectZeroTail(file);
    file.truncate(6);
    expect(readAll(file)).toEqual([1, 2, 0, 0, 0, 0]);
  });

  it('a write past the end after a truncate down leaves a zero gap', () => {
    const file = new MemoryVfs().open('f', { create: true });
    file.write(new Uint8Array(10).fill(9), 0);
    file.truncate(3);
    file.write(Uint8Array.from([7]), 6);
    expect(readAll(file)).toEqual([9, 9, 9, 0, 0, 0, 7]);
    expectZeroTail(file);
  });

  it('growing past the first 4096-byte buffer keeps the bytes and the zero tail', () => {
    const file = new MemoryVfs().open('f', { create: true });
    file.write(Uint8Array.from([1, 2]), 4094);
    expect(inodeOf(file).bytes.length).toBe(4096);
    file.write(Uint8Array.from([3]), 5000);
    expect(inodeOf(file).bytes.length).toBe(8192); // doubled, not sized to the write
    const target = new Uint8Array(3);
    expect(file.read(target, 4094)).toBe(3);
    expect([...target]).toEqual([1, 2, 0]);
    expect(file.size()).toBe(5001);
    file.truncate(4095);
    expectZeroTail(file);
    file.truncate(5001);
    expect(file.read(target, 4094)).toBe(3);
    expect([...target]).toEqual([1, 0, 0]);
  });

  it('a zero-length write changes nothing, not even the size past the end (as pwrite)', () => {
    const file = new MemoryVfs().open('f', { create: true });
    file.write(Uint8Array.from([1]), 0);
    file.write(new Uint8Array(0), 100);
    expect(file.size()).toBe(1);
  });

  it('a read is short only at the end and leaves the rest of the target untouched (V1)', () => {
    const file = new MemoryVfs().open('f', { create: true });
    file.write(Uint8Array.from([1, 2, 3]), 0);
    const target = new Uint8Array(5).fill(0xee);
    expect(file.read(target, 1)).toBe(2);
    expect([...target]).toEqual([2, 3, 0xee, 0xee, 0xee]);
    expect(file.read(target, 3)).toBe(0);
    expect(file.read(target, 99)).toBe(0);
    expect([...target]).toEqual([2, 3, 0xee, 0xee, 0xee]);
  });
});

describe('MemoryVfs M2: one inode per entry, the root a directory', () => {
  it('the root is a directory that cannot be opened, removed or renamed', () => {
    const vfs = new MemoryVfs();
    vfs.open('x', { create: true }).close();
    expect(vfs.stat('')).toEqual({ kind: 'directory', size: 0 });
    expect(vfs.stat('.')).toEqual({ kind: 'directory', size: 0 });
    expect(codeOf(() => vfs.open(''))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.rmdir(''))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.remove(''))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.rename('', 'y'))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.rename('x', ''))).toBe('ERR_NOT_A_DIRECTORY');
    expect(vfs.list('')).toEqual(['x']); // no entry named '' appeared
    expect(codeOf(() => vfs.mkdir(''))).toBe('ERR_ALREADY_EXISTS');
    vfs.mkdir('', { recursive: true });
  });

  it('rename moves the one entry and replaces the target; the replaced file lives on in its handle', () => {
    const vfs = new MemoryVfs();
    vfs.mkdir('d');
    const old = vfs.open('d/target', { create: true });
    old.write(Uint8Array.from([1]), 0);
    const moving = vfs.open('src', { create: true });
    moving.write(Uint8Array.from([2, 2]), 0);
    vfs.rename('src', 'd/target');
    expect(vfs.list('')).toEqual(['d']);
    expect(vfs.list('d')).toEqual(['target']);
    expect(readAll(vfs.open('d/target'))).toEqual([2, 2]);
    expect(readAll(old)).toEqual([1]);
    moving.write(Uint8Array.from([3]), 2);
    expect(readAll(vfs.open('d/target'))).toEqual([2, 2, 3]);
    vfs.rename('d/target', 'd/target');
    expect(vfs.stat('d/target')).toEqual({ kind: 'file', size: 3 });
  });

  it('two handles on one file see each other; a removed file lives on only in its handles', () => {
    const vfs = new MemoryVfs();
    const a = vfs.open('f', { create: true });
    const b = vfs.open('f');
    a.write(Uint8Array.from([4, 5]), 0);
    expect(readAll(b)).toEqual([4, 5]);
    vfs.remove('f');
    expect(vfs.stat('f')).toBeUndefined();
    b.write(Uint8Array.from([6]), 2);
    expect(readAll(a)).toEqual([4, 5, 6]);
    const fresh = vfs.open('f', { create: true });
    expect(fresh.size()).toBe(0);
  });

  it('two MemoryVfs instances share nothing', () => {
    const one = new MemoryVfs();
    const two = new MemoryVfs();
    one.open('f', { create: true }).write(Uint8Array.from([1]), 0);
    expect(two.stat('f')).toBeUndefined();
    expect(two.list('')).toEqual([]);
  });
});

describe('MemoryVfs fails as a real file system does', () => {
  it('a file on the way to a path is ENOTDIR, at any depth', () => {
    const vfs = new MemoryVfs();
    vfs.open('a', { create: true }).close();
    expect(codeOf(() => vfs.open('a/x', { create: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('a/x/y', { create: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.list('a/x'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.mkdir('a/x/y'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.mkdir('a/x/y', { recursive: true }))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('missing/x/y', { create: true }))).toBe('ERR_NOT_FOUND');
    expect(vfs.stat('a/x/y')).toBeUndefined();
  });

  it('refuses misuse with its typed error', () => {
    const vfs = new MemoryVfs();
    vfs.mkdir('d/e', { recursive: true });
    vfs.open('d/e/f', { create: true }).close();
    expect(codeOf(() => vfs.rmdir('d'))).toBe('ERR_DIRECTORY_NOT_EMPTY');
    expect(codeOf(() => vfs.open('d'))).toBe('ERR_NOT_A_DIRECTORY');
    expect(codeOf(() => vfs.open('d', { create: true, exclusive: true }))).toBe('ERR_ALREADY_EXISTS');
    expect(codeOf(() => vfs.open('d/e/f', { readOnly: true, truncate: true }))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.rename('d', 'x'))).toBe('ERR_INVALID_ARGUMENT');
    expect(codeOf(() => vfs.list('../d'))).toBe('ERR_PATH_OUTSIDE_ROOT');
    const ro = vfs.open('d/e/f', { readOnly: true });
    expect(codeOf(() => ro.write(Uint8Array.from([1]), 0))).toBe('ERR_READ_ONLY');
    expect(codeOf(() => ro.truncate(0))).toBe('ERR_READ_ONLY');
    expect(codeOf(() => ro.read(new Uint8Array(1), -1))).toBe('ERR_INVALID_ARGUMENT');
    ro.close();
    // A closed handle is checked first, before the arguments.
    expect(codeOf(() => ro.read(new Uint8Array(1), -1))).toBe('ERR_CLOSED');
    ro.close();
    expect(ro.closed).toBe(true);
  });

  it('the asynchronous calls reject rather than throw', async () => {
    const vfs = new MemoryVfs();
    const file = vfs.open('f', { create: true });
    file.close();
    const pending = file.syncAsync();
    await expect(pending).rejects.toMatchObject({ code: 'ERR_CLOSED' });
    await expect(vfs.syncDirAsync('nope')).rejects.toMatchObject({ code: 'ERR_NOT_FOUND' });
    await expect(vfs.syncDirAsync('/abs')).rejects.toMatchObject({ code: 'ERR_PATH_OUTSIDE_ROOT' });
  });
});
