/**
 * The mutation audit: for each crash-safety and MVCC rule, does a test fail when the rule is gone?
 *
 *   npm run audit:mutations                         every mutation in scripts/mutations.ts
 *   npm run audit:mutations -- --only DURABLE       those whose name contains DURABLE (comma list)
 *   npm run audit:mutations -- --list               list them, run nothing
 *   npm run audit:mutations -- --json report.json   also write the report as JSON
 *
 * It copies the working tree (without node_modules, .git, dist) to a temporary directory, runs
 * the named tests once unmutated (the baseline: they must pass, or "killed" would mean nothing),
 * then for each mutation applies it to the copy, runs its named tests with vitest, and restores
 * the file. A mutant is killed when one of its tests fails, survived when all pass. The report
 * lists each mutant, the tests that killed it, and the survivors; a survivor marked equivalent in
 * the catalogue is reported with its reason. Exit code 1 if a mutant that should be killed
 * survived, or a mutation's text is no longer in the source (update the catalogue).
 *
 * It is CPU heavy (minutes: the crash tests run once per mutant); CI does not run it. Run it
 * after changing a rule's code or its tests, and when adding a rule, add its mutation.
 */
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MUTATIONS, type Mutation } from './mutations.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');
const RUN_TIMEOUT_MS = 15 * 60_000;

type Outcome = 'killed' | 'survived' | 'equivalent' | 'missing';

interface Result {
  readonly name: string;
  readonly rule: string;
  readonly site: string;
  readonly outcome: Outcome;
  /** The tests that failed (killed), or why it is equivalent / missing. */
  readonly detail: string;
  readonly seconds: number;
}

interface Run {
  readonly passed: boolean;
  readonly failed: string[];
  readonly output: string;
}

function parseArgs(argv: readonly string[]): {
  only: string[];
  list: boolean;
  json: string | undefined;
  keep: boolean;
} {
  const options = { only: [] as string[], list: false, json: undefined as string | undefined, keep: false };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--only') options.only = (argv[++i] ?? '').split(',').filter((s) => s !== '');
    else if (arg === '--list') options.list = true;
    else if (arg === '--json') options.json = argv[++i];
    else if (arg === '--keep') options.keep = true;
    else throw new Error(`unknown argument ${String(arg)}: see the usage at the top of scripts/audit-mutations.ts`);
  }
  return options;
}

