/**
 * A change-buffer record: one buffered operation on one secondary-index leaf page.
 *
 * InnoDB counterpart: the ibuf record format of `ibuf/ibuf0ibuf.cc` (ibuf_entry_build: space,
 * marker, page number, then the metadata field with the counter and the operation type, then the
 * index entry's fields). The change buffer is a B-tree of these in the system tablespace, keyed by
 * (space, page, counter), so a page's operations are contiguous and in the order they were
 * buffered: a merge applies them in that order (IB2 of change-buffer.ts).
 *
 * Key (16 bytes, big-endian, compared as bytes like every B-tree key):
 *
 * | offset | size | field   | meaning                                                          |
 * |--------|------|---------|------------------------------------------------------------------|
 * | 0      | 4    | SPACE   | the tablespace of the page                                        |
 * | 4      | 4    | PAGE    | the leaf page the operation is for                                |
 * | 8      | 8    | COUNTER | from the header's NEXT_COUNTER: orders the operations of the page |
 *
 * Value:
 *
 * | offset | size | field    | meaning                                                         |
 * |--------|------|----------|-----------------------------------------------------------------|
 * | 0      | 1    | OP       | an `IbufOp`                                                     |
 * | 1      | 8    | INDEX_ID | the index the page belongs to (a merge checks it: IB6)          |
 * | 9      | k    | ENTRY    | the secondary entry's key (secondary entries have no value)     |
 *
 * A record is removed in the mini-transaction that applies it to its page (rule IBUF-SAME-MTR),
 * so a record in the tree is always one still to apply. InnoDB removes them the same way, but it
 * first marks an IBUF_OP_DELETE record processed (its B-tree delete mark,
 * btr_cur_set_deleted_flag_for_ibuf) because its purge merge must commit the mtr before the
 * removal (the fix of bug 16183892); our merge never needs a second mtr, so there is no mark and
 * nothing for a merge to skip. The B-tree delete mark of a record stays clear.
 */
import { readU32, readU64, writeU32, writeU64 } from '../page/page.js';

/**
 * What a buffered record does to the page, in InnoDB's terms where they exist. Stored on disk:
 * never renumber, only append.
 *  - Insert (IBUF_OP_INSERT): a live entry; one already there (delete-marked) is unmarked.
 *  - DeleteMark (IBUF_OP_DELETE_MARK): the entry's delete mark set, if the entry is there.
 *  - Purge (IBUF_OP_DELETE): the entry removed if it is there and still delete-marked (purge).
 *  - InsertMarked: a delete-marked entry, or the mark set on the one there (rollback, index build).
 *  - Unmark: the delete mark cleared, if the entry is there (an insert over a deleted row).
 *  - Remove: the entry removed if it is there (rollback of the insert that added it).
 */
export const IbufOp = {
  Insert: 0,
  DeleteMark: 1,
  Purge: 2,
  InsertMarked: 3,
  Unmark: 4,
  Remove: 5,
} as const;
export type IbufOpValue = (typeof IbufOp)[keyof typeof IbufOp];

/** Names of the operations by number (status reports). */
export const IBUF_OP_NAMES = ['insert', 'deleteMark', 'purge', 'insertMarked', 'unmark', 'remove'] as const;
export type IbufOpName = (typeof IBUF_OP_NAMES)[number];
export const IBUF_OP_COUNT = IBUF_OP_NAMES.length;

/** Operations that add an entry: they need room on the page (IB3). */
export function addsEntry(op: number): boolean {
  return op === IbufOp.Insert || op === IbufOp.InsertMarked;
}

/** Operations that may take an entry off the page: at least two must surely remain (IB4). */
export function removesEntry(op: number): boolean {
  return op === IbufOp.Purge || op === IbufOp.Remove;
}

export const IBUF_KEY_BYTES = 16;
/** The (space, page) prefix of a record key: all records of one page share it. */
export const IBUF_PAGE_PREFIX_BYTES = 8;
export const IBUF_VALUE_HEADER_BYTES = 9;

/** Writes the key of the record (space, page, counter) into `target` (16 bytes). */
export function writeIbufKey(target: Uint8Array, spaceId: number, pageNo: number, counter: number): Uint8Array {
  writeU32(target, 0, spaceId);
  writeU32(target, 4, pageNo);
  writeU64(target, 8, counter);
  return target;
}

/** The 8-byte prefix every record of page (space, page) starts with. */
export function ibufPagePrefix(spaceId: number, pageNo: number): Uint8Array {
  const prefix = new Uint8Array(IBUF_PAGE_PREFIX_BYTES);
  writeU32(prefix, 0, spaceId);
  writeU32(prefix, 4, pageNo);
  return prefix;
}

export function ibufKeySpace(key: Uint8Array, at = 0): number {
  return readU32(key, at);
}

export function ibufKeyPage(key: Uint8Array, at = 0): number {
  return readU32(key, at + 4);
}

export function ibufKeyCounter(key: Uint8Array, at = 0): number {
  return readU64(key, at + 8);
}

/** The record's value: operation, index id, entry key. */
export function encodeIbufValue(op: IbufOpValue, indexId: number, entryKey: Uint8Array): Uint8Array {
  const value = new Uint8Array(IBUF_VALUE_HEADER_BYTES + entryKey.length);
  value[0] = op;
  writeU64(value, 1, indexId);
  value.set(entryKey, IBUF_VALUE_HEADER_BYTES);
  return value;
}

export function ibufValueOp(value: Uint8Array, at = 0): number {
  return value[at]!;
}

export function ibufValueIndexId(value: Uint8Array, at = 0): number {
  return readU64(value, at + 1);
}

/** Bytes a record of an entry key this long takes in the change buffer (its share of the cap). */
export function ibufRecordBytes(entryKeyLength: number): number {
  return IBUF_KEY_BYTES + IBUF_VALUE_HEADER_BYTES + entryKeyLength;
}

/** One record read out of the tree (copies: the tree's pages may move while it is used). */
export interface IbufRecord {
  readonly key: Uint8Array;
  readonly op: number;
  readonly indexId: number;
  readonly entryKey: Uint8Array;
}
