/**
 * A table as the row engine uses it: its dictionary record compiled for the codecs, and its trees.
 *
 * Rebuilt whenever the dictionary record changes (an index added or dropped), so the compiled
 * layout and the list of trees always describe the same schema. `TableCache` holds the current
 * one of each table, by name and by id (InnoDB's dict_sys table cache, for the row layer).
 */
import type { Storage } from '../core/storage.js';
import { BTree } from '../btree/btree.js';
import { btreeLimits } from '../btree/index-page.js';
import { compileTable, limitsForPageSize, type TableLayout } from '../rec/row-format.js';
import type { Dictionary, IndexRecord, TableRecord } from '../dict/dictionary.js';
import { LobContext } from '../lob/lob-context.js';
import { assert } from '../util/assert.js';

export interface SecondaryRuntime {
  readonly index: IndexRecord;
  readonly tree: BTree;
  /** Its position in `layout.indexes`. */
  readonly layoutIndex: number;
}

export class TableRuntime {
  readonly record: TableRecord;
  readonly layout: TableLayout;
  readonly clustered: BTree;
  readonly secondaries: readonly SecondaryRuntime[];
  /** Scratch for encoded keys and rows: one engine operation at a time uses them. */
  readonly keyScratch: Uint8Array;
  readonly rowScratch: Uint8Array;
  readonly entryBytesMax: number;
  /** Its values stored off-page (src/lob/), in its tablespace. */
  readonly lobs: LobContext;
  /** The index being built for this table, if any: no write may reach it meanwhile (IB1, index-build.ts). */
  indexBuilding: string | undefined = undefined;

  constructor(storage: Storage, record: TableRecord, valueBytesMax?: number) {
    this.record = record;
    this.lobs = new LobContext(storage, record.spaceId, valueBytesMax);
    const limits = limitsForPageSize(storage.pageSize);
    const tree = btreeLimits(storage.pageSize);
    this.layout = compileTable(record.schema, {
      maxKeyBytes: Math.min(limits.maxKeyBytes, tree.keyBytesMax),
      maxRowBytes: Math.min(limits.maxRowBytes, tree.entryBytesMax),
    });
    this.entryBytesMax = tree.entryBytesMax;
    this.clustered = BTree.open(storage, record.spaceId, record.primary.rootPageNo);
    this.secondaries = record.indexes.map((index) => {
      const layoutIndex = this.layout.indexes.findIndex((l) => l.def.name === index.name);
      assert(layoutIndex >= 0, `index ${index.name} is in the schema of ${record.name}`);
      return { index, tree: BTree.open(storage, record.spaceId, index.rootPageNo), layoutIndex };
    });
    this.keyScratch = new Uint8Array(this.layout.maxKeyBytes + 16);
    this.rowScratch = new Uint8Array(this.layout.maxRowBytes + 16);
  }

  get name(): string {
    return this.record.name;
  }

  get id(): number {
    return this.record.id;
  }

  secondary(name: string): SecondaryRuntime | undefined {
    return this.secondaries.find((s) => s.index.name === name);
  }
}

/** The tables' runtimes, by name and by id, kept in step with the dictionary. */
export class TableCache {
  private readonly storage: Storage;
  private readonly dictionary: Dictionary;
  private readonly byName = new Map<string, TableRuntime>();
  private readonly byId = new Map<number, TableRuntime>();

  private readonly valueBytesMax: number | undefined;

  constructor(storage: Storage, dictionary: Dictionary, valueBytesMax?: number) {
    this.storage = storage;
    this.dictionary = dictionary;
    this.valueBytesMax = valueBytesMax;
  }

  /** Builds the runtime of every table in the dictionary. */
  loadAll(): void {
    this.byName.clear();
    this.byId.clear();
    for (const record of this.dictionary.tables()) this.install(record);
  }

  /** Builds (or rebuilds, after DDL) the runtime of one table record. */
  install(record: TableRecord): TableRuntime {
    const runtime = new TableRuntime(this.storage, record, this.valueBytesMax);
    this.byName.set(record.name, runtime);
    this.byId.set(record.id, runtime);
    return runtime;
  }

  remove(table: TableRuntime): void {
    this.byName.delete(table.name);
    this.byId.delete(table.id);
  }

  /** The table called `name`; ERR_UNKNOWN_TABLE when there is none. */
  get(name: string): TableRuntime {
    const runtime = this.byName.get(name);
    if (runtime === undefined) this.dictionary.require(name); // throws UnknownTableError
    return runtime!;
  }

  /** The table with id `id`, or undefined when it was dropped (undo and purge skip its records). */
  getById(id: number): TableRuntime | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<TableRuntime> {
    return this.byName.values();
  }

  get size(): number {
    return this.byName.size;
  }
}
