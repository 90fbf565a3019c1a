/**
 * The inspector: a database's files seen page by page, for reviewers and the curious, in the
 * spirit of Jeremy Cole's innodb_ruby (`innodb_space space-page-type-summary`, `page-dump`,
 * `index-level-summary`, `record-history`, `undo-history-summary`) and `innodb_log` for the redo.
 *
 * It reads the files of a database that is not open (or of a backup) and writes nothing: the
 * log is opened through an OverlayVfs (O1), pages through read-only handles. It shows what is on
 * disk, not what recovery would make of it: after a crash the newest changes may be only in the
 * redo (`redo` shows them). Every page is checked; a page that fails is reported with what
 * failed, and its bytes are shown only as a header dump, never decoded into records.
 *
 * What it answers:
 *  - `spaces()`: each space file, its tables, its pages by type, its bad pages;
 *  - `page(space, pageNo)`: the FIL header, the type's header fields and its records, each field
 *    named as the byte tables of the module docs name it (page-decoders.ts);
 *  - `tree(table, index)`: a B+tree's levels, page by page, with entry counts and first keys;
 *  - `versions(table, key)`: a row's versions back through its undo chain (DB_ROLL_PTR to undo
 *    record to OLD_ROLL_PTR...), as far as the undo is still there;
 *  - `history()`: the history list (committed update undo logs awaiting purge), the undo slots of
 *    transactions that were active, and the purge view the next open will start with;
 *  - `redo(fromLsn)`: the redo log's groups and their records.
 */
import { InvalidArgumentError, NotFoundError } from '../../errors.js';
import type { TableRecord } from '../../dict/dictionary.js';
import { SYS_TABLES_INDEX_ID } from '../../dict/dictionary.js';
import { IBUF_TREE_INDEX_ID } from '../../ibuf/change-buffer.js';
import {
  childAt,
  entryCount,
  pageLevel,
  searchInternal,
  searchLeaf,
  slotAt,
  fillEntryView,
  newEntryView,
} from '../../btree/index-page.js';
import { encodeKey } from '../../rec/key-codec.js';
import {
  compileTable,
  decodeRowAt,
  isDeleteMarked,
  limitsForPageSize,
  readTrxId,
  type StoredValue,
  type TableLayout,
} from '../../rec/row-format.js';
import { olderStoredValue, undoFieldColumn } from '../../rec/undo-fields.js';
import { CorruptionError } from '../../errors.js';
import { PageCheck, NIL_PAGE, PageType, pageTypeOf, readU16, readU32, readU64 } from '../../page/page.js';
import { loadChecksums } from '../../page/checksum.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID } from '../../page/tablespace.js';
import { LOG_FILE, LogFile } from '../../redo/log-file.js';
import { LogReader } from '../../redo/log-reader.js';
import {
  GROUP_HEADER_BYTES,
  RECORD_HEADER_BYTES,
  RedoType,
  checkGroup,
  GroupCheck,
  groupDurableLsn,
  groupLength,
  recordLength,
} from '../../redo/redo-record.js';
import {
  TRX_SYS_HISTORY_FIRST_OFFSET,
  TRX_SYS_HISTORY_LENGTH_OFFSET,
  TRX_SYS_MAX_TRX_ID_OFFSET,
  TRX_SYS_SLOT_COUNT_OFFSET,
  TRX_SYS_SLOTS_OFFSET,
  TRX_SYS_TRX_ID_WRITE_MARGIN,
} from '../../mvcc/trx-sys-page.js';
import { UNDO_LOG_HIST_NEXT, UndoLogState } from '../../undo/undo-log.js';
import type { PageSource } from '../../undo/undo-log.js';
import { UndoLogCursor, openUndoLog, readUndoRecord, undoLogInfo } from '../../undo/undo-log-read.js';
import { formatRollPtr, readRollPtrAt, rollPtrIsInsert } from '../../undo/roll-ptr.js';
import { UndoRecordType } from '../../undo/undo-record.js';
import { ROW_ROLL_PTR_OFFSET } from '../../rec/row-format.js';
import { BACKUP_REDO_FILE, BACKUP_REDO_HEADER_BYTES, decodeRedoHeader } from '../../core/backup-format.js';
import { OverlayVfs } from '../../vfs/overlay-vfs.js';
import type { Vfs } from '../../vfs/vfs.js';
import { SpaceFile, describeCheck, detectPageSize, scanIndexPages, spaceIds, tableRecordsOn } from '../page-file.js';
import { fromTextCell } from '../value-text.js';
import {
  type DecodeContext,
  type DecodedRecord,
  type IndexContext,
  type PageField,
  UNDO_TYPE_NAMES,
  filFields,
  pageDecoder,
  pageTypeName,
  storedCell,
  trailerField,
} from './page-decoders.js';
import { IBUF_TREE_INDEX } from './ibuf-decoders.js';
import './lob-pages.js'; // registers the LOB pages' decoders

