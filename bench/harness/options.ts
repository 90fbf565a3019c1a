/**
 * The command line of the harness: `minno-bench <workload...> [options]` (also
 * `npm run bench -- <workload...> [options]`). Every mistake is a `UsageError` with a message for
 * a person; the command prints it and exits with status 2, never with a stack trace.
 *
 * sysbench's options keep their names and defaults (dashes or underscores: `--table-size` or
 * `--table_size`), YCSB's properties theirs (`--recordcount`, `--operationcount`, ...).
 */
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from '../lib/usage-error.js';
import { ENGINE_KINDS } from './engines/engine.js';
import { parseEngineVariant, type EngineVariant } from './engines/catalog.js';
import { WORKLOADS, resolveWorkloadName, isSysbench, type WorkloadName } from './workloads/catalog.js';
import { SYSBENCH_DEFAULTS, SYSBENCH_WORKLOADS, type SysbenchOptions } from './workloads/sysbench.js';
import {
  REQUEST_DISTRIBUTIONS,
  YCSB_DEFAULTS,
  YCSB_WORKLOADS,
  type RequestDistribution,
  type YcsbOptions,
} from './workloads/ycsb.js';

export { UsageError };

/** Most tables a run may have (lmdb opens two named databases per table). */
export const TABLES_MAX = 64;

export const DEFAULT_OUT_DIR = fileURLToPath(new URL('../results/harness/', import.meta.url));

export interface HarnessOptions {
  readonly workloads: readonly WorkloadName[];
  /** undefined: every engine that is installed. */
  readonly engines: readonly EngineVariant[] | undefined;
  readonly durable: boolean;
  readonly threads: number;
  /** --time as given (the default depends on the family: see `limitsFor`). */
  readonly timeS: number | undefined;
  readonly events: number;
  readonly warmupTimeS: number;
  readonly warmupEvents: number;
  readonly repetitions: number;
  readonly reportIntervalS: number;
  readonly seed: number;
  readonly outDir: string;
  readonly json: boolean;
  readonly quiet: boolean;
  /** Run every engine in this process (debugging; peak RSS then means nothing). */
  readonly inProcess: boolean;
  readonly sysbench: SysbenchOptions;
  readonly ycsb: YcsbOptions;
}

/** sysbench runs 10 s unless told otherwise; YCSB runs operationcount operations. */
export const SYSBENCH_TIME_DEFAULT_S = 10;

/** The limits of one repetition of `workload`: seconds and events, 0 meaning none. */
export function limitsFor(options: HarnessOptions, workload: WorkloadName): { timeS: number; events: number } {
  if (isSysbench(workload)) return { timeS: options.timeS ?? SYSBENCH_TIME_DEFAULT_S, events: options.events };
  return { timeS: options.timeS ?? 0, events: options.ycsb.operationcount };
}

export const USAGE = `usage: minno-bench <workload...> [options]       (or: npm run bench -- <workload...> [options])
       minno-bench list                             workloads and engines, and which are installed
       minno-bench overhead [--engines better-sqlite3,lmdb,minno] [--table-size N] [--events N] [--rounds N]
                                                    what the harness costs per event, against each
                                                    engine's own tight loop (docs/bench/agreement.md)
       minno-bench micro [--quick | --scale tiny|quick|full] [--filter TEXT]
                                                    minno's own micro benchmarks (storage core, table
                                                    API, transactions); also \`npm run bench -- --quick\`

workloads: ${SYSBENCH_WORKLOADS.join(', ')},
           ${YCSB_WORKLOADS.join(', ')} (or workloada..workloadf); 'sysbench', 'ycsb', 'all'

run:
  --engines LIST           comma-separated, from ${ENGINE_KINDS.join(', ')};
                           minno:pool=10% or minno:pool=256MiB sets minno's buffer pool
                           (default: every installed engine; minno's pool holds the data)
  --durability full|none   full (default): a commit is on disk when acknowledged; none: not synced
  --threads N              concurrent clients on the one database (1)
  --time S                 seconds per repetition (sysbench: 10; YCSB: no limit); 0 = no limit
  --events N               sysbench events per repetition; 0 = no limit (0)
  --report-interval S      print throughput and p95 latency every S seconds (0 = off)
  --warmup-time S          untimed warm-up before the repetitions (0)
  --warmup-events N        untimed warm-up events (0)
  --repetitions N          measured repetitions; the report gives their medians (3)
  --seed N                 the data and every key sequence derive from it (1)
  --out DIR                where report.json, report.md and report.svg go (bench/results/harness)
  --json                   print the JSON report on stdout instead of the markdown
  --quiet                  no progress on stderr
  --in-process             every engine in this process (debugging only: RSS and I/O are shared)

sysbench (names and defaults of sysbench's OLTP scripts):
  --table-size N (10000)  --tables N (1)  --range-size N (100)  --point-selects N (10)
  --simple-ranges N (1)  --sum-ranges N (1)  --order-ranges N (1)  --distinct-ranges N (1)
  --index-updates N (1)  --non-index-updates N (1)  --delete-inserts N (1)
  --range-selects on|off (on)  --skip-trx on|off (off)  --random-points N (10)
  --number-of-ranges N (10)  --delta N (5)  --bulk-rows N (rows per bulk_insert transaction, 1000)

YCSB (CoreWorkload properties):
  --recordcount N (1000)  --operationcount N (1000)  --fieldcount N (10)  --fieldlength N (100)
  --maxscanlength N (100)  --requestdistribution zipfian|uniform|latest (the workload's own)
`;

