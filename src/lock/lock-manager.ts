/**
 * Row locks: record, gap, next-key and insert-intention locks, waits, deadlocks and timeouts.
 *
 * InnoDB counterpart: `lock/lock0lock.cc` (lock_rec_lock, lock_rec_has_to_wait,
 * lock_rec_insert_check_and_lock, lock_update_insert, lock_update_delete) and `lock/lock0wait.cc`
 * (waits, timeouts, deadlock victims; the graph search itself is `deadlock-detector.ts`). A lock
 * names an index and a key (the encoded bytes of an index entry, or the supremum: "after the last
 * key"). As in InnoDB a *gap* lock names the record that ends the gap: it covers the open interval
 * between that key and the key before it.
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
 * ## Where we differ from InnoDB
 * InnoDB keeps locks per page position (page, heap number), so it must move them whenever records
 * move: page split, merge, reorganise, a record that grows and moves (lock_move_*,
 * lock_update_split_*, lock_update_merge_*, lock_rec_store_on_page_infimum). Ours name the key
 * itself, so records moving between pages move nothing. What cannot be avoided is the gap
 * changing shape, and there we do what InnoDB does:
 *
 * | event                                 | InnoDB                                   | here                      |
 * |---------------------------------------|------------------------------------------|---------------------------|
 * | a record is inserted inside a gap     | lock_update_insert: the new record takes | `inheritToInserted`       |
 * |                                       | the successor's gap-covering locks as    |                           |
 * |                                       | gap locks (lock_rec_inherit_to_gap_if_gap_lock) |                    |
 * | a record is removed (purge, rollback  | lock_update_delete: the successor takes  | `inheritFromRemoved`      |
 * | of an insert, a secondary entry an    | all its locks as gap locks, except those |                           |
 * | update added), joining two gaps       | of READ COMMITTED transactions; waiters  |                           |
 * |                                       | on it are let go and retry               |                           |
 * | a delete mark is undone, an insert    | nothing moves: the record stays          | nothing                   |
 * | reuses a delete-marked record         |                                          |                           |
 * | split, merge, reorganise, relocation  | lock_move_*, lock_update_split/merge_*   | nothing: keys do not move |
 *
 * InnoDB keeps a READ COMMITTED constraint-check lock inheritable until its statement ends
 * (trx->lock.inherit_all), because its duplicate check and its insert are separate steps; ours
 * run in one synchronous step (row engine RE1), so no READ COMMITTED lock is ever inherited.
 *
 * ## Waits, deadlocks, timeouts
 * A request that must wait returns a promise (the engine's writes and locking reads are async for
 * exactly this reason). Each new wait runs the deadlock search from the waiter and repeats it
 * until no cycle passes through it, rolling back one victim per cycle: the lightest transaction on
 * the cycle by InnoDB's TRX_WEIGHT (undo records plus locks), the newest waiter on a tie. The
 * victim's wait fails with `DeadlockError` and the engine rolls it back. Inheritance can add a
 * conflicting lock ahead of a waiter without any new request, so it runs the same search from
 * each waiter it touched. A wait longer than `lockWaitTimeoutMs` (50 s by default, InnoDB's
 * innodb_lock_wait_timeout) fails with `LockWaitTimeoutError`; only that statement fails, the
 * transaction stays usable. The timeout timer keeps the process alive: a statement waiting for a
 * lock is work the application awaits, so its promise always settles (granted, or the timeout)
 * instead of the process exiting under it with the promise pending.
 *
 * Invariants:
 *  K1. Granted locks of different transactions on one key never conflict (a granted lock never
 *      conflicts with one granted before it: an insert intention may precede a gap lock).
 *  K2. A waiting request waits for at least one lock it conflicts with; when the locks it waits
 *      for go, it is granted or keeps waiting for another.
 *  K3. The wait-for graph has no cycle after any call returns: a new wait, or an inheritance that
 *      adds a lock ahead of waiters, resolves every cycle it closed.
 *  K4. Every lock of a transaction is released by `releaseAll` at commit or rollback; a
 *      transaction that ends while waiting has its wait failed.
 *  K5. No lock names a removed record: `inheritFromRemoved` clears the removed key.
 */
