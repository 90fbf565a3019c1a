/**
 * The frame every `minno` command runs in: its common options (`--json`, `--quiet`; commander
 * gives `--help`), and the mapping from what happened to an exit code (exit-codes.ts) and to
 * what is printed: a minno error as its code and message (or `{"error": {...}}` with --json).
 */
import { type Command, Option } from 'commander';
import { MinnoError } from '../errors.js';
import { EXIT, type ExitCode } from './exit-codes.js';
import { type GlobalOptions, printJson } from './output.js';

export type CommandOptions = GlobalOptions & Record<string, unknown>;

/** Adds the options every command has. */
export function common(command: Command): Command {
  return command
    .addOption(new Option('--json', 'print one JSON document on stdout instead of text'))
    .addOption(new Option('-q, --quiet', 'no progress or messages on stderr'));
}

/**
 * Wraps a command's action: `fn` gets the positional arguments and the options, and returns
 * the exit code; errors become exit codes here.
 */
export function action(fn: (args: string[], options: CommandOptions) => Promise<ExitCode | number>) {
  return async (...raw: unknown[]): Promise<void> => {
    const command = raw.at(-1) as Command;
    const options = command.opts() as CommandOptions;
    const args = raw
      .slice(0, -2)
      .flatMap((arg) => (Array.isArray(arg) ? (arg as string[]) : arg === undefined ? [] : [arg as string]));
    try {
      process.exitCode = await fn(args, options);
    } catch (error) {
      process.exitCode = report(error, options);
    }
  };
}

/** Prints an error the way the exit code table says, and returns the code. */
export function report(error: unknown, options: GlobalOptions): ExitCode {
  const known = error instanceof MinnoError;
  const code = known ? error.code : 'ERR_INTERNAL';
  const message = error instanceof Error ? error.message : String(error);
  if (options.json === true) {
    const extra = known ? Object.fromEntries(Object.entries(error).filter(([key]) => key !== 'code')) : {};
    printJson({ error: { code, message, ...extra } });
  } else {
    process.stderr.write(`minno: ${code}: ${message}\n`);
    if (!known && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
  }
  return known ? EXIT.FAILED : EXIT.INTERNAL;
}
