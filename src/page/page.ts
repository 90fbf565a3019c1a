/**
 * The page: minno's unit of storage, caching and redo.
 *
 * InnoDB counterpart: the FIL header and trailer (`include/fil0types.h`) and the checksum code in
 * `buf/buf0checksum.cc`. Every page of every file (tablespaces and the doublewrite file) starts
 * with this header and ends with this trailer. Page size is 16 KiB by default, any power of two
 * from 4 KiB to 64 KiB by option, fixed for a database when it is created.
 *
 * Byte table (all integers big-endian, so a hex dump reads naturally):
 *
 * | offset        | size | field        | meaning                                                      |
 * |---------------|------|--------------|--------------------------------------------------------------|
 * | 0             | 8    | CHECKSUM     | xxh64 of bytes [8, pageSize): everything after this field    |
 * | 8             | 4    | PAGE_NO      | the page's own number: catches misdirected writes and reads  |
 * | 12            | 4    | SPACE_ID     | the tablespace it belongs to                                 |
 * | 16            | 8    | PAGE_LSN     | end LSN of the last mini-transaction that changed the page   |
 * | 24            | 2    | PAGE_TYPE    | a `PageType` (stored on disk: never renumber)                |
 * | 26            | 2    | (reserved)   | zero                                                         |
 * | 28            | 4    | PREV         | previous page in a list (B-tree level, undo log...), or NIL  |
 * | 32            | 4    | NEXT         | next page in a list (also the free-list link), or NIL        |
 * | 36            | 4    | (reserved)   | zero                                                         |
 * | 40            | ...  | body         | owned by the page type                                       |
 * | pageSize - 8  | 4    | (reserved)   | zero                                                         |
 * | pageSize - 4  | 4    | LSN_LOW      | low 32 bits of PAGE_LSN: a torn write shows as a mismatch    |
 *
 * A page that is all zeros has never been written (a file extended but the page not yet used):
 * it is reported as such (`PageCheck.Empty`), never as corruption and never as data.
 *
 * Invariants (checked by `verifyPage` right after every read and by `sealPage` right before
 * every write; rule CHECKSUM of the design):
 *  P1. CHECKSUM equals xxh64 of bytes [8, pageSize).
 *  P2. LSN_LOW equals the low 32 bits of PAGE_LSN (rule TORN: a torn page fails P1 or P2).
 *  P3. PAGE_NO and SPACE_ID are those the reader asked for.
 *  P4. PAGE_TYPE is a known type.
 */
import { CorruptionError, InvalidArgumentError } from '../errors.js';
import { checksum64 } from './checksum.js';

export const PAGE_SIZE_DEFAULT = 16384;
export const PAGE_SIZE_MIN = 4096;
export const PAGE_SIZE_MAX = 65536;

export const FIL_CHECKSUM = 0;
export const FIL_PAGE_NO = 8;
export const FIL_SPACE_ID = 12;
export const FIL_PAGE_LSN = 16;
export const FIL_PAGE_TYPE = 24;
export const FIL_PREV = 28;
export const FIL_NEXT = 32;
export const FIL_HEADER_BYTES = 40;
export const FIL_TRAILER_BYTES = 8;
/** Offset of LSN_LOW counted from the end of the page. */
export const FIL_TRAILER_LSN_LOW_FROM_END = 4;

/** "No page": the end of a list. Page 0 is always a space header, so it can never be a link target. */
export const NIL_PAGE = 0xffffffff;

/** Page types. Stored on disk: never renumber, only append. */
export const PageType = {
  /** Page 0 of every tablespace: size, free list, and a user area for the layers above. */
  SpaceHeader: 1,
  /** A page on its space's free list. */
  Free: 2,
  /** A B+tree node (btree layer). */
  Index: 3,
  /** An undo log page (undo layer). */
  Undo: 4,
  /** Transaction system header (mvcc layer). */
  TrxSys: 5,
  /** Large-value pages (lob layer): a LOB's first page (header and index) and its data pages. */
  LobFirst: 6,
  LobData: 7,
  /** Change-buffer bitmap: free space and "has buffered changes" per page of a tablespace (ibuf layer). */
  IbufBitmap: 8,
  /** Data dictionary header (api/dictionary). */
  DictHeader: 9,
  /** Pages the storage-core tests and benchmarks modify with raw writes. */
  Raw: 10,
  /** The change buffer's header in the system tablespace: its tree's root and counters (ibuf layer). */
  IbufHeader: 11,
  /** A LOB's index page: the slots past those its first page holds (lob layer). */
  LobIndex: 12,
} as const;

export type PageTypeValue = (typeof PageType)[keyof typeof PageType];
const PAGE_TYPE_MAX = 12;

export function isValidPageSize(pageSize: number): boolean {
  return (
    Number.isInteger(pageSize) &&
    pageSize >= PAGE_SIZE_MIN &&
    pageSize <= PAGE_SIZE_MAX &&
    (pageSize & (pageSize - 1)) === 0
  );
}

export function checkPageSize(pageSize: number): void {
  if (!isValidPageSize(pageSize)) {
    throw new InvalidArgumentError(
      `page size must be a power of two from ${PAGE_SIZE_MIN} to ${PAGE_SIZE_MAX} bytes, got ${String(pageSize)}`,
    );
  }
}

// Header accessors work on a page's bytes with explicit offsets: no wrapper objects on the hot path.

export function readU16(page: Uint8Array, offset: number): number {
  return (page[offset]! << 8) | page[offset + 1]!;
}

export function readU32(page: Uint8Array, offset: number): number {
  return ((page[offset]! << 24) | (page[offset + 1]! << 16) | (page[offset + 2]! << 8) | page[offset + 3]!) >>> 0;
}

