/**
 * classic-level: LevelDB in the same process, through abstract-level's promise API, as its users
 * write it: sublevels for tables, JSON values, `await db.get()`, iterators for ranges, and atomic
 * `db.batch()` writes across sublevels.
 *
 * LevelDB has no secondary indexes. The k index is emulated as abstract-level's README shows for
 * indexes: a sublevel `sbtestN_k` whose keys are `<k>:<id>` (zero-padded so they sort), written in
 * the same batch as the row. LevelDB has no transactions either: an event reads (read-only events
 * from one explicit snapshot), then writes everything in one batch; a statement that reads the row
 * it changes (k=k+1, a delete that must find the index entry) reads the newest row, or this event's
 * own pending write of it. Between that read and the batch another client may change the row, so
 * with several clients an index entry can go stale, which real users of this pattern live with.
 *
 * Durable: every batch and put is written with `{ sync: true }` (LevelDB fsyncs its log before the
 * write resolves). Not durable: `sync: false`, LevelDB's default (safe against a process crash, a
 * power cut loses recent writes).
 */
import type { ClassicLevel as ClassicLevelType } from 'classic-level';
import { sbtestName, type SbtestRow } from '../workloads/sbtest.js';
import type { SbEvent, SbStatement } from '../workloads/sysbench.js';
import { fieldNames, USERTABLE, type YcsbOperation, type YcsbRecord } from '../workloads/ycsb.js';
import { distinctSortedDigest, distinctValues, mergeRanges, sortedDigest, textDigest } from './digest.js';
import type { EngineAdapter, EngineConfig, EngineSession } from './engine.js';

interface SbValue {
  k: number;
  c: string;
  pad: string;
}

/** The part of a sublevel the adapter uses (abstract-level's types are generic beyond need). */
interface Sublevel<V> {
  get(key: string, options?: { snapshot?: unknown }): Promise<V | undefined>;
  values(options: { gte?: string; lte?: string; lt?: string; snapshot?: unknown }): { all(): Promise<V[]> };
  keys(options: { gte?: string; lt?: string; snapshot?: unknown }): { all(): Promise<string[]> };
  iterator(options: { gte: string; limit: number }): { all(): Promise<[string, V][]> };
}

interface SbtestLevels {
  readonly rows: Sublevel<SbValue>;
  readonly byK: Sublevel<string>;
}

interface Operation {
  readonly type: 'put' | 'del';
  readonly sublevel: unknown;
  readonly key: string;
  readonly value?: unknown;
}

/** Ids and k values as fixed-width decimal strings, so keys sort as the numbers do. */
function pad(n: number): string {
  return String(n).padStart(10, '0');
}

function indexKey(k: number, id: number): string {
  return `${pad(k)}:${pad(id)}`;
}

/** The writes of one event and the rows it has changed, read back before the batch is written. */
class PendingBatch {
  readonly operations: Operation[] = [];
  /** Rows written by this event, per table (null: deleted). */
  private readonly rows = new Map<SbtestLevels, Map<string, SbValue | null>>();

  private written(levels: SbtestLevels): Map<string, SbValue | null> {
    let rows = this.rows.get(levels);
    if (rows === undefined) this.rows.set(levels, (rows = new Map()));
    return rows;
  }

  async row(levels: SbtestLevels, key: string): Promise<SbValue | undefined> {
    const pending = this.written(levels).get(key);
    if (pending !== undefined) return pending ?? undefined;
    return levels.rows.get(key);
  }

  put(levels: SbtestLevels, key: string, value: SbValue): void {
    this.written(levels).set(key, value);
    this.operations.push({ type: 'put', sublevel: levels.rows, key, value });
  }

  del(levels: SbtestLevels, key: string): void {
    this.written(levels).set(key, null);
    this.operations.push({ type: 'del', sublevel: levels.rows, key });
  }

  index(type: 'put' | 'del', levels: SbtestLevels, k: number, id: number): void {
    this.operations.push(
      type === 'put'
        ? { type, sublevel: levels.byK, key: indexKey(k, id), value: '' }
        : { type, sublevel: levels.byK, key: indexKey(k, id) },
    );
  }
}

function isWrite(s: SbStatement): boolean {
  return (
    s.op === 'index_update' ||
    s.op === 'non_index_update' ||
    s.op === 'delete' ||
    s.op === 'insert' ||
    s.op === 'insert_rows'
  );
}

class ClassicLevelSession implements EngineSession {
  private readonly tables = new Map<number, SbtestLevels>();
  private fields: string[] = [];
  private usertableLevel: Sublevel<Record<string, string>> | undefined;

