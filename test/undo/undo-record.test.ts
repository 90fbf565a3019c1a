/**
 * The undo record codec (src/undo/undo-record.ts) and roll pointers (src/undo/roll-ptr.ts):
 * round trips as properties, including the edges seed 003 is about (zero-length values, NULLs,
 * zero fields, an empty key), the size limits, and every truncation and garbling of a record
 * raising ERR_CORRUPTION (U1, U2), never returning data.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { AssertionError } from '../../src/util/assert.js';
import {
  ROLL_PTR_BYTES,
  ROLL_PTR_NULL,
  formatRollPtr,
  isNullRollPtr,
  makeRollPtr,
  readRollPtrAt,
  rollPtrFromBigInt,
  rollPtrIsInsert,
  rollPtrIsInsertAt,
  rollPtrOffset,
  rollPtrOffsetAt,
  rollPtrPageNo,
  rollPtrPageNoAt,
  rollPtrSpaceId,
  rollPtrToBigInt,
  writeRollPtrAt,
  type RollPtr,
} from '../../src/undo/roll-ptr.js';
import {
  UNDO_RECORD_CODEC_BYTES_MAX,
  UNDO_VALUE_BYTES_MAX,
  UndoRecordCursor,
  UndoRecordTooLargeError,
  UndoRecordType,
  decodeUndoRecord,
  encodeUndoRecord,
  encodeUndoRecordInto,
  undoRecordLength,
  type UndoRecord,
  type UndoRecordInput,
  type UndoRecordTypeValue,
} from '../../src/undo/undo-record.js';

const rollPtrArb: fc.Arbitrary<RollPtr> = fc
  .tuple(
    fc.boolean(),
    fc.integer({ min: 0, max: 15 }),
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0, max: 0xffff }),
  )
  .map(([insert, space, page, offset]) => makeRollPtr(insert, space, page, offset));

const valueArb = fc.oneof(
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 2, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 6, arbitrary: fc.uint8Array({ maxLength: 40 }) },
);

const recordArb: fc.Arbitrary<UndoRecordInput> = fc
  .record({
    type: fc.constantFrom<UndoRecordTypeValue>(11, 12, 13, 14),
    undoNo: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(2 ** 48 - 1)),
    tableId: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    oldTrxId: fc.oneof(fc.integer({ min: 0, max: 1000 }), fc.constant(2 ** 48 - 1)),
    oldRollPtr: rollPtrArb,
    primaryKey: fc.oneof(fc.constant(new Uint8Array(0)), fc.uint8Array({ maxLength: 30 })),
    fields: fc.array(fc.record({ fieldNo: fc.integer({ min: 0, max: 0xffff }), value: valueArb }), { maxLength: 12 }),
  })
  .map((r) => (r.type === UndoRecordType.Insert ? { ...r, oldTrxId: undefined, oldRollPtr: undefined } : r));

/** What decoding gives back for an input. */
function expected(input: UndoRecordInput): UndoRecord {
  const insert = input.type === UndoRecordType.Insert;
  return {
    type: input.type,
    flags: 0,
    undoNo: input.undoNo,
    tableId: input.tableId,
    oldTrxId: insert ? 0 : input.oldTrxId!,
    oldRollPtr: insert ? ROLL_PTR_NULL : input.oldRollPtr!,
    primaryKey: input.primaryKey,
    fields: input.fields,
  };
}

describe('roll pointers', () => {
  it('round-trips through the 7 stored bytes and through InnoDB’s 56-bit value (RP2)', () => {
    fc.assert(
      fc.property(rollPtrArb, fc.integer({ min: 0, max: 9 }), (rp, at) => {
        const bytes = new Uint8Array(at + ROLL_PTR_BYTES);
        writeRollPtrAt(bytes, at, rp);
        expect(readRollPtrAt(bytes, at)).toBe(rp);
        expect(rollPtrPageNoAt(bytes, at)).toBe(rollPtrPageNo(rp));
        expect(rollPtrOffsetAt(bytes, at)).toBe(rollPtrOffset(rp));
        expect(rollPtrIsInsertAt(bytes, at)).toBe(rollPtrIsInsert(rp));
        const big = rollPtrToBigInt(rp);
        // InnoDB's formula, and the stored bytes are its big-endian 7 bytes.
        const innodb =
          (BigInt(rollPtrIsInsert(rp) ? 1 : 0) << 55n) |
          (BigInt(rollPtrSpaceId(rp)) << 48n) |
          (BigInt(rollPtrPageNo(rp)) << 16n) |
          BigInt(rollPtrOffset(rp));
        expect(big).toBe(innodb);
        let fromBytes = 0n;
        for (let i = 0; i < ROLL_PTR_BYTES; i++) fromBytes = (fromBytes << 8n) | BigInt(bytes[at + i]!);
        expect(fromBytes).toBe(innodb);
        expect(rollPtrFromBigInt(big)).toBe(rp);
        expect(Number.isSafeInteger(rp)).toBe(true);
      }),
    );
  });

  it('has a null roll pointer that ends a version chain and names no undo page', () => {
    expect(isNullRollPtr(ROLL_PTR_NULL)).toBe(true);
    expect(rollPtrIsInsert(ROLL_PTR_NULL)).toBe(true);
    expect(rollPtrPageNo(ROLL_PTR_NULL)).toBe(0);
    expect(rollPtrToBigInt(ROLL_PTR_NULL)).toBe(1n << 55n);
    expect(formatRollPtr(makeRollPtr(false, 0, 7, 112))).toBe('update:0:7:112');
    expect(isNullRollPtr(makeRollPtr(true, 0, 7, 112))).toBe(false);
  });

  it('refuses a stored undo space it cannot represent (RP1) and out-of-range fields', () => {
    const bytes = new Uint8Array(ROLL_PTR_BYTES);
    bytes[0] = 0x80 | 16;
    expect(() => readRollPtrAt(bytes, 0)).toThrow(CorruptionError);
    expect(() => makeRollPtr(false, 16, 1, 1)).toThrow(AssertionError);
    expect(() => makeRollPtr(false, 0, 2 ** 32, 1)).toThrow(AssertionError);
    expect(() => makeRollPtr(false, 0, 1, 65536)).toThrow(AssertionError);
  });
});

