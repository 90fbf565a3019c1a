/**
 * The adaptive hash index (src/btree/adaptive-hash.ts): a point lookup answered from a remembered
 * leaf position equals the descent's answer, and every change that could make a position wrong
 * (a split, a merge, an eviction, an update or removal of the key, an mtr in progress) makes the
 * next lookup descend instead. Debug checks are on in every test (test/support/debug-checks.ts),
 * so AHI5 compares each hit with a descent; the last test shows that check has teeth.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import type { Storage } from '../../src/core/storage.js';
import { BTree } from '../../src/btree/btree.js';
import { searchLeaf } from '../../src/btree/index-page.js';
import { NIL_PAGE } from '../../src/page/page.js';
import { setDebugChecks } from '../../src/util/assert.js';
import { openTestStorage } from '../support/open.js';

const SPACE = 1;
const VALUE_BYTES = 40;

/** An 8-byte key ordered by `id`. */
function key(id: number): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setUint32(4, id);
  return bytes;
}

function value(id: number, version = 0, length = VALUE_BYTES): Uint8Array {
  return new Uint8Array(length).fill((id * 7 + version) & 0xff);
}

async function treeWith(ids: Iterable<number>, poolPages = 256): Promise<{ storage: Storage; tree: BTree }> {
  const storage = await openTestStorage(new MemoryVfs(), { poolPages, redoLogBytes: 4 << 20 });
  storage.createSpace(SPACE);
  const tree = BTree.create(storage, SPACE, 7);
  const all = [...ids];
  for (let at = 0; at < all.length; at += 500) {
    tree.atomic((mtr) => {
      for (const id of all.slice(at, at + 500)) tree.insert(mtr, key(id), value(id));
    });
  }
  return { storage, tree };
}

const hits = (tree: BTree): number => tree.adaptiveHash!.stats.hits;

/** Looks `id` up; says whether the hash answered, and what the lookup found. */
function probe(tree: BTree, id: number): { hit: boolean; value: Uint8Array | undefined } {
  const before = hits(tree);
  const entry = tree.get(key(id));
  return { hit: hits(tree) > before, value: entry?.value };
}

/** Where a descent finds `id`: the leaf's page number and the slot. */
function position(tree: BTree, id: number): string {
  const frame = tree.fixLeaf(key(id), 8, 0);
  const pool = tree.storage.pool;
  const slot = searchLeaf(pool.frames[frame]!, key(id), 8) >>> 1;
  const pageNo = pool.pageOf(frame);
  pool.unfix(frame);
  return `${pageNo}:${slot}`;
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from }, (_, i) => from + i);

afterEach(() => setDebugChecks(true));

