/**
 * G0, dirty write (Adya): two transactions write the same rows interleaved. InnoDB prevents it at
 * every level (and even at READ UNCOMMITTED) with exclusive row locks held to the end: the second
 * writer waits for the first to commit. Hermitage, mysql.md "Read Committed basic requirements".
 */
import { describe, it } from 'vitest';
import type { IsolationLevel } from '../../src/mvcc/trx.js';
import { runScript } from './script.js';

const script = (level: IsolationLevel): string => `
  t1: begin ${level}
  t2: begin ${level}
  t1: update 1 value=11   -> 1 row
  t2: update 1 value=12   -> waits      # t1 holds the exclusive lock on row 1
  t1: update 2 value=21   -> 1 row
  t1: commit
  -> t2 1 row                            # t1's commit lets t2's write through
  db: scan                -> 1=11 2=21   # t2's write is not committed yet
  t2: update 2 value=22   -> 1 row
  t2: commit
  db: scan                -> 1=12 2=22   # both rows from one transaction: no interleaving
`;

describe('G0 dirty write', () => {
  it('READ COMMITTED: the second writer waits for the first to commit', () => runScript(script('read-committed')));
  it('REPEATABLE READ: the second writer waits for the first to commit', () => runScript(script('repeatable-read')));
  it('SERIALIZABLE: the second writer waits for the first to commit', () => runScript(script('serializable')));
});
