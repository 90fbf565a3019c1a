/**
 * better-sqlite3 (12.x): SQLite in the same process, synchronous, as its users run it for a
 * server-side store: one connection, WAL journal, prepared statements, `db.transaction(fn)`.
 *
 * Durable: `PRAGMA synchronous = FULL` in WAL mode: every COMMIT appends to the WAL and fsyncs it
 * before it returns. Not durable: `synchronous = OFF`: the WAL is written, never synced by SQLite.
 * The page cache is SQLite's default (2 MiB; the OS page cache holds the rest of the file), as a
 * user who sets nothing has it.
 */
import * as nodePath from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { EngineAdapter, EngineConfig, EngineSession } from './engine.js';
import { SqlSession, type SqlDriver, type SqlParam, type SqlRow } from './sql-session.js';

export const DATA_FILE = 'data.sqlite';

function betterSqlite3Driver(db: BetterSqlite3.Database): SqlDriver {
  return {
    exec: (sql) => void db.exec(sql),
    prepareValue(sql) {
      const statement = db.prepare<SqlParam[]>(sql).pluck();
      return (params) => statement.get(...params);
    },
    prepareValues(sql) {
      const statement = db.prepare<SqlParam[]>(sql).pluck();
      return (params) => statement.all(...params);
    },
    prepareRow(sql) {
      const statement = db.prepare<SqlParam[], SqlRow>(sql);
      return (params) => statement.get(...params);
    },
    prepareRows(sql) {
      const statement = db.prepare<SqlParam[], SqlRow>(sql);
      return (params) => statement.all(...params);
    },
    prepareRun(sql) {
      const statement = db.prepare<SqlParam[]>(sql);
      return (params) => statement.run(...params).changes;
    },
    transaction: (body) => db.transaction(body)(),
    version: () => String(db.prepare('SELECT sqlite_version()').pluck().get()),
    close: async () => void db.close(),
  };
}

export const betterSqlite3: EngineAdapter = {
  kind: 'better-sqlite3',
  packageName: 'better-sqlite3',
  durability: (durable) =>
    durable
      ? 'WAL journal, synchronous=FULL: each COMMIT fsyncs the WAL before it returns'
      : 'WAL journal, synchronous=OFF: commits are written to the OS and never synced by SQLite; a power cut can lose recent commits',
  secondaryIndex: 'native (CREATE INDEX k_N ON sbtestN(k))',
  notes: ['one connection, prepared statements, db.transaction(fn); default page cache (2 MiB)'],
  isRetryable: () => false,
  async open(dir: string, config: EngineConfig): Promise<EngineSession> {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(nodePath.join(dir, DATA_FILE));
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${config.durable ? 'FULL' : 'OFF'}`);
    return new SqlSession(betterSqlite3Driver(db));
  },
};