import { DeadlockError, LockWaitTimeoutError, TransactionFinishedError } from '../errors.js';
import { assert, debugChecks as debugChecksOn } from '../util/assert.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { chooseVictim, findAnyCycle, findCycleThrough } from './deadlock-detector.js';

export const LOCK_KINDS = ['record', 'gap', 'next-key', 'insert-intention'] as const;
export type LockKind = (typeof LOCK_KINDS)[number];
export type LockMode = 'S' | 'X';

/** The pseudo-key after every real key of an index (InnoDB's supremum record). */
export const SUPREMUM: Uint8Array = new Uint8Array(0);

export interface LockOwner {
  readonly trxId: number;
  /** A READ COMMITTED owner's locks on a removed record are dropped, not inherited as gap locks. */
  readonly isolation?: string;
  /** InnoDB's weight: undo records written so far. The smaller one is the deadlock victim. */
  undoCount(): number;
}

interface Lock {
  readonly owner: LockOwner;
  readonly mode: LockMode;
  readonly kind: LockKind;
  readonly key: string;
  readonly indexId: number;
  /** On the supremum every lock is a gap lock, whatever its kind says (InnoDB's rule). */
  readonly onSupremum: boolean;
  granted: boolean;
  /** For a waiting lock: when it started waiting (orders victims on a tie) and how to wake it. */
  waitNo: number;
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

/** What an insert into the gap before this lock's key must inherit (lock_rec_inherit_to_gap_if_gap_lock). */
function coversGap(lock: Lock): boolean {
  return hasGapPart(effectiveKind(lock));
}

/** A lock's kind as it acts: on the supremum there is no record, so only the gap is locked. */
function effectiveKind(lock: Lock): LockKind {
  return lock.onSupremum && lock.kind !== 'insert-intention' ? 'gap' : lock.kind;
}

/** lock_rec_has_to_wait: does `request` have to wait for `held` (another transaction's)? */
function conflicts(request: Lock, held: Lock): boolean {
  const requested = effectiveKind(request);
  const holds = effectiveKind(held);
  if (requested === 'insert-intention') return hasGapPart(holds);
  if (requested === 'gap') return false;
  if (!hasRecordPart(holds)) return false;
  return request.mode === 'X' || held.mode === 'X';
}

/**
 * A stronger-or-equal lock already held by the owner makes a request a no-op. Never an insert
 * intention: it is a check that the gap is free now, made by every insert (InnoDB's
 * lock_rec_insert_check_and_lock looks only at other transactions' locks), and one granted
 * earlier says nothing about the gap locks taken since.
 */
function covers(held: Lock, mode: LockMode, kind: LockKind): boolean {
  if (kind === 'insert-intention') return false;
  if (held.mode === 'S' && mode === 'X') return false;
  if (held.kind === kind) return true;
  if (held.kind === 'next-key') return kind === 'record' || kind === 'gap';
  return false;
}

/**
 * The lock table's name for an index entry: `<index>:<key bytes as latin1>`, or `<index>/sup` for
 * the supremum (a separator no entry's name has, so no key can pass for it).
 */
export function lockKey(indexId: number, key: Uint8Array): string {
  return key.length === 0 ? supremumKey(indexId) : `${indexId}:${latin1(key)}`;
}

const latin1Slice = Buffer.prototype.latin1Slice;

/**
 * The key's bytes as a latin1 string. Neither wraps the key in a Buffer (about 0.7 us: a Buffer
 * object, and an ArrayBuffer materialised for a small key on the JS heap) nor reads `.buffer`:
 * short keys by hand, longer ones by Buffer's native latin1 decoder called on the key itself.
 */
function latin1(key: Uint8Array): string {
  if (key.length > 8) return latin1Slice.call(key, 0, key.length);
  let text = '';
  for (let i = 0; i < key.length; i++) text += String.fromCharCode(key[i]!);
  return text;
}

function supremumKey(indexId: number): string {
  return `${indexId}/sup`;
}

/** Test-only switches that put back the two bugs of issue 10, so tests can show they catch them. */
export interface LockManagerTestSeams {
  /** Break one cycle per new wait and stop, even when the victim was not the requester. */
  readonly oneVictimPerWait?: boolean;
  /** Leave locks where they are when records appear or disappear (no lock_update_insert/_delete). */
  readonly noGapInheritance?: boolean;
}

export interface LockManagerOptions {
  readonly clock: Clock;
  readonly seams?: LockManagerTestSeams;
  readonly lockWaitTimeoutMs?: number;
  /** Called with the deadlock victim (after its wait was failed), so the engine can roll it back. */
  readonly onDeadlockVictim?: (owner: LockOwner) => void;
}

export interface LockStats {
  waits: number;
  deadlocks: number;
  timeouts: number;
  /** Gap locks created by inheritance (inserts splitting gaps, removals joining them). */
  inherited: number;
}

export class LockManager {
  private readonly byKey = new Map<string, Lock[]>();
  private readonly byOwner = new Map<LockOwner, Lock[]>();
  /** The lock each waiting owner waits on (one at a time: a transaction runs one statement). */
  private readonly waiting = new Map<LockOwner, Lock>();
  /** Per index, how many locks an insert could inherit (`coversGap`): lets inserts skip the successor seek. */
  private readonly gapCoveringByIndex = new Map<number, number>();
  private nextWaitNo = 1;
  private readonly clock: Clock;
  readonly lockWaitTimeoutMs: number;
  private readonly onDeadlockVictim: ((owner: LockOwner) => void) | undefined;
  private readonly seams: LockManagerTestSeams;
  readonly stats: LockStats = { waits: 0, deadlocks: 0, timeouts: 0, inherited: 0 };

