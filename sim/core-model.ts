/**
 * The model of the storage-core workload: what every workload page, every space header and the
 * catalog page must hold after the commits 1..k, for any k.
 *
 * Each commit is one mini-transaction; the model keeps its effects (in the order the mtr made
 * them) and rebuilds the state after any prefix by replaying them. The recovered state is compared
 * with it byte for byte (the page body, [FIL_PAGE_TYPE, pageSize - 8)), so an mtr there in part,
 * a torn or stale page, a misdirected write or a flipped bit all show as a difference.
 *
 * Byte tables (pages of type Raw; the FIL header and trailer are page.ts's):
 *
 *   workload page                           catalog page (space 0, allocated at set-up)
 *   offset  size  field                     offset  size  field
 *   40      4     LAST_MTR (commit number)  40      4     COUNTER: the last commit applied (k)
 *   44      4     HANDLE (allocation id)    44      4     SPACES: live workload spaces
 *   48      8*48  SLOTS                     48      4*n   their ids, in creation order
 *   432     48    SCRATCH (MOVE source)     ...     ...   zero
 *   ...     ...   zero
 *
 * Every commit writes COUNTER, so the catalog page names the recovered prefix k, and the whole
 * state must then be the model after exactly k commits (InnoDB's counterpart: the transaction
 * system header's max trx id, but here checked against everything).
 *
 * Space headers are checked against the model of the allocator (space-allocator.ts): SIZE, the
 * free list's length and its exact order (LIFO, threaded through FIL_NEXT).
 */
import type { Storage } from '../src/core/storage.js';
import { NIL_PAGE, PageType, readU32, writeU16, writeU32 } from '../src/page/page.js';
import { SPACE_FREE_HEAD_OFFSET, SPACE_FREE_LEN_OFFSET, SPACE_SIZE_OFFSET } from '../src/page/tablespace.js';

export const SLOTS = 8;
export const SLOT_BYTES = 48;
export const LAST_MTR = 40;
export const HANDLE = 44;
export const SLOT_BASE = 48;
export const SCRATCH = SLOT_BASE + SLOTS * SLOT_BYTES;
export const CATALOG_COUNTER = 40;
export const CATALOG_SPACES = 44;
export const CATALOG_IDS = 48;
/** The part of a page the model checks: after the checksum, ids and LSN, before the trailer. */
export const BODY_START = 24;
const TRAILER_BYTES = 8;
const FIL_NEXT = 32;

export type How = 'write' | 'move' | 'fill';
export const HOWS: readonly How[] = ['write', 'write', 'move', 'fill'];

export type Effect =
  | { readonly t: 'touch'; readonly space: number; readonly page: number; readonly slot: number; readonly how: How }
  | { readonly t: 'alloc'; readonly space: number; readonly page: number; readonly handle: number }
  | { readonly t: 'free'; readonly space: number; readonly page: number }
  | { readonly t: 'catalog-add'; readonly space: number }
  | { readonly t: 'catalog-remove'; readonly space: number };

interface SlotWriter {
  readonly commit: number;
  readonly how: How;
}

export interface PageState {
  readonly handle: number;
  lastMtr: number;
  readonly slots: (SlotWriter | undefined)[];
  /** The commit and slot whose content was last staged in SCRATCH by a MOVE. */
  scratch: { readonly commit: number; readonly slot: number } | undefined;
}

export interface SpaceState {
  readonly id: number;
  size: number;
  /** The free list as a stack: the last element is FREE_HEAD. */
  readonly free: number[];
  readonly pages: Map<number, PageState>;
}

export interface PageRef {
  readonly space: number;
  readonly page: number;
}

/** The state after some commits: the catalog counter and the live spaces in catalog order. */
export class CoreState {
  counter = 0;
  readonly spaces = new Map<number, SpaceState>();
  private livePageCount = 0;

  get livePages(): number {
    return this.livePageCount;
  }

  /** Every live workload page, spaces in catalog order, pages in allocation order. */
  pageRefs(): PageRef[] {
    const refs: PageRef[] = [];
    for (const space of this.spaces.values())
      for (const page of space.pages.keys()) refs.push({ space: space.id, page });
    return refs;
  }

  /** The page the allocator hands out next in `spaceId` (space-allocator.ts: LIFO free list, else grow). */
  nextAllocation(spaceId: number): number {
    const space = this.spaces.get(spaceId)!;
    return space.free.length > 0 ? space.free[space.free.length - 1]! : space.size;
  }

  apply(commit: number, effect: Effect): void {
    switch (effect.t) {
      case 'catalog-add':
        this.spaces.set(effect.space, { id: effect.space, size: 1, free: [], pages: new Map() });
        return;
      case 'catalog-remove':
        this.livePageCount -= this.spaces.get(effect.space)?.pages.size ?? 0;
        this.spaces.delete(effect.space);
        return;
      case 'alloc': {
        const space = this.spaces.get(effect.space)!;
        if (space.free.length > 0 && space.free[space.free.length - 1] === effect.page) space.free.pop();
        else space.size = Math.max(space.size, effect.page + 1);
        space.pages.set(effect.page, {
          handle: effect.handle,
          lastMtr: commit,
          slots: new Array<SlotWriter | undefined>(SLOTS).fill(undefined),
          scratch: undefined,
        });
        this.livePageCount++;
        return;
      }
      case 'free': {
        const space = this.spaces.get(effect.space)!;
        space.pages.delete(effect.page);
        space.free.push(effect.page);
        this.livePageCount--;
        return;
      }
      case 'touch': {
        const page = this.spaces.get(effect.space)!.pages.get(effect.page)!;
        page.lastMtr = commit;
        page.slots[effect.slot] = { commit, how: effect.how };
        if (effect.how === 'move') page.scratch = { commit, slot: effect.slot };
        return;
      }
    }
  }

