/**
 * A golden-script runner for isolation tests, in the style of toyDB's MVCC test scripts and of
 * Hermitage (github.com/ept/hermitage): each line is one statement of one session and, after `->`,
 * what it must give. One script per anomaly and isolation level; the expected outcomes are
 * InnoDB's (Hermitage's mysql.md for the cases it covers, InnoDB's locking rules for the rest).
 *
 * Every script starts from a fresh database holding Hermitage's table:
 *
 *     test (id int32 primary key, value int32) = {1: 10, 2: 20}
 *
 * or, with `runScript(script, { valueIndex: true })` (or `'unique'`), the same table with a
 * secondary index `by_value (value)` for the statements that read through it.
 *
 * ## Lines
 *
 *     t1: begin repeatable-read          start session t1 (read-committed | repeatable-read | serializable)
 *     t1: get 1                 -> 10    consistent read by key (a shared locking read at SERIALIZABLE)
 *     t1: scan where value%3=0  -> 3=30  consistent scan of the whole table, filtered; "empty" when nothing
 *     t1: get-for-share 1       -> 10    SELECT ... FOR SHARE (async: may wait); also get-for-update
 *     t1: scan 3..5             -> 3=30  a consistent scan of the primary keys 3 to 5 (inclusive)
 *     t1: scan-for-share        -> waits SELECT ... FOR SHARE over the table; also scan-for-update
 *     t1: get-by-value 20       -> 2=20  the first row (by_value order) with value 20, or "none"
 *     t1: scan-by-value 10..20  -> 1=10 2=20   a scan through by_value (values 10 to 20; all without a range)
 *     t1: scan-for-share 1..2 reverse -> 2=20 1=10    any scan takes a range and/or `reverse`
 *     t1: insert 3 value=30
 *     t1: update 1 value=11     -> 1 row
 *     t1: update where true value=value+10 -> 2 rows   UPDATE ... WHERE: a locking scan for update
 *     t1: delete 1                                     of the table, then each matching row changed
 *     t1: delete where value=20 -> 0 rows
 *     t1: commit | rollback
 *     db: scan                  -> 1=11 2=20           an autocommit read (its own snapshot)
 *     db: purge                 -> 1 record          purge everything no read view needs now (records processed)
 *     -> t2 1 row                        t2's waiting statement has now finished, with this result
 *
 * An expectation is a result (`10`, `none`, `1=10 2=20`, `empty`, `2 rows`), `waits` (the statement
 * is still pending once the event loop has drained: it waits for a lock), or an error code
 * (`ERR_DEADLOCK`, `ERR_WOULD_WAIT`, ...). A statement without `->` must finish without error. `#`
 * starts a comment.
 *
 * ## Rules the runner enforces
 *  S1. A session runs one statement at a time: a statement of a session whose last one waits fails.
 *  S2. A waiting statement that finishes must be acknowledged by a `-> tN` line right after the
 *      statement that let it go (before the next statement): the script says *when* a wait ends.
 *  S3. A deadlock victim (ERR_DEADLOCK) has been rolled back by the engine.
 *  S4. At the end no statement waits, every session has committed or rolled back, `check()` passes,
 *      and purge empties the history list.
 *
 * minno differs from SQL in one visible way: its plain reads are synchronous, so a SERIALIZABLE
 * plain read that would have to wait throws ERR_WOULD_WAIT instead of waiting. Where InnoDB's
 * SERIALIZABLE SELECT blocks, the scripts show that error and then issue the waiting form the
 * engine offers for it (`get-for-share` / `scan-for-share`: the same shared next-key locks).
 */
import { Database } from '../../src/api/database.js';
import type { Table } from '../../src/api/table.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { KeyRange } from '../../src/api/types.js';
import type { TableSchema } from '../../src/rec/schema.js';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { ManualClock } from '../../src/util/clock.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

export interface TestRow {
  [column: string]: number;
  id: number;
  value: number;
}

export const TEST_TABLE = {
  name: 'test',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'value', type: 'int32' as const },
  ],
  primaryKey: ['id'],
  indexes: [],
} satisfies TableSchema;

/** The index on `value` that `runScript(script, { valueIndex: true })` adds. */
const VALUE_INDEX = 'by_value';

