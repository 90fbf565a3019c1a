/**
 * Reading a LOB: any slice of the value a reference names, at the reference's version, with the
 * undo diffs of later in-place changes put back (rule LOB-DIFF), without reading the rest.
 *
 * InnoDB counterpart: `lob::read` (`lob/lob0lob.cc`, reading the index entries of the reference's
 * LOB version) and `lob::undo_data_t::apply` (`lob0undo.cc`), which InnoDB applies to the whole
 * value once read; we apply each diff to the slice being read.
 *
 * ## Which bytes a reader gets (README.md L2, bug class 13)
 * For each slot the slice covers, the reader takes the newest version written at or before the
 * reference's VERSION (walking the slot's FIL PREV chain). Then each undo diff the reference carries
 * (newest change first) is copied over the slice, slot by slot, only where the reader took the very
 * page the change wrote in place: a small change made after a larger one copied a slot changed the
 * copy, not the older page an older reader takes, and is not put back there. So a diff applies only
 * to the version it was taken from.
 */
import { FIL_PREV, PageType, pageTypeOf, readU32, readU64 } from '../page/page.js';
import type { LobRef } from '../rec/lob-ref.js';
import { assert } from '../util/assert.js';
import type { LobPages } from './lob-context.js';
import {
  DATA_BYTES_OFFSET,
  DATA_LOB_ID,
  DATA_SLOT,
  DATA_VERSION,
  FIRST_LENGTH,
  FIRST_STATE,
  FIRST_VERSION,
  LobState,
  SLOT_FREED,
  SLOT_UNSET,
  slotBytes,
  slotOf,
  slotStart,
} from './lob-format.js';

/**
 * Copies bytes [offset, offset + length) of the value `ref` names into `out` at `outOffset` (the
 * caller checked the range). Corrupt or stale pages raise `CorruptionError`, never reach `out`.
 */
export function readLob(
  ctx: LobPages,
  ref: LobRef,
  offset: number,
  length: number,
  out: Uint8Array,
  outOffset = 0,
): void {
  assert(offset >= 0 && length >= 0 && offset + length <= ref.length, 'a LOB read stays inside the value');
  if (length === 0) return;
  const g = ctx.g;
  const read = ctx.read;
  const first = ctx.firstPage(read, ref.firstPageNo, ref.lobId);
  if (readU64(first, FIRST_LENGTH) !== ref.length || readU32(first, FIRST_VERSION) < ref.version) {
    throw ctx.corrupt(
      ref.firstPageNo,
      `L2 ${ref.describe()} does not match its LOB (${readU64(first, FIRST_LENGTH)} bytes, version ${readU32(first, FIRST_VERSION)})`,
    );
  }
  if (first[FIRST_STATE] !== LobState.Live)
    throw ctx.corrupt(ref.firstPageNo, `L5 ${ref.describe()} is read in state ${String(first[FIRST_STATE])}`);
  const firstSlot = slotOf(g, offset);
  const lastSlot = slotOf(g, offset + length - 1);
  // The slots' newest pages first (a few index page reads), then the pages each reader sees.
  const taken = new Uint32Array(lastSlot - firstSlot + 1);
  ctx.slotEntries(read, ref.firstPageNo, ref.lobId, firstSlot, taken);
  const end = offset + length;
  for (let slot = firstSlot; slot <= lastSlot; slot++) {
    const start = slotStart(g, slot);
    const from = Math.max(offset, start);
    const to = Math.min(end, start + slotBytes(g, slot, ref.length));
    let pageNo = taken[slot - firstSlot]!;
    for (let steps = 0; ; steps++) {
      if (pageNo === SLOT_UNSET || pageNo === SLOT_FREED || steps > 1_000_000)
        throw ctx.corrupt(
          ref.firstPageNo,
          `L2 ${ref.describe()}: slot ${slot} has no version at or before ${ref.version}`,
        );
      if (pageNo === ref.firstPageNo) {
        if (slot !== 0) throw ctx.corrupt(pageNo, `L2 ${ref.describe()}: slot ${slot} links to the first page`);
        const page = read(ctx.spaceId, pageNo); // checked above; re-read: the frame may have moved
        out.set(page.subarray(g.firstDataOffset + from, g.firstDataOffset + to), outOffset + from - offset);
        break;
      }
      const page = read(ctx.spaceId, pageNo);
      if (
        pageTypeOf(page) !== PageType.LobData ||
        readU64(page, DATA_LOB_ID) !== ref.lobId ||
        readU32(page, DATA_SLOT) !== slot
      )
        ctx.dataPage(() => page, pageNo, ref.lobId, slot); // raises the corruption error with the details
      if (readU32(page, DATA_VERSION) <= ref.version) {
        const at = DATA_BYTES_OFFSET - start;
        out.set(page.subarray(at + from, at + to), outOffset + from - offset);
        break;
      }
      pageNo = readU32(page, FIL_PREV);
    }
    taken[slot - firstSlot] = pageNo;
  }
  applyUndoDiffs(ctx, ref, offset, length, out, outOffset, firstSlot, taken);
}

/** Puts back the old bytes of the in-place changes `ref` carries, where the read took their page. */
function applyUndoDiffs(
  ctx: LobPages,
  ref: LobRef,
  offset: number,
  length: number,
  out: Uint8Array,
  outOffset: number,
  firstSlot: number,
  taken: Uint32Array,
): void {
  const g = ctx.g;
  const end = offset + length;
  for (const diff of ref.undoDiffs) {
    const diffEnd = diff.offset + diff.old.length;
    if (diffEnd <= offset || diff.offset >= end) continue;
    const diffFirst = slotOf(g, diff.offset);
    for (let i = 0; i < diff.pages.length; i++) {
      const slot = diffFirst + i;
      const index = slot - firstSlot;
      if (index < 0 || index >= taken.length || taken[index] !== diff.pages[i]) continue;
      const start = slotStart(g, slot);
      const from = Math.max(offset, diff.offset, start);
      const to = Math.min(end, diffEnd, start + slotBytes(g, slot, ref.length));
      if (from < to) out.set(diff.old.subarray(from - diff.offset, to - diff.offset), outOffset + from - offset);
    }
  }
}

/** The whole value `ref` names, as a new array. */
export function readLobWhole(ctx: LobPages, ref: LobRef): Uint8Array {
  const out = new Uint8Array(ref.length);
  readLob(ctx, ref, 0, ref.length, out, 0);
  return out;
}
