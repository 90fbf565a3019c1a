/**
 * The data dictionary: which tables and indexes exist, where their trees are.
 *
 * InnoDB counterpart: `dict/dict0boot.cc` (the dictionary header page and SYS_TABLES / SYS_INDEXES
 * in the system tablespace), `dict/dict0crea.cc` and `dict/dict0dict.cc` (the in-memory cache).
 * MySQL 8.0 moved the dictionary to the server layer with atomic DDL through a DDL log; ours keeps
 * InnoDB's older shape because one mini-transaction is all the atomicity a single-process,
 * single-threaded engine needs.
 *
 * Storage: space 0's header page records, at SPACE_USER_OFFSET + 4, the page of the dictionary
 * header, which holds the id counters and the root of SYS_TABLES, a B-tree of
 * `table name (UTF-8) -> table record (JSON)`. A table record names the table's space, its schema,
 * and for each index its id, root page, columns and state. The whole dictionary is cached in
 * memory; every change writes the tree and the cache together.
 *
 * Dictionary header page (PageType.DictHeader):
 *
 * | offset | size | field           | meaning                                              |
 * |--------|------|-----------------|------------------------------------------------------|
 * | 40     | 4    | DICT_FORMAT     | 1                                                    |
 * | 44     | 8    | NEXT_TABLE_ID   | the next table id to hand out                        |
 * | 52     | 8    | NEXT_INDEX_ID   | the next index id                                    |
 * | 60     | 4    | NEXT_SPACE_ID   | the next space id (never reused: C3 of storage.ts)   |
 * | 64     | 4    | TABLES_ROOT     | root page (space 0) of SYS_TABLES                    |
 *
 * ## Crash-safe DDL (after any crash a table or index exists whole or not at all)
 * - create table: (1) NEXT_SPACE_ID is bumped and made durable, (2) the space is created (its own
 *   durable FILE_CREATE), (3) one mtr creates every index root and inserts the table record. A
 *   crash before (3) leaves a space no record names: `cleanUp` at open drops it; its id is never
 *   handed out again because (1) came first.
 * - drop table: one mtr deletes the record (made durable), then the space is dropped: its pages
 *   leave the buffer pool in slices, then FILE_DELETE is made durable and the file removed
 *   (core/storage.ts). A crash in between leaves an orphan space that `cleanUp` drops. As InnoDB
 *   since MySQL 8.0: the dictionary entry goes first, the space after.
 * - create index: one mtr creates the root and records the index as 'building' (`beginIndex`);
 *   the row layer fills the tree in slices over many event-loop turns (row/index-build.ts); one
 *   mtr marks it 'ready' (`finishIndex`). `cleanUp` drops an index found 'building'.
 * - drop index: one mtr moves the index to the record's `droppedTrees`; the tree is freed in
 *   bounded mtrs (`freeDroppedTreeStep`, run in slices that give the event loop back), the last
 *   of which removes it from `droppedTrees`. A crash in between leaves the tree listed there, and
 *   the next open frees it, in slices too. InnoDB likewise unlinks first (the DDL log) and frees
 *   the pages afterwards (btr_free_if_exists).
 *
 * Invariants:
 *  DD1. Every table record's space exists; every space other than 0 is named by one record
 *       (once the drops `cleanUp` finds are done).
 *  DD2. Ids and space ids only grow; NEXT_SPACE_ID is durable before a space with that id exists.
 *  DD3. The cache equals the SYS_TABLES tree (checked by `validate`).
 *  DD4. An index goes 'building' -> 'ready' once (`finishIndex`), or is dropped; never back.
 *  DD5. A dropped index's tree is reachable from `droppedTrees` alone (no reader or writer uses
 *       it once the unlinking mtr commits) until the mtr that frees its root removes it there:
 *       freed pages and the list change together, so a crash between two steps finds a smaller
 *       tree still listed, and freeing it again is safe.
 */
import { InvalidArgumentError, TableExistsError, UnknownTableError } from '../errors.js';
import { assert } from '../util/assert.js';
import { NIL_PAGE, PageType, readU32, readU64 } from '../page/page.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID } from '../page/tablespace.js';
import { allocatePage } from '../page/space-allocator.js';
import type { Storage } from '../core/storage.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { BTree } from '../btree/btree.js';
import { validateSchema, type IndexDef, type TableSchema } from '../rec/schema.js';

export const DICT_HEADER_POINTER_OFFSET = SPACE_USER_OFFSET + 4;
export const DICT_FORMAT = 40;
export const DICT_NEXT_TABLE_ID = 44;
export const DICT_NEXT_INDEX_ID = 52;
export const DICT_NEXT_SPACE_ID = 60;
export const DICT_TABLES_ROOT = 64;
const DICT_FORMAT_VERSION = 1;
/** Index ids below this are the dictionary's own. */
const FIRST_USER_INDEX_ID = 16;
export const SYS_TABLES_INDEX_ID = 1;

