/**
 * A statement waiting for a lock always settles. Its timeout timer keeps the process alive, the way
 * a pending write keeps an lmdb process alive and better-sqlite3's busy timeout blocks until it
 * fails: a process whose only pending work is a lock wait ends the wait with
 * ERR_LOCK_WAIT_TIMEOUT after `lockWaitTimeoutMs` (the statement fails, the transaction stays
 * usable), never by exiting under a promise that never settles (Node's exit code 13, "unsettled
 * top-level await", before issue 10). Background timers still never hold a process open.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';

const here = fileURLToPath(new URL('.', import.meta.url));

describe('a lock wait always settles', () => {
  it('a process whose only pending work is a lock wait times the wait out instead of exiting under it', () => {
    const timeoutMs = 300;
    const child = spawnSync(
      `${here}../../node_modules/.bin/tsx`,
      [`${here}fixtures/lone-lock-wait.ts`, String(timeoutMs)],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(child.stderr).toBe('');
    expect(child.status).toBe(0);
    const result = JSON.parse(child.stdout) as { outcome: string; waitedMs: number; waiterState: string };
    expect(result.outcome).toBe('ERR_LOCK_WAIT_TIMEOUT');
    expect(result.waitedMs).toBeGreaterThanOrEqual(timeoutMs - 5);
    expect(result.waiterState).toBe('active'); // only the statement failed
  });

  it('a timeout longer than setTimeout can wait does not fire at once', async () => {
    const db = await Database.open({ lockWaitTimeoutMs: 3_000_000_000 }); // ~35 days > 2^31-1 ms
    try {
      await db.createTable({ name: 't', columns: [{ name: 'id', type: 'int32' }], primaryKey: ['id'] });
      await db.table('t').insert({ id: 1 });
      const holder = db.begin();
      await holder.table('t').delete(1);
      const waiter = db.begin();
      let outcome = 'waiting';
      const wait = waiter
        .table('t')
        .getForUpdate(1)
        .then(
          (row) => (outcome = row === undefined ? 'granted: gone' : 'granted'),
          (error: { code?: string }) => (outcome = error.code ?? 'error'),
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(outcome).toBe('waiting');
      await holder.commit();
      await wait;
      expect(outcome).toBe('granted: gone');
      await waiter.commit();
    } finally {
      await db.close();
    }
  });
});
