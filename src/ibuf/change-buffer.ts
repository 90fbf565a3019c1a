/**
 * The change buffer: changes to secondary-index leaves that are not in the buffer pool are
 * recorded instead of reading the page, and applied when the page is next read.
 *
 * InnoDB counterpart: `ibuf/ibuf0ibuf.cc` (ibuf_insert, ibuf_merge_or_delete_for_page,
 * ibuf_merge_in_background, ibuf_delete_for_discarded_space) with the `innodb_change_buffering`
 * and `innodb_change_buffer_max_size` settings. Seed 004 (MySQL bug 66819 / 16183892): a merge
 * applied buffered operations to a page in one mini-transaction and removed the buffered records
 * in another; a crash in between applied them again after the restart.
 *
 * ## What is buffered
 * A change (`changeSecondary` in row/index-write.ts: insert, delete-mark, purge, and the unmark,
 * marked insert and removal that rollback and index builds make) to a leaf of a non-unique
 * secondary index whose page is not in the buffer pool, when the mode admits it ('all', or
 * 'inserts' for the two inserting operations), the row locks let it skip the page (the `admits`
 * gate: no gap-covering lock in the index for an insert, no lock on the entry for a removal,
 * InnoDB's lock_rec_expl_exist_on_page test), the buffer is below its cap (25% of the pool by
 * default), and the page's bitmap entry (ibuf-bitmap.ts) says the change is safe: an insert only
 * if the free space it promises covers this insert plus every insert already buffered for the
 * page (IB3), a removal only if at least two entries surely remain after it and everything
 * buffered before it (IB4). The leaf's page number comes from its parent, one level up
 * (`BTree.leafPageNoFor`), so the leaf is never read. Unique indexes are never buffered: their
 * duplicate check needs the page.
 *
 * A buffered change is a record in the change buffer's B-tree in the system tablespace, keyed by
 * (space, page, counter) (ibuf-record.ts), written with the page's BUFFERED bit and the header's
 * counts in the caller's mini-transaction, the one that changes the row.
 *
 * ## Merge
 * Every page read from disk goes through the buffer pool's read hook before anyone uses it (B8 of
 * buffer-pool.ts); for a leaf whose BUFFERED bit is set, `afterRead` applies its records in
 * counter order (ibuf-apply.ts), removes each from the change buffer, rewrites the page's bitmap
 * entry with BUFFERED clear and updates the header counts: all in ONE mini-transaction (rule
 * IBUF-SAME-MTR). A record in the tree is therefore always one still to apply; InnoDB's other
 * form of the rule (mark the record processed in that mtr, remove it later, skip marked records
 * at merge) exists for its purge merge, which must commit between the two (ibuf-record.ts); ours
 * never must. The background task (`backgroundStep`, stepped by `db.runBackgroundWork()` like
 * purge) merges a few pages per step by reading them, and discards the records of dropped tables
 * and indexes; a dropped index's pages are also cleared as its drop reads them to free them.
 *
 * ## Which mini-transaction merges: the caller's (the decision T2 asks for)
 * At most one mtr is active (T2 of mtr.ts), and a page is read when something fixes it: a read
 * with no mtr (a cursor, a point lookup, the checker), or an mtr's `getPage` in the middle of a
 * write (a tree descent, a sibling in a page merge). We merge:
 *  - inside the active mtr when there is one (`storage.activeMtr`): the page changes, the record
 *    removals, the bitmap and the counts become part of that mtr's redo group, so recovery applies
 *    the caller's change and the merge together or neither;
 *  - in an mtr of its own, committed before the read returns, when none is active.
 * Merging *before* the caller's mtr starts cannot work: the caller learns which leaf it needs
 * only while descending inside its mtr. A nested mtr committed ahead of the caller's would have
 * to touch no page the caller has already changed in its own, still uncommitted, group (physical
 * redo replays in log order), and it would: the caller's mtr may have just buffered an operation
 * (the same change-buffer leaf, bitmap page and header) or allocated a page in space 0.
 * What joining asks of the merge, and how it keeps it:
 *  - it must not disturb the caller's own state: it changes only the page being read (nobody has
 *    seen it yet), the change buffer's tree, the bitmap page and the header, never the shape of a
 *    user tree (ibuf-apply.ts: no split, merge or free); the B-tree code fills its page builders
 *    only between page fixes; and it never runs inside a change-buffer operation (IB8);
 *  - it must fit the caller's log reserve (L2 of redo-log.ts): a page's buffered inserts are
 *    capped at half a page and its records at a page's capacity over 64, so a merge adds a few
 *    KiB of redo at most;
 *  - an mtr that merged has written: the caller cannot abort it (C4 of storage.ts). A write's
 *    phase 2 throws only on corruption, which poisons the engine anyway.
 *
 * ## The bitmap is kept where pages change
 * A page's FREE and RECORDS classes must never promise more than the page has (IB5). Every change
 * to a secondary entry goes through `changeSecondary`, which calls `afterDirectChange`: each leaf
 * of that index the mtr has changed so far (a split's new page, a merge's sibling included) gets
 * its classes rewritten when they differ, in that mtr. A merge rewrites its page's entry itself.
 * With the mode 'none' nothing is kept; the header's BITMAP_STALE flag, set durably at such an
 * open, makes the next open with buffering clear the classes of every page without buffered
 * changes first (pages then earn them back as they change; a page with buffered changes has not
 * changed since its entry was written).
 *
 * ## The default: 'none', as MySQL 8.4's, and what would change it
 * MySQL 8.4 turned change buffering off and MariaDB removed it; `bench/change-buffer.bench.ts`
 * answers their objections with 'all' against 'none' in the same run, data ten times the pool
 * (sysbench's sbtest and k_idx). Indicative figures of a development run, not of the quiet
 * machine the coordinator measures on (40,000 rows, 16 KiB pages, a 1 MiB pool, NodeVfs with the
 * files in the OS page cache, a shared 2-core machine; insert / update-index):
 *  - recovery bugs: the merge is one mtr by construction; the crash tests pass at every write and
 *    sync, and the split merge of seed 004 is caught at their 10th crash point and at the first
 *    simulator seed. Recovery does not merge: 119 ms against 60 ms here, the difference being
 *    the extra redo since the checkpoint; merging the whole full buffer afterwards took 57 ms.
 *  - write amplification: redo +5% / +69% per operation (the record, the header, the bitmap),
 *    page bytes written -19% / -13% (secondary leaves stay clean): fewer bytes in all.
 *  - bitmap upkeep: 16 / 150 bitmap entries written per 1000 operations, inside the redo above;
 *    none with 'none'.
 *  - gains of a few percent: secondary leaf reads went from 144 to 0 and from 1306 to 76 per
 *    1000 operations (cut 17x and more), but throughput only 1.33x / 1.27x: a read from the OS
 *    page cache is cheap next to the fdatasyncs of page flushes, which take most of this engine's
 *    write path (60% of a profile). Not answered: hence the default.
 *  - a tablespace that only grows: the tree's pages return to the system tablespace's free list
 *    as records go and are reused; the file grew 48 KiB / +240 KiB over 'none' (its undo grows
 *    too), under a buffer capped at 25% of the pool (42 KiB and 143 KiB steady of 256 KiB).
 * Set CHANGE_BUFFERING_DEFAULT to 'all' when the full-scale figures on a quiet machine (or a disk
 * whose reads are not in the page cache) show the 2x the issue asks for.
 *
 * ## Where the time goes (CPU profiles of the quick bench, 150,000 rows, a 4 MiB pool)
 * In both modes 40-50% of an operation's time is fdatasync: the page cleaner's slice every 50
 * operations (a flush batch and a checkpoint) and the flushes that free frames for eviction; page
 * reads (pread from the OS page cache, checksum, hook) take 7-13%. The reads buffering saves are a
 * part of those: a page read here costs 35-90 us, while buffering one operation cost 45 us of its
 * own (the change buffer's tree insert, bitmap, header and their redo; the descent to level 1 both
 * modes pay). oltp_update_index buffers three operations per update (delete-mark, insert, purge)
 * to save 0.75 leaf reads: it loses, as measured (0.61x); oltp_insert saves 0.08 reads per insert
 * (the index of k is small at this scale): at most a few percent either way (0.99x). Before the
 * per-page summaries (ibuf-page-summary.ts), the IB3/IB4 check scanned every record buffered for
 * the page at each operation: a fifth of update_index's time, now 1.5 us an operation. (Figures
 * of a loaded shared machine: proportions, not speeds.)
 * Buffering pays when a page read costs about what an operation costs: 2x needs each avoided leaf
 * read to cost half an operation's time divided by the leaf reads saved per operation (~1.8 ms
 * for update_index here: 2.65 ms an operation, 0.75 reads), a spinning disk or a cold network
 * volume, not the OS page cache (nor an NVMe drive's ~0.1 ms).
 *
 * ## Read-only opens
 * A merge writes pages, which a read-only open may not (RO2 of core/read-only-open.ts), and a
 * page read without its buffered changes would show readers entries that are not there or miss
 * some. So a read-only open of a database whose change buffer holds records is refused with
 * ERR_RECOVERY_NEEDED, as for crash recovery and for the same reason (merging in memory only would
 * pin every merged page in the pool, never flushed). The cure is InnoDB's own recipe for read-only
 * media (buffering off, then a slow shutdown): `db.mergeChangeBuffer()` in a read-write open
 * empties the buffer, and with `changeBuffering: 'none'` the background task drains it anyway, a
 * page per step. An empty change buffer makes no difference to a read-only open: nothing is
 * buffered (nothing is written) and the bitmap's trust flag is left as it is.
 *
 * ## Where we differ from InnoDB
 *  - The bitmap lives in pages the space allocates on demand (ibuf-bitmap.ts), one byte per page.
 *  - Merges join the mtr of whoever reads the page (above); InnoDB merges in the I/O completion or
 *    in the reader's thread under page latches, in mtrs of its own.
 *  - No ibuf-specific free list: the tree's pages come from and go back to the system
 *    tablespace's free list, so the file grows only to the tree's peak (measured in bench/).
 *
 * ## Files
 * This file buffers operations (their admission, IB3/IB4), keeps the bitmap (IB5) and merges on
 * read (IB1, IB2, IB8); the class is layered over change-buffer-state.ts (the shared fields, the
 * reads and removals of records), change-buffer-checks.ts (status, `validate`: IB1-IB3, IB6, IB9,
 * IB10) and change-buffer-sweep.ts (the background sweep, discards, `mergeAll`).
 *
 * ## Invariants (IBn; checked by `validate` and at the assertions that cite them)
 *  IB1. A page's BUFFERED bit is set exactly when the change buffer holds records for it; the bit
 *       changes in the mtr that adds its first record or removes its last (bug class 8,
 *       MDEV-20934).
 *  IB2. A page's records are applied in counter order, each exactly once: removed in the mtr that
 *       applies it (IBUF-SAME-MTR, seed 004); a page in use in the pool has no records.
 *  IB3. The inserts buffered for a page fit in the free space its bitmap entry promises.
 *  IB4. After every buffered removal at least two entries surely remain on the page: a merge never
 *       empties a page (bug class 7).
 *  IB5. A page's bitmap classes never promise more free space or entries than it has.
 *  IB6. A record names the index of its page and a known operation.
 *  IB7. (debug) A buffered insert never finds its entry live: that would be a second application.
 *  IB8. No merge starts inside a change-buffer operation or another merge.
 *  IB9. The header's counts equal a recount of the records.
 *  IB10. The in-memory summary of a page (ibuf-page-summary.ts: what IB3 and IB4 check a new
 *       operation against) equals a recount of its records.
 */
