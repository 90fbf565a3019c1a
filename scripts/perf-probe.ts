/**
 * A probe of the benchmark's slow operations, for profiling and for same-process ratios (issue 16).
 *
 *   npx tsx scripts/perf-probe.ts <op> [--rows 200000] [--seconds 10] [--pool <bytes>]
 *          [--profile <file.cpuprofile>] [--baseline lmdb|better-sqlite3] [--dir <path>]
 *
 * ops (the rows of issue 16's table, as the harness's sysbench statements):
 *   point           oltp_point_select: one get by id
 *   range           oltp_read_only with only its simple range: 100 ids in id order
 *   sec             select_random_points --random-points 1: the rows of one k through k_idx
 *   update          oltp_update_index, not durable: k = k + 1 (a locking read, then the update)
 *   update-durable  the same, durable, one committer
 *   bulk            bulk_insert: 1,000 rows per durable transaction into an empty table
 *
 * Each engine is driven through the benchmark harness's own adapter (bench/harness/engines), so
 * minno is used exactly as the harness uses it. The table is loaded untimed (not durable) into a
 * temp directory on the real disk. With --profile the CPU profiler runs only while minno does the
 * timed operation (node:inspector), so the profile holds the operation and nothing of the load.
 *
 * With --baseline the same operation also runs on that engine in the same process, in alternating
 * one-second slices, and the probe prints minno's rate over the baseline's: a ratio that survives a
 * loaded machine far better than either rate does.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadAdapter, minnoPoolBytes } from '../bench/harness/engines/catalog.js';
import { minnoDataBytes } from '../bench/harness/measure.js';
import type { EngineKind, EngineSession } from '../bench/harness/engines/engine.js';
import { sbtestRows } from '../bench/harness/workloads/sbtest.js';
import type { SbEvent } from '../bench/harness/workloads/sysbench.js';

type Op = 'point' | 'range' | 'sec' | 'update' | 'update-durable' | 'bulk';
const OPS: readonly Op[] = ['point', 'range', 'sec', 'update', 'update-durable', 'bulk'];

function option(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? undefined : process.argv[at + 1];
}

const op = process.argv[2] as Op;
if (!OPS.includes(op)) {
  console.error(
    `usage: perf-probe <${OPS.join('|')}> [--rows N] [--seconds S] [--pool B] [--profile F] [--baseline E]`,
  );
  process.exit(2);
}
const rows = Number(option('rows') ?? 200_000);
const seconds = Number(option('seconds') ?? 10);
const pool = option('pool');
const profileFile = option('profile');
const baseline = option('baseline') as EngineKind | undefined;
const durable = op === 'update-durable' || op === 'bulk';
const SEED = 1;
const BULK_ROWS = 1000;
const LOAD_ROWS = 10_000;

/** Ids and k values in [1, rows] from a tiny deterministic generator (xorshift32). */
function keys(seed: number): () => number {
  let x = seed;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return ((x >>> 0) % rows) + 1;
  };
}

/** The next event of `op`; every engine gets the same sequence. */
function events(): () => SbEvent {
  const next = keys(7);
  let bulkId = 1;
  return () => {
    switch (op) {
      case 'point':
        return { transaction: 'none', statements: [{ op: 'point_select', table: 1, id: next() }], units: 1 };
      case 'range': {
        const low = next();
        return { transaction: 'none', statements: [{ op: 'simple_range', table: 1, low, high: low + 99 }], units: 1 };
      }
      case 'sec':
        return { transaction: 'none', statements: [{ op: 'random_points', table: 1, ks: [next()] }], units: 1 };
      case 'update':
      case 'update-durable':
        return { transaction: 'none', statements: [{ op: 'index_update', table: 1, id: next() }], units: 1 };
      case 'bulk': {
        const chunk = sbtestRows(SEED, 1, bulkId, BULK_ROWS, 1_000_000);
        bulkId += BULK_ROWS;
        return {
          transaction: 'read-write',
          statements: [{ op: 'insert_rows', table: 1, rows: chunk }],
          units: BULK_ROWS,
        };
      }
    }
  };
}

