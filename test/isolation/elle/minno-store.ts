/**
 * The list-append workload on minno, through the public table API, as an application would write
 * it with InnoDB:
 *
 *     lists (id int32 primary key, value json, len int32, index by_len (len))
 *
 *  - read k:      `get(k)` (a consistent read; at SERIALIZABLE a shared locking read, and when
 *                 that would have to wait, `getForShare(k)`, which waits)
 *  - append k v:  `getForUpdate(k)`, then `update` with v added, or `insert` when there is no row
 *                 (SELECT ... FOR UPDATE, then UPDATE or INSERT). At READ COMMITTED the failed
 *                 lookup takes no gap lock, so another transaction may insert k first: the insert
 *                 then fails with ERR_DUPLICATE_KEY and the append starts again.
 *
 * The `len` index makes every append change a secondary entry too (delete-mark the old one,
 * insert the new one; purge removes the old ones later). The database runs on a manual clock, so
 * lock-wait timeouts fire only when the workload finds itself stuck.
 */
import type { Database, DatabaseTestSeams } from '../../../src/api/database.js';
import type { Table } from '../../../src/api/table.js';
import type { Transaction } from '../../../src/api/transaction.js';
import type { ColumnValue } from '../../../src/rec/schema.js';
import type { IsolationLevel } from '../../../src/mvcc/trx.js';
import { ManualClock } from '../../../src/util/clock.js';
import { MemoryVfs } from '../../../src/vfs/memory-vfs.js';
import { openTestDatabase } from '../../support/open.js';
import type { ListAppendStore, StoreTxn } from './workload.js';

interface ListRow {
  [column: string]: ColumnValue | undefined;
  id: number;
  value: readonly number[];
  len: number;
}

const LOCK_WAIT_TIMEOUT_MS = 50_000;

export async function openMinnoStore(seams: DatabaseTestSeams = {}): Promise<MinnoStore> {
  const clock = new ManualClock();
  const options = {
    poolPages: 512,
    redoLogBytes: 8 << 20,
    durability: 'none',
    lockWaitTimeoutMs: LOCK_WAIT_TIMEOUT_MS,
    clock,
  } as const;
  const db = await openTestDatabase(new MemoryVfs(), options, seams);
  await db.createTable({
    name: 'lists',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'value', type: 'json' },
      { name: 'len', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'by_len', columns: ['len'] }],
  });
  return new MinnoStore(db, clock);
}

export class MinnoStore implements ListAppendStore {
  constructor(
    readonly db: Database,
    private readonly clock: ManualClock,
  ) {}

  begin(level: IsolationLevel, readOnly: boolean): StoreTxn {
    return new MinnoTxn(this.db.begin({ isolation: level, readOnly }), level);
  }

  waiting(): number {
    return this.db.engine.locks.waitGraph().length;
  }

  expireWaits(): string {
    const graph = this.db.engine.locks
      .waitGraph()
      .map(
        ({ waiter, waitsFor }) =>
          `  trx ${waiter.trxId} waits for ${waitsFor.map((o) => `trx ${o.trxId}${this.db.engine.locks.isWaiting(o) ? ' (waiting)' : ''}`).join(', ')}`,
      )
      .join('\n');
    this.clock.advance(LOCK_WAIT_TIMEOUT_MS);
    return graph;
  }

  backgroundStep(): void {
    this.db.runBackgroundWork(200);
    this.db.storage.backgroundStep();
  }

  async finish(): Promise<Record<string, number>> {
    const locks = this.db.engine.locks;
    if (!locks.isEmpty()) throw new Error('locks are left after every transaction ended (K4)');
    this.db.check();
    this.db.purge();
    this.db.check();
    const stats = { ...locks.stats };
    await this.db.close();
    return stats;
  }
}

class MinnoTxn implements StoreTxn {
  private readonly table: Table<ListRow>;

  constructor(
    private readonly tx: Transaction,
    private readonly level: IsolationLevel,
  ) {
    this.table = tx.table<ListRow>('lists');
  }

  async read(k: number): Promise<readonly number[]> {
    let row: ListRow | undefined;
    try {
      row = this.table.get(k);
    } catch (error) {
      if (this.level !== 'serializable' || (error as { code?: string }).code !== 'ERR_WOULD_WAIT') throw error;
      row = await this.table.getForShare(k);
    }
    return row?.value ?? [];
  }

  async append(k: number, v: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.table.getForUpdate(k);
      if (row !== undefined) {
        await this.table.update(k, { value: [...row.value, v], len: row.value.length + 1 });
        return;
      }
      try {
        await this.table.insert({ id: k, value: [v], len: 1 });
        return;
      } catch (error) {
        // READ COMMITTED only: k was inserted after the lookup found nothing; append to it now.
        if (
          this.level !== 'read-committed' ||
          (error as { code?: string }).code !== 'ERR_DUPLICATE_KEY' ||
          attempt >= 8
        )
          throw error;
      }
    }
  }

  commit(): Promise<void> {
    return this.tx.commit();
  }

  rollback(): Promise<void> {
    return this.tx.rollback();
  }
}
