/**
 * sysbench's OLTP workloads (src/lua/*.lua of sysbench 1.x) as statement lists, one list per event.
 *
 *   workload               one event                                               transaction
 *   oltp_point_select      1 point select                                          none
 *   oltp_read_only         10 point selects, then (range_selects) 1 each of        read-only
 *                          simple, SUM, ORDER BY and DISTINCT ranges of 100 ids
 *   oltp_read_write        oltp_read_only's reads, then 1 index update, 1          read-write
 *                          non-index update, 1 delete and its re-insert
 *   oltp_write_only        the writes of oltp_read_write                           read-write
 *   oltp_update_index      UPDATE sbtest SET k=k+1 WHERE id=?                      none
 *   oltp_update_non_index  UPDATE sbtest SET c=? WHERE id=?                        none
 *   oltp_insert            INSERT of a new row (auto-increment id)                 none
 *   oltp_delete            DELETE FROM sbtest WHERE id=?                           none
 *   select_random_points   SELECT id, k, c, pad WHERE k IN (10 random k)           none
 *   select_random_ranges   SELECT count(k) WHERE k BETWEEN ? AND ? OR ... (10, +5) none
 *   bulk_insert            rows appended to the client's own table, committed      read-write
 *                          --bulk-rows at a time; one event is one row
 *
 * Every statement picks its table uniformly from --tables (per group of statements, as
 * oltp_common.lua does) and its ids from rand.default(1, table_size): uniform, sysbench 1.1's
 * default. `skip_trx` runs the transactional workloads' statements in autocommit.
 * select_random_points/ranges use table 1 only and give each client its own slice of the k range.
 *
 * Where this differs from sysbench, on purpose:
 *  - bulk_insert uses the sbtest shape (id, k with its index, c, pad) rather than sysbench's
 *    two-column (id, k) table, so it measures the load of the table every other workload reads,
 *    and commits every --bulk-rows rows (sysbench sends multi-row INSERTs in autocommit).
 *  - oltp_insert's auto-increment ids are handed out by the harness (table_size + 1 upwards, per
 *    table), so every engine inserts the same ids.
 */
import type { Random } from '../random.js';
import { C_TEMPLATE, PAD_TEMPLATE, sbtestRow, type SbtestRow } from './sbtest.js';

export const SYSBENCH_WORKLOADS = [
  'oltp_point_select',
  'oltp_read_only',
  'oltp_read_write',
  'oltp_write_only',
  'oltp_update_index',
  'oltp_update_non_index',
  'oltp_insert',
  'oltp_delete',
  'select_random_points',
  'select_random_ranges',
  'bulk_insert',
] as const;
export type SysbenchWorkloadName = (typeof SYSBENCH_WORKLOADS)[number];

export interface SysbenchOptions {
  readonly tableSize: number;
  readonly tables: number;
  readonly rangeSize: number;
  readonly pointSelects: number;
  readonly simpleRanges: number;
  readonly sumRanges: number;
  readonly orderRanges: number;
  readonly distinctRanges: number;
  readonly indexUpdates: number;
  readonly nonIndexUpdates: number;
  readonly deleteInserts: number;
  readonly rangeSelects: boolean;
  readonly skipTrx: boolean;
  readonly randomPoints: number;
  readonly numberOfRanges: number;
  readonly delta: number;
  readonly bulkRows: number;
}

/** sysbench's defaults (oltp_common.lua, select_random_*.lua); bulk_rows is the harness's. */
export const SYSBENCH_DEFAULTS: SysbenchOptions = {
  tableSize: 10_000,
  tables: 1,
  rangeSize: 100,
  pointSelects: 10,
  simpleRanges: 1,
  sumRanges: 1,
  orderRanges: 1,
  distinctRanges: 1,
  indexUpdates: 1,
  nonIndexUpdates: 1,
  deleteInserts: 1,
  rangeSelects: true,
  skipTrx: false,
  randomPoints: 10,
  numberOfRanges: 10,
  delta: 5,
  bulkRows: 1000,
};

