/**
 * What the inspector shows of the change buffer (src/ibuf/, issue 14), registered with the page
 * decoders (page-decoders.ts): its header page, its B-tree's records (one buffered operation each:
 * the page it is for, its counter, the operation and the secondary entry, decoded with the index's
 * key columns), the bitmap pages of each table's space, and the space headers' pointers to them.
 *
 * InnoDB counterpart: what innodb_ruby shows of the ibuf header page, the ibuf index (`SYS_IBUF_TABLE`
 * records) and `Innodb::Page::IbufBitmap`. The byte tables are those of ibuf-header.ts,
 * ibuf-record.ts and ibuf-bitmap.ts.
 */
import { decodeKey } from '../../rec/key-codec.js';
import { FIL_SPACE_ID, PageType, readU32, readU64 } from '../../page/page.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID } from '../../page/tablespace.js';
import { PAGE_INDEX_ID, pageLevel } from '../../btree/index-page.js';
import { IBUF_TREE_INDEX_ID } from '../../ibuf/change-buffer.js';
import { IBUF_HEADER_LAYOUT, IBUF_HEADER_POINTER_OFFSET } from '../../ibuf/ibuf-header.js';
import {
  BITMAP_BUFFERED,
  BITMAP_ENTRIES,
  BITMAP_FIRST_OFFSET,
  BITMAP_FIRST_PAGE,
  bitmapPagesPerBitmap,
  promisedFreeBytes,
  promisedRecords,
} from '../../ibuf/ibuf-bitmap.js';
import {
  IBUF_OP_NAMES,
  IBUF_VALUE_HEADER_BYTES,
  ibufKeyCounter,
  ibufKeyPage,
  ibufKeySpace,
  ibufValueIndexId,
  ibufValueOp,
} from '../../ibuf/ibuf-record.js';
import { pageEntries } from '../page-file.js';
import { toJsonCell } from '../value-text.js';
import {
  type DecodeContext,
  type DecodedRecord,
  type PageDecoder,
  type PageField,
  pageDecoder,
  registerPageDecoder,
} from './page-decoders.js';

/** The index the inspector names the change buffer's tree by (`PageDump.index`). */
export const IBUF_TREE_INDEX = { table: '(change buffer)', index: 'IBUF' } as const;

function u32(name: string, page: Uint8Array, offset: number): PageField {
  return { name, offset, size: 4, value: readU32(page, offset) };
}

function u64(name: string, page: Uint8Array, offset: number): PageField {
  return { name, offset, size: 8, value: readU64(page, offset) };
}

function hex(bytes: Uint8Array): string {
  return `0x${Buffer.from(bytes).toString('hex')}`;
}

const { FORMAT, TREE_ROOT, NEXT_COUNTER, FLAGS, PAGES, BYTES, RECORDS } = IBUF_HEADER_LAYOUT;

registerPageDecoder(PageType.IbufHeader, {
  name: 'IbufHeader',
  fields: (page) => [
    u32('FORMAT', page, FORMAT),
    u32('TREE_ROOT', page, TREE_ROOT),
    u64('NEXT_COUNTER', page, NEXT_COUNTER),
    { ...u32('FLAGS', page, FLAGS), value: readU32(page, FLAGS) === 0 ? 0 : `${readU32(page, FLAGS)} (BITMAP_STALE)` },
    u32('PAGES', page, PAGES),
    u64('BYTES', page, BYTES),
    ...IBUF_OP_NAMES.map((op, i) => u32(`RECORDS[${op}]`, page, RECORDS + 4 * i)),
  ],
});

registerPageDecoder(PageType.IbufBitmap, {
  name: 'IbufBitmap',
  fields: (page) => [u32('FIRST_PAGE', page, BITMAP_FIRST_PAGE)],
  // One record per page the bitmap says something about (a zero entry promises nothing).
  records: (page) => {
    const first = readU32(page, BITMAP_FIRST_PAGE);
    const records: DecodedRecord[] = [];
    for (let i = 0, n = bitmapPagesPerBitmap(page.length); i < n; i++) {
      const entry = page[BITMAP_ENTRIES + i]!;
      if (entry === 0) continue;
      records.push({
        page: first + i,
        entry: `0x${entry.toString(16).padStart(2, '0')}`,
        buffered: (entry & BITMAP_BUFFERED) !== 0,
        recordsAtLeast: promisedRecords(entry),
        freeBytesAtLeast: promisedFreeBytes(entry, page.length),
      });
    }
    return records;
  },
});

/** The secondary entry of a buffered operation, decoded with its index's key columns when known. */
function entryValues(entry: Uint8Array, indexId: number, context: DecodeContext): unknown {
  const index = context.indexById(indexId);
  if (index?.keySpec === undefined) return hex(entry);
  try {
    return decodeKey(entry, index.keySpec).map((value, i) => {
      const column = index.keyColumns?.[i];
      return column === undefined ? String(value) : toJsonCell(column, value as never);
    });
  } catch {
    return hex(entry);
  }
}

/** The change buffer's leaf records: one buffered operation each (ibuf-record.ts). */
function ibufTreeRecords(page: Uint8Array, context: DecodeContext): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  let slot = 0;
  for (const view of pageEntries(page)) {
    const key = view.page.subarray(view.keyOffset, view.keyOffset + view.keyLength);
    const value = view.page.subarray(view.valueOffset, view.valueOffset + view.valueLength);
    const indexId = ibufValueIndexId(value);
    const index = context.indexById(indexId);
    records.push({
      slot,
      SPACE: ibufKeySpace(key),
      PAGE: ibufKeyPage(key),
      COUNTER: ibufKeyCounter(key),
      OP: IBUF_OP_NAMES[ibufValueOp(value)] ?? `unknown(${ibufValueOp(value)})`,
      INDEX_ID: indexId,
      ...(index === undefined ? {} : { index: `${index.table}.${index.index}` }),
      ENTRY: entryValues(value.subarray(IBUF_VALUE_HEADER_BYTES), indexId, context),
    });
    slot++;
  }
  return records;
}

function decorate(type: number, wrap: (base: PageDecoder) => PageDecoder): void {
  const base = pageDecoder(type);
  if (base !== undefined) registerPageDecoder(type, wrap(base));
}

// The change buffer's tree is an Index page of space 0 with its own INDEX_ID: its leaves hold
// operations, not rows or entries.
decorate(PageType.Index, (base) => ({
  ...base,
  records: (page, pageNo, context) =>
    readU32(page, FIL_SPACE_ID) === SYSTEM_SPACE_ID &&
    readU64(page, PAGE_INDEX_ID) === IBUF_TREE_INDEX_ID &&
    pageLevel(page) === 0
      ? ibufTreeRecords(page, context)
      : (base.records?.(page, pageNo, context) ?? []),
}));

// The user area of space headers: in space 0, the change buffer's header page after the trx-sys
// and dictionary pointers; in a table's space, the first bitmap page (ibuf-bitmap.ts), where the
// system space's pointers would be.
decorate(PageType.SpaceHeader, (base) => ({
  ...base,
  fields: (page) => {
    const fields = base.fields(page);
    if (readU32(page, FIL_SPACE_ID) === SYSTEM_SPACE_ID)
      return [...fields, u32('IBUF_HEADER_PAGE_NO', page, IBUF_HEADER_POINTER_OFFSET)];
    return [
      ...fields.filter((field) => field.offset < SPACE_USER_OFFSET),
      u32('BITMAP_FIRST', page, BITMAP_FIRST_OFFSET),
    ];
  },
}));
