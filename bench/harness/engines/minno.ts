/**
 * minno, through its public API only (`src/index.ts`, what `import ... from 'minno'` gives), used
 * as its README shows: `Database.open({ path })`, a table per sbtest table with the k index as a
 * real secondary index, synchronous reads, `db.transaction(fn)` for transactions (read-only ones
 * with `{ readOnly: true }`), locking reads (`getForUpdate`) for read-then-write statements.
 *
 * Durable: durability 'full', the default: a commit settles once its redo is fsynced; one sync
 * serves every commit waiting for it (group commit). Not durable: 'none'.
 */
import { Database, type Row, type Table, type TableSchema, type Transaction } from '../../../src/index.js';
import { sbtestName, type SbtestRow } from '../workloads/sbtest.js';
import type { SbEvent, SbStatement } from '../workloads/sysbench.js';
import { fieldNames, KEY_FIELD, USERTABLE, type YcsbOperation, type YcsbRecord } from '../workloads/ycsb.js';
import { distinctSortedDigest, distinctValues, mergeRanges, sortedDigest, textDigest } from './digest.js';
import type { EngineAdapter, EngineConfig, EngineSession } from './engine.js';

type SbtestTable = Table<SbtestRow>;

/** The sbtest shape: id and k int32 (sysbench's INTEGER), c string(120), pad string(60). */
export function sbtestSchema(table: number): TableSchema {
  return {
    name: sbtestName(table),
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'k', type: 'int32' },
      { name: 'c', type: 'string', maxLength: 120 },
      { name: 'pad', type: 'string', maxLength: 60 },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'k_idx', columns: ['k'] }],
  };
}

const C_ONLY = ['c'];
const K_ONLY = ['k'];

/** `SELECT <columns> ... WHERE id BETWEEN low AND high` as rows in id order, only those columns decoded. */
function range(table: SbtestTable, low: number, high: number, columns = C_ONLY): IterableIterator<SbtestRow> {
  return table.scan({ gte: low, lte: high, columns });
}

/** A read-only statement: runs synchronously on the table handle (autocommit or a transaction). */
function readStatement(table: SbtestTable, s: SbStatement): number {
  switch (s.op) {
    case 'point_select': {
      const row = table.get(s.id, { columns: C_ONLY }); // SELECT c FROM sbtest WHERE id=?
      return row === undefined ? 0 : 1 + textDigest(row.c);
    }
    case 'simple_range': {
      let digest = 0;
      for (const row of range(table, s.low, s.high)) digest += 1 + textDigest(row.c);
      return digest;
    }
    case 'sum_range': {
      let sum = 0;
      for (const row of range(table, s.low, s.high, K_ONLY)) sum += row.k;
      return sum;
    }
    case 'order_range':
      return sortedDigest(Array.from(range(table, s.low, s.high), (row) => row.c));
    case 'distinct_range':
      return distinctSortedDigest(Array.from(range(table, s.low, s.high), (row) => row.c));
    case 'random_points': {
      let digest = 0;
      for (const k of distinctValues(s.ks))
        for (const row of table.scanIndex('k_idx', { gte: k, lte: k })) digest += row.id + row.k;
      return digest;
    }
    case 'random_ranges': {
      let count = 0;
      for (const [low, high] of mergeRanges(s.ranges))
        for (const _ of table.scanIndex('k_idx', { gte: low, lte: high })) count++;
      return count;
    }
    default:
      throw new Error(`minno adapter: ${s.op} is not a read`);
  }
}

/** A statement inside a read-write transaction. */
async function writeStatement(table: SbtestTable, s: SbStatement): Promise<number> {
  switch (s.op) {
    case 'index_update': {
      // UPDATE SET k=k+1: read the row under an exclusive lock, then write k back.
      const row = await table.getForUpdate(s.id);
      if (row === undefined) return 0;
      await table.update(s.id, { k: row.k + 1 });
      return 1;
    }
    case 'non_index_update':
      return (await table.update(s.id, { c: s.c })) ? 1 : 0;
    case 'delete':
      return (await table.delete(s.id)) ? 1 : 0;
    case 'insert':
      await table.insert(s.row);
      return 1;
    case 'insert_rows':
      await table.insertMany(s.rows);
      return s.rows.length;
    default:
      return readStatement(table, s);
  }
}

function isRead(s: SbStatement): boolean {
  return (
    s.op !== 'index_update' &&
    s.op !== 'non_index_update' &&
    s.op !== 'delete' &&
    s.op !== 'insert' &&
    s.op !== 'insert_rows'
  );
}

class MinnoSession implements EngineSession {
  private fields: string[] = [];

  constructor(private readonly db: Database) {}

  embeddedVersion(): undefined {
    return undefined;
  }

  /** The autocommit handles, by table number: a user keeps the handle rather than look it up by name. */
  private readonly handles: SbtestTable[] = [];

  private table(t: number, tx?: Transaction): SbtestTable {
    if (tx !== undefined) return tx.table<SbtestRow>(sbtestName(t));
    let handle = this.handles[t];
    if (handle === undefined) this.handles[t] = handle = this.db.table<SbtestRow>(sbtestName(t));
    return handle;
  }

  async createSbtest(count: number): Promise<void> {
    for (let t = 1; t <= count; t++) await this.db.createTable(sbtestSchema(t));
  }

