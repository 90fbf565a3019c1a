/**
 * `minno-bench overhead`: what the harness itself costs per event, measured against the engines'
 * own tight loops in the same process (docs/bench/agreement.md tells why it matters).
 *
 * For each engine, on a table of `tableSize` sbtest rows loaded by the adapter, in rounds that
 * alternate the variants (so a noisy neighbour hits each alike):
 *
 *   bare      the engine's own point lookup in a tight loop, as a user writes it (better-sqlite3:
 *             a prepared `SELECT c ... WHERE id=?` plucked, `get(id)`; lmdb: `db.get(id)`; minno:
 *             `table.get(id)`), over ids drawn beforehand, reading the same column;
 *   adapter   the same lookups as oltp_point_select events through the adapter
 *             (`session.sysbench(event)`), events drawn beforehand, no harness around it;
 *   harness   oltp_point_select through the runner's measured phase (`runPhase`), as a run times
 *             it: the figure is the time it charges to the engine per event;
 *   pre-drawn the same, but the events are handed out from the array drawn beforehand: the
 *             harness's loop without the side effects of drawing (allocation, garbage, caches).
 *
 * and once, a null engine (an adapter that answers every event with 0) through the harness: the
 * harness's own cost per event, charged to the engine and in wall time.
 *
 * Times are per event, in nanoseconds, as CPU time of this process (user + system: what a busy
 * neighbour on the machine disturbs least) and as wall time; the figures that transfer to another
 * machine are the ratios `adapter / bare` and `harness / bare`, and the null engine's cost against
 * the engine's bare time.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { loadAdapter } from './engines/catalog.js';
import type { EngineAdapter, EngineKind, EngineSession } from './engines/engine.js';
import { Random, STREAM } from './random.js';
import { loadTables, runPhase, sysbenchDriver, type WorkloadDriver } from './runner.js';
import { SysbenchRun, SYSBENCH_DEFAULTS, type SbEvent } from './workloads/sysbench.js';

export const OVERHEAD_ENGINES: readonly EngineKind[] = ['better-sqlite3', 'lmdb', 'minno'];

export interface OverheadOptions {
  readonly engines: readonly EngineKind[];
  readonly tableSize: number;
  /** Events per variant per round. */
  readonly events: number;
  readonly rounds: number;
  readonly seed: number;
}

/** Nanoseconds per event: medians over the rounds. */
export interface Cost {
  readonly cpuNs: number;
  readonly wallNs: number;
}

export interface EngineOverhead {
  readonly engine: EngineKind;
  readonly bare: Cost;
  readonly adapter: Cost;
  readonly harness: Cost;
  readonly predrawn: Cost;
}

export interface OverheadReport {
  readonly options: OverheadOptions;
  /** The null engine through the harness: the harness's own cost per event. */
  readonly nullEngine: Cost;
  readonly engines: readonly EngineOverhead[];
}

/** A lookup by id as the engine's own users write it, on the files the adapter loaded. */
interface BareLookup {
  get(id: number): string | undefined;
  close(): Promise<void>;
}

async function openBare(kind: EngineKind, dir: string): Promise<BareLookup> {
  switch (kind) {
    case 'better-sqlite3': {
      const { default: Database } = await import('better-sqlite3');
      const { DATA_FILE } = await import('./engines/better-sqlite3.js');
      const db = new Database(nodePath.join(dir, DATA_FILE));
      db.pragma('journal_mode = WAL');
      const select = db.prepare<[number], string>('SELECT c FROM sbtest1 WHERE id=?').pluck();
      return { get: (id) => select.get(id), close: async () => void db.close() };
    }
    case 'lmdb': {
      const { open } = await import('lmdb');
      const root = open({ path: dir, maxDbs: 2 });
      const rows = root.openDB<{ c: string }, number>('sbtest1', { encoding: 'msgpack' });
      return { get: (id) => rows.get(id)?.c, close: () => root.close() };
    }
    case 'minno': {
      const { Database } = await import('../../src/index.js');
      const db = await Database.open({ path: dir });
      const table = db.table<{ id: number; c: string }>('sbtest1');
      return { get: (id) => table.get(id)?.c, close: () => db.close() };
    }
    default:
      throw new Error(`overhead: no bare loop for ${kind}`);
  }
}

/** Runs `body` and returns its CPU and wall time per event. */
function cost(events: number, body: () => void): Cost {
  const cpu = process.cpuUsage();
  const wall = performance.now();
  body();
  const wallNs = (performance.now() - wall) * 1e6;
  const used = process.cpuUsage(cpu);
  return { cpuNs: ((used.user + used.system) * 1000) / events, wallNs: wallNs / events };
}

async function costAsync(
  events: number,
  body: () => Promise<{ durationMs: number; harnessMs: number }>,
): Promise<Cost> {
  const cpu = process.cpuUsage();
  const { durationMs, harnessMs } = await body();
  const used = process.cpuUsage(cpu);
  // The harness charges the engine its wall time less its own drawing; scale CPU time alike.
  const charged = (durationMs - harnessMs) / durationMs;
  return {
    cpuNs: ((used.user + used.system) * 1000 * charged) / events,
    wallNs: ((durationMs - harnessMs) * 1e6) / events,
  };
}

