/**
 * The OS page cache that outlives a process crash.
 *
 * After `kill -9` the kernel lives on: the next process reads every write the dead one made, but
 * whatever had not been synced is still only in the page cache, and a power cut later (during
 * recovery, or any time after) takes it away. A crash under a policy with `osCacheSurvives` (the
 * 'process-crash' preset) keeps that state in its `CrashImage` as an `OsCache`, and
 * `FaultVfs.fromImage` reopens it exactly: the same durable bytes and unsynced writes and
 * truncates per inode (in their issue order, F3), the same durable and unsynced directory entries,
 * one inode behind every name that shares it, and the renames not yet made durable.
 *
 * The copy is taken at the crash and copied again at each reopening, so an image reopens any number
 * of times and no two VFSs share state. Inodes that no name reaches (removed while open) are gone
 * with the process's handles. The fault-injection state (a trigger, armed faults) is the dead
 * process's test setup, not the kernel's, and is not kept.
 */
import { DirNode, FileNode, type FsNode, type RenameRecord } from './fault-state.js';

/** The tree behind a reopened image, ready to install in a fresh FaultVfs. */
export interface RestoredTree {
  readonly root: DirNode;
  readonly renames: RenameRecord[];
  /** The highest sequence number in use: the reopened VFS continues above it (F3). */
  readonly seq: number;
}

function copyTree(root: DirNode, renames: readonly RenameRecord[]): RestoredTree {
  const twins = new Map<FsNode, FsNode>();
  let seq = 0;
  const copy = (node: FsNode): FsNode => {
    const known = twins.get(node);
    if (known !== undefined) return known;
    if (node.kind === 'file') {
      const file = FileNode.survivor(node);
      for (const op of file.pending) seq = Math.max(seq, op.seq);
      twins.set(node, file);
      return file;
    }
    const dir = new DirNode();
    twins.set(node, dir);
    dir.durableAt = node.durableAt;
    seq = Math.max(seq, node.durableAt);
    for (const [name, child] of node.entries) {
      const twin = copy(child);
      dir.entries.set(name, twin);
      if (twin.kind === 'file') twin.linkCount++;
    }
    for (const [name, child] of node.durableEntries) dir.durableEntries.set(name, copy(child));
    return dir;
  };
  const newRoot = copy(root) as DirNode;
  const kept: RenameRecord[] = [];
  for (const rename of renames) {
    const inode = twins.get(rename.inode);
    const from = twins.get(rename.from);
    const to = twins.get(rename.to);
    if (inode === undefined || from === undefined || to === undefined) continue; // nothing names it now
    seq = Math.max(seq, rename.seq);
    kept.push({
      ...rename,
      inode: inode as FileNode,
      from: from as DirNode,
      to: to as DirNode,
      replaced: rename.replaced === undefined ? undefined : (twins.get(rename.replaced) as FileNode | undefined),
    });
  }
  return { root: newRoot, renames: kept, seq };
}

/** What a crash image keeps of the page cache; opaque, reopened by `FaultVfs.fromImage`. */
export class OsCache {
  private readonly tree: RestoredTree;
  /** The `files` of the image this cache belongs to: an image whose files were replaced cannot use it. */
  readonly files: ReadonlyMap<string, Uint8Array>;

  constructor(root: DirNode, renames: readonly RenameRecord[], files: ReadonlyMap<string, Uint8Array>) {
    this.tree = copyTree(root, renames);
    this.files = files;
  }

  /** A fresh copy of the kernel's state, for one reopening. */
  restore(): RestoredTree {
    return copyTree(this.tree.root, this.tree.renames);
  }
}
