#!/usr/bin/env node
/**
 * `minno`: the command line. One subcommand per operation, each in its own file under
 * commands/; every one has `--help` and `--json`; exit codes are exit-codes.ts's (and the
 * README's). Arguments by commander, progress bars by cli-progress, tables by cli-table3.
 *
 *   minno check <dir>            minno backup <dir> <dest>        minno export <dir> [-t t] [-f fmt]
 *   minno status <dir>           minno restore <backup> <target>  minno import <dir> <file> [-t t]
 *   minno verify <path>          minno inspect <what> <dir> ...   minno salvage <dir> <target>
 *   minno sim [args]             minno bench [args]
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { registerBackupCommands } from './commands/backup.js';
import { registerDataCommands } from './commands/data.js';
import { registerDatabaseCommands } from './commands/database.js';
import { registerInspectCommand } from './commands/inspect.js';
import { registerToolCommands } from './commands/tools.js';
import { EXIT } from './exit-codes.js';

export function program(): Command {
  const program = new Command('minno')
    .description('operate a minno database: check, back up, restore, verify, inspect, export, import, salvage')
    .version('0.1.0')
    .showHelpAfterError('(minno <command> --help for its options)')
    .exitOverride();
  registerDatabaseCommands(program);
  registerBackupCommands(program);
  registerInspectCommand(program);
  registerDataCommands(program);
  registerToolCommands(program);
  for (const command of program.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return program;
}

export async function main(argv: readonly string[]): Promise<number> {
  try {
    await program().parseAsync([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version are not errors; everything else commander refuses is usage.
      return error.code === 'commander.helpDisplayed' ||
        error.code === 'commander.version' ||
        error.code === 'commander.help'
        ? EXIT.OK
        : EXIT.USAGE;
    }
    throw error;
  }
  return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
}

// Run when this file is the entry point (also through npm's bin symlink, hence the realpath).
const entry = process.argv[1] === undefined ? '' : pathToFileURL(realpathSync(process.argv[1])).href;
if (entry === import.meta.url) {
  // `minno export ... | head`: the reader left; that is the end, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(EXIT.OK);
    throw error;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`minno: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exitCode = EXIT.INTERNAL;
    },
  );
}
