/**
 * A `Storage` opened for a benchmark: on `NodeVfs` in a scratch directory of the real disk (or on
 * `MemoryVfs`, to separate CPU from I/O), with background work in `manual` mode so that nothing
 * runs unless the workload says so, and with pages allocated up front.
 */
import type { Clock } from '../../src/util/clock.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import { Storage, type StorageOptions } from '../../src/core/storage.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { PageType } from '../../src/page/page.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

export type VfsKind = 'node' | 'memory';

/** The tablespace the workloads write to. */
export const BENCH_SPACE_ID = 1;

export interface FixtureOptions {
  readonly vfs: VfsKind;
  readonly pageSize: number;
  readonly bufferPoolBytes: number;
  readonly redoLogBytes?: number;
  readonly clock?: Clock;
}

export class StorageFixture {
  readonly vfs: Vfs;
  storage: Storage;
  private readonly options: StorageOptions;
  private readonly dir: TempDir | undefined;

  private constructor(vfs: Vfs, dir: TempDir | undefined, options: StorageOptions, storage: Storage) {
    this.vfs = vfs;
    this.dir = dir;
    this.options = options;
    this.storage = storage;
  }

  /** Creates a database with the bench tablespace in it. */
  static async create(options: FixtureOptions): Promise<StorageFixture> {
    const dir = options.vfs === 'node' ? makeTempDir() : undefined;
    try {
      const vfs = dir === undefined ? new MemoryVfs() : new NodeVfs(dir.path);
      const storageOptions: StorageOptions = {
        vfs,
        pageSize: options.pageSize,
        bufferPoolBytes: options.bufferPoolBytes,
        background: 'manual',
        ...(options.redoLogBytes === undefined ? {} : { redoLogBytes: options.redoLogBytes }),
        ...(options.clock === undefined ? {} : { clock: options.clock }),
      };
      const storage = await Storage.open(storageOptions);
      storage.createSpace(BENCH_SPACE_ID);
      return new StorageFixture(vfs, dir, storageOptions, storage);
    } catch (error) {
      dir?.remove();
      throw error;
    }
  }

  /** Opens the database again (after `abandon`, this is crash recovery). */
  async reopen(): Promise<Storage> {
    if (!this.storage.isClosed) await this.storage.close();
    this.storage = await Storage.open(this.options);
    return this.storage;
  }

  /** Closes the storage (cleanly unless it was abandoned) and removes the scratch directory. */
  async dispose(): Promise<void> {
    try {
      if (!this.storage.isClosed) await this.storage.close();
    } finally {
      this.dir?.remove();
    }
  }
}

/** Runs `body` on a new fixture and disposes of it afterwards. */
export async function withFixture<T>(
  options: FixtureOptions,
  body: (fixture: StorageFixture) => Promise<T>,
): Promise<T> {
  const fixture = await StorageFixture.create(options);
  try {
    return await body(fixture);
  } finally {
    await fixture.dispose();
  }
}

/**
 * Allocates `count` pages in the bench tablespace, then flushes every page and checkpoints, so
 * the workload starts from a clean pool and a short log. Returns the page numbers.
 * `onMtr` is called after each mini-transaction (the RSS workload samples there).
 */
export function allocatePages(storage: Storage, count: number, onMtr?: () => void): number[] {
  const pageNos: number[] = [];
  const perMtr = 8;
  while (pageNos.length < count) {
    const mtr = storage.startMtr();
    for (let i = 0; i < perMtr && pageNos.length < count; i++) {
      pageNos.push(allocatePage(mtr, BENCH_SPACE_ID, PageType.Raw).pageNo);
    }
    mtr.commit();
    onMtr?.();
  }
  storage.pool.flushAll();
  storage.checkpoint();
  return pageNos;
}
