/**
 * The row engine's test-only seams (reached through `openDatabaseWithTestSeams`, never from the
 * package entry): each breaks one rule on purpose, so a test or the simulator can show that the
 * check guarding it has teeth.
 */
import type { LockManagerTestSeams } from '../lock/lock-manager.js';

export interface RowEngineTestSeams {
  /** Seed 002's teeth: the purge view may move backwards. */
  readonly allowPurgeViewBackwards?: boolean;
  /**
   * Seed 003's teeth: the LOB diff reader of MVCC reads takes a zero-length diff's empty copy for
   * the end of its undo field, as MySQL 8.0.25 did (rec/undo-fields.ts LobDiffReader, UF2).
   */
  readonly lobDiffReaderLosesPlace?: boolean;
  /** Issue 9's teeth: the first purge view misses the transactions recovery found active (X3). */
  readonly recoveredMissingFromPurgeView?: boolean;
  /** The simulator's composite-index teeth: an update re-indexes only when an index's first column changes. */
  readonly indexChangeByFirstColumn?: boolean;
  /** The simulator's reader teeth: index scans return the newest version of each row, not the view's. */
  readonly indexScanReadsNewest?: boolean;
  /**
   * Seed 004's teeth: a change-buffer merge applies the operations in one mini-transaction and
   * marks them processed in a later one, as MySQL bug 66819 did (IBUF-SAME-MTR broken).
   */
  readonly ibufMergeInTwoMtrs?: boolean;
  /** Issue 10's teeth: the lock manager's two bugs, put back. */
  readonly locks?: LockManagerTestSeams;
}
