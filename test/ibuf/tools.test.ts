/**
 * The change buffer seen by the tools, on a closed database with changes still buffered: the
 * inspector decodes its header page, its tree's records (page, counter, operation, the entry in
 * the index's columns), the bitmap pages and the space headers' pointers to them
 * (ops/inspect/ibuf-decoders.ts); `minno status` reports what is buffered and `minno check`
 * merges it in memory only (the files keep it).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import type { DecodedRecord, PageField } from '../../src/ops/inspect/page-decoders.js';
import { Inspector } from '../../src/ops/inspect/inspector.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import { type ItemRow, itemRow, loadItems, openItems } from './fixture.js';

const ROWS = 1600;
const root = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-ibuf-tools-'));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function field(fields: readonly PageField[], name: string): number {
  const found = fields.find((f) => f.name === name);
  expect(found, name).toBeDefined();
  return Number(found!.value);
}

/** Runs `minno <args> --json` in this process and parses what it printed. */
async function minnoJson(args: readonly string[]): Promise<{ code: number; value: Record<string, unknown> }> {
  let out = '';
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  });
  try {
    const code = await main([...args, '--json']);
    return { code, value: JSON.parse(out) as Record<string, unknown> };
  } finally {
    write.mockRestore();
    process.exitCode = undefined;
  }
}

describe('the change buffer in the inspector and the command line', () => {
  it('shows the buffered operations, the bitmap and the header; status reports them, check merges in memory only', async () => {
    const dir = nodePath.join(root, 'db');
    await loadItems(new NodeVfs(dir, { createIfMissing: true }), ROWS);
    let db = await openItems(new NodeVfs(dir));
    db.mergeChangeBuffer();
    const items = db.table<ItemRow>('items');
    for (let i = 1; i <= 40; i++) await items.insert(itemRow(ROWS + i, 100_100 + i));
    const buffered = db.status().changeBuffer;
    expect(buffered.records.insert).toBeGreaterThan(0);
    await db.close();

    const inspector = await Inspector.open(new NodeVfs(dir));
    try {
      const headerPageNo = field(inspector.page(0, 0).fields, 'IBUF_HEADER_PAGE_NO');
      const header = inspector.page(0, headerPageNo);
      expect(header.type).toBe('IbufHeader');
      expect(field(header.fields, 'PAGES')).toBe(buffered.pages);
      expect(field(header.fields, 'BYTES')).toBe(buffered.sizeBytes);
      expect(field(header.fields, 'RECORDS[insert]')).toBe(buffered.records.insert);

      // The tree's leaves, from its root down the leftmost path and along the level.
      let page = inspector.page(0, field(header.fields, 'TREE_ROOT'));
      expect(page.index).toBe('(change buffer).IBUF');
      while (page.records[0]?.['child'] !== undefined) page = inspector.page(0, page.records[0]['child'] as number);
      const operations: DecodedRecord[] = [];
      for (;;) {
        operations.push(...page.records);
        const next = field(page.fil, 'NEXT');
        if (next === 0xffffffff) break;
        page = inspector.page(0, next);
      }
      expect(operations.length).toBe(Object.values(buffered.records).reduce((a, b) => a + b, 0));
      const ours = operations.filter((op) => op['index'] === 'items.by_w');
      expect(ours.length).toBeGreaterThan(0);
      for (const op of ours) {
        // The entry decoded in by_w's columns (w, pad), then the primary key.
        expect(op['OP']).toBe('insert');
        const id = (op['ENTRY'] as unknown[])[2] as number;
        const row = itemRow(id, 100_100 + (id - ROWS));
        expect(op['ENTRY']).toEqual([row.w, row.pad, id]);
      }

      // The table's space: its header names the first bitmap page, whose BUFFERED pages are
      // exactly those the operations are for.
      const spaceId = ours[0]!['SPACE'] as number;
      const bitmap = inspector.page(spaceId, field(inspector.page(spaceId, 0).fields, 'BITMAP_FIRST'));
      expect(bitmap.type).toBe('IbufBitmap');
      const bufferedPages = bitmap.records.filter((r) => r['buffered'] === true).map((r) => r['page']);
      const operationPages = [...new Set(operations.filter((op) => op['SPACE'] === spaceId).map((op) => op['PAGE']))];
      expect(bufferedPages.sort()).toEqual(operationPages.sort());
      for (const pageNo of operationPages) expect(inspector.page(spaceId, pageNo as number).type).toBe('Index');
    } finally {
      inspector.close();
    }

    const status = await minnoJson(['status', dir]);
    expect(status.code).toBe(0);
    expect(status.value['changeBuffer']).toEqual({
      pages: buffered.pages,
      sizeBytes: buffered.sizeBytes,
      records: buffered.records,
    });
    const check = await minnoJson(['check', dir]);
    expect(check.value).toMatchObject({ ok: true, rows: ROWS + 40 });
    // check merged through its overlay: on disk, the operations are still buffered.
    expect((await minnoJson(['status', dir])).value['changeBuffer']).toMatchObject({ pages: buffered.pages });
    db = await openItems(new NodeVfs(dir));
    expect(db.status().changeBuffer.pages).toBe(buffered.pages);
    db.check();
    await db.close();
  });
});
