/**
 * FaultVfs: a disk behind an operating-system page cache, in memory, that can lose power.
 *
 * A process writes through the kernel's page cache to a disk. A `write` lands in the cache: every
 * later read sees it (contract V3), but only `sync`/`datasync` (fsync/fdatasync) carry it to the disk,
 * and only `syncDir` carries a directory's entries there (creates, renames, removes: rule DIR). A
 * crash keeps what had reached the disk, and decides under a `CrashPolicy` (`fault-policy.ts`) what
 * became of what was in flight: a power cut loses all of it, a process crash (kill -9) none of it, a
 * disk that reorders keeps any subset, an in-order disk a prefix, a torn write some of its sectors. The
 * result is a `CrashImage` (`fault-image.ts`), which `FaultVfs.fromImage` reopens for recovery; that
 * VFS can crash again (a crash during recovery).
 *
 * Two sequences need more than a crash image of durable bytes, and the model has both:
 *  - A process crash leaves the kernel alive. Under the 'process-crash' preset (`osCacheSurvives`)
 *    the image keeps the unsynced writes, truncates and directory entries as unsynced (an
 *    `OsCache`, `fault-os-cache.ts`); `fromImage` reopens them so, and a power cut during the
 *    recovery that follows, or any time after, still takes whatever nobody synced since (F11).
 *    A hand-built image, or one under any other policy, is wholly durable.
 *  - A sync takes time. With `asyncSyncs: { scheduler, stepsMin, stepsMax }` (`sync-scheduler.ts`;
 *    the syncs in flight: `fault-async-syncs.ts`), `datasyncAsync`, `syncAsync` and `syncDirAsync`
 *    are counted (and may be crashed at) when called, cover exactly what was issued to their file
 *    (or directory) before the call, and land after a seeded number of the scheduler's steps, while
 *    other operations go on; writes issued meanwhile stay unsynced (F12). A crash before a sync
 *    lands rejects its promise with SimulatedCrashError and it never lands. Without `asyncSyncs`
 *    they land at once, before the promise settles. The synchronous `sync`/`datasync`/`syncDir`
 *    always land at once.
 *
 * What it learns from (details: shared/reference/fault-models.md):
 *  - LazyFS: a private page cache that reaches disk only on fsync; crashes at a chosen syscall; torn
 *    writes; keeping a subset of unsynced writes. (We add a directory model, which it lacks.)
 *  - SQLite's crash VFS (`src/test6.c`): a crash at the Nth sync; each unsynced write kept, dropped or
 *    garbage by sector; its journal-test VFS's protocol oracle, which is our `onWrite` hook.
 *  - RocksDB FaultInjectionTestFS: drop the unsynced data or keep a prefix; files created since the
 *    last directory sync vanish; failed and corrupted reads.
 *  - ALICE: an append persists its size before its data; a rename is unlink + link, not atomic.
 *  - FoundationDB non-durable files: pending writes kept, dropped or corrupted sector by sector;
 *    pending truncates dropped; a never-synced directory entry lost.
 *  - TigerBeetle simulated storage: misdirected writes, read faults, every run replayed from a seed.
 *  - Seed 001 (MariaDB's fsync-testing LD_PRELOAD): a trigger after which writes are skipped, then a
 *    crash at the first sync. Seed 000 (ext4 on ARM64): a reader sees a new length before the bytes.
 *
 * The model. Per file inode (`fault-state.ts`): `view` (what reads see), `durable` (what survives
 * any crash) and `pending`, the unsynced writes (each with a copy of its data) and truncates in issue
 * order, each stamped with a VFS-wide sequence number. Per directory: `entries` (what open/list/stat
 * see) and `durableEntries`.
 *
 *    write ───────────> view + pending ──(sync | datasync)──> durable
 *    direct write ────> view + durable (queued behind earlier pending ops of the same file, in order)
 *    create, rename, remove, mkdir, rmdir ──> entries ──(syncDir of that directory)──> durableEntries
 *
 * Reads and writes cost O(bytes): the view is one buffer per inode that grows by doubling; a write
 * copies its data once into its pending op; a sync replays the file's pending ops onto `durable`.
 *
 * Faults, exactly:
 *  - Crash points. `crashNow`; `crashAtOperation(n)` crashes instead of performing the n-th mutating
 *    operation from now (write, truncate, sync, datasync, syncDir, create, rename, remove, mkdir,
 *    rmdir: see MUTATING_OPERATIONS; an `open` counts as 'create' when it creates the file and as
 *    'truncate' when `truncate` cuts an existing one; a recursive `mkdir` counts once when it creates
 *    anything); `crashAtSync(n)` counts only sync, datasync and syncDir; `crashAtEvent(name, k)`
 *    crashes at the k-th `engineEvent(name)` from now; `crashAtRandom(n)` picks a seeded point among
 *    the next n operations. One scheduled crash at a time: a new schedule replaces the old. An operation
 *    that fails its argument checks is refused before it is counted. The operation crashed at is not
 *    performed and not counted. After a crash every Vfs and handle call throws SimulatedCrashError (F6).
 *  - `trigger({ skipWritesPercent = 100 })` (seed 001): from then on each write that is not direct
 *    I/O is skipped with that seeded probability. A skipped write still updates the view, so reads
 *    return its data and sizes and positions stay right, but it never reaches `durable` (F4). A
 *    skipped write that extended its file makes every later write to that file skipped too (a file
 *    system never shows an extension without its data). The crash comes at the first sync, datasync
 *    or syncDir after the trigger, before it takes effect, under 'process-crash' by default: all that
 *    was not skipped reached the kernel, which lives until the crash; skipped writes are lost.
 *  - `failNextSync(path?)` (Rebello et al., ATC'20): the next sync or datasync of that file (of any
 *    file without a path) throws IoError (EIO), and every buffered write and truncate pending on that
 *    inode is dropped for good: Linux marks the dirty pages clean without writing them. Reads still
 *    return the cached bytes, a retried sync succeeds, and the dropped data is in no crash image, not
 *    even a process crash's (the kernel may evict the clean pages at any moment). A later write that
 *    touches the same page makes only its own bytes durable (stricter than Linux, which would write
 *    the whole cached page). Direct-I/O writes queued on the inode still become durable.
 *  - `injectReadFault({ path?, kind, count = 1, probability = 1, range? })`: a matching read (through
 *    a handle opened by that path, overlapping `range` if given) is hit with the seeded probability,
 *    `count` times in all (Infinity: a latent sector error; `clearReadFaults` ends them). 'error'
 *    throws IoError; 'corrupt' flips one seeded bit of the bytes returned, inside `range` if given,
 *    and only in the caller's buffer (F9). A read that returns no bytes is not hit by 'corrupt'.
 *  - `misdirectNextWrite({ path?, toPosition? })`: the next matching write lands at `toPosition`, or
 *    at a seeded sector-aligned position in [0, end of file rounded up to a sector + 1 sector] that is
 *    not the intended one. The intended range keeps its old bytes; reads see the write where it
 *    landed; the size grows only if the landing place is past the end.
 *  - `setCapacity(bytes)` (`fault-space.ts`): the sum of the sizes of the files that have a name may
 *    not exceed it. A write or truncate that would grow it past throws NoSpaceError and changes
 *    nothing (F7); it still counts as an operation. A removed file's space is free at once, even
 *    while a handle is open.
 *  - `armZeroTail(path, { reads = 1 })` (seed 000, ext4 racing buffered reader on ARM64): the next
 *    `reads` reads of that file that overlap its most recent extending write see the new length but
 *    zeros where that write went past the old end; later reads see the real bytes. Nothing stored changes.
 *  - Audit: `audit` (per file: writes, bytes, syncs, datasyncs, truncates, failed calls included; per
 *    directory: syncDirs), `trace` (every performed operation and event, in order), `unsyncedEntries`,
 *    `eventCounts`. `onWrite` hooks see every write (intended position, caller's data, skipped and
 *    direct ones too) after it is counted and before it lands; a hook that throws stops the write
 *    and its error reaches the caller. A zero-length write changes nothing (as MemoryVfs), not even
 *    the size, but is counted, traced and seen by the hooks.
 *  Path filters match the path a handle was opened by (not where a later rename moved its file).
 *
 * Invariants (cited at the assertions that enforce them):
 *  F1. For every ByteExtent, `size <= bytes.length` and the bytes past `size` are zero.
 *  F2. For an inode that never had data dropped, replaying `pending` onto `durable` gives `view`;
 *      checked after every sync (debug checks), when nothing is pending.
 *  F3. Sequence numbers are unique across the VFS and rise along each inode's pending list, so
 *      sorting by them gives the one global issue order that 'keep-prefix' cuts.
 *  F4. A skipped write never reaches `durable` and is in no image.
 *  F5. A direct-I/O write is never skipped, torn or lost: it is durable when `write` returns.
 *  F6. After a crash no state changes: every Vfs and handle call throws SimulatedCrashError and the
 *      image is fixed.
 *  F7. The stored bytes (sizes of named files) never exceed the capacity; a refused write changes nothing.
 *  F8. Every random choice comes from the VFS's seeded streams, one stream per purpose (crash image,
 *      skipped writes, read and write faults, random crash points), so the same seed and the same
 *      calls give the same image byte for byte, and drawing more in one stream never shifts another.
 *  F9. A read never changes stored state: corruption and zero tails touch only the caller's buffer.
 *  F10. `durableEntries` change only when a `syncDir` lands, so without it no create, rename or
 *      remove survives a crash under 'lose-unsynced'.
 *  F11. `fromImage` of an image with an `OsCache` is the crashed VFS with its handles closed: it
 *      reads what the process-crash image holds, and its `durableImage()` is what a power cut at the
 *      crash would have left. Nothing unsynced becomes durable by crashing and reopening.
 *  F12. An asynchronous sync makes durable exactly the operations on its file (or the entries of its
 *      directory) issued before it started, and only when it lands; one that lands after a sync that
 *      started later changes nothing that sync did not already cover.
 */
