/**
 * Randomised concurrent workloads checked against a serial model (bbolt's and TigerBeetle's
 * habit: random operations, an in-memory model, every run replayed from its seed).
 *
 * The bank: ACCOUNTS rows of (id, balance) with a secondary index on balance, so every transfer
 * also moves secondary entries (delete marks, purge of old entries, rollback's
 * olderVersionHasEntry). Several async clients run at once on one event loop; a seeded source
 * decides how long each yields between its statements, so the interleaving is random but replays.
 *
 *  - Transfer clients (random isolation and durability): getForUpdate both accounts (in random
 *    order, so deadlocks happen and are retried) and update them -- both reads first, or each
 *    write right after its read, so that a transaction with fresh writes waits for its next lock --
 *    then commit, or now and then roll back (whole, or to a savepoint). Commits take the locks they read under, so the serial order
 *    is the commit order: the model applies each transfer when its commit returns, and right then
 *    an autocommit snapshot of the table (by primary key and through the index) must equal it.
 *  - Auditors: a locking scan (scanForShare) at REPEATABLE READ or SERIALIZABLE sums every balance
 *    under shared next-key locks; two-phase locking makes the sum the constant total.
 *  - Snapshot readers: REPEATABLE READ transactions that read the whole table, then read it again
 *    many times while writers commit and purge runs; every read equals the model's state at the
 *    moment the snapshot was taken. One of them stays open for the whole run.
 *  - A purger: `db.purge()` between steps, and `check()` now and then.
 *
 * At the end: the table equals the model, the total is unchanged, `check()` passes, and once every
 * reader is closed purge empties the history list.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { TableSchema } from '../../src/rec/schema.js';
import type { Durability } from '../../src/redo/redo-log.js';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { openTestDatabase } from '../support/open.js';

interface Account {
  [column: string]: number;
  id: number;
  balance: number;
}

const ACCOUNTS = 8;
const INITIAL_BALANCE = 100;
const TOTAL = ACCOUNTS * INITIAL_BALANCE;
const ISOLATIONS: readonly IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];
const DURABILITIES: readonly Durability[] = ['none', 'write', 'full'];

const SCHEMA: TableSchema = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'balance', type: 'int32' },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_balance', columns: ['balance'] }],
};

function pick<T>(rng: RandomSource, items: readonly T[]): T {
  return items[rng.int(items.length)]!;
}

/** Yields to the event loop 0 to 3 times: the seeded source decides the interleaving. */
async function pause(rng: RandomSource): Promise<void> {
  for (let n = rng.int(4); n > 0; n--) await new Promise<void>((resolve) => setImmediate(resolve));
}

function codeOf(error: unknown): unknown {
  return (error as { code?: unknown } | null)?.code;
}

function sum(rows: readonly Account[]): number {
  return rows.reduce((total, row) => total + row.balance, 0);
}

function byId(rows: readonly Account[]): Account[] {
  return [...rows].sort((a, b) => a.id - b.id);
}

interface Stats {
  commits: number;
  rollbacks: number;
  savepointRollbacks: number;
  deadlocks: number;
  audits: number;
  snapshotReads: number;
  purged: number;
  heldHistory: number;
}

class Workload {
  readonly model = new Map<number, number>();
  readonly stats: Stats = {
    commits: 0,
    rollbacks: 0,
    savepointRollbacks: 0,
    deadlocks: 0,
    audits: 0,
    snapshotReads: 0,
    purged: 0,
    heldHistory: 0,
  };
  writersLeft = 0;

  constructor(
    readonly db: Database,
    readonly seed: number,
  ) {
    for (let id = 1; id <= ACCOUNTS; id++) this.model.set(id, INITIAL_BALANCE);
  }

  modelRows(): Account[] {
    return [...this.model].map(([id, balance]) => ({ id, balance }));
  }

  /** The committed state, read by autocommit snapshots (by key and through the index), equals the model. */
  checkCommitted(): void {
    const table = this.db.table<Account>('accounts');
    const rows = [...table.scan()];
    expect(rows, `seed ${this.seed}: committed state after commit #${this.stats.commits}`).toEqual(this.modelRows());
    expect(sum(rows)).toBe(TOTAL);
    const viaIndex = [...table.scanIndex('by_balance')];
    expect(viaIndex.map((r) => r.balance)).toEqual([...viaIndex.map((r) => r.balance)].sort((a, b) => a - b));
    expect(byId(viaIndex), `seed ${this.seed}: the index shows the same rows`).toEqual(rows);
  }

