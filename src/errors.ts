/**
 * Every error minno throws on purpose, in one module.
 *
 * Each class carries a stable `code` string. Codes are API: they never change or get reused
 * between major versions; messages may be reworded at any time, so match on `code`, never on
 * `message`. The closed set of codes is written once below (`ERROR_CODES`) and gives both the
 * TypeScript type and the runtime list that the documentation test checks.
 *
 * Two kinds of failure are kept apart, as SQLite does:
 *  - a `MinnoError` (any class here) is a condition the caller can act on: bad input, a missing
 *    file, a corrupt page, a full disk. It is reported, never swallowed, and never returned as data.
 *  - a broken internal invariant is an `AssertionError` from `src/util/assert.ts`: a bug in minno.
 */

export const ERROR_CODES = [
  /** An argument has the wrong type or is out of range (negative offset, unknown option value). */
  'ERR_INVALID_ARGUMENT',
  /** The file or directory named does not exist. */
  'ERR_NOT_FOUND',
  /** The file or directory named already exists and the call asked for a new one. */
  'ERR_ALREADY_EXISTS',
  /** A directory was required and a file was found, or the reverse. */
  'ERR_NOT_A_DIRECTORY',
  /** A directory that still holds entries was asked to be removed. */
  'ERR_DIRECTORY_NOT_EMPTY',
  /** A path leaves the root of its VFS (`..`, an absolute path, a NUL byte). */
  'ERR_PATH_OUTSIDE_ROOT',
  /** The handle, database or transaction was already closed or finished. */
  'ERR_CLOSED',
  /** A write was attempted through a handle opened read-only. */
  'ERR_READ_ONLY',
  /** The operating system (or the fault VFS standing in for it) reported an I/O error (EIO). */
  'ERR_IO',
  /** The device is full (ENOSPC). */
  'ERR_NO_SPACE',
  /** Stored bytes fail their checks: bad checksum, torn page, wrong page number, bad log block. */
  'ERR_CORRUPTION',
  /** The file is not one of ours, or is ours but from a newer format or another page size. */
  'ERR_INCOMPATIBLE_FORMAT',
  /** The fault VFS has simulated a crash: every later call on it fails until it is reopened. */
  'ERR_SIMULATED_CRASH',
  /** Another open of the database, in this process or another, holds its directory lock. */
  'ERR_LOCKED',
  /** A value has the wrong JavaScript type for its column (a number for a string column, 1.5 for int32). */
  'ERR_TYPE_MISMATCH',
  /** A value of the right type lies outside its column's range (int32 above 2^31-1, int64 beyond 2^63). */
  'ERR_OUT_OF_RANGE',
  /** NULL (or a missing value) was given for a column declared NOT NULL. */
  'ERR_NOT_NULL',
  /** A value is longer than its column's maxLength, or makes the row larger than the row size limit. */
  'ERR_VALUE_TOO_LARGE',
  /** An encoded key (primary key or secondary-index entry) exceeds the key size limit. */
  'ERR_KEY_TOO_LARGE',
  /** A row or a call names a column the table does not have. */
  'ERR_UNKNOWN_COLUMN',
  /** A table schema breaks a rule: empty or duplicate names, unknown types, bad key columns. */
  'ERR_INVALID_SCHEMA',
  /** A lock wait would close a cycle; this transaction was chosen and rolled back. Retry it. */
  'ERR_DEADLOCK',
  /** A lock wait lasted longer than lockWaitTimeoutMs; only the statement failed. */
  'ERR_LOCK_WAIT_TIMEOUT',
  /** A call names a table that does not exist. */
  'ERR_UNKNOWN_TABLE',
  /** createTable names a table that already exists. */
  'ERR_TABLE_EXISTS',
  /** An insert or update would duplicate a primary key or a unique index's key. */
  'ERR_DUPLICATE_KEY',
  /** The transaction has already committed or rolled back (or was rolled back by a deadlock). */
  'ERR_TRANSACTION_FINISHED',
  /** A call names an index the table does not have. */
  'ERR_UNKNOWN_INDEX',
  /** An index was created after this transaction's snapshot, which therefore cannot read through it. */
  'ERR_INDEX_NOT_VISIBLE',
  /** A synchronous read at SERIALIZABLE met a lock it would have to wait for; use the async locking read. */
  'ERR_WOULD_WAIT',
  /** A transaction or table is busy in a way the call cannot proceed with (DDL on a table in use). */
  'ERR_IN_USE',
  /** A read-only open found a database that needs crash recovery, which writes; open it once read-write. */
  'ERR_RECOVERY_NEEDED',
  /** A backup directory without its completion marker: the backup was interrupted and is not usable. */
  'ERR_INCOMPLETE_BACKUP',
  /** A line of an import file cannot be read as a row of the table (the error names the line). */
  'ERR_IMPORT_LINE',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** The base class: every error minno throws on purpose is an instance of it. */
export class MinnoError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends MinnoError {
  constructor(message: string) {
    super('ERR_INVALID_ARGUMENT', message);
  }
}

export class NotFoundError extends MinnoError {
  readonly path: string;
  constructor(path: string, what = 'file or directory') {
    super('ERR_NOT_FOUND', `${what} not found: ${path}`);
    this.path = path;
  }
}

export class AlreadyExistsError extends MinnoError {
  readonly path: string;
  constructor(path: string) {
    super('ERR_ALREADY_EXISTS', `already exists: ${path}`);
    this.path = path;
  }
}

export class NotADirectoryError extends MinnoError {
  readonly path: string;
  constructor(path: string, message?: string) {
    super('ERR_NOT_A_DIRECTORY', message ?? `not a directory: ${path}`);
    this.path = path;
  }
}

export class DirectoryNotEmptyError extends MinnoError {
  readonly path: string;
  constructor(path: string) {
    super('ERR_DIRECTORY_NOT_EMPTY', `directory not empty: ${path}`);
    this.path = path;
  }
}

export class PathOutsideRootError extends MinnoError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(
      'ERR_PATH_OUTSIDE_ROOT',
      `path ${JSON.stringify(path)} is not inside the VFS root: ${reason}; ` +
        `use a relative path with '/' separators and no '..'`,
    );
    this.path = path;
  }
}