export interface SpaceSummary {
  readonly spaceId: number;
  readonly file: string;
  readonly tables: readonly string[];
  readonly pages: number;
  readonly pageTypes: Readonly<Record<string, number>>;
  readonly badPages: readonly { readonly pageNo: number; readonly detail: string }[];
}

export interface PageDump {
  readonly spaceId: number;
  readonly pageNo: number;
  readonly check: string;
  readonly type: string;
  readonly fil: readonly PageField[];
  readonly fields: readonly PageField[];
  readonly trailer: PageField;
  readonly records: readonly DecodedRecord[];
  /** The index an Index page belongs to. */
  readonly index?: string;
}

export interface TreeLevel {
  readonly level: number;
  readonly pages: readonly {
    readonly pageNo: number;
    readonly entries: number;
    readonly firstKey: unknown;
    readonly bad?: string;
  }[];
}

export interface RowVersion {
  readonly trxId: number;
  readonly rollPtr: string;
  readonly deleted: boolean;
  readonly row: Readonly<Record<string, unknown>>;
  /** The undo record that leads to the version before this one. */
  readonly undo?: { readonly type: string; readonly undoNo: number };
}

export interface HistoryReport {
  readonly historyLength: number;
  readonly history: readonly {
    readonly pageNo: number;
    readonly trxId: number;
    readonly trxNo: number;
    readonly records: number;
    readonly pages: number;
  }[];
  readonly slots: readonly {
    readonly slot: number;
    readonly pageNo: number;
    readonly trxId: number;
    readonly kind: string;
    readonly state: string;
    readonly records: number;
  }[];
  /** The purge view the next open starts with: no read view is open then, so it is a fresh view. */
  readonly purgeView: {
    readonly lowLimitNo: number;
    readonly activeTrxIds: readonly number[];
    readonly purgeable: number;
  };
}

export interface RedoRecordDump {
  readonly type: string;
  readonly spaceId: number;
  readonly pageNo: number;
  readonly [field: string]: unknown;
}

export interface RedoGroupDump {
  readonly startLsn: number;
  readonly endLsn: number;
  readonly durableLsn: number;
  readonly records: readonly RedoRecordDump[];
}

const REDO_TYPE_NAMES = new Map<number, string>(Object.entries(RedoType).map(([name, code]) => [code, name]));

export class Inspector implements DecodeContext {
  readonly pageSize: number;
  readonly tables: readonly TableRecord[];
  private readonly vfs: Vfs;
  private readonly files = new Map<number, SpaceFile>();
  private readonly indexes = new Map<number, IndexContext>();
  private readonly layouts = new Map<string, TableLayout>();

  private constructor(vfs: Vfs, pageSize: number) {
    this.vfs = vfs;
    this.pageSize = pageSize;
    this.indexes.set(SYS_TABLES_INDEX_ID, { table: 'SYS_TABLES', index: 'PRIMARY', dictionary: true });
    this.indexes.set(IBUF_TREE_INDEX_ID, IBUF_TREE_INDEX);
    this.tables = this.readDictionary();
    for (const record of this.tables) {
      const layout = compileTable(record.schema, limitsForPageSize(pageSize));
      this.layouts.set(record.name, layout);
      this.indexes.set(record.primary.id, { table: record.name, index: 'PRIMARY', layout });
      for (const index of record.indexes) {
        const at = layout.indexes.findIndex((candidate) => candidate.def.name === index.name);
        const secondary = layout.indexes[at];
        if (secondary === undefined) continue;
        this.indexes.set(index.id, {
          table: record.name,
          index: index.name,
          keySpec: secondary.spec,
          keyColumns: [...secondary.keyColumns].map((i) => record.schema.columns[i]!),
        });
      }
    }
  }

