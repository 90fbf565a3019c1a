/**
 * Read views: which transactions' changes a consistent read sees.
 *
 * InnoDB counterpart: `include/read0types.h` (ReadView) and `read/read0read.cc` (MVCC::view_open,
 * MVCC::clone_oldest_view). A view is a snapshot of the transaction system at one moment:
 *
 *   lowLimitId   the next transaction id then: ids at or above it started later, invisible
 *   upLimitId    the smallest id active then (or lowLimitId if none): ids below it are visible
 *   activeIds    the read-write transactions active then (sorted), invisible
 *   creatorId    the transaction owning the view: its own changes are visible
 *   lowLimitNo   the smallest serialisation number not yet committed then: purge may remove the
 *                history of transactions whose number is below it, and nothing newer
 *
 *     changesVisible(id) = id < upLimitId || id === creatorId
 *                          || (id < lowLimitId && id not in activeIds)
 *
 * Ids and serialisation numbers come from one counter (trx-system.ts), as in InnoDB 8.0.
 *
 * Invariants:
 *  V1. upLimitId <= lowLimitId; activeIds sorted ascending, each in [upLimitId, lowLimitId).
 *  V2. A view's limits never change after it is opened (only creatorId is set, once, when its
 *      transaction gets an id; closing it only unregisters it).
 */
import { assert } from '../util/assert.js';

export class ReadView {
  readonly lowLimitId: number;
  readonly upLimitId: number;
  readonly lowLimitNo: number;
  /** Set when the owning transaction gets its id after the view was opened (InnoDB does the same). */
  creatorId: number;
  /** Sorted ascending (V1). */
  readonly activeIds: readonly number[];
  /** Registration in the transaction system's view list, for the purge view. */
  open = true;

  constructor(lowLimitId: number, lowLimitNo: number, creatorId: number, activeIds: readonly number[]) {
    this.lowLimitId = lowLimitId;
    this.lowLimitNo = lowLimitNo;
    this.creatorId = creatorId;
    this.activeIds = activeIds;
    this.upLimitId = activeIds.length > 0 ? activeIds[0]! : lowLimitId;
    assert(this.upLimitId <= lowLimitId, 'V1 upLimitId <= lowLimitId');
    assert(lowLimitNo <= lowLimitId, 'V1 lowLimitNo <= lowLimitId');
  }

  /** InnoDB's `ReadView::changes_visible`. */
  changesVisible(trxId: number): boolean {
    if (trxId < this.upLimitId || trxId === this.creatorId) return true;
    if (trxId >= this.lowLimitId) return false;
    // Binary search in the active set.
    const ids = this.activeIds;
    let lo = 0;
    let hi = ids.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const id = ids[mid]!;
      if (id === trxId) return false;
      if (id < trxId) lo = mid + 1;
      else hi = mid - 1;
    }
    return true;
  }

  /**
   * Whether the history a purge view of `this` allows to remove: a committed transaction's undo
   * can be purged iff its serialisation number is below lowLimitNo (every open view sees it).
   */
  purgeable(trxNo: number): boolean {
    return trxNo < this.lowLimitNo;
  }

  describe(): string {
    return `ReadView{low_limit_id ${this.lowLimitId}, up_limit_id ${this.upLimitId}, low_limit_no ${this.lowLimitNo}, creator ${this.creatorId}, active [${this.activeIds.join(',')}]}`;
  }
}
