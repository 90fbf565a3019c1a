/**
 * Issue 9, third finding (table soak, seed 1089841420): recovery reported "U9 undo log header: the
 * page has type 1" for system page 0, on a database with nothing wrong on disk.
 *
 * `openTrxSysPage` took the trx-sys page from the pool as a frame view, then read every active undo
 * log (U11's check of the slots) through the same pool, and only then read HISTORY_LAST from its
 * view. With a small pool and many active logs at the crash, those reads evicted the trx-sys page
 * and reused its frame for an undo page, so HISTORY_LAST came from another page's bytes (here 0),
 * and the U11 check of the newest history log opened page 0.
 *
 * Rule broken: U13 of undo/undo-log.ts (a frame read through `poolPageSource` is valid only until
 * the next page access). The trx-sys page now reads its header fields before it touches another
 * page. Why nothing caught it: the crash tests open with pools that hold every undo page, and the
 * simulator needs more active logs at a crash than its pool of 64 frames can hold besides the rest.
 *
 * Teeth: with debug checks on (as in every test), `poolPageSource` hands out copies and overwrites
 * the previous one with 0xEE at the next access, so this test fails without the fix whatever the
 * LRU does ("page 4008636142", 0xEEEEEEEE, read as HISTORY_LAST); the shrunk plan
 * `issue-9-trx-sys-page-read-after-eviction.json` replays the soak's schedule.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { ACCOUNTS, type Account } from '../support/accounts-table.js';
import { openTestDatabase } from '../support/open.js';

const POOL_PAGES = 64; // the smallest pool allowed
const ROWS = 200;
const IN_FLIGHT = 90; // more active undo logs at the crash than the pool has frames

const open = (vfs: FaultVfs): Promise<Database> =>
  openTestDatabase(vfs, { poolPages: POOL_PAGES, redoLogBytes: 512 * 1024, durability: 'full' });

describe('opening the trx-sys page under pool pressure (issue 9, U13)', () => {
  it('recovers with more active undo logs than pool frames and a history to check', async () => {
    const vfs = new FaultVfs({ seed: 11 });
    const db = await open(vfs);
    await db.createTable(ACCOUNTS);
    const accounts = db.table<Account>('accounts');
    for (let id = 0; id < ROWS; id++) await accounts.insert({ id, balance: id });
    // Committed updates stay in the history list (purge runs only when stepped): HISTORY_LAST is set.
    for (let id = 0; id < 5; id++) await accounts.update(id, { balance: 1000 + id });
    const inFlight = [];
    for (let i = 0; i < IN_FLIGHT; i++) {
      const trx = db.begin();
      await trx.table<Account>('accounts').update(ROWS - 1 - i, { balance: -1 });
      inFlight.push(trx);
    }
    await accounts.update(5, { balance: 2000 }); // its full commit makes the in-flight updates durable
    const reopened = await open(FaultVfs.fromImage(vfs.crashNow('process-crash'), { seed: 12 }));
    expect(reopened.engine.trxSystem.activeIds()).toHaveLength(IN_FLIGHT);
    while (reopened.runBackgroundWork().rolledBack) {
      // one recovered transaction per step
    }
    reopened.purge();
    reopened.check();
    const after = reopened.table<Account>('accounts');
    for (let id = 0; id < 5; id++) expect(after.get(id)).toEqual({ id, balance: 1000 + id });
    expect(after.get(5)).toEqual({ id: 5, balance: 2000 });
    for (let i = 0; i < IN_FLIGHT; i++)
      expect(after.get(ROWS - 1 - i)).toEqual({ id: ROWS - 1 - i, balance: ROWS - 1 - i });
    await reopened.close();
  });
});
