/**
 * NodeVfs's directory lock: one writer or many readers across processes, with no native code
 * (contract V8; why a database needs it, and the in-memory VFSs' lock: `directory-lock.ts`).
 *
 * InnoDB and LevelDB lock with `fcntl`, which the kernel drops when the process dies. Node has
 * no `fcntl` or `flock`, so the lock lives in files, and liveness is decided from what the
 * files say about their process. In the database directory:
 *
 *     minno.lock/                  made by the first holder, removed by the last one to leave
 *       writer-<uuid>              the read-write holder's entry
 *       reader-<uuid>              one entry per read-only holder
 *       pending-<uuid>             an entry being written, renamed to one of the above when whole
 *
 * An entry is JSON: `{ pid, machine, start, mode, host }` (what each means is below).
 *
 * ## Taking the lock (`lockNodeDirectory`)
 *   1. mkdir `minno.lock` (an existing one is fine); publish our entry: write it as pending, then
 *      rename it to its `writer-` or `reader-` name, so no one reads half an entry.
 *   2. List `minno.lock`. Every other entry whose holder is dead is removed. If a live one
 *      conflicts (a writer; or anyone, when we want to write), remove ours and throw
 *      `LockedError` naming its pid.
 * NL1 (one writer or many readers): every opener publishes before it lists. Of two conflicting
 *      openers, the one that published second lists after the first published, sees it, and
 *      backs off. Two that publish at the same moment may both back off (both get ERR_LOCKED);
 *      two can never both hold.
 * NL2 (stale entries are harmless): an entry's name is unique to its holder and never reused, so
 *      removing a dead holder's entry can never remove a live one's, however many openers race
 *      to clean it up (ENOENT is simply ignored). There is no shared lock file to "take over".
 *
 * ## Is the holder alive? (why pid reuse is safe)
 * An entry names its process by three things:
 *  - `machine`: on Linux, the boot id (`/proc/sys/kernel/random/boot_id`, new at every boot)
 *    and the pid namespace (`/proc/self/ns/pid`); elsewhere the host name. A pid means something
 *    only on the same machine, boot and namespace.
 *  - `pid`.
 *  - `start`: the process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22;
 *    Linux only). Two processes that ever hold the same pid in one boot have different starts.
 * NL3. Same `machine`: the holder is alive iff a process with its pid exists (`kill(pid, 0)` does
 *      not fail with ESRCH) and, where `start` is known, started at that same tick and is not a
 *      zombie (killed but not yet reaped by its parent). So a pid
 *      reused by an unrelated process does not keep a dead holder's lock: on Linux a `kill -9`'d
 *      holder's entry is recognised as dead by the very next open, at once. Without /proc
 *      (macOS, Windows) a live process that got the dead holder's pid counts as the holder: the
 *      open is refused (never wrongly granted) until that process exits, and the error names the
 *      pid. Our own pid with our own start is this process: another open of the same directory
 *      here, or in a worker thread (threads share the pid), and is alive.
 * NL4. Another `machine` (a network filesystem; containers with their own pid namespace sharing
 *      a volume; an entry from before a reboot or power cut): its pid cannot be checked from here.
 *      Every holder refreshes its entry's mtime every HEARTBEAT_MS, and such an entry counts as
 *      dead once STALE_MS old. This needs clocks within a few seconds of each other, and a
 *      holder whose whole process stops for longer (SIGSTOP, a suspended VM) can lose the lock;
 *      its next heartbeat finds its entry gone and calls `onLost`, and the storage refuses all
 *      further writes. Several writers on one database are out of minno's scope (DESIGN); this
 *      case only keeps a crashed container from locking a volume for good.
 *
 * A read-only open publishes an entry too, so it needs write permission in the database
 * directory; it writes nothing else (`read-only-vfs.ts`).
 *
 * ## Why not proper-lockfile
 * `proper-lockfile` (mkdir a `.lock` directory, refresh its mtime on a timer, treat it as stale
 * after `stale` ms) was the candidate. Three things rule it out here: it has no shared lock, which
 * read-only opens need; it records no pid for the ERR_LOCKED message; and above all it decides
 * that a holder died from its mtime alone, so a holder whose event loop is blocked longer than
 * `stale` (issue 11 measured a 16.7 s synchronous index build) is declared dead and a second
 * writer opens the database: the very loss the lock prevents. Here, on one machine, liveness
 * comes from the process table and needs no timing at all (NL3).
 */
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { LockedError, NotADirectoryError, type MinnoError } from '../errors.js';
import { LOCK_DIR_NAME, type DirectoryLock, type DirectoryLockMode } from './vfs.js';

/** How often a holder refreshes its entry's mtime (NL4). */
export const HEARTBEAT_MS = 2_000;
/** An entry from another machine with an mtime older than this is a dead holder's (NL4). */
export const STALE_MS = 10_000;

