/**
 * The package as a user gets it: `npm pack` (which builds `dist/` through `prepack`), installed
 * from the tarball into a fresh project, then used from ESM (`import`), from CommonJS (`require`,
 * which Node 20.19+ serves from the ES module build since the graph has no top-level await), and
 * from TypeScript with `module: nodenext` (an .mts and a .cts file, type-checked, then compiled
 * and run: the README's `await using` is TypeScript, which Node 20 cannot parse itself). The
 * tarball must carry the LICENSE and every document the README links.
 *
 * Needs npm (and the registry or npm's cache for the three dependencies); skipped, saying so, when
 * npm is not there.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const NODE_TYPES = path.join(ROOT, 'node_modules', '@types');

const npmVersion = spawnSync('npm', ['--version'], { encoding: 'utf8', shell: process.platform === 'win32' });
const npmMissing =
  npmVersion.status !== 0
    ? `npm is not available (${npmVersion.error?.message ?? npmVersion.stderr.trim()})`
    : undefined;
if (npmMissing !== undefined) console.warn(`test/package/pack.test.ts skipped: ${npmMissing}`);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'minno-pack-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function run(command: string, args: string[], cwd: string): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, {
    cwd,
    encoding: 'utf8',
    shell: process.platform === 'win32',
    env: { ...process.env, npm_config_loglevel: 'error', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
  if (result.status !== 0)
    throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stdout}\n${result.stderr}`);
  return result;
}

function write(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text);
}

/** What both module systems run: a database on real files, a second open refused, a typed error. */
const USE = `
const dir = process.argv[2];
const db = await Database.open({ path: dir });
if (!db.tables.includes('t')) await db.createTable({ name: 't', columns: [{ name: 'id', type: 'int32' }, { name: 'by', type: 'string' }], primaryKey: ['id'] });
await db.table('t').insert({ id: db.table('t').count(), by: SYSTEM });
const second = await Database.open({ path: dir }).catch((error) => error);
const rows = [...db.table('t').scan()].map((row) => row.by);
await db.close();
console.log(JSON.stringify({ rows, locked: second.code, typed: second instanceof MinnoError, codes: ERROR_CODES.length }));
`;

const TS_CONFIG = {
  compilerOptions: {
    module: 'nodenext',
    moduleResolution: 'nodenext',
    target: 'ES2022',
    lib: ['ES2022', 'esnext.disposable'],
    strict: true,
    types: ['node'],
    typeRoots: [NODE_TYPES],
    outDir: 'out',
    noEmitOnError: true,
  },
  files: ['typed.mts', 'typed.cts'],
};

describe.skipIf(npmMissing !== undefined)('the packed package, installed in a fresh project', () => {
  const app = path.join(tmp, 'app');
  let tarball = '';

  it('packs with its LICENSE, its README and every document the README links', () => {
    const packed = JSON.parse(run('npm', ['pack', '--pack-destination', tmp, '--json'], ROOT).stdout) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    tarball = path.join(tmp, packed[0]!.filename);
    const files = new Set(packed[0]!.files.map((f) => f.path));
    for (const needed of ['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts'])
      expect(files, needed).toContain(needed);
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const links = [...readme.matchAll(/\]\(([^)#]+)(?:#[^)]*)?\)/g)]
      .map((m) => m[1]!)
      .filter((link) => !/^[a-z]+:/.test(link));
    // Documents it names in code spans (`docs/architecture.md`) count as links too.
    links.push(...[...readme.matchAll(/`(docs\/[^`\s]+\.md)`/g)].map((m) => m[1]!));
    expect(links.length, 'the README points at its documents').toBeGreaterThan(0);
    for (const link of links) expect(files, `README links ${link}`).toContain(path.posix.normalize(link));
    expect(readme).not.toMatch(/\.\.\/shared/);
    expect(fs.readFileSync(path.join(ROOT, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  });

  it('installs from the tarball', () => {
    fs.mkdirSync(app);
    write(app, { 'package.json': JSON.stringify({ name: 'app', version: '1.0.0', private: true }) });
    run('npm', ['install', tarball, '--prefer-offline', '--no-package-lock'], app);
    expect(fs.existsSync(path.join(app, 'node_modules', 'minno', 'dist', 'index.js'))).toBe(true);
  });

  it('works from ESM (import) and from CommonJS (require), on one database, with the lock and typed errors', () => {
    const dir = path.join(tmp, 'data');
    write(app, {
      'use.mjs': `import { Database, ERROR_CODES, MinnoError } from 'minno';\nconst SYSTEM = 'esm';\n${USE}`,
      'use.cjs': `const { Database, ERROR_CODES, MinnoError } = require('minno');\nconst SYSTEM = 'cjs';\n(async () => {\n${USE}\n})();`,
    });
    const esm = JSON.parse(run(process.execPath, ['use.mjs', dir], app).stdout);
    const cjs = JSON.parse(run(process.execPath, ['use.cjs', dir], app).stdout);
    expect(esm).toMatchObject({ rows: ['esm'], locked: 'ERR_LOCKED', typed: true });
    expect(cjs).toMatchObject({ rows: ['esm', 'cjs'], locked: 'ERR_LOCKED', typed: true, codes: esm.codes });
    const version = run(process.execPath, ['-p', "require('minno/package.json').version"], app).stdout.trim();
    expect(version).toBe(JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')).version);
  });

  it('type-checks from TypeScript (nodenext, .mts and .cts), wrong types included, and the compiled `await using` runs on this Node', () => {
    write(app, {
      'tsconfig.json': JSON.stringify(TS_CONFIG),
      'typed.mts': [
        "import { Database, MemoryVfs, MinnoError, type DatabaseOptions, type ErrorCode } from 'minno';",
        "const options: DatabaseOptions = { vfs: new MemoryVfs(), durability: 'full', readOnly: false };",
        'await using db = await Database.open(options);',
        "await db.createTable({ name: 'n', columns: [{ name: 'id', type: 'int64' }], primaryKey: ['id'] });",
        "await db.table('n').insert({ id: 1n });",
        "const code: ErrorCode = 'ERR_LOCKED';",
        '// The types are real, not `any`: without an error here, this directive itself fails the check.',
        '// @ts-expect-error pageSize is a number',
        "void Database.open({ pageSize: 'big' }).catch(() => undefined);",
        "const second = await Database.open(options).catch((error: unknown) => (error instanceof MinnoError ? error.code : 'untyped'));",
        "console.log(JSON.stringify({ row: String(db.table('n').get(1n)?.id), code, second }));",
      ].join('\n'),
      'typed.cts': [
        "import { Database, type TransactionOptions } from 'minno';",
        "const options: TransactionOptions = { isolation: 'read-committed' };",
        'export async function main(): Promise<number> {',
        '  const db = await Database.open();',
        '  await db.transaction(() => undefined, options);',
        '  await db.close();',
        '  return db.isClosed ? 1 : 0;',
        '}',
      ].join('\n'),
    });
    run(process.execPath, [TSC, '-p', '.'], app);
    const typed = JSON.parse(run(process.execPath, [path.join('out', 'typed.mjs')], app).stdout);
    expect(typed).toEqual({ row: '1', code: 'ERR_LOCKED', second: 'ERR_LOCKED' });
    expect(
      run(process.execPath, ['-e', "require('./out/typed.cjs').main().then((n) => console.log(n))"], app).stdout.trim(),
    ).toBe('1');
  });
});
