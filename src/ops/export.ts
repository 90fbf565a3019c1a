/**
 * `minno export`: tables out as NDJSON, CSV or MariaDB SQL, streamed, from one consistent
 * snapshot (a read-only transaction: every table as of the same moment, while writers go on).
 *
 * InnoDB counterpart: `mysqldump --single-transaction` (a consistent read view for the whole
 * dump) and `SELECT ... INTO OUTFILE`. Formats:
 *
 *  - `ndjson` (one table): a header line `{"minno":"table","format":1,"schema":{...}}`, then one
 *    JSON object per row, values encoded as value-text.ts says (exact for every type);
 *  - `csv` (one table): a header row of column names, then one row per line (RFC 4180 quoting;
 *    NULL is an empty unquoted field, the empty string `""`);
 *  - `sql` (any number of tables, all by default): `CREATE TABLE` statements and batched
 *    `INSERT`s for MariaDB (sql-text.ts: types, literals, caveats).
 *
 * The sink is awaited after every chunk, so a slow consumer (a pipe, a file) holds the export
 * back instead of filling memory.
 */
import type { Database } from '../api/database.js';
import { InvalidArgumentError } from '../errors.js';
import type { Row } from '../rec/row-format.js';
import type { TableSchema } from '../rec/schema.js';
import { type JsonColumnType, createTableSql, sqlLiteral, sqlName } from './sql-text.js';
import { toJsonCell, toTextCell } from './value-text.js';

export const EXPORT_FORMATS = ['ndjson', 'csv', 'sql'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface ExportProgress {
  readonly table: string;
  readonly rows: number;
  /** Rows in the table (counted first when progress is asked for). */
  readonly rowsTotal: number;
  readonly bytes: number;
}

export interface ExportOptions {
  readonly format: ExportFormat;
  /** Tables to export: exactly one for ndjson and csv; all (sorted) by default for sql. */
  readonly tables?: readonly string[];
  /** Receives the output in chunks; awaited (backpressure). */
  readonly write: (text: string) => void | Promise<void>;
  readonly onProgress?: (progress: ExportProgress) => void;
  /** Rows per INSERT statement (sql) or per chunk (ndjson, csv). Default 500. */
  readonly batchRows?: number;
  /** sql: json columns as MariaDB JSON (default) or LONGTEXT (keeps lone surrogates; sql-text.ts). */
  readonly jsonType?: JsonColumnType;
}

export interface ExportResult {
  readonly tables: readonly { readonly name: string; readonly rows: number }[];
  readonly bytes: number;
}

export const NDJSON_HEADER_TAG = 'table';

/** The schema of a table as stored in the dictionary. */
export function tableSchema(db: Database, name: string): TableSchema {
  return db.engine.table(name).record.schema;
}

export async function exportTables(db: Database, options: ExportOptions): Promise<ExportResult> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new InvalidArgumentError(`format must be one of ${EXPORT_FORMATS.join(', ')}, got ${String(options.format)}`);
  }
  const names = options.tables ?? (options.format === 'sql' ? db.tables : []);
  if (options.format !== 'sql' && names.length !== 1) {
    throw new InvalidArgumentError(
      `${options.format} export takes exactly one table (${db.tables.join(', ') || 'none'})`,
    );
  }
  const batchRows = options.batchRows ?? 500;
  const tx = db.begin({ readOnly: true }); // one snapshot for every table
  let bytes = 0;
  const write = async (text: string): Promise<void> => {
    bytes += Buffer.byteLength(text);
    await options.write(text);
  };
  const results: { name: string; rows: number }[] = [];
  try {
    if (options.format === 'sql') {
      await write(
        `-- minno export for MariaDB: ${names.length} table(s)\nSET NAMES utf8mb4;\nSET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';\n\n`,
      );
    }
    for (const name of names) {
      const schema = tableSchema(db, name);
      const table = tx.table(name);
      const rowsTotal = options.onProgress === undefined ? 0 : table.count();
      let rows = 0;
      const progress = (): void => options.onProgress?.({ table: name, rows, rowsTotal, bytes });
      const encode = encoderFor(options.format, schema, options.jsonType ?? 'json');
      await write(encode.header);
      let batch: Row[] = [];
      const flush = async (): Promise<void> => {
        if (batch.length === 0) return;
        await write(encode.rows(batch));
        rows += batch.length;
        batch = [];
        progress();
      };
      for (const row of table.scan()) {
        batch.push(row);
        if (batch.length >= batchRows) await flush();
      }
      await flush();
      progress();
      results.push({ name, rows });
    }
  } finally {
    await tx.commit();
  }
  return { tables: results, bytes };
}

/**
 * One CSV record (RFC 4180). A field is quoted when it holds a comma, a quote, CR or LF, when it
 * is the empty string (so that it differs from NULL, an empty unquoted field), or when it starts
 * or ends with a space; quotes inside are doubled.
 */
export function csvLine(fields: readonly (string | null)[]): string {
  let out = '';
  for (let i = 0; i < fields.length; i++) {
    if (i > 0) out += ',';
    const field = fields[i];
    if (field === null || field === undefined) continue;
    out += field === '' || /[",\r\n]|^ | $/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
  }
  return `${out}\n`;
}

interface RowEncoder {
  readonly header: string;
  rows(rows: readonly Row[]): string;
}

function encoderFor(format: ExportFormat, schema: TableSchema, jsonType: JsonColumnType): RowEncoder {
  const columns = schema.columns;
  switch (format) {
    case 'ndjson':
      return {
        header: `${JSON.stringify({ minno: NDJSON_HEADER_TAG, format: 1, schema })}\n`,
        rows: (rows) => {
          let out = '';
          for (const row of rows) {
            const object: Record<string, unknown> = {};
            for (const column of columns) object[column.name] = toJsonCell(column, row[column.name]);
            out += `${JSON.stringify(object)}\n`;
          }
          return out;
        },
      };
    case 'csv':
      return {
        header: csvLine(columns.map((column) => column.name)),
        rows: (rows) => {
          let out = '';
          for (const row of rows) out += csvLine(columns.map((column) => toTextCell(column, row[column.name])));
          return out;
        },
      };
    case 'sql': {
      const pk = new Set(schema.primaryKey);
      const head = `INSERT INTO ${sqlName(schema.name)} (${columns.map((c) => sqlName(c.name)).join(', ')}) VALUES\n`;
      return {
        header: `DROP TABLE IF EXISTS ${sqlName(schema.name)};\n${createTableSql(schema, jsonType)}\n`,
        rows: (rows) =>
          `${head}${rows
            .map((row) => `(${columns.map((c) => sqlLiteral(c, row[c.name], pk.has(c.name), jsonType)).join(',')})`)
            .join(',\n')};\n`,
      };
    }
  }
}
