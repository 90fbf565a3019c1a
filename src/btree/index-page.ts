/**
 * The index page: one B+tree node, its byte format and the in-page operations.
 *
 * InnoDB counterpart: `page/page0page.cc` (page header, directory, reorganize: page_copy_rec_list,
 * btr_page_reorganize) and `page/page0cur.cc` (page_cur_search_with_match, page_cur_insert_rec,
 * page_cur_delete_rec). Where we differ and why:
 *  - The directory has one slot per entry (SQLite's cell pointer array), not one per 4 to 8
 *    records: a binary search then lands on the entry itself, with no linear walk of a record
 *    list, and records need no next-record pointers. Inserting shifts the slots after the insert
 *    point, logged as one compact MOVE record.
 *  - There are no infimum and supremum records: the leftmost entry of an internal page plays the
 *    role of InnoDB's REC_INFO_MIN_REC_FLAG (its key is never compared, see IP5).
 *  - Reorganisation packs the live entries with MOVE records (15 bytes of redo per run of
 *    entries) instead of InnoDB's logical MLOG_PAGE_REORGANIZE record, because our redo records
 *    are physical (redo-record.ts knows nothing of B-tree formats).
 *
 * ## Byte table (after the 40-byte FIL header of page.ts; integers big-endian)
 *
 * | offset          | size | field          | meaning                                                 |
 * |-----------------|------|----------------|---------------------------------------------------------|
 * | 40              | 2    | LEVEL          | 0 for a leaf, parent = child + 1                        |
 * | 42              | 2    | N_ENTRIES      | n: entries on the page = slots in the directory         |
 * | 44              | 2    | GARBAGE        | heap bytes that belong to no live entry                 |
 * | 46              | 2    | HEAP_TOP       | first byte of the heap (the heap ends at the trailer)   |
 * | 48              | 2    | LAST_INSERT    | offset of the entry inserted last, 0 if unknown (split  |
 * |                 |      |                | heuristic, as InnoDB's PAGE_LAST_INSERT)                |
 * | 50              | 6    | (reserved)     | zero                                                    |
 * | 56              | 8    | INDEX_ID       | the index this page belongs to (same on every page)     |
 * | 64              | 2n   | slot directory | slot i: u16 offset of the i-th entry in key order       |
 * | 64 + 2n         | ...  | free gap       | unused; its bytes mean nothing                          |
 * | HEAP_TOP        | ...  | heap           | entries in any address order, and garbage               |
 * | pageSize - 8    | 8    | FIL trailer    |                                                         |
 *
 * The four counters [42, 50) sit together so one WRITE record logs an insert's or a delete's
 * header change.
 *
 * ## Entry (in the heap)
 *
 * | offset  | size | field      | meaning                                                          |
 * |---------|------|------------|------------------------------------------------------------------|
 * | 0       | 1    | FLAGS      | bit 0: delete mark (`ENTRY_DELETE_MARK`); other bits zero        |
 * | 1       | 2    | KEY_LEN    | k                                                                |
 * | 3       | 2    | VALUE_LEN  | v (4 on internal pages)                                          |
 * | 5       | k    | key        | compared as bytes, shorter prefix first                          |
 * | 5 + k   | v    | value      | leaf: the caller's bytes; internal: u32 child page number        |
 *
 * ## Free-space accounting
 * capacity = pageSize - 8 - 64. used = 2n + (heap bytes - GARBAGE). free = capacity - used =
 * (HEAP_TOP - (64 + 2n)) + GARBAGE. An insert needs 2 + entry bytes of free space; when the
 * contiguous gap is too small but free space suffices, the page is reorganised first.
 *
 * ## Invariants (checked by btree-check.ts; IPn)
 *  IP1. 64 + 2n <= HEAP_TOP <= pageSize - 8.
 *  IP2. Every slot points at an entry inside [HEAP_TOP, pageSize - 8); entries never overlap.
 *  IP3. GARBAGE = (pageSize - 8 - HEAP_TOP) - sum of the live entries' sizes.
 *  IP4. Slots are in strictly ascending key order (from slot 1 on internal pages).
 *  IP5. The key of slot 0 on an internal page is never compared: the page's lower bound is the
 *       separator its parent holds for it (or minus infinity on the leftmost path).
 *  IP6. Every change goes through the mini-transaction passed in (rule MTR, T1 of mtr.ts).
 */
