/**
 * Freeing LOB pages: a whole LOB (rollback of the change that wrote it, purge of the record or of
 * the update that replaced it), the versions no reader can reach any more (purge of a larger
 * partial update), and the version a rolled-back larger partial update wrote.
 *
 * InnoDB counterpart: `lob/lob0purge.cc` (lob::purge: free the LOB, or the index entries older than
 * the version purge has reached) and `lob::rollback` in `lob0lob.cc`.
 *
 * Every step leaves the LOB consistent at the mtr boundary, so a crash between steps resumes
 * (README.md L5): a page is freed in the same mtr that unlinks it (its slot entry, or the newer
 * version's FIL PREV, moves past it), and the first page, which the references name, goes last.
 * Run again after a crash, each function finds what is left and frees only that; a LOB already
 * freed (its first page freed or reused: another LOB id) is left alone.
 */
import { FIL_PREV, NIL_PAGE, readU32, readU64 } from '../page/page.js';
import { freePage } from '../page/space-allocator.js';
import type { MiniTransaction } from '../redo/mtr.js';
import type { SlotRange } from '../rec/undo-fields.js';
import { assert } from '../util/assert.js';
import type { LobContext } from './lob-context.js';
import {
  DATA_VERSION,
  FIRST_DIRECTORY,
  FIRST_LENGTH,
  FIRST_N_INDEX_PAGES,
  FIRST_STATE,
  FIRST_VERSION,
  LobState,
  SLOT_FREED,
  SLOT_UNSET,
  indexPageCount,
  slotCount,
  FIRST_INLINE_SLOTS,
} from './lob-format.js';
import { mtrGetter, setSlotEntry } from './lob-slots.js';

/** Where a multi-step free has got to (a hint: after a crash it starts again from slot 0). */
export interface FreeProgress {
  slot: number;
}

/**
 * Frees pages of LOB `lobId` (first page `firstPageNo`) in `mtr`, all but the first page, at most
 * `budget`; marks it BeingFreed. Returns true when nothing but the first page is left.
 */
export function freeLobPages(
  mtr: MiniTransaction,
  ctx: LobContext,
  firstPageNo: number,
  lobId: number,
  budget: number,
  progress: FreeProgress = { slot: 0 },
): boolean {
  const get = mtrGetter(mtr);
  const first = ctx.firstPage(get, firstPageNo, lobId);
  if (first[FIRST_STATE] !== LobState.BeingFreed) mtr.writeU8(first, FIRST_STATE, LobState.BeingFreed);
  const slots = slotCount(ctx.g, readU64(first, FIRST_LENGTH));
  let freed = 0;
  for (; progress.slot < slots; progress.slot++) {
    const slot = progress.slot;
    for (;;) {
      const entry = ctx.slotEntry(get, firstPageNo, lobId, slot);
      if (entry === SLOT_UNSET || entry === SLOT_FREED) break;
      if (freed >= budget) return false;
      if (entry === firstPageNo) {
        setSlotEntry(mtr, ctx, first, lobId, slot, SLOT_FREED);
        break;
      }
      const page = ctx.dataPage(get, entry, lobId, slot);
      const older = readU32(page, FIL_PREV);
      // Unlink, then free, in one mtr: a crash leaves the slot naming what is left of its chain.
      setSlotEntry(mtr, ctx, first, lobId, slot, older === NIL_PAGE || older === firstPageNo ? SLOT_FREED : older);
      freePage(mtr, ctx.spaceId, entry);
      freed++;
    }
  }
  const indexPages = indexPageCount(ctx.g, slots);
  for (let k = 0; k < indexPages; k++) {
    const at = FIRST_DIRECTORY + 4 * k;
    const pageNo = readU32(first, at);
    if (pageNo === SLOT_UNSET || pageNo === SLOT_FREED) continue;
    if (freed >= budget) return false;
    ctx.indexPage(get, pageNo, lobId, FIRST_INLINE_SLOTS + k * ctx.g.indexEntries);
    mtr.writeU32(first, at, SLOT_FREED);
    freePage(mtr, ctx.spaceId, pageNo);
    freed++;
  }
  return true;
}

