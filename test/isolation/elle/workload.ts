/**
 * The list-append workload: concurrent clients (async tasks) running short transactions of reads
 * and appends on a small set of hot keys, interleaved from a seed.
 *
 * Each transaction has 1 to `maxOps` micro-operations on keys drawn from a pool of `hotKeys`; a
 * share of them are read-only. A key that has taken `maxWritesPerKey` appends retires and a fresh
 * key takes its place, as Elle's generator does: lists stay short, and fresh keys keep inserts
 * (and their gap locks) coming. Fresh keys are mostly the next numbers up, so that absent keys
 * and new rows meet in the last gap, and sometimes a hole further down. Some transactions roll themselves back at the end, so failed appends exist to be read.
 *
 * Interleaving: every client asks the scheduler for a turn before each micro-operation and before
 * its commit; the scheduler lets one waiting client go at a time, chosen by the seeded random
 * source, after the event loop has run everything else that was ready. A client blocked on a lock
 * is not asking for a turn. So when nobody asks for a turn, every client still running is waiting
 * for a lock: if the waits form no cycle, the chain of waits ends in a transaction whose client can
 * run, so this state means a deadlock nobody found (or a lock nobody holds). The run records it as
 * a `stuck` incident with the wait-for graph, and only then lets the store's lock-wait timeouts
 * fire. A correct store never gets stuck.
 */
import type { IsolationLevel } from '../../../src/mvcc/trx.js';
import { RandomSource } from '../../../src/util/random.js';
import type { Incident, MicroOp, Txn } from './history.js';

export interface StoreTxn {
  /** The whole list of `k` ([] when there is none). */
  read(k: number): Promise<readonly number[]>;
  append(k: number, v: number): Promise<void>;
  commit(): Promise<void>;
  rollback(): Promise<void>;
}

export interface ListAppendStore {
  begin(level: IsolationLevel, readOnly: boolean): StoreTxn;
  /** How many transactions are waiting for a lock now. */
  waiting(): number;
  /** Fires the lock-wait timeouts of the waiters (time moves on); returns who waited for whom. */
  expireWaits(): string;
  /** A slice of background work (purge), between scheduler steps. */
  backgroundStep(): void;
  /** End-of-run checks (no lock left, structures consistent); throws on a failure. Returns the store's counters. */
  finish(): Promise<Record<string, number>>;
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly level: IsolationLevel;
  readonly txns: number;
  readonly clients?: number;
  readonly hotKeys?: number;
  readonly maxWritesPerKey?: number;
  readonly maxOps?: number;
  readonly readOnlyChance?: number;
  readonly abortChance?: number;
  /** Scheduler steps between background steps. */
  readonly backgroundEvery?: number;
}

export interface WorkloadResult {
  /** Every transaction, then the final read of every key. */
  readonly history: Txn[];
  readonly incidents: Incident[];
  /** Transactions by how they ended: 'ok', 'voluntary', or the error code that ended them. */
  readonly outcomes: Record<string, number>;
  readonly store: Record<string, number>;
}

/** Errors a transaction may end with under concurrency; anything else is an incident. */
const EXPECTED_ERRORS = new Set(['ERR_DEADLOCK', 'ERR_LOCK_WAIT_TIMEOUT']);

