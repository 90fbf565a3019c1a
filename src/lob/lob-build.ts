/**
 * Writing LOB pages for one row change: new LOBs (an insert, a whole-value update) and new versions
 * of slots (a larger partial update), over as many mini-transactions as they need, made visible at
 * once by the row change's own mtr.
 *
 * InnoDB counterpart: `lob/lob0ins.cc` (lob::insert: the first page, then data pages, committing
 * the mtr every few pages: `btr_store_big_rec_extern_fields`' commit_freq) and `lob0update.cc`
 * (lob::replace: copy the pages a change touches into new index entries of a new LOB version).
 *
 * ## The protocol (README.md L5)
 *
 *     LobBatch: add the row change's LOB work --> writeAhead(): work too large for one mtr is
 *     written now, in its own mtrs, the LOB on the space's pending list --> the row change's mtr:
 *     undo record, finish(mtr): the rest of the pages, the new VERSIONs, the pending list
 *     emptied, then the clustered record with the new references --> commit
 *
 *     a failure before finish: abandon() (or, after a crash, `cleanUpPending` at open) drops what
 *     the pending list names: a new LOB is freed whole, a new version's copied pages dropped
 *
 * So no reference ever names a LOB or a version that is not whole, a crash at any point leaves the
 * old value or the new one, and no page leaks: until the row change's mtr commits, every page
 * written ahead is reachable from the pending list; after, from the record.
 */
import { FIL_PREV, PageType, readU32, readU64 } from '../page/page.js';
import { allocatePage } from '../page/space-allocator.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { LobRef } from '../rec/lob-ref.js';
import type { SlotRange } from '../rec/undo-fields.js';
import { assert } from '../util/assert.js';
import { type LobContext, SPACE_LOB_PENDING_HEAD } from './lob-context.js';
import {
  DATA_BYTES_OFFSET,
  DATA_LOB_ID,
  DATA_SLOT,
  DATA_VERSION,
  FIRST_FORMAT,
  FIRST_LENGTH,
  FIRST_LOB_ID,
  FIRST_PENDING_NEXT,
  FIRST_PENDING_SLOT_MAX,
  FIRST_PENDING_SLOT_MIN,
  FIRST_SLOTS,
  FIRST_STATE,
  FIRST_VERSION,
  LOB_FORMAT,
  LobState,
  indexPageCount,
  slotBytes,
  slotCount,
  slotOf,
  slotStart,
} from './lob-format.js';
import { cleanUpPending } from './lob-pending.js';
import { mtrGetter, nextLobId, setSlotEntry } from './lob-slots.js';

/** A new LOB being written, a bounded number of pages per call (lob0ins.cc). */
class NewLob {
  private readonly ctx: LobContext;
  readonly bytes: Uint8Array;
  readonly slots: number;
  firstPageNo = 0;
  lobId = 0;
  private nextSlot = 0;
  pending = false;

  constructor(ctx: LobContext, bytes: Uint8Array) {
    assert(bytes.length > 0 && bytes.length <= ctx.g.bytesMax, () => `a LOB of ${bytes.length} bytes fits the format`);
    this.ctx = ctx;
    this.bytes = bytes;
    this.slots = slotCount(ctx.g, bytes.length);
  }

  get pages(): number {
    return this.slots + indexPageCount(this.ctx.g, this.slots);
  }

  get done(): boolean {
    return this.nextSlot >= this.slots;
  }

