/**
 * An in-memory model of minno's tables, for the API's property, crash and DDL tests.
 *
 * A table is a sorted array of rows by primary key; a secondary index is the table's rows sorted
 * by (index columns, primary-key columns), computed when asked. Keys compare as the key codec
 * promises (src/rec/key-codec.ts, K1): NULL first, numbers by value with -0 = +0 and every NaN
 * equal and above +Infinity, false < true, strings by code point, bytes lexicographically with a
 * proper prefix first. Rows are stored as the engine reads them back (`normalizeRow`): int64 as
 * bigint, -0 and NaN of a primary-key float as the key decodes them, json through a JSON round
 * trip, a missing nullable value as null.
 *
 * Writes return the outcome the engine must give: done, no such row, or a duplicate in the first
 * index the engine checks (PRIMARY first, then the unique secondary indexes in creation order).
 * Transactions are modelled by cloning: `DbModel.clone()` is a snapshot.
 *
 * Also here: the test schemas, seeded value generators, `expectSameData`, which compares a whole
 * database (every table, every primary-key and index scan) with a model, `Twin`, a database and
 * its model changed together, and `refused`, which checks a refusal's code and message.
 */
import { expect } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { KeyInput, KeyRange } from '../../src/api/types.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { ColumnDef, ColumnValue, IndexDef, JsonValue, KeyValue, TableSchema } from '../../src/rec/schema.js';
import { MinnoError, type ErrorCode } from '../../src/errors.js';
import type { Row } from '../../src/rec/row-format.js';
import type { RandomSource } from '../../src/util/random.js';

/** A stored value; null is SQL NULL. */
export type Cell = ColumnValue | null;
export type ModelRow = { readonly [column: string]: Cell };

// ------------------------------------------------------------------ key order (K1)

function compareCodePoints(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(j)!;
    if (x !== y) return x < y ? -1 : 1;
    i += x > 0xffff ? 2 : 1;
    j += y > 0xffff ? 2 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

function compareByteArrays(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length < 0 ? -1 : a.length === b.length ? 0 : 1;
}

/** One key field against another, as the encoded keys compare. */
export function compareCells(a: Cell | undefined, b: Cell | undefined): number {
  const aNull = a === null || a === undefined;
  const bNull = b === null || b === undefined;
  if (aNull || bNull) return aNull && bNull ? 0 : aNull ? -1 : 1;
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    const x = BigInt(a as bigint | number);
    const y = BigInt(b as bigint | number);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : -1;
    return a < b ? -1 : a > b ? 1 : 0; // -0 == +0
  }
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (typeof a === 'string' && typeof b === 'string') return compareCodePoints(a, b);
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareByteArrays(a, b);
  throw new Error(`model: cannot compare ${typeof a} with ${typeof b}`);
}

/** Field by field over the shorter length (a prefix compares equal to what it starts). */
export function comparePrefix(row: readonly Cell[], bound: readonly Cell[]): number {
  for (let i = 0; i < bound.length && i < row.length; i++) {
    const c = compareCells(row[i], bound[i]);
    if (c !== 0) return c;
  }
  return 0;
}

export function compareTuples(a: readonly Cell[], b: readonly Cell[]): number {
  const c = comparePrefix(a, b);
  return c !== 0 ? c : a.length - b.length;
}

// ------------------------------------------------------------------ rows

/** The row as the engine reads it back. */
export function normalizeRow(schema: TableSchema, row: Row): ModelRow {
  const out: Record<string, Cell> = {};
  for (const column of schema.columns) out[column.name] = normalizeCell(schema, column, row[column.name]);
  return out;
}

function normalizeCell(schema: TableSchema, column: ColumnDef, value: ColumnValue | undefined): Cell {
  if (value === null || value === undefined) return null;
  switch (column.type) {
    case 'int64':
      return BigInt(value as bigint | number);
    case 'float64':
      // K3: a key float reads back -0 as +0 (NaN stays NaN).
      return schema.primaryKey.includes(column.name) && Object.is(value, -0) ? 0 : value;
    case 'bytes':
      return new Uint8Array(value as Uint8Array);
    case 'json': {
      const text = JSON.stringify(value);
      const parsed = JSON.parse(text) as JsonValue;
      return parsed;
    }
    default:
      return value;
  }
}