/** Frees the first page of a LOB whose other pages `freeLobPages` freed. */
export function freeFirstPage(mtr: MiniTransaction, ctx: LobContext, firstPageNo: number, lobId: number): void {
  const first = ctx.firstPage(mtrGetter(mtr), firstPageNo, lobId);
  assert(first[FIRST_STATE] === LobState.BeingFreed, () => `L5 LOB ${lobId} is being freed before its first page`);
  freePage(mtr, ctx.spaceId, firstPageNo);
}

/**
 * Frees LOB `lobId` whole in its own mtrs (purge of an update that replaced it); nothing when its
 * first page is no longer its (freed already: a purge repeated after a crash).
 */
export function freeLobInSteps(ctx: LobContext, firstPageNo: number, lobId: number): void {
  if (!ctx.isFirstPageOf(firstPageNo, lobId)) return;
  const progress: FreeProgress = { slot: 0 };
  ctx.runSteps((mtr) => {
    const done = freeLobPages(mtr, ctx, firstPageNo, lobId, ctx.pagesPerMtr, progress);
    if (done) freeFirstPage(mtr, ctx, firstPageNo, lobId);
    return done;
  });
}

/**
 * Before a final mtr that frees LOB `lobId` with the record change that drops it (rollback of its
 * insert, purge of its delete): frees in their own mtrs all but the first page when they are more
 * than one mtr should carry; the final mtr frees the rest (`finishFree`).
 */
export function prepareFree(ctx: LobContext, firstPageNo: number, lobId: number): void {
  if (!ctx.isFirstPageOf(firstPageNo, lobId)) return;
  const first = ctx.firstPage(ctx.read, firstPageNo, lobId);
  const slots = slotCount(ctx.g, readU64(first, FIRST_LENGTH));
  if (slots + indexPageCount(ctx.g, slots) <= ctx.pagesPerMtr && first[FIRST_STATE] !== LobState.BeingFreed) return;
  const progress: FreeProgress = { slot: 0 };
  ctx.runSteps((mtr) => freeLobPages(mtr, ctx, firstPageNo, lobId, ctx.pagesPerMtr, progress));
}

/** In the final mtr: frees what `prepareFree` left of LOB `lobId`, first page last. */
export function finishFree(mtr: MiniTransaction, ctx: LobContext, firstPageNo: number, lobId: number): void {
  if (!ctx.isFirstPageOf(firstPageNo, lobId)) return;
  const done = freeLobPages(mtr, ctx, firstPageNo, lobId, Number.POSITIVE_INFINITY);
  assert(done, 'an unbounded free finishes');
  freeFirstPage(mtr, ctx, firstPageNo, lobId);
}

/**
 * Purge of a larger partial update that wrote `version`: in the slots it copied, every version
 * older than the one a reader at `version` sees is unreachable (every view sees the change), so it
 * is freed. Slot 0's first version lives on the first page, which stays (it is the LOB's header):
 * the chain is only cut there. In its own mtrs; nothing when the LOB is gone.
 */
export function truncateVersions(
  ctx: LobContext,
  firstPageNo: number,
  lobId: number,
  version: number,
  ranges: readonly SlotRange[],
): void {
  if (!ctx.isFirstPageOf(firstPageNo, lobId)) return;
  const slots = rangeSlots(ranges);
  let i = 0;
  while (i < slots.length) {
    const mtr = ctx.startMtr();
    const get = mtrGetter(mtr);
    let freed = 0;
    const first = ctx.firstPage(get, firstPageNo, lobId);
    if (first[FIRST_STATE] === LobState.BeingFreed) {
      mtr.commit();
      return; // the whole LOB is going: its free takes every version
    }
    for (; i < slots.length && freed < ctx.pagesPerMtr; i++) {
      const slot = slots[i]!;
      const keptNo = ctx.pageAtVersion(get, firstPageNo, lobId, slot, version);
      // Nothing at or before `version` is left: a later change's purge cut the slot below its own
      // version before a crash, and purge runs this record again (L7). Nothing older to free.
      if (keptNo === undefined || keptNo === firstPageNo) continue;
      const kept = ctx.dataPage(get, keptNo, lobId, slot);
      for (;;) {
        const older = readU32(kept, FIL_PREV);
        if (older === NIL_PAGE) break;
        if (older === firstPageNo) {
          mtr.writeU32(kept, FIL_PREV, NIL_PAGE);
          break;
        }
        if (freed >= ctx.pagesPerMtr) break;
        const page = ctx.dataPage(get, older, lobId, slot);
        mtr.writeU32(kept, FIL_PREV, readU32(page, FIL_PREV));
        freePage(mtr, ctx.spaceId, older);
        freed++;
      }
      if (freed >= ctx.pagesPerMtr) break; // this slot again in the next mtr
    }
    mtr.commit();
  }
}

