/**
 * The public types of `FaultVfs` (options, hooks, audit, trace). The semantics they name are in the
 * module doc of `fault-vfs.ts`.
 */
import type { ErrorCode } from '../errors.js';
import type { CrashPolicy, CrashPolicyName } from './fault-policy.js';
import type { AsyncSyncOptions } from './sync-scheduler.js';

/** The operations `crashAtOperation` counts. */
export const MUTATING_OPERATIONS = [
  'write',
  'truncate',
  'sync',
  'datasync',
  'syncDir',
  'create',
  'rename',
  'remove',
  'mkdir',
  'rmdir',
] as const;

export type MutatingOperation = (typeof MUTATING_OPERATIONS)[number];

export interface FaultVfsOptions {
  /** Seeds every random choice (F8). */
  readonly seed: number;
  /** The unit a torn write is torn at and a misdirected write lands on. Default 512. */
  readonly sectorBytes?: number;
  /**
   * Asynchronous syncs that take time: each covers what was issued before it started and completes
   * after a seeded number of the scheduler's steps (see the module doc). Default: an asynchronous
   * sync completes at once, like the synchronous one.
   */
  readonly asyncSyncs?: AsyncSyncOptions;
}

/** What an `onWrite` hook sees: the write as the engine issued it, before it lands. */
export interface FaultWrite {
  /** The path the handle was opened by. */
  readonly path: string;
  /** The position the engine asked for (a misdirected write lands elsewhere). */
  readonly position: number;
  /** The caller's buffer: read it, do not keep or change it. */
  readonly data: Uint8Array;
  readonly direct: boolean;
}

export type WriteHook = (write: FaultWrite) => void;

export interface ReadFaultOptions {
  /** Only reads through handles opened by this path. Default: every file. */
  readonly path?: string;
  readonly kind: 'error' | 'corrupt';
  /** How many reads it hits in all. Default 1; Infinity for every matching read. */
  readonly count?: number;
  /** The chance that a matching read is hit. Default 1. */
  readonly probability?: number;
  /** Only reads that overlap this byte range (a bad sector). */
  readonly range?: { readonly position: number; readonly length: number };
}

export interface MisdirectOptions {
  readonly path?: string;
  /** Where the write lands. Default: a seeded sector-aligned position other than the intended one. */
  readonly toPosition?: number;
}

export interface TriggerOptions {
  /** The chance, in percent, that each later buffered write is skipped. Default 100. */
  readonly skipWritesPercent?: number;
  /** The image of the crash at the first sync after the trigger. Default 'process-crash'. */
  readonly policy?: CrashPolicy | CrashPolicyName;
}

export interface FileAudit {
  readonly writes: number;
  readonly bytesWritten: number;
  readonly syncs: number;
  readonly datasyncs: number;
  readonly truncates: number;
}

export interface DirectoryAudit {
  readonly syncDirs: number;
}

/** The counts for one path: a file has `syncDirs` 0, a directory has the file counts 0. */
export interface PathAudit extends FileAudit, DirectoryAudit {}

export interface AuditReport {
  readonly files: ReadonlyMap<string, FileAudit>;
  readonly directories: ReadonlyMap<string, DirectoryAudit>;
}

/** One performed operation (or engine event), in order. */
export interface TraceEntry {
  readonly op: MutatingOperation | 'event';
  /** The file or directory (a handle's opened path); for 'event', the event name. */
  readonly path: string;
  /** rename: the new path. */
  readonly to?: string;
  /** write: the position the engine asked for; `landedAt` differs when the write was misdirected. */
  readonly position?: number;
  readonly landedAt?: number;
  readonly length?: number;
  /** truncate: the new size. */
  readonly size?: number;
  readonly direct?: boolean;
  /** write: skipped after `trigger` (seed 001). */
  readonly skipped?: boolean;
  /** The code of the error the operation failed with (ERR_IO for a failed sync, ERR_NO_SPACE). */
  readonly failed?: ErrorCode;
  /**
   * An asynchronous sync under `asyncSyncs`: 'started' when it is issued (counted there), then
   * 'completed' when it lands (with `failed` if it failed); a crash in between leaves it unfinished.
   */
  readonly phase?: 'started' | 'completed';
}