const KIND_OF_MODE = { exclusive: 'writer', shared: 'reader' } as const;
const PENDING = 'pending';

/** What an entry says about its holder. */
interface Owner {
  readonly pid: number;
  readonly machine: string;
  readonly start: string | undefined;
  readonly mode: DirectoryLockMode;
  /** For people reading the file; liveness uses `machine`. */
  readonly host: string;
}

/** Turns an `fs` error into a typed one (NodeVfs's `fromErrno`, passed in to keep this file free of NodeVfs). */
export type ErrnoTranslator = (error: unknown, path: string, operation: string) => MinnoError;

let self: { readonly machine: string; readonly start: string | undefined } | undefined;

/** This process's (machine, start), read once. */
function selfIdentity(): { readonly machine: string; readonly start: string | undefined } {
  if (self !== undefined) return self;
  let machine = `host:${os.hostname()}`;
  let start: string | undefined;
  if (process.platform === 'linux') {
    try {
      const bootId = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
      const pidNamespace = fs.readlinkSync('/proc/self/ns/pid');
      const ownStart = startTicksOf(process.pid);
      if (ownStart !== undefined) {
        machine = `linux:${bootId}:${pidNamespace}`;
        start = ownStart;
      }
    } catch {
      // A sandbox without /proc: fall back to the host name and pid only (NL3's non-Linux case).
    }
  }
  self = { machine, start };
  return self;
}

