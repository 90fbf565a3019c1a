/**
 * `minno salvage`: get the rows out of a database damaged beyond recovery.
 *
 * InnoDB counterpart: `innodb_force_recovery` (start despite corruption, dump what can be read)
 * and Percona's undrop-for-innodb page scanner. Ours differs in the one way that matters: a row
 * is returned only from a page that passed its checks (rule CHECKSUM); InnoDB at recovery levels
 * 1-3 may hand out rows of a page it could not verify.
 *
 * How:
 *  1. Try to open the database through an overlay (ops/open-unchanged.ts): recovery and the
 *     rollback of what was active run in memory, and the recovered pages are flushed into the
 *     overlay, so the scan sees the committed state. If that fails (the damage stops recovery),
 *     scan the files as they are on disk (`mode: 'raw'`: pages hold what was flushed; rows of a
 *     transaction that was in flight may appear).
 *  2. Read the dictionary from every valid leaf page of SYS_TABLES in the system tablespace.
 *  3. For each table, read every valid leaf page of its clustered index, in any order (a damaged
 *     internal page loses no row: its leaves are found by scanning the file), skip delete-marked
 *     entries, and order the leaves by key.
 *  4. Name what was lost: the leaves are linked in key order (BT5 of btree.ts), so where a valid
 *     leaf's NEXT is not the next valid leaf, the keys between the two were on pages that failed
 *     (named by the links); a first leaf with a PREV, or a last with a NEXT, loses the range
 *     before or after it. Every bad page of every file is listed with what failed.
 *  5. Write the rows into a new database with the same tables and indexes.
 *
 * Invariants:
 *  SV1. No row comes from a page that failed P1-P4.
 *  SV2. Every row of the original that is not salvaged lies in a reported lost range (or in a
 *       table whose dictionary record was lost, reported as such).
 */
import { Database } from '../api/database.js';
import { SYS_TABLES_INDEX_ID, type TableRecord } from '../dict/dictionary.js';
import { compareBytes } from '../rec/key-codec.js';
import { decodeKey } from '../rec/key-codec.js';
import { compileTable, decodeRowAt, limitsForPageSize, type Row, type TableLayout } from '../rec/row-format.js';
import type { TableSchema } from '../rec/schema.js';
import { NIL_PAGE } from '../page/page.js';
import { SYSTEM_SPACE_ID } from '../page/tablespace.js';
import { OverlayVfs } from '../vfs/overlay-vfs.js';
import type { Vfs } from '../vfs/vfs.js';
import { loadChecksums } from '../page/checksum.js';
import {
  type LeafPage,
  SpaceFile,
  detectPageSize,
  pageEntries,
  scanIndexPages,
  spaceIds,
  tableRecordsOn,
} from './page-file.js';
import { toJsonCell } from './value-text.js';

export interface LostRange {
  readonly table: string;
  readonly spaceId: number;
  /** Pages the rows were on, as far as the links name them. */
  readonly pages: readonly number[];
  /** The last key read before the gap (exclusive), or undefined: from the start. Values as JSON. */
  readonly after?: readonly unknown[];
  /** The first key read after the gap (exclusive), or undefined: to the end. */
  readonly before?: readonly unknown[];
}

export interface SalvageReport {
  readonly mode: 'recovered' | 'raw';
  /** Why recovery could not run (raw mode). */
  readonly recoveryError?: string;
  readonly tables: readonly { readonly name: string; readonly spaceId: number; readonly rows: number }[];
  readonly lost: readonly LostRange[];
  readonly badPages: readonly { readonly spaceId: number; readonly pageNo: number; readonly detail: string }[];
  /** Space files no dictionary record names (their record was on a lost page). */
  readonly unnamedSpaces: readonly number[];
}

export interface SalvageOptions {
  readonly onProgress?: (progress: { table: string; rows: number }) => void;
  /** The new database's redo log capacity (default 64 MiB). */
  readonly redoLogBytes?: number;
}

interface TableScan {
  readonly record: TableRecord;
  readonly layout: TableLayout;
  readonly rows: Row[];
  readonly lost: LostRange[];
}

