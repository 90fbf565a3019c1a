/**
 * Runs one plan: the whole life of a simulated database through its crashes.
 *
 *   create on a FaultVfs, model.setUp
 *   for each epoch:
 *     arm the crash point; run the steps (clients, yields, background, clock, live checks),
 *       arming the read corruption and the sync failure at their steps
 *     crash (at the armed point, or crashNow at the end) and abandon the engine
 *     recover a copy of the image (the reference); check it against the ledger's window
 *     maybe: crash that recovery (again), recover once more, and require the reference's state
 *     maybe: close cleanly, reopen cold, corrupt one page read, require ERR_CORRUPTION
 *     forget the commits after the recovered prefix and go on with the recovered engine
 *
 * The run stops at the first epoch with a violation (later epochs would only repeat it). Every
 * error is classified (`classify`): a simulated crash ends the epoch; ERR_CORRUPTION is expected
 * only after a read corruption was armed, ERR_IO only after a sync failure; anything else is a
 * violation. The engine's own invariants (AssertionError) count as violations too.
 *
 * Engine behaviours handled here, not hidden (each noted on issue 6):
 *  - a crash at the 'log-sync' event inside the group commit's asynchronous path surfaces as an
 *    unhandled rejection (the throw happens in a `.then` callback of redo-log.ts `startSync`, and
 *    the waiters are never settled). While a run is active a process listener swallows unhandled
 *    SimulatedCrashErrors and reports any other unhandled rejection as a violation;
 *  - after a failed log sync, the first refused `mtr.commit()` leaves its mini-transaction active,
 *    so later operations are refused with AssertionError T2 instead of ERR_IO: counted as
 *    refusals (`refusedByAssertion`), since the rule (refuse every commit) holds;
 *  - a failed tablespace sync leaves the doublewrite batch pending and the next flush stops on
 *    assertion D2; data-file sync failures are therefore off by default (fault-plan.ts).
 */
import { AssertionError } from '../src/util/assert.js';
import { MinnoError, SimulatedCrashError } from '../src/errors.js';
import { FaultVfs, SteppedSyncScheduler, type CrashImage, type CrashPolicy } from '../src/vfs/fault-vfs.js';
import {
  SIM_POLICIES,
  armCrash,
  describeCrashPoint,
  keepsUnsyncedWrites,
  type EpochFaults,
  type RecoveryCrash,
  type SettleCrash,
  type SimPolicyName,
} from './fault-plan.js';
import { CommitLedger, type PrefixBounds } from './ledger.js';
import type { EpochPlan, SimPlan } from './plan.js';
import { eventLoopTurn, microtaskTurn, type Step } from './scheduler.js';
import {
  ModelDivergenceError,
  type SimSeams,
  type SimTarget,
  type Violation,
  type Workload,
  type WorkloadModel,
  UNDECIDED_MARK,
} from './workload.js';

export interface RunOptions {
  readonly seams?: SimSeams;
  /**
   * Asynchronous syncs take 1 to 6 scheduler steps to land (FaultVfs `asyncSyncs`), so group
   * commit runs with syncs in flight while more redo is written (default on; issue 17).
   */
  readonly slowSyncs?: boolean;
  /**
   * A process crash leaves its unsynced writes in the OS cache, where a later power cut (during
   * recovery or after) can still take them (`osCacheSurvives`; default on; issue 17).
   */
  readonly osCache?: boolean;
  /** The WAL write oracle (default on). Off shows what the model alone catches. */
  readonly walOracle?: boolean;
  /** Collect a line per executed step (for printed schedules). */
  readonly trace?: boolean;
}

export interface RunViolation extends Violation {
  readonly epoch: number;
  readonly phase: string;
}

export interface RunStats {
  epochs: number;
  steps: number;
  ops: number;
  opsSkipped: number;
  background: number;
  clockAdvances: number;
  liveChecks: number;
  vfsOperations: number;
  /** Engine events raised while epochs ran (not during recovery). */
  eventsRaised: Record<string, number>;
  crashes: number;
  crashesInRecovery: number;
  recoveries: number;
  /** The target's recovery counters, summed over every recovery of a crash image. */
  recovery: Record<string, number>;
  crashKinds: Record<string, number>;
  eventsCrashedAt: Record<string, number>;
  operationsCrashedAt: Record<string, number>;
  policies: Record<string, number>;
  commits: Record<string, number>;
  acked: Record<string, number>;
  /** Commits made but not recovered (allowed by their durability). */
  commitsLost: number;
  readCorruptions: { armed: number; reported: number };
  probes: { reported: number; wrongData: number; missed: number };
  syncFailures: { armed: number; observed: number; refusals: number; refusedByAssertion: number };
  /** Epoch steps during which an asynchronous sync was in flight (slowSyncs), and crashes that caught one. */
  slowSyncs: { stepsInFlight: number; crashesInFlight: number };
  /** Crashes of the background work after a recovery (rollback, purge, flushing), and their chains. */
  settleCrashes: { chains: number; crashes: number; completedBeforeCrash: number };
  /**
   * Pool pressure by phase: how many phases ran, how many of them evicted pages, and the pages
   * read and evicted in all. Phases: 'run' (an epoch's steps), 'recovery' (open, then reading
   * everything back), 'settle' (the background work after recovery).
   */
  pool: Record<PoolPhase, { phases: number; evicting: number; reads: number; evictions: number }>;
}

