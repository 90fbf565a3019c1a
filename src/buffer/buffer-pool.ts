/**
 * The buffer pool: a bounded cache of pages in one preallocated slab.
 *
 * InnoDB counterpart: `buf/buf0buf.cc`, `buf/buf0lru.cc`, `buf/buf0flu.cc`. Frames are the
 * pageSize-sized slices of one ArrayBuffer allocated at open (`poolBytes / pageSize` of them);
 * nothing else grows with the data, so memory stays bounded whatever the database size. Per-frame
 * metadata lives in typed arrays indexed by frame number, and a frame is named by its index: the
 * hit path (`fix` + `unfix`) allocates nothing.
 *
 * ## Lists
 * - free list: frames holding no page.
 * - LRU, InnoDB's midpoint insertion: a page read from disk enters the head of the *old* sublist
 *   (about `oldBlocksPct` = 37% of the LRU, its tail end). It moves to the head of the *young*
 *   sublist only when accessed again at least `oldBlocksTimeMs` (1 s) after its first access, so a
 *   scan that touches each page once cannot flush the working set out. A young page is moved to
 *   the head only when it has left the first quarter of the young sublist (cheap: a stamp per
 *   move). Eviction takes clean, unfixed pages from the old tail.
 * - flush list: dirty pages ordered by oldest modification LSN, newest at the head. Its tail
 *   gives the checkpoint LSN (rule 11 of the InnoDB facts: a checkpoint never passes a dirty page).
 *
 * Why not `lru-cache` here: its entries are evicted by count with no notion of pinned (fixed)
 * entries that must stay, no midpoint insertion and no old-blocks time, and it allocates a node
 * per entry; the pool needs all three, on preallocated frames. (`lru-cache` serves the open-file
 * limit in `page/tablespace.ts`, where its semantics fit.)
 *
 * ## Frame states
 *
 *     free --readIn/create--> clean --markDirty (mtr commit)--> dirty
 *      ^                        |  ^                              |
 *      +------evict (unfixed)---+  +---flushFrames (WAL, dblwr)---+
 *
 * The page hash is `page-hash.ts` (open addressing in typed arrays).
 *
 * ## Asynchronous flush batches (the timers' page cleaner)
 * A batch costs three syncs: the redo up to its newest change (B3), its doublewrite copies (D1 of
 * doublewrite.ts) and its tablespaces (D2). Done synchronously they stop the event loop for the
 * device's time, a fifth of a durable update workload's time at 1M rows (issue 16). InnoDB's page
 * cleaners are threads; ours is `flushOldestAsync`/`flushLruTailAsync`: the batch's images are
 * copied and sealed at once (the frames are unfixed: B1), then each sync runs on libuv's thread
 * pool while the event loop serves transactions, and the writes between them are plain
 * (page-cache) writes. The frames stay on the flush list until the end (B11); a change made to one
 * meanwhile is not in its copy, so the frame is put back on the flush list at that change's LSN.
 * A synchronous path that needs to flush (a foreground eviction, log room, close) finishes the
 * batch in place with synchronous syncs (`finishInFlight`), and the batch's own continuation then
 * finds it finished and stops: the order of the steps, and so every crash point, is the same
 * either way.
 *
 * ## Invariants
 *  B1. A fixed frame is never evicted, and never flushed while an mtr holds it modified (the mtr
 *      keeps it fixed until commit, and flushing skips fixed frames).
 *  B2. A dirty frame is never evicted: it is flushed first.
 *  B3. WAL: before a page is written, redo is durable up to its newest modification
 *      (`wal.flushLogUpTo`), so the page never reaches disk ahead of its log.
 *  B4. The flush list is ordered by oldest modification, oldest at the tail.
 *  B5. Every page in the hash is on the LRU, and the reverse; free frames are on neither.
 *  B6. A page read from disk is verified before it enters the hash (S1 of tablespace.ts): a bad
 *      page raises and its frame goes back to the free list.
 *  B7. After a page write or sync fails, no page is flushed again (the doublewrite slots may
 *      hold the only good copy of a page whose in-place write was lost): the failure poisons the
 *      engine's health (util/engine-health.ts), and a flush runs only while it is open.
 *  B8. A page that came from disk (`fix`'s read, or recovery's `fixWith`) goes through the read
 *      hook, when one is installed, before any `fix` hands it out: the change buffer merges its
 *      buffered changes there (ibuf/change-buffer.ts, rule IBUF-SAME-MTR), so nobody uses a page
 *      without them. A hook that fails leaves the page un-hooked, and out of the pool when clean.
 *  B9. A frame's modify clock (InnoDB's buf_block_t::modify_clock) changes whenever the frame's
 *      image may change: a page enters or leaves the frame (`enter`, `pushFree`), a page is made
 *      or loaded in it (`fixForCreate`, `fixWith`), and at every write of a mini-transaction
 *      (mtr.ts bumps it, rule T1: no page changes outside an mtr). So two equal readings of the
 *      clock mean the same page with the same bytes: the adaptive hash index
 *      (btree/adaptive-hash.ts) trusts a remembered leaf position only under that condition.
 *  B11. At most one flush batch is in flight (an asynchronous batch, below), and every
 *      synchronous flush, discard or eviction that needs a flush first finishes it in place; a
 *      frame of the batch stays dirty (so neither evicted nor checkpointed past) until the batch
 *      is durable, and a frame changed meanwhile stays dirty after it, from the LSN of that change.
 *  B12. A batch finished in place after one of its asynchronous syncs was started writes what
 *      that sync covers again before its own sync (as the redo log's L5): the sync may have failed
 *      already, its error not yet delivered, or fail later, and a failed sync lets the kernel drop
 *      the pages it covered (fsyncgate; the simulator found the first case, seed 20458), so only
 *      the synchronous sync's own writes may make the batch clean and let a checkpoint pass.
 *  B10. A page installed ahead of need (`installPage`: the pool load at open, pool-dump.ts) is
 *      treated as a read: verified first (B6), entered at the old sublist's head and unhooked
 *      (B8). It only ever takes a free frame: it never evicts, so it can slow no reader down, and
 *      a page already in the pool or of a space discarded since open is never installed (a
 *      dropped table's pages would otherwise come back after `discardSpace`). Its first access
 *      starts its old-blocks time, as InnoDB's read-ahead pages do (an unaccessed page is
 *      marked with a NaN first-access time).
 */
