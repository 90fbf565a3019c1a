/**
 * The adaptive hash index: point lookups that skip the B-tree descent.
 *
 * InnoDB counterpart: `btr/btr0sea.cc` (btr_search_guess_on_hash, btr_search_info_update,
 * btr_search_drop_page_hash_index). A descent costs a few dependent memory loads per level and a
 * binary search on each page; a lookup that finds a remembered leaf position costs one hash, one
 * bucket and one or two key comparisons in the leaf.
 *
 * ## What a bucket remembers
 * A bucket maps (tree, key) to "the lower bound of this key is slot s, the entry at offset e, of
 * the leaf in frame f", with the frame's modify clock (B9 of buffer-pool.ts) read then:
 *
 * | word | bits   | field       | meaning                                                         |
 * |------|--------|-------------|-----------------------------------------------------------------|
 * | 0    | 0..15  | TAG         | the tree's tag (`tagOf`); 0: empty                              |
 * | 0    | 16..31 | FINGERPRINT | 16 more bits of the key's hash: a collision rarely reads a page |
 * | 1    | 32     | FRAME       | the buffer pool frame of the leaf                               |
 * | 2    | 32     | CLOCK       | the frame's modify clock when remembered                        |
 * | 3    | 0..15  | SLOT        | the slot of the key's lower bound on that leaf                  |
 * | 3    | 16..31 | ENTRY       | the offset of that slot's entry in the page                     |
 *
 * Sixteen bytes per bucket, in one Int32Array. A key hashes to a pair of neighbouring buckets
 * (32 bytes, so a probe touches one cache line) and may sit in either (two-way set associative):
 * a new key goes into the first and pushes the first's key into the second, whose key is
 * forgotten. A uniform workload over more keys than buckets hits in a bit less than buckets/keys
 * of its lookups; a skewed one, whose hot keys are looked up again before they are pushed out,
 * in far more.
 *
 * A hit reads the bucket, the frame's clock and the entry's key: three cache lines where a
 * descent of a three-level tree reads about twenty (a binary search per level).
 *
 * ## When a guess is used (a guess that fails any rule costs a descent, never a wrong answer)
 *  AHI1. No mini-transaction is active: every page is then in a state some mtr committed (T2 of
 *        mtr.ts), never halfway through a split or a merge.
 *  AHI2. The frame's modify clock equals the one remembered. Every change of a frame's image
 *        bumps it (B9): a write of any mtr (an insert, a delete, an update in place, a
 *        reorganisation, a split or merge that moves entries, the free that turns the page into
 *        a free page), a page read into or evicted from the frame, recovery. Equal clocks mean the
 *        same page, with the same bytes, as when the position was remembered after a descent of
 *        the tree the tag names: a leaf of that tree (the descent checked BT1 and BT2), the same
 *        page number, the same entry at the same offset in the same slot. So the page's header
 *        is not read again.
 *  AHI3. The page has been through the read hook (B8 of buffer-pool.ts): `fixResident` refuses
 *        one that has not.
 *  AHI4. The answer is re-derived from the page, not from the bucket: the key of the entry equals
 *        the search key (found), or is greater while the key in the slot before it is smaller (a
 *        lower bound strictly inside the page). A leaf of the tree whose two neighbouring
 *        entries enclose the key is the leaf a descent reaches (BT4: its range contains both),
 *        and the slot is what its binary search returns. A bound at either end of the page is
 *        never remembered: the key may belong to a sibling. (The comparison is what makes a
 *        fingerprint collision, two keys of one tree in one bucket, harmless.)
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
import { readU16 } from '../page/page.js';
import { ENTRY_HEADER_BYTES, ENTRY_KEY_LEN, PAGE_N_ENTRIES, PAGE_SLOTS, compareBytes } from './index-page.js';

/** Bytes of one bucket (four 32-bit words). */
export const AHI_BUCKET_BYTES = 16;
const LOW16 = 0xffff;
/** Tags fit in 16 bits; at the last one every bucket is cleared and tags start again. */
const TAG_MAX = LOW16;

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
  /** Four words per bucket: TAG | FINGERPRINT, FRAME, CLOCK, SLOT | ENTRY (the table above). */
  private readonly buckets: Int32Array;
  private readonly scale: number;
  private nextTag = 1;
  /** Bumped when tags run out and start again (every bucket is cleared then). */
  private generation = 0;
  /** The frame of the last hit (fixed for the caller). */
  frame = -1;
  /** The offset of the entry in the slot of the last hit. */
  entry = -1;
  // The bucket of the last lookup, and the word 0 its key has there: `remember` writes them.
  private at = -1;
  private head = 0;
  readonly stats: AdaptiveHashStats = { lookups: 0, hits: 0, remembered: 0 };

  constructor(bytes: number) {
    const pairs = Math.max(1, Math.floor(bytes / (2 * AHI_BUCKET_BYTES)));
    this.bucketCount = 2 * pairs;
    this.buckets = new Int32Array(this.bucketCount * 4);
    this.scale = pairs / 4294967296;
  }

  /** Bytes the buckets take. */
  get bytes(): number {
    return this.buckets.byteLength;
  }

  /** The tag of a tree (a new one for a tree met for the first time, or after tags ran out). */
  tagOf(holder: HashTagHolder): number {
    if (holder.hashGeneration === this.generation) return holder.hashTag;
    if (this.nextTag > TAG_MAX) {
      this.buckets.fill(0);
      this.generation++;
      this.nextTag = 1;
    }
    holder.hashTag = this.nextTag++;
    holder.hashGeneration = this.generation;
    return holder.hashTag;
  }

  /**
   * Looks `key[0, keyLength)` of the tree tagged `tag` up. On a hit (AHI2 to AHI4 hold) fixes the
   * leaf's frame (in `frame`; the caller unfixes it) and returns the leaf search's answer, as
   * `searchLeaf` gives it: slot * 2 + found. Returns -1 otherwise; `remember` then records what
   * the descent finds. The caller has checked AHI1.
   */
  lookup(pool: BufferPool, tag: number, key: Uint8Array, keyLength: number): number {
    this.stats.lookups++;
    const h = hashKey(tag, key, keyLength);
    let at = Math.floor((h >>> 0) * this.scale) * 8;
    const head = tag | (Math.imul(h, 0x27d4eb2d) & ~LOW16);
    this.at = at;
    this.head = head;
    const buckets = this.buckets;
    if (buckets[at] !== head) {
      at += 4;
      if (buckets[at] !== head) return -1;
    }
    const frame = buckets[at + 1]!;
    if (pool.modifyClockOf(frame) !== buckets[at + 2]! >>> 0) return -1; // AHI2
    const position = buckets[at + 3]!;
    const slot = position & LOW16;
    const entry = position >>> 16;
    const page = pool.frames[frame]!;
    const result = boundAt(page, slot, entry, key, keyLength); // AHI4
    if (result < 0 || !pool.fixResident(frame)) return -1; // AHI3
    this.frame = frame;
    this.entry = entry;
    this.stats.hits++;
    return result;
  }

  /**
   * Remembers the answer of the descent that followed a missed `lookup` of the same key: `result`
   * (slot * 2 + found) on the leaf in `frame`. Only a found key or a bound strictly inside the
   * page is remembered (AHI4).
   */
  remember(pool: BufferPool, frame: number, result: number): void {
    const page = pool.frames[frame]!;
    const slot = result >>> 1;
    if ((result & 1) === 0 && (slot === 0 || slot >= readU16(page, PAGE_N_ENTRIES))) return;
    const buckets = this.buckets;
    const at = this.at;
    // The first bucket of the pair takes the key; its key moves to the second, unless it is this
    // key's own stale position.
    if (buckets[at] !== this.head) {
      buckets[at + 4] = buckets[at]!;
      buckets[at + 5] = buckets[at + 1]!;
      buckets[at + 6] = buckets[at + 2]!;
      buckets[at + 7] = buckets[at + 3]!;
    }
    buckets[at] = this.head;
    buckets[at + 1] = frame;
    buckets[at + 2] = pool.modifyClockOf(frame);
    buckets[at + 3] = slot | (readU16(page, PAGE_SLOTS + 2 * slot) << 16);
    this.stats.remembered++;
  }

  /** Forgets every position. */
  clear(): void {
    this.buckets.fill(0);
  }
}