  /**
   * Locks held or waited for now, by every owner: a transaction's locks live until it ends, so
   * this is the per-transaction memory a large locking transaction holds (LOCK_BYTES each, in the
   * engine's memory account).
   */
  totalLockCount(): number {
    let count = 0;
    for (const locks of this.byOwner.values()) count += locks.length;
    return count;
  }

  constructor(options: LockManagerOptions) {
    this.clock = options.clock;
    this.lockWaitTimeoutMs = options.lockWaitTimeoutMs ?? 50_000;
    this.onDeadlockVictim = options.onDeadlockVictim;
    this.seams = options.seams ?? {};
  }

  /**
   * Acquires a lock. Returns undefined when granted at once (the common case: no promise), or a
   * promise that settles when granted, or rejects with `DeadlockError` / `LockWaitTimeoutError`.
   * A promise may also settle without the lock when the record it names is removed
   * (`inheritFromRemoved`): every caller re-reads and requests again after a wait.
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
    if (queue !== undefined && this.ownsCovering(queue, owner, mode, kind)) return undefined;
    const lock = this.newLock(owner, indexId, keyString, mode, kind);
    if (!this.mustWait(lock, queue)) {
      lock.granted = true;
      this.add(lock);
      return undefined;
    }
    this.add(lock);
    this.waiting.set(owner, lock);
    lock.waitNo = this.nextWaitNo++;
    this.stats.waits++;
    const promise = new Promise<void>((resolve, reject) => {
      lock.resolve = resolve;
      lock.reject = reject;
    });
    lock.timer = this.clock.setTimer(
      this.lockWaitTimeoutMs,
      () => {
        if (lock.granted || this.waiting.get(owner) !== lock) return;
        this.stats.timeouts++;
        this.cancelWait(lock, new LockWaitTimeoutError(this.lockWaitTimeoutMs));
      },
      { keepAlive: true },
    );
    this.resolveDeadlocks(owner);
    this.checkAcyclic();
    return promise;
  }

  /** Whether a lock could be granted now without waiting (for tests and the insert check). */
  wouldWait(owner: LockOwner, indexId: number, key: Uint8Array, mode: LockMode, kind: LockKind): boolean {
    if (this.byKey.size === 0) return false; // no lock anywhere: the bulk-load fast path
    const keyString = lockKey(indexId, key);
    const queue = this.byKey.get(keyString);
    if (queue === undefined) return false;
    if (this.ownsCovering(queue, owner, mode, kind)) return false;
    return this.mustWait(this.newLock(owner, indexId, keyString, mode, kind), queue);
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
    if (queue !== undefined && this.ownsCovering(queue, owner, 'X', 'record')) return;
    const lock = this.newLock(owner, indexId, keyString, 'X', 'record');
    lock.granted = true;
    this.add(lock);
    // Move it before the waiting requests so they queue behind it.
    const q = this.byKey.get(keyString)!;
    q.pop();
    const firstWaiting = q.findIndex((l) => !l.granted);
    if (firstWaiting < 0) q.push(lock);
    else q.splice(firstWaiting, 0, lock);
    // A waiter already queued here now waits for the holder too: a new edge (K3).
    if (firstWaiting >= 0) this.resolveDeadlocksOnKey(q);
    if (debugChecksOn()) this.validate();
  }

