/**
 * The whole-engine workload: a bank on the Database API (model: table-model.ts), many transactions
 * at once, interleaved by the seeded scheduler.
 *
 * Each operation names a session slot (`slot mod sessions`). A write operation on an idle slot
 * begins a transaction there (seeded isolation and durability) and starts one action, which runs
 * asynchronously (row locks may wait): transfer (two getForUpdate in seeded order, so deadlocks
 * happen, two updates, a journal row), open / rename / close an account (opening and renaming write
 * the account's large `doc` whole), patch (a partial update of the doc: diffs of 0 to 400 bytes,
 * in place or into a new LOB version, table-model.ts), a deliberate duplicate of a
 * committed journal ref inside a savepoint (ERR_DUPLICATE_KEY, then rollbackToSavepoint), a
 * locking range scan, savepoint and rollback to it. 'commit' and 'rollback' run on an idle slot,
 * synchronously: a commit that wrote is a ledger commit (numbered in log order) whose durability
 * promise the runner awaits. Deadlocks and lock wait timeouts roll the transaction back (counted).
 *
 * Readers: REPEATABLE READ snapshot readers opened at seeded moments must see the last committed
 * state when opened and the same state whenever read later (by primary key and through both
 * secondary indexes); autocommit reads see the last committed row. 'stale-view' holds an autocommit
 * read view open and runs purge at once: with the engine's guard in place the view is a fresh one;
 * on the TEST-ONLY target (`makeTableTarget({ allowPurgeViewBackwards: true })`) it is the cached
 * view reopened unchecked, seed 002's race.
 *
 * After a crash the journal says which commits survived: the recovered state must be the model
 * after a prefix k inside the ledger's window, with no transaction in part and nothing rolled back
 * or uncommitted; the total balance is conserved. Then the transactions recovery found active are
 * rolled back (`runBackgroundWork`), the state must be unchanged, purge must empty the history
 * list (no reader is open) and `db.check()` must pass.
 *
 * Errors inside asynchronous actions are classified here (the runner sees only synchronous ones):
 * expected are the simulated crash, ERR_DEADLOCK, ERR_LOCK_WAIT_TIMEOUT, ERR_CORRUPTION after an
 * injected read fault, ERR_IO (a sync failure) and what follows it; anything else is a violation,
 * reported at the next live check or recovery.
 */
import type { Transaction } from '../src/api/transaction.js';
import { SimulatedCrashError } from '../src/errors.js';
import type { ReadView } from '../src/mvcc/read-view.js';
import type { Durability } from '../src/redo/redo-log.js';
import { AssertionError } from '../src/util/assert.js';
import type { RandomSource } from '../src/util/random.js';
import { spaceFileName } from '../src/page/tablespace.js';
import type { FaultVfs } from '../src/vfs/fault-vfs.js';
import type { CommitLedger, PrefixBounds } from './ledger.js';
import type { Focus } from './swarm.js';
import {
  ACCOUNTS,
  BankState,
  INITIAL_BALANCE,
  JOURNAL,
  OWNERS,
  accountRowOf,
  accountText,
  codeOf,
  docDiffs,
  docOf,
  docText,
  fnv,
  journalRowOf,
  journalText,
  memoOf,
  sortByIndex,
  type AccountRow,
  type Effect,
  type JournalRow,
} from './table-model.js';
import {
  describeEffect,
  errorCode,
  firstDiff,
  message,
  readProblem,
  readState,
  readViolation,
  rowsText,
  stateText,
  withSnapshot,
} from './table-reads.js';
import { opGenerator, type TableOp, type TableOpKind } from './table-ops.js';
import type { TableEngine } from './table-target.js';
import type {
  ClientWork,
  OpGenerator,
  ProbeOutcome,
  SimConfig,
  Violation,
  ViolationRule,
  Workload,
  WorkloadModel,
} from './workload.js';

/** Undo records per purge batch after recovery: small, so crash points fall between batches. */
const SETTLE_PURGE_BATCH = 20;
/** Journal rows a 4 KiB page holds, about (a note averages 580 characters). */
const JOURNAL_ROWS_PER_PAGE = 5;

/** Journal rows the set-up writes: `dataPages` of them (1.5 pools by default), so every phase evicts. */
function seedJournalRows(config: SimConfig): number {
  const pages = config.dataPages ?? config.poolPages * 1.5;
  return Math.ceil((pages * JOURNAL_ROWS_PER_PAGE * config.pageSize) / 4096);
}
const SESSIONS_MIN = 2;
const READERS_MAX = 3;
const HELD_VIEWS_MAX = 2;
const VIOLATIONS_MAX = 6;

