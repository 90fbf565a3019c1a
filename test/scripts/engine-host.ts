/**
 * The engine's verbs for golden scripts (golden.ts has the format; test/scripts/README.md lists
 * every verb). A script opens a database on a FaultVfs, runs statements in named sessions, and
 * looks inside: version chains, locks, the purge view, the history list, the engine's health; it
 * crashes the process under a policy and recovers. The storage verbs (`storage`, `mtr`, `tail`)
 * run the storage core alone, for the redo log reader's story (seed 000). Values other than ints
 * (strings, bytes, LOB references) are written and shown as values.ts says; the LOB and
 * change-buffer verbs (`lobs`, `leaf`, `pool`, `buffered`, `entries`, seeds 003 and 004) look inside
 * through layer-verbs.ts.
 *
 * Sessions follow the rules of the old isolation runner (Hermitage style), now checked on the
 * output the script records:
 *  S1. A session runs one statement at a time: a statement of a session whose last one still
 *      waits is a script error.
 *  S2. A statement that waits prints `tN: waits`; when it finishes, the block of the command that
 *      let it go prints `-> tN: <result>`, so the script says *when* a wait ends.
 *  S3. A deadlock victim (ERR_DEADLOCK) has been rolled back by the engine.
 *  S4. When a scenario ends (the next `open`, `hermitage` or `storage`, or the end of the file) no
 *      statement waits, every session has ended, `check()` passes, purge empties the history list,
 *      and `check()` passes again. `abandon` ends a scenario without these checks (a database a
 *      test seam has broken on purpose).
 *
 * Every database runs on a FaultVfs with `background: 'manual'` and a ManualClock: nothing happens
 * between two commands unless a command does it, so every output replays.
 */
import type { Database } from '../../src/api/database.js';
import type { Table } from '../../src/api/table.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { KeyRange } from '../../src/api/types.js';
import type { Storage } from '../../src/core/storage.js';
import type { ReadView } from '../../src/mvcc/read-view.js';
import { ISOLATION_LEVELS, type IsolationLevel } from '../../src/mvcc/trx.js';
import { FIL_HEADER_BYTES, PageType, readU32 } from '../../src/page/page.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { decodeKey } from '../../src/rec/key-codec.js';
import { COLUMN_TYPES, type ColumnType, type ColumnValue, type TableSchema } from '../../src/rec/schema.js';
import { LOG_FILE, LogFile, RING_OFFSET } from '../../src/redo/log-file.js';
import { LogReader } from '../../src/redo/log-reader.js';
import { GROUP_HEADER_BYTES, GROUP_TRAILER_BYTES } from '../../src/redo/redo-record.js';
import type { DatabaseTestSeams } from '../../src/api/database.js';
import type { TableRuntime } from '../../src/row/table-runtime.js';
import { CRASH_POLICY_NAMES, type CrashImage, type CrashPolicyName, FaultVfs } from '../../src/vfs/fault-vfs.js';
import { openTestDatabase, openTestStorage, type TestDatabaseOptions } from '../support/open.js';
import { type Command, ScriptError, type ScriptHost } from './golden.js';
import * as layer from './layer-verbs.js';
import { formatValue, hex, parseDiff, parseValue } from './values.js';

/** A row as scripts write and read it (values.ts says how each value is written). */
type Row = Record<string, ColumnValue>;

type Outcome =
  | { readonly ok: true; readonly value: string }
  | { readonly ok: false; readonly code: string; readonly error: unknown };

interface Statement {
  readonly session: string;
  readonly command: Command;
  outcome: Outcome | undefined;
}

