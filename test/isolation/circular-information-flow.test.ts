/**
 * G1c, circular information flow (Adya): T1 reads T2's write and T2 reads T1's. Consistent reads
 * see neither uncommitted write. At SERIALIZABLE each read is a shared locking read of a row the
 * other holds exclusively: a deadlock, and InnoDB rolls back the transaction that closed the
 * cycle (equal weights; the later waiter is chosen) -- T2 -- whose write is then undone.
 * Hermitage, mysql.md: "MySQL read committed prevents Circular Information Flow (G1c)".
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const consistent = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: update 1 value=11
  t2: update 2 value=22
  t1: get 2               -> 20     # not T2's 22
  t2: get 1               -> 10     # not T1's 11
  t1: commit
  t2: commit
  db: scan                -> 1=11 2=22
`;

describe('G1c circular information flow', () => {
  it("READ COMMITTED: neither reads the other's uncommitted write", () => runScript(consistent('read-committed')));
  it("REPEATABLE READ: neither reads the other's uncommitted write", () => runScript(consistent('repeatable-read')));

  it('SERIALIZABLE: the reads wait for each other; the second is a deadlock', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=11
      t2: update 2 value=22
      t1: get 2               -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t1: get-for-share 2     -> waits            # InnoDB: SELECT blocks on T2's lock
      t2: get-for-share 1     -> ERR_DEADLOCK     # T2 waits for T1 waits for T2: T2 rolled back
      -> t1 20                                    # T2's write was undone
      t1: commit
      db: scan                -> 1=11 2=20
    `));
});
