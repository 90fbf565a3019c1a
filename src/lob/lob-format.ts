/**
 * The LOB page formats and the geometry that maps a byte offset of a value to its index slot.
 *
 * InnoDB counterpart: `include/lob0first.h` (first_page_t), `include/lob0index.h`
 * (index_entry_t), `include/lob0pages.h` (data_page_t) and the LOB page types of `fil0fil.h`. The
 * module's essay (versions, pictures, invariants) is README.md; this file holds the byte tables.
 *
 * ## First page (PageType.LobFirst): header, the first slots, the index directory, slot 0's data
 *
 * | offset      | size | field            | meaning                                                        |
 * |-------------|------|------------------|----------------------------------------------------------------|
 * | 40          | 1    | FORMAT           | 1                                                              |
 * | 41          | 1    | STATE            | a `LobState` (stored on disk: never renumber)                  |
 * | 42          | 2    | N_INDEX_PAGES    | index pages the directory names                                |
 * | 44          | 4    | VERSION          | the newest LOB version whose reference a record may hold       |
 * | 48          | 8    | LOB_ID           | the id the references carry (unique in the space for ever)     |
 * | 56          | 8    | LENGTH           | the value's length in bytes; every version has it              |
 * | 64          | 4    | PENDING_NEXT     | next LOB on the space's pending list (lob-space-header.ts), 0 = end |
 * | 68          | 4    | PENDING_SLOT_MIN | PendingVersion: the lowest slot the change in flight copies    |
 * | 72          | 4    | PENDING_SLOT_MAX | PendingVersion: the highest                                    |
 * | 76          | 4    | (reserved)       | zero                                                           |
 * | 80          | 128  | SLOTS            | slots 0..31: the page number of each slot's newest data page   |
 * | 208         | 4 M  | DIRECTORY        | M (max(288, pageSize / 64)) index pages holding slots 32 and up, E slots each; 0 = none |
 * | 208 + 4 M   | F    | DATA             | slot 0's bytes as the LOB was created (version 1)              |
 *
 * ## Index page (PageType.LobIndex)
 *
 * | offset | size | field      | meaning                                                            |
 * |--------|------|------------|--------------------------------------------------------------------|
 * | 40     | 8    | LOB_ID     | the owning LOB                                                     |
 * | 48     | 4    | FIRST_SLOT | the slot of its first entry (32 + E times its directory position)  |
 * | 52     | 4    | (reserved) | zero                                                               |
 * | 56     | 4 E  | SLOTS      | E slots: each the page number of the slot's newest data page       |
 *
 * ## Data page (PageType.LobData): one version of one slot's bytes
 *
 * | offset | size | field   | meaning                                                               |
 * |--------|------|---------|-----------------------------------------------------------------------|
 * | 28     | 4    | FIL PREV| the slot's next older version: a data page, or the first page (slot 0's version 1), or NIL |
 * | 40     | 8    | LOB_ID  | the owning LOB                                                        |
 * | 48     | 4    | SLOT    | the slot it holds                                                     |
 * | 52     | 4    | VERSION | the LOB version it was written at                                     |
 * | 56     | D    | DATA    | the slot's bytes (the last slot's are shorter)                        |
 *
 * A slot entry is a page number; 0 means "not written yet" (a LOB being built) and NIL "freed" (a
 * LOB being freed): page 0 is the space header and never a LOB page.
 *
 * ## Geometry
 * Slot 0 covers bytes [0, F) of the value, slot i >= 1 covers [F + (i - 1) D, F + i D). Every
 * version of a value has the same length (a partial update never changes it; a new length is a new
 * LOB), so the slot of an offset is arithmetic, never a list walk (InnoDB walks its index list).
 */
import { FIL_HEADER_BYTES, FIL_TRAILER_BYTES } from '../page/page.js';
import { assert } from '../util/assert.js';

export const LOB_FORMAT = 1;

/** A first page's state. Stored on disk: never renumber. */
export const LobState = {
  /** Readable at every version up to VERSION. */
  Live: 0,
  /** Being written over several mtrs: no record refers to it yet; recovery frees it. */
  PendingNew: 1,
  /** A larger partial update in flight copies slots into version VERSION + 1; recovery drops them. */
  PendingVersion: 2,
  /** Its pages are being freed over several mtrs (rollback or purge): slots read NIL as they go. */
  BeingFreed: 3,
} as const;
export type LobStateValue = (typeof LobState)[keyof typeof LobState];

export const FIRST_FORMAT = FIL_HEADER_BYTES; // 40
export const FIRST_STATE = 41;
export const FIRST_N_INDEX_PAGES = 42;
export const FIRST_VERSION = 44;
export const FIRST_LOB_ID = 48;
export const FIRST_LENGTH = 56;
export const FIRST_PENDING_NEXT = 64;
export const FIRST_PENDING_SLOT_MIN = 68;
export const FIRST_PENDING_SLOT_MAX = 72;
export const FIRST_SLOTS = 80;
export const FIRST_INLINE_SLOTS = 32;
export const FIRST_DIRECTORY = FIRST_SLOTS + 4 * FIRST_INLINE_SLOTS; // 208

