/**
 * Reading pages straight from the files of a database that is not open (or a backup): the ground
 * the inspector and salvage stand on. Every page read is checked (P1-P4 of page.ts) and the check
 * comes with it; a caller that wants the bytes of a page that failed gets them only as bytes to
 * show (the inspector's hex dump), never as rows (salvage: rule CHECKSUM).
 *
 * InnoDB counterpart: innodb_ruby's `Innodb::Space` / `Innodb::Page` (read a page by number from
 * an .ibd file, no server) and the page reads of `innochecksum`.
 */
import { IncompatibleFormatError, NotFoundError } from '../errors.js';
import { PageCheck, type PageCheckResult, checkPage, describePageCheck, readU32 } from '../page/page.js';
import { SPACE_PAGE_SIZE_OFFSET, spaceFileName, spaceIdFromFileName } from '../page/tablespace.js';
import { LOG_FILE } from '../redo/log-file.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';
import type { TableRecord } from '../dict/dictionary.js';
import {
  ENTRY_DELETE_MARK,
  PAGE_INDEX_ID,
  entryCount,
  fillEntryView,
  newEntryView,
  pageLevel,
  slotAt,
  type EntryView,
} from '../btree/index-page.js';
import { FIL_NEXT, FIL_PREV, PageType, pageTypeOf, readU64 } from '../page/page.js';

export interface PageRead {
  readonly page: Uint8Array;
  readonly check: PageCheckResult;
}

/** One space file, read page by page. */
export class SpaceFile {
  readonly spaceId: number;
  readonly name: string;
  readonly pageSize: number;
  private readonly file: VfsFile;

  constructor(vfs: Vfs, spaceId: number, pageSize: number) {
    this.spaceId = spaceId;
    this.name = spaceFileName(spaceId);
    this.pageSize = pageSize;
    if (vfs.stat(this.name) === undefined) throw new NotFoundError(this.name, 'tablespace file');
    this.file = vfs.open(this.name, { readOnly: true });
  }

  get pages(): number {
    return Math.floor(this.file.size() / this.pageSize);
  }

  /** Page `pageNo` and its check; a new buffer each call. */
  read(pageNo: number): PageRead {
    const page = new Uint8Array(this.pageSize);
    const got = this.file.read(page, pageNo * this.pageSize);
    if (got < this.pageSize) page.fill(0, got);
    return { page, check: checkPage(page, this.spaceId, pageNo) };
  }

  close(): void {
    this.file.close();
  }
}

/** The ids of the space files in `vfs`, sorted. */
export function spaceIds(vfs: Vfs): number[] {
  return vfs
    .list('')
    .map(spaceIdFromFileName)
    .filter((id): id is number => id !== undefined)
    .sort((a, b) => a - b);
}

/**
 * The page size: from the redo log's header, or (a backup, or a damaged log) from the system
 * tablespace's header page, which records it at SPACE_PAGE_SIZE.
 */
export function detectPageSize(vfs: Vfs): number {
  const probe = new Uint8Array(64);
  for (const [name, offset] of [
    [LOG_FILE, 16],
    ['system.ibd', SPACE_PAGE_SIZE_OFFSET],
  ] as const) {
    if (vfs.stat(name) === undefined) continue;
    const file = vfs.open(name, { readOnly: true });
    try {
      if (file.read(probe, 0) < 64) continue;
    } finally {
      file.close();
    }
    const size = readU32(probe, offset);
    if (size >= 4096 && size <= 65536 && (size & (size - 1)) === 0) return size;
  }
  throw new IncompatibleFormatError('database', 'no redo log or system tablespace header gives the page size');
}

export function describeCheck(read: PageRead): string {
  return describePageCheck(read.check, read.page);
}

export function isValid(read: PageRead): boolean {
  return read.check === PageCheck.Valid;
}

/** A valid leaf page of one index, with what salvage needs to order and link it. */
export interface LeafPage {
  readonly pageNo: number;
  readonly page: Uint8Array;
  readonly prev: number;
  readonly next: number;
  readonly entries: number;
}

export interface IndexPagesScan {
  readonly leaves: LeafPage[];
  /** Pages of the file that fail their checks (not the never-written ones). */
  readonly bad: { readonly pageNo: number; readonly detail: string }[];
}

/** Every valid leaf page of index `indexId` in the file, and every bad page, in page order. */
export function scanIndexPages(file: SpaceFile, indexId: number): IndexPagesScan {
  const leaves: LeafPage[] = [];
  const bad: { pageNo: number; detail: string }[] = [];
  for (let pageNo = 0; pageNo < file.pages; pageNo++) {
    const read = file.read(pageNo);
    if (read.check === PageCheck.Empty) continue;
    if (read.check !== PageCheck.Valid) {
      bad.push({ pageNo, detail: describeCheck(read) });
      continue;
    }
    const page = read.page;
    if (pageTypeOf(page) !== PageType.Index || readU64(page, PAGE_INDEX_ID) !== indexId || pageLevel(page) !== 0)
      continue;
    leaves.push({
      pageNo,
      page,
      prev: readU32(page, FIL_PREV),
      next: readU32(page, FIL_NEXT),
      entries: entryCount(page),
    });
  }
  return { leaves, bad };
}

/** The entries of an index page in slot order (views into `page`). */
export function* pageEntries(page: Uint8Array): Generator<EntryView & { readonly deleteMarked: boolean }> {
  const n = entryCount(page);
  for (let slot = 0; slot < n; slot++) {
    const view = newEntryView();
    fillEntryView(view, page, slotAt(page, slot));
    yield Object.assign(view, { deleteMarked: (view.flags & ENTRY_DELETE_MARK) !== 0 });
  }
}

/** The table records (JSON values of SYS_TABLES, dict/dictionary.ts) on valid leaf pages, live ones only. */
export function tableRecordsOn(leaves: readonly LeafPage[]): TableRecord[] {
  const records: TableRecord[] = [];
  const decoder = new TextDecoder();
  for (const leaf of leaves) {
    for (const entry of pageEntries(leaf.page)) {
      if (entry.deleteMarked) continue;
      const value = entry.page.subarray(entry.valueOffset, entry.valueOffset + entry.valueLength);
      records.push(JSON.parse(decoder.decode(value)) as TableRecord);
    }
  }
  return records;
}
