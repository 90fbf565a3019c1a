/**
 * The one way tests open a database or a storage core: small pages, a small pool and log, background
 * work stepped by hand, a manual clock. Every test used to write its own copy of these options;
 * now a test says only what it changes (`{ poolPages: 64, durability: 'full' }`).
 *
 * Why these defaults: 4 KiB pages make trees split after a few rows, 256 pages (1 MiB) hold every
 * table of the unit tests, a 1 MiB log wraps only in the tests that mean it to, and `background:
 * 'manual'` with a `ManualClock` makes every run replay: nothing happens between two statements
 * unless the test steps it.
 */
import {
  type Database,
  type DatabaseOptions,
  type DatabaseTestSeams,
  openDatabaseWithTestSeams,
} from '../../src/api/database.js';
import {
  openStorageWithTestSeams,
  type Storage,
  type StorageOptions,
  type StorageTestSeams,
} from '../../src/core/storage.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Vfs } from '../../src/vfs/vfs.js';

export const TEST_PAGE_SIZE = 4096;

/** What a test may change: the pool in pages (`poolPages`), or any option itself. */
export type TestDatabaseOptions = Partial<DatabaseOptions> & { readonly poolPages?: number };
export type TestStorageOptions = Partial<StorageOptions> & { readonly poolPages?: number };

const DEFAULTS = {
  pageSize: TEST_PAGE_SIZE,
  poolPages: 256,
  redoLogBytes: 1 << 20,
  background: 'manual',
} as const;

function resolved<T extends { readonly poolPages?: number; readonly pageSize?: number }>(
  options: T,
): Omit<T, 'poolPages'> & { pageSize: number; bufferPoolBytes: number } {
  const { poolPages = DEFAULTS.poolPages, ...rest } = options;
  const pageSize = rest.pageSize ?? DEFAULTS.pageSize;
  return {
    pageSize,
    bufferPoolBytes: poolPages * pageSize,
    redoLogBytes: DEFAULTS.redoLogBytes,
    background: DEFAULTS.background,
    clock: new ManualClock(),
    ...rest,
  };
}

/** The options of a test database on `vfs` (a fresh ManualClock each time). */
export function testDatabaseOptions(vfs: Vfs, options: TestDatabaseOptions = {}): DatabaseOptions {
  return { vfs, ...resolved(options) };
}

/** The options of a test storage core on `vfs` (a fresh ManualClock each time). */
export function testStorageOptions(vfs: Vfs, options: TestStorageOptions = {}): StorageOptions {
  return { vfs, ...resolved(options) };
}

/** Opens (or recovers) a test database; `seams` switch a rule off (row-seams.ts, StorageTestSeams). */
export function openTestDatabase(
  vfs: Vfs = new MemoryVfs(),
  options: TestDatabaseOptions = {},
  seams: DatabaseTestSeams = {},
): Promise<Database> {
  return openDatabaseWithTestSeams(testDatabaseOptions(vfs, options), seams);
}

/**
 * Opens (or recovers) a test database where `options` say: `path` (a directory on disk, through
 * the engine's own NodeVfs and directory lock, as a process that embeds minno opens it) or `vfs`.
 */
export function openTestDatabaseWith(options: TestDatabaseOptions, seams: DatabaseTestSeams = {}): Promise<Database> {
  return openDatabaseWithTestSeams(resolved(options), seams);
}

/** Opens (or recovers) a test storage core. */
export function openTestStorage(
  vfs: Vfs = new MemoryVfs(),
  options: TestStorageOptions = {},
  seams: StorageTestSeams = {},
): Promise<Storage> {
  return openStorageWithTestSeams(testStorageOptions(vfs, options), seams);
}
