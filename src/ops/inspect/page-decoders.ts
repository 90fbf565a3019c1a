/**
 * What the inspector knows about each page type: its header fields, named as the byte tables of
 * the module docs name them, and its records decoded. A registry, so that the layers landing
 * next (LOB pages, issue 13; the change buffer's bitmap and tree, issue 14) add their decoder
 * with `registerPageDecoder(PageType.X, decoder)` beside their code, without touching this file.
 *
 * InnoDB counterpart: innodb_ruby's `Innodb::Page` subclasses (`Innodb::Page::Index`,
 * `Innodb::Page::UndoLog`, `Innodb::Page::TrxSys`...), each registered for its FIL_PAGE_TYPE.
 */
import { decodeKey, type KeySpec } from '../../rec/key-codec.js';
import { decodeRowAt, isDeleteMarked, readRollPtr, readTrxId, type TableLayout } from '../../rec/row-format.js';
import type { ColumnDef } from '../../rec/schema.js';
import {
  FIL_NEXT,
  FIL_PAGE_LSN,
  FIL_PAGE_NO,
  FIL_PAGE_TYPE,
  FIL_PREV,
  FIL_SPACE_ID,
  FIL_TRAILER_LSN_LOW_FROM_END,
  NIL_PAGE,
  PageType,
  readU16,
  readU32,
  readU64,
} from '../../page/page.js';
import {
  SPACE_FORMAT_OFFSET,
  SPACE_FREE_HEAD_OFFSET,
  SPACE_FREE_LEN_OFFSET,
  SPACE_MAGIC_OFFSET,
  SPACE_PAGE_SIZE_OFFSET,
  SPACE_SIZE_OFFSET,
  SPACE_SPACE_ID_OFFSET,
  SPACE_USER_OFFSET,
} from '../../page/tablespace.js';
import {
  PAGE_GARBAGE,
  PAGE_HEAP_TOP,
  PAGE_INDEX_ID,
  PAGE_LAST_INSERT,
  PAGE_LEVEL,
  PAGE_N_ENTRIES,
  childAt,
  pageLevel,
} from '../../btree/index-page.js';
import {
  TRX_SYS_FORMAT_OFFSET,
  TRX_SYS_HISTORY_FIRST_OFFSET,
  TRX_SYS_HISTORY_LAST_OFFSET,
  TRX_SYS_HISTORY_LENGTH_OFFSET,
  TRX_SYS_MAGIC_OFFSET,
  TRX_SYS_MAX_TRX_ID_OFFSET,
  TRX_SYS_SLOT_COUNT_OFFSET,
  TRX_SYS_SLOTS_OFFSET,
} from '../../mvcc/trx-sys-page.js';
import {
  UNDO_LOG_HIST_NEXT,
  UNDO_LOG_HIST_PREV,
  UNDO_LOG_LAST_PAGE,
  UNDO_LOG_PAGE_COUNT,
  UNDO_LOG_REC_COUNT,
  UNDO_LOG_SLOT,
  UNDO_LOG_STATE,
  UNDO_LOG_TOP,
  UNDO_LOG_TRX_NO,
  UNDO_PAGE_FREE,
  UNDO_PAGE_KIND,
  UNDO_PAGE_LAST_REC,
  UNDO_PAGE_LOG_PAGE,
  UNDO_PAGE_N_RECS,
  UNDO_PAGE_TRX_ID,
  UNDO_REC_LEN,
  UNDO_REC_WRAPPER_BYTES,
  recordsStart,
} from '../../undo/undo-log.js';
import {
  DICT_FORMAT,
  DICT_NEXT_INDEX_ID,
  DICT_NEXT_SPACE_ID,
  DICT_NEXT_TABLE_ID,
  DICT_TABLES_ROOT,
} from '../../dict/dictionary.js';
import { decodeUndoRecord, UndoRecordType } from '../../undo/undo-record.js';
import { formatRollPtr, type RollPtr } from '../../undo/roll-ptr.js';
import { pageEntries } from '../page-file.js';
import { toJsonCell } from '../value-text.js';

/** One header field: its name from the byte table, where it is, and its value. */
export interface PageField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly value: number | string;
}

/** One record of a page, decoded as far as the decoder can. */
export type DecodedRecord = Readonly<Record<string, unknown>>;

