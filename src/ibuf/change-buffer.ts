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
import { NIL_PAGE, PageType, pageTypeOf, readU64, writeU32 } from '../page/page.js';
import { SYSTEM_SPACE_ID } from '../page/tablespace.js';
import { allocatePage } from '../page/space-allocator.js';
import { BTree, noteTreeChanged } from '../btree/btree.js';
import type { BTreeCursor } from '../btree/btree-cursor.js';
import { PAGE_INDEX_ID, entryCount, pageCapacity, pageLevel } from '../btree/index-page.js';
import type { Dictionary } from '../dict/dictionary.js';
import { applyIbufOp } from './ibuf-apply.js';
import { BITMAP_BUFFERED, IbufBitmaps, bitmapClassesOf, promisedFreeBytes, promisedRecords } from './ibuf-bitmap.js';
import { FLAG_BITMAP_STALE, IbufHeader } from './ibuf-header.js';
import { PageSummaries, entryKeyString, insertRoomBytes } from './ibuf-page-summary.js';
import {
  IBUF_KEY_BYTES,
  IBUF_OP_COUNT,
  IBUF_OP_NAMES,
  IBUF_VALUE_HEADER_BYTES,
  type IbufOpName,
  type IbufOpValue,
  type IbufRecord,
  addsEntry,
  encodeIbufValue,
  ibufKeyPage,
  ibufKeySpace,
  ibufPagePrefix,
  ibufRecordBytes,
  ibufValueIndexId,
  ibufValueOp,
  removesEntry,
  writeIbufKey,
} from './ibuf-record.js';

/** What `changeBuffering` may be: InnoDB's innodb_change_buffering values we support. */
export const CHANGE_BUFFERING_MODES = ['all', 'inserts', 'none'] as const;
export type ChangeBuffering = (typeof CHANGE_BUFFERING_MODES)[number];
/** The default, as MySQL 8.4's: off, until a measurement says otherwise (see "The default"). */
export const CHANGE_BUFFERING_DEFAULT: ChangeBuffering = 'none';

/** InnoDB's innodb_change_buffer_max_size default: the buffer may take 25% of the pool. */
export const CHANGE_BUFFER_POOL_SHARE = 0.25;
/** The change buffer tree's index id (the dictionary keeps ids below 16 for itself). */
export const IBUF_TREE_INDEX_ID = 2;
/**
 * Records the background task visits per step. It merges nothing while the buffer is below half
 * its cap (a merge costs the page read buffering saved: pages are merged when something reads
 * them), then MERGE_PAGES_HALF_FULL pages per step, MERGE_PAGES_FULL from three quarters on.
 */
const SWEEP_RECORDS_PER_STEP = 1024;
const MERGE_PAGES_HALF_FULL = 1;
const MERGE_PAGES_FULL = 8;
/** Records discarded per mini-transaction. */
const DISCARDS_PER_MTR = 64;

/** Test-only seams (through `openDatabaseWithTestSeams`): each breaks one rule on purpose. */
export interface ChangeBufferSeams {
  /**
   * Seed 004's bug: a merge applies the operations in one mtr and removes the records (and clears
   * BUFFERED) in a second one, run at the next background step, as the bug's second mtr ran after
   * the page latch was released (IBUF-SAME-MTR broken).
   */
  readonly mergeInTwoMtrs?: boolean;
}

export interface ChangeBufferOptions {
  readonly mode: ChangeBuffering;
  /** The cap on the records' bytes (default: 25% of the buffer pool). */
  readonly maxBytes?: number;
  /**
   * Whether row locks let operation `op` on entry `key` of index `indexId` skip the page (an
   * insert or a removal moves the gap locks around its entry: those need the page).
   */
  readonly admits?: (indexId: number, key: Uint8Array, op: IbufOpValue) => boolean;
  readonly seams?: ChangeBufferSeams;
}

type OpCounts = Record<IbufOpName, number>;

