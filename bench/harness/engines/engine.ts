/**
 * What an engine adapter provides: the sysbench and YCSB tables, loaded and queried the way that
 * engine's own users would, and what the report must say about it.
 *
 * One adapter per engine (engines/<kind>.ts). Each runs in a process of its own during a
 * comparison (orchestrate.ts), on a directory of its own. The harness hands it events (lists of
 * statements, workloads/sysbench.ts) and operations (workloads/ycsb.ts); it returns a digest of
 * what it read (engines/digest.ts). A sync engine may answer synchronously: the runner awaits only
 * promises.
 */
import type { SbtestRow } from '../workloads/sbtest.js';
import type { SbEvent } from '../workloads/sysbench.js';
import type { YcsbOperation, YcsbRecord } from '../workloads/ycsb.js';

export const ENGINE_KINDS = ['minno', 'better-sqlite3', 'lmdb', 'classic-level', 'sql.js'] as const;
export type EngineKind = (typeof ENGINE_KINDS)[number];

export function isEngineKind(value: string): value is EngineKind {
  return (ENGINE_KINDS as readonly string[]).includes(value);
}

export interface EngineConfig {
  /** Commits durable before they are acknowledged (the adapter's `durability(true)` says how). */
  readonly durable: boolean;
  /** minno only: the buffer pool's bytes. */
  readonly bufferPoolBytes?: number;
}

export interface EngineSession {
  /** Creates empty tables sbtest1..sbtest<count>, each with its k index or its emulation. */
  createSbtest(count: number): Promise<void>;
  /** Inserts rows into sbtest<table> in one transaction: the prepare step and bulk loads. */
  loadSbtest(table: number, rows: readonly SbtestRow[]): Promise<void>;
  /** Runs one sysbench event; resolves to its digest. */
  sysbench(event: SbEvent): number | Promise<number>;
  /** Creates the empty usertable with `fieldcount` fields (and uses it). */
  createUsertable(fieldcount: number, fieldlength: number): Promise<void>;
  /** Uses the usertable that is already there (a prepared copy), which has `fieldcount` fields. */
  useUsertable(fieldcount: number): void;
  /** Inserts records in one transaction (the load phase). */
  loadUsertable(records: readonly YcsbRecord[]): Promise<void>;
  /** Runs one YCSB operation; resolves to its digest. */
  ycsb(operation: YcsbOperation): number | Promise<number>;
  /** The embedded engine's own version where the package wraps one (SQLite's), else undefined. */
  embeddedVersion(): string | undefined;
  /** Closes the database; afterwards everything it keeps is in its directory. */
  close(): Promise<void>;
}

export interface EngineAdapter {
  readonly kind: EngineKind;
  /** The npm package that provides it. */
  readonly packageName: string;
  /** What a durable (or not durable) commit means for this engine, for the report. */
  durability(durable: boolean): string;
  /** How the k index of sbtest is served: natively, or emulated (and how). */
  readonly secondaryIndex: string;
  /** How the adapter uses the engine, for the report. */
  readonly notes: readonly string[];
  /** Whether an error means "retry this event" (a deadlock victim, a lock wait timeout). */
  isRetryable(error: unknown): boolean;
  /** Opens the database in `dir`, creating it if empty. */
  open(dir: string, config: EngineConfig): Promise<EngineSession>;
}
