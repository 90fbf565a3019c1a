/**
 * The undo log cache: header pages of finished one-page undo logs kept for the next transaction,
 * so a small transaction neither allocates and initialises an undo page nor frees one.
 *
 * InnoDB counterpart: the rollback segment's cached lists (`trx_rseg_t::insert_undo_cached`,
 * `update_undo_cached`, `TRX_UNDO_CACHED` in `trx/trx0undo.cc`: trx_undo_set_state_at_finish puts
 * a one-page log in state CACHED; trx_undo_reuse_cached hands it to the next transaction).
 *
 * This is the in-memory half. The durable half is the log itself (undo-log.ts): a cached log is a
 * single header page in state CACHED, in a slot of the trx-sys page, with no records. The list is
 * rebuilt at open from the slots (`openTrxSysPage`), so after a crash it holds exactly the logs
 * the recovered slots say are cached (U14 of undo-log.ts).
 *
 * ## Where we differ from InnoDB, and why
 *  - One list for both kinds: our insert and update pages share one format (PAGE_KIND is rewritten
 *    at reuse), so InnoDB's two lists would only split one cache in two.
 *  - An update log is cached when purge is done with it, not at commit: InnoDB keeps a committed
 *    update log cached while it waits in the history list and writes the next transaction's log
 *    header after it on the same page (several log headers a page). Our page has one log header,
 *    so the page waits until purge has removed its log from the history list (U14).
 *  - Any one-page log is cached, however full its page: InnoDB caches only a page under 3/4 full
 *    (TRX_UNDO_PAGE_REUSE_LIMIT), because the next log starts after the old one on that page; a
 *    reused page of ours starts again from its first record.
 *  - The cache is bounded (`undoCacheCapacity`); a log finishing with the cache full is freed.
 *    Cached logs hold slots, and the bound keeps half the slots for transactions; a new log takes
 *    a cached one before it looks for a free slot, so the cache never makes `UndoSlotsFullError`.
 */
import { assert } from '../util/assert.js';

/**
 * Logs the cache keeps at most (half the slots, when fewer). A purge slice of the timers (20 ms)
 * finishes hundreds of one-record logs at once, and the commits after it should find them all:
 * with 64, an update workload of small transactions allocated, zeroed and later freed a page for
 * most of its transactions (issue 16). Each cached log is a page of space 0, read at open by the
 * slot scan, so the bound also bounds that.
 */
export const UNDO_CACHED_LOGS_MAX = 512;

/** The capacity with `slotCount` undo slots: UNDO_CACHED_LOGS_MAX, or half the slots when fewer. */
export function undoCacheCapacity(slotCount: number): number {
  return Math.min(UNDO_CACHED_LOGS_MAX, Math.floor(slotCount / 2));
}

export class UndoLogCache {
  /** Header pages of cached logs; the last one is reused first (its frame is likeliest in the pool). */
  private readonly pages: number[] = [];
  /** The same pages, for the membership checks (the list holds hundreds: no linear search per log). */
  private readonly members = new Set<number>();
  /**
   * The most logs `hasRoom` lets in. Settable: a test of the freeing path sets 0, the crash test a
   * small bound so a full cache (the log is freed) happens too.
   */
  capacity: number;

  constructor(capacity = UNDO_CACHED_LOGS_MAX) {
    assert(Number.isInteger(capacity) && capacity >= 0, 'the undo cache capacity is a count');
    this.capacity = capacity;
  }

  get size(): number {
    return this.pages.length;
  }

  /** Whether a finishing log may be cached rather than freed. */
  hasRoom(): boolean {
    return this.pages.length < this.capacity;
  }

  /**
   * Records that the log at `pageNo` is cached (its CACHED state is written in the caller's mtr),
   * or was found cached at open (then even beyond the capacity: a slot leaks otherwise).
   */
  add(pageNo: number): void {
    assert(!this.members.has(pageNo), () => `U14 undo log ${pageNo} is cached once`);
    this.pages.push(pageNo);
    this.members.add(pageNo);
  }

  /** A cached log's header page for reuse (removed from the cache), or undefined when none is. */
  take(): number | undefined {
    const pageNo = this.pages.pop();
    if (pageNo !== undefined) this.members.delete(pageNo);
    return pageNo;
  }

  has(pageNo: number): boolean {
    return this.members.has(pageNo);
  }

  /** The cached logs' header pages (for checkers). */
  list(): readonly number[] {
    return this.pages;
  }
}
