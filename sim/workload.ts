/**
 * The simulator's two plug points: the engine it drives (`SimTarget`) and the workload it runs
 * (`Workload` and its per-run `WorkloadModel`). Everything else in `sim/` (the plan, the scheduler,
 * the faults, the runner, the checker, the shrinker, the report) is generic over both, so the
 * B-tree and transaction layers plug in a new target and workload and inherit every fault, every
 * durability check and the shrinker.
 *
 * The contract, in the order the runner uses it:
 *
 *     target.open(vfs, config, seams)      fresh database or recovery of a crash image
 *     model.setUp(engine, ledger)          the initial state, made durable
 *     model.execute(engine, op, ledger)    one client operation: its synchronous part now, and the
 *                                          durability promise the client awaits (group commit)
 *     model.checkLive(engine)              no crash: reads see every committed change
 *     -- crash --
 *     ledger.bounds(policy)                the window: which commits must survive, which may
 *     model.verifyRecovered(engine, b)     the recovered state is the model after some prefix k of
 *                                          the commits, min <= k <= max; a fingerprint of it
 *     model.settleRecovered(engine, k)     background work after recovery (rollback, purge, flush):
 *                                          the state stays; the runner may crash it and recover again
 *     model.afterRecovery(engine, k)       the model forgets commits after k; the run goes on
 *
 * A workload keeps its own model of what it did. Operations carry raw random numbers that are
 * resolved against the model when they run ("the page at pick mod live pages"), so any sub-list of
 * a plan is still a valid plan: that is what lets the shrinker delete steps freely.
 */
import type { RandomSource } from '../src/util/random.js';
import type { FaultVfs } from '../src/vfs/fault-vfs.js';
import type { EngineEvent } from '../src/vfs/vfs.js';
import type { CommitLedger, PrefixBounds } from './ledger.js';
import type { Focus } from './swarm.js';

/**
 * What a violation breaks. A closed set (STYLE: `as const` gives the type and the runtime list);
 * the crash-safety rules keep the names of DESIGN.md.
 */
export const VIOLATION_RULES = [
  'DURABLE', // a commit that had to survive (by its durability and the crash) is missing
  'MTR', // the recovered state is not the model after any prefix: an mtr in part, or garbage
  'WAL', // a page reached its tablespace with an LSN above the durable log (write oracle)
  'CHECKSUM', // an injected corruption came back as data instead of ERR_CORRUPTION
  'CORRUPTION', // the engine reported corruption where no fault was injected (e.g. a torn page it could not repair)
  'RECOVERY', // recovery failed on a crash image
  'IDEMPOTENT', // a recovery crashed and rerun gave another state than a clean recovery
  'SYNC-FAILURE', // after a failed log sync the engine still accepted or acknowledged a commit
  'DIR', // a durable create or drop of a file was undone by a crash
  'LIVE', // without a crash, a read did not return the last committed state
  'INVARIANT', // an assertion, a failed structural check, or an unexpected error
] as const;

/** Separates a fingerprint's decided state from what no commit decides (see `verifyRecovered`). */
export const UNDECIDED_MARK = '|undecided:';

export type ViolationRule = (typeof VIOLATION_RULES)[number];

export interface Violation {
  readonly rule: ViolationRule;
  readonly message: string;
}

/**
 * The test-only seams a run may remove a rule with: the storage core's (`StorageTestSeams`), then
 * the row engine's (`RowEngineTestSeams`, table workload only), each the teeth of a check.
 */
export const STORAGE_SEAM_NAMES = [
  'skipWal',
  'disableDoublewrite',
  'applyTornGroups',
  'skipPageChecks',
  'evictDirtyPages',
] as const;
export const ROW_SEAM_NAMES = [
  'recoveredMissingFromPurgeView',
  'indexChangeByFirstColumn',
  'indexScanReadsNewest',
] as const;
export const SEAM_NAMES = [...STORAGE_SEAM_NAMES, ...ROW_SEAM_NAMES] as const;
export type SeamName = (typeof SEAM_NAMES)[number];
export type SimSeams = Readonly<Partial<Record<SeamName, boolean>>>;

/** Engine sizes and workload sizes of one run, drawn from its seed. */
export interface SimConfig {
  readonly pageSize: number;
  readonly poolPages: number;
  readonly logBytes: number;
  readonly flushBatchPages: number;
  readonly clients: number;
  /** Workload pages kept live, at most and at least. */
  readonly livePagesMax: number;
  readonly livePagesMin: number;
  /** Workload spaces kept live, at most. */
  readonly liveSpacesMax: number;
  readonly initialSpaces: number;
  readonly initialPages: number;
  /**
   * Pages of data the table workload's set-up writes (its journal): more than the pool holds, so
   * every phase evicts and re-reads. Absent in plans saved before it existed: 1.5 pools.
   */
  readonly dataPages?: number;
  /**
   * Microtask turns (each two microtasks) the clients get after every step: 1 spreads an action
   * over many steps, 8 lets it finish within one. Absent in older plans: 1.
   */
  readonly clientTurns?: number;
}

/** What a background action or a clock advance did that the durability window depends on. */
export interface BackgroundResult {
  /** A documented log sync (the once-a-second tick) completed: everything committed before is durable. */
  readonly logSynced: boolean;
}

