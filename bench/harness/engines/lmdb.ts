/**
 * lmdb (lmdb-js): LMDB in the same process, as its README shows it used: synchronous reads from a
 * memory map, writes in asynchronous batched transactions (`db.transaction(fn)`: the callback runs
 * inside the write transaction, reads in it see its own writes), msgpack values, one named
 * database per table.
 *
 * LMDB has no secondary indexes. The k index is emulated as lmdb-js's docs suggest for indexes: a
 * second named database `sbtestN_k` with `dupSort` (k -> id entries), written in the same
 * transaction as the row.
 *
 * Durable: the defaults (overlappingSync on Linux): a transaction is committed, then the data file
 * is fsynced; the harness awaits `db.flushed` after each write so an acknowledged write is on disk.
 * Not durable: `noSync: true` (writes reach the OS, LMDB never syncs).
 */
import type * as Lmdb from 'lmdb';
import { sbtestName, type SbtestRow } from '../workloads/sbtest.js';
import type { SbEvent, SbStatement } from '../workloads/sysbench.js';
import { fieldNames, USERTABLE, type YcsbOperation, type YcsbRecord } from '../workloads/ycsb.js';
import { distinctSortedDigest, distinctValues, mergeRanges, sortedDigest, textDigest } from './digest.js';
import type { EngineAdapter, EngineConfig, EngineSession } from './engine.js';

/** A row's value: the columns other than the key. */
interface SbValue {
  k: number;
  c: string;
  pad: string;
}

interface SbtestDbs {
  readonly rows: Lmdb.Database<SbValue, number>;
  readonly byK: Lmdb.Database<number, number>;
}

/** Named databases: two per sbtest table, one usertable. */
const MAX_DBS = 2 * 64 + 2;

function isWrite(s: SbStatement): boolean {
  return (
    s.op === 'index_update' ||
    s.op === 'non_index_update' ||
    s.op === 'delete' ||
    s.op === 'insert' ||
    s.op === 'insert_rows'
  );
}

class LmdbSession implements EngineSession {
  private readonly tables = new Map<number, SbtestDbs>();
  private fields: string[] = [];
  private usertableDb: Lmdb.Database<Record<string, string>, string> | undefined;

  constructor(
    private readonly root: Lmdb.RootDatabase,
    private readonly durable: boolean,
  ) {}

  embeddedVersion(): undefined {
    return undefined;
  }

  private dbs(table: number): SbtestDbs {
    let dbs = this.tables.get(table);
    if (dbs === undefined) {
      const name = sbtestName(table);
      dbs = {
        rows: this.root.openDB<SbValue, number>(name, { encoding: 'msgpack' }),
        byK: this.root.openDB<number, number>(`${name}_k`, { dupSort: true, encoding: 'ordered-binary' }),
      };
      this.tables.set(table, dbs);
    }
    return dbs;
  }

  /** A write transaction; when durable, settles once it is flushed to disk. */
  private async write<T>(body: () => T): Promise<T> {
    const result = await this.root.transaction(body);
    if (this.durable) await this.root.flushed;
    return result;
  }

  async createSbtest(count: number): Promise<void> {
    for (let t = 1; t <= count; t++) this.dbs(t);
  }

  private putRow({ rows, byK }: SbtestDbs, row: SbtestRow): void {
    const old = rows.get(row.id);
    if (old !== undefined) byK.removeSync(old.k, row.id);
    rows.putSync(row.id, { k: row.k, c: row.c, pad: row.pad });
    byK.putSync(row.k, row.id);
  }

  async loadSbtest(table: number, rows: readonly SbtestRow[]): Promise<void> {
    const dbs = this.dbs(table);
    await this.write(() => {
      for (const row of rows) this.putRow(dbs, row);
    });
  }

  /** One statement; writes only inside a write transaction. */
  private statement(s: SbStatement): number {
    const dbs = this.dbs(s.table);
    const { rows, byK } = dbs;
    switch (s.op) {
      case 'point_select': {
        const row = rows.get(s.id);
        return row === undefined ? 0 : 1 + textDigest(row.c);
      }
      case 'simple_range': {
        let digest = 0;
        for (const { value } of rows.getRange({ start: s.low, end: s.high + 1 })) digest += 1 + textDigest(value.c);
        return digest;
      }
      case 'sum_range': {
        let sum = 0;
        for (const { value } of rows.getRange({ start: s.low, end: s.high + 1 })) sum += value.k;
        return sum;
      }
      case 'order_range':
        return sortedDigest(Array.from(rows.getRange({ start: s.low, end: s.high + 1 }), ({ value }) => value.c));
      case 'distinct_range':
        return distinctSortedDigest(
          Array.from(rows.getRange({ start: s.low, end: s.high + 1 }), ({ value }) => value.c),
        );
      case 'random_points': {
        let digest = 0;
        for (const k of distinctValues(s.ks)) {
          for (const id of byK.getValues(k)) {
            const row = rows.get(id);
            if (row !== undefined) digest += id + row.k;
          }
        }
        return digest;
      }
      case 'random_ranges': {
        let count = 0;
        for (const [low, high] of mergeRanges(s.ranges))
          for (const _ of byK.getRange({ start: low, end: high + 1 })) count++;
        return count;
      }
      case 'index_update': {
        const row = rows.get(s.id);
        if (row === undefined) return 0;
        byK.removeSync(row.k, s.id);
        row.k++;
        rows.putSync(s.id, row);
        byK.putSync(row.k, s.id);
        return 1;
      }
      case 'non_index_update': {
        const row = rows.get(s.id);
        if (row === undefined) return 0;
        row.c = s.c;
        rows.putSync(s.id, row);
        return 1;
      }
      case 'delete': {
        const row = rows.get(s.id);
        if (row === undefined) return 0;
        rows.removeSync(s.id);
        byK.removeSync(row.k, s.id);
        return 1;
      }
      case 'insert':
        this.putRow(dbs, s.row);
        return 1;
      case 'insert_rows':
        for (const row of s.rows) this.putRow(dbs, row);
        return s.rows.length;
    }
  }

