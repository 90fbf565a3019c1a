/**
 * P1, dirty read (Berenson et al.): T2 reads a row T1 has written but not committed. InnoDB's
 * consistent reads never see uncommitted changes: at READ COMMITTED and REPEATABLE READ T2 reads
 * the last committed version from the undo log, without waiting; at SERIALIZABLE the read is a
 * shared locking read and waits for T1 to finish, then reads what T1 committed.
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('P1 dirty read', () => {
  it('READ COMMITTED: T2 reads the committed version, then the new one once T1 commits', () =>
    runScript(`
      t1: begin read-committed
      t2: begin read-committed
      t1: update 1 value=11
      t2: get 1               -> 10     # not 11: T1 has not committed
      t1: commit
      t2: get 1               -> 11     # a new snapshot per statement
      t2: commit
    `));

  it('REPEATABLE READ: T2 reads the committed version, and keeps reading it', () =>
    runScript(`
      t1: begin repeatable-read
      t2: begin repeatable-read
      t1: update 1 value=11
      t2: get 1               -> 10
      t1: commit
      t2: get 1               -> 10     # the snapshot of T2's first read
      t2: commit
      db: get 1               -> 11
    `));

  it('SERIALIZABLE: T2 waits for T1, then reads what it committed', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=11
      t2: get 1               -> ERR_WOULD_WAIT   # minno: a synchronous read cannot wait
      t2: get-for-share 1     -> waits            # InnoDB: SELECT ... LOCK IN SHARE MODE blocks
      t1: commit
      -> t2 11
      t2: commit
    `));
});