import { assert } from '../util/assert.js';
import { copyBytes } from '../util/bytes.js';
import { FIL_TRAILER_BYTES, PAGE_SIZE_MAX, readU16, readU32, writeU16, writeU32, writeU64 } from '../page/page.js';
import type { MiniTransaction } from '../redo/mtr.js';

export const PAGE_LEVEL = 40;
export const PAGE_N_ENTRIES = 42;
export const PAGE_GARBAGE = 44;
export const PAGE_HEAP_TOP = 46;
export const PAGE_LAST_INSERT = 48;
export const PAGE_INDEX_ID = 56;
/** First byte of the slot directory. */
export const PAGE_SLOTS = 64;
export const SLOT_BYTES = 2;

export const ENTRY_FLAGS = 0;
export const ENTRY_KEY_LEN = 1;
export const ENTRY_VALUE_LEN = 3;
export const ENTRY_HEADER_BYTES = 5;
/** Bit 0 of FLAGS: the entry is delete-marked (purge removes it later). */
export const ENTRY_DELETE_MARK = 1;
/** The flag bits an entry may carry. */
export const ENTRY_FLAGS_KNOWN = ENTRY_DELETE_MARK;
/** Bytes of an internal entry's value: the child page number. */
export const CHILD_BYTES = 4;

const EMPTY = new Uint8Array(0);

// ------------------------------------------------------------------ limits

/** What one entry may hold, derived from the page size. */
export interface BTreeLimits {
  /** The longest key in bytes: eight separators this long fit on an internal page. */
  readonly keyBytesMax: number;
  /** The longest key + value of one entry in bytes: two such entries fit on a leaf. */
  readonly entryBytesMax: number;
}

export function btreeLimits(pageSize: number): BTreeLimits {
  const capacity = pageCapacity(pageSize);
  return {
    keyBytesMax: Math.floor(capacity / 8) - (ENTRY_HEADER_BYTES + CHILD_BYTES + SLOT_BYTES),
    entryBytesMax: Math.floor(capacity / 2) - (ENTRY_HEADER_BYTES + SLOT_BYTES),
  };
}

// ------------------------------------------------------------------ accessors

export function heapEnd(page: Uint8Array): number {
  return page.length - FIL_TRAILER_BYTES;
}

/** Bytes an empty page offers to slots and entries. */
export function pageCapacity(pageSize: number): number {
  return pageSize - FIL_TRAILER_BYTES - PAGE_SLOTS;
}

export function pageLevel(page: Uint8Array): number {
  return readU16(page, PAGE_LEVEL);
}

export function entryCount(page: Uint8Array): number {
  return readU16(page, PAGE_N_ENTRIES);
}

export function slotAt(page: Uint8Array, slot: number): number {
  return readU16(page, PAGE_SLOTS + 2 * slot);
}

export function entryKeyLength(page: Uint8Array, entry: number): number {
  return readU16(page, entry + ENTRY_KEY_LEN);
}

export function entryValueLength(page: Uint8Array, entry: number): number {
  return readU16(page, entry + ENTRY_VALUE_LEN);
}

export function entryValueOffset(page: Uint8Array, entry: number): number {
  return entry + ENTRY_HEADER_BYTES + readU16(page, entry + ENTRY_KEY_LEN);
}

export function entryBytes(page: Uint8Array, entry: number): number {
  return ENTRY_HEADER_BYTES + readU16(page, entry + ENTRY_KEY_LEN) + readU16(page, entry + ENTRY_VALUE_LEN);
}

