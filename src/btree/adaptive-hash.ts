/**
 * The adaptive hash index: point lookups that skip the B-tree descent.
 *
 * InnoDB counterpart: `btr/btr0sea.cc` (btr_search_guess_on_hash, btr_search_info_update,
 * btr_search_drop_page_hash_index). A descent costs a few dependent memory loads per level and a
 * binary search on each page; a lookup that finds a remembered leaf position costs one hash, one
 * bucket and one or two key comparisons in the leaf.
 *
 * ## What a bucket remembers
 * A bucket maps (tree, key) to "the lower bound of this key is slot s of the leaf in frame f",
 * with the frame's modify clock (B9 of buffer-pool.ts) read when it was remembered:
 *
 * | word | bits   | field       | meaning                                                          |
 * |------|--------|-------------|------------------------------------------------------------------|
 * | 0    | 32     | TAG         | the tree's tag (`tagOf`); 0: empty                               |
 * | 1    | 32     | FRAME       | the buffer pool frame of the leaf                                |
 * | 2    | 32     | CLOCK       | the frame's modify clock when remembered                         |
 * | 3    | 0..13  | SLOT        | the slot of the key's lower bound on that leaf                   |
 * | 3    | 14..31 | FINGERPRINT | 18 more bits of the key's hash: a collision rarely reads the page |
 *
 * Sixteen bytes, one Int32Array for all buckets, so a probe touches one cache line. A bucket
 * holds one key; a new key that hashes there replaces it (direct mapped: a uniform workload over
 * more keys than buckets hits in about buckets/keys of its lookups, a skewed one far more).
 *
 * ## When a guess is used (the rules; a guess that fails any of them costs a descent, never a
 * wrong answer)
 *  AHI1. No mini-transaction is active: every page is then in a state some mtr committed (T2 of
 *        mtr.ts), never halfway through a split or a merge.
 *  AHI2. The frame's modify clock equals the one remembered. Every change of a frame's image
 *        bumps it (B9): a write of any mtr (an insert, a delete, an update in place, a
 *        reorganisation, a split or merge that moves entries, the free that turns the page into
 *        a free page), a page read into or evicted from the frame, recovery. Equal clocks mean the
 *        same page with the same bytes as when the position was remembered, when it was a leaf of
 *        this tree: the tag says which tree remembered it.
 *  AHI3. The page is re-checked where it is cheap: the frame holds a page of the tree's space, an
 *        index page at level 0, that has been through the read hook (B8 of buffer-pool.ts).
 *  AHI4. The answer is re-derived from the page, not from the bucket: the key at the slot equals
 *        the search key (found), or is greater while the key in the slot before it is smaller (a
 *        lower bound strictly inside the page). A leaf of the tree whose two neighbouring
 *        entries enclose the key is the leaf a descent reaches (BT4: its range contains both),
 *        and the slot is what its binary search returns. A bound at either end of the page is
 *        never remembered: the key may belong to a sibling.
 *  AHI5. (debug) Every hit is checked against a descent: same frame, same answer.
 *
 * Where we differ from InnoDB and why:
 *  - Invalidation is lazy. InnoDB removes a page's hash entries when the page is reorganised,
 *    split, merged, freed or evicted (it must: its entries point at records). Here a bucket that
 *    went stale simply fails AHI2 and is overwritten by the next descent, so the write paths do
 *    nothing but bump a counter, and nothing scans the hash on eviction or drop.
 *  - No analysis phase. InnoDB builds hash entries for an index only after a run of searches that
 *    would have used them (BTR_SEARCH_BUILD_LIMIT), because building them is costly. Here
 *    remembering is one bucket write after a descent, so every point search remembers.
 *  - Keys are hashed whole, not by a prefix of fields: a prefix seek (a secondary index searched
 *    by its leading columns) hashes the prefix it searches with, and remembers its lower bound.
 *  - Memory is fixed at open: `Storage.adaptiveHashBytes` (a sixteenth of `bufferPoolBytes`,
 *    taken out of the pool's pages as InnoDB takes its AHI from the pool), so peak memory does
 *    not move with it. `adaptiveHashIndex: false` turns it off.
 *
 * Seeds: none (an optimisation); the rules above keep it out of every correctness argument.
 */
