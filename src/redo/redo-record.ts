/**
 * Redo records and groups: the byte format of the log.
 *
 * InnoDB counterpart: `include/mtr0types.h` (record types, MLOG_MULTI_REC_END) and the parsers in
 * `log/log0recv.cc`. Our records are physical and page-level: each says "in page (space, page_no),
 * do this to these bytes". Applying one never needs to understand what the bytes mean, so the redo
 * layer knows nothing of B-tree, undo or LOB formats (DESIGN: layers call only downwards).
 *
 * ## Record (inside a group)
 *
 * | offset | size | field    | meaning                                                       |
 * |--------|------|----------|---------------------------------------------------------------|
 * | 0      | 1    | TYPE     | a `RedoType` (stored on disk: never renumber, only append)    |
 * | 1      | 4    | SPACE_ID |                                                               |
 * | 5      | 4    | PAGE_NO  | 0 for file-level records                                      |
 * | 9      | ...  | payload  | by type:                                                      |
 *
 * | type            | payload                                   | effect                              |
 * |-----------------|-------------------------------------------|-------------------------------------|
 * | WRITE (1)       | offset u16, length u16, bytes[length]     | copy bytes into the page            |
 * | INIT_PAGE (2)   | page type u16                             | page := zeros + FIL header (initPage)|
 * | MOVE (3)        | dst u16, src u16, length u16              | memmove inside the page             |
 * | FILL (4)        | offset u16, length u16, byte u8           | memset inside the page              |
 * | FILE_CREATE (5) | (none)                                    | the space's file exists             |
 * | FILE_DELETE (6) | (none)                                    | the space's file is removed         |
 *
 * Offsets and lengths are u16 because a page is at most 64 KiB; a record never covers the FIL
 * header's checksum, page number, space id or LSN (bytes [0, 24): set by sealing, by INIT_PAGE and
 * by the group's LSN) nor the trailer.
 *
 * ## Group (one mini-transaction)
 *
 * | offset | size | field       | meaning                                                   |
 * |--------|------|-------------|-----------------------------------------------------------|
 * | 0      | 4    | LENGTH      | n: bytes of the whole group, header and checksum included |
 * | 4      | 8    | START_LSN   | the LSN of byte 0 of this group                           |
 * | 12     | 8    | DURABLE_LSN | how far the log was durable when this group was appended  |
 * | 20     | ...  | records     | one or more records, back to back                         |
 * | n - 4  | 4    | CHECKSUM    | xxh32 of bytes [0, n - 4)                                 |
 *
 * A group occupies LSNs [START_LSN, START_LSN + n); the next group starts right after. The
 * checksum sits at the end, so it is the group's end marker too: a group is applied only when
 * its LENGTH is sane, its START_LSN is the one expected, and its checksum matches (rule MTR:
 * never a group without its end; rule LOG-TAIL: zeros, a short read or a bad checksum mean
 * "nothing more here", never records).
 *
 * DURABLE_LSN tells a torn tail from a corrupted middle. A bad group at the end of the log is
 * normal after a crash (it was never synced). But if a *later* valid group says the log was
 * already durable past the bad one, the bad group had been synced and then changed on disk: that
 * is corruption, and recovery reports it instead of silently dropping committed work.
 *
 * Example: one WRITE of 4 bytes at offset 100 of page 3 of space 0, at LSN 8192, with the log
 * durable up to 8100:
 *
 *   00000031 0000000000002000 0000000000001fa4 | 01 00000000 00000003 0064 0004 deadbeef | <xxh32>
 *   length 49  start 8192       durable 8100      WRITE space 0 page 3 off 100 len 4 data   checksum
 */
import { assert } from '../util/assert.js';
import { checksum32 } from '../page/checksum.js';
import { FIL_PAGE_TYPE, initPage, readU16, readU32, readU64, writeU32, writeU64 } from '../page/page.js';

/** Redo record types. Stored on disk: never renumber, only append. */
export const RedoType = {
  Write: 1,
  InitPage: 2,
  Move: 3,
  Fill: 4,
  FileCreate: 5,
  FileDelete: 6,
} as const;

export type RedoTypeValue = (typeof RedoType)[keyof typeof RedoType];

export const RECORD_HEADER_BYTES = 9;
export const GROUP_HEADER_BYTES = 20;
export const GROUP_TRAILER_BYTES = 4;
export const GROUP_OVERHEAD_BYTES = GROUP_HEADER_BYTES + GROUP_TRAILER_BYTES;

