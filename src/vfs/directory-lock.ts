/**
 * Directory locks: one read-write open of a database, or any number of read-only ones (V8).
 *
 * Two opens that both write one directory lose acknowledged commits: each has its own buffer
 * pool and log position, so each overwrites pages and log the other wrote (issue 11 measured 300
 * commits lost and a broken B-tree). InnoDB prevents this with an advisory `fcntl` lock on
 * `ibdata1` and each `.ibd` file (`os_file_lock` in `os0file.cc`, "Unable to lock ./ibdata1
 * error: 11"); LevelDB with `fcntl` on its `LOCK` file (`env_posix.cc` LockFile); SQLite with
 * `fcntl` byte-range locks (SHARED/RESERVED/EXCLUSIVE, `os_unix.c`). The kernel drops such a
 * lock when its process dies, so a crash never leaves it behind.
 *
 * Node offers no `fcntl` or `flock` (only a native addon could call them, and minno has no native
 * dependency), so the lock is kept where every VFS can keep it:
 *  - `MemoryVfs` and `FaultVfs` (here): no other process can reach their files, so the lock is an
 *    entry in an in-process table keyed by the VFS instance. A `FaultVfs` crash image reopens as
 *    a new instance, which starts unlocked, as a rebooted machine does.
 *  - `NodeVfs` (`node-directory-lock.ts`): one file per holder in the root's `minno.lock/`
 *    directory, naming its process; a holder is alive while that process is. It says there why
 *    this is safe against pid reuse and stale files, and why not `proper-lockfile`.
 *
 * Both grant the same thing (V8): 'exclusive' excludes every other holder; 'shared' excludes
 * only an exclusive one. A refused request throws `LockedError` at once, without waiting: a
 * writer that meets readers (or another writer) is told who holds the directory and decides
 * itself whether to retry, as classic-level's LOCK error lets its users do.
 *
 * Invariants:
 *  DL1. Per VFS instance (here) or per directory (NodeVfs): exclusive holders <= 1, and an
 *       exclusive holder excludes every shared one.
 *  DL2. A refused request leaves the table as it found it.
 */
import { LockedError } from '../errors.js';
import { assert } from '../util/assert.js';
import type { DirectoryLock, DirectoryLockMode } from './vfs.js';

interface Holders {
  exclusive: number;
  shared: number;
}

/** The in-process lock table: VFS instance -> its holders. Weak, so a dropped VFS takes its entry with it. */
const table = new WeakMap<object, Holders>();

class InProcessLock implements DirectoryLock {
  readonly mode: DirectoryLockMode;
  onLost: ((error: Error) => void) | undefined = undefined;
  private readonly holders: Holders;
  private isReleased = false;

  constructor(holders: Holders, mode: DirectoryLockMode) {
    this.holders = holders;
    this.mode = mode;
  }

  get released(): boolean {
    return this.isReleased;
  }

  release(): void {
    if (this.isReleased) return;
    this.isReleased = true;
    this.holders[this.mode]--;
    assert(this.holders.exclusive >= 0 && this.holders.shared >= 0, 'DL1 a lock is released once');
  }
}

/**
 * Locks `owner` (a VFS instance no other process can reach) for this process (DL1, DL2).
 * `location` names it in the error.
 */
export function lockInProcess(owner: object, mode: DirectoryLockMode, location: string): DirectoryLock {
  let holders = table.get(owner);
  if (holders === undefined) {
    holders = { exclusive: 0, shared: 0 };
    table.set(owner, holders);
  }
  if (holders.exclusive > 0 || (mode === 'exclusive' && holders.shared > 0)) {
    throw new LockedError(location, { pid: process.pid, readOnly: holders.exclusive === 0, thisProcess: true });
  }
  holders[mode]++;
  assert(holders.exclusive <= 1 && (holders.exclusive === 0 || holders.shared === 0), 'DL1 one writer or many readers');
  return new InProcessLock(holders, mode);
}