import type { BufferPool } from '../buffer/buffer-pool.js';
import type { Storage } from '../core/storage.js';
import { FIL_PAGE_TYPE, PageType, readU16 } from '../page/page.js';
import {
  ENTRY_HEADER_BYTES,
  ENTRY_KEY_LEN,
  PAGE_LEVEL,
  PAGE_N_ENTRIES,
  PAGE_SLOTS,
  compareBytes,
} from './index-page.js';

/** Bytes of one bucket (four 32-bit words). */
export const AHI_BUCKET_BYTES = 16;
const SLOT_BITS = 14;
const SLOT_MASK = (1 << SLOT_BITS) - 1;
/** Tags stay positive int32s; at the last one every bucket is cleared and tags start again. */
const TAG_MAX = 0x7fffffff;

/** What a tree carries for the hash (in its shared `TreeState`). */
export interface HashTagHolder {
  hashTag: number;
  /** The `generation` of the index that gave `hashTag`; a tag of an older one is replaced. */
  hashGeneration: number;
}

export interface AdaptiveHashStats {
  /** Lookups that asked the hash. */
  lookups: number;
  /** Lookups answered from a bucket (no descent). */
  hits: number;
  /** Positions remembered after a descent. */
  remembered: number;
}

export class AdaptiveHashIndex {
  readonly bucketCount: number;
  /** STRIDE words per bucket: TAG, FRAME, CLOCK, SLOT | FINGERPRINT (see the table above). */
  private readonly buckets: Int32Array;
  private readonly scale: number;
  private nextTag = 1;
  /** Bumped when tags run out and start again (every bucket is cleared then). */
  private generation = 0;
  /** The frame of the last hit (fixed for the caller). */
  frame = -1;
  // The bucket and fingerprint of the last lookup's key: `remember` writes there.
  private at = -1;
  private fingerprint = 0;
  private tag = 0;
  readonly stats: AdaptiveHashStats = { lookups: 0, hits: 0, remembered: 0 };

  constructor(bytes: number) {
    this.bucketCount = Math.max(1, Math.floor(bytes / AHI_BUCKET_BYTES));
    this.buckets = new Int32Array(this.bucketCount * 4);
    this.scale = this.bucketCount / 4294967296;
  }

  /** Bytes the buckets take. */
  get bytes(): number {
    return this.buckets.byteLength;
  }

  /** The tag of a tree (a new one for a tree met for the first time, or after tags ran out). */
  tagOf(holder: HashTagHolder): number {
    if (holder.hashGeneration === this.generation) return holder.hashTag;
    if (this.nextTag === TAG_MAX) {
      this.buckets.fill(0);
      this.generation++;
      this.nextTag = 1;
    }
    holder.hashTag = this.nextTag++;
    holder.hashGeneration = this.generation;
    return holder.hashTag;
  }

  /**
   * Looks `key[0, keyLength)` of the tree tagged `tag` up. On a hit (AHI1 to AHI4 hold) fixes the
   * leaf's frame (in `frame`; the caller unfixes it) and returns the leaf search's answer, as
   * `searchLeaf` gives it: slot * 2 + found. Returns -1 otherwise; `remember` then records what
   * the descent finds. The caller has checked AHI1.
   */
  lookup(pool: BufferPool, tag: number, spaceId: number, key: Uint8Array, keyLength: number): number {
    this.stats.lookups++;
    const h = hashKey(tag, key, keyLength);
    const at = Math.floor((h >>> 0) * this.scale) * 4;
    const fingerprint = Math.imul(h, 0x27d4eb2d) >>> SLOT_BITS;
    this.at = at;
    this.fingerprint = fingerprint;
    this.tag = tag;
    const buckets = this.buckets;
    if (buckets[at] !== tag) return -1;
    const word = buckets[at + 3]!;
    if (word >>> SLOT_BITS !== fingerprint) return -1;
    const frame = buckets[at + 1]!;
    if (pool.modifyClockOf(frame) !== buckets[at + 2]! >>> 0) return -1; // AHI2
    if (pool.spaceOf(frame) !== spaceId) return -1; // AHI3
    const page = pool.frames[frame]!;
    if (readU16(page, FIL_PAGE_TYPE) !== PageType.Index || readU16(page, PAGE_LEVEL) !== 0) return -1; // AHI3
    const slot = word & SLOT_MASK;
    const result = boundAt(page, slot, key, keyLength); // AHI4
    if (result < 0 || !pool.fixResident(frame)) return -1; // AHI3: through the read hook
    this.frame = frame;
    this.stats.hits++;
    return result;
  }

