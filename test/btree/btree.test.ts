/**
 * B-tree behaviour one property at a time: limits and bad input, cursors (seek modes, stability
 * while the tree changes under them), the fixed root page number, drop, crash recovery of
 * exactly the mini-transactions whose redo was written, reads through a small buffer pool, and
 * the checker catching broken invariants.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Storage } from '../../src/core/storage.js';
import { BTree, ENTRY_DELETE_MARK, newEntryView } from '../../src/btree/btree.js';
import { PAGE_N_ENTRIES, PAGE_GARBAGE, PAGE_SLOTS, slotAt } from '../../src/btree/index-page.js';
import { FIL_NEXT, readU32 } from '../../src/page/page.js';
import { SPACE_FREE_LEN_OFFSET } from '../../src/page/tablespace.js';
import {
  ClosedError,
  CorruptionError,
  EntryTooLargeError,
  InvalidArgumentError,
  KeyTooLargeError,
  NotFoundError,
} from '../../src/errors.js';
import { openTestStorage } from '../support/open.js';

const SPACE = 1;

const open = (vfs: MemoryVfs, poolPages = 512): Promise<Storage> =>
  openTestStorage(vfs, { poolPages, redoLogBytes: 2 << 20 });

async function newTree(poolPages?: number): Promise<{ vfs: MemoryVfs; storage: Storage; tree: BTree }> {
  const vfs = new MemoryVfs();
  const storage = await open(vfs, poolPages);
  storage.createSpace(SPACE);
  return { vfs, storage, tree: BTree.create(storage, SPACE, 9) };
}

/** A 48-byte key ordered by `id`: a 44-byte common prefix keeps separators long (deep trees). */
function key(id: number): Uint8Array {
  const bytes = new Uint8Array(48).fill(0x6b);
  new DataView(bytes.buffer).setUint32(44, id);
  return bytes;
}

const idOf = (bytes: Uint8Array): number => new DataView(bytes.buffer, bytes.byteOffset).getUint32(44);
const value = (id: number, length = 100): Uint8Array => new Uint8Array(length).fill(id & 0xff);

function fill(tree: BTree, ids: Iterable<number>, length = 100): void {
  for (const id of ids) expect(tree.insertOne(key(id), value(id, length))).toBe(true);
}

const range = (from: number, to: number, step = 1): number[] => {
  const ids: number[] = [];
  for (let id = from; id < to; id += step) ids.push(id);
  return ids;
};

function freePages(storage: Storage): number {
  const frame = storage.pool.fix(SPACE, 0);
  const free = readU32(storage.pool.frames[frame]!, SPACE_FREE_LEN_OFFSET);
  storage.pool.unfix(frame);
  return free;
}

