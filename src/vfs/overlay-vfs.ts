/**
 * OverlayVfs: a copy-on-write view of another VFS. Reads fall through to the base; every write,
 * truncate, create, rename and remove lands in memory and the base is never written.
 *
 * What it is for: looking at a database without changing it. Opening a database runs recovery,
 * which writes (applied pages, a checkpoint, the log's next lap); `minno verify`, `check`,
 * `status`, `export` and `salvage` open through an overlay, so the files on disk stay exactly as
 * they were (a crashed database keeps the evidence; a backup stays a backup). SQLite's
 * `immutable=1` and Linux's overlayfs are the anchors.
 *
 * Memory: only what is written costs memory, in 4 KiB blocks (recovery of a cleanly closed
 * database writes a few blocks; of a crashed one, the pages it repairs).
 *
 * Invariants:
 *  O1. No call on an OverlayVfs or its files writes to the base: the base is opened read-only.
 *  O3. Locking the overlay (V8) locks the base 'shared' whatever the mode asked: the overlay never
 *      writes the base, so a writer elsewhere must not hold it meanwhile, and other readers may.
 *  O2. A file reads as its base bytes below `baseLimit`, overlaid by the blocks written, and as
 *      zeros elsewhere below `size` (a truncate that shrinks lowers `baseLimit` for good).
 */
import { ClosedError, NotFoundError, ReadOnlyError } from '../errors.js';
import { lockInProcess } from './directory-lock.js';
import {
  type DirectoryLock,
  type DirectoryLockMode,
  type EngineEvent,
  type FileStat,
  type OpenOptions,
  type Vfs,
  type VfsFile,
  checkOpenArguments,
  dirnameOf,
  normalizePath,
} from './vfs.js';
import { AlreadyExistsError } from '../errors.js';

const BLOCK = 4096;

class OverlayNode {
  readonly blocks = new Map<number, Uint8Array>();
  size: number;
  baseLimit: number;
  constructor(
    readonly base: VfsFile | undefined,
    size: number,
  ) {
    this.size = size;
    this.baseLimit = size;
  }

  read(target: Uint8Array, position: number): number {
    const count = Math.max(0, Math.min(target.length, this.size - position));
    let at = 0;
    while (at < count) {
      const pos = position + at;
      const block = Math.floor(pos / BLOCK);
      const inBlock = pos - block * BLOCK;
      const n = Math.min(BLOCK - inBlock, count - at);
      const written = this.blocks.get(block);
      const part = target.subarray(at, at + n);
      if (written !== undefined) {
        part.set(written.subarray(inBlock, inBlock + n));
      } else {
        part.fill(0);
        if (this.base !== undefined && pos < this.baseLimit) {
          this.base.read(part.subarray(0, Math.min(n, this.baseLimit - pos)), pos);
        }
      }
      at += n;
    }
    return count;
  }

  private block(index: number): Uint8Array {
    let block = this.blocks.get(index);
    if (block === undefined) {
      block = new Uint8Array(BLOCK);
      const start = index * BLOCK;
      if (this.base !== undefined && start < this.baseLimit) {
        this.base.read(block.subarray(0, Math.min(BLOCK, this.baseLimit - start)), start);
      }
      this.blocks.set(index, block);
    }
    return block;
  }

  write(source: Uint8Array, position: number): void {
    let at = 0;
    while (at < source.length) {
      const pos = position + at;
      const index = Math.floor(pos / BLOCK);
      const inBlock = pos - index * BLOCK;
      const n = Math.min(BLOCK - inBlock, source.length - at);
      this.block(index).set(source.subarray(at, at + n), inBlock);
      at += n;
    }
    if (position + source.length > this.size) this.size = position + source.length;
  }

  truncate(size: number): void {
    if (size < this.size) {
      const last = Math.floor(size / BLOCK);
      if (size % BLOCK !== 0) this.block(last).fill(0, size % BLOCK);
      for (const index of [...this.blocks.keys()]) if (index * BLOCK >= size) this.blocks.delete(index);
      this.baseLimit = Math.min(this.baseLimit, size); // O2
    }
    this.size = size;
  }
}

class OverlayFile implements VfsFile {
  readonly path: string;
  readonly readOnly: boolean;
  readonly direct = false;
  closed = false;
  private readonly node: OverlayNode;

  constructor(path: string, node: OverlayNode, readOnly: boolean) {
    this.path = path;
    this.node = node;
    this.readOnly = readOnly;
  }

  private check(write: boolean): void {
    if (this.closed) throw new ClosedError(this.path);
    if (write && this.readOnly) throw new ReadOnlyError(this.path);
  }

