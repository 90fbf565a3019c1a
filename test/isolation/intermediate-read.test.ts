/**
 * G1b, intermediate read (Adya): T2 must not see a version of a row that T1 later overwrote
 * before committing. Consistent reads see only committed versions; at SERIALIZABLE T2 waits for
 * T1 and sees its final value. Hermitage, mysql.md: "MySQL read committed prevents Intermediate
 * Reads (G1b)".
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('G1b intermediate read', () => {
  it('READ COMMITTED: T2 sees the old value, then only the final one', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: update 1 value=101
      t2: scan                -> 1=10 2=20    # not 101
      t1: update 1 value=11
      t1: commit
      t2: scan                -> 1=11 2=20    # the final value, never 101
      t2: commit
    `));

  it('REPEATABLE READ: T2 keeps its snapshot from before T1', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: update 1 value=101
      t2: scan                -> 1=10 2=20
      t1: update 1 value=11
      t1: commit
      t2: scan                -> 1=10 2=20    # T2's snapshot
      t2: commit
      db: scan                -> 1=11 2=20
    `));

  it('SERIALIZABLE: T2 waits for T1 and sees only its final value', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=101
      t2: scan                -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t2: scan-for-share      -> waits            # InnoDB: SELECT blocks on T1's lock
      t1: update 1 value=11
      t1: commit
      -> t2 1=11 2=20
      t2: commit
    `));
});