interface Session {
  /** The engine it runs on: once the runner replaces that engine (a crash), its errors mean nothing. */
  readonly engine: TableEngine;
  readonly tx: Transaction;
  readonly durability: Durability;
  readonly generation: number;
  busy: boolean;
  /** The effects of its completed actions, in order. */
  readonly effects: Effect[];
  savepointAt: number | undefined;
}

/**
 * A read-only transaction held open across other work. A REPEATABLE READ reader must read, every
 * time, exactly the committed state of the moment it opened (`atView`); a READ COMMITTED reader
 * the committed state of the moment it reads. Each read is the whole of both tables, by primary
 * key and through every index, compared row by row with the model (`readProblem`).
 */
interface Reader {
  readonly tx: Transaction;
  readonly atView: BankState | undefined;
  readonly openedAfter: number;
}

/** Counters of one model (summed by tests and printed in traces). */
export interface TableStats {
  actions: number;
  deadlocks: number;
  lockTimeouts: number;
  duplicatesRefused: number;
  savepointRollbacks: number;
  rollbacks: number;
  commits: number;
  readOnlyCommits: number;
  readersOpened: number;
  readerChecks: number;
  staleViews: number;
  recoveredRollbacks: number;
  skippedBusy: number;
}

/** The counters of every model made since the process started (tests read them). */
export const tableStatsTotal: TableStats = emptyTableStats();

function emptyTableStats(): TableStats {
  return {
    actions: 0,
    deadlocks: 0,
    lockTimeouts: 0,
    duplicatesRefused: 0,
    savepointRollbacks: 0,
    rollbacks: 0,
    commits: 0,
    readOnlyCommits: 0,
    readersOpened: 0,
    readerChecks: 0,
    staleViews: 0,
    recoveredRollbacks: 0,
    skippedBusy: 0,
  };
}

function bumpStat(name: keyof TableStats): void {
  tableStatsTotal[name]++;
}

class TableModel implements WorkloadModel<TableEngine, TableOp> {
  private readonly config: SimConfig;
  private readonly sessionCount: number;
  private readonly accountsMax: number;
  /** The committed state before commit base + 1, and commits[i]: the effects of commit base + i + 1. */
  private baseState = new BankState();
  private base = 0;
  private commits: Effect[][] = [];
  private current = new BankState();
  private total = 0;
  private nextAccountId = 1;
  private nextJid = 1;
  private generation = 0;
  private sessions: (Session | undefined)[] = [];
  private readers: Reader[] = [];
  private heldViews: ReadView[] = [];
  private pending: Violation[] = [];
  /** Which journal index and which owner the next full read checks (the journal is large). */
  private rotation = 0;
  private readFaultArmed = false;
  private ioFailed = false;
  private engine: TableEngine | undefined;

  constructor(config: SimConfig) {
    this.config = config;
    this.sessionCount = Math.max(SESSIONS_MIN, config.clients);
    this.accountsMax = 8 + (config.livePagesMax % 24);
  }

  // ----------------------------------------------------------------------------------- set-up

  setUp(engine: TableEngine, ledger: CommitLedger): void {
    this.engine = engine;
    const db = engine.db;
    db.engine.createTable(ACCOUNTS);
    db.engine.createTable(JOURNAL);
    const count = 4 + (this.config.initialPages % 12);
    const tx = db.begin({ durability: 'full' });
    const accounts = tx.table<AccountRow>('accounts');
    const failures: unknown[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.nextAccountId++;
      const account = { owner: OWNERS[i % OWNERS.length]!, balance: INITIAL_BALANCE, doc: docOf(id, 0) };
      // No lock can wait here: the insert runs to its end synchronously.
      accounts.insert(accountRowOf(id, account)).catch((error: unknown) => failures.push(error));
      this.baseState.accounts.set(id, account);
    }
    // Fat journal rows, enough to outgrow the buffer pool: every phase evicts and re-reads pages.
    const journal = tx.table<JournalRow>('journal');
    for (let i = 0; i < seedJournalRows(this.config); i++) {
      const effect: Effect = { t: 'seed', jid: this.nextJid++ };
      journal.insert(journalRowOf(effect)).catch((error: unknown) => failures.push(error));
      this.baseState.apply(effect);
    }
    tx.commit().catch((error: unknown) => failures.push(error));
    db.storage.log.flushUpTo(db.storage.log.currentLsn);
    ledger.durablePoint();
    if (db.table('accounts').count() !== count || failures.length > 0)
      throw new Error(`table workload set-up failed: ${failures.map(message).join('; ')}`);
    this.current = this.baseState.clone();
    this.total = this.baseState.totalBalance();
  }