/** What a decoder may know about the index a page belongs to (from the dictionary). */
export interface IndexContext {
  readonly table: string;
  readonly index: string;
  /** The clustered index's layout (rows), or a secondary index's key spec (entries). */
  readonly layout?: TableLayout;
  readonly keySpec?: KeySpec;
  readonly keyColumns?: readonly ColumnDef[];
  /** SYS_TABLES: values are JSON table records. */
  readonly dictionary?: boolean;
}

export interface DecodeContext {
  /** The index an Index page's INDEX_ID names, when the dictionary could be read. */
  indexById(indexId: number): IndexContext | undefined;
}

export interface PageDecoder {
  /** The type's name, as `PageType` spells it. */
  readonly name: string;
  /** The fields after the FIL header (the FIL header is decoded for every page). */
  fields(page: Uint8Array): PageField[];
  records?(page: Uint8Array, pageNo: number, context: DecodeContext): DecodedRecord[];
}

const decoders = new Map<number, PageDecoder>();

/** Registers the decoder of a page type (the LOB and change-buffer layers add theirs). */
export function registerPageDecoder(type: number, decoder: PageDecoder): void {
  decoders.set(type, decoder);
}

export function pageDecoder(type: number): PageDecoder | undefined {
  return decoders.get(type);
}

export function pageTypeName(type: number): string {
  return decoders.get(type)?.name ?? `unknown(${type})`;
}

const u16 =
  (name: string, offset: number) =>
  (page: Uint8Array): PageField => ({ name, offset, size: 2, value: readU16(page, offset) });
const u32 =
  (name: string, offset: number) =>
  (page: Uint8Array): PageField => ({ name, offset, size: 4, value: readU32(page, offset) });
const u64 =
  (name: string, offset: number) =>
  (page: Uint8Array): PageField => ({ name, offset, size: 8, value: readU64(page, offset) });
const hex =
  (name: string, offset: number, size: number) =>
  (page: Uint8Array): PageField => ({
    name,
    offset,
    size,
    value: `0x${Buffer.from(page.subarray(offset, offset + size)).toString('hex')}`,
  });

function fieldsOf(...readers: ((page: Uint8Array) => PageField)[]): (page: Uint8Array) => PageField[] {
  return (page) => readers.map((read) => read(page));
}

/** The FIL header and trailer of every page (page.ts). */
export const filFields = fieldsOf(
  hex('CHECKSUM', 0, 8),
  u32('PAGE_NO', FIL_PAGE_NO),
  u32('SPACE_ID', FIL_SPACE_ID),
  u64('PAGE_LSN', FIL_PAGE_LSN),
  u16('PAGE_TYPE', FIL_PAGE_TYPE),
  u32('PREV', FIL_PREV),
  u32('NEXT', FIL_NEXT),
);

export function trailerField(page: Uint8Array): PageField {
  const offset = page.length - FIL_TRAILER_LSN_LOW_FROM_END;
  return { name: 'LSN_LOW', offset, size: 4, value: readU32(page, offset) };
}

function jsonable(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return `0x${Buffer.from(value).toString('hex')}`;
  if (typeof value === 'number' && (!Number.isFinite(value) || Object.is(value, -0)))
    return String(Object.is(value, -0) ? '-0' : value);
  return value;
}

function keyValues(bytes: Uint8Array, spec: KeySpec, columns: readonly ColumnDef[] | undefined): unknown[] {
  return decodeKey(bytes, spec).map((value, i) =>
    columns?.[i] === undefined ? jsonable(value) : toJsonCell(columns[i]!, value),
  );
}