import { InvalidArgumentError, MinnoError } from '../errors.js';
import { assert, debugChecks } from '../util/assert.js';
import { EngineHealth } from '../util/engine-health.js';
import type { Clock } from '../util/clock.js';
import { setPageLsn, sealPage } from '../page/page.js';
import type { Doublewrite } from './doublewrite.js';
import { PageHash } from './page-hash.js';
import type { EngineEvent } from '../vfs/vfs.js';

/** How the pool reaches the tablespaces. */
export interface PageIo {
  /** Reads and verifies a page; throws `CorruptionError` for a bad one. */
  readPage(spaceId: number, pageNo: number, target: Uint8Array): void;
  /** Writes a sealed page image in place. */
  writeSealedPage(spaceId: number, pageNo: number, image: Uint8Array): void;
  /** Makes the in-place writes to these spaces durable. */
  syncSpaces(spaceIds: ReadonlySet<number>): void;
  /** `syncSpaces` off the event loop: settles once the writes made before the call are durable. */
  syncSpacesAsync(spaceIds: ReadonlySet<number>): Promise<void>;
}

/** How the pool keeps rule WAL without knowing the redo layer. */
export interface WalGate {
  /** Makes redo durable up to `lsn`, synchronously. */
  flushLogUpTo(lsn: number): void;
  /** The same off the event loop; undefined when the redo is durable up to `lsn` already. */
  flushLogUpToAsync(lsn: number): Promise<void> | undefined;
}

/**
 * What a layer above does with a page read from disk before anyone uses it (B8): the change
 * buffer's merge (ibuf/change-buffer.ts). Declared here so that the pool imports nothing above
 * it, as `WalGate`.
 */
export interface PageReadHook {
  /**
   * Called at the first `fix` of a page since it came from disk, with the frame fixed by that
   * `fix`. It may fix and read other pages and change this one through a mini-transaction.
   */
  afterRead(frame: number, spaceId: number, pageNo: number): void;
}

export interface BufferPoolOptions {
  readonly pageSize: number;
  readonly poolBytes: number;
  readonly clock: Clock;
  readonly io: PageIo;
  readonly wal: WalGate;
  /** Undefined turns torn-page protection off (a test-only seam; never from the public API). */
  readonly doublewrite: Doublewrite | undefined;
  /** Pages per flush batch (the doublewrite file's slot count). */
  readonly flushBatchPages: number;
  readonly oldBlocksPct?: number;
  readonly oldBlocksTimeMs?: number;
  readonly onEvent?: (name: EngineEvent) => void;
  /** TEST ONLY (StorageTestSeams.evictDirtyPages): evict dirty pages without writing them. */
  readonly evictDirtyPages?: boolean;
  /** The engine's health, shared with the log and the storage (a private one when not given). */
  readonly health?: EngineHealth;
}

/** The smallest pool that can hold the pages one mini-transaction fixes plus a flush batch. */
export const POOL_FRAMES_MIN = 64;

const NIL = -1;
/** `changedInFlight` of a frame in the batch in flight that has not changed since its copy. */
const IN_FLIGHT_UNCHANGED = -1;

/** Where an asynchronous flush batch has got to (B11); each step needs the one before. */
enum FlushStep {
  /** Images copied and sealed; frames still dirty. */
  Copied = 0,
  /** Redo durable up to the batch's newest change (B3). */
  WalDurable = 1,
  /** Doublewrite copies written, not yet durable. */
  CopiesWritten = 2,
  /** Doublewrite copies durable (D1). */
  CopiesDurable = 3,
  /** Written in place, tablespaces not yet synced. */
  WrittenInPlace = 4,
  /** Durable in place; frames clean (or back on the flush list if changed since). */
  Done = 5,
}

/** The one asynchronous batch in flight (B11). */
interface FlushBatch {
  readonly frames: readonly number[];
  /** Newest modification among its copies: the redo that must be durable first (B3). */
  readonly newest: number;
  readonly spaces: Set<number>;
  step: FlushStep;
}
const LIST_NONE = 0;
const LIST_YOUNG = 1;
const LIST_OLD = 2;

export class BufferPoolFullError extends MinnoError {
  constructor(frames: number) {
    super(
      'ERR_INVALID_ARGUMENT',
      `all ${frames} buffer pool frames are fixed; raise bufferPoolBytes (a mini-transaction fixes only a few pages, so this means the pool is far too small)`,
    );
  }
}

export interface BufferPoolStats {
  frames: number;
  freeFrames: number;
  youngPages: number;
  oldPages: number;
  dirtyPages: number;
  reads: number;
  writes: number;
  evictions: number;
  hits: number;
  misses: number;
  youngMoves: number;
  /** Pages installed ahead of need (B10: the pool load at open). */
  installed: number;
}

/**
 * V8's size of one `Uint8Array` view into the slab (the `frames` array): object, elements slot
 * and the view's share of its buffer's bookkeeping, measured with heap snapshots (about 100 bytes).
 */
const FRAME_VIEW_BYTES = 112;

export class BufferPool {
  readonly pageSize: number;
  readonly frameCount: number;
  /** One view per frame into the slab, made once. */
  readonly frames: Uint8Array[];
  private readonly slab: Uint8Array;