  sysbench(event: SbEvent): number | Promise<number> {
    const statements = event.statements;
    if (event.transaction === 'read-write') {
      return this.write(() => {
        let digest = 0;
        for (const s of statements) digest += this.statement(s);
        return digest;
      });
    }
    if (!statements.some(isWrite)) {
      // Reads only: synchronous, from one snapshot (lmdb-js renews its read transaction only
      // between event turns). An indexed loop, no closure: see sql-session.ts.
      let digest = 0;
      for (let i = 0; i < statements.length; i++) digest += this.statement(statements[i]!);
      return digest;
    }
    return (async () => {
      let digest = 0;
      for (const s of statements) digest += isWrite(s) ? await this.write(() => this.statement(s)) : this.statement(s);
      return digest;
    })();
  }

  useUsertable(fieldcount: number): void {
    this.fields = fieldNames(fieldcount);
    this.usertableDb = this.root.openDB<Record<string, string>, string>(USERTABLE, { encoding: 'msgpack' });
  }

  async createUsertable(fieldcount: number): Promise<void> {
    this.useUsertable(fieldcount);
  }

  private usertable(): Lmdb.Database<Record<string, string>, string> {
    if (this.usertableDb === undefined) throw new Error('lmdb adapter: usertable not opened');
    return this.usertableDb;
  }

  private value(record: YcsbRecord): Record<string, string> {
    const value: Record<string, string> = {};
    record.fields.forEach((field, i) => (value[this.fields[i]!] = field));
    return value;
  }

  async loadUsertable(records: readonly YcsbRecord[]): Promise<void> {
    const db = this.usertable();
    await this.write(() => {
      for (const record of records) db.putSync(record.key, this.value(record));
    });
  }

  private read(key: string): number {
    const value = this.usertable().get(key);
    if (value === undefined) return 0;
    let digest = 1;
    for (const f of this.fields) digest += textDigest(value[f]!);
    return digest;
  }

  /** YCSB's update of one field: the record read, changed and written back in one transaction. */
  private update(key: string, field: number, text: string): Promise<number> {
    const db = this.usertable();
    return this.write(() => {
      const value = db.get(key);
      if (value === undefined) return 0;
      value[this.fields[field]!] = text;
      db.putSync(key, value);
      return 1;
    });
  }

  ycsb(op: YcsbOperation): number | Promise<number> {
    switch (op.op) {
      case 'read':
        return this.read(op.key);
      case 'scan': {
        let digest = 0;
        for (const { value } of this.usertable().getRange({ start: op.key, limit: op.count }))
          digest += 1 + textDigest(value['FIELD0']!);
        return digest;
      }
      case 'update':
        return this.update(op.key, op.field, op.value);
      case 'insert': {
        const db = this.usertable();
        return this.write(() => db.putSync(op.record.key, this.value(op.record))).then(() => 1);
      }
      case 'read-modify-write': {
        const digest = this.read(op.key);
        return this.update(op.key, op.field, op.value).then((changed) => digest + changed);
      }
    }
  }

  close(): Promise<void> {
    return this.root.close();
  }
}

export const lmdb: EngineAdapter = {
  kind: 'lmdb',
  packageName: 'lmdb',
  durability: (durable) =>
    durable
      ? 'lmdb-js defaults (overlappingSync): each write transaction is committed, then fsynced; the harness counts a write done when db.flushed settles'
      : 'noSync: commits reach the OS, LMDB never syncs; a power cut can lose recent commits',
  secondaryIndex:
    'emulated: a second named database sbtestN_k (dupSort, k -> id) written in the same transaction as the row',
  notes: ['synchronous reads; writes in db.transaction(fn) (batched, asynchronous); msgpack values'],
  isRetryable: () => false,
  async open(dir: string, config: EngineConfig): Promise<EngineSession> {
    const { open } = await import('lmdb');
    const root = open({ path: dir, maxDbs: MAX_DBS, ...(config.durable ? {} : { noSync: true }) });
    return new LmdbSession(root, config.durable);
  },
};
