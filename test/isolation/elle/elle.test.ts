/**
 * The list-append checker on minno, a short slice per isolation level from a fresh seed each run
 * (printed, with the command that replays it). Longer runs: `npm run elle -- --txns 20000 --seeds 10`,
 * or here with MINNO_ELLE_TXNS (per level) and MINNO_ELLE_SEED.
 *
 * A run fails on any anomaly InnoDB forbids at its level (checker.ts FORBIDDEN), on any client
 * left waiting with nobody able to run (a deadlock the detector missed, or a lock nobody releases),
 * and on any error other than a deadlock. It also shows that the slice had teeth to show: the
 * anomalies READ COMMITTED and REPEATABLE READ allow do occur, and SERIALIZABLE does deadlock.
 */
import { describe, expect, it } from 'vitest';
import { ISOLATION_LEVELS } from '../../../src/mvcc/trx.js';
import { openMinnoStore } from './minno-store.js';
import { checkedRun, describeRun } from './run.js';

const txns = Number(process.env['MINNO_ELLE_TXNS'] ?? 500);
const seed =
  process.env['MINNO_ELLE_SEED'] !== undefined
    ? Number(process.env['MINNO_ELLE_SEED'])
    : Math.floor(Math.random() * 2 ** 31);

describe.each(ISOLATION_LEVELS)('list-append histories at %s', (level) => {
  it(`${txns} transactions from a fresh seed show nothing InnoDB forbids`, async () => {
    console.log(
      `list-append at ${level}: seed ${seed} (replay: MINNO_ELLE_SEED=${seed} MINNO_ELLE_TXNS=${txns} npx vitest run test/isolation/elle/elle.test.ts, or npm run elle -- --level ${level} --seed ${seed} --seeds 1 --txns ${txns})`,
    );
    const run = await checkedRun(await openMinnoStore(), { seed, level, txns });
    expect(run.ok, describeRun(run)).toBe(true);
    if (level === 'serializable')
      expect(run.outcomes['ERR_DEADLOCK'] ?? 0, 'transactions met in locks').toBeGreaterThan(0);
    else
      expect(run.report.counts['G2-item'], `${level} allows write skew, and the workload makes some`).toBeGreaterThan(
        0,
      );
  });
});
