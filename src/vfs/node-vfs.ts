/**
 * NodeVfs: real files under one root directory, through Node's `fs`.
 *
 * InnoDB's counterpart is `os/os0file.cc`: `os_file_create` (open with create / exclusive /
 * truncate), `os_file_read` and `os_file_write` (pread / pwrite, retried until the whole request
 * is done), `os_file_flush` (fsync or fdatasync), `os_file_set_size` (ftruncate), and
 * `os_parent_dir_fsync_posix`, the directory fsync MySQL 8.0 does after creating, renaming or
 * deleting a file. Here the engine calls `syncDir` itself (rule DIR).
 *
 * Every call is synchronous (`openSync`, `readSync`, `writeSync`, `fstatSync`, `ftruncateSync`,
 * `fsyncSync`, `fdatasyncSync`): the engine runs each operation to completion on one thread (see
 * the design brief), so there is nothing to gain from an asynchronous read. The exceptions are
 * `syncAsync`, `datasyncAsync` and `syncDirAsync`, which call the callback forms of fsync and
 * fdatasync: libuv runs them on its thread pool, so the event loop keeps running while the device
 * works and group commit can gather the commits that arrive meanwhile (contract V7).
 *
 * Where it differs from InnoDB, and why:
 *  - `direct: true` is only recorded on the handle. O_DIRECT needs every buffer, offset and length
 *    aligned to the logical block size, and Node cannot allocate aligned buffers or promise the
 *    alignment of a `Uint8Array` it is handed, so opening with O_DIRECT would turn ordinary writes
 *    into EINVAL. The engine still syncs what it must; `direct` only lets FaultVfs model a device
 *    without a volatile cache.
 *  - No `F_FULLFSYNC` on macOS: Node does not expose it, so there `sync` reaches the drive but not
 *    necessarily its platters. Linux is the platform whose durability we claim.
 *  - Symbolic links inside the root are followed and not checked: the root is the caller's
 *    directory, and the engine never creates links.
 *
 * Invariants:
 *  N1. Every OS path is the root joined with a path that `normalizePath` accepted (no absolute path,
 *      no `..`, no NUL), so no call reaches outside the root by name.
 *  N2. Arguments are checked before any system call and in MemoryVfs's order (closed handle, then
 *      read-only, then buffer, then position), so a misuse raises the same typed error on both;
 *      `test/vfs/differential.test.ts` compares them operation by operation.
 *  N3. Every errno becomes a typed `MinnoError` at the call that got it; a raw Node error never
 *      escapes. The table (the same situation raises the same error in MemoryVfs):
 *        ENOENT               -> NotFoundError
 *        EEXIST               -> AlreadyExistsError (DirectoryNotEmptyError from rmdir)
 *        ENOTDIR, EISDIR      -> NotADirectoryError
 *        ENOTEMPTY            -> DirectoryNotEmptyError
 *        ENOSPC, EDQUOT       -> NoSpaceError (a quota is a full disk for this user)
 *        EIO, anything else   -> IoError, the Node error kept as `cause`
 *  N4. `read` loops until the target is full or end of file, so it is short only at end of file
 *      (V1); `write` loops until every byte is written or an error is thrown (V2).
 *  N5. A handle's descriptor is closed only when no asynchronous sync is in flight on it. `close`
 *      marks the handle closed at once; the last sync to finish closes the descriptor. Otherwise
 *      the kernel could give the number to the next open while libuv still fsyncs it.
 *  N6. A handle never refers to a directory: Linux opens a directory read-only without complaint,
 *      so `open` checks the kind and refuses one as MemoryVfs does.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import {
  AlreadyExistsError,
  ClosedError,
  DirectoryNotEmptyError,
  InvalidArgumentError,
  IoError,
  MinnoError,
  NoSpaceError,
  NotADirectoryError,
  NotFoundError,
  ReadOnlyError,
} from '../errors.js';
import { assert } from '../util/assert.js';
import { lockNodeDirectory } from './node-directory-lock.js';
import {
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

const { O_RDONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC } = fs.constants;
/** Makes opening a file as a directory fail with ENOTDIR. Not defined on Windows. */
const O_DIRECTORY = fs.constants.O_DIRECTORY ?? 0;

/**
 * Turns an error from `fs` into the typed error MemoryVfs raises for the same situation (N3).
 * `what` names the kind of thing a NotFoundError is about ('file', 'directory').
 */
