/**
 * What the golden scripts show of the LOB and change-buffer layers (seeds 003 and 004): the LOBs a
 * check finds, which leaf of a secondary index holds an entry, whether that page is in the buffer
 * pool, the operations the change buffer holds for it, and the entries of an index as stored
 * (delete-marked ones included). engine-host.ts maps the verbs `lobs`, `leaf`, `pool`, `buffered`
 * and `entries` onto these; each prints one line per fact.
 */
import type { Database } from '../../src/api/database.js';
import { decodeKey } from '../../src/rec/key-codec.js';
import { encodeSecondaryKey } from '../../src/rec/row-format.js';
import type { ColumnValue } from '../../src/rec/schema.js';
import type { SecondaryRuntime, TableRuntime } from '../../src/row/table-runtime.js';
import { ScriptError } from './golden.js';

function secondaryOf(table: TableRuntime, index: string): SecondaryRuntime {
  const found = table.secondary(index);
  if (found === undefined) throw new ScriptError(`table ${table.record.schema.name} has no index ${index}`);
  return found;
}

/** `1 lob, 4 pages (0 older versions)`: what check finds on the LOB pages (every one reachable once). */
export function lobs(db: Database): string {
  const report = db.engine.checkLobs();
  const n = (k: number, one: string, many: string): string => `${k} ${k === 1 ? one : many}`;
  return `${n(report.lobs, 'lob', 'lobs')}, ${n(report.lobPages, 'page', 'pages')} (${n(report.olderVersionPages, 'older version', 'older versions')})`;
}

/** The leaf of `index` that holds (or would hold) the entry of `row`, found from its parent without reading it. */
export function leafOf(table: TableRuntime, index: string, row: Record<string, ColumnValue>): number {
  const secondary = secondaryOf(table, index);
  return secondary.tree.leafPageNoFor(encodeSecondaryKey(table.layout, secondary.layoutIndex, row));
}

/** Where page `pageNo` of the table's space is: on disk only, in the pool, or read by recovery and not yet used. */
export function poolState(db: Database, table: TableRuntime, pageNo: number): string {
  const pool = db.storage.pool;
  const frame = pool.lookup(table.record.spaceId, pageNo);
  if (frame < 0) return 'on disk only';
  return pool.awaitsReadHook(frame) ? 'in the pool as recovery read it, not yet used' : 'in the pool';
}

/** The operations the change buffer holds for page `pageNo`, in their order: `insert, deleteMark`. */
export function buffered(db: Database, table: TableRuntime, pageNo: number): string {
  const ops = db.engine.changeBuffer.operationsOf(table.record.spaceId, pageNo);
  return ops.length === 0 ? 'nothing buffered' : `buffered ${ops.join(', ')}`;
}

/** The entries of `index` whose first column is `first`, as stored: `(100,600) marked` for a delete-marked one. */
export function entries(table: TableRuntime, index: string, first: number): string {
  const secondary = secondaryOf(table, index);
  const spec = table.layout.indexes[secondary.layoutIndex]!.spec;
  const out: string[] = [];
  for (const entry of secondary.tree.scan()) {
    const values = decodeKey(entry.key, spec);
    if (values[0] === first) out.push(`(${values.join(',')})${entry.deleteMarked ? ' marked' : ''}`);
  }
  return out.length === 0 ? 'no entries' : out.join(' ');
}