export class ClosedError extends MinnoError {
  constructor(what: string) {
    super('ERR_CLOSED', `${what} is closed; open it again before use`);
  }
}

export class ReadOnlyError extends MinnoError {
  constructor(what: string) {
    super('ERR_READ_ONLY', `${what} was opened read-only and cannot be written`);
  }
}

export class IoError extends MinnoError {
  readonly path: string;
  readonly operation: string;
  constructor(path: string, operation: string, detail = 'input/output error (EIO)', options?: { cause?: unknown }) {
    super('ERR_IO', `${operation} failed on ${path}: ${detail}`, options);
    this.path = path;
    this.operation = operation;
  }
}

export class NoSpaceError extends MinnoError {
  readonly path: string;
  constructor(path: string, options?: { cause?: unknown }) {
    super('ERR_NO_SPACE', `no space left on device while writing ${path}; free disk space and retry`, options);
    this.path = path;
  }
}

/**
 * Stored bytes failed their checks. Names the file and, where there is one, the page, so an
 * operator knows what to restore. Corrupt bytes are never handed back as data.
 */
export class CorruptionError extends MinnoError {
  readonly path: string;
  readonly pageNo: number | undefined;
  constructor(path: string, pageNo: number | undefined, detail: string) {
    const where = pageNo === undefined ? path : `${path} page ${pageNo}`;
    super('ERR_CORRUPTION', `corruption in ${where}: ${detail}`);
    this.path = path;
    this.pageNo = pageNo;
  }
}

export class IncompatibleFormatError extends MinnoError {
  readonly path: string;
  constructor(path: string, detail: string) {
    super('ERR_INCOMPATIBLE_FORMAT', `${path}: ${detail}`);
    this.path = path;
  }
}

/**
 * Thrown by every call on a `FaultVfs` (and its handles) once it has simulated a crash. The engine
 * above sees the crash as an I/O failure it cannot get past, which is how a power cut looks to a
 * process that is, in the simulation, already dead.
 */
export class SimulatedCrashError extends MinnoError {
  readonly reason: string;
  constructor(reason: string) {
    super('ERR_SIMULATED_CRASH', `simulated crash (${reason}); reopen the crash image to recover`);
    this.reason = reason;
  }
}

/** Who holds a directory lock, as far as the refused opener can tell. */
export interface LockHolder {
  /** The holder's process id, when its lock entry names one. */
  readonly pid: number | undefined;
  /** True when the holder opened the database read-only (a shared lock). */
  readonly readOnly: boolean;
  /** True when the holder is this process (another open of the same directory, or a worker thread). */
  readonly thisProcess: boolean;
}

/**
 * The database directory is locked by another open: one read-write open at a time, or any number
 * of read-only ones (`src/vfs/directory-lock.ts`). The refused open changed nothing.
 */
