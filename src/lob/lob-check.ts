/**
 * The LOB checker: every LOB page is reachable from exactly one reference (or is on the space's
 * free list), lengths match, and version lists are well formed (README.md L1 to L6).
 *
 * InnoDB counterpart: `lob::validate_size` and the LOB parts of CHECK TABLE; InnoDB does not look
 * for leaked LOB pages, which the crash tests here need.
 */
import { FIL_PREV, NIL_PAGE, PageType, pageTypeOf, readU16, readU32, readU64 } from '../page/page.js';
import { validateFreeList } from '../page/space-allocator.js';
import { SPACE_SIZE_OFFSET } from '../page/tablespace.js';
import type { LobRef } from '../rec/lob-ref.js';
import type { LobContext } from './lob-context.js';
import {
  DATA_VERSION,
  FIRST_DIRECTORY,
  FIRST_INLINE_SLOTS,
  FIRST_LENGTH,
  FIRST_N_INDEX_PAGES,
  FIRST_SLOTS,
  FIRST_STATE,
  FIRST_VERSION,
  INDEX_SLOTS,
  LobState,
  SLOT_FREED,
  SLOT_UNSET,
  indexPageCount,
  slotCount,
} from './lob-format.js';
import { pendingLobs } from './lob-pending.js';

/** Which reference reached each LOB page (page number to a description of the reference). */
export type LobPageOwners = Map<number, string>;

export interface LobCheckOptions {
  /** The reference comes from a delete-marked record or an undo record: the LOB may be mid-free. */
  readonly mayBeFreeing?: boolean;
}

/**
 * Checks the LOB `ref` names and claims its pages in `owners` (L1: a page claimed twice is
 * reachable from two references). Raises `CorruptionError` on anything wrong. Returns how many of
 * its data pages are older versions (kept for readers until purge frees them).
 */
