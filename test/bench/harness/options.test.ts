/** The harness's command line: what it accepts, its defaults, and the messages for mistakes. */
import { describe, expect, it } from 'vitest';
import { parseHarnessArgs, limitsFor, UsageError, type HarnessOptions } from '../../../bench/harness/options.js';
import { minnoPoolBytes, parseEngineVariant } from '../../../bench/harness/engines/catalog.js';

function parse(...args: string[]): HarnessOptions {
  const options = parseHarnessArgs(args);
  if (options === 'help') throw new Error('help');
  return options;
}

function refused(args: string[]): string {
  try {
    parseHarnessArgs(args);
  } catch (error) {
    expect(error).toBeInstanceOf(UsageError);
    return (error as Error).message;
  }
  throw new Error(`accepted: ${args.join(' ')}`);
}

describe('harness options', () => {
  it("keeps sysbench's and YCSB's defaults", () => {
    const o = parse('oltp_read_write', 'ycsb-a');
    expect(o.sysbench).toMatchObject({ tableSize: 10_000, tables: 1, rangeSize: 100, pointSelects: 10 });
    expect(o.ycsb).toMatchObject({ recordcount: 1000, operationcount: 1000, fieldcount: 10, fieldlength: 100 });
    expect(limitsFor(o, 'oltp_read_write')).toEqual({ timeS: 10, events: 0 });
    expect(limitsFor(o, 'ycsb-a')).toEqual({ timeS: 0, events: 1000 });
    expect(o).toMatchObject({ threads: 1, repetitions: 3, durable: true, engines: undefined });
  });

  it("takes sysbench's spellings, YCSB's file names and groups of workloads", () => {
    const o = parse(
      'workloadc,oltp_insert',
      '--table_size=500',
      '--skip_trx',
      'on',
      '--threads=4',
      '--durability',
      'none',
    );
    expect(o.workloads).toEqual(['ycsb-c', 'oltp_insert']);
    expect(o.sysbench.tableSize).toBe(500);
    expect(o.sysbench.skipTrx).toBe(true);
    expect(o.threads).toBe(4);
    expect(o.durable).toBe(false);
    expect(parse('ycsb').workloads).toHaveLength(6);
    expect(parse('all').workloads).toHaveLength(17);
  });

  it('refuses mistakes with a message', () => {
    expect(refused(['oltp_nothing'])).toMatch(/unknown workload 'oltp_nothing'/);
    expect(refused([])).toMatch(/name at least one workload/);
    expect(refused(['oltp_point_select', '--table-size', '-5'])).toBe(
      "--table-size must be a whole number of 1 or more, got '-5'",
    );
    expect(refused(['oltp_point_select', '--threads', '2.5'])).toMatch(/--threads must be a whole number/);
    expect(refused(['oltp_point_select', '--tabel-size', '5'])).toMatch(/unknown option --tabel-size/);
    expect(refused(['oltp_point_select', '--engines', 'minno,postgres'])).toMatch(/unknown engine 'postgres'/);
    expect(refused(['oltp_point_select', '--engines', 'lmdb:pool=5%'])).toMatch(/only minno takes one/);
    expect(refused(['oltp_point_select', '--time', '0'])).toMatch(/would never stop/);
    expect(refused(['ycsb-a', '--operationcount', '0'])).toMatch(/would never stop/);
    expect(refused(['select_random_points', '--tables', '2'])).toMatch(/does not support --tables > 1/);
    expect(refused(['oltp_point_select', '--durability', 'sometimes'])).toMatch(/--durability takes full or none/);
    expect(refused(['ycsb-a', '--requestdistribution', 'hotspot'])).toMatch(
      /--requestdistribution takes zipfian, uniform, latest/,
    );
  });

  it('gives minno variants their pool', () => {
    expect(parseEngineVariant('minno:pool=10%')).toEqual({
      label: 'minno:pool=10%',
      kind: 'minno',
      pool: { percent: 10 },
    });
    expect(parseEngineVariant('minno:pool=256MiB').pool).toEqual({ bytes: 256 * 1024 * 1024 });
    expect(minnoPoolBytes({ percent: 10 }, 500 * 1024 * 1024)).toBe(50 * 1024 * 1024);
    expect(minnoPoolBytes(undefined, 500 * 1024 * 1024)).toBe(750 * 1024 * 1024); // holds the data
    expect(minnoPoolBytes(undefined, 5 * 1024 ** 3)).toBe(3.5 * 1024 ** 3); // a typed array's limit
    expect(minnoPoolBytes({ percent: 10 }, 1000)).toBe(1024 * 1024); // never below minno's minimum
  });
});

describe('the README and the agreement note', () => {
  it('show only harness commands that parse', async () => {
    const { readFileSync } = await import('node:fs');
    const readme = ['../../../README.md', '../../../docs/bench/agreement.md']
      .map((path) => readFileSync(new URL(path, import.meta.url), 'utf8'))
      .join('\n');
    const commands = readme
      .replaceAll('\\\n', ' ')
      .split('\n')
      .map((line) => /^npm run bench -- (.*?)(\s+#.*)?$/.exec(line.trim())?.[1])
      .filter((args): args is string => args !== undefined)
      .map((args) => args.split(/\s+/));
    const comparisons = commands.filter((args) => !['list', '--help', '--quick', 'overhead'].includes(args[0]!));
    expect(comparisons.length).toBeGreaterThanOrEqual(12);
    for (const args of comparisons) expect(() => parse(...args), args.join(' ')).not.toThrow();
  });
});