export const SYSBENCH_DESCRIPTIONS: Readonly<Record<SysbenchWorkloadName, string>> = {
  oltp_point_select: 'one SELECT c WHERE id=? per event, autocommit',
  oltp_read_only: '10 point selects and 4 range selects of 100 ids in a read-only transaction',
  oltp_read_write: 'oltp_read_only plus an index update, a non-index update and a delete+insert',
  oltp_write_only: 'an index update, a non-index update and a delete+insert in a transaction',
  oltp_update_index: 'UPDATE SET k=k+1 WHERE id=? (moves the k index entry), autocommit',
  oltp_update_non_index: 'UPDATE SET c=? WHERE id=?, autocommit',
  oltp_insert: 'INSERT of a new row at the end of the table, autocommit',
  oltp_delete: 'DELETE WHERE id=?, autocommit',
  select_random_points: 'SELECT rows WHERE k IN (10 random values), through the k index',
  select_random_ranges: 'SELECT count(k) over 10 random k ranges of 5, through the k index',
  bulk_insert: 'rows appended in transactions of --bulk-rows rows; one event is one row, latency is per transaction',
};

export type SbStatement =
  | { readonly op: 'point_select'; readonly table: number; readonly id: number }
  | {
      readonly op: 'simple_range' | 'sum_range' | 'order_range' | 'distinct_range';
      readonly table: number;
      readonly low: number;
      readonly high: number;
    }
  | { readonly op: 'index_update'; readonly table: number; readonly id: number }
  | { readonly op: 'non_index_update'; readonly table: number; readonly id: number; readonly c: string }
  | { readonly op: 'delete'; readonly table: number; readonly id: number }
  | { readonly op: 'insert'; readonly table: number; readonly row: SbtestRow }
  | { readonly op: 'random_points'; readonly table: number; readonly ks: readonly number[] }
  | { readonly op: 'random_ranges'; readonly table: number; readonly ranges: readonly (readonly [number, number])[] }
  | { readonly op: 'insert_rows'; readonly table: number; readonly rows: readonly SbtestRow[] };

export type SbTransaction = 'none' | 'read-only' | 'read-write';

export interface SbEvent {
  readonly transaction: SbTransaction;
  readonly statements: readonly SbStatement[];
  /** Events this counts as: 1, or the rows of a bulk_insert transaction. */
  readonly units: number;
}

/** The tables a workload needs before it starts: sysbench's prepare, or bulk_insert's own. */
export function sysbenchNeedsPreparedData(name: SysbenchWorkloadName): boolean {
  return name !== 'bulk_insert';
}

/** State shared by every client of one run: auto-increment counters and bulk cursors. */
export class SysbenchRun {
  readonly name: SysbenchWorkloadName;
  readonly options: SysbenchOptions;
  readonly threads: number;
  private readonly seed: number;
  private readonly nextInsertId: number[];
  private readonly bulkNextId: number[];

  constructor(name: SysbenchWorkloadName, options: SysbenchOptions, threads: number, seed: number) {
    this.name = name;
    this.options = options;
    this.threads = threads;
    this.seed = seed;
    this.nextInsertId = Array.from({ length: options.tables + 1 }, () => options.tableSize + 1);
    this.bulkNextId = Array.from({ length: threads + 1 }, () => 1);
  }

  /** The tables bulk_insert writes: one per client, as sysbench's bulk_insert.lua. */
  bulkTables(): number {
    return this.threads;
  }

  private table(random: Random): number {
    return random.int(1, this.options.tables);
  }

  private id(random: Random): number {
    return random.int(1, this.options.tableSize);
  }

