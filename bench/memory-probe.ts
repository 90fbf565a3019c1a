/**
 * Where a minno process's memory goes (issue 16; the figures of docs/architecture.md "Memory").
 *
 *   npx tsx bench/memory-probe.ts phases [--workload oltp_point_select] [--table-size 200000]
 *                                        [--pool 10] [--time 5] [--warmup 1]
 *   npx tsx bench/memory-probe.ts objects [--count 1000]
 *   npx tsx bench/memory-probe.ts recovery [--rows 150000] [--pool-mib 16]
 *
 * `phases` prepares an sbtest table in one plain Node process and runs the workload on a copy in
 * another, as the benchmark harness's engine process does (bench/harness/child.ts: no TypeScript
 * loader, no flags; the pool a percentage of the tablespaces, as `minno:pool=10%`). Between phases
 * (imports, open, warm-up, run, close) it resets the kernel's high-water mark of the process
 * (`/proc/self/clear_refs`, Linux only), so each phase's peak RSS is its own, and samples
 * `process.memoryUsage()` and V8's heap spaces every 20 ms. `objects` creates `count` open tables,
 * transactions, scans and snapshots on a file database and prints the V8 heap and array buffers
 * each one adds after a full collection. `recovery` writes rows of 200 bytes without any page
 * flush or checkpoint (background work stepped by hand, a 256 MiB pool), copies the directory
 * while the database is open (a kill -9's image), and opens the copy in a fresh process: the
 * peak RSS of that open, which recovers the redo, above the RSS before it (RC5 of
 * src/redo/recovery.ts).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import type { Row } from '../src/index.js';
import { makeTempDir } from './lib/temp-dir.js';

const MiB = 1024 * 1024;

export interface PhasesSpec {
  readonly dir: string;
  readonly workload: string;
  readonly tableSize: number;
  readonly poolPercent: number;
  readonly timeS: number;
  readonly warmupS: number;
}

export interface PhaseFigures {
  readonly phase: string;
  /** MiB, each the largest seen in the phase. */
  readonly peakRss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
  readonly arrayBuffers: number;
  readonly newSpace: number;
  readonly oldSpace: number;
  readonly codeSpace: number;
  /** `db.status().memory.total` at the phase's end (0 before open and after close). */
  readonly engineTotal: number;
}

function peakRss(): number {
  const kib = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
  return Number(kib) * 1024;
}

/** The child of `phases`: loads the table (untimed) into `dir`, in a process of its own. */
export async function prepareInProcess(spec: PhasesSpec): Promise<number> {
  const { prepareDataset } = await import('./harness/runner.js');
  const { SYSBENCH_DEFAULTS } = await import('./harness/workloads/sysbench.js');
  const { YCSB_DEFAULTS } = await import('./harness/workloads/ycsb.js');
  const { minnoPoolBytes } = await import('./harness/engines/catalog.js');
  const result = await prepareDataset({
    engine: 'minno',
    config: { durable: true, bufferPoolBytes: minnoPoolBytes(undefined, 3 * spec.tableSize * 230) },
    dir: spec.dir,
    family: 'sysbench',
    sysbench: { ...SYSBENCH_DEFAULTS, tableSize: spec.tableSize },
    ycsb: YCSB_DEFAULTS,
    seed: 1,
  });
  return result.minnoDataBytes ?? 0;
}