  // ------------------------------------------------------------------------------- operations

  execute(
    engine: TableEngine,
    op: TableOp,
    ledger: CommitLedger,
    describe?: (line: string) => void,
  ): ClientWork | undefined {
    this.engine = engine;
    if (engine.halted !== undefined) return undefined;
    const slot = op.slot % this.sessionCount;
    const note = (line: string): void => describe?.(`s${slot} ${line}`);
    // After a failed log sync the engine must be reopened: what it reads until then is not checked
    // (a refused commit's changes may be visible); writes and commits go on, and must be refused.
    const logFailed = !engine.db.storage.health.isOpen;
    switch (op.kind) {
      case 'reader-open':
        if (logFailed) return undefined;
        this.readerOpen(engine, op, note);
        return undefined;
      case 'reader-check':
        if (logFailed) return undefined;
        this.readerCheck(engine, op, note);
        return undefined;
      case 'autocommit-read':
        if (logFailed) return undefined;
        this.autocommitRead(engine, op, note);
        return undefined;
      case 'stale-view':
        this.staleView(engine, note);
        return undefined;
      default:
        break;
    }
    const session = this.sessions[slot];
    if (session?.busy === true) {
      bumpStat('skippedBusy');
      note(`${op.kind}: busy`);
      return undefined;
    }
    if (op.kind === 'commit') return session === undefined ? undefined : this.commit(slot, session, ledger, note);
    if (op.kind === 'rollback') {
      if (session !== undefined) this.rollback(slot, session, note);
      return undefined;
    }
    const open = session ?? this.begin(engine, slot, op);
    this.startAction(open, op, note);
    return undefined;
  }

  private begin(engine: TableEngine, slot: number, op: TableOp): Session {
    const tx = engine.db.begin({ isolation: op.isolation, durability: op.durability });
    const session: Session = {
      engine,
      tx,
      durability: op.durability,
      generation: this.generation,
      busy: false,
      effects: [],
      savepointAt: undefined,
    };
    this.sessions[slot] = session;
    return session;
  }

  private commit(
    slot: number,
    session: Session,
    ledger: CommitLedger,
    note: (line: string) => void,
  ): ClientWork | undefined {
    this.sessions[slot] = undefined;
    const trx = session.tx.trx;
    if (session.tx.state !== 'active') return undefined;
    if (trx.insertUndo === undefined && trx.updateUndo === undefined) {
      // Nothing written: no log, no ledger commit.
      session.tx.commit().catch((error: unknown) => this.onError(session, error, 'read-only commit'));
      bumpStat('readOnlyCommits');
      note('commit (read-only)');
      return undefined;
    }
    const effects = session.effects.slice();
    const index = ledger.begin(session.durability);
    this.commits.push(effects);
    ledger.appended(index);
    const durable = session.tx.commit();
    ledger.committed(index);
    bumpStat('commits');
    for (const effect of effects) {
      const problem = this.current.apply(effect);
      if (problem !== undefined) this.violation('LIVE', `commit #${index}: ${problem}`);
    }
    note(
      `#${index} ${session.durability}: ${effects.map(describeEffect).join(', ') || '(writes rolled back to a savepoint)'}`,
    );
    return { commit: index, durable };
  }

  private rollback(slot: number, session: Session, note: (line: string) => void): void {
    this.sessions[slot] = undefined;
    if (session.tx.state !== 'active') return;
    bumpStat('rollbacks');
    note(`rollback (${session.effects.length} actions)`);
    // Synchronously (Transaction.rollback's body): an error reaches the runner at this step.
    this.engine!.db.checkOpen();
    this.engine!.db.engine.rollback(session.tx.trx);
  }

  private startAction(session: Session, op: TableOp, note: (line: string) => void): void {
    const action = this.action(session, op, note);
    if (action === undefined) return;
    session.busy = true;
    bumpStat('actions');
    action.then(
      () => {
        session.busy = false;
      },
      (error: unknown) => {
        session.busy = false;
        this.onError(session, error, op.kind);
      },
    );
  }

