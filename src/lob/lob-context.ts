/**
 * What the LOB layer works with in one tablespace, and the checked page accessors every LOB file
 * uses: a page is handed out only after its type, its owner's LOB id and (for a data page) its
 * slot were checked (rule CHECKSUM's spirit one level up: a misdirected or stale page number is
 * corruption, never data; README.md L4).
 *
 * Reads outside a mini-transaction go through a `PageSource` (the buffer pool): its frame is valid
 * only until the next page access (undo-log.ts U13), so a caller reads what it needs from a page
 * before it asks for the next. Pages an mtr fixes stay valid until it commits.
 */
import { CorruptionError } from '../errors.js';
import type { Storage } from '../core/storage.js';
import { FIL_PREV, PageType, pageTypeOf, readU32, readU64 } from '../page/page.js';
import { SPACE_USER_OFFSET, spaceFileName } from '../page/tablespace.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { poolPageSource, type PageSource } from '../undo/undo-log.js';
import {
  DATA_LOB_ID,
  DATA_SLOT,
  DATA_VERSION,
  FIRST_FORMAT,
  FIRST_LOB_ID,
  FIRST_VERSION,
  INDEX_FIRST_SLOT,
  INDEX_LOB_ID,
  LOB_FORMAT,
  type LobGeometry,
  lobGeometry,
  FIRST_INLINE_SLOTS,
  FIRST_DIRECTORY,
  FIRST_SLOTS,
  INDEX_SLOTS,
  SLOT_FREED,
  SLOT_UNSET,
  slotLocation,
} from './lob-format.js';

/**
 * The space header's LOB fields, in the header page's user area (page/tablespace.ts), at an
 * offset the other layers leave alone:
 *
 * | offset | size | field        | meaning                                                          |
 * |--------|------|--------------|------------------------------------------------------------------|
 * | 192    | 4    | PENDING_HEAD | the first LOB of the pending list (a LOB being written or changed over several mtrs), 0 = none |
 * | 196    | 4    | (reserved)   | zero                                                             |
 * | 200    | 8    | NEXT_LOB_ID  | the id the next LOB gets (0 in a new space reads as 1)           |
 */
export const SPACE_LOB_PENDING_HEAD = SPACE_USER_OFFSET + 64;
export const SPACE_LOB_NEXT_ID = SPACE_USER_OFFSET + 72;

/** A function that hands out a page's frame: an mtr's `getPage` or a `PageSource`'s. */
export type PageGetter = (spaceId: number, pageNo: number) => Uint8Array;

/**
 * The checked page accessors of one space's LOBs, over any page getter: the engine's (LobContext,
 * through the buffer pool) or a tool's reading a database's files directly (salvage, the
 * inspector: src/ops), so that both read a LOB with the same checks (L4).
 */
export class LobPages {
  readonly spaceId: number;
  readonly g: LobGeometry;
  readonly file: string;
  readonly read: PageGetter;

  constructor(spaceId: number, pageSize: number, read: PageGetter) {
    this.spaceId = spaceId;
    this.g = lobGeometry(pageSize);
    this.file = spaceFileName(spaceId);
    this.read = read;
  }

  corrupt(pageNo: number | undefined, detail: string): CorruptionError {
    return new CorruptionError(this.file, pageNo, detail);
  }

  /** The first page `pageNo` of the LOB `lobId` (L4), checked. */
  firstPage(get: PageGetter, pageNo: number, lobId: number): Uint8Array {
    const page = get(this.spaceId, pageNo);
    if (pageTypeOf(page) !== PageType.LobFirst || page[FIRST_FORMAT] !== LOB_FORMAT)
      throw this.corrupt(pageNo, `L4 LOB ${lobId}: the first page has type ${pageTypeOf(page)}`);
    const id = readU64(page, FIRST_LOB_ID);
    if (id !== lobId) throw this.corrupt(pageNo, `L4 a reference to LOB ${lobId} finds LOB ${id} (stale reference)`);
    return page;
  }

  /** Whether this space ever held a LOB (its LOB id counter moved): else it has no LOB page at all. */
  get everHeldLobs(): boolean {
    return readU64(this.read(this.spaceId, 0), SPACE_LOB_NEXT_ID) !== 0;
  }