export interface ScriptOptions {
  /** Give the table the secondary index `by_value (value)`, unique or not (for get-by-value and scan-by-value). */
  readonly valueIndex?: boolean | 'unique';
}

type Outcome =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly code: string; readonly error: unknown };

interface Step {
  readonly lineNo: number;
  readonly text: string;
  outcome: Outcome | undefined;
}

const ISOLATIONS: readonly IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];

/** Opens the database every script starts from (Hermitage's setup). */
export async function openTestDatabase(
  rows: ReadonlyArray<readonly [number, number]> = [
    [1, 10],
    [2, 20],
  ],
  options: ScriptOptions = {},
): Promise<Database> {
  const db = await Database.open({
    vfs: new MemoryVfs(),
    pageSize: 4096,
    bufferPoolBytes: 256 * 4096,
    redoLogBytes: 1 << 20,
    background: 'manual',
    durability: 'none',
    clock: new ManualClock(),
  });
  const valueIndex = options.valueIndex ?? false;
  await db.createTable(
    valueIndex === false
      ? TEST_TABLE
      : { ...TEST_TABLE, indexes: [{ name: VALUE_INDEX, columns: ['value'], unique: valueIndex === 'unique' }] },
  );
  await db.table<TestRow>('test').insertMany(rows.map(([id, value]) => ({ id, value })));
  return db;
}

/** Lets every settled promise run its continuations (lock grants resolve synchronously). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : `(no code) ${String(error)}`;
}

function show(outcome: Outcome | undefined): string {
  if (outcome === undefined) return 'waits';
  return outcome.ok ? outcome.value : outcome.code;
}

/** `show`, with an error's message. */
function explain(outcome: Outcome): string {
  return outcome.ok ? outcome.value : `${outcome.code} (${String(outcome.error)})`;
}

function formatRows(rows: readonly TestRow[]): string {
  return rows.length === 0 ? 'empty' : rows.map((r) => `${r.id}=${r.value}`).join(' ');
}

function formatCount(n: number): string {
  return n === 1 ? '1 row' : `${n} rows`;
}

function formatRecords(n: number): string {
  return n === 1 ? '1 record' : `${n} records`;
}

/** `true`, `value=20`, `id=1`, `value%3=0`. */
function parsePredicate(text: string): (row: TestRow) => boolean {
  if (text === 'true') return () => true;
  const mod = /^(id|value)%(\d+)=(\d+)$/.exec(text);
  if (mod !== null) {
    const [, column, k, r] = mod as unknown as [string, string, string, string];
    return (row) => row[column]! % Number(k) === Number(r);
  }
  const eq = /^(id|value)=(-?\d+)$/.exec(text);
  if (eq !== null) {
    const [, column, v] = eq as unknown as [string, string, string];
    return (row) => row[column] === Number(v);
  }
  throw new Error(`bad predicate ${JSON.stringify(text)}`);
}

/** `3..5` (both ends included), then `reverse`; or nothing (the whole index). */
function parseRange(words: readonly string[]): KeyRange {
  let range: KeyRange = {};
  for (const word of words) {
    const between = /^(-?\d+)\.\.(-?\d+)$/.exec(word);
    if (between !== null) range = { ...range, gte: Number(between[1]), lte: Number(between[2]) };
    else if (word === 'reverse') range = { ...range, reverse: true };
    else throw new Error(`bad range ${JSON.stringify(words.join(' '))}`);
  }
  return range;
}

/** `value=11` or `value=value+10`. */
function parseAssignment(text: string): (row: TestRow) => number {
  const m = /^value=(?:(value)\+)?(-?\d+)$/.exec(text);
  if (m === null) throw new Error(`bad assignment ${JSON.stringify(text)}`);
  const n = Number(m[2]);
  return m[1] === undefined ? () => n : (row) => row.value + n;
}

async function collect(rows: AsyncIterable<TestRow>, where: (row: TestRow) => boolean): Promise<TestRow[]> {
  const out: TestRow[] = [];
  for await (const row of rows) if (where(row)) out.push(row);
  return out;
}