/** Lets every settled promise run its continuations (lock grants resolve synchronously). */
async function drain(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/**
 * An error as a script shows it: its code. Corruption is the story's evidence, so it also shows
 * its message and the engine functions it came through, innermost first, up to the API.
 */
function showError(code: string, error: unknown): string {
  if (code !== 'ERR_CORRUPTION') return code;
  const frames: string[] = [];
  for (const line of String((error as Error).stack ?? '').split('\n')) {
    const m = /at (?:new )?([\w.<>$]+) \(.*\/src\/(\w+)\//.exec(line);
    if (m === null) continue;
    if (m[2] === 'api' || frames.length === 8) break;
    frames.push(m[1]!);
  }
  return `${code}: ${(error as Error).message} (via ${frames.join(' < ')})`;
}

function show(outcome: Outcome): string {
  return outcome.ok ? outcome.value : showError(outcome.code, outcome.error);
}

const count = (n: number, one: string, many: string): string => `${n} ${n === 1 ? one : many}`;

/** `key=value` words after the positional ones: `durability=full`, `seam=allowPurgeViewBackwards`. */
function options(args: readonly string[]): { positional: string[]; named: Map<string, string[]> } {
  const positional: string[] = [];
  const named = new Map<string, string[]>();
  for (const arg of args) {
    const m = /^([\w-]+)=(.*)$/.exec(arg);
    if (m === null) positional.push(arg);
    else named.set(m[1]!, [...(named.get(m[1]!) ?? []), m[2]!]);
  }
  return { positional, named };
}

function bytesOption(text: string): number {
  const m = /^(\d+)([km]?)$/.exec(text);
  if (m === null) throw new ScriptError(`bad size ${text}`);
  return Number(m[1]) * (m[2] === 'k' ? 1024 : m[2] === 'm' ? 1 << 20 : 1);
}

/** `seam=allowPurgeViewBackwards`, `seam=locks.noGapInheritance`, `seam=storage.applyTornGroups`. */
function seamsOf(names: readonly string[]): DatabaseTestSeams {
  const seams: Record<string, unknown> = {};
  for (const name of names) {
    const [group, leaf] = name.includes('.') ? (name.split('.') as [string, string]) : [undefined, name];
    if (group === undefined) seams[leaf] = true;
    else seams[group] = { ...(seams[group] as object | undefined), [leaf]: true };
  }
  return seams as DatabaseTestSeams;
}

export class EngineHost implements ScriptHost {
  private db: Database | undefined;
  private storage: Storage | undefined;
  private vfs: FaultVfs | undefined;
  private openOptions: TestDatabaseOptions = {};
  private seams: DatabaseTestSeams = {};
  private tableName = '';
  private readonly sessions = new Map<string, Transaction>();
  private readonly pending = new Map<string, Statement>();
  private readonly views = new Map<string, ReadView>();
  private image: CrashImage | undefined;
  private nextSeed = 1;
  private tail: { reader: LogReader; from: number } | undefined;
  /** The LSN range of the newest group `mtr` wrote (the one `tail flip-next-read` damages). */
  private newestGroup: { start: number; end: number } | undefined;
  private page: { spaceId: number; pageNo: number } | undefined;
  /** Pages a script named (`leaf P ...`): their numbers in the current table's space. */
  private readonly named = new Map<string, number>();
  /** Seams switched on in every `open` and `recover` whatever the script says: a seed story's teeth. */
  private readonly forcedSeams: DatabaseTestSeams;

  /** `forcedSeams`: run a script with a fix reverted (the seam that reverts it), to show that its output changes. */
  constructor(forcedSeams: DatabaseTestSeams = {}) {
    this.forcedSeams = forcedSeams;
  }

  async run(command: Command): Promise<string[]> {
    const lines =
      command.prefix === undefined ? await this.global(command) : await this.statement(command.prefix, command);
    await drain();
    return [...lines, ...this.released()];
  }

  async finish(): Promise<void> {
    await this.endScenario();
  }

  // ----------------------------------------------------------------------------- sessions

  private async statement(session: string, command: Command): Promise<string[]> {
    const waiting = this.pending.get(session);
    if (waiting !== undefined)
      throw new ScriptError(`line ${command.lineNo}: ${session} still waits for line ${waiting.command.lineNo} (S1)`);
    const step: Statement = { session, command, outcome: undefined };
    void this.execute(session, command).then(
      (value) => {
        step.outcome = { ok: true, value };
      },
      (error: unknown) => {
        const code = codeOf(error);
        step.outcome = code === undefined ? { ok: false, code: '', error } : { ok: false, code, error };
      },
    );
    await drain();
    if (step.outcome === undefined) {
      this.pending.set(session, step);
      return [`${session}: waits`];
    }
    const result = this.settled(step);
    return result === 'ok' ? [] : [`${session}: ${result}`];
  }

  /** The statements that were waiting and have finished: `-> tN: result` (S2). */
  private released(): string[] {
    const lines: string[] = [];
    for (const [session, step] of this.pending) {
      if (step.outcome === undefined) continue;
      this.pending.delete(session);
      lines.push(`-> ${session}: ${this.settled(step)}`);
    }
    return lines;
  }

  /** Checks a finished statement against its `!` mark (G3) and S3; returns what it gave. */
  private settled(step: Statement): string {
    const outcome = step.outcome!;
    const where = `line ${step.command.lineNo} (${step.session}: ${step.command.text})`;
    if (!outcome.ok && outcome.code === '') throw new ScriptError(`${where} threw ${String(outcome.error)}`);
    if (outcome.ok && step.command.mustFail) throw new ScriptError(`${where} is marked ! but gave ${outcome.value}`);
    if (!outcome.ok && !step.command.mustFail)
      throw new ScriptError(`${where} failed: ${String(outcome.error)}; mark it ! if that is what it should do (G3)`);
    if (!outcome.ok && outcome.code === 'ERR_DEADLOCK') {
      const tx = this.sessions.get(step.session);
      if (tx !== undefined && tx.state !== 'rolled-back')
        throw new ScriptError(`${where}: the deadlock victim is ${tx.state}, not rolled back (S3)`);
    }
    return show(outcome);
  }

  private get database(): Database {
    if (this.db === undefined) throw new ScriptError('no database is open (`open` or `hermitage` first)');
    return this.db;
  }

  private get faultVfs(): FaultVfs {
    if (this.vfs === undefined) throw new ScriptError('nothing is open');
    return this.vfs;
  }

  private runtime(): TableRuntime {
    return this.database.engine.table(this.tableName);
  }

  private columns(): string[] {
    return this.runtime().record.schema.columns.map((c) => c.name);
  }

  /** `1=10` for a two-column table, `(1,3,3)` for a wider one (columns in table order). */
  private formatRow(row: Row): string {
    const values = this.columns().map((c) => formatValue(row[c]));
    return values.length === 2 ? `${values[0]}=${values[1]}` : `(${values.join(',')})`;
  }

  /** What a point read gives: the value for a two-column table (`10`), else the row; `none`. */
  private formatRead(row: Row | undefined): string {
    if (row === undefined) return 'none';
    const columns = this.columns();
    return columns.length === 2 ? formatValue(row[columns[1]!]) : this.formatRow(row);
  }

  private formatRows(rows: readonly Row[]): string {
    return rows.length === 0 ? 'empty' : rows.map((r) => this.formatRow(r)).join(' ');
  }

  /** `true`, `value=20`, `id%3=0`. */
  private predicate(text: string): (row: Row) => boolean {
    if (text === 'true') return () => true;
    const mod = /^(\w+)%(\d+)=(\d+)$/.exec(text);
    if (mod !== null) return (row) => Number(row[mod[1]!]) % Number(mod[2]) === Number(mod[3]);
    const eq = /^(\w+)=(-?\d+)$/.exec(text);
    if (eq !== null) return (row) => row[eq[1]!] === Number(eq[2]);
    throw new ScriptError(`bad predicate ${JSON.stringify(text)}`);
  }

  /** `value=11`, `c2=c2+1`, `c1=c1-2`, `pad=x*60`, `b=json[abc,def]`: the new values from the row as read. */
  private assignments(words: readonly string[]): { relative: boolean; apply: (row: Row) => Row } {
    const parts = words.map((word) => {
      const m = /^(\w+)=(.*)$/.exec(word);
      if (m === null) throw new ScriptError(`bad assignment ${JSON.stringify(word)}`);
      const column = m[1]!;
      const type = this.typeOf(column);
      const relative = /^(\w+)([+-])(\d+)$/.exec(m[2]!);
      if (relative === null || type !== 'int32') {
        const value = parseValue(m[2]!, type);
        return { column, relative: false, value: () => value };
      }
      if (relative[1] !== column) throw new ScriptError(`bad assignment ${JSON.stringify(word)}`);
      const delta = relative[2] === '-' ? -Number(relative[3]) : Number(relative[3]);
      return { column, relative: true, value: (row: Row) => Number(row[column]) + delta };
    });
    return {
      relative: parts.some((p) => p.relative),
      apply: (row) => Object.fromEntries(parts.map((p) => [p.column, p.value(row)])),
    };
  }

  /** The type of a column of the current table. */
  private typeOf(column: string): ColumnType {
    const found = this.runtime().record.schema.columns.find((c) => c.name === column);
    if (found === undefined) throw new ScriptError(`table ${this.tableName} has no column ${column}`);
    return found.type;
  }

  /** `3..5` (both ends included), then `reverse`; or nothing. */
  private range(words: readonly string[]): KeyRange {
    let range: KeyRange = {};
    for (const word of words) {
      const between = /^(-?\d+)\.\.(-?\d+)$/.exec(word);
      if (between !== null) range = { ...range, gte: Number(between[1]), lte: Number(between[2]) };
      else if (word === 'reverse') range = { ...range, reverse: true };
      else throw new ScriptError(`bad range ${JSON.stringify(words.join(' '))}`);
    }
    return range;
  }

  /** The first index whose first column is `column` (`get-by-value` reads through `by_value`). */
  private indexOn(column: string): string {
    const index = this.runtime().secondaries.find((s) => s.index.columns[0] === column);
    if (index === undefined) throw new ScriptError(`table ${this.tableName} has no index on ${column}`);
    return index.index.name;
  }

  private async execute(session: string, command: Command): Promise<string> {
    const { verb, args } = command;
    const db = this.database;
    if (verb === 'begin') {
      const isolation = args[0] as IsolationLevel;
      if (!ISOLATION_LEVELS.includes(isolation)) throw new ScriptError(`unknown isolation level ${args[0]}`);
      if (session === 'db' || this.sessions.get(session)?.state === 'active')
        throw new ScriptError(`line ${command.lineNo}: ${session} already began`);
      this.sessions.set(session, db.begin({ isolation, readOnly: args[1] === 'read-only' }));
      return 'ok';
    }
    let table: Table<Row>;
    if (session === 'db') table = db.table<Row>(this.tableName);
    else {
      const tx = this.sessions.get(session);
      if (tx === undefined) throw new ScriptError(`line ${command.lineNo}: ${session} has not begun`);
      if (verb === 'commit') return tx.commit().then(() => 'ok');
      if (verb === 'rollback') return tx.rollback().then(() => 'ok');
      table = tx.table<Row>(this.tableName);
    }
    const where = args[0] === 'where' ? this.predicate(args[1] ?? '') : () => true;
    const key = Number(args[0]);
    const by = /^(get|scan)-by-(\w+)$/.exec(verb);
    if (by !== null) {
      const index = this.indexOn(by[2]!);
      if (by[1] === 'get') {
        const row = table.getByIndex(index, key);
        return row === undefined ? 'none' : this.formatRow(row);
      }
      return this.formatRows([...table.scanIndex(index, this.range(args))]);
    }
    const pkColumn = this.columns()[0]!;
    switch (verb) {
      case 'get':
        return this.formatRead(table.get(key));
      case 'get-for-share':
      case 'get-for-update':
        return this.formatRead(await (verb === 'get-for-share' ? table.getForShare(key) : table.getForUpdate(key)));
      case 'scan':
      case 'scan-for-share':
      case 'scan-for-update': {
        const range = args[0] === 'where' ? {} : this.range(args);
        const rows =
          verb === 'scan'
            ? [...table.scan(range)]
            : await collect(verb === 'scan-for-share' ? table.scanForShare(range) : table.scanForUpdate(range));
        return this.formatRows(rows.filter(where));
      }
      case 'insert': {
        const values = this.assignments(args.slice(1)).apply({});
        const row: Row = Object.fromEntries(this.columns().map((c) => [c, values[c] ?? emptyValue(this.typeOf(c))]));
        row[pkColumn] = key;
        await table.insert(row);
        return '1 row';
      }
      case 'update': {
        if (args[0] === 'where') {
          const change = this.assignments(args.slice(2));
          let n = 0;
          // InnoDB's UPDATE ... WHERE: every row read with an exclusive lock, the matching ones changed.
          for await (const row of table.scanForUpdate()) {
            if (!where(row)) continue;
            await table.update(row[pkColumn] as number, change.apply(row));
            n++;
          }
          return count(n, 'row', 'rows');
        }
        const change = this.assignments(args.slice(1));
        // `value=value+1` reads the newest version under the exclusive lock first, as UPDATE does.
        const row = change.relative ? await table.getForUpdate(key) : {};
        if (row === undefined) return count(0, 'row', 'rows');
        return count((await table.update(key, change.apply(row))) ? 1 : 0, 'row', 'rows');
      }
      case 'delete': {
        if (args[0] === 'where') {
          let n = 0;
          for await (const row of table.scanForUpdate()) {
            if (!where(row)) continue;
            await table.delete(row[pkColumn] as number);
            n++;
          }
          return count(n, 'row', 'rows');
        }
        return count((await table.delete(key)) ? 1 : 0, 'row', 'rows');
      }
      case 'update-partial': {
        // `update-partial 1 b 1:0100 8:`: diffs of (offset, bytes) applied in place (issue 13).
        const [, column, ...diffs] = args;
        if (column === undefined || diffs.length === 0)
          throw new ScriptError('update-partial <key> <column> <offset>:<hex>...');
        const changed = await table.updatePartial(key, column, diffs.map(parseDiff));
        return count(changed ? 1 : 0, 'row', 'rows');
      }
      case 'read-slice': {
        // `read-slice 1 b 0 12`: bytes 0..11 of the value, read without the rest (issue 13).
        const [, column, offset, length] = args;
        if (column === undefined || offset === undefined || length === undefined)
          throw new ScriptError('read-slice <key> <column> <offset> <length>');
        const slice = table.readSlice(key, column, Number(offset), Number(length));
        return slice === undefined ? 'none' : slice === null ? 'null' : `hex:${hex(slice)}`;
      }
      default:
        throw new ScriptError(`line ${command.lineNo}: unknown statement ${JSON.stringify(command.text)}`);
    }
  }

  // ----------------------------------------------------------------------------- global verbs

  private async global(command: Command): Promise<string[]> {
    const { verb, args } = command;
    const { positional, named } = options(args);
    const run = async (): Promise<string[]> => {
      switch (verb) {
        case 'open':
          await this.open(named);
          return [];
        case 'hermitage':
          return this.hermitage(positional[0]);
        case 'table':
          await this.createTable(positional, named);
          return [];
        case 'abandon':
          this.abandonAll();
          return [];
        case 'purge':
          return [count(this.database.purge(), 'record', 'records')];
        case 'purge-view':
          return [`purge view ${this.database.engine.trxSystem.purgeView.describe()}`];
        case 'clone-purge-view':
          return [`purge view ${this.database.engine.trxSystem.clonePurgeView().describe()}`];
        case 'history':
          return [`history list ${this.database.status().historyLength}`];
        case 'check': {
          const report = this.database.check();
          return [`${count(report.rows, 'row', 'rows')}, ${count(report.entries, 'entry', 'entries')}`];
        }
        case 'health':
          return [this.health()];
        case 'tables':
          return [`tables ${this.database.tables.join(' ') || '(none)'}`];
        case 'versions':
          return this.versions(Number(positional[0]));
        case 'locks':
          return this.locks(positional[0] ?? '');
        case 'view':
          return this.view(positional);
        case 'crash':
          return this.crash(positional[0] ?? '');
        case 'recover':
          return this.recover(named);
        case 'rollback-recovered':
          return this.rollbackRecovered();
        case 'trigger':
          this.faultVfs.trigger({ skipWritesPercent: Number(named.get('skip')?.[0] ?? 100) });
          return [];
        case 'flush':
          (this.storage ?? this.database.storage).backgroundStep();
          return [];
        case 'storage':
          await this.openStorage(named);
          return [];
        case 'mtr':
          return this.mtr(Number(positional[0]));
        case 'log-write':
        case 'log-sync': {
          const log = this.core().log;
          if (verb === 'log-write') log.write();
          else log.flushUpTo(log.currentLsn);
          return [`written to lsn ${log.writtenLsn}, durable ${log.durableLsn}`];
        }
        case 'page':
          return this.readPage();
        case 'tail':
          return this.tailVerb(positional, named);
        case 'load':
          return this.load(positional[0] ?? '', args.slice(1));
        case 'reopen':
          await this.reopen();
          return [];
        case 'lobs':
          return [layer.lobs(this.database)];
        case 'leaf': {
          const [name, index] = positional;
          if (name === undefined || index === undefined) throw new ScriptError('leaf <name> <index> c=v...');
          const values = this.assignments(args.slice(2)).apply({});
          const row = Object.fromEntries(this.columns().map((c) => [c, values[c] ?? emptyValue(this.typeOf(c))]));
          const pageNo = layer.leafOf(this.runtime(), index, row);
          this.named.set(name, pageNo);
          return [`${name}: page ${pageNo} of ${this.tableName}.${index}, ${this.poolState(name)}`];
        }
        case 'pool':
          return [`${positional[0]}: ${this.poolState(positional[0] ?? '')}`];
        case 'buffered':
          return [
            `${positional[0]}: ${layer.buffered(this.database, this.runtime(), this.namedPage(positional[0] ?? ''))}`,
          ];
        case 'entries': {
          const [index, first] = positional;
          if (index === undefined || first === undefined) throw new ScriptError('entries <index> <first column value>');
          return [`${index} ${first}: ${layer.entries(this.runtime(), index, Number(first))}`];
        }
        default:
          throw new ScriptError(`line ${command.lineNo}: unknown command ${JSON.stringify(command.text)}`);
      }
    };
    try {
      const lines = await run();
      if (command.mustFail)
        throw new ScriptError(`line ${command.lineNo}: \`${command.text}\` is marked ! but did not fail`);
      return lines;
    } catch (error) {
      const code = codeOf(error);
      if (error instanceof ScriptError || code === undefined || !command.mustFail) {
        if (error instanceof ScriptError || code === undefined) throw error;
        throw new ScriptError(`line ${command.lineNo}: \`${command.text}\` failed: ${String(error)} (G3)`);
      }
      return [showError(code, error)];
    }
  }

  private namedPage(name: string): number {
    const pageNo = this.named.get(name);
    if (pageNo === undefined) throw new ScriptError(`no page named ${name} (\`leaf ${name} ...\` first)`);
    return pageNo;
  }

  private poolState(name: string): string {
    return layer.poolState(this.database, this.runtime(), this.namedPage(name));
  }

  /** `load 1..1500 v=id%250 pad=x*60`: rows 1 to 1500 in autocommit batches of 250; `c=id%N` is the key mod N. */
  private async load(keys: string, words: readonly string[]): Promise<string[]> {
    const m = /^(-?\d+)\.\.(-?\d+)$/.exec(keys);
    if (m === null) throw new ScriptError('load <first>..<last> c=v...');
    const modulo = new Map<string, number>();
    const literal = words.filter((word) => {
      const mod = /^(\w+)=id%(\d+)$/.exec(word);
      if (mod !== null) modulo.set(mod[1]!, Number(mod[2]));
      return mod === null;
    });
    const values = this.assignments(literal).apply({});
    const [pkColumn] = this.columns();
    const rows: Row[] = [];
    for (let key = Number(m[1]); key <= Number(m[2]); key++) {
      const row: Row = Object.fromEntries(this.columns().map((c) => [c, values[c] ?? emptyValue(this.typeOf(c))]));
      for (const [column, n] of modulo) row[column] = key % n;
      row[pkColumn!] = key;
      rows.push(row);
    }
    const table = this.database.table<Row>(this.tableName);
    for (let at = 0; at < rows.length; at += 250) await table.insertMany(rows.slice(at, at + 250));
    return [count(rows.length, 'row', 'rows')];
  }

  /** A clean close and a reopen on the same VFS: the buffer pool starts empty. */
  private async reopen(): Promise<void> {
    for (const [session, tx] of this.sessions)
      if (tx.state === 'active') throw new ScriptError(`reopen: ${session} is still open`);
    this.sessions.clear();
    this.views.clear();
    await this.database.close();
    this.db = await openTestDatabase(this.faultVfs, this.openOptions, this.seams);
  }

  private async open(named: Map<string, string[]>): Promise<void> {
    await this.endScenario();
    const durability = named.get('durability')?.[0];
    const redo = named.get('redo')?.[0];
    const pool = named.get('pool')?.[0];
    const changeBuffering = named.get('change-buffering')?.[0];
    this.openOptions = {
      durability: (durability ?? 'none') as 'none',
      ...(redo === undefined ? {} : { redoLogBytes: bytesOption(redo) }),
      ...(pool === undefined ? {} : { poolPages: Number(pool) }),
      ...(changeBuffering === undefined ? {} : { changeBuffering: changeBuffering as 'all' }),
    };
    this.seams = { ...seamsOf(named.get('seam') ?? []), ...this.forcedSeams };
    this.page = undefined; // a database scenario: `recover` reopens a database, not a storage core
    this.vfs = new FaultVfs({ seed: this.nextSeed++ });
    this.db = await openTestDatabase(this.vfs, this.openOptions, this.seams);
  }

  /** Hermitage's table: test (id, value) = {1: 10, 2: 20}, with `index` or `unique-index` on value. */
  private async hermitage(index: string | undefined): Promise<string[]> {
    await this.open(new Map());
    const indexes =
      index === undefined ? [] : [{ name: 'by_value', columns: ['value'], unique: index === 'unique-index' }];
    if (index !== undefined && index !== 'index' && index !== 'unique-index')
      throw new ScriptError(`hermitage takes index or unique-index, not ${index}`);
    await this.database.createTable(tableSchema('test', ['id', 'value'], indexes));
    this.tableName = 'test';
    await this.database.table<Row>('test').insertMany([
      { id: 1, value: 10 },
      { id: 2, value: 20 },
    ]);
    return [];
  }

  /** `table t1 id c1 c2 index=k_c1:c1 unique=u:c2`: int32 columns, the first is the primary key. */
  private async createTable(positional: readonly string[], named: Map<string, string[]>): Promise<void> {
    const [name, ...columns] = positional;
    if (name === undefined || columns.length === 0) throw new ScriptError('table <name> <key column> <columns>...');
    const indexes = [
      ...(named.get('index') ?? []).map((spec) => indexSpec(spec, false)),
      ...(named.get('unique') ?? []).map((spec) => indexSpec(spec, true)),
    ];
    await this.database.createTable(tableSchema(name, columns, indexes));
    this.tableName = name;
  }

  /** S4, then closes (or, after `abandon` or a crash, there is nothing left to close). */
  private async endScenario(): Promise<void> {
    for (const [session, step] of this.pending)
      throw new ScriptError(`line ${step.command.lineNo}: ${session} still waits at the end of the scenario (S4)`);
    for (const [session, tx] of this.sessions)
      if (tx.state === 'active') throw new ScriptError(`${session} is still open at the end of the scenario (S4)`);
    this.sessions.clear();
    this.views.clear();
    this.named.clear();
    this.tail = undefined;
    const db = this.db;
    if (db !== undefined) {
      db.check();
      db.purge();
      const history = db.status().historyLength;
      if (history !== 0)
        throw new ScriptError(`the history list holds ${history} logs after purge with no transaction open (S4)`);
      db.check();
      await db.close();
    }
    if (this.storage !== undefined) await this.storage.close();
    this.db = undefined;
    this.storage = undefined;
    this.vfs = undefined;
  }

  /** Ends the scenario as the process would die: no checks, nothing written. */
  private abandonAll(): void {
    this.db?.abandon();
    this.storage?.abandon();
    this.db = undefined;
    this.storage = undefined;
    this.vfs = undefined;
    this.sessions.clear();
    this.pending.clear();
    this.views.clear();
    this.tail = undefined;
  }

  private health(): string {
    const health = (this.storage ?? this.database.storage).health;
    return health.state === 'poisoned' ? `poisoned: ${String(health.cause)}` : health.state;
  }

  /** The row's versions, newest first: what each writer left (engine.versionChain). */
  private versions(key: number): string[] {
    const chain = this.database.engine.versionChain(this.runtime(), key);
    if (chain.length === 0) return ['no such row'];
    return chain.map(
      (version) =>
        `trx ${version.trxId}: ${this.formatRow(version.row as Row)}${version.deleted ? ' (delete-marked)' : ''}`,
    );
  }

  /** The locks a session's transaction holds or waits for, in the order it took them. */
  private locks(session: string): string[] {
    const tx = this.sessions.get(session);
    if (tx === undefined) throw new ScriptError(`no session ${session}`);
    const locks = this.database.engine.locks.locksOf(tx.trx);
    if (locks.length === 0) return [`${session}: no locks`];
    return locks.map(
      (lock) =>
        `${session}: ${lock.mode} ${lock.kind} ${this.describeLockKey(lock.key)}${lock.granted ? '' : ' (waiting)'}`,
    );
  }

  /** `test.PRIMARY 1`, `test.by_value (20,2)`, `test.by_value supremum`. */
  private describeLockKey(key: string): string {
    const m = /^(\d+)(?::([\s\S]*)|\/sup)$/.exec(key);
    if (m === null) return key;
    const indexId = Number(m[1]);
    const bytes = m[2] === undefined ? undefined : new Uint8Array(Buffer.from(m[2], 'latin1'));
    for (const name of this.database.tables) {
      const table = this.database.engine.table(name);
      const where =
        table.record.primary.id === indexId
          ? { label: `${name}.PRIMARY`, spec: table.layout.primaryKey }
          : table.secondaries
              .filter((s) => s.index.id === indexId)
              .map((s) => ({ label: `${name}.${s.index.name}`, spec: table.layout.indexes[s.layoutIndex]!.spec }))[0];
      if (where === undefined) continue;
      if (bytes === undefined) return `${where.label} supremum`;
      const values = decodeKey(bytes, where.spec).map(String);
      return `${where.label} ${values.length === 1 ? values[0] : `(${values.join(',')})`}`;
    }
    return `index ${indexId}`;
  }

  /**
   * Read views by name, for the purge view's story (seed 002):
   *   view open v1 autocommit    an autocommit read's view (cached for reuse: openAutocommitView)
   *   view reopen v1             the cached view, reopened without the reuse check (test seam)
   *   view close v1
   *   view show t1 | v1          a session's view, or a named one
   */
  private view(words: readonly string[]): string[] {
    const [what, name = ''] = words;
    const sys = this.database.engine.trxSystem;
    switch (what) {
      case 'open': {
        const view = sys.openAutocommitView();
        const reused = [...this.views.values()].includes(view);
        this.views.set(name, view);
        return [`${name}: ${view.describe()}${reused ? ' (the cached view, reused)' : ''}`];
      }
      case 'reopen': {
        const view = sys.reopenCachedViewUnchecked();
        if (view === undefined) return [`${name}: no cached view`];
        this.views.set(name, view);
        return [`${name}: ${view.describe()}`];
      }
      case 'close': {
        const view = this.views.get(name);
        if (view === undefined) throw new ScriptError(`no view ${name}`);
        sys.closeView(view);
        return [];
      }
      case 'show': {
        const view = this.views.get(name) ?? this.sessions.get(name)?.trx.view;
        return [`${name}: ${view === undefined ? 'no view' : view.describe()}`];
      }
      default:
        throw new ScriptError(`view open|reopen|close|show <name>`);
    }
  }

  private async crash(policy: string): Promise<string[]> {
    if (!(CRASH_POLICY_NAMES as readonly string[]).includes(policy))
      throw new ScriptError(`crash takes a policy: ${CRASH_POLICY_NAMES.join(', ')}`);
    const vfs = this.faultVfs;
    this.image = vfs.crashed ? vfs.crashImage() : vfs.crashNow(policy as CrashPolicyName);
    const waiting = [...this.pending.keys()];
    this.abandonAll();
    await drain();
    return waiting.length === 0 ? [] : [`${waiting.join(', ')} died waiting`];
  }

  /** Recovery on the crash image (with the seams of `open` unless `seam=` names others). */
  private async recover(named: Map<string, string[]>): Promise<string[]> {
    if (this.image === undefined) throw new ScriptError('recover: nothing has crashed');
    const seams = named.has('seam') ? { ...seamsOf(named.get('seam')!), ...this.forcedSeams } : this.seams;
    const storageWorld = this.page !== undefined;
    this.vfs = FaultVfs.fromImage(this.image, { seed: this.nextSeed++ });
    this.image = undefined;
    let storage: Storage;
    if (storageWorld) {
      storage = this.storage = await openTestStorage(this.vfs, STORAGE_OPTIONS);
    } else {
      this.db = await openTestDatabase(this.vfs, this.openOptions, seams);
      storage = this.db.storage;
    }
    const recovery = storage.recovery;
    const lines = [
      recovery === undefined
        ? 'nothing to recover'
        : `recovered ${count(recovery.groups, 'redo group', 'redo groups')} to lsn ${recovery.endLsn}`,
    ];
    if (this.db !== undefined) {
      const active = this.db.status().activeTransactions;
      if (active > 0) lines.push(`${count(active, 'transaction', 'transactions')} to roll back`);
    }
    return lines;
  }

  private rollbackRecovered(): string[] {
    let n = 0;
    // The rollback alone (runBackgroundWork would purge too): a script runs `purge` when it means it.
    while (this.database.engine.rollbackRecoveredStep()) n++;
    return [`rolled back ${count(n, 'transaction', 'transactions')}`];
  }

  // ----------------------------------------------------------------------------- the storage core

  private core(): Storage {
    return this.storage ?? this.database.storage;
  }

  /** `storage [preallocate-log=no]`: the storage core alone, with one page in space 1. */
  private async openStorage(named: Map<string, string[]>): Promise<void> {
    await this.endScenario();
    this.vfs = new FaultVfs({ seed: this.nextSeed++ });
    const preallocate = named.get('preallocate-log')?.[0] !== 'no';
    this.storage = await openTestStorage(this.vfs, { ...STORAGE_OPTIONS, preallocateLog: preallocate });
    this.storage.createSpace(1);
    const mtr = this.storage.startMtr();
    const { pageNo } = allocatePage(mtr, 1, PageType.Raw);
    this.storage.log.flushUpTo(mtr.commit());
    this.page = { spaceId: 1, pageNo };
  }

  /** `mtr 500`: one mini-transaction writing 500 into the page's first word: one redo group. */
  private mtr(value: number): string[] {
    const storage = this.core();
    const page = this.page!;
    const start = storage.log.currentLsn;
    const mtr = storage.startMtr();
    mtr.writeU32(mtr.getPage(page.spaceId, page.pageNo), FIL_HEADER_BYTES, value);
    const end = mtr.commit();
    this.newestGroup = { start, end };
    return [`group lsn ${start}..${end}`];
  }

  private readPage(): string[] {
    const storage = this.core();
    const mtr = storage.startMtr();
    const value = readU32(mtr.getPage(this.page!.spaceId, this.page!.pageNo), FIL_HEADER_BYTES);
    mtr.commit();
    return [`page word ${value}`];
  }

  /**
   * A live reader of the redo log (a backup, a replica: seed 000's relay-log reader):
   *   tail open                   from the log's durable end
   *   tail read                   the complete groups there now, and where the next read starts
   *   tail zero-next-read         FaultVfs armZeroTail: the next read sees the new length, zeros in place of the bytes
   *   tail flip-next-read         the next read sees one bit flipped in the records of the newest
   *                               group `mtr` wrote (a FaultVfs read fault; nothing stored changes)
   */
  private tailVerb(words: readonly string[], named: Map<string, string[]>): string[] {
    void named;
    const storage = this.core();
    const vfs = this.faultVfs;
    switch (words[0]) {
      case 'open':
        this.tail = { reader: new LogReader(LogFile.open(vfs, storage.pageSize)), from: storage.log.durableLsn };
        return [`tail at lsn ${this.tail.from}`];
      case 'read': {
        const tail = this.tail!;
        const { groups, nextLsn } = tail.reader.readGroups(tail.from, storage.log.checkpointLsn);
        tail.from = nextLsn;
        const seen = groups.map((g) => `${g.startLsn}..${g.endLsn}`).join(' ');
        return [
          `${count(groups.length, 'group', 'groups')}${seen === '' ? '' : ` (${seen})`}, next read from lsn ${nextLsn}`,
        ];
      }
      case 'zero-next-read':
        vfs.armZeroTail(LOG_FILE, { reads: 1 });
        return [];
      case 'flip-next-read': {
        const group = this.newestGroup;
        if (group === undefined) throw new ScriptError('tail flip-next-read: no `mtr` has written a group');
        // The records only: header and checksum damage are caught by the length and START_LSN checks.
        const records = { start: group.start + GROUP_HEADER_BYTES, end: group.end - GROUP_TRAILER_BYTES };
        vfs.injectReadFault({
          path: LOG_FILE,
          kind: 'corrupt',
          range: {
            position: RING_OFFSET + (records.start % storage.log.capacity),
            length: records.end - records.start,
          },
        });
        return [];
      }
      default:
        throw new ScriptError('tail open|read|zero-next-read|flip-next-read');
    }
  }
}

/** The storage world's core: 4 KiB pages, 64 frames, a 256 KiB log (as test/core's). */
const STORAGE_OPTIONS = { poolPages: 64, redoLogBytes: 256 * 1024, flushBatchPages: 8 } as const;

async function collect(rows: AsyncIterable<Row>): Promise<Row[]> {
  const out: Row[] = [];
  for await (const row of rows) out.push(row);
  return out;
}

function indexSpec(spec: string, unique: boolean): { name: string; columns: string[]; unique: boolean } {
  const [name, columns] = spec.split(':');
  if (name === undefined || columns === undefined) throw new ScriptError(`index=<name>:<col>,<col>, not ${spec}`);
  return { name, columns: columns.split(','), unique };
}

function tableSchema(
  name: string,
  columns: readonly string[],
  indexes: ReadonlyArray<{ name: string; columns: string[]; unique: boolean }>,
): TableSchema {
  return {
    name,
    columns: columns.map((column) => {
      const [columnName, type = 'int32'] = column.split(':') as [string, string | undefined];
      if (!COLUMN_TYPES.includes(type as ColumnType)) throw new ScriptError(`unknown column type ${type}`);
      return { name: columnName, type: type as ColumnType };
    }),
    primaryKey: [columns[0]!.split(':')[0]!],
    indexes,
  };
}

/** What an insert writes in a column it does not name: 0, the empty string, no bytes. */
function emptyValue(type: ColumnType): ColumnValue {
  if (type === 'string') return '';
  if (type === 'bytes') return new Uint8Array(0);
  return 0;
}
