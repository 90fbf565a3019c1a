/**
 * Issue 9, first finding: purge removed a secondary entry that the rollback of a recovered
 * transaction then had to restore, and SEC=CLUST broke after recovery.
 *
 * The story, in the order the simulator found it (seed 778376):
 *
 *     trx A   update balance 0 -> 98, commit     (by_balance: (0,8) delete-marked, (98,8) added)
 *     trx B   update balance 98 -> 0, commit     ((98,8) delete-marked, (0,8) unmarked)
 *     trx T   delete row 8, no commit            ((0,8) and the row delete-marked by T)
 *     crash; recovery finds T active and rolls it back in the background
 *     purge   A's undo says (0,8) was an old entry: is it still needed?
 *
 * Purge asks `olderVersionHasEntry` starting at the newest version (T's delete mark) and walks back
 * while the purge view cannot see a version's writer. B's version has (0,8), so the entry stays,
 * as long as the purge view knows that T is active. The first purge view was made when the
 * transaction system was built, before recovery re-registered T: its active set was empty, so T's
 * delete looked committed and seen by all, the walk stopped there, and purge removed (0,8). T's
 * rollback then un-marked the row, whose by_balance entry was gone.
 *
 * Rule broken: PG1 (nothing a rolling-back transaction can reach is purged), now held by X3 of
 * mvcc/trx-system.ts (the purge view sees no active transaction, checked at every clone).
 * Why nothing caught it: the transactional crash tests roll recovered transactions back before
 * they purge, and need an entry whose key came back to an older value (0 -> 98 -> 0) with its
 * history unpurged, then a delete in flight at the crash.
 */
import { describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { ACCOUNTS, type Account } from '../support/accounts-table.js';
import { openTestDatabase } from '../support/open.js';

const open = (vfs: FaultVfs): Promise<Database> =>
  openTestDatabase(vfs, { poolPages: 64, redoLogBytes: 256 * 1024, durability: 'full' });

/** Builds the image: A and B committed, T's delete in flight and in the durable log. */
async function crashedWithDeleteInFlight(): Promise<FaultVfs> {
  const vfs = new FaultVfs({ seed: 9 });
  const db = await open(vfs);
  await db.createTable(ACCOUNTS);
  const accounts = db.table<Account>('accounts');
  await accounts.insert({ id: 8, balance: 0 });
  db.purge();
  await accounts.update(8, { balance: 98 }); // A
  await accounts.update(8, { balance: 0 }); // B
  const t = db.begin();
  await t.table<Account>('accounts').delete(8); // T, never committed
  await accounts.insert({ id: 9, balance: 5 }); // its full commit syncs T's delete too
  const image = vfs.crashNow('process-crash');
  return FaultVfs.fromImage(image, { seed: 10 });
}

describe('rollback of a recovered transaction after purge (issue 9, SEC=CLUST)', () => {
  it('purge before the background rollback keeps the entry the rollback restores', async () => {
    const db = await open(await crashedWithDeleteInFlight());
    // Purge first: the recovered delete must look active to the purge view (X3).
    db.purge();
    while (db.runBackgroundWork().rolledBack) {
      // one recovered transaction per step
    }
    db.purge();
    db.check();
    const accounts = db.table<Account>('accounts');
    expect(accounts.get(8)).toEqual({ id: 8, balance: 0 });
    expect(accounts.getByIndex('by_balance', 0)).toEqual({ id: 8, balance: 0 });
    expect([...accounts.scanIndex('by_balance')].map((r) => r.id)).toEqual([8, 9]);
    await db.close();
  });

  it('the purge view made before recovery adopted its transactions treats them as active', async () => {
    const db = await open(await crashedWithDeleteInFlight());
    const purgeView = db.engine.trxSystem.purgeView;
    const recovered = db.engine.trxSystem.activeIds(); // right after open: exactly the recovered ones
    expect(recovered).toHaveLength(1);
    for (const id of recovered) expect(purgeView.changesVisible(id)).toBe(false);
    await db.close();
  });
});
