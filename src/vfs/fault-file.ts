/**
 * A `FaultVfs` file handle. It keeps the contract's checks in the contract's order (crashed VFS
 * first, F6; then closed, V6; read-only; arguments) and hands the call to the VFS through
 * `FileHost`, which keeps the VFS internals off FaultVfs's public surface. The model and the
 * invariants are in the module doc of `fault-vfs.ts`.
 */
import { ClosedError, ReadOnlyError } from '../errors.js';
import type { FileNode } from './fault-state.js';
import { checkBuffer, checkPosition, type OpenOptions, type VfsFile } from './vfs.js';

/** The VFS internals a handle calls; kept off FaultVfs's public surface. */
export interface FileHost {
  checkAlive(): void;
  read(file: VfsFile, inode: FileNode, target: Uint8Array, position: number): number;
  write(file: VfsFile, inode: FileNode, source: Uint8Array, position: number): void;
  truncate(file: VfsFile, inode: FileNode, size: number): void;
  sync(file: VfsFile, inode: FileNode, kind: 'sync' | 'datasync'): void;
  syncAsync(file: VfsFile, inode: FileNode, kind: 'sync' | 'datasync'): Promise<void>;
}

/** Runs a synchronous call as a settled promise (the async syncs, V7). */
export function settle(action: () => void): Promise<void> {
  try {
    action();
    return Promise.resolve();
  } catch (error) {
    return Promise.reject(error);
  }
}

export class FaultFile implements VfsFile {
  readonly path: string;
  readonly readOnly: boolean;
  readonly direct: boolean;
  private readonly host: FileHost;
  private inode: FileNode | undefined;

  constructor(host: FileHost, path: string, inode: FileNode, options: OpenOptions) {
    this.host = host;
    this.path = path;
    this.inode = inode;
    this.readOnly = options.readOnly === true;
    this.direct = options.direct === true;
  }

  get closed(): boolean {
    return this.inode === undefined;
  }

  /** F6 first (a crashed VFS refuses everything), then V6. */
  private live(): FileNode {
    this.host.checkAlive();
    if (this.inode === undefined) throw new ClosedError(`file handle for ${this.path}`);
    return this.inode;
  }

  private writable(): FileNode {
    const inode = this.live();
    if (this.readOnly) throw new ReadOnlyError(`file ${this.path}`);
    return inode;
  }

  read(target: Uint8Array, position: number): number {
    const inode = this.live();
    checkBuffer(target, 'read target');
    checkPosition(position, 'read position');
    return this.host.read(this, inode, target, position);
  }

  write(source: Uint8Array, position: number): void {
    const inode = this.writable();
    checkBuffer(source, 'write source');
    checkPosition(position, 'write position');
    this.host.write(this, inode, source, position);
  }

  size(): number {
    return this.live().view.size;
  }

  truncate(size: number): void {
    const inode = this.writable();
    checkPosition(size, 'truncate size');
    this.host.truncate(this, inode, size);
  }

  sync(): void {
    this.host.sync(this, this.live(), 'sync');
  }

  datasync(): void {
    this.host.sync(this, this.live(), 'datasync');
  }

  syncAsync(): Promise<void> {
    return this.asyncSync('sync');
  }

  datasyncAsync(): Promise<void> {
    return this.asyncSync('datasync');
  }

  private asyncSync(kind: 'sync' | 'datasync'): Promise<void> {
    let inode: FileNode;
    try {
      inode = this.live();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.host.syncAsync(this, inode, kind);
  }

  close(): void {
    this.host.checkAlive();
    this.inode = undefined;
  }
}