function indexRecords(page: Uint8Array, _pageNo: number, context: DecodeContext): DecodedRecord[] {
  const index = context.indexById(readU64(page, PAGE_INDEX_ID));
  const leaf = pageLevel(page) === 0;
  const records: DecodedRecord[] = [];
  let slot = 0;
  for (const entry of pageEntries(page)) {
    const key = entry.page.subarray(entry.keyOffset, entry.keyOffset + entry.keyLength);
    const value = entry.page.subarray(entry.valueOffset, entry.valueOffset + entry.valueLength);
    const record: Record<string, unknown> = { slot, flags: entry.deleteMarked ? 'deleted' : '' };
    let decoded: unknown;
    try {
      if (index?.dictionary === true) decoded = new TextDecoder().decode(key);
      else if (index?.layout !== undefined)
        decoded = keyValues(key, index.layout.primaryKey, primaryColumns(index.layout));
      else if (index?.keySpec !== undefined) decoded = keyValues(key, index.keySpec, index.keyColumns);
    } catch {
      decoded = undefined; // a separator may be a truncated key: shown as bytes
    }
    record['key'] = decoded ?? `0x${Buffer.from(key).toString('hex')}`;
    if (!leaf) {
      record['child'] = childAt(page, slot);
    } else if (index?.dictionary === true) {
      record['record'] = JSON.parse(new TextDecoder().decode(value)) as unknown;
    } else if (index?.layout !== undefined) {
      const row = decodeRowAt(index.layout, key, 0, key.length, value, 0, value.length);
      record['DB_TRX_ID'] = readTrxId(value);
      record['DB_ROLL_PTR'] = `0x${readRollPtr(value).toString(16).padStart(14, '0')}`;
      record['deleteMarked'] = isDeleteMarked(value);
      const columns = index.layout.schema.columns;
      record['row'] = Object.fromEntries(columns.map((column) => [column.name, toJsonCell(column, row[column.name])]));
    } else if (value.length > 0) {
      record['value'] = `0x${Buffer.from(value).toString('hex')}`;
    }
    records.push(record);
    slot++;
  }
  return records;
}

function primaryColumns(layout: TableLayout): ColumnDef[] {
  return [...layout.primaryKeyColumns].map((i) => layout.schema.columns[i]!);
}

/** Undo record type names by code (undo-record.ts). */
export const UNDO_TYPE_NAMES = new Map<number, string>(
  Object.entries(UndoRecordType).map(([name, code]) => [code, name]),
);

function undoRecords(page: Uint8Array, pageNo: number): DecodedRecord[] {
  const records: DecodedRecord[] = [];
  const free = readU16(page, UNDO_PAGE_FREE);
  for (let at = recordsStart(page, pageNo); at + UNDO_REC_WRAPPER_BYTES <= free; ) {
    const length = readU16(page, at + UNDO_REC_LEN);
    const record = decodeUndoRecord(page, at + UNDO_REC_WRAPPER_BYTES, length);
    records.push({
      offset: at,
      type: UNDO_TYPE_NAMES.get(record.type) ?? record.type,
      UNDO_NO: record.undoNo,
      TABLE_ID: record.tableId,
      OLD_TRX_ID: record.oldTrxId,
      OLD_ROLL_PTR: formatRollPtr(record.oldRollPtr as RollPtr),
      KEY: `0x${Buffer.from(record.primaryKey).toString('hex')}`,
      N_FIELDS: record.fields.length,
    });
    at += UNDO_REC_WRAPPER_BYTES + length;
  }
  return records;
}