  /** An inspector over the files in `vfs` (a database directory or a backup). */
  static async open(vfs: Vfs): Promise<Inspector> {
    await loadChecksums();
    return new Inspector(vfs, detectPageSize(vfs));
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  indexById(indexId: number): IndexContext | undefined {
    return this.indexes.get(indexId);
  }

  private file(spaceId: number): SpaceFile {
    let file = this.files.get(spaceId);
    if (file === undefined) {
      file = new SpaceFile(this.vfs, spaceId, this.pageSize);
      this.files.set(spaceId, file);
    }
    return file;
  }

  /** A page that passed its checks, or `CorruptionError` naming it (for walks that follow links). */
  private validPage(spaceId: number, pageNo: number): Uint8Array {
    const read = this.file(spaceId).read(pageNo);
    if (read.check !== PageCheck.Valid) throw new CorruptionError(this.file(spaceId).name, pageNo, describeCheck(read));
    return read.page;
  }

  private readonly pages: PageSource = { getPage: (spaceId, pageNo) => this.validPage(spaceId, pageNo) };

  private readDictionary(): TableRecord[] {
    const scan = scanIndexPages(this.file(SYSTEM_SPACE_ID), SYS_TABLES_INDEX_ID);
    return tableRecordsOn(scan.leaves).sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  private table(name: string): { record: TableRecord; layout: TableLayout } {
    const record = this.tables.find((candidate) => candidate.name === name);
    if (record === undefined)
      throw new NotFoundError(name, `table (tables: ${this.tables.map((t) => t.name).join(', ') || 'none'})`);
    return { record, layout: this.layouts.get(name)! };
  }

  spaces(): SpaceSummary[] {
    return spaceIds(this.vfs).map((spaceId) => {
      const file = this.file(spaceId);
      const pageTypes: Record<string, number> = {};
      const badPages: { pageNo: number; detail: string }[] = [];
      for (let pageNo = 0; pageNo < file.pages; pageNo++) {
        const read = file.read(pageNo);
        const type =
          read.check === PageCheck.Empty
            ? 'never written'
            : read.check === PageCheck.Valid
              ? pageTypeName(pageTypeOf(read.page))
              : 'bad';
        if (type === 'bad') badPages.push({ pageNo, detail: describeCheck(read) });
        pageTypes[type] = (pageTypes[type] ?? 0) + 1;
      }
      const tables =
        spaceId === SYSTEM_SPACE_ID
          ? ['(dictionary, transaction system, undo)']
          : this.tables.filter((t) => t.spaceId === spaceId).map((t) => t.name);
      return { spaceId, file: file.name, tables, pages: file.pages, pageTypes, badPages };
    });
  }

  page(spaceId: number, pageNo: number): PageDump {
    const file = this.file(spaceId);
    if (!Number.isInteger(pageNo) || pageNo < 0 || pageNo >= file.pages) {
      throw new InvalidArgumentError(`${file.name} has pages 0 to ${file.pages - 1}, not ${pageNo}`);
    }
    const read = file.read(pageNo);
    const page = read.page;
    const type = pageTypeOf(page);
    const decoder = pageDecoder(type);
    const valid = read.check === PageCheck.Valid;
    const index = type === PageType.Index ? this.indexes.get(readU64(page, 56)) : undefined;
    return {
      spaceId,
      pageNo,
      check: valid ? 'valid' : describeCheck(read),
      type: pageTypeName(type),
      fil: filFields(page),
      fields: valid && decoder !== undefined ? decoder.fields(page) : [],
      trailer: trailerField(page),
      // Records only from a page that passed its checks (rule CHECKSUM).
      records: valid && decoder?.records !== undefined ? decoder.records(page, pageNo, this) : [],
      ...(index === undefined ? {} : { index: `${index.table}.${index.index}` }),
    };
  }

  /** The levels of a table's clustered index (or of `index`), from the root down. */
  tree(tableName: string, indexName = 'PRIMARY'): TreeLevel[] {
    const { record } = this.table(tableName);
    const rootPageNo =
      indexName === 'PRIMARY'
        ? record.primary.rootPageNo
        : record.indexes.find((i) => i.name === indexName)?.rootPageNo;
    if (rootPageNo === undefined) throw new NotFoundError(indexName, `index of ${tableName}`);
    const levels: TreeLevel[] = [];
    let level: number[] = [rootPageNo];
    while (level.length > 0) {
      const pages: { pageNo: number; entries: number; firstKey: unknown; bad?: string }[] = [];
      const below: number[] = [];
      let depth = -1;
      for (const pageNo of level) {
        const dump = this.page(record.spaceId, pageNo);
        if (dump.check !== 'valid') {
          pages.push({ pageNo, entries: 0, firstKey: null, bad: dump.check });
          continue;
        }
        const page = this.validPage(record.spaceId, pageNo);
        depth = pageLevel(page);
        pages.push({ pageNo, entries: entryCount(page), firstKey: dump.records[depth > 0 ? 1 : 0]?.['key'] ?? null });
        if (depth > 0) for (let slot = 0; slot < entryCount(page); slot++) below.push(childAt(page, slot));
      }
      levels.push({ level: depth, pages });
      level = below;
    }
    return levels;
  }

  /**
   * A row's versions, newest first, back through its undo chain as far as the undo is there.
   * `key`: the primary key's values as text, as CSV export writes them (value-text.ts).
   */
  versions(tableName: string, key: readonly string[]): { versions: RowVersion[]; end: string } {
    const { record, layout } = this.table(tableName);
    const pkColumns = [...layout.primaryKeyColumns].map((i) => record.schema.columns[i]!);
    if (key.length !== pkColumns.length)
      throw new InvalidArgumentError(`the primary key of ${tableName} has ${pkColumns.length} columns`);
    const keyBytes = encodeKey(
      key.map((text, i) => fromTextCell(pkColumns[i]!, text, true)),
      layout.primaryKey,
    );
    let page = this.validPage(record.spaceId, record.primary.rootPageNo);
    while (pageLevel(page) > 0)
      page = this.validPage(record.spaceId, childAt(page, searchInternal(page, keyBytes, keyBytes.length)));
    const found = searchLeaf(page, keyBytes, keyBytes.length);
    if ((found & 1) === 0) return { versions: [], end: 'no such row' };
    const view = newEntryView();
    fillEntryView(view, page, slotAt(page, found >> 1));
    const columns = record.schema.columns;
    const row: Record<string, StoredValue | null> = decodeRowAt(
      layout,
      page,
      view.keyOffset,
      view.keyLength,
      page,
      view.valueOffset,
      view.valueLength,
    );
    let trxId = readTrxId(page, view.valueOffset);
    let rollPtr = readRollPtrAt(page, view.valueOffset + ROW_ROLL_PTR_OFFSET);
    let deleted = isDeleteMarked(page, view.valueOffset);
    const versions: RowVersion[] = [];
    const cursor = new UndoLogCursor();
    const show = (): Record<string, unknown> =>
      Object.fromEntries(columns.map((c) => [c.name, storedCell(c, row[c.name])]));
    for (;;) {
      const version = { trxId, rollPtr: formatRollPtr(rollPtr), deleted, row: show() };
      if (rollPtrIsInsert(rollPtr)) {
        versions.push(version);
        return { versions, end: 'inserted' };
      }
      try {
        readUndoRecord(this.pages, rollPtr, trxId, cursor);
      } catch (error) {
        versions.push(version);
        return {
          versions,
          end: `undo no longer there (purged): ${error instanceof Error ? error.message : String(error)}`,
        };
      }
      versions.push({
        ...version,
        undo: { type: UNDO_TYPE_NAMES.get(cursor.type) ?? String(cursor.type), undoNo: cursor.undoNo },
      });
      cursor.rewindFields();
      while (cursor.nextField()) {
        // A field's number carries its kind (an old value, a replaced LOB's reference, LOB diffs
        // or a LOB version change: rec/undo-fields.ts); the older value is built as reads build it.
        const column = columns[undoFieldColumn(cursor.fieldNo)]!;
        row[column.name] =
          cursor.valueLength < 0
            ? null
            : olderStoredValue(
                column.type,
                cursor.fieldNo,
                cursor.bytes,
                cursor.valueOffset,
                cursor.valueOffset + cursor.valueLength,
                row[column.name],
              );
      }
      deleted = cursor.type === UndoRecordType.UpdateDeleteMarked;
      trxId = cursor.oldTrxId;
      rollPtr = cursor.oldRollPtr;
    }
  }

  history(): HistoryReport {
    const header = this.validPage(SYSTEM_SPACE_ID, 0);
    const trxSysPageNo = readU32(header, SPACE_USER_OFFSET);
    const trxSys = this.validPage(SYSTEM_SPACE_ID, trxSysPageNo);
    const history: { pageNo: number; trxId: number; trxNo: number; records: number; pages: number }[] = [];
    for (let pageNo = readU32(trxSys, TRX_SYS_HISTORY_FIRST_OFFSET); pageNo !== NIL_PAGE; ) {
      const info = undoLogInfo(this.pages, openUndoLog(this.pages, pageNo));
      history.push({
        pageNo,
        trxId: info.log.trxId,
        trxNo: info.trxNo,
        records: info.recordCount,
        pages: info.pageCount,
      });
      pageNo = readU32(this.validPage(SYSTEM_SPACE_ID, pageNo), UNDO_LOG_HIST_NEXT);
    }
    const slots: HistoryReport['slots'][number][] = [];
    const slotCount = readU16(trxSys, TRX_SYS_SLOT_COUNT_OFFSET);
    for (let slot = 0; slot < slotCount; slot++) {
      const pageNo = readU32(trxSys, TRX_SYS_SLOTS_OFFSET + 4 * slot);
      if (pageNo === NIL_PAGE) continue;
      const info = undoLogInfo(this.pages, openUndoLog(this.pages, pageNo));
      slots.push({
        slot,
        pageNo,
        trxId: info.log.trxId,
        kind: info.log.kind,
        state:
          info.state === UndoLogState.Active ? 'active' : info.state === UndoLogState.Cached ? 'cached' : 'committed',
        records: info.recordCount,
      });
    }
    // U11: counting resumes at the stored counter + the write margin; with no read view open the
    // purge view is a fresh one there, holding the transactions recovery will roll back.
    const lowLimitNo = readU64(trxSys, TRX_SYS_MAX_TRX_ID_OFFSET) + TRX_SYS_TRX_ID_WRITE_MARGIN;
    const activeTrxIds = slots.filter((s) => s.state === 'active').map((s) => s.trxId);
    return {
      historyLength: readU32(trxSys, TRX_SYS_HISTORY_LENGTH_OFFSET),
      history,
      slots,
      purgeView: { lowLimitNo, activeTrxIds, purgeable: history.filter((h) => h.trxNo < lowLimitNo).length },
    };
  }

  /** Redo groups from `fromLsn` (default: the newest checkpoint, or a backup's START_LSN), at most `limit`. */
  redo(
    fromLsn?: number,
    limit = 100,
  ): { fromLsn: number; checkpointLsn: number; groups: RedoGroupDump[]; endLsn: number } {
    if (this.vfs.stat(LOG_FILE) !== undefined) {
      const overlay = new OverlayVfs(this.vfs); // LogFile opens read-write: nothing reaches the files (O1)
      const log = LogFile.open(overlay, this.pageSize);
      try {
        const checkpointLsn = log.readCheckpoint().lsn;
        const reader = new LogReader(log);
        const groups: RedoGroupDump[] = [];
        let lsn = fromLsn ?? checkpointLsn;
        const start = lsn;
        while (groups.length < limit) {
          const read = reader.readGroups(lsn, lsn < checkpointLsn ? lsn : checkpointLsn);
          if (read.groups.length === 0) break;
          for (const group of read.groups)
            if (groups.length < limit) groups.push(dumpGroup(group.bytes, group.startLsn));
          lsn = groups.at(-1)!.endLsn;
        }
        return { fromLsn: start, checkpointLsn, groups, endLsn: lsn };
      } finally {
        log.close();
        overlay.close();
      }
    }
    if (this.vfs.stat(BACKUP_REDO_FILE) === undefined)
      throw new NotFoundError(LOG_FILE, 'redo log (or backup redo tail)');
    const file = this.vfs.open(BACKUP_REDO_FILE, { readOnly: true });
    try {
      const bytes = new Uint8Array(file.size());
      file.read(bytes, 0);
      const { startLsn } = decodeRedoHeader(bytes, BACKUP_REDO_FILE);
      const groups: RedoGroupDump[] = [];
      let lsn = startLsn;
      for (;;) {
        const view = bytes.subarray(BACKUP_REDO_HEADER_BYTES + (lsn - startLsn));
        if (checkGroup(view, lsn, Number.MAX_SAFE_INTEGER) !== GroupCheck.Valid) break;
        const length = groupLength(view);
        if (lsn >= (fromLsn ?? startLsn) && groups.length < limit)
          groups.push(dumpGroup(view.subarray(0, length), lsn));
        lsn += length;
      }
      return { fromLsn: fromLsn ?? startLsn, checkpointLsn: startLsn, groups, endLsn: lsn };
    } finally {
      file.close();
    }
  }
}

function dumpGroup(bytes: Uint8Array, startLsn: number): RedoGroupDump {
  const records: RedoRecordDump[] = [];
  const end = bytes.length - 4;
  for (let at = GROUP_HEADER_BYTES; at < end; ) {
    const type = bytes[at]!;
    const length = recordLength(bytes, at);
    const record: Record<string, unknown> & RedoRecordDump = {
      type: REDO_TYPE_NAMES.get(type) ?? `unknown(${type})`,
      spaceId: readU32(bytes, at + 1),
      pageNo: readU32(bytes, at + 5),
    };
    const p = at + RECORD_HEADER_BYTES;
    if (type === RedoType.Write) {
      Object.assign(record, { offset: readU16(bytes, p), length: readU16(bytes, p + 2) });
      record['bytes'] = Buffer.from(bytes.subarray(p + 4, p + 4 + Math.min(32, readU16(bytes, p + 2)))).toString('hex');
    } else if (type === RedoType.InitPage) {
      record['pageType'] = pageTypeName(readU16(bytes, p));
    } else if (type === RedoType.Move) {
      Object.assign(record, { dst: readU16(bytes, p), src: readU16(bytes, p + 2), length: readU16(bytes, p + 4) });
    } else if (type === RedoType.Fill) {
      Object.assign(record, { offset: readU16(bytes, p), length: readU16(bytes, p + 2), byte: bytes[p + 4] });
    }
    records.push(record);
    if (length <= 0) break;
    at += length;
  }
  return { startLsn, endLsn: startLsn + bytes.length, durableLsn: groupDurableLsn(bytes), records };
}

/** The tree as text: one line per level, pages in order. */
export function drawTree(levels: readonly TreeLevel[]): string {
  const lines: string[] = [];
  for (const level of levels) {
    const pages = level.pages.map((p) => (p.bad === undefined ? `[${p.pageNo}: ${p.entries}]` : `[${p.pageNo}: BAD]`));
    const shown =
      pages.length > 12 ? [...pages.slice(0, 6), `... ${pages.length - 12} more ...`, ...pages.slice(-6)] : pages;
    lines.push(
      `level ${level.level}${level.level === 0 ? ' (leaves)' : ''}: ${level.pages.length} page(s)  ${shown.join(level.level === 0 ? ' <-> ' : ' ')}`,
    );
  }
  return lines.join('\n');
}
