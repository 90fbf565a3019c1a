/**
 * The table workload's harness, step by step: what it must not report.
 *
 * Issue 9, second finding (seed 778456): "recovery after a crashed recovery: close-account:
 * ClosedError". Not an engine bug. An action of the crashed epoch (a close-account waiting for a
 * row lock) was still pending when the runner abandoned that engine and recovered the image. The
 * model's error handler asked whether the error came from a stale engine by looking at the
 * model's *current* engine, which recovery had already switched to the new, healthy one; so the
 * stale action's failure (and its rollback, attempted on the wrong engine) was reported as a
 * violation. Now every session remembers its engine and only that engine's errors count.
 * Why nothing caught it: it needs an action pending across a crash *and* a recovery that is itself
 * crashed (several opens), so the stale action resumes after the model switched engines.
 */
import { describe, expect, it } from 'vitest';
import { CommitLedger } from '../../sim/ledger.js';
import { DEFAULT_PLAN_SHAPE, generatePlan } from '../../sim/plan.js';
import { tableTarget } from '../../sim/table-target.js';
import type { TableOp } from '../../sim/table-ops.js';
import { tableWorkload } from '../../sim/table-workload.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';

function op(kind: TableOp['kind'], slot: number, a: number, b = 0): TableOp {
  return { kind, slot, a, b, amount: 1, durability: 'full', isolation: 'repeatable-read' };
}

async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('the table workload harness', () => {
  it('an action left waiting on an engine abandoned after a crash is not reported when it fails later', async () => {
    const config = generatePlan(1, tableWorkload, tableTarget, DEFAULT_PLAN_SHAPE).config;
    const model = tableWorkload.createModel(config);
    const ledger = new CommitLedger();
    const vfs = new FaultVfs({ seed: 1 });
    const first = await tableTarget.open(vfs, config, {});
    model.setUp(first, ledger);
    // Slot 1 X-locks account 1 (a transfer 1 -> 2); slot 0's close-account of account 1 waits for it.
    expect(model.execute(first, op('transfer', 1, 0, 1), ledger)).toBeUndefined();
    await turns(3);
    expect(model.execute(first, op('close-account', 0, 0), ledger)).toBeUndefined();
    await turns(3);
    // The crash: the runner abandons the engine, with the wait still pending.
    const image = vfs.crashNow('process-crash');
    tableTarget.abandon(first);
    const second = await tableTarget.open(FaultVfs.fromImage(image, { seed: 2 }), config, {});
    const recovered = model.verifyRecovered(second, ledger.bounds(true));
    expect(recovered.violations).toEqual([]);
    // The stale wait ends (its lock-wait timeout) while the model already uses the new engine.
    first.clock.advance(60_000);
    await turns(5);
    expect(model.checkLive(second)).toEqual([]);
    tableTarget.abandon(second);
  });
});
