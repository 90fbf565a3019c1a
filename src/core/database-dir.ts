/**
 * What an open finds in a database directory, and whether it may go on: decided by reading
 * alone, before anything is locked or written.
 *
 * InnoDB counterpart: `srv/srv0start.cc` and `SysTablespace::check_file_spec`, which refuse to
 * start on data files they cannot account for, and `mysqld --initialize`, which refuses a data
 * directory that already has files in it ("--initialize specified but the data directory has
 * files in it. Aborting."). The option names are classic-level's, which Node users know:
 *
 *   found \ asked     | default (createIfMissing) | createIfMissing: false | errorIfExists: true | readOnly: true
 *   nothing of ours   | create a database         | ERR_NOT_FOUND          | create              | ERR_NOT_FOUND
 *   a database        | open it                   | open it                | ERR_ALREADY_EXISTS  | open it read-only
 *   foreign entries   | ERR_INCOMPATIBLE_FORMAT, whatever was asked
 *
 * "Nothing of ours" is an empty directory, or one holding only what an interrupted creation
 * leaves (`redo.log.tmp`, empty tablespace files, a doublewrite file; `createDatabase` clears
 * them), or a pool dump (pool-dump.ts) left beside them. "A database" is a directory with `redo.log`: its files' own checks then run as the
 * storage opens (log header: magic, format, page size; each tablespace header: magic, format,
 * page size, space id; recovery: a missing system tablespace), each a typed error raised before
 * anything is written. The lock directory (`minno.lock`) is never counted as content.
 *
 * Invariants:
 *  DF1. Nothing is created in a directory that holds anything minno did not make: a user's
 *       files, a LevelDB store, another engine's `system.ibd` are refused as ERR_INCOMPATIBLE_FORMAT.
 *  DF2. A tablespace file without `redo.log` is reported as foreign (not a minno tablespace) or
 *       as a damaged database (ERR_CORRUPTION: the log is missing), never overwritten.
 */
import { AlreadyExistsError, CorruptionError, IncompatibleFormatError, NotFoundError } from '../errors.js';
import { readU32 } from '../page/page.js';
import { SPACE_MAGIC, SPACE_MAGIC_OFFSET, spaceIdFromFileName } from '../page/tablespace.js';
import { DOUBLEWRITE_FILE } from '../buffer/doublewrite.js';
import { DUMP_FILE, DUMP_FILE_TMP } from '../buffer/pool-dump.js';
import { LOG_FILE, LOG_FILE_TMP } from '../redo/log-file.js';
import { LOCK_DIR_NAME, type Vfs } from '../vfs/vfs.js';

export interface DirectoryWishes {
  /** Create a database where there is none (default true). */
  readonly createIfMissing: boolean;
  /** Refuse to open an existing database (default false). */
  readonly errorIfExists: boolean;
  /** A read-only open never creates. */
  readonly readOnly: boolean;
}

/** Whether an entry of the root is a file minno itself makes. */
function isEngineFile(name: string): boolean {
  return (
    name === LOG_FILE ||
    name === LOG_FILE_TMP ||
    name === DOUBLEWRITE_FILE ||
    name === DUMP_FILE ||
    name === DUMP_FILE_TMP ||
    spaceIdFromFileName(name) !== undefined
  );
}

/** Whether a file starts as a minno tablespace does (its header's magic number). */
function startsAsTablespace(vfs: Vfs, name: string): boolean {
  const file = vfs.open(name, { readOnly: true });
  try {
    const header = new Uint8Array(SPACE_MAGIC_OFFSET + 4);
    return file.read(header, 0) === header.length && readU32(header, SPACE_MAGIC_OFFSET) === SPACE_MAGIC;
  } finally {
    file.close();
  }
}

/**
 * Decides whether the root holds a database, nothing of ours, or something else (DF1, DF2), and
 * refuses what `wishes` rule out. Reads only. Returns true when a database is there.
 */
export function checkDatabaseDir(vfs: Vfs, wishes: DirectoryWishes): boolean {
  const names = vfs.list('').filter((name) => name !== LOCK_DIR_NAME);
  const exists = names.includes(LOG_FILE);
  if (!exists) {
    const foreign = names.filter((name) => !isEngineFile(name) || vfs.stat(name)?.kind !== 'file');
    if (foreign.length > 0) {
      const shown = foreign.slice(0, 3).join(', ') + (foreign.length > 3 ? `, and ${foreign.length - 3} more` : '');
      throw new IncompatibleFormatError(
        vfs.location,
        `not a minno database (no redo.log) and not empty (${shown}); minno creates a database only in an empty directory: give another path`,
      );
    }
    for (const name of names) {
      if (spaceIdFromFileName(name) === undefined || vfs.stat(name)?.size === 0) continue; // leftovers of an interrupted creation
      if (!startsAsTablespace(vfs, name)) {
        throw new IncompatibleFormatError(
          name,
          `not a minno tablespace (bad magic number), and ${vfs.location} holds no redo.log: it is not a minno database`,
        ); // DF1
      }
      throw new CorruptionError(
        LOG_FILE,
        undefined,
        'the redo log is missing but tablespace files exist; restore redo.log from the same backup, or open an empty directory',
      ); // DF2
    }
  }
  if (!exists && (wishes.readOnly || !wishes.createIfMissing)) {
    throw new NotFoundError(
      vfs.location,
      `minno database (${wishes.readOnly ? 'a read-only open creates none' : 'createIfMissing is false'})`,
    );
  }
  if (exists && wishes.errorIfExists)
    throw new AlreadyExistsError(`a minno database in ${vfs.location} (errorIfExists is true)`);
  return exists;
}