/** The child of `phases`: opens the prepared copy in `dir` and runs the workload, phase by phase. */
export async function phasesInProcess(spec: PhasesSpec & { dataBytes: number }): Promise<PhaseFigures[]> {
  const figures: PhaseFigures[] = [];
  const max = new Map<string, number>();
  const sample = (): void => {
    const usage = process.memoryUsage();
    const spaces = new Map(v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.physical_space_size]));
    const values: Array<[string, number]> = [
      ['heapTotal', usage.heapTotal],
      ['heapUsed', usage.heapUsed],
      ['arrayBuffers', usage.arrayBuffers],
      ['newSpace', spaces.get('new_space') ?? 0],
      ['oldSpace', spaces.get('old_space') ?? 0],
      ['codeSpace', spaces.get('code_space') ?? 0],
    ];
    for (const [name, value] of values) max.set(name, Math.max(max.get(name) ?? 0, value));
  };
  let engineTotal = (): number => 0;
  const endPhase = (phase: string): void => {
    sample();
    const get = (name: string): number => (max.get(name) ?? 0) / MiB;
    figures.push({
      phase,
      peakRss: peakRss() / MiB,
      heapTotal: get('heapTotal'),
      heapUsed: get('heapUsed'),
      arrayBuffers: get('arrayBuffers'),
      newSpace: get('newSpace'),
      oldSpace: get('oldSpace'),
      codeSpace: get('codeSpace'),
      engineTotal: engineTotal() / MiB,
    });
    max.clear();
    fs.writeFileSync('/proc/self/clear_refs', '5'); // the next phase's peak starts from now
  };
  const timer = setInterval(sample, 20);
  endPhase('Node started, this probe loaded');
  const { runPhase, sysbenchDriver } = await import('./harness/runner.js');
  const { SysbenchRun, SYSBENCH_DEFAULTS } = await import('./harness/workloads/sysbench.js');
  const { Random, STREAM } = await import('./harness/random.js');
  const { loadAdapter, minnoPoolBytes } = await import('./harness/engines/catalog.js');
  endPhase("the harness's modules");
  const adapter = await loadAdapter('minno');
  endPhase('minno imported');
  const bufferPoolBytes = minnoPoolBytes({ percent: spec.poolPercent }, spec.dataBytes);
  const session = await adapter.open(spec.dir, {
    durable: true,
    ...(bufferPoolBytes === undefined ? {} : { bufferPoolBytes }),
  });
  const db = (session as unknown as { db: { status(): { memory: { total: number } } } }).db;
  engineTotal = () => db.status().memory.total;
  endPhase('open');
  const run = new SysbenchRun(
    spec.workload as 'oltp_point_select',
    { ...SYSBENCH_DEFAULTS, tableSize: spec.tableSize },
    1,
    1,
  );
  const driver = sysbenchDriver(run);
  const phase = (stream: number, seconds: number) =>
    runPhase(
      adapter,
      session,
      driver,
      [new Random(1, stream, 0)],
      { timeMs: seconds * 1000, events: 0 },
      0,
      () => {},
      () => {},
    );
  await phase(STREAM.warmup, spec.warmupS);
  endPhase('warm-up');
  await phase(STREAM.client, spec.timeS);
  endPhase('run');
  await session.close();
  engineTotal = () => 0;
  endPhase('close');
  clearInterval(timer);
  return figures;
}

export interface ObjectFigures {
  readonly what: string;
  /** V8 heap used plus array buffers each one adds, bytes, after a full collection. */
  readonly bytesEach: number;
}

/** The child of `objects`. */
export async function objectsInProcess(spec: {
  readonly dir: string;
  readonly count: number;
}): Promise<ObjectFigures[]> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const used = (): number => {
    gc();
    gc();
    const usage = process.memoryUsage();
    return usage.heapUsed + usage.arrayBuffers;
  };
  const { Database } = await import('../src/index.js');
  const schema = (name: string) => ({
    name,
    columns: [
      { name: 'id', type: 'int32' as const },
      { name: 'k', type: 'int32' as const },
      { name: 'c', type: 'string' as const, maxLength: 120 },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'k_idx', columns: ['k'] }],
  });
  const n = spec.count;
  const figures: ObjectFigures[] = [];
  const measure = async (what: string, make: () => Promise<unknown> | unknown): Promise<void> => {
    const before = used();
    await make();
    figures.push({ what, bytesEach: (used() - before) / n });
  };
  const db = await Database.open({ path: spec.dir, durability: 'none' });
  await db.createTable(schema('t0'));
  const t0 = db.table('t0');
  await t0.insertMany(
    Array.from({ length: Math.max(n, 1000) * 2 }, (_, i): Row => ({ id: i, k: i, c: 'c'.repeat(100) })),
  );
  t0.get(1);
  t0.scan({ gte: 1, limit: 1 }).next();
  const keep: unknown[] = [];
  await measure('open table (created)', async () => {
    for (let i = 1; i <= n; i++) await db.createTable(schema(`t${i}`));
  });
  await measure('open table (a handle used once more)', async () => {
    for (let i = 1; i <= n; i++) await db.table(`t${i}`).insert({ id: 1, k: 1, c: 'x' });
  });
  await measure('read-write transaction, one row updated (two row locks)', async () => {
    for (let i = 0; i < n; i++) {
      const tx = db.begin();
      await tx.table('t0').update(i, { k: i + 1 });
      keep.push(tx);
    }
  });
  for (const tx of keep.splice(0)) await (tx as { commit(): Promise<void> }).commit();
  await measure('read-only transaction, one row read', () => {
    for (let i = 0; i < n; i++) {
      const tx = db.begin({ readOnly: true });
      tx.table('t0').get(i);
      keep.push(tx);
    }
  });
  for (const tx of keep.splice(0)) await (tx as { commit(): Promise<void> }).commit();
  await measure('scan, one row read', () => {
    for (let i = 0; i < n; i++) {
      const scan = t0.scan({ gte: i });
      scan.next();
      keep.push(scan);
    }
  });
  for (const scan of keep.splice(0)) (scan as IterableIterator<Row>).return?.();
  await measure('snapshot, one row read', () => {
    for (let i = 0; i < n; i++) {
      const snapshot = db.snapshot();
      snapshot.table('t0').get(i);
      keep.push(snapshot);
    }
  });
  for (const snapshot of keep.splice(0)) (snapshot as { release(): void }).release();
  await db.close();
  return figures;
}