/** Runs one statement; returns its formatted result (errors propagate). */
async function execute(
  db: Database,
  sessions: Map<string, Transaction>,
  session: string,
  statement: string,
): Promise<string> {
  const words = statement.split(/\s+/);
  const verb = words[0] ?? '';
  if (verb === 'begin') {
    const isolation = words[1] as IsolationLevel;
    if (!ISOLATIONS.includes(isolation)) throw new Error(`unknown isolation level ${words[1]}`);
    if (sessions.has(session)) throw new Error(`${session} already began`);
    sessions.set(session, db.begin({ isolation }));
    return 'ok';
  }
  let table: Table<TestRow>;
  let tx: Transaction | undefined;
  if (session === 'db') {
    if (verb === 'purge') return formatRecords(db.purge());
    table = db.table<TestRow>('test');
  } else {
    tx = sessions.get(session);
    if (tx === undefined) throw new Error(`${session} has not begun`);
    if (verb === 'commit') return tx.commit().then(() => 'ok');
    if (verb === 'rollback') return tx.rollback().then(() => 'ok');
    table = tx.table<TestRow>('test');
  }
  const where = words[1] === 'where' ? parsePredicate(words[2] ?? '') : () => true;
  const range = words[1] === 'where' || !verb.startsWith('scan') ? {} : parseRange(words.slice(1));
  const key = Number(words[1]);
  switch (verb) {
    case 'get': {
      const row = table.get(key);
      return row === undefined ? 'none' : String(row.value);
    }
    case 'get-for-share':
    case 'get-for-update': {
      const row = await (verb === 'get-for-share' ? table.getForShare(key) : table.getForUpdate(key));
      return row === undefined ? 'none' : String(row.value);
    }
    case 'scan':
      return formatRows([...table.scan(range)].filter(where));
    case 'get-by-value': {
      const row = table.getByIndex(VALUE_INDEX, key);
      return row === undefined ? 'none' : formatRows([row]);
    }
    case 'scan-by-value':
      return formatRows([...table.scanIndex(VALUE_INDEX, range)]);
    case 'scan-for-share':
      return formatRows(await collect(table.scanForShare(range), where));
    case 'scan-for-update':
      return formatRows(await collect(table.scanForUpdate(range), where));
    case 'insert': {
      const value = parseAssignment(words[2] ?? '')({ id: key, value: 0 });
      await table.insert({ id: key, value });
      return '1 row';
    }
    case 'update': {
      if (words[1] === 'where') {
        const assign = parseAssignment(words[3] ?? '');
        let n = 0;
        // InnoDB's UPDATE ... WHERE: every row read with an exclusive lock, the matching ones changed.
        for await (const row of table.scanForUpdate()) {
          if (!where(row)) continue;
          await table.update(row.id, { value: assign(row) });
          n++;
        }
        return formatCount(n);
      }
      const text = words[2] ?? '';
      const assign = parseAssignment(text);
      // `value=value+1` reads the newest version under the exclusive lock first, as UPDATE does.
      const row = text.includes('+') ? await table.getForUpdate(key) : { id: key, value: 0 };
      if (row === undefined) return formatCount(0);
      return formatCount((await table.update(key, { value: assign(row) })) ? 1 : 0);
    }
    case 'delete': {
      if (words[1] === 'where') {
        let n = 0;
        for await (const row of table.scanForUpdate()) {
          if (!where(row)) continue;
          await table.delete(row.id);
          n++;
        }
        return formatCount(n);
      }
      return formatCount((await table.delete(key)) ? 1 : 0);
    }
    default:
      throw new Error(`unknown statement ${JSON.stringify(statement)}`);
  }
}

export interface ScriptResult {
  /** Each statement with what it gave, for failure messages. */
  readonly transcript: string[];
}