  /** Resolves the op's picks against the model now, and starts the action (undefined: nothing to do). */
  private action(session: Session, op: TableOp, note: (line: string) => void): Promise<void> | undefined {
    const tx = session.tx;
    const ids = this.current.accountIds();
    switch (op.kind) {
      case 'transfer': {
        if (ids.length < 2) return undefined;
        const from = ids[op.a % ids.length]!;
        let to = ids[op.b % ids.length]!;
        if (to === from) to = ids[(op.a + 1) % ids.length]!;
        note(`transfer ${op.amount === 0 ? 'all' : op.amount} ${from} -> ${to}`);
        return this.transfer(session, from, to, op.amount);
      }
      case 'open-account': {
        if (ids.length >= this.accountsMax) return undefined;
        const id = this.nextAccountId++;
        const owner = OWNERS[op.a % OWNERS.length]!;
        note(`open account ${id} for ${owner}`);
        return this.withJournal(session, async () => {
          const jid = this.nextJid++;
          await tx.table<AccountRow>('accounts').insert(accountRowOf(id, { owner, balance: 0, doc: docOf(id, jid) }));
          return { t: 'open', jid, id, owner };
        });
      }
      case 'rename': {
        if (ids.length === 0) return undefined;
        const id = ids[op.a % ids.length]!;
        const owner = OWNERS[op.b % OWNERS.length]!;
        note(`rename account ${id} to ${owner}`);
        return this.withJournal(session, async () => {
          // The owner and the unique code move to other keys of three indexes; the doc is replaced.
          const jid = this.nextJid++;
          const done = await tx
            .table<AccountRow>('accounts')
            .update(id, { owner, code: codeOf(id, owner), doc: docOf(id, jid) });
          return done ? { t: 'rename', jid, id, owner } : undefined;
        });
      }
      case 'patch': {
        if (ids.length === 0) return undefined;
        const id = ids[op.a % ids.length]!;
        note(`patch the doc of account ${id}`);
        return this.withJournal(session, async () => {
          const accounts = tx.table<AccountRow>('accounts');
          const row = await accounts.getForUpdate(id);
          if (row === undefined) return undefined;
          const jid = this.nextJid++;
          const diffs = docDiffs(jid, row.doc.length);
          if (!(await accounts.updatePartial(id, 'doc', diffs)))
            throw new Error(`account ${id} vanished while X-locked`);
          return { t: 'patch', jid, id, diffs, docRead: docText(row.doc) };
        });
      }
      case 'close-account': {
        if (ids.length <= 2) return undefined;
        const id = ids[op.a % ids.length]!;
        note(`close account ${id} if empty`);
        return this.withJournal(session, async () => {
          const accounts = tx.table<AccountRow>('accounts');
          const row = await accounts.getForUpdate(id);
          if (row === undefined || row.balance !== 0) return undefined;
          if (!(await accounts.delete(id))) throw new Error(`account ${id} vanished while X-locked`);
          return { t: 'close', jid: this.nextJid++, id };
        });
      }
      case 'duplicate': {
        const refs = [...this.current.journal.values()];
        if (refs.length === 0) return undefined;
        const taken = refs[op.a % refs.length]!;
        note(`insert a duplicate of ref ${taken.ref}`);
        return this.duplicate(session, taken);
      }
      case 'locking-scan': {
        if (ids.length === 0) return undefined;
        const low = ids[op.a % ids.length]!;
        note(`scanForUpdate accounts ${low}..${low + 3}`);
        return (async () => {
          for await (const _ of tx.table<AccountRow>('accounts').scanForUpdate({ gte: low, lte: low + 3 })) {
            // next-key locks only
          }
        })();
      }
      case 'savepoint':
        note('savepoint sp');
        tx.savepoint('sp');
        session.savepointAt = session.effects.length;
        return undefined;
      case 'rollback-to-savepoint': {
        const at = session.savepointAt;
        if (at === undefined) return undefined;
        note(`rollback to savepoint sp (drops ${session.effects.length - at} actions)`);
        bumpStat('savepointRollbacks');
        return tx.rollbackToSavepoint('sp').then(() => {
          session.effects.length = at;
        });
      }
      default:
        return undefined;
    }
  }

