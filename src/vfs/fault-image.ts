/**
 * Crash images: the durable state a `FaultVfs` crash leaves behind, decided under a `CrashPolicy`.
 *
 * `buildCrashImage` works in two steps, both drawing only from the crash stream it is given (F8):
 *  1. the namespace: each directory's durable entries (or, under `directories: 'keep'`, its current
 *     ones), then, under `renameNotAtomic`, each unsynced rename (in issue order) moved to one of the
 *     four states its durable halves allow; a walk from the root then gives every surviving path;
 *  2. the data: each surviving inode starts from its durable bytes, and the pending operations of all
 *     of them are visited in global sequence order (F3), each kept or lost as the policy says, kept
 *     writes maybe torn at sector granularity, lost extending writes maybe still extending the size.
 * An inode no surviving name reaches is gone with its data, like a file created in a directory that
 * was never synced. Under `osCacheSurvives` (a process crash) the image also keeps the unsynced
 * state itself (`OsCache`, fault-os-cache.ts), which `FaultVfs.fromImage` reopens as unsynced.
 */
import type { RandomSource } from '../util/random.js';
import { assert } from '../util/assert.js';
import { OsCache } from './fault-os-cache.js';
import type { ResolvedCrashPolicy, TornFill } from './fault-policy.js';
import {
  applyOp,
  type ByteExtent,
  type DirNode,
  type FileNode,
  isDirectWrite,
  type FsNode,
  type PendingOp,
  type PendingWrite,
  type RenameRecord,
} from './fault-state.js';

/**
 * What survived a crash: plain data that a test can inspect (`image.files.get('redo/log0')`) and
 * that `FaultVfs.fromImage` reopens. `files` and `directories` (every directory but the root) are
 * what the next process finds.
 */
export interface CrashImage {
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly directories: ReadonlySet<string>;
  /**
   * Present when the kernel outlived the crash (`osCacheSurvives`, the 'process-crash' preset):
   * the part of `files` and `directories` that is still only in the page cache, unsynced. Without
   * it, everything in the image is durable. An image built by hand (or with `files` replaced)
   * has none: drop it when you change `files`.
   */
  readonly osCache?: OsCache;
}

type EntriesOf = (dir: DirNode) => ReadonlyMap<string, FsNode>;

/** The four ends of a rename that is not atomic: which of its two names survive. */
const RENAME_STATES = [
  { oldName: true, newName: false }, // not done
  { oldName: false, newName: true }, // done
  { oldName: true, newName: true }, // both names (linked, not yet unlinked)
  { oldName: false, newName: false }, // neither name (unlinked, not yet linked)
] as const;

function chooseNamespace(
  renames: readonly RenameRecord[],
  policy: ResolvedCrashPolicy,
  random: RandomSource,
): EntriesOf {
  const base: EntriesOf = (dir) => (policy.directories === 'keep' ? dir.entries : dir.durableEntries);
  if (!policy.renameNotAtomic || renames.length === 0) return base;
  const edited = new Map<DirNode, Map<string, FsNode>>();
  const editable = (dir: DirNode): Map<string, FsNode> => {
    let entries = edited.get(dir);
    if (entries === undefined) {
      entries = new Map(base(dir));
      edited.set(dir, entries);
    }
    return entries;
  };
  for (const rename of renames) {
    // A durable half is fixed: a synced target has the new name, a synced source lost the old one.
    const allowed = RENAME_STATES.filter(
      (state) => (!rename.toDurable || state.newName) && (!rename.fromDurable || !state.oldName),
    );
    const state = random.pick(allowed);
    const source = editable(rename.from);
    if (state.oldName) {
      if (!source.has(rename.fromName)) source.set(rename.fromName, rename.inode);
    } else if (source.get(rename.fromName) === rename.inode) {
      source.delete(rename.fromName);
    }
    const target = editable(rename.to);
    const current = target.get(rename.toName);
    const ours = current === undefined || current === rename.inode || current === rename.replaced;
    if (!ours) continue; // a later operation owns the name now
    if (state.newName) target.set(rename.toName, rename.inode);
    else if (state.oldName && rename.replaced !== undefined) target.set(rename.toName, rename.replaced);
    else target.delete(rename.toName);
  }
  return (dir) => edited.get(dir) ?? base(dir);
}

