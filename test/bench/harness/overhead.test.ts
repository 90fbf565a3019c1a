/**
 * The runner's batched measured phase (runner.ts, runPhase) and the overhead probe
 * (`minno-bench overhead`). No timing is asserted: what is checked is that batching changes
 * nothing that is measured (every event counted and recorded, exact event limits, YCSB's draws
 * still wait for inserts to be acknowledged) and that the probe runs on every engine it knows.
 */
import { describe, expect, it } from 'vitest';
import { unavailableReason } from '../../../bench/harness/engines/catalog.js';
import type { EngineAdapter, EngineKind, EngineSession } from '../../../bench/harness/engines/engine.js';
import { measureOverhead, OVERHEAD_ENGINES, overheadMarkdown } from '../../../bench/harness/overhead.js';
import { Random, STREAM } from '../../../bench/harness/random.js';
import { runPhase, sysbenchDriver, ycsbDriver } from '../../../bench/harness/runner.js';
import { SYSBENCH_DEFAULTS, SysbenchRun } from '../../../bench/harness/workloads/sysbench.js';
import { YCSB_DEFAULTS, YcsbRun, type YcsbOperation } from '../../../bench/harness/workloads/ycsb.js';

const ADAPTER = { isRetryable: () => false } as Pick<EngineAdapter, 'isRetryable'> as EngineAdapter;
const quiet = { progress: () => {}, interval: () => {} };

/** A session that answers every event at once and keeps the YCSB operations it was given. */
function recordingSession(): { session: EngineSession; ops: YcsbOperation[] } {
  const ops: YcsbOperation[] = [];
  const session = {
    sysbench: () => 1,
    ycsb: (op: YcsbOperation) => {
      ops.push(op);
      return 1;
    },
  } as Pick<EngineSession, 'sysbench' | 'ycsb'> as EngineSession;
  return { session, ops };
}

describe('runPhase (batched)', () => {
  it('counts and records every event, stops at the exact limit, and charges the harness its own time', async () => {
    const run = new SysbenchRun('oltp_point_select', { ...SYSBENCH_DEFAULTS, tableSize: 1000 }, 1, 1);
    const { session } = recordingSession();
    for (const events of [1, 7, 1000, 5000]) {
      const result = await runPhase(
        ADAPTER,
        session,
        sysbenchDriver(run),
        [new Random(1, STREAM.client, 0)],
        { timeMs: 0, events },
        0,
        quiet.progress,
        quiet.interval,
      );
      expect(result.events).toBe(events);
      expect(result.histogram.totalCount).toBe(events);
      expect(result.digest).toBe(events);
      expect(result.harnessMs).toBeGreaterThan(0);
      expect(result.harnessMs).toBeLessThan(result.durationMs);
    }
  });

  it('bulk_insert: events are rows, the last transaction cut to the limit, one latency per transaction', async () => {
    const run = new SysbenchRun('bulk_insert', { ...SYSBENCH_DEFAULTS, tableSize: 1000, bulkRows: 100 }, 1, 1);
    const { session } = recordingSession();
    const result = await runPhase(
      ADAPTER,
      session,
      sysbenchDriver(run),
      [new Random(1, STREAM.client, 0)],
      { timeMs: 0, events: 1050 },
      0,
      quiet.progress,
      quiet.interval,
    );
    expect(result.events).toBe(1050);
    expect(result.histogram.totalCount).toBe(11);
  });

  it('YCSB D: one client draws exactly what it drew one operation at a time (inserts end a batch)', async () => {
    const options = { ...YCSB_DEFAULTS, recordcount: 100, operationcount: 3000 };
    const { session, ops } = recordingSession();
    await runPhase(
      ADAPTER,
      session,
      ycsbDriver(new YcsbRun('ycsb-d', options)),
      [new Random(5, STREAM.client, 0)],
      { timeMs: 0, events: 3000 },
      0,
      quiet.progress,
      quiet.interval,
    );
    // One at a time, each operation finished before the next is drawn, as YCSB's client does.
    const run = new YcsbRun('ycsb-d', options);
    const random = new Random(5, STREAM.client, 0);
    const expected: YcsbOperation[] = [];
    for (let i = 0; i < 3000; i++) {
      const op = run.next(random);
      if (op.op === 'insert') run.inserts.acknowledge(op.keynum);
      expected.push(op);
    }
    expect(ops.filter((op) => op.op === 'insert').length).toBeGreaterThan(50);
    expect(ops).toEqual(expected);
  });

  it('several clients: every event counted once', async () => {
    const run = new SysbenchRun('oltp_point_select', { ...SYSBENCH_DEFAULTS, tableSize: 1000 }, 4, 1);
    const { session } = recordingSession();
    const result = await runPhase(
      ADAPTER,
      session,
      sysbenchDriver(run),
      [0, 1, 2, 3].map((i) => new Random(1, STREAM.client, i)),
      { timeMs: 0, events: 2000 },
      0,
      quiet.progress,
      quiet.interval,
    );
    expect(result.events).toBe(2000);
    expect(result.histogram.totalCount).toBe(2000);
    expect(result.harnessMs).toBeLessThan(result.durationMs);
  });
});

describe('minno-bench overhead (tiny)', () => {
  it('measures bare, adapter and harness lookups on every engine it knows that installs here', async () => {
    const engines: EngineKind[] = [];
    for (const kind of OVERHEAD_ENGINES) if ((await unavailableReason(kind)) === undefined) engines.push(kind);
    const report = await measureOverhead({ engines, tableSize: 300, events: 500, rounds: 1, seed: 2 });
    expect(report.engines.map((e) => e.engine)).toEqual(engines);
    for (const e of report.engines)
      for (const cost of [e.bare, e.adapter, e.harness, e.predrawn]) expect(cost.wallNs).toBeGreaterThan(0);
    expect(overheadMarkdown(report)).toContain('| minno |');
  });
});
