/**
 * The undo record codec: what a row operation leaves behind so it can be undone (rollback) and
 * so older versions can be rebuilt (consistent reads, purge).
 *
 * InnoDB counterpart: `trx/trx0rec.cc` (trx_undo_page_report_insert, trx_undo_page_report_modify,
 * trx_undo_rec_get_pars, trx_undo_update_rec_get_sys_cols, trx_undo_update_rec_get_update).
 * The record types are InnoDB's, with InnoDB's numbers. This module knows only bytes; where a
 * record lives (pages, the wrapper with its prev-record offset and length) is `undo-log.ts`.
 *
 * Byte table of a record body (integers big-endian):
 *
 * | offset   | size  | field        | meaning                                                        |
 * |----------|-------|--------------|----------------------------------------------------------------|
 * | 0        | 1     | TYPE         | an `UndoRecordType` (stored on disk: never renumber)           |
 * | 1        | 1     | FLAGS        | extension bits: 0x01 field kinds in FIELD_NO (`UNDO_FLAG_FIELD_KINDS`) |
 * | 2        | 6     | UNDO_NO      | the transaction's sequence number of this record (< 2^48)      |
 * | 8        | 8     | TABLE_ID     | the table (a safe integer)                                     |
 * | 16       | 6     | OLD_TRX_ID   | DB_TRX_ID of the version before the change. Absent for INSERT  |
 * | 22       | 7     | OLD_ROLL_PTR | DB_ROLL_PTR of the version before (roll-ptr.ts). Absent for INSERT |
 * | K        | 2     | KEY_LEN      | length of the primary key bytes (K = 16 for INSERT, else 29)  |
 * | K+2      | KEY_LEN | KEY        | the encoded primary key, opaque                                |
 * | F        | 2     | N_FIELDS     | n: number of (field, old value) entries that follow            |
 * | F+2      | ...   | FIELDS       | n times: FIELD_NO (2), VALUE_LEN (2: 0xFFFF = NULL, else 0..0xFFFE), the value's bytes |
 * | end      |       |              | (a section announced by a FLAGS bit would follow here)         |
 *
 * An INSERT record carries the key and, normally, no fields. An update-type record carries the
 * old values of the changed columns; for DELETE_MARK and for an update that changes an ordering
 * (indexed) column the caller also puts the indexed columns' values in the list, as InnoDB does,
 * so purge can find the secondary-index entries. InnoDB also stores the record's info bits; here
 * the type says it all (UPDATE_DELETE_MARKED: the old version was delete-marked; the other update
 * types: it was not).
 *
 * Where we differ from InnoDB, and why:
 *  - Fixed-width integers instead of InnoDB's compressed ones (mach_write_compressed): a record
 *    is a few bytes longer, and every field sits at an offset the reader computes without a loop.
 *  - A FLAGS byte of our own (InnoDB folds flags into the type byte and adds a second byte for
 *    MODIFY_BLOB): bit 0x01 says FIELD_NO carries a field kind (a LOB reference, LOB diffs, a LOB
 *    version change: rec/undo-fields.ts), and readers refuse a record with a bit they do not know.
 *  - Value lengths are explicit 2-byte fields and NULL is its own length value, so a zero-length
 *    value is an ordinary value and a NULL is distinct from it.
 *
 * Invariants:
 *  U1 (seed 003). A record is parsed from its bytes alone: every length is read, checked against
 *     the record's stored length, and the parse must end exactly at that length. Nothing is
 *     inferred from an allocation or a pointer being empty; zero-length values, zero fields and an
 *     empty key are legal and round-trip. A record that fails any check is `CorruptionError`,
 *     never returned.
 *  U2. TYPE is one of the four known types and FLAGS has no bit this version does not know.
 *     Encoding refuses what decoding would refuse (a record we write always reads back).
 *
 * Allocation: `UndoRecordCursor.parse` / `nextField` and the `...At` readers allocate nothing;
 * `decodeUndoRecord` and `cursor.toRecord()` allocate the record and copies of its bytes.
 */
