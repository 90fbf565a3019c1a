/**
 * Lock waits between writers, at every isolation level: a transaction that wants a row another
 * active transaction wrote waits for it, whatever that writer is doing meanwhile -- including
 * waiting for a lock of its own. (InnoDB converts the writer's implicit lock to an explicit one,
 * lock_rec_convert_impl_to_expl, and queues the newcomer behind it.)
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const LEVELS: readonly IsolationLevel[] = ['read-committed', 'repeatable-read', 'serializable'];

describe.each(LEVELS)('lock waits at %s', (level) => {
  it('a writer that waits still makes others wait for the rows it wrote', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: update 1 value=11
      t2: update 2 value=22
      t1: update 2 value=12   -> waits      # t1 waits for t2
      t3: update 1 value=13   -> waits      # row 1 is t1's: t3 waits for t1
      t2: commit
      -> t1 1 row
      t1: commit
      -> t3 1 row
      t3: commit
      db: scan                -> 1=13 2=12
    `));

  it('a row inserted by a writer that waits is locked too', () =>
    runScript(`
      t1: begin ${level}
      t2: begin ${level}
      t3: begin ${level}
      t1: insert 3 value=30
      t2: update 2 value=22
      t1: update 2 value=32   -> waits      # t1 waits for t2
      t3: get-for-update 3    -> waits      # the new row is t1's (an implicit lock)
      t2: rollback
      -> t1 1 row
      t1: commit
      -> t3 30
      t3: commit
      db: scan                -> 1=10 2=32 3=30
    `));
});