  private readonly frameSpace: Int32Array;
  private readonly framePage: Uint32Array;
  private readonly fixCount: Int32Array;
  private readonly oldestMod: Float64Array;
  private readonly newestMod: Float64Array;
  private readonly lruPrev: Int32Array;
  private readonly lruNext: Int32Array;
  private readonly lruList: Uint8Array;
  private readonly firstAccessMs: Float64Array;
  private readonly youngStamp: Float64Array;
  private readonly flPrev: Int32Array;
  private readonly flNext: Int32Array;
  /** Per frame: bumped at every possible change of the frame's image (B9). */
  private readonly modifyClock: Uint32Array;
  /** Per frame: 1 while a page that came from disk has not been through the read hook yet (B8). */
  private readonly unhooked: Uint8Array;
  /**
   * Per frame (B11): 0 when not in the batch in flight; IN_FLIGHT_UNCHANGED while in it and not
   * changed since its copy; else the start LSN of its first change since.
   */
  private readonly changedInFlight: Float64Array;
  /** The asynchronous batch whose syncs are still running, if any (B11). */
  private inFlight: FlushBatch | undefined;
  /** The batch function running now (its promise), so `settleFlush` can wait for its last sync. */
  private asyncFlush: Promise<void> | undefined;
  private readHook: PageReadHook | undefined;
  private readonly freeStack: Int32Array;
  private freeCount: number;
  /** Spaces discarded since open (B10): their pages are never installed again. Ids are never reused (C3 of storage.ts). */
  private readonly discardedSpaces = new Set<number>();

  private readonly hash: PageHash;
  private youngHead = NIL;
  private youngTail = NIL;
  private youngLen = 0;
  private oldHead = NIL;
  private oldTail = NIL;
  private oldLen = 0;
  private youngCounter = 0;
  private flushHead = NIL; // newest
  private flushTail = NIL; // oldest
  private dirtyCount = 0;

  private readonly clock: Clock;
  private readonly io: PageIo;
  private readonly wal: WalGate;
  private readonly doublewrite: Doublewrite | undefined;
  /** Pages per flush batch (a doublewrite batch). */
  readonly flushBatchPages: number;
  private readonly evictDirtyPages: boolean;
  private readonly batchImages: Uint8Array;
  private readonly oldBlocksPct: number;
  private readonly oldBlocksTimeMs: number;
  private readonly onEvent: ((name: EngineEvent) => void) | undefined;
  /** Poisoned by a failed flush (B7), or by the log or storage: no flush runs unless open. */
  private readonly health: EngineHealth;

  readonly stats: BufferPoolStats;

  constructor(options: BufferPoolOptions) {
    const { pageSize, poolBytes } = options;
    const frameCount = Math.floor(poolBytes / pageSize);
    if (!Number.isFinite(poolBytes) || frameCount < POOL_FRAMES_MIN) {
      throw new InvalidArgumentError(
        `bufferPoolBytes must hold at least ${POOL_FRAMES_MIN} pages (${POOL_FRAMES_MIN * pageSize} bytes at page size ${pageSize}), got ${String(poolBytes)}`,
      );
    }
    this.pageSize = pageSize;
    this.frameCount = frameCount;
    this.slab = new Uint8Array(frameCount * pageSize);
    this.frames = [];
    for (let i = 0; i < frameCount; i++) this.frames.push(this.slab.subarray(i * pageSize, (i + 1) * pageSize));
    this.hash = new PageHash(frameCount);
    this.frameSpace = new Int32Array(frameCount).fill(-1);
    this.framePage = new Uint32Array(frameCount);
    this.fixCount = new Int32Array(frameCount);
    this.oldestMod = new Float64Array(frameCount);
    this.newestMod = new Float64Array(frameCount);
    this.lruPrev = new Int32Array(frameCount).fill(NIL);
    this.lruNext = new Int32Array(frameCount).fill(NIL);
    this.lruList = new Uint8Array(frameCount);
    this.firstAccessMs = new Float64Array(frameCount);
    this.youngStamp = new Float64Array(frameCount);
    this.flPrev = new Int32Array(frameCount).fill(NIL);
    this.flNext = new Int32Array(frameCount).fill(NIL);
    this.unhooked = new Uint8Array(frameCount);
    this.modifyClock = new Uint32Array(frameCount);
    this.changedInFlight = new Float64Array(frameCount);
    this.freeStack = new Int32Array(frameCount);
    for (let i = 0; i < frameCount; i++) this.freeStack[i] = frameCount - 1 - i;
    this.freeCount = frameCount;
    this.clock = options.clock;
    this.io = options.io;
    this.wal = options.wal;
    this.doublewrite = options.doublewrite;
    this.flushBatchPages = Math.max(1, Math.min(options.flushBatchPages, Math.floor(frameCount / 4)));
    this.batchImages = new Uint8Array(this.flushBatchPages * pageSize);
    this.oldBlocksPct = options.oldBlocksPct ?? 37;
    this.oldBlocksTimeMs = options.oldBlocksTimeMs ?? 1000;
    this.onEvent = options.onEvent;
    this.evictDirtyPages = options.evictDirtyPages === true;
    this.health = options.health ?? new EngineHealth();
    this.stats = {
      frames: frameCount,
      freeFrames: frameCount,
      youngPages: 0,
      oldPages: 0,
      dirtyPages: 0,
      reads: 0,
      writes: 0,
      evictions: 0,
      hits: 0,
      misses: 0,
      youngMoves: 0,
      installed: 0,
    };
  }

  // ---------------------------------------------------------------- lookup, fix, unfix

  /** Fixes (pins) a page, reading it in if needed, and returns its frame index. */
  fix(spaceId: number, pageNo: number): number {
    let frame = this.hash.get(spaceId, pageNo);
    if (frame < 0) {
      frame = this.readIn(spaceId, pageNo);
      this.stats.misses++;
    } else {
      this.touch(frame);
      this.stats.hits++;
    }
    this.fixCount[frame]!++;
    if (this.unhooked[frame] === 1 && this.readHook !== undefined) this.runReadHook(frame, spaceId, pageNo);
    return frame;
  }

  /** Installs (or removes) the hook every page read from disk goes through before use (B8). */
  setReadHook(hook: PageReadHook | undefined): void {
    this.readHook = hook;
  }