/** The child page number of the internal entry in `slot`. */
export function childAt(page: Uint8Array, slot: number): number {
  const entry = slotAt(page, slot);
  return readU32(page, entryValueOffset(page, entry));
}

/** Free bytes (gap + garbage): what an insert may use after a reorganisation. */
export function freeBytes(page: Uint8Array): number {
  return readU16(page, PAGE_HEAP_TOP) - PAGE_SLOTS - SLOT_BYTES * entryCount(page) + readU16(page, PAGE_GARBAGE);
}

/** Bytes used by slots and live entries. */
export function usedBytes(page: Uint8Array): number {
  return pageCapacity(page.length) - freeBytes(page);
}

// ------------------------------------------------------------------ entries read in place

/** An entry copied out of the tree. */
export interface BTreeEntry {
  readonly key: Uint8Array;
  readonly value: Uint8Array;
  /** The flags byte; bit 0 (`ENTRY_DELETE_MARK`) is the delete mark. */
  readonly flags: number;
  readonly deleteMarked: boolean;
}

/**
 * An entry read in place in its buffer pool frame: no copy. Valid only until the next engine
 * operation (the page may change or leave the pool).
 */
export interface EntryView {
  page: Uint8Array;
  keyOffset: number;
  keyLength: number;
  valueOffset: number;
  valueLength: number;
  flags: number;
}

export function newEntryView(): EntryView {
  return { page: EMPTY, keyOffset: 0, keyLength: 0, valueOffset: 0, valueLength: 0, flags: 0 };
}

export function fillEntryView(view: EntryView, page: Uint8Array, entry: number): void {
  const keyLength = readU16(page, entry + ENTRY_KEY_LEN);
  view.page = page;
  view.keyOffset = entry + ENTRY_HEADER_BYTES;
  view.keyLength = keyLength;
  view.valueOffset = entry + ENTRY_HEADER_BYTES + keyLength;
  view.valueLength = readU16(page, entry + ENTRY_VALUE_LEN);
  view.flags = page[entry + ENTRY_FLAGS]!;
}

// ------------------------------------------------------------------ comparison and search

/** memcmp order with the shorter prefix first: negative, zero or positive. */
export function compareBytes(
  a: Uint8Array,
  aStart: number,
  aLength: number,
  b: Uint8Array,
  bStart: number,
  bLength: number,
): number {
  const common = aLength < bLength ? aLength : bLength;
  for (let i = 0; i < common; i++) {
    const d = a[aStart + i]! - b[bStart + i]!;
    if (d !== 0) return d;
  }
  return aLength - bLength;
}

// The search hot path compares four bytes at a time: the search key is split once into
// big-endian words (`keyWords`), and the page side is read with one DataView over the whole
// buffer pool slab (every frame is a view of it), so a word is one load, with no allocation.
const keyWords = new Uint32Array(PAGE_SIZE_MAX / 4);
let slabBuffer: ArrayBufferLike | undefined;
let slab: DataView<ArrayBufferLike> = new DataView(new ArrayBuffer(8));

function slabOf(page: Uint8Array): DataView {
  if (page.buffer !== slabBuffer) {
    slabBuffer = page.buffer;
    slab = new DataView(page.buffer);
  }
  return slab;
}

function prepareKey(key: Uint8Array, keyLength: number): void {
  for (let i = 0, w = 0; i + 4 <= keyLength; i += 4, w++) {
    keyWords[w] = ((key[i]! << 24) | (key[i + 1]! << 16) | (key[i + 2]! << 8) | key[i + 3]!) >>> 0;
  }
}

/** `compareKeyToEntry` after `prepareKey`; `at` is the entry's absolute offset in the slab. */
function comparePrepared(key: Uint8Array, keyLength: number, view: DataView, at: number): number {
  const entryKeyLen = view.getUint16(at + ENTRY_KEY_LEN);
  const common = keyLength < entryKeyLen ? keyLength : entryKeyLen;
  const base = at + ENTRY_HEADER_BYTES;
  const words = common >>> 2;
  for (let w = 0; w < words; w++) {
    const a = keyWords[w]!;
    const b = view.getUint32(base + 4 * w);
    if (a !== b) return a < b ? -1 : 1;
  }
  for (let i = words * 4; i < common; i++) {
    const d = key[i]! - view.getUint8(base + i);
    if (d !== 0) return d;
  }
  return keyLength - entryKeyLen;
}