  /** Writes up to `budget` pages (at least one) in `mtr`; the first call creates the first page. */
  write(mtr: MiniTransaction, budget: number, pending: boolean): void {
    const ctx = this.ctx;
    const g = ctx.g;
    let first: Uint8Array;
    let used = 0;
    if (this.firstPageNo === 0) {
      const fresh = allocatePage(mtr, ctx.spaceId, PageType.LobFirst);
      first = fresh.page;
      this.firstPageNo = fresh.pageNo;
      this.lobId = nextLobId(mtr, ctx);
      mtr.writeU8(first, FIRST_FORMAT, LOB_FORMAT);
      mtr.writeU8(first, FIRST_STATE, pending ? LobState.PendingNew : LobState.Live);
      mtr.writeU32(first, FIRST_VERSION, 1);
      mtr.writeU64(first, FIRST_LOB_ID, this.lobId);
      mtr.writeU64(first, FIRST_LENGTH, this.bytes.length);
      mtr.write(first, g.firstDataOffset, this.bytes, 0, slotBytes(g, 0, this.bytes.length));
      mtr.writeU32(first, FIRST_SLOTS, this.firstPageNo); // slot 0: its first version is on this page
      if (pending) linkPending(mtr, ctx, first, this.firstPageNo);
      this.pending = pending;
      this.nextSlot = 1;
      used = 1;
    } else {
      first = ctx.firstPage(mtrGetter(mtr), this.firstPageNo, this.lobId);
    }
    while (this.nextSlot < this.slots && used < budget) {
      const slot = this.nextSlot;
      const fresh = allocatePage(mtr, ctx.spaceId, PageType.LobData);
      mtr.writeU64(fresh.page, DATA_LOB_ID, this.lobId);
      mtr.writeU32(fresh.page, DATA_SLOT, slot);
      mtr.writeU32(fresh.page, DATA_VERSION, 1);
      const start = slotStart(g, slot);
      mtr.write(fresh.page, DATA_BYTES_OFFSET, this.bytes, start, start + slotBytes(g, slot, this.bytes.length));
      used += 1 + setSlotEntry(mtr, ctx, first, this.lobId, slot, fresh.pageNo, true);
      this.nextSlot++;
    }
  }

  ref(): LobRef {
    return new LobRef(this.ctx.spaceId, this.firstPageNo, this.lobId, 1, this.bytes.length);
  }
}

/** One diff of a partial update: `bytes` replace as many bytes at `offset`. */
export interface LobDiff {
  readonly offset: number;
  readonly bytes: Uint8Array;
}

/**
 * A larger partial update (lob0update.cc replace): every slot a diff touches is copied into a new
 * data page of version VERSION + 1 with the diffs applied, and becomes the slot's newest version;
 * the old page stays as the version before it, for older readers, until purge (L2, L3).
 */
class VersionChange {
  private readonly ctx: LobContext;
  readonly from: LobRef;
  readonly diffs: readonly LobDiff[];
  readonly slots: readonly number[];
  private next = 0;
  pending = false;

  constructor(ctx: LobContext, from: LobRef, diffs: readonly LobDiff[]) {
    this.ctx = ctx;
    this.from = from;
    this.diffs = diffs;
    const touched = new Set<number>();
    for (const diff of diffs) {
      if (diff.bytes.length === 0) continue;
      const last = slotOf(ctx.g, diff.offset + diff.bytes.length - 1);
      for (let slot = slotOf(ctx.g, diff.offset); slot <= last; slot++) touched.add(slot);
    }
    this.slots = [...touched].sort((a, b) => a - b);
  }

  get version(): number {
    return this.from.version + 1;
  }

  get pages(): number {
    return this.slots.length;
  }

  get done(): boolean {
    return this.next >= this.slots.length;
  }