/** Reads what can be read from the database in `source` and writes it into the empty `target`. */
export async function salvage(source: Vfs, target: Vfs, options: SalvageOptions = {}): Promise<SalvageReport> {
  await loadChecksums();
  const { vfs, mode, recoveryError, close } = await recoveredView(source);
  try {
    const pageSize = detectPageSize(vfs);
    const badPages: { spaceId: number; pageNo: number; detail: string }[] = [];
    const lost: LostRange[] = [];
    const records = readDictionary(vfs, pageSize, badPages, lost);
    const named = new Set(records.map((r) => r.spaceId));
    const scans: TableScan[] = [];
    for (const record of records) {
      const scan = scanTable(vfs, pageSize, record, badPages);
      lost.push(...scan.lost);
      scans.push(scan);
    }
    for (const spaceId of spaceIds(vfs)) {
      if (spaceId === SYSTEM_SPACE_ID || named.has(spaceId)) continue;
      const file = new SpaceFile(vfs, spaceId, pageSize);
      try {
        for (const bad of scanIndexPages(file, -1).bad) badPages.push({ spaceId, ...bad });
      } finally {
        file.close();
      }
    }
    const tables = await writeRows(target, pageSize, scans, options);
    const unnamedSpaces = spaceIds(vfs).filter((id) => id !== SYSTEM_SPACE_ID && !named.has(id));
    return {
      mode,
      ...(recoveryError === undefined ? {} : { recoveryError }),
      tables,
      lost,
      badPages: badPages.sort((a, b) => a.spaceId - b.spaceId || a.pageNo - b.pageNo),
      unnamedSpaces,
    };
  } finally {
    close();
  }
}

/** Step 1: the recovered state in an overlay, or the raw files when recovery fails. */
async function recoveredView(
  source: Vfs,
): Promise<{ vfs: Vfs; mode: SalvageReport['mode']; recoveryError?: string; close: () => void }> {
  const overlay = new OverlayVfs(source);
  let db: Database | undefined;
  try {
    db = await Database.open({ vfs: overlay, background: 'manual' });
    while (db.engine.rollbackRecoveredStep()) {
      // undo what was active, in memory
    }
    await db.close(); // flushes the recovered pages into the overlay
    return { vfs: overlay, mode: 'recovered', close: () => overlay.close() };
  } catch (error) {
    db?.abandon();
    overlay.close();
    return {
      vfs: source,
      mode: 'raw',
      recoveryError: error instanceof Error ? error.message : String(error),
      close: () => {},
    };
  }
}

/** Step 2: table records from every valid SYS_TABLES leaf. */
function readDictionary(
  vfs: Vfs,
  pageSize: number,
  badPages: { spaceId: number; pageNo: number; detail: string }[],
  lost: LostRange[],
): TableRecord[] {
  const file = new SpaceFile(vfs, SYSTEM_SPACE_ID, pageSize);
  try {
    const scan = scanIndexPages(file, SYS_TABLES_INDEX_ID);
    for (const bad of scan.bad) badPages.push({ spaceId: SYSTEM_SPACE_ID, ...bad });
    const leaves = orderLeaves(scan.leaves);
    for (const gap of gaps(leaves)) {
      const text = (key: Uint8Array | undefined) => (key === undefined ? undefined : [new TextDecoder().decode(key)]);
      lost.push({
        table: 'SYS_TABLES',
        spaceId: SYSTEM_SPACE_ID,
        pages: gap.pages,
        after: text(gap.after),
        before: text(gap.before),
      });
    }
    return tableRecordsOn(leaves);
  } finally {
    file.close();
  }
}

function firstKey(leaf: LeafPage): Uint8Array | undefined {
  for (const entry of pageEntries(leaf.page))
    return entry.page.slice(entry.keyOffset, entry.keyOffset + entry.keyLength);
  return undefined;
}

function lastKey(leaf: LeafPage): Uint8Array | undefined {
  let last: Uint8Array | undefined;
  for (const entry of pageEntries(leaf.page))
    last = entry.page.slice(entry.keyOffset, entry.keyOffset + entry.keyLength);
  return last;
}

/** Leaves in key order (empty ones, which only a lone root leaf can be, first). */
function orderLeaves(leaves: LeafPage[]): LeafPage[] {
  const keyed = leaves.map((leaf) => ({ leaf, first: firstKey(leaf) }));
  keyed.sort((a, b) => (a.first === undefined ? -1 : b.first === undefined ? 1 : compareBytes(a.first, b.first)));
  return keyed.map((k) => k.leaf);
}

