/**
 * Long list-append runs, on demand (`npm run elle -- ...`; CI runs a short slice in elle.test.ts).
 *
 *     npm run elle -- --txns 20000 --seeds 10            # 10 seeds x 2,000 txns at each level
 *     npm run elle -- --level serializable --seed 42 --txns 2000   # replay one run
 *     npm run elle -- --store toy:last-writer-wins       # the checker's teeth on a broken store
 *     npm run elle -- --seam no-gap-inheritance          # minno with issue 10's bug put back
 *
 * `--txns` is per level, split evenly over `--seeds` consecutive seeds from `--seed` (a fresh
 * one when not given). Prints one line per run and a summary per level (with `--json`, one JSON
 * object); exits 1 when any run found an anomaly its level forbids or got stuck.
 */
import { parseArgs } from 'node:util';
import { ISOLATION_LEVELS, type IsolationLevel } from '../../../src/mvcc/trx.js';
import { ANOMALY_NAMES } from './checker.js';
import { openMinnoStore } from './minno-store.js';
import { checkedRun, describeRun, type CheckedRun } from './run.js';
import { TOY_FAULTS, ToyStore, type ToyFault } from './toy-store.js';
import type { ListAppendStore } from './workload.js';

const { values } = parseArgs({
  options: {
    level: { type: 'string', default: 'all' },
    txns: { type: 'string', default: '6000' },
    seeds: { type: 'string', default: '3' },
    seed: { type: 'string' },
    clients: { type: 'string', default: '8' },
    keys: { type: 'string', default: '4' },
    'writes-per-key': { type: 'string', default: '4' },
    store: { type: 'string', default: 'minno' },
    seam: { type: 'string' },
    json: { type: 'boolean', default: false },
  },
});

const levels: readonly IsolationLevel[] = values.level === 'all' ? ISOLATION_LEVELS : [values.level as IsolationLevel];
for (const level of levels)
  if (!ISOLATION_LEVELS.includes(level)) throw new Error(`--level: one of all, ${ISOLATION_LEVELS.join(', ')}`);
const seeds = Number(values.seeds);
const perSeed = Math.ceil(Number(values.txns) / seeds);
const firstSeed = values.seed !== undefined ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31);

const openStore = async (seed: number): Promise<ListAppendStore> => {
  if (values.store.startsWith('toy:')) {
    const fault = values.store.slice(4) as ToyFault;
    if (!TOY_FAULTS.includes(fault)) throw new Error(`--store toy:<${TOY_FAULTS.join('|')}>`);
    return new ToyStore(fault, seed);
  }
  if (values.seam === undefined) return openMinnoStore();
  if (values.seam === 'no-gap-inheritance') return openMinnoStore({ locks: { noGapInheritance: true } });
  if (values.seam === 'one-victim-per-wait') return openMinnoStore({ locks: { oneVictimPerWait: true } });
  throw new Error('--seam: no-gap-inheritance or one-victim-per-wait');
};

const summary: Record<string, unknown> = {
  firstSeed,
  seeds,
  txnsPerSeed: perSeed,
  store: values.store,
  seam: values.seam ?? null,
  levels: {},
};
let failed = false;
for (const level of levels) {
  const runs: CheckedRun[] = [];
  const startedMs = performance.now();
  for (let seed = firstSeed; seed < firstSeed + seeds; seed++) {
    const run = await checkedRun(await openStore(seed), {
      seed,
      level,
      txns: perSeed,
      clients: Number(values.clients),
      hotKeys: Number(values.keys),
      maxWritesPerKey: Number(values['writes-per-key']),
    });
    runs.push(run);
    failed ||= !run.ok;
    if (!values.json) console.log(describeRun(run));
  }
  const txns = runs.reduce((n, r) => n + r.txns, 0);
  const total = (key: string): number => runs.reduce((n, r) => n + (r.outcomes[key] ?? 0), 0);
  const anomalies = Object.fromEntries(
    ANOMALY_NAMES.map((name) => [name, runs.reduce((n, r) => n + r.report.counts[name], 0)]).filter(
      ([, n]) => (n as number) > 0,
    ),
  );
  const levelSummary = {
    txns,
    committed: total('ok'),
    deadlocks: total('ERR_DEADLOCK'),
    deadlockRate: Number((total('ERR_DEADLOCK') / txns).toFixed(4)),
    timeouts: total('ERR_LOCK_WAIT_TIMEOUT'),
    stuck: runs.reduce((n, r) => n + r.incidents.filter((i) => i.kind === 'stuck').length, 0),
    unexpectedErrors: runs.reduce((n, r) => n + r.incidents.filter((i) => i.kind === 'unexpected-error').length, 0),
    anomalies,
    forbidden: [...new Set(runs.flatMap((r) => r.report.forbidden))],
    failedSeeds: runs.filter((r) => !r.ok).map((r) => r.seed),
    seconds: Number(((performance.now() - startedMs) / 1000).toFixed(1)),
  };
  (summary['levels'] as Record<string, unknown>)[level] = levelSummary;
  if (!values.json) console.log(`== ${level}: ${JSON.stringify(levelSummary)}`);
}
if (values.json) console.log(JSON.stringify(summary, null, 2));
else
  console.log(`seeds ${firstSeed}..${firstSeed + seeds - 1}; replay one with --seed <n> --seeds 1 --txns ${perSeed}`);
process.exitCode = failed ? 1 : 0;