const INTEGER_OPTIONS = {
  threads: 1,
  time: 0,
  events: 0,
  'report-interval': 0,
  'warmup-time': 0,
  'warmup-events': 0,
  repetitions: 1,
  seed: 0,
  'table-size': 1,
  tables: 1,
  'range-size': 1,
  'point-selects': 0,
  'simple-ranges': 0,
  'sum-ranges': 0,
  'order-ranges': 0,
  'distinct-ranges': 0,
  'index-updates': 0,
  'non-index-updates': 0,
  'delete-inserts': 0,
  'random-points': 1,
  'number-of-ranges': 1,
  delta: 0,
  'bulk-rows': 1,
  recordcount: 1,
  operationcount: 0,
  fieldcount: 1,
  fieldlength: 1,
  maxscanlength: 1,
} as const satisfies Record<string, number>;

type IntegerOption = keyof typeof INTEGER_OPTIONS;

const STRING_OPTIONS = ['engines', 'durability', 'out', 'range-selects', 'skip-trx', 'requestdistribution'] as const;
const BOOLEAN_OPTIONS = ['json', 'quiet', 'in-process', 'help'] as const;

/**
 * sysbench's spellings made ours: `--table_size=5` is `--table-size=5`; and `--table-size -5` is
 * taken as a (negative, so refused) value rather than as an unknown option `-5`.
 */
function normalizeArgs(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) {
      out.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = (eq < 0 ? arg : arg.slice(0, eq)).replaceAll('_', '-');
    const next = args[i + 1];
    if (eq < 0 && next !== undefined && /^-\d/.test(next)) {
      out.push(`${name}=${next}`);
      i++;
    } else {
      out.push(name + (eq < 0 ? '' : arg.slice(eq)));
    }
  }
  return out;
}

function integer(values: Record<string, unknown>, name: IntegerOption): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  const min = INTEGER_OPTIONS[name];
  if (typeof text !== 'string' || text.trim() === '' || !Number.isSafeInteger(value) || value < min) {
    throw new UsageError(
      `--${name} must be a whole number ${min === 0 ? 'of 0 or more' : `of ${min} or more`}, got '${String(text)}'`,
    );
  }
  return value;
}

function onOff(values: Record<string, unknown>, name: 'range-selects' | 'skip-trx', fallback: boolean): boolean {
  const text = values[name];
  if (text === undefined) return fallback;
  if (text === 'on' || text === 'true' || text === '1') return true;
  if (text === 'off' || text === 'false' || text === '0') return false;
  throw new UsageError(`--${name} takes on or off, got '${String(text)}'`);
}

/** The workloads named by the positionals (comma-separated lists and groups allowed). */
function workloadsFrom(positionals: readonly string[]): WorkloadName[] {
  const names: WorkloadName[] = [];
  for (const text of positionals.flatMap((p) => p.split(',')).filter((p) => p !== '')) {
    const group =
      text === 'all'
        ? WORKLOADS
        : text === 'sysbench'
          ? SYSBENCH_WORKLOADS
          : text === 'ycsb'
            ? YCSB_WORKLOADS
            : undefined;
    const resolved = group ?? [resolveWorkloadName(text)];
    for (const name of resolved) {
      if (name === undefined)
        throw new UsageError(`unknown workload '${text}': use one of ${WORKLOADS.join(', ')} (or sysbench, ycsb, all)`);
      if (!names.includes(name)) names.push(name);
    }
  }
  if (names.length === 0) throw new UsageError('name at least one workload (minno-bench list shows them)');
  return names;
}

