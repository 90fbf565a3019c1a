/**
 * The row layer's side of large values: reading them for the caller, partial updates, and what
 * rollback and purge do with the LOB undo fields.
 *
 * InnoDB counterpart: the LOB calls of the row layer: `row_sel_store_mysql_field` /
 * `btr_copy_externally_stored_field` (reading an external field), `row_upd_clust_rec` with
 * `lob::update` (partial update), `row_undo_mod_upd_exist_sec` / `lob::rollback` (rollback), and
 * `row_purge_upd_exist_or_extern` (purge of replaced LOBs and old LOB versions).
 *
 * Inside the row layer a row holds a large value as its `LobRef` (rec/lob-ref.ts): updates that
 * do not touch it keep the reference, and old versions rebuilt from undo carry the LOB version and
 * the undo diffs a read must apply (rec/undo-fields.ts UF3). `materializeRow` turns references
 * into values at the API's door.
 *
 * What undo fields mean to rollback and purge (kinds of rec/undo-fields.ts):
 *
 * | kind       | rollback (the change is undone)               | purge (every view sees the change)     |
 * |------------|-----------------------------------------------|----------------------------------------|
 * | Inline     | a LOB the change wrote in its place is freed  | -                                      |
 * | Extern     | the same; the old reference comes back        | the old LOB is freed                   |
 * | LobDiffs   | the old bytes go back in place                | -                                      |
 * | LobVersion | the copied slots are dropped, VERSION - 1     | versions older than the new one freed  |
 */
import { InvalidArgumentError, TypeMismatchError, UnknownColumnError } from '../errors.js';
import { checkLob, checkLobSpace, type LobPageOwners } from '../lob/lob-check.js';
import type { LobDiff } from '../lob/lob-build.js';
import {
  finishFree,
  finishRollbackVersion,
  freeLobInSteps,
  prepareFree,
  prepareRollbackVersion,
  rangeSlots,
  truncateVersions,
} from '../lob/lob-free.js';
import { readLob } from '../lob/lob-read.js';
import { LOB_SMALL_CHANGE_BYTES, undoSmallChange } from '../lob/lob-update.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { LOB_REF_BYTES, LobRef } from '../rec/lob-ref.js';
import { externRefsOf, readTrxId, type StoredValue } from '../rec/row-format.js';
import { describe, jsonText, type ColumnDef, type ColumnValue } from '../rec/schema.js';
import {
  LOB_DIFFS_MAX,
  type LobDiffInput,
  UndoFieldKind,
  decodeLobDiffsField,
  decodeExternField,
  decodeLobVersionField,
  undoFieldKind,
} from '../rec/undo-fields.js';
import type { UndoRecordCursor } from '../undo/undo-record.js';
import { type PageSource, undoRecordBytesMax } from '../undo/undo-log.js';
import { UndoLogCursor, firstUndoRecord, nextUndoRecord, openUndoLog, undoLogInfo } from '../undo/undo-log-read.js';
import type { TrxSystem } from '../mvcc/trx-system.js';
import { lobValueOf } from './index-write.js';
import type { TableCache, TableRuntime } from './table-runtime.js';

/** A row as the row layer holds it (values or references). */
export type LobRow = Record<string, StoredValue | null>;

const utf8 = new TextEncoder();

// ------------------------------------------------------------------ reading

/** Replaces every reference in `row` by the value it names (in place); returns `row`. */
export function materializeRow<R extends Record<string, unknown>>(table: TableRuntime, row: R): R {
  const layout = table.layout;
  if (layout.varCountFor[layout.fieldCount] === 0) return row;
  for (const name in row) {
    const value = row[name];
    if (value instanceof LobRef) (row as Record<string, unknown>)[name] = materializeValue(table, name, value);
  }
  return row;
}

/** The value a reference names, as its column's type (bytes, string or parsed json). */
export function materializeValue(table: TableRuntime, name: string, ref: LobRef): ColumnValue {
  const bytes = new Uint8Array(ref.length);
  readLob(table.lobs, ref, 0, ref.length, bytes, 0);
  return lobValueOf(table, name, bytes) as ColumnValue;
}

