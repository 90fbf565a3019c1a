/**
 * The doublewrite buffer: torn-page protection for in-place page writes.
 *
 * InnoDB counterpart: `buf/buf0dblwr.cc` (MySQL 8.0.20+ keeps it in `#ib_16384_0.dblwr` files).
 * A page write is not atomic: power can fail after some of its sectors reached the disk, and redo
 * cannot repair such a page, because redo is applied on top of a page that must be whole. So every
 * batch of dirty pages is first written, sealed, to this file and synced; only then are the pages
 * written in place, and the tablespaces synced before the slots are reused by the next batch.
 * After a crash, a page that fails its checksum in its tablespace is restored from a valid copy
 * here (rule TORN), then redo brings it up to date.
 *
 * The file is `doublewrite.dblwr`: `slots` consecutive page images, each a normal sealed page
 * whose own FIL header names its space, page number and LSN. There is no other header: a slot is
 * valid exactly when its page checks out (P1-P4 of page.ts against the ids it names).
 *
 * A batch is written in three steps, so the timers' page cleaner can wait for the syncs off the
 * event loop (buffer-pool.ts, "Asynchronous flush batches"): `writeCopies`, then `syncCopies` or
 * `syncCopiesAsync`, and once the in-place writes are durable, `batchDone`.
 *
 * Where we differ from InnoDB: one file, one batch at a time (InnoDB 8.0.20+ keeps a file per
 * batch type, flush list and LRU, since its cleaners and user threads flush at once; our one
 * batch in flight is finished by any synchronous flush before it starts its own, buffer-pool.ts
 * B11). Like MariaDB (MDEV-11799), recovery uses a copy only when it is valid and not newer than
 * the end of the recovered log, and a bad copy is simply ignored.
 *
 * Invariants:
 *  D1. The copies of a batch are durable (datasync) before any page of the batch is written in
 *      place.
 *  D2. The in-place writes of a batch are durable before the slots are overwritten by the next
 *      batch (the caller syncs the tablespaces before calling `writeBatch` again).
 *  D3. Recovery reads every slot the file holds, not only as many as this open's batch size: the
 *      crashed process may have written larger batches (`flushBatchPages` is an open option).
 */
import { assert } from '../util/assert.js';
import { PageCheck, checkPage, pageLsn, pageNoOf, spaceIdOf } from '../page/page.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';

export const DOUBLEWRITE_FILE = 'doublewrite.dblwr';

export class Doublewrite {
  readonly slots: number;
  readonly pageSize: number;
  private readonly vfs: Vfs;
  private file: VfsFile | undefined;
  /** True from a batch's write until the sync of its in-place writes (D2). */
  private batchPending = false;
  /** True once the pending batch's copies are durable (D1). */
  private copiesSynced = false;
  /** +1 per batch written: an asynchronous sync counts only for the batch it was started for. */
  private generation = 0;

  constructor(vfs: Vfs, pageSize: number, slots: number) {
    this.vfs = vfs;
    this.pageSize = pageSize;
    this.slots = slots;
  }

  private handle(): VfsFile {
    if (this.file === undefined) {
      const existed = this.vfs.stat(DOUBLEWRITE_FILE) !== undefined;
      this.file = this.vfs.open(DOUBLEWRITE_FILE, { create: true });
      if (!existed) this.vfs.syncDir(''); // rule DIR
    }
    return this.file;
  }

  /** Writes `count` sealed page images from `images` (contiguous) and syncs them (D1). */
  writeBatch(images: Uint8Array, count: number): void {
    this.writeCopies(images, count);
    this.syncCopies();
  }

  /** Writes a batch's copies, not yet durable: `syncCopies` or `syncCopiesAsync` comes next. */
  writeCopies(images: Uint8Array, count: number): void {
    assert(!this.batchPending, 'D2 previous doublewrite batch written in place and synced before the next');
    assert(count > 0 && count <= this.slots, `doublewrite batch of ${count} fits ${this.slots} slots`);
    this.handle().write(images.subarray(0, count * this.pageSize), 0);
    this.batchPending = true;
    this.copiesSynced = false;
    this.generation++;
  }

  /**
   * Writes the pending batch's copies again, the same bytes (buffer-pool.ts B12): their
   * asynchronous sync is in flight and may fail, so the synchronous sync that follows must cover
   * writes of its own.
   */
  rewriteCopies(images: Uint8Array, count: number): void {
    assert(this.batchPending && !this.copiesSynced, 'B12 rewriting the copies of the pending batch');
    this.handle().write(images.subarray(0, count * this.pageSize), 0);
  }

  /** Makes the written copies durable (D1). */
  syncCopies(): void {
    assert(this.batchPending, 'D1 copies written before their sync');
    this.handle().datasync();
    this.copiesSynced = true;
  }

  /**
   * `syncCopies` off the event loop (V7 of vfs.ts). The copies count as durable only when it
   * settles, and only if the batch is still the same one (`syncCopies` may have finished it).
   */
  async syncCopiesAsync(): Promise<void> {
    assert(this.batchPending, 'D1 copies written before their sync');
    const generation = this.generation;
    await this.handle().datasyncAsync();
    if (this.batchPending && this.generation === generation) this.copiesSynced = true;
  }

  /** True when the pending batch's copies are durable: its pages may be written in place (D1). */
  get copiesDurable(): boolean {
    return this.batchPending && this.copiesSynced;
  }

  /** Called once the batch's in-place writes are durable (D2). */
  batchDone(): void {
    this.batchPending = false;
    this.copiesSynced = false;
  }

  /**
   * Every valid copy in the file, by (space, page) key, keeping the one with the highest LSN.
   * Copies newer than `lsnMax` (the end of the recovered log) are ignored. Reads the whole file
   * (D3): a batch written by an earlier open may have used more slots than this one has.
   */
  readCopies(lsnMax: number): Map<number, Uint8Array> {
    const copies = new Map<number, Uint8Array>();
    if (this.vfs.stat(DOUBLEWRITE_FILE) === undefined) return copies;
    const file = this.handle();
    const count = Math.floor(file.size() / this.pageSize); // D3
    for (let slot = 0; slot < count; slot++) {
      const image = new Uint8Array(this.pageSize);
      file.read(image, slot * this.pageSize);
      const spaceId = spaceIdOf(image);
      const pageNo = pageNoOf(image);
      if (checkPage(image, spaceId, pageNo) !== PageCheck.Valid) continue;
      const lsn = pageLsn(image);
      if (lsn > lsnMax) continue;
      const key = spaceId * 4294967296 + pageNo;
      const existing = copies.get(key);
      if (existing === undefined || pageLsn(existing) < lsn) copies.set(key, image);
    }
    return copies;
  }

  close(): void {
    this.file?.close();
    this.file = undefined;
    this.batchPending = false;
    this.copiesSynced = false;
  }
}