export interface ChangeBufferStatus {
  readonly mode: ChangeBuffering;
  /** The cap: buffering stops when the records would take more bytes. */
  readonly maxBytes: number;
  /** Bytes the records take. */
  readonly sizeBytes: number;
  /** Pages with buffered operations. */
  readonly pages: number;
  /** Records in the change buffer, by operation. */
  readonly records: OpCounts;
  /** Since open: operations buffered, pages merged, operations applied and discarded by merges. */
  readonly buffered: OpCounts;
  readonly merges: number;
  readonly merged: OpCounts;
  readonly discarded: OpCounts;
  /**
   * Since open: changes that went to the page because the buffer was full, the page had no room
   * (or too many records), too few entries would surely remain, or row locks need the page.
   */
  readonly refused: { readonly full: number; readonly room: number; readonly records: number; readonly locks: number };
  /** Since open: pages of secondary indexes read from disk, and of those the leaves (what buffering saves). */
  readonly secondaryPageReads: number;
  readonly secondaryLeafReads: number;
  /** Since open: bitmap entries written (BUFFERED bits and the upkeep of free-space classes). */
  readonly bitmapWrites: number;
}

/** What one background step did. */
export interface ChangeBufferStepResult {
  /** Pages merged by reading them, records discarded (dropped tables and indexes). */
  readonly merged: number;
  readonly discarded: number;
}

interface IndexInfo {
  readonly indexId: number;
  readonly spaceId: number;
  readonly rootPageNo: number;
  readonly unique: boolean;
}

interface PageRef {
  readonly spaceId: number;
  readonly pageNo: number;
}

const registry = new WeakMap<Storage, ChangeBuffer>();

function zeroCounts(): OpCounts {
  return Object.fromEntries(IBUF_OP_NAMES.map((name) => [name, 0])) as OpCounts;
}

function indexIdOf(page: Uint8Array): number {
  return readU64(page, PAGE_INDEX_ID);
}

/** The distinct pages of some records. */
function pagesOf(records: readonly IbufRecord[]): PageRef[] {
  const pages = new Map<string, PageRef>();
  for (const record of records) {
    const spaceId = ibufKeySpace(record.key);
    const pageNo = ibufKeyPage(record.key);
    pages.set(`${spaceId}:${pageNo}`, { spaceId, pageNo });
  }
  return [...pages.values()];
}

export class ChangeBuffer implements PageReadHook {
  readonly mode: ChangeBuffering;
  readonly maxBytes: number;
  private readonly storage: Storage;
  private readonly dictionary: Dictionary;
  private readonly ibufTree: BTree;
  private readonly header: IbufHeader;
  private readonly bitmaps: IbufBitmaps;
  private readonly admits: ChangeBufferOptions['admits'];
  private readonly mergeInTwoMtrs: boolean;
  /** The most a page's buffered inserts may take (half a page), and its records: bound a merge. */
  private readonly pageInsertBytesMax: number;
  private readonly pageRecordsMax: number;
  private indexes = new Map<number, IndexInfo>();
  private indexesVersion = -1;
  /** IB8: set while the change buffer changes its own structures. */
  private busy = false;
  /** Where the background sweep goes on from (a record key), or undefined: from the start. */
  private sweepFrom: Uint8Array | undefined;
  /**
   * The sweep's lap (start of the tree to its end): the dictionary version it started at, the
   * records it found to discard, and the version at which a whole lap found none (-1: not yet).
   */
  private readonly sweep = { version: -1, discards: 0, cleanAt: -1 };
  /** TEST ONLY (mergeInTwoMtrs): the second mtr of merges, waiting for the next background step. */
  private readonly deferred: IbufRecord[] = [];
  private readonly keyScratch = new Uint8Array(IBUF_KEY_BYTES);
  /** What is buffered for each page, summed (IB3, IB4 without a scan; IB10). */
  private readonly summaries = new PageSummaries((spaceId, pageNo) => this.recordsOf(spaceId, pageNo));
  private readonly stats = {
    buffered: zeroCounts(),
    merges: 0,
    merged: zeroCounts(),
    discarded: zeroCounts(),
    refused: { full: 0, room: 0, records: 0, locks: 0 },
    secondaryPageReads: 0,
    secondaryLeafReads: 0,
  };