export async function runWorkload(store: ListAppendStore, options: WorkloadOptions): Promise<WorkloadResult> {
  const clients = options.clients ?? 8;
  const hotKeys = options.hotKeys ?? 4;
  const maxWritesPerKey = options.maxWritesPerKey ?? 4;
  const maxOps = options.maxOps ?? 4;
  const readOnlyChance = options.readOnlyChance ?? 0.2;
  const abortChance = options.abortChance ?? 0.05;
  const backgroundEvery = options.backgroundEvery ?? 64;
  const generator = new RandomSource(options.seed);
  const scheduler = new RandomSource(options.seed + 0x9e3779b9);

  const history: Txn[] = [];
  const incidents: Incident[] = [];
  const outcomes: Record<string, number> = {};
  const usedKeys = new Set<number>();
  let keysAbove = 0; // every key so far is below this
  /** Mostly the next key up (new keys meet in the last gap, as Elle's do), sometimes a hole below. */
  const freshKey = (): number => {
    let k = keysAbove + generator.int(3);
    if (keysAbove > 8 && generator.chance(0.3)) {
      const hole = generator.int(keysAbove);
      if (!usedKeys.has(hole)) k = hole;
    }
    usedKeys.add(k);
    keysAbove = Math.max(keysAbove, k + 1);
    return k;
  };
  const pool = Array.from({ length: hotKeys }, freshKey);
  const writes = new Map<number, number>();
  let nextValue = 1;
  let started = 0;

  /** A transaction's plan: reads and appends; appends count towards their key's retirement. */
  const plan = (): { readOnly: boolean; ops: MicroOp[] } => {
    const readOnly = generator.chance(readOnlyChance);
    const ops: MicroOp[] = [];
    for (let n = generator.intBetween(1, maxOps); n > 0; n--) {
      const slot = generator.int(pool.length);
      const k = pool[slot]!;
      if (readOnly || generator.chance(0.5)) {
        ops.push({ f: 'r', k, v: [] });
        continue;
      }
      ops.push({ f: 'append', k, v: nextValue++ });
      const count = (writes.get(k) ?? 0) + 1;
      writes.set(k, count);
      if (count >= maxWritesPerKey) pool[slot] = freshKey();
    }
    return { readOnly, ops };
  };

  const ready: Array<() => void> = [];
  const turn = (): Promise<void> => new Promise<void>((resolve) => ready.push(resolve));

  const runTxn = async (process: number, id: number): Promise<Txn> => {
    const { readOnly, ops: planned } = plan();
    const tx = store.begin(options.level, readOnly);
    const ops: MicroOp[] = [];
    const txn = (outcome: 'ok' | 'fail', error?: string): Txn => ({
      id,
      process,
      level: options.level,
      readOnly,
      ops,
      outcome,
      ...(error !== undefined ? { error } : {}),
    });
    try {
      for (const op of planned) {
        await turn();
        if (op.f === 'r') {
          ops.push({ f: 'r', k: op.k, v: await tx.read(op.k) });
        } else {
          ops.push(op); // recorded first: a failed append may still have reached the store
          await tx.append(op.k, op.v);
        }
      }
      await turn();
      if (generator.chance(abortChance)) {
        await tx.rollback();
        return txn('fail', 'voluntary');
      }
      await tx.commit();
      return txn('ok');
    } catch (error) {
      const code = codeOf(error);
      if (!EXPECTED_ERRORS.has(code))
        incidents.push({
          kind: 'unexpected-error',
          detail: `T${id}: ${String(error)}\n${(error as Error).stack ?? ''}`,
        });
      try {
        await tx.rollback(); // a deadlock victim is rolled back already: this is a no-op or refused
      } catch {
        // ERR_TRANSACTION_FINISHED
      }
      return txn('fail', code);
    }
  };

  let live = clients;
  for (let process = 0; process < clients; process++) {
    void (async () => {
      for (;;) {
        await turn();
        if (started >= options.txns) break;
        const t = await runTxn(process, started++);
        history.push(t);
        const outcome = t.outcome === 'ok' ? 'ok' : t.error!;
        outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
      }
    })().finally(() => live--);
  }

  let steps = 0;
  let idle = 0;
  for (;;) {
    await new Promise<void>((resolve) => setImmediate(resolve)); // everything runnable has run
    if (ready.length > 0) {
      idle = 0;
      const [go] = ready.splice(scheduler.int(ready.length), 1);
      go!();
      if (++steps % backgroundEvery === 0) store.backgroundStep();
      continue;
    }
    if (live === 0) break;
    if (store.waiting() === 0) {
      // Nobody waits for a lock: something else is pending (I/O); give it time.
      if (++idle > 10_000) throw new Error('the workload stopped: no client is ready, none waits for a lock');
      continue;
    }
    incidents.push({ kind: 'stuck', detail: `every running client waits for a lock:\n${store.expireWaits()}` });
  }

  // The final read: every key, after every client stopped.
  const final = store.begin(options.level, true);
  const ops: MicroOp[] = [];
  for (const k of [...usedKeys].sort((a, b) => a - b)) ops.push({ f: 'r', k, v: await final.read(k) });
  await final.commit();
  history.push({ id: started, process: -1, level: options.level, readOnly: true, ops, outcome: 'ok' });
  return { history, incidents, outcomes, store: await store.finish() };
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'no code';
}