export const POOL_PHASES = ['run', 'recovery', 'settle'] as const;
export type PoolPhase = (typeof POOL_PHASES)[number];

export interface RunResult {
  readonly seed: number;
  readonly stats: RunStats;
  readonly violations: readonly RunViolation[];
  readonly trace: readonly string[];
}

export function emptyStats(): RunStats {
  return {
    epochs: 0,
    steps: 0,
    ops: 0,
    opsSkipped: 0,
    background: 0,
    clockAdvances: 0,
    liveChecks: 0,
    vfsOperations: 0,
    eventsRaised: {},
    crashes: 0,
    crashesInRecovery: 0,
    recoveries: 0,
    recovery: {},
    crashKinds: {},
    eventsCrashedAt: {},
    operationsCrashedAt: {},
    policies: {},
    commits: {},
    acked: {},
    commitsLost: 0,
    readCorruptions: { armed: 0, reported: 0 },
    probes: { reported: 0, wrongData: 0, missed: 0 },
    syncFailures: { armed: 0, observed: 0, refusals: 0, refusedByAssertion: 0 },
    slowSyncs: { stepsInFlight: 0, crashesInFlight: 0 },
    settleCrashes: { chains: 0, crashes: 0, completedBeforeCrash: 0 },
    pool: {
      run: { phases: 0, evicting: 0, reads: 0, evictions: 0 },
      recovery: { phases: 0, evicting: 0, reads: 0, evictions: 0 },
      settle: { phases: 0, evicting: 0, reads: 0, evictions: 0 },
    },
  };
}

function bump(counts: Record<string, number>, key: string, by = 1): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function isCode(error: unknown, code: string): boolean {
  return error instanceof MinnoError && error.code === code;
}

function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const frame = error.stack
    ?.split('\n')
    .find((line) => line.trim().startsWith('at '))
    ?.trim();
  return `${error.name}: ${error.message}${frame === undefined ? '' : ` (${frame})`}`;
}

function fileClass(path: string): string {
  if (path === 'redo.log') return 'log';
  if (path.endsWith('.ibd')) return 'tablespace';
  if (path.endsWith('.dblwr')) return 'doublewrite';
  if (path === '.' || path === '') return 'directory';
  return path;
}

/** Why a crashed VFS crashed: F6 makes every call throw SimulatedCrashError with the reason. */
function crashReason(vfs: FaultVfs): string {
  try {
    vfs.stat('');
  } catch (error) {
    if (error instanceof SimulatedCrashError) return error.reason;
  }
  return 'unknown';
}

/** The process-level guard for unhandled rejections (see the module doc). */
let activeRun: Run<unknown, unknown> | undefined;
function onUnhandledRejection(reason: unknown): void {
  if (reason instanceof SimulatedCrashError || isCode(reason, 'ERR_SIMULATED_CRASH')) return;
  activeRun?.report({ rule: 'INVARIANT', message: `unhandled rejection: ${String(reason)}` }, 'event loop');
}

export async function runPlan<E, Op>(
  plan: SimPlan<Op>,
  workload: Workload<E, Op>,
  target: SimTarget<E>,
  options: RunOptions = {},
): Promise<RunResult> {
  const run = new Run(plan, workload, target, options);
  const installed = !process.listeners('unhandledRejection').includes(onUnhandledRejection);
  if (installed) process.on('unhandledRejection', onUnhandledRejection);
  activeRun = run as Run<unknown, unknown>;
  try {
    try {
      await run.execute();
    } catch (error) {
      // A harness reports whatever the engine does: an error that escaped every phase's own
      // classification (a set-up that failed, a probe that threw) is a violation of this run.
      run.report(
        { rule: 'INVARIANT', message: `the run stopped on an unexpected error: ${describeError(error)}` },
        run.currentPhase,
      );
    }
    run.collectLedgerStats();
  } finally {
    // Let late rejections of this run's crash arrive while the guard still stands.
    await eventLoopTurn();
    activeRun = undefined;
    if (installed) process.off('unhandledRejection', onUnhandledRejection);
  }
  return { seed: plan.seed, stats: run.stats, violations: run.violations, trace: run.trace };
}