/** A key as the API takes it: a scalar for a one-value key half of the time, else an array. */
export function keyInput(values: readonly Cell[], scalar = true): KeyInput {
  if (values.length === 1 && scalar) return values[0] as KeyValue;
  return values as readonly KeyValue[];
}

export interface ModelRange {
  readonly gt?: readonly Cell[];
  readonly gte?: readonly Cell[];
  readonly lt?: readonly Cell[];
  readonly lte?: readonly Cell[];
  readonly reverse?: boolean;
  readonly limit?: number;
}

/** The API's KeyRange for a model range (one-value bounds as scalars when `scalar`). */
export function apiRange(range: ModelRange, scalar = true): KeyRange {
  const out: { -readonly [K in keyof KeyRange]: KeyRange[K] } = {};
  if (range.gt !== undefined) out.gt = keyInput(range.gt, scalar);
  if (range.gte !== undefined) out.gte = keyInput(range.gte, scalar);
  if (range.lt !== undefined) out.lt = keyInput(range.lt, scalar);
  if (range.lte !== undefined) out.lte = keyInput(range.lte, scalar);
  if (range.reverse !== undefined) out.reverse = range.reverse;
  if (range.limit !== undefined) out.limit = range.limit;
  return out;
}

function inRange(key: readonly Cell[], range: ModelRange): boolean {
  if (range.gt !== undefined && !(comparePrefix(key, range.gt) > 0)) return false;
  if (range.gte !== undefined && !(comparePrefix(key, range.gte) >= 0)) return false;
  if (range.lt !== undefined && !(comparePrefix(key, range.lt) < 0)) return false;
  if (range.lte !== undefined && !(comparePrefix(key, range.lte) <= 0)) return false;
  return true;
}

function applyRange<T>(sorted: readonly T[], keyOf: (item: T) => readonly Cell[], range: ModelRange): T[] {
  const hits = sorted.filter((item) => inRange(keyOf(item), range));
  if (range.reverse === true) hits.reverse();
  return range.limit === undefined ? hits : hits.slice(0, range.limit);
}

export type Outcome =
  | { readonly kind: 'done' }
  | { readonly kind: 'missing' }
  | { readonly kind: 'duplicate'; readonly index: string };

const DONE: Outcome = { kind: 'done' };
const MISSING: Outcome = { kind: 'missing' };

// ------------------------------------------------------------------ tables

export class TableModel {
  schema: TableSchema;
  private rows: ModelRow[];

  constructor(schema: TableSchema, rows: ModelRow[] = []) {
    this.schema = schema;
    this.rows = rows;
  }

  get name(): string {
    return this.schema.name;
  }

  get size(): number {
    return this.rows.length;
  }

  /** Every row in primary-key order. */
  all(): readonly ModelRow[] {
    return this.rows;
  }

  indexDef(name: string): IndexDef {
    const def = this.schema.indexes.find((i) => i.name === name);
    if (def === undefined) throw new Error(`model: table ${this.name} has no index ${name}`);
    return def;
  }

  pk(row: ModelRow): Cell[] {
    return this.schema.primaryKey.map((c) => row[c] ?? null);
  }

  indexKey(def: IndexDef, row: ModelRow): Cell[] {
    return def.columns.map((c) => row[c] ?? null);
  }

