/**
 * OTV, observed transaction vanishes (Adya/Crooks): T3 reads T1's and then T2's writes such that
 * it sees part of T2 and then loses sight of T1. Consistent reads see whole committed
 * transactions only. Hermitage, mysql.md: "MySQL read committed prevents Observed Transaction
 * Vanishes (OTV)".
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('OTV observed transaction vanishes', () => {
  it('READ COMMITTED: T3 sees T1 whole, then T2 whole', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t3: begin read-committed
      t1: update 1 value=11
      t1: update 2 value=19
      t2: update 1 value=12   -> waits
      t1: commit
      -> t2 1 row
      t3: scan                -> 1=11 2=19    # T1, not T2's uncommitted 12
      t2: update 2 value=18
      t3: scan                -> 1=11 2=19
      t2: commit
      t3: scan                -> 1=12 2=18    # T2 whole
      t3: commit
    `));

  it('REPEATABLE READ: T3 sees T1 whole and keeps seeing it', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t3: begin repeatable-read
      t1: update 1 value=11
      t1: update 2 value=19
      t2: update 1 value=12   -> waits
      t1: commit
      -> t2 1 row
      t3: scan                -> 1=11 2=19
      t2: update 2 value=18
      t3: scan                -> 1=11 2=19
      t2: commit
      t3: scan                -> 1=11 2=19    # T3's snapshot
      t3: commit
      db: scan                -> 1=12 2=18
    `));

  it('SERIALIZABLE: T3 waits for T2, then sees it whole', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t3: begin serializable
      t1: update 1 value=11
      t1: update 2 value=19
      t2: update 1 value=12   -> waits
      t1: commit
      -> t2 1 row
      t3: scan                -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t3: scan-for-share      -> waits            # InnoDB: SELECT blocks on T2's lock on row 1
      t2: update 2 value=18
      t2: commit
      -> t3 1=12 2=18
      t3: scan                -> 1=12 2=18
      t3: commit
    `));
});