/** Runs a script on a fresh database; throws on the first line whose outcome differs, naming it. */
export async function runScript(script: string, options: ScriptOptions = {}): Promise<ScriptResult> {
  const db = await openTestDatabase(undefined, options);
  const sessions = new Map<string, Transaction>();
  const pending = new Map<string, Step>();
  const finished = new Map<string, Step>(); // settled, not yet acknowledged (S2)
  const transcript: string[] = [];
  function fail(lineNo: number, text: string, message: string): never {
    throw new Error(
      `script line ${lineNo} \`${text}\`: ${message}\n--- transcript so far ---\n${transcript.join('\n')}`,
    );
  }
  const matches = (expected: string, outcome: Outcome): boolean =>
    outcome.ok ? outcome.value === expected : outcome.code === expected;

  const lines = script.split('\n');
  try {
    for (let i = 0; i < lines.length; i++) {
      const lineNo = i + 1;
      const text = (lines[i] ?? '').replace(/#.*$/, '').trim();
      if (text === '') continue;

      const ack = /^->\s*(\w+)\s+(.+)$/.exec(text);
      if (ack !== null) {
        const [, session, expected] = ack as unknown as [string, string, string];
        const step = finished.get(session);
        const waiting = pending.get(session);
        if (waiting !== undefined) fail(lineNo, text, `${session}'s statement (line ${waiting.lineNo}) still waits`);
        if (step?.outcome === undefined) fail(lineNo, text, `${session} has no statement that just finished`);
        const outcome = step.outcome;
        finished.delete(session);
        transcript.push(`-> ${session} ${show(outcome)}   (line ${step.lineNo})`);
        if (expected === 'done' ? !outcome.ok : !matches(expected, outcome))
          fail(lineNo, text, `expected ${expected}, got ${explain(outcome)}`);
        checkVictim(sessions, session, outcome, (m) => fail(lineNo, text, m));
        continue;
      }

      const m = /^(\w+):\s*(.+?)\s*(?:->\s*(.+))?$/.exec(text);
      if (m === null) fail(lineNo, text, 'not a script line');
      const [, session, statement, expected] = m as unknown as [string, string, string, string | undefined];
      for (const [s, step] of finished) {
        fail(
          lineNo,
          text,
          `${s}'s statement (line ${step.lineNo}) finished with ${show(step.outcome)} before this line, and the script does not say so (S2)`,
        );
      }
      const waiting = pending.get(session);
      if (waiting !== undefined) fail(lineNo, text, `${session} still waits for line ${waiting.lineNo} (S1)`);

      const step: Step = { lineNo, text, outcome: undefined };
      void execute(db, sessions, session, statement).then(
        (value) => {
          step.outcome = { ok: true, value };
        },
        (error: unknown) => {
          step.outcome = { ok: false, code: codeOf(error), error };
        },
      );
      await drain();
      // Statements that were waiting and finished because of this one (S2).
      for (const [s, other] of pending) {
        if (other.outcome !== undefined) {
          pending.delete(s);
          finished.set(s, other);
        }
      }
      const outcome = step.outcome as Outcome | undefined; // set by the callbacks during drain()
      transcript.push(`${session}: ${statement}   -> ${show(outcome)}`);
      if (outcome === undefined) {
        if (expected !== 'waits') fail(lineNo, text, `expected ${expected ?? 'it to finish'}, but it waits`);
        pending.set(session, step);
        continue;
      }
      if (expected === 'waits') fail(lineNo, text, `expected it to wait, it finished with ${explain(outcome)}`);
      if (expected === undefined ? !outcome.ok : !matches(expected, outcome))
        fail(lineNo, text, `expected ${expected ?? 'it to finish'}, got ${explain(outcome)}`);
      checkVictim(sessions, session, outcome, (msg) => fail(lineNo, text, msg));
    }

    // S4.
    for (const [s, step] of finished)
      fail(step.lineNo, step.text, `${s}'s statement finished at the end and the script does not say so`);
    for (const [s, step] of pending) fail(step.lineNo, step.text, `${s} still waits at the end of the script`);
    for (const [s, tx] of sessions) if (tx.state === 'active') throw new Error(`script leaves ${s} open`);
    db.check();
    db.purge();
    const history = db.status().historyLength;
    if (history !== 0) throw new Error(`history list holds ${history} logs after purge with no transaction open`);
    db.check();
  } finally {
    await db.close();
  }
  return { transcript };
}

/** S3: a deadlock victim was rolled back by the engine. */
function checkVictim(
  sessions: Map<string, Transaction>,
  session: string,
  outcome: Outcome,
  fail: (message: string) => never,
): void {
  if (outcome.ok || outcome.code !== 'ERR_DEADLOCK') return;
  const tx = sessions.get(session);
  if (tx !== undefined && tx.state !== 'rolled-back')
    fail(`the deadlock victim ${session} is ${tx.state}, not rolled back`);
}
