/**
 * One comparison: every named workload on every engine, each in a process of its own, on
 * identical data and key sequences, then the report.
 *
 *   check engines -> transpile src/ and bench/ to JavaScript once (child processes run plain
 *   node: tsx's loader would add tens of MiB to every engine's RSS) -> prepare: per table family
 *   (sbtest, usertable) and engine, load the tables once into a directory and close it
 *   -> for each workload, for each engine: copy the prepared directory, run the workload in a
 *   fresh process on the copy, delete it -> summarize, ratios.
 *
 * The prepare step is sysbench's `prepare` (and YCSB's load phase): untimed, reported as rows/s
 * for information. Copying the prepared files instead of loading again per workload keeps a
 * million-row comparison from spending most of its time loading, and gives every workload the
 * same starting files. For bulk_insert (which starts empty) minno's data is prepared anyway when a
 * minno variant runs, so `minno:pool=10%` has something to be ten percent of.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../lib/stats.js';
import { makeTempDir, type TempDir } from '../lib/temp-dir.js';
import type { ChildJob, ChildMessage } from './child.js';
import { loadAdapter, minnoPoolBytes, unavailableReason, type EngineVariant } from './engines/catalog.js';
import { ENGINE_KINDS, type EngineConfig, type EngineKind } from './engines/engine.js';
import { measureSyncRate, type SyncRate } from './measure.js';
import { limitsFor, UsageError, type HarnessOptions } from './options.js';
import type { ProgressView, StepView } from './progress.js';
import { formatCount, formatDuration } from './report/format.js';
import {
  machineInfo,
  ratiosOf,
  summarizeRun,
  type ComparisonReport,
  type DatasetReport,
  type EngineDescription,
  type WorkloadResult,
} from './report/comparison.js';
import {
  prepareDataset,
  runWorkload,
  type PrepareResult,
  type PrepareSpec,
  type RunResult,
  type RunSpec,
} from './runner.js';
import { needsPreparedData, workloadFamily, type WorkloadFamily } from './workloads/catalog.js';
import { SBTEST_ROW_BYTES } from './workloads/sbtest.js';
import { ycsbRecordBytes } from './workloads/ycsb.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs prepare and run jobs: in child processes, or (debugging, tests) in this one. */
interface Executor {
  prepare(spec: PrepareSpec, step: StepView): Promise<PrepareResult>;
  run(spec: RunSpec, step: StepView): Promise<RunResult>;
  close(): void;
}

function inProcessExecutor(): Executor {
  const hooks = (step: StepView) => ({ progress: step.update, interval: step.interval });
  return {
    prepare: (spec, step) => prepareDataset(spec, hooks(step)),
    run: (spec, step) => runWorkload(spec, hooks(step)),
    close: () => {},
  };
}

/** Bytes of stderr kept from a child, for the message when it fails. */
const STDERR_TAIL_BYTES = 4000;

/** Runs jobs in child processes, from a JavaScript copy of the repository made under `scratchDir`. */
async function childExecutor(scratchDir: string): Promise<Executor> {
  // Loaded here: it brings the TypeScript compiler, which an in-process run does not need.
  const { transpileRepository } = await import('../lib/child.js');
  const tree = transpileRepository(scratchDir);
  const script = nodePath.join(tree.path, 'bench', 'harness', 'child.js');
  const children = new Set<ChildProcess>();
  const start = <T>(job: ChildJob, step: StepView): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      // Figures are for minno as shipped: its expensive debug checks stay off in the engine's process.
      const child = fork(script, [], {
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        execArgv: [],
        env: { ...process.env, MINNO_DEBUG: '0' },
      });
      children.add(child);
      let stderr = '';
      let settled = false;
      child.stdout?.resume();
      child.stderr
        ?.setEncoding('utf8')
        .on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-STDERR_TAIL_BYTES)));
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'progress') step.update(message.update);
        else if (message.type === 'interval') step.interval(message.repetition, message.sample);
        else if (message.type === 'result') {
          settled = true;
          resolve(message.result as T);
        } else {
          settled = true;
          reject(new Error(message.message));
        }
      });
      child.on('error', (error) => {
        settled = true;
        reject(error);
      });
      child.on('exit', (code, signal) => {
        children.delete(child);
        if (!settled)
          reject(
            new Error(
              `the engine's process exited with ${signal ?? `code ${code}`} before answering${stderr === '' ? '' : `:\n${stderr.trim()}`}`,
            ),
          );
      });
      child.send(job);
    });
  return {
    prepare: (spec, step) => start<PrepareResult>({ kind: 'prepare', spec }, step),
    run: (spec, step) => start<RunResult>({ kind: 'run', spec }, step),
    close() {
      for (const child of children) child.kill();
      tree.remove();
    },
  };
}

