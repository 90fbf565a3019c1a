/**
 * sql.js: SQLite compiled to WebAssembly, the database in memory, as its users in Node run it:
 * prepared statements, BEGIN/COMMIT, and the image exported to a file to keep it.
 *
 * Durability: none at any setting. sql.js has no incremental persistence; writing the whole
 * exported image after every commit would rewrite the database per commit, which is not how it is
 * used. The harness exports the image once, when the database closes (that file is what "bytes on
 * disk" measures, and what a prepared copy reopens from).
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { Database as SqlJsDatabase, SqlValue, Statement } from 'sql.js';
import type { EngineAdapter, EngineSession } from './engine.js';
import { SqlSession, type SqlDriver, type SqlParam, type SqlRow } from './sql-session.js';

export const IMAGE_FILE = 'data.sqlite';

/** Binds `params`, steps through the rows taking each with `take` (only the first unless `all`), resets. */
function query<T>(statement: Statement, params: readonly SqlParam[], take: (s: Statement) => T, all: boolean): T[] {
  statement.bind(params as SqlValue[]);
  const out: T[] = [];
  while (statement.step()) {
    out.push(take(statement));
    if (!all) break;
  }
  statement.reset();
  return out;
}

const firstColumn = (s: Statement): unknown => s.get()[0] ?? undefined;
const asRow = (s: Statement): SqlRow => s.getAsObject() as SqlRow;

function sqlJsDriver(db: SqlJsDatabase, imagePath: string): SqlDriver {
  return {
    exec: (sql) => void db.exec(sql),
    prepareValue(sql) {
      const statement = db.prepare(sql);
      return (params) => query(statement, params, firstColumn, false)[0];
    },
    prepareValues(sql) {
      const statement = db.prepare(sql);
      return (params) => query(statement, params, firstColumn, true);
    },
    prepareRow(sql) {
      const statement = db.prepare(sql);
      return (params) => query(statement, params, asRow, false)[0];
    },
    prepareRows(sql) {
      const statement = db.prepare(sql);
      return (params) => query(statement, params, asRow, true);
    },
    prepareRun(sql) {
      const statement = db.prepare(sql);
      return (params) => {
        statement.run(params as SqlValue[]);
        return db.getRowsModified();
      };
    },
    transaction(body) {
      db.exec('BEGIN');
      try {
        const result = body();
        db.exec('COMMIT');
        return result;
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    },
    version: () => String(db.exec('SELECT sqlite_version()')[0]?.values[0]?.[0]),
    async close() {
      const image = db.export();
      db.close();
      const fd = fs.openSync(imagePath, 'w');
      try {
        fs.writeSync(fd, image);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}

export const sqlJs: EngineAdapter = {
  kind: 'sql.js',
  packageName: 'sql.js',
  durability: () =>
    'not durable at any setting: the database lives in memory; the harness exports its image to a file once, at close',
  secondaryIndex: 'native (CREATE INDEX k_N ON sbtestN(k))',
  notes: ['in-memory SQLite (WebAssembly); prepared statements, BEGIN/COMMIT; the image is exported at close'],
  isRetryable: () => false,
  async open(dir: string): Promise<EngineSession> {
    const { default: initSqlJs } = await import('sql.js');
    const SQL = await initSqlJs();
    const imagePath = nodePath.join(dir, IMAGE_FILE);
    const db = fs.existsSync(imagePath) ? new SQL.Database(fs.readFileSync(imagePath)) : new SQL.Database();
    return new SqlSession(sqlJsDriver(db, imagePath));
  },
};