  /**
   * Remembers the answer of the descent that followed a missed `lookup` of the same key: `result`
   * (slot * 2 + found) on the leaf in `frame`. Only a found key or a bound strictly inside the
   * page is remembered (AHI4).
   */
  remember(pool: BufferPool, frame: number, result: number): void {
    const slot = result >>> 1;
    if ((result & 1) === 0 && (slot === 0 || slot >= readU16(pool.frames[frame]!, PAGE_N_ENTRIES))) return;
    if (slot > SLOT_MASK) return;
    const buckets = this.buckets;
    const at = this.at;
    buckets[at] = this.tag;
    buckets[at + 1] = frame;
    buckets[at + 2] = pool.modifyClockOf(frame);
    buckets[at + 3] = slot | (this.fingerprint << SLOT_BITS);
    this.stats.remembered++;
  }

  /** Forgets every position (a test's way to compare with and without the hash). */
  clear(): void {
    this.buckets.fill(0);
  }
}

/**
 * The searchLeaf answer for `key` if `slot` of `page` is its lower bound strictly inside the page
 * or holds it (AHI4), else -1.
 */
function boundAt(page: Uint8Array, slot: number, key: Uint8Array, keyLength: number): number {
  const n = readU16(page, PAGE_N_ENTRIES);
  if (slot >= n) return -1;
  const c = compareToSlot(page, slot, key, keyLength);
  if (c === 0) return slot * 2 + 1;
  if (c < 0 || slot === 0 || compareToSlot(page, slot - 1, key, keyLength) >= 0) return -1;
  return slot * 2;
}

/** The key of `slot` compared with `key`: negative when the slot's key is smaller. */
function compareToSlot(page: Uint8Array, slot: number, key: Uint8Array, keyLength: number): number {
  const entry = readU16(page, PAGE_SLOTS + 2 * slot);
  return compareBytes(page, entry + ENTRY_HEADER_BYTES, readU16(page, entry + ENTRY_KEY_LEN), key, 0, keyLength);
}

/** MurmurHash3's 32-bit mixing of the tag and the key bytes (public domain algorithm). */
function hashKey(tag: number, key: Uint8Array, keyLength: number): number {
  let h = Math.imul(tag, 0x9e3779b1) ^ keyLength;
  let i = 0;
  for (; i + 4 <= keyLength; i += 4) {
    h = mixWord(h, key[i]! | (key[i + 1]! << 8) | (key[i + 2]! << 16) | (key[i + 3]! << 24));
  }
  if (i < keyLength) {
    let k = 0;
    for (let shift = 0; i < keyLength; i++, shift += 8) k |= key[i]! << shift;
    h = mixWord(h, k);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = (k << 15) | (k >>> 17);
  h ^= Math.imul(k, 0x1b873593);
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

const indexes = new WeakMap<Storage, AdaptiveHashIndex | null>();

/** The adaptive hash index of a storage, made at its first use; undefined when it is off. */
export function adaptiveHashOf(storage: Storage): AdaptiveHashIndex | undefined {
  let index = indexes.get(storage);
  if (index === undefined) {
    index = storage.adaptiveHashBytes > 0 ? new AdaptiveHashIndex(storage.adaptiveHashBytes) : null;
    indexes.set(storage, index);
  }
  return index ?? undefined;
}
