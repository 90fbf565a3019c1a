/**
 * The B-tree against a model: random operation sequences (sequential, reverse and random inserts,
 * duplicates, deletes in runs that force merges, updates that keep, grow and shrink values,
 * delete marks, scans with random bounds, reopen after close and after a crash) on 4 KiB pages
 * with long keys, so trees reach depth 3 and beyond within a few hundred entries. After every
 * step the tree passes `checkTree` and every result equals the model's (a map of hex(key)).
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Storage } from '../../src/core/storage.js';
import { BTree, ENTRY_DELETE_MARK, type BTreeEntry } from '../../src/btree/btree.js';
import type { ScanRange } from '../../src/btree/btree-cursor.js';
import { openTestStorage } from '../support/open.js';

const SPACE = 1;
/**
 * Keys: a long common prefix, then the id, then a tail whose length depends on the variant (each
 * variant's key is a prefix of the next one's). The common prefix makes separators long despite
 * suffix truncation, so internal pages hold few entries and trees grow deep quickly.
 */
const COMMON_PREFIX = new Uint8Array(300).fill(0x61);
const TAIL = [0, 3, 40, 100, 170];
const SEQ_BASE = 1_000_000;
const REV_BASE = 3_000_000;
const RANDOM_IDS = 4000;

function keyFor(id: number, variant: number): Uint8Array {
  if (id === 0 && variant === 0) return new Uint8Array(0); // the empty key sorts first
  const at = COMMON_PREFIX.length;
  const key = new Uint8Array(at + 4 + TAIL[variant]!);
  key.set(COMMON_PREFIX);
  new DataView(key.buffer).setUint32(at, id);
  for (let j = at + 4; j < key.length; j++) key[j] = (id + j) & 0xff;
  return key;
}

function valueFor(seed: number, length: number): Uint8Array {
  const value = new Uint8Array(length);
  for (let j = 0; j < length; j++) value[j] = (seed + j * 31) & 0xff;
  return value;
}

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

const openStorage = (vfs: MemoryVfs): Promise<Storage> => openTestStorage(vfs, { redoLogBytes: 2 << 20 });

interface ModelEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  readonly flags: number;
}

class Model {
  readonly entries = new Map<string, ModelEntry>();
  /** hex keys in order (hex strings of bytes sort as the bytes do, shorter prefix first). */
  private readonly order: string[] = [];

  private position(hexKey: string): number {
    let low = 0;
    let high = this.order.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.order[mid]! < hexKey) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  set(entry: ModelEntry): void {
    const hexKey = hex(entry.key);
    if (!this.entries.has(hexKey)) this.order.splice(this.position(hexKey), 0, hexKey);
    this.entries.set(hexKey, entry);
  }

  delete(key: Uint8Array): void {
    const hexKey = hex(key);
    if (this.entries.delete(hexKey)) this.order.splice(this.position(hexKey), 1);
  }

  get(key: Uint8Array): ModelEntry | undefined {
    return this.entries.get(hex(key));
  }

  sorted(): ModelEntry[] {
    return this.order.map((hexKey) => this.entries.get(hexKey)!);
  }

  pick(index: number): ModelEntry | undefined {
    return this.order.length === 0 ? undefined : this.entries.get(this.order[index % this.order.length]!);
  }

  scan(range: ScanRange): ModelEntry[] {
    const inRange = (entry: ModelEntry): boolean => {
      const key = hex(entry.key);
      if (range.gt !== undefined && !(key > hex(range.gt))) return false;
      if (range.gte !== undefined && !(key >= hex(range.gte))) return false;
      if (range.lt !== undefined && !(key < hex(range.lt))) return false;
      if (range.lte !== undefined && !(key <= hex(range.lte))) return false;
      return true;
    };
    const result = this.sorted().filter(inRange);
    if (range.reverse === true) result.reverse();
    return result.slice(0, range.limit ?? Infinity);
  }
}

const show = (entry: ModelEntry | BTreeEntry): string => `${hex(entry.key)}=${hex(entry.value)}/${entry.flags}`;

type Op =
  | {
      readonly t: 'insert';
      readonly existing: boolean;
      readonly id: number;
      readonly variant: number;
      readonly length: number;
    }
  | { readonly t: 'insertSeq' | 'insertRev'; readonly count: number; readonly variant: number; readonly length: number }
  | { readonly t: 'delete'; readonly existing: boolean; readonly pick: number }
  | { readonly t: 'deleteRun'; readonly pick: number; readonly count: number }
  | {
      readonly t: 'update';
      readonly existing: boolean;
      readonly pick: number;
      readonly length: number;
      readonly mark: boolean | undefined;
    }
  | { readonly t: 'mark'; readonly pick: number; readonly marked: boolean }
  | { readonly t: 'get'; readonly existing: boolean; readonly id: number; readonly variant: number }
  | {
      readonly t: 'scan';
      readonly low: [number, number, 'gt' | 'gte' | 'none'];
      readonly high: [number, number, 'lt' | 'lte' | 'none'];
      readonly reverse: boolean;
      readonly limit: number | undefined;
    }
  | { readonly t: 'reopen'; readonly crash: boolean };