/** Fields 3 (state) and 22 (start time in ticks since boot) of /proc/<pid>/stat, or undefined if unreadable. */
function procStat(pid: number): { readonly state: string; readonly start: string } | undefined {
  let stat: string;
  try {
    stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields.length > 19 ? { state: fields[0]!, start: fields[19]! } : undefined; // fields[0] is field 3
}

function startTicksOf(pid: number): string | undefined {
  return procStat(pid)?.start;
}

/** False only when no process has this pid (ESRCH); EPERM means one exists that we may not signal. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

/** NL3, NL4. `owner` is undefined for an entry that is not valid JSON (a foreign or damaged file). */
function isAlive(owner: Owner | undefined, mtimeMs: number, nowMs: number): boolean {
  const me = selfIdentity();
  if (owner === undefined || owner.machine !== me.machine) return nowMs - mtimeMs < STALE_MS; // NL4
  if (owner.pid === process.pid) return owner.start === me.start; // this process, or a former one with our pid
  if (!processExists(owner.pid)) return false;
  if (owner.start === undefined) return true; // no /proc: a reused pid counts as the holder (safe side)
  const stat = procStat(owner.pid);
  if (stat === undefined) return true; // unreadable (hidepid): the safe side again
  // A zombie (killed, not yet reaped by its parent) is dead: it will never write again.
  return stat.start === owner.start && stat.state !== 'Z' && stat.state !== 'X';
}

function parseOwner(text: string): Owner | undefined {
  try {
    const value = JSON.parse(text) as Partial<Owner>;
    if (
      typeof value.pid !== 'number' ||
      typeof value.machine !== 'string' ||
      (value.mode !== 'exclusive' && value.mode !== 'shared')
    )
      return undefined;
    return {
      pid: value.pid,
      machine: value.machine,
      start: typeof value.start === 'string' ? value.start : undefined,
      mode: value.mode,
      host: String(value.host),
    };
  } catch {
    return undefined;
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

class NodeDirectoryLock implements DirectoryLock {
  readonly mode: DirectoryLockMode;
  onLost: ((error: Error) => void) | undefined = undefined;
  private readonly rootDir: string;
  private readonly lockDir: string;
  private readonly entryPath: string;
  private readonly heartbeat: NodeJS.Timeout;
  private isReleased = false;

  constructor(rootDir: string, lockDir: string, entryPath: string, mode: DirectoryLockMode) {
    this.rootDir = rootDir;
    this.lockDir = lockDir;
    this.entryPath = entryPath;
    this.mode = mode;
    this.heartbeat = setInterval(() => this.beat(), HEARTBEAT_MS);
    this.heartbeat.unref(); // a held lock never keeps the process alive
  }

  get released(): boolean {
    return this.isReleased;
  }

  /** NL4: refresh our mtime; an entry gone means another machine judged us dead. */
  private beat(): void {
    const now = new Date();
    try {
      fs.utimesSync(this.entryPath, now, now);
    } catch (error) {
      if (errorCode(error) !== 'ENOENT') return; // a transient failure: the next beat retries
      this.stop();
      this.onLost?.(new LockedError(this.rootDir, { pid: undefined, readOnly: false, thisProcess: false }));
    }
  }

  private stop(): void {
    this.isReleased = true;
    clearInterval(this.heartbeat);
  }

  release(): void {
    if (this.isReleased) return;
    this.stop();
    removeQuietly(this.entryPath);
    removeLockDirIfEmpty(this.lockDir);
  }
}

/** Removes a file that may already be gone (NL2). */
function removeQuietly(path: string): void {
  try {
    fs.unlinkSync(path);
  } catch {
    // Gone already (another opener cleaned it up), or not ours to remove: either way not held by us.
  }
}

function removeLockDirIfEmpty(lockDir: string): void {
  try {
    fs.rmdirSync(lockDir);
  } catch {
    // Not empty (another holder, or an opener publishing right now) or already gone: both fine.
  }
}

/**
 * Creates `minno.lock` if needed and publishes our entry in it (step 1). A releasing holder may
 * remove an empty `minno.lock` between our mkdir and our write: then start again.
 */
function publish(lockDir: string, name: string, owner: Owner, translate: ErrnoTranslator): string {
  const pendingPath = nodePath.join(lockDir, `${PENDING}-${name.slice(name.indexOf('-') + 1)}`);
  const entryPath = nodePath.join(lockDir, name);
  for (let attempt = 0; ; attempt++) {
    try {
      fs.mkdirSync(lockDir);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST') throw translate(error, lockDir, 'mkdir');
      replaceLegacyLockFile(lockDir, translate);
    }
    try {
      fs.writeFileSync(pendingPath, JSON.stringify(owner), { flag: 'wx' });
      fs.renameSync(pendingPath, entryPath);
      return entryPath;
    } catch (error) {
      if (errorCode(error) === 'ENOENT' && attempt < 8) continue;
      removeQuietly(pendingPath);
      throw translate(error, entryPath, 'create lock entry');
    }
  }
}

/**
 * minno 0.1 kept an empty, never-locked file named `minno.lock`. An empty regular file there is
 * that file: it is replaced by the lock directory. Anything else is left alone, and the mkdir
 * that met it reports it.
 */
function replaceLegacyLockFile(lockDir: string, translate: ErrnoTranslator): void {
  const stats = fs.lstatSync(lockDir, { throwIfNoEntry: false });
  if (stats === undefined || stats.isDirectory()) return;
  if (!stats.isFile() || stats.size !== 0) {
    throw new NotADirectoryError(lockDir, `${lockDir} exists and is not minno's lock directory; move it away`);
  }
  removeQuietly(lockDir);
  try {
    fs.mkdirSync(lockDir);
  } catch (error) {
    if (errorCode(error) !== 'EEXIST') throw translate(error, lockDir, 'mkdir');
  }
}

/** What another entry in `minno.lock` says, or undefined when it vanished meanwhile. */
function readEntry(path: string): { owner: Owner | undefined; mtimeMs: number } | undefined {
  try {
    const mtimeMs = fs.statSync(path).mtimeMs;
    return { owner: parseOwner(fs.readFileSync(path, 'utf8')), mtimeMs };
  } catch (error) {
    if (errorCode(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/** Takes the lock on `rootDir` (an absolute, existing directory) for `mode`, or throws LockedError. */
export function lockNodeDirectory(rootDir: string, mode: DirectoryLockMode, translate: ErrnoTranslator): DirectoryLock {
  const me = selfIdentity();
  const lockDir = nodePath.join(rootDir, LOCK_DIR_NAME);
  const name = `${KIND_OF_MODE[mode]}-${randomUUID()}`;
  const owner: Owner = { pid: process.pid, machine: me.machine, start: me.start, mode, host: os.hostname() };
  const entryPath = publish(lockDir, name, owner, translate);
  try {
    let names: string[];
    try {
      names = fs.readdirSync(lockDir);
    } catch (error) {
      throw translate(error, lockDir, 'readdir');
    }
    for (const other of names) {
      const kind = other.slice(0, other.indexOf('-'));
      if (other === name || (kind !== 'writer' && kind !== 'reader' && kind !== PENDING)) continue;
      const path = nodePath.join(lockDir, other);
      let entry: ReturnType<typeof readEntry>;
      try {
        entry = readEntry(path);
      } catch (error) {
        throw translate(error, path, 'read lock entry');
      }
      if (entry === undefined) continue; // released meanwhile
      if (!isAlive(entry.owner, entry.mtimeMs, Date.now())) {
        removeQuietly(path); // NL2
        continue;
      }
      // A live pending entry will list after it publishes, and see ours (NL1).
      if (kind === PENDING || (kind === 'reader' && mode === 'shared')) continue;
      // NL1: a live holder we conflict with: back off, taking our entry away.
      const pid = entry.owner?.pid;
      throw new LockedError(rootDir, {
        pid,
        readOnly: kind === 'reader',
        thisProcess: pid === process.pid && entry.owner?.machine === me.machine,
      });
    }
  } catch (error) {
    removeQuietly(entryPath);
    removeLockDirIfEmpty(lockDir);
    throw error;
  }
  return new NodeDirectoryLock(rootDir, lockDir, entryPath, mode);
}
