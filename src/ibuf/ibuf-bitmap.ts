/**
 * The change-buffer bitmap: one byte per page of a tablespace, saying how much a secondary-index
 * leaf can still take and whether the change buffer holds operations for it.
 *
 * InnoDB counterpart: the ibuf bitmap pages of `ibuf/ibuf0ibuf.cc` (IBUF_BITMAP_FREE, 2 bits;
 * IBUF_BITMAP_BUFFERED; IBUF_BITMAP_IBUF), page 1 of every `page_size` pages of each tablespace.
 * Ours differ:
 *  - The bitmap pages are allocated from the tablespace as they are needed (none until a leaf has
 *    something to say), in a chain whose first page the space header names, instead of reserved
 *    page numbers: the page allocator (page/space-allocator.ts) stays unaware of the change buffer.
 *  - One byte per page instead of four bits: sixteen free-space classes instead of four, and a
 *    lower bound on the page's records, so a buffered delete can be judged against the page's own
 *    records, not only against the inserts buffered for it (InnoDB: ibuf_get_volume_buffered's
 *    min_n_recs counts buffered inserts only). No IBUF bit: the change buffer's own tree lives in
 *    the system tablespace, which has no bitmap.
 *
 * Space header (page 0 of a table's space), in its user area:
 *
 * | offset | size | field         | meaning                                                    |
 * |--------|------|---------------|------------------------------------------------------------|
 * | 128    | 4    | BITMAP_FIRST  | the first bitmap page, or 0: no page has bits yet          |
 *
 * Bitmap page (PageType.IbufBitmap); the i-th page of the chain covers pages [i n, (i + 1) n),
 * n = pageSize - 56:
 *
 * | offset | size | field       | meaning                                                      |
 * |--------|------|-------------|--------------------------------------------------------------|
 * | 0      | 40   | FIL header  | page.ts; NEXT links the chain                                 |
 * | 40     | 4    | FIRST_PAGE  | i n: the page the first entry describes                       |
 * | 44     | 4    | (reserved)  | zero                                                         |
 * | 48     | n    | entries     | one byte per page, from FIRST_PAGE on                         |
 *
 * Entry byte:
 *
 * | bits | field    | meaning                                                                   |
 * |------|----------|---------------------------------------------------------------------------|
 * | 7    | BUFFERED | the change buffer holds unprocessed operations for the page (IB1)          |
 * | 4-6  | RECORDS  | c: the page holds at least RECORDS_MIN[c] = 0, 2, 4, 8 ... 128 entries       |
 * | 0-3  | FREE     | f: the page has at least f * floor(capacity / 16) bytes free (index-page.ts) |
 *
 * RECORDS and FREE describe the page as its last change left it, and only ever promise less than
 * it has (IB5 of change-buffer.ts): every mini-transaction that changes a non-unique secondary leaf
 * rewrites them when they differ, coarse classes so that most changes need no bitmap write.
 */
