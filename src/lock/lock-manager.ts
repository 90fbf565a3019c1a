/**
 * Row locks: record, gap, next-key and insert-intention locks, waits, deadlocks and timeouts.
 *
 * InnoDB counterpart: `lock/lock0lock.cc` (lock_rec_lock, lock_rec_has_to_wait, lock_rec_insert_check_and_lock),
 * `lock/lock0wait.cc` (waits and timeouts) and the deadlock detector. A lock names an index and a
 * key (the encoded bytes of an index entry, or the supremum: "after the last key"). As in InnoDB a
 * *gap* lock names the record that ends the gap: it covers the open interval between that key and
 * the key before it.
 *
 * | kind              | covers                  | waits for (held by another transaction)                |
 * |-------------------|-------------------------|--------------------------------------------------------|
 * | 'record'          | the record              | a record or next-key lock in a conflicting mode        |
 * | 'gap'             | the gap before it       | nothing: gap locks only stop inserts                    |
 * | 'next-key'        | record + gap before it  | a record or next-key lock in a conflicting mode        |
 * | 'insert-intention'| a point in the gap      | a gap or next-key lock (any mode) on the same key      |
 *
 * Modes: S and S are compatible; X conflicts with both. A request also queues behind earlier
 * *waiting* requests it conflicts with, so a stream of S locks cannot starve an X waiter.
 *
 * A request that must wait returns a promise (the engine's writes and locking reads are async for
 * exactly this reason). Deadlocks are found at once, when a wait would close a cycle in the
 * wait-for graph: the transaction in the cycle with the least weight (InnoDB's TRX_WEIGHT: undo
 * records plus locks; on a tie, the one whose wait closed the cycle) is chosen,
 * its wait fails with `DeadlockError` and the engine rolls it back. A wait longer than
 * `lockWaitTimeoutMs` (50 s by default, InnoDB's innodb_lock_wait_timeout) fails with
 * `LockWaitTimeoutError`; only that statement fails, the transaction stays usable.
 *
 * Invariants:
 *  K1. Granted locks of different transactions on one key never conflict.
 *  K2. A waiting request waits for at least one lock it conflicts with; when the locks it waits
 *      for go, it is granted or keeps waiting for another.
 *  K3. The wait-for graph has no cycle after `acquire` returns (a cycle picks a victim at once).
 *  K4. Every lock of a transaction is released by `releaseAll` at commit or rollback.
 */
import { DeadlockError, LockWaitTimeoutError } from '../errors.js';
import { assert, debugChecks as debugChecksOn } from '../util/assert.js';
import type { Clock, TimerHandle } from '../util/clock.js';

export const LOCK_KINDS = ['record', 'gap', 'next-key', 'insert-intention'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];
export type LockMode = 'S' | 'X';

/** The pseudo-key after every real key of an index (InnoDB's supremum record). */
export const SUPREMUM: Uint8Array = new Uint8Array(0);

export interface LockOwner {
  readonly trxId: number;
  /** InnoDB's weight: undo records written so far. The smaller one is the deadlock victim. */
  undoCount(): number;
}

interface Lock {
  readonly owner: LockOwner;
  readonly mode: LockMode;
  readonly kind: LockKind;
  readonly key: string;
  readonly indexId: number;
  granted: boolean;
  /** For a waiting lock: how to wake it. */
  resolve?: () => void;
  reject?: (error: Error) => void;
  timer?: TimerHandle;
}

function hasRecordPart(kind: LockKind): boolean {
  return kind === 'record' || kind === 'next-key';
}

function hasGapPart(kind: LockKind): boolean {
  return kind === 'gap' || kind === 'next-key';
}

/** lock_rec_has_to_wait: does `request` have to wait for `held` (another transaction's)? */
function conflicts(request: { mode: LockMode; kind: LockKind }, held: { mode: LockMode; kind: LockKind }): boolean {
  if (request.kind === 'insert-intention') return hasGapPart(held.kind);
  if (request.kind === 'gap') return false;
  if (!hasRecordPart(held.kind)) return false;
  return request.mode === 'X' || held.mode === 'X';
}