  private async transfer(session: Session, from: number, to: number, amount: number): Promise<void> {
    const accounts = session.tx.table<AccountRow>('accounts');
    const first = await accounts.getForUpdate(from);
    const second = await accounts.getForUpdate(to);
    if (first === undefined || second === undefined) return;
    const moved = amount === 0 ? first.balance : Math.min(amount, first.balance);
    if (moved === 0) return;
    const effect: Effect = {
      t: 'transfer',
      jid: this.nextJid++,
      from,
      to,
      amount: moved,
      fromRead: first.balance,
      toRead: second.balance,
    };
    const fromBalance = first.balance - moved;
    const toBalance = second.balance + moved;
    if (!(await accounts.update(from, { balance: fromBalance, memo: memoOf(from, fromBalance) })))
      throw new Error(`account ${from} vanished while X-locked`);
    if (!(await accounts.update(to, { balance: toBalance, memo: memoOf(to, toBalance) })))
      throw new Error(`account ${to} vanished while X-locked`);
    await session.tx.table<JournalRow>('journal').insert(journalRowOf(effect));
    session.effects.push(effect);
  }

  /** Runs an action's row changes, then writes its journal row; the effect counts once both are done. */
  private async withJournal(session: Session, body: () => Promise<Effect | undefined>): Promise<void> {
    const effect = await body();
    if (effect === undefined) return;
    await session.tx.table<JournalRow>('journal').insert(journalRowOf(effect));
    session.effects.push(effect);
  }

  private async duplicate(session: Session, taken: JournalRow): Promise<void> {
    const tx = session.tx;
    tx.savepoint('dup');
    try {
      await tx.table<JournalRow>('journal').insert({ ...taken, id: this.nextJid++ });
    } catch (error) {
      if (errorCode(error) !== 'ERR_DUPLICATE_KEY') throw error;
      bumpStat('duplicatesRefused');
      await tx.rollbackToSavepoint('dup');
      tx.releaseSavepoint('dup');
      return;
    }
    this.violation(
      'INVARIANT',
      `the unique index journal.by_ref accepted a second row with ref ${taken.ref} (committed by journal row ${taken.id})`,
    );
  }

  /** An error of an asynchronous action, commit or rollback: expected ones end the transaction. */
  private onError(session: Session, error: unknown, what: string): void {
    // An action of an engine the runner abandoned after a crash fails with ERR_CLOSED (or anything
    // else) once it resumes; the runner may have opened the next engine by then (recovery sets
    // this.engine before afterRecovery bumps the generation), so the session's own engine decides.
    const engine = session.engine;
    if (session.generation !== this.generation || engine !== this.engine || engine.vfs.crashed) return;
    for (let slot = 0; slot < this.sessions.length; slot++)
      if (this.sessions[slot] === session) this.sessions[slot] = undefined;
    const code = errorCode(error);
    if (code === 'ERR_IO' || !engine.db.storage.health.isOpen) {
      // A failed sync: the engine refuses everything until it is reopened (the runner checks that
      // no commit is acknowledged); what it says meanwhile is not data.
      this.ioFailed = true;
      return;
    }
    if (code === 'ERR_DEADLOCK') bumpStat('deadlocks');
    else if (code === 'ERR_LOCK_WAIT_TIMEOUT') bumpStat('lockTimeouts');
    else if ((code === 'ERR_CORRUPTION' || error instanceof AssertionError) && this.readFaultArmed) {
      // The injected read fault, reported as it must be; the engine is not used again this epoch.
      engine.halted = `${what}: ${message(error)}`;
      return;
    } else if (error instanceof AssertionError && this.ioFailed) {
      // refused after a failed sync
    } else if (code === 'ERR_CORRUPTION') {
      this.violation('CORRUPTION', `${what}: ERR_CORRUPTION with no fault injected: ${message(error)}`);
      return;
    } else {
      this.violation('INVARIANT', `${what}: ${message(error)}`);
      return;
    }
    if (session.tx.state === 'active') {
      try {
        engine.db.engine.rollback(session.tx.trx);
      } catch (again) {
        this.onError(session, again, `rollback after ${code}`);
      }
    }
  }

  /**
   * A violation found outside the runner's sight (an asynchronous action): kept for the next live
   * check or recovery, and the engine is halted for the rest of the epoch so that what follows
   * from it (an mtr left open: T2) is not reported in its place.
   */
  private violation(rule: ViolationRule, text: string): void {
    if (this.pending.length < VIOLATIONS_MAX) this.pending.push({ rule, message: text });
    if (this.engine !== undefined) this.engine.halted ??= text;
  }

  private takePending(): Violation[] {
    const taken = this.pending;
    this.pending = [];
    return taken;
  }

  // ---------------------------------------------------------------------------------- readers

