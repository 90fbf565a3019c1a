/**
 * The child side of `runInChild` (child.ts): `node child-main.js <module url> <export name>
 * <argument as JSON>`, run on the transpiled tree. Prints the result after RESULT_PREFIX and exits.
 */
import { setDebugChecks } from '../../src/util/assert.js';
import { RESULT_PREFIX } from './child-result.js';

// The parent passes its choice of expensive checks in MINNO_DEBUG (child.ts); the engine itself
// never reads the environment.
setDebugChecks(process.env['MINNO_DEBUG'] === '1');

const [moduleUrl, exportName, argumentJson] = process.argv.slice(2);
if (moduleUrl === undefined || exportName === undefined || argumentJson === undefined) {
  throw new Error('usage: child-main.ts <module url> <export name> <argument JSON>');
}
const module = (await import(moduleUrl)) as Record<string, unknown>;
const fn = module[exportName];
if (typeof fn !== 'function') throw new Error(`${moduleUrl} has no exported function ${exportName}`);
const result: unknown = await (fn as (argument: unknown) => unknown)(JSON.parse(argumentJson));
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