export function checkLob(
  ctx: LobContext,
  ref: LobRef,
  who: string,
  owners: LobPageOwners,
  options: LobCheckOptions = {},
): number {
  const g = ctx.g;
  const read = ctx.read;
  const claim = (pageNo: number): void => {
    const other = owners.get(pageNo);
    if (other !== undefined)
      throw ctx.corrupt(pageNo, `L1 LOB page reachable from two references: ${other} and ${who}`);
    owners.set(pageNo, who);
  };
  const first = ctx.firstPage(read, ref.firstPageNo, ref.lobId);
  const state = first[FIRST_STATE];
  const version = readU32(first, FIRST_VERSION);
  const length = readU64(first, FIRST_LENGTH);
  const indexPagesStored = readU16(first, FIRST_N_INDEX_PAGES);
  const freeing = state === LobState.BeingFreed;
  if (state !== LobState.Live && !(freeing && options.mayBeFreeing === true))
    throw ctx.corrupt(ref.firstPageNo, `L5 ${who}: LOB in state ${String(state)} between operations`);
  if (length !== ref.length)
    throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: LOB of ${length} bytes, the reference says ${ref.length}`);
  if (ref.version > version || ref.version < 1)
    throw ctx.corrupt(ref.firstPageNo, `L2 ${who}: reference at version ${ref.version}, LOB at ${version}`);
  claim(ref.firstPageNo);
  const slots = slotCount(g, length);
  const indexPages = indexPageCount(g, slots);
  // Copy what is needed of the first page before reading others (a frame lasts one access).
  const inline = Array.from({ length: FIRST_INLINE_SLOTS }, (_, i) => readU32(first, FIRST_SLOTS + 4 * i));
  const directory = Array.from({ length: g.directoryEntries }, (_, k) => readU32(first, FIRST_DIRECTORY + 4 * k));
  if (!freeing && indexPagesStored !== indexPages)
    throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: ${indexPagesStored} index pages for ${slots} slots (${indexPages})`);
  for (let i = slots; i < FIRST_INLINE_SLOTS; i++)
    if (inline[i] !== SLOT_UNSET)
      throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: slot ${i} set past the value's ${slots}`);
  const entries: number[] = inline.slice(0, Math.min(slots, FIRST_INLINE_SLOTS));
  for (let k = 0; k < g.directoryEntries; k++) {
    const pageNo = directory[k]!;
    if (k >= indexPages) {
      if (pageNo !== SLOT_UNSET)
        throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: index page ${k} past the value's slots`);
      continue;
    }
    const firstSlot = FIRST_INLINE_SLOTS + k * g.indexEntries;
    const count = Math.min(g.indexEntries, slots - firstSlot);
    if (pageNo === SLOT_FREED || pageNo === SLOT_UNSET) {
      if (!freeing) throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: index page ${k} missing`);
      for (let i = 0; i < count; i++) entries.push(SLOT_FREED);
      continue;
    }
    const index = ctx.indexPage(read, pageNo, ref.lobId, firstSlot);
    claim(pageNo);
    for (let i = 0; i < g.indexEntries; i++) {
      const entry = readU32(index, INDEX_SLOTS + 4 * i);
      if (i < count) entries.push(entry);
      else if (entry !== SLOT_UNSET)
        throw ctx.corrupt(pageNo, `L6 ${who}: index entry ${firstSlot + i} past the value`);
    }
  }
  let olderVersions = 0;
  for (let slot = 0; slot < slots; slot++) {
    let pageNo = entries[slot]!;
    if (pageNo === SLOT_FREED && freeing) continue;
    if (pageNo === SLOT_UNSET || pageNo === SLOT_FREED)
      throw ctx.corrupt(ref.firstPageNo, `L6 ${who}: slot ${slot} has no page`);
    let previous = Number.POSITIVE_INFINITY;
    let readable = false;
    for (;;) {
      if (pageNo === ref.firstPageNo) {
        if (slot !== 0) throw ctx.corrupt(pageNo, `L2 ${who}: slot ${slot}'s versions reach the first page`);
        if (previous <= 1) throw ctx.corrupt(pageNo, `L2 ${who}: slot 0's versions do not decrease to version 1`);
        readable = true;
        break;
      }
      const page = ctx.dataPage(read, pageNo, ref.lobId, slot);
      const pageVersion = readU32(page, DATA_VERSION);
      if (pageVersion >= previous || pageVersion > version || pageVersion < 1)
        throw ctx.corrupt(
          pageNo,
          `L2 ${who}: slot ${slot} version ${pageVersion} after ${previous} (LOB at ${version})`,
        );
      if (pageVersion <= ref.version) readable = true;
      claim(pageNo);
      if (previous !== Number.POSITIVE_INFINITY) olderVersions++;
      previous = pageVersion;
      pageNo = readU32(page, FIL_PREV);
      if (pageNo === NIL_PAGE) break;
    }
    if (!readable && !freeing)
      throw ctx.corrupt(ref.firstPageNo, `L2 ${who}: slot ${slot} has no version a reader at ${ref.version} can read`);
  }
  return olderVersions;
}

/**
 * L1 for the whole space: every LOB page (first, index, data) is claimed in `owners` or the
 * space's free list holds it, and the pending list is empty between operations (L5). Returns how
 * many LOB pages the space has.
 */
export function checkLobSpace(ctx: LobContext, owners: LobPageOwners): number {
  const pending = pendingLobs(ctx);
  if (pending.length > 0) throw ctx.corrupt(0, `L5 LOBs ${pending.join(', ')} are pending between operations`);
  const header = ctx.read(ctx.spaceId, 0);
  const size = readU32(header, SPACE_SIZE_OFFSET);
  const free = new Set(validateFreeList((pageNo) => ctx.read(ctx.spaceId, pageNo), ctx.read(ctx.spaceId, 0)));
  let lobPages = 0;
  for (let pageNo = 1; pageNo < size; pageNo++) {
    const type = pageTypeOf(ctx.read(ctx.spaceId, pageNo));
    const isLob = type === PageType.LobFirst || type === PageType.LobData || type === PageType.LobIndex;
    if (isLob) {
      lobPages++;
      if (!owners.has(pageNo)) throw ctx.corrupt(pageNo, `L1 a LOB page (type ${type}) no reference reaches: leaked`);
    } else if (owners.has(pageNo)) {
      throw ctx.corrupt(pageNo, `L1 ${owners.get(pageNo)} reaches a page of type ${type}`);
    }
    if (free.has(pageNo) && isLob) throw ctx.corrupt(pageNo, 'L1 a LOB page is on the free list');
  }
  return lobPages;
}
