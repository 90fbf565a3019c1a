/**
 * Golden scripts, in the style of toyDB's goldenscripts (src/storage/testscripts/mvcc/): a file is
 * a sequence of blocks, each a few command lines, a `---` line, and the output those commands
 * gave. The runner executes the commands, writes down what they give, and compares the whole file
 * with what is on disk; `UPDATE_GOLDEN=1 npx vitest run <file>` writes it back instead (bless), so
 * an intended change is reviewed as a diff of the script.
 *
 *     # a comment (kept as it is; a `#` after a command is a comment too)
 *     t1: begin repeatable-read
 *     t1: get 1
 *     ---
 *     t1: 10
 *
 *     t2: !update 1 value=12        # `!`: this command must fail (now, or when its wait ends)
 *     ---
 *     t2: waits
 *
 * Rules of the format:
 *  G1. A block is one or more command lines (comment lines may sit between them) ended by `---`;
 *      its output runs to the next blank line. A block whose commands print nothing shows `ok`.
 *  G2. Output is regenerated, never parsed: the comparison is of the whole file's text.
 *  G3. A command that fails without `!`, or succeeds with it, stops the run with an error that
 *      names its line; so does anything the host cannot run. Such errors are never blessed.
 *  G4. Blessing rewrites only output lines; commands, comments and blank lines stay as written.
 *
 * What a command means belongs to the host (`ScriptHost`): `test/scripts/engine-host.ts` runs
 * the engine's verbs (sessions, internal state, crashes); test/scripts/README.md lists them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { expect } from 'vitest';

/** One command line: `[prefix:] [!]verb args... [# comment]`. */
export interface Command {
  readonly lineNo: number;
  /** Before the colon (`t1`, `db`), or undefined. */
  readonly prefix: string | undefined;
  readonly verb: string;
  readonly args: readonly string[];
  /** Marked with `!`: must fail. */
  readonly mustFail: boolean;
  /** The command without its comment, as written after the prefix. */
  readonly text: string;
}

/** Runs commands for a script; returns each command's output lines (none: "ok"). */
export interface ScriptHost {
  run(command: Command): Promise<string[]>;
  /** After the last block: end-of-script checks, close everything. */
  finish(): Promise<void>;
}

/** A failure of the script itself (G3): never blessed. */
export class ScriptError extends Error {}

type Piece =
  | { readonly kind: 'text'; readonly line: string }
  | { readonly kind: 'block'; readonly lines: readonly string[]; readonly commands: readonly Command[] };

const SEPARATOR = '---';

function isComment(line: string): boolean {
  return line.trim().startsWith('#');
}

export function parseCommand(raw: string, lineNo: number): Command {
  const text = raw.replace(/\s#.*$/, '').trim();
  const m = /^(?:(\w[\w-]*):\s*)?(!)?(\S+)(.*)$/.exec(text);
  if (m === null) throw new ScriptError(`line ${lineNo}: not a command: ${JSON.stringify(raw)}`);
  const [, prefix, bang, verb, rest] = m as unknown as [string, string | undefined, string | undefined, string, string];
  const args = rest.trim() === '' ? [] : rest.trim().split(/\s+/);
  return { lineNo, prefix, verb, args, mustFail: bang === '!', text: `${bang ?? ''}${verb}${rest}`.trim() };
}

/** Splits a script into text lines and blocks (commands with their `---`; old output dropped). */
function parse(source: string): Piece[] {
  const lines = source.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const pieces: Piece[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '' || isComment(line)) {
      pieces.push({ kind: 'text', line });
      i++;
      continue;
    }
    const blockLines: string[] = [];
    const commands: Command[] = [];
    while (i < lines.length && lines[i]!.trim() !== SEPARATOR) {
      const current = lines[i]!;
      if (current.trim() === '')
        throw new ScriptError(`line ${i + 1}: a block ends with \`${SEPARATOR}\` before a blank line (G1)`);
      blockLines.push(current);
      if (!isComment(current)) commands.push(parseCommand(current, i + 1));
      i++;
    }
    if (i === lines.length) throw new ScriptError(`line ${i}: the last block has no \`${SEPARATOR}\` (G1)`);
    i++; // the separator
    while (i < lines.length && lines[i]!.trim() !== '') i++; // the old output
    pieces.push({ kind: 'block', lines: blockLines, commands });
  }
  return pieces;
}

/** Runs a script through `host`; returns the script with every block's output as it came out now. */
export async function runScript(source: string, host: ScriptHost): Promise<string> {
  const out: string[] = [];
  for (const piece of parse(source)) {
    if (piece.kind === 'text') {
      out.push(piece.line);
      continue;
    }
    const output: string[] = [];
    for (const command of piece.commands) output.push(...(await host.run(command)));
    for (const line of output) {
      if (line.trim() === '' || line.trim() === SEPARATOR || isComment(line))
        throw new ScriptError(
          `line ${piece.commands.at(-1)?.lineNo}: output line ${JSON.stringify(line)} cannot be written down`,
        );
    }
    out.push(...piece.lines, SEPARATOR, ...(output.length === 0 ? ['ok'] : output));
  }
  await host.finish();
  return `${out.join('\n')}\n`;
}

/** Whether this run rewrites golden files instead of comparing (`UPDATE_GOLDEN=1`). */
export function blessing(): boolean {
  return process.env['UPDATE_GOLDEN'] === '1';
}

/**
 * Runs the golden file at `path`: compares its text with what the commands give now (a diff on
 * failure), or with UPDATE_GOLDEN=1 writes the new output into it.
 */
export async function runGoldenFile(path: string, host: ScriptHost): Promise<void> {
  const source = readFileSync(path, 'utf8');
  const actual = await runScript(source, host);
  if (blessing()) {
    if (actual !== source) writeFileSync(path, actual);
    return;
  }
  expect(actual, `${path} (UPDATE_GOLDEN=1 rewrites it, then review the diff)`).toBe(source);
}