  /** The state after replaying `effects[0..k)` (effects[i] belongs to commit i + 1). */
  static after(effects: readonly (readonly Effect[])[], k: number): CoreState {
    const state = new CoreState();
    for (let i = 0; i < k; i++) {
      for (const effect of effects[i]!) state.apply(i + 1, effect);
      state.counter = i + 1;
    }
    return state;
  }
}

/** The bytes commit `commit` leaves in `slot` of the page with allocation id `handle`. */
export function writeSlotContent(
  target: Uint8Array,
  at: number,
  commit: number,
  handle: number,
  slot: number,
  how: How,
): void {
  if (how === 'fill') {
    target.fill(fillByte(commit, handle, slot), at, at + SLOT_BYTES);
    return;
  }
  let x =
    (Math.imul(commit, 0x9e3779b1) ^
      Math.imul(handle + 1, 0x85ebca6b) ^
      Math.imul(slot + (how === 'move' ? 17 : 1), 0xc2b2ae35)) |
    1;
  for (let i = 0; i < SLOT_BYTES; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    target[at + i] = x & 0xff;
  }
}

export function fillByte(commit: number, handle: number, slot: number): number {
  return ((commit * 31 + handle * 7 + slot * 3) & 0xff) | 1;
}

function rawPageBody(image: Uint8Array): void {
  image.fill(0, BODY_START, image.length - TRAILER_BYTES);
  writeU16(image, BODY_START, PageType.Raw);
  writeU32(image, 28, NIL_PAGE); // FIL_PREV
  writeU32(image, FIL_NEXT, NIL_PAGE);
}

/** The expected body of a workload page, in `image` (only [BODY_START, pageSize - 8) is set). */
export function expectedPage(image: Uint8Array, page: PageState): void {
  rawPageBody(image);
  writeU32(image, LAST_MTR, page.lastMtr);
  writeU32(image, HANDLE, page.handle);
  page.slots.forEach((writer, slot) => {
    if (writer !== undefined)
      writeSlotContent(image, SLOT_BASE + slot * SLOT_BYTES, writer.commit, page.handle, slot, writer.how);
  });
  if (page.scratch !== undefined)
    writeSlotContent(image, SCRATCH, page.scratch.commit, page.handle, page.scratch.slot, 'move');
}

/** The catalog's SPACES and ids, then one zero word (what an mtr writes when the list changes). */
export function catalogList(spaceIds: readonly number[]): Uint8Array {
  const bytes = new Uint8Array(4 + 4 * spaceIds.length + 4);
  writeU32(bytes, 0, spaceIds.length);
  spaceIds.forEach((id, i) => writeU32(bytes, 4 + 4 * i, id));
  return bytes;
}

export function expectedCatalog(image: Uint8Array, state: CoreState): void {
  rawPageBody(image);
  writeU32(image, CATALOG_COUNTER, state.counter);
  image.set(catalogList([...state.spaces.keys()]), CATALOG_SPACES);
}

/** The first differing byte of the checked body, or -1. */
export function firstDifference(actual: Uint8Array, expected: Uint8Array): number {
  for (let i = BODY_START; i < actual.length - TRAILER_BYTES; i++) if (actual[i] !== expected[i]) return i;
  return -1;
}

/** Names the field at a byte offset of a workload page, for messages. */
export function fieldAt(offset: number): string {
  if (offset < 40) return `FIL header byte ${offset}`;
  if (offset < HANDLE) return 'LAST_MTR';
  if (offset < SLOT_BASE) return 'HANDLE';
  if (offset < SCRATCH) return `slot ${Math.floor((offset - SLOT_BASE) / SLOT_BYTES)}`;
  if (offset < SCRATCH + SLOT_BYTES) return 'SCRATCH';
  return `byte ${offset} (should be zero)`;
}

/** Reads a page through the buffer pool (checked unless a seam says otherwise) and copies it. */
export function readPageCopy(storage: Storage, space: number, page: number): Uint8Array {
  const pool = storage.pool;
  const frame = pool.fix(space, page);
  try {
    return pool.frames[frame]!.slice();
  } finally {
    pool.unfix(frame);
  }
}

/** The allocator fields of a space header page. */
export function headerFields(image: Uint8Array): { size: number; freeHead: number; freeLength: number } {
  return {
    size: readU32(image, SPACE_SIZE_OFFSET),
    freeHead: readU32(image, SPACE_FREE_HEAD_OFFSET),
    freeLength: readU32(image, SPACE_FREE_LEN_OFFSET),
  };
}

export function nextOfFreePage(image: Uint8Array): number {
  return readU32(image, FIL_NEXT);
}

/** FNV-1a over byte ranges: the fingerprint of a recovered state. */
export class Fingerprint {
  private hash = 0x811c9dc5;

  add(bytes: Uint8Array, start = 0, end = bytes.length): void {
    let h = this.hash;
    for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
    this.hash = h;
  }

  addNumber(value: number): void {
    const bytes = new Uint8Array(8);
    new DataView(bytes.buffer).setFloat64(0, value);
    this.add(bytes);
  }

  toString(): string {
    return (this.hash >>> 0).toString(16).padStart(8, '0');
  }
}