/** Step 4: where the chain of valid leaves breaks, and the keys on both sides. */
function gaps(leaves: readonly LeafPage[]): { pages: number[]; after?: Uint8Array; before?: Uint8Array }[] {
  const result: { pages: number[]; after?: Uint8Array; before?: Uint8Array }[] = [];
  if (leaves.length === 0) return result;
  const first = leaves[0]!;
  if (first.prev !== NIL_PAGE) result.push({ pages: [first.prev], ...keyOf('before', firstKey(first)) });
  for (let i = 0; i + 1 < leaves.length; i++) {
    const a = leaves[i]!;
    const b = leaves[i + 1]!;
    if (a.next === b.pageNo) continue;
    const pages = [...new Set([a.next, b.prev].filter((p) => p !== NIL_PAGE))];
    result.push({ pages, ...keyOf('after', lastKey(a)), ...keyOf('before', firstKey(b)) });
  }
  const last = leaves[leaves.length - 1]!;
  if (last.next !== NIL_PAGE) result.push({ pages: [last.next], ...keyOf('after', lastKey(last)) });
  return result;
}

function keyOf(side: 'after' | 'before', key: Uint8Array | undefined): { after?: Uint8Array; before?: Uint8Array } {
  return key === undefined ? {} : { [side]: key };
}

/** Step 3 for one table. */
function scanTable(
  vfs: Vfs,
  pageSize: number,
  record: TableRecord,
  badPages: { spaceId: number; pageNo: number; detail: string }[],
): TableScan {
  const layout = compileTable(record.schema, limitsForPageSize(pageSize));
  const rows: Row[] = [];
  const lost: LostRange[] = [];
  let file: SpaceFile;
  try {
    file = new SpaceFile(vfs, record.spaceId, pageSize);
  } catch {
    lost.push({ table: record.name, spaceId: record.spaceId, pages: [] });
    return { record, layout, rows, lost };
  }
  try {
    const scan = scanIndexPages(file, record.primary.id);
    for (const bad of scan.bad) badPages.push({ spaceId: record.spaceId, ...bad });
    const leaves = orderLeaves(scan.leaves);
    const keyValues = (key: Uint8Array | undefined) =>
      key === undefined
        ? undefined
        : decodeKey(key, layout.primaryKey).map((value, i) =>
            toJsonCell(record.schema.columns[layout.primaryKeyColumns[i]!]!, value),
          );
    if (leaves.length === 0 && scan.bad.length > 0) {
      lost.push({ table: record.name, spaceId: record.spaceId, pages: [record.primary.rootPageNo] });
    }
    for (const gap of gaps(leaves)) {
      const after = keyValues(gap.after);
      const before = keyValues(gap.before);
      lost.push({
        table: record.name,
        spaceId: record.spaceId,
        pages: gap.pages,
        ...(after === undefined ? {} : { after }),
        ...(before === undefined ? {} : { before }),
      });
    }
    for (const leaf of leaves) {
      for (const entry of pageEntries(leaf.page)) {
        if (entry.deleteMarked) continue;
        // SV1: the page passed its checks; decoding is the row format's own (W2, W4 hold).
        rows.push(
          decodeRowAt(
            layout,
            entry.page,
            entry.keyOffset,
            entry.keyLength,
            entry.page,
            entry.valueOffset,
            entry.valueLength,
          ),
        );
      }
    }
  } finally {
    file.close();
  }
  return { record, layout, rows, lost };
}

/** Step 5. */
async function writeRows(
  target: Vfs,
  pageSize: number,
  scans: readonly TableScan[],
  options: SalvageOptions,
): Promise<{ name: string; spaceId: number; rows: number }[]> {
  const db = await Database.open({
    vfs: target,
    pageSize,
    background: 'manual',
    ...(options.redoLogBytes === undefined ? {} : { redoLogBytes: options.redoLogBytes }),
  });
  const tables: { name: string; spaceId: number; rows: number }[] = [];
  try {
    for (const scan of scans) {
      const schema: TableSchema = {
        ...scan.record.schema,
        indexes: scan.record.indexes
          .filter((index) => index.state === 'ready')
          .map((index) => ({ name: index.name, columns: index.columns, unique: index.unique })),
      };
      await db.createTable(schema);
      for (let at = 0; at < scan.rows.length; at += 1000) {
        await db.table(schema.name).insertMany(scan.rows.slice(at, at + 1000));
        options.onProgress?.({ table: schema.name, rows: Math.min(scan.rows.length, at + 1000) });
      }
      tables.push({ name: schema.name, spaceId: scan.record.spaceId, rows: scan.rows.length });
    }
  } finally {
    await db.close();
  }
  return tables;
}