import { CorruptionError, MinnoError } from '../errors.js';
import { assert } from '../util/assert.js';
import { readU16, readU32, readU64, writeU16, writeU64 } from '../page/page.js';
import { spaceFileName } from '../page/tablespace.js';
import { ROLL_PTR_BYTES, ROLL_PTR_NULL, readRollPtrAt, writeRollPtrAt, type RollPtr } from './roll-ptr.js';

/** Undo record types: InnoDB's numbers. Stored on disk: never renumber. */
export const UndoRecordType = {
  /** TRX_UNDO_INSERT_REC: a fresh insert; undo removes the record. */
  Insert: 11,
  /** TRX_UNDO_UPD_EXIST_REC: an update of a record that was not delete-marked. */
  UpdateExisting: 12,
  /** TRX_UNDO_UPD_DEL_REC: an update of a delete-marked record (an insert over it). */
  UpdateDeleteMarked: 13,
  /** TRX_UNDO_DEL_MARK_REC: a delete mark; purge removes the record later. */
  DeleteMark: 14,
} as const;
export type UndoRecordTypeValue = (typeof UndoRecordType)[keyof typeof UndoRecordType];

/**
 * FLAGS 0x01: some FIELD_NO carries a field kind in its top two bits (rec/undo-fields.ts: a LOB
 * reference, LOB partial-update diffs, a LOB version change). A field's value is opaque here: its
 * length is read like any other (U1), and the LOB diffs inside it are parsed by their own reader
 * with the same rule (UF2, seed 003: a zero-length diff parses like any other). Stored on disk: a
 * bit, once defined, is never renumbered.
 */
export const UNDO_FLAG_FIELD_KINDS = 0x01;
/** The FLAGS bits this version can read (U2). */
export const UNDO_RECORD_FLAGS_KNOWN = UNDO_FLAG_FIELD_KINDS;

export const UNDO_TYPE_OFFSET = 0;
export const UNDO_FLAGS_OFFSET = 1;
export const UNDO_NO_OFFSET = 2;
export const UNDO_TABLE_ID_OFFSET = 8;
export const UNDO_OLD_TRX_ID_OFFSET = 16;
export const UNDO_OLD_ROLL_PTR_OFFSET = 22;
const KEY_LEN_OFFSET_INSERT = 16;
const KEY_LEN_OFFSET_UPDATE = UNDO_OLD_ROLL_PTR_OFFSET + ROLL_PTR_BYTES; // 29
/** The value length that stands for SQL NULL. */
export const UNDO_VALUE_NULL = 0xffff;
/** The longest value a field can hold. */
export const UNDO_VALUE_BYTES_MAX = 0xfffe;
/** The longest record the codec writes (the length in the page wrapper is 16 bits). */
export const UNDO_RECORD_CODEC_BYTES_MAX = 0xffff;
/** The shortest valid record: an INSERT with an empty key and no fields. */
export const UNDO_RECORD_BYTES_MIN = KEY_LEN_OFFSET_INSERT + 4;
/** Ids stored in 6 bytes (undo numbers, trx ids) stay below this. */
export const UNDO_ID_LIMIT = 2 ** 48;

export interface UndoField {
  /** The column's field number in the table's row format. */
  readonly fieldNo: number;
  /** The old value's encoded bytes (opaque; may be empty), or null for SQL NULL. */
  readonly value: Uint8Array | null;
}

/** A decoded undo record (allocated). */
export interface UndoRecord {
  readonly type: UndoRecordTypeValue;
  readonly flags: number;
  readonly undoNo: number;
  readonly tableId: number;
  /** DB_TRX_ID of the previous version; 0 for INSERT (not stored). */
  readonly oldTrxId: number;
  /** DB_ROLL_PTR of the previous version; ROLL_PTR_NULL for INSERT (not stored). */
  readonly oldRollPtr: RollPtr;
  readonly primaryKey: Uint8Array;
  readonly fields: readonly UndoField[];
}