export const INDEX_STATES = ['ready', 'building'] as const;
export type IndexState = (typeof INDEX_STATES)[number];

export interface IndexRecord {
  readonly name: string;
  readonly id: number;
  readonly rootPageNo: number;
  readonly columns: readonly string[];
  readonly unique: boolean;
  readonly state: IndexState;
  /** Transactions whose read view cannot see this id must not read through the index. */
  readonly createdAtTrxId: number;
}

export interface TableRecord {
  readonly name: string;
  readonly id: number;
  readonly spaceId: number;
  readonly schema: TableSchema;
  readonly primary: { readonly id: number; readonly rootPageNo: number };
  readonly indexes: readonly IndexRecord[];
  /** Trees of dropped indexes still being freed: root page numbers. */
  readonly droppedTrees: readonly number[];
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function nameKey(name: string): Uint8Array {
  return encoder.encode(name);
}

export class Dictionary {
  private readonly storage: Storage;
  private readonly headerPageNo: number;
  private readonly sysTables: BTree;
  private readonly cache = new Map<string, TableRecord>();
  /** Bumped by every change of the cache: layers that index it by something else rebuild then. */
  version = 0;

  private constructor(storage: Storage, headerPageNo: number, sysTables: BTree) {
    this.storage = storage;
    this.headerPageNo = headerPageNo;
    this.sysTables = sysTables;
  }

  /** Opens the dictionary, creating it in a new database (one mtr: header page and SYS_TABLES). */
  static openOrCreate(storage: Storage): Dictionary {
    const mtr = storage.startMtr();
    const systemHeader = mtr.getPage(SYSTEM_SPACE_ID, 0);
    const pointer = readU32(systemHeader, DICT_HEADER_POINTER_OFFSET);
    if (pointer !== 0 && pointer !== NIL_PAGE) {
      const header = mtr.getPage(SYSTEM_SPACE_ID, pointer);
      const root = readU32(header, DICT_TABLES_ROOT);
      mtr.commit();
      const dictionary = new Dictionary(storage, pointer, BTree.open(storage, SYSTEM_SPACE_ID, root));
      dictionary.load();
      return dictionary;
    }
    const { pageNo, page } = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.DictHeader);
    const sysTables = BTree.create(storage, SYSTEM_SPACE_ID, SYS_TABLES_INDEX_ID, mtr);
    mtr.writeU32(page, DICT_FORMAT, DICT_FORMAT_VERSION);
    mtr.writeU64(page, DICT_NEXT_TABLE_ID, 1);
    mtr.writeU64(page, DICT_NEXT_INDEX_ID, FIRST_USER_INDEX_ID);
    mtr.writeU32(page, DICT_NEXT_SPACE_ID, 1);
    mtr.writeU32(page, DICT_TABLES_ROOT, sysTables.rootPageNo);
    mtr.writeU32(systemHeader, DICT_HEADER_POINTER_OFFSET, pageNo);
    storage.log.flushUpTo(mtr.commit());
    return new Dictionary(storage, pageNo, sysTables);
  }

  private load(): void {
    for (const entry of this.sysTables.scan()) {
      const record = JSON.parse(decoder.decode(entry.value)) as TableRecord;
      this.cache.set(record.name, record);
    }
  }

  tableNames(): string[] {
    return [...this.cache.keys()].sort();
  }

  tables(): IterableIterator<TableRecord> {
    return this.cache.values();
  }

  find(name: string): TableRecord | undefined {
    return this.cache.get(name);
  }

  require(name: string): TableRecord {
    if (typeof name !== 'string') throw new InvalidArgumentError(`a table name must be a string, got ${typeof name}`);
    const record = this.cache.get(name);
    if (record === undefined) throw new UnknownTableError(name, this.tableNames());
    return record;
  }

  private header(mtr: MiniTransaction): Uint8Array {
    return mtr.getPage(SYSTEM_SPACE_ID, this.headerPageNo);
  }

  /** Takes `count` ids from a counter in `mtr`. */
  private takeIds(mtr: MiniTransaction, offset: number, count: number): number {
    const header = this.header(mtr);
    const first = readU64(header, offset);
    mtr.writeU64(header, offset, first + count);
    return first;
  }

  private writeRecord(mtr: MiniTransaction, record: TableRecord, insert: boolean): void {
    const value = encoder.encode(JSON.stringify(record));
    const key = nameKey(record.name);
    const done = insert ? this.sysTables.insert(mtr, key, value) : this.sysTables.update(mtr, key, value);
    assert(done, `DD3 SYS_TABLES ${insert ? 'insert' : 'update'} of ${record.name}`);
    this.cache.set(record.name, record);
    this.version++;
  }

