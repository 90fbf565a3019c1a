/**
 * Crash policies: what a `FaultVfs` crash does with the state that had not reached the disk.
 *
 * The model and the invariants (F1...) are in the module doc of `fault-vfs.ts`; this file only names
 * the choices. A policy is read once, at the crash, by `buildCrashImage` (`fault-image.ts`), and every
 * choice it leaves to chance is drawn from the VFS's seeded crash stream (F8).
 *
 *  field           | values                         | what the crash does
 *  ----------------|--------------------------------|--------------------------------------------------
 *  unsynced        | 'lose-all'                     | every unsynced write and truncate is lost (power cut)
 *                  | 'keep-all'                     | every one survives (process crash: the kernel lives on)
 *                  | 'keep-subset'                  | each survives on its own, probability 1/2 (reordering)
 *                  | 'keep-prefix'                  | a uniformly chosen prefix in global issue order,
 *                  |                                | across files
 *  torn            | 'zeros' / 'garbage' / 'stale'  | a kept write is torn with probability 1/2: each
 *                  | (default: none)                | sector it touches lands with probability 1/2, the
 *                  |                                | rest of its range reads as zeros, random bytes or
 *                  |                                | the bytes from before it
 *  directories     | 'lose-unsynced' / 'keep'       | entries not made durable by `syncDir` are lost /
 *                  |                                | all kept; default 'keep' under 'keep-all', else
 *                  |                                | 'lose-unsynced'
 *  renameNotAtomic | boolean                        | each unsynced rename ends in one of four states:
 *                  |                                | not done, done, both names, neither name (ALICE:
 *                  |                                | unlink + link), as far as its synced halves allow
 *  sizeBeforeData  | boolean                        | a lost write that extended the file still extends
 *                  |                                | it; its new range reads as zeros (random bytes
 *                  |                                | when torn is 'garbage')
 *  dropTruncate    | boolean                        | every unsynced truncate is lost, whatever
 *                  |                                | `unsynced` says
 *  osCacheSurvives | boolean                        | the process died but the kernel did not: the
 *                  | (needs 'keep-all' and 'keep',  | image keeps what was unsynced as unsynced (an
 *                  | nothing else)                  | `OsCache`, fault-os-cache.ts), so the VFS that
 *                  |                                | `fromImage` reopens can still lose it to a later
 *                  |                                | crash (a power cut during recovery or after)
 *
 * Writes through a direct-I/O handle are durable at once and never lost, torn or reordered (F5);
 * writes skipped after `trigger` never reached the kernel and are lost under every policy (F4).
 */
import { InvalidArgumentError } from '../errors.js';

export const UNSYNCED_MODES = ['lose-all', 'keep-all', 'keep-subset', 'keep-prefix'] as const;
export type UnsyncedMode = (typeof UNSYNCED_MODES)[number];

export const TORN_FILLS = ['zeros', 'garbage', 'stale'] as const;
export type TornFill = (typeof TORN_FILLS)[number];

export const DIRECTORY_MODES = ['lose-unsynced', 'keep'] as const;
export type DirectoryMode = (typeof DIRECTORY_MODES)[number];

/** What a crash does with the unsynced state. See the table in this module's doc. */
export interface CrashPolicy {
  readonly unsynced: UnsyncedMode;
  readonly torn?: TornFill;
  readonly directories?: DirectoryMode;
  readonly renameNotAtomic?: boolean;
  readonly sizeBeforeData?: boolean;
  readonly dropTruncate?: boolean;
  readonly osCacheSurvives?: boolean;
}

/** A policy with every default filled in. */
export interface ResolvedCrashPolicy {
  readonly unsynced: UnsyncedMode;
  readonly torn: TornFill | undefined;
  readonly directories: DirectoryMode;
  readonly renameNotAtomic: boolean;
  readonly sizeBeforeData: boolean;
  readonly dropTruncate: boolean;
  readonly osCacheSurvives: boolean;
}

/** The named presets, so that a crash test can loop "under every crash policy". */
export const CRASH_POLICY_NAMES = [
  'power-cut',
  'process-crash',
  'reorder',
  'prefix',
  'torn-zeros',
  'torn-garbage',
  'torn-stale',
  'lose-dir-ops',
  'rename-not-atomic',
  'size-before-data',
  'drop-truncate',
] as const;

