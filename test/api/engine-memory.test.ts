/**
 * The engine's memory account (src/api/engine-memory.ts, issue 16): what minno holds beyond the
 * pool's frames stays within its documented bound on a load five times the pool (EM1), row locks
 * are freed with their transaction (EM2), and the buffers a large mtr or a capped cache grows give
 * the memory back. Accounted bytes only: RSS is the process's and never asserted.
 */
import { describe, expect, it, onTestFinished } from 'vitest';
import { Database } from '../../src/api/database.js';
import { engineMemoryBound } from '../../src/api/engine-memory.js';
import { Storage } from '../../src/core/storage.js';
import { IbufOp, type IbufRecord } from '../../src/ibuf/ibuf-record.js';
import { PageSummaries, SUMMARY_MEMORY_MAX } from '../../src/ibuf/ibuf-page-summary.js';
import { RECOVERY_WINDOW_BYTES } from '../../src/redo/recovery.js';
import { FIL_HEADER_BYTES } from '../../src/page/page.js';
import { debugChecks, setDebugChecks } from '../../src/util/assert.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { setUpPages, storageOptions } from '../core/mtr-workload.js';
import { ITEMS_COLUMNS } from '../support/items-table.js';

describe('the engine memory account', () => {
  it('EM1, EM2: a load five times the pool keeps the memory beyond the pool within its bound', async () => {
    // The subject is memory: the expensive invariant walks (which other tests run) would make
    // this load cost ten times as long.
    const checks = debugChecks();
    setDebugChecks(false);
    onTestFinished(() => setDebugChecks(checks));
    const options = { pageSize: 4096, bufferPoolBytes: 64 * 4096, redoLogBytes: 1 << 20, flushBatchPages: 128 };
    const bound = engineMemoryBound(options);
    const db = await Database.open({
      vfs: new MemoryVfs(),
      pageSize: options.pageSize,
      bufferPoolBytes: options.bufferPoolBytes,
      redoLogBytes: options.redoLogBytes,
      durability: 'none',
      background: 'manual',
      changeBuffering: 'all',
    });
    await db.createTable({
      name: 't',
      columns: ITEMS_COLUMNS,
      primaryKey: ['id'],
      indexes: [{ name: 'v', columns: ['v'] }],
    });
    let largestFixed = 0;
    let largestSummaries = 0;
    const rows = 8_000; // about 1.3 MiB of rows and entries: five times the 256 KiB pool
    for (let first = 0; first < rows; first += 400) {
      const batch = Array.from({ length: 400 }, (_, i) => ({
        id: first + i,
        v: ((first + i) * 7919) % 100_003,
        label: String(first + i).padEnd(120, 'x'),
      }));
      await db.transaction(async (tx) => {
        await tx.table('t').insertMany(batch);
        // Locks are per transaction: this one's updates hold some now (EM2).
        for (let i = 0; i < 20; i++) await tx.table('t').update(first + i, { v: first + i * 13 });
        expect(db.status().memory.locks).toBeGreaterThan(0);
      });
      const memory = db.status().memory;
      expect(memory.poolFrames + memory.adaptiveHash).toBeLessThanOrEqual(options.bufferPoolBytes);
      expect(memory.locks).toBe(0); // EM2: freed at commit
      expect(memory.fixed).toBeLessThanOrEqual(bound); // EM1
      largestFixed = Math.max(largestFixed, memory.fixed);
      largestSummaries = Math.max(largestSummaries, memory.changeBufferSummaries);
    }
    const status = db.status();
    expect(status.bufferPool.evictions).toBeGreaterThan(0); // the load did not fit the pool
    // The secondary index's pages were out of the pool: the change buffer and its summaries were in play.
    expect(status.changeBuffer.buffered.insert).toBeGreaterThan(0);
    expect(largestSummaries).toBeGreaterThan(0);
    expect(status.memory.total).toBe(status.memory.poolFrames + status.memory.adaptiveHash + status.memory.fixed);
    expect(largestFixed).toBeGreaterThan(0);
    await db.close();
  }, 60_000);

  it('a large mtr grows the log and mtr buffers for its own life only', async () => {
    const storage = await Storage.open(storageOptions(new MemoryVfs(), { redoLogBytes: 4 << 20 }));
    const pages = setUpPages(storage, [1], 40);
    const resting = storage.memoryOverhead().log;
    const mtr = storage.startMtr();
    const bytes = new Uint8Array(4000).fill(7);
    // 40 pages of 4000 bytes each: about 160 KiB of records, past the mtr's 64 KiB buffer.
    for (const page of pages) mtr.write(mtr.getPage(page.spaceId, page.pageNo), FIL_HEADER_BYTES, bytes);
    expect(storage.memoryOverhead().log).toBeGreaterThan(resting);
    storage.log.flushUpTo(mtr.commit());
    expect(storage.memoryOverhead().log).toBe(resting);
    await storage.close();
  });

  it("RC5: an open reads the log through its window, not an array of the log's capacity", async () => {
    // The default 64 MiB log: the scan used to allocate all of it on every open, crash or not.
    const vfs = new MemoryVfs();
    const first = await Database.open({ vfs, background: 'manual' });
    await first.createTable({ name: 't', columns: ITEMS_COLUMNS, primaryKey: ['id'] });
    await first.table('t').insert({ id: 1, v: 1, label: 'one' });
    const capacity = first.storage.log.capacity;
    await first.close();
    const db = await Database.open({ vfs, background: 'manual' });
    const recovery = db.storage.recovery!;
    expect(capacity).toBe(64 * 1024 * 1024);
    expect(recovery.windowBytes).toBe(RECOVERY_WINDOW_BYTES);
    expect(recovery.windowBytes).toBeLessThan(capacity / 16);
    expect(recovery.batches).toBe(0); // a clean close left nothing to apply
    expect(db.table('t').get(1)?.label).toBe('one');
    await db.close();
  });

  it('the change buffer summaries stay under their cap, whatever the keys', () => {
    const keyBytes = 600;
    const keysPerPage = 200;
    const recordsOf = (_space: number, pageNo: number): IbufRecord[] =>
      Array.from({ length: keysPerPage }, (_, i) => {
        const entryKey = new Uint8Array(keyBytes);
        new DataView(entryKey.buffer).setUint32(0, pageNo * keysPerPage + i);
        return { key: entryKey, op: IbufOp.Purge, indexId: 1, entryKey };
      });
    const summaries = new PageSummaries(recordsOf);
    const oneSummary = keysPerPage * (keyBytes + 56) + 256;
    let largest = 0;
    let dropped = false;
    for (let pageNo = 0; pageNo < 200; pageNo++) {
      const before = summaries.memoryBytes();
      summaries.of(1, pageNo, true);
      if (summaries.memoryBytes() < before) dropped = true;
      largest = Math.max(largest, summaries.memoryBytes());
    }
    // 200 pages of 200 keys of 600 bytes would be about 26 MiB kept; the cap drops them first.
    expect(dropped).toBe(true);
    expect(largest).toBeLessThanOrEqual(SUMMARY_MEMORY_MAX + oneSummary);
    // A buffered operation followed into a cached summary counts its key too.
    const before = summaries.memoryBytes();
    const cachedPage = 199;
    const extra = new Uint8Array(keyBytes).fill(9);
    summaries.noteBuffered(1, cachedPage, IbufOp.Insert, extra);
    expect(summaries.memoryBytes()).toBe(before + keyBytes + 56);
    summaries.forget(1, cachedPage);
    expect(summaries.memoryBytes()).toBe(before - oneSummary);
  });
});
