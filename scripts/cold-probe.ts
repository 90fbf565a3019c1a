/**
 * A probe of reads on a freshly opened copy of a prepared database, as the benchmark harness runs
 * them (issue 16: YCSB C at 1,000,000 records, point selects with a small pool).
 *
 *   npx tsx scripts/cold-probe.ts prepare <dir> ycsb|sysbench [--rows N]
 *   npx tsx scripts/cold-probe.ts run <dir> ycsb|sysbench [--pool 10%|<bytes>] [--warmup S] [--seconds S]
 *          [--profile <file.cpuprofile>] [--dump-pct P]
 *
 * `prepare` loads the table once into <dir>/prepared-<family>-minno, as the harness prepares it
 * (a pool three times the raw data), and closes it: the close writes its pool dump. `run` copies it to a new directory, as the harness does for every
 * measured run, opens it fresh (a cold pool), runs the harness's own workload (ycsb: YCSB C,
 * zipfian reads of whole records; sysbench: oltp_point_select) for the warm-up and then the
 * measured seconds, and prints the rate of each phase with the pool's hits and misses in it. The
 * pool is sized as the harness sizes it (engines/catalog.ts minnoPoolBytes). With --profile the
 * CPU profiler runs over the measured phase only; --dump-pct 0 turns the pool dump's load off.
 */
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { Database, type Table } from '../src/index.js';
import { loadAdapter, minnoPoolBytes } from '../bench/harness/engines/catalog.js';
import { minnoDataBytes } from '../bench/harness/measure.js';
import { Random, STREAM } from '../bench/harness/random.js';
import { sbtestRows } from '../bench/harness/workloads/sbtest.js';
import { fieldNames, USERTABLE, YCSB_DEFAULTS, YcsbRun, ycsbRecord } from '../bench/harness/workloads/ycsb.js';

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const [command, dir, family] = process.argv.slice(2) as [string, string, 'ycsb' | 'sysbench'];
if ((command !== 'prepare' && command !== 'run') || dir === undefined || (family !== 'ycsb' && family !== 'sysbench')) {
  console.error('usage: cold-probe prepare|run <dir> ycsb|sysbench [options]');
  process.exit(2);
}
const SEED = 1;
const preparedDir = join(dir, `prepared-${family}-minno`);
const ycsbOptions = { ...YCSB_DEFAULTS, recordcount: Number(option('rows') ?? 1_000_000), operationcount: 1_000_000 };