  /** True when no transaction holds or waits for any lock. */
  isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /** Whether some lock in index `indexId` covers a gap, so that an insert there may inherit it. */
  mayInheritOnInsert(indexId: number): boolean {
    return this.gapCoveringByIndex.has(indexId);
  }

  /** Whether any lock (held or awaited) names this key. */
  hasLocksOn(indexId: number, key: Uint8Array): boolean {
    return this.byKey.size !== 0 && this.byKey.has(lockKey(indexId, key));
  }

  /**
   * lock_update_insert: `inserted` now splits the gap that `successor` ended. It takes, as granted
   * gap locks of the same mode, every lock on `successor` that covers the gap (gap and next-key
   * locks, and on the supremum any lock; not insert intentions), so both halves stay locked.
   */
  inheritToInserted(indexId: number, inserted: Uint8Array, successor: Uint8Array): void {
    const donors = this.byKey.get(lockKey(indexId, successor));
    if (donors === undefined || this.seams.noGapInheritance === true) return;
    const heir = lockKey(indexId, inserted);
    for (const lock of [...donors]) if (coversGap(lock)) this.addInheritedGap(lock.owner, indexId, heir, lock.mode);
    this.resolveDeadlocksOnKey(this.byKey.get(heir));
    this.checkAcyclic();
  }

  /**
   * lock_update_delete: the record `removed` is going (purge, or a rollback removing what an
   * insert or update added), so its gap and the one after it become one gap, ended by
   * `successor`. The successor takes every lock on `removed` as a granted gap lock of the same mode
   * (lock_rec_inherit_to_gap), except insert intentions and the locks of READ COMMITTED
   * transactions. Then the removed key's locks go (K5); a request waiting there is let go without
   * the lock, and its caller retries against the record's successor (lock_rec_reset_and_release_wait).
   */
  inheritFromRemoved(indexId: number, removed: Uint8Array, successor: Uint8Array): void {
    const removedKey = lockKey(indexId, removed);
    const locks = this.byKey.get(removedKey);
    if (locks === undefined || this.seams.noGapInheritance === true) return;
    const heir = lockKey(indexId, successor);
    assert(heir !== removedKey, 'K5 a removed record is not its own successor');
    for (const lock of [...locks]) {
      if (lock.kind !== 'insert-intention' && lock.owner.isolation !== 'read-committed')
        this.addInheritedGap(lock.owner, indexId, heir, lock.mode);
    }
    for (const lock of [...locks]) {
      this.remove(lock);
      if (lock.granted) continue;
      lock.timer?.cancel();
      this.waiting.delete(lock.owner);
      lock.resolve?.();
    }
    assert(!this.byKey.has(removedKey), 'K5 no lock names a removed record');
    this.resolveDeadlocksOnKey(this.byKey.get(heir));
    this.checkAcyclic();
  }

  /** How many locks `owner` holds or waits for (part of InnoDB's TRX_WEIGHT). */
  lockCount(owner: LockOwner): number {
    return this.byOwner.get(owner)?.length ?? 0;
  }

  private newLock(owner: LockOwner, indexId: number, key: string, mode: LockMode, kind: LockKind): Lock {
    return { owner, mode, kind, key, indexId, onSupremum: key === supremumKey(indexId), granted: false, waitNo: 0 };
  }

  private ownsCovering(queue: readonly Lock[], owner: LockOwner, mode: LockMode, kind: LockKind): boolean {
    for (const lock of queue) if (lock.owner === owner && lock.granted && covers(lock, mode, kind)) return true;
    return false;
  }