/**
 * Rollback of a larger partial update that wrote `version` (README.md L3): in the slots it copied,
 * the page at `version` is dropped and the one before it is the slot's newest again, at most
 * `budget` pages; returns true when none is left. The final mtr then sets VERSION back
 * (`finishRollbackVersion`).
 */
export function dropVersionPages(
  mtr: MiniTransaction,
  ctx: LobContext,
  firstPageNo: number,
  lobId: number,
  version: number,
  slots: readonly number[],
  budget: number,
  progress: FreeProgress = { slot: 0 },
): boolean {
  const get = mtrGetter(mtr);
  const first = ctx.firstPage(get, firstPageNo, lobId);
  let freed = 0;
  for (; progress.slot < slots.length; progress.slot++) {
    const slot = slots[progress.slot]!;
    const head = ctx.slotEntry(get, firstPageNo, lobId, slot);
    if (head === firstPageNo || head === SLOT_UNSET || head === SLOT_FREED) continue;
    const page = ctx.dataPage(get, head, lobId, slot);
    const pageVersion = readU32(page, DATA_VERSION);
    if (pageVersion < version) continue; // dropped already (a rollback resumed after a crash)
    assert(pageVersion === version, () => `L3 LOB ${lobId} slot ${slot} has version ${pageVersion} above ${version}`);
    if (freed >= budget) return false;
    const older = readU32(page, FIL_PREV);
    assert(older !== NIL_PAGE, () => `L3 LOB ${lobId} slot ${slot}: a copied version has an older one`);
    setSlotEntry(mtr, ctx, first, lobId, slot, older);
    freePage(mtr, ctx.spaceId, head);
    freed++;
  }
  return true;
}

/** The final mtr of a version rollback: the LOB's VERSION goes back to `version - 1`. */
export function finishRollbackVersion(
  mtr: MiniTransaction,
  ctx: LobContext,
  firstPageNo: number,
  lobId: number,
  version: number,
  slots: readonly number[],
): void {
  const done = dropVersionPages(mtr, ctx, firstPageNo, lobId, version, slots, Number.POSITIVE_INFINITY);
  assert(done, 'an unbounded drop finishes');
  const first = ctx.firstPage(mtrGetter(mtr), firstPageNo, lobId);
  assert(readU32(first, FIRST_VERSION) === version, () => `L3 LOB ${lobId} is at version ${version} when rolled back`);
  mtr.writeU32(first, FIRST_VERSION, version - 1);
}

/** Before that final mtr: drops in their own mtrs the copied pages when they are many. */
export function prepareRollbackVersion(
  ctx: LobContext,
  firstPageNo: number,
  lobId: number,
  version: number,
  slots: readonly number[],
): void {
  if (slots.length <= ctx.pagesPerMtr) return;
  const progress: FreeProgress = { slot: 0 };
  ctx.runSteps((mtr) => dropVersionPages(mtr, ctx, firstPageNo, lobId, version, slots, ctx.pagesPerMtr, progress));
}

/** Every slot of `ranges`, ascending. */
export function rangeSlots(ranges: readonly SlotRange[]): number[] {
  const slots: number[] = [];
  for (const range of ranges) for (let slot = range.first; slot <= range.last; slot++) slots.push(slot);
  return slots;
}

/** Pages of a LOB (all versions, index pages, the first page): for the checker and tests. */
export function countIndexPages(first: Uint8Array): number {
  return (first[FIRST_N_INDEX_PAGES]! << 8) | first[FIRST_N_INDEX_PAGES + 1]!;
}