export function fromErrno(error: unknown, path: string, operation: string, what?: string): MinnoError {
  if (error instanceof MinnoError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const shown = path === '' ? '.' : path;
  switch (code) {
    case 'ENOENT':
      return new NotFoundError(shown, what);
    case 'EEXIST':
      return new AlreadyExistsError(shown);
    case 'ENOTDIR':
    case 'EISDIR':
      return new NotADirectoryError(
        shown,
        `${operation} ${shown}: ${code === 'EISDIR' ? 'is a directory' : 'not a directory'}`,
      );
    case 'ENOTEMPTY':
      return new DirectoryNotEmptyError(shown);
    case 'ENOSPC':
    case 'EDQUOT':
      return new NoSpaceError(shown, { cause: error });
    case 'EIO':
      return new IoError(shown, operation, 'input/output error (EIO)', { cause: error });
    default: {
      const detail = error instanceof Error ? error.message : String(error);
      return new IoError(shown, operation, detail, { cause: error });
    }
  }
}

/** Runs one `fs` call and turns what it throws into a typed error (N3). */
function osCall<T>(path: string, operation: string, call: () => T, what?: string): T {
  try {
    return call();
  } catch (error) {
    throw fromErrno(error, path, operation, what);
  }
}

class NodeFile implements VfsFile {
  readonly path: string;
  readonly readOnly: boolean;
  readonly direct: boolean;
  private readonly fd: number;
  private isClosed = false;
  /** Asynchronous syncs in flight on `fd` (N5). */
  private inFlight = 0;

  constructor(path: string, fd: number, options: OpenOptions) {
    this.path = path;
    this.fd = fd;
    this.readOnly = options.readOnly === true;
    this.direct = options.direct === true;
  }

  get closed(): boolean {
    return this.isClosed;
  }

  /** The descriptor, or ClosedError (V6). Always the first check of a call (N2). */
  private live(): number {
    if (this.isClosed) throw new ClosedError(`file handle for ${this.path}`);
    return this.fd;
  }

  private writable(): number {
    const fd = this.live();
    if (this.readOnly) throw new ReadOnlyError(`file ${this.path}`);
    return fd;
  }

  read(target: Uint8Array, position: number): number {
    const fd = this.live();
    checkBuffer(target, 'read target');
    checkPosition(position, 'read position');
    return osCall(this.path, 'read', () => {
      let done = 0;
      while (done < target.length) {
        const count = fs.readSync(fd, target, done, target.length - done, position + done);
        if (count === 0) break; // end of file: the only short read (N4, V1)
        done += count;
      }
      return done;
    });
  }

  write(source: Uint8Array, position: number): void {
    const fd = this.writable();
    checkBuffer(source, 'write source');
    checkPosition(position, 'write position');
    osCall(this.path, 'write', () => {
      let done = 0;
      while (done < source.length) {
        const count = fs.writeSync(fd, source, done, source.length - done, position + done);
        // pwrite returns 0 for a non-empty request only on a broken device; looping would spin.
        if (count === 0) throw new IoError(this.path, 'write', `wrote 0 of ${source.length - done} bytes`);
        done += count;
      }
    });
  }

  size(): number {
    const fd = this.live();
    return osCall(this.path, 'fstat', () => fs.fstatSync(fd).size);
  }

  truncate(size: number): void {
    const fd = this.writable();
    checkPosition(size, 'truncate size');
    osCall(this.path, 'ftruncate', () => fs.ftruncateSync(fd, size));
  }

  sync(): void {
    const fd = this.live();
    osCall(this.path, 'fsync', () => fs.fsyncSync(fd));
  }

  datasync(): void {
    const fd = this.live();
    osCall(this.path, 'fdatasync', () => fs.fdatasyncSync(fd));
  }

  syncAsync(): Promise<void> {
    return this.onThreadPool('fsync', fs.fsync);
  }

  datasyncAsync(): Promise<void> {
    return this.onThreadPool('fdatasync', fs.fdatasync);
  }

  /** Runs a callback-style sync on libuv's thread pool (V7), keeping the descriptor open until it ends (N5). */
  private onThreadPool(
    operation: string,
    call: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void,
  ): Promise<void> {
    let fd: number;
    try {
      fd = this.live();
    } catch (error) {
      return Promise.reject(error);
    }
    this.inFlight++;
    return new Promise((resolve, reject) => {
      call(fd, (error) => {
        this.inFlight--;
        let failure: MinnoError | undefined = error === null ? undefined : fromErrno(error, this.path, operation);
        if (this.isClosed && this.inFlight === 0) {
          // The handle was closed while this sync ran: close the descriptor now (N5).
          try {
            this.release();
          } catch (closeError) {
            failure ??= closeError as MinnoError;
          }
        }
        if (failure === undefined) resolve();
        else reject(failure);
      });
    });
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    if (this.inFlight === 0) this.release();
  }

  private release(): void {
    assert(this.isClosed && this.inFlight === 0, 'N5 descriptor closed with a sync in flight');
    // close(2) can report a late write error (NFS); it is surfaced, never swallowed. The
    // descriptor is gone either way, so the handle stays closed.
    osCall(this.path, 'close', () => fs.closeSync(this.fd));
  }
}

export class NodeVfs implements Vfs {
  /** The absolute path of the root directory. */
  readonly rootDir: string;

  /**
   * `rootDir` must be an existing directory, unless `createIfMissing` (then it and its parents are
   * made); it is resolved to an absolute path once. A file there is `NotADirectoryError`.
   */
  constructor(rootDir: string, options: { readonly createIfMissing?: boolean } = {}) {
    if (typeof rootDir !== 'string' || rootDir === '') {
      throw new InvalidArgumentError(`NodeVfs root must be a non-empty path, got ${JSON.stringify(rootDir)}`);
    }
    const resolved = nodePath.resolve(rootDir);
    if (options.createIfMissing === true) {
      osCall(resolved, 'mkdir', () => {
        try {
          fs.mkdirSync(resolved, { recursive: true });
        } catch (error) {
          // EEXIST: a file is there; the stat below says so as NotADirectoryError.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
      });
    }
    const stats = osCall(resolved, 'stat', () => fs.statSync(resolved), 'VFS root directory');
    if (!stats.isDirectory()) throw new NotADirectoryError(resolved, `VFS root ${resolved} is not a directory`);
    this.rootDir = resolved;
  }

  get location(): string {
    return this.rootDir;
  }

  /** V8, across processes: `node-directory-lock.ts`. */
  lockDirectory(mode: DirectoryLockMode): DirectoryLock {
    return lockNodeDirectory(this.rootDir, mode, fromErrno);
  }

  /** The OS path of a normalised VFS path (N1). */
  private osPath(path: string): string {
    return path === '' ? this.rootDir : nodePath.join(this.rootDir, path);
  }

  /** What is at `path`, or undefined if nothing is (also when a file stands in the way: ENOTDIR). */
  private kindAt(path: string): FileStat | undefined {
    return osCall(path, 'stat', () => {
      try {
        const stats = fs.statSync(this.osPath(path), { throwIfNoEntry: false });
        if (stats === undefined) return undefined;
        return stats.isDirectory() ? { kind: 'directory', size: 0 } : { kind: 'file', size: stats.size };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
        throw error;
      }
    });
  }

  /** Requires a directory at `path`: NotFoundError or NotADirectoryError otherwise. */
  private requireDir(path: string): void {
    const stats = osCall(path, 'stat', () => fs.statSync(this.osPath(path)), 'directory');
    if (!stats.isDirectory()) throw new NotADirectoryError(path);
  }

  open(rawPath: string, options: OpenOptions = {}): VfsFile {
    const path = checkOpenArguments(rawPath, options);
    let flags = options.readOnly === true ? O_RDONLY : O_RDWR;
    if (options.create === true) flags |= O_CREAT | (options.exclusive === true ? O_EXCL : 0);
    if (options.truncate === true) flags |= O_TRUNC;
    const fd = osCall(path, 'open', () => fs.openSync(this.osPath(path), flags, 0o644), 'file');
    try {
      // N6: a read-only open of a directory succeeds on Linux; refuse it as MemoryVfs does.
      if (fs.fstatSync(fd).isDirectory()) throw new NotADirectoryError(path, `${path} is a directory, not a file`);
    } catch (error) {
      osCall(path, 'close', () => fs.closeSync(fd));
      throw fromErrno(error, path, 'fstat');
    }
    return new NodeFile(path, fd, options);
  }

  stat(rawPath: string): FileStat | undefined {
    return this.kindAt(normalizePath(rawPath));
  }

  list(rawDir: string): string[] {
    const dir = normalizePath(rawDir);
    return osCall(dir, 'readdir', () => fs.readdirSync(this.osPath(dir)), 'directory').sort();
  }

  mkdir(rawDir: string, options: { readonly recursive?: boolean } = {}): void {
    const path = normalizePath(rawDir);
    if (path === '') {
      if (options.recursive === true) return;
      throw new AlreadyExistsError('.');
    }
    if (options.recursive !== true) {
      osCall(path, 'mkdir', () => fs.mkdirSync(this.osPath(path)), 'directory');
      return;
    }
    // Step by step rather than fs's recursive mkdir, which reports EEXIST (not ENOTDIR) when
    // the last component is a file; MemoryVfs raises NotADirectoryError there.
    let prefix = '';
    for (const part of path.split('/')) {
      prefix = prefix === '' ? part : `${prefix}/${part}`;
      const created = osCall(path, 'mkdir', () => {
        try {
          fs.mkdirSync(this.osPath(prefix));
          return true;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw error;
        }
      });
      if (!created && this.kindAt(prefix)?.kind !== 'directory') {
        throw new NotADirectoryError(path, `cannot create directory ${path}: ${part} is a file`);
      }
    }
  }

  rename(rawFrom: string, rawTo: string): void {
    const from = normalizePath(rawFrom);
    const to = normalizePath(rawTo);
    // The checks MemoryVfs makes, in its order (N2): rename(2) would report some of them
    // differently (a directory source is legal there).
    this.requireDir(dirnameOf(from));
    const source = this.kindAt(from);
    if (source === undefined) throw new NotFoundError(from);
    if (source.kind !== 'file') throw new InvalidArgumentError(`rename ${from}: only files can be renamed`);
    this.requireDir(dirnameOf(to));
    if (this.kindAt(to)?.kind === 'directory') throw new NotADirectoryError(to, `cannot rename over directory ${to}`);
    if (from === to) return;
    osCall(from, 'rename', () => fs.renameSync(this.osPath(from), this.osPath(to)));
  }

  remove(rawPath: string): void {
    const path = normalizePath(rawPath);
    if (path === '') throw new NotADirectoryError(path, '. is a directory: use rmdir');
    osCall(
      path,
      'unlink',
      () => {
        try {
          fs.unlinkSync(this.osPath(path));
        } catch (error) {
          // POSIX lets unlink of a directory fail with EPERM (macOS does); Linux says EISDIR.
          if ((error as NodeJS.ErrnoException).code === 'EPERM' && this.kindAt(path)?.kind === 'directory') {
            throw new NotADirectoryError(path, `${path} is a directory: use rmdir`);
          }
          throw error;
        }
      },
      'file',
    );
  }

  rmdir(rawDir: string): void {
    const path = normalizePath(rawDir);
    if (path === '') throw new InvalidArgumentError('cannot remove the root directory');
    osCall(
      path,
      'rmdir',
      () => {
        try {
          fs.rmdirSync(this.osPath(path));
        } catch (error) {
          // POSIX allows EEXIST for a non-empty directory, which here must not read as "already exists".
          if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new DirectoryNotEmptyError(path);
          throw error;
        }
      },
      'directory',
    );
  }

  syncDir(rawDir: string): void {
    const dir = normalizePath(rawDir);
    const fd = osCall(dir, 'open directory', () => fs.openSync(this.osPath(dir), O_RDONLY | O_DIRECTORY), 'directory');
    try {
      osCall(dir, 'fsync directory', () => fs.fsyncSync(fd));
    } finally {
      osCall(dir, 'close directory', () => fs.closeSync(fd));
    }
  }

  async syncDirAsync(rawDir: string): Promise<void> {
    const dir = normalizePath(rawDir);
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(this.osPath(dir), O_RDONLY | O_DIRECTORY);
    } catch (error) {
      throw fromErrno(error, dir, 'open directory', 'directory');
    }
    try {
      await handle.sync(); // fsync on libuv's thread pool (V7)
    } catch (error) {
      throw fromErrno(error, dir, 'fsync directory');
    } finally {
      await handle.close().catch((error: unknown) => {
        throw fromErrno(error, dir, 'close directory');
      });
    }
  }

  engineEvent(_name: EngineEvent): void {
    // A real disk has no simulated crash points.
  }
}