describe('B-tree basics and limits', () => {
  it('an empty tree reads as empty', async () => {
    const { storage, tree } = await newTree();
    expect(tree.get(key(1))).toBeUndefined();
    expect([...tree.scan()]).toEqual([]);
    expect(tree.cursor().first()).toBe(false);
    expect(tree.cursor().last()).toBe(false);
    expect(tree.check()).toMatchObject({ height: 1, pages: 1, entries: 0 });
    expect(tree.deleteOne(key(1))).toBe(false);
    expect(tree.updateOne(key(1), value(1))).toBe(false);
    expect(tree.setDeleteMarkOne(key(1), true)).toBe(false);
    await storage.close();
  });

  it('orders keys as bytes with the shorter prefix first, the empty key smallest', async () => {
    const { storage, tree } = await newTree();
    const keys = [[1, 2], [], [1], [0, 255], [1, 2, 0], [255], [1, 1, 255, 255]].map((bytes) => new Uint8Array(bytes));
    for (const [i, k] of keys.entries()) expect(tree.insertOne(k, value(i, 3))).toBe(true);
    const order = [...tree.scan()].map((entry) => [...entry.key]);
    expect(order).toEqual([[], [0, 255], [1], [1, 1, 255, 255], [1, 2], [1, 2, 0], [255]]);
    await storage.close();
  });

  it('a duplicate insert returns false and changes nothing', async () => {
    const { storage, tree } = await newTree();
    expect(tree.insertOne(key(5), value(5))).toBe(true);
    expect(tree.insertOne(key(5), value(6, 7))).toBe(false);
    expect(tree.setDeleteMarkOne(key(5), true)).toBe(true);
    expect(tree.insertOne(key(5), value(7))).toBe(false); // delete-marked is still present: the caller decides
    expect(tree.get(key(5))).toMatchObject({ value: value(5), deleteMarked: true, flags: ENTRY_DELETE_MARK });
    await storage.close();
  });

  it('deleteIfMarked removes a delete-marked entry, and leaves an unmarked or absent one', async () => {
    const { storage, tree } = await newTree();
    fill(tree, [1, 2]);
    expect(tree.setDeleteMarkOne(key(1), true)).toBe(true);
    expect(tree.atomic((mtr) => tree.deleteIfMarked(mtr, key(2)))).toBe(false); // not marked
    expect(tree.atomic((mtr) => tree.deleteIfMarked(mtr, key(3)))).toBe(false); // absent
    expect(tree.atomic((mtr) => tree.deleteIfMarked(mtr, key(1)))).toBe(true);
    expect([...tree.scan()].map((entry) => idOf(entry.key))).toEqual([2]);
    expect(tree.check()).toMatchObject({ entries: 1 });
    await storage.close();
  });

  it('refuses keys and entries over the limits with typed errors, and stays usable', async () => {
    const { storage, tree } = await newTree();
    const { keyBytesMax, entryBytesMax } = tree.limits;
    expect(keyBytesMax).toBe(492);
    expect(entryBytesMax).toBe(2005);
    const longKey = new Uint8Array(keyBytesMax + 1);
    expect(() => tree.insertOne(longKey, value(1))).toThrow(KeyTooLargeError);
    expect(() => tree.get(longKey)).not.toThrow(); // reads just miss
    try {
      tree.insertOne(new Uint8Array(keyBytesMax), new Uint8Array(entryBytesMax - keyBytesMax + 1));
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(EntryTooLargeError);
      expect((error as EntryTooLargeError).code).toBe('ERR_VALUE_TOO_LARGE');
      expect((error as EntryTooLargeError).limitBytes).toBe(entryBytesMax);
    }
    expect(() => tree.insertOne(key(1), value(1), 2)).toThrow(InvalidArgumentError);
    expect(() => tree.deleteOne(longKey)).toThrow(expect.objectContaining({ code: 'ERR_KEY_TOO_LARGE' }));
    // Entries at the limits fit, two to a leaf, and many at once split correctly.
    for (let id = 0; id < 20; id++) {
      const k = new Uint8Array(keyBytesMax).fill(id);
      expect(tree.insertOne(k, new Uint8Array(entryBytesMax - keyBytesMax).fill(id))).toBe(true);
    }
    const result = tree.check();
    expect(result.entries).toBe(20);
    expect(result.leafPages).toBeGreaterThanOrEqual(10);
    await storage.close();
  });

  it('reports a missing or wrong root', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 200));
    const child = tree.cursor();
    child.first();
    expect(() => BTree.open(storage, SPACE, 0)).toThrow(CorruptionError); // the space header page
    expect(() => tree.scan({ gt: key(1), gte: key(2) })).toThrow(InvalidArgumentError);
    expect(() => tree.scan({ limit: -1 })).toThrow(InvalidArgumentError);
    await storage.close();
    expect(() => tree.get(key(1))).toThrow(ClosedError);
    expect(() => child.next()).toThrow(ClosedError);
  });

  it('reads in place: find fills a view, getInto copies into a caller buffer', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 500), 30);
    const view = newEntryView();
    expect(tree.find(key(77), view)).toBe(true);
    expect(view.page.subarray(view.valueOffset, view.valueOffset + view.valueLength)).toEqual(value(77, 30));
    const buffer = new Uint8Array(64);
    expect(tree.getInto(key(78), buffer)).toBe(30);
    expect(buffer.subarray(0, 30)).toEqual(value(78, 30));
    expect(tree.getInto(key(78), new Uint8Array(4))).toBe(30); // too small: length only
    expect(tree.getInto(key(9999), buffer)).toBe(-1);
    await storage.close();
  });

  it('takes keys and values that are views into buffer pool frames (copied before pages move)', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 300), 200);
    const view = newEntryView();
    for (const id of range(0, 300)) {
      expect(tree.find(key(id), view)).toBe(true);
      const valueInFrame = view.page.subarray(view.valueOffset, view.valueOffset + view.valueLength);
      expect(tree.insertOne(key(id + 1000), valueInFrame)).toBe(true); // may split the very page
      expect(tree.find(key(id), view)).toBe(true);
      const keyInFrame = view.page.subarray(view.keyOffset, view.keyOffset + view.keyLength);
      expect(tree.updateOne(keyInFrame, value(id, 300))).toBe(true); // grows: delete + insert
    }
    for (const id of range(0, 300)) {
      expect(tree.get(key(id + 1000))?.value).toEqual(value(id, 200));
      expect(tree.get(key(id))?.value).toEqual(value(id, 300));
    }
    tree.check();
    await storage.close();
  });
});

