/**
 * P4, lost update (Berenson et al.): T1 and T2 both read a row, then both write a value computed
 * from what they read; one increment is lost. InnoDB allows it at READ COMMITTED and REPEATABLE
 * READ (a write acts on the newest version, with no first-committer-wins check: the second writer
 * just waits). At SERIALIZABLE the reads take shared locks, both writers wait for each other, and
 * the second is a deadlock victim. Hermitage, mysql.md "Lost Update (P4)".
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const allowed = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: get 1               -> 10
  t2: get 1               -> 10
  t1: update 1 value=11   -> 1 row      # 10 + 1
  t2: update 1 value=11   -> waits      # 10 + 1, from T2's read
  t1: commit
  -> t2 1 row                            # no error: the update goes through
  t2: commit
  db: get 1               -> 11         # two increments, one lost
`;

describe('P4 lost update', () => {
  it('READ COMMITTED: allowed (the second writer waits, then overwrites)', () => runScript(allowed('read-committed')));
  it('REPEATABLE READ: allowed (no first-committer-wins check in InnoDB)', () => runScript(allowed('repeatable-read')));

  it('SERIALIZABLE: prevented by a deadlock', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: get 1               -> 10       # shared lock
      t2: get 1               -> 10       # shared lock
      t1: update 1 value=11   -> waits    # for T2's shared lock
      t2: update 1 value=11   -> ERR_DEADLOCK
      -> t1 1 row
      t2: rollback            -> ERR_TRANSACTION_FINISHED   # minno: the victim is rolled back already
      t1: commit
      db: get 1               -> 11
    `));

  it('REPEATABLE READ with SELECT ... FOR UPDATE: prevented (the second read waits)', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: get-for-update 1    -> 10
      t2: get-for-update 1    -> waits
      t1: update 1 value=11
      t1: commit
      -> t2 11                            # the newest version, read under the lock
      t2: update 1 value=12
      t2: commit
      db: get 1               -> 12       # both increments
    `));
});
