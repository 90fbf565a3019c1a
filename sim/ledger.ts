/**
 * The commit ledger: what each commit was promised, and from that, after a crash, the window the
 * recovered state must fall in (rule DURABLE of DESIGN.md, the durability levels of redo-log.ts).
 *
 * Commits are numbered 1, 2, 3... in the order their mini-transactions commit, which is their
 * order in the log. The log is sequential and recovery applies a prefix of it (RC1), so the
 * recovered state is the model after some prefix k of the commits. The ledger bounds k:
 *
 *   max  the last commit whose group was appended to the log (later ones cannot be there);
 *   min  the last commit that must survive this crash, which is the largest of
 *        - every commit acknowledged under 'full' (its redo was synced before the promise settled);
 *        - every commit made before a documented log sync completed (the once-a-second `tick`,
 *          driven by the clock or stepped): 'write' and 'none' may lose only what came after it;
 *        - every commit made before a durable DDL call returned (createSpace, dropSpace sync the
 *          log up to their own record, which comes after all of these);
 *        - under a process crash (the kernel outlives the process: unsynced writes survive),
 *          every commit acknowledged under 'write' (its redo was written to the OS at commit).
 *
 * A failed sync (fsyncgate) drops the unsynced bytes for good, even from a process crash's image.
 * Once a sync failure is armed, the ledger counts no further log syncs (a tick on a failed log
 * returns without syncing) and drops the process-crash promise of every 'write' commit not yet
 * covered by a sync, before or after: conservative, so no false alarm, and 'full'
 * acknowledgements are still held to account.
 *
 *   commit states:   begun --appended--> appended --committed--> committed --acked--> acked
 *                       \                     \                        \--rejected--> rejected
 *                        +---(crash, error)----+---(crash: may still be in the log)
 */
import type { Durability } from '../src/redo/redo-log.js';
import { assert } from '../src/util/assert.js';

export type CommitState = 'begun' | 'appended' | 'committed' | 'acked' | 'rejected';

export interface CommitRecord {
  readonly index: number;
  readonly durability: Durability;
  state: CommitState;
  /** A durable point (a completed log sync or DDL) came after its mtr committed. */
  covered: boolean;
  /** Acknowledged under 'write' while no sync failure was armed: survives a process crash. */
  writeSafe: boolean;
}

/** The window the recovered prefix must fall in, and why its lower end is there. */
export interface PrefixBounds {
  readonly min: number;
  readonly max: number;
  readonly minReason: string;
}

export interface LedgerStats {
  committed: Record<Durability, number>;
  acked: Record<Durability, number>;
  rejected: number;
  logSyncPoints: number;
  durablePoints: number;
}

export class CommitLedger {
  /** records[i] is commit base + i + 1. */
  private records: CommitRecord[] = [];
  private base = 0;
  private syncFailureArmed = false;
  readonly stats: LedgerStats = {
    committed: { full: 0, write: 0, none: 0 },
    acked: { full: 0, write: 0, none: 0 },
    rejected: 0,
    logSyncPoints: 0,
    durablePoints: 0,
  };

  /** The number of the last commit begun. */
  get last(): number {
    return this.base + this.records.length;
  }

  record(index: number): CommitRecord {
    const record = this.records[index - this.base - 1];
    assert(record !== undefined && record.index === index, `ledger has commit ${index}`);
    return record;
  }

  /** A client starts a commit: returns its number. */
  begin(durability: Durability): number {
    const index = this.last + 1;
    this.records.push({ index, durability, state: 'begun', covered: false, writeSafe: false });
    return index;
  }

  /** Its group is about to be appended: from now on it may be in the log. */
  appended(index: number): void {
    this.record(index).state = 'appended';
  }

  /** Its mtr committed: the group is in the log buffer. */
  committed(index: number): void {
    const record = this.record(index);
    record.state = 'committed';
    this.stats.committed[record.durability]++;
  }

  /** The client's durability promise settled. */
  acked(index: number): void {
    const record = this.record(index);
    if (record.state !== 'committed') return; // a stale promise of a commit forgotten by truncate
    record.state = 'acked';
    record.writeSafe = record.durability === 'write' && !this.syncFailureArmed;
    this.stats.acked[record.durability]++;
  }

  rejected(index: number): void {
    const record = this.record(index);
    if (record.state === 'committed') record.state = 'rejected';
    this.stats.rejected++;
  }

  /** A documented log sync completed: every commit made so far is durable. */
  logSynced(): void {
    if (this.syncFailureArmed) return;
    this.stats.logSyncPoints++;
    this.cover();
  }

  /** A durable DDL call returned: the log is durable past every commit made so far. */
  durablePoint(): void {
    this.stats.durablePoints++;
    this.cover();
  }

  private cover(): void {
    for (let i = this.records.length - 1; i >= 0; i--) {
      const record = this.records[i]!;
      if (record.covered) break;
      if (record.state === 'committed' || record.state === 'acked' || record.state === 'rejected')
        record.covered = true;
    }
  }

  /**
   * A sync failure is armed. The failing sync drops every write not yet synced, whoever made it,
   * so no 'write' commit acknowledged so far keeps its process-crash promise either.
   */
  syncFailureInjected(): void {
    this.syncFailureArmed = true;
    for (const record of this.records) record.writeSafe = false;
  }

  /** The window for a crash; `processCrash` when the crash kept every unsynced write. */
  bounds(processCrash: boolean): PrefixBounds {
    let min = this.base;
    let minReason = 'the prefix recovered before';
    let max = this.base;
    for (const record of this.records) {
      if (record.state !== 'begun') max = record.index;
      let reason: string | undefined;
      if (record.state === 'acked' && record.durability === 'full') reason = 'acknowledged under full';
      else if (record.covered) reason = `made (${record.durability}) before a completed log sync or DDL`;
      else if (processCrash && record.writeSafe) reason = 'acknowledged under write, and the crash kept the OS cache';
      if (reason !== undefined && record.index > min) {
        min = record.index;
        minReason = reason;
      }
    }
    return { min, max, minReason };
  }

  /** After recovery of prefix k: commits after k are gone; numbering continues at k + 1. */
  truncate(prefix: number): void {
    assert(
      prefix >= this.base && prefix <= this.last,
      `prefix ${prefix} within the ledger [${this.base}, ${this.last}]`,
    );
    this.records = [];
    this.base = prefix;
    this.syncFailureArmed = false;
  }
}
