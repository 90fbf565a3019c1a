/**
 * Finds the golden scripts of a folder and runs each as one test (golden.ts, engine-host.ts).
 * A folder's test file is three lines: `describeGoldenScripts('isolation')`.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { EngineHost } from './engine-host.js';
import { runGoldenFile, type ScriptHost } from './golden.js';

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
