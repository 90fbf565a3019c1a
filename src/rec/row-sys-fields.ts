/**
 * The hidden columns and the info bits of a clustered entry's value, read and patched in place:
 * DB_TRX_ID, DB_ROLL_PTR and the delete mark, at the fixed offsets of `row-layout.ts`.
 *
 * InnoDB counterpart: `row_get_rec_trx_id` / `row_get_rec_roll_ptr` (`include/row0row.h`),
 * `row_upd_rec_sys_fields` (`row/row0upd.cc`) and `rec_set_deleted_flag` (`include/rem0rec.h`).
 * Where we differ: the hidden columns sit at fixed offsets at the start of the value, so they are
 * found without the key fields' lengths.
 *
 * Invariants kept here (numbered in `row-layout.ts`): W6 (asserted by the writers).
 *
 * Allocation: none, but `readRollPtr`, which returns a bigint.
 */
import { assert } from '../util/assert.js';
import { readInt64, readU32BE, writeInt64, writeU32BE } from './key-codec.js';
import {
  ROLL_PTR_LIMIT,
  ROW_INFO_OFFSET,
  ROW_ROLL_PTR_BYTES,
  ROW_ROLL_PTR_OFFSET,
  ROW_TRX_ID_OFFSET,
  RowInfo,
  TRX_ID_LIMIT,
} from './row-layout.js';

export function readTrxId(row: Uint8Array, rowOffset = 0): number {
  const at = rowOffset + ROW_TRX_ID_OFFSET;
  return ((row[at]! << 8) | row[at + 1]!) * 4294967296 + readU32BE(row, at + 2);
}

/** Patches DB_TRX_ID in place (W6). */
export function writeTrxIdInto(row: Uint8Array, rowOffset: number, trxId: number): void {
  assert(Number.isSafeInteger(trxId) && trxId >= 0 && trxId < TRX_ID_LIMIT, () => `W6 trx id ${trxId} out of 48 bits`);
  const at = rowOffset + ROW_TRX_ID_OFFSET;
  const hi = Math.floor(trxId / 4294967296);
  row[at] = hi >>> 8;
  row[at + 1] = hi;
  writeU32BE(row, at + 2, trxId >>> 0);
}

/** 8 bytes to pass DB_ROLL_PTR through the int64 codec: byte 0 is zero, bytes 1..7 are the pointer. */
const rollPtrScratch = new Uint8Array(8);

/** DB_ROLL_PTR as a bigint (is_insert << 55 | undo space << 48 | page << 16 | offset). Allocates the bigint. */
export function readRollPtr(row: Uint8Array, rowOffset = 0): bigint {
  const at = rowOffset + ROW_ROLL_PTR_OFFSET;
  rollPtrScratch[0] = 0;
  for (let i = 0; i < ROW_ROLL_PTR_BYTES; i++) rollPtrScratch[i + 1] = row[at + i]!;
  return readInt64(rollPtrScratch, 0, 0);
}

/** Patches DB_ROLL_PTR in place (W6). Allocates nothing. */
export function writeRollPtrInto(row: Uint8Array, rowOffset: number, rollPtr: bigint): void {
  assert(rollPtr >= 0n && rollPtr < ROLL_PTR_LIMIT, () => `W6 roll ptr ${rollPtr} out of 56 bits`);
  writeInt64(rollPtrScratch, 0, rollPtr, 0);
  const at = rowOffset + ROW_ROLL_PTR_OFFSET;
  for (let i = 0; i < ROW_ROLL_PTR_BYTES; i++) row[at + i] = rollPtrScratch[i + 1]!;
}

export function isDeleteMarked(row: Uint8Array, rowOffset = 0): boolean {
  return (row[rowOffset + ROW_INFO_OFFSET]! & RowInfo.Deleted) !== 0;
}

/** Sets or clears the delete mark in place. */
export function setDeleteMarkInto(row: Uint8Array, rowOffset: number, marked: boolean): void {
  const at = rowOffset + ROW_INFO_OFFSET;
  row[at] = marked ? row[at]! | RowInfo.Deleted : row[at]! & ~RowInfo.Deleted;
}