const lengthArb = fc.oneof(
  { weight: 5, arbitrary: fc.integer({ min: 0, max: 40 }) },
  { weight: 3, arbitrary: fc.integer({ min: 41, max: 400 }) },
  { weight: 1, arbitrary: fc.integer({ min: 401, max: 1800 }) },
);
const idArb = fc.integer({ min: 0, max: RANDOM_IDS });
const variantArb = fc.integer({ min: 0, max: TAIL.length - 1 });
const pickArb = fc.nat();
const weightedBoolean = (trueWeight: number, falseWeight: number) =>
  fc.oneof(
    { weight: trueWeight, arbitrary: fc.constant(true) },
    { weight: falseWeight, arbitrary: fc.constant(false) },
  );
const boundArb = (kinds: readonly string[]) =>
  fc.tuple(
    fc.oneof(idArb, fc.constant(SEQ_BASE + 50), fc.constant(REV_BASE - 50)),
    variantArb,
    fc.constantFrom(...kinds),
  );

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      t: fc.constant('insert' as const),
      existing: weightedBoolean(1, 5),
      id: idArb,
      variant: variantArb,
      length: lengthArb,
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constantFrom('insertSeq' as const, 'insertRev' as const),
      count: fc.integer({ min: 1, max: 40 }),
      variant: variantArb,
      length: lengthArb,
    }),
  },
  { weight: 4, arbitrary: fc.record({ t: fc.constant('delete' as const), existing: fc.boolean(), pick: pickArb }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('deleteRun' as const),
      pick: pickArb,
      count: fc.integer({ min: 1, max: 60 }),
    }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('update' as const),
      existing: weightedBoolean(6, 1),
      pick: pickArb,
      length: lengthArb,
      mark: fc.option(fc.boolean(), { nil: undefined }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('mark' as const), pick: pickArb, marked: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.record({ t: fc.constant('get' as const), existing: fc.boolean(), id: idArb, variant: variantArb }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('scan' as const),
      low: boundArb(['gt', 'gte', 'none']) as fc.Arbitrary<[number, number, 'gt' | 'gte' | 'none']>,
      high: boundArb(['lt', 'lte', 'none']) as fc.Arbitrary<[number, number, 'lt' | 'lte' | 'none']>,
      reverse: fc.boolean(),
      limit: fc.option(fc.integer({ min: 0, max: 60 }), { nil: undefined }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('reopen' as const), crash: fc.boolean() }) },
);

