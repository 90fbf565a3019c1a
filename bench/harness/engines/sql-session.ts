/**
 * The sysbench and YCSB tables on SQLite, through a small driver interface that better-sqlite3
 * and sql.js both implement: the same SQL text, prepared once per table, for both.
 *
 * The statements are sysbench's own (oltp_common.lua, select_random_*.lua) and those of YCSB's
 * JDBC binding. Events with a transaction run between BEGIN and COMMIT (better-sqlite3's
 * `db.transaction`, sql.js's exec); events without one run each statement in autocommit.
 */
import type { SbtestRow } from '../workloads/sbtest.js';
import { sbtestName } from '../workloads/sbtest.js';
import type { SbEvent, SbStatement } from '../workloads/sysbench.js';
import { fieldNames, KEY_FIELD, USERTABLE, type YcsbOperation, type YcsbRecord } from '../workloads/ycsb.js';
import { textDigest, orderedDigest } from './digest.js';
import type { EngineSession } from './engine.js';

export type SqlParam = number | string;
export type SqlRow = Record<string, unknown>;

/** A prepared statement, in the one shape its caller reads it. */
export interface SqlDriver {
  exec(sql: string): void;
  /** The first column of the first row, or undefined. */
  prepareValue(sql: string): (params: readonly SqlParam[]) => unknown;
  /** The first column of every row. */
  prepareValues(sql: string): (params: readonly SqlParam[]) => unknown[];
  prepareRow(sql: string): (params: readonly SqlParam[]) => SqlRow | undefined;
  prepareRows(sql: string): (params: readonly SqlParam[]) => SqlRow[];
  /** Runs a change; returns the rows it changed. */
  prepareRun(sql: string): (params: readonly SqlParam[]) => number;
  /** Runs `body` between BEGIN and COMMIT (ROLLBACK if it throws). */
  transaction<T>(body: () => T): T;
  version(): string;
  close(): Promise<void>;
}

type Prepared<R> = (params: readonly SqlParam[]) => R;

interface SbtestStatements {
  readonly pointSelect: Prepared<unknown>;
  readonly simpleRange: Prepared<unknown[]>;
  readonly sumRange: Prepared<unknown>;
  readonly orderRange: Prepared<unknown[]>;
  readonly distinctRange: Prepared<unknown[]>;
  readonly indexUpdate: Prepared<number>;
  readonly nonIndexUpdate: Prepared<number>;
  readonly delete: Prepared<number>;
  readonly insert: Prepared<number>;
  /** By number of points / ranges. */
  readonly randomPoints: Map<number, Prepared<SqlRow[]>>;
  readonly randomRanges: Map<number, Prepared<unknown>>;
}

interface UsertableStatements {
  readonly read: Prepared<SqlRow | undefined>;
  readonly update: readonly Prepared<number>[];
  readonly insert: Prepared<number>;
  readonly scan: Prepared<SqlRow[]>;
}

/** sysbench's CREATE TABLE for SQLite: id is the rowid (INTEGER PRIMARY KEY). */
export function sbtestDdl(table: number): string[] {
  const name = sbtestName(table);
  return [
    `CREATE TABLE ${name} (id INTEGER PRIMARY KEY, k INTEGER DEFAULT 0 NOT NULL, c CHAR(120) DEFAULT '' NOT NULL, pad CHAR(60) DEFAULT '' NOT NULL)`,
    `CREATE INDEX k_${table} ON ${name}(k)`,
  ];
}

export class SqlSession implements EngineSession {
  private readonly sbtest = new Map<number, SbtestStatements>();
  private usertable: UsertableStatements | undefined;
  private fields: string[] = [];

  constructor(private readonly driver: SqlDriver) {}

  embeddedVersion(): string {
    return `SQLite ${this.driver.version()}`;
  }

  async createSbtest(count: number): Promise<void> {
    for (let table = 1; table <= count; table++) for (const sql of sbtestDdl(table)) this.driver.exec(sql);
  }

  async loadSbtest(table: number, rows: readonly SbtestRow[]): Promise<void> {
    const insert = this.statements(table).insert;
    this.driver.transaction(() => {
      for (const row of rows) insert([row.id, row.k, row.c, row.pad]);
    });
  }

  private statements(table: number): SbtestStatements {
    let s = this.sbtest.get(table);
    if (s === undefined) {
      const d = this.driver;
      const t = sbtestName(table);
      s = {
        pointSelect: d.prepareValue(`SELECT c FROM ${t} WHERE id=?`),
        simpleRange: d.prepareValues(`SELECT c FROM ${t} WHERE id BETWEEN ? AND ?`),
        sumRange: d.prepareValue(`SELECT SUM(k) FROM ${t} WHERE id BETWEEN ? AND ?`),
        orderRange: d.prepareValues(`SELECT c FROM ${t} WHERE id BETWEEN ? AND ? ORDER BY c`),
        distinctRange: d.prepareValues(`SELECT DISTINCT c FROM ${t} WHERE id BETWEEN ? AND ? ORDER BY c`),
        indexUpdate: d.prepareRun(`UPDATE ${t} SET k=k+1 WHERE id=?`),
        nonIndexUpdate: d.prepareRun(`UPDATE ${t} SET c=? WHERE id=?`),
        delete: d.prepareRun(`DELETE FROM ${t} WHERE id=?`),
        insert: d.prepareRun(`INSERT INTO ${t} (id, k, c, pad) VALUES (?, ?, ?, ?)`),
        randomPoints: new Map(),
        randomRanges: new Map(),
      };
      this.sbtest.set(table, s);
    }
    return s;
  }