/** A copy of the working tree to mutate, sharing node_modules. */
function makeCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'minno-audit-'));
  const skip = new Set(['node_modules', '.git', 'dist']);
  for (const name of readdirSync(ROOT)) {
    if (skip.has(name)) continue;
    cpSync(join(ROOT, name), join(dir, name), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
  return dir;
}

/** `file > pattern` split; a pattern is matched literally. */
function parseTest(spec: string): { file: string; pattern: string | undefined } {
  const at = spec.indexOf(' > ');
  return at < 0 ? { file: spec, pattern: undefined } : { file: spec.slice(0, at), pattern: spec.slice(at + 3) };
}

const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const ESC = String.fromCharCode(27);
const stripAnsi = (text: string): string => text.replaceAll(new RegExp(`${ESC}\\[[0-9;]*m`, 'g'), '');

/** Runs vitest on `files` (with a name pattern), in the copy. */
function vitest(dir: string, files: readonly string[], pattern: string | undefined): Run {
  const args = [VITEST, 'run', ...files, '--reporter=default'];
  if (pattern !== undefined) args.push('-t', escapeRegExp(pattern));
  const child = spawnSync(process.execPath, args, {
    cwd: dir,
    encoding: 'utf8',
    timeout: RUN_TIMEOUT_MS,
    env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1', CI: '1' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const output = stripAnsi(`${child.stdout ?? ''}\n${child.stderr ?? ''}`);
  const failed = [
    ...new Set(
      output
        .split('\n')
        .filter((line) => /^\s*FAIL\s+\S+\.test\.ts >/.test(line))
        .map((line) => line.trim().replace(/^FAIL\s+/, '')),
    ),
  ];
  return { passed: child.status === 0, failed, output };
}

/** Runs a mutant's tests, one vitest run per file-and-pattern, stopping at the first that fails. */
function runTests(dir: string, tests: readonly string[]): Run {
  const whole = tests
    .map(parseTest)
    .filter((t) => t.pattern === undefined)
    .map((t) => t.file);
  const runs: Array<{ files: string[]; pattern: string | undefined }> = [];
  if (whole.length > 0) runs.push({ files: whole, pattern: undefined });
  for (const test of tests.map(parseTest))
    if (test.pattern !== undefined) runs.push({ files: [test.file], pattern: test.pattern });
  let output = '';
  for (const run of runs) {
    const result = vitest(dir, run.files, run.pattern);
    output += result.output;
    if (!result.passed) return { passed: false, failed: result.failed, output };
  }
  return { passed: true, failed: [], output };
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (at: string): void => {
    for (const name of readdirSync(at)) {
      const path = join(at, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.ts')) out.push(path);
    }
  };
  walk(join(dir, 'src'));
  return out;
}

const occurrences = (text: string, find: string): number => text.split(find).length - 1;

/** The file of the copy that holds the mutation's text exactly once (its catalogue file, or where it moved). */
function locate(dir: string, mutation: Mutation): string | undefined {
  const named = join(dir, mutation.file);
  if (existsSync(named) && occurrences(readFileSync(named, 'utf8'), mutation.find) === 1) return named;
  const found = sourceFiles(dir).filter((path) => occurrences(readFileSync(path, 'utf8'), mutation.find) === 1);
  return found.length === 1 ? found[0] : undefined;
}

function audit(dir: string, mutation: Mutation): Result {
  const started = Date.now();
  const base = { name: mutation.name, rule: mutation.rule };
  const path = locate(dir, mutation);
  if (path === undefined) {
    return {
      ...base,
      site: mutation.file,
      outcome: 'missing',
      detail: 'its text is not in the source once: update scripts/mutations.ts',
      seconds: 0,
    };
  }
  const original = readFileSync(path, 'utf8');
  writeFileSync(path, original.replace(mutation.find, mutation.replace));
  let run: Run;
  try {
    run = runTests(dir, mutation.tests);
  } finally {
    writeFileSync(path, original);
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  const site = relative(dir, path);
  if (!run.passed) {
    const detail = run.failed.length > 0 ? run.failed.join('; ') : 'vitest failed (see the output with --keep)';
    return { ...base, site, outcome: 'killed', detail, seconds };
  }
  if (mutation.equivalent !== undefined)
    return { ...base, site, outcome: 'equivalent', detail: mutation.equivalent, seconds };
  return { ...base, site, outcome: 'survived', detail: `no test of ${mutation.tests.join(', ')} failed`, seconds };
}

function main(): void {
  const options = parseArgs(process.argv.slice(2));
  const names = new Set<string>();
  for (const mutation of MUTATIONS) {
    if (names.has(mutation.name)) throw new Error(`duplicate mutation name ${mutation.name}`);
    names.add(mutation.name);
  }
  const chosen =
    options.only.length === 0 ? MUTATIONS : MUTATIONS.filter((m) => options.only.some((part) => m.name.includes(part)));
  if (options.list) {
    for (const m of chosen) {
      const site = locate(ROOT, m);
      const where = site === undefined ? 'MISSING: update scripts/mutations.ts' : relative(ROOT, site);
      console.log(`${m.name.padEnd(42)} ${m.rule}\n  site:  ${where}\n  tests: ${m.tests.join(' | ')}`);
    }
    return;
  }
  if (chosen.length === 0) throw new Error('no mutation matches --only');
  const dir = makeCopy();
  console.log(`mutation audit: ${chosen.length} mutants, working copy ${dir}`);
  try {
    const baselineTests = [...new Set(chosen.flatMap((m) => m.tests))];
    console.log(`baseline: the named tests without any mutation (${baselineTests.length} selections)`);
    const baseline = runTests(dir, baselineTests);
    if (!baseline.passed) {
      console.log(baseline.output.split('\n').slice(-60).join('\n'));
      throw new Error(`the baseline fails (${baseline.failed.join('; ')}): fix the tests before auditing`);
    }
    const results: Result[] = [];
    for (const mutation of chosen) {
      const result = audit(dir, mutation);
      results.push(result);
      console.log(`${result.outcome.toUpperCase().padEnd(10)} ${result.name} (${result.seconds}s): ${result.detail}`);
    }
    const count = (outcome: Outcome): number => results.filter((r) => r.outcome === outcome).length;
    const summary = {
      tried: results.length,
      killed: count('killed'),
      survived: count('survived') + count('equivalent'),
      equivalent: count('equivalent'),
      unexplained: count('survived'),
      missing: count('missing'),
    };
    console.log(
      `\nmutants tried ${summary.tried}, killed ${summary.killed}, survived ${summary.survived} ` +
        `(equivalent ${summary.equivalent}, unexplained ${summary.unexplained}), sites missing ${summary.missing}`,
    );
    for (const r of results.filter((x) => x.outcome === 'equivalent'))
      console.log(`  equivalent ${r.name}: ${r.detail}`);
    if (options.json !== undefined) writeFileSync(options.json, `${JSON.stringify({ summary, results }, null, 2)}\n`);
    if (summary.unexplained > 0 || summary.missing > 0) process.exitCode = 1;
  } finally {
    if (options.keep) console.log(`kept ${dir}`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

main();