  private addInheritedGap(owner: LockOwner, indexId: number, key: string, mode: LockMode): void {
    const queue = this.byKey.get(key);
    if (queue !== undefined && this.ownsCovering(queue, owner, mode, 'gap')) return;
    const lock = this.newLock(owner, indexId, key, mode, 'gap');
    lock.granted = true; // a gap lock never waits (K1 holds: gap locks conflict with nothing granted)
    this.add(lock);
    this.stats.inherited++;
  }

  /**
   * Who `lock` must wait for: conflicting locks queued before it (granted or waiting), and granted
   * ones queued after it (a gap lock is granted past a waiting insert-intention, say). Stops after
   * `limit` owners.
   */
  private blockersOf(lock: Lock, queue: readonly Lock[] | undefined, limit = Infinity): LockOwner[] {
    const blockers: LockOwner[] = [];
    if (queue === undefined) return blockers;
    let before = true;
    for (const other of queue) {
      if (other === lock) {
        before = false;
        continue;
      }
      if (other.owner === lock.owner || (!before && !other.granted)) continue;
      if (conflicts(lock, other) && !blockers.includes(other.owner) && blockers.push(other.owner) >= limit) break;
    }
    return blockers;
  }

  private mustWait(lock: Lock, queue: readonly Lock[] | undefined): boolean {
    return queue !== undefined && this.blockersOf(lock, queue, 1).length > 0;
  }

  private add(lock: Lock): void {
    let queue = this.byKey.get(lock.key);
    if (queue === undefined) this.byKey.set(lock.key, (queue = []));
    queue.push(lock);
    let owned = this.byOwner.get(lock.owner);
    if (owned === undefined) this.byOwner.set(lock.owner, (owned = []));
    owned.push(lock);
    if (coversGap(lock))
      this.gapCoveringByIndex.set(lock.indexId, (this.gapCoveringByIndex.get(lock.indexId) ?? 0) + 1);
  }

  /** Takes `lock` out of its key's queue (and, unless the owner's list is being dropped whole, the owner's). */
  private remove(lock: Lock, fromOwner = true): void {
    const queue = this.byKey.get(lock.key);
    if (queue !== undefined) {
      const at = queue.indexOf(lock);
      if (at >= 0) queue.splice(at, 1);
      if (queue.length === 0) this.byKey.delete(lock.key);
    }
    if (fromOwner) {
      const owned = this.byOwner.get(lock.owner);
      if (owned !== undefined) {
        const at = owned.indexOf(lock);
        if (at >= 0) owned.splice(at, 1);
        if (owned.length === 0) this.byOwner.delete(lock.owner);
      }
    }
    if (coversGap(lock)) {
      const n = this.gapCoveringByIndex.get(lock.indexId)! - 1;
      if (n === 0) this.gapCoveringByIndex.delete(lock.indexId);
      else this.gapCoveringByIndex.set(lock.indexId, n);
    }
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
      if (this.mustWait(lock, queue)) continue;
      lock.granted = true;
      lock.timer?.cancel();
      this.waiting.delete(lock.owner);
      lock.resolve?.();
    }
  }

  /** Releases every lock of `owner` (commit or rollback: K4), waking whoever can go now. */
  releaseAll(owner: LockOwner): void {
    const waitingLock = this.waiting.get(owner);
    if (waitingLock !== undefined)
      this.cancelWait(
        waitingLock,
        new TransactionFinishedError('finished (committed or rolled back) while this statement waited for a lock'),
      );
    const owned = this.byOwner.get(owner);
    if (owned === undefined) return;
    this.byOwner.delete(owner);
    const keys = new Set<string>();
    for (const lock of owned) {
      this.remove(lock, false);
      keys.add(lock.key);
    }
    for (const key of keys) this.regrant(key);
  }

  /** The owners a waiting owner waits for (edges of the wait-for graph). */
  private readonly waitsFor = (owner: LockOwner): LockOwner[] => {
    const lock = this.waiting.get(owner);
    if (lock === undefined) return [];
    return this.blockersOf(lock, this.byKey.get(lock.key));
  };

  /** InnoDB's TRX_WEIGHT: undo records plus locks. */
  private readonly weight = (owner: LockOwner): number => owner.undoCount() + this.lockCount(owner);