export class LockedError extends MinnoError {
  readonly path: string;
  /** The holder's pid, if known (this process's own for MemoryVfs and FaultVfs). */
  readonly pid: number | undefined;
  /** True when the holder is a read-only open (and this open wanted to write). */
  readonly holderReadOnly: boolean;
  constructor(path: string, holder: LockHolder) {
    const who = holder.thisProcess
      ? `this process (pid ${holder.pid})`
      : holder.pid === undefined
        ? 'another process'
        : `process ${holder.pid}`;
    super(
      'ERR_LOCKED',
      `database at ${path} is already open ${holder.readOnly ? 'read-only' : 'read-write'} in ${who}; close it there first`,
    );
    this.path = path;
    this.pid = holder.pid;
    this.holderReadOnly = holder.readOnly;
  }
}

/**
 * A read-only open met a database that the last writer did not close cleanly: redo to apply, or
 * cleanup at open (an unfinished DDL, undo to free). That work writes, so a read-only open refuses
 * it rather than write or show a state no writer committed. Open it once read-write (which
 * recovers), then read-only opens work.
 */
export class RecoveryNeededError extends MinnoError {
  readonly path: string;
  constructor(path: string, detail: string) {
    super(
      'ERR_RECOVERY_NEEDED',
      `database at ${path} needs crash recovery, which a read-only open cannot do (${detail}); open it once without readOnly to recover it`,
    );
    this.path = path;
  }
}

/** A value has the wrong JavaScript type for its column. Names the column and the expected type. */
export class TypeMismatchError extends MinnoError {
  readonly column: string;
  constructor(column: string, expected: string, got: string) {
    super('ERR_TYPE_MISMATCH', `column ${JSON.stringify(column)} expects ${expected}, got ${got}; pass ${expected}`);
    this.column = column;
  }
}

/** A value of the right JavaScript type that its column cannot hold (int32 overflow, int64 beyond 2^63). */
export class OutOfRangeError extends MinnoError {
  readonly column: string;
  constructor(column: string, detail: string) {
    super('ERR_OUT_OF_RANGE', `column ${JSON.stringify(column)}: ${detail}`);
    this.column = column;
  }
}

export class NotNullError extends MinnoError {
  readonly column: string;
  constructor(column: string) {
    super(
      'ERR_NOT_NULL',
      `column ${JSON.stringify(column)} is NOT NULL but got null or no value; give it a value, ` +
        `or declare it nullable: true (primary-key columns are always NOT NULL)`,
    );
    this.column = column;
  }
}

/**
 * A value too large for its column (longer than `maxLength`) or for the row (the encoded row would
 * exceed the row size limit). Names the column and the limit, in the unit given.
 */
export class ValueTooLargeError extends MinnoError {
  readonly column: string;
  readonly limit: number;
  constructor(column: string, limit: number, detail: string) {
    super('ERR_VALUE_TOO_LARGE', `column ${JSON.stringify(column)}: ${detail}`);
    this.column = column;
    this.limit = limit;
  }
}

/** An encoded key over the key size limit. Names the index (`PRIMARY` for the primary key) and the limit. */
export class KeyTooLargeError extends MinnoError {
  readonly index: string;
  readonly limitBytes: number;
  constructor(index: string, limitBytes: number, detail: string) {
    super(
      'ERR_KEY_TOO_LARGE',
      `key of index ${JSON.stringify(index)} is too large: ${detail}; the limit is ${limitBytes} bytes ` +
        `per encoded key: shorten the key values, or index fewer or shorter columns`,
    );
    this.index = index;
    this.limitBytes = limitBytes;
  }
}

export class UnknownColumnError extends MinnoError {
  readonly table: string;
  readonly column: string;
  constructor(table: string, column: string, known: readonly string[]) {
    super(
      'ERR_UNKNOWN_COLUMN',
      `table ${JSON.stringify(table)} has no column ${JSON.stringify(column)}; its columns are ` +
        `${known.map((name) => JSON.stringify(name)).join(', ')}`,
    );
    this.table = table;
    this.column = column;
  }
}

/** A table schema that breaks one of the rules of `validateSchema` (src/rec/schema.ts). */
export class InvalidSchemaError extends MinnoError {
  readonly table: string;
  constructor(table: string, detail: string) {
    super('ERR_INVALID_SCHEMA', `invalid schema for table ${JSON.stringify(table)}: ${detail}`);
    this.table = table;
  }
}

/**
 * A B-tree entry (key + value) larger than a page can hold two of (src/btree/btree.ts limits).
 * Same code as `ValueTooLargeError`: the condition is the same; the layer above may rethrow it
 * naming the column.
 */
