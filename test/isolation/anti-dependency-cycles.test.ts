/**
 * G2, anti-dependency cycles (Adya): T1 and T2 each run a predicate read that the other's insert
 * would change, then both insert. InnoDB allows it at READ COMMITTED and REPEATABLE READ (the
 * reads are consistent and take no locks); at SERIALIZABLE the reads take shared next-key locks,
 * each insert waits for the other's gap lock, and the second is a deadlock victim. Hermitage,
 * mysql.md "Anti-Dependency Cycles (G2)", with Fekete et al.'s three-transaction example.
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const allowed = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: scan where value%3=0    -> empty
  t2: scan where value%3=0    -> empty
  t1: insert 3 value=30
  t2: insert 4 value=42
  t1: commit
  t2: commit
  db: scan where value%3=0    -> 3=30 4=42   # each inserted what the other's read ruled out
`;

describe('G2 anti-dependency cycles', () => {
  it('READ COMMITTED: allowed', () => runScript(allowed('read-committed')));
  it('REPEATABLE READ: allowed', () => runScript(allowed('repeatable-read')));

  it('SERIALIZABLE: prevented by a deadlock on the gap locks', () =>
    runScript(`
      t1: begin serializable
      t2: begin serializable
      t1: scan where value%3=0    -> empty      # S next-key locks on 1, 2 and the gap after 2
      t2: scan where value%3=0    -> empty      # the same, shared
      t1: insert 3 value=30       -> waits      # insert intention: waits for T2's gap lock
      t2: insert 4 value=42       -> ERR_DEADLOCK
      -> t1 1 row
      t1: commit
      db: scan where value%3=0    -> 3=30
    `));

  // The victim is chosen by InnoDB's TRX_WEIGHT (undo records plus locks held): all three have
  // written nothing, and T2 holds the fewest locks, so T2 is rolled back, as Hermitage observed.
  it('SERIALIZABLE, Fekete et al.: T1 closes a cycle of three and T2 is rolled back', () =>
    runScript(`
      t1: begin serializable
      t1: scan                    -> 1=10 2=20
      t2: begin serializable
      t2: update 2 value=value+5  -> waits          # for T1's shared lock on row 2
      t3: begin serializable
      t3: scan                    -> ERR_WOULD_WAIT # minno: a synchronous read cannot wait
      t3: scan-for-share          -> waits          # queued behind T2's waiting X lock on row 2
      t1: update 1 value=0        -> waits          # for T3's shared lock on row 1: a cycle
      -> t2 ERR_DEADLOCK                            # T2 is chosen, which lets T3 go
      -> t3 1=10 2=20
      t3: commit
      -> t1 1 row
      t1: commit
      db: scan                    -> 1=0 2=20
    `));
});