  private readerOpen(engine: TableEngine, op: TableOp, note: (line: string) => void): void {
    if (this.readers.length >= READERS_MAX) return;
    const committed = op.b % 3 === 0;
    const tx = engine.db.begin({ isolation: committed ? 'read-committed' : 'repeatable-read', readOnly: true });
    const reader: Reader = {
      tx,
      atView: committed ? undefined : this.current.clone(),
      openedAfter: this.base + this.commits.length,
    };
    bumpStat('readersOpened');
    note(`${committed ? 'read-committed' : 'snapshot'} reader opened after commit #${reader.openedAfter}`);
    this.checkReader(reader, 'new');
    this.readers.push(reader);
  }

  private readerCheck(engine: TableEngine, op: TableOp, note: (line: string) => void): void {
    if (this.readers.length === 0) return;
    const at = op.a % this.readers.length;
    const reader = this.readers[at]!;
    bumpStat('readerChecks');
    this.checkReader(reader, 'later');
    const close = op.b % 2 === 0;
    note(
      `${reader.atView === undefined ? 'read-committed' : 'snapshot'} reader of commit #${reader.openedAfter} read again${close ? ' and closed' : ''}`,
    );
    if (close) {
      this.readers.splice(at, 1);
      void reader.tx.commit();
      this.closeHeldViews(engine);
    }
  }

  private checkReader(reader: Reader, when: string): void {
    const model = reader.atView ?? this.current;
    const problem = readProblem(reader.tx, model, this.rotation++);
    if (problem === undefined) return;
    const what =
      reader.atView === undefined
        ? 'a read-committed reader does not read the last committed state'
        : `the snapshot reader opened after commit #${reader.openedAfter} does not read the state of its view`;
    this.violation('LIVE', `${what} (${when} read): ${problem}`);
  }

  private autocommitRead(engine: TableEngine, op: TableOp, note: (line: string) => void): void {
    const ids = this.current.accountIds();
    if (ids.length === 0) return;
    const id = ids[op.a % ids.length]!;
    const accounts = engine.db.table<AccountRow>('accounts');
    const row = accounts.get(id);
    const want = accountRowOf(id, this.current.accounts.get(id)!);
    note(`autocommit get account ${id}, scan accounts by ${ACCOUNTS.indexes![op.b % ACCOUNTS.indexes!.length]!.name}`);
    if (row === undefined || accountText(row) !== accountText(want)) {
      this.violation(
        'LIVE',
        `an autocommit read of account ${id} returned ${row === undefined ? 'nothing' : accountText(row)}; committed: ${accountText(want)}`,
      );
    }
    // An autocommit scan reads one view for its whole life; nothing interleaves with it here.
    const index = ACCOUNTS.indexes![op.b % ACCOUNTS.indexes!.length]!.name;
    const got = [...accounts.scanIndex(index)].map(accountText).join('|');
    const expected = sortByIndex(this.current.accountRows(), ACCOUNTS, index).map(accountText).join('|');
    if (got !== expected)
      this.violation('LIVE', `an autocommit scan of accounts by ${index}: ${firstDiff(got, expected)}`);
  }

  private staleView(engine: TableEngine, note: (line: string) => void): void {
    const sys = engine.db.engine.trxSystem;
    engine.db.purge(); // seed 002: purge frees the history, then the view is (re)opened, then purge clones it
    const view = engine.purgeViewBackwards ? sys.reopenCachedViewUnchecked() : sys.openAutocommitView();
    bumpStat('staleViews');
    note(
      `purge, ${engine.purgeViewBackwards ? 'cached autocommit view reopened unchecked' : 'autocommit view held'}, purge`,
    );
    if (view !== undefined) {
      if (this.heldViews.length >= HELD_VIEWS_MAX) sys.closeView(this.heldViews.shift()!);
      this.heldViews.push(view);
    }
    engine.db.purge();
  }

  private closeHeldViews(engine: TableEngine): void {
    const sys = engine.db.engine.trxSystem;
    for (const view of this.heldViews) sys.closeView(view);
    this.heldViews = [];
  }

  // ----------------------------------------------------------------------------------- checks

  checkLive(engine: TableEngine): Violation[] {
    this.engine = engine;
    const violations = this.takePending();
    if (engine.halted !== undefined || !engine.db.storage.health.isOpen) return violations;
    const problem = withSnapshot(undefined, engine, (source) => readProblem(source, this.current, this.rotation++));
    if (problem !== undefined)
      violations.push({ rule: 'LIVE', message: `reads differ from the committed state: ${problem}` });
    return violations;
  }

