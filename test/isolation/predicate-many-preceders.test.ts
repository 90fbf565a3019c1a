/**
 * PMP, predicate-many-preceders (Adya): a predicate read sees a different set of rows the second
 * time because another transaction inserted or changed matching rows in between. Hermitage,
 * mysql.md "Predicate-Many-Preceders (PMP)":
 *  - read predicates: READ COMMITTED allows it (a new snapshot per statement); REPEATABLE READ
 *    prevents it (one snapshot); SERIALIZABLE prevents it with next-key locks: the insert waits.
 *  - write predicates: a DELETE ... WHERE reads the newest committed rows under exclusive locks,
 *    not the snapshot, so at READ COMMITTED and REPEATABLE READ it acts on rows the transaction's
 *    own reads do not show; at SERIALIZABLE T2's first read already waits for T1.
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('PMP predicate-many-preceders, read predicates', () => {
  it('READ COMMITTED: the second read sees the new row', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: scan where value=30     -> empty
      t2: insert 3 value=30
      t2: commit
      t1: scan where value%3=0    -> 3=30     # the newly inserted row
      t1: commit
    `));

  it('REPEATABLE READ: the second read does not see the new row', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: scan where value=30     -> empty
      t2: insert 3 value=30
      t2: commit
      t1: scan where value%3=0    -> empty    # T1's snapshot
      t1: commit
      db: scan where value%3=0    -> 3=30
    `));

  it("SERIALIZABLE: the insert waits for the reader's next-key locks", () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: scan where value=30     -> empty    # shared next-key locks on 1, 2 and the gap after 2
      t2: insert 3 value=30       -> waits    # insert intention into the locked gap
      t1: scan where value%3=0    -> empty
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan where value%3=0    -> 3=30
    `));
});

describe('PMP predicate-many-preceders, write predicates', () => {
  it('READ COMMITTED: the delete waits, then deletes the row T1 changed to 20', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: update where true value=value+10  -> 2 rows
      t2: scan                    -> 1=10 2=20
      t2: delete where value=20   -> waits    # row 1 is locked by T1
      t1: commit
      -> t2 1 row                             # row 1 (now 20) is deleted; row 2 (now 30) is not
      t2: scan                    -> 2=30
      t2: commit
    `));

  it("REPEATABLE READ: the delete acts on rows T2's snapshot does not show", () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: update where true value=value+10  -> 2 rows
      t2: scan where value=20     -> 2=20
      t2: delete where value=20   -> waits
      t1: commit
      -> t2 1 row                             # row 1 (20 after T1) deleted; row 2 (30 after T1) kept
      t2: scan                    -> 2=20     # "deleted" value 20 still there in T2's snapshot
      t2: commit
      db: scan                    -> 2=30
    `));

  it("SERIALIZABLE: T2's read waits for T1, and T2 then acts on what T1 committed", () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update where true value=value+10  -> 2 rows
      t2: scan                    -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t2: scan-for-share          -> waits            # InnoDB: SELECT blocks on T1's locks
      t1: commit
      -> t2 1=20 2=30
      t2: delete where value=20   -> 1 row
      t2: scan                    -> 2=30
      t2: commit
    `));
});