/** Writes a group's header and checksum around records already at [20, length - 4). */
export function sealGroup(group: Uint8Array, length: number, startLsn: number, durableLsn: number): void {
  writeU32(group, 0, length);
  writeU64(group, 4, startLsn);
  writeU64(group, 12, durableLsn);
  writeU32(group, length - 4, checksum32(group.subarray(0, length - 4)));
}

export function groupDurableLsn(bytes: Uint8Array): number {
  return readU64(bytes, 12);
}

export const GroupCheck = {
  Valid: 0,
  /** Fewer bytes than the header says: the tail is not there (yet). */
  Short: 1,
  /** LENGTH is zero or absurd, START_LSN is not the one expected: not a group of this lap. */
  NotHere: 2,
  BadChecksum: 3,
} as const;

export type GroupCheckResult = (typeof GroupCheck)[keyof typeof GroupCheck];

/**
 * Validates the group at the start of `bytes` (which may hold more after it) that should start
 * at `expectedLsn`. `lengthMax` bounds a sane LENGTH (the log's capacity).
 */
export function checkGroup(bytes: Uint8Array, expectedLsn: number, lengthMax: number): GroupCheckResult {
  if (bytes.length < GROUP_HEADER_BYTES) return GroupCheck.Short;
  const length = readU32(bytes, 0);
  if (length < GROUP_OVERHEAD_BYTES + RECORD_HEADER_BYTES || length > lengthMax) return GroupCheck.NotHere;
  if (readU64(bytes, 4) !== expectedLsn) return GroupCheck.NotHere;
  if (bytes.length < length) return GroupCheck.Short;
  if (checksum32(bytes.subarray(0, length - 4)) !== readU32(bytes, length - 4)) return GroupCheck.BadChecksum;
  return GroupCheck.Valid;
}

export function groupLength(bytes: Uint8Array): number {
  return readU32(bytes, 0);
}

/** Length in bytes of the record at `offset`. Throws on an unknown type (the group is corrupt). */
export function recordLength(bytes: Uint8Array, offset: number): number {
  const type = bytes[offset]!;
  switch (type) {
    case RedoType.Write:
      return RECORD_HEADER_BYTES + 4 + readU16(bytes, offset + RECORD_HEADER_BYTES + 2);
    case RedoType.InitPage:
      return RECORD_HEADER_BYTES + 2;
    case RedoType.Move:
      return RECORD_HEADER_BYTES + 6;
    case RedoType.Fill:
      return RECORD_HEADER_BYTES + 5;
    case RedoType.FileCreate:
    case RedoType.FileDelete:
      return RECORD_HEADER_BYTES;
    default:
      return -1;
  }
}

export function recordType(bytes: Uint8Array, offset: number): number {
  return bytes[offset]!;
}

export function recordSpaceId(bytes: Uint8Array, offset: number): number {
  return readU32(bytes, offset + 1);
}

export function recordPageNo(bytes: Uint8Array, offset: number): number {
  return readU32(bytes, offset + 5);
}

/**
 * Applies one page-level record to a page image. The caller has checked that the record is
 * newer than the page (rule IDEMPOTENT) and sets PAGE_LSN afterwards.
 */
export function applyPageRecord(bytes: Uint8Array, offset: number, page: Uint8Array): void {
  const type = bytes[offset]!;
  const p = offset + RECORD_HEADER_BYTES;
  switch (type) {
    case RedoType.Write: {
      const at = readU16(bytes, p);
      const length = readU16(bytes, p + 2);
      assert(at >= FIL_PAGE_TYPE && at + length <= page.length - 8, 'redo WRITE inside the page');
      if (length <= 16 || !(bytes instanceof Buffer) || !(page instanceof Buffer)) {
        for (let i = 0; i < length; i++) page[at + i] = bytes[p + 4 + i]!;
      } else {
        // Recovery passes Buffer views made once per page: a native copy, nothing allocated.
        bytes.copy(page, at, p + 4, p + 4 + length);
      }
      return;
    }
    case RedoType.InitPage:
      initPage(page, recordSpaceId(bytes, offset), recordPageNo(bytes, offset), readU16(bytes, p));
      return;
    case RedoType.Move: {
      const dst = readU16(bytes, p);
      const src = readU16(bytes, p + 2);
      const length = readU16(bytes, p + 4);
      page.copyWithin(dst, src, src + length);
      return;
    }
    case RedoType.Fill: {
      const at = readU16(bytes, p);
      const length = readU16(bytes, p + 2);
      page.fill(bytes[p + 4]!, at, at + length);
      return;
    }
    default:
      assert(false, `record type ${type} is not a page record`);
  }
}

/** True for records that change a page (as opposed to a file). */
export function isPageRecord(type: number): boolean {
  return type >= RedoType.Write && type <= RedoType.Fill;
}