describe('B-tree root, drop and reads through a small pool', () => {
  it('keeps the root page number through raises and collapses', async () => {
    const { storage, tree } = await newTree();
    const root = tree.rootPageNo;
    for (let round = 0; round < 2; round++) {
      fill(
        tree,
        range(0, 3000).map((i) => (i * 7919) % 3000),
      );
      expect(tree.check().height).toBeGreaterThanOrEqual(3);
      for (const id of range(0, 3000)) expect(tree.deleteOne(key(id))).toBe(true);
      expect(tree.check()).toMatchObject({ height: 1, pages: 1, entries: 0 });
      expect(tree.rootPageNo).toBe(root);
      expect(BTree.open(storage, SPACE, root).rootPageNo).toBe(root);
    }
    await storage.close();
  });

  it('drop frees every page, root last, and the free list grows by that many', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 4000));
    const { pages, height } = tree.check();
    expect(height).toBeGreaterThanOrEqual(3);
    const before = freePages(storage);
    let finalized = 0;
    expect(tree.drop(() => finalized++)).toBe(pages);
    expect(finalized).toBe(1);
    expect(freePages(storage) - before).toBe(pages);
    expect(() => tree.get(key(1))).toThrow(ClosedError);
    expect(() => BTree.open(storage, SPACE, tree.rootPageNo)).toThrow(CorruptionError);
    // The freed pages are reused by the next tree.
    const next = BTree.create(storage, SPACE, 10);
    fill(next, range(0, 100));
    expect(freePages(storage)).toBeLessThan(before + pages);
    await storage.close();
  });

  it('reads and writes through a pool far smaller than the tree (eviction, reads from disk)', async () => {
    const vfs = new MemoryVfs();
    const storage = await open(vfs, 64);
    storage.createSpace(SPACE);
    const tree = BTree.create(storage, SPACE, 1);
    fill(
      tree,
      range(0, 3000).map((i) => (i * 104729) % 3000),
    );
    for (const id of range(0, 3000, 3)) tree.deleteOne(key(id));
    storage.backgroundStep();
    expect(tree.check().pages).toBeGreaterThan(64);
    expect(storage.pool.snapshot().evictions).toBeGreaterThan(0);
    for (const id of range(0, 3000)) expect(tree.get(key(id))?.value).toEqual(id % 3 === 0 ? undefined : value(id));
    expect([...tree.scan({ reverse: true })].length).toBe(2000);
    await storage.close();
  });
});

