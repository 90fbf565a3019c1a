/**
 * The VFS contract: the only door from minno to the operating system.
 *
 * InnoDB's counterpart is `os/os0file.cc` (os_file_create, os_file_read, os_file_write,
 * os_file_flush); LevelDB's is `include/leveldb/env.h`. Every byte the engine stores or loads goes
 * through one of these interfaces, which is what lets `FaultVfs` stand in for a disk that loses power.
 *
 * Paths are relative to the VFS root, with '/' separators: `"ibdata"`, `"redo/log0"`. The empty
 * path (or ".") is the root directory itself. An absolute path, a `..` segment or a NUL byte is
 * refused with `PathOutsideRootError`, so no implementation can be led outside its root.
 *
 * Contract (every implementation keeps it; `test/vfs/differential.test.ts` checks that they agree):
 *  V1. `read(target, position)` fills `target` from `position` and returns the number of bytes
 *      read, which is short only at end of file; bytes past the end are not touched.
 *  V2. `write(source, position)` writes all of `source` or throws; writing past the end extends
 *      the file and the gap reads as zeros.
 *  V3. Reads return what was written, whether or not it was synced.
 *  V4. `datasync` makes the file's bytes and size durable; `sync` also its other metadata. Neither
 *      makes the file's directory entry durable: after creating, renaming or removing a file, the
 *      engine calls `syncDir` on its directory (rule DIR).
 *  V5. `rename(from, to)` replaces `to` if it exists. A handle keeps working on its file after the
 *      file is renamed or removed (POSIX inode semantics).
 *  V6. Using a closed handle throws `ClosedError`; close is idempotent.
 *  V7. The asynchronous syncs do the same as the synchronous ones but let the caller's event loop
 *      run while the device works (NodeVfs runs them on libuv's thread pool). Group commit waits
 *      on them.
 *  V8. `lockDirectory` grants one 'exclusive' lock or any number of 'shared' ones on the root, to
 *      every opener that reaches the same directory by any path or VFS instance, in this process
 *      or another; a conflicting request throws `LockedError` at once and changes nothing. A lock
 *      dies with its process (`directory-lock.ts` says how each VFS keeps this).
 */
import { InvalidArgumentError, NotADirectoryError, NotFoundError, PathOutsideRootError } from '../errors.js';

export interface OpenOptions {
  /** Create the file if it does not exist (its directory must). Default false. */
  readonly create?: boolean;
  /** With `create`: fail with `AlreadyExistsError` if the file exists. Default false. */
  readonly exclusive?: boolean;
  /** Cut the file to length 0 on open. Default false. */
  readonly truncate?: boolean;
  /** Refuse writes through this handle. Default false. */
  readonly readOnly?: boolean;
  /**
   * Direct I/O (O_DIRECT): writes bypass the OS cache. NodeVfs and MemoryVfs treat it as a hint;
   * FaultVfs makes such writes durable at once and never skips them (seed 001).
   */
  readonly direct?: boolean;
}

export interface VfsFile {
  /** The normalised path the file was opened by. */
  readonly path: string;
  readonly readOnly: boolean;
  readonly direct: boolean;
  readonly closed: boolean;

  /** Reads into `target` from `position`; returns the count read (short only at EOF). V1. */
  read(target: Uint8Array, position: number): number;
  /** Writes all of `source` at `position`. V2. */
  write(source: Uint8Array, position: number): void;
  /** The file's current length in bytes. */
  size(): number;
  /** Sets the length: cuts the tail or extends with zeros. */
  truncate(size: number): void;
  /** fsync: data, size and metadata durable. V4. */
  sync(): void;
  /** fdatasync: data and size durable. V4. */
  datasync(): void;
  /** `sync` without blocking the event loop. V7. */
  syncAsync(): Promise<void>;
  /** `datasync` without blocking the event loop. V7. */
  datasyncAsync(): Promise<void>;
  /** Releases the handle. Does not sync. Idempotent. V6. */
  close(): void;
}

/** 'exclusive': the one read-write open. 'shared': one of any number of read-only opens. */
export type DirectoryLockMode = 'exclusive' | 'shared';

/** A held lock on a VFS root (V8). */
export interface DirectoryLock {
  readonly mode: DirectoryLockMode;
  /** True once released, or once another process took the lock over (`onLost` has run). */
  readonly released: boolean;
  /**
   * Called if the lock is found taken over while held (possible only across machines or
   * containers, where liveness is judged by a heartbeat: see node-directory-lock.ts).
   */
  onLost: ((error: Error) => void) | undefined;
  /** Gives the lock up. Idempotent. */
  release(): void;
}

/** The root entry a VFS may keep its lock state in; the engine ignores it when it lists the root. */
export const LOCK_DIR_NAME = 'minno.lock';

export interface FileStat {
  readonly kind: 'file' | 'directory';
  /** Length in bytes (0 for a directory). */
  readonly size: number;
}