/** What a caller gives the encoder: for INSERT the old trx id and roll pointer are left out. */
export interface UndoRecordInput {
  readonly type: UndoRecordTypeValue;
  readonly flags?: number;
  readonly undoNo: number;
  readonly tableId: number;
  readonly oldTrxId?: number;
  readonly oldRollPtr?: RollPtr;
  readonly primaryKey: Uint8Array;
  readonly fields: readonly UndoField[];
}

/**
 * An undo record longer than the undo log can hold (about half a page, or a value over 64 KiB).
 * The caller falls back (the LOB layer stores big values elsewhere) before changing anything.
 */
export class UndoRecordTooLargeError extends MinnoError {
  readonly recordBytes: number;
  readonly limitBytes: number;
  constructor(recordBytes: number, limitBytes: number, detail = '') {
    super(
      'ERR_VALUE_TOO_LARGE',
      `undo record of ${recordBytes} bytes is too large${detail === '' ? '' : ` (${detail})`}; ` +
        `the limit is ${limitBytes} bytes: store large values outside the row`,
    );
    this.recordBytes = recordBytes;
    this.limitBytes = limitBytes;
  }
}

export function isUndoRecordType(type: number): type is UndoRecordTypeValue {
  return type >= UndoRecordType.Insert && type <= UndoRecordType.DeleteMark;
}

function keyLenOffset(type: number): number {
  return type === UndoRecordType.Insert ? KEY_LEN_OFFSET_INSERT : KEY_LEN_OFFSET_UPDATE;
}

/** Reads a 6-byte unsigned integer. */
export function readU48(source: Uint8Array, at: number): number {
  return readU16(source, at) * 4294967296 + readU32(source, at + 2);
}

/** Writes a 6-byte unsigned integer (< 2^48). */
export function writeU48(target: Uint8Array, at: number, value: number): void {
  writeU16(target, at, Math.floor(value / 4294967296));
  target[at + 2] = value >>> 24;
  target[at + 3] = value >>> 16;
  target[at + 4] = value >>> 8;
  target[at + 5] = value;
}

// --- encoding ----------------------------------------------------------------------------------

/** The encoded length of a record, in bytes. */
export function undoRecordLength(record: UndoRecordInput): number {
  let length = keyLenOffset(record.type) + 2 + record.primaryKey.length + 2;
  for (const field of record.fields) length += 4 + (field.value === null ? 0 : field.value.length);
  return length;
}

/**
 * Encodes `record` into `target` at `at`; returns the end offset. Refuses (typed error, nothing
 * written) a record over the codec's limit or a value over 64 KiB; a malformed input (unknown
 * type, id out of range) is a caller bug and fails an assertion (U2).
 */