  private statement(s: SbStatement): number {
    const p = this.statements(s.table);
    switch (s.op) {
      case 'point_select': {
        const c = p.pointSelect([s.id]);
        return typeof c === 'string' ? 1 + textDigest(c) : 0;
      }
      case 'simple_range': {
        let digest = 0;
        for (const c of p.simpleRange([s.low, s.high])) digest += 1 + textDigest(c as string);
        return digest;
      }
      case 'sum_range':
        return Number(p.sumRange([s.low, s.high]) ?? 0);
      case 'order_range':
        return orderedDigest(p.orderRange([s.low, s.high]) as string[]);
      case 'distinct_range':
        return orderedDigest(p.distinctRange([s.low, s.high]) as string[]);
      case 'index_update':
        return p.indexUpdate([s.id]);
      case 'non_index_update':
        return p.nonIndexUpdate([s.c, s.id]);
      case 'delete':
        return p.delete([s.id]);
      case 'insert':
        return p.insert([s.row.id, s.row.k, s.row.c, s.row.pad]);
      case 'random_points': {
        let query = p.randomPoints.get(s.ks.length);
        if (query === undefined) {
          const points = s.ks.map(() => '?').join(', ');
          query = this.driver.prepareRows(`SELECT id, k, c, pad FROM ${sbtestName(s.table)} WHERE k IN (${points})`);
          p.randomPoints.set(s.ks.length, query);
        }
        let digest = 0;
        for (const row of query(s.ks)) digest += (row['id'] as number) + (row['k'] as number);
        return digest;
      }
      case 'random_ranges': {
        let query = p.randomRanges.get(s.ranges.length);
        if (query === undefined) {
          const ranges = s.ranges.map(() => 'k BETWEEN ? AND ?').join(' OR ');
          query = this.driver.prepareValue(`SELECT count(k) FROM ${sbtestName(s.table)} WHERE ${ranges}`);
          p.randomRanges.set(s.ranges.length, query);
        }
        return Number(query(s.ranges.flat()));
      }
      case 'insert_rows':
        for (const row of s.rows) p.insert([row.id, row.k, row.c, row.pad]);
        return s.rows.length;
    }
  }

  sysbench(event: SbEvent): number {
    // No closure and no iterator per event in autocommit: a point select is a few microseconds,
    // and a closure per event measurably cost about one of them here (docs/bench/agreement.md).
    return event.transaction === 'none'
      ? this.run(event.statements)
      : this.driver.transaction(() => this.run(event.statements));
  }

  private run(statements: readonly SbStatement[]): number {
    let digest = 0;
    for (let i = 0; i < statements.length; i++) digest += this.statement(statements[i]!);
    return digest;
  }

  useUsertable(fieldcount: number): void {
    this.fields = fieldNames(fieldcount);
  }

  async createUsertable(fieldcount: number): Promise<void> {
    this.useUsertable(fieldcount);
    this.driver.exec(
      `CREATE TABLE ${USERTABLE} (${KEY_FIELD} VARCHAR(255) PRIMARY KEY, ${this.fields.map((f) => `${f} TEXT`).join(', ')})`,
    );
  }

  private ycsbStatements(): UsertableStatements {
    if (this.usertable === undefined) {
      const d = this.driver;
      this.usertable = {
        read: d.prepareRow(`SELECT * FROM ${USERTABLE} WHERE ${KEY_FIELD} = ?`),
        update: this.fields.map((f) => d.prepareRun(`UPDATE ${USERTABLE} SET ${f} = ? WHERE ${KEY_FIELD} = ?`)),
        insert: d.prepareRun(
          `INSERT INTO ${USERTABLE} (${KEY_FIELD}, ${this.fields.join(', ')}) VALUES (${['?', ...this.fields.map(() => '?')].join(', ')})`,
        ),
        scan: d.prepareRows(`SELECT * FROM ${USERTABLE} WHERE ${KEY_FIELD} >= ? ORDER BY ${KEY_FIELD} LIMIT ?`),
      };
    }
    return this.usertable;
  }

  async loadUsertable(records: readonly YcsbRecord[]): Promise<void> {
    const insert = this.ycsbStatements().insert;
    this.driver.transaction(() => {
      for (const record of records) insert([record.key, ...record.fields]);
    });
  }

  private readDigest(row: SqlRow | undefined): number {
    if (row === undefined) return 0;
    let digest = 1;
    for (const f of this.fields) digest += textDigest(row[f] as string);
    return digest;
  }

  ycsb(op: YcsbOperation): number {
    const s = this.ycsbStatements();
    switch (op.op) {
      case 'read':
        return this.readDigest(s.read([op.key]));
      case 'update':
        return s.update[op.field]!([op.value, op.key]);
      case 'insert':
        return s.insert([op.record.key, ...op.record.fields]);
      case 'scan': {
        let digest = 0;
        for (const row of s.scan([op.key, op.count])) digest += 1 + textDigest(row['FIELD0'] as string);
        return digest;
      }
      case 'read-modify-write':
        return this.readDigest(s.read([op.key])) + s.update[op.field]!([op.value, op.key]);
    }
  }

  close(): Promise<void> {
    return this.driver.close();
  }
}