/**
 * Binary search of slots [first, n): the first slot whose key is >= `key`, as `slot * 2 + found`
 * (found = 1 when that slot's key equals `key`). No allocation.
 */
function lowerBound(page: Uint8Array, key: Uint8Array, keyLength: number, first: number): number {
  const view = slabOf(page);
  const origin = page.byteOffset;
  const slots = origin + PAGE_SLOTS;
  prepareKey(key, keyLength);
  let low = first;
  let high = view.getUint16(origin + PAGE_N_ENTRIES);
  while (low < high) {
    const mid = (low + high) >>> 1;
    const c = comparePrepared(key, keyLength, view, origin + view.getUint16(slots + 2 * mid));
    if (c > 0) low = mid + 1;
    else if (c < 0) high = mid;
    else return mid * 2 + 1;
  }
  return low * 2;
}

/** Search of a leaf: the first slot whose key is >= `key`, as `slot * 2 + found`. */
export function searchLeaf(page: Uint8Array, key: Uint8Array, keyLength: number): number {
  return lowerBound(page, key, keyLength, 0);
}

/** Search of an internal page: the last slot whose key is <= `key`, slot 0 if none (IP5). */
export function searchInternal(page: Uint8Array, key: Uint8Array, keyLength: number): number {
  const result = lowerBound(page, key, keyLength, 1);
  return (result & 1) === 1 ? result >>> 1 : (result >>> 1) - 1;
}

/**
 * The shortest key s with a < s <= b, for two keys a < b of adjacent leaf entries: the
 * separator pushed up by a leaf split (suffix truncation; shorter separators make fatter
 * internal pages).
 */
export function shortestSeparator(
  a: Uint8Array,
  aStart: number,
  aLength: number,
  b: Uint8Array,
  bStart: number,
  bLength: number,
): Uint8Array {
  let i = 0;
  while (i < aLength && i < bLength && a[aStart + i] === b[bStart + i]) i++;
  assert(i < bLength, 'BT3 separator: left key < right key');
  return b.slice(bStart, bStart + i + 1);
}

// ------------------------------------------------------------------ entries to write

/** The parts of an entry to be written: flags, key and value, each a slice of some buffer. */
export class EntrySource {
  flags = 0;
  key: Uint8Array = EMPTY;
  keyStart = 0;
  keyLength = 0;
  value: Uint8Array = EMPTY;
  valueStart = 0;
  valueLength = 0;

  set(
    flags: number,
    key: Uint8Array,
    keyStart: number,
    keyLength: number,
    value: Uint8Array,
    valueStart: number,
    valueLength: number,
  ): this {
    this.flags = flags;
    this.key = key;
    this.keyStart = keyStart;
    this.keyLength = keyLength;
    this.value = value;
    this.valueStart = valueStart;
    this.valueLength = valueLength;
    return this;
  }

  private childBytes: Uint8Array | undefined;

  /** An internal entry: `key` and the child page number (its bytes are owned by this object). */
  setChild(key: Uint8Array, childPageNo: number): this {
    const child = (this.childBytes ??= new Uint8Array(CHILD_BYTES));
    writeU32(child, 0, childPageNo);
    return this.set(0, key, 0, key.length, child, 0, CHILD_BYTES);
  }

  get bytes(): number {
    return ENTRY_HEADER_BYTES + this.keyLength + this.valueLength;
  }

