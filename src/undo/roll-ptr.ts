/**
 * Roll pointers: where the previous version of a clustered record lives in the undo log.
 *
 * InnoDB counterpart: `trx/trx0undo.ic` (trx_undo_build_roll_ptr, trx_undo_decode_roll_ptr,
 * trx_undo_roll_ptr_is_insert) and `include/trx0types.h` (roll_ptr_t). On disk a roll pointer is
 * InnoDB's 7 bytes, big-endian, so the B-tree's DB_ROLL_PTR column (`rec/row-format.ts`) and
 * the old roll pointer inside an undo record (`undo-record.ts`) hold exactly InnoDB's value:
 *
 *     bit  55      54..48     47..16      15..0
 *        is_insert  space     page_no     offset
 *
 * | byte | size | field                                                             |
 * |------|------|-------------------------------------------------------------------|
 * | 0    | 1    | bit 7: IS_INSERT (the record is in an insert undo log); bits 0-6: undo space id |
 * | 1    | 4    | PAGE_NO of the undo page                                          |
 * | 5    | 2    | OFFSET of the undo record's wrapper in that page (`undo-log.ts`)  |
 *
 * ## In memory: one safe integer (where we differ, and why)
 * The 56-bit value does not fit a double's 53 bits, and a bigint allocates on every read of a
 * version chain. So in memory a `RollPtr` is a different packing of the same fields into one safe
 * integer, with the space id cut to 4 bits:
 *
 *     rollPtr = is_insert * 2^52 + space * 2^48 + page_no * 2^16 + offset        (< 2^53)
 *
 * Undo lives in space 0 today (InnoDB allows 127 undo tablespaces; we would need at most 15), so
 * nothing is lost; a stored roll pointer naming a space >= 16 cannot be ours and reads as
 * corruption. The page number and offset decode with two float operations and no allocation, and
 * readers take them straight from stored bytes (`rollPtrPageNoAt`, `rollPtrOffsetAt`). A bigint
 * with InnoDB's exact value exists only at the edges (`rollPtrToBigInt`, `rollPtrFromBigInt`), for
 * the B-tree's bigint accessors and for display.
 *
 * ## The null roll pointer
 * `ROLL_PTR_NULL` (IS_INSERT set, space 0, page 0, offset 0) says "no earlier version", as InnoDB
 * writes for records with nothing before them: any roll pointer with IS_INSERT set ends a version
 * chain (an insert has no previous version), and page 0 of a space is its header, never an undo
 * page, so the null pointer can never be mistaken for a record.
 *
 * Invariants:
 *  RP1. space < 16 and page_no < 2^32 and offset < 2^16 in every `RollPtr` (checked on encode and
 *       on every decode from bytes).
 *  RP2. Encoding is exact both ways: bytes -> RollPtr -> bytes and RollPtr -> bigint -> RollPtr
 *       are identities (property-tested).
 */
import { CorruptionError } from '../errors.js';
import { assert } from '../util/assert.js';
import { readU16, readU32, writeU16, writeU32 } from '../page/page.js';
import { spaceFileName } from '../page/tablespace.js';

/** A roll pointer in memory: a safe integer in the packing of the module doc. */
export type RollPtr = number & { readonly __brand: 'RollPtr' };

export const ROLL_PTR_BYTES = 7;
/** Space ids a `RollPtr` can name (RP1). */
export const ROLL_PTR_SPACE_LIMIT = 16;

const TWO_16 = 65536;
const TWO_48 = 2 ** 48;
const TWO_52 = 2 ** 52;

/** "No earlier version": IS_INSERT set, everything else zero. */
export const ROLL_PTR_NULL = TWO_52 as RollPtr;

export function makeRollPtr(isInsert: boolean, spaceId: number, pageNo: number, offset: number): RollPtr {
  // Plain conditions, no message closures: this runs on every version-chain step (no allocation).
  if (
    !(spaceId >= 0 && spaceId < ROLL_PTR_SPACE_LIMIT && spaceId === Math.floor(spaceId)) ||
    !(pageNo >= 0 && pageNo <= 0xffffffff && pageNo === Math.floor(pageNo)) ||
    !(offset >= 0 && offset <= 0xffff && offset === Math.floor(offset))
  ) {
    assert(false, `RP1 roll pointer (space ${spaceId} < 16, page ${pageNo} < 2^32, offset ${offset} < 2^16) in range`);
  }
  return ((isInsert ? TWO_52 : 0) + spaceId * TWO_48 + pageNo * TWO_16 + offset) as RollPtr;
}