import {
  AlreadyExistsError,
  DirectoryNotEmptyError,
  InvalidArgumentError,
  IoError,
  NoSpaceError,
  NotADirectoryError,
  NotFoundError,
  SimulatedCrashError,
} from '../errors.js';
import { assert } from '../util/assert.js';
import { RandomSource } from '../util/random.js';
import { FaultFile, settle, type FileHost } from './fault-file.js';
import { buildCrashImage, type CrashImage } from './fault-image.js';
import type { OsCache } from './fault-os-cache.js';
import {
  resolveCrashPolicy,
  type CrashPolicy,
  type CrashPolicyName,
  type ResolvedCrashPolicy,
} from './fault-policy.js';
import { InFlightSyncs } from './fault-async-syncs.js';
import { StoredSpace } from './fault-space.js';
import { FaultAudit } from './fault-audit.js';
import { FaultPlans } from './fault-plans.js';
import { CrashSchedule, checkCount, checkEvent } from './fault-schedule.js';
import {
  DirNode,
  FileNode,
  directoryAt,
  installDirectory,
  lacksDirectory,
  lookupPath,
  type FsNode,
  type RenameRecord,
  unsyncedPaths,
} from './fault-state.js';
import { lockInProcess } from './directory-lock.js';
import type { DirectoryLock, DirectoryLockMode } from './vfs.js';
import type {
  AuditReport,
  FaultVfsOptions,
  MisdirectOptions,
  MutatingOperation,
  PathAudit,
  ReadFaultOptions,
  TraceEntry,
  TriggerOptions,
  WriteHook,
} from './fault-types.js';
import {
  basenameOf,
  checkBuffer,
  checkPosition,
  dirnameOf,
  checkOpenArguments,
  normalizePath,
  resolveRename,
  type EngineEvent,
  type FileStat,
  type OpenOptions,
  type Vfs,
  type VfsFile,
} from './vfs.js';