function walk(
  dir: DirNode,
  prefix: string,
  entriesOf: EntriesOf,
  files: [string, FileNode][],
  directories: string[],
): void {
  const entries = entriesOf(dir);
  for (const name of [...entries.keys()].sort()) {
    const node = entries.get(name) as FsNode;
    const path = prefix === '' ? name : `${prefix}/${name}`;
    if (node.kind === 'file') {
      files.push([path, node]);
    } else {
      directories.push(path);
      walk(node, path, entriesOf, files, directories);
    }
  }
}

/** Writes `op` into `image` with each sector it touches landing or not (F5: never a direct write). */
function tearWrite(
  image: ByteExtent,
  op: PendingWrite,
  fill: TornFill,
  random: RandomSource,
  sectorBytes: number,
): void {
  assert(!op.direct, 'F5 a direct-I/O write is never torn');
  const end = op.position + op.data.length;
  if (end > image.size) image.setSize(end);
  for (let start = op.position; start < end; ) {
    const stop = Math.min(end, (Math.floor(start / sectorBytes) + 1) * sectorBytes);
    if (random.chance(0.5)) image.bytes.set(op.data.subarray(start - op.position, stop - op.position), start);
    else if (fill === 'zeros') image.bytes.fill(0, start, stop);
    else if (fill === 'garbage') random.fill(image.bytes.subarray(start, stop));
    start = stop; // 'stale': the old bytes stay
  }
}

/** sizeBeforeData: a lost write that ended past the end still moves the end; its range holds no data. */
function extendWithoutData(image: ByteExtent, op: PendingWrite, garbage: boolean, random: RandomSource): void {
  const end = op.position + op.data.length;
  if (end <= image.size) return;
  const from = Math.max(image.size, op.position);
  image.setSize(end);
  if (garbage) random.fill(image.bytes.subarray(from, end));
}

function isKept(policy: ResolvedCrashPolicy, rank: number, cut: number, random: RandomSource): boolean {
  switch (policy.unsynced) {
    case 'lose-all':
      return false;
    case 'keep-all':
      return true;
    case 'keep-subset':
      return random.chance(0.5);
    case 'keep-prefix':
      return rank < cut;
  }
}

function settleData(
  inodes: readonly FileNode[],
  policy: ResolvedCrashPolicy,
  random: RandomSource,
  sectorBytes: number,
): Map<FileNode, ByteExtent> {
  const images = new Map<FileNode, ByteExtent>();
  const ops: { readonly image: ByteExtent; readonly op: PendingOp }[] = [];
  for (const inode of inodes) {
    const image = inode.durable.copy();
    images.set(inode, image);
    for (const op of inode.pending) ops.push({ image, op });
  }
  ops.sort((a, b) => a.op.seq - b.op.seq); // F3: one global order across files
  const candidates = ops.reduce((count, { op }) => (isDirectWrite(op) ? count : count + 1), 0);
  const cut = policy.unsynced === 'keep-prefix' ? random.int(candidates + 1) : 0;
  let rank = 0;
  for (const { image, op } of ops) {
    if (isDirectWrite(op)) {
      applyOp(image, op); // F5: a direct-I/O write is never lost
      continue;
    }
    const kept = isKept(policy, rank++, cut, random);
    if (op.kind === 'truncate') {
      if (kept && !policy.dropTruncate) image.setSize(op.size);
    } else if (kept) {
      if (policy.torn !== undefined && random.chance(0.5)) tearWrite(image, op, policy.torn, random, sectorBytes);
      else image.write(op.position, op.data);
    } else if (policy.sizeBeforeData) {
      extendWithoutData(image, op, policy.torn === 'garbage', random);
    }
  }
  return images;
}

/** The image a crash under `policy` leaves of the tree under `root`. */
export function buildCrashImage(
  root: DirNode,
  renames: readonly RenameRecord[],
  policy: ResolvedCrashPolicy,
  random: RandomSource,
  sectorBytes: number,
): CrashImage {
  const entriesOf = chooseNamespace(renames, policy, random);
  const named: [string, FileNode][] = [];
  const directories: string[] = [];
  walk(root, '', entriesOf, named, directories);
  const inodes = [...new Set(named.map(([, inode]) => inode))];
  const images = settleData(inodes, policy, random, sectorBytes);
  const files = new Map<string, Uint8Array>();
  for (const [path, inode] of named) files.set(path, (images.get(inode) as ByteExtent).snapshot());
  if (!policy.osCacheSurvives) return { files, directories: new Set(directories) };
  return { files, directories: new Set(directories), osCache: new OsCache(root, renames, files) };
}
