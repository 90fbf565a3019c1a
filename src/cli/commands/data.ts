/** `minno export`, `minno import` and `minno salvage`: rows in and out. */
import { createReadStream, createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { type Command, Option } from 'commander';
import { Database } from '../../api/database.js';
import { EXPORT_FORMATS, exportTables, type ExportFormat } from '../../ops/export.js';
import { IMPORT_FORMATS, importRows, type ImportFormat } from '../../ops/import.js';
import { openUnchanged } from '../../ops/open-unchanged.js';
import { salvage } from '../../ops/salvage.js';
import { action, common } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { Progress, print, printJson, table, toJson } from '../output.js';
import { emptyDir, existingDir } from '../paths.js';

/** Writes to a stream, waiting for 'drain' when it is full (backpressure). */
function sinkOf(stream: Writable): (text: string) => Promise<void> | undefined {
  return (text) => (stream.write(text) ? undefined : once(stream, 'drain').then(() => undefined));
}

function formatFromName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  if (name.endsWith('.csv')) return 'csv';
  if (name.endsWith('.sql')) return 'sql';
  if (name.endsWith('.ndjson') || name.endsWith('.jsonl')) return 'ndjson';
  return undefined;
}

export function registerDataCommands(program: Command): void {
  common(
    program
      .command('export')
      .description('stream tables out as NDJSON or CSV (one table) or MariaDB SQL (all tables), from one snapshot')
      .argument('<dir>', 'the database directory')
      .option('-t, --table <name...>', 'the table (ndjson, csv) or tables (sql; default all)')
      .addOption(
        new Option('-f, --format <format>', 'output format (default: from --output, else ndjson)').choices(
          EXPORT_FORMATS,
        ),
      )
      .option('-o, --output <file>', 'write here instead of stdout')
      .option('--batch <rows>', 'rows per INSERT (sql) or per write', '500')
      .addOption(
        new Option('--json-type <type>', 'sql: json columns as MariaDB JSON or LONGTEXT')
          .choices(['json', 'longtext'])
          .default('json'),
      ),
  ).action(
    action(async ([dir], options) => {
      const output = options['output'] as string | undefined;
      const format = ((options['format'] as string | undefined) ?? formatFromName(output) ?? 'ndjson') as ExportFormat;
      const opened = await openUnchanged(existingDir(dir!));
      const stream: Writable = output === undefined ? process.stdout : createWriteStream(output);
      const progress = new Progress(options, 'export {table} [{bar}] {value}/{total} rows');
      try {
        const result = await exportTables(opened.db, {
          format,
          ...(options['table'] === undefined ? {} : { tables: options['table'] as string[] }),
          write: sinkOf(stream),
          batchRows: Number(options['batch']),
          jsonType: options['jsonType'] as 'json' | 'longtext',
          onProgress: (p) => progress.update(p.rows, p.rowsTotal, { table: p.table }),
        });
        progress.stop();
        if (stream !== process.stdout) {
          stream.end();
          await once(stream, 'finish');
        }
        // The data may be on stdout: the summary goes to stderr then.
        const summary = `${toJson({ format, ...result })}\n`;
        if (options.json === true) (output === undefined ? process.stderr : process.stdout).write(summary);
        else if (options.quiet !== true)
          process.stderr.write(
            `exported ${result.tables.map((t) => `${t.name}: ${t.rows} rows`).join(', ')} (${result.bytes} bytes)\n`,
          );
        return EXIT.OK;
      } finally {
        progress.stop();
        await opened.close();
      }
    }),
  );

  common(
    program
      .command('import')
      .description('load NDJSON or CSV rows into a table, in batches; a bad line stops it, named (ERR_IMPORT_LINE)')
      .argument('<dir>', 'the database directory (created if missing)')
      .argument('<file>', "the input file, or '-' for stdin")
      .option('-t, --table <name>', 'the table (ndjson: default from the header line)')
      .addOption(
        new Option('-f, --format <format>', 'input format (default: from the file name, else ndjson)').choices(
          IMPORT_FORMATS,
        ),
      )
      .option('--batch <rows>', 'rows per transaction', '1000')
      .option('--atomic', 'one transaction for the whole input: all or nothing'),
  ).action(
    action(async ([dir, file], options) => {
      const format = ((options['format'] as string | undefined) ?? formatFromName(file) ?? 'ndjson') as ImportFormat;
      const input = file === '-' ? process.stdin : createReadStream(file!);
      const db = await Database.open({ path: dir! });
      const progress = new Progress(options, 'import {table} {value} rows (line {line})');
      try {
        const result = await importRows(db, input as AsyncIterable<Uint8Array>, {
          format,
          source: file === '-' ? 'stdin' : file!,
          batchRows: Number(options['batch']),
          atomic: options['atomic'] === true,
          ...(options['table'] === undefined ? {} : { table: options['table'] as string }),
          onProgress: (p) => progress.update(p.rows, p.rows, { table: p.table, line: p.line }),
        });
        progress.stop();
        if (options.json === true) printJson(result);
        else
          print(
            `imported ${result.rows} row(s) into ${result.table}${result.created ? ' (table created from the header)' : ''}`,
          );
        return EXIT.OK;
      } finally {
        progress.stop();
        await db.close();
      }
    }),
  );

  common(
    program
      .command('salvage')
      .description(
        'read every row that passes its checks out of a damaged database into a new one; report what was lost',
      )
      .argument('<dir>', 'the damaged database directory (not changed)')
      .argument('<target>', 'an empty or new directory for the salvaged database'),
  ).action(
    action(async ([dir, target], options) => {
      const report = await salvage(existingDir(dir!), emptyDir(target!));
      const damaged = report.lost.length > 0 || report.badPages.length > 0 || report.unnamedSpaces.length > 0;
      if (options.json === true) {
        printJson(report);
      } else {
        print(
          `salvage (${report.mode}${report.recoveryError === undefined ? '' : `: recovery failed: ${report.recoveryError}`})`,
        );
        print(
          table(
            ['table', 'space', 'rows salvaged'],
            report.tables.map((t) => [t.name, String(t.spaceId), String(t.rows)]),
          ),
        );
        if (report.lost.length > 0) {
          print('lost key ranges (exclusive bounds):');
          print(
            table(
              ['table', 'space', 'pages', 'after key', 'before key'],
              report.lost.map((l) => [
                l.table,
                String(l.spaceId),
                l.pages.join(' '),
                l.after ?? '(start)',
                l.before ?? '(end)',
              ]),
            ),
          );
        }
        if (report.badPages.length > 0)
          print(
            table(
              ['space', 'page', 'failed'],
              report.badPages.map((b) => [String(b.spaceId), String(b.pageNo), b.detail]),
            ),
          );
      }
      return damaged ? EXIT.DAMAGED : EXIT.OK;
    }),
  );
}