import { assert } from '../util/assert.js';
import { RecoveryNeededError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import type { PageReadHook } from '../buffer/buffer-pool.js';
import { NIL_PAGE, PageType, pageTypeOf, readU64 } from '../page/page.js';
import { SYSTEM_SPACE_ID } from '../page/tablespace.js';
import { allocatePage } from '../page/space-allocator.js';
import { BTree, noteTreeChanged } from '../btree/btree.js';
import { PAGE_INDEX_ID, entryCount, pageLevel } from '../btree/index-page.js';
import type { Dictionary } from '../dict/dictionary.js';
import { applyIbufOp } from './ibuf-apply.js';
import { BITMAP_BUFFERED, bitmapClassesOf, promisedFreeBytes, promisedRecords } from './ibuf-bitmap.js';
import { FLAG_BITMAP_STALE, IbufHeader } from './ibuf-header.js';
import { entryKeyString, insertRoomBytes } from './ibuf-page-summary.js';
import {
  IBUF_KEY_BYTES,
  IBUF_OP_NAMES,
  type IbufOpValue,
  type IbufRecord,
  addsEntry,
  encodeIbufValue,
  ibufRecordBytes,
  removesEntry,
  writeIbufKey,
} from './ibuf-record.js';
import { type ChangeBufferOptions, IBUF_TREE_INDEX_ID } from './change-buffer-state.js';
import { ChangeBufferSweep } from './change-buffer-sweep.js';

export {
  CHANGE_BUFFERING_DEFAULT,
  CHANGE_BUFFERING_MODES,
  CHANGE_BUFFER_POOL_SHARE,
  type ChangeBuffering,
  type ChangeBufferOptions,
  type ChangeBufferSeams,
  type ChangeBufferStatus,
  type ChangeBufferStepResult,
  IBUF_TREE_INDEX_ID,
} from './change-buffer-state.js';

const registry = new WeakMap<Storage, ChangeBuffer>();

function indexIdOf(page: Uint8Array): number {
  return readU64(page, PAGE_INDEX_ID);
}

export class ChangeBuffer extends ChangeBufferSweep implements PageReadHook {
  private readonly keyScratch = new Uint8Array(IBUF_KEY_BYTES);

  /**
   * Opens the change buffer of `storage` (creating its header and tree in a database that has
   * none) and installs it as the buffer pool's read hook. Must run before any page of a table is
   * read: the dictionary's clean-up frees trees, and their pages' records go as they are read.
   */
  static open(storage: Storage, dictionary: Dictionary, options: ChangeBufferOptions): ChangeBuffer {
    let header: IbufHeader;
    const pageNo = IbufHeader.find(storage.pool);
    if (pageNo === undefined && storage.readOnly) {
      throw new RecoveryNeededError(
        storage.vfs.location,
        'it was made before the change buffer existed, and a read-write open adds its header page',
      );
    }
    if (pageNo === undefined) {
      const mtr = storage.startMtr();
      const tree = BTree.create(storage, SYSTEM_SPACE_ID, IBUF_TREE_INDEX_ID, mtr);
      const allocated = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.IbufHeader);
      header = IbufHeader.create(mtr, allocated.pageNo, allocated.page, tree.rootPageNo);
      storage.log.flushUpTo(mtr.commit());
    } else {
      header = IbufHeader.read(storage.pool, pageNo);
    }
    if (storage.readOnly && header.recordCount > 0) {
      // A merge writes pages (see "Read-only opens").
      throw new RecoveryNeededError(
        storage.vfs.location,
        `${header.recordCount} buffered secondary-index change(s) are not merged into their pages yet; ` +
          'call db.mergeChangeBuffer() in a read-write open first',
      );
    }
    const tree = BTree.open(storage, SYSTEM_SPACE_ID, header.treeRoot);
    const ibuf = new ChangeBuffer(storage, dictionary, tree, header, options);
    registry.set(storage, ibuf);
    storage.pool.setReadHook(ibuf);
    ibuf.settleBitmapTrust();
    return ibuf;
  }

  /** The change buffer opened on `storage`, if any (`changeSecondary` finds it here). */
  static of(storage: Storage): ChangeBuffer | undefined {
    return registry.get(storage);
  }

  // ------------------------------------------------------------------ buffering (ibuf_insert)

  /**
   * Records `op` on entry `key` of the secondary `tree` instead of changing its leaf, in `mtr`,
   * when the leaf is not in the pool and every rule above allows it. Returns false (nothing
   * changed) when the caller must change the tree itself.
   */
  buffer(mtr: MiniTransaction, tree: BTree, key: Uint8Array, op: IbufOpValue): boolean {
    if (this.mode === 'none' || (this.mode === 'inserts' && !addsEntry(op))) return false;
    const index = this.indexInfo(tree.indexId);
    if (index === undefined || index.unique) return false;
    assert(!this.busy, 'IB8 no change is buffered inside a change-buffer operation');
    if (this.admits !== undefined && !this.admits(tree.indexId, key, op)) {
      this.stats.refused.locks++;
      return false;
    }
    const bytes = ibufRecordBytes(key.length);
    if (this.header.bytes + bytes > this.maxBytes) {
      this.stats.refused.full++;
      return false;
    }
    const spaceId = tree.spaceId;
    const pageNo = tree.leafPageNoFor(key);
    if (pageNo === NIL_PAGE || this.storage.pool.lookup(spaceId, pageNo) >= 0) return false;
    const entry = this.bitmaps.read(spaceId, pageNo);
    if (!this.fits(spaceId, pageNo, entry, key, op)) return false;
    this.busy = true;
    try {
      const header = this.header;
      const counter = header.nextCounter;
      const inserted = this.ibufTree.insert(
        mtr,
        writeIbufKey(this.keyScratch, spaceId, pageNo, counter),
        encodeIbufValue(op, tree.indexId, key),
      );
      assert(inserted, 'IB2 a change-buffer counter is used once');
      this.summaries.noteBuffered(spaceId, pageNo, op, key); // IB10
      header.nextCounter = counter + 1;
      if ((entry & BITMAP_BUFFERED) === 0) {
        this.bitmaps.write(mtr, spaceId, pageNo, entry | BITMAP_BUFFERED); // IB1, same mtr
        header.pages++;
      }
      header.records[op]!++;
      header.bytes += bytes;
      header.write(mtr);
    } finally {
      this.busy = false;
    }
    this.stats.buffered[IBUF_OP_NAMES[op]!]++;
    return true;
  }

  /**
   * IB3 and IB4 for one more operation on the page, against what is buffered for it already (its
   * summary, ibuf-page-summary.ts: no scan of the page's records).
   */
  private fits(spaceId: number, pageNo: number, entry: number, key: Uint8Array, op: IbufOpValue): boolean {
    const removes = removesEntry(op);
    const summary = this.summaries.of(spaceId, pageNo, removes);
    if (summary.records >= this.pageRecordsMax) {
      this.stats.refused.room++;
      return false;
    }
    if (addsEntry(op)) {
      const need = summary.insertBytes + insertRoomBytes(key.length);
      if (need > Math.min(promisedFreeBytes(entry, this.storage.pageSize), this.pageInsertBytesMax)) {
        this.stats.refused.room++;
        return false;
      }
    }
    if (removes) {
      // The page keeps its own entries but those a removal may take, and every surely present one.
      const k = entryKeyString(key);
      const present = summary.present!.size - (summary.present!.has(k) ? 1 : 0);
      const removed = summary.removed!.size + (summary.removed!.has(k) ? 0 : 1);
      if (Math.max(promisedRecords(entry) - removed, present) < 2) {
        this.stats.refused.records++;
        return false;
      }
    }
    return true;
  }

  // ------------------------------------------------------------------ bitmap upkeep

  /**
   * After `changeSecondary` changed `tree` directly in `mtr`: rewrites the bitmap classes of every
   * leaf of that index the mtr has changed so far, where they differ (IB5).
   */
  afterDirectChange(mtr: MiniTransaction, tree: BTree): void {
    if (this.mode === 'none') return; // not kept: BITMAP_STALE is set
    const index = this.indexInfo(tree.indexId);
    if (index === undefined || index.unique) return;
    const pool = this.storage.pool;
    const frames = mtr.modifiedFrames;
    for (let i = 0, n = frames.length; i < n; i++) {
      const frame = frames[i]!;
      if (pool.spaceOf(frame) !== tree.spaceId) continue;
      const pageNo = pool.pageOf(frame);
      const page = pool.frames[frame]!;
      if (
        pageNo === tree.rootPageNo ||
        pageTypeOf(page) !== PageType.Index ||
        pageLevel(page) !== 0 ||
        indexIdOf(page) !== tree.indexId
      ) {
        continue;
      }
      const old = this.bitmaps.read(tree.spaceId, pageNo);
      const entry = bitmapClassesOf(page) | (old & BITMAP_BUFFERED);
      if (entry !== old) this.bitmaps.write(mtr, tree.spaceId, pageNo, entry);
    }
  }

  // ------------------------------------------------------------------ merge (the read hook)

  /** B8: a page came from disk; merge its buffered operations before anyone uses it. */
  afterRead(frame: number, spaceId: number, pageNo: number): void {
    if (spaceId === SYSTEM_SPACE_ID) return;
    const page = this.storage.pool.frames[frame]!;
    if (pageTypeOf(page) !== PageType.Index) return;
    const leaf = pageLevel(page) === 0;
    if (this.indexInfo(indexIdOf(page)) !== undefined) {
      this.stats.secondaryPageReads++;
      if (leaf) this.stats.secondaryLeafReads++;
    }
    if (!leaf || this.header.pages === 0) return;
    if ((this.bitmaps.read(spaceId, pageNo) & BITMAP_BUFFERED) === 0) return;
    this.merge(spaceId, pageNo);
  }

  /**
   * Applies the page's records in the active mtr, or in one of its own when none is active (see
   * "Which mini-transaction merges"), and removes them in that same mtr.
   */
  private merge(spaceId: number, pageNo: number): void {
    assert(!this.busy, 'IB8 no merge starts inside a change-buffer operation or another merge');
    const records = [...this.recordsOf(spaceId, pageNo)];
    const outer = this.storage.activeMtr;
    const mtr = outer ?? this.storage.startMtr();
    this.busy = true;
    try {
      this.mergeIn(mtr, spaceId, pageNo, records);
    } catch (error) {
      if (outer === undefined && mtr.redoBytes === 0) mtr.abort();
      throw error;
    } finally {
      this.busy = false;
    }
    if (outer === undefined) mtr.commit();
  }

  private mergeIn(mtr: MiniTransaction, spaceId: number, pageNo: number, records: readonly IbufRecord[]): void {
    assert(records.length > 0, `IB1 page ${spaceId}:${pageNo} is BUFFERED: the change buffer has operations for it`);
    const page = mtr.getPage(spaceId, pageNo);
    const indexId = indexIdOf(page);
    const index = this.indexInfo(indexId);
    for (const record of records) {
      assert(
        record.indexId === indexId,
        () =>
          `IB6 a change-buffer record for page ${spaceId}:${pageNo} names index ${record.indexId}, the page ${indexId}`,
      );
      const name = IBUF_OP_NAMES[record.op]!;
      if (index !== undefined) {
        applyIbufOp(mtr, page, record.op, record.entryKey);
        this.stats.merged[name]++;
      } else {
        this.stats.discarded[name]++; // the index was dropped: its pages are being freed
      }
    }
    assert(index === undefined || entryCount(page) >= 1, 'IB4 a merge never empties a page');
    const classes = index === undefined ? 0 : bitmapClassesOf(page);
    if (this.mergeInTwoMtrs) {
      // TEST ONLY: seed 004's split merge. The page changed in this mtr; the records, the bitmap
      // entry and the counts wait for the deferred second mtr (`runDeferred`).
      this.deferred.push(...records);
    } else {
      for (const record of records) this.removeRecord(mtr, record); // IBUF-SAME-MTR (IB2)
      this.bitmaps.write(mtr, spaceId, pageNo, classes); // IB1: BUFFERED clear, same mtr
      this.header.pages--;
      this.header.write(mtr);
    }
    if (index !== undefined) noteTreeChanged(this.storage, spaceId, index.rootPageNo);
    this.stats.merges++;
  }

  // ------------------------------------------------------------------ bitmap trust (mode 'none')

  /**
   * With buffering off the bitmap is not kept: mark it stale (durably, before any change). With
   * buffering on after such a run, clear every page's classes first (IB5), one bitmap page per mtr.
   */
  private settleBitmapTrust(): void {
    if (this.storage.readOnly) return; // nothing changes a page: the bitmap stays as trusted as it was
    const header = this.header;
    const stale = (header.flags & FLAG_BITMAP_STALE) !== 0;
    if (this.mode === 'none' ? stale : !stale) return;
    if (this.mode !== 'none') {
      for (const table of this.dictionary.tables()) {
        if (!this.storage.spaces.exists(table.spaceId)) continue;
        for (const bitmapNo of this.bitmaps.bitmapPages(table.spaceId)) {
          this.inOwnMtr((mtr) => this.bitmaps.clearClasses(mtr, table.spaceId, bitmapNo));
        }
      }
    }
    const mtr = this.storage.startMtr();
    header.flags ^= FLAG_BITMAP_STALE;
    header.write(mtr);
    this.storage.log.flushUpTo(mtr.commit());
  }
}
