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

describe('deadlock victims (lock_wait_choose_victim)', () => {
  it('resolves every cycle the new wait closes, the lightest transaction on each going first', async () => {
    const victims: number[] = [];
    const locks = new LockManager({ clock: new ManualClock(), onDeadlockVictim: (o) => victims.push(o.trxId) });
    const s = owner(1, 5); // heavy: the requester
    const x = owner(2);
    const y = owner(3);
    locks.acquire(x, 1, k(1), 'S', 'record');
    locks.acquire(y, 1, k(1), 'S', 'record');
    locks.acquire(s, 1, k(2), 'S', 'record');
    const xWait = locks.acquire(x, 1, k(2), 'X', 'record')!;
    const yWait = locks.acquire(y, 1, k(2), 'X', 'record')!;
    const sWait = locks.acquire(s, 1, k(1), 'X', 'record')!; // closes s->x->s and s->y->s
    await expect(xWait).rejects.toBeInstanceOf(DeadlockError);
    await expect(yWait).rejects.toBeInstanceOf(DeadlockError);
    expect(victims).toEqual([2, 3]);
    expect(locks.waitGraph().map((w) => w.waiter.trxId)).toEqual([1]); // only s waits, for x and y's S locks
    locks.releaseAll(x);
    locks.releaseAll(y);
    await expect(sWait).resolves.toBeUndefined();
    locks.validate();
  });

  it('on equal weights the newest waiter is the victim', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const [a, b, c] = [owner(1), owner(2), owner(3)];
    locks.acquire(a, 1, k(1), 'X', 'record');
    locks.acquire(b, 1, k(2), 'X', 'record');
    locks.acquire(c, 1, k(3), 'X', 'record');
    const aWait = locks.acquire(a, 1, k(2), 'X', 'record')!;
    const bWait = locks.acquire(b, 1, k(3), 'X', 'record')!;
    const cWait = locks.acquire(c, 1, k(1), 'X', 'record')!;
    await expect(cWait).rejects.toBeInstanceOf(DeadlockError);
    expect(locks.isWaiting(a) && locks.isWaiting(b)).toBe(true);
    locks.releaseAll(c);
    await expect(bWait).resolves.toBeUndefined();
    locks.releaseAll(b);
    await expect(aWait).resolves.toBeUndefined();
  });
});

describe('gap locks follow the gap', () => {
  it('an inserted key takes the gap-covering locks of its successor as gap locks (lock_update_insert)', () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const [a, b, c, d] = [owner(1), owner(2), owner(3), owner(4)];
    locks.acquire(a, 1, k(9), 'S', 'gap');
    locks.acquire(b, 1, k(9), 'X', 'next-key');
    locks.acquire(c, 1, k(9), 'S', 'record'); // no gap part: not inherited
    expect(locks.mayInheritOnInsert(1)).toBe(true);
    expect(locks.mayInheritOnInsert(2)).toBe(false);
    locks.inheritToInserted(1, k(5), k(9));
    expect(locks.locksOf(a)).toContainEqual({ key: '1:\u0005', mode: 'S', kind: 'gap', granted: true });
    expect(locks.locksOf(b)).toContainEqual({ key: '1:\u0005', mode: 'X', kind: 'gap', granted: true });
    expect(locks.locksOf(c).some((l) => l.key === '1:\u0005')).toBe(false);
    expect(locks.wouldWait(d, 1, k(5), 'X', 'insert-intention')).toBe(true); // the lower half is locked
    expect(locks.wouldWait(d, 1, k(9), 'X', 'insert-intention')).toBe(true); // and the upper half still
    locks.validate();
  });

  it('on the supremum every lock covers the gap', () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const a = owner(1);
    locks.acquire(a, 1, SUPREMUM, 'S', 'record');
    locks.inheritToInserted(1, k(5), SUPREMUM);
    expect(locks.locksOf(a)).toContainEqual({ key: '1:\u0005', mode: 'S', kind: 'gap', granted: true });
  });

  it('a removed key passes its locks to the successor as gap locks and lets its waiters go (lock_update_delete)', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const rr = { ...owner(1), isolation: 'repeatable-read' };
    const rc = { ...owner(2), isolation: 'read-committed' };
    const waiter = owner(3);
    const inserter = owner(4);
    locks.acquire(rr, 1, k(5), 'S', 'record');
    locks.acquire(rc, 1, k(5), 'S', 'record');
    const wait = locks.acquire(waiter, 1, k(5), 'X', 'record')!;
    locks.inheritFromRemoved(1, k(5), k(9));
    await expect(wait).resolves.toBeUndefined(); // let go without the lock: the caller retries
    expect(locks.hasLocksOn(1, k(5))).toBe(false); // K5
    expect(locks.locksOf(rr)).toEqual([{ key: '1:\t', mode: 'S', kind: 'gap', granted: true }]);
    expect(locks.locksOf(rc)).toEqual([]); // READ COMMITTED locks are not inherited
    expect(locks.locksOf(waiter)).toEqual([{ key: '1:\t', mode: 'X', kind: 'gap', granted: true }]); // a waiter's as granted
    expect(locks.wouldWait(inserter, 1, k(9), 'X', 'insert-intention')).toBe(true);
    locks.validate();
  });

  it('an inherited lock that closes a cycle without a new request is resolved at once (K3)', async () => {
    const locks = new LockManager({ clock: new ManualClock() });
    const [a, b, c] = [owner(1), owner(2), owner(3)];
    locks.acquire(c, 1, k(9), 'S', 'gap');
    locks.acquire(b, 1, k(5), 'S', 'gap'); // b locks the gap before 5
    locks.acquire(a, 1, k(3), 'X', 'record');
    const bWait = locks.acquire(b, 1, k(3), 'X', 'record')!; // b waits for a
    const aInsert = locks.acquire(a, 1, k(9), 'X', 'insert-intention')!; // a waits for c's gap lock
    expect(locks.waitGraph().map((w) => [w.waiter.trxId, w.waitsFor.map((o) => o.trxId)])).toEqual([
      [2, [1]],
      [1, [3]],
    ]);
    // 5 is purged: b's gap lock passes to 9, so a now waits for b too, and b waits for a.
    locks.inheritFromRemoved(1, k(5), k(9));
    await expect(aInsert).rejects.toBeInstanceOf(DeadlockError); // equal weights: a waited last
    locks.releaseAll(a);
    await expect(bWait).resolves.toBeUndefined();
    locks.validate();
  });
});