export interface RecoveryProbe {
  readonly dir: string;
  readonly copy: string;
  readonly rows: number;
  readonly poolMiB: number;
}

/** The child of `recovery` that writes and is "killed": it copies its open directory and ends. */
export async function recoveryWriteInProcess(spec: RecoveryProbe): Promise<number> {
  const { Database } = await import('../src/index.js');
  const db = await Database.open({ path: spec.dir, bufferPoolBytes: 256 * MiB, background: 'manual' });
  await db.createTable({
    name: 't',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'c', type: 'string' },
    ],
    primaryKey: ['id'],
  });
  for (let first = 0; first < spec.rows; first += 1000)
    await db.table('t').insertMany(Array.from({ length: 1000 }, (_, i) => ({ id: first + i, c: 'x'.repeat(200) })));
  fs.cpSync(spec.dir, spec.copy, { recursive: true });
  return spec.rows; // the process ends without closing the database
}

/** The child of `recovery` that opens the copy: MiB before the open, peak during it, redo, batches. */
export async function recoveryOpenInProcess(spec: RecoveryProbe): Promise<Record<string, number>> {
  const { Database } = await import('../src/index.js');
  fs.writeFileSync('/proc/self/clear_refs', '5');
  const before = process.memoryUsage.rss();
  const db = await Database.open({ path: spec.copy, bufferPoolBytes: spec.poolMiB * MiB, background: 'manual' });
  const peak = peakRss();
  const recovery = db.storage.recovery!;
  await db.close();
  return {
    rssBeforeOpenMiB: before / MiB,
    peakDuringOpenMiB: peak / MiB,
    aboveMiB: (peak - before) / MiB,
    poolMiB: spec.poolMiB,
    redoMiB: recovery.redoBytes / MiB,
    batches: recovery.batches,
    windowMiB: recovery.windowBytes / MiB,
  };
}

function option(name: string, fallback: number): number;
function option(name: string, fallback: string): string;
function option(name: string, fallback: number | string): number | string {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1] ?? '';
  return typeof fallback === 'number' ? Number(value) : value;
}

async function main(): Promise<void> {
  const { runInChild } = await import('./lib/child.js');
  const mode = process.argv[2];
  const temp = makeTempDir('minno-memory-probe-');
  try {
    if (mode === 'phases') {
      const dir = nodePath.join(temp.path, 'prepared');
      fs.mkdirSync(dir);
      const spec: PhasesSpec = {
        dir,
        workload: option('workload', 'oltp_point_select'),
        tableSize: option('table-size', 200_000),
        poolPercent: option('pool', 10),
        timeS: option('time', 5),
        warmupS: option('warmup', 1),
      };
      const dataBytes = await runInChild<number>(import.meta.url, 'prepareInProcess', spec);
      const copy = nodePath.join(temp.path, 'run');
      fs.cpSync(dir, copy, { recursive: true });
      const figures = await runInChild<PhaseFigures[]>(import.meta.url, 'phasesInProcess', {
        ...spec,
        dir: copy,
        dataBytes,
      });
      console.log(
        `${spec.workload}, ${spec.tableSize} rows, ${(dataBytes / MiB).toFixed(1)} MiB of tablespaces, pool ${spec.poolPercent}%; MiB, largest in each phase:`,
      );
      console.table(
        figures.map((f) =>
          Object.fromEntries(Object.entries(f).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toFixed(1)) : v])),
        ),
      );
    } else if (mode === 'objects') {
      const figures = await runInChild<ObjectFigures[]>(import.meta.url, 'objectsInProcess', {
        dir: temp.path,
        count: option('count', 1000),
      });
      console.table(figures.map((f) => ({ what: f.what, 'bytes each': Math.round(f.bytesEach) })));
    } else if (mode === 'recovery') {
      const spec: RecoveryProbe = {
        dir: nodePath.join(temp.path, 'killed'),
        copy: nodePath.join(temp.path, 'image'),
        rows: option('rows', 150_000),
        poolMiB: option('pool-mib', 16),
      };
      await runInChild<number>(import.meta.url, 'recoveryWriteInProcess', spec);
      const result = await runInChild<Record<string, number>>(import.meta.url, 'recoveryOpenInProcess', spec);
      console.table(Object.entries(result).map(([what, value]) => ({ what, value: Number(value.toFixed(1)) })));
    } else {
      console.error('usage: npx tsx bench/memory-probe.ts phases|objects|recovery [options] (see the file)');
      process.exitCode = 2;
    }
  } finally {
    temp.remove();
  }
}

if (process.argv[1] !== undefined && import.meta.url.endsWith(nodePath.basename(process.argv[1]))) await main();