interface Opened<E> {
  readonly engine: E;
  readonly vfs: FaultVfs;
}

/** What the steps of one epoch have seen. `alive` turns false at the crash: later callbacks are stale. */
interface EpochState {
  alive: boolean;
  stop: boolean;
  readFaultArmed: boolean;
  syncFailureArmed: boolean;
  poisoned: boolean;
  opsAfterPoison: number;
}

/** Op attempts checked for refusal after a log sync failed, before the epoch crashes. */
const OPS_AFTER_POISON = 4;
/** A slow sync lands 1 to this many scheduler steps after it starts. */
const SYNC_STEPS_MAX = 6;
const WAL_REPORTS_MAX = 3;

class Run<E, Op> {
  readonly stats = emptyStats();
  readonly violations: RunViolation[] = [];
  readonly trace: string[] = [];
  private readonly plan: SimPlan<Op>;
  private readonly target: SimTarget<E>;
  private readonly seams: SimSeams;
  private readonly walOracle: boolean;
  private readonly tracing: boolean;
  private readonly model: WorkloadModel<E, Op>;
  private readonly ledger = new CommitLedger();
  private vfsCount = 0;
  private epoch = 0;
  private readonly slowSyncs: boolean;
  private readonly osCache: boolean;
  /** The steps slow syncs land after: one per scheduler step of an epoch (`slowSyncs`). */
  private readonly syncs = new SteppedSyncScheduler();
  /** The phase now running, for errors that escape it. */
  currentPhase = 'create';
  private walReports = 0;

  constructor(plan: SimPlan<Op>, workload: Workload<E, Op>, target: SimTarget<E>, options: RunOptions) {
    this.plan = plan;
    this.target = target;
    this.seams = options.seams ?? {};
    this.walOracle = options.walOracle ?? true;
    this.slowSyncs = options.slowSyncs ?? true;
    this.osCache = options.osCache ?? true;
    this.tracing = options.trace ?? false;
    this.model = workload.createModel(plan.config);
  }

  collectLedgerStats(): void {
    Object.assign(this.stats.commits, this.ledger.stats.committed);
    Object.assign(this.stats.acked, this.ledger.stats.acked);
  }

  report(violation: Violation, phase: string): void {
    if (violation.rule === 'WAL' && ++this.walReports > WAL_REPORTS_MAX) return;
    this.violations.push({ ...violation, epoch: this.epoch, phase });
    this.note(`VIOLATION ${violation.rule}: ${violation.message}`);
  }

  private note(line: string): void {
    if (this.tracing) this.trace.push(line);
  }

  /** Counts one phase's pool work: `before` is the engine's pool counters when the phase began. */
  private countPool(phase: PoolPhase, engine: E, before: { reads: number; evictions: number }): void {
    const after = this.target.poolCounters(engine);
    const entry = this.stats.pool[phase];
    const evictions = after.evictions - before.evictions;
    entry.phases++;
    if (evictions > 0) entry.evicting++;
    entry.reads += after.reads - before.reads;
    entry.evictions += evictions;
  }

  private newVfs(image?: CrashImage): FaultVfs {
    const seed = this.plan.vfsSeed + 7919 * this.vfsCount++;
    const options = this.slowSyncs
      ? { seed, asyncSyncs: { scheduler: this.syncs, stepsMin: 1, stepsMax: SYNC_STEPS_MAX } }
      : { seed };
    return image === undefined ? new FaultVfs(options) : FaultVfs.fromImage(image, options);
  }

  /** A crash policy of the plan, with the OS cache surviving a process crash unless switched off. */
  private policy(name: SimPolicyName): CrashPolicy {
    const policy: CrashPolicy = SIM_POLICIES[name];
    return this.osCache || policy.osCacheSurvives !== true ? policy : { ...policy, osCacheSurvives: false };
  }

  /**
   * The window a recovery after further crashes must land in. A process crash left unsynced
   * writes in the OS cache; a later crash that loses unsynced writes (a power cut during the
   * recovery or its background work) may take them before recovery made them durable (RC2). Then
   * only what a power cut at the first crash keeps is owed.
   */
  private laterBounds(epochPolicy: SimPolicyName, later: SimPolicyName): { bounds: PrefixBounds; lossy: boolean } {
    const keptByEpoch = keepsUnsyncedWrites(epochPolicy) && this.policy(epochPolicy).osCacheSurvives === true;
    const lossy = keptByEpoch && !keepsUnsyncedWrites(later);
    return { bounds: this.ledger.bounds(keepsUnsyncedWrites(epochPolicy) && !lossy), lossy };
  }

