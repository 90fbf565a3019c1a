/**
 * Page allocation inside a tablespace: the space header's size and free list.
 *
 * InnoDB counterpart: `fsp/fsp0fsp.cc` (fsp_alloc_free_page, fsp_free_page), much simplified:
 * InnoDB manages extents of 64 pages with bitmaps in XDES entries; we keep one free list of single
 * pages threaded through the freed pages' FIL NEXT field, and grow the space one page at a time
 * (the file itself grows when the page is first flushed). Good enough until a workload shows
 * fragmentation matters; the header leaves room for extent descriptors later.
 *
 * Every change is made through a `PageMutator` (a mini-transaction), so allocation and freeing
 * are redo-logged and atomic with the change that needed the page (rule MTR). The interface is
 * declared here, below the redo layer that implements it, so the page layer depends on no layer
 * above it.
 *
 * Invariants:
 *  A1. A page is either in use, or on the free list, or at or above SPACE_SIZE; never two of these.
 *  A2. SPACE_FREE_LEN equals the length of the free list (checked by `validateFreeList`).
 *  A3. Page 0 (the header) is never allocated or freed.
 */
import { CorruptionError } from '../errors.js';
import { assert } from '../util/assert.js';
import { FIL_NEXT, NIL_PAGE, PageType, pageTypeOf, readU32 } from './page.js';
import {
  SPACE_FORMAT,
  SPACE_FORMAT_OFFSET,
  SPACE_FREE_HEAD_OFFSET,
  SPACE_FREE_LEN_OFFSET,
  SPACE_MAGIC,
  SPACE_MAGIC_OFFSET,
  SPACE_PAGE_SIZE_OFFSET,
  SPACE_SIZE_OFFSET,
  SPACE_SPACE_ID_OFFSET,
  spaceFileName,
} from './tablespace.js';

/** What allocation needs from a mini-transaction. */
export interface PageMutator {
  getPage(spaceId: number, pageNo: number): Uint8Array;
  createPage(spaceId: number, pageNo: number, type: number): Uint8Array;
  writeU16(page: Uint8Array, offset: number, value: number): void;
  writeU32(page: Uint8Array, offset: number, value: number): void;
}

/** Creates page 0 of a new space: the header of an empty space (size 1, no free pages). */
export function initSpaceHeader(mtr: PageMutator, spaceId: number, pageSize: number): Uint8Array {
  const header = mtr.createPage(spaceId, 0, PageType.SpaceHeader);
  mtr.writeU32(header, SPACE_MAGIC_OFFSET, SPACE_MAGIC);
  mtr.writeU16(header, SPACE_FORMAT_OFFSET, SPACE_FORMAT);
  mtr.writeU32(header, SPACE_PAGE_SIZE_OFFSET, pageSize);
  mtr.writeU32(header, SPACE_SPACE_ID_OFFSET, spaceId);
  mtr.writeU32(header, SPACE_SIZE_OFFSET, 1);
  mtr.writeU32(header, SPACE_FREE_HEAD_OFFSET, NIL_PAGE);
  mtr.writeU32(header, SPACE_FREE_LEN_OFFSET, 0);
  return header;
}

/** Allocates a page in `spaceId`, initialised as `type`; returns its number and frame. */
export function allocatePage(mtr: PageMutator, spaceId: number, type: number): { pageNo: number; page: Uint8Array } {
  const header = mtr.getPage(spaceId, 0);
  const freeHead = readU32(header, SPACE_FREE_HEAD_OFFSET);
  let pageNo: number;
  if (freeHead !== NIL_PAGE) {
    const freePage = mtr.getPage(spaceId, freeHead);
    if (pageTypeOf(freePage) !== PageType.Free) {
      throw new CorruptionError(
        spaceFileName(spaceId),
        freeHead,
        `free list names a page of type ${pageTypeOf(freePage)}`,
      );
    }
    mtr.writeU32(header, SPACE_FREE_HEAD_OFFSET, readU32(freePage, FIL_NEXT));
    mtr.writeU32(header, SPACE_FREE_LEN_OFFSET, readU32(header, SPACE_FREE_LEN_OFFSET) - 1);
    pageNo = freeHead;
  } else {
    pageNo = readU32(header, SPACE_SIZE_OFFSET);
    assert(pageNo < NIL_PAGE - 1, `space ${spaceId} is full (2^32 pages)`);
    mtr.writeU32(header, SPACE_SIZE_OFFSET, pageNo + 1);
  }
  assert(pageNo !== 0, 'A3 page 0 is never allocated');
  const page = mtr.createPage(spaceId, pageNo, type);
  return { pageNo, page };
}

/** Returns a page to its space's free list. */
export function freePage(mtr: PageMutator, spaceId: number, pageNo: number): void {
  assert(pageNo !== 0, 'A3 page 0 is never freed');
  const header = mtr.getPage(spaceId, 0);
  assert(pageNo < readU32(header, SPACE_SIZE_OFFSET), `A1 freed page ${pageNo} is inside the space`);
  const page = mtr.createPage(spaceId, pageNo, PageType.Free);
  mtr.writeU32(page, FIL_NEXT, readU32(header, SPACE_FREE_HEAD_OFFSET));
  mtr.writeU32(header, SPACE_FREE_HEAD_OFFSET, pageNo);
  mtr.writeU32(header, SPACE_FREE_LEN_OFFSET, readU32(header, SPACE_FREE_LEN_OFFSET) + 1);
}

/** Walks the free list and checks A1 and A2. Returns the free page numbers. */
export function validateFreeList(readPage: (pageNo: number) => Uint8Array, header: Uint8Array): number[] {
  const size = readU32(header, SPACE_SIZE_OFFSET);
  const expected = readU32(header, SPACE_FREE_LEN_OFFSET);
  const seen = new Set<number>();
  for (let pageNo = readU32(header, SPACE_FREE_HEAD_OFFSET); pageNo !== NIL_PAGE; ) {
    assert(pageNo > 0 && pageNo < size, `A1 free page ${pageNo} inside the space of ${size} pages`);
    assert(!seen.has(pageNo), `A1 free list has a cycle at page ${pageNo}`);
    seen.add(pageNo);
    assert(seen.size <= expected, 'A2 free list longer than SPACE_FREE_LEN');
    const page = readPage(pageNo);
    assert(pageTypeOf(page) === PageType.Free, `A1 page ${pageNo} on the free list has type Free`);
    pageNo = readU32(page, FIL_NEXT);
  }
  assert(seen.size === expected, `A2 free list has ${seen.size} pages, header says ${expected}`);
  return [...seen];
}
