/**
 * Runs one exported function of a bench module in a fresh, plain Node process and returns what it
 * resolves to.
 *
 * For measurements the parent would spoil: the memory bound is checked on a process that holds
 * nothing but the workload (no test runner, no earlier workload's garbage, and no TypeScript
 * loader: tsx's loader thread alone adds about 45 MiB of RSS to a 40 MiB Node process, which
 * would swamp the constant being measured). So the repository's `src/` and `bench/` are first
 * transpiled to JavaScript in a scratch directory (`ts.transpileModule`, file by file: the
 * project's `isolatedModules` and `verbatimModuleSyntax` make that exact), with a `node_modules`
 * link back to the repository's, and the child runs that with plain `node`.
 *
 * The function takes one JSON argument and resolves to a JSON value; the child prints it on a line
 * of its own after `RESULT_PREFIX`, so whatever else it prints is ignored (and shown if it fails).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { debugChecks } from '../../src/util/assert.js';
import { RESULT_PREFIX } from './child-result.js';
import { makeTempDir, type TempDir } from './temp-dir.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/** The trees a bench module may import from. */
const SOURCE_DIRS = ['src', 'bench'];

/**
 * Transpiles `SOURCE_DIRS` into a scratch directory that plain Node can run (under `parentDir`,
 * by default the OS temp directory).
 */
export function transpileRepository(parentDir?: string): TempDir {
  const out = makeTempDir('minno-bench-js-', parentDir);
  try {
    const compilerOptions: ts.CompilerOptions = {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      verbatimModuleSyntax: true,
      sourceMap: false,
    };
    for (const dir of SOURCE_DIRS) {
      for (const relative of fs.readdirSync(nodePath.join(REPO_ROOT, dir), { recursive: true, encoding: 'utf8' })) {
        if (!relative.endsWith('.ts') || relative.endsWith('.d.ts')) continue;
        const source = fs.readFileSync(nodePath.join(REPO_ROOT, dir, relative), 'utf8');
        const { outputText } = ts.transpileModule(source, { compilerOptions, fileName: relative });
        const target = nodePath.join(out.path, dir, relative.replace(/\.ts$/, '.js'));
        fs.mkdirSync(nodePath.dirname(target), { recursive: true });
        fs.writeFileSync(target, outputText);
      }
    }
    fs.writeFileSync(nodePath.join(out.path, 'package.json'), '{ "type": "module" }\n');
    fs.symlinkSync(nodePath.join(REPO_ROOT, 'node_modules'), nodePath.join(out.path, 'node_modules'), 'dir');
    return out;
  } catch (error) {
    out.remove();
    throw error;
  }
}

/** Runs `exportName(argument)` from the module at `moduleUrl` (a file of this repository). */
export async function runInChild<T>(moduleUrl: string, exportName: string, argument: unknown): Promise<T> {
  const relative = nodePath.relative(REPO_ROOT, fileURLToPath(moduleUrl));
  if (relative.startsWith('..') || !relative.endsWith('.ts'))
    throw new Error(`runInChild: ${moduleUrl} is not a .ts file of this repository`);
  const compiled = transpileRepository();
  try {
    const jsModule = pathToFileURL(nodePath.join(compiled.path, relative.replace(/\.ts$/, '.js'))).href;
    const childMain = nodePath.join(compiled.path, 'bench', 'lib', 'child-main.js');
    return await spawnChild<T>([childMain, jsModule, exportName, JSON.stringify(argument)], exportName);
  } finally {
    compiled.remove();
  }
}

function spawnChild<T>(args: readonly string[], what: string): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    // The child keeps the parent's choice of expensive checks (off in `npm run bench`, on in tests).
    const env = { ...process.env, MINNO_DEBUG: debugChecks() ? '1' : '0' };
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const line = stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
      if (code !== 0 || line === undefined) {
        reject(new Error(`child ${what} exited with ${signal ?? code}\n--- stdout\n${stdout}\n--- stderr\n${stderr}`));
        return;
      }
      resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as T);
    });
  });
}