/** A stronger-or-equal lock already held by the owner makes a request a no-op. */
function covers(held: Lock, mode: LockMode, kind: LockKind): boolean {
  if (held.mode === 'S' && mode === 'X') return false;
  if (held.kind === kind) return true;
  if (held.kind === 'next-key') return kind === 'record' || kind === 'gap';
  return false;
}

export function lockKey(indexId: number, key: Uint8Array): string {
  return key === SUPREMUM
    ? `${indexId}:sup`
    : `${indexId}:${Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1')}`;
}

export interface LockManagerOptions {
  readonly clock: Clock;
  readonly lockWaitTimeoutMs?: number;
  /** Called with the deadlock victim (after its wait was failed), so the engine can roll it back. */
  readonly onDeadlockVictim?: (owner: LockOwner) => void;
}

export interface LockStats {
  waits: number;
  deadlocks: number;
  timeouts: number;
}

export class LockManager {
  private readonly byKey = new Map<string, Lock[]>();
  private readonly byOwner = new Map<LockOwner, Lock[]>();
  /** Gap-covering locks per index (`hasGapLocksIn`). */
  private readonly gapLocksByIndex = new Map<number, number>();
  /** The lock each waiting owner waits on (one at a time: a transaction runs one statement). */
  private readonly waiting = new Map<LockOwner, Lock>();
  private readonly clock: Clock;
  readonly lockWaitTimeoutMs: number;
  private readonly onDeadlockVictim: ((owner: LockOwner) => void) | undefined;
  readonly stats: LockStats = { waits: 0, deadlocks: 0, timeouts: 0 };

  constructor(options: LockManagerOptions) {
    this.clock = options.clock;
    this.lockWaitTimeoutMs = options.lockWaitTimeoutMs ?? 50_000;
    this.onDeadlockVictim = options.onDeadlockVictim;
  }

  /**
   * Acquires a lock. Returns undefined when granted at once (the common case: no promise), or a
   * promise that settles when granted, or rejects with `DeadlockError` / `LockWaitTimeoutError`.
   */
  acquire(
    owner: LockOwner,
    indexId: number,
    key: Uint8Array,
    mode: LockMode,
    kind: LockKind,
  ): Promise<void> | undefined {
    assert(!this.waiting.has(owner), 'K2 a transaction waits for one lock at a time');
    const keyString = lockKey(indexId, key);
    const queue = this.byKey.get(keyString);
    if (queue !== undefined) {
      for (const lock of queue) if (lock.owner === owner && lock.granted && covers(lock, mode, kind)) return undefined;
    }
    const lock: Lock = { owner, mode, kind, key: keyString, indexId, granted: false };
    const blockers = this.blockersOf(lock, queue);
    if (blockers.length === 0) {
      lock.granted = true;
      this.add(lock);
      return undefined;
    }
    this.add(lock);
    this.waiting.set(owner, lock);
    this.stats.waits++;
    const promise = new Promise<void>((resolve, reject) => {
      lock.resolve = resolve;
      lock.reject = reject;
    });
    lock.timer = this.clock.setTimer(this.lockWaitTimeoutMs, () => {
      if (lock.granted || !this.waiting.has(owner)) return;
      this.stats.timeouts++;
      this.cancelWait(lock, new LockWaitTimeoutError(this.lockWaitTimeoutMs));
    });
    this.detectDeadlock(owner);
    return promise;
  }

  /** Whether a lock could be granted now without waiting (for tests and the insert check). */
  wouldWait(owner: LockOwner, indexId: number, key: Uint8Array, mode: LockMode, kind: LockKind): boolean {
    if (this.byKey.size === 0) return false; // no lock anywhere: the bulk-load fast path
    const keyString = lockKey(indexId, key);
    const queue = this.byKey.get(keyString);
    if (queue === undefined) return false;
    for (const lock of queue) if (lock.owner === owner && lock.granted && covers(lock, mode, kind)) return false;
    return this.blockersOf({ owner, mode, kind, key: keyString, indexId, granted: false }, queue).length > 0;
  }

