/**
 * The real `minno` binary: built with the package's own build (tsc, tsconfig.build.json) and run
 * as a child process in a temp directory, the way a user runs it. Every command answers --help
 * with --json among its options; the exit codes are the documented ones (src/cli/exit-codes.ts).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
// Inside node_modules so the built files resolve the package's dependencies, as installed ones do.
const build = join(root, 'node_modules', '.cache', 'minno-cli-test');
const bin = join(build, 'cli', 'main.js');
let work: string;

function minno(args: readonly string[], input?: string) {
  const result = spawnSync(process.execPath, [bin, ...args], { cwd: work, encoding: 'utf8', input, timeout: 120_000 });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function json(args: readonly string[]): { code: number | null; value: Record<string, unknown> } {
  const result = minno([...args, '--json']);
  return { code: result.code, value: JSON.parse(result.stdout) as Record<string, unknown> };
}

beforeAll(() => {
  rmSync(build, { recursive: true, force: true });
  const tsc = spawnSync(
    process.execPath,
    [
      join(root, 'node_modules', 'typescript', 'bin', 'tsc'),
      '-p',
      join(root, 'tsconfig.build.json'),
      '--outDir',
      build,
      '--declaration',
      'false',
      '--sourceMap',
      'false',
    ],
    { encoding: 'utf8' },
  );
  expect(tsc.status, tsc.stdout + tsc.stderr).toBe(0);
  expect(readFileSync(bin, 'utf8').startsWith('#!/usr/bin/env node')).toBe(true);
  work = mkdtempSync(join(tmpdir(), 'minno-cli-'));
}, 120_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(build, { recursive: true, force: true });
});

const HEADER = {
  minno: 'table',
  format: 1,
  schema: {
    name: 'people',
    columns: [
      { name: 'id', type: 'int64' },
      { name: 'name', type: 'string', maxLength: 50 },
      { name: 'score', type: 'float64' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'by_name', columns: ['name'] }],
  },
};

function ndjson(count: number): string {
  const lines = [JSON.stringify(HEADER)];
  for (let i = 0; i < count; i++)
    lines.push(JSON.stringify({ id: String(i), name: `person ${i}`, score: i % 7 === 0 ? '-0' : i / 4 }));
  return `${lines.join('\n')}\n`;
}

describe('minno', () => {
  it('answers --help for every command, with --json among the options', () => {
    const top = minno(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['check', 'status', 'backup', 'restore', 'verify', 'export', 'import', 'salvage']) {
      const help = minno([command, '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toContain('--json');
      expect(top.stdout).toContain(command);
    }
    for (const sub of ['spaces', 'page', 'tree', 'versions', 'history', 'redo']) {
      const help = minno(['inspect', sub, '--help']);
      expect(help.code, sub).toBe(0);
      expect(help.stdout, sub).toContain('--json');
    }
    expect(minno(['no-such-command']).code).toBe(2);
    expect(minno(['export', 'db', '--format', 'xml']).code).toBe(2);
  });

  it('imports, checks, backs up, verifies, restores, exports and inspects a database', () => {
    writeFileSync(join(work, 'people.ndjson'), ndjson(3000));
    const imported = json(['import', 'db', 'people.ndjson', '--batch', '500']);
    expect(imported).toEqual({ code: 0, value: { table: 'people', rows: 3000, created: true } });

    expect(json(['check', 'db'])).toEqual({ code: 0, value: { ok: true, tables: 1, rows: 3000, entries: 6000 } });
    const status = json(['status', 'db']);
    expect(status.code).toBe(0);
    expect(status.value['tables']).toEqual([{ name: 'people', rows: 3000 }]);

    const backup = json(['backup', 'db', 'bk']);
    expect(backup.code).toBe(0);
    expect(backup.value['kind']).toBe('full');
    const verified = json(['verify', 'bk']);
    expect(verified.code).toBe(0);
    expect(verified.value).toMatchObject({ kind: 'backup', ok: true, check: { rows: 3000 } });
    expect(json(['verify', 'db']).value).toMatchObject({ kind: 'database', ok: true });
    const restored = json(['restore', 'bk', 'restored']);
    expect(restored.code).toBe(0);
    expect(restored.value['endLsn']).toBe(backup.value['endLsn']);

    // The restored database exports the same rows, byte for byte, as the original.
    expect(minno(['export', 'db', '-t', 'people', '-o', 'a.ndjson']).code).toBe(0);
    expect(minno(['export', 'restored', '-t', 'people', '-o', 'b.ndjson']).code).toBe(0);
    expect(readFileSync(join(work, 'b.ndjson'), 'utf8')).toBe(readFileSync(join(work, 'a.ndjson'), 'utf8'));
    expect(readFileSync(join(work, 'a.ndjson'), 'utf8')).toBe(ndjson(3000));
    const csv = minno(['export', 'db', '-t', 'people', '-f', 'csv']);
    expect(csv.stdout.split('\n')[0]).toBe('id,name,score');
    expect(csv.stdout.split('\n')[1]).toBe('0,person 0,-0');
    const sql = minno(['export', 'db', '-o', 'dump.sql']);
    expect(sql.code).toBe(0);
    expect(readFileSync(join(work, 'dump.sql'), 'utf8')).toContain('CREATE TABLE `people`');

    const spaces = json(['inspect', 'spaces', 'db']);
    expect((spaces.value as unknown as { file: string }[]).map((s) => s.file)).toEqual([
      'system.ibd',
      'space-000001.ibd',
    ]);
    const tree = minno(['inspect', 'tree', 'db', 'people']);
    expect(tree.stdout).toMatch(/level 0 \(leaves\)/);
    expect(json(['inspect', 'page', 'db', '1', '0']).value['type']).toBe('SpaceHeader');
    expect(json(['inspect', 'versions', 'db', 'people', '42']).value['end']).toBe('inserted');
    expect(json(['inspect', 'history', 'db']).code).toBe(0);
    expect(json(['inspect', 'redo', 'bk']).code).toBe(0);
  });

  it('names the bad line of an import (exit 3, ERR_IMPORT_LINE) and a missing marker (ERR_INCOMPLETE_BACKUP)', () => {
    const text = ndjson(10).split('\n');
    text[6] = '{"id": "5", "name": 17, "score": 1}';
    writeFileSync(join(work, 'bad.ndjson'), text.join('\n'));
    const failed = minno(['import', 'bad', 'bad.ndjson', '--json']);
    expect(failed.code).toBe(3);
    expect(JSON.parse(failed.stdout).error).toMatchObject({ code: 'ERR_IMPORT_LINE', line: 7 });
    const piped = minno(['import', 'piped', '-', '--table', 'people', '--format', 'ndjson'], ndjson(5));
    expect(piped.code).toBe(0);

    rmSync(join(work, 'bk', 'backup.json'));
    const incomplete = minno(['verify', 'bk', '--json']);
    expect(incomplete.code).toBe(3);
    expect(JSON.parse(incomplete.stdout).error.code).toBe('ERR_INCOMPLETE_BACKUP');
    expect(minno(['restore', 'bk', 'again']).stderr).toContain('ERR_INCOMPLETE_BACKUP');
  });

  it('salvages a damaged database (exit 1: rows were lost) and says where the dev tools live', () => {
    const levels = json(['inspect', 'tree', 'db', 'people']).value as unknown as { pages: { pageNo: number }[] }[];
    const leaf = levels.at(-1)!.pages[3]!.pageNo;
    const file = join(work, 'db', 'space-000001.ibd');
    const bytes = readFileSync(file);
    bytes.fill(0x5a, leaf * 16384 + 300, leaf * 16384 + 340); // inside a leaf of the table (16 KiB pages)
    writeFileSync(file, bytes);
    // A valid copy in the doublewrite file would repair the page on open (rule TORN), and whether
    // the last flush batch held this leaf depends on timing: empty it so the damage is for good.
    writeFileSync(join(work, 'db', 'doublewrite.dblwr'), Buffer.alloc(0));
    expect(minno(['check', 'db']).code).toBe(1);
    const salvaged = json(['salvage', 'db', 'saved']);
    expect(salvaged.code).toBe(1);
    expect((salvaged.value['badPages'] as unknown[]).length).toBe(1);
    expect((salvaged.value['lost'] as unknown[]).length).toBe(1);
    expect(json(['check', 'saved']).value['ok']).toBe(true);

    const sim = minno(['sim']);
    expect(sim.code).toBe(3);
    expect(sim.stderr).toContain('available in a source checkout');
  });
});
