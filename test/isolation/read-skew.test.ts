/**
 * G-single, read skew (Adya): T1 reads row 1 before T2 changes rows 1 and 2, and row 2 after, so
 * it sees a state that never existed. Hermitage, mysql.md "Read Skew (G-single)":
 *  - plain reads: READ COMMITTED allows it; REPEATABLE READ prevents it (one snapshot);
 *    SERIALIZABLE prevents it with shared locks (T2's write waits for T1).
 *  - predicate dependencies: the same, with predicate reads.
 *  - a write predicate: a DELETE ... WHERE acts on the newest rows, not T1's snapshot, so
 *    REPEATABLE READ does not prevent it; at SERIALIZABLE T1 and T2 deadlock and InnoDB rolls back
 *    T1, the transaction that closed the cycle.
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('G-single read skew, plain reads', () => {
  it('READ COMMITTED: allowed (T1 sees row 2 after T2 and row 1 before)', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: get 1               -> 10
      t2: get 1               -> 10
      t2: get 2               -> 20
      t2: update 1 value=12
      t2: update 2 value=18
      t2: commit
      t1: get 2               -> 18     # with 1=10: a state that never existed
      t1: commit
    `));

  it('REPEATABLE READ: prevented (one snapshot)', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: get 1               -> 10
      t2: get 1               -> 10
      t2: get 2               -> 20
      t2: update 1 value=12
      t2: update 2 value=18
      t2: commit
      t1: get 2               -> 20
      t1: commit
    `));

  it("SERIALIZABLE: prevented (T2's write waits for T1's shared lock)", () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: get 1               -> 10
      t2: get 1               -> 10
      t2: get 2               -> 20
      t2: update 1 value=12   -> waits
      t1: get 2               -> 20
      t1: commit
      -> t2 1 row
      t2: update 2 value=18
      t2: commit
      db: scan                -> 1=12 2=18
    `));
});

describe('G-single read skew, predicate dependencies', () => {
  it('READ COMMITTED: allowed', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: scan where value%5=0    -> 1=10 2=20
      t2: update where value=10 value=12  -> 1 row
      t2: commit
      t1: scan where value%3=0    -> 1=12
      t1: commit
    `));

  it('REPEATABLE READ: prevented', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: scan where value%5=0    -> 1=10 2=20
      t2: update where value=10 value=12  -> 1 row
      t2: commit
      t1: scan where value%3=0    -> empty
      t1: commit
    `));

  // T1's second read is covered by the next-key locks it already holds, so it does not wait for
  // T2's queued update (minimal repro in serializable-plain-reads.test.ts).
  it("SERIALIZABLE: prevented (T2's update waits for T1's next-key locks)", () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: scan where value%5=0    -> 1=10 2=20
      t2: update where value=10 value=12  -> waits
      t1: scan where value%3=0    -> empty    # T1 holds the locks already: no wait
      t1: commit
      -> t2 1 row
      t2: commit
    `));
});

describe('G-single read skew, a write predicate', () => {
  it('READ COMMITTED: allowed', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: get 1                   -> 10
      t2: scan                    -> 1=10 2=20
      t2: update 1 value=12
      t2: update 2 value=18
      t2: commit
      t1: delete where value=20   -> 0 rows   # the newest row 2 is 18
      t1: get 2                   -> 18
      t1: commit
    `));

  it('REPEATABLE READ: allowed (the delete sees T2, the reads do not)', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: get 1                   -> 10
      t2: scan                    -> 1=10 2=20
      t2: update 1 value=12
      t2: update 2 value=18
      t2: commit
      t1: delete where value=20   -> 0 rows   # acts on T2's 18, which T1's reads do not show
      t1: get 2                   -> 20
      t1: commit
    `));

  // The victim follows InnoDB: TRX_WEIGHT (undo records plus locks held), ties broken against the
  // transaction that joined the cycle last (lock_wait_choose_victim in lock0wait.cc): T1 here, as
  // Hermitage observed.
  it('SERIALIZABLE: prevented (T1 and T2 deadlock; T1 is rolled back)', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: get 1                   -> 10
      t2: scan                    -> 1=10 2=20
      t2: update 1 value=12       -> waits          # for T1's shared lock on row 1
      t1: delete where value=20   -> ERR_DEADLOCK   # for T2's shared lock on row 1: a cycle
      -> t2 1 row
      t2: update 2 value=18
      t2: commit
      db: scan                    -> 1=12 2=18
    `));
});