  /** Binary search by primary key. */
  private search(key: readonly Cell[]): { found: boolean; at: number } {
    let lo = 0;
    let hi = this.rows.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = compareTuples(this.pk(this.rows[mid]!), key);
      if (c === 0) return { found: true, at: mid };
      if (c < 0) lo = mid + 1;
      else hi = mid;
    }
    return { found: false, at: lo };
  }

  get(key: readonly Cell[]): ModelRow | undefined {
    const { found, at } = this.search(key);
    return found ? this.rows[at] : undefined;
  }

  /** A unique index `row` would duplicate, ignoring the row whose key is `self`; NULLs never clash. */
  uniqueConflict(
    row: ModelRow,
    self: readonly Cell[] | undefined,
    only?: (def: IndexDef) => boolean,
  ): string | undefined {
    for (const def of this.schema.indexes) {
      if (def.unique !== true || (only !== undefined && !only(def))) continue;
      const key = this.indexKey(def, row);
      if (key.some((v) => v === null)) continue;
      for (const other of this.rows) {
        if (self !== undefined && compareTuples(this.pk(other), self) === 0) continue;
        if (compareTuples(this.indexKey(def, other), key) === 0) return def.name;
      }
    }
    return undefined;
  }

  insert(input: Row): Outcome {
    const row = normalizeRow(this.schema, input);
    const key = this.pk(row);
    const { found, at } = this.search(key);
    if (found) return { kind: 'duplicate', index: 'PRIMARY' };
    const unique = this.uniqueConflict(row, undefined);
    if (unique !== undefined) return { kind: 'duplicate', index: unique };
    this.rows.splice(at, 0, row);
    return DONE;
  }

  /** Whether setting `changes` on the row at `key` changes its primary key (as key equality). */
  movesRow(key: readonly Cell[], changes: Row): boolean {
    const current = this.get(key);
    if (current === undefined) return false;
    const next = normalizeRow(this.schema, { ...current, ...changes });
    return compareTuples(this.pk(next), key) !== 0;
  }

  update(key: readonly Cell[], changes: Row): Outcome {
    const current = this.get(key);
    if (current === undefined) return MISSING;
    const merged: Record<string, ColumnValue | undefined> = { ...current };
    for (const [name, value] of Object.entries(changes)) merged[name] = value === undefined ? null : value;
    const next = normalizeRow(this.schema, merged);
    const nextKey = this.pk(next);
    if (compareTuples(nextKey, key) !== 0) {
      if (this.get(nextKey) !== undefined) return { kind: 'duplicate', index: 'PRIMARY' };
      const unique = this.uniqueConflict(next, key);
      if (unique !== undefined) return { kind: 'duplicate', index: unique };
      this.delete(key);
      this.insert(next);
      return DONE;
    }
    const changed = (def: IndexDef): boolean =>
      compareTuples(this.indexKey(def, current), this.indexKey(def, next)) !== 0;
    const unique = this.uniqueConflict(next, key, changed);
    if (unique !== undefined) return { kind: 'duplicate', index: unique };
    // The key is equal but may be spelled differently (-0 for 0): the stored key stays.
    const stored: Record<string, Cell> = { ...next };
    for (const c of this.schema.primaryKey) stored[c] = current[c] ?? null;
    this.rows[this.search(key).at] = stored;
    return DONE;
  }

  delete(key: readonly Cell[]): boolean {
    const { found, at } = this.search(key);
    if (found) this.rows.splice(at, 1);
    return found;
  }

  scan(range: ModelRange = {}): ModelRow[] {
    return applyRange(this.rows, (row) => this.pk(row), range);
  }

  /** The rows in the order of index `name`: index columns, then primary key. */
  indexOrder(name: string): ModelRow[] {
    const def = this.indexDef(name);
    return [...this.rows].sort(
      (a, b) => compareTuples(this.indexKey(def, a), this.indexKey(def, b)) || compareTuples(this.pk(a), this.pk(b)),
    );
  }

  scanIndex(name: string, range: ModelRange = {}): ModelRow[] {
    const def = this.indexDef(name);
    return applyRange(this.indexOrder(name), (row) => this.indexKey(def, row), range);
  }

  getByIndex(name: string, key: readonly Cell[]): ModelRow | undefined {
    return this.scanIndex(name, { gte: key, lte: key, limit: 1 })[0];
  }

  /** Whether a unique index over `columns` could be built: no two rows share non-NULL values. */
  hasDuplicates(columns: readonly string[]): boolean {
    const def: IndexDef = { name: '?', columns };
    const keys = this.rows.map((r) => this.indexKey(def, r)).filter((k) => !k.some((v) => v === null));
    keys.sort(compareTuples);
    return keys.some((k, i) => i > 0 && compareTuples(k, keys[i - 1]!) === 0);
  }

  clone(): TableModel {
    return new TableModel(this.schema, [...this.rows]);
  }
}