export type { CrashImage } from './fault-image.js';
export type { OsCache } from './fault-os-cache.js';
export {
  ClockSyncScheduler,
  EventLoopSyncScheduler,
  SteppedSyncScheduler,
  type AsyncSyncOptions,
  type SyncScheduler,
} from './sync-scheduler.js';
export {
  MUTATING_OPERATIONS,
  type AuditReport,
  type DirectoryAudit,
  type FaultVfsOptions,
  type FaultWrite,
  type FileAudit,
  type MisdirectOptions,
  type MutatingOperation,
  type PathAudit,
  type ReadFaultOptions,
  type TraceEntry,
  type TriggerOptions,
  type WriteHook,
} from './fault-types.js';
export {
  CRASH_POLICIES,
  CRASH_POLICY_NAMES,
  type CrashPolicy,
  type CrashPolicyName,
  type DirectoryMode,
  type TornFill,
  type UnsyncedMode,
} from './fault-policy.js';

export class FaultVfs implements Vfs {
  readonly seed: number;
  readonly sectorBytes: number;

  private root = new DirNode();
  // F8: one stream per purpose.
  private readonly crashRandom: RandomSource;
  private readonly skipRandom: RandomSource;
  /** The asynchronous syncs in flight and their seeded delays (fault-async-syncs.ts). */
  private readonly inFlight: InFlightSyncs;