/** The column a slice read, a stream or a partial update names: a string, bytes or json column. */
export function byteColumn(table: TableRuntime, name: string, what: string): ColumnDef {
  const index = table.layout.columnIndexByName.get(name);
  const column = index === undefined ? undefined : table.layout.schema.columns[index];
  if (column === undefined)
    throw new UnknownColumnError(
      table.name,
      name,
      table.layout.schema.columns.map((c) => c.name),
    );
  if (column.type !== 'bytes' && column.type !== 'string' && column.type !== 'json')
    throw new TypeMismatchError(name, `a bytes, string or json column for ${what}`, `a ${column.type} column`);
  return column;
}

/** The bytes of an in-row value of a byte column, as a LOB would hold them. */
export function inlineBytes(column: ColumnDef, value: ColumnValue): Uint8Array {
  if (column.type === 'bytes') return value as Uint8Array;
  if (column.type === 'string') return utf8.encode(value as string);
  return utf8.encode(jsonText(column.name, value));
}

/** The stored length of a value (a reference's, or the in-row value's bytes). */
export function storedLength(column: ColumnDef, value: StoredValue): number {
  return value instanceof LobRef ? value.length : inlineBytes(column, value).length;
}

/** Checks `offset` and `length` as a slice of a value of `total` bytes (ERR_INVALID_ARGUMENT). */
export function checkSlice(offset: unknown, length: unknown, total: number): void {
  if (!Number.isSafeInteger(offset) || (offset as number) < 0)
    throw new InvalidArgumentError(`a slice offset must be an integer >= 0, got ${describe(offset)}`);
  if (!Number.isSafeInteger(length) || (length as number) < 0)
    throw new InvalidArgumentError(`a slice length must be an integer >= 0, got ${describe(length)}`);
  if ((offset as number) + (length as number) > total)
    throw new InvalidArgumentError(
      `the slice [${String(offset)}, +${String(length)}) reads past the end of the value (${total} bytes)`,
    );
}

/** Copies bytes [offset, offset + length) of a stored value into `out` (by default a new array). */
export function readStoredSlice(
  table: TableRuntime,
  column: ColumnDef,
  value: StoredValue,
  offset: number,
  length: number,
  out: Uint8Array = new Uint8Array(length),
): Uint8Array {
  if (value instanceof LobRef) readLob(table.lobs, value, offset, length, out, 0);
  else out.set(inlineBytes(column, value).subarray(offset, offset + length));
  return out;
}

// ------------------------------------------------------------------ partial updates

/**
 * Checks the diffs of a partial update and copies them (the caller's arrays may change while the
 * update waits for a lock). ERR_INVALID_ARGUMENT for anything but `{ offset, bytes }` objects with
 * an integer offset >= 0 and a Uint8Array.
 */
export function copyDiffs(diffs: unknown): LobDiff[] {
  if (!Array.isArray(diffs))
    throw new InvalidArgumentError(`partial update diffs must be an array, got ${describe(diffs)}`);
  return diffs.map((diff: unknown, i) => {
    const d = diff as { offset?: unknown; bytes?: unknown } | null;
    if (d === null || typeof d !== 'object')
      throw new InvalidArgumentError(`diff ${i} must be an object { offset, bytes }, got ${describe(diff)}`);
    if (!Number.isSafeInteger(d.offset) || (d.offset as number) < 0)
      throw new InvalidArgumentError(`diff ${i}: offset must be an integer >= 0, got ${describe(d.offset)}`);
    if (!(d.bytes instanceof Uint8Array))
      throw new InvalidArgumentError(`diff ${i}: bytes must be a Uint8Array, got ${describe(d.bytes)}`);
    return { offset: d.offset as number, bytes: d.bytes.slice() };
  });
}

/** ERR_INVALID_ARGUMENT unless every diff lies inside a value of `total` bytes (a diff never changes the length). */
export function checkDiffsInside(diffs: readonly LobDiff[], total: number): void {
  diffs.forEach((diff, i) => {
    if (diff.offset + diff.bytes.length > total)
      throw new InvalidArgumentError(
        `diff ${i} [${diff.offset}, +${diff.bytes.length}) runs past the end of the value (${total} bytes); a partial update keeps the length`,
      );
  });
}

