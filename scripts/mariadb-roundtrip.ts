/**
 * A minno database moves into MariaDB (run by scripts/test-mariadb.sh, which starts the server).
 *
 *  1. Build a multi-table minno database of `--rows` rows (100,000 by default) whose values reach
 *     every corner of every column type: int64 at both ends, -0, NaN, the infinities, subnormal
 *     and huge doubles, strings with quotes, backslashes, NUL, newlines and astral characters,
 *     empty and random bytes, nested json (with escaped lone surrogates), NULLs.
 *  2. Export it with the real command line: `minno export <db> --format sql -o dump.sql`.
 *  3. Load the dump with MariaDB's own client (`mariadb < dump.sql`): it loads as it is.
 *  4. Read every table back ordered by primary key over the binary protocol (mysql2 `execute`:
 *     doubles arrive as their 8 bytes, so the comparison is exact) and compare row by row with
 *     minno's scan; run index queries on both sides. The expected caveats (src/ops/sql-text.ts):
 *     NaN and the infinities arrive as NULL; -0 is counted as kept or turned into 0.
 *
 * Prints a JSON report; exits 1 on any mismatch.
 */
import { spawnSync } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { Database } from '../src/api/database.js';
import type { Row } from '../src/rec/row-format.js';
import type { ColumnDef, TableSchema } from '../src/rec/schema.js';
import { RandomSource } from '../src/util/random.js';

const { values: args } = parseArgs({
  options: {
    socket: { type: 'string' },
    work: { type: 'string' },
    rows: { type: 'string', default: '100000' },
    seed: { type: 'string', default: '1' },
  },
});
if (args.socket === undefined || args.work === undefined) {
  console.error('usage: tsx scripts/mariadb-roundtrip.ts --socket <path> --work <dir> [--rows n] [--seed n]');
  process.exit(2);
}
const totalRows = Number(args.rows);
const random = new RandomSource(Number(args.seed));

