/**
 * MemoryVfs: files and directories in memory, the embedded default for demos and tests.
 *
 * Every write is immediately "durable" (there is no power to lose), so the syncs only validate
 * their handle. A file's bytes live in a buffer that grows by doubling, so appending a log costs
 * amortised O(1). Files are inodes referenced from directory entries, so a handle keeps working
 * after its file is renamed or removed (contract V5 in `vfs.ts`).
 *
 * Invariants:
 *  M1. For every file inode, `size <= bytes.length`, and `bytes[size..]` is all zeros (so growing
 *      the size by truncate or by a write past the end exposes zeros, contract V2).
 *  M2. Every directory entry names exactly one inode; the root is a directory.
 */
import {
  AlreadyExistsError,
  ClosedError,
  DirectoryNotEmptyError,
  InvalidArgumentError,
  NotADirectoryError,
  NotFoundError,
  ReadOnlyError,
} from '../errors.js';
import { assert, debugChecks } from '../util/assert.js';
import { lockInProcess } from './directory-lock.js';
import {
  basenameOf,
  resolveRename,
  checkBuffer,
  checkPosition,
  dirnameOf,
  checkOpenArguments,
  normalizePath,
  type DirectoryLock,
  type DirectoryLockMode,
  type EngineEvent,
  type FileStat,
  type OpenOptions,
  type Vfs,
  type VfsFile,
} from './vfs.js';

class FileInode {
  readonly kind = 'file';
  bytes = new Uint8Array(0);
  size = 0;

  ensureCapacity(length: number): void {
    if (length <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(length, this.bytes.length * 2, 4096));
    grown.set(this.bytes.subarray(0, this.size));
    this.bytes = grown;
  }

  setSize(newSize: number): void {
    if (newSize < this.size) {
      this.bytes.fill(0, newSize, this.size); // M1: the tail beyond size stays zero
    } else {
      this.ensureCapacity(newSize);
    }
    this.size = newSize;
  }
}

class DirInode {
  readonly kind = 'directory';
  readonly entries = new Map<string, FileInode | DirInode>();
}

type Inode = FileInode | DirInode;

class MemoryFile implements VfsFile {
  readonly path: string;
  readonly readOnly: boolean;
  readonly direct: boolean;
  private inode: FileInode | undefined;

  constructor(path: string, inode: FileInode, options: OpenOptions) {
    this.path = path;
    this.inode = inode;
    this.readOnly = options.readOnly === true;
    this.direct = options.direct === true;
  }

  get closed(): boolean {
    return this.inode === undefined;
  }

  private live(): FileInode {
    if (this.inode === undefined) throw new ClosedError(`file handle for ${this.path}`);
    return this.inode;
  }

  read(target: Uint8Array, position: number): number {
    const inode = this.live();
    checkBuffer(target, 'read target');
    checkPosition(position, 'read position');
    if (position >= inode.size) return 0;
    const count = Math.min(target.length, inode.size - position);
    target.set(inode.bytes.subarray(position, position + count));
    return count;
  }

  write(source: Uint8Array, position: number): void {
    const inode = this.live();
    if (this.readOnly) throw new ReadOnlyError(`file ${this.path}`);
    checkBuffer(source, 'write source');
    checkPosition(position, 'write position');
    // A zero-length write changes nothing, not even the size (POSIX pwrite with count 0).
    if (source.length === 0) return;
    const end = position + source.length;
    if (end > inode.size) inode.setSize(end);
    inode.bytes.set(source, position);
  }

  size(): number {
    return this.live().size;
  }

  truncate(size: number): void {
    const inode = this.live();
    if (this.readOnly) throw new ReadOnlyError(`file ${this.path}`);
    checkPosition(size, 'truncate size');
    inode.setSize(size);
    if (debugChecks()) {
      for (let i = inode.size; i < inode.bytes.length; i++) assert(inode.bytes[i] === 0, 'M1 tail past size is zero');
    }
  }

  sync(): void {
    this.live();
  }

  datasync(): void {
    this.live();
  }

