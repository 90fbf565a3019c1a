/**
 * The B-tree checker: walks every page of a tree and proves the invariants BT1 to BT9 of
 * btree.ts and IP1 to IP4 of index-page.ts (InnoDB counterpart: `btr_validate_index` and
 * `page_validate`). Run by the tests after every step and by `db.check()`.
 *
 * It reads pages through the buffer pool (fix, copy, unfix: the walk holds no page fixed while it
 * reads another), visits each page once, depth first in key order, and carries down the key
 * range every subtree must respect. Any violation throws a `CorruptionError` naming the file, the
 * page and the invariant ('BT3 keys in order: ...').
 */
import { CorruptionError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import {
  FIL_NEXT,
  FIL_PAGE_NO,
  FIL_PAGE_TYPE,
  FIL_PREV,
  FIL_SPACE_ID,
  NIL_PAGE,
  PageType,
  pageLsn,
  readU16,
  readU32,
} from '../page/page.js';
import { spaceFileName } from '../page/tablespace.js';
import {
  CHILD_BYTES,
  ENTRY_FLAGS,
  ENTRY_FLAGS_KNOWN,
  ENTRY_HEADER_BYTES,
  PAGE_GARBAGE,
  PAGE_HEAP_TOP,
  PAGE_INDEX_ID,
  PAGE_SLOTS,
  SLOT_BYTES,
  btreeLimits,
  compareBytes,
  entryBytes,
  entryCount,
  entryKeyLength,
  entryValueLength,
  entryValueOffset,
  heapEnd,
  pageLevel,
  slotAt,
} from './index-page.js';

export interface TreeCheckResult {
  /** Levels: 1 for a lone root leaf. */
  readonly height: number;
  readonly pages: number;
  readonly leafPages: number;
  /** Leaf entries. */
  readonly entries: number;
  readonly deleteMarked: number;
  /** Every page of the tree, root first, depth first. */
  readonly pageNos: readonly number[];
}

/** A key range [lower, upper); undefined bounds are infinite. */
interface Range {
  readonly lower: Uint8Array | undefined;
  readonly upper: Uint8Array | undefined;
}

/** Checks the tree rooted at `rootPageNo` of `spaceId`; throws `CorruptionError` on a violation. */
export function checkTree(storage: Storage, spaceId: number, rootPageNo: number): TreeCheckResult {
  return new TreeChecker(storage, spaceId).run(rootPageNo);
}

class TreeChecker {
  private readonly storage: Storage;
  private readonly spaceId: number;
  private readonly fileName: string;
  private readonly limits;
  private indexIdHigh = 0;
  private indexIdLow = 0;
  private readonly visited = new Set<number>();
  private readonly pageNos: number[] = [];
  /** Per level: the last page visited there and its NEXT link (BT5). */
  private readonly lastAtLevel = new Map<number, { pageNo: number; next: number }>();
  private leafPages = 0;
  private entries = 0;
  private deleteMarked = 0;

  constructor(storage: Storage, spaceId: number) {
    this.storage = storage;
    this.spaceId = spaceId;
    this.fileName = spaceFileName(spaceId);
    this.limits = btreeLimits(storage.pageSize);
  }

  run(rootPageNo: number): TreeCheckResult {
    const root = this.read(rootPageNo);
    this.indexIdHigh = readU32(root, PAGE_INDEX_ID);
    this.indexIdLow = readU32(root, PAGE_INDEX_ID + 4);
    const height = pageLevel(root) + 1;
    this.visit(rootPageNo, root, -1, { lower: undefined, upper: undefined });
    for (const [level, last] of this.lastAtLevel) {
      this.require(
        last.next === NIL_PAGE,
        last.pageNo,
        `BT5 the last page of level ${level} links NEXT to ${last.next}, not NIL`,
      );
    }
    return {
      height,
      pages: this.pageNos.length,
      leafPages: this.leafPages,
      entries: this.entries,
      deleteMarked: this.deleteMarked,
      pageNos: this.pageNos,
    };
  }

  private read(pageNo: number): Uint8Array {
    const pool = this.storage.pool;
    const frame = pool.fix(this.spaceId, pageNo);
    const copy = pool.frames[frame]!.slice();
    pool.unfix(frame);
    return copy;
  }

  private require(condition: boolean, pageNo: number, detail: string | (() => string)): asserts condition {
    if (!condition) throw new CorruptionError(this.fileName, pageNo, typeof detail === 'string' ? detail : detail());
  }

  private visit(pageNo: number, page: Uint8Array, expectedLevel: number, range: Range): void {
    const isRoot = expectedLevel < 0;
    this.require(!this.visited.has(pageNo), pageNo, 'BT2 a page is reachable twice (a cycle or a shared child)');
    this.visited.add(pageNo);
    this.pageNos.push(pageNo);
    this.checkHeader(pageNo, page, expectedLevel);
    this.checkLinks(pageNo, page, isRoot);
    this.checkSpace(pageNo, page);
    const level = pageLevel(page);
    const n = entryCount(page);
    if (isRoot)
      this.require(level === 0 || n >= 2, pageNo, `BT8 an internal root holds at least two entries, found ${n}`);
    else this.require(n >= 1, pageNo, 'BT8 a non-root page holds at least one entry');
    this.checkEntries(pageNo, page, range);
    if (level === 0) {
      this.leafPages++;
      this.entries += n;
      return;
    }
    for (let slot = 0; slot < n; slot++) {
      const lower = slot === 0 ? range.lower : this.keyOf(page, slot);
      const upper = slot + 1 < n ? this.keyOf(page, slot + 1) : range.upper;
      const childNo = readU32(page, entryValueOffset(page, slotAt(page, slot)));
      this.visit(childNo, this.read(childNo), level - 1, { lower, upper });
    }
  }

  private keyOf(page: Uint8Array, slot: number): Uint8Array {
    const entry = slotAt(page, slot);
    return page.subarray(entry + ENTRY_HEADER_BYTES, entry + ENTRY_HEADER_BYTES + entryKeyLength(page, entry));
  }

  /** BT1, BT2, BT6. */
  private checkHeader(pageNo: number, page: Uint8Array, expectedLevel: number): void {
    const type = readU16(page, FIL_PAGE_TYPE);
    this.require(type === PageType.Index, pageNo, () => `BT1 page ${pageNo} is an index page, found type ${type}`);
    this.require(
      readU32(page, FIL_PAGE_NO) === pageNo && readU32(page, FIL_SPACE_ID) === this.spaceId,
      pageNo,
      'BT1 page number and space id in the header',
    );
    this.require(
      readU32(page, PAGE_INDEX_ID) === this.indexIdHigh && readU32(page, PAGE_INDEX_ID + 4) === this.indexIdLow,
      pageNo,
      'BT1 every page carries the root index id',
    );
    const level = pageLevel(page);
    this.require(
      expectedLevel < 0 || level === expectedLevel,
      pageNo,
      () => `BT2 level ${level}, expected ${expectedLevel} (one below the parent)`,
    );
    // Read now, not when the walk began: reading a page may merge buffered changes into it (ibuf).
    const lsn = pageLsn(page);
    const currentLsn = this.storage.log.currentLsn;
    this.require(lsn <= currentLsn, pageNo, () => `BT6 page LSN ${lsn} is above the log's current LSN ${currentLsn}`);
  }

  /** BT5: each level is a doubly linked list in key order (depth-first visits each level left to right). */
  private checkLinks(pageNo: number, page: Uint8Array, isRoot: boolean): void {
    const prev = readU32(page, FIL_PREV);
    const next = readU32(page, FIL_NEXT);
    if (isRoot) {
      this.require(prev === NIL_PAGE && next === NIL_PAGE, pageNo, 'BT5 the root has no siblings');
      return;
    }
    const level = pageLevel(page);
    const last = this.lastAtLevel.get(level);
    if (last === undefined) {
      this.require(
        prev === NIL_PAGE,
        pageNo,
        () => `BT5 the first page of level ${level} links PREV to ${prev}, not NIL`,
      );
    } else {
      this.require(
        prev === last.pageNo,
        pageNo,
        () => `BT5 PREV is ${prev}, but the page before it on level ${level} is ${last.pageNo}`,
      );
      this.require(
        last.next === pageNo,
        last.pageNo,
        () => `BT5 NEXT is ${last.next}, but the page after it on level ${level} is ${pageNo}`,
      );
    }
    this.lastAtLevel.set(level, { pageNo, next });
  }

  /** BT7 (IP1 to IP3): slots, heap and garbage add up. */
  private checkSpace(pageNo: number, page: Uint8Array): void {
    const n = entryCount(page);
    const heapTop = readU16(page, PAGE_HEAP_TOP);
    const end = heapEnd(page);
    this.require(
      PAGE_SLOTS + SLOT_BYTES * n <= heapTop && heapTop <= end,
      pageNo,
      () => `IP1 slot directory end ${PAGE_SLOTS + SLOT_BYTES * n} <= HEAP_TOP ${heapTop} <= ${end}`,
    );
    const extents: number[] = [];
    let live = 0;
    for (let slot = 0; slot < n; slot++) {
      const entry = slotAt(page, slot);
      this.require(
        entry >= heapTop && entry + ENTRY_HEADER_BYTES <= end,
        pageNo,
        () => `IP2 slot ${slot} points at ${entry}, outside the heap [${heapTop}, ${end})`,
      );
      const size = entryBytes(page, entry);
      this.require(entry + size <= end, pageNo, () => `IP2 entry of slot ${slot} runs past the heap end`);
      extents.push(entry * 65536 + slot);
      live += size;
    }
    extents.sort((a, b) => a - b);
    for (let i = 1; i < extents.length; i++) {
      const before = Math.floor(extents[i - 1]! / 65536);
      const entry = Math.floor(extents[i]! / 65536);
      this.require(
        before + entryBytes(page, before) <= entry,
        pageNo,
        () => `IP2 entries at ${before} and ${entry} overlap`,
      );
    }
    const garbage = readU16(page, PAGE_GARBAGE);
    this.require(
      garbage === end - heapTop - live,
      pageNo,
      () => `BT7 free-space accounting: GARBAGE is ${garbage}, recomputed ${end - heapTop - live}`,
    );
  }

  /** BT3, BT4, BT9. */
  private checkEntries(pageNo: number, page: Uint8Array, range: Range): void {
    const n = entryCount(page);
    const leaf = pageLevel(page) === 0;
    const first = leaf ? 0 : 1; // IP5: slot 0 of an internal page has no compared key
    for (let slot = 0; slot < n; slot++) {
      const entry = slotAt(page, slot);
      const flags = page[entry + ENTRY_FLAGS]!;
      const keyLength = entryKeyLength(page, entry);
      const valueLength = entryValueLength(page, entry);
      this.require(
        keyLength <= this.limits.keyBytesMax,
        pageNo,
        () => `BT9 key of ${keyLength} bytes over the limit ${this.limits.keyBytesMax}`,
      );
      if (leaf) {
        this.require(
          (flags & ~ENTRY_FLAGS_KNOWN) === 0,
          pageNo,
          () => `BT9 unknown flag bits ${flags} in slot ${slot}`,
        );
        this.require(
          keyLength + valueLength <= this.limits.entryBytesMax,
          pageNo,
          () => `BT9 entry of ${keyLength + valueLength} bytes over the limit`,
        );
        if ((flags & 1) !== 0) this.deleteMarked++;
      } else {
        this.require(
          flags === 0 && valueLength === CHILD_BYTES,
          pageNo,
          () => `BT9 internal entry in slot ${slot} has flags ${flags} and a ${valueLength}-byte value`,
        );
      }
      if (slot < first) continue;
      const key = page.subarray(entry + ENTRY_HEADER_BYTES, entry + ENTRY_HEADER_BYTES + keyLength);
      if (slot > first) {
        const before = this.keyOf(page, slot - 1);
        this.require(
          compareBytes(before, 0, before.length, key, 0, key.length) < 0,
          pageNo,
          () => `BT3 keys in order: slot ${slot - 1} is not below slot ${slot}`,
        );
      }
      // BT4: with BT3 in place, the first key against the lower bound and the last against the upper.
      if (slot === first && range.lower !== undefined) {
        this.require(
          compareBytes(key, 0, key.length, range.lower, 0, range.lower.length) >= 0,
          pageNo,
          () => `BT4 key in slot ${slot} is below the parent's separator`,
        );
      }
      if (slot === n - 1 && range.upper !== undefined) {
        this.require(
          compareBytes(key, 0, key.length, range.upper, 0, range.upper.length) < 0,
          pageNo,
          () => `BT4 key in slot ${slot} is not below the next separator of the parent`,
        );
      }
    }
  }
}