registerPageDecoder(PageType.SpaceHeader, {
  name: 'SpaceHeader',
  fields: fieldsOf(
    hex('SPACE_MAGIC', SPACE_MAGIC_OFFSET, 4),
    u16('SPACE_FORMAT', SPACE_FORMAT_OFFSET),
    u32('SPACE_PAGE_SIZE', SPACE_PAGE_SIZE_OFFSET),
    u32('SPACE_SPACE_ID', SPACE_SPACE_ID_OFFSET),
    u32('SPACE_SIZE', SPACE_SIZE_OFFSET),
    u32('SPACE_FREE_HEAD', SPACE_FREE_HEAD_OFFSET),
    u32('SPACE_FREE_LEN', SPACE_FREE_LEN_OFFSET),
    u32('TRX_SYS_PAGE_NO', SPACE_USER_OFFSET),
    u32('DICT_HEADER_PAGE_NO', SPACE_USER_OFFSET + 4),
  ),
});
registerPageDecoder(PageType.Free, { name: 'Free', fields: () => [] });
registerPageDecoder(PageType.Raw, { name: 'Raw', fields: () => [] });
registerPageDecoder(PageType.Index, {
  name: 'Index',
  fields: fieldsOf(
    u16('LEVEL', PAGE_LEVEL),
    u16('N_ENTRIES', PAGE_N_ENTRIES),
    u16('GARBAGE', PAGE_GARBAGE),
    u16('HEAP_TOP', PAGE_HEAP_TOP),
    u16('LAST_INSERT', PAGE_LAST_INSERT),
    u64('INDEX_ID', PAGE_INDEX_ID),
  ),
  records: indexRecords,
});
registerPageDecoder(PageType.Undo, {
  name: 'Undo',
  fields: (page) => {
    const fields = fieldsOf(
      u16('PAGE_KIND', UNDO_PAGE_KIND),
      u16('PAGE_N_RECS', UNDO_PAGE_N_RECS),
      u16('PAGE_FREE', UNDO_PAGE_FREE),
      u16('PAGE_LAST_REC', UNDO_PAGE_LAST_REC),
      u64('PAGE_TRX_ID', UNDO_PAGE_TRX_ID),
      u32('PAGE_LOG_PAGE', UNDO_PAGE_LOG_PAGE),
    )(page);
    if (readU32(page, UNDO_PAGE_LOG_PAGE) !== readU32(page, FIL_PAGE_NO)) return fields;
    return fields.concat(
      fieldsOf(
        u16('LOG_STATE', UNDO_LOG_STATE),
        u16('LOG_SLOT', UNDO_LOG_SLOT),
        u64('LOG_TRX_NO', UNDO_LOG_TRX_NO),
        u32('LOG_LAST_PAGE', UNDO_LOG_LAST_PAGE),
        u32('LOG_PAGE_COUNT', UNDO_LOG_PAGE_COUNT),
        u32('LOG_REC_COUNT', UNDO_LOG_REC_COUNT),
        u16('LOG_TOP', UNDO_LOG_TOP),
        u32('LOG_HIST_PREV', UNDO_LOG_HIST_PREV),
        u32('LOG_HIST_NEXT', UNDO_LOG_HIST_NEXT),
      )(page),
    );
  },
  records: (page, pageNo) => undoRecords(page, pageNo),
});
registerPageDecoder(PageType.TrxSys, {
  name: 'TrxSys',
  fields: (page) => {
    const fields = fieldsOf(
      hex('MAGIC', TRX_SYS_MAGIC_OFFSET, 4),
      u16('FORMAT', TRX_SYS_FORMAT_OFFSET),
      u16('SLOT_COUNT', TRX_SYS_SLOT_COUNT_OFFSET),
      u64('MAX_TRX_ID', TRX_SYS_MAX_TRX_ID_OFFSET),
      u32('HISTORY_FIRST', TRX_SYS_HISTORY_FIRST_OFFSET),
      u32('HISTORY_LAST', TRX_SYS_HISTORY_LAST_OFFSET),
      u32('HISTORY_LENGTH', TRX_SYS_HISTORY_LENGTH_OFFSET),
    )(page);
    const slots = readU16(page, TRX_SYS_SLOT_COUNT_OFFSET);
    for (let slot = 0; slot < slots; slot++) {
      const offset = TRX_SYS_SLOTS_OFFSET + 4 * slot;
      if (offset + 4 > page.length - 8) break;
      const value = readU32(page, offset);
      if (value !== NIL_PAGE) fields.push({ name: `SLOTS[${slot}]`, offset, size: 4, value });
    }
    return fields;
  },
});
registerPageDecoder(PageType.DictHeader, {
  name: 'DictHeader',
  fields: fieldsOf(
    u32('DICT_FORMAT', DICT_FORMAT),
    u64('NEXT_TABLE_ID', DICT_NEXT_TABLE_ID),
    u64('NEXT_INDEX_ID', DICT_NEXT_INDEX_ID),
    u32('NEXT_SPACE_ID', DICT_NEXT_SPACE_ID),
    u32('TABLES_ROOT', DICT_TABLES_ROOT),
  ),
});
// Issues 13 and 14 register the decoders of these types next to their code; until then the
// inspector names the type and dumps the header.
registerPageDecoder(PageType.LobFirst, { name: 'LobFirst', fields: () => [] });
registerPageDecoder(PageType.LobData, { name: 'LobData', fields: () => [] });
registerPageDecoder(PageType.IbufBitmap, { name: 'IbufBitmap', fields: () => [] });