  syncAsync(): Promise<void> {
    try {
      this.live();
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  datasyncAsync(): Promise<void> {
    return this.syncAsync();
  }

  close(): void {
    this.inode = undefined;
  }
}

export class MemoryVfs implements Vfs {
  readonly location = 'memory';
  private readonly root = new DirInode();

  /** V8: no other process can reach these files, so the lock is in-process (directory-lock.ts). */
  lockDirectory(mode: DirectoryLockMode): DirectoryLock {
    return lockInProcess(this, mode, this.location);
  }

  /** The inode at `path`, or undefined if nothing is there (also when a file stands in the way). */
  private lookup(path: string): Inode | undefined {
    if (path === '') return this.root;
    let node: Inode = this.root;
    for (const part of path.split('/')) {
      if (node.kind !== 'directory') return undefined;
      const next: Inode | undefined = node.entries.get(part);
      if (next === undefined) return undefined;
      node = next;
    }
    return node;
  }

  /**
   * The directory at `path`, failing as the OS does: a missing component is `NotFoundError`
   * (ENOENT); a file where a directory is needed, at the end or on the way, is
   * `NotADirectoryError` (ENOTDIR).
   */
  private dir(path: string): DirInode {
    let node: Inode = this.root;
    if (path !== '') {
      for (const part of path.split('/')) {
        if (node.kind !== 'directory') throw new NotADirectoryError(path);
        const next: Inode | undefined = node.entries.get(part);
        if (next === undefined) throw new NotFoundError(path, 'directory');
        node = next;
      }
    }
    if (node.kind !== 'directory') throw new NotADirectoryError(path);
    return node;
  }

  /** The directory that holds `path`, which must exist and be a directory. */
  private parentOf(path: string): DirInode {
    return this.dir(dirnameOf(path));
  }

  open(rawPath: string, options: OpenOptions = {}): VfsFile {
    const path = checkOpenArguments(rawPath, options);
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    let inode = parent.entries.get(name);
    if (inode === undefined) {
      if (options.create !== true) throw new NotFoundError(path, 'file');
      inode = new FileInode();
      parent.entries.set(name, inode);
    } else if (options.create === true && options.exclusive === true) {
      throw new AlreadyExistsError(path);
    }
    if (inode.kind !== 'file') throw new NotADirectoryError(path, `${path} is a directory, not a file`);
    if (options.truncate === true) inode.setSize(0);
    return new MemoryFile(path, inode, options);
  }

  stat(rawPath: string): FileStat | undefined {
    const node = this.lookup(normalizePath(rawPath));
    if (node === undefined) return undefined;
    return node.kind === 'file' ? { kind: 'file', size: node.size } : { kind: 'directory', size: 0 };
  }

  list(rawDir: string): string[] {
    return [...this.dir(normalizePath(rawDir)).entries.keys()].sort();
  }

  mkdir(rawDir: string, options: { readonly recursive?: boolean } = {}): void {
    const path = normalizePath(rawDir);
    if (path === '') {
      if (options.recursive === true) return;
      throw new AlreadyExistsError('.');
    }
    if (options.recursive === true) {
      let node: DirInode = this.root;
      for (const part of path.split('/')) {
        const next = node.entries.get(part);
        if (next === undefined) {
          const created = new DirInode();
          node.entries.set(part, created);
          node = created;
        } else if (next.kind === 'directory') {
          node = next;
        } else {
          throw new NotADirectoryError(path, `cannot create directory ${path}: ${part} is a file`);
        }
      }
      return;
    }
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    if (parent.entries.has(name)) throw new AlreadyExistsError(path);
    parent.entries.set(name, new DirInode());
  }

  rename(rawFrom: string, rawTo: string): void {
    const r = resolveRename<Inode, DirInode>(this.root, (path) => this.parentOf(path), rawFrom, rawTo);
    if (r.from === r.to) return;
    r.fromParent.entries.delete(r.fromName);
    r.toParent.entries.set(r.toName, r.inode);
  }

  remove(rawPath: string): void {
    const path = normalizePath(rawPath);
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    const inode = path === '' ? this.root : parent.entries.get(name);
    if (inode === undefined) throw new NotFoundError(path, 'file');
    if (inode.kind !== 'file') throw new NotADirectoryError(path, `${path || '.'} is a directory: use rmdir`);
    parent.entries.delete(name);
  }

  rmdir(rawDir: string): void {
    const path = normalizePath(rawDir);
    if (path === '') throw new InvalidArgumentError('cannot remove the root directory');
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    const inode = parent.entries.get(name);
    if (inode === undefined) throw new NotFoundError(path, 'directory');
    if (inode.kind !== 'directory') throw new NotADirectoryError(path);
    if (inode.entries.size > 0) throw new DirectoryNotEmptyError(path);
    parent.entries.delete(name);
  }

  syncDir(rawDir: string): void {
    this.dir(normalizePath(rawDir));
  }

  syncDirAsync(rawDir: string): Promise<void> {
    try {
      this.syncDir(rawDir);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  engineEvent(_name: EngineEvent): void {
    // Nothing to simulate: memory never loses power.
  }
}
