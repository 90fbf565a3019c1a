/**
 * The public types of the database API, in one place: what a row, a key, a range, a schema, an
 * isolation level and a durability level are. `src/index.ts` exports them from here only.
 *
 * Each is defined in the layer that gives it its meaning (a row and its column values by the
 * record format, a key range by the row layer's reads, isolation by the transaction system,
 * durability by the redo log) and re-exported here, so the API never reaches into internals for a
 * type and the layers below never import from the API. The `as const` lists are the runtime half
 * of their types (the values an option may take).
 */
export type { Row } from '../rec/row-format.js';
export {
  COLUMN_TYPES,
  type ColumnDef,
  type ColumnType,
  type ColumnValue,
  type IndexDef,
  type JsonValue,
  type KeyValue,
  type TableSchema,
} from '../rec/schema.js';
export type { KeyInput, KeyRange, ReadOptions } from '../row/keys.js';
export type { PurgeResult } from '../row/row-purge.js';
export type { RowCheckReport } from '../row/row-check.js';
export { ISOLATION_LEVELS, type IsolationLevel } from '../mvcc/trx.js';
export { DURABILITY_LEVELS, type Durability } from '../redo/redo-log.js';
