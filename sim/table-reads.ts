/**
 * What the table workload reads and how it compares it with the model (sim/table-model.ts): the
 * whole state by primary key, every secondary index in its order, point lookups through the unique
 * index, a composite-prefix range, LOB slices and `count()`, and the text each violation carries.
 * Split from table-workload.ts, which generates and runs the operations; the checks are the
 * reader's concept, the same for live readers, snapshot readers and recovery.
 */
import type { Transaction } from '../src/api/transaction.js';
import { MinnoError } from '../src/errors.js';
import {
  ACCOUNTS,
  type BankState,
  JOURNAL,
  OWNERS,
  accountText,
  docText,
  journalText,
  sortByIndex,
  type AccountRow,
  type Effect,
  type JournalRow,
} from './table-model.js';
import type { TableEngine } from './table-target.js';
import type { Violation } from './workload.js';

export function errorCode(error: unknown): string | undefined {
  return error instanceof MinnoError ? error.code : undefined;
}

/** An error as one line; an engine bug (not a MinnoError) names where it was thrown from. */
export function message(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof MinnoError) return `${error.name}: ${error.message}`;
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.trim().startsWith('at '))
    .slice(0, 3)
    .map((line) => line.trim().slice(3));
  return `${error.name}: ${error.message}${frames.length > 0 ? ` (${frames.join(' < ')})` : ''}`;
}

export function describeEffect(effect: Effect): string {
  switch (effect.t) {
    case 'transfer':
      return `transfer ${effect.amount} ${effect.from}->${effect.to}`;
    case 'open':
      return `open ${effect.id}`;
    case 'rename':
      return `rename ${effect.id} ${effect.owner}`;
    case 'patch':
      return `patch ${effect.id} (${effect.diffs.map((d) => `${d.offset}+${d.bytes.length}`).join(' ')})`;
    case 'close':
      return `close ${effect.id}`;
    case 'seed':
      return `seed ${effect.jid}`;
  }
}

export function rowsText(accounts: readonly AccountRow[], journal: readonly JournalRow[]): string {
  return `accounts ${accounts.map(accountText).join('|')} journal ${journal.map(journalText).join('|')}`;
}

export function stateText(state: BankState): string {
  return `accounts ${state.accountsText()} journal ${state.journalText()}`;
}

/** Both tables by primary key through `tx` (its snapshot), or else in a read-only transaction of the checker's own. */
export function readState(tx: Transaction | undefined, engine?: TableEngine): string {
  return withSnapshot(tx, engine, (source) =>
    rowsText([...source.table<AccountRow>('accounts').scan()], [...source.table<JournalRow>('journal').scan()]),
  );
}

/**
 * Runs `read` in `tx`, or else in a read-only transaction of the checker's own: not autocommit
 * reads, which would replace the cached autocommit view that the 'autocommit-read' and
 * 'stale-view' operations play with.
 */
export function withSnapshot<T>(
  tx: Transaction | undefined,
  engine: TableEngine | undefined,
  read: (source: Transaction) => T,
): T {
  if (tx !== undefined) return read(tx);
  const own = engine!.db.begin({ isolation: 'repeatable-read', readOnly: true });
  try {
    return read(own);
  } finally {
    void own.commit();
  }
}

export function listDiff(what: string, got: readonly string[], want: readonly string[]): string | undefined {
  if (got.length === want.length && got.every((text, i) => text === want[i])) return undefined;
  return `${what}: ${firstDiff(got.join('|'), want.join('|'))}`;
}

/** The indexes one read checks: `all`, or one of the seven in rotation (frequent checks stay cheap). */
export function indexesToRead(rotation: number, all: boolean): { accounts: string[]; journal: string[] } {
  const accounts = ACCOUNTS.indexes!.map((i) => i.name);
  const journal = JOURNAL.indexes!.map((i) => i.name);
  if (all) return { accounts, journal };
  const at = rotation % (accounts.length + journal.length);
  return at < accounts.length
    ? { accounts: [accounts[at]!], journal: [] }
    : { accounts: [], journal: [journal[at - accounts.length]!] };
}