// ------------------------------------------------------------------ databases

export class DbModel {
  readonly tables = new Map<string, TableModel>();

  table(name: string): TableModel {
    const table = this.tables.get(name);
    if (table === undefined) throw new Error(`model: no table ${name}`);
    return table;
  }

  createTable(schema: TableSchema): void {
    this.tables.set(schema.name, new TableModel(schema));
  }

  dropTable(name: string): void {
    this.tables.delete(name);
  }

  /** Adds an index; a unique one over duplicate values is refused with 'duplicate'. */
  createIndex(tableName: string, def: IndexDef): Outcome {
    const table = this.table(tableName);
    if (def.unique === true && table.hasDuplicates(def.columns)) return { kind: 'duplicate', index: def.name };
    table.schema = { ...table.schema, indexes: [...table.schema.indexes, def] };
    return DONE;
  }

  dropIndex(tableName: string, name: string): void {
    const table = this.table(tableName);
    table.schema = { ...table.schema, indexes: table.schema.indexes.filter((i) => i.name !== name) };
  }

  clone(): DbModel {
    const copy = new DbModel();
    for (const [name, table] of this.tables) copy.tables.set(name, table.clone());
    return copy;
  }

  /** A short fingerprint for messages: table sizes and index names. */
  describe(): string {
    return [...this.tables.values()]
      .map((t) => `${t.name}(${t.size} rows; ${t.schema.indexes.map((i) => i.name).join(',')})`)
      .join(' ');
  }
}

// ------------------------------------------------------------------ comparing a database with a model

/** Index names of a table as the engine has them (creation order). */
export function indexNames(db: Database, table: string): string[] {
  return db.engine.table(table).secondaries.map((s) => s.index.name);
}

/**
 * The database (read through `tx`, or autocommit) holds exactly the model: the same tables, the
 * same rows in primary-key order forwards and backwards, the same indexes, each scanning to the
 * model's index order.
 */
export function expectSameData(db: Database, model: DbModel, tx?: Transaction, what = 'data'): void {
  expect(db.tables, `${what}: tables`).toEqual([...model.tables.keys()].sort());
  for (const table of model.tables.values()) {
    const handle = tx === undefined ? db.table(table.name) : tx.table(table.name);
    expect([...handle.scan()], `${what}: ${table.name} rows`).toEqual(table.all());
    expect(handle.count(), `${what}: ${table.name} count`).toBe(table.size);
    expect(indexNames(db, table.name), `${what}: ${table.name} indexes`).toEqual(
      table.schema.indexes.map((i) => i.name),
    );
    for (const def of table.schema.indexes) {
      expect([...handle.scanIndex(def.name)], `${what}: ${table.name}.${def.name}`).toEqual(table.indexOrder(def.name));
    }
  }
}

// ------------------------------------------------------------------ schemas

/**
 * `items`: a composite primary key (string, int64) and five secondary indexes: unique and not,
 * composite, over nullable columns, over every key type. Long region values make wide keys, so a
 * few hundred rows on 4 KiB pages already give trees of three levels.
 */