  /**
   * Creates a table and its indexes (see "Crash-safe DDL"). `creatorTrxId` stamps its indexes:
   * a read view that cannot see it must not use them.
   */
  createTable(schema: TableSchema, creatorTrxId: number): TableRecord {
    validateSchema(schema);
    if (this.cache.has(schema.name)) throw new TableExistsError(schema.name);
    const storage = this.storage;
    // (1) The space id, durable before the space exists (DD2).
    const reserve = storage.startMtr();
    const header = this.header(reserve);
    const spaceId = readU32(header, DICT_NEXT_SPACE_ID);
    reserve.writeU32(header, DICT_NEXT_SPACE_ID, spaceId + 1);
    storage.log.flushUpTo(reserve.commit());
    // (2) The space.
    storage.createSpace(spaceId);
    // (3) Trees and record, atomically.
    const mtr = storage.startMtr();
    const tableId = this.takeIds(mtr, DICT_NEXT_TABLE_ID, 1);
    const secondary = schema.indexes ?? [];
    const firstIndexId = this.takeIds(mtr, DICT_NEXT_INDEX_ID, 1 + secondary.length);
    const primary = BTree.create(storage, spaceId, firstIndexId, mtr);
    const indexes = secondary.map(
      (def, i): IndexRecord => ({
        name: def.name,
        id: firstIndexId + 1 + i,
        rootPageNo: BTree.create(storage, spaceId, firstIndexId + 1 + i, mtr).rootPageNo,
        columns: def.columns,
        unique: def.unique === true,
        state: 'ready',
        createdAtTrxId: creatorTrxId,
      }),
    );
    const record: TableRecord = {
      name: schema.name,
      id: tableId,
      spaceId,
      schema: JSON.parse(JSON.stringify(schema)) as TableSchema,
      primary: { id: firstIndexId, rootPageNo: primary.rootPageNo },
      indexes,
      droppedTrees: [],
    };
    this.writeRecord(mtr, record, true);
    storage.log.flushUpTo(mtr.commit());
    return record;
  }

  /** Drops a table in one pass: its record (durably), then its space. */
  dropTable(name: string): TableRecord {
    const record = this.unlinkTable(name);
    this.storage.dropSpace(record.spaceId);
    return record;
  }

  /**
   * Drops a table's record (durably) and returns it: from now on no one can reach the table. The
   * caller then drops its space (`Storage.dropSpace`, in slices); a crash before that leaves an
   * orphan space, which `cleanUp` drops (DD1).
   */
  unlinkTable(name: string): TableRecord {
    const record = this.require(name);
    const mtr = this.storage.startMtr();
    assert(this.sysTables.delete(mtr, nameKey(name)), 'DD3 SYS_TABLES delete');
    this.storage.log.flushUpTo(mtr.commit());
    this.cache.delete(name);
    this.version++;
    return record;
  }

  /**
   * Starts adding an index: recorded as 'building' (durably) with an empty tree, which the caller
   * fills (in as many mtrs and event-loop turns as it likes), then `finishIndex` marks it 'ready'.
   * A build that fails or is cancelled drops it with `dropIndex`; one a crash interrupts is
   * dropped by `cleanUp` at the next open (DD1).
   */
  beginIndex(tableName: string, def: IndexDef, creatorTrxId: number): { tree: BTree; index: IndexRecord } {
    const table = this.require(tableName);
    const schema: TableSchema = { ...table.schema, indexes: [...(table.schema.indexes ?? []), def] };
    validateSchema(schema);
    const mtr = this.storage.startMtr();
    const id = this.takeIds(mtr, DICT_NEXT_INDEX_ID, 1);
    const tree = BTree.create(this.storage, table.spaceId, id, mtr);
    const index: IndexRecord = {
      name: def.name,
      id,
      rootPageNo: tree.rootPageNo,
      columns: def.columns,
      unique: def.unique === true,
      state: 'building',
      createdAtTrxId: creatorTrxId,
    };
    this.writeRecord(mtr, { ...table, schema, indexes: [...table.indexes, index] }, false);
    this.storage.log.flushUpTo(mtr.commit());
    return { tree, index };
  }

  /** Marks a built index 'ready' (durably): from now on it is part of the table. */
  finishIndex(tableName: string, indexId: number): TableRecord {
    const current = this.require(tableName);
    const building = current.indexes.find((i) => i.id === indexId);
    assert(
      building?.state === 'building',
      () => `DD4 index ${indexId} of ${tableName} is 'building' when it is finished`,
    );
    const ready = this.storage.startMtr();
    const record: TableRecord = {
      ...current,
      indexes: current.indexes.map((i) => (i.id === indexId ? { ...i, state: 'ready' } : i)),
    };
    this.writeRecord(ready, record, false);
    this.storage.log.flushUpTo(ready.commit());
    return record;
  }