  /**
   * Client `client`'s next event, drawn from `random`. `budget` is how many events the run may
   * still start (bulk_insert cuts its last transaction to it).
   */
  next(random: Random, client: number, budget: number): SbEvent {
    const o = this.options;
    const statements: SbStatement[] = [];
    switch (this.name) {
      case 'oltp_point_select':
        this.pointSelects(random, statements, 1);
        return { transaction: 'none', statements, units: 1 };
      case 'oltp_read_only':
        this.reads(random, statements);
        return { transaction: o.skipTrx ? 'none' : 'read-only', statements, units: 1 };
      case 'oltp_read_write':
        this.reads(random, statements);
        this.writes(random, statements);
        return { transaction: o.skipTrx ? 'none' : 'read-write', statements, units: 1 };
      case 'oltp_write_only':
        this.writes(random, statements);
        return { transaction: o.skipTrx ? 'none' : 'read-write', statements, units: 1 };
      case 'oltp_update_index':
        this.indexUpdates(random, statements);
        return { transaction: 'none', statements, units: 1 };
      case 'oltp_update_non_index':
        this.nonIndexUpdates(random, statements);
        return { transaction: 'none', statements, units: 1 };
      case 'oltp_insert': {
        const table = this.table(random);
        const k = this.id(random);
        const c = random.digits(C_TEMPLATE);
        const pad = random.digits(PAD_TEMPLATE);
        const id = this.nextInsertId[table]!++;
        statements.push({ op: 'insert', table, row: { id, k, c, pad } });
        return { transaction: 'none', statements, units: 1 };
      }
      case 'oltp_delete':
        statements.push({ op: 'delete', table: this.table(random), id: this.id(random) });
        return { transaction: 'none', statements, units: 1 };
      case 'select_random_points': {
        const [low, high] = this.slice(client);
        const ks: number[] = [];
        for (let i = 0; i < o.randomPoints; i++) ks.push(random.int(low, high));
        statements.push({ op: 'random_points', table: 1, ks });
        return { transaction: 'none', statements, units: 1 };
      }
      case 'select_random_ranges': {
        const [low, high] = this.slice(client);
        const ranges: [number, number][] = [];
        for (let i = 0; i < o.numberOfRanges; i++) {
          const start = random.int(low, high);
          ranges.push([start, start + o.delta]);
        }
        statements.push({ op: 'random_ranges', table: 1, ranges });
        return { transaction: 'none', statements, units: 1 };
      }
      case 'bulk_insert': {
        const table = client + 1;
        const count = Math.max(1, Math.min(o.bulkRows, budget));
        const first = this.bulkNextId[table]!;
        this.bulkNextId[table] = first + count;
        const rows: SbtestRow[] = [];
        for (let id = first; id < first + count; id++) rows.push(sbtestRow(this.seed, table, id, o.tableSize));
        statements.push({ op: 'insert_rows', table, rows });
        return { transaction: 'read-write', statements, units: count };
      }
    }
  }

  /** The k values client `client` draws from: its slice of [0, table_size], as sysbench. */
  private slice(client: number): [number, number] {
    const length = Math.floor(this.options.tableSize / this.threads);
    const low = length * (client % this.threads);
    return [low, low + length];
  }

  private pointSelects(random: Random, out: SbStatement[], count: number): void {
    const table = this.table(random);
    for (let i = 0; i < count; i++) out.push({ op: 'point_select', table, id: this.id(random) });
  }

  private ranges(
    random: Random,
    out: SbStatement[],
    op: 'simple_range' | 'sum_range' | 'order_range' | 'distinct_range',
    count: number,
  ): void {
    const table = this.table(random);
    for (let i = 0; i < count; i++) {
      const low = this.id(random);
      out.push({ op, table, low, high: low + this.options.rangeSize - 1 });
    }
  }

  private reads(random: Random, out: SbStatement[]): void {
    const o = this.options;
    this.pointSelects(random, out, o.pointSelects);
    if (!o.rangeSelects) return;
    this.ranges(random, out, 'simple_range', o.simpleRanges);
    this.ranges(random, out, 'sum_range', o.sumRanges);
    this.ranges(random, out, 'order_range', o.orderRanges);
    this.ranges(random, out, 'distinct_range', o.distinctRanges);
  }

  private indexUpdates(random: Random, out: SbStatement[]): void {
    const table = this.table(random);
    for (let i = 0; i < this.options.indexUpdates; i++) out.push({ op: 'index_update', table, id: this.id(random) });
  }

  private nonIndexUpdates(random: Random, out: SbStatement[]): void {
    const table = this.table(random);
    for (let i = 0; i < this.options.nonIndexUpdates; i++) {
      const c = random.digits(C_TEMPLATE);
      out.push({ op: 'non_index_update', table, id: this.id(random), c });
    }
  }

  private writes(random: Random, out: SbStatement[]): void {
    this.indexUpdates(random, out);
    this.nonIndexUpdates(random, out);
    const table = this.table(random);
    for (let i = 0; i < this.options.deleteInserts; i++) {
      const id = this.id(random);
      const k = this.id(random);
      const c = random.digits(C_TEMPLATE);
      const pad = random.digits(PAD_TEMPLATE);
      out.push({ op: 'delete', table, id });
      out.push({ op: 'insert', table, row: { id, k, c, pad } });
    }
  }
}
