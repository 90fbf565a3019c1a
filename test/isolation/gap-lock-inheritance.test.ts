/**
 * Phantoms through a gap whose ends move (issue 10, bug 1). A gap lock names the record that ends
 * the gap. When a record appears inside a locked gap, or the record that ends one disappears, the
 * gap changes shape and InnoDB moves the locks with it (lock0lock.cc):
 *  - an insert splits the gap: the new record inherits, as gap locks, every gap-covering lock of
 *    its successor (lock_update_insert -> lock_rec_inherit_to_gap_if_gap_lock);
 *  - removing a record (purge, or the rollback of an insert) joins two gaps: the successor
 *    inherits every lock of the removed record as a gap lock (lock_update_delete ->
 *    lock_rec_inherit_to_gap), except those of READ COMMITTED transactions;
 *  - rolling back a delete mark leaves the record where it was: its locks stay on it.
 * Without the first, a SERIALIZABLE transaction saw a row appear in a gap it had locked (a
 * G-single cycle found by the list-append checker); without the second, the same through purge or
 * a rollback. READ COMMITTED takes no gap locks, so there the phantom is allowed.
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const LOCKING: readonly IsolationLevel[] = ['repeatable-read', 'serializable'];

describe.each(LOCKING)('gap locks follow the gap at %s', (level) => {
  it('an insert into a locked gap inherits the lock: a second insert there waits (lock_update_insert)', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t1: get-for-share 5     -> none     # a shared gap lock on the gap after 2 (the supremum)
      t1: insert 7 value=70               # 7 splits that gap: (2, 7) inherits t1's gap lock
      t2: insert 5 value=50   -> waits    # into (2, 7): insert intention on 7 meets the inherited lock
      t1: get-for-share 5     -> none     # no phantom
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan                -> 1=10 2=20 5=50 7=70
    `));

  it('a new record below the locked key inherits too: the gap before it stays locked', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t1: get-for-share 0     -> none     # a gap lock on (-inf, 1)
      t1: insert -5 value=-50             # (-inf, -5) inherits it
      t2: insert -7 value=-70 -> waits
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan                -> -7=-70 -5=-50 1=10 2=20
    `));

  it('the rollback of an insert passes the locks on the removed record to the next one (lock_update_delete)', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: insert 5 value=50
      t2: get-for-share 4     -> none     # a gap lock on (2, 5): 5 is t1's uncommitted row
      t1: rollback                        # 5 goes: (2, +inf) inherits t2's lock
      t3: insert 4 value=40   -> waits
      t2: get-for-share 4     -> none     # no phantom
      t2: commit
      -> t3 1 row
      t3: commit
      db: scan                -> 1=10 2=20 4=40
    `));

  it('purge passes the locks on a purged record to the next one (lock_update_delete)', () =>
    runScript(`
      t1: begin ${level}
      t1: delete 2
      t1: commit
      t2: begin ${level}
      t2: get-for-share 2     -> none     # locks the delete-marked record 2
      db: purge               -> 1 record # removes it: the gap after 1 inherits t2's lock
      t3: begin ${level}
      t3: insert 2 value=22   -> waits
      t2: get-for-share 2     -> none     # no phantom
      t2: commit
      -> t3 1 row
      t3: commit
      db: scan                -> 1=10 2=22
    `));

  it('a waiter on a purged record is let go and retries against the gap it fell into', () =>
    runScript(`
      t1: begin ${level}
      t1: delete 2
      t1: commit
      t2: begin ${level}
      t3: begin ${level}
      t2: get-for-share 2     -> none     # a shared lock on the delete-marked record 2
      t3: get-for-update 2    -> waits    # an exclusive lock on it waits for t2
      db: purge               -> 1 record # 2 goes; t3 retries: its gap lock never waits
      -> t3 none
      t3: insert 2 value=23   -> waits    # but its insert meets t2's inherited gap lock
      t2: commit
      -> t3 1 row
      t3: commit
      db: scan                -> 1=10 2=23
    `));

  it('the rollback of a delete mark leaves the record and its locks where they were', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t1: delete 2
      t2: get-for-share 2     -> waits
      t1: rollback
      -> t2 20
      t2: commit
      db: scan                -> 1=10 2=20
    `));
});

describe.each(LOCKING)('every insert checks its gap anew at %s', (level) => {
  it('an insert intention granted once does not let a later insert through another gap lock', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: get-for-share 5     -> none     # a gap lock on (2, +inf)
      t2: insert 6 value=60   -> waits    # an insert intention on the supremum, waiting for t1
      t1: commit
      -> t2 1 row                         # granted: it stays in the queue until t2 ends
      t3: get-for-update 8    -> none     # an exclusive gap lock on (6, +inf)
      t2: insert 9 value=90   -> waits    # must wait for t3, its old insert intention notwithstanding
      t3: get-for-update 9    -> none     # no phantom
      t3: commit
      -> t2 1 row
      t2: commit
      db: scan                -> 1=10 2=20 6=60 9=90
    `));
});

describe('READ COMMITTED takes no gap locks: the phantoms are allowed', () => {
  it('an insert into the gap after a failed locking read goes ahead', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: get-for-share 5     -> none
      t1: insert 7 value=70
      t2: insert 5 value=50
      t2: commit
      t1: get-for-share 5     -> 50       # a phantom, as InnoDB's READ COMMITTED allows
      t1: commit
    `));

  it('purge drops the record locks of READ COMMITTED transactions instead of passing them on', () =>
    runScript(`
      t1: begin read-committed
      t1: delete 2
      t1: commit
      t2: begin read-committed
      t2: get-for-share 2     -> none
      db: purge               -> 1 record
      t3: begin read-committed
      t3: insert 2 value=22
      t3: commit
      t2: get-for-share 2     -> 22
      t2: commit
    `));
});
