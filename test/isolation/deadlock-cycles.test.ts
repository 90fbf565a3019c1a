/**
 * Every deadlock is found (issue 10, bug 2). One new wait can close several cycles at once. InnoDB
 * breaks them all: it picks a victim from a cycle through the new request, and searches again
 * until no cycle runs through it (MySQL 5.7's DeadlockChecker::check_and_resolve loops; 8.0's
 * lock_wait_find_and_handle_deadlocks keeps resolving cycles). The victim is the lightest
 * transaction on the cycle (TRX_WEIGHT: undo records plus locks), the newest waiter on a tie.
 * The bug: the detector broke one cycle per new wait, so when the victim was not the requester the
 * requester and a third transaction stayed blocked until the lock-wait timeout.
 */
import { describe, it } from 'vitest';
import { ISOLATION_LEVELS } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

describe.each(ISOLATION_LEVELS)('deadlocks at %s', (level) => {
  it('two cycles through one request: both lighter transactions are victims, the requester goes on', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: insert 3 value=30               # an undo record: t1 is the heaviest
      t2: get-for-share 1     -> 10
      t3: get-for-share 1     -> 10
      t1: get-for-share 2     -> 20
      t2: update 2 value=21   -> waits    # for t1's shared lock on 2
      t3: update 2 value=22   -> waits    # for t1, and behind t2's request
      t1: update 1 value=11   -> 1 row    # for t2 and t3: closes t1->t2->t1 and t1->t3->t1
      -> t2 ERR_DEADLOCK
      -> t3 ERR_DEADLOCK
      t1: commit
      db: scan                -> 1=11 2=20 3=30
    `));

  it('two cycles through one request: a lighter requester is the only victim', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t2: insert 4 value=40               # t2 and t3 are heavier than t1
      t3: insert 5 value=50
      t2: get-for-share 1     -> 10
      t3: get-for-share 1     -> 10
      t1: get-for-share 2     -> 20
      t2: update 2 value=21   -> waits
      t3: update 2 value=22   -> waits
      t1: update 1 value=11   -> ERR_DEADLOCK   # rolled back: its shared lock on 2 goes
      -> t2 1 row
      t2: commit
      -> t3 1 row
      t3: commit
      db: scan                -> 1=10 2=22 4=40 5=50
    `));

  it('a cycle of three through the requester', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: update 1 value=11
      t2: update 2 value=21
      t3: insert 3 value=30
      t1: update 2 value=12   -> waits    # t1 -> t2
      t2: update 3 value=23   -> waits    # t2 -> t3 (its implicit lock on the new row)
      t3: update 1 value=31   -> ERR_DEADLOCK   # t3 -> t1 closes the cycle; equal weights: the newest waiter
      -> t2 0 rows                        # t3's row 3 was rolled back
      t2: commit
      -> t1 1 row
      t1: commit
      db: scan                -> 1=11 2=12
    `));
});
