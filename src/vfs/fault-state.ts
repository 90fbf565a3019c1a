/**
 * The state a `FaultVfs` keeps per inode and per directory. The model and the invariants it cites
 * (F1, F2, F3, F5) are in the module doc of `fault-vfs.ts`.
 *
 *   FileNode
 *     view      the bytes and size reads see (contract V3): every write, synced or not
 *     durable   the bytes and size that survive any crash
 *     pending   the unsynced operations, oldest first: writes (with a copy of their data) and
 *               truncates, each stamped with a VFS-wide sequence number (F3)
 *   DirNode
 *     entries         the names that `open`, `list` and `stat` see
 *     durableEntries  the names that survive a crash that loses unsynced directory operations;
 *                     replaced by a copy of `entries` at each `syncDir`
 *
 * And the walks of the namespace from its root (`lookupPath`, `directoryAt`, `installDirectory`,
 * `lacksDirectory`, `unsyncedPaths`), failing as the OS (and MemoryVfs) does.
 */
import { InvalidArgumentError, NotADirectoryError, NotFoundError } from '../errors.js';
import { assert, debugChecks } from '../util/assert.js';

const EMPTY = new Uint8Array(0);

/**
 * A file's bytes: a length and a buffer that grows by doubling, so that appending costs amortised
 * O(bytes). F1: `size <= bytes.length` and `bytes[size..]` is all zeros, so growing the size
 * (by a write past the end or a truncate) exposes zeros.
 */
export class ByteExtent {
  bytes: Uint8Array = EMPTY;
  size = 0;

  static of(content: Uint8Array): ByteExtent {
    const extent = new ByteExtent();
    extent.write(0, content);
    return extent;
  }

  ensureCapacity(length: number): void {
    if (length <= this.bytes.length) return;
    const grown = new Uint8Array(Math.max(length, this.bytes.length * 2, 4096));
    grown.set(this.bytes.subarray(0, this.size)); // F1: the rest of the new buffer is zero
    this.bytes = grown;
  }

  setSize(newSize: number): void {
    if (newSize < this.size) {
      this.bytes.fill(0, newSize, this.size); // F1
      if (debugChecks()) {
        for (let i = newSize; i < this.bytes.length; i++) assert(this.bytes[i] === 0, 'F1 tail past size is zero');
      }
    } else {
      this.ensureCapacity(newSize);
    }
    this.size = newSize;
  }

  /** Writes `data` at `position`, extending the size (with a zero gap) when it ends past it. */
  write(position: number, data: Uint8Array): void {
    const end = position + data.length;
    if (end > this.size) this.setSize(end);
    this.bytes.set(data, position);
  }

  /** Copies into `target` from `position`; returns the count (short only at the end). */
  read(target: Uint8Array, position: number): number {
    if (position >= this.size) return 0;
    const count = Math.min(target.length, this.size - position);
    target.set(this.bytes.subarray(position, position + count));
    return count;
  }

  copy(): ByteExtent {
    const twin = new ByteExtent();
    twin.bytes = this.bytes.slice();
    twin.size = this.size;
    return twin;
  }

  /** The content as an exact-length copy. */
  snapshot(): Uint8Array {
    return this.bytes.slice(0, this.size);
  }
}

/** An unsynced write: `data` is the VFS's own copy. A direct-I/O write is never lost (F5). */
export interface PendingWrite {
  readonly kind: 'write';
  readonly seq: number;
  readonly position: number;
  readonly data: Uint8Array;
  readonly direct: boolean;
}

export interface PendingTruncate {
  readonly kind: 'truncate';
  readonly seq: number;
  readonly size: number;
}

export type PendingOp = PendingWrite | PendingTruncate;

export function applyOp(extent: ByteExtent, op: PendingOp): void {
  if (op.kind === 'write') extent.write(op.position, op.data);
  else extent.setSize(op.size);
}

export function isDirectWrite(op: PendingOp): boolean {
  return op.kind === 'write' && op.direct;
}

/** A half-open byte range [start, end). */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

export class FileNode {
  readonly kind = 'file';
  readonly view: ByteExtent;
  readonly durable: ByteExtent;
  pending: PendingOp[] = [];
  /** How many current directory entries name this inode. */
  linkCount = 0;
  /** Seed 001: a skipped write extended the file, so every later write to it is skipped. */
  skipAllWrites = false;
  /**
   * True once some written data will never become durable (a skipped write, a sync that failed):
   * from then on `durable` + `pending` no longer replays to `view` (F2 is checked only while false).
   */
  viewDiverged = false;
  /** The part past the old end of the most recent write that extended the file (seed 000). */
  lastExtension: ByteRange | undefined;

  constructor(content?: Uint8Array) {
    this.view = content === undefined ? new ByteExtent() : ByteExtent.of(content);
    this.durable = content === undefined ? new ByteExtent() : ByteExtent.of(content);
  }

  /**
   * The inode as the next process finds it after a process crash: the same durable bytes and
   * pending operations, and a view rebuilt from them, since that is what the kernel holds (data a
   * skipped write or a failed sync dropped is not there, F4).
   */
  static survivor(of: FileNode): FileNode {
    const node = new FileNode(of.durable.snapshot());
    node.pending = of.pending.slice(); // the ops and their data are never changed once queued
    for (const op of node.pending) applyOp(node.view, op);
    return node;
  }

  /** Appends an unsynced operation, keeping F3 (sequence numbers rise). */
  enqueue(op: PendingOp): void {
    const last = this.pending[this.pending.length - 1];
    assert(last === undefined || last.seq < op.seq, () => `F3 pending seq ${op.seq} after ${last?.seq}`);
    this.pending.push(op);
  }

