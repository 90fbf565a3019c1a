/**
 * `minno import`: NDJSON or CSV (as `minno export` writes them) into a table, in batches.
 *
 * InnoDB counterpart: `LOAD DATA INFILE` / `mysqlimport`. Each batch of `batchRows` rows is one
 * transaction. A line that cannot become a row (bad JSON, a value of the wrong type, a string with
 * a lone surrogate, a duplicate key) stops the import with `ImportLineError` (ERR_IMPORT_LINE),
 * which names the line and carries the engine's error as its `cause`; the batch holding it is
 * rolled back and the batches before it stay committed (`rowsCommitted` on the error says how
 * many rows). With `atomic`, the whole import is one transaction and nothing stays.
 *
 * NDJSON: a first line `{"minno":"table",...,"schema":{...}}` (what export writes) names the
 * schema; the table is created from it when it does not exist. CSV carries no schema: the table
 * must exist, and the header row names its columns (a column left out is NULL).
 */
import { parse } from 'csv-parse';
import type { Database } from '../api/database.js';
import type { Transaction } from '../api/transaction.js';
import { ImportLineError, InvalidArgumentError, type MinnoError } from '../errors.js';
import type { Row } from '../rec/row-format.js';
import type { ColumnDef, TableSchema } from '../rec/schema.js';
import { NDJSON_HEADER_TAG, tableSchema } from './export.js';
import { fromJsonCell, fromTextCell } from './value-text.js';

export const IMPORT_FORMATS = ['ndjson', 'csv'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export interface ImportProgress {
  readonly table: string;
  readonly rows: number;
  readonly line: number;
}

export interface ImportOptions {
  readonly format: ImportFormat;
  /** The table; for NDJSON, defaults to the header's table name. */
  readonly table?: string;
  /** Names the input in errors (a file name, or "stdin"). */
  readonly source?: string;
  /** Rows per transaction. Default 1000. */
  readonly batchRows?: number;
  /** One transaction for the whole input. */
  readonly atomic?: boolean;
  readonly onProgress?: (progress: ImportProgress) => void;
}

export interface ImportResult {
  readonly table: string;
  readonly rows: number;
  readonly created: boolean;
}

type Input = AsyncIterable<string | Uint8Array> | Iterable<string | Uint8Array>;

/** A pending row and the line it came from. */
interface LineRow {
  readonly line: number;
  readonly row?: Row;
  readonly error?: unknown;
}

class BatchWriter {
  private tx: Transaction | undefined;
  private pending = 0;
  rows = 0;
  rowsCommitted = 0;

  constructor(
    private readonly db: Database,
    private readonly table: string,
    private readonly source: string,
    private readonly options: ImportOptions,
  ) {}

  async add({ line, row, error }: LineRow): Promise<void> {
    if (error !== undefined) await this.fail(line, error);
    this.tx ??= this.db.begin();
    try {
      await this.tx.table(this.table).insert(row!);
    } catch (caught) {
      await this.fail(line, caught);
    }
    this.rows++;
    this.pending++;
    if (this.options.atomic !== true && this.pending >= (this.options.batchRows ?? 1000)) await this.commit();
    if (this.rows % 1000 === 0) this.options.onProgress?.({ table: this.table, rows: this.rows, line });
  }

  async commit(): Promise<void> {
    if (this.tx !== undefined) await this.tx.commit();
    this.tx = undefined;
    this.rowsCommitted = this.rows;
    this.pending = 0;
  }

  private async fail(line: number, error: unknown): Promise<never> {
    if (this.tx !== undefined && this.tx.state === 'active') await this.tx.rollback();
    this.tx = undefined;
    const detail =
      error instanceof Error ? `${(error as MinnoError).code ?? error.name}: ${error.message}` : String(error);
    throw new ImportLineError(this.source, line, detail, error, this.rowsCommitted);
  }
}

async function* lines(input: Input): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  let rest = '';
  for await (const chunk of input) {
    rest += typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true });
    let at = rest.indexOf('\n');
    while (at >= 0) {
      yield rest.slice(0, at).replace(/\r$/, '');
      rest = rest.slice(at + 1);
      at = rest.indexOf('\n');
    }
  }
  rest += decoder.decode();
  if (rest !== '') yield rest;
}