  /** B8: the hook runs once per read; if it fails the page is read (and hooked) again next time. */
  private runReadHook(frame: number, spaceId: number, pageNo: number): void {
    this.unhooked[frame] = 0;
    try {
      this.readHook!.afterRead(frame, spaceId, pageNo);
    } catch (error) {
      this.fixCount[frame]!--;
      if (this.fixCount[frame] === 0 && this.oldestMod[frame] === 0 && this.hash.get(spaceId, pageNo) === frame) {
        this.unlinkLru(frame);
        this.hash.delete(spaceId, pageNo);
        this.pushFree(frame);
        this.rebalance();
      } else {
        this.unhooked[frame] = 1;
      }
      throw error;
    }
  }

  /**
   * Fixes the page that `frame` holds, found without the page hash: by a remembered position
   * the caller has validated with `modifyClockOf` (B9). Counts and ages it as a hit of `fix`.
   * Returns false, fixing nothing, when the page still awaits the read hook (B8): `fix` runs it.
   */
  fixResident(frame: number): boolean {
    assert(this.lruList[frame] !== LIST_NONE, 'B5 a remembered frame holds a page');
    if (this.unhooked[frame] === 1 && this.readHook !== undefined) return false;
    this.touch(frame);
    this.stats.hits++;
    this.fixCount[frame]!++;
    return true;
  }

  /** The frame's modify clock (B9): equal readings mean the same page, unchanged. */
  modifyClockOf(frame: number): number {
    return this.modifyClock[frame]!;
  }

  /** B9: the image of `frame` is about to change (called by the mini-transaction at each write). */
  bumpModifyClock(frame: number): void {
    this.modifyClock[frame]!++;
  }

  unfix(frame: number): void {
    assert(this.fixCount[frame]! > 0, 'unfix of a frame that is not fixed');
    this.fixCount[frame]!--;
  }

  /**
   * Fixes a frame for a page being (re)initialised: no read. An existing frame for the page is
   * reused; otherwise a free one is taken. The caller overwrites the whole frame.
   */
  fixForCreate(spaceId: number, pageNo: number): number {
    let frame = this.hash.get(spaceId, pageNo);
    if (frame < 0) {
      frame = this.takeFreeFrame();
      this.frames[frame]!.fill(0);
      this.enter(frame, spaceId, pageNo);
    } else {
      this.touch(frame);
    }
    this.modifyClock[frame]!++; // B9: the caller overwrites the frame
    this.unhooked[frame] = 0; // a page made anew has nothing from disk to hook (B8)
    this.fixCount[frame]!++;
    return frame;
  }

  /**
   * Fixes a page whose image `load` produces (recovery: it decides what a bad page means). A page
   * already in the pool is returned as it is.
   */
  fixWith(spaceId: number, pageNo: number, load: (target: Uint8Array) => void): number {
    let frame = this.hash.get(spaceId, pageNo);
    if (frame < 0) {
      frame = this.takeFreeFrame();
      try {
        load(this.frames[frame]!);
      } catch (error) {
        this.pushFree(frame);
        throw error;
      }
      this.stats.reads++;
      this.enter(frame, spaceId, pageNo);
    }
    this.modifyClock[frame]!++; // B9: recovery applies redo to the frame it gets
    this.fixCount[frame]!++;
    return frame;
  }

  /** The frame of a page if it is in the pool (not fixed by this call), else -1. */
  lookup(spaceId: number, pageNo: number): number {
    return this.hash.get(spaceId, pageNo);
  }

  /** Whether the page in `frame` came from disk and has not been through the read hook yet (B8). */
  awaitsReadHook(frame: number): boolean {
    return this.unhooked[frame] === 1;
  }

  isFixed(frame: number): boolean {
    return this.fixCount[frame]! > 0;
  }

  spaceOf(frame: number): number {
    return this.frameSpace[frame]!;
  }

  pageOf(frame: number): number {
    return this.framePage[frame]!;
  }

  /**
   * The frame index of a frame view handed out by `frames`. The frame's own view is recognised by
   * identity; any other view is checked against the slab (reading `.buffer`, which is slow).
   */
  frameIndexOf(view: Uint8Array): number {
    const frame = (view.byteOffset - this.slab.byteOffset) / this.pageSize;
    if (this.frames[frame] === view) return frame;
    assert(
      Number.isInteger(frame) && view.buffer === this.slab.buffer && view.length === this.pageSize,
      'a page view is a buffer pool frame',
    );
    return frame;
  }

  /**
   * True when `bytes` is a view into the pool's frames (its bytes may move when a page changes).
   * Never reads `.buffer` of an array at offset 0: V8 keeps small typed arrays (up to 64 bytes, a
   * key made by `slice` or `new`) on the JS heap, and the first read of their `.buffer` allocates
   * an ArrayBuffer and moves the bytes out, about 0.7 us per key (measured on Node 20). Such an
   * array always has byteOffset 0, and no key or value in a frame starts at offset 0 of the slab
   * (frame 0's page header is there).
   */
  holdsView(bytes: Uint8Array): boolean {
    return bytes.byteOffset !== 0 && bytes.buffer === this.slab.buffer;
  }

  private readIn(spaceId: number, pageNo: number): number {
    const frame = this.takeFreeFrame();
    try {
      this.io.readPage(spaceId, pageNo, this.frames[frame]!);
    } catch (error) {
      this.pushFree(frame); // B6: a bad page never enters the pool
      throw error;
    }
    this.stats.reads++;
    this.enter(frame, spaceId, pageNo);
    return frame;
  }

  /**
   * Installs a verified page image read ahead of need (B10): copied into a free frame, entered
   * as a read is. Never evicts. False, installing nothing, when no frame is free, the page is in
   * the pool already or its space was discarded since open.
   */
  installPage(spaceId: number, pageNo: number, image: Uint8Array): boolean {
    assert(image.length === this.pageSize, 'an installed image is one page');
    if (this.freeCount === 0 || this.discardedSpaces.has(spaceId) || this.hash.get(spaceId, pageNo) >= 0) return false;
    const frame = this.freeStack[--this.freeCount]!;
    this.frames[frame]!.set(image);
    this.enter(frame, spaceId, pageNo);
    this.firstAccessMs[frame] = Number.NaN; // B10: not accessed yet
    this.stats.reads++;
    this.stats.installed++;
    return true;
  }

