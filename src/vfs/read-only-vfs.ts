/**
 * ReadOnlyVfs: a view of another VFS through which nothing can be written.
 *
 * A read-only open of a database (`readOnly: true`) runs the engine on this view, so "a read-only
 * open writes nothing" holds by construction rather than by every layer remembering not to:
 * files open read-only (O_RDONLY on NodeVfs, so a database on read-only files works), and every
 * call that would change the namespace or make something durable is refused with `ReadOnlyError`.
 * RocksDB wraps its file system the same way (`ReadOnlyFileSystem`, `env/fs_readonly.h`); InnoDB's
 * `innodb_read_only` opens every file read-only in `os_file_create`.
 *
 * Invariants:
 *  RO1. No call through this view writes, truncates, creates, renames, removes or syncs anything:
 *       `open` passes `readOnly: true` (and refuses `create` and `truncate`), handles refuse
 *       writes (V2 with readOnly), and the namespace calls throw before reaching the VFS below.
 *  RO2. Reads, stats and lists are the VFS below's, unchanged.
 */
import { ReadOnlyError } from '../errors.js';
import type { DirectoryLock, DirectoryLockMode, EngineEvent, FileStat, OpenOptions, Vfs, VfsFile } from './vfs.js';

export class ReadOnlyVfs implements Vfs {
  readonly inner: Vfs;

  constructor(inner: Vfs) {
    this.inner = inner;
  }

  get location(): string {
    return this.inner.location;
  }

  private refusal(operation: string, path: string): ReadOnlyError {
    return new ReadOnlyError(`database (${operation} ${path === '' ? '.' : path}: opened with readOnly: true)`);
  }

  private refuse(operation: string, path: string): never {
    throw this.refusal(operation, path);
  }

  open(path: string, options: OpenOptions = {}): VfsFile {
    if (options.create === true || options.truncate === true)
      this.refuse(options.create === true ? 'create' : 'truncate', path);
    return this.inner.open(path, { ...options, readOnly: true }); // RO1
  }

  stat(path: string): FileStat | undefined {
    return this.inner.stat(path);
  }

  list(dir: string): string[] {
    return this.inner.list(dir);
  }

  mkdir(dir: string): void {
    this.refuse('mkdir', dir);
  }

  rename(from: string): void {
    this.refuse('rename', from);
  }

  remove(path: string): void {
    this.refuse('remove', path);
  }

  rmdir(dir: string): void {
    this.refuse('rmdir', dir);
  }

  syncDir(dir: string): void {
    this.refuse('sync directory', dir);
  }

  syncDirAsync(dir: string): Promise<void> {
    return Promise.reject(this.refusal('sync directory', dir));
  }

  lockDirectory(mode: DirectoryLockMode): DirectoryLock {
    return this.inner.lockDirectory(mode);
  }

  engineEvent(name: EngineEvent): void {
    this.inner.engineEvent(name);
  }
}