export function encodeUndoRecordInto(record: UndoRecordInput, target: Uint8Array, at: number): number {
  const { type, undoNo, tableId, primaryKey, fields } = record;
  const flags = record.flags ?? 0;
  assert(isUndoRecordType(type), () => `U2 undo record type ${String(type)} is known`);
  assert(
    (flags & ~UNDO_RECORD_FLAGS_KNOWN) === 0 && flags >= 0 && flags <= 0xff,
    () => `U2 undo record flags ${flags} are known`,
  );
  assert(Number.isSafeInteger(undoNo) && undoNo >= 0 && undoNo < UNDO_ID_LIMIT, () => `undo_no ${undoNo} fits 48 bits`);
  assert(Number.isSafeInteger(tableId) && tableId >= 0, () => `table id ${tableId} is a safe integer`);
  assert(fields.length <= 0xffff, () => `${fields.length} undo fields fit 16 bits`);
  const length = undoRecordLength(record);
  if (length > UNDO_RECORD_CODEC_BYTES_MAX) throw new UndoRecordTooLargeError(length, UNDO_RECORD_CODEC_BYTES_MAX);
  if (primaryKey.length > UNDO_VALUE_BYTES_MAX)
    throw new UndoRecordTooLargeError(length, UNDO_RECORD_CODEC_BYTES_MAX, 'primary key');
  for (const field of fields) {
    assert(
      Number.isInteger(field.fieldNo) && field.fieldNo >= 0 && field.fieldNo <= 0xffff,
      () => `field number ${field.fieldNo} fits 16 bits`,
    );
    if (field.value !== null && field.value.length > UNDO_VALUE_BYTES_MAX) {
      throw new UndoRecordTooLargeError(
        length,
        UNDO_RECORD_CODEC_BYTES_MAX,
        `value of field ${field.fieldNo} over ${UNDO_VALUE_BYTES_MAX} bytes`,
      );
    }
  }
  assert(at + length <= target.length, 'the encode target has room for the record');

  target[at + UNDO_TYPE_OFFSET] = type;
  target[at + UNDO_FLAGS_OFFSET] = flags;
  writeU48(target, at + UNDO_NO_OFFSET, undoNo);
  writeU64(target, at + UNDO_TABLE_ID_OFFSET, tableId);
  if (type !== UndoRecordType.Insert) {
    const oldTrxId = record.oldTrxId;
    const oldRollPtr = record.oldRollPtr;
    assert(
      oldTrxId !== undefined && Number.isSafeInteger(oldTrxId) && oldTrxId >= 0 && oldTrxId < UNDO_ID_LIMIT,
      'an update-type undo record has the old DB_TRX_ID',
    );
    assert(oldRollPtr !== undefined, 'an update-type undo record has the old DB_ROLL_PTR');
    writeU48(target, at + UNDO_OLD_TRX_ID_OFFSET, oldTrxId);
    writeRollPtrAt(target, at + UNDO_OLD_ROLL_PTR_OFFSET, oldRollPtr);
  } else {
    assert(record.oldTrxId === undefined || record.oldTrxId === 0, 'an INSERT undo record stores no old DB_TRX_ID');
  }
  let p = at + keyLenOffset(type);
  writeU16(target, p, primaryKey.length);
  target.set(primaryKey, p + 2);
  p += 2 + primaryKey.length;
  writeU16(target, p, fields.length);
  p += 2;
  for (const field of fields) {
    writeU16(target, p, field.fieldNo);
    if (field.value === null) {
      writeU16(target, p + 2, UNDO_VALUE_NULL);
      p += 4;
    } else {
      writeU16(target, p + 2, field.value.length);
      target.set(field.value, p + 4);
      p += 4 + field.value.length;
    }
  }
  assert(p === at + length, 'U1 the encoded length is the computed length');
  return p;
}

/** Encodes a record into a new array. */
export function encodeUndoRecord(record: UndoRecordInput): Uint8Array {
  const target = new Uint8Array(undoRecordLength(record));
  encodeUndoRecordInto(record, target, 0);
  return target;
}

// --- decoding ----------------------------------------------------------------------------------

const EMPTY = new Uint8Array(0);

/**
 * A reusable, allocation-free reader of one record in place (a page frame or any buffer).
 * `parse` checks the whole record (U1, U2) once; after it, the header fields are set and
 * `nextField()` walks the (field, value) list, leaving the value's position in `valueOffset` /
 * `valueLength` (-1 for NULL) within `bytes`. Valid until the bytes change (for a page frame:
 * until the next page access; see undo-log.ts U13).
 */
