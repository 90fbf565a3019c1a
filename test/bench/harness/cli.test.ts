/**
 * The harness as a person runs it: the real command, one process per engine, the reports it
 * writes, and the messages (not stack traces) and exit status for bad options.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unavailableReason } from '../../../bench/harness/engines/catalog.js';
import { ENGINE_KINDS, type EngineKind } from '../../../bench/harness/engines/engine.js';
import type { ComparisonReport } from '../../../bench/harness/report/comparison.js';

const installed: EngineKind[] = [];
for (const kind of ENGINE_KINDS) if ((await unavailableReason(kind)) === undefined) installed.push(kind);

const scratch = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-harness-cli-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

/** A resolve hook that makes `lmdb` look uninstalled, as on a machine without it. */
const HIDE_LMDB = nodePath.join(scratch, 'hide-lmdb.mjs');
fs.writeFileSync(
  HIDE_LMDB,
  `export async function resolve(specifier, context, next) {
  if (specifier === 'lmdb') throw Object.assign(new Error("Cannot find package 'lmdb'"), { code: 'ERR_MODULE_NOT_FOUND' });
  return next(specifier, context);
}
`,
);
const REGISTER_HIDE_LMDB = `data:text/javascript,import { register } from 'node:module'; register(${JSON.stringify(new URL(`file://${HIDE_LMDB}`).href)});`;

function minnoBench(args: readonly string[], options: { hideLmdb?: boolean } = {}): SpawnSyncReturns<string> {
  const loaders = ['--import', 'tsx', ...(options.hideLmdb === true ? ['--import', REGISTER_HIDE_LMDB] : [])];
  return spawnSync(process.execPath, [...loaders, 'bench/cli.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, MINNO_DEBUG: '0' },
    timeout: 120_000,
  });
}

function expectUsageError(result: SpawnSyncReturns<string>, message: RegExp): void {
  expect(result.status, result.stderr).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).not.toMatch(/^\s+at /m); // no stack trace
  expect(result.stdout).toBe('');
}

describe('minno-bench', () => {
  it('runs a comparison, one process per engine, and writes JSON, markdown and SVG', () => {
    const out = nodePath.join(scratch, 'out');
    const result = minnoBench([
      'oltp_read_write',
      'bulk_insert',
      '--table-size',
      '150',
      '--events',
      '30',
      '--bulk-rows',
      '10',
      '--repetitions',
      '2',
      '--report-interval',
      '1',
      '--out',
      out,
    ]);
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(fs.readFileSync(nodePath.join(out, 'report.json'), 'utf8')) as ComparisonReport;
    expect(report.engines.map((e) => e.kind)).toEqual(installed);
    expect(report.results).toHaveLength(2 * installed.length);
    for (const r of report.results) {
      expect(r.ok, `${r.workload} on ${r.engine}: ${r.error}`).toBe(true);
      expect(r.run!.repetitions).toHaveLength(2);
      for (const rep of r.run!.repetitions) {
        expect(rep.events).toBe(30);
        expect(rep.histogram).toMatch(/^[A-Za-z0-9+/=]+$/);
        expect(rep.io?.wchar).toBeGreaterThanOrEqual(0);
      }
      // Each engine ran in a process of its own: a real peak RSS of its own.
      expect(r.summary!.rssPeakBytes).toBeGreaterThan(10 * 1024 * 1024);
    }
    // Same statements, same data: every engine read the same.
    for (const workload of ['oltp_read_write', 'bulk_insert']) {
      const digests = new Set(report.results.filter((r) => r.workload === workload).map((r) => r.run!.digest));
      expect(digests.size, workload).toBe(1);
    }
    // Ratios both ways, reciprocal.
    const [a, b] = installed;
    expect(report.ratios['oltp_read_write']![a!]![b!]! * report.ratios['oltp_read_write']![b!]![a!]!).toBeCloseTo(1, 9);
    // Every engine says what durable means for it, and how it serves the k index.
    for (const e of report.engines) expect(e.durability.length * e.secondaryIndex.length).toBeGreaterThan(0);
    expect(report.engines.find((e) => e.kind === 'minno')?.secondaryIndex).toMatch(/^native/);

    // A durable run measures the disk's own overwrite + fdatasync rate, the durable targets' yardstick.
    expect(report.syncRate!.samples).toHaveLength(2);
    expect(report.syncRate!.syncsPerS).toBeGreaterThan(0);

    const markdown = fs.readFileSync(nodePath.join(out, 'report.md'), 'utf8');
    expect(result.stdout).toBe(markdown);
    expect(markdown).toMatch(/raw durable-commit rate .*: [\d,]+ syncs\/s/);
    for (const kind of installed)
      expect(markdown).toMatch(new RegExp(`^\\| ${kind.replace('.', '\\.')} \\| [\\d,.]+ \\|`, 'm'));
    expect(markdown).toContain(`vs ${installed[1]}`);
    const svg = fs.readFileSync(nodePath.join(out, 'report.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('oltp_read_write');
    expect(result.stderr).toMatch(/oltp_read_write on minno: [\d,.]+ events\/s/);
  });

  it('lists workloads and engines', () => {
    const result = minnoBench(['list']);
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/oltp_point_select\s+one SELECT/);
    expect(result.stdout).toMatch(/minno\s+installed/);
  });

  it('rejects an unknown workload with a message and status 2', () => {
    expectUsageError(minnoBench(['oltp_nothing']), /unknown workload 'oltp_nothing'/);
  });

  it('rejects a negative size', () => {
    expectUsageError(
      minnoBench(['oltp_point_select', '--table-size', '-5']),
      /--table-size must be a whole number of 1 or more, got '-5'/,
    );
  });

  it('rejects an engine that is not installed, and runs without it when none is named', () => {
    expectUsageError(
      minnoBench(['oltp_point_select', '--engines', 'minno,lmdb'], { hideLmdb: true }),
      /lmdb is not installed \(npm install --save-dev lmdb\)/,
    );
    const out = nodePath.join(scratch, 'without-lmdb');
    const result = minnoBench(
      [
        'oltp_point_select',
        '--table-size',
        '50',
        '--events',
        '10',
        '--repetitions',
        '1',
        '--in-process',
        '--quiet',
        '--json',
        '--out',
        out,
      ],
      {
        hideLmdb: true,
      },
    );
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as ComparisonReport;
    expect(report.engines.map((e) => e.kind)).not.toContain('lmdb');
    expect(report.skippedEngines).toEqual([
      { kind: 'lmdb', reason: 'lmdb is not installed (npm install --save-dev lmdb)' },
    ]);
  });

  it('overhead: runs and prints its table; bad options get a message and status 2', () => {
    const result = minnoBench([
      'overhead',
      '--engines',
      'minno',
      '--table-size',
      '100',
      '--events',
      '100',
      '--rounds',
      '1',
    ]);
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/\| minno \| \d+ \(\d+\)/);
    expectUsageError(minnoBench(['overhead', '--rounds', '0']), /--rounds must be a positive integer/);
    expectUsageError(minnoBench(['overhead', '--engines', 'sql.js']), /engine 'sql.js' has no bare loop/);
    expectUsageError(
      minnoBench(['overhead', '--engines', 'lmdb'], { hideLmdb: true }),
      /lmdb is not installed \(npm install --save-dev lmdb\)/,
    );
  });

  it('still runs the micro suites when no workload is named', () => {
    // A bad scale is the micro suites' own usage error: the command went there.
    expectUsageError(minnoBench(['--scale', 'enormous']), /unknown scale 'enormous'/);
  });
});