/** Runs the ops against a fresh tree and the model; returns the greatest height seen and the tree calls made. */
async function runOps(ops: readonly Op[]): Promise<{ heightMax: number; calls: number }> {
  const vfs = new MemoryVfs();
  let storage = await openStorage(vfs);
  storage.createSpace(SPACE);
  let tree = BTree.create(storage, SPACE, 42);
  const rootPageNo = tree.rootPageNo;
  const limits = tree.limits;
  const model = new Model();
  let seqNext = SEQ_BASE;
  let revNext = REV_BASE;
  let heightMax = 0;
  let stamp = 0;
  let calls = 0;

  const insert = (key: Uint8Array, length: number): void => {
    const value = valueFor(++stamp, Math.min(length, limits.entryBytesMax - key.length));
    calls++;
    const inserted = tree.insertOne(key, value);
    expect(inserted).toBe(model.get(key) === undefined);
    if (inserted) model.set({ key, value, flags: 0 });
  };
  const compareAll = (): void => {
    expect([...tree.scan()].map(show)).toEqual(model.sorted().map(show));
  };

  for (const op of ops) {
    calls +=
      op.t === 'deleteRun' ? op.count : op.t === 'insert' || op.t === 'insertSeq' || op.t === 'insertRev' ? 0 : 1;
    switch (op.t) {
      case 'insert': {
        const key = op.existing ? (model.pick(op.id)?.key ?? keyFor(op.id, op.variant)) : keyFor(op.id, op.variant);
        insert(key, op.length);
        break;
      }
      case 'insertSeq':
        for (let i = 0; i < op.count; i++) insert(keyFor(seqNext++, op.variant), op.length);
        break;
      case 'insertRev':
        for (let i = 0; i < op.count; i++) insert(keyFor(revNext--, op.variant), op.length);
        break;
      case 'delete': {
        const key = op.existing
          ? (model.pick(op.pick)?.key ?? keyFor(op.pick % RANDOM_IDS, 1))
          : keyFor(op.pick % RANDOM_IDS, op.pick % TAIL.length);
        expect(tree.deleteOne(key)).toBe(model.get(key) !== undefined);
        model.delete(key);
        break;
      }
      case 'deleteRun': {
        const sorted = model.sorted();
        const victims = sorted.slice(
          op.pick % Math.max(1, sorted.length),
          (op.pick % Math.max(1, sorted.length)) + op.count,
        );
        // Several deletes in one mini-transaction: they commit (and recover) together.
        tree.atomic((mtr) => {
          for (const victim of victims) expect(tree.delete(mtr, victim.key)).toBe(true);
        });
        for (const victim of victims) model.delete(victim.key);
        break;
      }
      case 'update': {
        const key = (op.existing ? model.pick(op.pick)?.key : undefined) ?? keyFor(op.pick % RANDOM_IDS, 2);
        const old = model.get(key);
        const value = valueFor(++stamp, Math.min(op.length, limits.entryBytesMax - key.length));
        const flags = op.mark === undefined ? undefined : op.mark ? ENTRY_DELETE_MARK : 0;
        expect(tree.updateOne(key, value, flags)).toBe(old !== undefined);
        if (old !== undefined) model.set({ key, value, flags: flags ?? old.flags });
        break;
      }
      case 'mark': {
        const entry = model.pick(op.pick);
        if (entry === undefined) break;
        expect(tree.setDeleteMarkOne(entry.key, op.marked)).toBe(true);
        model.set({ ...entry, flags: op.marked ? ENTRY_DELETE_MARK : 0 });
        break;
      }
      case 'get': {
        const key = (op.existing ? model.pick(op.id)?.key : undefined) ?? keyFor(op.id, op.variant);
        const expected = model.get(key);
        const got = tree.get(key);
        expect(got === undefined ? undefined : show(got)).toEqual(expected === undefined ? undefined : show(expected));
        if (got !== undefined) expect(got.deleteMarked).toBe((expected!.flags & ENTRY_DELETE_MARK) !== 0);
        break;
      }
      case 'scan': {
        const range: { -readonly [K in keyof ScanRange]: ScanRange[K] } = { reverse: op.reverse };
        if (op.limit !== undefined) range.limit = op.limit;
        if (op.low[2] !== 'none') range[op.low[2]] = keyFor(op.low[0], op.low[1]);
        if (op.high[2] !== 'none') range[op.high[2]] = keyFor(op.high[0], op.high[1]);
        expect([...tree.scan(range)].map(show)).toEqual(model.scan(range).map(show));
        break;
      }
      case 'reopen': {
        if (op.crash) {
          storage.log.flushUpTo(storage.log.currentLsn); // every op so far is durable: none may be lost
          storage.abandon();
        } else {
          await storage.close();
        }
        storage = await openStorage(vfs);
        tree = BTree.open(storage, SPACE, rootPageNo);
        compareAll();
        break;
      }
    }
    const result = tree.check();
    expect(result.entries).toBe(model.entries.size);
    expect(tree.rootPageNo).toBe(rootPageNo);
    heightMax = Math.max(heightMax, result.height);
  }
  compareAll();
  await storage.close();
  return { heightMax, calls };
}

describe('B-tree against a model', () => {
  it('random operation sequences keep the tree equal to the model and every invariant', async () => {
    let heightMax = 0;
    let runs = 0;
    let callsMin = Infinity;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 600, maxLength: 1200 }), async (ops) => {
        const result = await runOps(ops);
        heightMax = Math.max(heightMax, result.heightMax);
        callsMin = Math.min(callsMin, result.calls);
        runs++;
      }),
      { numRuns: 10 },
    );
    expect(runs).toBe(10);
    expect(heightMax).toBeGreaterThanOrEqual(3);
    expect(callsMin).toBeGreaterThanOrEqual(1000); // thousands of tree operations per run
  });

  it('a long insert-heavy run reaches depth 3, then deletes back to an empty root leaf', async () => {
    const ops: Op[] = [];
    for (let i = 0; i < 40; i++)
      ops.push(
        { t: 'insertSeq', count: 30, variant: 3, length: 60 },
        { t: 'insertRev', count: 30, variant: 2, length: 20 },
      );
    for (let i = 0; i < 200; i++)
      ops.push({
        t: 'insert',
        existing: false,
        id: (i * 7919) % RANDOM_IDS,
        variant: i % TAIL.length,
        length: (i * 13) % 500,
      });
    ops.push({ t: 'reopen', crash: true });
    for (let i = 0; i < 120; i++)
      ops.push({
        t: 'update',
        existing: true,
        pick: i * 31,
        length: (i * 97) % 900,
        mark: i % 3 === 0 ? true : undefined,
      });
    ops.push({ t: 'reopen', crash: false });
    for (let i = 0; i < 60; i++) ops.push({ t: 'deleteRun', pick: i * 17, count: 50 });
    const { heightMax } = await runOps(ops);
    expect(heightMax).toBeGreaterThanOrEqual(3);
  });
});
