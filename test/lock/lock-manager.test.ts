import { describe, expect, it } from 'vitest';
import { DeadlockError, LockWaitTimeoutError } from '../../src/errors.js';
import { LockManager, SUPREMUM, type LockOwner } from '../../src/lock/lock-manager.js';
import { ManualClock } from '../../src/util/clock.js';

function owner(trxId: number, undo = 0): LockOwner & { undo: number } {
  return {
    trxId,
    undo,
    undoCount() {
      return this.undo;
    },
  };
}
const k = (n: number) => new Uint8Array([n]);

describe('LockManager', () => {
  it('grants compatible locks at once and makes conflicting ones wait until release', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const a = owner(1);
    const b = owner(2);
    const c = owner(3);
    expect(locks.acquire(a, 1, k(5), 'S', 'record')).toBeUndefined();
    expect(locks.acquire(b, 1, k(5), 'S', 'next-key')).toBeUndefined(); // S + S
    const wait = locks.acquire(c, 1, k(5), 'X', 'record');
    expect(wait).toBeInstanceOf(Promise);
    let granted = false;
    void wait!.then(() => (granted = true));
    locks.releaseAll(a);
    await Promise.resolve();
    expect(granted).toBe(false); // b still holds S
    locks.releaseAll(b);
    await Promise.resolve();
    expect(granted).toBe(true);
    locks.validate();
  });

  it('gap locks never wait; they block only insert intention on the same key', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const a = owner(1);
    const b = owner(2);
    expect(locks.acquire(a, 1, k(9), 'X', 'gap')).toBeUndefined();
    expect(locks.acquire(b, 1, k(9), 'X', 'gap')).toBeUndefined(); // X gap + X gap compatible
    expect(locks.acquire(b, 1, k(9), 'X', 'record')).toBeUndefined(); // a's gap lock has no record part
    expect(locks.wouldWait(owner(3), 1, k(9), 'X', 'insert-intention')).toBe(true);
    expect(locks.wouldWait(owner(3), 1, k(8), 'X', 'insert-intention')).toBe(false);
    expect(locks.wouldWait(owner(3), 1, SUPREMUM, 'X', 'insert-intention')).toBe(false);
    // An insert intention does not block a later gap lock, and keeps waiting for the granted one.
    const c = owner(3);
    const insert = locks.acquire(c, 1, k(9), 'X', 'insert-intention')!;
    let done = false;
    void insert.then(() => (done = true));
    locks.releaseAll(a);
    await Promise.resolve();
    expect(done).toBe(false); // b's... b holds X record and X gap: gap still blocks
    locks.releaseAll(b);
    await Promise.resolve();
    expect(done).toBe(true);
    locks.validate();
  });

  it('finds a deadlock at once and fails the transaction with less undo', async () => {
    const victims: number[] = [];
    const locks = new LockManager({ clock: new ManualClock(), onDeadlockVictim: (o) => victims.push(o.trxId) });
    const heavy = owner(1, 10);
    const light = owner(2, 1);
    locks.acquire(heavy, 1, k(1), 'X', 'record');
    locks.acquire(light, 1, k(2), 'X', 'record');
    const heavyWait = locks.acquire(heavy, 1, k(2), 'X', 'record')!;
    const lightWait = locks.acquire(light, 1, k(1), 'X', 'record')!;
    await expect(lightWait).rejects.toBeInstanceOf(DeadlockError);
    expect(victims).toEqual([2]);
    locks.releaseAll(light); // the engine rolls the victim back
    await expect(heavyWait).resolves.toBeUndefined();
    expect(locks.stats.deadlocks).toBe(1);
  });

  it('times out a long wait with LockWaitTimeoutError, leaving the holder untouched', async () => {
    const clock = new ManualClock();
    const locks = new LockManager({ clock, lockWaitTimeoutMs: 50 });
    const a = owner(1);
    const b = owner(2);
    locks.acquire(a, 1, k(1), 'X', 'record');
    const wait = locks.acquire(b, 1, k(1), 'S', 'record')!;
    clock.advance(49);
    clock.advance(1);
    await expect(wait).rejects.toBeInstanceOf(LockWaitTimeoutError);
    expect(locks.locksOf(a)).toEqual([{ key: '1:\u0001', mode: 'X', kind: 'record', granted: true }]);
    expect(locks.isWaiting(b)).toBe(false);
  });

  it('an S waiter does not starve a queued X waiter', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const a = owner(1);
    locks.acquire(a, 1, k(1), 'S', 'record');
    const x = locks.acquire(owner(2), 1, k(1), 'X', 'record');
    expect(x).toBeInstanceOf(Promise);
    expect(locks.acquire(owner(3), 1, k(1), 'S', 'record')).toBeInstanceOf(Promise); // queues behind X
  });
});