describe('B-tree crash recovery', () => {
  it('recovers exactly the mini-transactions whose redo reached the log file', async () => {
    for (const seed of [1, 2, 3, 4]) {
      const vfs = new MemoryVfs();
      const storage = await open(vfs, 64);
      storage.createSpace(SPACE);
      const tree = BTree.create(storage, SPACE, 3);
      storage.log.flushUpTo(storage.log.currentLsn);
      // Each op is one mtr; remember its end LSN and its effect on the model.
      const committed: { lsn: number; apply: (model: Map<number, number>) => void }[] = [];
      let x = seed;
      const random = (n: number): number => (x = (Math.imul(x, 48271) + 11) >>> 0) % n;
      const opsCount = 1500 + random(1500);
      for (let i = 0; i < opsCount; i++) {
        const id = random(1200);
        const length = 10 + random(300);
        if (random(10) < 6) {
          tree.insertOne(key(id), value(id, length));
          committed.push({ lsn: storage.log.currentLsn, apply: (m) => void (m.has(id) || m.set(id, length)) });
        } else if (random(2) === 0) {
          tree.deleteOne(key(id));
          committed.push({ lsn: storage.log.currentLsn, apply: (m) => void m.delete(id) });
        } else {
          // Several changes in one mtr: recovered all together or not at all.
          const ids = [id, id + 1, id + 2];
          tree.atomic((mtr) => ids.forEach((k) => tree.update(mtr, key(k), value(k, length))));
          committed.push({
            lsn: storage.log.currentLsn,
            apply: (m) => ids.forEach((k) => m.has(k) && m.set(k, length)),
          });
        }
        if (random(200) === 0) storage.backgroundStep();
      }
      const writtenLsn = storage.log.writtenLsn;
      storage.abandon();
      const expected = new Map<number, number>();
      for (const op of committed) if (op.lsn <= writtenLsn) op.apply(expected);
      expect(committed.some((op) => op.lsn > writtenLsn)).toBe(true); // the crash lost a tail
      const reopened = await open(vfs);
      const recovered = BTree.open(reopened, SPACE, tree.rootPageNo);
      recovered.check();
      const got = [...recovered.scan()].map((entry) => [idOf(entry.key), entry.value.length]);
      expect(got).toEqual([...expected].sort((a, b) => a[0] - b[0]));
      await reopened.close();
    }
  });
});

