/**
 * The external reference: what a clustered record keeps of a value stored on LOB pages.
 *
 * InnoDB counterpart: `lob::ref_t` (`include/lob0lob.h`), the 20-byte BTR_EXTERN field (space id,
 * page number, offset, length with the owner and inherited flags). InnoDB's 8.0 format reuses the
 * offset field to carry the LOB version; we give every field its own bytes, and add the LOB's id,
 * so a reference that outlives its LOB (a freed and reused first page) is recognised as stale
 * rather than read (src/lob/README.md, L4).
 *
 * Byte table (integers big-endian), `LOB_REF_BYTES` bytes, stored as the variable-length field's
 * bytes with the VAR_ENDS EXTERN bit set (row-layout.ts), and in undo records (undo-fields.ts):
 *
 * | offset | size | field      | meaning                                                          |
 * |--------|------|------------|------------------------------------------------------------------|
 * | 0      | 4    | SPACE_ID   | the table's tablespace                                           |
 * | 4      | 4    | FIRST_PAGE | the LOB's first page (its header and index)                      |
 * | 8      | 6    | LOB_ID     | the LOB's id, unique in its space for ever (lob/lob-space-header.ts) |
 * | 14     | 4    | VERSION    | the LOB version this record version reads (lob/README.md)         |
 * | 18     | 6    | LENGTH     | the value's length in bytes (> 0)                                |
 *
 * A `LobRef` read back from an older row version may also carry undo diffs: the old bytes of small
 * partial updates made in place since (rule LOB-DIFF), which a read applies over the bytes of
 * `version`, newest first, each only where it was taken from (bug class 13, lob/lob-read.ts).
 *
 * Invariants:
 *  LR1. A reference always reads back as written (`readLobRef(writeLobRef(r)) = r` without diffs).
 *  LR2. LENGTH > 0 and fits 48 bits; VERSION >= 1; FIRST_PAGE is neither 0 nor NIL.
 */
import { assert } from '../util/assert.js';

export const LOB_REF_BYTES = 24;
const SPACE_ID_AT = 0;
const FIRST_PAGE_AT = 4;
const LOB_ID_AT = 8;
const VERSION_AT = 14;
const LENGTH_AT = 18;

/** The old bytes of one in-place change, to be put back over a read of an older version. */
export interface LobUndoDiff {
  /** The LOB version the diff was taken from (the change did not bump it: a small change). */
  readonly version: number;
  /** Where in the value. */
  readonly offset: number;
  /** The bytes the change replaced (may be empty: seed 003). */
  readonly old: Uint8Array;
  /**
   * The data pages the change wrote in place: one per index slot the diff touches (at most two),
   * NIL for a zero-length diff. A read applies the part of a diff in a slot only when it reads that
   * very page (lob-read.ts, bug class 13).
   */
  readonly pages: readonly number[];
}

/** A reference to a value on LOB pages, as one row version sees it. Immutable. */
export class LobRef {
  readonly spaceId: number;
  readonly firstPageNo: number;
  readonly lobId: number;
  readonly version: number;
  readonly length: number;
  /** Old bytes to put back over `version`'s bytes, in the order to apply them (newest change first). */
  readonly undoDiffs: readonly LobUndoDiff[];

  constructor(
    spaceId: number,
    firstPageNo: number,
    lobId: number,
    version: number,
    length: number,
    undoDiffs: readonly LobUndoDiff[] = NO_DIFFS,
  ) {
    this.spaceId = spaceId;
    this.firstPageNo = firstPageNo;
    this.lobId = lobId;
    this.version = version;
    this.length = length;
    this.undoDiffs = undoDiffs;
  }

  /** The same LOB (space, first page and id): versions of one value. */
  sameLob(other: LobRef): boolean {
    return other.spaceId === this.spaceId && other.firstPageNo === this.firstPageNo && other.lobId === this.lobId;
  }

  /** This reference at another version, the undo diffs kept (they apply by page, not by version). */
  atVersion(version: number): LobRef {
    return new LobRef(this.spaceId, this.firstPageNo, this.lobId, version, this.length, this.undoDiffs);
  }

  /** This reference with `diffs` to apply after the ones it has. */
  withUndoDiffs(diffs: readonly LobUndoDiff[]): LobRef {
    return new LobRef(this.spaceId, this.firstPageNo, this.lobId, this.version, this.length, [
      ...this.undoDiffs,
      ...diffs,
    ]);
  }

  describe(): string {
    return `LOB ${this.lobId} (space ${this.spaceId} page ${this.firstPageNo}, version ${this.version}, ${this.length} bytes${this.undoDiffs.length > 0 ? `, ${this.undoDiffs.length} undo diffs` : ''})`;
  }
}

const NO_DIFFS: readonly LobUndoDiff[] = Object.freeze([]);

/**
 * Stands for a reference not written yet: the row layer encodes a row with it in phase 1 (to check
 * sizes) and again with the real one once the LOB is stored.
 */
export const LOB_REF_PLACEHOLDER = new LobRef(0, 0, 0, 0, 0);

function readU48(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 8) | bytes[at + 1]!) * 4294967296 + readU32(bytes, at + 2);
}

function readU32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

function writeU32(bytes: Uint8Array, at: number, value: number): void {
  bytes[at] = value >>> 24;
  bytes[at + 1] = value >>> 16;
  bytes[at + 2] = value >>> 8;
  bytes[at + 3] = value;
}

function writeU48(bytes: Uint8Array, at: number, value: number): void {
  const hi = Math.floor(value / 4294967296);
  bytes[at] = hi >>> 8;
  bytes[at + 1] = hi;
  writeU32(bytes, at + 2, value >>> 0);
}

/** Writes `ref` (without its undo diffs) at `at` (LR1, LR2). */
export function writeLobRef(target: Uint8Array, at: number, ref: LobRef): void {
  if (ref !== LOB_REF_PLACEHOLDER) {
    assert(
      ref.length > 0 && ref.length < 2 ** 48 && ref.version >= 1 && ref.firstPageNo !== 0,
      () => `LR2 ${ref.describe()} is a valid reference`,
    );
  }
  writeU32(target, at + SPACE_ID_AT, ref.spaceId);
  writeU32(target, at + FIRST_PAGE_AT, ref.firstPageNo);
  writeU48(target, at + LOB_ID_AT, ref.lobId);
  writeU32(target, at + VERSION_AT, ref.version);
  writeU48(target, at + LENGTH_AT, ref.length);
}

/** The reference at bytes[at, at + LOB_REF_BYTES). */
export function readLobRef(bytes: Uint8Array, at: number): LobRef {
  return new LobRef(
    readU32(bytes, at + SPACE_ID_AT),
    readU32(bytes, at + FIRST_PAGE_AT),
    readU48(bytes, at + LOB_ID_AT),
    readU32(bytes, at + VERSION_AT),
    readU48(bytes, at + LENGTH_AT),
  );
}

/** Whether a reference read from stored bytes is plausible (LR2); a caller raises corruption if not. */
export function lobRefIsValid(ref: LobRef): boolean {
  return ref.length > 0 && ref.version >= 1 && ref.firstPageNo !== 0 && ref.firstPageNo !== 0xffffffff;
}