export const ITEMS: TableSchema = {
  name: 'items',
  columns: [
    { name: 'region', type: 'string', maxLength: 200 },
    { name: 'id', type: 'int64' },
    { name: 'n', type: 'int32' },
    { name: 'f', type: 'float64', nullable: true },
    { name: 'b', type: 'boolean', nullable: true },
    { name: 's', type: 'string', nullable: true, maxLength: 12 },
    { name: 'bin', type: 'bytes', nullable: true, maxLength: 16 },
    { name: 'j', type: 'json', nullable: true },
    { name: 'email', type: 'string', nullable: true },
    { name: 'pad', type: 'string' },
  ],
  primaryKey: ['region', 'id'],
  indexes: [
    { name: 'by_n', columns: ['n'] },
    { name: 'by_email', columns: ['email'], unique: true },
    { name: 'by_f_b', columns: ['f', 'b'] },
    { name: 'by_s_n', columns: ['s', 'n'], unique: true },
    { name: 'by_bin', columns: ['bin'] },
  ],
};

/** `pairs`: a primary key of (bytes, float64) and unique indexes on a nullable int32 and float64. */
export const PAIRS: TableSchema = {
  name: 'pairs',
  columns: [
    { name: 'k', type: 'bytes', maxLength: 8 },
    { name: 'x', type: 'float64' },
    { name: 'on', type: 'boolean' },
    { name: 'v', type: 'int32', nullable: true },
    { name: 'g', type: 'float64', nullable: true },
    { name: 'w', type: 'json', nullable: true },
    { name: 'note', type: 'string', nullable: true },
  ],
  primaryKey: ['k', 'x'],
  indexes: [
    { name: 'uniq_v', columns: ['v'], unique: true },
    { name: 'uniq_g', columns: ['g'], unique: true },
    { name: 'by_on_note', columns: ['on', 'note'] },
  ],
};

// ------------------------------------------------------------------ seeded values

export function pick<T>(rng: RandomSource, values: readonly T[]): T {
  return values[rng.int(values.length)]!;
}

/**
 * Four regions of ~380 UTF-8 bytes each (one with an astral character): primary keys close to the
 * 492-byte key limit of 4 KiB pages give internal pages of ~10 children, so a few dozen rows
 * already make a three-level tree.
 */
export const REGIONS = ['eu', 'us', 'ap-\u{1F600}', '\u00e9'].map((r) => `${r}-${'\u0436'.repeat(185)}`);
export const INT32S = [-(2 ** 31), -1, 0, 1, 2, 3, 7, 2 ** 31 - 1];
export const FLOATS = [null, -0, 0, 1.5, -1.5, Number.NaN, Infinity, -Infinity, 5e-324, -1e300, 2];
export const STRINGS = [
  null,
  '',
  'a',
  'A',
  '\u00e9',
  '\u{1F600}',
  '\u{10000}',
  '\uFFFF',
  'a\u0000b',
  'zz',
  '\u{10FFFF}x',
];
export const JSONS: readonly JsonValue[] = [
  null,
  1,
  'text',
  true,
  [1, 'two', null],
  { a: { b: [1.5, false] } },
  { '\u{1F600}': '\u00e9' },
];

export function bytesValue(rng: RandomSource, max: number): Uint8Array {
  const out = new Uint8Array(rng.int(max + 1));
  for (let i = 0; i < out.length; i++) out[i] = pick(rng, [0, 1, 0x7f, 0xff]);
  return out;
}

/** How wide the value domains are: narrow ones make duplicates and unique clashes common. */
export interface ValueScale {
  readonly idRange: number;
  readonly nRange: number;
  readonly emailRange: number;
  readonly padMax: number;
}

export const SMALL_SCALE: ValueScale = { idRange: 40, nRange: 20, emailRange: 40, padMax: 900 };

export function itemKey(rng: RandomSource, idRange: number): Cell[] {
  const id = rng.chance(0.03) ? pick(rng, [-(2n ** 63n), 2n ** 63n - 1n, -1n]) : BigInt(rng.int(idRange));
  return [pick(rng, REGIONS), id];
}