/**
 * The searchLeaf answer for `key` if `entry`, in `slot` of `page`, holds it, or is its lower bound
 * strictly inside the page (AHI4); else -1.
 */
function boundAt(page: Uint8Array, slot: number, entry: number, key: Uint8Array, keyLength: number): number {
  const c = compareEntryKey(page, entry, key, keyLength);
  if (c === 0) return slot * 2 + 1;
  if (c < 0 || slot === 0) return -1;
  return compareEntryKey(page, readU16(page, PAGE_SLOTS + 2 * (slot - 1)), key, keyLength) < 0 ? slot * 2 : -1;
}

/** The key of the entry at `entry` compared with `key`: negative when the entry's key is smaller. */
function compareEntryKey(page: Uint8Array, entry: number, key: Uint8Array, keyLength: number): number {
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

/** What `Database.status()` reports of the adaptive hash index. */
export interface AdaptiveHashStatus extends AdaptiveHashStats {
  /** Bytes of `bufferPoolBytes` it holds (0 when off). */
  readonly bytes: number;
}

export function adaptiveHashStatus(storage: Storage): AdaptiveHashStatus {
  const index = adaptiveHashOf(storage);
  return index === undefined
    ? { bytes: 0, lookups: 0, hits: 0, remembered: 0 }
    : { bytes: index.bytes, ...index.stats };
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