export class UndoRecordCursor {
  bytes: Uint8Array = EMPTY;
  /** The record body is bytes[start, end). */
  start = 0;
  end = 0;
  type: UndoRecordTypeValue = UndoRecordType.Insert;
  flags = 0;
  undoNo = 0;
  tableId = 0;
  /** 0 for INSERT. */
  oldTrxId = 0;
  /** ROLL_PTR_NULL for INSERT. */
  oldRollPtr: RollPtr = ROLL_PTR_NULL;
  keyOffset = 0;
  keyLength = 0;
  fieldCount = 0;
  /** Index of the current field, -1 before the first `nextField()`. */
  fieldIndex = -1;
  fieldNo = 0;
  valueOffset = 0;
  /** The current value's length, or -1 for NULL. */
  valueLength = -1;
  private fieldsStart = 0;
  private nextAt = 0;

  /**
   * Parses and checks the record body bytes[start, start + length). `pageNo` names the page in
   * the error when the bytes are an undo page of the system tablespace.
   */
  /** The cursor's own copy of the record it was positioned on by `parseCopy` (grown, reused). */
  private copy = new Uint8Array(256);

  /**
   * Copies the record `bytes[start, start + length)` into the cursor's own buffer and parses it
   * there (U13 of undo-log.ts). A record read from an undo page must outlive that page's frame: rollback and purge
   * search the indexes between reading a record and using its fields, and those searches may
   * evict the undo page and reuse its frame for another (InnoDB copies undo records to the heap,
   * `trx_undo_rec_copy`, for the same reason). The buffer is reused, so this allocates nothing
   * once it is large enough.
   */
  parseCopy(bytes: Uint8Array, start: number, length: number, pageNo?: number): this {
    if (length > this.copy.length) this.copy = new Uint8Array(Math.max(length, this.copy.length * 2));
    this.copy.set(bytes.subarray(start, start + length), 0);
    return this.parse(this.copy, 0, length, pageNo);
  }

  parse(bytes: Uint8Array, start: number, length: number, pageNo?: number): this {
    const end = start + length;
    if (length < UNDO_RECORD_BYTES_MIN || end > bytes.length)
      throw corrupt(pageNo, start, `length ${length} out of range`);
    const type = bytes[start + UNDO_TYPE_OFFSET]!;
    if (!isUndoRecordType(type)) throw corrupt(pageNo, start, `U2 unknown type ${type}`);
    const flags = bytes[start + UNDO_FLAGS_OFFSET]!;
    if ((flags & ~UNDO_RECORD_FLAGS_KNOWN) !== 0)
      throw corrupt(pageNo, start, `U2 unknown flags 0x${flags.toString(16)}`);
    let p = start + keyLenOffset(type);
    if (p + 2 > end) throw corrupt(pageNo, start, 'truncated header');
    if (readU32(bytes, start + UNDO_TABLE_ID_OFFSET) >= 0x200000)
      throw corrupt(pageNo, start, 'TABLE_ID is not a safe integer');
    const keyLength = readU16(bytes, p);
    p += 2;
    if (p + keyLength + 2 > end) throw corrupt(pageNo, start, `key length ${keyLength} overruns the record`);
    const keyOffset = p;
    p += keyLength;
    const fieldCount = readU16(bytes, p);
    p += 2;
    const fieldsStart = p;
    for (let i = 0; i < fieldCount; i++) {
      if (p + 4 > end) throw corrupt(pageNo, start, `field ${i} of ${fieldCount} overruns the record`);
      const valueLength = readU16(bytes, p + 2);
      p += 4;
      if (valueLength !== UNDO_VALUE_NULL) {
        if (p + valueLength > end)
          throw corrupt(pageNo, start, `value of field ${i} (${valueLength} bytes) overruns the record`);
        p += valueLength;
      }
    }
    if (p !== end) throw corrupt(pageNo, start, `${end - p} bytes after the last field`);
    // Only now, with every length checked, is anything handed out.
    this.oldTrxId = 0;
    this.oldRollPtr = ROLL_PTR_NULL;
    if (type !== UndoRecordType.Insert) {
      this.oldRollPtr = readRollPtrAt(bytes, start + UNDO_OLD_ROLL_PTR_OFFSET, pageNo);
      this.oldTrxId = readU48(bytes, start + UNDO_OLD_TRX_ID_OFFSET);
    }
    this.bytes = bytes;
    this.start = start;
    this.end = end;
    this.type = type;
    this.flags = flags;
    this.undoNo = readU48(bytes, start + UNDO_NO_OFFSET);
    this.tableId = readU64(bytes, start + UNDO_TABLE_ID_OFFSET);
    this.keyOffset = keyOffset;
    this.keyLength = keyLength;
    this.fieldCount = fieldCount;
    this.fieldsStart = fieldsStart;
    this.rewindFields();
    return this;
  }