  /**
   * Makes a transaction's implicit lock on a record explicit (lock_rec_convert_impl_to_expl): a
   * granted X record lock, placed before any waiting request. No conflicting lock can be granted
   * to another transaction, since the holder wrote the record and is still active; the holder
   * may itself be waiting for something else (so this bypasses K2's one-wait rule, which is
   * about requests, not conversions).
   */
  grantImplicit(owner: LockOwner, indexId: number, key: Uint8Array): void {
    const keyString = lockKey(indexId, key);
    const queue = this.byKey.get(keyString);
    if (queue !== undefined) {
      for (const lock of queue) if (lock.owner === owner && lock.granted && covers(lock, 'X', 'record')) return;
    }
    const lock: Lock = { owner, mode: 'X', kind: 'record', key: keyString, indexId, granted: true };
    this.add(lock);
    // Move it before the waiting requests so they queue behind it.
    const q = this.byKey.get(keyString)!;
    q.pop();
    const firstWaiting = q.findIndex((l) => !l.granted);
    if (firstWaiting < 0) q.push(lock);
    else q.splice(firstWaiting, 0, lock);
    if (debugChecksOn()) this.validate();
  }

  /** True when no transaction holds or waits for any lock. */
  isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /**
   * Whether some lock in index `indexId` covers a gap (a gap or next-key lock, held or waited
   * for): only those make an insert wait, so without one an insert needs no look at its next key.
   */
  hasGapLocksIn(indexId: number): boolean {
    return this.gapLocksByIndex.has(indexId);
  }

  /** Whether any lock (held or waited for) names entry `key` of index `indexId`. */
  hasLocksOn(indexId: number, key: Uint8Array): boolean {
    return this.byKey.size !== 0 && this.byKey.has(lockKey(indexId, key));
  }

  /** How many locks `owner` holds or waits for (part of InnoDB's TRX_WEIGHT). */
  lockCount(owner: LockOwner): number {
    return this.byOwner.get(owner)?.length ?? 0;
  }

  /**
   * Who `lock` must wait for: conflicting locks queued before it (granted or waiting), and granted
   * ones queued after it (a gap lock is granted past a waiting insert-intention, say).
   */
  private blockersOf(lock: Lock, queue: Lock[] | undefined): LockOwner[] {
    if (queue === undefined) return [];
    const blockers: LockOwner[] = [];
    let before = true;
    for (const other of queue) {
      if (other === lock) {
        before = false;
        continue;
      }
      if (other.owner === lock.owner || (!before && !other.granted)) continue;
      if (conflicts(lock, other) && !blockers.includes(other.owner)) blockers.push(other.owner);
    }
    return blockers;
  }

  private add(lock: Lock): void {
    let queue = this.byKey.get(lock.key);
    if (queue === undefined) this.byKey.set(lock.key, (queue = []));
    queue.push(lock);
    if (hasGapPart(lock.kind))
      this.gapLocksByIndex.set(lock.indexId, (this.gapLocksByIndex.get(lock.indexId) ?? 0) + 1);
    let owned = this.byOwner.get(lock.owner);
    if (owned === undefined) this.byOwner.set(lock.owner, (owned = []));
    owned.push(lock);
  }

  private remove(lock: Lock): void {
    const queue = this.byKey.get(lock.key);
    if (queue !== undefined) {
      const at = queue.indexOf(lock);
      if (at >= 0) {
        queue.splice(at, 1);
        this.forgetGapLock(lock);
      }
      if (queue.length === 0) this.byKey.delete(lock.key);
    }
    const owned = this.byOwner.get(lock.owner);
    if (owned !== undefined) {
      const at = owned.indexOf(lock);
      if (at >= 0) owned.splice(at, 1);
      if (owned.length === 0) this.byOwner.delete(lock.owner);
    }
  }

  private forgetGapLock(lock: Lock): void {
    if (!hasGapPart(lock.kind)) return;
    const n = this.gapLocksByIndex.get(lock.indexId)! - 1;
    if (n === 0) this.gapLocksByIndex.delete(lock.indexId);
    else this.gapLocksByIndex.set(lock.indexId, n);
  }

  private cancelWait(lock: Lock, error: Error): void {
    lock.timer?.cancel();
    this.waiting.delete(lock.owner);
    this.remove(lock);
    lock.reject?.(error);
    this.regrant(lock.key);
  }

