/**
 * The main job: a short demonstration of minno on an embedded default (memory), no setup needed.
 *
 *   npm run demo
 *
 * 1. Opens a database on the fault-injecting VFS (memory that can lose power).
 * 2. Writes pages through mini-transactions: the first half committed with durability 'full'
 *    (acknowledged only once synced), the second half with 'none' (left to the once-a-second sync).
 * 3. Pulls the plug (every unsynced write lost), reopens, and lets recovery replay the redo log.
 * 4. Shows that every acknowledged commit survived, and how many unacknowledged ones the crash took.
 * 5. Repeats a small durable workload on real files in a temp directory and reopens it.
 *
 * It grows with the engine: tables and transactions replace raw pages as those layers land.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FaultVfs, ManualClock, NodeVfs, PageType, Storage, allocatePage, readU32 } from '../src/index.js';

const BODY = 40; // first byte after the page header

async function powerCutDemo(): Promise<void> {
  const vfs = new FaultVfs({ seed: 2026 });
  const clock = new ManualClock();
  const storage = await Storage.open({ vfs, pageSize: 4096, bufferPoolBytes: 1 << 20, redoLogBytes: 1 << 20, background: 'manual', clock });
  storage.createSpace(1);

  const pages: number[] = [];
  const mtr = storage.startMtr();
  for (let i = 0; i < 16; i++) pages.push(allocatePage(mtr, 1, PageType.Raw).pageNo);
  await storage.commitDurable(mtr.commit(), 'full');

  const commits = 2000;
  let acknowledged = 0;
  for (let i = 1; i <= commits; i++) {
    const m = storage.startMtr();
    const page = m.getPage(1, pages[i % pages.length]!);
    m.writeU32(page, BODY, i); // the last commit that touched this page
    m.writeU32(page, BODY + 4 + 4 * (i % 64), i);
    const lsn = m.commit();
    if (i <= commits / 2) {
      await storage.commitDurable(lsn, 'full');
      acknowledged = i;
    } else {
      await storage.commitDurable(lsn, 'none');
    }
    if (i % 250 === 0 && i <= commits / 2) storage.backgroundStep(); // page cleaner + checkpoint
  }
  console.log(`wrote ${commits} mini-transactions; ${acknowledged} acknowledged durable (log durable to LSN ${storage.log.durableLsn}, current ${storage.log.currentLsn})`);

  const image = vfs.crashNow('power-cut');
  storage.abandon();
  console.log('power cut: every write that was not synced is gone');

  const reopened = await Storage.open({
    vfs: FaultVfs.fromImage(image, { seed: 1 }),
    bufferPoolBytes: 1 << 20,
    background: 'manual',
    clock,
  });
  const r = reopened.recovery!;
  console.log(
    `recovery: checkpoint LSN ${r.checkpointLsn}, log end ${r.endLsn}, ${r.groups} groups (${r.redoBytes} bytes) replayed, ` +
      `${r.recordsApplied} records on ${r.pagesApplied} pages, ${r.pagesRestoredFromDoublewrite} torn pages repaired`,
  );
  const check = reopened.startMtr();
  let newest = 0;
  for (const pageNo of pages) newest = Math.max(newest, readU32(check.getPage(1, pageNo), BODY));
  check.commit();
  console.log(`the newest commit that survived is #${newest}: all ${acknowledged} acknowledged commits are there, ${commits - newest} unacknowledged ones were lost`);
  if (newest < acknowledged) throw new Error('an acknowledged commit was lost');
  await reopened.close();
}

async function realFilesDemo(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'minno-demo-'));
  try {
    const started = performance.now();
    const storage = await Storage.open({ vfs: new NodeVfs(dir), bufferPoolBytes: 8 << 20, redoLogBytes: 4 << 20 });
    storage.createSpace(1);
    const writes = 2000;
    const inFlight: Array<Promise<void>> = [];
    for (let i = 0; i < writes; i++) {
      const mtr = storage.startMtr();
      const { page } = allocatePage(mtr, 1, PageType.Raw);
      mtr.writeU32(page, BODY, i);
      inFlight.push(storage.commitDurable(mtr.commit(), 'full'));
      if (inFlight.length === 16) await Promise.all(inFlight.splice(0)); // 16 committers share each sync
    }
    await Promise.all(inFlight);
    const elapsed = performance.now() - started;
    console.log(`real files in ${dir}: ${writes} durable commits in ${elapsed.toFixed(0)} ms (${storage.log.stats.syncs} log syncs: group commit)`);
    await storage.close();
    const reopened = await Storage.open({ vfs: new NodeVfs(dir), bufferPoolBytes: 8 << 20 });
    const mtr = reopened.startMtr();
    console.log(`reopened: page ${writes} holds ${readU32(mtr.getPage(1, writes), BODY)}`);
    mtr.commit();
    await reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await powerCutDemo();
await realFilesDemo();