  private seq = 0;
  private renames: RenameRecord[] = [];
  /** The crash points: what is counted, what is armed (fault-schedule.ts). */
  private readonly crashes: CrashSchedule;
  private image: CrashImage | undefined;
  private reason = '';

  /** Faults armed short of a crash (fault-plans.ts). */
  private readonly plans: FaultPlans;
  /** The stored bytes against the capacity, F7 (fault-space.ts). */
  private readonly space = new StoredSpace();
  private readonly hooks: { readonly hook: WriteHook }[] = [];

  /** Counts and trace (fault-audit.ts). */
  private readonly auditLog = new FaultAudit();

  private readonly host: FileHost = {
    checkAlive: () => this.checkAlive(),
    read: (file, inode, target, position) => this.fileRead(file, inode, target, position),
    write: (file, inode, source, position) => this.fileWrite(file, inode, source, position),
    truncate: (file, inode, size) => this.fileTruncate(file.path, inode, size),
    sync: (file, inode, kind) => this.fileSync(file.path, inode, kind),
    syncAsync: (file, inode, kind) => this.fileSyncAsync(file.path, inode, kind),
  };

  constructor(options: FaultVfsOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('FaultVfs needs options with a seed: new FaultVfs({ seed })');
    }
    const sectorBytes = options.sectorBytes ?? 512;
    checkCount(sectorBytes, 'sectorBytes');
    const random = new RandomSource(options.seed);
    this.seed = options.seed;
    this.sectorBytes = sectorBytes;
    this.crashRandom = random.fork();
    this.skipRandom = random.fork();
    this.plans = new FaultPlans(random.fork(), sectorBytes);
    this.crashes = new CrashSchedule(random.fork());
    // Forked last, so the first four streams stay as they were.
    this.inFlight = new InFlightSyncs(random.fork(), options.asyncSyncs);
  }

  /**
   * Reopens a crash image as a fresh VFS, so recovery can run on it and crash again. Without an
   * `osCache` the whole content is durable (nothing pending, every entry synced), and a file
   * reachable by two names (a rename left half done) becomes two files. With one (a process crash:
   * the kernel lived on) the unsynced writes, truncates and directory entries are unsynced again,
   * each name on its own inode, so a later crash can still lose them. The image is copied, not
   * shared: it can be reopened many times.
   */
  static fromImage(image: CrashImage, options: FaultVfsOptions): FaultVfs {
    const vfs = new FaultVfs(options);
    if (image.osCache !== undefined) {
      vfs.restoreOsCache(image, image.osCache);
      return vfs;
    }
    const depth = (path: string): number => path.split('/').length;
    for (const dir of [...image.directories].sort((a, b) => depth(a) - depth(b) || (a < b ? -1 : 1))) {
      installDirectory(vfs.root, normalizePath(dir));
    }
    for (const [rawPath, bytes] of image.files) {
      const path = normalizePath(rawPath);
      checkBuffer(bytes, `image file ${path}`);
      const parent = installDirectory(vfs.root, dirnameOf(path));
      const name = basenameOf(path);
      if (path === '' || parent.entries.has(name)) {
        throw new InvalidArgumentError(`crash image names ${JSON.stringify(rawPath)} twice or as the root`);
      }
      vfs.setEntry(parent, name, new FileNode(bytes));
      parent.durableEntries.set(name, parent.entries.get(name) as FsNode);
    }
    return vfs;
  }

  private restoreOsCache(image: CrashImage, cache: OsCache): void {
    if (cache.files !== image.files) {
      throw new InvalidArgumentError(
        'a crash image whose files were replaced cannot keep its osCache: build it without one',
      );
    }
    const tree = cache.restore();
    this.root = tree.root;
    this.renames = tree.renames;
    this.seq = tree.seq; // F3: new operations are numbered after the restored ones
    this.space.countRestored(this.root);
  }

  // ---------------------------------------------------------------------------------------------
  // Crash control

  /** True once the VFS has crashed (F6). */
  get crashed(): boolean {
    return this.image !== undefined;
  }

  /** Mutating operations performed so far (see MUTATING_OPERATIONS). */
  get mutatingOperations(): number {
    return this.crashes.mutations;
  }

  /** sync, datasync and syncDir calls performed so far (what `crashAtSync` counts). */
  get syncOperations(): number {
    return this.crashes.syncCalls;
  }

  /** Asynchronous syncs started and not yet completed (under `asyncSyncs`). */
  get syncsInFlight(): number {
    return this.inFlight.size;
  }

  /** The image the crash left. Throws InvalidArgumentError before a crash. */
  crashImage(): CrashImage {
    if (this.image === undefined) throw new InvalidArgumentError('the FaultVfs has not crashed: no crash image yet');
    return this.image;
  }

  /** What is durable now: the 'power-cut' image, without crashing (after a crash: the crash image). */
  durableImage(): CrashImage {
    if (this.image !== undefined) return this.image;
    return buildCrashImage(this.root, [], resolveCrashPolicy('power-cut'), new RandomSource(0), this.sectorBytes);
  }

  /** Crashes now and returns the image. Default policy 'power-cut'. */
  crashNow(policy?: CrashPolicy | CrashPolicyName): CrashImage {
    this.checkAlive();
    this.crash(resolveCrashPolicy(policy), 'crashNow');
    return this.crashImage();
  }

  /** Crashes instead of performing the n-th mutating operation from now (n = 1: the next). */
  crashAtOperation(n: number, policy?: CrashPolicy | CrashPolicyName): void {
    this.checkAlive();
    this.crashes.atOperation(n, policy);
  }

  /** Crashes instead of performing the n-th sync, datasync or syncDir from now. */
  crashAtSync(n: number, policy?: CrashPolicy | CrashPolicyName): void {
    this.checkAlive();
    this.crashes.atSync(n, policy);
  }

  /** Crashes at the `occurrence`-th `engineEvent(name)` from now (the event is counted first). */
  crashAtEvent(name: EngineEvent, occurrence = 1, policy?: CrashPolicy | CrashPolicyName): void {
    this.checkAlive();
    this.crashes.atEvent(name, occurrence, policy);
  }

  /** Crashes at a seeded point among the next `withinOperations` mutating operations; returns its n. */
  crashAtRandom(withinOperations: number, policy?: CrashPolicy | CrashPolicyName): number {
    this.checkAlive();
    return this.crashes.atRandom(withinOperations, policy);
  }

  /** Seed 001: skip later buffered writes, crash at the first sync. See the module doc. */
  trigger(options: TriggerOptions = {}): void {
    this.checkAlive();
    this.crashes.trigger(options);
  }

  // ---------------------------------------------------------------------------------------------
  // Other faults

  /** The next sync or datasync (of files opened by `path`, or of any file) fails with EIO and drops. */
  failNextSync(path?: string): void {
    this.checkAlive();
    this.plans.failNextSync(path);
  }

  injectReadFault(options: ReadFaultOptions): void {
    this.checkAlive();
    this.plans.injectReadFault(options);
  }

  clearReadFaults(): void {
    this.plans.clearReadFaults();
  }

  misdirectNextWrite(options: MisdirectOptions = {}): void {
    this.checkAlive();
    this.plans.misdirectNextWrite(options);
  }

  /** Caps the stored bytes (the sizes of named files); undefined removes the cap. */
  setCapacity(bytes: number | undefined): void {
    this.checkAlive();
    if (bytes !== undefined) checkPosition(bytes, 'capacity');
    this.space.capacity = bytes;
  }

  /** Seed 000: the next `reads` reads of `path` see zeros where its last extending write went. */
  armZeroTail(path: string, options: { readonly reads?: number } = {}): void {
    this.checkAlive();
    this.plans.armZeroTail(path, options);
  }

  /** Installs a hook that sees every write before it lands; returns its unsubscribe function. */
  onWrite(hook: WriteHook): () => void {
    if (typeof hook !== 'function') throw new InvalidArgumentError('onWrite needs a function');
    const entry = { hook };
    this.hooks.push(entry);
    return () => {
      const index = this.hooks.indexOf(entry);
      if (index >= 0) this.hooks.splice(index, 1);
    };
  }

  // ---------------------------------------------------------------------------------------------
  // Audit

  audit(): AuditReport;
  audit(path: string): PathAudit;
  audit(path?: string): AuditReport | PathAudit {
    return this.auditLog.report(path);
  }

  /** Every performed operation and engine event, in order. */
  trace(): readonly TraceEntry[] {
    return this.auditLog.trace();
  }

  /** How many times each engine event was raised. */
  eventCounts(): Readonly<Record<EngineEvent, number>> {
    return { ...this.crashes.events };
  }

  /** The paths whose directory entry (a create, rename or remove) `syncDir` has not made durable. */
  unsyncedEntries(): string[] {
    return unsyncedPaths(this.root);
  }

  // ---------------------------------------------------------------------------------------------
  // The Vfs contract

  open(rawPath: string, options: OpenOptions = {}): VfsFile {
    this.checkAlive();
    const path = checkOpenArguments(rawPath, options);
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    let node = parent.entries.get(name);
    if (node === undefined) {
      if (options.create !== true) throw new NotFoundError(path, 'file');
      this.beginMutation('create', path);
      node = new FileNode();
      this.setEntry(parent, name, node);
      this.auditLog.record({ op: 'create', path });
    } else {
      if (options.create === true && options.exclusive === true) throw new AlreadyExistsError(path);
      if (node.kind !== 'file') throw new NotADirectoryError(path, `${path} is a directory, not a file`);
      if (options.truncate === true) this.fileTruncate(path, node, 0);
    }
    return new FaultFile(this.host, path, node, options);
  }

  stat(rawPath: string): FileStat | undefined {
    this.checkAlive();
    const node = lookupPath(this.root, normalizePath(rawPath));
    if (node === undefined) return undefined;
    return node.kind === 'file' ? { kind: 'file', size: node.view.size } : { kind: 'directory', size: 0 };
  }

  list(rawDir: string): string[] {
    this.checkAlive();
    return [...directoryAt(this.root, normalizePath(rawDir)).entries.keys()].sort();
  }

  mkdir(rawDir: string, options: { readonly recursive?: boolean } = {}): void {
    this.checkAlive();
    const path = normalizePath(rawDir);
    if (path === '') {
      if (options.recursive === true) return;
      throw new AlreadyExistsError('.');
    }
    if (options.recursive !== true) {
      const parent = this.parentOf(path);
      if (parent.entries.has(basenameOf(path))) throw new AlreadyExistsError(path);
    }
    // Check the whole path before counting, so a refused mkdir changes nothing.
    if (!lacksDirectory(this.root, path)) return; // recursive, and it all exists
    this.beginMutation('mkdir', path);
    installDirectory(this.root, path, false);
    this.auditLog.record({ op: 'mkdir', path });
  }

  rename(rawFrom: string, rawTo: string): void {
    this.checkAlive();
    const { from, to, fromParent, fromName, inode, toParent, toName, existing } = resolveRename<FsNode, DirNode>(
      this.root,
      (path) => this.parentOf(path),
      rawFrom,
      rawTo,
    );
    this.beginMutation('rename', from);
    this.auditLog.record({ op: 'rename', path: from, to });
    if (from === to) return;
    this.deleteEntry(fromParent, fromName);
    this.setEntry(toParent, toName, inode);
    this.renames.push({
      inode,
      from: fromParent,
      fromName,
      to: toParent,
      toName,
      replaced: existing,
      seq: ++this.seq,
      fromDurable: false,
      toDurable: false,
    });
  }

  remove(rawPath: string): void {
    this.checkAlive();
    const path = normalizePath(rawPath);
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    const node = path === '' ? this.root : parent.entries.get(name);
    if (node === undefined) throw new NotFoundError(path, 'file');
    if (node.kind !== 'file') throw new NotADirectoryError(path, `${path || '.'} is a directory: use rmdir`);
    this.beginMutation('remove', path);
    this.deleteEntry(parent, name);
    this.auditLog.record({ op: 'remove', path });
  }

  rmdir(rawDir: string): void {
    this.checkAlive();
    const path = normalizePath(rawDir);
    if (path === '') throw new InvalidArgumentError('cannot remove the root directory');
    const parent = this.parentOf(path);
    const name = basenameOf(path);
    const node = parent.entries.get(name);
    if (node === undefined) throw new NotFoundError(path, 'directory');
    if (node.kind !== 'directory') throw new NotADirectoryError(path);
    if (node.entries.size > 0) throw new DirectoryNotEmptyError(path);
    this.beginMutation('rmdir', path);
    this.deleteEntry(parent, name);
    this.auditLog.record({ op: 'rmdir', path });
  }

  syncDir(rawDir: string): void {
    this.checkAlive();
    const path = normalizePath(rawDir);
    const dir = directoryAt(this.root, path);
    this.beginMutation('syncDir', path);
    this.auditLog.countSyncDir(path);
    this.landDirSync(dir, new Map(dir.entries), ++this.seq);
    this.auditLog.record({ op: 'syncDir', path });
  }

  /** Under `asyncSyncs`, covers the entries as they are now and lands after a seeded delay. */
  syncDirAsync(rawDir: string): Promise<void> {
    if (!this.inFlight.delayed) return settle(() => this.syncDir(rawDir));
    let path: string;
    let dir: DirNode;
    try {
      this.checkAlive();
      path = normalizePath(rawDir);
      dir = directoryAt(this.root, path);
      this.beginMutation('syncDir', path);
    } catch (error) {
      return Promise.reject(error);
    }
    this.auditLog.countSyncDir(path);
    const entries = new Map(dir.entries);
    const startSeq = ++this.seq;
    this.auditLog.record({ op: 'syncDir', path, phase: 'started' });
    return this.inFlight.schedule(() => {
      this.landDirSync(dir, entries, startSeq);
      this.auditLog.record({ op: 'syncDir', path, phase: 'completed' });
    });
  }

  /** A directory sync that started at `startSeq` lands: `entries` (its copy then) become durable. */
  private landDirSync(dir: DirNode, entries: Map<string, FsNode>, startSeq: number): void {
    if (dir.durableAt > startSeq) return; // a sync that started later landed first and covered more
    dir.durableEntries = entries; // F10: the only place durable entries change
    dir.durableAt = startSeq;
    for (const rename of this.renames) {
      if (rename.seq > startSeq) continue;
      if (rename.from === dir) rename.fromDurable = true;
      if (rename.to === dir) rename.toDurable = true;
    }
    this.renames = this.renames.filter((rename) => !(rename.fromDurable && rename.toDurable));
  }

  readonly location = 'fault VFS';

  /** V8, in-process (directory-lock.ts): a crash image reopens as a new instance, unlocked. */
  lockDirectory(mode: DirectoryLockMode): DirectoryLock {
    this.checkAlive();
    return lockInProcess(this, mode, this.location);
  }

  engineEvent(name: EngineEvent): void {
    this.checkAlive();
    checkEvent(name);
    this.crashes.countEvent(name);
    this.auditLog.record({ op: 'event', path: name });
    const due = this.crashes.crashAtEvent(name);
    if (due !== undefined) throw this.crash(due.policy, due.reason);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: crash

  private checkAlive(): void {
    if (this.image !== undefined) throw new SimulatedCrashError(this.reason); // F6
  }

  private crash(policy: ResolvedCrashPolicy, reason: string): SimulatedCrashError {
    assert(this.image === undefined, 'F6 a FaultVfs crashes once');
    this.image = buildCrashImage(this.root, this.renames, policy, this.crashRandom, this.sectorBytes);
    this.reason = reason;
    this.crashes.clear();
    this.inFlight.rejectAll(reason);
    return new SimulatedCrashError(reason);
  }

  /** Counts a mutating operation that passed its checks, or crashes instead of it. */
  private beginMutation(op: MutatingOperation, path: string): void {
    const due = this.crashes.beginMutation(op, path);
    if (due !== undefined) throw this.crash(due.policy, due.reason);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: files

  private fileRead(file: VfsFile, inode: FileNode, target: Uint8Array, position: number): number {
    return this.plans.read(file.path, inode, target, position);
  }

  private fileWrite(file: VfsFile, inode: FileNode, source: Uint8Array, position: number): void {
    this.beginMutation('write', file.path);
    for (const { hook } of this.hooks.slice()) hook({ path: file.path, position, data: source, direct: file.direct });
    if (source.length === 0) {
      // Changes nothing, not even the size (POSIX pwrite of 0 bytes; MemoryVfs does the same).
      this.auditLog.countsOf(file.path).writes++;
      this.auditLog.record({ op: 'write', path: file.path, position, length: 0, direct: file.direct });
      return;
    }
    const landedAt = this.plans.misdirection(file.path, position, source.length, inode.view.size);
    const oldSize = inode.view.size;
    const end = landedAt + source.length;
    const entry = {
      op: 'write' as const,
      path: file.path,
      position,
      length: source.length,
      direct: file.direct,
      ...(landedAt === position ? {} : { landedAt }),
    };
    this.reserve(file.path, inode, end, entry);
    if (end > oldSize) this.space.resize(inode, end);
    const triggered = this.crashes.triggered;
    const skipped =
      triggered !== undefined &&
      !file.direct && // F5: direct I/O is never skipped
      (inode.skipAllWrites || this.skipRandom.chance(triggered.probability));
    inode.view.write(landedAt, source);
    if (end > oldSize) inode.lastExtension = { start: Math.max(landedAt, oldSize), end };
    if (skipped) {
      // F4: never queued, so never durable; an extending skip drags every later write of the file.
      if (end > oldSize) inode.skipAllWrites = true;
      inode.viewDiverged = true;
    } else if (file.direct && inode.pending.length === 0) {
      inode.durable.write(landedAt, source); // F5
    } else {
      inode.enqueue({ kind: 'write', seq: ++this.seq, position: landedAt, data: source.slice(), direct: file.direct });
    }
    const counts = this.auditLog.countsOf(file.path);
    counts.writes++;
    counts.bytesWritten += source.length;
    this.auditLog.record(skipped ? { ...entry, skipped } : entry);
  }

  /** F7: grows the stored bytes for `inode` reaching `newSize`, or throws NoSpaceError changing nothing. */
  private reserve(path: string, inode: FileNode, newSize: number, entry: TraceEntry): void {
    if (this.space.fits(this.root, inode, newSize)) return;
    this.auditLog.record({ ...entry, failed: 'ERR_NO_SPACE' });
    throw new NoSpaceError(path);
  }

  private fileTruncate(path: string, inode: FileNode, size: number): void {
    this.beginMutation('truncate', path);
    const entry: TraceEntry = { op: 'truncate', path, size };
    this.reserve(path, inode, size, entry);
    this.space.resize(inode, size);
    inode.view.setSize(size);
    const tail = inode.lastExtension;
    if (tail !== undefined)
      inode.lastExtension = size <= tail.start ? undefined : { start: tail.start, end: Math.min(tail.end, size) };
    inode.enqueue({ kind: 'truncate', seq: ++this.seq, size });
    this.auditLog.countsOf(path).truncates++;
    this.auditLog.record(entry);
  }

  private fileSync(path: string, inode: FileNode, kind: 'sync' | 'datasync'): void {
    this.beginMutation(kind, path);
    const fails = this.startFileSync(path, kind);
    this.landFileSync(path, inode, kind, fails, Number.POSITIVE_INFINITY, undefined);
  }

  /**
   * Under `asyncSyncs`: counted (and maybe crashed at) now, covering the writes and truncates
   * issued so far; lands after a seeded delay, while later operations go on. Without: `fileSync`.
   */
  private fileSyncAsync(path: string, inode: FileNode, kind: 'sync' | 'datasync'): Promise<void> {
    if (!this.inFlight.delayed) return settle(() => this.fileSync(path, inode, kind));
    try {
      this.beginMutation(kind, path);
    } catch (error) {
      return Promise.reject(error);
    }
    const fails = this.startFileSync(path, kind);
    const upToSeq = this.seq;
    this.auditLog.record({ op: kind, path, phase: 'started' });
    return this.inFlight.schedule(() => this.landFileSync(path, inode, kind, fails, upToSeq, 'completed'));
  }

  /** Counts a file sync and takes the armed failure (failNextSync) it meets, if any. */
  private startFileSync(path: string, kind: 'sync' | 'datasync'): boolean {
    const counts = this.auditLog.countsOf(path);
    if (kind === 'sync') counts.syncs++;
    else counts.datasyncs++;
    return this.plans.takeSyncFailure(path);
  }

  private landFileSync(
    path: string,
    inode: FileNode,
    kind: 'sync' | 'datasync',
    fails: boolean,
    upToSeq: number,
    phase: 'completed' | undefined,
  ): void {
    const entry: TraceEntry = phase === undefined ? { op: kind, path } : { op: kind, path, phase };
    if (fails) {
      inode.settle(true, upToSeq); // Linux marks the pages clean: the buffered data is gone for good
      this.auditLog.record({ ...entry, failed: 'ERR_IO' });
      throw new IoError(path, kind === 'sync' ? 'fsync' : 'fdatasync');
    }
    inode.settle(false, upToSeq);
    this.auditLog.record(entry);
  }

  // ---------------------------------------------------------------------------------------------
  // Internals: the namespace

  /** The directory that holds `path`, which must exist and be a directory. */
  private parentOf(path: string): DirNode {
    return directoryAt(this.root, dirnameOf(path));
  }

  private setEntry(dir: DirNode, name: string, node: FsNode): void {
    this.deleteEntry(dir, name);
    dir.entries.set(name, node);
    this.space.link(node);
  }

  private deleteEntry(dir: DirNode, name: string): void {
    const old = dir.entries.get(name);
    dir.entries.delete(name);
    this.space.unlink(old);
  }
}
