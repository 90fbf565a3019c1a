/**
 * The engine's slices share one budget per turn of the event loop (util/slices.ts): a second
 * slice in the same turn gets what the first left, and timer work that finds the budget spent
 * lets the turn go, never twice in a row.
 */
import { describe, expect, it } from 'vitest';
import { TurnTaker, nextTurn, turnDeadline } from '../../src/util/slices.js';

describe('the turn budget', () => {
  it('gives a later slice in the same turn what is left, and a fresh budget on the next turn', async () => {
    await nextTurn();
    const first = turnDeadline(1_000);
    const second = turnDeadline(5_000);
    expect(second).toBe(first); // not its own 5 s: the turn's budget
    expect(turnDeadline(0)).toBeLessThanOrEqual(performance.now()); // never more than asked
    await nextTurn();
    expect(turnDeadline(5_000)).toBeGreaterThan(first + 3_000);
  });

  it('defers timer work once when another spent the budget, and never twice in a row', async () => {
    await nextTurn();
    const purge = new TurnTaker();
    expect(purge.deferNow()).toBe(false); // nothing ran in this turn
    turnDeadline(0); // another slice ran and spent the turn's budget
    expect(purge.deferNow()).toBe(true);
    expect(purge.deferNow()).toBe(false); // deferred last time: runs now, nothing starves
    expect(purge.deferNow()).toBe(true);
    await nextTurn();
    expect(purge.deferNow()).toBe(false);
  });

  it('never defers work whose own slice spent the budget, and gives its next slice a budget of its own', async () => {
    await nextTurn();
    const cleaner = new TurnTaker();
    const first = cleaner.deadline(0); // its own slice spent the budget (a manual clock fires it twice)
    expect(cleaner.deferNow()).toBe(false);
    expect(cleaner.deadline(5_000)).toBeGreaterThan(first + 3_000);
    expect(new TurnTaker().deferNow()).toBe(true); // another taker does wait its turn
  });
});
