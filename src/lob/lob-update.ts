/**
 * Small partial updates: the bytes changed in place on the LOB's newest pages, their old bytes to
 * undo as (offset, length, old bytes) diffs (rule LOB-DIFF), and put back by a rollback.
 *
 * InnoDB counterpart: `lob0update.cc` (lob::update's small-change branch, replace_inline, and
 * apply_undolog, the rollback) and `trx0rec.cc` (trx_undo_report_blob_update). A change of at
 * most LOB_SMALL_CHANGE_THRESHOLD bytes (100, InnoDB's) keeps the LOB version; a larger one copies
 * the slots it touches into a new version (lob-build.ts VersionChange).
 */
import type { MiniTransaction } from '../redo/mtr.js';
import type { LobRef } from '../rec/lob-ref.js';
import type { LobDiffInput } from '../rec/undo-fields.js';
import { assert } from '../util/assert.js';
import type { LobDiff } from './lob-build.js';
import type { LobContext } from './lob-context.js';
import { readU32 } from '../page/page.js';
import { DATA_BYTES_OFFSET, FIRST_VERSION, slotBytes, slotOf, slotStart } from './lob-format.js';
import { readLob } from './lob-read.js';
import { mtrGetter } from './lob-slots.js';

/** InnoDB's LOB_SMALL_CHANGE_THRESHOLD: a partial update of at most this many bytes is made in place. */
export const LOB_SMALL_CHANGE_BYTES = 100;

/** The newest page of each slot diff `offset, length` touches (none when `length` is 0). */
function pagesOf(ctx: LobContext, ref: LobRef, offset: number, length: number): number[] {
  if (length === 0) return [];
  const pages: number[] = [];
  const last = slotOf(ctx.g, offset + length - 1);
  for (let slot = slotOf(ctx.g, offset); slot <= last; slot++)
    pages.push(ctx.slotEntry(ctx.read, ref.firstPageNo, ref.lobId, slot));
  return pages;
}

/**
 * What a small change's undo record holds (LOB-DIFF): for each diff, in order, the bytes it
 * replaces as they are once the diffs before it are applied, and the pages it will write. Reads
 * only, so the undo record can be written before any page changes (an mtr cannot roll back).
 */
export function smallChangeUndo(ctx: LobContext, ref: LobRef, diffs: readonly LobDiff[]): LobDiffInput[] {
  assert(ref.undoDiffs.length === 0, 'a change starts from the newest version, which has no undo diffs');
  const result: LobDiffInput[] = [];
  for (let k = 0; k < diffs.length; k++) {
    const diff = diffs[k]!;
    const length = diff.bytes.length;
    const old = new Uint8Array(length);
    readLob(ctx, ref, diff.offset, length, old, 0);
    for (let j = 0; j < k; j++) {
      const earlier = diffs[j]!;
      const from = Math.max(diff.offset, earlier.offset);
      const to = Math.min(diff.offset + length, earlier.offset + earlier.bytes.length);
      if (from < to) old.set(earlier.bytes.subarray(from - earlier.offset, to - earlier.offset), from - diff.offset);
    }
    result.push({ offset: diff.offset, old, pages: pagesOf(ctx, ref, diff.offset, length) });
  }
  return result;
}

/** Writes `bytes` at `offset` of the value over the pages `pages` (one per slot touched), in `mtr`. */
function writeInPlace(
  mtr: MiniTransaction,
  ctx: LobContext,
  ref: LobRef,
  offset: number,
  bytes: Uint8Array,
  pages: readonly number[],
): void {
  const g = ctx.g;
  const get = mtrGetter(mtr);
  const firstSlot = slotOf(g, offset);
  for (let i = 0; i < pages.length; i++) {
    const slot = firstSlot + i;
    const pageNo = pages[i]!;
    const start = slotStart(g, slot);
    const from = Math.max(offset, start);
    const to = Math.min(offset + bytes.length, start + slotBytes(g, slot, ref.length));
    if (from >= to) continue;
    // The page must still be the slot's newest (bug class 13: the diff's version is the LOB's).
    const entry = ctx.slotEntry(get, ref.firstPageNo, ref.lobId, slot);
    if (entry !== pageNo)
      throw ctx.corrupt(
        pageNo,
        `L3 LOB ${ref.lobId} slot ${slot}: a diff for page ${pageNo} finds page ${entry} newest`,
      );
    let page: Uint8Array;
    let base: number;
    if (pageNo === ref.firstPageNo) {
      page = ctx.firstPage(get, pageNo, ref.lobId);
      base = g.firstDataOffset;
    } else {
      page = ctx.dataPage(get, pageNo, ref.lobId, slot);
      base = DATA_BYTES_OFFSET - start;
    }
    mtr.write(page, base + from, bytes, from - offset, to - offset);
  }
}

/** The LOB's stored VERSION must be the version the diffs were taken from (UF3, bug class 13). */
function checkVersion(mtr: MiniTransaction, ctx: LobContext, ref: LobRef): void {
  const first = ctx.firstPage(mtrGetter(mtr), ref.firstPageNo, ref.lobId);
  const version = readU32(first, FIRST_VERSION);
  if (version !== ref.version)
    throw ctx.corrupt(
      ref.firstPageNo,
      `UF3 LOB diffs of version ${ref.version} meet LOB ${ref.lobId} at version ${version}`,
    );
}

/** Makes a small change in place, in the row change's mtr (after its undo record: `smallChangeUndo`). */
export function writeSmallChange(
  mtr: MiniTransaction,
  ctx: LobContext,
  ref: LobRef,
  diffs: readonly LobDiff[],
  undo: readonly LobDiffInput[],
): void {
  checkVersion(mtr, ctx, ref);
  diffs.forEach((diff, k) => writeInPlace(mtr, ctx, ref, diff.offset, diff.bytes, undo[k]!.pages));
}

/** Rollback of a small change: the old bytes back in place, last diff first, in `mtr`. */
export function undoSmallChange(
  mtr: MiniTransaction,
  ctx: LobContext,
  ref: LobRef,
  undo: readonly LobDiffInput[],
): void {
  checkVersion(mtr, ctx, ref);
  for (let k = undo.length - 1; k >= 0; k--) {
    const diff = undo[k]!;
    writeInPlace(mtr, ctx, ref, diff.offset, diff.old, diff.pages);
  }
}