/** Reads a 48-bit-safe unsigned integer stored in 8 bytes (LSNs, transaction ids). */
export function readU64(page: Uint8Array, offset: number): number {
  return readU32(page, offset) * 4294967296 + readU32(page, offset + 4);
}

export function writeU16(page: Uint8Array, offset: number, value: number): void {
  page[offset] = value >>> 8;
  page[offset + 1] = value;
}

export function writeU32(page: Uint8Array, offset: number, value: number): void {
  page[offset] = value >>> 24;
  page[offset + 1] = value >>> 16;
  page[offset + 2] = value >>> 8;
  page[offset + 3] = value;
}

export function writeU64(page: Uint8Array, offset: number, value: number): void {
  writeU32(page, offset, Math.floor(value / 4294967296));
  writeU32(page, offset + 4, value >>> 0);
}

export function pageLsn(page: Uint8Array): number {
  return readU64(page, FIL_PAGE_LSN);
}

export function pageNoOf(page: Uint8Array): number {
  return readU32(page, FIL_PAGE_NO);
}

export function spaceIdOf(page: Uint8Array): number {
  return readU32(page, FIL_SPACE_ID);
}

export function pageTypeOf(page: Uint8Array): number {
  return readU16(page, FIL_PAGE_TYPE);
}

/** Sets PAGE_LSN and its copy in the trailer (P2). Not redo-logged: the LSN is implied by the group. */
export function setPageLsn(page: Uint8Array, lsn: number): void {
  writeU64(page, FIL_PAGE_LSN, lsn);
  writeU32(page, page.length - FIL_TRAILER_LSN_LOW_FROM_END, lsn >>> 0);
}

/**
 * Initialises a page image in place: zero body, header fields set, lists NIL. This is what the
 * redo record INIT_PAGE does, so a page can be rebuilt at recovery without reading it.
 */
export function initPage(page: Uint8Array, spaceId: number, pageNo: number, type: number): void {
  page.fill(0);
  writeU32(page, FIL_PAGE_NO, pageNo);
  writeU32(page, FIL_SPACE_ID, spaceId);
  writeU16(page, FIL_PAGE_TYPE, type);
  writeU32(page, FIL_PREV, NIL_PAGE);
  writeU32(page, FIL_NEXT, NIL_PAGE);
}

function storedChecksum(page: Uint8Array): bigint {
  return (BigInt(readU32(page, 0)) << 32n) | BigInt(readU32(page, 4));
}

/** Computes and stores the checksum (P1) right before a write. */
export function sealPage(page: Uint8Array): void {
  const sum = checksum64(page.subarray(8));
  writeU32(page, 0, Number(sum >> 32n));
  writeU32(page, 4, Number(sum & 0xffffffffn));
}

export const PageCheck = {
  Valid: 0,
  /** All zeros: a page that was never written. */
  Empty: 1,
  BadChecksum: 2,
  /** Checksum fine but trailer LSN disagrees: cannot happen for a page we sealed, so corruption. */
  TornTrailer: 3,
  WrongPageNo: 4,
  WrongSpaceId: 5,
  BadType: 6,
} as const;

export type PageCheckResult = (typeof PageCheck)[keyof typeof PageCheck];

function isAllZero(page: Uint8Array): boolean {
  // Word-at-a-time over the aligned part; pages are always whole multiples of 4 KiB.
  const words = new Uint32Array(page.buffer, page.byteOffset, page.byteLength >>> 2);
  for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
  return true;
}

/** Checks a page right after a read (P1 to P4). Does not throw: see `assertPageValid`. */
export function checkPage(page: Uint8Array, spaceId: number, pageNo: number): PageCheckResult {
  if (readU32(page, 0) === 0 && readU32(page, 4) === 0 && readU32(page, FIL_PAGE_NO) === 0 && isAllZero(page)) {
    return PageCheck.Empty;
  }
  if (checksum64(page.subarray(8)) !== storedChecksum(page)) return PageCheck.BadChecksum;
  if (readU32(page, page.length - FIL_TRAILER_LSN_LOW_FROM_END) !== readU32(page, FIL_PAGE_LSN + 4)) {
    return PageCheck.TornTrailer;
  }
  if (readU32(page, FIL_PAGE_NO) !== pageNo) return PageCheck.WrongPageNo;
  if (readU32(page, FIL_SPACE_ID) !== spaceId) return PageCheck.WrongSpaceId;
  const type = pageTypeOf(page);
  if (type < 1 || type > PAGE_TYPE_MAX) return PageCheck.BadType;
  return PageCheck.Valid;
}

export function describePageCheck(result: PageCheckResult, page: Uint8Array): string {
  switch (result) {
    case PageCheck.Valid:
      return 'valid';
    case PageCheck.Empty:
      return 'page was never written (all zeros)';
    case PageCheck.BadChecksum:
      return 'checksum mismatch (torn or corrupted page)';
    case PageCheck.TornTrailer:
      return 'trailer LSN does not match header LSN (torn page)';
    case PageCheck.WrongPageNo:
      return `page header names page ${pageNoOf(page)} (misdirected write or read)`;
    case PageCheck.WrongSpaceId:
      return `page header names tablespace ${spaceIdOf(page)}`;
    case PageCheck.BadType:
      return `unknown page type ${pageTypeOf(page)}`;
  }
}

/** Verifies a page and throws a `CorruptionError` naming file and page unless it is valid. */
export function assertPageValid(page: Uint8Array, path: string, spaceId: number, pageNo: number): void {
  const result = checkPage(page, spaceId, pageNo);
  if (result !== PageCheck.Valid) throw new CorruptionError(path, pageNo, describePageCheck(result, page));
}
