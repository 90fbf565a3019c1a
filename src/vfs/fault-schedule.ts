/**
 * When a FaultVfs crashes (the crash points of `fault-vfs.ts`): the mutating operations, syncs and
 * engine events counted so far, the one crash point armed (`crashAtOperation`, `crashAtSync`,
 * `crashAtEvent`, `crashAtRandom`), and seed 001's trigger (skip later writes, crash at the first
 * sync). The FaultVfs asks before each mutating operation and after each engine event whether the
 * crash comes there; building the image is its own business (`fault-image.ts`).
 *
 * Rules (the FaultVfs's, numbered there):
 *  - An operation the crash replaces is not counted: the n-th operation from the arming is the one
 *    that never happens.
 *  - A random crash point comes from the schedule's own seeded stream (F8).
 *  - At most one crash point is armed; arming another replaces it; the crash clears both it and
 *    the trigger.
 */
import { InvalidArgumentError } from '../errors.js';
import type { RandomSource } from '../util/random.js';
import {
  type CrashPolicy,
  type CrashPolicyName,
  type ResolvedCrashPolicy,
  resolveCrashPolicy,
} from './fault-policy.js';
import type { MutatingOperation, TriggerOptions } from './fault-types.js';
import { ENGINE_EVENTS, type EngineEvent } from './vfs.js';

const SYNC_OPERATIONS: readonly MutatingOperation[] = ['sync', 'datasync', 'syncDir'];

type ArmedPoint =
  | { readonly kind: 'operation'; readonly at: number; readonly policy: ResolvedCrashPolicy }
  | { readonly kind: 'sync'; readonly at: number; readonly policy: ResolvedCrashPolicy }
  | { readonly kind: 'event'; readonly name: EngineEvent; readonly at: number; readonly policy: ResolvedCrashPolicy };

/** A crash that is due: under which policy, and why (the SimulatedCrashError's message). */
export interface DueCrash {
  readonly policy: ResolvedCrashPolicy;
  readonly reason: string;
}

export function checkCount(value: number, what: string): void {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${what} must be a positive safe integer, got ${String(value)}`);
  }
}

export function checkEvent(name: EngineEvent): void {
  if (!(ENGINE_EVENTS as readonly string[]).includes(name)) {
    throw new InvalidArgumentError(`unknown engine event ${JSON.stringify(name)}; see ENGINE_EVENTS`);
  }
}

export class CrashSchedule {
  /** Mutating operations performed so far. */
  mutations = 0;
  /** sync, datasync and syncDir calls performed so far. */
  syncCalls = 0;
  readonly events = Object.fromEntries(ENGINE_EVENTS.map((name) => [name, 0])) as Record<EngineEvent, number>;
  /** Seed 001's trigger: later buffered writes are skipped with `probability`, the first sync crashes. */
  triggered: { readonly probability: number; readonly policy: ResolvedCrashPolicy } | undefined;
  private armed: ArmedPoint | undefined;
  private readonly random: RandomSource;

  /** `random`: the stream of random crash points (F8). */
  constructor(random: RandomSource) {
    this.random = random;
  }

  atOperation(n: number, policy?: CrashPolicy | CrashPolicyName): void {
    checkCount(n, 'crashAtOperation n');
    this.armed = { kind: 'operation', at: this.mutations + n, policy: resolveCrashPolicy(policy) };
  }

  atSync(n: number, policy?: CrashPolicy | CrashPolicyName): void {
    checkCount(n, 'crashAtSync n');
    this.armed = { kind: 'sync', at: this.syncCalls + n, policy: resolveCrashPolicy(policy) };
  }

  atEvent(name: EngineEvent, occurrence: number, policy?: CrashPolicy | CrashPolicyName): void {
    checkEvent(name);
    checkCount(occurrence, 'crashAtEvent occurrence');
    this.armed = { kind: 'event', name, at: this.events[name] + occurrence, policy: resolveCrashPolicy(policy) };
  }

  atRandom(withinOperations: number, policy?: CrashPolicy | CrashPolicyName): number {
    checkCount(withinOperations, 'crashAtRandom withinOperations');
    const n = this.random.intBetween(1, withinOperations);
    this.atOperation(n, policy);
    return n;
  }

  trigger(options: TriggerOptions): void {
    const percent = options.skipWritesPercent ?? 100;
    if (typeof percent !== 'number' || !(percent >= 0 && percent <= 100)) {
      throw new InvalidArgumentError(`skipWritesPercent must be in [0, 100], got ${String(percent)}`);
    }
    this.triggered = { probability: percent / 100, policy: resolveCrashPolicy(options.policy ?? 'process-crash') };
  }

  /** The crash came: nothing more is armed. */
  clear(): void {
    this.armed = undefined;
    this.triggered = undefined;
  }

  /** Counts a mutating operation that passed its checks, or returns the crash due instead of it (uncounted). */
  beginMutation(op: MutatingOperation, path: string): DueCrash | undefined {
    const n = this.mutations + 1;
    const what = `${op} ${path === '' ? '.' : path}`;
    const armed = this.armed;
    if (armed?.kind === 'operation' && armed.at === n)
      return { policy: armed.policy, reason: `mutating operation ${n}: ${what}` };
    if (SYNC_OPERATIONS.includes(op)) {
      const s = this.syncCalls + 1;
      if (armed?.kind === 'sync' && armed.at === s) return { policy: armed.policy, reason: `sync ${s}: ${what}` };
      if (this.triggered !== undefined)
        return { policy: this.triggered.policy, reason: `first sync after trigger: ${what}` };
      this.syncCalls = s;
    }
    this.mutations = n;
    return undefined;
  }

  /** Counts an engine event (checked already). */
  countEvent(name: EngineEvent): void {
    this.events[name]++;
  }

  /** The crash due at the engine event just counted, if one is armed there. */
  crashAtEvent(name: EngineEvent): DueCrash | undefined {
    const armed = this.armed;
    if (armed?.kind === 'event' && armed.name === name && this.events[name] === armed.at)
      return { policy: armed.policy, reason: `engine event ${name} #${this.events[name]}` };
    return undefined;
  }
}
