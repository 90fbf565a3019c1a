/**
 * Every workload on every engine that installs here, in this process at tiny sizes (STYLE 12:
 * benchmarks run in the tests so they never rot). The figures mean nothing at this size; what is
 * checked is that each run completes with the events it was asked for and sane figures, and that
 * the engines agree: with one client and a fixed number of events every engine runs the same
 * statements on the same data, so the digests of what they read must be equal, and so must the
 * tables they leave behind.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAdapter, unavailableReason } from '../../../bench/harness/engines/catalog.js';
import { ENGINE_KINDS, type EngineKind } from '../../../bench/harness/engines/engine.js';
import { runWorkload, type RunResult, type RunSpec } from '../../../bench/harness/runner.js';
import { WORKLOADS, workloadFamily, type WorkloadName } from '../../../bench/harness/workloads/catalog.js';
import { SYSBENCH_DEFAULTS } from '../../../bench/harness/workloads/sysbench.js';
import { YCSB_DEFAULTS, ycsbKey } from '../../../bench/harness/workloads/ycsb.js';

const installed: EngineKind[] = [];
for (const kind of ENGINE_KINDS) if ((await unavailableReason(kind)) === undefined) installed.push(kind);

const scratch = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-harness-test-'));
afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));
let dirs = 0;

const TABLE_SIZE = 120;
const EVENTS = 25;

function spec(engine: EngineKind, workload: WorkloadName, overrides: Partial<RunSpec> = {}): RunSpec {
  const dir = nodePath.join(scratch, `run-${++dirs}`);
  fs.mkdirSync(dir);
  return {
    engine,
    config: { durable: false },
    workload,
    family: workloadFamily(workload),
    sysbench: {
      ...SYSBENCH_DEFAULTS,
      tableSize: TABLE_SIZE,
      tables: workload.startsWith('select_random') ? 1 : 2,
      bulkRows: 10,
    },
    ycsb: { ...YCSB_DEFAULTS, recordcount: TABLE_SIZE, operationcount: EVENTS },
    seed: 3,
    threads: 1,
    timeS: 0,
    events: EVENTS,
    warmupTimeS: 0,
    warmupEvents: 5,
    repetitions: 2,
    reportIntervalS: 0,
    dir,
    prepared: false,
    ...overrides,
  };
}

/** A digest of everything left in the tables: every row through the key and through the k index. */
async function contentDigest(run: RunSpec): Promise<number> {
  const adapter = await loadAdapter(run.engine);
  const session = await adapter.open(run.dir, run.config);
  try {
    if (run.family === 'sysbench') {
      let digest = 0;
      const tables = run.workload === 'bulk_insert' ? run.threads : run.sysbench.tables;
      for (let table = 1; table <= tables; table++) {
        const whole = { table, low: 0, high: 1_000_000 };
        digest += await session.sysbench({
          transaction: 'read-only',
          units: 1,
          statements: [
            { op: 'simple_range', ...whole },
            { op: 'sum_range', ...whole },
            { op: 'order_range', ...whole },
            // Every row once more through the index: the emulated ones must be kept in step.
            { op: 'random_ranges', table, ranges: [[-1, 1_000_000]] },
          ],
        });
      }
      return digest;
    }
    session.useUsertable(run.ycsb.fieldcount);
    let digest = await session.ycsb({ op: 'scan', key: '', count: 1_000_000 });
    for (let keynum = 0; keynum < run.ycsb.recordcount + 2 * EVENTS * 3; keynum++)
      digest += await session.ycsb({ op: 'read', key: ycsbKey(keynum) });
    return digest;
  } finally {
    await session.close();
  }
}

function expectSane(result: RunResult, events: number): void {
  expect(result.repetitions).toHaveLength(2);
  for (const r of result.repetitions) {
    expect(r.events).toBe(events);
    expect(r.eventsPerS).toBeGreaterThan(0);
    expect(Number.isFinite(r.eventsPerS)).toBe(true);
    expect(r.latencyUs.p50).toBeGreaterThan(0);
    expect(r.latencyUs.max).toBeGreaterThanOrEqual(r.latencyUs.p99);
    expect(r.histogram.length).toBeGreaterThan(0);
  }
  expect(result.disk.allocatedBytes).toBeGreaterThan(0);
  expect(result.rssPeakBytes).toBeGreaterThan(0);
}

describe('harness engines (tiny)', () => {
  it('has minno and at least one peer installed', () => {
    expect(installed).toContain('minno');
    expect(installed.length).toBeGreaterThan(1);
  });

  it.each(WORKLOADS.map((w) => [w]))(
    '%s: every engine runs it, reads the same and leaves the same tables',
    async (workload) => {
      const digests = new Map<EngineKind, number>();
      const contents = new Map<EngineKind, number>();
      for (const engine of installed) {
        const run = spec(engine, workload);
        const result = await runWorkload(run);
        expectSane(result, workload === 'bulk_insert' ? EVENTS : EVENTS);
        digests.set(engine, result.digest);
        contents.set(engine, await contentDigest(run));
      }
      const expected = digests.get('minno');
      for (const engine of installed) {
        expect(digests.get(engine), `${engine} read what minno read`).toBe(expected);
        expect(contents.get(engine), `${engine} left the tables minno left`).toBe(contents.get('minno'));
      }
    },
  );

  it.each([['oltp_read_write'], ['oltp_update_index'], ['bulk_insert'], ['ycsb-a'], ['ycsb-d']] as const)(
    '%s with 4 concurrent clients completes every event on every engine',
    async (workload) => {
      for (const engine of installed) {
        const run = spec(engine, workload, { threads: 4, events: 40, config: { durable: true } });
        expectSane(await runWorkload(run), 40);
      }
    },
  );
});