  /** One transfer, retried after a deadlock. */
  async transfer(rng: RandomSource): Promise<void> {
    for (;;) {
      const isolation = pick(rng, ISOLATIONS);
      const tx = this.db.begin({ isolation, durability: pick(rng, DURABILITIES) });
      const from = 1 + rng.int(ACCOUNTS);
      let to = 1 + rng.int(ACCOUNTS - 1);
      if (to >= from) to++;
      const amount = rng.intBetween(1, 30);
      try {
        await this.transferIn(tx, rng, from, to, amount);
        return;
      } catch (error) {
        if (codeOf(error) !== 'ERR_DEADLOCK') throw error;
        // The engine rolled the victim back; nothing of it is visible. Retry as a new transaction.
        expect(tx.state).toBe('rolled-back');
        this.stats.deadlocks++;
        await pause(rng);
      }
    }
  }

  /**
   * Two shapes, chosen at random: lock both rows first and then write both (SELECT ... FOR UPDATE
   * twice, then UPDATE twice), or write each row right after locking it, so a transaction holding
   * a fresh write waits for its second lock (UPDATE a; UPDATE b).
   */
  private async transferIn(
    tx: Transaction,
    rng: RandomSource,
    from: number,
    to: number,
    amount: number,
  ): Promise<void> {
    const t = tx.table<Account>('accounts');
    const order = rng.chance(0.5) ? [from, to] : [to, from];
    const writeAsYouGo = rng.chance(0.5);
    const read = new Map<number, number>();
    for (const id of order) {
      const row = await t.getForUpdate(id);
      expect(row, `seed ${this.seed}: account ${id} exists`).toBeDefined();
      // A locking read sees the newest committed version, which is the model's (locks held since).
      expect(row!.balance).toBe(this.model.get(id));
      read.set(id, row!.balance);
      await pause(rng);
      if (!writeAsYouGo) continue;
      if (id === from && row!.balance < amount) {
        await tx.rollback(); // not enough money: undo the credit already written, if any
        this.stats.rollbacks++;
        this.checkCommitted();
        return;
      }
      await t.update(id, { balance: id === from ? row!.balance - amount : row!.balance + amount });
      await pause(rng);
    }
    if (!writeAsYouGo) {
      if (read.get(from)! < amount) {
        await tx.commit(); // nothing written: a read-only commit
        return;
      }
      if (rng.chance(0.15)) {
        // A change undone to a savepoint leaves the transaction as it was.
        tx.savepoint('before');
        await t.update(from, { balance: read.get(from)! - 1000 });
        await pause(rng);
        await tx.rollbackToSavepoint('before');
        this.stats.savepointRollbacks++;
      }
      await t.update(from, { balance: read.get(from)! - amount });
      await pause(rng);
      await t.update(to, { balance: read.get(to)! + amount });
      await pause(rng);
    }
    if (rng.chance(0.1)) {
      await tx.rollback();
      this.stats.rollbacks++;
      this.checkCommitted();
      return;
    }
    const durable = tx.commit(); // visible at once; settles when durable
    this.model.set(from, read.get(from)! - amount);
    this.model.set(to, read.get(to)! + amount);
    this.stats.commits++;
    this.checkCommitted();
    await durable;
  }

  async transferClient(rng: RandomSource, transfers: number): Promise<void> {
    try {
      for (let i = 0; i < transfers; i++) {
        await this.transfer(rng);
        await pause(rng);
      }
    } finally {
      this.writersLeft--;
    }
  }

  /** Sums every balance under shared next-key locks (2PL: a consistent total). */
  async auditClient(rng: RandomSource): Promise<void> {
    while (this.writersLeft > 0) {
      const tx = this.db.begin({ isolation: rng.chance(0.5) ? 'repeatable-read' : 'serializable' });
      try {
        const rows: Account[] = [];
        for await (const row of tx.table<Account>('accounts').scanForShare()) {
          rows.push(row);
          await pause(rng);
        }
        expect(sum(rows), `seed ${this.seed}: audit total`).toBe(TOTAL);
        expect(rows.length).toBe(ACCOUNTS);
        await tx.commit();
        this.stats.audits++;
      } catch (error) {
        if (codeOf(error) !== 'ERR_DEADLOCK') throw error;
        this.stats.deadlocks++;
      }
      await pause(rng);
    }
  }

  /** A REPEATABLE READ snapshot: the model as of its first read, on every later read too. */
  async snapshotReader(
    rng: RandomSource,
    rereads: number,
    tx = this.db.begin({ isolation: 'repeatable-read', readOnly: rng.chance(0.5) }),
  ): Promise<void> {
    const t = tx.table<Account>('accounts');
    const expected = this.modelRows(); // the view opens at the first read, in this same synchronous step
    const first = [...t.scan()];
    expect(first, `seed ${this.seed}: snapshot equals the model when it was taken`).toEqual(expected);
    for (let i = 0; i < rereads; i++) {
      await pause(rng);
      await pause(rng);
      expect([...t.scan()], `seed ${this.seed}: snapshot reread ${i}`).toEqual(expected);
      expect(byId([...t.scanIndex('by_balance')]), `seed ${this.seed}: snapshot through the index`).toEqual(expected);
      expect(t.get(1 + rng.int(ACCOUNTS))).toBeDefined();
      this.stats.snapshotReads++;
    }
    await tx.commit();
  }