  /** Awaits `promise` while stepping the slow syncs it may wait for (a close waiting for a group commit). */
  private async stepping<T>(promise: Promise<T>): Promise<T> {
    let done = false;
    const settled = promise.finally(() => {
      done = true;
    });
    while (!done) {
      if (this.syncs.pending > 0) this.syncs.step();
      await eventLoopTurn();
    }
    return settled;
  }

  /** Opens (creating or recovering) with the oracles installed; undefined and a violation if it fails. */
  private async open(vfs: FaultVfs, phase: string): Promise<E | undefined> {
    let engine: E | undefined;
    if (this.walOracle)
      this.target.installOracles(
        vfs,
        () => engine,
        (violation) => this.report(violation, phase),
      );
    try {
      engine = await this.target.open(vfs, this.plan.config, this.seams);
    } catch (error) {
      if (vfs.crashed) throw error;
      this.report(
        isCode(error, 'ERR_CORRUPTION')
          ? { rule: 'CORRUPTION', message: `${phase} reports corruption: ${(error as Error).message}` }
          : { rule: 'RECOVERY', message: `${phase} failed: ${String(error)}` },
        phase,
      );
      return undefined;
    }
    return engine;
  }

  async execute(): Promise<void> {
    const vfs = this.newVfs();
    const engine = await this.open(vfs, 'create');
    if (engine === undefined) return;
    this.currentPhase = 'set-up';
    this.model.setUp(engine, this.ledger);
    let current: Opened<E> | undefined = { engine, vfs };
    for (let e = 0; e < this.plan.epochs.length && current !== undefined; e++) {
      this.epoch = e + 1;
      this.stats.epochs++;
      this.currentPhase = 'run';
      const image = await this.runEpoch(this.plan.epochs[e]!, current);
      if (this.violations.length > 0) return;
      this.currentPhase = 'recovery';
      current = await this.recover(this.plan.epochs[e]!.faults, image);
      if (this.violations.length > 0) {
        if (current !== undefined) this.target.abandon(current.engine);
        return;
      }
    }
    if (current !== undefined) this.target.abandon(current.engine);
  }

  // ------------------------------------------------------------------------------------- epoch

  private async runEpoch(epoch: EpochPlan<Op>, current: Opened<E>): Promise<CrashImage> {
    const { engine, vfs } = current;
    const faults = epoch.faults;
    const operationsBefore = vfs.mutatingOperations;
    const eventsBefore = vfs.eventCounts();
    const poolBefore = this.target.poolCounters(engine);
    armCrash(vfs, faults.crash, this.policy(faults.policy));
    this.note(`epoch ${this.epoch}: crash armed at ${describeCrashPoint(faults.crash)} under ${faults.policy}`);
    const state: EpochState = {
      alive: true,
      stop: false,
      readFaultArmed: false,
      syncFailureArmed: false,
      poisoned: false,
      opsAfterPoison: 0,
    };
    const busy = new Array<boolean>(this.plan.config.clients).fill(false);
    for (let i = 0; i < epoch.steps.length && !vfs.crashed && !state.stop; i++) {
      this.armStepFaults(faults, i, vfs, state);
      this.stats.steps++;
      try {
        await this.runStep(epoch.steps[i]!, i, engine, vfs, state, busy);
      } catch (error) {
        this.classify(error, vfs, state, `step ${i + 1}`);
      }
      // Let the clients resume. The pace is drawn per run: one turn keeps actions spread over many
      // steps (more transactions in flight, at crashes too); several let an action's chain of
      // awaits finish within its step (more commits, so more group commits with syncs in flight).
      for (let turn = 0; turn < (this.plan.config.clientTurns ?? 1); turn++) await microtaskTurn();
      // A scheduler step passes for the device too: slow syncs due now land.
      if (this.slowSyncs && !vfs.crashed) {
        if (vfs.syncsInFlight > 0) this.stats.slowSyncs.stepsInFlight++;
        this.syncs.step();
      }
    }
    if (vfs.syncsInFlight > 0) this.stats.slowSyncs.crashesInFlight++;
    if (!vfs.crashed) vfs.crashNow(this.policy(faults.policy));
    state.alive = false;
    this.countPool('run', engine, poolBefore);
    this.stats.vfsOperations += vfs.mutatingOperations - operationsBefore;
    for (const [name, count] of Object.entries(vfs.eventCounts())) {
      if (count > eventsBefore[name as keyof typeof eventsBefore])
        bump(this.stats.eventsRaised, name, count - eventsBefore[name as keyof typeof eventsBefore]);
    }
    this.countCrash(vfs, faults.policy, false);
    this.target.abandon(engine);
    return vfs.crashImage();
  }

