/**
 * The faults of one epoch of a run: where the crash comes and under which policy, and the other
 * faults (a read corruption, a failed sync, a crash during recovery, a corruption probe after it).
 * Drawn from the run's fault stream only, so changing the workload or the schedule never moves a
 * fault and the reverse (RandomSource.fork, F8 of fault-vfs.ts).
 *
 * Crash points (fault-models.md: "crash points named by engine events as well as by syscall count"):
 *
 *   kind        armed with                         where it lands
 *   ----------  ---------------------------------  --------------------------------------------------
 *   operation   crashAtOperation(n)                the n-th mutating VFS operation of the epoch
 *                                                  (a seeded random point)
 *   sync        crashAtSync(n)                     the n-th sync, datasync or syncDir
 *   event       crashAtEvent(name, k)              the k-th engine event `name` (mtr-commit,
 *                                                  log-write, log-sync, page-flush, doublewrite,
 *                                                  checkpoint; purge-step etc. as layers land)
 *   end         crashNow() after the last step     whatever is in flight then
 *
 * A point the epoch never reaches becomes `end`. Every policy of CRASH_POLICY_NAMES and every
 * event is drawn, with base weights toward the narrow windows where state is in flight: a page
 * tears only when the crash lands between a flush batch's in-place writes and their sync, and only
 * under a torn policy; a log group tears only when its write was not synced. So 'page-flush'
 * weighs 3, the log events 2, the torn policies 2, everything else 1; each run then reweighs
 * them (swarm testing, swarm.ts).
 */
import type { RandomSource } from '../src/util/random.js';
import { CRASH_POLICIES, CRASH_POLICY_NAMES, type CrashPolicy, type FaultVfs } from '../src/vfs/fault-vfs.js';
import type { EngineEvent } from '../src/vfs/vfs.js';
import { pickWeighted, type Weights } from './swarm.js';

/**
 * The simulator's crash policies: every FaultVfs preset, plus three of its own that keep every
 * write in flight and tear each with probability 1/2 (a device that accepted everything before the
 * power went, tearing what it was writing). They produce nothing `torn-*` cannot (keep-subset may
 * keep all), only more often: a torn log tail is four times likelier than under `torn-*`.
 */
export const SIM_POLICIES = {
  ...CRASH_POLICIES,
  'torn-all-zeros': { unsynced: 'keep-all', torn: 'zeros', directories: 'lose-unsynced' },
  'torn-all-garbage': { unsynced: 'keep-all', torn: 'garbage', directories: 'lose-unsynced' },
  'torn-all-stale': { unsynced: 'keep-all', torn: 'stale', directories: 'lose-unsynced' },
} as const satisfies Readonly<Record<string, CrashPolicy>>;

export type SimPolicyName = keyof typeof SIM_POLICIES;
export const SIM_POLICY_NAMES: readonly SimPolicyName[] = [
  ...CRASH_POLICY_NAMES,
  'torn-all-zeros',
  'torn-all-garbage',
  'torn-all-stale',
];

export type CrashPoint =
  | { readonly kind: 'operation'; readonly n: number }
  | { readonly kind: 'sync'; readonly n: number }
  | { readonly kind: 'event'; readonly event: EngineEvent; readonly occurrence: number }
  | { readonly kind: 'end' };

/** A crash of the recovery of this epoch's crash image, and maybe of the recovery after it. */
export interface RecoveryCrash {
  /** Where in the recovery, as a fraction of its mutating operations (or of its `event`s). */
  readonly fraction: number;
  readonly event: EngineEvent | undefined;
  readonly policy: SimPolicyName;
  /** Crash the second recovery too, at the same fraction. */
  readonly again: boolean;
}

/**
 * Crashes of the background work that follows a recovery (the rollback of recovered transactions,
 * purge, page flushing), `times` times in a row: each recovery of the previous crash's image
 * settles again and is crashed again at `fractions[i]` of the mutating operations a clean settle
 * took. Then a last recovery settles to the end and must equal the clean one (rule IDEMPOTENT).
 */
export interface SettleCrash {
  readonly times: number;
  readonly fractions: readonly number[];
  readonly policy: SimPolicyName;
}

export const SETTLE_CRASHES_MAX = 4;

