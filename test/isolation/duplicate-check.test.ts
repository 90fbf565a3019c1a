/**
 * The lock a failed insert leaves on the row it collided with. InnoDB's duplicate check on the
 * primary key shares the existing record only (row_ins_duplicate_error_in_clust: S,
 * LOCK_REC_NOT_GAP), at every level: the gap before it stays open to other inserts. (A unique
 * secondary index is different: there InnoDB takes next-key locks, and so do we.) The shared
 * lock does keep the row from changing under the failed insert until its transaction ends.
 */
import { describe, it } from 'vitest';
import { ISOLATION_LEVELS } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

describe.each(ISOLATION_LEVELS)('a duplicate primary key at %s', (level) => {
  it('locks the existing row, not the gap before it', () =>
    runScript(`
      db: insert 5 value=50
      t1: begin ${level}
      t2: begin ${level}
      t1: insert 5 value=51   -> ERR_DUPLICATE_KEY
      t2: insert 4 value=40               # into the gap before 5: no wait
      t2: update 5 value=52   -> waits    # the row itself is shared-locked by t1
      t1: commit
      -> t2 1 row
      t2: commit
      db: scan                -> 1=10 2=20 4=40 5=52
    `));
});
