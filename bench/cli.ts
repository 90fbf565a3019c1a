/**
 * `minno-bench` and `npm run bench`: the comparison harness, and minno's own micro benchmarks.
 *
 *   npm run bench -- oltp_point_select ycsb-c --table-size 100000     a comparison (harness/)
 *   npm run bench -- list                                              workloads and engines
 *   npm run bench -- overhead                                          the harness's cost per event
 *   npm run bench -- --quick        (no workload named)                the micro suites (run.ts)
 *   npm run bench -- micro --filter recovery                           the micro suites, explicitly
 *
 * A comparison prints its markdown report on stdout (its JSON with --json), progress on stderr,
 * and writes report.json (every sample), report.md and report.svg to --out. Exit status: 0, or 1
 * when a run failed (the others still ran), or 2 for a usage error (a message, no stack trace).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { parseArgs } from 'node:util';
import { ENGINE_KINDS, type EngineKind } from './harness/engines/engine.js';
import { unavailableReason } from './harness/engines/catalog.js';
import { USAGE, UsageError, parseHarnessArgs } from './harness/options.js';
import { WORKLOADS, describeWorkload } from './harness/workloads/catalog.js';

// The rest is imported when needed: the chart library and the TypeScript compiler (which the
// comparison uses to transpile the engines' processes) take seconds to load, which a usage error
// or `list` should not wait for.

/** Options only the micro suites take: given any, the command means the micro suites. */
const MICRO_OPTIONS = /^--(quick|scale|filter)(=|$)/;

async function list(): Promise<void> {
  const lines = ['workloads:'];
  for (const name of WORKLOADS) lines.push(`  ${name.padEnd(22)} ${describeWorkload(name)}`);
  lines.push('engines:');
  for (const kind of ENGINE_KINDS) lines.push(`  ${kind.padEnd(22)} ${(await unavailableReason(kind)) ?? 'installed'}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** `minno-bench overhead`: the harness's own cost per event (harness/overhead.ts). */
async function overhead(args: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      engines: { type: 'string' },
      'table-size': { type: 'string', default: '200000' },
      events: { type: 'string', default: '200000' },
      rounds: { type: 'string', default: '7' },
      seed: { type: 'string', default: '1' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { OVERHEAD_ENGINES, measureOverhead, overheadMarkdown } = await import('./harness/overhead.js');
  const count = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new UsageError(`--${name} must be a positive integer, not '${text}'`);
    return value;
  };
  const engines = values.engines?.split(',') ?? [...OVERHEAD_ENGINES];
  for (const engine of engines) {
    if (!(OVERHEAD_ENGINES as readonly string[]).includes(engine))
      throw new UsageError(`overhead: engine '${engine}' has no bare loop: use ${OVERHEAD_ENGINES.join(', ')}`);
    const reason = await unavailableReason(engine as EngineKind);
    if (reason !== undefined) throw new UsageError(reason);
  }
  const report = await measureOverhead({
    engines: engines as EngineKind[],
    tableSize: count('table-size', values['table-size']),
    events: count('events', values.events),
    rounds: count('rounds', values.rounds),
    seed: count('seed', values.seed),
  });
  process.stdout.write(values.json ? `${JSON.stringify(report)}\n` : overheadMarkdown(report));
}

async function compare(args: readonly string[]): Promise<number> {
  const options = parseHarnessArgs(args);
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const [{ runComparison }, { lineProgress, silentProgress, terminalProgress }, { renderChart }, { markdownReport }] =
    await Promise.all([
      import('./harness/orchestrate.js'),
      import('./harness/progress.js'),
      import('./harness/report/chart.js'),
      import('./harness/report/markdown.js'),
    ]);
  const progress = options.quiet ? silentProgress() : process.stderr.isTTY ? terminalProgress() : lineProgress();
  let report: Awaited<ReturnType<typeof runComparison>>;
  try {
    report = await runComparison({ options, command: `minno-bench ${args.join(' ')}`, progress });
  } finally {
    progress.close();
  }
  fs.mkdirSync(options.outDir, { recursive: true });
  const markdown = markdownReport(report);
  const files = {
    json: nodePath.join(options.outDir, 'report.json'),
    md: nodePath.join(options.outDir, 'report.md'),
    svg: nodePath.join(options.outDir, 'report.svg'),
  };
  fs.writeFileSync(files.json, `${JSON.stringify(report, null, 1)}\n`);
  fs.writeFileSync(files.md, markdown);
  fs.writeFileSync(files.svg, await renderChart(report));
  process.stdout.write(options.json ? `${JSON.stringify(report)}\n` : markdown);
  if (!options.quiet) process.stderr.write(`wrote ${files.json}, ${files.md}, ${files.svg}\n`);
  return report.results.some((r) => !r.ok) || report.datasets.some((d) => !d.ok) ? 1 : 0;
}

export async function main(args: readonly string[]): Promise<number> {
  try {
    if (args[0] === 'list') {
      await list();
      return 0;
    }
    if (args[0] === 'overhead') {
      await overhead(args.slice(1));
      return 0;
    }
    if (args.length === 0 || args[0] === 'micro' || args.some((a) => MICRO_OPTIONS.test(a))) {
      const { runMicroSuites } = await import('./run.js');
      await runMicroSuites(args[0] === 'micro' ? args.slice(1) : args);
      return typeof process.exitCode === 'number' ? process.exitCode : 0;
    }
    return await compare(args);
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    if (error instanceof UsageError || (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`minno-bench: ${(error as Error).message}\n(minno-bench --help shows the options)\n`);
      return 2;
    }
    throw error;
  }
}

process.exitCode = await main(process.argv.slice(2));