export function itemRow(rng: RandomSource, key: readonly Cell[], scale: ValueScale = SMALL_SCALE): Row {
  const [region, id] = key;
  return {
    region: region as string,
    // int64 may be given as a safe-integer number; it reads back as a bigint.
    id:
      rng.chance(0.3) && typeof id === 'bigint' && id >= -(2n ** 53n) && id <= 2n ** 53n ? Number(id) : (id as bigint),
    n: rng.chance(0.3) ? pick(rng, INT32S) : rng.int(scale.nRange),
    f: pick(rng, FLOATS),
    b: pick(rng, [null, true, false]),
    s: pick(rng, STRINGS),
    ...(rng.chance(0.2) ? {} : { bin: rng.chance(0.3) ? null : bytesValue(rng, 4) }),
    j: pick(rng, JSONS),
    email: rng.chance(0.3) ? null : `u${rng.int(scale.emailRange)}@example.org`,
    pad: 'p'.repeat(rng.int(scale.padMax)),
  };
}

/** A random subset of the columns of `items` to change (sometimes the primary key). */
export function itemChanges(rng: RandomSource, scale: ValueScale = SMALL_SCALE): Row {
  const fresh = itemRow(rng, itemKey(rng, scale.idRange), scale);
  const changes: Record<string, ColumnValue | undefined> = {};
  for (const column of ['n', 'f', 'b', 's', 'bin', 'j', 'email', 'pad'])
    if (rng.chance(0.35)) changes[column] = fresh[column] ?? null;
  if (rng.chance(0.1)) changes['region'] = fresh['region'];
  if (rng.chance(0.1)) changes['id'] = fresh['id'];
  if (Object.keys(changes).length === 0) changes['pad'] = fresh['pad'];
  return changes;
}

export function pairKey(rng: RandomSource): Cell[] {
  return [bytesValue(rng, 3), pick(rng, [0, -0, 1.5, -1.5, Number.NaN, Infinity, -Infinity])];
}

export function pairRow(rng: RandomSource, key: readonly Cell[]): Row {
  return {
    k: key[0] as Uint8Array,
    x: key[1] as number,
    on: rng.chance(0.5),
    v: rng.chance(0.3) ? null : rng.int(30),
    g: pick(rng, FLOATS),
    w: pick(rng, JSONS),
    note: pick(rng, STRINGS),
  };
}

export function pairChanges(rng: RandomSource): Row {
  const fresh = pairRow(rng, pairKey(rng));
  const changes: Record<string, ColumnValue | undefined> = {};
  for (const column of ['on', 'v', 'g', 'w', 'note']) if (rng.chance(0.4)) changes[column] = fresh[column] ?? null;
  if (rng.chance(0.1)) changes['x'] = fresh['x'];
  if (Object.keys(changes).length === 0) changes['note'] = fresh['note'];
  return changes;
}

/** A random bound: a prefix of a key near the data (1 to `of.length` leading values). */
function boundFrom(rng: RandomSource, of: readonly Cell[]): Cell[] {
  return of.slice(0, 1 + rng.int(of.length)).map((v) => v);
}

/**
 * A random range over keys like `sample()`: any subset of gt/gte/lt/lte (full keys and prefixes),
 * reverse, and a limit. NULL never appears in a bound.
 */
export function randomRange(rng: RandomSource, sample: () => readonly Cell[]): ModelRange {
  const range: { -readonly [K in keyof ModelRange]: ModelRange[K] } = {};
  const bound = (): Cell[] | undefined => {
    const b = boundFrom(rng, sample());
    return b.some((v) => v === null) ? undefined : b;
  };
  if (rng.chance(0.4)) range.gte = bound();
  else if (rng.chance(0.3)) range.gt = bound();
  if (rng.chance(0.4)) range.lte = bound();
  else if (rng.chance(0.3)) range.lt = bound();
  if (rng.chance(0.4)) range.reverse = true;
  if (rng.chance(0.3)) range.limit = rng.int(8);
  for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (range[k] === undefined) delete range[k];
  return range;
}