  private readonly waitOrder = (owner: LockOwner): number => this.waiting.get(owner)?.waitNo ?? 0;

  /**
   * K3 for a new wait of `start`: while a cycle runs through it, roll back the cycle's victim
   * (DeadlockChecker::check_and_resolve's loop). Every cycle the new wait closed runs through
   * `start`, since the graph had none before; when the victim is `start` itself, no cycle is left.
   */
  private resolveDeadlocks(start: LockOwner): void {
    for (;;) {
      const lock = this.waiting.get(start);
      if (lock === undefined) return;
      const cycle = findCycleThrough(start, this.waitsFor);
      if (cycle === undefined) return;
      const victim = chooseVictim(cycle, this.weight, this.waitOrder);
      this.stats.deadlocks++;
      this.cancelWait(this.waiting.get(victim)!, new DeadlockError(victim.trxId));
      this.onDeadlockVictim?.(victim);
      if (this.seams.oneVictimPerWait === true) return;
    }
  }

  /** K3 after a lock was added ahead of the waiters on one key (inheritance, conversion). */
  private resolveDeadlocksOnKey(queue: readonly Lock[] | undefined): void {
    if (queue === undefined) return;
    for (const lock of [...queue]) if (!lock.granted) this.resolveDeadlocks(lock.owner);
  }

  private checkAcyclic(): void {
    if (!debugChecksOn() || this.seams.oneVictimPerWait === true) return;
    const cycle = findAnyCycle(this.waiting.keys(), this.waitsFor);
    assert(
      cycle === undefined,
      () => `K3 a cycle of waits is left standing: ${cycle!.map((o) => o.trxId).join(' -> ')}`,
    );
  }

  /** Locks held or awaited, for tests and status output. */
  locksOf(owner: LockOwner): ReadonlyArray<{ key: string; mode: LockMode; kind: LockKind; granted: boolean }> {
    return (this.byOwner.get(owner) ?? []).map((l) => ({ key: l.key, mode: l.mode, kind: l.kind, granted: l.granted }));
  }

  isWaiting(owner: LockOwner): boolean {
    return this.waiting.has(owner);
  }

  /** The transactions waiting now, each with those it waits for (the wait-for graph, for tests and diagnostics). */
  waitGraph(): Array<{ waiter: LockOwner; waitsFor: LockOwner[] }> {
    return [...this.waiting.keys()].map((waiter) => ({ waiter, waitsFor: this.waitsFor(waiter) }));
  }

  /** K1 over every key and K3 over the whole graph: expensive, for tests and `check()`. */
  validate(): void {
    // The per-index count `mayInheritOnInsert` answers from (inserts skip their successor seek on
    // it, and the change buffer takes an insert without its page only where it is zero).
    const gapCovering = new Map<number, number>();
    for (const queue of this.byKey.values())
      for (const lock of queue)
        if (coversGap(lock)) gapCovering.set(lock.indexId, (gapCovering.get(lock.indexId) ?? 0) + 1);
    assert(
      gapCovering.size === this.gapCoveringByIndex.size &&
        [...gapCovering].every(([id, n]) => this.gapCoveringByIndex.get(id) === n),
      'gap-covering locks counted per index',
    );
    for (const [key, queue] of this.byKey) {
      // Order matters for one pair: an insert intention granted before a gap lock is fine (the
      // insert went ahead, then the gap was locked), the other way round it should have waited.
      const granted = queue.filter((l) => l.granted);
      for (const [i, later] of granted.entries()) {
        for (const earlier of granted.slice(0, i)) {
          if (earlier.owner !== later.owner)
            assert(!conflicts(later, earlier), `K1 granted locks on ${JSON.stringify(key)} conflict`);
        }
      }
      for (const lock of queue)
        if (!lock.granted) assert(this.waiting.get(lock.owner) === lock, "K2 a waiting lock is its owner's one wait");
    }
    const cycle = findAnyCycle(this.waiting.keys(), this.waitsFor);
    assert(
      cycle === undefined,
      () => `K3 a cycle of waits is left standing: ${cycle!.map((o) => o.trxId).join(' -> ')}`,
    );
  }
}
