/**
 * The space a `FaultVfs` stores, against the capacity `setCapacity` sets (F7, in the module doc of
 * `fault-vfs.ts`): the sizes of the files that have a name. A file counts from its first name to the
 * removal of its last one (a removed file's space is free at once, even while a handle is open), and
 * grows or shrinks with its view. `FaultVfs` asks `fits` before a write or truncate grows a file and
 * refuses it, changing nothing, when it does not fit.
 *
 * The running total is kept so a write costs O(1); the debug checks recount it from the tree.
 * InnoDB has no counterpart (this is a test device); it models ENOSPC, which InnoDB must survive.
 */
import { assert, debugChecks } from '../util/assert.js';
import type { DirNode, FileNode, FsNode } from './fault-state.js';

export class StoredSpace {
  /** The cap on the stored bytes; undefined: none. */
  capacity: number | undefined;
  private stored = 0;

  /** A name now points at `node`: a file's first name puts its bytes in the count. */
  link(node: FsNode): void {
    if (node.kind === 'file' && node.linkCount++ === 0) this.stored += node.view.size;
  }

  /** A name no longer points at `node`: a file's last name takes its bytes out. */
  unlink(node: FsNode | undefined): void {
    if (node?.kind === 'file' && --node.linkCount === 0) this.stored -= node.view.size;
  }

  /** F7: whether `inode` (under `root`) may reach `newSize` without passing the capacity. */
  fits(root: DirNode, inode: FileNode, newSize: number): boolean {
    if (this.capacity === undefined || inode.linkCount === 0 || newSize <= inode.view.size) return true;
    if (debugChecks()) this.check(root);
    return this.stored + newSize - inode.view.size <= this.capacity;
  }

  /** `inode` takes `newSize` (after `fits` said yes, or a shrink). */
  resize(inode: FileNode, newSize: number): void {
    if (inode.linkCount > 0) this.stored += newSize - inode.view.size;
  }

  /** Counts a tree restored whole (an OsCache), whose files already carry their link counts. */
  countRestored(root: DirNode): void {
    this.stored += namedFileBytes(root);
  }

  /** F7's bookkeeping: the running total equals the sizes of the named files. */
  check(root: DirNode): void {
    const total = namedFileBytes(root);
    assert(total === this.stored, () => `F7 stored bytes ${this.stored} != named file sizes ${total}`);
  }
}

/** The sizes of the files reachable from `root`, each inode once however many names it has. */
function namedFileBytes(root: DirNode): number {
  const seen = new Set<FileNode>();
  let total = 0;
  const visit = (dir: DirNode): void => {
    for (const node of dir.entries.values()) {
      if (node.kind === 'directory') visit(node);
      else if (!seen.has(node)) {
        seen.add(node);
        total += node.view.size;
      }
    }
  };
  visit(root);
  return total;
}