/** Prints a value for an op log line (bigints, bytes, long strings shortened). */
export function show(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Uint8Array) return `bytes[${[...v].join(',')}]`;
    if (typeof v === 'number' && !Number.isFinite(v)) return String(v);
    if (typeof v === 'number' && Object.is(v, -0)) return '-0';
    if (typeof v === 'string' && v.length > 24) return `${v.slice(0, 12)}…(${v.length})`;
    return v;
  });
}

// ------------------------------------------------------------------ known engine bugs

/** How the row engine compares an old and a new primary-key value to decide that a row moves. */
function engineSameValue(a: Cell | undefined, b: Cell | undefined): boolean {
  if (a instanceof Uint8Array && b instanceof Uint8Array) return compareByteArrays(a, b) === 0;
  return (
    Object.is(a, b) ||
    (typeof a === 'bigint' && typeof b === 'number' && a === BigInt(b)) ||
    (typeof b === 'bigint' && typeof a === 'number' && b === BigInt(a))
  );
}

/**
 * The outcome the engine gives today for `update(key, changes)` where it differs from the
 * correct one (the model's), or undefined where it does not. Two known bugs (see the report):
 *  - BUG-PK-MOVE-UNIQUE: a primary-key change checks the new row against every unique index
 *    without excluding the row itself, so a row that keeps a non-NULL unique value clashes with
 *    its own old entry (row-engine.ts moveRow -> insertChecks -> uniqueCheck).
 *  - BUG-PK-FLOAT-ZERO: the engine decides "the key changes" with Object.is, so setting a float64
 *    key column from 0 to -0 (equal keys) is a move onto itself: ERR_DUPLICATE_KEY on PRIMARY.
 */
export function engineBugOutcome(
  table: TableModel,
  key: readonly Cell[],
  changes: Row,
): { outcome: Outcome; bug: string } | undefined {
  const current = table.get(key);
  if (current === undefined) return undefined;
  const moves = table.schema.primaryKey.some((c) => c in changes && !engineSameValue(current[c], changes[c] ?? null));
  if (!moves) return undefined;
  const next = normalizeRow(table.schema, { ...current, ...changes });
  const nextKey = table.pk(next);
  const correct = table.clone().update(key, changes);
  let outcome: Outcome;
  if (table.get(nextKey) !== undefined) outcome = { kind: 'duplicate', index: 'PRIMARY' };
  else {
    const unique = table.uniqueConflict(next, undefined);
    outcome = unique === undefined ? DONE : { kind: 'duplicate', index: unique };
  }
  if (sameOutcome(outcome, correct)) return undefined;
  return { outcome, bug: compareTuples(nextKey, key) === 0 ? 'BUG-PK-FLOAT-ZERO' : 'BUG-PK-MOVE-UNIQUE' };
}

export function sameOutcome(a: Outcome, b: Outcome): boolean {
  return a.kind === b.kind && (a.kind !== 'duplicate' || (b.kind === 'duplicate' && a.index === b.index));
}

/** What a write did, as an Outcome: `false` is 'missing', ERR_DUPLICATE_KEY is 'duplicate'. */
export async function outcomeOf(write: () => Promise<unknown>): Promise<Outcome> {
  try {
    return (await write()) === false ? MISSING : DONE;
  } catch (error) {
    const e = error as { code?: string; index?: string; table?: string; message?: string };
    if (e.code !== 'ERR_DUPLICATE_KEY') throw error;
    // The message names the index and the table.
    expect(e.message).toContain(JSON.stringify(e.index));
    expect(e.message).toContain(JSON.stringify(e.table));
    return { kind: 'duplicate', index: e.index ?? '?' };
  }
}

// ------------------------------------------------------------------ a database and its model, changed together

/**
 * A database and its model, changed together: each change is applied to a copy of the model and
 * run on the database; the copy becomes the model when the database call settles (`settle`,
 * which the crash tests override to know what was in flight). Writes check that the database gives
 * the model's outcome.
 */
export class Twin {
  model: DbModel;

