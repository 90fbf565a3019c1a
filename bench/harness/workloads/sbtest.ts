/**
 * The `sbtest` table of sysbench's OLTP scripts (oltp_common.lua), and its rows.
 *
 *   CREATE TABLE sbtest<N> (id INTEGER PRIMARY KEY, k INTEGER NOT NULL DEFAULT 0,
 *                           c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '');
 *   CREATE INDEX k_<N> ON sbtest<N>(k);
 *
 * sysbench's prepare inserts ids 1..table_size in order with `k = rand.default(1, table_size)`
 * (uniform, sysbench 1.1's default --rand-type), `c` ten groups of 11 random digits joined by '-'
 * (119 characters) and `pad` five such groups (59). Here each row's values come from a stream of
 * its own (random.ts), so row (table, id) is the same in every engine and in every load order.
 */
import { Random, STREAM } from '../random.js';

/** A type alias, not an interface, so it is assignable to minno's `Row` (an index signature). */
export type SbtestRow = {
  readonly id: number;
  readonly k: number;
  readonly c: string;
  readonly pad: string;
};

/** sysbench's `get_c_value()` template: 10 groups, 119 characters. */
export const C_TEMPLATE =
  '###########-###########-###########-###########-###########-###########-###########-###########-###########-###########';
/** sysbench's `get_pad_value()` template: 5 groups, 59 characters. */
export const PAD_TEMPLATE = '###########-###########-###########-###########-###########';

/** `sbtest1`, `sbtest2`, ...: tables are numbered from 1 as in sysbench. */
export function sbtestName(table: number): string {
  return `sbtest${table}`;
}

/** The row `id` of table `table` as the prepare step (and bulk_insert) makes it. */
export function sbtestRow(seed: number, table: number, id: number, kMax: number): SbtestRow {
  const random = new Random(seed, STREAM.row, table, id);
  return { id, k: random.int(1, kMax), c: random.digits(C_TEMPLATE), pad: random.digits(PAD_TEMPLATE) };
}

/** Rows `firstId` .. `firstId + count - 1` of a table. */
export function sbtestRows(seed: number, table: number, firstId: number, count: number, kMax: number): SbtestRow[] {
  const rows: SbtestRow[] = [];
  for (let id = firstId; id < firstId + count; id++) rows.push(sbtestRow(seed, table, id, kMax));
  return rows;
}

/** Bytes of one row as the application hands it over (4 + 4 + 119 + 59): the raw data size. */
export const SBTEST_ROW_BYTES = 4 + 4 + C_TEMPLATE.length + PAD_TEMPLATE.length;
