/**
 * A table as the row engine uses it: its dictionary record compiled for the codecs, and its trees.
 *
 * Rebuilt whenever the dictionary record changes (an index added or dropped), so the compiled
 * layout and the list of trees always describe the same schema.
 */
import type { Storage } from '../core/storage.js';
import { BTree } from '../btree/btree.js';
import { btreeLimits } from '../btree/index-page.js';
import { compileTable, limitsForPageSize, type TableLayout } from '../rec/row-format.js';
import type { IndexRecord, TableRecord } from '../dict/dictionary.js';
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

  constructor(storage: Storage, record: TableRecord) {
    this.record = record;
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