  /**
   * Makes the pending operations issued up to sequence number `upToSeq` durable (a sync; an
   * asynchronous one covers only what was issued before it started), or with `dropBuffered` only
   * the direct-I/O ones among them (a failed sync: the kernel marked the pages clean without
   * writing them). Returns the applied ops.
   */
  settle(dropBuffered: boolean, upToSeq = Number.POSITIVE_INFINITY): PendingOp[] {
    let cut = 0;
    while (cut < this.pending.length && (this.pending[cut] as PendingOp).seq <= upToSeq) cut++; // F3: a prefix
    const covered = this.pending.slice(0, cut);
    const applied = dropBuffered ? covered.filter(isDirectWrite) : covered;
    if (dropBuffered && applied.length < covered.length) this.viewDiverged = true;
    for (const op of applied) applyOp(this.durable, op);
    this.pending = this.pending.slice(cut);
    if (debugChecks() && !this.viewDiverged && this.pending.length === 0) this.checkReplay(applied);
    return applied;
  }

  /** F2: with nothing pending and nothing dropped, the durable content is the view. */
  private checkReplay(applied: readonly PendingOp[]): void {
    assert(this.durable.size === this.view.size, () => `F2 durable size ${this.durable.size} != ${this.view.size}`);
    for (const op of applied) {
      if (op.kind !== 'write') continue;
      const end = Math.min(op.position + op.data.length, this.view.size);
      for (let i = op.position; i < end; i++) {
        assert(this.durable.bytes[i] === this.view.bytes[i], () => `F2 durable byte ${i} differs from the view`);
      }
    }
  }
}

export class DirNode {
  readonly kind = 'directory';
  readonly entries = new Map<string, FsNode>();
  durableEntries = new Map<string, FsNode>();
  /** The VFS sequence number at which the sync that set `durableEntries` started (0: none yet). */
  durableAt = 0;
}

export type FsNode = FileNode | DirNode;

/**
 * A rename whose directory entries are not both durable yet: what `renameNotAtomic` may leave
 * half done. `fromDurable` / `toDurable` turn true when the source / target directory is synced.
 */
export interface RenameRecord {
  readonly inode: FileNode;
  readonly from: DirNode;
  readonly fromName: string;
  readonly to: DirNode;
  readonly toName: string;
  /** The file the rename replaced, if any. */
  readonly replaced: FileNode | undefined;
  /** The VFS sequence number of the rename: a directory sync that started later covers it. */
  readonly seq: number;
  fromDurable: boolean;
  toDurable: boolean;
}

/** Walks to `path`: its node, or why there is none (a missing part, or a file on the way). */
function resolvePath(root: DirNode, path: string): FsNode | 'missing' | 'file-on-the-way' {
  let node: FsNode = root;
  for (const part of path === '' ? [] : path.split('/')) {
    if (node.kind !== 'directory') return 'file-on-the-way';
    const next: FsNode | undefined = node.entries.get(part);
    if (next === undefined) return 'missing';
    node = next;
  }
  return node;
}

/** The node at `path`, if there is one. */
export function lookupPath(root: DirNode, path: string): FsNode | undefined {
  const found = resolvePath(root, path);
  return typeof found === 'string' ? undefined : found;
}

/** The directory at `path`, failing as the OS (and MemoryVfs) does: ENOENT or ENOTDIR. */
export function directoryAt(root: DirNode, path: string): DirNode {
  const found = resolvePath(root, path);
  if (found === 'missing') throw new NotFoundError(path, 'directory');
  if (found === 'file-on-the-way' || found.kind !== 'directory') throw new NotADirectoryError(path);
  return found;
}

/**
 * Creates the missing directories along `path` and returns the last; with `durable`, as already
 * synced (fromImage). Callers have checked that no part is a file.
 */
export function installDirectory(root: DirNode, path: string, durable = true): DirNode {
  let node: DirNode = root;
  for (const part of path === '' ? [] : path.split('/')) {
    let next = node.entries.get(part);
    if (next === undefined) {
      next = new DirNode();
      node.entries.set(part, next);
      if (durable) node.durableEntries.set(part, next);
    }
    if (next.kind !== 'directory') throw new InvalidArgumentError(`${path}: ${part} is a file, not a directory`);
    node = next;
  }
  return node;
}

/**
 * Whether some directory along `path` is missing (what `mkdir` would create), checking the whole
 * path first: a part that is a file fails with ENOTDIR, as `mkdir` does, before anything changes.
 */
export function lacksDirectory(root: DirNode, path: string): boolean {
  let node: DirNode = root;
  for (const part of path.split('/')) {
    const next: FsNode | undefined = node.entries.get(part);
    if (next === undefined) return true;
    if (next.kind !== 'directory')
      throw new NotADirectoryError(path, `cannot create directory ${path}: ${part} is a file`);
    node = next;
  }
  return false;
}

/** The paths whose directory entry (a create, rename or remove) no `syncDir` has made durable. */
export function unsyncedPaths(root: DirNode): string[] {
  const paths: string[] = [];
  const visit = (dir: DirNode, prefix: string): void => {
    const names = new Set([...dir.entries.keys(), ...dir.durableEntries.keys()]);
    for (const name of names) {
      const node = dir.entries.get(name);
      const path = prefix === '' ? name : `${prefix}/${name}`;
      if (node !== dir.durableEntries.get(name)) paths.push(path);
      if (node?.kind === 'directory') visit(node, path);
    }
  };
  visit(root, '');
  return paths.sort();
}