describe('undo record codec', () => {
  it('round-trips every record, with zero-length values, NULLs, zero fields and empty keys (U1)', () => {
    fc.assert(
      fc.property(recordArb, fc.integer({ min: 0, max: 7 }), (input, pad) => {
        const bytes = encodeUndoRecord(input);
        expect(bytes.length).toBe(undoRecordLength(input));
        expect(decodeUndoRecord(bytes)).toEqual(expected(input));
        // In place, at an offset inside a bigger buffer, as in a page.
        const frame = new Uint8Array(pad + bytes.length + pad).fill(0xee);
        expect(encodeUndoRecordInto(input, frame, pad)).toBe(pad + bytes.length);
        expect(decodeUndoRecord(frame, pad, bytes.length)).toEqual(expected(input));
      }),
      { numRuns: 500 },
    );
  });

  it('reads fields in place with a reusable cursor that agrees with the decoder', () => {
    const cursor = new UndoRecordCursor();
    fc.assert(
      fc.property(recordArb, (input) => {
        const bytes = encodeUndoRecord(input);
        cursor.parse(bytes, 0, bytes.length);
        expect(cursor.type).toBe(input.type);
        expect(cursor.undoNo).toBe(input.undoNo);
        expect(cursor.tableId).toBe(input.tableId);
        expect(cursor.oldTrxId).toBe(expected(input).oldTrxId);
        expect(cursor.oldRollPtr).toBe(expected(input).oldRollPtr);
        expect(cursor.primaryKey()).toEqual(input.primaryKey);
        expect(cursor.fieldCount).toBe(input.fields.length);
        for (let pass = 0; pass < 2; pass++) {
          cursor.rewindFields();
          for (const field of input.fields) {
            expect(cursor.nextField()).toBe(true);
            expect(cursor.fieldNo).toBe(field.fieldNo);
            if (field.value === null) {
              expect(cursor.valueIsNull).toBe(true);
              expect(cursor.value()).toBeNull();
            } else {
              expect(cursor.valueLength).toBe(field.value.length);
              expect(bytes.subarray(cursor.valueOffset, cursor.valueOffset + cursor.valueLength)).toEqual(field.value);
            }
          }
          expect(cursor.nextField()).toBe(false);
        }
        expect(cursor.toRecord()).toEqual(expected(input));
      }),
      { numRuns: 300 },
    );
  });

  it('keeps a zero-length value distinct from NULL and from a missing field', () => {
    const base = {
      type: UndoRecordType.UpdateExisting,
      undoNo: 1,
      tableId: 1,
      oldTrxId: 5,
      oldRollPtr: ROLL_PTR_NULL,
      primaryKey: new Uint8Array([1]),
    } as const;
    const empty = decodeUndoRecord(encodeUndoRecord({ ...base, fields: [{ fieldNo: 3, value: new Uint8Array(0) }] }));
    const nul = decodeUndoRecord(encodeUndoRecord({ ...base, fields: [{ fieldNo: 3, value: null }] }));
    const none = decodeUndoRecord(encodeUndoRecord({ ...base, fields: [] }));
    expect(empty.fields).toEqual([{ fieldNo: 3, value: new Uint8Array(0) }]);
    expect(empty.fields[0]!.value).not.toBeNull();
    expect(nul.fields).toEqual([{ fieldNo: 3, value: null }]);
    expect(none.fields).toEqual([]);
  });

  it('encodes records up to the codec limit and values up to 64 KiB - 2, and refuses more with a typed error', () => {
    const key = new Uint8Array(0);
    const head = undoRecordLength({
      type: UndoRecordType.DeleteMark,
      undoNo: 0,
      tableId: 0,
      oldTrxId: 0,
      oldRollPtr: ROLL_PTR_NULL,
      primaryKey: key,
      fields: [{ fieldNo: 0, value: new Uint8Array(0) }],
    });
    const biggest: UndoRecordInput = {
      type: UndoRecordType.DeleteMark,
      undoNo: 2 ** 48 - 1,
      tableId: Number.MAX_SAFE_INTEGER,
      oldTrxId: 2 ** 48 - 1,
      oldRollPtr: makeRollPtr(true, 15, 0xffffffff, 0xffff),
      primaryKey: key,
      fields: [{ fieldNo: 0xffff, value: new Uint8Array(UNDO_RECORD_CODEC_BYTES_MAX - head).fill(7) }],
    };
    const bytes = encodeUndoRecord(biggest);
    expect(bytes.length).toBe(UNDO_RECORD_CODEC_BYTES_MAX);
    expect(decodeUndoRecord(bytes)).toEqual(expected(biggest));
    const tooLong = { ...biggest, fields: [{ fieldNo: 1, value: new Uint8Array(UNDO_VALUE_BYTES_MAX + 1) }] };
    expect(() => encodeUndoRecord(tooLong)).toThrow(UndoRecordTooLargeError);
    const overTotal = { ...biggest, fields: [...biggest.fields, { fieldNo: 1, value: null }] };
    const error = (() => {
      try {
        encodeUndoRecord(overTotal);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(UndoRecordTooLargeError);
    expect((error as UndoRecordTooLargeError).code).toBe('ERR_VALUE_TOO_LARGE');
  });

  it('raises ERR_CORRUPTION for every truncation of a record, never data (U1)', () => {
    fc.assert(
      fc.property(recordArb, (input) => {
        const bytes = encodeUndoRecord(input);
        for (let length = 0; length < bytes.length; length++) {
          expect(() => decodeUndoRecord(bytes, 0, length)).toThrow(CorruptionError);
        }
        // A record followed by stray bytes is just as wrong: the parse must end at the length.
        const longer = new Uint8Array(bytes.length + 1);
        longer.set(bytes);
        expect(() => decodeUndoRecord(longer)).toThrow(CorruptionError);
      }),
      { numRuns: 100 },
    );
  });

  it('raises ERR_CORRUPTION for unknown types and flags (U2), and for garbled lengths', () => {
    const good = encodeUndoRecord({
      type: UndoRecordType.UpdateExisting,
      undoNo: 3,
      tableId: 9,
      oldTrxId: 4,
      oldRollPtr: ROLL_PTR_NULL,
      primaryKey: new Uint8Array([1, 2]),
      fields: [{ fieldNo: 1, value: new Uint8Array([5]) }],
    });
    for (const type of [0, 10, 15, 255]) {
      const bad = good.slice();
      bad[0] = type;
      expect(() => decodeUndoRecord(bad)).toThrow(/U2 unknown type/);
    }
    for (const flag of [0x02, 0x80]) {
      const bad = good.slice();
      bad[1] = flag;
      expect(() => decodeUndoRecord(bad)).toThrow(/U2 unknown flags/);
    }
    // Every single-byte change of the length fields is caught (they are the U1 structure).
    const keyLenAt = 29;
    for (const at of [keyLenAt, keyLenAt + 1, keyLenAt + 4, keyLenAt + 5, keyLenAt + 8, keyLenAt + 9]) {
      for (let delta = 1; delta < 256; delta += 17) {
        const bad = good.slice();
        bad[at] = (bad[at]! + delta) & 0xff;
        expect(() => decodeUndoRecord(bad), `byte ${at} +${delta}`).toThrow(CorruptionError);
      }
    }
    // Random garbage either parses to exactly its length or raises; it never throws anything else.
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 80 }), (bytes) => {
        try {
          const record = decodeUndoRecord(bytes);
          expect(encodeUndoRecord(record)).toEqual(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptionError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('refuses malformed input to the encoder as a caller bug (U2)', () => {
    const base = { undoNo: 1, tableId: 1, primaryKey: new Uint8Array(0), fields: [] };
    expect(() => encodeUndoRecord({ ...base, type: 15 as UndoRecordTypeValue })).toThrow(AssertionError);
    expect(() => encodeUndoRecord({ ...base, type: UndoRecordType.Insert, flags: 2 })).toThrow(AssertionError);
    expect(() => encodeUndoRecord({ ...base, type: UndoRecordType.DeleteMark })).toThrow(AssertionError);
    expect(() => encodeUndoRecord({ ...base, type: UndoRecordType.Insert, undoNo: 2 ** 48 })).toThrow(AssertionError);
  });
});
