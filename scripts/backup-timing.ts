/**
 * Backup timings, for a quiet machine (the figures mean nothing while others use the CPU):
 *
 *  - backup throughput (MiB/s of pages copied) against a plain copy of the same files in the
 *    same run (fs.copyFileSync, warm cache for both: the copy runs right before and after);
 *  - the longest writer stall while the backup runs: writers commit in a loop, and every commit's
 *    latency and the event loop's delay (perf_hooks.monitorEventLoopDelay) are recorded before
 *    and during the backup. One thread runs both, so a stall is time the backup's slice held the
 *    loop (HB2 of src/core/hot-backup.ts).
 *
 *   npm run timing:backup -- --mb 512            # the measurement (JSON on stdout)
 *   npm run timing:backup -- --mb 8 --seconds 1  # a tiny run, to see that it works
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Database } from '../src/api/database.js';
import type { Durability } from '../src/redo/redo-log.js';

const { values: args } = parseArgs({
  options: {
    mb: { type: 'string', default: '256' },
    seconds: { type: 'string', default: '5' },
    writers: { type: 'string', default: '4' },
    durability: { type: 'string', default: 'none' },
    'slice-pages': { type: 'string', default: '64' },
    dir: { type: 'string' },
  },
});
const targetBytes = Number(args.mb) * 2 ** 20;
const baselineMs = Number(args.seconds) * 1000;
const durability = args.durability as Durability;
const root = args.dir ?? mkdtempSync(join(tmpdir(), 'minno-backup-timing-'));
const dbDir = join(root, 'db');

async function fill(): Promise<number> {
  const db = await Database.open({ path: dbDir, background: 'auto', durability: 'none' });
  await db.createTable({
    name: 'rows',
    columns: [
      { name: 'id', type: 'int64' },
      { name: 'payload', type: 'string' },
      { name: 'n', type: 'int32' },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'by_n', columns: ['n'] }],
  });
  const payload = 'x'.repeat(400);
  // About 600 bytes a row with its index entry (pages fill as the pool flushes, so count rows).
  const total = BigInt(Math.ceil(targetBytes / 600));
  for (let id = 0n; id < total; ) {
    const rows = [];
    for (let i = 0; i < 5000 && id < total; i++, id++) rows.push({ id, payload, n: Number(id % 100000n) });
    await db.table('rows').insertMany(rows);
  }
  await db.close();
  return Number(total);
}

/** A plain copy of the database's space files: the throughput a backup could hope for. */
function plainCopy(into: string): { bytes: number; ms: number } {
  mkdirSync(into, { recursive: true });
  const start = performance.now();
  let bytes = 0;
  for (const name of readdirSync(dbDir)) {
    if (!name.endsWith('.ibd')) continue;
    copyFileSync(join(dbDir, name), join(into, name));
    bytes += statSync(join(into, name)).size;
  }
  return { bytes, ms: performance.now() - start };
}

interface Latencies {
  commits: number;
  maxMs: number;
  p99Ms: number;
}

function summarize(samples: number[]): Latencies {
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    commits: sorted.length,
    maxMs: sorted.at(-1) ?? 0,
    p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0,
  };
}

async function main(): Promise<void> {
  const rows = await fill();
  const copyBefore = plainCopy(join(root, 'copy-1'));
  const db = await Database.open({ path: dbDir, background: 'auto', durability });
  const state: { phase: 'baseline' | 'backup' | 'stop' } = { phase: 'baseline' };
  const latencies: Record<'baseline' | 'backup', number[]> = { baseline: [], backup: [] };
  const writers = Array.from({ length: Number(args.writers) }, async (_, w) => {
    let i = w;
    while (state.phase !== 'stop') {
      const started = performance.now();
      await db.table('rows').update(BigInt((i * 7919) % rows), { n: i });
      const recordIn = state.phase as 'baseline' | 'backup' | 'stop';
      if (recordIn !== 'stop') latencies[recordIn].push(performance.now() - started);
      i += Number(args.writers);
      // An application does other work between writes; a 'none' commit settles in a microtask,
      // so without this the writers would never let a timer (or the backup's slices) run.
      await new Promise((resolve) => setImmediate(resolve));
    }
  });
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  await new Promise((resolve) => setTimeout(resolve, baselineMs));
  const loopBaseline = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 };
  loop.reset();
  state.phase = 'backup';
  const started = performance.now();
  const result = await db.backup(join(root, 'backup'), { slicePages: Number(args['slice-pages']) });
  const backupMs = performance.now() - started;
  const loopBackup = { maxMs: loop.max / 1e6, p99Ms: loop.percentile(99) / 1e6 };
  state.phase = 'stop';
  loop.disable();
  await Promise.all(writers);
  await db.close();
  const copyAfter = plainCopy(join(root, 'copy-2'));
  const copyMs = Math.min(copyBefore.ms, copyAfter.ms);
  const mib = (bytes: number, ms: number) => bytes / 2 ** 20 / (ms / 1000);
  const report = {
    databaseMiB: copyBefore.bytes / 2 ** 20,
    rows,
    backup: {
      seconds: backupMs / 1000,
      pagesCopied: result.pagesCopied,
      mibPerSecond: mib(result.bytesCopied, backupMs),
      redoBytes: result.redo.bytes,
      tailWaits: result.tailWaits,
    },
    plainCopy: { seconds: copyMs / 1000, mibPerSecond: mib(copyBefore.bytes, copyMs) },
    backupOverCopy: mib(result.bytesCopied, backupMs) / mib(copyBefore.bytes, copyMs),
    writers: {
      durability,
      baseline: summarize(latencies.baseline),
      duringBackup: summarize(latencies.backup),
      eventLoopDelay: { baseline: loopBaseline, duringBackup: loopBackup },
    },
    longestWriterStallMs: Math.max(summarize(latencies.backup).maxMs, loopBackup.maxMs),
  };
  console.log(JSON.stringify(report, null, 2));
  if (args.dir === undefined) rmSync(root, { recursive: true, force: true });
}

await main();