const CUSTOMERS: TableSchema = {
  name: 'customers',
  columns: [
    { name: 'id', type: 'int64' },
    { name: 'name', type: 'string', maxLength: 80 },
    { name: 'email', type: 'string', maxLength: 120 },
    { name: 'balance', type: 'float64' },
    { name: 'vip', type: 'boolean' },
    { name: 'profile', type: 'json', nullable: true },
    { name: 'avatar', type: 'bytes', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [
    { name: 'by_email', columns: ['email'], unique: true },
    { name: 'by_name', columns: ['name'] },
  ],
};
const ORDERS: TableSchema = {
  name: 'orders',
  columns: [
    { name: 'customer_id', type: 'int64' },
    { name: 'n', type: 'int32' },
    { name: 'amount', type: 'float64', nullable: true },
    { name: 'placed_at', type: 'int64' },
    { name: 'note', type: 'string', nullable: true },
  ],
  primaryKey: ['customer_id', 'n'],
  indexes: [{ name: 'by_placed', columns: ['placed_at'] }],
};
const EVENTS: TableSchema = {
  name: 'events',
  columns: [
    { name: 'kind', type: 'string', maxLength: 20 },
    { name: 'seq', type: 'int32' },
    { name: 'payload', type: 'bytes', maxLength: 200 },
    { name: 'weight', type: 'float64' },
  ],
  primaryKey: ['kind', 'seq'],
  indexes: [],
};

const TRICKY_STRINGS = [
  "it's",
  'back\\slash',
  'quote"d',
  'new\nline',
  'tab\there',
  'nul\u0000byte',
  'é à ü',
  '日本語',
  '😀 𝄞',
  'ctrl-z\u001a',
  '',
];
const TRICKY_FLOATS = [0, -0, Number.NaN, Infinity, -Infinity, 5e-324, -Number.MAX_VALUE, 0.1, 1 / 3, 2 ** 60, -1e-300];
const INT64_EDGES = [-(2n ** 63n), 2n ** 63n - 1n, 0n, -1n];

function pick<T>(values: readonly T[]): T {
  return values[random.int(values.length)]!;
}

function text(max: number): string {
  const base = `${pick(TRICKY_STRINGS)}${random.int(1_000_000)}`;
  return base.slice(0, max);
}

async function build(path: string): Promise<void> {
  const db = await Database.open({ path, background: 'manual', durability: 'none' });
  for (const schema of [CUSTOMERS, ORDERS, EVENTS]) await db.createTable(schema);
  const customers = Math.floor(totalRows * 0.2);
  const orders = Math.floor(totalRows * 0.7);
  const events = totalRows - customers - orders;
  const batches = async (table: string, count: number, make: (i: number) => Row): Promise<void> => {
    for (let at = 0; at < count; at += 1000) {
      const rows: Row[] = [];
      for (let i = at; i < Math.min(count, at + 1000); i++) rows.push(make(i));
      await db.table(table).insertMany(rows);
    }
  };
  await batches('customers', customers, (i) => ({
    id: i < INT64_EDGES.length ? INT64_EDGES[i]! : BigInt(i) * 7919n,
    name: `${text(40)} ${i}`,
    email: `user${i}@example.${pick(['com', 'org', 'ünï'])}`,
    balance: i % 10 === 0 ? pick(TRICKY_FLOATS.filter((f) => Number.isFinite(f))) : (random.float() - 0.5) * 1e6,
    vip: random.chance(0.1),
    profile:
      i % 4 === 0
        ? null
        : { i, tags: [pick(TRICKY_STRINGS), i % 3 === 0], nested: { x: i / 7, pair: '😀', s: pick(TRICKY_STRINGS) } },
    avatar: i % 3 === 0 ? null : random.fill(new Uint8Array(random.int(40))),
  }));
  await batches('orders', orders, (i) => ({
    customer_id: BigInt(i % customers) * 7919n,
    n: Math.floor(i / customers) - (i % 2 === 0 ? 2 ** 31 - 10 : 0),
    amount: i % 17 === 0 ? pick(TRICKY_FLOATS) : i % 23 === 0 ? null : Math.round(random.float() * 1e8) / 100,
    placed_at: BigInt(1_600_000_000_000 + random.int(1e9)),
    note: i % 5 === 0 ? null : text(200),
  }));
  await batches('events', events, (i) => ({
    kind: pick(['click', 'view', 'buy', 'Buy', 'búy']),
    seq: i,
    payload: random.fill(new Uint8Array(random.int(200))),
    weight: pick(TRICKY_FLOATS.filter((f) => Number.isFinite(f))),
  }));
  await db.close();
}

function run(command: string, commandArgs: string[], input?: string): void {
  const stdin = input === undefined ? 'ignore' : openSync(input, 'r');
  const result = spawnSync(command, commandArgs, { stdio: [stdin, 'inherit', 'inherit'] });
  if (typeof stdin === 'number') closeSync(stdin);
  if (result.status !== 0) throw new Error(`${command} ${commandArgs.join(' ')} exited ${String(result.status)}`);
}

interface Tally {
  rows: number;
  mismatches: string[];
  nanToNull: number;
  negativeZeroKept: number;
  negativeZeroToZero: number;
}

/** Compares one value as MariaDB returned it with minno's, under the documented caveats. */
function compare(column: ColumnDef, mine: unknown, theirs: unknown, tally: Tally, where: string): void {
  const fail = (why: string): void => {
    if (tally.mismatches.length < 20) tally.mismatches.push(`${where}.${column.name}: ${why}`);
  };
  if (mine === null || mine === undefined) {
    if (theirs !== null) fail(`minno NULL, MariaDB ${String(theirs)}`);
    return;
  }
  switch (column.type) {
    case 'int32':
      if (theirs !== mine) fail(`${String(mine)} vs ${String(theirs)}`);
      return;
    case 'int64':
      if (String(theirs) !== String(mine)) fail(`${String(mine)} vs ${String(theirs)}`);
      return;
    case 'float64': {
      const n = mine as number;
      if (!Number.isFinite(n)) {
        if (theirs === null) tally.nanToNull++;
        else fail(`${n} should arrive as NULL, got ${String(theirs)}`);
        return;
      }
      if (Object.is(n, -0)) {
        if (Object.is(theirs, -0)) tally.negativeZeroKept++;
        else if (theirs === 0) tally.negativeZeroToZero++;
        else fail(`-0 vs ${String(theirs)}`);
        return;
      }
      if (!Object.is(theirs, n)) fail(`${n} vs ${String(theirs)}`);
      return;
    }
    case 'boolean':
      if (theirs !== (mine ? 1 : 0)) fail(`${String(mine)} vs ${String(theirs)}`);
      return;
    case 'string':
      if (theirs !== mine) fail(`${JSON.stringify(mine)} vs ${JSON.stringify(theirs)}`);
      return;
    case 'bytes':
      if (!(theirs instanceof Buffer) || !theirs.equals(mine as Uint8Array)) fail('bytes differ');
      return;
    case 'json': {
      const textTheirs = typeof theirs === 'string' ? theirs : JSON.stringify(theirs);
      if (textTheirs !== JSON.stringify(mine)) fail(`json ${JSON.stringify(mine)} vs ${textTheirs}`);
      return;
    }
  }
}

async function main(): Promise<void> {
  const work = args.work!;
  const dbPath = join(work, 'minno');
  const dump = join(work, 'dump.sql');
  const started = performance.now();
  await build(dbPath);
  const built = performance.now();
  // The real command line, as a user runs it.
  run(process.execPath, [
    '--import',
    'tsx',
    'src/cli/main.ts',
    'export',
    dbPath,
    '--format',
    'sql',
    '-o',
    dump,
    '--quiet',
  ]);
  const exported = performance.now();
  const client = ['--no-defaults', `--socket=${args.socket}`, '-u', 'root'];
  run('mariadb', [...client, '-e', 'CREATE DATABASE minno CHARACTER SET utf8mb4 COLLATE utf8mb4_bin']);
  run('mariadb', [...client, 'minno'], dump);
  const loaded = performance.now();

  const connection = await mysql.createConnection({
    socketPath: args.socket!,
    user: 'root',
    database: 'minno',
    supportBigNumbers: true,
    bigNumberStrings: true,
    charset: 'utf8mb4',
  });
  const db = await Database.open({ path: dbPath, background: 'manual' });
  const tallies: Record<string, Tally> = {};
  try {
    for (const schema of [CUSTOMERS, ORDERS, EVENTS]) {
      const tally: Tally = { rows: 0, mismatches: [], nanToNull: 0, negativeZeroKept: 0, negativeZeroToZero: 0 };
      tallies[schema.name] = tally;
      const order = schema.primaryKey.map((c) => `\`${c}\``).join(', ');
      const [rows] = await connection.execute(`SELECT * FROM \`${schema.name}\` ORDER BY ${order}`);
      const theirs = rows as Record<string, unknown>[];
      const mine = [...db.table(schema.name).scan()];
      if (theirs.length !== mine.length)
        tally.mismatches.push(`${mine.length} rows in minno, ${theirs.length} in MariaDB`);
      for (let r = 0; r < Math.min(mine.length, theirs.length); r++) {
        for (const column of schema.columns)
          compare(column, mine[r]![column.name], theirs[r]![column.name], tally, `${schema.name}[${r}]`);
        tally.rows++;
      }
    }
    // Index queries: the same rows through a secondary index on both sides.
    const email = 'user777@example.org';
    const [byEmail] = await connection.execute('SELECT id FROM customers WHERE email = ?', [email]);
    const mineByEmail = db.table('customers').getByIndex('by_email', email);
    const indexChecks = {
      uniqueLookup: String((byEmail as { id: string }[])[0]?.id) === String(mineByEmail?.['id']),
      placedRange: false,
    };
    const low = 1_600_000_000_000n;
    const high = 1_600_100_000_000n;
    const [placed] = await connection.execute(
      'SELECT customer_id, n FROM orders WHERE placed_at >= ? AND placed_at < ? ORDER BY placed_at, customer_id, n',
      [String(low), String(high)],
    );
    const minePlaced = [...db.table('orders').scanIndex('by_placed', { gte: low, lt: high })];
    indexChecks.placedRange =
      (placed as { customer_id: string; n: number }[]).map((r) => `${r.customer_id}/${r.n}`).join(',') ===
      minePlaced.map((r) => `${String(r['customer_id'])}/${String(r['n'])}`).join(',');
    const mismatches = Object.values(tallies).reduce((n, t) => n + t.mismatches.length, 0);
    const report = {
      rows: Object.values(tallies).reduce((n, t) => n + t.rows, 0),
      tables: tallies,
      indexChecks,
      seconds: {
        build: (built - started) / 1000,
        export: (exported - built) / 1000,
        load: (loaded - exported) / 1000,
      },
      ok: mismatches === 0 && indexChecks.uniqueLookup && indexChecks.placedRange,
    };
    console.log(JSON.stringify(report, null, 2));
    process.exitCode = report.ok ? 0 : 1;
  } finally {
    await connection.end();
    await db.close();
  }
}

await main();
