/**
 * Memory beyond the pool (issue 16): with a pool far smaller than the data, what the engine keeps
 * on the JS heap after a load does not grow with the data. The engine's structures outside the
 * slab (page hash, LRU and flush lists, lock table, transaction list, redo and mtr buffers, table
 * caches) are sized by the pool, the schema and the open transactions, never by the rows stored.
 * Measured as heap bytes retained after a full garbage collection: a structural count, not timing.
 * (MemoryVfs keeps each file in one typed array, outside the JS heap, so the stored data is not counted.)
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function retainedHeapBytes(): number {
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

const ROWS_PER_TRX = 2000;

describe('memory beyond the pool', () => {
  it('a load with a 1 MiB pool retains no heap per row stored', async () => {
    const db = await Database.open({
      vfs: new MemoryVfs(),
      pageSize: 4096,
      bufferPoolBytes: 1 << 20,
      durability: 'none',
    });
    await db.createTable({
      name: 't',
      columns: [
        { name: 'id', type: 'int32' },
        { name: 'k', type: 'int32' },
        { name: 'pad', type: 'string', maxLength: 200 },
      ],
      primaryKey: ['id'],
      indexes: [{ name: 'k', columns: ['k'] }],
    });
    let next = 0;
    const load = async (rows: number): Promise<void> => {
      for (let done = 0; done < rows; done += ROWS_PER_TRX) {
        const batch = Array.from({ length: ROWS_PER_TRX }, () => {
          next++;
          return { id: next, k: (next * 7919) % 100_003, pad: String(next).padEnd(150, 'x') };
        });
        await db.transaction((tx) => tx.table('t').insertMany(batch));
      }
    };
    await load(4_000); // warm: every structure at its working size, code compiled
    const before = retainedHeapBytes();
    await load(14_000); // about 2.7 MiB of rows and entries, nearly three times the pool
    const after = retainedHeapBytes();
    // A copy of each row kept would be 14,000 * (150 + ...) bytes, of each key about 14,000 * 80;
    // the measure itself varies by a few hundred KiB.
    expect(after - before).toBeLessThan(1 << 20);
    await db.close();
  }, 120_000);
});