export interface EpochFaults {
  readonly crash: CrashPoint;
  readonly policy: SimPolicyName;
  /** Before step `atStep`, corrupt the next read of a workload file (`pick` chooses which). */
  readonly readCorruption: { readonly atStep: number; readonly pick: number } | undefined;
  /** Before step `atStep`, fail the next sync of the log, of a workload data file (`pick`), or of any file. */
  readonly syncFailure:
    | { readonly atStep: number; readonly target: SyncFailureTarget; readonly pick: number }
    | undefined;
  readonly recoveryCrash: RecoveryCrash | undefined;
  /** After recovery: close, reopen cold, corrupt one page's read, and read it. */
  readonly corruptionProbe: { readonly pick: number } | undefined;
  /** Crash the background work after recovery, maybe several times in a row. */
  readonly settleCrash?: SettleCrash | undefined;
}

/** Engine events per scheduled step, roughly (measured on the storage-core workload). */
const EVENTS_PER_STEP: Readonly<Partial<Record<EngineEvent, number>>> = {
  'mtr-commit': 0.5,
  'log-write': 0.3,
  'log-sync': 0.2,
  'page-flush': 1.0,
  doublewrite: 0.2,
  checkpoint: 0.15,
};
const OPERATIONS_PER_STEP = 2.5;
const SYNCS_PER_STEP = 0.8;

export const SYNC_FAILURE_TARGETS = ['log', 'data', 'any'] as const;
export type SyncFailureTarget = (typeof SYNC_FAILURE_TARGETS)[number];

export interface FaultRates {
  readonly readCorruption: number;
  readonly syncFailure: number;
  /** Which file a sync failure hits ('any': whichever syncs next, nearly always the log, by WAL). */
  readonly syncFailureTargets: Weights<SyncFailureTarget>;
  readonly recoveryCrash: number;
  readonly corruptionProbe: number;
  readonly settleCrash: number;
}

export const DEFAULT_FAULT_RATES: FaultRates = {
  readCorruption: 0.12,
  syncFailure: 0.08,
  // A failed tablespace fsync poisons page flushing (B7 of buffer-pool.ts); `--data-sync-failures`
  // makes it as likely as a failed log sync.
  syncFailureTargets: { log: 3, data: 1, any: 1 },
  recoveryCrash: 0.3,
  corruptionProbe: 0.2,
  settleCrash: 0.35,
};

/** Base weights (the swarm multiplies or drops them per run, swarm.ts). */
export const BASE_EVENT_WEIGHTS: Weights<EngineEvent> = { 'page-flush': 3, 'log-write': 2, 'log-sync': 2 };
export const BASE_POLICY_WEIGHTS: Weights<SimPolicyName> = { 'torn-zeros': 2, 'torn-garbage': 2, 'torn-stale': 2 };
export const CRASH_KINDS = ['event', 'operation', 'sync', 'end'] as const;
export type CrashKind = (typeof CRASH_KINDS)[number];
export const BASE_CRASH_KIND_WEIGHTS: Weights<CrashKind> = { event: 4.5, operation: 3.5, sync: 1, end: 1 };

/** The fault weights of one run. */
export interface FaultWeights {
  readonly policies: Weights<SimPolicyName>;
  readonly events: Weights<EngineEvent>;
  readonly crashKinds: Weights<CrashKind>;
}