/**
 * Everything `source` reads, compared with `model`, row by row: both tables by primary key,
 * indexes whole and in their order (all of them, or one in rotation when `all` is false), a point
 * lookup through the unique by_code for every account, a composite-prefix range (one owner's
 * accounts by balance) and `count()`. Undefined when every read equals the model.
 */
export function readProblem(source: Transaction, model: BankState, rotation: number, all = false): string | undefined {
  const accounts = source.table<AccountRow>('accounts');
  const journal = source.table<JournalRow>('journal');
  const accountRows = model.accountRows();
  const journalRows = model.journalRows();
  const problem =
    listDiff('accounts by primary key', [...accounts.scan()].map(accountText), accountRows.map(accountText)) ??
    listDiff('journal by primary key', [...journal.scan()].map(journalText), journalRows.map(journalText));
  if (problem !== undefined) return problem;
  const indexes = indexesToRead(rotation, all);
  for (const index of indexes.accounts) {
    const through = listDiff(
      `accounts by ${index}`,
      [...accounts.scanIndex(index)].map(accountText),
      sortByIndex([...accountRows], ACCOUNTS, index).map(accountText),
    );
    if (through !== undefined) return through;
  }
  for (const index of indexes.journal) {
    const through = listDiff(
      `journal by ${index}`,
      [...journal.scanIndex(index)].map(journalText),
      sortByIndex([...journalRows], JOURNAL, index).map(journalText),
    );
    if (through !== undefined) return through;
  }
  for (const row of accountRows) {
    const found = accounts.getByIndex('by_code', row.code);
    if (found === undefined || accountText(found) !== accountText(row))
      return `by_code lookup of ${row.code}: got ${found === undefined ? 'nothing' : accountText(found)}, model ${accountText(row)}`;
  }
  const owner = OWNERS[rotation % OWNERS.length]!;
  const range = listDiff(
    `accounts of ${owner} by by_owner_balance`,
    [...accounts.scanIndex('by_owner_balance', { gte: [owner], lte: [owner] })].map(accountText),
    sortByIndex(
      accountRows.filter((row) => row.owner === owner),
      ACCOUNTS,
      'by_owner_balance',
    ).map(accountText),
  );
  if (range !== undefined) return range;
  // One doc in slices, in rotation: a slice of an old version reads the old bytes too (LOB-DIFF).
  const docRow = accountRows[rotation % Math.max(1, accountRows.length)];
  if (docRow !== undefined) {
    const from = (rotation * 7919) % docRow.doc.length;
    const length = Math.min(docRow.doc.length - from, 1 + ((rotation * 104_729) % 5_000));
    const slice = accounts.readSlice(docRow.id, 'doc', from, length);
    const want = docRow.doc.subarray(from, from + length);
    if (slice === undefined || slice === null || docText(slice) !== docText(want.slice()))
      return `readSlice of account ${docRow.id}'s doc [${from}, +${length}): got ${slice === undefined || slice === null ? String(slice) : docText(slice)}, model ${docText(want.slice())}`;
  }
  const count = accounts.count();
  return count === accountRows.length ? undefined : `count() of accounts is ${count}, model ${accountRows.length}`;
}

export function firstDiff(actual: string, expected: string): string {
  let at = 0;
  while (at < actual.length && at < expected.length && actual[at] === expected[at]) at++;
  const from = Math.max(0, actual.lastIndexOf('|', at - 1) + 1);
  return `got "${actual.slice(from, at + 40)}", model "${expected.slice(from, at + 40)}"`;
}

export function readViolation(what: string, error: unknown): Violation {
  if (errorCode(error) === 'ERR_CORRUPTION')
    return { rule: 'CORRUPTION', message: `${what} after recovery: ${message(error)}` };
  return { rule: 'INVARIANT', message: `${what} after recovery: ${message(error)}` };
}
