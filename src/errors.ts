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
  /** Another process (or another open in this one) holds the database's lock file. */
  'ERR_LOCKED',
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

export class LockedError extends MinnoError {
  readonly path: string;
  constructor(path: string) {
    super('ERR_LOCKED', `database at ${path} is already open (lock file held); close the other instance first`);
    this.path = path;
  }
}