  write(mtr: MiniTransaction, budget: number, pending: boolean, scratch: Uint8Array): void {
    const ctx = this.ctx;
    const g = ctx.g;
    const from = this.from;
    const get = mtrGetter(mtr);
    const first = ctx.firstPage(get, from.firstPageNo, from.lobId);
    if (this.next === 0) {
      // UF3 / bug class 13: the change starts from the version the row reads, which is the newest.
      assert(
        readU32(first, FIRST_VERSION) === from.version && readU64(first, FIRST_LENGTH) === from.length,
        () => `L3 a partial update of ${from.describe()} starts from its newest version`,
      );
      if (pending && this.slots.length > 0) {
        mtr.writeU8(first, FIRST_STATE, LobState.PendingVersion);
        mtr.writeU32(first, FIRST_PENDING_SLOT_MIN, this.slots[0]!);
        mtr.writeU32(first, FIRST_PENDING_SLOT_MAX, this.slots[this.slots.length - 1]!);
        linkPending(mtr, ctx, first, from.firstPageNo);
        this.pending = true;
      }
    }
    let used = 0;
    while (this.next < this.slots.length && used < budget) {
      const slot = this.slots[this.next]!;
      const head = ctx.slotEntry(get, from.firstPageNo, from.lobId, slot);
      const length = slotBytes(g, slot, from.length);
      const start = slotStart(g, slot);
      if (head === from.firstPageNo) {
        scratch.set(first.subarray(g.firstDataOffset, g.firstDataOffset + length), 0);
      } else {
        const page = ctx.dataPage(get, head, from.lobId, slot);
        assert(readU32(page, DATA_VERSION) <= from.version, 'L2 a slot is never newer than its LOB');
        scratch.set(page.subarray(DATA_BYTES_OFFSET, DATA_BYTES_OFFSET + length), 0);
      }
      for (const diff of this.diffs) applyToSlot(diff, start, length, scratch);
      const fresh = allocatePage(mtr, ctx.spaceId, PageType.LobData);
      mtr.writeU64(fresh.page, DATA_LOB_ID, from.lobId);
      mtr.writeU32(fresh.page, DATA_SLOT, slot);
      mtr.writeU32(fresh.page, DATA_VERSION, this.version);
      mtr.writeU32(fresh.page, FIL_PREV, head);
      mtr.write(fresh.page, DATA_BYTES_OFFSET, scratch, 0, length);
      setSlotEntry(mtr, ctx, first, from.lobId, slot, fresh.pageNo);
      used++;
      this.next++;
    }
  }

  /** The slots copied, as ranges for the undo record (at most `max`; merged into one span beyond). */
  ranges(max = 64): SlotRange[] {
    const ranges: SlotRange[] = [];
    for (const slot of this.slots) {
      const last = ranges[ranges.length - 1];
      if (last !== undefined && last.last === slot - 1) ranges[ranges.length - 1] = { first: last.first, last: slot };
      else ranges.push({ first: slot, last: slot });
    }
    if (ranges.length > max) return [{ first: ranges[0]!.first, last: ranges[ranges.length - 1]!.last }];
    return ranges;
  }
}

/** Copies the part of `diff` that falls in the slot [start, start + length) into `slot`. */
function applyToSlot(diff: LobDiff, start: number, length: number, slot: Uint8Array): void {
  const from = Math.max(diff.offset, start);
  const to = Math.min(diff.offset + diff.bytes.length, start + length);
  if (from >= to) return;
  slot.set(diff.bytes.subarray(from - diff.offset, to - diff.offset), from - start);
}

/** Puts a LOB at the head of the space's pending list (in the mtr that marks it pending). */
function linkPending(mtr: MiniTransaction, ctx: LobContext, first: Uint8Array, firstPageNo: number): void {
  const header = mtr.getPage(ctx.spaceId, 0);
  mtr.writeU32(first, FIRST_PENDING_NEXT, readU32(header, SPACE_LOB_PENDING_HEAD));
  mtr.writeU32(header, SPACE_LOB_PENDING_HEAD, firstPageNo);
}

/** The LOB work of one row change (see the protocol above). */
export class LobBatch {
  private readonly ctx: LobContext;
  private readonly news: NewLob[] = [];
  private readonly changes: VersionChange[] = [];
  private scratch: Uint8Array | undefined;
  private finished = false;

  constructor(ctx: LobContext) {
    this.ctx = ctx;
  }

  get isEmpty(): boolean {
    return this.news.length === 0 && this.changes.length === 0;
  }

  /** A new LOB holding `bytes`; its reference is `refOf(handle)` once `finish` ran. */
  addNew(bytes: Uint8Array): number {
    this.news.push(new NewLob(this.ctx, bytes));
    return this.news.length - 1;
  }

  /** A new version of `from` with `diffs` applied (a larger partial update). */
  addVersion(from: LobRef, diffs: readonly LobDiff[]): number {
    this.changes.push(new VersionChange(this.ctx, from, diffs));
    return this.changes.length - 1;
  }

  /** The slot ranges version change `handle` copies (for its LobVersion undo field). */
  rangesOf(handle: number): SlotRange[] {
    return this.changes[handle]!.ranges();
  }

  /** Pages this batch writes in all. */
  get pages(): number {
    let pages = 0;
    for (const lob of this.news) pages += lob.pages;
    for (const change of this.changes) pages += change.pages;
    return pages;
  }