  async readerClient(rng: RandomSource): Promise<void> {
    while (this.writersLeft > 0) {
      await this.snapshotReader(rng, 1 + rng.int(8));
      await pause(rng);
    }
  }

  /**
   * A reader that keeps its snapshot of the initial state while a third of the transfers commit:
   * purge must not remove anything it can see, so the history list grows until it closes.
   */
  async longReader(untilCommits: number): Promise<void> {
    const initial = this.modelRows();
    const tx = this.db.begin({ isolation: 'repeatable-read' });
    const t = tx.table<Account>('accounts');
    expect([...t.scan()]).toEqual(initial);
    while (this.writersLeft > 0 && this.stats.commits < untilCommits)
      await new Promise<void>((resolve) => setImmediate(resolve));
    expect([...t.scan()], `seed ${this.seed}: the long snapshot`).toEqual(initial);
    expect(byId([...t.scanIndex('by_balance')])).toEqual(initial);
    this.db.purge();
    if (this.stats.commits > 0)
      expect(this.db.status().historyLength, 'history held back by the long reader').toBeGreaterThan(0);
    this.stats.heldHistory = Math.max(this.stats.heldHistory, this.db.status().historyLength);
    await tx.commit();
  }

  async purger(rng: RandomSource): Promise<void> {
    while (this.writersLeft > 0) {
      this.stats.purged += this.db.purge();
      if (rng.chance(0.2)) this.db.check();
      await pause(rng);
      await pause(rng);
    }
  }
}

async function openBank(): Promise<Database> {
  const db = await openTestDatabase(new MemoryVfs(), { redoLogBytes: 4 << 20, durability: 'none' });
  await db.createTable(SCHEMA);
  const rows: Account[] = [];
  for (let id = 1; id <= ACCOUNTS; id++) rows.push({ id, balance: INITIAL_BALANCE });
  await db.table<Account>('accounts').insertMany(rows);
  return db;
}

async function runBank(seed: number, writers: number, transfersEach: number): Promise<Stats> {
  const db = await openBank();
  const work = new Workload(db, seed);
  const root = new RandomSource(seed);
  work.writersLeft = writers;
  const clients: Promise<void>[] = [];
  for (let i = 0; i < writers; i++) clients.push(work.transferClient(root.fork(), transfersEach));
  clients.push(work.longReader(Math.floor((writers * transfersEach) / 3)));
  clients.push(work.auditClient(root.fork()));
  clients.push(work.readerClient(root.fork()));
  clients.push(work.readerClient(root.fork()));
  clients.push(work.purger(root.fork()));
  await Promise.all(clients);

  work.checkCommitted();
  db.check();
  db.purge();
  expect(db.status().historyLength, `seed ${seed}: history after every reader closed`).toBe(0);
  expect(db.status().activeTransactions).toBe(0);
  // Only the live rows remain: every delete-marked secondary entry was purged.
  expect(db.check()).toMatchObject({ rows: ACCOUNTS, entries: 2 * ACCOUNTS });
  await db.close();
  return work.stats;
}

describe('randomised concurrent workloads against a serial model', () => {
  it('transfers under locking reads keep the total; snapshots stay consistent while purge runs', async () => {
    const totals: Stats = {
      commits: 0,
      rollbacks: 0,
      savepointRollbacks: 0,
      deadlocks: 0,
      audits: 0,
      snapshotReads: 0,
      purged: 0,
      heldHistory: 0,
    };
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const stats = await runBank(seed, 6, 25);
      for (const key of Object.keys(totals) as (keyof Stats)[]) totals[key] += stats[key];
    }
    // The workload did what it is for: contention, deadlocks, rollbacks, purge under readers.
    expect(totals.commits).toBeGreaterThan(500);
    expect(totals.deadlocks).toBeGreaterThan(10);
    expect(totals.rollbacks).toBeGreaterThan(10);
    expect(totals.savepointRollbacks).toBeGreaterThan(10);
    expect(totals.audits).toBeGreaterThan(10);
    expect(totals.snapshotReads).toBeGreaterThan(100);
    expect(totals.purged).toBeGreaterThan(100);
    expect(totals.heldHistory).toBeGreaterThan(10);
  });

  it('a single client replays identically from its seed', async () => {
    const a = await runBank(42, 1, 40);
    const b = await runBank(42, 1, 40);
    expect(a).toEqual(b);
    expect(a.commits).toBeGreaterThan(20);
  });
});
