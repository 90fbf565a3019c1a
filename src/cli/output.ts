/**
 * How `minno` talks: human text (tables with cli-table3, progress bars with cli-progress, both on
 * a terminal only) or, with `--json`, one JSON document on stdout and nothing else there.
 * Progress and messages for people go to stderr, so stdout stays the data (an export, a report).
 */
import { SingleBar } from 'cli-progress';
import Table from 'cli-table3';

export interface GlobalOptions {
  readonly json?: boolean;
  readonly quiet?: boolean;
}

/** JSON with bigints as decimal strings and bytes as hex. */
export function toJson(value: unknown): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
    2,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(`${toJson(value)}\n`);
}

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function note(options: GlobalOptions, text: string): void {
  if (options.quiet !== true && options.json !== true) process.stderr.write(`${text}\n`);
}

export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const out = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const row of rows)
    out.push(row.map((cell) => (typeof cell === 'string' ? cell : toJson(cell).replace(/\n\s*/g, ' '))));
  return out.toString();
}

/** A progress bar on stderr when it is a terminal and the output is not JSON; otherwise nothing. */
export class Progress {
  private bar: SingleBar | undefined;

  constructor(options: GlobalOptions, format: string) {
    if (options.json === true || options.quiet === true || !process.stderr.isTTY) return;
    this.bar = new SingleBar({ format, stream: process.stderr, hideCursor: true, clearOnComplete: false });
  }

  update(value: number, total: number, payload: Record<string, unknown> = {}): void {
    if (this.bar === undefined) return;
    if (!this.started) {
      this.bar.start(Math.max(total, 1), value, payload);
      this.started = true;
    }
    this.bar.setTotal(Math.max(total, value, 1));
    this.bar.update(value, payload);
  }

  private started = false;

  stop(): void {
    if (this.started) this.bar?.stop();
  }
}