  read(target: Uint8Array, position: number): number {
    this.check(false);
    return this.node.read(target, position);
  }
  write(source: Uint8Array, position: number): void {
    this.check(true);
    this.node.write(source, position);
  }
  size(): number {
    this.check(false);
    return this.node.size;
  }
  truncate(size: number): void {
    this.check(true);
    this.node.truncate(size);
  }
  sync(): void {
    this.check(false);
  }
  datasync(): void {
    this.check(false);
  }
  syncAsync(): Promise<void> {
    this.check(false);
    return Promise.resolve();
  }
  datasyncAsync(): Promise<void> {
    this.check(false);
    return Promise.resolve();
  }
  close(): void {
    this.closed = true;
  }
}

export class OverlayVfs implements Vfs {
  readonly base: Vfs;
  /** Files touched through the overlay (or created in it), by path. */
  private readonly nodes = new Map<string, OverlayNode>();
  /** Base paths removed or renamed away in the overlay. */
  private readonly hidden = new Set<string>();
  private readonly dirs = new Set<string>();
  private readonly baseHandles: VfsFile[] = [];

  constructor(base: Vfs) {
    this.base = base;
  }

  private baseVisible(path: string): FileStat | undefined {
    return this.hidden.has(path) ? undefined : this.base.stat(path);
  }

  private node(path: string): OverlayNode | undefined {
    let node = this.nodes.get(path);
    if (node === undefined && this.baseVisible(path)?.kind === 'file') {
      const handle = this.base.open(path, { readOnly: true }); // O1
      this.baseHandles.push(handle);
      node = new OverlayNode(handle, handle.size());
      this.nodes.set(path, node);
    }
    return node;
  }

  open(rawPath: string, options: OpenOptions = {}): VfsFile {
    const path = checkOpenArguments(rawPath, options);
    let node = this.node(path);
    if (node === undefined) {
      if (options.create !== true) throw new NotFoundError(path);
      if (this.stat(dirnameOf(path))?.kind !== 'directory') throw new NotFoundError(dirnameOf(path));
      node = new OverlayNode(undefined, 0);
      this.nodes.set(path, node);
    } else if (options.create === true && options.exclusive === true) {
      throw new AlreadyExistsError(path);
    }
    if (options.truncate === true) node.truncate(0);
    return new OverlayFile(path, node, options.readOnly === true);
  }

  stat(rawPath: string): FileStat | undefined {
    const path = normalizePath(rawPath);
    const node = this.nodes.get(path);
    if (node !== undefined) return { kind: 'file', size: node.size };
    if (this.dirs.has(path)) return { kind: 'directory', size: 0 };
    return this.baseVisible(path);
  }

  list(rawDir: string): string[] {
    const dir = normalizePath(rawDir);
    const names = new Set<string>();
    if (this.base.stat(dir)?.kind === 'directory') {
      for (const name of this.base.list(dir)) {
        const path = dir === '' ? name : `${dir}/${name}`;
        if (!this.hidden.has(path)) names.add(name);
      }
    }
    for (const path of [...this.nodes.keys(), ...this.dirs]) {
      if (path !== '' && dirnameOf(path) === dir) names.add(path.slice(dir === '' ? 0 : dir.length + 1));
    }
    return [...names].sort();
  }

  mkdir(rawDir: string, _options: { readonly recursive?: boolean } = {}): void {
    const dir = normalizePath(rawDir);
    if (this.stat(dir) === undefined) this.dirs.add(dir);
  }

  rename(rawFrom: string, rawTo: string): void {
    const from = normalizePath(rawFrom);
    const to = normalizePath(rawTo);
    const node = this.node(from);
    if (node === undefined) throw new NotFoundError(from);
    this.nodes.delete(from);
    if (this.base.stat(from) !== undefined) this.hidden.add(from);
    this.nodes.set(to, node);
  }

  remove(rawPath: string): void {
    const path = normalizePath(rawPath);
    if (this.stat(path) === undefined) throw new NotFoundError(path);
    this.nodes.delete(path);
    if (this.base.stat(path) !== undefined) this.hidden.add(path);
  }

  rmdir(rawDir: string): void {
    this.dirs.delete(normalizePath(rawDir));
  }

  syncDir(_dir: string): void {}

  syncDirAsync(_dir: string): Promise<void> {
    return Promise.resolve();
  }

  get location(): string {
    return `overlay over ${this.base.location}`;
  }

  /** O3: the overlay's own lock (one writer of the overlay) plus a shared lock on the base. */
  lockDirectory(mode: DirectoryLockMode): DirectoryLock {
    const baseLock = this.base.lockDirectory('shared');
    let own: DirectoryLock;
    try {
      own = lockInProcess(this, mode, this.location);
    } catch (error) {
      baseLock.release();
      throw error;
    }
    return {
      mode,
      get released() {
        return own.released || baseLock.released;
      },
      get onLost() {
        return baseLock.onLost;
      },
      set onLost(handler) {
        baseLock.onLost = handler;
      },
      release() {
        own.release();
        baseLock.release();
      },
    };
  }

  engineEvent(_name: EngineEvent): void {}

  /** Closes the base handles the overlay opened. */
  close(): void {
    for (const handle of this.baseHandles) handle.close();
    this.baseHandles.length = 0;
  }
}
