/**
 * minno: a crash-safe transactional storage engine in pure TypeScript.
 *
 * This file is the package's one public entry: everything a user may import is exported here,
 * and nothing else is API.
 */
export * from './errors.js';
export { AssertionError, setDebugChecks } from './util/assert.js';
export { RandomSource, freshSeed } from './util/random.js';
export { ManualClock, SystemClock, type Clock, type TimerHandle } from './util/clock.js';
export {
  ENGINE_EVENTS,
  normalizePath,
  type DirectoryLock,
  type DirectoryLockMode,
  type EngineEvent,
  type FileStat,
  type OpenOptions,
  type Vfs,
  type VfsFile,
} from './vfs/vfs.js';
export { MemoryVfs } from './vfs/memory-vfs.js';
export { NodeVfs } from './vfs/node-vfs.js';
export {
  FaultVfs,
  CRASH_POLICIES,
  CRASH_POLICY_NAMES,
  ClockSyncScheduler,
  EventLoopSyncScheduler,
  SteppedSyncScheduler,
  type AsyncSyncOptions,
  type CrashImage,
  type CrashPolicy,
  type CrashPolicyName,
  type OsCache,
  type SyncScheduler,
} from './vfs/fault-vfs.js';

// The database API.
export {
  Database,
  type CheckReport,
  type DatabaseOptions,
  type DatabaseStatus,
  type TableDefinition,
} from './api/database.js';
export { Transaction, type TransactionOptions } from './api/transaction.js';
export { Table } from './api/table.js';
export { Snapshot, type ReadTable } from './api/snapshot.js';
export { type EngineMemory, type MemoryBoundOptions, engineMemoryBound } from './api/engine-memory.js';
export type { CreateIndexOptions, IndexBuildProgress } from './api/index-build-runner.js';
export type {
  CheckedSchema,
  ColumnName,
  IndexName,
  InsertRowOf,
  RowOf,
  SchemaShape,
  TableTypes,
  TypesOf,
  UntypedTable,
} from './api/typed-table.js';
export {
  COLUMN_TYPES,
  DURABILITY_LEVELS,
  ISOLATION_LEVELS,
  type ColumnDef,
  type ColumnType,
  type ColumnValue,
  type Durability,
  type IndexDef,
  type IsolationLevel,
  type JsonValue,
  type KeyInput,
  type KeyRange,
  type PurgeResult,
  type ReadOptions,
  type Row,
  type TableSchema,
} from './api/types.js';
export { validateSchema } from './rec/schema.js';

// The storage core: pages, buffer pool, redo log and mini-transactions. Most applications use the
// table API; these are for tools, tests and readers who want to drive the layers directly.
export { Storage, type StorageOptions } from './core/storage.js';
export { MiniTransaction } from './redo/mtr.js';
export type { RecoveryProgress, RecoveryResult } from './redo/recovery.js';
export { allocatePage, freePage } from './page/space-allocator.js';
export { PageType, PAGE_SIZE_DEFAULT, readU16, readU32, readU64 } from './page/page.js';

// Operating a database (issue 18): hot backup and restore, verify, export and import, salvage,
// the inspector. The `minno` command line (src/cli/) is built on these.
export type { BackupOptions, BackupProgress, BackupResult } from './core/hot-backup.js';
export type { BackupManifest } from './core/backup-format.js';
export { OverlayVfs } from './vfs/overlay-vfs.js';
export { restoreBackup, type RestoreOptions, type RestoreProgress, type RestoreResult } from './ops/restore.js';
export { verifyBackup, verifyDatabase, type VerifyReport } from './ops/verify.js';
export { openUnchanged, type UnchangedDatabase } from './ops/open-unchanged.js';
export {
  EXPORT_FORMATS,
  exportTables,
  type ExportFormat,
  type ExportOptions,
  type ExportResult,
} from './ops/export.js';
export { IMPORT_FORMATS, importRows, type ImportFormat, type ImportOptions, type ImportResult } from './ops/import.js';
export { salvage, type LostRange, type SalvageOptions, type SalvageReport } from './ops/salvage.js';
export { Inspector, drawTree } from './ops/inspect/inspector.js';
export { registerPageDecoder, type PageDecoder, type PageField } from './ops/inspect/page-decoders.js';