export class EntryTooLargeError extends MinnoError {
  readonly entryBytes: number;
  readonly limitBytes: number;
  constructor(entryBytes: number, limitBytes: number, detail: string) {
    super(
      'ERR_VALUE_TOO_LARGE',
      `B-tree entry of ${entryBytes} bytes (key + value) is too large: ${detail}; the limit is ${limitBytes} bytes`,
    );
    this.entryBytes = entryBytes;
    this.limitBytes = limitBytes;
  }
}

/** This transaction was the victim of a deadlock and has been rolled back; run it again. */
export class DeadlockError extends MinnoError {
  readonly trxId: number;
  constructor(trxId: number) {
    super('ERR_DEADLOCK', `deadlock found when trying to get a lock; transaction ${trxId} was rolled back: retry it`);
    this.trxId = trxId;
  }
}

/** A lock wait timed out. The statement failed; the transaction is still open and usable. */
export class LockWaitTimeoutError extends MinnoError {
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(
      'ERR_LOCK_WAIT_TIMEOUT',
      `lock wait timeout exceeded (${timeoutMs} ms); retry the statement, or roll back and retry the transaction`,
    );
    this.timeoutMs = timeoutMs;
  }
}

export class UnknownTableError extends MinnoError {
  readonly table: string;
  constructor(table: string, known: readonly string[]) {
    super(
      'ERR_UNKNOWN_TABLE',
      `no table named ${JSON.stringify(table)}; tables: ${known.length === 0 ? '(none)' : known.join(', ')}`,
    );
    this.table = table;
  }
}

export class TableExistsError extends MinnoError {
  readonly table: string;
  constructor(table: string) {
    super(
      'ERR_TABLE_EXISTS',
      `a table named ${JSON.stringify(table)} already exists; drop it first or choose another name`,
    );
    this.table = table;
  }
}

export class DuplicateKeyError extends MinnoError {
  readonly table: string;
  readonly index: string;
  constructor(table: string, index: string, key: string) {
    super(
      'ERR_DUPLICATE_KEY',
      `duplicate key ${key} in index ${JSON.stringify(index)} of table ${JSON.stringify(table)}`,
    );
    this.table = table;
    this.index = index;
  }
}

export class TransactionFinishedError extends MinnoError {
  constructor(state: string) {
    super('ERR_TRANSACTION_FINISHED', `the transaction is ${state}; begin a new one`);
  }
}

export class ReadOnlyTransactionError extends MinnoError {
  constructor() {
    super('ERR_READ_ONLY', 'cannot write in a read-only transaction; begin it without readOnly: true');
  }
}

export class UnknownIndexError extends MinnoError {
  constructor(table: string, index: string, known: readonly string[]) {
    super(
      'ERR_UNKNOWN_INDEX',
      `table ${JSON.stringify(table)} has no index ${JSON.stringify(index)}; indexes: ${known.length === 0 ? '(none)' : known.join(', ')}`,
    );
  }
}

export class IndexNotVisibleError extends MinnoError {
  constructor(table: string, index: string) {
    super(
      'ERR_INDEX_NOT_VISIBLE',
      `index ${JSON.stringify(index)} of table ${JSON.stringify(table)} was created after this transaction's snapshot; commit and read in a new transaction`,
    );
  }
}

export class WouldWaitError extends MinnoError {
  constructor(table: string) {
    super(
      'ERR_WOULD_WAIT',
      `a SERIALIZABLE read of ${JSON.stringify(table)} must wait for another transaction's lock; use await getForShare()/scanForShare() to wait`,
    );
  }
}

export class InUseError extends MinnoError {
  constructor(message: string) {
    super('ERR_IN_USE', message);
  }
}

/** A backup whose completion marker (backup.json) is missing: it was interrupted (BK1 of core/backup-format.ts). */
export class IncompleteBackupError extends MinnoError {
  readonly path: string;
  constructor(path: string) {
    super(
      'ERR_INCOMPLETE_BACKUP',
      `${path} holds no complete backup (no backup.json completion marker): the backup was interrupted; take it again`,
    );
    this.path = path;
  }
}

/**
 * A line of an import file that cannot become a row. `line` is 1-based; `cause` is the underlying
 * error; `rowsCommitted` rows (the batches before the bad line's) stay imported.
 */
export class ImportLineError extends MinnoError {
  readonly line: number;
  readonly source: string;
  readonly rowsCommitted: number;
  constructor(source: string, line: number, detail: string, cause?: unknown, rowsCommitted = 0) {
    super('ERR_IMPORT_LINE', `${source} line ${line}: ${detail}`, cause === undefined ? undefined : { cause });
    this.source = source;
    this.line = line;
    this.rowsCommitted = rowsCommitted;
  }
}