/** The version in an installed package's package.json (minno: this repository's). */
function packageVersion(packageName: string): string {
  const path =
    packageName === 'minno'
      ? nodePath.join(REPO_ROOT, 'package.json')
      : nodePath.join(REPO_ROOT, 'node_modules', packageName, 'package.json');
  try {
    return String((JSON.parse(fs.readFileSync(path, 'utf8')) as { version?: unknown }).version ?? 'unknown');
  } catch {
    return 'unknown';
  }
}

/** The engines to run: as named (each must be installed), or every installed one. */
async function resolveEngines(
  options: HarnessOptions,
): Promise<{ variants: EngineVariant[]; skipped: { kind: EngineKind; reason: string }[] }> {
  const variants = options.engines ?? ENGINE_KINDS.map((kind) => ({ label: kind, kind }));
  const skipped: { kind: EngineKind; reason: string }[] = [];
  for (const kind of new Set(variants.map((v) => v.kind))) {
    const reason = await unavailableReason(kind);
    if (reason === undefined) continue;
    if (options.engines !== undefined) throw new UsageError(reason);
    skipped.push({ kind, reason });
  }
  return { variants: variants.filter((v) => !skipped.some((s) => s.kind === v.kind)), skipped };
}

/** Raw bytes of a family's data (rows times the bytes the application hands over per row). */
function rawDataBytes(family: WorkloadFamily, options: HarnessOptions): number {
  return family === 'sysbench'
    ? options.sysbench.tables * options.sysbench.tableSize * SBTEST_ROW_BYTES
    : options.ycsb.recordcount * ycsbRecordBytes(options.ycsb);
}

/** The families to prepare, and for each the engines that need it. */
function preparePlan(
  options: HarnessOptions,
  variants: readonly EngineVariant[],
): Map<WorkloadFamily, Set<EngineKind>> {
  const plan = new Map<WorkloadFamily, Set<EngineKind>>();
  const add = (family: WorkloadFamily, kind: EngineKind): void => {
    let kinds = plan.get(family);
    if (kinds === undefined) plan.set(family, (kinds = new Set()));
    kinds.add(kind);
  };
  for (const workload of options.workloads) {
    const family = workloadFamily(workload);
    for (const v of variants) {
      // bulk_insert starts empty, but minno's pool is sized from its loaded tables.
      if (needsPreparedData(workload) || v.kind === 'minno') add(family, v.kind);
    }
  }
  return plan;
}

export interface ComparisonInput {
  readonly options: HarnessOptions;
  /** The command as typed, for the report. */
  readonly command: string;
  readonly progress: ProgressView;
}