export interface Vfs {
  /** How messages name this VFS's root: NodeVfs's absolute path, or what the VFS is. */
  readonly location: string;
  /** Opens (and with `create`, creates) a file. Its directory must exist. */
  open(path: string, options?: OpenOptions): VfsFile;
  /** Metadata of a file or directory, or undefined if nothing is there. */
  stat(path: string): FileStat | undefined;
  /** The names (not paths) in a directory, sorted by code unit. */
  list(dir: string): string[];
  /** Creates a directory; its parent must exist. With `recursive`, creates the parents and accepts an existing one. */
  mkdir(dir: string, options?: { readonly recursive?: boolean }): void;
  /** Renames a file, replacing `to` if it exists. V5. */
  rename(from: string, to: string): void;
  /** Removes a file. */
  remove(path: string): void;
  /** Removes an empty directory. */
  rmdir(dir: string): void;
  /** Makes the directory's entries (creates, renames, removes in it) durable. V4, rule DIR. */
  syncDir(dir: string): void;
  /** `syncDir` without blocking the event loop. */
  syncDirAsync(dir: string): Promise<void>;
  /**
   * Locks the root for one open of a database (V8): 'exclusive' to write, 'shared' to read only.
   * Throws `LockedError`, naming the holder's pid when known, if a conflicting lock is held.
   */
  lockDirectory(mode: DirectoryLockMode): DirectoryLock;
  /**
   * A named engine event (`'mtr-commit'`, `'log-sync'`, ...: see `ENGINE_EVENTS`). Real
   * filesystems ignore it; `FaultVfs` counts it and can crash on it.
   */
  engineEvent(name: EngineEvent): void;
}

/**
 * The engine events a crash can be placed at, raised by the layer named. A closed set so that a
 * typo in a test cannot silently never fire. Stored in simulator seeds' replay commands: append only.
 */
export const ENGINE_EVENTS = [
  'mtr-commit', // redo: a mini-transaction's group appended to the log buffer
  'log-write', // redo: the log buffer written to the log file
  'log-sync', // redo: the log file synced (a group commit)
  'page-flush', // buffer: a dirty page written in place
  'doublewrite', // buffer: a batch written to the doublewrite file
  'checkpoint', // redo: a checkpoint slot written
  'purge-step', // mvcc: one purge slice
  'ibuf-merge', // ibuf: buffered changes merged into a page
  'recovery-apply', // redo: recovery applied a batch of groups
] as const;

export type EngineEvent = (typeof ENGINE_EVENTS)[number];

/**
 * Normalises a VFS path: folds '.' and empty segments, refuses what could leave the root.
 * Returns '' for the root itself.
 */
export function normalizePath(path: string): string {
  if (typeof path !== 'string') {
    throw new InvalidArgumentError(`a path must be a string, got ${typeof path}`);
  }
  if (path.includes('\0')) throw new PathOutsideRootError(path, 'it contains a NUL byte');
  if (path.startsWith('/') || path.startsWith('\\') || /^[A-Za-z]:/.test(path)) {
    throw new PathOutsideRootError(path, 'it is absolute');
  }
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw new PathOutsideRootError(path, "it has a '..' segment");
    if (part.includes('\\')) throw new PathOutsideRootError(path, "it has a '\\' (use '/')");
    parts.push(part);
  }
  return parts.join('/');
}

/** The directory part of a normalised path ('' for a file in the root). */
export function dirnameOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? '' : path.slice(0, slash);
}

/** The last segment of a normalised path. */
export function basenameOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash < 0 ? path : path.slice(slash + 1);
}

/** Joins path segments and normalises the result. */
export function joinPath(...parts: string[]): string {
  return normalizePath(parts.filter((p) => p !== '').join('/'));
}

/** Checks a file position or length argument: a non-negative safe integer. */
export function checkPosition(value: number, what: string): void {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${what} must be a non-negative safe integer, got ${String(value)}`);
  }
}

/** Checks a buffer argument. */
export function checkBuffer(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${what} must be a Uint8Array, got ${value === null ? 'null' : typeof value}`);
  }
}

/** A directory of an in-memory namespace (MemoryVfs, FaultVfs). */
export interface NamespaceDir<N> {
  readonly kind: 'directory';
  readonly entries: ReadonlyMap<string, N>;
}

export interface ResolvedRename<N, D> {
  readonly from: string;
  readonly to: string;
  readonly fromParent: D;
  readonly fromName: string;
  readonly inode: Extract<N, { readonly kind: 'file' }>;
  readonly toParent: D;
  readonly toName: string;
  /** The file `to` names now (replaced by the rename), if any. */
  readonly existing: Extract<N, { readonly kind: 'file' }> | undefined;
}

/**
 * The checks of `rename` for an in-memory namespace, shared so both in-memory VFSs refuse the same
 * things with the same errors in the same order as NodeVfs (contract V5; differential.test.ts).
 */
export function resolveRename<N extends { readonly kind: 'file' | 'directory' }, D extends NamespaceDir<N>>(
  root: N,
  parentOf: (path: string) => D,
  rawFrom: string,
  rawTo: string,
): ResolvedRename<N, D> {
  const from = normalizePath(rawFrom);
  const to = normalizePath(rawTo);
  const fromParent = parentOf(from);
  const fromName = basenameOf(from);
  const inode = from === '' ? root : fromParent.entries.get(fromName);
  if (inode === undefined) throw new NotFoundError(from);
  if (inode.kind !== 'file') throw new InvalidArgumentError(`rename ${from}: only files can be renamed`);
  const toParent = parentOf(to);
  const toName = basenameOf(to);
  const existing = to === '' ? root : toParent.entries.get(toName);
  if (existing !== undefined && existing.kind !== 'file') {
    throw new NotADirectoryError(to, `cannot rename over directory ${to}`);
  }
  type File = Extract<N, { readonly kind: 'file' }>;
  return {
    from,
    to,
    fromParent,
    fromName,
    inode: inode as File,
    toParent,
    toName,
    existing: existing as File | undefined,
  };
}

/** The checks every VFS's `open` makes first, in one place so all three refuse alike; the path, normalised. */
export function checkOpenArguments(rawPath: string, options: OpenOptions): string {
  const path = normalizePath(rawPath);
  if (path === '') throw new InvalidArgumentError('cannot open the root directory as a file');
  if (options.readOnly === true && (options.truncate === true || options.create === true)) {
    throw new InvalidArgumentError(`open ${path}: readOnly cannot be combined with create or truncate`);
  }
  return path;
}