  /**
   * Up to `max` pages in the pool, most recently used first (the young sublist from its head,
   * then the old one), as (space id, page number) pairs: what a pool dump records (pool-dump.ts).
   */
  residentPages(max: number): Uint32Array {
    const count = Math.min(max, this.youngLen + this.oldLen);
    const pairs = new Uint32Array(count * 2);
    let at = 0;
    for (const head of [this.youngHead, this.oldHead]) {
      for (let frame = head; frame !== NIL && at < count * 2; frame = this.lruNext[frame]!) {
        pairs[at++] = this.frameSpace[frame]!;
        pairs[at++] = this.framePage[frame]!;
      }
    }
    return pairs;
  }

  private enter(frame: number, spaceId: number, pageNo: number): void {
    this.frameSpace[frame] = spaceId;
    this.framePage[frame] = pageNo;
    this.fixCount[frame] = 0;
    this.unhooked[frame] = 1;
    this.modifyClock[frame]!++; // B9
    this.oldestMod[frame] = 0;
    this.newestMod[frame] = 0;
    this.hash.set(spaceId, pageNo, frame);
    this.firstAccessMs[frame] = this.clock.nowMs();
    this.youngStamp[frame] = -Infinity;
    this.insertOldHead(frame);
    this.rebalance();
  }

  // ---------------------------------------------------------------- LRU

  private touch(frame: number): void {
    if (this.lruList[frame] === LIST_OLD) {
      const first = this.firstAccessMs[frame]!;
      if (Number.isNaN(first)) {
        this.firstAccessMs[frame] = this.clock.nowMs(); // B10: installed, first accessed now
      } else if (this.clock.nowMs() - first >= this.oldBlocksTimeMs) {
        this.unlinkLru(frame);
        this.insertYoungHead(frame);
        this.stats.youngMoves++;
        this.rebalance();
      }
    } else if (this.youngCounter - this.youngStamp[frame]! > this.youngLen >>> 2) {
      // Left the first quarter of the young sublist: back to its head.
      this.unlinkLru(frame);
      this.insertYoungHead(frame);
    }
  }

  private insertYoungHead(frame: number): void {
    this.lruList[frame] = LIST_YOUNG;
    this.lruPrev[frame] = NIL;
    this.lruNext[frame] = this.youngHead;
    if (this.youngHead !== NIL) this.lruPrev[this.youngHead] = frame;
    else this.youngTail = frame;
    this.youngHead = frame;
    this.youngLen++;
    this.youngStamp[frame] = ++this.youngCounter;
  }

  private insertOldHead(frame: number): void {
    this.lruList[frame] = LIST_OLD;
    this.lruPrev[frame] = NIL;
    this.lruNext[frame] = this.oldHead;
    if (this.oldHead !== NIL) this.lruPrev[this.oldHead] = frame;
    else this.oldTail = frame;
    this.oldHead = frame;
    this.oldLen++;
  }

  private insertYoungTail(frame: number): void {
    this.lruList[frame] = LIST_YOUNG;
    this.lruNext[frame] = NIL;
    this.lruPrev[frame] = this.youngTail;
    if (this.youngTail !== NIL) this.lruNext[this.youngTail] = frame;
    else this.youngHead = frame;
    this.youngTail = frame;
    this.youngLen++;
    this.youngStamp[frame] = -Infinity;
  }

  private unlinkLru(frame: number): void {
    const prev = this.lruPrev[frame]!;
    const next = this.lruNext[frame]!;
    if (this.lruList[frame] === LIST_YOUNG) {
      if (prev !== NIL) this.lruNext[prev] = next;
      else this.youngHead = next;
      if (next !== NIL) this.lruPrev[next] = prev;
      else this.youngTail = prev;
      this.youngLen--;
    } else {
      assert(this.lruList[frame] === LIST_OLD, 'B5 unlinking a frame that is on the LRU');
      if (prev !== NIL) this.lruNext[prev] = next;
      else this.oldHead = next;
      if (next !== NIL) this.lruPrev[next] = prev;
      else this.oldTail = prev;
      this.oldLen--;
    }
    this.lruList[frame] = LIST_NONE;
    this.lruPrev[frame] = NIL;
    this.lruNext[frame] = NIL;
  }

  /** Keeps the old sublist at about `oldBlocksPct` of the LRU (with a tolerance of one page). */
  private rebalance(): void {
    const target = Math.floor(((this.youngLen + this.oldLen) * this.oldBlocksPct) / 100);
    while (this.oldLen < target - 1 && this.youngTail !== NIL) {
      const frame = this.youngTail;
      this.unlinkLru(frame);
      this.insertOldHead(frame);
    }
    while (this.oldLen > target + 1 && this.oldHead !== NIL) {
      const frame = this.oldHead;
      this.unlinkLru(frame);
      this.insertYoungTail(frame);
    }
  }

  // ---------------------------------------------------------------- free frames and eviction

  private pushFree(frame: number): void {
    this.frameSpace[frame] = -1;
    this.modifyClock[frame]!++; // B9
    this.freeStack[this.freeCount++] = frame;
  }

  private takeFreeFrame(): number {
    if (this.freeCount === 0) this.evictOne();
    assert(this.freeCount > 0, 'a free frame after eviction');
    return this.freeStack[--this.freeCount]!;
  }

  /** Frees one frame: the clean unfixed page nearest the LRU tail, flushing dirty ones if needed. */
  private evictOne(): void {
    for (let attempt = 0; attempt < 3; attempt++) {
      const victim = this.findVictim();
      if (victim !== NIL) {
        this.evict(victim);
        return;
      }
      // Nothing clean: the batch in flight, finished, may have made some clean (B11); else flush a
      // batch of dirty, unfixed pages from the LRU tail (B2), then retry.
      if (this.inFlight !== undefined) this.finishInFlight();
      else if (this.flushLruTail(this.flushBatchPages) === 0) break;
    }
    throw new BufferPoolFullError(this.frameCount);
  }