import { CorruptionError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { FIL_NEXT, NIL_PAGE, PageType, pageTypeOf, readU32 } from '../page/page.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID, spaceFileName } from '../page/tablespace.js';
import { allocatePage } from '../page/space-allocator.js';
import { entryCount, freeBytes, pageCapacity } from '../btree/index-page.js';
import { assert } from '../util/assert.js';

export const BITMAP_FIRST_OFFSET = SPACE_USER_OFFSET;
export const BITMAP_FIRST_PAGE = 40;
export const BITMAP_ENTRIES = 48;
const BITMAP_TRAILER = 8;

export const BITMAP_BUFFERED = 0x80;
const RECORDS_SHIFT = 4;
const RECORDS_MASK = 0x70;
const FREE_MASK = 0x0f;
const FREE_CLASSES = 16;
const RECORDS_MIN = [0, 2, 4, 8, 16, 32, 64, 128] as const;

/** Pages one bitmap page describes. */
export function bitmapPagesPerBitmap(pageSize: number): number {
  return pageSize - BITMAP_ENTRIES - BITMAP_TRAILER;
}

/** Bytes one FREE class stands for. */
function freeUnit(pageSize: number): number {
  return Math.floor(pageCapacity(pageSize) / FREE_CLASSES);
}

/** The RECORDS and FREE classes of a leaf page as it is now (BUFFERED clear). */
export function bitmapClassesOf(page: Uint8Array): number {
  const free = Math.min(FREE_CLASSES - 1, Math.floor(freeBytes(page) / freeUnit(page.length)));
  const n = entryCount(page);
  let c = RECORDS_MIN.length - 1;
  while (RECORDS_MIN[c]! > n) c--;
  return (c << RECORDS_SHIFT) | free;
}

/** The free bytes an entry promises. */
export function promisedFreeBytes(entry: number, pageSize: number): number {
  return (entry & FREE_MASK) * freeUnit(pageSize);
}

/** The entries an entry promises the page holds. */
export function promisedRecords(entry: number): number {
  return RECORDS_MIN[(entry & RECORDS_MASK) >>> RECORDS_SHIFT]!;
}

/** The bitmaps of every tablespace, with each space's chain of bitmap pages cached. */
export class IbufBitmaps {
  private readonly storage: Storage;
  private readonly perBitmap: number;
  /** Per space: the bitmap pages of its chain, in order (the chain only grows while the space lives). */
  private readonly chains = new Map<number, number[]>();
  /** Entries written since open (the bitmap's upkeep, measured). */
  writes = 0;

  constructor(storage: Storage) {
    this.storage = storage;
    this.perBitmap = bitmapPagesPerBitmap(storage.pageSize);
  }

  /** The entry of page `pageNo` of `spaceId`: 0 when no bitmap page covers it yet. */
  read(spaceId: number, pageNo: number): number {
    const index = Math.floor(pageNo / this.perBitmap);
    const chain = this.chain(spaceId);
    if (index >= chain.length) return 0;
    const pool = this.storage.pool;
    const frame = pool.fix(spaceId, chain[index]!);
    const entry = pool.frames[frame]![BITMAP_ENTRIES + (pageNo - index * this.perBitmap)]!;
    pool.unfix(frame);
    return entry;
  }

  /**
   * Sets the entry of page `pageNo` in `mtr` (the mtr that changed what it describes: IB1, IB5),
   * allocating bitmap pages up to the one that covers it when the entry is not 0.
   */
  write(mtr: MiniTransaction, spaceId: number, pageNo: number, entry: number): void {
    assert(spaceId !== SYSTEM_SPACE_ID, 'IB the system tablespace has no change-buffer bitmap');
    const index = Math.floor(pageNo / this.perBitmap);
    const chain = this.chain(spaceId);
    if (index >= chain.length) {
      if (entry === 0) return; // absent bits are zero already
      this.extend(mtr, spaceId, chain, index);
    }
    const page = mtr.getPage(spaceId, chain[index]!);
    mtr.writeU8(page, BITMAP_ENTRIES + (pageNo - index * this.perBitmap), entry);
    this.writes++;
  }

  /** Every non-zero entry of a space, as [pageNo, entry] (checks and the bitmap reset). */
  *entries(spaceId: number): Generator<[number, number]> {
    const pool = this.storage.pool;
    for (const [index, bitmapNo] of this.chain(spaceId).entries()) {
      const frame = pool.fix(spaceId, bitmapNo);
      const copy = pool.frames[frame]!.slice(BITMAP_ENTRIES, BITMAP_ENTRIES + this.perBitmap);
      pool.unfix(frame);
      for (let i = 0; i < copy.length; i++) if (copy[i] !== 0) yield [index * this.perBitmap + i, copy[i]!];
    }
  }

  /** The bitmap pages of a space (its chain), read from disk the first time. */
  bitmapPages(spaceId: number): readonly number[] {
    return this.chain(spaceId);
  }

  /**
   * Clears the RECORDS and FREE classes of one bitmap page, in `mtr`, except those of BUFFERED
   * pages: such a page has not changed since its entry was written (it left the pool with it, and
   * a merge, which runs whatever the mode, rewrites it), and its buffered inserts rely on it (IB3).
   */
  clearClasses(mtr: MiniTransaction, spaceId: number, bitmapNo: number): void {
    const page = mtr.getPage(spaceId, bitmapNo);
    for (let at = BITMAP_ENTRIES; at < BITMAP_ENTRIES + this.perBitmap; at++) {
      const entry = page[at]!;
      if (entry !== 0 && (entry & BITMAP_BUFFERED) === 0) mtr.writeU8(page, at, 0);
    }
  }

  /** Forgets a dropped space's chain. */
  forget(spaceId: number): void {
    this.chains.delete(spaceId);
  }

  private chain(spaceId: number): number[] {
    let chain = this.chains.get(spaceId);
    if (chain !== undefined) return chain;
    chain = [];
    const pool = this.storage.pool;
    const headerFrame = pool.fix(spaceId, 0);
    let pageNo = readU32(pool.frames[headerFrame]!, BITMAP_FIRST_OFFSET);
    pool.unfix(headerFrame);
    while (pageNo !== 0 && pageNo !== NIL_PAGE) {
      const frame = pool.fix(spaceId, pageNo);
      const page = pool.frames[frame]!;
      const type = pageTypeOf(page);
      const first = readU32(page, BITMAP_FIRST_PAGE);
      const next = readU32(page, FIL_NEXT);
      pool.unfix(frame);
      if (type !== PageType.IbufBitmap || first !== chain.length * this.perBitmap) {
        throw new CorruptionError(
          spaceFileName(spaceId),
          pageNo,
          `change-buffer bitmap chain: page ${pageNo} has type ${type} and covers from page ${first}, expected a bitmap from page ${chain.length * this.perBitmap}`,
        );
      }
      chain.push(pageNo);
      pageNo = next;
    }
    this.chains.set(spaceId, chain);
    return chain;
  }

  /** Allocates bitmap pages until the chain has `index + 1` of them, linked in `mtr`. */
  private extend(mtr: MiniTransaction, spaceId: number, chain: number[], index: number): void {
    while (chain.length <= index) {
      const { pageNo, page } = allocatePage(mtr, spaceId, PageType.IbufBitmap);
      mtr.writeU32(page, BITMAP_FIRST_PAGE, chain.length * this.perBitmap);
      if (chain.length === 0) mtr.writeU32(mtr.getPage(spaceId, 0), BITMAP_FIRST_OFFSET, pageNo);
      else mtr.writeU32(mtr.getPage(spaceId, chain[chain.length - 1]!), FIL_NEXT, pageNo);
      chain.push(pageNo);
    }
  }
}