  /** Writes the entry's bytes into `target` at `at`; returns the byte after it. */
  writeInto(target: Uint8Array, at: number): number {
    target[at] = this.flags;
    writeU16(target, at + ENTRY_KEY_LEN, this.keyLength);
    writeU16(target, at + ENTRY_VALUE_LEN, this.valueLength);
    let p = at + ENTRY_HEADER_BYTES;
    copyBytes(target, p, this.key, this.keyStart, this.keyStart + this.keyLength);
    p += this.keyLength;
    copyBytes(target, p, this.value, this.valueStart, this.valueStart + this.valueLength);
    return p + this.valueLength;
  }
}

// Scratch space shared by the in-page operations (single-threaded: one operation at a time).
const scratchEntry = new Uint8Array(PAGE_SIZE_MAX);
const scratchHeader = new Uint8Array(24);
const scratchSlots = new Uint8Array(PAGE_SIZE_MAX);
const scratchOrder = new Uint32Array(PAGE_SIZE_MAX / 2);

// ------------------------------------------------------------------ page operations (IP6: all through the mtr)

/** Logs the counters [42, 50) in one WRITE record. */
function writeCounters(
  mtr: MiniTransaction,
  page: Uint8Array,
  n: number,
  garbage: number,
  heapTop: number,
  lastInsert: number,
): void {
  writeU16(scratchHeader, 0, n);
  writeU16(scratchHeader, 2, garbage);
  writeU16(scratchHeader, 4, heapTop);
  writeU16(scratchHeader, 6, lastInsert);
  mtr.write(page, PAGE_N_ENTRIES, scratchHeader, 0, 8);
}

/** Formats a freshly allocated page (all zeros after INIT_PAGE) as an empty index page. */
export function initIndexPage(mtr: MiniTransaction, page: Uint8Array, level: number, indexId: number): void {
  scratchHeader.fill(0);
  writeU16(scratchHeader, PAGE_LEVEL - PAGE_LEVEL, level);
  writeU16(scratchHeader, PAGE_HEAP_TOP - PAGE_LEVEL, heapEnd(page));
  writeU64(scratchHeader, PAGE_INDEX_ID - PAGE_LEVEL, indexId);
  mtr.write(page, PAGE_LEVEL, scratchHeader, 0, PAGE_SLOTS - PAGE_LEVEL);
}

/** Inserts `source` as the entry of slot `slot` (the caller checked `freeBytes`). */
export function insertEntryAt(mtr: MiniTransaction, page: Uint8Array, slot: number, source: EntrySource): void {
  const size = source.bytes;
  const n = entryCount(page);
  let heapTop = readU16(page, PAGE_HEAP_TOP);
  if (heapTop - PAGE_SLOTS - SLOT_BYTES * n < size + SLOT_BYTES) {
    reorganize(mtr, page);
    heapTop = readU16(page, PAGE_HEAP_TOP);
    assert(heapTop - PAGE_SLOTS - SLOT_BYTES * n >= size + SLOT_BYTES, 'IP1 an insert has room after reorganisation');
  }
  const at = PAGE_SLOTS + SLOT_BYTES * slot;
  if (slot < n) mtr.move(page, at + SLOT_BYTES, at, SLOT_BYTES * (n - slot));
  heapTop -= size;
  source.writeInto(scratchEntry, 0);
  mtr.write(page, heapTop, scratchEntry, 0, size);
  mtr.writeU16(page, at, heapTop);
  writeCounters(mtr, page, n + 1, readU16(page, PAGE_GARBAGE), heapTop, heapTop);
}

/** Removes the entry of slot `slot`; its bytes become garbage (or leave the heap if at its top). */
export function removeEntryAt(mtr: MiniTransaction, page: Uint8Array, slot: number): void {
  const n = entryCount(page);
  assert(slot >= 0 && slot < n, 'IP2 removing an existing slot');
  const entry = slotAt(page, slot);
  const size = entryBytes(page, entry);
  const at = PAGE_SLOTS + SLOT_BYTES * slot;
  if (slot < n - 1) mtr.move(page, at, at + SLOT_BYTES, SLOT_BYTES * (n - 1 - slot));
  let heapTop = readU16(page, PAGE_HEAP_TOP);
  let garbage = readU16(page, PAGE_GARBAGE);
  if (entry === heapTop) heapTop += size;
  else garbage += size;
  const lastInsert = readU16(page, PAGE_LAST_INSERT);
  writeCounters(mtr, page, n - 1, garbage, heapTop, lastInsert === entry ? 0 : lastInsert);
}