function median(costs: readonly Cost[]): Cost {
  const mid = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1]!;
  return { cpuNs: mid(costs.map((c) => c.cpuNs)), wallNs: mid(costs.map((c) => c.wallNs)) };
}

const NULL_ADAPTER = { isRetryable: () => false } as Pick<EngineAdapter, 'isRetryable'> as EngineAdapter;
const NULL_SESSION = { sysbench: () => 0 } as Pick<EngineSession, 'sysbench'> as EngineSession;

export async function measureOverhead(options: OverheadOptions): Promise<OverheadReport> {
  const sysbench = { ...SYSBENCH_DEFAULTS, tableSize: options.tableSize };
  const run = new SysbenchRun('oltp_point_select', sysbench, 1, options.seed);
  const drawn = new Random(options.seed, STREAM.client, 0);
  const events: SbEvent[] = Array.from({ length: options.events }, () => run.next(drawn, 0, Infinity));
  const ids = Int32Array.from(events, (e) => (e.statements[0] as { id: number }).id);
  let handedOut = 0;
  const predrawn: WorkloadDriver<SbEvent> = {
    ...sysbenchDriver(run),
    next: () => events[handedOut++ % events.length]!,
  };
  const harness = (adapter: EngineAdapter, session: EngineSession, driver = sysbenchDriver(run)): Promise<Cost> =>
    costAsync(options.events, () =>
      runPhase(
        adapter,
        session,
        driver,
        [new Random(options.seed, STREAM.client, 0)],
        { timeMs: 0, events: options.events },
        0,
        () => {},
        () => {},
      ),
    );

  const scratch = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-bench-overhead-'));
  const nullCosts: Cost[] = [];
  const engines: EngineOverhead[] = [];
  try {
    for (const kind of options.engines) {
      const dir = nodePath.join(scratch, kind);
      fs.mkdirSync(dir);
      const adapter = await loadAdapter(kind);
      const loader = await adapter.open(dir, { durable: false });
      await loadTables(
        loader,
        { family: 'sysbench', sysbench, ycsb: undefined as never, seed: options.seed },
        () => {},
      );
      await loader.close();
      // The bare loop reads a copy of its own: minno's directory lock allows one opener, and two
      // SQLite connections on one file would share its locks.
      fs.cpSync(dir, `${dir}-bare`, { recursive: true });
      const session = await adapter.open(dir, { durable: true });
      const bare = await openBare(kind, `${dir}-bare`);
      const costs = { bare: [] as Cost[], adapter: [] as Cost[], harness: [] as Cost[], predrawn: [] as Cost[] };
      let sink = 0;
      try {
        for (let round = 0; round < options.rounds; round++) {
          costs.bare.push(
            cost(options.events, () => {
              for (let i = 0; i < ids.length; i++) sink += bare.get(ids[i]!)?.length ?? 0;
            }),
          );
          costs.adapter.push(
            cost(options.events, () => {
              for (let i = 0; i < events.length; i++) sink += session.sysbench(events[i]!) as number;
            }),
          );
          costs.harness.push(await harness(adapter, session));
          costs.predrawn.push(await harness(adapter, session, predrawn));
          nullCosts.push(await harness(NULL_ADAPTER, NULL_SESSION));
        }
      } finally {
        await bare.close();
        await session.close();
      }
      if (sink === 0) throw new Error('overhead: the lookups read nothing');
      engines.push({
        engine: kind,
        bare: median(costs.bare),
        adapter: median(costs.adapter),
        harness: median(costs.harness),
        predrawn: median(costs.predrawn),
      });
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  return { options, nullEngine: median(nullCosts), engines };
}

/** The report as a markdown table. */
export function overheadMarkdown(report: OverheadReport): string {
  const f = (ns: number): string => ns.toFixed(0);
  const r = (a: number, b: number): string => `${(a / b).toFixed(2)}×`;
  const { nullEngine } = report;
  const lines = [
    `Harness overhead: oltp_point_select on ${report.options.tableSize} rows, ${report.options.events} events × ${report.options.rounds} rounds, medians. ns per event: CPU time (wall time).`,
    '',
    `Null engine through the harness: ${f(nullEngine.cpuNs)} ns CPU (${f(nullEngine.wallNs)} ns wall) charged to the engine per event.`,
    '',
    '| engine | bare ns | adapter ns | harness ns | pre-drawn ns | adapter / bare | harness / bare | pre-drawn / bare | null engine / bare |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const e of report.engines) {
    lines.push(
      `| ${e.engine} | ${f(e.bare.cpuNs)} (${f(e.bare.wallNs)}) | ${f(e.adapter.cpuNs)} (${f(e.adapter.wallNs)}) | ${f(e.harness.cpuNs)} (${f(e.harness.wallNs)}) | ${f(e.predrawn.cpuNs)} (${f(e.predrawn.wallNs)}) | ${r(e.adapter.cpuNs, e.bare.cpuNs)} (${r(e.adapter.wallNs, e.bare.wallNs)}) | ${r(e.harness.cpuNs, e.bare.cpuNs)} (${r(e.harness.wallNs, e.bare.wallNs)}) | ${r(e.predrawn.cpuNs, e.bare.cpuNs)} (${r(e.predrawn.wallNs, e.bare.wallNs)}) | ${r(nullEngine.cpuNs, e.bare.cpuNs)} |`,
    );
  }
  return `${lines.join('\n')}\n`;
}
