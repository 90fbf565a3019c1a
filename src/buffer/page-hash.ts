/**
 * The page hash: (space id, page number) -> frame, for the buffer pool.
 *
 * InnoDB counterpart: `buf_pool_t::page_hash`. An open-addressing table with linear probing and
 * backward-shift deletion, in typed arrays sized once from the frame count (at most half full), so
 * a lookup allocates nothing and hashes two 32-bit integers. A JavaScript `Map` keyed by
 * `space * 2^32 + page` was measured slower on the miss path: such keys are not small integers,
 * so V8 hashes them as heap numbers.
 *
 * Invariants:
 *  H1. Every (space, page) is in at most one slot, reachable from its home slot by linear probing
 *      without crossing an empty slot.
 *  H2. size <= capacity / 2.
 */
import { assert } from '../util/assert.js';

const EMPTY = -1;

export class PageHash {
  private mask: number;
  private spaces: Int32Array;
  private pages: Uint32Array;
  private frames: Int32Array;
  private count = 0;
  private readonly growable: boolean;

  /** `growable`: doubles when half full (recovery's page index) instead of asserting H2. */
  constructor(maxEntries: number, growable = false) {
    let capacity = 16;
    while (capacity < maxEntries * 2) capacity *= 2;
    this.mask = capacity - 1;
    this.spaces = new Int32Array(capacity).fill(EMPTY);
    this.pages = new Uint32Array(capacity);
    this.frames = new Int32Array(capacity);
    this.growable = growable;
  }

  /** Bytes of the table's typed arrays (the pool's memory account). */
  memoryBytes(): number {
    return this.spaces.byteLength + this.pages.byteLength + this.frames.byteLength;
  }

  private grow(): void {
    const entries = [...this.entries()];
    const capacity = (this.mask + 1) * 2;
    this.mask = capacity - 1;
    this.spaces = new Int32Array(capacity).fill(EMPTY);
    this.pages = new Uint32Array(capacity);
    this.frames = new Int32Array(capacity);
    this.count = 0;
    for (const [space, page, frame] of entries) this.set(space, page, frame);
  }

  get size(): number {
    return this.count;
  }

  private home(spaceId: number, pageNo: number): number {
    // Multiplicative mixing of both halves (Knuth), then masked.
    return (Math.imul(pageNo, 0x9e3779b1) ^ Math.imul(spaceId + 0x7f4a7c15, 0x85ebca6b)) & this.mask;
  }

  /** The frame of (space, page), or -1. */
  get(spaceId: number, pageNo: number): number {
    const mask = this.mask;
    for (let slot = this.home(spaceId, pageNo); ; slot = (slot + 1) & mask) {
      const s = this.spaces[slot]!;
      if (s === EMPTY) return -1;
      if (s === spaceId && this.pages[slot] === pageNo) return this.frames[slot]!;
    }
  }

  set(spaceId: number, pageNo: number, frame: number): void {
    const mask = this.mask;
    for (let slot = this.home(spaceId, pageNo); ; slot = (slot + 1) & mask) {
      const s = this.spaces[slot]!;
      if (s === EMPTY) {
        if (this.growable && this.count + 1 > (mask + 1) / 2) {
          this.grow();
          this.set(spaceId, pageNo, frame);
          return;
        }
        assert(this.count < (mask + 1) / 2, 'H2 page hash at most half full');
        this.spaces[slot] = spaceId;
        this.pages[slot] = pageNo;
        this.frames[slot] = frame;
        this.count++;
        return;
      }
      if (s === spaceId && this.pages[slot] === pageNo) {
        this.frames[slot] = frame;
        return;
      }
    }
  }

  /** Removes (space, page); backward-shift keeps every probe chain unbroken (H1). */
  delete(spaceId: number, pageNo: number): boolean {
    const mask = this.mask;
    let slot = this.home(spaceId, pageNo);
    for (; ; slot = (slot + 1) & mask) {
      const s = this.spaces[slot]!;
      if (s === EMPTY) return false;
      if (s === spaceId && this.pages[slot] === pageNo) break;
    }
    let hole = slot;
    for (let next = (hole + 1) & mask; this.spaces[next] !== EMPTY; next = (next + 1) & mask) {
      const home = this.home(this.spaces[next]!, this.pages[next]!);
      // Move `next` into the hole unless its home lies cyclically in (hole, next].
      const inRange = hole <= next ? home > hole && home <= next : home > hole || home <= next;
      if (inRange) continue;
      this.spaces[hole] = this.spaces[next]!;
      this.pages[hole] = this.pages[next]!;
      this.frames[hole] = this.frames[next]!;
      hole = next;
    }
    this.spaces[hole] = EMPTY;
    this.count--;
    return true;
  }

  clear(): void {
    this.spaces.fill(EMPTY);
    this.count = 0;
  }

  /** Every entry (for checks). */
  *entries(): Generator<[spaceId: number, pageNo: number, frame: number]> {
    for (let slot = 0; slot <= this.mask; slot++) {
      if (this.spaces[slot] !== EMPTY) yield [this.spaces[slot]!, this.pages[slot]!, this.frames[slot]!];
    }
  }
}