  constructor(
    readonly db: Database,
    model: DbModel = new DbModel(),
  ) {
    this.model = model;
  }

  /** Makes `next` the model once `action` settles. */
  protected async settle(next: DbModel, action: () => Promise<unknown>): Promise<void> {
    await action();
    this.model = next;
  }

  async change(onModel: (next: DbModel) => void, action: () => Promise<unknown>): Promise<void> {
    const next = this.model.clone();
    onModel(next);
    await this.settle(next, action);
  }

  /** A write whose outcome the model predicts; refused writes change nothing. */
  async write(table: string, onModel: (t: TableModel) => Outcome, onDb: () => Promise<unknown>): Promise<Outcome> {
    const next = this.model.clone();
    const expected = onModel(next.table(table));
    let actual: Outcome = DONE;
    await this.settle(next, async () => {
      actual = await outcomeOf(onDb);
    });
    if (!sameOutcome(actual, expected))
      throw new Error(`write on ${table}: expected ${show(expected)}, got ${show(actual)}`);
    return actual;
  }

  createTable(schema: TableSchema): Promise<void> {
    return this.change(
      (m) => m.createTable(schema),
      () => this.db.createTable(schema),
    );
  }

  dropTable(name: string): Promise<void> {
    return this.change(
      (m) => m.dropTable(name),
      () => this.db.dropTable(name),
    );
  }

  createIndex(table: string, def: IndexDef): Promise<void> {
    return this.change(
      (m) => expect(m.createIndex(table, def).kind).toBe('done'),
      () => this.db.createIndex(table, def),
    );
  }

  dropIndex(table: string, name: string): Promise<void> {
    return this.change(
      (m) => m.dropIndex(table, name),
      () => this.db.dropIndex(table, name),
    );
  }

  /** Autocommit insertMany (one transaction); every row must be new. */
  load(table: string, rows: readonly Row[]): Promise<void> {
    return this.change(
      (m) => {
        for (const row of rows) expect(m.table(table).insert(row).kind).toBe('done');
      },
      () => this.db.table(table).insertMany(rows),
    );
  }

  insert(table: string, row: Row): Promise<Outcome> {
    return this.write(
      table,
      (t) => t.insert(row),
      () => this.db.table(table).insert(row),
    );
  }

  update(table: string, key: readonly Cell[], changes: Row): Promise<Outcome> {
    return this.write(
      table,
      (t) => t.update(key, changes),
      () => this.db.table(table).update(keyInput(key), changes),
    );
  }

  delete(table: string, key: readonly Cell[]): Promise<Outcome> {
    return this.write(
      table,
      (t) => (t.delete(key) ? DONE : MISSING),
      () => this.db.table(table).delete(keyInput(key)),
    );
  }

  /** The database equals the model (autocommit reads) and passes its checker. */
  verify(what?: string): void {
    expectSameData(this.db, this.model, undefined, what);
    this.db.check();
  }
}

// ------------------------------------------------------------------ refusals

/** Calls `attempt`, awaiting a promise and draining a (sync or async) iterable; returns what it threw. */
export async function thrown(attempt: () => unknown): Promise<unknown> {
  try {
    const result = attempt();
    if (result instanceof Promise) await result;
    else if (result !== null && typeof result === 'object' && Symbol.iterator in result)
      [...(result as Iterable<unknown>)];
    else if (result !== null && typeof result === 'object' && Symbol.asyncIterator in result)
      for await (const _ of result as AsyncIterable<unknown>);
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be refused, and it was not');
}

/** The call is refused with `code`, as a MinnoError whose message contains every `mention`. */
export async function refused(
  attempt: () => unknown,
  code: ErrorCode,
  mentions: readonly string[] = [],
): Promise<MinnoError> {
  const error = await thrown(attempt);
  expect(error, String(error)).toBeInstanceOf(MinnoError);
  const e = error as MinnoError;
  expect(e.code, e.message).toBe(code);
  for (const mention of mentions) expect(e.message).toContain(mention);
  return e;
}