  /**
   * Writes now, in their own mtrs, the work too large for the row change's mtr, on the pending
   * list (L5). Synchronous: nothing else runs until `finish` or `abandon`.
   */
  writeAhead(): void {
    const budget = this.ctx.pagesPerMtr;
    if (this.pages <= budget) return;
    const scratch = this.scratchBuffer();
    try {
      for (const lob of this.news)
        this.ctx.runSteps((mtr) => {
          lob.write(mtr, budget, true);
          return lob.done;
        });
      for (const change of this.changes)
        this.ctx.runSteps((mtr) => {
          change.write(mtr, budget, true, scratch);
          return change.done;
        });
    } catch (error) {
      this.abandon();
      throw error;
    }
  }

  /**
   * In the row change's mtr: writes what is left, sets each changed LOB's VERSION, and empties the
   * pending list, so the references the caller now writes into the record name whole LOBs.
   */
  finish(mtr: MiniTransaction): void {
    assert(!this.finished, 'a LOB batch finishes once');
    this.finished = true;
    const scratch = this.scratchBuffer();
    let pending = 0;
    for (const lob of this.news) {
      while (!lob.done) lob.write(mtr, Number.POSITIVE_INFINITY, false);
      if (lob.pending) pending++;
    }
    for (const change of this.changes) {
      do change.write(mtr, Number.POSITIVE_INFINITY, false, scratch);
      while (!change.done);
      const first = this.ctx.firstPage(mtrGetter(mtr), change.from.firstPageNo, change.from.lobId);
      mtr.writeU32(first, FIRST_VERSION, change.version);
      if (change.pending) pending++;
    }
    if (pending > 0) this.unlinkPending(mtr, pending);
  }

  /** The reference new LOB `handle` got (after `finish`). */
  refOf(handle: number): LobRef {
    return this.news[handle]!.ref();
  }

  /** The reference of version change `handle`'s LOB at its new version. */
  changedRef(handle: number): LobRef {
    const change = this.changes[handle]!;
    return new LobRef(
      change.from.spaceId,
      change.from.firstPageNo,
      change.from.lobId,
      change.version,
      change.from.length,
    );
  }

  /** Undoes what `writeAhead` wrote, after a failure before `finish` (recovery does it after a crash). */
  abandon(): void {
    if (this.finished) return;
    this.finished = true;
    try {
      cleanUpPending(this.ctx);
    } catch {
      // The engine refuses work (poisoned by the failure): the next open cleans the pending list.
    }
  }

  /** Empties the pending list, which holds exactly this batch's LOBs (L5): each back to Live. */
  private unlinkPending(mtr: MiniTransaction, expected: number): void {
    const ctx = this.ctx;
    const header = mtr.getPage(ctx.spaceId, 0);
    let pageNo = readU32(header, SPACE_LOB_PENDING_HEAD);
    const mine = new Map<number, number>();
    for (const lob of this.news) if (lob.pending) mine.set(lob.firstPageNo, lob.lobId);
    for (const change of this.changes) if (change.pending) mine.set(change.from.firstPageNo, change.from.lobId);
    let count = 0;
    while (pageNo !== 0) {
      const lobId = mine.get(pageNo);
      assert(
        lobId !== undefined,
        () => `L5 the pending list holds only the LOBs of the change in flight (page ${pageNo})`,
      );
      const first = ctx.firstPage(mtrGetter(mtr), pageNo, lobId);
      const next = readU32(first, FIRST_PENDING_NEXT);
      mtr.writeU32(first, FIRST_PENDING_NEXT, 0);
      mtr.writeU8(first, FIRST_STATE, LobState.Live);
      mtr.writeU32(first, FIRST_PENDING_SLOT_MIN, 0);
      mtr.writeU32(first, FIRST_PENDING_SLOT_MAX, 0);
      pageNo = next;
      count++;
    }
    assert(count === expected, () => `L5 the pending list held ${count} LOBs, the batch ${expected}`);
    mtr.writeU32(header, SPACE_LOB_PENDING_HEAD, 0);
  }

  private scratchBuffer(): Uint8Array {
    this.scratch ??= new Uint8Array(this.ctx.g.pageSize);
    return this.scratch;
  }
}
