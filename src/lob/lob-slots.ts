/**
 * Changing a LOB's index inside a mini-transaction: setting a slot's entry (allocating the index
 * page that holds it when needed), and the space header's LOB fields.
 *
 * InnoDB counterpart: the index list manipulation of `lob/lob0index.cc` and `lob0first.cc`
 * (first_page_t::alloc_index_entry, index_entry_t::insert_after). Ours is an array of page numbers
 * (lob-format.ts), so setting an entry is one logged 4-byte write.
 */
import { readU32, readU64, PageType } from '../page/page.js';
import { allocatePage } from '../page/space-allocator.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { assert } from '../util/assert.js';
import { type LobContext, SPACE_LOB_NEXT_ID } from './lob-context.js';
import {
  FIRST_DIRECTORY,
  FIRST_INLINE_SLOTS,
  FIRST_N_INDEX_PAGES,
  INDEX_FIRST_SLOT,
  INDEX_LOB_ID,
  SLOT_FREED,
  SLOT_UNSET,
  slotLocation,
} from './lob-format.js';

/** The mtr's page getter (pages stay fixed until it commits). */
export function mtrGetter(mtr: MiniTransaction): (spaceId: number, pageNo: number) => Uint8Array {
  return (spaceId, pageNo) => mtr.getPage(spaceId, pageNo);
}

/**
 * Sets slot `slot` of the LOB whose first page (fixed by `mtr`) is `first` to `pageNo`. When the
 * slot's index page does not exist yet and `allocate` is true it is allocated (one page); returns
 * the pages allocated (0 or 1).
 */
export function setSlotEntry(
  mtr: MiniTransaction,
  ctx: LobContext,
  first: Uint8Array,
  lobId: number,
  slot: number,
  pageNo: number,
  allocate = false,
): number {
  const where = slotLocation(ctx.g, slot);
  if (where.indexPage < 0) {
    mtr.writeU32(first, where.offset, pageNo);
    return 0;
  }
  const directoryAt = FIRST_DIRECTORY + 4 * where.indexPage;
  const firstSlot = FIRST_INLINE_SLOTS + where.indexPage * ctx.g.indexEntries;
  let indexPageNo = readU32(first, directoryAt);
  let allocated = 0;
  let index: Uint8Array;
  if (indexPageNo === SLOT_UNSET) {
    assert(allocate, () => `LOB ${lobId}: slot ${slot}'s index page exists`);
    const fresh = allocatePage(mtr, ctx.spaceId, PageType.LobIndex);
    index = fresh.page;
    indexPageNo = fresh.pageNo;
    mtr.writeU64(index, INDEX_LOB_ID, lobId);
    mtr.writeU32(index, INDEX_FIRST_SLOT, firstSlot);
    mtr.writeU32(first, directoryAt, indexPageNo);
    mtr.writeU16(first, FIRST_N_INDEX_PAGES, (first[FIRST_N_INDEX_PAGES]! << 8) + first[FIRST_N_INDEX_PAGES + 1]! + 1);
    allocated = 1;
  } else {
    assert(indexPageNo !== SLOT_FREED, () => `LOB ${lobId}: slot ${slot}'s index page was not freed`);
    index = ctx.indexPage(mtrGetter(mtr), indexPageNo, lobId, firstSlot);
  }
  mtr.writeU32(index, where.offset, pageNo);
  return allocated;
}

/** Hands out the next LOB id of the space (in `mtr`, with the LOB's creation: L4). */
export function nextLobId(mtr: MiniTransaction, ctx: LobContext): number {
  const header = mtr.getPage(ctx.spaceId, 0);
  const id = Math.max(1, readU64(header, SPACE_LOB_NEXT_ID));
  assert(id < 2 ** 48, 'LOB ids fit 48 bits');
  mtr.writeU64(header, SPACE_LOB_NEXT_ID, id + 1);
  return id;
}