export async function importRows(db: Database, input: Input, options: ImportOptions): Promise<ImportResult> {
  if (!(IMPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new InvalidArgumentError(`format must be one of ${IMPORT_FORMATS.join(', ')}, got ${String(options.format)}`);
  }
  return options.format === 'ndjson' ? importNdjson(db, input, options) : importCsv(db, input, options);
}

async function importNdjson(db: Database, input: Input, options: ImportOptions): Promise<ImportResult> {
  const source = options.source ?? 'input';
  let table = options.table;
  let columns: Map<string, ColumnDef> | undefined;
  let created = false;
  let writer: BatchWriter | undefined;
  let lineNo = 0;
  const start = async (schema: TableSchema | undefined): Promise<void> => {
    if (table === undefined) {
      if (schema === undefined)
        throw new InvalidArgumentError('no table named and no minno header line to take it from');
      table = schema.name;
    }
    if (!db.tables.includes(table)) {
      if (schema === undefined)
        throw new InvalidArgumentError(
          `table ${JSON.stringify(table)} does not exist and the input has no schema header`,
        );
      await db.createTable({ ...schema, name: table });
      created = true;
    }
    columns = new Map(tableSchema(db, table).columns.map((column) => [column.name, column]));
    writer = new BatchWriter(db, table, source, options);
  };
  for await (const text of lines(input)) {
    lineNo++;
    if (text.trim() === '') continue;
    let parsed: unknown;
    let error: unknown;
    try {
      parsed = JSON.parse(text);
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
        throw new Error('a line must hold a JSON object');
    } catch (caught) {
      error = caught;
    }
    if (writer === undefined) {
      const header = parsed as { minno?: unknown; schema?: TableSchema } | undefined;
      if (error === undefined && header?.minno === NDJSON_HEADER_TAG) {
        await start(header.schema);
        continue;
      }
      await start(undefined);
    }
    if (error !== undefined) {
      await writer!.add({ line: lineNo, error });
      continue;
    }
    const row: Record<string, unknown> = {};
    try {
      for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
        const column = columns!.get(name);
        // An unknown column goes to the engine as is: it names it (ERR_UNKNOWN_COLUMN).
        row[name] = column === undefined ? value : fromJsonCell(column, value);
      }
    } catch (caught) {
      await writer!.add({ line: lineNo, error: caught });
    }
    await writer!.add({ line: lineNo, row: row as Row });
  }
  if (writer === undefined) await start(undefined);
  await writer!.commit();
  return { table: table!, rows: writer!.rows, created };
}

async function importCsv(db: Database, input: Input, options: ImportOptions): Promise<ImportResult> {
  const source = options.source ?? 'input';
  const table = options.table;
  if (table === undefined) throw new InvalidArgumentError('a CSV import needs the table named');
  const schema = tableSchema(db, table);
  const byName = new Map(schema.columns.map((column) => [column.name, column]));
  const parser = parse({
    info: true,
    relax_column_count: false,
    cast: (value, context) => ({ value, quoted: context.quoting }),
  });
  const feeding = (async () => {
    try {
      for await (const chunk of input) {
        if (parser.destroyed) return;
        if (!parser.write(chunk)) {
          await new Promise((resolve) => {
            parser.once('drain', resolve);
            parser.once('close', resolve);
          });
        }
      }
      parser.end();
    } catch (error) {
      parser.destroy(error as Error);
    }
  })();
  const writer = new BatchWriter(db, table, source, options);
  let header: (ColumnDef | undefined)[] | undefined;
  try {
    for await (const { record, info } of parser as AsyncIterable<{
      record: { value: string; quoted: boolean }[];
      info: { lines: number };
    }>) {
      const line = info.lines;
      if (header === undefined) {
        header = record.map((field) => byName.get(field.value));
        const unknown = record.find((field) => !byName.has(field.value));
        if (unknown !== undefined)
          await writer.add({ line, error: new Error(`unknown column ${JSON.stringify(unknown.value)} in the header`) });
        continue;
      }
      const row: Record<string, unknown> = {};
      try {
        record.forEach((field, i) => {
          const column = header![i]!;
          row[column.name] = fromTextCell(column, field.value, field.quoted);
        });
      } catch (caught) {
        await writer.add({ line, error: caught });
      }
      await writer.add({ line, row: row as Row });
    }
  } catch (error) {
    if (error instanceof ImportLineError) throw error;
    const line = (error as { lines?: number }).lines ?? 0;
    throw new ImportLineError(source, line, `CSV: ${(error as Error).message}`, error);
  } finally {
    if (!parser.readableEnded) parser.destroy();
    await feeding;
  }
  await writer.commit();
  return { table, rows: writer.rows, created: false };
}