  private findVictim(): number {
    if (this.evictDirtyPages) {
      this.finishInFlight();
      // TEST ONLY: the seam's lost write: the LRU tail leaves, dirty or not, unwritten (B2 broken).
      for (let frame = this.oldTail; frame !== NIL; frame = this.lruPrev[frame]!) {
        if (this.fixCount[frame] !== 0) continue;
        if (this.oldestMod[frame] !== 0) this.removeFromFlushList(frame);
        return frame;
      }
    }
    for (let frame = this.oldTail; frame !== NIL; frame = this.lruPrev[frame]!) {
      if (this.fixCount[frame] === 0 && this.oldestMod[frame] === 0) return frame;
    }
    for (let frame = this.youngTail; frame !== NIL; frame = this.lruPrev[frame]!) {
      if (this.fixCount[frame] === 0 && this.oldestMod[frame] === 0) return frame;
    }
    return NIL;
  }

  private evict(frame: number): void {
    assert(this.fixCount[frame] === 0, 'B1 a fixed page is never evicted');
    assert(this.oldestMod[frame] === 0, 'B2 a dirty page is never evicted');
    this.unlinkLru(frame);
    this.hash.delete(this.frameSpace[frame]!, this.framePage[frame]!);
    this.pushFree(frame);
    this.stats.evictions++;
  }

  /** Drops every page of a space from the pool (its file is being deleted). Pages must be unfixed. */
  discardSpace(spaceId: number): void {
    this.finishInFlight(); // B11: the batch may hold a copy of one of its pages
    this.discardedSpaces.add(spaceId); // B10
    // A scan of the frames' space ids: no allocation, a few microseconds per thousand frames.
    for (let frame = 0; frame < this.frameCount; frame++) {
      if (this.frameSpace[frame] !== spaceId) continue;
      assert(this.fixCount[frame] === 0, 'B1 discarding a fixed page');
      if (this.oldestMod[frame] !== 0) this.removeFromFlushList(frame);
      this.unlinkLru(frame);
      this.hash.delete(spaceId, this.framePage[frame]!);
      this.pushFree(frame);
    }
    this.rebalance();
  }

  // ---------------------------------------------------------------- dirty pages and flushing

  /**
   * Marks a frame modified by a mini-transaction that occupied [startLsn, endLsn): sets its page
   * LSN, and puts it on the flush list if it was clean.
   */
  markDirty(frame: number, startLsn: number, endLsn: number): void {
    setPageLsn(this.frames[frame]!, endLsn);
    this.newestMod[frame] = endLsn;
    if (this.oldestMod[frame] !== 0) {
      // B11: a change to a page whose copy is being flushed is not in that copy.
      if (this.changedInFlight[frame] === IN_FLIGHT_UNCHANGED) this.changedInFlight[frame] = startLsn;
      return;
    }
    this.insertIntoFlushList(frame, startLsn);
  }

  /** Puts a clean frame on the flush list with oldest modification `startLsn` (B4). */
  private insertIntoFlushList(frame: number, startLsn: number): void {
    this.oldestMod[frame] = startLsn;
    this.dirtyCount++;
    // B4: normally the newest; recovery may dirty pages out of order, so insert sorted.
    let after = NIL;
    let before = this.flushHead;
    while (before !== NIL && this.oldestMod[before]! > startLsn) {
      after = before;
      before = this.flNext[before]!;
    }
    this.flPrev[frame] = after;
    this.flNext[frame] = before;
    if (after !== NIL) this.flNext[after] = frame;
    else this.flushHead = frame;
    if (before !== NIL) this.flPrev[before] = frame;
    else this.flushTail = frame;
  }

  isDirty(frame: number): boolean {
    return this.oldestMod[frame] !== 0;
  }

  private removeFromFlushList(frame: number): void {
    const prev = this.flPrev[frame]!;
    const next = this.flNext[frame]!;
    if (prev !== NIL) this.flNext[prev] = next;
    else this.flushHead = next;
    if (next !== NIL) this.flPrev[next] = prev;
    else this.flushTail = prev;
    this.flPrev[frame] = NIL;
    this.flNext[frame] = NIL;
    this.oldestMod[frame] = 0;
    this.newestMod[frame] = 0;
    this.dirtyCount--;
  }

  /** The oldest modification LSN among dirty pages, or undefined when none is dirty. */
  oldestModification(): number | undefined {
    return this.flushTail === NIL ? undefined : this.oldestMod[this.flushTail];
  }

  dirtyPages(): number {
    return this.dirtyCount;
  }

  /**
   * Writes a batch of dirty frames: WAL first (B3), then the doublewrite copy (D1), then in
   * place, then a sync of the touched spaces (D2). The frames become clean.
   */
  private flushFrames(batch: number[]): void {
    if (batch.length === 0) return;
    this.health.check('tablespaces', 'page flush');
    assert(this.inFlight === undefined, 'B11 a synchronous batch starts after the one in flight is finished');
    this.beginBatch(batch);
    this.finishInFlight();
  }