  /** Goes back to before the first field. */
  rewindFields(): void {
    this.fieldIndex = -1;
    this.nextAt = this.fieldsStart;
    this.fieldNo = 0;
    this.valueOffset = 0;
    this.valueLength = -1;
  }

  /** Moves to the next (field, old value) entry; false after the last. */
  nextField(): boolean {
    if (this.fieldIndex + 1 >= this.fieldCount) return false;
    const bytes = this.bytes;
    const at = this.nextAt;
    this.fieldIndex++;
    this.fieldNo = readU16(bytes, at);
    const length = readU16(bytes, at + 2);
    this.valueOffset = at + 4;
    if (length === UNDO_VALUE_NULL) {
      this.valueLength = -1;
      this.nextAt = at + 4;
    } else {
      this.valueLength = length;
      this.nextAt = at + 4 + length;
    }
    return true;
  }

  get valueIsNull(): boolean {
    return this.valueLength < 0;
  }

  /** The primary key bytes: a view, not a copy. */
  primaryKey(): Uint8Array {
    return this.bytes.subarray(this.keyOffset, this.keyOffset + this.keyLength);
  }

  /** The current field's value: a view, or null for NULL. */
  value(): Uint8Array | null {
    return this.valueLength < 0 ? null : this.bytes.subarray(this.valueOffset, this.valueOffset + this.valueLength);
  }

  /** The record as a new object with copies of its bytes. */
  toRecord(): UndoRecord {
    const fields: UndoField[] = [];
    const saved = {
      index: this.fieldIndex,
      at: this.nextAt,
      no: this.fieldNo,
      offset: this.valueOffset,
      length: this.valueLength,
    };
    this.rewindFields();
    while (this.nextField()) {
      fields.push({
        fieldNo: this.fieldNo,
        value: this.valueLength < 0 ? null : this.bytes.slice(this.valueOffset, this.valueOffset + this.valueLength),
      });
    }
    this.fieldIndex = saved.index;
    this.nextAt = saved.at;
    this.fieldNo = saved.no;
    this.valueOffset = saved.offset;
    this.valueLength = saved.length;
    return {
      type: this.type,
      flags: this.flags,
      undoNo: this.undoNo,
      tableId: this.tableId,
      oldTrxId: this.oldTrxId,
      oldRollPtr: this.oldRollPtr,
      primaryKey: this.bytes.slice(this.keyOffset, this.keyOffset + this.keyLength),
      fields,
    };
  }
}

/** Decodes (and checks, U1) the record in bytes[at, at + length). Allocates the result. */
export function decodeUndoRecord(bytes: Uint8Array, at = 0, length = bytes.length - at): UndoRecord {
  return new UndoRecordCursor().parse(bytes, at, length).toRecord();
}

/** The error for a record that fails U1 or U2 (a function, so the parse allocates no closure). */
function corrupt(pageNo: number | undefined, start: number, detail: string): CorruptionError {
  return new CorruptionError(
    pageNo === undefined ? 'undo record' : spaceFileName(0),
    pageNo,
    `U1 undo record at offset ${start}: ${detail}`,
  );
}

/** UNDO_NO of a record body at `at`, unchecked (the caller has checked the record). */
export function undoNoAt(bytes: Uint8Array, at: number): number {
  return readU48(bytes, at + UNDO_NO_OFFSET);
}