  verifyRecovered(
    engine: TableEngine,
    bounds: PrefixBounds,
  ): { prefix: number; fingerprint: string; violations: Violation[] } {
    this.engine = engine;
    const violations = this.takePending();
    let accounts: AccountRow[];
    let journal: JournalRow[];
    try {
      [accounts, journal] = withSnapshot(
        undefined,
        engine,
        (tx) => [[...tx.table<AccountRow>('accounts').scan()], [...tx.table<JournalRow>('journal').scan()]] as const,
      );
    } catch (error) {
      violations.push(readViolation('the tables', error));
      return { prefix: -1, fingerprint: '', violations };
    }
    // Which commits the journal holds: each wholly or not at all, and a prefix of them.
    const present = new Set(journal.map((row) => row.id));
    const known = new Set(this.baseState.journal.keys());
    let highestPresent = this.base;
    let lowestAbsent = Infinity;
    this.commits.forEach((effects, i) => {
      const index = this.base + i + 1;
      const there = effects.filter((effect) => present.has(effect.jid)).length;
      for (const effect of effects) known.add(effect.jid);
      if (there > 0 && there < effects.length) {
        violations.push({
          rule: 'MTR',
          message: `commit #${index} is there in part: ${there} of its ${effects.length} journal rows`,
        });
      }
      if (effects.length === 0) return;
      if (there > 0) highestPresent = index;
      else if (lowestAbsent === Infinity) lowestAbsent = index;
    });
    for (const row of journal) {
      if (!known.has(row.id))
        violations.push({
          rule: 'MTR',
          message: `journal row ${journalText(row)} is there, but no commit wrote it (rolled back or never committed work)`,
        });
    }
    if (highestPresent > bounds.max) {
      violations.push({
        rule: 'MTR',
        message: `commit #${highestPresent} is there, but only ${bounds.max} commits ever reached the log`,
      });
      return { prefix: -1, fingerprint: '', violations };
    }
    if (highestPresent > lowestAbsent) {
      violations.push({
        rule: 'MTR',
        message: `commit #${highestPresent} is there but the earlier commit #${lowestAbsent} is not: not a prefix of the log`,
      });
    }
    if (lowestAbsent - 1 < bounds.min) {
      violations.push({
        rule: 'DURABLE',
        message: `commit #${lowestAbsent} is missing; commit #${bounds.min} had to survive (${bounds.minReason})`,
      });
    }
    const prefix = Math.min(bounds.max, Math.max(highestPresent, Math.min(bounds.min, lowestAbsent - 1)));
    const expected = this.stateAfter(prefix);
    const recovered = rowsText(accounts, journal);
    const want = stateText(expected);
    if (recovered !== want)
      violations.push({
        rule: 'MTR',
        message: `the recovered tables are not the state after commit #${prefix}: ${firstDiff(recovered, want)}`,
      });
    const total = accounts.reduce((sum, row) => sum + row.balance, 0);
    if (total !== this.total)
      violations.push({
        rule: 'MTR',
        message: `the total balance is ${total} after recovery, not ${this.total}: money was made or lost`,
      });

    return { prefix, fingerprint: `${prefix}:${fnv(recovered)}`, violations: violations.slice(0, VIOLATIONS_MAX) };
  }

  /**
   * The background work after recovery, as the engine's timers run it: each step rolls back one
   * transaction recovery found active and runs a purge batch (`runBackgroundWork`), then the page
   * cleaner with its checkpoint and the once-a-second log flush; until nothing is left. Then
   * `check()`. The committed state after commit #prefix stays, read whole through every index.
   */
  settleRecovered(engine: TableEngine, prefix: number): Violation[] {
    this.engine = engine;
    const db = engine.db;
    const violations: Violation[] = [];
    const expected = this.stateAfter(prefix);
    try {
      for (let i = 0; i < 10_000; i++) {
        const { rolledBack, purge } = db.runBackgroundWork(SETTLE_PURGE_BATCH);
        db.storage.backgroundStep();
        db.storage.log.tick();
        if (rolledBack) bumpStat('recoveredRollbacks');
        else if (purge.records === 0 && purge.logs === 0) break;
      }
      const history = db.status().historyLength;
      if (history !== 0)
        violations.push({
          rule: 'INVARIANT',
          message: `history length ${history} after a full purge with no reader open`,
        });
      db.check();
      const problem = withSnapshot(undefined, engine, (source) => readProblem(source, expected, this.rotation++, true));
      if (problem !== undefined)
        violations.push({
          rule: 'MTR',
          message: `after the rollback of the recovered transactions and purge: ${problem}`,
        });
    } catch (error) {
      if (error instanceof SimulatedCrashError) throw error;
      violations.push(readViolation('rollback of recovered transactions, purge and check()', error));
    }
    return violations;
  }

