/**
 * minno's one visible departure from SQL at SERIALIZABLE: plain reads are synchronous, so a plain
 * read that InnoDB would make wait for a shared lock throws ERR_WOULD_WAIT instead (and the
 * transaction stays usable: the caller waits with `getForShare`/`scanForShare`). These scripts pin
 * that contract down, and the cases where the check is wrong (a lock the transaction already holds
 * never has to be waited for, in InnoDB or in minno's own `acquire`).
 */
import { describe, it } from 'vitest';
import { runScript } from './script.js';

describe('SERIALIZABLE plain reads', () => {
  it('a read that would wait throws ERR_WOULD_WAIT; the transaction stays usable and can wait', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=11
      t2: get 2               -> 20
      t2: get 1               -> ERR_WOULD_WAIT
      t2: scan                -> ERR_WOULD_WAIT
      t2: get-for-share 1     -> waits
      t1: commit
      -> t2 11
      t2: get 1               -> 11
      t2: scan                -> 1=11 2=20
      t2: commit
    `));

  it('a read of a row nobody else locked takes the shared lock: a writer then waits', () =>
    runScript(`
      t1: begin serializable
      t2: begin repeatable-read
      t1: get 1               -> 10
      t2: update 1 value=11   -> waits
      t1: commit
      -> t2 1 row
      t2: commit
    `));

  // A lock the transaction already holds covers the read, however many requests wait behind it
  // (InnoDB's lock_rec_lock sees the covering lock first). Once a bug: `wouldWait` counted T2's
  // waiting X request against T1's S request and the read threw ERR_WOULD_WAIT.
  it('re-reading a row the transaction already share-locked does not wait', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: get 1               -> 10       # S lock on row 1
      t2: update 1 value=11   -> waits    # X request queued behind T1's S lock
      t1: get 1               -> 10       # T1 holds the lock it asks for
      t1: commit
      -> t2 1 row
      t2: commit
    `));

  // The same with an exclusive lock: a SERIALIZABLE transaction reads back the row it updated
  // while another transaction waits for that row.
  it('reading back a row the transaction updated does not wait', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: update 1 value=11
      t2: update 1 value=12   -> waits
      t1: get 1               -> 11       # T1 holds X on row 1
      t1: commit
      -> t2 1 row
      t2: commit
    `));
});
