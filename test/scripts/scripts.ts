/**
 * Finds the golden scripts of a folder and runs each as one test (golden.ts, engine-host.ts).
 * A folder's test file is three lines: `describeGoldenScripts('isolation')`.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { EngineHost } from './engine-host.js';
import { runGoldenFile, runScript, type ScriptHost } from './golden.js';

const ROOT = 'test/scripts';

/** One test per `*.golden` file under test/scripts/<folder>, named after the file. */
export function describeGoldenScripts(folder: string, host: () => ScriptHost = () => new EngineHost()): void {
  const dir = join(ROOT, folder);
  const files = readdirSync(dir)
    .filter((name) => name.endsWith('.golden'))
    .sort();
  describe(`${folder} golden scripts`, () => {
    for (const name of files) it(name.replace(/\.golden$/, ''), () => runGoldenFile(join(dir, name), host()));
  });
}

/** What a script gave on a host: its text with the outputs of now, or the error that stopped it (G3). */
export type ScriptRun =
  | { readonly source: string; readonly actual: string }
  | { readonly source: string; readonly error: Error };

/**
 * Runs test/scripts/<folder>/<name>.golden on `host` without comparing or blessing: a seed story's
 * teeth run it with its fix reverted (a test seam forced on) and require a different outcome.
 */
export async function runScriptFile(folder: string, name: string, host: ScriptHost): Promise<ScriptRun> {
  const source = readFileSync(join(ROOT, folder, `${name}.golden`), 'utf8');
  try {
    return { source, actual: await runScript(source, host) };
  } catch (error) {
    return { source, error: error instanceof Error ? error : new Error(String(error)) };
  }
}
