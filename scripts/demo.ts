/**
 * The main job: a short demonstration of minno on an embedded default, no setup needed.
 *
 *   npm run demo
 *
 * 1. A bank on the fault-injecting VFS (memory that can lose power): accounts, and transfers in
 *    transactions from concurrent clients, with row locks and deadlock retries. The first half
 *    of the transfers commit with durability 'full' (acknowledged once synced), the rest 'none'.
 * 2. The power is cut mid-run: every write that was not synced is lost.
 * 3. Recovery replays the redo log, rolls back what was in flight, and the demo checks that every
 *    acknowledged transfer is there, none is there in part, and money is neither made nor lost.
 * 4. The same engine on real files in a temp directory: a bulk load and a reopen.
 *
 * It grows with the engine as the next layers land.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Database, FaultVfs, MinnoError, type Transaction } from '../src/index.js';

const ACCOUNTS = 50;
const START = 1000;

const accountsTable = {
  name: 'accounts',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'owner', type: 'string' as const },
    { name: 'balance', type: 'int64' as const },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_owner', columns: ['owner'] }],
};

const transfersTable = {
  name: 'transfers',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'from', type: 'int32' as const },
    { name: 'to', type: 'int32' as const },
    { name: 'amount', type: 'int64' as const },
  ],
  primaryKey: ['id'],
};

function total(db: Database): bigint {
  let sum = 0n;
  for (const row of db.table('accounts').scan()) sum += row.balance as bigint;
  return sum;
}

async function transfer(tx: Transaction, id: number, from: number, to: number, amount: bigint): Promise<void> {
  const accounts = tx.table('accounts');
  // Lock in key order, as careful applications do; deadlocks can still happen and are retried.
  const a = await accounts.getForUpdate(from);
  const b = await accounts.getForUpdate(to);
  await accounts.update(from, { balance: (a!.balance as bigint) - amount });
  await accounts.update(to, { balance: (b!.balance as bigint) + amount });
  await tx.table('transfers').insert({ id, from, to, amount });
}

async function bankDemo(): Promise<void> {
  const vfs = new FaultVfs({ seed: 2026 });
  const options = { pageSize: 4096, bufferPoolBytes: 4 << 20, redoLogBytes: 2 << 20, background: 'manual' as const };
  const db = await Database.open({ vfs, ...options });
  await db.createTable(accountsTable);
  await db.createTable(transfersTable);
  await db
    .table('accounts')
    .insertMany(
      Array.from({ length: ACCOUNTS }, (_, i) => ({ id: i, owner: `owner-${i % 7}`, balance: BigInt(START) })),
    );

  const planned = 400;
  const acknowledged = new Set<number>();
  let deadlocks = 0;
  let next = 0;
  const client = async (seed: number): Promise<void> => {
    let x = seed;
    const random = (n: number): number => {
      x = (x * 1103515245 + 12345) % 2147483648;
      return x % n;
    };
    while (next < planned) {
      const id = next++;
      let from = random(ACCOUNTS);
      let to = random(ACCOUNTS);
      if (from === to) continue;
      if (random(4) === 0) [from, to] = [to, from]; // some clients lock out of order: deadlocks
      const durability = id < planned / 2 ? 'full' : 'none';
      for (;;) {
        try {
          await db.transaction((tx) => transfer(tx, id, from, to, BigInt(1 + random(100))), { durability });
          if (durability === 'full') acknowledged.add(id);
          break;
        } catch (error) {
          if (error instanceof MinnoError && error.code === 'ERR_DEADLOCK') {
            deadlocks++;
            continue;
          }
          throw error;
        }
      }
      if (id % 100 === 99) db.storage.backgroundStep(); // the page cleaner and a checkpoint
    }
  };
  await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map(client));
  console.log(
    `bank: ${planned} transfers by 8 concurrent clients (${deadlocks} deadlocks detected and retried), ${acknowledged.size} acknowledged durable`,
  );
  console.log(`      total balance ${total(db)} (expected ${ACCOUNTS * START})`);

  const image = vfs.crashNow('power-cut');
  db.abandon();
  console.log('power cut: every write that was not synced is gone');

  const recovered = await Database.open({ vfs: FaultVfs.fromImage(image, { seed: 1 }), ...options });
  const r = recovered.storage.recovery!;
  console.log(
    `recovery: ${r.groups} redo groups (${r.redoBytes} bytes) from checkpoint LSN ${r.checkpointLsn} to ${r.endLsn}, ${r.pagesApplied} pages, ${r.pagesRestoredFromDoublewrite} torn pages repaired`,
  );
  recovered.runBackgroundWork(); // rolls back the transactions that were in flight
  const survived = new Set<number>();
  for (const row of recovered.table('transfers').scan()) survived.add(row.id as number);
  const lost = [...acknowledged].filter((id) => !survived.has(id));
  console.log(
    `after recovery: ${survived.size} transfers survived; acknowledged ones lost: ${lost.length}; total balance ${total(recovered)}`,
  );
  if (lost.length > 0 || total(recovered) !== BigInt(ACCOUNTS * START))
    throw new Error('recovery lost acknowledged work or money');
  const check = recovered.check();
  console.log(
    `check(): ${check.tables} tables, ${check.rows} rows, ${check.entries} index entries, all invariants hold`,
  );
  await recovered.close();
}

async function realFilesDemo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'minno-demo-'));
  try {
    const started = performance.now();
    const db = await Database.open({ path: dir, bufferPoolBytes: 16 << 20, redoLogBytes: 8 << 20 });
    await db.createTable(accountsTable);
    const rows = 20_000;
    for (let batch = 0; batch < rows; batch += 1000) {
      await db.table('accounts').insertMany(
        Array.from({ length: 1000 }, (_, i) => ({
          id: batch + i,
          owner: `owner-${(batch + i) % 97}`,
          balance: 100n,
        })),
      );
    }
    const loaded = performance.now() - started;
    await db.close();
    const reopened = await Database.open({ path: dir, bufferPoolBytes: 16 << 20 });
    const owners = reopened.table('accounts').getByIndex('by_owner', 'owner-42');
    console.log(
      `real files in ${dir}: ${rows} rows loaded durably in ${loaded.toFixed(0)} ms; after reopen ${reopened.table('accounts').count()} rows, owner-42 first seen on account ${String(owners?.id)}`,
    );
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await bankDemo();
await realFilesDemo();
