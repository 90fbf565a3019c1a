/**
 * The doublewrite file's recovery read (src/buffer/doublewrite.ts). D3: an open whose batch size is
 * smaller than the crashed process's still finds every copy the file holds, so a torn page from the
 * tail of a large batch is repaired whatever `flushBatchPages` the next open passes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Doublewrite } from '../../src/buffer/doublewrite.js';
import { initPage, PageType, sealPage, setPageLsn } from '../../src/page/page.js';
import { loadChecksums } from '../../src/page/checksum.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

const PAGE = 4096;

function batch(count: number): Uint8Array {
  const images = new Uint8Array(count * PAGE);
  for (let i = 0; i < count; i++) {
    const page = images.subarray(i * PAGE, (i + 1) * PAGE);
    initPage(page, 7, 10 + i, PageType.Index);
    setPageLsn(page, 1000 + i);
    sealPage(page);
  }
  return images;
}

describe('doublewrite recovery read', () => {
  beforeAll(() => loadChecksums());

  it('D3: an open with fewer slots reads every copy a larger batch left', () => {
    const vfs = new MemoryVfs();
    const large = new Doublewrite(vfs, PAGE, 128);
    large.writeBatch(batch(100), 100);
    large.close();
    const small = new Doublewrite(vfs, PAGE, 4);
    const copies = small.readCopies(Number.MAX_SAFE_INTEGER);
    expect(copies.size).toBe(100);
    expect(copies.has(7 * 4294967296 + 109)).toBe(true); // the batch's last page
    small.close();
  });

  it('ignores copies newer than the end of the recovered log', () => {
    const vfs = new MemoryVfs();
    const dw = new Doublewrite(vfs, PAGE, 8);
    dw.writeBatch(batch(8), 8);
    expect(dw.readCopies(1003).size).toBe(4);
    dw.close();
  });
});