  constructor(
    private readonly db: ClassicLevelType<string, unknown>,
    private readonly sync: boolean,
  ) {}

  embeddedVersion(): undefined {
    return undefined;
  }

  private levels(table: number): SbtestLevels {
    let levels = this.tables.get(table);
    if (levels === undefined) {
      const name = sbtestName(table);
      levels = {
        rows: this.db.sublevel(name, { valueEncoding: 'json' }) as unknown as Sublevel<SbValue>,
        byK: this.db.sublevel(`${name}_k`, { valueEncoding: 'utf8' }) as unknown as Sublevel<string>,
      };
      this.tables.set(table, levels);
    }
    return levels;
  }

  private async writeBatch(operations: readonly Operation[]): Promise<void> {
    if (operations.length === 0) return;
    await this.db.batch(operations as never, { sync: this.sync });
  }

  async createSbtest(count: number): Promise<void> {
    for (let t = 1; t <= count; t++) this.levels(t);
  }

  private async insertRow(levels: SbtestLevels, batch: PendingBatch, row: SbtestRow): Promise<void> {
    const key = pad(row.id);
    const old = await batch.row(levels, key);
    if (old !== undefined) batch.index('del', levels, old.k, row.id);
    batch.put(levels, key, { k: row.k, c: row.c, pad: row.pad });
    batch.index('put', levels, row.k, row.id);
  }

  async loadSbtest(table: number, rows: readonly SbtestRow[]): Promise<void> {
    // A load writes new ids only: no need to look for rows to replace.
    const levels = this.levels(table);
    const batch = new PendingBatch();
    for (const row of rows) {
      batch.put(levels, pad(row.id), { k: row.k, c: row.c, pad: row.pad });
      batch.index('put', levels, row.k, row.id);
    }
    await this.writeBatch(batch.operations);
  }

  private async read(s: SbStatement, snapshot: unknown): Promise<number> {
    const levels = this.levels(s.table);
    const options = snapshot === undefined ? {} : { snapshot };
    switch (s.op) {
      case 'point_select': {
        const row = await levels.rows.get(pad(s.id), options);
        return row === undefined ? 0 : 1 + textDigest(row.c);
      }
      case 'simple_range': {
        let digest = 0;
        for (const row of await levels.rows.values({ gte: pad(s.low), lte: pad(s.high), ...options }).all())
          digest += 1 + textDigest(row.c);
        return digest;
      }
      case 'sum_range': {
        let sum = 0;
        for (const row of await levels.rows.values({ gte: pad(s.low), lte: pad(s.high), ...options }).all())
          sum += row.k;
        return sum;
      }
      case 'order_range':
        return sortedDigest(
          (await levels.rows.values({ gte: pad(s.low), lte: pad(s.high), ...options }).all()).map((row) => row.c),
        );
      case 'distinct_range':
        return distinctSortedDigest(
          (await levels.rows.values({ gte: pad(s.low), lte: pad(s.high), ...options }).all()).map((row) => row.c),
        );
      case 'random_points': {
        let digest = 0;
        for (const k of distinctValues(s.ks)) {
          for (const key of await levels.byK.keys({ gte: pad(k), lt: pad(k + 1), ...options }).all()) {
            const id = Number(key.slice(11));
            const row = await levels.rows.get(pad(id), options);
            if (row !== undefined) digest += id + row.k;
          }
        }
        return digest;
      }
      case 'random_ranges': {
        let count = 0;
        for (const [low, high] of mergeRanges(s.ranges))
          count += (await levels.byK.keys({ gte: pad(low), lt: pad(high + 1), ...options }).all()).length;
        return count;
      }
      default:
        throw new Error(`classic-level adapter: ${s.op} is not a read`);
    }
  }

  /** Adds a write statement to `batch`; returns what it changed. */
  private async write(s: SbStatement, batch: PendingBatch): Promise<number> {
    const levels = this.levels(s.table);
    switch (s.op) {
      case 'index_update': {
        const key = pad(s.id);
        const row = await batch.row(levels, key);
        if (row === undefined) return 0;
        batch.index('del', levels, row.k, s.id);
        const updated = { ...row, k: row.k + 1 };
        batch.put(levels, key, updated);
        batch.index('put', levels, updated.k, s.id);
        return 1;
      }
      case 'non_index_update': {
        const key = pad(s.id);
        const row = await batch.row(levels, key);
        if (row === undefined) return 0;
        batch.put(levels, key, { ...row, c: s.c });
        return 1;
      }
      case 'delete': {
        const key = pad(s.id);
        const row = await batch.row(levels, key);
        if (row === undefined) return 0;
        batch.del(levels, key);
        batch.index('del', levels, row.k, s.id);
        return 1;
      }
      case 'insert':
        await this.insertRow(levels, batch, s.row);
        return 1;
      case 'insert_rows':
        for (const row of s.rows) await this.insertRow(levels, batch, row);
        return s.rows.length;
      default:
        return this.read(s, undefined);
    }
  }