/** Keeps the first `keep` entries; the others' bytes become garbage (their slots are the tail). */
export function truncateEntries(mtr: MiniTransaction, page: Uint8Array, keep: number): void {
  const n = entryCount(page);
  if (keep === n) return;
  if (keep === 0) {
    writeCounters(mtr, page, 0, 0, heapEnd(page), 0);
    return;
  }
  let garbage = readU16(page, PAGE_GARBAGE);
  for (let slot = keep; slot < n; slot++) garbage += entryBytes(page, slotAt(page, slot));
  writeCounters(mtr, page, keep, garbage, readU16(page, PAGE_HEAP_TOP), 0);
}

/**
 * Shrinks the value of the entry at `entry` in place to `value` (shorter than the old one); the
 * freed tail becomes garbage (IP3 counts any heap byte outside a live entry as garbage).
 */
export function shrinkValueInPlace(mtr: MiniTransaction, page: Uint8Array, entry: number, value: Uint8Array): void {
  const oldLength = entryValueLength(page, entry);
  assert(value.length < oldLength, 'shrinking a value');
  mtr.writeU16(page, entry + ENTRY_VALUE_LEN, value.length);
  mtr.write(page, entryValueOffset(page, entry), value);
  const garbage = readU16(page, PAGE_GARBAGE) + oldLength - value.length;
  writeCounters(mtr, page, entryCount(page), garbage, readU16(page, PAGE_HEAP_TOP), readU16(page, PAGE_LAST_INSERT));
}

/**
 * Packs the live entries against the end of the page, removing all garbage (InnoDB:
 * btr_page_reorganize). Entries are moved highest address first, each run of adjacent entries by
 * one MOVE record; a move only goes up and never reaches an entry not yet moved, which all lie
 * below it. Then the slot directory is rewritten by one WRITE.
 */
export function reorganize(mtr: MiniTransaction, page: Uint8Array): void {
  const n = entryCount(page);
  const end = heapEnd(page);
  for (let slot = 0; slot < n; slot++) scratchOrder[slot] = slotAt(page, slot) * 65536 + slot;
  const order = scratchOrder.subarray(0, n).sort();
  const lastInsert = readU16(page, PAGE_LAST_INSERT);
  let newLastInsert = 0;
  let cursor = end;
  let i = n - 1;
  while (i >= 0) {
    // A run: entries order[j..i] contiguous in the heap.
    const runEnd = (order[i]! >>> 16) + entryBytes(page, order[i]! >>> 16);
    let runStart = order[i]! >>> 16;
    let j = i;
    while (j > 0) {
      const below = order[j - 1]! >>> 16;
      if (below + entryBytes(page, below) !== runStart) break;
      runStart = below;
      j--;
    }
    const length = runEnd - runStart;
    const delta = cursor - runEnd;
    for (let k = j; k <= i; k++) {
      const entry = order[k]! >>> 16;
      writeU16(scratchSlots, SLOT_BYTES * (order[k]! & 0xffff), entry + delta);
      if (entry === lastInsert) newLastInsert = entry + delta;
    }
    if (delta !== 0) mtr.move(page, runStart + delta, runStart, length);
    cursor -= length;
    i = j - 1;
  }
  if (n > 0) mtr.write(page, PAGE_SLOTS, scratchSlots, 0, SLOT_BYTES * n);
  writeCounters(mtr, page, n, 0, cursor, newLastInsert);
}

/**
 * Collects entries (copies of their bytes) and writes them as a page's whole content or appends
 * them to a page: splits, merges, redistribution, root raise and collapse.
 */
