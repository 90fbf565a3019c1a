/**
 * A write workload for the backup tests, with a ledger of what each committed transaction did
 * and the LSN its commit ended at, so the state a backup must hold at its END_LSN can be
 * computed exactly: every transaction whose commit LSN is at or below END_LSN, none after.
 */
import { expect } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { Table } from '../../src/api/table.js';
import { MinnoError } from '../../src/errors.js';
import type { Row } from '../../src/rec/row-format.js';
import { RandomSource } from '../../src/util/random.js';

export const ACCOUNTS = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'owner', type: 'string', maxLength: 200 },
    { name: 'balance', type: 'int32' },
    { name: 'blob', type: 'bytes', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_owner', columns: ['owner'] }],
} as const;

const RETRYABLE = new Set(['ERR_DUPLICATE_KEY', 'ERR_DEADLOCK', 'ERR_LOCK_WAIT_TIMEOUT', 'ERR_NOT_FOUND']);

interface Committed {
  readonly lsn: number;
  readonly writes: ReadonlyMap<bigint, Row | null>;
}

export class LedgerWorkload {
  readonly committed: Committed[] = [];
  private readonly random: RandomSource;
  private readonly keys: number;
  transactions = 0;

  constructor(
    private readonly db: Database,
    seed: number,
    keys = 400,
  ) {
    this.random = new RandomSource(seed);
    this.keys = keys;
  }

  /** Takes the rows already in the table as committed before anything else (a reopened image). */
  adoptExisting(): this {
    const writes = new Map<bigint, Row | null>();
    for (const row of this.db.table('accounts').scan()) writes.set(row.id as bigint, row);
    this.committed.push({ lsn: 0, writes });
    return this;
  }

  static async setUp(db: Database): Promise<void> {
    await db.createTable(structuredClone(ACCOUNTS) as never);
  }

  /** One transaction of a few inserts, updates and deletes; half are rolled back or left to fail. */
  async step(): Promise<void> {
    const tx = this.db.begin({ durability: this.random.int(3) === 0 ? 'full' : 'none' });
    const writes = new Map<bigint, Row | null>();
    const table = tx.table('accounts');
    try {
      await this.writes(table, writes);
    } catch (error) {
      // Concurrent writers meet each other's keys: the transaction is dropped, as an app would.
      if (!(error instanceof MinnoError) || !RETRYABLE.has(error.code)) throw error;
      if (tx.state === 'active') await tx.rollback();
      return;
    }
    if (this.random.int(5) === 0) {
      await tx.rollback();
      return;
    }
    const done = tx.commit();
    // The commit's mini-transaction ran synchronously inside commit(): the log's end is its LSN.
    this.committed.push({ lsn: this.db.storage.log.currentLsn, writes });
    this.transactions++;
    await done;
  }

  private async writes(table: Table, writes: Map<bigint, Row | null>): Promise<void> {
    const n = 1 + this.random.int(4);
    for (let i = 0; i < n; i++) {
      const id = BigInt(this.random.int(this.keys));
      const exists = writes.has(id) ? writes.get(id) !== null : table.get(id) !== undefined;
      if (exists && this.random.int(4) === 0) {
        if (!(await table.delete(id))) throw new MinnoError('ERR_NOT_FOUND', 'deleted meanwhile');
        writes.set(id, null);
      } else {
        const row: Row = {
          id,
          owner: `owner-${this.random.int(50)}-${'x'.repeat(this.random.int(120))}`,
          balance: this.random.int(1_000_000),
          blob: this.random.int(3) === 0 ? null : this.random.fill(new Uint8Array(this.random.int(300))),
        };
        if (exists) {
          if (!(await table.update(id, row))) throw new MinnoError('ERR_NOT_FOUND', 'deleted meanwhile');
        } else {
          await table.insert(row);
        }
        writes.set(id, { ...row });
      }
    }
  }

  /** The rows every transaction committed at or below `endLsn` leave, by id. */
  expectedAt(endLsn: number): Map<bigint, Row> {
    const rows = new Map<bigint, Row>();
    for (const { lsn, writes } of this.committed) {
      if (lsn > endLsn) continue;
      for (const [id, row] of writes) {
        if (row === null) rows.delete(id);
        else rows.set(id, row);
      }
    }
    return rows;
  }
}

/** The restored database holds exactly `expected` (every column, and the index agrees). */
export function expectRows(db: Database, expected: Map<bigint, Row>): void {
  const actual = [...db.table('accounts').scan()];
  const want = [...expected.values()].sort((a, b) => (BigInt(a.id as bigint) < BigInt(b.id as bigint) ? -1 : 1));
  expect(actual.length).toBe(want.length);
  for (let i = 0; i < want.length; i++) expect(actual[i]).toEqual(want[i]);
  expect([...db.table('accounts').scanIndex('by_owner')].length).toBe(want.length);
}
