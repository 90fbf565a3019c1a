/** `minno backup`, `minno restore` and `minno verify`. */
import type { Command } from 'commander';
import { Database } from '../../api/database.js';
import { InvalidArgumentError } from '../../errors.js';
import { restoreBackup } from '../../ops/restore.js';
import { classify, verifyBackup, verifyDatabase } from '../../ops/verify.js';
import type { NodeVfs } from '../../vfs/node-vfs.js';
import { action, common } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { Progress, note, print, printJson, table } from '../output.js';
import { emptyDir, existingDir } from '../paths.js';

function lsnArgument(value: string): number {
  const lsn = Number(value);
  if (!Number.isSafeInteger(lsn) || lsn < 0)
    throw new InvalidArgumentError(`an LSN is a non-negative integer, got ${value}`);
  return lsn;
}

export function registerBackupCommands(program: Command): void {
  common(
    program
      .command('backup')
      .description('hot backup of a database into an empty directory (pages copied while the redo is tailed)')
      .argument('<dir>', 'the database directory')
      .argument('<destination>', 'an empty or new directory for the backup')
      .option('--incremental-since <lsn>', "only pages changed after this LSN (the previous backup's endLsn)")
      .option('--slice-pages <n>', 'pages copied between two engine operations', '64'),
  ).action(
    action(async ([dir, destination], options) => {
      const db = await Database.open({ path: existingDir(dir!).rootDir });
      const progress = new Progress(options, 'backup [{bar}] {value}/{total} pages | {mb} MiB | redo {redo} KiB');
      try {
        const since = options['incrementalSince'] as string | undefined;
        const result = await db.backup(emptyDir(destination!), {
          ...(since === undefined ? {} : { sinceLsn: lsnArgument(since) }),
          slicePages: Number(options['slicePages']),
          onProgress: (p) =>
            progress.update(p.pagesCopied, p.pagesTotal, {
              mb: (p.bytesCopied / 2 ** 20).toFixed(1),
              redo: (p.redoBytes / 1024).toFixed(0),
            }),
        });
        progress.stop();
        if (options.json === true) printJson(result);
        else
          print(
            `backup complete (${result.kind}): ${result.pagesCopied} pages, ${result.redo.bytes} bytes of redo, consistent at LSN ${result.endLsn} (from ${result.startLsn})`,
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
      .command('restore')
      .description('prepare a backup (apply its redo, roll back what was uncommitted) into an empty directory')
      .argument('<backup>', 'the backup directory (a full backup)')
      .argument('<target>', 'an empty or new directory for the database')
      .option('--incremental <dir...>', 'incremental backups to apply after it, oldest first'),
  ).action(
    action(async ([backup, target], options) => {
      const incrementals = ((options['incremental'] as string[] | undefined) ?? []).map((dir) => existingDir(dir));
      const progress = new Progress(options, 'restore {step} [{bar}] {value}/{total} pages');
      const result = await restoreBackup(existingDir(backup!), emptyDir(target!), {
        incrementals,
        onProgress: (p) => progress.update(p.pagesCopied, p.pagesTotal, { step: p.step }),
      });
      progress.stop();
      if (options.json === true) printJson(result);
      else
        print(
          `restored: consistent at LSN ${result.endLsn}; ${result.transactionsRolledBack} uncommitted transaction(s) rolled back; check: ${result.check.tables} table(s), ${result.check.rows} row(s)`,
        );
      return EXIT.OK;
    }),
  );

  common(
    program
      .command('verify')
      .description('check a backup (files, pages, redo, then a trial restore in memory) or a database; changes nothing')
      .argument('<path>', 'a backup directory or a database directory')
      .option('--shallow', 'backups: check the files only, skip the trial restore'),
  ).action(
    action(async ([path], options) => {
      const vfs: NodeVfs = existingDir(path!);
      const kind = classify(vfs);
      if (kind === 'unknown') throw new InvalidArgumentError(`${path} holds neither a minno backup nor a database`);
      note(options, `verifying ${kind} ${path}`);
      const report =
        kind === 'backup'
          ? await verifyBackup(vfs, { shallow: options['shallow'] === true })
          : await verifyDatabase(vfs);
      if (options.json === true) {
        printJson(report);
      } else {
        print(`${report.ok ? 'ok' : 'DAMAGED'}: ${report.kind}, ${report.pagesChecked} pages checked`);
        if (report.problems.length > 0) {
          print(
            table(
              ['file', 'page', 'problem'],
              report.problems.map((p) => [p.file, p.pageNo === undefined ? '' : String(p.pageNo), p.detail]),
            ),
          );
        }
        if (report.check !== undefined) print(`check: ${report.check.tables} table(s), ${report.check.rows} row(s)`);
      }
      return report.ok ? EXIT.OK : EXIT.DAMAGED;
    }),
  );
}