export async function runComparison({ options, command, progress }: ComparisonInput): Promise<ComparisonReport> {
  const startedAt = new Date();
  const { variants, skipped } = await resolveEngines(options);
  if (variants.length === 0) throw new UsageError('no engine to run: none of them is installed');
  for (const s of skipped) progress.log(`skipping ${s.reason}`);

  const engines: EngineDescription[] = [];
  for (const variant of variants) {
    const adapter = await loadAdapter(variant.kind);
    engines.push({
      label: variant.label,
      kind: variant.kind,
      packageName: adapter.packageName,
      version: packageVersion(adapter.packageName),
      embeddedVersion: null,
      durability: adapter.durability(options.durable),
      secondaryIndex: adapter.secondaryIndex,
      notes: adapter.notes,
    });
  }

  const scratch: TempDir = makeTempDir('minno-bench-run-');
  let executor: Executor | undefined;
  const cleanUp = (): void => {
    executor?.close();
    scratch.remove();
  };
  // Interrupted: stop the engines' processes and remove the scratch files before going.
  const interrupted = (): void => {
    cleanUp();
    process.exit(130);
  };
  process.once('exit', cleanUp);
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const datasets: DatasetReport[] = [];
  // The disk's raw durable-commit rate, before and after the engines (the median of the two is reported).
  const syncRates: SyncRate[] = options.durable ? [measureSyncRate(scratch.path)] : [];
  const prepared = new Map<string, { dir: string; result: PrepareResult }>();
  const results: WorkloadResult[] = [];
  try {
    executor = options.inProcess ? inProcessExecutor() : await childExecutor(scratch.path);
    for (const [family, kinds] of preparePlan(options, variants)) {
      for (const kind of kinds) {
        const dir = nodePath.join(scratch.path, `prepared-${family}-${kind}`);
        fs.mkdirSync(dir);
        // minno loads with a pool that holds everything (the load is not what is measured).
        const config: EngineConfig = {
          durable: options.durable,
          ...(kind === 'minno'
            ? { bufferPoolBytes: minnoPoolBytes(undefined, 3 * rawDataBytes(family, options)) }
            : {}),
        };
        const step = progress.step(`prepare ${family === 'sysbench' ? 'sbtest' : 'usertable'} on ${kind}`);
        try {
          const result = await executor.prepare(
            { engine: kind, config, dir, family, sysbench: options.sysbench, ycsb: options.ycsb, seed: options.seed },
            step,
          );
          prepared.set(`${family}/${kind}`, { dir, result });
          datasets.push({ family, engine: kind, ok: true, prepare: result });
          step.end(
            `${formatCount(result.rows)} rows in ${formatDuration(result.loadMs)} (${formatCount((result.rows * 1000) / result.loadMs)} rows/s)`,
          );
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          datasets.push({ family, engine: kind, ok: false, error: message });
          step.end(`FAILED: ${message.split('\n')[0]}`);
        }
      }
    }

    let runNumber = 0;
    for (const workload of options.workloads) {
      const family = workloadFamily(workload);
      const limits = limitsFor(options, workload);
      for (const variant of variants) {
        const minnoData = prepared.get(`${family}/minno`)?.result.minnoDataBytes ?? undefined;
        const bufferPoolBytes = variant.kind === 'minno' ? minnoPoolBytes(variant.pool, minnoData) : undefined;
        const base = {
          workload,
          engine: variant.label,
          kind: variant.kind,
          limits,
          ...(bufferPoolBytes === undefined ? {} : { bufferPoolBytes }),
        };
        const source = needsPreparedData(workload) ? prepared.get(`${family}/${variant.kind}`) : undefined;
        if (needsPreparedData(workload) && source === undefined) {
          results.push({ ...base, ok: false, error: `the ${family} tables could not be prepared on ${variant.kind}` });
          continue;
        }
        const dir = nodePath.join(scratch.path, `run-${++runNumber}`);
        if (source === undefined) fs.mkdirSync(dir);
        else fs.cpSync(source.dir, dir, { recursive: true });
        const step = progress.step(`${workload} on ${variant.label}`);
        try {
          const run = await executor.run(
            {
              engine: variant.kind,
              config: { durable: options.durable, ...(bufferPoolBytes === undefined ? {} : { bufferPoolBytes }) },
              workload,
              family,
              sysbench: options.sysbench,
              ycsb: options.ycsb,
              seed: options.seed,
              threads: options.threads,
              timeS: limits.timeS,
              events: limits.events,
              warmupTimeS: options.warmupTimeS,
              warmupEvents: options.warmupEvents,
              repetitions: options.repetitions,
              reportIntervalS: options.reportIntervalS,
              dir,
              prepared: source !== undefined,
            },
            step,
          );
          const summary = summarizeRun(run);
          results.push({ ...base, ok: true, run, summary });
          const engine = engines.find((e) => e.label === variant.label)!;
          if (run.embeddedVersion !== null && engine.embeddedVersion === null)
            engines[engines.indexOf(engine)] = { ...engine, embeddedVersion: run.embeddedVersion };
          step.end(`${formatCount(summary.eventsPerS)} events/s, p99 ${formatCount(summary.latencyUs.p99)} µs`);
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          results.push({ ...base, ok: false, error: message });
          step.end(`FAILED: ${message.split('\n')[0]}`);
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }
    }
    if (options.durable) syncRates.push(measureSyncRate(scratch.path));
  } finally {
    process.removeListener('exit', cleanUp);
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
    cleanUp();
  }

  return {
    tool: 'minno-bench',
    format: 1,
    command,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    machine: machineInfo(),
    syncRate:
      syncRates.length === 0
        ? null
        : { ...syncRates[0]!, syncsPerS: median(syncRates.map((r) => r.syncsPerS)), samples: syncRates },
    options: {
      workloads: options.workloads,
      engines: variants.map((v) => v.label),
      durability: options.durable ? 'full' : 'none',
      threads: options.threads,
      time: options.timeS ?? null,
      events: options.events,
      warmupTime: options.warmupTimeS,
      warmupEvents: options.warmupEvents,
      repetitions: options.repetitions,
      reportInterval: options.reportIntervalS,
      seed: options.seed,
      inProcess: options.inProcess,
      sysbench: options.sysbench,
      ycsb: options.ycsb,
    },
    engines,
    skippedEngines: skipped,
    datasets,
    results,
    ratios: ratiosOf(results),
  };
}