export type CrashPolicyName = (typeof CRASH_POLICY_NAMES)[number];

export const CRASH_POLICIES = {
  /** Power cut: only what was synced survives; unsynced directory entries are lost. */
  'power-cut': { unsynced: 'lose-all', directories: 'lose-unsynced' },
  /**
   * kill -9: the kernel outlives the process, so everything written survives, but what was unsynced
   * stays only in the page cache, where a later power cut can still take it.
   */
  'process-crash': { unsynced: 'keep-all', directories: 'keep', osCacheSurvives: true },
  /** A disk that reorders: any subset of the unsynced writes survives. */
  reorder: { unsynced: 'keep-subset', directories: 'lose-unsynced' },
  /** A disk that writes in order: a prefix of the unsynced writes, across files, survives. */
  prefix: { unsynced: 'keep-prefix', directories: 'lose-unsynced' },
  'torn-zeros': { unsynced: 'keep-subset', torn: 'zeros', directories: 'lose-unsynced' },
  'torn-garbage': { unsynced: 'keep-subset', torn: 'garbage', directories: 'lose-unsynced' },
  'torn-stale': { unsynced: 'keep-subset', torn: 'stale', directories: 'lose-unsynced' },
  /** The data survives but creates, renames and removes not followed by `syncDir` are lost. */
  'lose-dir-ops': { unsynced: 'keep-all', directories: 'lose-unsynced' },
  'rename-not-atomic': { unsynced: 'keep-all', directories: 'keep', renameNotAtomic: true },
  'size-before-data': { unsynced: 'lose-all', directories: 'lose-unsynced', sizeBeforeData: true },
  'drop-truncate': { unsynced: 'keep-all', directories: 'keep', dropTruncate: true },
} as const satisfies Readonly<Record<CrashPolicyName, CrashPolicy>>;

function checkOneOf<T extends string>(value: unknown, allowed: readonly T[], what: string): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`${what} must be one of ${allowed.join(', ')}, got ${String(value)}`);
  }
  return value as T;
}

function checkFlag(value: unknown, what: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new InvalidArgumentError(`${what} must be a boolean, got ${typeof value}`);
  return value;
}

/** Checks a policy (or preset name) and fills in its defaults. Default: 'power-cut'. */
export function resolveCrashPolicy(policy: CrashPolicy | CrashPolicyName = 'power-cut'): ResolvedCrashPolicy {
  const given: CrashPolicy =
    typeof policy === 'string' ? CRASH_POLICIES[checkOneOf(policy, CRASH_POLICY_NAMES, 'crash policy name')] : policy;
  if (typeof given !== 'object' || given === null) {
    throw new InvalidArgumentError(`a crash policy must be an object or a preset name, got ${String(given)}`);
  }
  const unsynced = checkOneOf(given.unsynced, UNSYNCED_MODES, 'policy.unsynced');
  const resolved: ResolvedCrashPolicy = {
    unsynced,
    torn: given.torn === undefined ? undefined : checkOneOf(given.torn, TORN_FILLS, 'policy.torn'),
    directories:
      given.directories === undefined
        ? unsynced === 'keep-all'
          ? 'keep'
          : 'lose-unsynced'
        : checkOneOf(given.directories, DIRECTORY_MODES, 'policy.directories'),
    renameNotAtomic: checkFlag(given.renameNotAtomic, 'policy.renameNotAtomic'),
    sizeBeforeData: checkFlag(given.sizeBeforeData, 'policy.sizeBeforeData'),
    dropTruncate: checkFlag(given.dropTruncate, 'policy.dropTruncate'),
    osCacheSurvives: checkFlag(given.osCacheSurvives, 'policy.osCacheSurvives'),
  };
  const diskChoices =
    resolved.torn !== undefined || resolved.renameNotAtomic || resolved.sizeBeforeData || resolved.dropTruncate;
  if (resolved.osCacheSurvives && (unsynced !== 'keep-all' || resolved.directories !== 'keep' || diskChoices)) {
    // The other choices say what a disk kept when the power went; with the kernel alive, nothing was lost yet.
    throw new InvalidArgumentError(
      "policy.osCacheSurvives (the kernel outlives the process) needs unsynced 'keep-all', directories 'keep' and no disk-level choice",
    );
  }
  return resolved;
}