  /** Whether `pageNo` is still the first page of LOB `lobId` (not freed, not reused). */
  isFirstPageOf(pageNo: number, lobId: number): boolean {
    const page = this.read(this.spaceId, pageNo);
    return pageTypeOf(page) === PageType.LobFirst && readU64(page, FIRST_LOB_ID) === lobId;
  }

  /** Index page `pageNo` of LOB `lobId`, holding the slots from `firstSlot`, checked. */
  indexPage(get: PageGetter, pageNo: number, lobId: number, firstSlot: number): Uint8Array {
    const page = get(this.spaceId, pageNo);
    if (
      pageTypeOf(page) !== PageType.LobIndex ||
      readU64(page, INDEX_LOB_ID) !== lobId ||
      readU32(page, INDEX_FIRST_SLOT) !== firstSlot
    ) {
      throw this.corrupt(
        pageNo,
        `L4 LOB ${lobId}: expected its index page from slot ${firstSlot}, found type ${pageTypeOf(page)} of LOB ${readU64(page, INDEX_LOB_ID)} from slot ${readU32(page, INDEX_FIRST_SLOT)}`,
      );
    }
    return page;
  }

  /** Data page `pageNo` of slot `slot` of LOB `lobId`, checked. */
  dataPage(get: PageGetter, pageNo: number, lobId: number, slot: number): Uint8Array {
    const page = get(this.spaceId, pageNo);
    if (
      pageTypeOf(page) !== PageType.LobData ||
      readU64(page, DATA_LOB_ID) !== lobId ||
      readU32(page, DATA_SLOT) !== slot
    ) {
      throw this.corrupt(
        pageNo,
        `L4 LOB ${lobId} slot ${slot}: found a page of type ${pageTypeOf(page)} of LOB ${readU64(page, DATA_LOB_ID)} slot ${readU32(page, DATA_SLOT)}`,
      );
    }
    return page;
  }

  /** The index page number holding slot `slot`, from the first page (read before any other page). */
  directoryEntry(first: Uint8Array, indexPage: number): number {
    return readU32(first, FIRST_DIRECTORY + 4 * indexPage);
  }

  /**
   * The page number in slot `slot` of LOB `lobId` (first page `firstPageNo`): the slot's newest
   * data page (or the first page for slot 0's first version), SLOT_UNSET or SLOT_FREED.
   */
  slotEntry(get: PageGetter, firstPageNo: number, lobId: number, slot: number): number {
    const where = slotLocation(this.g, slot);
    const first = this.firstPage(get, firstPageNo, lobId);
    if (where.indexPage < 0) return readU32(first, where.offset);
    const indexPageNo = this.directoryEntry(first, where.indexPage);
    if (indexPageNo === SLOT_UNSET || indexPageNo === SLOT_FREED) return indexPageNo;
    const index = this.indexPage(get, indexPageNo, lobId, FIRST_INLINE_SLOTS + where.indexPage * this.g.indexEntries);
    return readU32(index, where.offset);
  }

  /**
   * The entries of slots [firstSlot, firstSlot + out.length) into `out`: one read of the first page
   * and one of each index page they span (a stream reads runs of slots).
   */
  slotEntries(get: PageGetter, firstPageNo: number, lobId: number, firstSlot: number, out: Uint32Array): void {
    const g = this.g;
    const end = firstSlot + out.length;
    const first = this.firstPage(get, firstPageNo, lobId);
    let slot = firstSlot;
    for (; slot < end && slot < FIRST_INLINE_SLOTS; slot++)
      out[slot - firstSlot] = readU32(first, FIRST_SLOTS + 4 * slot);
    if (slot >= end) return;
    const directory: number[] = [];
    const lastIndexPage = slotLocation(g, end - 1).indexPage;
    for (let k = slotLocation(g, slot).indexPage; k <= lastIndexPage; k++)
      directory.push(this.directoryEntry(first, k));
    const firstIndexPage = slotLocation(g, slot).indexPage;
    while (slot < end) {
      const where = slotLocation(g, slot);
      const indexPageNo = directory[where.indexPage - firstIndexPage]!;
      const pageFirstSlot = FIRST_INLINE_SLOTS + where.indexPage * g.indexEntries;
      const pageEnd = Math.min(end, pageFirstSlot + g.indexEntries);
      if (indexPageNo === SLOT_UNSET || indexPageNo === SLOT_FREED) {
        out.fill(indexPageNo, slot - firstSlot, pageEnd - firstSlot);
      } else {
        const index = this.indexPage(get, indexPageNo, lobId, pageFirstSlot);
        for (; slot < pageEnd; slot++) out[slot - firstSlot] = readU32(index, INDEX_SLOTS + 4 * (slot - pageFirstSlot));
      }
      slot = pageEnd;
    }
  }

