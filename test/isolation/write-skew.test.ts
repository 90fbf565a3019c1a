/**
 * G2-item, write skew (Adya): T1 and T2 read the same two rows, then each updates a different one
 * based on what it read. InnoDB allows it at READ COMMITTED and REPEATABLE READ (the writes touch
 * different rows: no lock conflict). At SERIALIZABLE the reads take shared locks; each write waits
 * for the other's lock and the second is a deadlock victim. Hermitage, mysql.md "Write Skew
 * (G2-item)" (its `where id in (1,2)` is two unique searches: two record locks).
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const allowed = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: get 1               -> 10
  t1: get 2               -> 20
  t2: get 1               -> 10
  t2: get 2               -> 20
  t1: update 1 value=11
  t2: update 2 value=21
  t1: commit
  t2: commit
  db: scan                -> 1=11 2=21   # both writes, each made on a premise the other broke
`;

describe('G2-item write skew', () => {
  it('READ COMMITTED: allowed', () => runScript(allowed('read-committed')));
  it('REPEATABLE READ: allowed', () => runScript(allowed('repeatable-read')));

  it('SERIALIZABLE: prevented by a deadlock', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: get 1               -> 10
      t1: get 2               -> 20
      t2: get 1               -> 10
      t2: get 2               -> 20
      t1: update 1 value=11   -> waits          # for T2's shared lock on row 1
      t2: update 2 value=21   -> ERR_DEADLOCK   # for T1's shared lock on row 2: a cycle
      -> t1 1 row
      t1: commit
      db: scan                -> 1=11 2=20
    `));
});