export function rollPtrIsInsert(rollPtr: RollPtr): boolean {
  return rollPtr >= TWO_52;
}

export function rollPtrSpaceId(rollPtr: RollPtr): number {
  return Math.floor(rollPtr / TWO_48) % ROLL_PTR_SPACE_LIMIT;
}

export function rollPtrPageNo(rollPtr: RollPtr): number {
  return Math.floor(rollPtr / TWO_16) % 4294967296;
}

export function rollPtrOffset(rollPtr: RollPtr): number {
  return rollPtr % TWO_16;
}

/** True for the null roll pointer (no earlier version, nothing to read). */
export function isNullRollPtr(rollPtr: RollPtr): boolean {
  return rollPtr === ROLL_PTR_NULL;
}

export function formatRollPtr(rollPtr: RollPtr): string {
  const kind = rollPtrIsInsert(rollPtr) ? 'insert' : 'update';
  return `${kind}:${rollPtrSpaceId(rollPtr)}:${rollPtrPageNo(rollPtr)}:${rollPtrOffset(rollPtr)}`;
}

// --- stored form (7 bytes, InnoDB's) -----------------------------------------------------------

/** Writes a roll pointer's 7 stored bytes at `at`. */
export function writeRollPtrAt(target: Uint8Array, at: number, rollPtr: RollPtr): void {
  target[at] = (rollPtrIsInsert(rollPtr) ? 0x80 : 0) | rollPtrSpaceId(rollPtr);
  writeU32(target, at + 1, rollPtrPageNo(rollPtr));
  writeU16(target, at + 5, rollPtrOffset(rollPtr));
}

/** Reads 7 stored bytes as a `RollPtr`; a space id >= 16 is not ours: corruption (RP1). */
export function readRollPtrAt(source: Uint8Array, at: number, pageNo?: number): RollPtr {
  const first = source[at]!;
  const spaceId = first & 0x7f;
  if (spaceId >= ROLL_PTR_SPACE_LIMIT) {
    throw new CorruptionError(spaceFileName(0), pageNo, `RP1 stored roll pointer names undo space ${spaceId}`);
  }
  return ((first & 0x80 ? TWO_52 : 0) +
    spaceId * TWO_48 +
    readU32(source, at + 1) * TWO_16 +
    readU16(source, at + 5)) as RollPtr;
}

/** The undo page number of a stored roll pointer, without building the value. */
export function rollPtrPageNoAt(source: Uint8Array, at: number): number {
  return readU32(source, at + 1);
}

/** The undo record offset of a stored roll pointer, without building the value. */
export function rollPtrOffsetAt(source: Uint8Array, at: number): number {
  return readU16(source, at + 5);
}

export function rollPtrIsInsertAt(source: Uint8Array, at: number): boolean {
  return (source[at]! & 0x80) !== 0;
}

// --- InnoDB's 56-bit integer, at the edges only -----------------------------------------------

/** InnoDB's value `is_insert << 55 | space << 48 | page_no << 16 | offset`. Allocates a bigint. */
export function rollPtrToBigInt(rollPtr: RollPtr): bigint {
  return (
    (rollPtrIsInsert(rollPtr) ? 1n << 55n : 0n) |
    (BigInt(rollPtrSpaceId(rollPtr)) << 48n) |
    (BigInt(rollPtrPageNo(rollPtr)) << 16n) |
    BigInt(rollPtrOffset(rollPtr))
  );
}

export function rollPtrFromBigInt(value: bigint): RollPtr {
  assert(value >= 0n && value < 1n << 56n, () => `RP1 roll pointer ${value} fits 56 bits`);
  return makeRollPtr(
    value >> 55n === 1n,
    Number((value >> 48n) & 0x7fn),
    Number((value >> 16n) & 0xffffffffn),
    Number(value & 0xffffn),
  );
}