  /** Grants waiting locks on `key` that no longer conflict with anything before them (K2). */
  private regrant(key: string): void {
    const queue = this.byKey.get(key);
    if (queue === undefined) return;
    for (const lock of queue) {
      if (lock.granted) continue;
      if (this.blockersOf(lock, queue).length > 0) continue;
      lock.granted = true;
      lock.timer?.cancel();
      this.waiting.delete(lock.owner);
      lock.resolve?.();
    }
  }

  /** Releases every lock of `owner` (commit or rollback: K4), waking whoever can go now. */
  releaseAll(owner: LockOwner): void {
    const waitingLock = this.waiting.get(owner);
    if (waitingLock !== undefined) this.cancelWait(waitingLock, new Error('transaction ended while waiting'));
    const owned = this.byOwner.get(owner);
    if (owned === undefined) return;
    this.byOwner.delete(owner);
    const keys = new Set<string>();
    for (const lock of owned) {
      const queue = this.byKey.get(lock.key);
      if (queue !== undefined) {
        const at = queue.indexOf(lock);
        if (at >= 0) {
          queue.splice(at, 1);
          this.forgetGapLock(lock);
        }
        if (queue.length === 0) this.byKey.delete(lock.key);
      }
      keys.add(lock.key);
    }
    for (const key of keys) this.regrant(key);
  }

  /** The owners a waiting owner waits for (edges of the wait-for graph). */
  private waitsFor(owner: LockOwner): LockOwner[] {
    const lock = this.waiting.get(owner);
    if (lock === undefined) return [];
    return this.blockersOf(lock, this.byKey.get(lock.key));
  }

  /** K3: if `start`'s new wait closes a cycle, fail the lightest transaction in it. */
  private detectDeadlock(start: LockOwner): void {
    const path: LockOwner[] = [];
    const onPath = new Set<LockOwner>();
    const done = new Set<LockOwner>();
    let cycle: LockOwner[] | undefined;
    const visit = (owner: LockOwner): void => {
      if (cycle !== undefined || done.has(owner)) return;
      path.push(owner);
      onPath.add(owner);
      for (const next of this.waitsFor(owner)) {
        if (onPath.has(next)) {
          cycle = path.slice(path.indexOf(next));
          return;
        }
        visit(next);
        if (cycle !== undefined) return;
      }
      path.pop();
      onPath.delete(owner);
      done.add(owner);
    };
    visit(start);
    if (cycle === undefined) return;
    // InnoDB's TRX_WEIGHT: undo records plus locks. The lightest is cheapest to roll back; on a
    // tie, the transaction whose wait closed the cycle (the one that joined the wait last) goes.
    const weight = (owner: LockOwner): number => owner.undoCount() + this.lockCount(owner);
    let victim = start;
    for (const owner of cycle) if (weight(owner) < weight(victim)) victim = owner;
    this.stats.deadlocks++;
    const lock = this.waiting.get(victim)!;
    this.cancelWait(lock, new DeadlockError(victim.trxId));
    this.onDeadlockVictim?.(victim);
  }

  /** Locks held or awaited, for tests and status output. */
  locksOf(owner: LockOwner): ReadonlyArray<{ key: string; mode: LockMode; kind: LockKind; granted: boolean }> {
    return (this.byOwner.get(owner) ?? []).map((l) => ({ key: l.key, mode: l.mode, kind: l.kind, granted: l.granted }));
  }

  isWaiting(owner: LockOwner): boolean {
    return this.waiting.has(owner);
  }

  /** K1 over every key, and the gap-lock counts: expensive, for tests and `check()`. */
  validate(): void {
    const gapLocks = new Map<number, number>();
    for (const queue of this.byKey.values())
      for (const lock of queue)
        if (hasGapPart(lock.kind)) gapLocks.set(lock.indexId, (gapLocks.get(lock.indexId) ?? 0) + 1);
    assert(
      gapLocks.size === this.gapLocksByIndex.size &&
        [...gapLocks].every(([id, n]) => this.gapLocksByIndex.get(id) === n),
      'gap-covering locks counted per index',
    );
    for (const [key, queue] of this.byKey) {
      const granted = queue.filter((l) => l.granted);
      for (const a of granted) {
        for (const b of granted) {
          if (a !== b && a.owner !== b.owner)
            assert(!conflicts(a, b), `K1 granted locks on ${JSON.stringify(key)} conflict`);
        }
      }
    }
  }
}