/** Parses the harness's arguments (those after the command). Throws UsageError. */
export function parseHarnessArgs(args: readonly string[]): HarnessOptions | 'help' {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: normalizeArgs(args),
      allowPositionals: true,
      strict: true,
      options: {
        ...Object.fromEntries(Object.keys(INTEGER_OPTIONS).map((name) => [name, { type: 'string' as const }])),
        ...Object.fromEntries(STRING_OPTIONS.map((name) => [name, { type: 'string' as const }])),
        ...Object.fromEntries(BOOLEAN_OPTIONS.map((name) => [name, { type: 'boolean' as const }])),
      },
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown !== null) throw new UsageError(`unknown option ${unknown[1]} (minno-bench --help lists them)`);
    throw new UsageError(message.split('\n')[0]!);
  }
  const values = parsed.values as Record<string, unknown>;
  if (values['help'] === true) return 'help';

  const workloads = workloadsFrom(parsed.positionals);
  let engines: EngineVariant[] | undefined;
  if (values['engines'] !== undefined) {
    engines = [];
    for (const spec of String(values['engines'])
      .split(',')
      .filter((s) => s !== '')) {
      let variant: EngineVariant;
      try {
        variant = parseEngineVariant(spec);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (engines.some((e) => e.label === variant.label))
        throw new UsageError(`engine ${variant.label} is named twice`);
      engines.push(variant);
    }
    if (engines.length === 0) throw new UsageError('--engines names no engine');
  }
  const durability = values['durability'] ?? 'full';
  if (durability !== 'full' && durability !== 'none')
    throw new UsageError(`--durability takes full or none, got '${String(durability)}'`);
  const distribution = values['requestdistribution'];
  if (distribution !== undefined && !(REQUEST_DISTRIBUTIONS as readonly unknown[]).includes(distribution)) {
    throw new UsageError(
      `--requestdistribution takes ${REQUEST_DISTRIBUTIONS.join(', ')}, got '${String(distribution)}'`,
    );
  }

  const get = (name: IntegerOption, fallback: number): number => integer(values, name) ?? fallback;
  const sysbench: SysbenchOptions = {
    tableSize: get('table-size', SYSBENCH_DEFAULTS.tableSize),
    tables: get('tables', SYSBENCH_DEFAULTS.tables),
    rangeSize: get('range-size', SYSBENCH_DEFAULTS.rangeSize),
    pointSelects: get('point-selects', SYSBENCH_DEFAULTS.pointSelects),
    simpleRanges: get('simple-ranges', SYSBENCH_DEFAULTS.simpleRanges),
    sumRanges: get('sum-ranges', SYSBENCH_DEFAULTS.sumRanges),
    orderRanges: get('order-ranges', SYSBENCH_DEFAULTS.orderRanges),
    distinctRanges: get('distinct-ranges', SYSBENCH_DEFAULTS.distinctRanges),
    indexUpdates: get('index-updates', SYSBENCH_DEFAULTS.indexUpdates),
    nonIndexUpdates: get('non-index-updates', SYSBENCH_DEFAULTS.nonIndexUpdates),
    deleteInserts: get('delete-inserts', SYSBENCH_DEFAULTS.deleteInserts),
    rangeSelects: onOff(values, 'range-selects', SYSBENCH_DEFAULTS.rangeSelects),
    skipTrx: onOff(values, 'skip-trx', SYSBENCH_DEFAULTS.skipTrx),
    randomPoints: get('random-points', SYSBENCH_DEFAULTS.randomPoints),
    numberOfRanges: get('number-of-ranges', SYSBENCH_DEFAULTS.numberOfRanges),
    delta: get('delta', SYSBENCH_DEFAULTS.delta),
    bulkRows: get('bulk-rows', SYSBENCH_DEFAULTS.bulkRows),
  };
  const ycsb: YcsbOptions = {
    recordcount: get('recordcount', YCSB_DEFAULTS.recordcount),
    operationcount: get('operationcount', YCSB_DEFAULTS.operationcount),
    fieldcount: get('fieldcount', YCSB_DEFAULTS.fieldcount),
    fieldlength: get('fieldlength', YCSB_DEFAULTS.fieldlength),
    maxscanlength: get('maxscanlength', YCSB_DEFAULTS.maxscanlength),
    requestdistribution: distribution as RequestDistribution | undefined,
  };
  const options: HarnessOptions = {
    workloads,
    engines,
    durable: durability === 'full',
    threads: get('threads', 1),
    timeS: integer(values, 'time'),
    events: get('events', 0),
    warmupTimeS: get('warmup-time', 0),
    warmupEvents: get('warmup-events', 0),
    repetitions: get('repetitions', 3),
    reportIntervalS: get('report-interval', 0),
    seed: get('seed', 1),
    outDir: nodePath.resolve(String(values['out'] ?? DEFAULT_OUT_DIR)),
    json: values['json'] === true,
    quiet: values['quiet'] === true,
    inProcess: values['in-process'] === true,
    sysbench,
    ycsb,
  };
  checkCombination(options);
  return options;
}

/** What the options allow one at a time but not together. */
function checkCombination(options: HarnessOptions): void {
  if (options.sysbench.tables > TABLES_MAX)
    throw new UsageError(`--tables must be at most ${TABLES_MAX}, got ${options.sysbench.tables}`);
  if (options.threads > 1024) throw new UsageError(`--threads must be at most 1024, got ${options.threads}`);
  if (options.ycsb.recordcount > 2 ** 36) throw new UsageError(`--recordcount must be at most ${2 ** 36}`);
  for (const workload of options.workloads) {
    const { timeS, events } = limitsFor(options, workload);
    if (timeS === 0 && events === 0) {
      throw new UsageError(
        `${workload} would never stop: give --time or ${isSysbench(workload) ? '--events' : '--operationcount'} a value above 0`,
      );
    }
    if ((workload === 'select_random_points' || workload === 'select_random_ranges') && options.sysbench.tables !== 1) {
      throw new UsageError(`${workload} does not support --tables > 1 (as in sysbench)`);
    }
    if (workload === 'bulk_insert' && options.threads > TABLES_MAX)
      throw new UsageError(`bulk_insert writes a table per thread: --threads must be at most ${TABLES_MAX}`);
  }
}