export function planFaults(
  random: RandomSource,
  steps: number,
  events: readonly EngineEvent[],
  recoveryEvents: readonly EngineEvent[],
  rates: FaultRates,
  weights: FaultWeights,
): EpochFaults {
  const policy = pickWeighted(random, SIM_POLICY_NAMES, weights.policies);
  const kind = events.length > 0 ? pickWeighted(random, CRASH_KINDS, weights.crashKinds) : 'operation';
  let crash: CrashPoint;
  if (kind === 'event') {
    const event = pickWeighted(random, events, weights.events);
    const expected = Math.max(1, Math.round((EVENTS_PER_STEP[event] ?? 0.2) * steps));
    crash = { kind: 'event', event, occurrence: random.intBetween(1, expected) };
  } else if (kind === 'operation') {
    crash = { kind: 'operation', n: random.intBetween(1, Math.max(1, Math.round(OPERATIONS_PER_STEP * steps))) };
  } else if (kind === 'sync') {
    crash = { kind: 'sync', n: random.intBetween(1, Math.max(1, Math.round(SYNCS_PER_STEP * steps))) };
  } else {
    crash = { kind: 'end' };
  }
  // Draw every optional fault's numbers whether or not it is used, so that one rate never shifts
  // the draws of the others.
  const readCorruption = { atStep: random.int(Math.max(1, steps)), pick: random.int(2 ** 31) };
  const syncFailure = {
    atStep: random.int(Math.max(1, steps)),
    target: pickWeighted(random, SYNC_FAILURE_TARGETS, rates.syncFailureTargets),
    pick: random.int(2 ** 31),
  };
  const useRecoveryEvent = random.chance(0.4) && recoveryEvents.length > 0;
  const recoveryCrash: RecoveryCrash = {
    fraction: random.float(),
    event: useRecoveryEvent ? random.pick(recoveryEvents) : undefined,
    policy: pickWeighted(random, SIM_POLICY_NAMES, weights.policies),
    again: random.chance(0.2),
  };
  const corruptionProbe = { pick: random.int(2 ** 31) };
  const faults: EpochFaults = {
    crash,
    policy,
    readCorruption: random.chance(rates.readCorruption) ? readCorruption : undefined,
    syncFailure: random.chance(rates.syncFailure) ? syncFailure : undefined,
    recoveryCrash: random.chance(rates.recoveryCrash) ? recoveryCrash : undefined,
    corruptionProbe: random.chance(rates.corruptionProbe) ? corruptionProbe : undefined,
  };
  // Drawn after everything above, so that adding it moved none of their draws.
  const settleCrash: SettleCrash = {
    times: random.chance(0.5) ? 1 : random.intBetween(2, SETTLE_CRASHES_MAX),
    fractions: Array.from({ length: SETTLE_CRASHES_MAX }, () => random.float()),
    policy: pickWeighted(random, SIM_POLICY_NAMES, weights.policies),
  };
  return random.chance(rates.settleCrash) ? { ...faults, settleCrash } : faults;
}

/** Arms the crash point on a live VFS (counted from now). `end` arms nothing. */
export function armCrash(vfs: FaultVfs, crash: CrashPoint, policy: CrashPolicy): void {
  switch (crash.kind) {
    case 'operation':
      vfs.crashAtOperation(crash.n, policy);
      return;
    case 'sync':
      vfs.crashAtSync(crash.n, policy);
      return;
    case 'event':
      vfs.crashAtEvent(crash.event, crash.occurrence, policy);
      return;
    case 'end':
      return;
  }
}

/** True when the policy keeps every unsynced write whole: a process crash, not a power cut. */
export function keepsUnsyncedWrites(name: SimPolicyName): boolean {
  const policy: CrashPolicy = SIM_POLICIES[name];
  return policy.unsynced === 'keep-all' && policy.torn === undefined;
}

export function describeCrashPoint(crash: CrashPoint): string {
  switch (crash.kind) {
    case 'operation':
      return `mutating operation #${crash.n}`;
    case 'sync':
      return `sync #${crash.n}`;
    case 'event':
      return `engine event ${crash.event} #${crash.occurrence}`;
    case 'end':
      return 'the end of the epoch';
  }
}

export function describeFaults(faults: EpochFaults): string[] {
  const lines = [`crash at ${describeCrashPoint(faults.crash)} under ${faults.policy}`];
  if (faults.readCorruption !== undefined)
    lines.push(
      `read corruption armed before step ${faults.readCorruption.atStep + 1} (pick ${faults.readCorruption.pick})`,
    );
  if (faults.syncFailure !== undefined) {
    lines.push(`sync failure (${faults.syncFailure.target}) armed before step ${faults.syncFailure.atStep + 1}`);
  }
  const rc = faults.recoveryCrash;
  if (rc !== undefined) {
    const where = rc.event === undefined ? 'its mutating operations' : `its ${rc.event} events`;
    lines.push(
      `recovery crashed at ${(rc.fraction * 100).toFixed(0)}% of ${where} under ${rc.policy}${rc.again ? ', and again' : ''}`,
    );
  }
  const sc = faults.settleCrash;
  if (sc !== undefined) {
    const at = sc.fractions
      .slice(0, sc.times)
      .map((f) => `${(f * 100).toFixed(0)}%`)
      .join(', ');
    lines.push(
      `background work after recovery crashed ${sc.times} time(s) in a row (at ${at} of its operations) under ${sc.policy}`,
    );
  }
  if (faults.corruptionProbe !== undefined)
    lines.push(`corruption probe after recovery (pick ${faults.corruptionProbe.pick})`);
  return lines;
}