  async loadSbtest(t: number, rows: readonly SbtestRow[]): Promise<void> {
    await this.db.transaction((tx) => this.table(t, tx).insertMany(rows));
  }

  sysbench(event: SbEvent): number | Promise<number> {
    switch (event.transaction) {
      case 'read-only':
        return this.db.transaction(
          (tx) => {
            let digest = 0;
            for (const s of event.statements) digest += readStatement(this.table(s.table, tx), s);
            return digest;
          },
          { readOnly: true },
        );
      case 'read-write':
        return this.db.transaction(async (tx) => {
          let digest = 0;
          for (const s of event.statements) digest += await writeStatement(this.table(s.table, tx), s);
          return digest;
        });
      case 'none':
        return this.autocommit(event.statements);
    }
  }

  /** Statements in autocommit: reads synchronously, each write its own transaction. */
  private autocommit(statements: readonly SbStatement[]): number | Promise<number> {
    if (statements.every(isRead)) {
      // An indexed loop, no closure: see sql-session.ts.
      let digest = 0;
      for (let i = 0; i < statements.length; i++) {
        const s = statements[i]!;
        digest += readStatement(this.table(s.table), s);
      }
      return digest;
    }
    return (async () => {
      let digest = 0;
      for (const s of statements) {
        if (isRead(s)) digest += readStatement(this.table(s.table), s);
        else if (s.op === 'index_update')
          digest += await this.db.transaction((tx) => writeStatement(this.table(s.table, tx), s));
        else digest += await writeStatement(this.table(s.table), s);
      }
      return digest;
    })();
  }

  useUsertable(fieldcount: number): void {
    this.fields = fieldNames(fieldcount);
  }

  async createUsertable(fieldcount: number, fieldlength: number): Promise<void> {
    this.useUsertable(fieldcount);
    await this.db.createTable({
      name: USERTABLE,
      columns: [
        { name: KEY_FIELD, type: 'string', maxLength: 64 },
        ...this.fields.map((name) => ({ name, type: 'string' as const, maxLength: fieldlength })),
      ],
      primaryKey: [KEY_FIELD],
    });
  }

  private usertable(): Table {
    return this.db.table(USERTABLE);
  }

  private record(record: YcsbRecord): Row {
    const row: Record<string, string> = { [KEY_FIELD]: record.key };
    record.fields.forEach((value, i) => (row[this.fields[i]!] = value));
    return row;
  }

  async loadUsertable(records: readonly YcsbRecord[]): Promise<void> {
    await this.db.transaction((tx) => tx.table(USERTABLE).insertMany(records.map((r) => this.record(r))));
  }

  private read(table: Table, key: string): number {
    const row = table.get(key);
    if (row === undefined) return 0;
    let digest = 1;
    for (const f of this.fields) digest += textDigest(row[f] as string);
    return digest;
  }

  ycsb(op: YcsbOperation): number | Promise<number> {
    const table = this.usertable();
    switch (op.op) {
      case 'read':
        return this.read(table, op.key);
      case 'scan': {
        let digest = 0;
        for (const row of table.scan({ gte: op.key, limit: op.count }))
          digest += 1 + textDigest(row['FIELD0'] as string);
        return digest;
      }
      case 'update':
        return table.update(op.key, { [this.fields[op.field]!]: op.value }).then((found) => (found ? 1 : 0));
      case 'insert':
        return table.insert(this.record(op.record)).then(() => 1);
      case 'read-modify-write': {
        const digest = this.read(table, op.key);
        return table.update(op.key, { [this.fields[op.field]!]: op.value }).then((found) => digest + (found ? 1 : 0));
      }
    }
  }

  close(): Promise<void> {
    return this.db.close();
  }
}

export const minno: EngineAdapter = {
  kind: 'minno',
  packageName: 'minno',
  durability: (durable) =>
    durable
      ? "durability 'full' (the default): a commit settles once its redo is fsynced; concurrent commits share one fsync (group commit)"
      : "durability 'none': commits settle at once; the redo is written and synced about once a second, so a crash loses about the last second, never part of a transaction",
  secondaryIndex: 'native (a secondary index k_idx on k)',
  notes: ['public API only (Database, Table, Transaction); background work on its timers (the default)'],
  isRetryable: (error) => {
    const code = (error as { code?: unknown } | null)?.code;
    return code === 'ERR_DEADLOCK' || code === 'ERR_LOCK_WAIT_TIMEOUT';
  },
  async open(dir: string, config: EngineConfig): Promise<EngineSession> {
    const db = await Database.open({
      path: dir,
      durability: config.durable ? 'full' : 'none',
      ...(config.bufferPoolBytes === undefined ? {} : { bufferPoolBytes: config.bufferPoolBytes }),
      // MINNO_BENCH_AHI=off: without the adaptive hash index, to measure what it gives in one run.
      ...(process.env.MINNO_BENCH_AHI === 'off' ? { adaptiveHashIndex: false } : {}),
      // MINNO_BENCH_POOL_DUMP_PCT=N: the pool dump's share (0: no dump written, none loaded), to
      // measure what loading the last close's pages gives a run.
      ...(process.env.MINNO_BENCH_POOL_DUMP_PCT === undefined
        ? {}
        : { bufferPoolDumpPct: Number(process.env.MINNO_BENCH_POOL_DUMP_PCT) }),
    });
    return new MinnoSession(db);
  },
};