  async sysbench(event: SbEvent): Promise<number> {
    let digest = 0;
    if (event.transaction === 'none') {
      for (const s of event.statements) {
        if (!isWrite(s)) {
          digest += await this.read(s, undefined);
          continue;
        }
        const batch = new PendingBatch();
        digest += await this.write(s, batch);
        await this.writeBatch(batch.operations);
      }
      return digest;
    }
    // A transaction: its reads from one snapshot, its writes in one batch.
    const snapshot = this.db.snapshot();
    const batch = new PendingBatch();
    try {
      for (const s of event.statements)
        digest += isWrite(s) ? await this.write(s, batch) : await this.read(s, snapshot);
    } finally {
      await snapshot.close();
    }
    await this.writeBatch(batch.operations);
    return digest;
  }

  useUsertable(fieldcount: number): void {
    this.fields = fieldNames(fieldcount);
    this.usertableLevel = this.db.sublevel(USERTABLE, { valueEncoding: 'json' }) as unknown as Sublevel<
      Record<string, string>
    >;
  }

  async createUsertable(fieldcount: number): Promise<void> {
    this.useUsertable(fieldcount);
  }

  private usertable(): Sublevel<Record<string, string>> {
    if (this.usertableLevel === undefined) throw new Error('classic-level adapter: usertable not opened');
    return this.usertableLevel;
  }

  private value(record: YcsbRecord): Record<string, string> {
    const value: Record<string, string> = {};
    record.fields.forEach((field, i) => (value[this.fields[i]!] = field));
    return value;
  }

  async loadUsertable(records: readonly YcsbRecord[]): Promise<void> {
    const sublevel = this.usertable();
    await this.writeBatch(
      records.map((record) => ({ type: 'put', sublevel, key: record.key, value: this.value(record) })),
    );
  }

  private async readRecord(key: string): Promise<number> {
    const value = await this.usertable().get(key);
    if (value === undefined) return 0;
    let digest = 1;
    for (const f of this.fields) digest += textDigest(value[f]!);
    return digest;
  }

  /** YCSB's update of one field: read the record, change it, write it back. */
  private async update(key: string, field: number, text: string): Promise<number> {
    const sublevel = this.usertable();
    const value = await sublevel.get(key);
    if (value === undefined) return 0;
    value[this.fields[field]!] = text;
    await this.writeBatch([{ type: 'put', sublevel, key, value }]);
    return 1;
  }

  async ycsb(op: YcsbOperation): Promise<number> {
    switch (op.op) {
      case 'read':
        return this.readRecord(op.key);
      case 'scan': {
        let digest = 0;
        for (const [, value] of await this.usertable().iterator({ gte: op.key, limit: op.count }).all())
          digest += 1 + textDigest(value['FIELD0']!);
        return digest;
      }
      case 'update':
        return this.update(op.key, op.field, op.value);
      case 'insert':
        await this.writeBatch([
          { type: 'put', sublevel: this.usertable(), key: op.record.key, value: this.value(op.record) },
        ]);
        return 1;
      case 'read-modify-write':
        return (await this.readRecord(op.key)) + (await this.update(op.key, op.field, op.value));
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const classicLevel: EngineAdapter = {
  kind: 'classic-level',
  packageName: 'classic-level',
  durability: (durable) =>
    durable
      ? 'every batch written with { sync: true }: LevelDB fsyncs its log before the write resolves'
      : "sync: false (LevelDB's default): the log is written, not fsynced; a power cut can lose recent writes",
  secondaryIndex: 'emulated: a sublevel sbtestN_k of <k>:<id> keys written in the same atomic batch as the row',
  notes: [
    'promise API (await get, iterator().all(), batch); JSON values; read-only events read from one explicit snapshot',
    'no transactions: an event reads, then writes one batch; with several clients a read-then-write can race',
  ],
  isRetryable: () => false,
  async open(dir: string, config: EngineConfig): Promise<EngineSession> {
    const { ClassicLevel } = await import('classic-level');
    const db = new ClassicLevel<string, unknown>(dir, { keyEncoding: 'utf8', valueEncoding: 'json' });
    await db.open();
    return new ClassicLevelSession(db, config.durable);
  },
};
