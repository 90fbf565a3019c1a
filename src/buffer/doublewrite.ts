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
 * Where we differ from InnoDB: one file, one batch at a time (we are single-threaded, so there is
 * never a second batch in flight). Like MariaDB (MDEV-11799), recovery uses a copy only when it
 * is valid and not newer than the end of the recovered log, and a bad copy is simply ignored.
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
  /** True between a batch's durable write and the sync of its in-place writes (D2). */
  private batchPending = false;

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
    assert(!this.batchPending, 'D2 previous doublewrite batch written in place and synced before the next');
    assert(count > 0 && count <= this.slots, `doublewrite batch of ${count} fits ${this.slots} slots`);
    const file = this.handle();
    file.write(images.subarray(0, count * this.pageSize), 0);
    file.datasync();
    this.batchPending = true;
  }

  /** Called once the batch's in-place writes are durable (D2). */
  batchDone(): void {
    this.batchPending = false;
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
  }
}