  /**
   * Copies and seals a batch's images and makes it the batch in flight (B11). The frames stay
   * dirty until `completeBatch`.
   */
  private beginBatch(frames: readonly number[]): FlushBatch {
    let newest = 0;
    const pageSize = this.pageSize;
    const spaces = new Set<number>();
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      assert(this.fixCount[frame] === 0 && this.oldestMod[frame] !== 0, 'B1 a flushed frame is dirty and unfixed');
      newest = Math.max(newest, this.newestMod[frame]!);
      const image = this.batchImages.subarray(i * pageSize, (i + 1) * pageSize);
      image.set(this.frames[frame]!);
      sealPage(image);
      spaces.add(this.frameSpace[frame]!);
      this.changedInFlight[frame] = IN_FLIGHT_UNCHANGED;
    }
    const batch: FlushBatch = { frames, newest, spaces, step: FlushStep.Copied };
    this.inFlight = batch;
    return batch;
  }

  /**
   * Finishes the batch in flight, if any, here and now: the steps it has not taken, with
   * synchronous syncs (B11). A failed write or sync may have lost in-place writes whose
   * doublewrite copies the next batch would overwrite; and after a failed fsync the kernel may
   * have dropped the data (fsyncgate). Nothing more is flushed: recovery, from the log and the
   * doublewrite file, is the only safe way on (B7).
   */
  private finishInFlight(): void {
    const batch = this.inFlight;
    if (batch === undefined) return;
    this.health.check('tablespaces', 'page flush');
    try {
      if (batch.step < FlushStep.WalDurable) {
        this.wal.flushLogUpTo(batch.newest); // B3, rule WAL
        batch.step = FlushStep.WalDurable;
      }
      if (batch.step < FlushStep.CopiesWritten) this.writeCopies(batch);
      else if (batch.step === FlushStep.CopiesWritten) this.writeCopies(batch, true); // B12
      if (batch.step < FlushStep.CopiesDurable) {
        this.doublewrite?.syncCopies();
        this.copiesDurable(batch);
      }
      if (batch.step < FlushStep.WrittenInPlace) this.writeInPlace(batch);
      else this.writeInPlace(batch, true); // B12
      this.io.syncSpaces(batch.spaces);
      this.completeBatch(batch);
    } catch (error) {
      this.health.poison(error, 'page write or sync');
      throw error;
    }
  }

  /** Writes the batch's doublewrite copies; `again` (B12) for a batch whose copies' sync is in flight. */
  private writeCopies(batch: FlushBatch, again = false): void {
    if (again) this.doublewrite?.rewriteCopies(this.batchImages, batch.frames.length);
    else this.doublewrite?.writeCopies(this.batchImages, batch.frames.length);
    batch.step = FlushStep.CopiesWritten;
  }

  private copiesDurable(batch: FlushBatch): void {
    batch.step = FlushStep.CopiesDurable;
    if (this.doublewrite !== undefined) this.onEvent?.('doublewrite');
  }

  /** Writes the batch in place; `again` (B12) for a batch whose tablespaces' sync is in flight. */
  private writeInPlace(batch: FlushBatch, again = false): void {
    assert(
      this.doublewrite === undefined || this.doublewrite.copiesDurable,
      'D1 copies durable before writes in place',
    );
    const pageSize = this.pageSize;
    const frames = batch.frames;
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      this.io.writeSealedPage(
        this.frameSpace[frame]!,
        this.framePage[frame]!,
        this.batchImages.subarray(i * pageSize, (i + 1) * pageSize),
      );
      if (again) continue;
      this.stats.writes++;
      this.onEvent?.('page-flush');
    }
    batch.step = FlushStep.WrittenInPlace;
  }

  /** The batch is durable in place: its frames are clean, or dirty again from a later change (B11). */
  private completeBatch(batch: FlushBatch): void {
    this.doublewrite?.batchDone();
    for (const frame of batch.frames) {
      const changed = this.changedInFlight[frame]!;
      this.changedInFlight[frame] = 0;
      const newest = this.newestMod[frame]!;
      this.removeFromFlushList(frame);
      if (changed !== IN_FLIGHT_UNCHANGED) {
        this.insertIntoFlushList(frame, changed);
        this.newestMod[frame] = newest;
      }
    }
    batch.step = FlushStep.Done;
    this.inFlight = undefined;
  }

  /**
   * The batch in flight's remaining steps with each sync off the event loop (B11). After each wait
   * it stops if the batch was finished in place meanwhile (`finishInFlight`). A failure poisons
   * the engine (B7) even then: a failed sync may have dropped what a later one reported durable.
   */
  private async continueBatch(batch: FlushBatch): Promise<void> {
    try {
      const wal = this.wal.flushLogUpToAsync(batch.newest);
      if (wal !== undefined) await wal;
      if (this.inFlight !== batch) return;
      batch.step = FlushStep.WalDurable;
      this.writeCopies(batch);
      if (this.doublewrite !== undefined) {
        await this.doublewrite.syncCopiesAsync();
        if (this.inFlight !== batch) return;
      }
      this.copiesDurable(batch);
      this.writeInPlace(batch);
      await this.io.syncSpacesAsync(batch.spaces);
      if (this.inFlight !== batch) return;
      this.completeBatch(batch);
    } catch (error) {
      this.health.poison(error, 'page write or sync');
      throw error;
    }
  }

  /** Starts `frames` as the asynchronous batch (B11); settles with their count once durable. */
  private flushAsync(frames: number[]): Promise<number> {
    if (frames.length === 0) return Promise.resolve(0);
    this.health.check('tablespaces', 'page flush');
    assert(this.inFlight === undefined, 'B11 one batch in flight at a time');
    const run = this.continueBatch(this.beginBatch(frames));
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.asyncFlush = settled;
    void settled.then(() => {
      if (this.asyncFlush === settled) this.asyncFlush = undefined;
    });
    return run.then(() => frames.length);
  }

  /**
   * Settles when no asynchronous batch function is still running (its last sync included): the
   * storage waits for it before closing the files it syncs.
   */
  settleFlush(): Promise<void> | undefined {
    return this.asyncFlush;
  }

  /** True while an asynchronous batch has not finished (B11). */
  get flushInFlight(): boolean {
    return this.inFlight !== undefined;
  }

  /** Up to `limit` of the oldest unfixed dirty frames, those older than `lsnLimit` only. */
  private selectOldest(limit: number, lsnLimit: number): number[] {
    const batch: number[] = [];
    for (let frame = this.flushTail; frame !== NIL && batch.length < limit; frame = this.flPrev[frame]!) {
      if (this.oldestMod[frame]! >= lsnLimit) break;
      if (this.fixCount[frame] === 0) batch.push(frame); // B1
    }
    return batch;
  }

  /** Up to `limit` unfixed dirty frames nearest the LRU tail. */
  private selectLruTail(limit: number): number[] {
    const batch: number[] = [];
    const scan = (start: number): void => {
      for (let frame = start; frame !== NIL && batch.length < limit; frame = this.lruPrev[frame]!) {
        if (this.fixCount[frame] === 0 && this.oldestMod[frame] !== 0) batch.push(frame);
      }
    };
    scan(this.oldTail);
    scan(this.youngTail);
    return batch;
  }

  /**
   * Flushes up to `maxPages` dirty unfixed pages from the tail of the flush list (the oldest
   * modifications first), optionally only those older than `lsnLimit`. Returns how many.
   */
  flushOldest(maxPages: number, lsnLimit = Infinity): number {
    this.finishInFlight(); // B11
    let flushed = 0;
    while (flushed < maxPages) {
      const batch = this.selectOldest(Math.min(this.flushBatchPages, maxPages - flushed), lsnLimit);
      if (batch.length === 0) break;
      this.flushFrames(batch);
      flushed += batch.length;
    }
    return flushed;
  }

  /** `flushOldest` of at most one batch, as the asynchronous batch (B11). Settles with the count. */
  flushOldestAsync(maxPages: number, lsnLimit = Infinity): Promise<number> {
    this.finishInFlight();
    return this.flushAsync(this.selectOldest(Math.min(this.flushBatchPages, maxPages), lsnLimit));
  }

  /** Flushes up to `maxPages` dirty unfixed pages nearest the LRU tail, so they can be evicted. */
  flushLruTail(maxPages: number): number {
    this.finishInFlight(); // B11
    const batch = this.selectLruTail(Math.min(maxPages, this.flushBatchPages));
    this.flushFrames(batch);
    return batch.length;
  }

  /** `flushLruTail` as the asynchronous batch (B11). Settles with the count. */
  flushLruTailAsync(maxPages: number): Promise<number> {
    this.finishInFlight();
    return this.flushAsync(this.selectLruTail(Math.min(maxPages, this.flushBatchPages)));
  }

  /** Flushes every dirty page (all must be unfixed). */
  flushAll(): void {
    while (this.dirtyCount > 0) {
      const flushed = this.flushOldest(Infinity);
      assert(flushed > 0 || this.dirtyCount === 0, 'flushAll: dirty pages are fixed');
    }
  }

  /** Free frames now (pages can be read without evicting). */
  freeFrames(): number {
    return this.freeCount;
  }

  /** A snapshot of the counters, with the list lengths filled in. */
  snapshot(): BufferPoolStats {
    this.stats.freeFrames = this.freeCount;
    this.stats.youngPages = this.youngLen;
    this.stats.oldPages = this.oldLen;
    this.stats.dirtyPages = this.dirtyCount;
    return { ...this.stats };
  }

  /**
   * The pool's memory beyond the pages it caches (the engine's memory account, docs/architecture.md
   * "Memory"): the per-frame typed arrays, the page hash, the flush batch's images and an estimate
   * of the one view object per frame. Fixed at open: none of it grows with the data.
   */
  overheadBytes(): number {
    let bytes = this.batchImages.byteLength + this.hash.memoryBytes();
    for (const perFrame of [
      this.frameSpace,
      this.framePage,
      this.fixCount,
      this.oldestMod,
      this.newestMod,
      this.lruPrev,
      this.lruNext,
      this.lruList,
      this.firstAccessMs,
      this.youngStamp,
      this.flPrev,
      this.flNext,
      this.unhooked,
      this.freeStack,
    ])
      bytes += perFrame.byteLength;
    return bytes + this.frameCount * FRAME_VIEW_BYTES;
  }

  /** Bytes of the frames themselves: `bufferPoolBytes` rounded down to whole pages. */
  get frameBytes(): number {
    return this.slab.byteLength;
  }

  /** Walks every list and checks B4, B5 and the counts. Expensive: tests and `check()`. */
  validate(): void {
    let young = 0;
    for (let f = this.youngHead; f !== NIL; f = this.lruNext[f]!) {
      assert(this.lruList[f] === LIST_YOUNG, 'B5 young list membership');
      young++;
    }
    let old = 0;
    for (let f = this.oldHead; f !== NIL; f = this.lruNext[f]!) {
      assert(this.lruList[f] === LIST_OLD, 'B5 old list membership');
      old++;
    }
    assert(young === this.youngLen && old === this.oldLen, 'B5 LRU lengths');
    assert(young + old === this.hash.size, 'B5 every hashed page is on the LRU');
    assert(young + old + this.freeCount === this.frameCount, 'B5 every frame is free or on the LRU');
    for (const [spaceId, pageNo, frame] of this.hash.entries()) {
      assert(this.frameSpace[frame] === spaceId && this.framePage[frame] === pageNo, 'B5 hash key matches frame');
      assert(this.hash.get(spaceId, pageNo) === frame, 'H1 every entry reachable by probing');
    }
    let dirty = 0;
    let previous = Infinity;
    for (let f = this.flushHead; f !== NIL; f = this.flNext[f]!) {
      assert(this.oldestMod[f]! <= previous, 'B4 flush list ordered by oldest modification');
      assert(this.oldestMod[f]! > 0 && this.newestMod[f]! >= this.oldestMod[f]!, 'B4 dirty frame LSNs');
      previous = this.oldestMod[f]!;
      dirty++;
    }
    assert(dirty === this.dirtyCount, 'B4 dirty count');
  }

  /** Drops every page without writing: only for a pool whose database is closing or crashed. */
  reset(): void {
    if (debugChecks()) this.validate();
    this.hash.clear();
    this.discardedSpaces.clear();
    this.youngHead = this.youngTail = this.oldHead = this.oldTail = NIL;
    this.youngLen = this.oldLen = 0;
    this.flushHead = this.flushTail = NIL;
    this.dirtyCount = 0;
    this.lruList.fill(LIST_NONE);
    this.oldestMod.fill(0);
    this.newestMod.fill(0);
    this.fixCount.fill(0);
    this.changedInFlight.fill(0);
    this.inFlight = undefined; // an asynchronous batch's continuation then stops (B11)
    for (let i = 0; i < this.frameCount; i++) {
      this.freeStack[i] = this.frameCount - 1 - i;
      this.modifyClock[i]!++; // B9
    }
    this.freeCount = this.frameCount;
  }
}