async function open(kind: EngineKind, dir: string): Promise<EngineSession> {
  mkdirSync(dir, { recursive: true });
  const adapter = await loadAdapter(kind);
  // Loaded not durable (fast), then reopened with the operation's durability.
  const loader = await adapter.open(dir, { durable: false });
  await loader.createSbtest(1);
  if (op !== 'bulk')
    for (let id = 1; id <= rows; id += LOAD_ROWS)
      await loader.loadSbtest(1, sbtestRows(SEED, 1, id, Math.min(LOAD_ROWS, rows - id + 1), rows));
  await loader.close();
  if (kind !== 'minno') return adapter.open(dir, { durable });
  // As the harness does (engines/catalog.ts): a pool that holds the data unless one is given.
  const dataBytes = minnoDataBytes(dir);
  const poolBytes = minnoPoolBytes(pool === undefined ? undefined : { bytes: Number(pool) }, dataBytes);
  console.error(
    `minno: ${(dataBytes / 2 ** 20).toFixed(1)} MiB in tablespaces, pool ${((poolBytes ?? 0) / 2 ** 20).toFixed(1)} MiB`,
  );
  return adapter.open(dir, { durable, ...(poolBytes === undefined ? {} : { bufferPoolBytes: poolBytes }) });
}

/** Runs events for `ms`; returns the units done. Awaits only what returns a promise. */
async function run(session: EngineSession, next: () => SbEvent, ms: number): Promise<number> {
  const end = performance.now() + ms;
  let units = 0;
  let lastYield = performance.now();
  while (performance.now() < end) {
    const event = next();
    const result = session.sysbench(event);
    if (typeof result !== 'number') await result;
    units += event.units;
    if (performance.now() - lastYield > 10) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = performance.now();
    }
  }
  return units;
}

interface Side {
  readonly kind: EngineKind;
  readonly session: EngineSession;
  readonly next: () => SbEvent;
  units: number;
  ms: number;
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(option('dir') ?? tmpdir(), 'minno-probe-'));
  try {
    const loadStart = performance.now();
    const sides: Side[] = [];
    for (const kind of baseline === undefined ? ['minno' as const] : ['minno' as const, baseline])
      sides.push({ kind, session: await open(kind, join(root, kind)), next: events(), units: 0, ms: 0 });
    console.error(
      `loaded ${op === 'bulk' ? 0 : rows} rows in ${((performance.now() - loadStart) / 1000).toFixed(1)} s`,
    );
    for (const side of sides) await run(side.session, side.next, 1000); // warm-up: JIT and caches
    const session = new Session();
    session.connect();
    if (profileFile !== undefined) {
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
    }
    const slices = sides.length === 1 ? 1 : Math.max(1, Math.round(seconds));
    for (let i = 0; i < slices; i++) {
      for (const side of sides) {
        const profiling = profileFile !== undefined && side.kind === 'minno';
        if (profiling) await session.post('Profiler.start');
        const t = performance.now();
        side.units += await run(side.session, side.next, (seconds * 1000) / slices);
        side.ms += performance.now() - t;
        if (profiling) {
          const { profile } = await session.post('Profiler.stop');
          writeFileSync(slices === 1 ? profileFile : `${profileFile}.${i}`, JSON.stringify(profile));
        }
      }
    }
    session.disconnect();
    const line: Record<string, unknown> = { op, rows, durable };
    for (const side of sides) line[side.kind] = Math.round((side.units * 1000) / side.ms);
    if (sides.length === 2)
      line['ratio'] = Number((sides[0]!.units / sides[0]!.ms / (sides[1]!.units / sides[1]!.ms)).toFixed(3));
    console.log(JSON.stringify(line));
    for (const side of sides) await side.session.close();
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