export const INDEX_LOB_ID = FIL_HEADER_BYTES;
export const INDEX_FIRST_SLOT = 48;
export const INDEX_SLOTS = 56;

export const DATA_LOB_ID = FIL_HEADER_BYTES;
export const DATA_SLOT = 48;
export const DATA_VERSION = 52;
export const DATA_BYTES_OFFSET = 56;

/** A slot entry or directory entry not written yet. */
export const SLOT_UNSET = 0;
/** A slot whose pages were freed (a LOB being freed). */
export const SLOT_FREED = 0xffffffff;

/** The largest value minno stores: 4 GiB - 1 (a Uint8Array holds at most 2^32 bytes). */
export const LOB_BYTES_LIMIT = 2 ** 32 - 1;

export interface LobGeometry {
  readonly pageSize: number;
  /** F: slot 0's bytes, on the first page. */
  readonly firstDataBytes: number;
  readonly firstDataOffset: number;
  /** D: the bytes of every other slot's data page. */
  readonly dataBytes: number;
  /** M: index pages the directory can name. */
  readonly directoryEntries: number;
  /** E: slots per index page. */
  readonly indexEntries: number;
  readonly slotsMax: number;
  /** The longest value this page size can hold (at most LOB_BYTES_LIMIT). */
  readonly bytesMax: number;
}

const geometries = new Map<number, LobGeometry>();

/** The geometry of LOBs on pages of `pageSize` bytes. */
export function lobGeometry(pageSize: number): LobGeometry {
  let geometry = geometries.get(pageSize);
  if (geometry === undefined) {
    const directoryEntries = Math.max(288, pageSize / 64); // 1 GiB and more on 4 KiB pages
    const firstDataOffset = FIRST_DIRECTORY + 4 * directoryEntries;
    const firstDataBytes = pageSize - FIL_TRAILER_BYTES - firstDataOffset;
    const dataBytes = pageSize - FIL_TRAILER_BYTES - DATA_BYTES_OFFSET;
    const indexEntries = Math.floor((pageSize - FIL_TRAILER_BYTES - INDEX_SLOTS) / 4);
    const slotsMax = FIRST_INLINE_SLOTS + directoryEntries * indexEntries;
    geometry = Object.freeze({
      pageSize,
      firstDataBytes,
      firstDataOffset,
      dataBytes,
      directoryEntries,
      indexEntries,
      slotsMax,
      bytesMax: Math.min(LOB_BYTES_LIMIT, firstDataBytes + (slotsMax - 1) * dataBytes),
    });
    assert(geometry.bytesMax >= 2 ** 30 || pageSize < 4096, 'a LOB holds at least 1 GiB on 4 KiB pages and up');
    geometries.set(pageSize, geometry);
  }
  return geometry;
}

/** The slot holding byte `offset`. */
export function slotOf(g: LobGeometry, offset: number): number {
  return offset < g.firstDataBytes ? 0 : 1 + Math.floor((offset - g.firstDataBytes) / g.dataBytes);
}

/** The first byte slot `slot` holds. */
export function slotStart(g: LobGeometry, slot: number): number {
  return slot === 0 ? 0 : g.firstDataBytes + (slot - 1) * g.dataBytes;
}

/** The bytes slot `slot` holds in a value of `length` bytes. */
export function slotBytes(g: LobGeometry, slot: number, length: number): number {
  const start = slotStart(g, slot);
  return Math.min(length, start + (slot === 0 ? g.firstDataBytes : g.dataBytes)) - start;
}

/** How many slots a value of `length` (> 0) bytes has. */
export function slotCount(g: LobGeometry, length: number): number {
  return slotOf(g, length - 1) + 1;
}

/** How many index pages a value of `slots` slots needs. */
export function indexPageCount(g: LobGeometry, slots: number): number {
  return slots <= FIRST_INLINE_SLOTS ? 0 : Math.ceil((slots - FIRST_INLINE_SLOTS) / g.indexEntries);
}

/** Where slot `slot`'s entry lives: on the first page (`indexPage` -1) or on index page `indexPage`. */
export function slotLocation(g: LobGeometry, slot: number): { indexPage: number; offset: number } {
  if (slot < FIRST_INLINE_SLOTS) return { indexPage: -1, offset: FIRST_SLOTS + 4 * slot };
  const k = slot - FIRST_INLINE_SLOTS;
  return { indexPage: Math.floor(k / g.indexEntries), offset: INDEX_SLOTS + 4 * (k % g.indexEntries) };
}

/** Pages a new LOB of `length` bytes takes: its first page, its data pages and its index pages. */
export function pagesForLength(g: LobGeometry, length: number): number {
  const slots = slotCount(g, length);
  return slots + indexPageCount(g, slots);
}