  /** Drops an index in one pass: unlinked (durably), then its tree freed in bounded mtrs. */
  dropIndex(tableName: string, indexName: string): TableRecord {
    const root = this.require(tableName).indexes.find((i) => i.name === indexName)?.rootPageNo;
    this.unlinkIndex(tableName, indexName);
    while (root !== undefined && !this.freeDroppedTreeStep(tableName, root).done);
    return this.require(tableName);
  }

  /**
   * Drops an index: unlinked at once (durably) into the record's `droppedTrees`. Its tree is freed
   * afterwards, a bounded mtr at a time, by `freeDroppedTreeStep` (DD5).
   */
  unlinkIndex(tableName: string, indexName: string): TableRecord {
    const table = this.require(tableName);
    const index = table.indexes.find((i) => i.name === indexName);
    if (index === undefined) {
      throw new InvalidArgumentError(
        `table ${tableName} has no index ${JSON.stringify(indexName)}; indexes: ${table.indexes.map((i) => i.name).join(', ') || '(none)'}`,
      );
    }
    const mtr = this.storage.startMtr();
    const record: TableRecord = {
      ...table,
      schema: { ...table.schema, indexes: (table.schema.indexes ?? []).filter((i) => i.name !== indexName) },
      indexes: table.indexes.filter((i) => i.id !== index.id),
      droppedTrees: [...table.droppedTrees, index.rootPageNo],
    };
    this.writeRecord(mtr, record, false);
    this.storage.log.flushUpTo(mtr.commit());
    return record;
  }

  /** The trees of dropped indexes not yet freed, oldest drop first within each table. */
  droppedTrees(): Array<{ table: string; rootPageNo: number }> {
    const trees: Array<{ table: string; rootPageNo: number }> = [];
    for (const table of this.cache.values())
      for (const rootPageNo of table.droppedTrees) trees.push({ table: table.name, rootPageNo });
    return trees;
  }

  /**
   * One bounded mtr of freeing a dropped index's tree (BTree.dropStep); the mtr that frees the
   * root also takes it off `droppedTrees` (DD5). Returns the pages freed, and whether the tree is
   * gone: true too when nothing is left to free (the table was dropped since, with its space).
   */
  freeDroppedTreeStep(tableName: string, rootPageNo: number): { freed: number; done: boolean } {
    const table = this.cache.get(tableName);
    if (table === undefined || !table.droppedTrees.includes(rootPageNo)) return { freed: 0, done: true };
    return BTree.open(this.storage, table.spaceId, rootPageNo).dropStep((mtr) => {
      const current = this.require(tableName);
      this.writeRecord(mtr, { ...current, droppedTrees: current.droppedTrees.filter((r) => r !== rootPageNo) }, false);
    });
  }

  /**
   * Finishes or undoes DDL a crash interrupted (DD1): drops spaces no table names, drops indexes
   * left 'building', and frees trees of dropped indexes not yet freed, in one pass. With `defer`,
   * it only finds the orphan spaces and unlinks the 'building' indexes (their trees join
   * `droppedTrees`): the caller drops and frees in slices (row/row-ddl.ts `cleanUpStep`, run by
   * the open: api/database.ts). Returns what it found.
   */
  cleanUp(defer = false): { orphanSpaces: number[]; unfinishedIndexes: string[]; droppedTrees: number } {
    const named = new Set([...this.cache.values()].map((t) => t.spaceId));
    const orphanSpaces = this.storage.spaces.listSpaceFiles().filter((id) => id !== SYSTEM_SPACE_ID && !named.has(id));
    if (!defer) for (const spaceId of orphanSpaces) this.storage.dropSpace(spaceId);
    const unfinishedIndexes: string[] = [];
    let droppedTrees = 0;
    for (const table of [...this.cache.values()]) {
      for (const index of table.indexes) {
        if (index.state === 'building') {
          unfinishedIndexes.push(`${table.name}.${index.name}`);
          if (defer) this.unlinkIndex(table.name, index.name);
          else this.dropIndex(table.name, index.name);
        }
      }
      for (const root of this.require(table.name).droppedTrees) {
        droppedTrees++;
        if (!defer) while (!this.freeDroppedTreeStep(table.name, root).done);
      }
    }
    return { orphanSpaces, unfinishedIndexes, droppedTrees };
  }

  /** DD3: the cache equals the tree. */
  validate(): void {
    const seen = new Set<string>();
    for (const entry of this.sysTables.scan()) {
      const name = decoder.decode(entry.key);
      const cached = this.cache.get(name);
      assert(
        cached !== undefined && JSON.stringify(cached) === decoder.decode(entry.value),
        `DD3 dictionary cache of ${name} equals SYS_TABLES`,
      );
      seen.add(name);
    }
    assert(seen.size === this.cache.size, 'DD3 no cached table is missing from SYS_TABLES');
    this.sysTables.check();
  }
}