export class PageBuilder {
  private readonly heap = new Uint8Array(PAGE_SIZE_MAX);
  private readonly starts = new Uint16Array(PAGE_SIZE_MAX / 2);
  private heapLength = 0;
  count = 0;
  /** Index of the entry to record as LAST_INSERT, or -1. */
  private lastInsertIndex = -1;

  reset(): this {
    this.heapLength = 0;
    this.count = 0;
    this.lastInsertIndex = -1;
    return this;
  }

  /** Bytes the entries take on a page, slots included. */
  get usedBytes(): number {
    return this.heapLength + SLOT_BYTES * this.count;
  }

  /** Copies the entry at `entry` of `page` (keeping it as LAST_INSERT if the page did). */
  addFrom(page: Uint8Array, entry: number): void {
    const size = entryBytes(page, entry);
    if (entry === readU16(page, PAGE_LAST_INSERT)) this.lastInsertIndex = this.count;
    this.starts[this.count++] = this.heapLength;
    this.heap.set(page.subarray(entry, entry + size), this.heapLength);
    this.heapLength += size;
  }

  /** Copies the entry at `entry` with its key replaced by `key[keyStart, +keyLength)`. */
  addFromWithKey(page: Uint8Array, entry: number, key: Uint8Array, keyStart: number, keyLength: number): void {
    const source = builderSource.set(
      page[entry + ENTRY_FLAGS]!,
      key,
      keyStart,
      keyLength,
      page,
      entryValueOffset(page, entry),
      entryValueLength(page, entry),
    );
    this.add(source, false);
  }

  add(source: EntrySource, lastInsert: boolean): void {
    if (lastInsert) this.lastInsertIndex = this.count;
    this.starts[this.count++] = this.heapLength;
    this.heapLength = source.writeInto(this.heap, this.heapLength);
  }

  /** Replaces the page's whole content (and level) with the collected entries. */
  writeTo(mtr: MiniTransaction, page: Uint8Array, level: number): void {
    const heapTop = heapEnd(page) - this.heapLength;
    assert(PAGE_SLOTS + SLOT_BYTES * this.count <= heapTop, 'IP1 rebuilt page content fits');
    mtr.write(page, heapTop, this.heap, 0, this.heapLength);
    this.writeSlots(mtr, page, 0, heapTop);
    mtr.writeU16(page, PAGE_LEVEL, level);
    const lastInsert = this.lastInsertIndex < 0 ? 0 : heapTop + this.starts[this.lastInsertIndex]!;
    writeCounters(mtr, page, this.count, 0, heapTop, lastInsert);
  }

  /** Appends the collected entries after the page's last slot (a merge from the right sibling). */
  appendTo(mtr: MiniTransaction, page: Uint8Array): void {
    const n = entryCount(page);
    if (readU16(page, PAGE_HEAP_TOP) - PAGE_SLOTS - SLOT_BYTES * n < this.usedBytes) reorganize(mtr, page);
    const heapTop = readU16(page, PAGE_HEAP_TOP) - this.heapLength;
    assert(PAGE_SLOTS + SLOT_BYTES * (n + this.count) <= heapTop, 'IP1 merged content fits');
    mtr.write(page, heapTop, this.heap, 0, this.heapLength);
    this.writeSlots(mtr, page, n, heapTop);
    writeCounters(mtr, page, n + this.count, readU16(page, PAGE_GARBAGE), heapTop, readU16(page, PAGE_LAST_INSERT));
  }

  private writeSlots(mtr: MiniTransaction, page: Uint8Array, firstSlot: number, heapTop: number): void {
    for (let i = 0; i < this.count; i++) writeU16(scratchSlots, SLOT_BYTES * i, heapTop + this.starts[i]!);
    mtr.write(page, PAGE_SLOTS + SLOT_BYTES * firstSlot, scratchSlots, 0, SLOT_BYTES * this.count);
  }
}

const builderSource = new EntrySource();