  private armStepFaults(faults: EpochFaults, step: number, vfs: FaultVfs, state: EpochState): void {
    if (faults.readCorruption?.atStep === step) {
      const path = this.model.readFaultPath(faults.readCorruption.pick);
      if (path !== undefined) {
        vfs.injectReadFault({ path, kind: 'corrupt', count: 1 });
        state.readFaultArmed = true;
        this.stats.readCorruptions.armed++;
        this.note(`read corruption armed on ${path}`);
      }
    }
    const failure = faults.syncFailure;
    if (failure?.atStep === step) {
      const path =
        failure.target === 'log'
          ? this.target.logPath
          : failure.target === 'data'
            ? this.model.readFaultPath(failure.pick)
            : undefined;
      vfs.failNextSync(path);
      state.syncFailureArmed = true;
      this.ledger.syncFailureInjected();
      this.stats.syncFailures.armed++;
      this.note(`sync failure armed (${path ?? 'any file'})`);
    }
  }

  private async runStep(
    step: Step<Op>,
    index: number,
    engine: E,
    vfs: FaultVfs,
    state: EpochState,
    busy: boolean[],
  ): Promise<void> {
    const prefix = `e${this.epoch} s${index + 1}`;
    switch (step.kind) {
      case 'op': {
        if (busy[step.client] === true) {
          this.stats.opsSkipped++;
          this.note(`${prefix} c${step.client} busy`);
          return;
        }
        this.stats.ops++;
        if (state.poisoned && ++state.opsAfterPoison >= OPS_AFTER_POISON) state.stop = true;
        const work = this.model.execute(
          engine,
          step.op,
          this.ledger,
          this.tracing ? (line) => this.note(`${prefix} c${step.client} ${line}`) : undefined,
        );
        if (work === undefined) return;
        if (state.poisoned) {
          this.report(
            { rule: 'SYNC-FAILURE', message: `commit #${work.commit} was accepted after the log's sync failed` },
            'run',
          );
        }
        busy[step.client] = true;
        const durability = this.ledger.record(work.commit).durability;
        work.durable.then(
          () => {
            if (!state.alive) return;
            busy[step.client] = false;
            this.ledger.acked(work.commit);
            if (state.poisoned && durability === 'full') {
              this.report(
                {
                  rule: 'SYNC-FAILURE',
                  message: `commit #${work.commit} was acknowledged durable after the log's sync failed`,
                },
                'run',
              );
            }
          },
          (error: unknown) => {
            if (!state.alive) return;
            busy[step.client] = false;
            this.ledger.rejected(work.commit);
            this.classify(error, vfs, state, `commit #${work.commit}`);
          },
        );
        return;
      }
      case 'yield':
        this.note(`${prefix} yield`);
        await eventLoopTurn();
        return;
      case 'background': {
        this.stats.background++;
        this.note(`${prefix} ${step.action}`);
        const result = this.target.runBackground(engine, step.action);
        if (result.logSynced && !vfs.crashed) this.ledger.logSynced();
        return;
      }
      case 'clock': {
        this.stats.clockAdvances++;
        this.note(`${prefix} clock +${step.ms}ms`);
        const result = this.target.advanceClock(engine, step.ms);
        if (result.logSynced && !vfs.crashed) this.ledger.logSynced();
        return;
      }
      case 'check':
        if (state.poisoned) return;
        this.stats.liveChecks++;
        this.note(`${prefix} live check`);
        for (const violation of this.model.checkLive(engine)) this.report(violation, 'live check');
        if (this.violations.length > 0) state.stop = true;
        return;
    }
  }