describe('adaptive hash index', () => {
  it('answers a repeated lookup without a descent, and a seek inside a page too', async () => {
    const { storage, tree } = await treeWith(range(0, 2000).map((i) => i * 2));
    expect(tree.leafPageNoFor(key(0))).not.toBe(NIL_PAGE); // the tree has internal levels
    for (const id of [10, 500, 3998]) {
      expect(probe(tree, id)).toEqual({ hit: false, value: value(id) });
      expect(probe(tree, id)).toEqual({ hit: true, value: value(id) });
    }
    // An absent key between two entries of one page: remembered as a lower bound.
    expect(probe(tree, 501)).toEqual({ hit: false, value: undefined });
    expect(probe(tree, 501)).toEqual({ hit: true, value: undefined });
    const cursor = tree.cursor();
    expect(cursor.seek(key(1001), 'ge')).toBe(true);
    const before = hits(tree);
    expect(cursor.seek(key(1001), 'ge')).toBe(true);
    expect(hits(tree)).toBe(before + 1);
    expect(cursor.key()).toEqual(key(1002));
    expect(cursor.seek(key(1001), 'lt')).toBe(true);
    expect(cursor.key()).toEqual(key(1000));
    await storage.close();
  });

  it('a split that moves the key is not answered from the old position', async () => {
    const { storage, tree } = await treeWith(range(0, 400).map((i) => i * 1000));
    const id = 200_000;
    expect(probe(tree, id).hit).toBe(false);
    expect(probe(tree, id).hit).toBe(true);
    const before = position(tree, id);
    // Fill the key's leaf from just below it until it splits (the key moves page or slot).
    for (let added = 0; position(tree, id) === before; added++) {
      tree.insertOne(key(id - 999 + added), value(id - 999 + added, 0, 60));
    }
    expect(probe(tree, id)).toEqual({ hit: false, value: value(id) });
    expect(probe(tree, id)).toEqual({ hit: true, value: value(id) });
    tree.check();
    await storage.close();
  });

  it('a merge that moves the key is not answered from the old position', async () => {
    const { storage, tree } = await treeWith(range(0, 600));
    const id = 300;
    expect(probe(tree, id).hit).toBe(false);
    expect(probe(tree, id).hit).toBe(true);
    const before = tree.leafPageNoFor(key(id));
    // Remove the key's neighbours on both sides until its leaf is merged away or refilled.
    for (let d = 1; tree.leafPageNoFor(key(id)) === before && d < 300; d++) {
      tree.deleteOne(key(id - d));
      tree.deleteOne(key(id + d));
    }
    expect(tree.leafPageNoFor(key(id))).not.toBe(before);
    expect(probe(tree, id)).toEqual({ hit: false, value: value(id) });
    expect(probe(tree, id).hit).toBe(true);
    tree.check();
    await storage.close();
  });

  it('an evicted leaf is not answered from its old frame, whatever page the frame holds now', async () => {
    const { storage, tree } = await treeWith(range(0, 12_000), 80);
    const id = 6000;
    expect(probe(tree, id).hit).toBe(false);
    expect(probe(tree, id).hit).toBe(true);
    const leaf = tree.leafPageNoFor(key(id));
    const frame = storage.pool.lookup(SPACE, leaf);
    for (let other = 0; storage.pool.lookup(SPACE, leaf) === frame && other < 12_000; other += 37) tree.get(key(other));
    expect(storage.pool.lookup(SPACE, leaf)).not.toBe(frame);
    expect(probe(tree, id)).toEqual({ hit: false, value: value(id) });
    expect(probe(tree, id)).toEqual({ hit: true, value: value(id) });
    await storage.close();
  });

  it('an update or removal of the key, and a delete mark, are seen at once', async () => {
    const { storage, tree } = await treeWith(range(0, 1000));
    const id = 420;
    probe(tree, id);
    expect(probe(tree, id).hit).toBe(true);
    tree.updateOne(key(id), value(id, 1)); // same length: in place
    expect(probe(tree, id)).toEqual({ hit: false, value: value(id, 1) });
    expect(probe(tree, id).hit).toBe(true);
    tree.updateOne(key(id), value(id, 2, VALUE_BYTES + 30)); // longer: delete and insert
    expect(probe(tree, id)).toEqual({ hit: false, value: value(id, 2, VALUE_BYTES + 30) });
    expect(probe(tree, id).hit).toBe(true);
    tree.setDeleteMarkOne(key(id), true);
    expect(probe(tree, id).hit).toBe(false);
    expect(tree.get(key(id))?.deleteMarked).toBe(true);
    tree.deleteOne(key(id));
    expect(probe(tree, id)).toEqual({ hit: false, value: undefined });
    // A write to another entry of the same leaf also changes the page: no stale slot is trusted.
    probe(tree, id + 1);
    expect(probe(tree, id + 1).hit).toBe(true);
    tree.deleteOne(key(id - 1));
    expect(probe(tree, id + 1)).toEqual({ hit: false, value: value(id + 1) });
    await storage.close();
  });

  it('a lookup inside a mini-transaction descends (AHI1)', async () => {
    const { storage, tree } = await treeWith(range(0, 1000));
    probe(tree, 10);
    const hash = tree.adaptiveHash!;
    const lookups = hash.stats.lookups;
    tree.atomic((mtr) => {
      tree.insert(mtr, key(5000), value(5000));
      expect(tree.get(key(10))?.value).toEqual(value(10));
      expect(tree.get(key(5000))?.value).toEqual(value(5000));
    });
    expect(hash.stats.lookups).toBe(lookups);
    await storage.close();
  });

  it('is counted inside bufferPoolBytes, and can be turned off', async () => {
    const poolBytes = 4 << 20;
    const on = await openTestStorage(new MemoryVfs(), { bufferPoolBytes: poolBytes });
    expect(on.adaptiveHashBytes).toBe(poolBytes / 16);
    expect(on.pool.frameCount * on.pageSize + on.adaptiveHashBytes).toBeLessThanOrEqual(poolBytes);
    on.createSpace(SPACE);
    expect(BTree.create(on, SPACE, 1).adaptiveHash!.bytes).toBe(on.adaptiveHashBytes);
    await on.close();
    const off = await openTestStorage(new MemoryVfs(), { bufferPoolBytes: poolBytes, adaptiveHashIndex: false });
    expect(off.adaptiveHashBytes).toBe(0);
    expect(off.pool.frameCount * off.pageSize).toBe(poolBytes);
    off.createSpace(SPACE);
    expect(BTree.create(off, SPACE, 1).adaptiveHash).toBeUndefined();
    await off.close();
  });

  it('AHI5 has teeth: two trees that share a tag answer each other, and the debug check says so', async () => {
    const { storage, tree } = await treeWith(range(0, 500));
    const other = BTree.create(storage, SPACE, 8);
    other.atomic((mtr) => {
      for (const id of range(0, 500)) other.insert(mtr, key(id), value(id, 9));
    });
    // Break the rule the tag keeps: the other tree takes this tree's tag.
    tree.adaptiveHash!.tagOf(tree.state);
    other.state.hashTag = tree.state.hashTag;
    other.state.hashGeneration = tree.state.hashGeneration;
    probe(tree, 77);
    expect(() => other.get(key(77))).toThrow(/AHI5/);
    setDebugChecks(false);
    expect(other.get(key(77))?.value).toEqual(value(77)); // the wrong tree's row
    await storage.close();
  });
});
