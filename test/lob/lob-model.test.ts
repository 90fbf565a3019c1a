/**
 * Large values against a model of every version (fast-check).
 *
 * Random sequences of inserts, whole-value updates, partial updates (diffs of 0 to 200 bytes, zero
 * often: small changes in place and larger ones copying pages), and deletes, in transactions that
 * commit or roll back; readers opened at random moments (repeatable read) keep reading the version
 * their snapshot saw (whole, in slices, streamed) while purge runs in between; `check()` (the LOB
 * checker among the rest: every LOB page reachable from exactly one reference, none leaked) passes
 * after every step. The model keeps the committed state after every commit; a reader's snapshot is
 * the committed state when it opened. Small pages (4 KiB) make a 40 KB value span a dozen slots, and
 * the odd 200 KB value is written over several mtrs.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { Transaction } from '../../src/api/transaction.js';
import { ManualClock } from '../../src/util/clock.js';
import { RandomSource } from '../../src/util/random.js';

type Value = Uint8Array;
type State = ReadonlyMap<number, Value>;

const KEYS = 2;

type Op =
  | { kind: 'write'; writes: Write[]; commit: boolean }
  | { kind: 'open-reader' }
  | { kind: 'read'; reader: number; key: number; from: number; to: number; how: 'get' | 'slice' | 'stream' }
  | { kind: 'close-reader'; reader: number }
  | { kind: 'purge' };

type Write =
  | { kind: 'insert'; key: number; size: number; seed: number }
  | { kind: 'update'; key: number; size: number; seed: number }
  | { kind: 'partial'; key: number; diffs: { at: number; length: number; seed: number }[] }
  | { kind: 'delete'; key: number };

const sizeArb = fc.oneof(
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 300 }) }, // in the row
  { weight: 6, arbitrary: fc.integer({ min: 2_000, max: 24_000 }) }, // a few slots
  { weight: 1, arbitrary: fc.integer({ min: 150_000, max: 220_000 }) }, // over several mtrs
);
const keyArb = fc.integer({ min: 1, max: KEYS });
const diffLengthArb = fc.oneof(
  { weight: 3, arbitrary: fc.constant(0) },
  { weight: 5, arbitrary: fc.integer({ min: 1, max: 200 }) },
);
const writeArb: fc.Arbitrary<Write> = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('insert' as const), key: keyArb, size: sizeArb, seed: fc.nat() }),
  },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('update' as const), key: keyArb, size: sizeArb, seed: fc.nat() }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('partial' as const),
      key: keyArb,
      diffs: fc.array(
        fc.record({ at: fc.double({ min: 0, max: 1, noNaN: true }), length: diffLengthArb, seed: fc.nat() }),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), key: keyArb }) },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      writes: fc.array(writeArb, { minLength: 1, maxLength: 3 }),
      commit: fc.boolean(),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('open-reader' as const) }) },
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      reader: fc.nat(),
      key: keyArb,
      from: fc.double({ min: 0, max: 1, noNaN: true }),
      to: fc.double({ min: 0, max: 1, noNaN: true }),
      how: fc.constantFrom('get' as const, 'slice' as const, 'stream' as const),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('close-reader' as const), reader: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('purge' as const) }) },
);

function bytesOf(size: number, seed: number): Uint8Array {
  const rng = new RandomSource(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.int(256);
  return out;
}

function same(actual: Uint8Array | null | undefined, expected: Uint8Array | undefined): boolean {
  if (actual === undefined || actual === null || expected === undefined)
    return actual === expected || (actual === undefined && expected === undefined);
  return Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength).equals(Buffer.from(expected));
}

async function streamed(tx: Transaction, key: number, offset: number, length: number): Promise<Uint8Array | undefined> {
  const stream = tx.table('t').stream(key, 'v', { offset, length, chunkBytes: 5_000 });
  if (stream === undefined || stream === null) return undefined;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return new Uint8Array(Buffer.concat(chunks));
}

interface Reader {
  readonly tx: Transaction;
  readonly snapshot: State;
}

async function run(ops: readonly Op[]): Promise<void> {
  const db = await Database.open({
    pageSize: 4096,
    bufferPoolBytes: 256 * 4096,
    redoLogBytes: 1 << 20,
    background: 'manual',
    durability: 'none',
    clock: new ManualClock(),
  });
  await db.createTable({
    name: 't',
    columns: [
      { name: 'k', type: 'int32' },
      { name: 'v', type: 'bytes' },
    ],
    primaryKey: ['k'],
  });
  let committed: State = new Map();
  const readers: Reader[] = [];
  const where = (i: number, op: Op): string => `op ${i} ${JSON.stringify(op)}`;
  try {
    for (const [i, op] of ops.entries()) {
      switch (op.kind) {
        case 'write': {
          const tx = db.begin();
          const t = tx.table('t');
          const local = new Map(committed);
          for (const write of op.writes) {
            const old = local.get(write.key);
            if (write.kind === 'insert') {
              if (old !== undefined) continue;
              const value = bytesOf(write.size, write.seed);
              await t.insert({ k: write.key, v: value });
              local.set(write.key, value);
            } else if (write.kind === 'update') {
              const value = bytesOf(write.size, write.seed);
              expect(await t.update(write.key, { v: value })).toBe(old !== undefined);
              if (old !== undefined) local.set(write.key, value);
            } else if (write.kind === 'partial') {
              if (old === undefined) {
                expect(await t.updatePartial(write.key, 'v', [])).toBe(false);
                continue;
              }
              const diffs = write.diffs.map((d) => {
                const length = Math.min(d.length, old.length);
                return { offset: Math.floor(d.at * (old.length - length)), bytes: bytesOf(length, d.seed) };
              });
              expect(await t.updatePartial(write.key, 'v', diffs)).toBe(true);
              const next = old.slice();
              for (const diff of diffs) next.set(diff.bytes, diff.offset);
              local.set(write.key, next);
            } else {
              expect(await t.delete(write.key)).toBe(old !== undefined);
              local.delete(write.key);
            }
            // The writer reads its own changes.
            expect(same(t.get(write.key)?.['v'] as Uint8Array | undefined, local.get(write.key)), where(i, op)).toBe(
              true,
            );
          }
          if (op.commit) {
            await tx.commit();
            committed = local;
          } else {
            await tx.rollback();
          }
          break;
        }
        case 'open-reader': {
          const tx = db.begin({ isolation: 'repeatable-read' });
          tx.table('t').get(1); // the snapshot is taken at the first read
          readers.push({ tx, snapshot: committed });
          break;
        }
        case 'read': {
          const reader = readers.length === 0 ? undefined : readers[op.reader % readers.length]!;
          const tx = reader?.tx ?? db.begin();
          const expected = (reader?.snapshot ?? committed).get(op.key);
          const t = tx.table('t');
          if (op.how === 'get') {
            expect(same(t.get(op.key)?.['v'] as Uint8Array | undefined, expected), where(i, op)).toBe(true);
          } else {
            const length = expected?.length ?? 0;
            const from = Math.floor(Math.min(op.from, op.to) * length);
            const to = Math.floor(Math.max(op.from, op.to) * length);
            const got =
              op.how === 'slice'
                ? t.readSlice(op.key, 'v', from, to - from)
                : await streamed(tx, op.key, from, to - from);
            expect(same(got, expected?.subarray(from, to)), where(i, op)).toBe(true);
            expect(t.byteLength(op.key, 'v')).toBe(expected?.length);
          }
          if (reader === undefined) await tx.commit();
          break;
        }
        case 'close-reader': {
          if (readers.length === 0) break;
          const [reader] = readers.splice(op.reader % readers.length, 1);
          await reader!.tx.commit();
          break;
        }
        case 'purge':
          db.purge();
          break;
      }
      db.check();
    }
    for (const reader of readers) {
      for (const [key, value] of reader.snapshot)
        expect(same(reader.tx.table('t').get(key)?.['v'] as Uint8Array, value)).toBe(true);
      await reader.tx.commit();
    }
    db.purge();
    db.check();
    // Every LOB left is a committed row's: purge freed every old version and replaced value.
    const lobs = [...committed.values()].filter((v) => v.length > 1000).length;
    expect(db.engine.checkLobs().lobs).toBe(lobs);
    for (const [key, value] of committed) expect(same(db.table('t').get(key)?.['v'] as Uint8Array, value)).toBe(true);
  } finally {
    await db.close();
  }
}

const property = fc.asyncProperty(fc.array(opArb, { minLength: 5, maxLength: 30 }), (ops) => run(ops));

describe('large values against a model of every version', () => {
  it('every reader reads its version, through inserts, whole and partial updates, rollbacks and purge (fixed seed)', async () => {
    await fc.assert(property, { seed: 2, numRuns: Number(process.env['LOB_MODEL_RUNS'] ?? 150) });
  }, 600_000);

  it('the same from a fresh seed (printed: replay with fc seed and path)', async () => {
    const seed = Date.now() % 2 ** 31;
    console.log(`lob model: fresh fast-check seed ${seed}`);
    await fc.assert(property, { seed, numRuns: 40 });
  }, 600_000);
});