  /** Decides what an error means (see the module doc). */
  private classify(error: unknown, vfs: FaultVfs, state: EpochState, where: string): void {
    if (vfs.crashed) {
      state.stop = true;
      return;
    }
    if (error instanceof ModelDivergenceError) {
      this.report({ rule: 'LIVE', message: `${where}: ${error.message}` }, 'run');
    } else if (isCode(error, 'ERR_CORRUPTION') && state.readFaultArmed) {
      this.stats.readCorruptions.reported++;
      this.note(`${where}: injected corruption reported (${(error as Error).message})`);
    } else if (isCode(error, 'ERR_CORRUPTION')) {
      this.report(
        { rule: 'CORRUPTION', message: `${where}: ERR_CORRUPTION with no fault injected: ${(error as Error).message}` },
        'run',
      );
    } else if (isCode(error, 'ERR_IO') && state.syncFailureArmed) {
      if (!state.poisoned) this.stats.syncFailures.observed++;
      else this.stats.syncFailures.refusals++;
      const path = (error as { path?: string }).path;
      this.note(`${where}: ${(error as Error).message}`);
      if (path === this.target.logPath) {
        state.poisoned = true;
        return; // go on: the next operations must all be refused
      }
      // A data-file sync failed: stop, as InnoDB does on a failed fsync.
    } else if (isCode(error, 'ERR_IO') && state.readFaultArmed) {
      // An injected read corruption met inside a mini-transaction that had already changed pages:
      // the engine refuses all further work (storage C4), and a commit waiting for its sync fails.
      this.note(`${where}: refused after the injected corruption (${(error as Error).message})`);
    } else if (error instanceof AssertionError && state.poisoned) {
      this.stats.syncFailures.refusedByAssertion++;
      this.note(`${where}: refused with ${error.message}`);
      return;
    } else {
      this.report(
        {
          rule: 'INVARIANT',
          message: `${where}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        },
        'run',
      );
    }
    state.stop = true;
  }

  private countCrash(vfs: FaultVfs, policy: SimPolicyName, inRecovery: boolean): void {
    const reason = crashReason(vfs);
    this.stats.crashes++;
    if (inRecovery) this.stats.crashesInRecovery++;
    bump(this.stats.policies, policy);
    const event = /^engine event (\S+) #/.exec(reason);
    const operation = /^(?:mutating operation|sync) \d+: (\S+) (.*)$/.exec(reason);
    if (event !== null) {
      bump(this.stats.crashKinds, 'event');
      bump(this.stats.eventsCrashedAt, event[1]!);
    } else if (operation !== null) {
      bump(this.stats.crashKinds, reason.startsWith('sync') ? 'sync' : 'operation');
      bump(this.stats.operationsCrashedAt, `${operation[1]!} ${fileClass(operation[2]!)}`);
    } else {
      bump(this.stats.crashKinds, 'end');
    }
    this.note(`crash${inRecovery ? ' during recovery' : ''}: ${reason} under ${policy}`);
  }

  // ---------------------------------------------------------------------------------- recovery

  private async recover(faults: EpochFaults, image: CrashImage): Promise<Opened<E> | undefined> {
    const bounds = this.ledger.bounds(keepsUnsyncedWrites(faults.policy));
    const vfs = this.newVfs(image);
    const engine = await this.open(vfs, 'recovery');
    if (engine === undefined) return undefined;
    this.stats.recoveries++;
    const recoveryOperations = vfs.mutatingOperations;
    const recoveryEvents = vfs.eventCounts();
    const reference = this.verify(engine, bounds, 'recovery');
    this.countPool('recovery', engine, { reads: 0, evictions: 0 });
    this.note(
      `recovered the first ${reference.prefix} commits (window ${bounds.min}..${bounds.max}: ${bounds.minReason}) in ${recoveryOperations} operations`,
    );
    if (reference.prefix < 0 || this.violations.length > 0) return { engine, vfs };
    this.stats.commitsLost += bounds.max - reference.prefix;
    const settleOperations = this.settle(engine, vfs, reference.prefix, 'background work after recovery');
    if (this.violations.length > 0) return { engine, vfs };
    if (faults.recoveryCrash !== undefined) {
      await this.crashRecovery(
        image,
        faults.recoveryCrash,
        recoveryOperations,
        recoveryEvents,
        reference,
        faults.policy,
      );
    }
    if (this.violations.length === 0 && faults.settleCrash !== undefined) {
      await this.crashSettle(image, faults.settleCrash, settleOperations, reference, faults.policy);
    }
    if (this.violations.length > 0) return { engine, vfs };
    this.ledger.truncate(reference.prefix);
    this.model.afterRecovery(engine, reference.prefix, this.ledger);
    if (faults.corruptionProbe === undefined) return { engine, vfs };
    return this.probe(engine, vfs, faults.corruptionProbe.pick);
  }

  /** Runs the background work after a recovery to its end; returns the mutating operations it took. */
  private settle(engine: E, vfs: FaultVfs, prefix: number, phase: string): number {
    const before = vfs.mutatingOperations;
    const pool = this.target.poolCounters(engine);
    for (const violation of this.model.settleRecovered(engine, prefix)) this.report(violation, phase);
    this.countPool('settle', engine, pool);
    return vfs.mutatingOperations - before;
  }

  /**
   * Crashes the background work after a recovery of `image`, `plan.times` times in a row (each
   * time on the image the previous crash left), then recovers once more, settles to the end, and
   * requires the clean recovery's state (rule IDEMPOTENT; seed 002 and issue 9 live in this work).
   */
  private async crashSettle(
    image: CrashImage,
    plan: SettleCrash,
    operations: number,
    reference: { prefix: number; fingerprint: string },
    epochPolicy: SimPolicyName,
  ): Promise<void> {
    if (operations === 0) return;
    this.stats.settleCrashes.chains++;
    const { bounds, lossy } = this.laterBounds(epochPolicy, plan.policy);
    let source = image;
    for (let attempt = 0; attempt < plan.times; attempt++) {
      const vfs = this.newVfs(source);
      const phase = `recovery ${attempt + 1} of a chain of crashed background work`;
      const engine = await this.open(vfs, phase);
      if (engine === undefined) return;
      // The same reads as the clean recovery before its background work, so the crash point
      // (a share of the operations that work took there) lands inside it.
      const recovered = this.verify(engine, bounds, phase);
      this.checkSameState(recovered, reference, phase, lossy);
      if (this.violations.length > 0) {
        this.target.abandon(engine);
        return;
      }
      // A later attempt has less work left: measure it on a copy of the image first.
      const work = attempt === 0 ? operations : await this.measureSettle(source, bounds, recovered.prefix);
      if (work === 0) {
        this.target.abandon(engine);
        this.stats.settleCrashes.completedBeforeCrash++;
        break;
      }
      // Squared: early points leave work for the next crash of the chain.
      vfs.crashAtOperation(1 + Math.floor(plan.fractions[attempt]! ** 2 * work), this.policy(plan.policy));
      try {
        const violations = this.model.settleRecovered(engine, recovered.prefix);
        for (const violation of violations) this.report(violation, 'background work after recovery (to be crashed)');
        this.target.abandon(engine);
        this.stats.settleCrashes.completedBeforeCrash++;
        break; // finished before the crash point: nothing left to crash
      } catch (error) {
        if (!vfs.crashed) {
          this.report(
            { rule: 'INVARIANT', message: `background work after recovery threw: ${String(error)}` },
            'background work after recovery',
          );
          this.target.abandon(engine);
          return;
        }
      }
      this.target.abandon(engine);
      this.countCrash(vfs, plan.policy, true);
      this.stats.settleCrashes.crashes++;
      source = vfs.crashImage();
    }
    if (source === image || this.violations.length > 0) return;
    const vfs = this.newVfs(source);
    const phase = 'recovery after crashed background work';
    const engine = await this.open(vfs, phase);
    if (engine === undefined) return;
    this.stats.recoveries++;
    const rerun = this.verify(engine, bounds, phase);
    this.checkSameState(rerun, reference, phase, lossy);
    if (this.violations.length === 0) this.settle(engine, vfs, rerun.prefix, phase);
    this.target.abandon(engine);
  }

  /** The mutating operations the background work after a recovery of `image` takes (on a copy). */
  private async measureSettle(image: CrashImage, bounds: PrefixBounds, prefix: number): Promise<number> {
    const vfs = this.newVfs(image);
    let engine: E | undefined;
    try {
      engine = await this.target.open(vfs, this.plan.config, this.seams);
      this.model.verifyRecovered(engine, bounds);
      const before = vfs.mutatingOperations;
      this.model.settleRecovered(engine, prefix);
      return vfs.mutatingOperations - before;
    } catch {
      return 0; // the attempt itself will meet and report whatever failed here
    } finally {
      if (engine !== undefined) this.target.abandon(engine);
    }
  }

  /**
   * Rule IDEMPOTENT: a recovery after crashed recovery work equals the clean recovery. When a
   * later crash may have taken what a process crash left in the OS cache (`lossy`), an earlier
   * prefix is allowed too: `verify` has checked the state against the model at that prefix.
   */
  private checkSameState(
    rerun: { prefix: number; fingerprint: string },
    reference: { prefix: number; fingerprint: string },
    phase: string,
    lossy = false,
  ): void {
    if (rerun.prefix === reference.prefix && rerun.fingerprint === reference.fingerprint) return;
    if (lossy && rerun.prefix >= 0 && rerun.prefix < reference.prefix) return;
    if (lossy && rerun.prefix === reference.prefix && decided(rerun.fingerprint) === decided(reference.fingerprint))
      return; // only leftovers of a cut-short DDL differ, and the later crash may lose directory operations
    this.report(
      {
        rule: 'IDEMPOTENT',
        message: `${phase} gave prefix ${rerun.prefix} (state ${rerun.fingerprint}); a clean recovery gave ${reference.prefix} (${reference.fingerprint})`,
      },
      phase,
    );
  }

  private verify(engine: E, bounds: PrefixBounds, phase: string): { prefix: number; fingerprint: string } {
    for (const [name, count] of Object.entries(this.target.recoveryCounters(engine)))
      bump(this.stats.recovery, name, count);
    const result = this.model.verifyRecovered(engine, bounds);
    for (const violation of result.violations) this.report(violation, phase);
    try {
      this.target.selfCheck(engine);
    } catch (error) {
      this.report({ rule: 'INVARIANT', message: `self-check after ${phase}: ${String(error)}` }, phase);
    }
    return result;
  }

  /**
   * Crashes a recovery of `image` (and maybe the one after it), recovers to the end, and requires
   * the state of the clean recovery (rule IDEMPOTENT: every recovery step may be redone).
   */
  private async crashRecovery(
    image: CrashImage,
    plan: RecoveryCrash,
    operations: number,
    events: Readonly<Record<string, number>>,
    reference: { prefix: number; fingerprint: string },
    epochPolicy: SimPolicyName,
  ): Promise<void> {
    const { bounds, lossy } = this.laterBounds(epochPolicy, plan.policy);
    let source = image;
    for (let attempt = 0; attempt < (plan.again ? 2 : 1); attempt++) {
      const vfs = this.newVfs(source);
      const count = plan.event === undefined ? operations : (events[plan.event] ?? 0);
      if (count === 0) break;
      const at = 1 + Math.floor(plan.fraction * count);
      if (plan.event === undefined) vfs.crashAtOperation(at, this.policy(plan.policy));
      else vfs.crashAtEvent(plan.event, at, this.policy(plan.policy));
      try {
        const engine = await this.open(vfs, 'recovery (to be crashed)');
        if (engine === undefined) return;
        this.target.abandon(engine); // finished before the crash point: nothing to crash
        break;
      } catch (error) {
        if (!vfs.crashed) throw error;
      }
      this.countCrash(vfs, plan.policy, true);
      source = vfs.crashImage();
    }
    if (source === image) return;
    const vfs = this.newVfs(source);
    const engine = await this.open(vfs, 'recovery after a crashed recovery');
    if (engine === undefined) return;
    this.stats.recoveries++;
    const rerun = this.verify(engine, bounds, 'recovery after a crashed recovery');
    this.checkSameState(rerun, reference, 'a crashed and rerun recovery', lossy);
    if (this.violations.length === 0) this.settle(engine, vfs, rerun.prefix, 'recovery after a crashed recovery');
    this.target.abandon(engine);
  }

  /**
   * Closes cleanly, reopens cold, corrupts one page read and reads it: it must raise
   * ERR_CORRUPTION (rule CHECKSUM). Then everything committed must be there (a clean close loses nothing).
   */
  private async probe(engine: E, vfs: FaultVfs, pick: number): Promise<Opened<E> | undefined> {
    try {
      await this.stepping(this.target.close(engine));
    } catch (error) {
      this.report({ rule: 'INVARIANT', message: `clean close failed: ${String(error)}` }, 'close');
      return undefined;
    }
    const reopenedVfs = this.newVfs(vfs.durableImage());
    const reopened = await this.open(reopenedVfs, 'reopen after a clean close');
    if (reopened === undefined) return undefined;
    const outcome = this.model.probeCorruption(reopened, reopenedVfs, pick);
    reopenedVfs.clearReadFaults();
    if (outcome.kind === 'reported') this.stats.probes.reported++;
    else if (outcome.kind === 'missed') this.stats.probes.missed++;
    else {
      this.stats.probes.wrongData++;
      this.report({ rule: 'CHECKSUM', message: outcome.detail }, 'corruption probe');
      return { engine: reopened, vfs: reopenedVfs };
    }
    this.note(`corruption probe: ${outcome.kind}`);
    const all = this.ledger.last;
    this.verify(
      reopened,
      { min: all, max: all, minReason: 'the database was closed cleanly' },
      'reopen after a clean close',
    );
    return { engine: reopened, vfs: reopenedVfs };
  }
}

/** The part of a recovered state's fingerprint that the commits decide (see `UNDECIDED_MARK`). */
function decided(fingerprint: string): string {
  const at = fingerprint.indexOf(UNDECIDED_MARK);
  return at < 0 ? fingerprint : fingerprint.slice(0, at);
}
