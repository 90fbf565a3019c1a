/**
 * `minno check` and `minno status`: a database looked at without changing it (opened through an
 * overlay: recovery, if one is needed, runs in memory; ops/open-unchanged.ts).
 */
import type { Command } from 'commander';
import { openUnchanged } from '../../ops/open-unchanged.js';
import { spaceIds } from '../../ops/page-file.js';
import { spaceFileName } from '../../page/tablespace.js';
import { CorruptionError } from '../../errors.js';
import { action, common } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { print, printJson, table } from '../output.js';
import { existingDir } from '../paths.js';

export function registerDatabaseCommands(program: Command): void {
  common(
    program
      .command('check')
      .description('walk every tree of a database (order, links, free space, secondary = clustered); changes nothing')
      .argument('<dir>', 'the database directory'),
  ).action(
    action(async ([dir], options) => {
      const vfs = existingDir(dir!);
      try {
        const opened = await openUnchanged(vfs);
        try {
          const report = opened.db.check();
          if (options.json === true) printJson({ ok: true, ...report });
          else print(`ok: ${report.tables} table(s), ${report.rows} row(s), ${report.entries} index entries`);
          return EXIT.OK;
        } finally {
          await opened.close().catch(() => undefined);
        }
      } catch (error) {
        // Damage found, while recovering or while walking: the check did its job.
        if (!(error instanceof CorruptionError)) throw error;
        if (options.json === true) printJson({ ok: false, error: { code: error.code, message: error.message } });
        else print(`damaged: ${error.message}`);
        return EXIT.DAMAGED;
      }
    }),
  );

  common(
    program
      .command('status')
      .description('LSNs, checkpoint, history length, tables and files of a database; changes nothing')
      .argument('<dir>', 'the database directory'),
  ).action(
    action(async ([dir], options) => {
      const vfs = existingDir(dir!);
      const opened = await openUnchanged(vfs);
      try {
        const db = opened.db;
        const status = db.status();
        const recovery = db.storage.recovery;
        const tables = db.tables.map((name) => ({ name, rows: db.table(name).count() }));
        const files = [...spaceIds(vfs).map(spaceFileName), 'redo.log', 'doublewrite.dblwr']
          .filter((name) => vfs.stat(name) !== undefined)
          .map((name) => ({ name, bytes: vfs.stat(name)!.size }));
        const result = {
          pageSize: db.storage.pageSize,
          // As found on disk: where the log ends and the newest checkpoint (opening moved them on, in memory).
          lsn: recovery?.endLsn ?? status.lsn,
          checkpointLsn: recovery?.checkpointLsn ?? status.checkpointLsn,
          historyLength: status.historyLength,
          recoveryNeeded: (recovery?.redoBytes ?? 0) > 0,
          recoveredRedoBytes: recovery?.redoBytes ?? 0,
          tables,
          files,
        };
        if (options.json === true) {
          printJson(result);
        } else {
          print(
            table(
              ['page size', 'LSN', 'checkpoint LSN', 'history length', 'redo to recover'],
              [
                [
                  String(result.pageSize),
                  String(result.lsn),
                  String(result.checkpointLsn),
                  String(result.historyLength),
                  `${result.recoveredRedoBytes} bytes`,
                ],
              ],
            ),
          );
          print(
            table(
              ['table', 'rows'],
              tables.map((t) => [t.name, String(t.rows)]),
            ),
          );
          print(
            table(
              ['file', 'bytes'],
              files.map((f) => [f.name, String(f.bytes)]),
            ),
          );
        }
        return EXIT.OK;
      } finally {
        await opened.close();
      }
    }),
  );
}
