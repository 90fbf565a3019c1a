/**
 * The harness's workload generators: sysbench's statement mixes, YCSB's operation mixes and
 * request distributions, the seeded streams, and YCSB's key hash.
 */
import { describe, expect, it } from 'vitest';
import { Random, STREAM } from '../../../bench/harness/random.js';
import { fnv64Decimal, fnv64Mod } from '../../../bench/harness/workloads/fnv64.js';
import {
  SYSBENCH_DEFAULTS,
  SYSBENCH_WORKLOADS,
  SysbenchRun,
  type SbEvent,
  type SysbenchWorkloadName,
} from '../../../bench/harness/workloads/sysbench.js';
import { sbtestRow } from '../../../bench/harness/workloads/sbtest.js';
import {
  AcknowledgedCounter,
  ScrambledZipfianGenerator,
  SkewedLatestGenerator,
  ZipfianGenerator,
} from '../../../bench/harness/workloads/ycsb-generators.js';
import { YCSB_DEFAULTS, YCSB_MIXES, YCSB_WORKLOADS, YcsbRun, ycsbKey } from '../../../bench/harness/workloads/ycsb.js';

/** YCSB's Utils.fnvhash64 with BigInt: the reference the fast version must match. */
function fnv64Reference(value: number): bigint {
  let rest = BigInt(value);
  let hash = 0xcbf29ce484222325n;
  for (let i = 0; i < 8; i++) {
    hash ^= rest & 0xffn;
    rest >>= 8n;
    hash = (hash * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  const signed = BigInt.asIntN(64, hash);
  return signed < 0n ? -signed : signed;
}

function events(name: SysbenchWorkloadName, count: number, seed = 1, client = 0, threads = 1): SbEvent[] {
  const run = new SysbenchRun(name, { ...SYSBENCH_DEFAULTS, tableSize: 1000, tables: 3, bulkRows: 20 }, threads, seed);
  const random = new Random(seed, STREAM.client, client);
  return Array.from({ length: count }, () => run.next(random, client, Infinity));
}

function ops(statements: SbEvent['statements']): string[] {
  return statements.map((s) => s.op);
}

describe('YCSB key hash', () => {
  it('matches FNV-64 computed with BigInt, as YCSB names keys', () => {
    const values = [
      0,
      1,
      255,
      256,
      65535,
      999_999,
      2 ** 32,
      2 ** 40 + 7,
      1e10 - 1,
      2 ** 53 - 1,
      ...Array.from({ length: 500 }, (_, i) => i * 104_729),
    ];
    for (const v of values) {
      expect(fnv64Decimal(v), String(v)).toBe(fnv64Reference(v).toString());
      expect(fnv64Mod(v, 1_000_003), String(v)).toBe(Number(fnv64Reference(v) % 1_000_003n));
    }
    expect(ycsbKey(0)).toBe(`user${fnv64Reference(0)}`);
  });
});

describe('seeded streams', () => {
  it('give the same draws for the same seed and name, others for another', () => {
    const draw = (seed: number, ...parts: number[]) => {
      const r = new Random(seed, ...parts);
      return Array.from({ length: 8 }, () => r.int(0, 1_000_000));
    };
    expect(draw(1, STREAM.client, 0)).toEqual(draw(1, STREAM.client, 0));
    expect(draw(1, STREAM.client, 0)).not.toEqual(draw(1, STREAM.client, 1));
    expect(draw(1, STREAM.client, 0)).not.toEqual(draw(2, STREAM.client, 0));
  });

  it('make a row a function of (seed, table, id) only, in sysbench shape', () => {
    const row = sbtestRow(7, 2, 42, 1000);
    expect(sbtestRow(7, 2, 42, 1000)).toEqual(row);
    expect(row.c).toMatch(/^(\d{11}-){9}\d{11}$/);
    expect(row.pad).toMatch(/^(\d{11}-){4}\d{11}$/);
    expect(row.k).toBeGreaterThanOrEqual(1);
    expect(row.k).toBeLessThanOrEqual(1000);
  });
});

describe('sysbench statement mixes', () => {
  it("keep oltp_common.lua's statements per event", () => {
    const read = [
      'point_select',
      ...Array(9).fill('point_select'),
      'simple_range',
      'sum_range',
      'order_range',
      'distinct_range',
    ];
    const write = ['index_update', 'non_index_update', 'delete', 'insert'];
    const [readOnly] = events('oltp_read_only', 1);
    expect(ops(readOnly!.statements)).toEqual(read);
    expect(readOnly!.transaction).toBe('read-only');
    const [readWrite] = events('oltp_read_write', 1);
    expect(ops(readWrite!.statements)).toEqual([...read, ...write]);
    expect(readWrite!.transaction).toBe('read-write');
    expect(ops(events('oltp_write_only', 1)[0]!.statements)).toEqual(write);
    expect(ops(events('oltp_point_select', 1)[0]!.statements)).toEqual(['point_select']);
    expect(events('oltp_point_select', 1)[0]!.transaction).toBe('none');
    for (const [name, op] of [
      ['oltp_update_index', 'index_update'],
      ['oltp_update_non_index', 'non_index_update'],
      ['oltp_insert', 'insert'],
      ['oltp_delete', 'delete'],
      ['select_random_points', 'random_points'],
      ['select_random_ranges', 'random_ranges'],
      ['bulk_insert', 'insert_rows'],
    ] as const) {
      expect(ops(events(name, 1)[0]!.statements), name).toEqual([op]);
    }
  });

  it('draw ids in [1, table_size], ranges of range_size and a delete+insert of the same id', () => {
    for (const event of events('oltp_read_write', 50)) {
      for (const s of event.statements) {
        expect(s.table).toBeGreaterThanOrEqual(1);
        expect(s.table).toBeLessThanOrEqual(3);
        if ('id' in s) expect(s.id).toBeGreaterThanOrEqual(1);
        if ('id' in s) expect(s.id).toBeLessThanOrEqual(1000);
        if ('low' in s) expect(s.high - s.low + 1).toBe(100);
      }
      const del = event.statements.find((s) => s.op === 'delete');
      const ins = event.statements.find((s) => s.op === 'insert');
      expect(ins?.op === 'insert' && del?.op === 'delete' && ins.row.id === del.id).toBe(true);
    }
  });

  it('are the same sequence for the same seed and client', () => {
    for (const name of SYSBENCH_WORKLOADS) expect(events(name, 20), name).toEqual(events(name, 20));
    expect(events('oltp_read_write', 5, 1)).not.toEqual(events('oltp_read_write', 5, 2));
  });

  it('give oltp_insert new auto-increment ids per table and bulk_insert its own table per client', () => {
    const inserted = events('oltp_insert', 30)
      .map((e) => e.statements[0]!)
      .filter((s) => s.op === 'insert');
    for (const table of [1, 2, 3]) {
      const ids = inserted.filter((s) => s.table === table).map((s) => (s.op === 'insert' ? s.row.id : 0));
      expect(ids).toEqual(ids.map((_, i) => 1001 + i));
    }
    const run = new SysbenchRun('bulk_insert', { ...SYSBENCH_DEFAULTS, bulkRows: 10 }, 2, 1);
    const random = new Random(1, STREAM.client, 0);
    const first = run.next(random, 1, Infinity);
    expect(first.units).toBe(10);
    expect(first.statements[0]).toMatchObject({ op: 'insert_rows', table: 2 });
    expect(run.next(random, 1, 4).units).toBe(4); // cut to what the run may still do
  });

  it("keep select_random_points within each client's slice of k", () => {
    for (let client = 0; client < 4; client++) {
      for (const event of events('select_random_points', 20, 1, client, 4)) {
        const s = event.statements[0]!;
        if (s.op !== 'random_points') throw new Error(s.op);
        expect(s.ks).toHaveLength(10);
        for (const k of s.ks) expect(k >= client * 250 && k <= client * 250 + 250).toBe(true);
      }
    }
  });
});

describe('YCSB', () => {
  it('zipfian favours the first items, in range', () => {
    const zipfian = new ZipfianGenerator(0, 999);
    const random = new Random(1, STREAM.client, 0);
    const counts = new Array<number>(1000).fill(0);
    for (let i = 0; i < 20_000; i++) {
      const v = zipfian.next(random);
      expect(v >= 0 && v <= 999).toBe(true);
      counts[v]!++;
    }
    expect(counts[0]).toBe(Math.max(...counts));
    expect(counts[0]!).toBeGreaterThan(counts[500]! * 20);
  });

  it('scrambled zipfian stays in range and spreads its hot items', () => {
    const scrambled = new ScrambledZipfianGenerator(0, 9_999);
    const random = new Random(1, STREAM.client, 0);
    const counts = new Map<number, number>();
    for (let i = 0; i < 20_000; i++) {
      const v = scrambled.next(random);
      expect(v >= 0 && v <= 9_999).toBe(true);
      counts.set(v, (counts.get(v) ?? 0) + 1);
    }
    const hottest = [...counts]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 5)
      .map(([v]) => v);
    expect(Math.max(...hottest) - Math.min(...hottest)).toBeGreaterThan(100);
  });

  it('latest picks recent inserts most, never beyond the last finished one', () => {
    const counter = new AcknowledgedCounter(1000);
    const latest = new SkewedLatestGenerator(counter);
    const random = new Random(1, STREAM.client, 0);
    for (let i = 0; i < 50; i++) counter.acknowledge(counter.next());
    const draws = Array.from({ length: 5000 }, () => latest.next(random));
    expect(Math.max(...draws)).toBeLessThanOrEqual(counter.lastValue());
    expect(draws.filter((d) => d > 1000).length).toBeGreaterThan(draws.length / 4);
  });

  it('the acknowledged counter moves only past finished inserts', () => {
    const counter = new AcknowledgedCounter(10);
    const [a, b] = [counter.next(), counter.next()];
    counter.acknowledge(b);
    expect(counter.lastValue()).toBe(9);
    counter.acknowledge(a);
    expect(counter.lastValue()).toBe(11);
  });

  it("keeps each workload's operation mix", () => {
    for (const name of YCSB_WORKLOADS) {
      const run = new YcsbRun(name, { ...YCSB_DEFAULTS, recordcount: 500 });
      const random = new Random(1, STREAM.client, 0);
      const counts: Record<string, number> = {};
      const n = 4000;
      for (let i = 0; i < n; i++) {
        const op = run.next(random);
        counts[op.op] = (counts[op.op] ?? 0) + 1;
        if (op.op === 'insert') run.inserts.acknowledge(op.keynum);
        if (op.op === 'scan') expect(op.count >= 1 && op.count <= 100).toBe(true);
      }
      const mix = YCSB_MIXES[name];
      const expected: Record<string, number> = {
        read: mix.read,
        update: mix.update,
        insert: mix.insert,
        scan: mix.scan,
        'read-modify-write': mix.readModifyWrite,
      };
      for (const [op, share] of Object.entries(expected))
        expect(Math.abs((counts[op] ?? 0) / n - share), `${name} ${op}`).toBeLessThan(0.03);
    }
  });
});