/** How the simulator opens, drives and closes one kind of engine. */
export interface SimTarget<E> {
  readonly name: string;
  /** Opens the database in `vfs`: creates it when empty, recovers it otherwise. */
  open(vfs: FaultVfs, config: SimConfig, seams: SimSeams): Promise<E>;
  /** Named background actions the scheduler may run at seeded moments. */
  readonly backgroundActions: readonly string[];
  runBackground(engine: E, action: string): BackgroundResult;
  /** Moves the engine's manual clock; its timers (page cleaner, log tick) fire. */
  advanceClock(engine: E, ms: number): BackgroundResult;
  /** The engine events this target raises while running: candidates for crash points. */
  readonly crashEvents: readonly EngineEvent[];
  /** The engine events raised while it recovers: candidates for crashing a recovery. */
  readonly recoveryCrashEvents: readonly EngineEvent[];
  /** The file a log sync failure should hit (`failNextSync`). */
  readonly logPath: string;
  /** Counters of the last recovery worth reporting (pages restored from the doublewrite buffer...). */
  recoveryCounters(engine: E): Readonly<Record<string, number>>;
  /** Buffer pool counters since open: pages read from disk and evictions (pool pressure, by phase). */
  poolCounters(engine: E): { readonly reads: number; readonly evictions: number };
  /** Structural self-checks (the buffer pool's lists today, `check()` later); throws on failure. */
  selfCheck(engine: E): void;
  /**
   * Protocol oracles on every write (rule WAL today). `engine()` is undefined while the engine is
   * opening (recovery writes pages from the synced log). Oracles report; they never throw, so they
   * never change what the engine does.
   */
  installOracles(vfs: FaultVfs, engine: () => E | undefined, report: (violation: Violation) => void): void;
  /** Drops the engine without writing (the process died). */
  abandon(engine: E): void;
  /** Closes cleanly: everything committed becomes durable. */
  close(engine: E): Promise<void>;
}

/** The engine did something the workload's model cannot have predicted (a model/engine split). */
export class ModelDivergenceError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDivergenceError';
  }
}

/** One client operation's outcome: the commit it made and the durability promise the client awaits. */
export interface ClientWork {
  readonly commit: number;
  readonly durable: Promise<void>;
}

/** A read corruption injected where the workload will read it, and what the read returned. */
export type ProbeOutcome =
  | { readonly kind: 'reported' } // ERR_CORRUPTION: correct
  | { readonly kind: 'wrong-data'; readonly detail: string } // rule CHECKSUM broken
  | { readonly kind: 'missed'; readonly detail: string }; // the fault hit nothing the workload reads

/** The model a workload keeps for one run. */
export interface WorkloadModel<E, Op> {
  /** Builds the initial state through the engine and makes it durable. */
  setUp(engine: E, ledger: CommitLedger): void;
  /**
   * Runs one client operation: the synchronous engine work now (mini-transactions, DDL), then
   * returns the durability promise, or undefined when the operation resolved to nothing. Registers
   * its commits with the ledger (`begin`, `appended`, `committed`). `describe` collects a one-line
   * account of what ran, for printed schedules.
   */
  execute(engine: E, op: Op, ledger: CommitLedger, describe?: (line: string) => void): ClientWork | undefined;
  /** Without a crash, every committed change is visible. Engine errors (corruption) propagate. */
  checkLive(engine: E): Violation[];
  /**
   * Checks a recovered engine: its state must be the model after a prefix k of the commits with
   * `bounds.min <= k <= bounds.max`. Returns k (or -1 when undecidable) and a fingerprint of the
   * recovered state (equal fingerprints: equal states). A fingerprint may end in
   * `${UNDECIDED_MARK}...`: the part of the state no commit decides (files left by a DDL a crash cut
   * short), which a later crash that loses unsynced directory operations may change.
   */
  verifyRecovered(
    engine: E,
    bounds: PrefixBounds,
  ): { readonly prefix: number; readonly fingerprint: string; readonly violations: Violation[] };
  /**
   * The engine's background work after a recovery, run to its end: the rollback of the
   * transactions recovery found active, purge, the page cleaner and a checkpoint, as the engine
   * would run them on its own. The state after commit #prefix must stay exactly as it is. The
   * runner may crash this work (at a seeded point, several times in a row) and recover again.
   * Must let a simulated crash (SimulatedCrashError) propagate.
   */
  settleRecovered(engine: E, prefix: number): Violation[];
  /** Adopts the recovered prefix and tidies up (rolls incomplete DDL forward), so the run goes on. */
  afterRecovery(engine: E, prefix: number, ledger: CommitLedger): void;
  /** The file to corrupt reads of while the workload runs (a seeded pick among its files). */
  readFaultPath(pick: number): string | undefined;
  /** Injects a read corruption on a page the workload then reads from disk, and reports the outcome. */
  probeCorruption(engine: E, vfs: FaultVfs, pick: number): ProbeOutcome;
}

/** Draws a run's operations with the run's own mix of operation kinds (swarm testing). */
export interface OpGenerator<Op> {
  /** The mix, for printed plans. */
  readonly mix: string;
  /** Draws one client operation from the workload's random stream. */
  next(random: RandomSource): Op;
}

/** A workload: draws operations, and makes a fresh model for each run. */
export interface Workload<E, Op> {
  readonly name: string;
  /**
   * Draws this run's mix from the configuration stream (which kinds of operation, which
   * durability levels, how large), biased toward the run's focus if it has one (swarm.ts), and
   * returns the generator of its operations.
   */
  opGenerator(random: RandomSource, focus: Focus | undefined): OpGenerator<Op>;
  /** A one-line description of an operation as planned (its raw picks). */
  describeOp(op: Op): string;
  /** Simpler variants of an operation, for the shrinker (may be empty). */
  shrinkOp(op: Op): Op[];
  createModel(config: SimConfig): WorkloadModel<E, Op>;
}