  /**
   * The version of slot `slot` a reader at LOB version `version` sees: walks the slot's versions
   * newest first to the first written at or before `version` (L2). Returns its page number, or
   * undefined when the chain ends below newer pages: purge of a later change has already cut every
   * version up to its own (L7), which only a purge run again after a crash finds.
   */
  pageAtVersion(
    get: PageGetter,
    firstPageNo: number,
    lobId: number,
    slot: number,
    version: number,
  ): number | undefined {
    let pageNo = this.slotEntry(get, firstPageNo, lobId, slot);
    for (let steps = 0; ; steps++) {
      if (steps > 0 && pageNo === SLOT_FREED) return undefined; // FIL_PREV NIL: cut (L7)
      if (pageNo === SLOT_UNSET || pageNo === SLOT_FREED)
        throw this.corrupt(firstPageNo, `L2 LOB ${lobId} slot ${slot} has no version at or before ${version}`);
      if (pageNo === firstPageNo) {
        if (slot !== 0) throw this.corrupt(pageNo, `L2 LOB ${lobId} slot ${slot} links to the first page`);
        return pageNo; // slot 0's version 1: every reader sees it
      }
      const page = this.dataPage(get, pageNo, lobId, slot);
      const pageVersion = readU32(page, DATA_VERSION);
      if (pageVersion <= version) return pageNo;
      if (steps > 1_000_000) throw this.corrupt(pageNo, `L2 LOB ${lobId} slot ${slot}: version chain loops`);
      pageNo = readU32(page, FIL_PREV); // NIL is SLOT_FREED: no older version
    }
  }
}

/** What the LOB layer works with in one tablespace of the running engine. */
export class LobContext extends LobPages {
  readonly storage: Storage;
  /** Reads outside an mtr. */
  readonly pages: PageSource;
  /** The largest value this database stores (the maxValueBytes option, at most `g.bytesMax`). */
  readonly valueBytesMax: number;

  constructor(storage: Storage, spaceId: number, valueBytesMax?: number) {
    const pages = poolPageSource(storage.pool);
    super(spaceId, storage.pageSize, (space, page) => pages.getPage(space, page));
    this.storage = storage;
    this.pages = pages;
    this.valueBytesMax = Math.min(valueBytesMax ?? this.g.bytesMax, this.g.bytesMax);
  }

  startMtr(): MiniTransaction {
    return this.storage.startMtr();
  }

  /**
   * Runs a bounded step in one mtr after another until it reports done: each mtr leaves the LOB
   * whole and consistent, so a crash between two resumes cleanly (README.md L5).
   */
  runSteps(step: (mtr: MiniTransaction) => boolean): void {
    for (let done = false; !done; ) {
      const mtr = this.storage.startMtr();
      done = step(mtr);
      mtr.commit();
    }
  }

  /**
   * Pages one mtr may allocate or rewrite whole: its redo (a page image each) stays well inside
   * the log's reserve (C1), and its fixed frames a small part of the pool.
   */
  get pagesPerMtr(): number {
    const byLog = Math.floor(this.storage.log.reserve / (2 * this.storage.pageSize));
    const byPool = Math.floor(this.storage.pool.frameCount / 8);
    return Math.max(1, Math.min(64, byLog, byPool));
  }
}

/** The stored version of the LOB (FIRST VERSION) and its state, from a checked first page. */
export function firstPageVersion(first: Uint8Array): number {
  return readU32(first, FIRST_VERSION);
}
