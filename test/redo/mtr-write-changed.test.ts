/**
 * `MiniTransaction.writeChanged`: an in-place overwrite logs only the runs of bytes that change
 * (the update of one field of a large record), and recovery rebuilds the page byte for byte.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FIL_HEADER_BYTES, PageType } from '../../src/page/page.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { openTestStorage } from '../support/open.js';

const KiB = 1024;
const AREA = 1000;

describe('MiniTransaction.writeChanged', () => {
  it('logs the changed runs only: two small changes far apart cost two small records', async () => {
    const storage = await openTestStorage(new MemoryVfs(), { redoLogBytes: 512 * KiB });
    storage.createSpace(1);
    const setup = storage.startMtr();
    const { pageNo, page } = allocatePage(setup, 1, PageType.Raw);
    setup.write(page, FIL_HEADER_BYTES, new Uint8Array(AREA).fill(7));
    setup.commit();

    const source = new Uint8Array(AREA).fill(7);
    source[10] = 1;
    source.fill(2, 500, 600);
    const mtr = storage.startMtr();
    const view = mtr.getPage(1, pageNo);
    mtr.writeChanged(view, FIL_HEADER_BYTES, source);
    // Two write records (header and offset/length fields) with 1 and 100 bytes, not 1,000 bytes.
    expect(mtr.redoBytes).toBeLessThan(2 * 13 + 101 + 8);
    expect(view.subarray(FIL_HEADER_BYTES, FIL_HEADER_BYTES + AREA)).toEqual(source);
    mtr.commit();

    const same = storage.startMtr();
    same.writeChanged(same.getPage(1, pageNo), FIL_HEADER_BYTES, source);
    expect(same.redoBytes).toBe(0);
    same.abort();
    await storage.close();
  });

  it('recovery after a crash rebuilds every overwritten page exactly (model comparison)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            start: fc.integer({ min: 0, max: AREA - 1 }),
            bytes: fc.uint8Array({ minLength: 1, maxLength: 64 }),
            scatter: fc.array(fc.integer({ min: 0, max: AREA - 1 }), { maxLength: 6 }),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (changes) => {
          const vfs = new MemoryVfs();
          const storage = await openTestStorage(vfs, { redoLogBytes: 512 * KiB });
          storage.createSpace(1);
          const setup = storage.startMtr();
          const { pageNo } = allocatePage(setup, 1, PageType.Raw);
          setup.commit();
          const model = new Uint8Array(AREA);
          let lsn = 0;
          for (const change of changes) {
            const next = model.slice();
            next.set(change.bytes.subarray(0, AREA - change.start), change.start);
            for (const at of change.scatter) next[at] = (next[at]! + 1) & 0xff;
            const mtr = storage.startMtr();
            mtr.writeChanged(mtr.getPage(1, pageNo), FIL_HEADER_BYTES, next);
            lsn = mtr.redoBytes === 0 ? (mtr.abort(), lsn) : mtr.commit();
            model.set(next);
          }
          if (lsn > 0) await storage.commitDurable(lsn, 'full');
          storage.abandon(); // nothing flushed: the page comes back from redo alone
          const recovered = await openTestStorage(vfs, { redoLogBytes: 512 * KiB });
          const read = recovered.startMtr();
          expect(read.getPage(1, pageNo).subarray(FIL_HEADER_BYTES, FIL_HEADER_BYTES + AREA)).toEqual(model);
          read.abort();
          await recovered.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
