/**
 * SERIALIZABLE plain reads through a secondary index (`getByIndex`, `scanIndex`), and the gaps of
 * reverse and empty range scans. InnoDB's SERIALIZABLE turns every plain SELECT into a shared
 * locking read (row_search_mvcc with LOCK_S): it takes next-key locks on the secondary entries it
 * passes, a record lock on the clustered record of each row, and the gap past the range, so no
 * row can enter the range, through an insert or an update, while the reader is open. These reads
 * used to take no lock at all: a row could appear in a range a SERIALIZABLE transaction had read
 * (a phantom, G2), and the scripts below are the cases that showed it.
 *
 * The table is Hermitage's with an index `by_value (value)`: rows 1=10 and 2=20, so the index
 * holds (10,1) (20,2). Reads here are synchronous: where InnoDB's SELECT would wait, minno's
 * throws ERR_WOULD_WAIT (serializable-plain-reads.test.ts).
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

const withIndex = { valueIndex: true } as const;

describe('SERIALIZABLE reads through a secondary index lock what they read', () => {
  it('a range read through the index: an insert into the range waits, and no phantom appears', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: scan-by-value 10..25   -> 1=10 2=20   # next-key locks on (10,1) and (20,2), the gap after (20,2)
      t2: insert 3 value=15      -> waits       # into the gap before (20,2)
      t1: scan-by-value 10..25   -> 1=10 2=20   # no phantom
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan-by-value          -> 1=10 3=15 2=20
    `,
      withIndex,
    ));

  it('the gap past the last entry of the range is locked too', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: scan-by-value 10..25   -> 1=10 2=20
      t2: insert 3 value=25      -> waits       # after (20,2): t1 locked the gap up to the supremum
      t1: commit
      -> t2 1 row
      t2: commit
    `,
      withIndex,
    ));

  it.each([
    ['an index', true],
    ['a unique index', 'unique'],
  ] as const)('a lookup in %s that finds nothing locks the gap where the value would be', async (_, valueIndex) => {
    await runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: get-by-value 15        -> none        # a gap lock on (20,2): the gap (10,1)..(20,2)
      t2: insert 3 value=15      -> waits
      t1: get-by-value 15        -> none
      t1: commit
      -> t2 1 row
      t2: get-by-value 15        -> 3=15
      t2: commit
    `,
      { valueIndex },
    );
  });

  it('an update that moves a row into the range waits', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: scan-by-value 15..25   -> 2=20        # row 1 (value 10) is outside the range
      t2: update 1 value=17      -> waits       # its new entry (17,1) would land in the locked gap
      t1: scan-by-value 15..25   -> 2=20
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan-by-value 15..25   -> 1=17 2=20
    `,
      withIndex,
    ));

  it('the clustered record of a row read through the index is locked: its writer waits', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: get-by-value 20        -> 2=20        # (20,2) and the clustered record 2
      t2: update 2 value=22      -> waits
      t1: commit
      -> t2 1 row
      t2: commit
    `,
      withIndex,
    ));

  it('a read of an entry another transaction holds throws ERR_WOULD_WAIT; the reader stays usable', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: update 2 value=21                     # (20,2) delete-marked, (21,2) inserted: t1's implicit locks
      t2: get-by-value 10        -> 1=10
      t2: get-by-value 20        -> ERR_WOULD_WAIT
      t2: scan-by-value          -> ERR_WOULD_WAIT
      t1: commit
      t2: get-by-value 20        -> none        # passes the delete-marked (20,2), locked
      t2: get-by-value 21        -> 2=21
      t2: commit
    `,
      withIndex,
    ));

  it('a full key of a unique index found live locks that entry only (LOCK_REC_NOT_GAP)', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: get-by-value 20        -> 2=20        # the record (20,2), no gap: no other row can have value 20
      t2: insert 3 value=15                     # the gap before (20,2) is free
      t2: update 2 value=22      -> waits       # the row itself is locked
      t1: commit
      -> t2 1 row
      t2: commit
    `,
      { valueIndex: 'unique' },
    ));

  it('REPEATABLE READ reads through the index are snapshots: the insert goes ahead, the reader does not see it', () =>
    runScript(
      `
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: scan-by-value 10..25   -> 1=10 2=20
      t2: insert 3 value=15
      t2: commit
      t1: scan-by-value 10..25   -> 1=10 2=20
      t1: commit
    `,
      withIndex,
    ));
});

describe('gap locks taken through a secondary index follow its gaps (lock_update_insert / lock_update_delete)', () => {
  it('an entry inserted into a locked gap of the index inherits the lock', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: get-by-value 15        -> none        # the gap (10,1)..(20,2)
      t1: insert 3 value=17                     # (17,3) splits it: the lower half inherits t1's gap lock
      t2: insert 4 value=15      -> waits       # (15,4) lands in (10,1)..(17,3)
      t1: get-by-value 15        -> none
      t1: commit
      -> t2 1 row
      t2: commit
    `,
      withIndex,
    ));

  it('the rollback of an insert passes the locks on its removed entry to the next one', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t3: begin serializable
      t1: insert 3 value=15
      t2: get-by-value 12        -> none        # a gap lock on (15,3), t1's uncommitted entry
      t1: rollback                              # (15,3) goes: (20,2) inherits t2's lock
      t3: insert 4 value=12      -> waits
      t2: get-by-value 12        -> none
      t2: commit
      -> t3 1 row
      t3: commit
    `,
      withIndex,
    ));

  it('purge passes the locks on a purged entry to the next one', () =>
    runScript(
      `
      db: insert 3 value=15
      t1: begin serializable
      t1: delete 3
      t1: commit
      t2: begin serializable
      t2: get-by-value 12        -> none        # a gap lock on the delete-marked (15,3)
      db: purge                  -> 1 record    # removes row 3 and (15,3): (20,2) inherits t2's lock
      t3: begin serializable
      t3: insert 4 value=12      -> waits
      t2: get-by-value 12        -> none
      t2: commit
      -> t3 1 row
      t3: commit
    `,
      withIndex,
    ));
});

describe('range scans lock the gaps at both ends of the range', () => {
  it('a SERIALIZABLE scan of an empty key range locks the gap it lies in, not the last gap of the table', () =>
    runScript(`
      db: insert 5 value=50
      t1: begin serializable
      t2: begin serializable
      t1: scan 3..4              -> empty       # the gap (2, 5)
      t2: insert 3 value=30      -> waits
      t1: scan 3..4              -> empty
      t1: commit
      -> t2 1 row
      t2: commit
    `));

  it('a SERIALIZABLE reverse scan locks the gap above its range', () =>
    runScript(`
      db: insert 5 value=50
      t1: begin serializable
      t2: begin serializable
      t1: scan 1..4 reverse      -> 2=20 1=10   # next-key locks on 2 and 1 cover the gaps below them; (2, 5) first
      t2: insert 3 value=30      -> waits
      t1: scan 1..4 reverse      -> 2=20 1=10
      t1: commit
      -> t2 1 row
      t2: commit
    `));

  it('a SERIALIZABLE reverse scan through the index locks the gap above its range', () =>
    runScript(
      `
      t1: begin serializable
      t2: begin serializable
      t1: scan-by-value 10..15 reverse -> 1=10  # the gap (10,1)..(20,2) first, then (10,1)
      t2: insert 3 value=12      -> waits
      t1: commit
      -> t2 1 row
      t2: commit
    `,
      withIndex,
    ));

  it.each(['repeatable-read', 'serializable'])(
    'a reverse locking scan at %s locks the gap above its range',
    async (level) => {
      await runScript(`
      db: insert 5 value=50
      t1: begin ${level}
      t2: begin ${level}
      t1: scan-for-share 1..4 reverse -> 2=20 1=10
      t2: insert 3 value=30      -> waits
      t1: scan-for-share 1..4 reverse -> 2=20 1=10
      t1: commit
      -> t2 1 row
      t2: commit
    `);
    },
  );
});