  private constructor(
    storage: Storage,
    dictionary: Dictionary,
    tree: BTree,
    header: IbufHeader,
    options: ChangeBufferOptions,
  ) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.ibufTree = tree;
    this.header = header;
    this.bitmaps = new IbufBitmaps(storage);
    this.mode = options.mode;
    this.maxBytes =
      options.maxBytes ?? Math.floor(storage.pool.frameCount * storage.pageSize * CHANGE_BUFFER_POOL_SHARE);
    this.admits = options.admits;
    this.mergeInTwoMtrs = options.seams?.mergeInTwoMtrs === true;
    const capacity = pageCapacity(storage.pageSize);
    this.pageInsertBytesMax = Math.floor(capacity / 2);
    this.pageRecordsMax = Math.max(16, Math.floor(capacity / 64));
  }

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

  /** Removes a record and takes it off the counts (the caller writes the header in the same mtr). */
  private removeRecord(mtr: MiniTransaction, record: IbufRecord): void {
    this.summaries.forget(ibufKeySpace(record.key), ibufKeyPage(record.key)); // IB10
    assert(this.ibufTree.delete(mtr, record.key), 'IB2 a record being merged or discarded is in the change buffer');
    this.header.records[record.op]!--;
    this.header.bytes -= ibufRecordBytes(record.entryKey.length);
  }

  // ------------------------------------------------------------------ background work

  /** Pages a background step merges by default: by how full the buffer is (see SWEEP_RECORDS_PER_STEP). */
  private mergePagesPerStep(): number {
    // Buffering off: nothing more comes in, so what earlier opens buffered drains steadily.
    if (this.mode === 'none') return MERGE_PAGES_HALF_FULL;
    const fill = this.header.bytes / this.maxBytes;
    return fill < 0.5 ? 0 : fill < 0.75 ? MERGE_PAGES_HALF_FULL : MERGE_PAGES_FULL;
  }

  /**
   * One bounded slice of background work (ibuf_merge_in_background): visits up to
   * SWEEP_RECORDS_PER_STEP records from where the last step stopped, discards those of dropped
   * tables and indexes, and merges by reading them the `pagesMax` pages with the most records
   * among those it met (the most work saved per page read).
   */
  backgroundStep(pagesMax = this.mergePagesPerStep()): ChangeBufferStepResult {
    this.runDeferred();
    if (this.header.recordCount === 0) return { merged: 0, discarded: 0 };
    // Nothing to merge, and a whole lap of the sweep found nothing to discard since the dictionary
    // last changed: every record names a live index (only `buffer` adds records, for live ones).
    if (pagesMax === 0 && this.sweep.cleanAt === this.dictionary.version) return { merged: 0, discarded: 0 };
    const toDiscard: IbufRecord[] = [];
    const pages = new Map<number, PageRef & { records: number }>();
    const cursor = this.ibufTree.cursor();
    const view = cursor.view;
    let visited = 0;
    /** Visits the record under the cursor, in place (no copy unless it is to be discarded). */
    const visit = (): void => {
      const spaceId = ibufKeySpace(view.page, view.keyOffset);
      const pageNo = ibufKeyPage(view.page, view.keyOffset);
      if (
        !this.storage.spaces.exists(spaceId) ||
        this.indexInfo(ibufValueIndexId(view.page, view.valueOffset)) === undefined
      ) {
        toDiscard.push(this.recordAt(cursor));
        return;
      }
      const id = spaceId * 4294967296 + pageNo;
      const page = pages.get(id);
      if (page === undefined) pages.set(id, { spaceId, pageNo, records: 1 });
      else page.records++;
    };
    // From where the last step stopped to the end, then from the start up to there.
    const from = this.sweepFrom;
    const version = this.dictionary.version;
    if (from === undefined) this.startSweepLap(version);
    let last: Uint8Array | undefined;
    for (let on = from === undefined ? cursor.first() : cursor.seek(from, 'ge'); on; on = cursor.next()) {
      visit();
      if (++visited >= SWEEP_RECORDS_PER_STEP) {
        last = cursor.key();
        break;
      }
    }
    if (visited < SWEEP_RECORDS_PER_STEP) {
      // The end of the tree: the lap is over; clean if nothing it met was to be discarded.
      if (this.sweep.version === version && this.sweep.discards + toDiscard.length === 0) this.sweep.cleanAt = version;
      if (from !== undefined) {
        this.startSweepLap(version);
        const lapStart = toDiscard.length;
        for (let on = cursor.first(); on; on = cursor.next()) {
          if (cursor.compareKey(from) >= 0) break;
          visit();
          if (++visited >= SWEEP_RECORDS_PER_STEP) {
            last = cursor.key();
            break;
          }
        }
        this.sweep.discards -= lapStart; // only the new lap's discards count against it (below)
      }
    }
    this.sweep.discards += toDiscard.length;
    this.sweepFrom = last === undefined ? undefined : keyAfter(last);
    const discarded = this.discard(toDiscard);
    let merged = 0;
    const pool = this.storage.pool;
    const chosen = [...pages.values()].sort((a, b) => b.records - a.records).slice(0, pagesMax);
    for (const { spaceId, pageNo } of chosen) {
      const frame = pool.lookup(spaceId, pageNo);
      if (frame >= 0 && !pool.awaitsReadHook(frame)) continue; // in use already: only the split-merge seam
      const before = this.stats.merges;
      pool.unfix(pool.fix(spaceId, pageNo)); // the read hook merges it, in its own mtr (none is active)
      merged += this.stats.merges - before;
    }
    return { merged, discarded };
  }

  private startSweepLap(version: number): void {
    this.sweep.version = version;
    this.sweep.discards = 0;
  }

  /** The record under `cursor`, copied out. */
  private recordAt(cursor: BTreeCursor): IbufRecord {
    const view = cursor.view;
    const value = view.page;
    const at = view.valueOffset;
    return {
      key: cursor.key(),
      op: ibufValueOp(value, at),
      indexId: ibufValueIndexId(value, at),
      entryKey: value.slice(at + IBUF_VALUE_HEADER_BYTES, at + view.valueLength),
    };
  }

  /** Merges or discards every record (`db.mergeChangeBuffer()`, InnoDB's slow shutdown); returns the pages merged. */
  mergeAll(): number {
    let merged = 0;
    for (let rounds = 0; this.header.recordCount > 0 || this.deferred.length > 0; rounds++) {
      assert(rounds < 1_000_000, 'the change buffer empties');
      merged += this.backgroundStep(64).merged;
    }
    return merged;
  }

  /** A table's space was dropped: its records go (the bitmap went with the space). */
  discardSpace(spaceId: number): void {
    this.bitmaps.forget(spaceId);
    const prefix = new Uint8Array(4);
    writeU32(prefix, 0, spaceId);
    const records: IbufRecord[] = [];
    for (const record of this.scanFrom(prefix)) {
      if (ibufKeySpace(record.key) !== spaceId) break;
      records.push(record);
    }
    this.discard(records);
  }

  /**
   * Removes records unapplied (a dropped table or index), in mtrs of DISCARDS_PER_MTR; a page
   * losing its last record loses BUFFERED in the same mtr when its space still exists (IB1).
   */
  private discard(records: readonly IbufRecord[]): number {
    for (let at = 0; at < records.length; at += DISCARDS_PER_MTR) {
      const batch = records.slice(at, at + DISCARDS_PER_MTR);
      this.inOwnMtr((mtr) => {
        for (const record of batch) {
          this.removeRecord(mtr, record);
          this.stats.discarded[IBUF_OP_NAMES[record.op]!]++;
        }
        this.clearBufferedIfDone(mtr, pagesOf(batch));
      });
    }
    return records.length;
  }

  /** TEST ONLY (mergeInTwoMtrs): the second mtr of seed 004's split merge. */
  private runDeferred(): void {
    if (this.deferred.length === 0) return;
    const records = new Map(this.deferred.splice(0).map((record) => [entryKeyString(record.key), record]));
    this.inOwnMtr((mtr) => {
      const removed = [...records.values()].filter((record) => this.ibufTree.find(record.key));
      for (const record of removed) this.removeRecord(mtr, record);
      const pool = this.storage.pool;
      for (const { spaceId, pageNo } of pagesOf(removed)) {
        const frame = pool.lookup(spaceId, pageNo);
        if (frame < 0 || this.hasRecords(spaceId, pageNo)) continue;
        const entry = this.bitmaps.read(spaceId, pageNo);
        this.bitmaps.write(mtr, spaceId, pageNo, bitmapClassesOf(pool.frames[frame]!) | (entry & BITMAP_BUFFERED));
      }
      this.clearBufferedIfDone(mtr, pagesOf(removed));
    });
  }

  /**
   * IB1 after records of some pages were removed outside a merge: each of those pages left without
   * records loses its BUFFERED bit in `mtr` (if its space lives); then the header is written.
   */
  private clearBufferedIfDone(mtr: MiniTransaction, pages: readonly PageRef[]): void {
    for (const { spaceId, pageNo } of pages) {
      if (this.hasRecords(spaceId, pageNo)) continue;
      this.header.pages--;
      if (this.storage.spaces.exists(spaceId))
        this.bitmaps.write(mtr, spaceId, pageNo, this.bitmaps.read(spaceId, pageNo) & ~BITMAP_BUFFERED);
    }
    this.header.write(mtr);
  }

  /** Runs `fn` as the change buffer's own work in a new mtr (no mtr may be active). */
  private inOwnMtr(fn: (mtr: MiniTransaction) => void): void {
    const mtr = this.storage.startMtr();
    this.busy = true;
    try {
      fn(mtr);
    } catch (error) {
      if (mtr.redoBytes === 0) mtr.abort();
      throw error;
    } finally {
      this.busy = false;
    }
    mtr.commit();
  }

  // ------------------------------------------------------------------ reading the tree

  /** The records of page (space, page), in counter order. */
  private *recordsOf(spaceId: number, pageNo: number): Generator<IbufRecord> {
    for (const record of this.scanFrom(ibufPagePrefix(spaceId, pageNo))) {
      if (ibufKeySpace(record.key) !== spaceId || ibufKeyPage(record.key) !== pageNo) return;
      yield record;
    }
  }

  private hasRecords(spaceId: number, pageNo: number): boolean {
    for (const _ of this.recordsOf(spaceId, pageNo)) return true;
    return false;
  }

  /** Every record from `from` on (the first key >= it), copied out. */
  private *scanFrom(from: Uint8Array | undefined): Generator<IbufRecord> {
    const cursor = this.ibufTree.cursor();
    for (let on = from === undefined ? cursor.first() : cursor.seek(from, 'ge'); on; on = cursor.next())
      yield this.recordAt(cursor);
  }

  // ------------------------------------------------------------------ the dictionary's indexes

  /** A live secondary index by id (the dictionary's 'ready' and 'building' ones), or undefined. */
  private indexInfo(indexId: number): IndexInfo | undefined {
    if (this.indexesVersion !== this.dictionary.version) {
      const indexes = new Map<number, IndexInfo>();
      for (const table of this.dictionary.tables()) {
        for (const index of table.indexes) {
          indexes.set(index.id, {
            indexId: index.id,
            spaceId: table.spaceId,
            rootPageNo: index.rootPageNo,
            unique: index.unique,
          });
        }
      }
      this.indexes = indexes;
      this.indexesVersion = this.dictionary.version;
    }
    return this.indexes.get(indexId);
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

  // ------------------------------------------------------------------ status and checks

  status(): ChangeBufferStatus {
    const header = this.header;
    const records = zeroCounts();
    for (let op = 0; op < IBUF_OP_COUNT; op++) records[IBUF_OP_NAMES[op]!] = header.records[op]!;
    return {
      mode: this.mode,
      maxBytes: this.maxBytes,
      sizeBytes: header.bytes,
      pages: header.pages,
      records,
      buffered: { ...this.stats.buffered },
      merges: this.stats.merges,
      merged: { ...this.stats.merged },
      discarded: { ...this.stats.discarded },
      refused: { ...this.stats.refused },
      secondaryPageReads: this.stats.secondaryPageReads,
      secondaryLeafReads: this.stats.secondaryLeafReads,
      bitmapWrites: this.bitmaps.writes,
    };
  }

  /**
   * Checks the change buffer as it stands, before anything reads the pages it has operations for
   * (reading merges them): its tree (BT1-BT9), IB9 against a recount, IB6, IB1 both ways, IB3
   * against each page's bitmap entry, and IB2's "no page in use in the pool has records".
   */
  validate(): void {
    this.ibufTree.check();
    const header = this.header;
    const records = new Array<number>(IBUF_OP_COUNT).fill(0);
    let bytes = 0;
    const pages = new Map<string, PageRef & { insertBytes: number }>();
    for (const record of this.scanFrom(undefined)) {
      assert(record.op < IBUF_OP_COUNT, () => `IB6 a change-buffer record holds a known operation, found ${record.op}`);
      records[record.op]!++;
      bytes += ibufRecordBytes(record.entryKey.length);
      const spaceId = ibufKeySpace(record.key);
      const pageNo = ibufKeyPage(record.key);
      const id = `${spaceId}:${pageNo}`;
      let page = pages.get(id);
      if (page === undefined) pages.set(id, (page = { spaceId, pageNo, insertBytes: 0 }));
      if (addsEntry(record.op)) page.insertBytes += insertRoomBytes(record.entryKey.length);
    }
    assert(
      records.every((n, op) => n === header.records[op]) && bytes === header.bytes && pages.size === header.pages,
      () =>
        `IB9 the change buffer header counts ${JSON.stringify({ records: header.records, bytes: header.bytes, pages: header.pages })} equal a recount ${JSON.stringify({ records, bytes, pages: pages.size })}`,
    );
    const pool = this.storage.pool;
    for (const { spaceId, pageNo, insertBytes } of pages.values()) {
      if (!this.storage.spaces.exists(spaceId)) continue;
      const entry = this.bitmaps.read(spaceId, pageNo);
      assert(
        (entry & BITMAP_BUFFERED) !== 0,
        `IB1 page ${spaceId}:${pageNo} has buffered operations: its BUFFERED bit is set`,
      );
      assert(
        insertBytes <= promisedFreeBytes(entry, this.storage.pageSize),
        `IB3 the inserts buffered for page ${spaceId}:${pageNo} (${insertBytes} bytes) fit the room its bitmap promises`,
      );
      const frame = pool.lookup(spaceId, pageNo);
      assert(
        this.mergeInTwoMtrs || frame < 0 || pool.awaitsReadHook(frame),
        `IB2 page ${spaceId}:${pageNo} is in use in the buffer pool with operations not merged into it`,
      );
    }
    for (const { spaceId, pageNo, summary, recount } of this.summaries.cached()) {
      assert(
        summary.records === recount.records &&
          summary.insertBytes === recount.insertBytes &&
          sameKeys(summary.present, recount.present) &&
          sameKeys(summary.removed, recount.removed),
        () => `IB10 the summary of page ${spaceId}:${pageNo} equals a recount of its records`,
      );
    }
    for (const table of this.dictionary.tables()) {
      if (!this.storage.spaces.exists(table.spaceId)) continue;
      for (const [pageNo, entry] of this.bitmaps.entries(table.spaceId)) {
        if ((entry & BITMAP_BUFFERED) === 0) continue;
        assert(
          pages.has(`${table.spaceId}:${pageNo}`),
          `IB1 page ${table.spaceId}:${pageNo} has its BUFFERED bit set: the change buffer has operations for it`,
        );
      }
    }
  }

  /** After every leaf of every live index was read (the checker's walk): no live index has records left. */
  validateMerged(): void {
    if (this.mergeInTwoMtrs) return;
    for (const record of this.scanFrom(undefined)) {
      const spaceId = ibufKeySpace(record.key);
      const live = this.storage.spaces.exists(spaceId) && this.indexInfo(record.indexId) !== undefined;
      assert(
        !live,
        () =>
          `IB2 page ${spaceId}:${ibufKeyPage(record.key)} was read, yet index ${record.indexId} still has an operation buffered for it`,
      );
    }
  }

  /** The operations buffered for a page, in the order they will be applied (tests and tools). */
  operationsOf(spaceId: number, pageNo: number): IbufOpName[] {
    return [...this.recordsOf(spaceId, pageNo)].map((record) => IBUF_OP_NAMES[record.op]!);
  }

  /** The change buffer tree's pages (a walk: for benchmarks and tools, not the hot path). */
  treePages(): number {
    return this.ibufTree.check().pages;
  }
}

function sameKeys(a: ReadonlySet<string> | undefined, b: ReadonlySet<string> | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  if (a.size !== b.size) return false;
  for (const key of a) if (!b.has(key)) return false;
  return true;
}

/** The smallest key after `key` (where the next sweep starts). */
function keyAfter(key: Uint8Array): Uint8Array {
  const next = new Uint8Array(key.length + 1);
  next.set(key);
  return next;
}
