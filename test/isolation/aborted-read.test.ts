/**
 * G1a, aborted read (Adya): T2 must never see a value written by T1 if T1 rolls back. InnoDB's
 * consistent reads never see uncommitted versions (READ COMMITTED, REPEATABLE READ); at
 * SERIALIZABLE T2's read waits for T1's exclusive lock and reads the row after the rollback.
 * Hermitage, mysql.md: "MySQL read committed prevents Aborted Reads (G1a)".
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const consistent = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: update 1 value=101
  t2: scan                -> 1=10 2=20    # still 10: T1's write is not committed
  t1: rollback
  t2: scan                -> 1=10 2=20
  t2: commit
  db: scan                -> 1=10 2=20
`;

describe('G1a aborted read', () => {
  it('READ COMMITTED: T2 never sees the aborted write', () => runScript(consistent('read-committed')));
  it('REPEATABLE READ: T2 never sees the aborted write', () => runScript(consistent('repeatable-read')));

  it('SERIALIZABLE: T2 waits for T1, then reads the row as it was before', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=101
      t2: scan                -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t2: scan-for-share      -> waits            # InnoDB: the shared next-key lock on row 1 waits
      t1: rollback
      -> t2 1=10 2=20
      t2: scan                -> 1=10 2=20
      t2: commit
    `));
});