  private stateAfter(prefix: number): BankState {
    const state = this.baseState.clone();
    for (let i = 0; i < prefix - this.base; i++) for (const effect of this.commits[i]!) state.apply(effect);
    return state;
  }

  afterRecovery(engine: TableEngine, prefix: number): void {
    this.engine = engine;
    this.baseState = this.stateAfter(prefix);
    this.current = this.baseState.clone();
    this.commits = [];
    this.base = prefix;
    this.generation++;
    this.sessions = [];
    this.readers = [];
    this.heldViews = [];
    this.readFaultArmed = false;
    this.ioFailed = false;
  }

  readFaultPath(pick: number): string | undefined {
    const engine = this.engine;
    if (engine === undefined) return undefined;
    this.readFaultArmed = true;
    const ids = [...engine.db.storage.spaces.all()].map((space) => space.spaceId).sort((a, b) => a - b);
    return ids.length === 0 ? undefined : spaceFileName(ids[pick % ids.length]!);
  }

  probeCorruption(engine: TableEngine, vfs: FaultVfs, pick: number): ProbeOutcome {
    // Corrupt the next read of one uncached page of a table file, then read every table through.
    const storage = engine.db.storage;
    const spaces = [...storage.spaces.all()].map((space) => space.spaceId).filter((id) => id !== 0);
    if (spaces.length === 0) return { kind: 'missed', detail: 'no table space' };
    const spaceId = spaces[pick % spaces.length]!;
    const size = storage.spaces.require(spaceId).filePages();
    let pageNo = -1;
    for (let n = 0; n < size - 1 && pageNo < 0; n++) {
      const candidate = 1 + ((pick + n) % Math.max(1, size - 1));
      if (storage.pool.lookup(spaceId, candidate) === -1) pageNo = candidate;
    }
    if (pageNo < 0) return { kind: 'missed', detail: `every page of space ${spaceId} is cached` };
    const pageSize = storage.pageSize;
    vfs.injectReadFault({
      path: spaceFileName(spaceId),
      kind: 'corrupt',
      count: 1,
      range: { position: pageNo * pageSize + 38, length: pageSize - 46 },
    });
    let state: string;
    try {
      state = readState(undefined, engine);
      engine.db.check();
    } catch (error) {
      if (errorCode(error) === 'ERR_CORRUPTION') return { kind: 'reported' };
      throw error;
    }
    const want = stateText(this.current);
    return state === want
      ? { kind: 'missed', detail: `page ${spaceId}:${pageNo} was not read, or read back unchanged` }
      : {
          kind: 'wrong-data',
          detail: `page ${spaceId}:${pageNo} was read with a flipped bit and no ERR_CORRUPTION: ${firstDiff(state, want)}`,
        };
  }
}

/** The table workload; `weights` fixes the operation mix of every run (no swarm over it). */
export function makeTableWorkload(weights?: Readonly<Record<TableOpKind, number>>): Workload<TableEngine, TableOp> {
  return {
    ...tableWorkloadBase,
    name: weights === undefined ? tableWorkloadBase.name : `${tableWorkloadBase.name} (fixed mix)`,
    opGenerator(random: RandomSource, focus: Focus | undefined): OpGenerator<TableOp> {
      return opGenerator(random, focus, weights);
    },
  };
}

const tableWorkloadBase: Workload<TableEngine, TableOp> = {
  name: 'database bank transactions',

  opGenerator(random: RandomSource, focus: Focus | undefined): OpGenerator<TableOp> {
    return opGenerator(random, focus, undefined);
  },

  describeOp(op: TableOp): string {
    return `${op.kind} slot ${op.slot % 8} a${op.a % 1000} b${op.b % 1000}${op.kind === 'transfer' ? ` amount ${op.amount}` : ''} ${op.durability} ${op.isolation}`;
  },

  shrinkOp(op: TableOp): TableOp[] {
    const variants: TableOp[] = [];
    if (op.durability !== 'full') variants.push({ ...op, durability: 'full' });
    if (op.isolation !== 'repeatable-read') variants.push({ ...op, isolation: 'repeatable-read' });
    if (op.slot !== 0) variants.push({ ...op, slot: 0 });
    return variants;
  },

  createModel(config: SimConfig): WorkloadModel<TableEngine, TableOp> {
    return new TableModel(config);
  },
};

export const tableWorkload: Workload<TableEngine, TableOp> = tableWorkloadBase;