/** `bytes` with `diffs` applied in order (a copy). */
export function applyDiffs(bytes: Uint8Array, diffs: readonly LobDiff[]): Uint8Array {
  const out = bytes.slice();
  for (const diff of diffs) out.set(diff.bytes, diff.offset);
  return out;
}

/** Whether byte `b` continues a UTF-8 sequence. */
function isContinuation(b: number | undefined): boolean {
  return b !== undefined && (b & 0xc0) === 0x80;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * For a string column: each diff's bytes must be whole UTF-8 and start and end on character
 * boundaries of the value (checked on the bytes around it: `around(offset)` reads one byte of the
 * value as it is before the diffs), so the value stays valid text. ERR_INVALID_ARGUMENT otherwise.
 */
export function checkUtf8Diffs(
  diffs: readonly LobDiff[],
  total: number,
  around: (offset: number) => number | undefined,
): void {
  diffs.forEach((diff, i) => {
    if (diff.bytes.length === 0) return;
    try {
      strictUtf8.decode(diff.bytes);
    } catch {
      throw new InvalidArgumentError(
        `diff ${i}: bytes are not whole UTF-8 characters (a string column keeps valid text)`,
      );
    }
    const end = diff.offset + diff.bytes.length;
    if (isContinuation(around(diff.offset)) || (end < total && isContinuation(around(end))))
      throw new InvalidArgumentError(`diff ${i} [${diff.offset}, ${end}) splits a UTF-8 character of the value`);
  });
}

/**
 * `bytes` with `diffs` applied, checked to stay a valid value of `column`: a string's bytes whole
 * UTF-8, a json value's text JSON (ERR_INVALID_ARGUMENT, nothing changed, otherwise).
 */
export function checkedPatch(column: ColumnDef, bytes: Uint8Array, diffs: readonly LobDiff[]): Uint8Array {
  const patched = applyDiffs(bytes, diffs);
  if (column.type === 'bytes') return patched;
  let text: string;
  try {
    text = strictUtf8.decode(patched);
  } catch {
    throw new InvalidArgumentError(
      `the diffs would leave column ${JSON.stringify(column.name)} with bytes that are not UTF-8`,
    );
  }
  if (column.type === 'json') {
    try {
      JSON.parse(text);
    } catch {
      throw new InvalidArgumentError(
        `the diffs would leave json column ${JSON.stringify(column.name)} with text that is not JSON`,
      );
    }
  }
  return patched;
}

/**
 * Whether a partial update is a small change (InnoDB's LOB_SMALL_CHANGE_THRESHOLD): at most 100
 * bytes in all, in diffs whose undo field keeps the undo record within its limit (U3).
 */
export function smallChangeFits(table: TableRuntime, key: Uint8Array, diffs: readonly LobDiff[]): boolean {
  if (diffs.length > LOB_DIFFS_MAX) return false;
  let bytes = 0;
  let field = LOB_REF_BYTES + 2;
  for (const diff of diffs) {
    bytes += diff.bytes.length;
    field += 16 + diff.bytes.length;
  }
  const record = 64 + key.length + field; // header, key, one field (undo-record.ts byte table)
  return bytes <= LOB_SMALL_CHANGE_BYTES && record <= undoRecordBytesMax(table.lobs.g.pageSize);
}

// ------------------------------------------------------------------ rollback

/** What rolling back one undo record does to LOBs (see the table at the top). */
export interface LobUndoPlan {
  /** LOBs the change wrote (in the record now, not in the row before it): freed. */
  readonly created: readonly LobRef[];
  /** LOBs of the row before the change: freed only when rollback removes the record. */
  readonly before: readonly LobRef[];
  readonly versions: readonly { readonly ref: LobRef; readonly slots: readonly number[] }[];
  readonly small: readonly { readonly ref: LobRef; readonly diffs: readonly LobDiffInput[] }[];
}

export const NO_LOB_UNDO: LobUndoPlan = { created: [], before: [], versions: [], small: [] };

function refsIn(row: LobRow): LobRef[] {
  const refs: LobRef[] = [];
  for (const name in row) {
    const value = row[name];
    if (value instanceof LobRef) refs.push(value);
  }
  return refs;
}

/**
 * The LOB work of undoing `record` (its fields positioned anywhere) on the record whose newest
 * version is `current`; `old` is the row before the change (undefined for an insert).
 */
export function planLobUndo(current: LobRow, old: LobRow | undefined, record: UndoRecordCursor): LobUndoPlan {
  const currentRefs = refsIn(current);
  if (currentRefs.length === 0 && (record.flags & 1) === 0) return NO_LOB_UNDO;
  if (old === undefined) return { created: currentRefs, before: [], versions: [], small: [] };
  const oldRefs = refsIn(old);
  const created = currentRefs.filter((ref) => !oldRefs.some((o) => o.sameLob(ref)));
  const versions: { ref: LobRef; slots: number[] }[] = [];
  const small: { ref: LobRef; diffs: LobDiffInput[] }[] = [];
  record.rewindFields();
  while (record.nextField()) {
    const kind = undoFieldKind(record.fieldNo);
    const end = record.valueOffset + record.valueLength;
    if (kind === UndoFieldKind.LobVersion) {
      const field = decodeLobVersionField(record.bytes, record.valueOffset, end);
      versions.push({ ref: field.ref, slots: rangeSlots(field.ranges) });
    } else if (kind === UndoFieldKind.LobDiffs) {
      const field = decodeLobDiffsField(record.bytes, record.valueOffset, end);
      small.push({ ref: field.ref, diffs: field.diffs });
    }
  }
  return { created, before: oldRefs, versions, small };
}

/** Before the rollback's mtr: the LOB pages it frees or drops, in bounded mtrs of their own. */
export function prepareLobUndo(table: TableRuntime, plan: LobUndoPlan, removing: boolean): void {
  const ctx = table.lobs;
  for (const ref of plan.created) prepareFree(ctx, ref.firstPageNo, ref.lobId);
  if (removing) for (const ref of plan.before) prepareFree(ctx, ref.firstPageNo, ref.lobId);
  for (const { ref, slots } of plan.versions)
    prepareRollbackVersion(ctx, ref.firstPageNo, ref.lobId, ref.version + 1, slots);
}

/**
 * In the rollback's mtr (with the record restored or removed): the rest. `recordRemoved`: the
 * mtr removes the record with `changeClustered`, which frees the LOBs it references itself.
 */
export function finishLobUndo(
  mtr: MiniTransaction,
  table: TableRuntime,
  plan: LobUndoPlan,
  removing: boolean,
  recordRemoved: boolean,
): void {
  const ctx = table.lobs;
  if (!recordRemoved) for (const ref of plan.created) finishFree(mtr, ctx, ref.firstPageNo, ref.lobId);
  if (removing) for (const ref of plan.before) finishFree(mtr, ctx, ref.firstPageNo, ref.lobId);
  for (const { ref, slots } of plan.versions)
    finishRollbackVersion(mtr, ctx, ref.firstPageNo, ref.lobId, ref.version + 1, slots);
  for (const { ref, diffs } of plan.small) undoSmallChange(mtr, ctx, ref, diffs);
}

// ------------------------------------------------------------------ purge

/**
 * Purge of an update-type undo record: the LOBs its Extern fields name (replaced whole) are freed,
 * and the versions its LobVersion fields made old are freed (lob-free.ts); each in its own mtrs and
 * idempotent, so a purge repeated after a crash frees nothing twice (README.md L4, L5).
 */
export function purgeLobFields(table: TableRuntime, record: UndoRecordCursor): void {
  if ((record.flags & 1) === 0) return;
  const refs: { kind: number; bytes: Uint8Array }[] = [];
  record.rewindFields();
  while (record.nextField()) {
    const kind = undoFieldKind(record.fieldNo);
    if (kind === UndoFieldKind.Extern || kind === UndoFieldKind.LobVersion)
      refs.push({ kind, bytes: record.bytes.slice(record.valueOffset, record.valueOffset + record.valueLength) });
  }
  for (const { kind, bytes } of refs) {
    if (kind === UndoFieldKind.Extern) {
      const ref = decodeExternField(bytes, 0, bytes.length);
      freeLobInSteps(table.lobs, ref.firstPageNo, ref.lobId);
    } else {
      const field = decodeLobVersionField(bytes, 0, bytes.length);
      truncateVersions(table.lobs, field.ref.firstPageNo, field.ref.lobId, field.ref.version + 1, field.ranges);
    }
  }
}

// ------------------------------------------------------------------ checking

/**
 * L1 for every table: the LOBs the clustered records reference, and those undo records still name
 * (replaced values older views may read), each reached once, and no LOB page reached by none.
 * Returns the LOBs and LOB pages seen.
 */
export function checkLobs(tables: TableCache, trxSystem: TrxSystem, pages: PageSource): LobCheckReport {
  const trxSysPage = trxSystem.page;
  const owners = new Map<number, LobPageOwners>();
  const ownersOf = (table: TableRuntime): LobPageOwners => {
    let map = owners.get(table.id);
    if (map === undefined) owners.set(table.id, (map = new Map()));
    return map;
  };
  let lobs = 0;
  let olderVersionPages = 0;
  const holding = [...tables.all()].filter((table) => table.lobs.everHeldLobs);
  for (const table of holding) {
    for (const entry of table.clustered.scan()) {
      // A LOB may be mid-free (L5) under a record purge is removing (delete-marked) or one whose
      // change a rollback is undoing (its writer still active: a crash cut the rollback short).
      const mayBeFreeing = entry.deleteMarked || trxSystem.isActive(readTrxId(entry.value, 0));
      for (const ref of externRefsOf(table.layout, entry.value, 0, entry.value.length)) {
        lobs++;
        olderVersionPages += checkLob(table.lobs, ref, `${table.name}: a record's value`, ownersOf(table), {
          mayBeFreeing,
        });
      }
    }
  }
  // Values replaced whole: their LOBs live on until purge reaches the undo record naming them.
  const logs = trxSysPage.activeUndoLogs(pages).map((info) => info.log);
  for (let log = trxSysPage.historyFirst(pages); log !== undefined; ) {
    logs.push(log);
    const next = undoLogInfo(pages, log).historyNext;
    log = next === 0xffffffff ? undefined : openUndoLog(pages, next);
  }
  const cursor = new UndoLogCursor();
  for (const log of logs) {
    if (log.kind !== 'update') continue;
    for (let on = firstUndoRecord(pages, log, cursor) !== undefined; on; on = nextUndoRecord(pages, cursor)) {
      if ((cursor.flags & 1) === 0) continue;
      const table = tables.getById(cursor.tableId);
      if (table === undefined || !holding.includes(table)) continue;
      const refs: LobRef[] = [];
      cursor.rewindFields();
      while (cursor.nextField()) {
        if (undoFieldKind(cursor.fieldNo) !== UndoFieldKind.Extern) continue;
        const end = cursor.valueOffset + cursor.valueLength;
        refs.push(decodeExternField(cursor.bytes, cursor.valueOffset, end));
      }
      const where = `an undo record of trx ${log.trxId}`;
      for (const ref of refs) {
        // Purge may have freed it already (and its first page be another LOB's now).
        if (!table.lobs.isFirstPageOf(ref.firstPageNo, ref.lobId)) continue;
        lobs++;
        checkLob(table.lobs, ref, `${table.name}: ${where}`, ownersOf(table), { mayBeFreeing: true });
      }
    }
  }
  let lobPages = 0;
  for (const table of holding) lobPages += checkLobSpace(table.lobs, ownersOf(table));
  return { lobs, lobPages, olderVersionPages };
}

/** What the LOB checker saw. */
export interface LobCheckReport {
  /** LOBs referenced by a record or an undo record. */
  readonly lobs: number;
  /** Pages of type LobFirst, LobIndex and LobData in the tables' spaces: every one reachable. */
  readonly lobPages: number;
  /** Data pages holding an older version of a slot, kept for readers until purge frees them. */
  readonly olderVersionPages: number;
}