describe('B-tree cursors', () => {
  it('seeks by ge, gt, le, lt on present and absent keys, and walks both ways across pages', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(10, 2010, 10)); // 10, 20, ..., 2000
    const cursor = tree.cursor();
    const at = (): number => idOf(cursor.key());
    expect(cursor.seek(key(500), 'ge') && at()).toBe(500);
    expect(cursor.seek(key(505), 'ge') && at()).toBe(510);
    expect(cursor.seek(key(500), 'gt') && at()).toBe(510);
    expect(cursor.seek(key(500), 'le') && at()).toBe(500);
    expect(cursor.seek(key(505), 'le') && at()).toBe(500);
    expect(cursor.seek(key(500), 'lt') && at()).toBe(490);
    expect(cursor.seek(key(5), 'lt')).toBe(false);
    expect(cursor.seek(key(2000), 'gt')).toBe(false);
    expect(cursor.seek(key(5), 'ge') && at()).toBe(10);
    expect(cursor.last() && at()).toBe(2000);
    const backwards: number[] = [];
    do backwards.push(at());
    while (cursor.prev());
    expect(backwards).toEqual(range(10, 2010, 10).reverse());
    expect(cursor.valid).toBe(false);
    expect(cursor.next()).toBe(false);
    expect(() => cursor.key()).toThrow(InvalidArgumentError);
    await storage.close();
  });

  it('re-reads the entry under it after a change, and reports one that was removed', async () => {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 300));
    const cursor = tree.cursor();
    cursor.seek(key(100));
    tree.updateOne(key(100), value(1, 900)); // grows: delete + insert, maybe a split
    expect(cursor.value()).toEqual(value(1, 900));
    tree.deleteOne(key(100));
    expect(() => cursor.value()).toThrow(NotFoundError);
    expect(cursor.next() && idOf(cursor.key())).toBe(101); // continues after the removed key
    await storage.close();
  });

  it('a scan modified between steps neither skips nor repeats keys that survive', async () => {
    type Change = { kind: 'insert' | 'delete' | 'update'; pick: number; length: number };
    const changeArb = fc.record({
      kind: fc.constantFrom('insert' as const, 'delete' as const, 'update' as const),
      pick: fc.nat(),
      length: fc.integer({ min: 0, max: 1500 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(changeArb, { maxLength: 4 }), { minLength: 1, maxLength: 400 }),
        fc.boolean(),
        fc.integer({ min: 1, max: 200 }),
        async (steps: Change[][], reverse, spacing) => {
          const { storage, tree } = await newTree();
          const present = new Map<number, number>();
          for (const id of range(0, 1200, 2)) present.set(id, 100);
          fill(tree, present.keys());
          const initial = new Set(present.keys());
          const removed = new Set<number>();
          const seen: number[] = [];
          const scan = tree.scan({ reverse });
          for (let i = 0; scan.step(); i++) {
            const id = idOf(scan.cursor.key());
            seen.push(id);
            expect(scan.cursor.value().length).toBe(present.get(id));
            for (const change of steps[i % steps.length]!) {
              const ids = [...present.keys()];
              const target = change.kind === 'insert' ? (change.pick * spacing) % 1400 : ids[change.pick % ids.length]!;
              if (change.kind === 'insert') {
                if (tree.insertOne(key(target), value(target, change.length))) present.set(target, change.length);
              } else if (change.kind === 'delete') {
                if (ids.length > 0 && tree.deleteOne(key(target))) {
                  present.delete(target);
                  removed.add(target);
                }
              } else if (ids.length > 0 && tree.updateOne(key(target), value(target, change.length))) {
                present.set(target, change.length);
              }
            }
          }
          for (let i = 1; i < seen.length; i++)
            expect(reverse ? seen[i]! < seen[i - 1]! : seen[i]! > seen[i - 1]!).toBe(true);
          const seenSet = new Set(seen);
          for (const id of initial) if (!removed.has(id)) expect(seenSet.has(id)).toBe(true);
          tree.check();
          await storage.close();
        },
      ),
      { numRuns: 25 },
    );
  });
});

describe('B-tree checker', () => {
  async function corrupt(
    damage: (page: Uint8Array, write: (offset: number, bytes: number[]) => void) => void,
    invariant: string,
  ): Promise<void> {
    const { storage, tree } = await newTree();
    fill(tree, range(0, 400));
    const leafNo = tree.check().pageNos.at(-1)!;
    tree.atomic((mtr) => {
      const page = mtr.getPage(SPACE, leafNo);
      damage(page, (offset, bytes) => mtr.write(page, offset, new Uint8Array(bytes)));
    });
    expect(() => tree.check()).toThrow(CorruptionError);
    expect(() => tree.check()).toThrow(invariant);
    await storage.close();
  }

  it('names the broken invariant', async () => {
    // Swap the first two slots of a leaf: keys out of order.
    await corrupt((page, write) => {
      const a = slotAt(page, 0);
      const b = slotAt(page, 1);
      write(PAGE_SLOTS, [b >> 8, b & 0xff, a >> 8, a & 0xff]);
    }, 'BT3 keys in order');
    await corrupt((_, write) => write(PAGE_GARBAGE, [0, 7]), 'BT7 free-space accounting');
    await corrupt((_, write) => write(FIL_NEXT, [0, 0, 0, 5]), 'BT5');
    await corrupt((_, write) => write(PAGE_N_ENTRIES, [0, 0, 0, 0, (4096 - 8) >> 8, (4096 - 8) & 0xff]), 'BT8');
  });
});
