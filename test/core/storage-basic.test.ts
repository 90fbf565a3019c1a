import { describe, expect, it } from 'vitest';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { PageType, FIL_HEADER_BYTES, readU32 } from '../../src/page/page.js';
import { openTestStorage } from '../support/open.js';

const KiB = 1024;

const openMemory = (vfs: MemoryVfs) => openTestStorage(vfs, { poolPages: 64, redoLogBytes: 512 * KiB });

describe('Storage basics', () => {
  it('creates a database, writes pages through mtrs, and reads them back after a clean reopen', async () => {
    const vfs = new MemoryVfs();
    const s1 = await openMemory(vfs);
    expect(s1.created).toBe(true);
    s1.createSpace(1);
    const pageNos: number[] = [];
    for (let i = 0; i < 200; i++) {
      const mtr = s1.startMtr();
      const { pageNo, page } = allocatePage(mtr, 1, PageType.Raw);
      mtr.writeU32(page, FIL_HEADER_BYTES, 1000 + i);
      mtr.commit();
      pageNos.push(pageNo);
    }
    await s1.close();
    const s2 = await openMemory(vfs);
    expect(s2.created).toBe(false);
    expect(s2.recovery?.recordsApplied).toBe(0);
    for (let i = 0; i < 200; i++) {
      const mtr = s2.startMtr();
      const page = mtr.getPage(1, pageNos[i]!);
      expect(readU32(page, FIL_HEADER_BYTES)).toBe(1000 + i);
      mtr.commit();
    }
    await s2.close();
  });

  it('recovers unflushed pages from redo after a process crash', async () => {
    const vfs = new MemoryVfs();
    const s1 = await openMemory(vfs);
    s1.createSpace(1);
    let lastLsn = 0;
    for (let i = 0; i < 50; i++) {
      const mtr = s1.startMtr();
      const { page } = allocatePage(mtr, 1, PageType.Raw);
      mtr.writeU32(page, FIL_HEADER_BYTES, 7 + i);
      lastLsn = mtr.commit();
    }
    await s1.commitDurable(lastLsn, 'full');
    s1.abandon();
    const s2 = await openMemory(vfs);
    expect(s2.recovery!.groups).toBeGreaterThan(50);
    const mtr = s2.startMtr();
    for (let i = 0; i < 50; i++) expect(readU32(mtr.getPage(1, i + 1), FIL_HEADER_BYTES)).toBe(7 + i);
    mtr.commit();
    await s2.close();
  });
});

describe('an operation that throws mid-mini-transaction (C4)', () => {
  it('aborts an abandoned mtr that wrote nothing, so the next operation proceeds', async () => {
    const s = await openMemory(new MemoryVfs());
    s.createSpace(1);
    const abandoned = s.startMtr();
    abandoned.getPage(1, 0); // fixed a page, wrote nothing, then "threw"
    const next = s.startMtr();
    const { page } = allocatePage(next, 1, PageType.Raw);
    next.writeU32(page, FIL_HEADER_BYTES, 5);
    next.commit();
    await s.close();
  });

  it('poisons the storage when the abandoned mtr had changed pages, and recovery drops the half-change', async () => {
    const vfs = new MemoryVfs();
    const s = await openMemory(vfs);
    s.createSpace(1);
    const setup = s.startMtr();
    const { pageNo, page } = allocatePage(setup, 1, PageType.Raw);
    setup.writeU32(page, FIL_HEADER_BYTES, 1);
    await s.commitDurable(setup.commit(), 'full');
    const abandoned = s.startMtr();
    abandoned.writeU32(abandoned.getPage(1, pageNo), FIL_HEADER_BYTES, 999); // then "threw"
    expect(() => s.startMtr()).toThrow(/failed after changing pages/);
    expect(() => s.startMtr()).toThrow(/reopen/);
    await expect(s.close()).resolves.toBeUndefined(); // close skips flushing a poisoned log
    const reopened = await openMemory(vfs);
    const read = reopened.startMtr();
    expect(readU32(read.getPage(1, pageNo), FIL_HEADER_BYTES)).toBe(1);
    read.commit();
    await reopened.close();
  });
});