async function prepare(): Promise<void> {
  const rows = Number(option('rows') ?? 1_000_000);
  mkdirSync(preparedDir, { recursive: true });
  const adapter = await loadAdapter('minno');
  const raw = family === 'ycsb' ? rows * 1024 : rows * 200;
  const session = await adapter.open(preparedDir, {
    durable: false,
    bufferPoolBytes: minnoPoolBytes(undefined, 3 * raw),
  });
  const t0 = performance.now();
  if (family === 'ycsb') {
    await session.createUsertable(10, 100);
    for (let first = 0; first < rows; first += 10_000) {
      const records = [];
      for (let k = first; k < Math.min(rows, first + 10_000); k++) records.push(ycsbRecord(SEED, k, ycsbOptions));
      await session.loadUsertable(records);
    }
  } else {
    await session.createSbtest(1);
    for (let id = 1; id <= rows; id += 10_000)
      await session.loadSbtest(1, sbtestRows(SEED, 1, id, Math.min(10_000, rows - id + 1), rows));
  }
  await session.close();
  console.log(`prepared ${rows} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  console.log(`tablespaces ${(minnoDataBytes(preparedDir) / 2 ** 20).toFixed(1)} MiB`);
}

/** The operation the run repeats: a YCSB C read of a whole record, or a point select of c. */
function workload(): (table: Table) => number {
  if (family === 'ycsb') {
    const run = new YcsbRun('ycsb-c', ycsbOptions);
    const random = new Random(SEED, STREAM.client, 0);
    const fields = fieldNames(10);
    return (table) => {
      const op = run.next(random);
      const row = table.get((op as { key: string }).key);
      if (row === undefined) throw new Error('missing row');
      let digest = 1;
      for (const f of fields) digest += (row[f] as string).length;
      return digest;
    };
  }
  const rows = Number(option('rows') ?? 1_000_000);
  const random = new Random(SEED, STREAM.client, 0);
  return (table) => {
    const row = table.get(random.int(1, rows), { columns: ['c'] });
    if (row === undefined) throw new Error('missing row');
    return (row.c as string).length;
  };
}

async function phase(ms: number, step: () => number): Promise<{ ops: number; ms: number }> {
  const start = performance.now();
  const end = start + ms;
  let ops = 0;
  let lastYield = start;
  let now = start;
  while (now < end) {
    for (let i = 0; i < 64; i++) step();
    ops += 64;
    now = performance.now();
    if (now - lastYield > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = now = performance.now();
    }
  }
  return { ops, ms: performance.now() - start };
}

async function run(): Promise<void> {
  const runDir = join(dir, `run-${process.pid}`);
  cpSync(preparedDir, runDir, { recursive: true });
  try {
    const poolOption = option('pool');
    const poolSetting =
      poolOption === undefined
        ? undefined
        : poolOption.endsWith('%')
          ? { percent: Number(poolOption.slice(0, -1)) }
          : { bytes: Number(poolOption) };
    const dataBytes = minnoDataBytes(runDir);
    const poolBytes = minnoPoolBytes(poolSetting, dataBytes)!;
    const t0 = performance.now();
    const dumpPct = option('dump-pct');
    const db = await Database.open({
      path: runDir,
      bufferPoolBytes: poolBytes,
      ...(dumpPct === undefined ? {} : { bufferPoolDumpPct: Number(dumpPct) }),
    });
    const openMs = performance.now() - t0;
    const table = db.table(family === 'ycsb' ? USERTABLE : 'sbtest1');
    const next = workload();
    const step = (): number => next(table);
    const counters = () => {
      const s = db.status();
      const r = process.resourceUsage();
      return {
        installed: (s.bufferPool as { installed?: number }).installed ?? 0,
        hits: s.bufferPool.hits,
        misses: s.bufferPool.misses,
        ahiLookups: s.adaptiveHash?.lookups ?? 0,
        ahiHits: s.adaptiveHash?.hits ?? 0,
        userUs: r.userCPUTime,
        systemUs: r.systemCPUTime,
        minorFaults: r.minorPageFault,
        majorFaults: r.majorPageFault,
      };
    };
    const report = (
      name: string,
      p: { ops: number; ms: number },
      a: ReturnType<typeof counters>,
      b: ReturnType<typeof counters>,
    ) => {
      const hits = b.hits - a.hits;
      const misses = b.misses - a.misses;
      console.log(
        `${name}: ${Math.round((p.ops * 1000) / p.ms)} ops/s (${p.ops} ops); pool hits ${hits} misses ${misses} (hit ratio ${(hits / (hits + misses)).toFixed(4)}, ${(misses / p.ops).toFixed(3)} misses/op); ahi ${b.ahiHits - a.ahiHits}/${b.ahiLookups - a.ahiLookups}; cpu user ${((b.userUs - a.userUs) / 1000).toFixed(0)} ms system ${((b.systemUs - a.systemUs) / 1000).toFixed(0)} ms of ${p.ms.toFixed(0)} ms; faults minor ${b.minorFaults - a.minorFaults} major ${b.majorFaults - a.majorFaults}; installed by the load ${b.installed - a.installed}`,
      );
    };
    console.log(
      `data ${(dataBytes / 2 ** 20).toFixed(1)} MiB, pool ${(poolBytes / 2 ** 20).toFixed(1)} MiB, open ${openMs.toFixed(0)} ms`,
    );
    const c0 = counters();
    const w = await phase(Number(option('warmup') ?? 2) * 1000, step);
    const c1 = counters();
    report('warmup', w, c0, c1);
    const profileFile = option('profile');
    let session: Session | undefined;
    if (profileFile !== undefined) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    const m = await phase(Number(option('seconds') ?? 10) * 1000, step);
    if (session !== undefined) {
      const { profile } = await session.post('Profiler.stop');
      writeFileSync(profileFile!, JSON.stringify(profile));
      session.disconnect();
    }
    const c2 = counters();
    report('measured', m, c1, c2);
    await db.close();
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

await (command === 'prepare' ? prepare() : run());
