/**
 * The operations tools (src/ops) on tables with large values: the inspector decodes the LOB pages
 * (first, index, data) and shows a row's versions with the LOB version and undo diffs each reads;
 * salvage reads large values from LOB pages that pass their checks and leaves out, by name, a row
 * whose value lies on a page that fails them (SV1, SV2); export and import round-trip large
 * values exactly.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { DOUBLEWRITE_FILE } from '../../src/buffer/doublewrite.js';
import { exportTables } from '../../src/ops/export.js';
import { importRows } from '../../src/ops/import.js';
import { Inspector } from '../../src/ops/inspect/inspector.js';
import { salvage } from '../../src/ops/salvage.js';
import type { LobRef } from '../../src/rec/lob-ref.js';
import type { TableSchema } from '../../src/rec/schema.js';
import { ManualClock } from '../../src/util/clock.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

const PAGE = 4096;
const DOCS: TableSchema = {
  name: 'docs',
  columns: [
    { name: 'id', type: 'int32' },
    { name: 'body', type: 'bytes', nullable: true },
    { name: 'text', type: 'string', nullable: true },
    { name: 'meta', type: 'json', nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [],
};

function bytes(size: number, seed: number): Uint8Array {
  return new RandomSource(seed).fill(new Uint8Array(size));
}

function open(vfs: MemoryVfs): Promise<Database> {
  return Database.open({
    vfs,
    pageSize: PAGE,
    redoLogBytes: 1 << 20,
    background: 'manual',
    clock: new ManualClock(),
  });
}

/** The reference row `id`'s body holds now. */
function bodyRef(db: Database, id: number): LobRef {
  return db.engine.versionChain(db.engine.table('docs'), id)[0]!.row['body'] as LobRef;
}

function same(a: unknown, b: Uint8Array): boolean {
  return a instanceof Uint8Array && Buffer.from(a).equals(Buffer.from(b));
}

describe('the operations tools on large values', () => {
  it('the inspector decodes LOB pages and shows the LOB version and undo diffs each row version reads', async () => {
    const vfs = new MemoryVfs();
    const db = await open(vfs);
    await db.createTable(DOCS);
    const body = bytes(200_000, 1); // 50 slots on 4 KiB pages: the first page's 32, then an index page
    await db.table('docs').insert({ id: 1, body });
    await db.table('docs').updatePartial(1, 'body', [{ offset: 10_000, bytes: bytes(500, 2) }]); // version 2
    await db.table('docs').updatePartial(1, 'body', [
      { offset: 3, bytes: Uint8Array.of(7, 7) },
      { offset: 9, bytes: new Uint8Array(0) }, // seed 003's zero-length diff
    ]); // in place
    const ref = bodyRef(db, 1);
    await db.close(); // no purge ran: the undo is all there

    const inspector = await Inspector.open(vfs);
    try {
      const space = inspector.spaces().find((s) => s.tables.includes('docs'))!;
      expect(space.pageTypes).toMatchObject({ LobFirst: 1, LobIndex: 1, LobData: 50 }); // 49 + 1 copied
      expect(space.badPages).toEqual([]);

      const first = inspector.page(space.spaceId, ref.firstPageNo);
      expect(first.type).toBe('LobFirst');
      const field = (dump: typeof first, name: string) => dump.fields.find((f) => f.name === name)?.value;
      expect(field(first, 'STATE')).toBe('Live');
      expect(field(first, 'VERSION')).toBe(2);
      expect(field(first, 'LOB_ID')).toBe(ref.lobId);
      expect(field(first, 'LENGTH')).toBe(200_000);
      expect(field(first, 'N_INDEX_PAGES')).toBe(1);
      expect(first.records.map((r) => r['slot'])).toEqual(Array.from({ length: 32 }, (_, i) => i));
      expect(first.records[0]!['page']).toBe(ref.firstPageNo); // slot 0's version 1 is on the first page

      const index = inspector.page(space.spaceId, field(first, 'DIRECTORY[0]') as number);
      expect(index.type).toBe('LobIndex');
      expect(field(index, 'FIRST_SLOT')).toBe(32);
      expect(index.records.map((r) => r['slot'])).toEqual(Array.from({ length: 18 }, (_, i) => 32 + i));

      // Slot 2 holds bytes 10,000 to 10,499 (slot 0: 2,728 bytes, then 4,032 a slot): its newest
      // page is version 2, whose PREV is version 1.
      const copied = inspector.page(space.spaceId, first.records[2]!['page'] as number);
      expect(copied.type).toBe('LobData');
      expect([field(copied, 'SLOT'), field(copied, 'VERSION'), field(copied, 'LOB_ID')]).toEqual([2, 2, ref.lobId]);
      const older = inspector.page(space.spaceId, copied.fil.find((f) => f.name === 'PREV')!.value as number);
      expect([field(older, 'SLOT'), field(older, 'VERSION')]).toEqual([2, 1]);

      expect(inspector.page(space.spaceId, 0).fields.map((f) => f.name)).toEqual(
        expect.arrayContaining(['LOB_PENDING_HEAD', 'LOB_NEXT_ID']),
      );

      const { versions, end } = inspector.versions('docs', ['1']);
      expect(end).toBe('inserted');
      const lobs = versions.map((v) => (v.row['body'] as { lob: Record<string, unknown> }).lob);
      expect(lobs.map((l) => l['version'])).toEqual([2, 2, 1]);
      // The in-place change's old bytes, the zero-length diff included (undone newest first).
      expect(lobs[1]!['undoDiffs']).toEqual([
        { offset: 9, old: '0x', pages: [] },
        { offset: 3, old: `0x${Buffer.from(body.subarray(3, 5)).toString('hex')}`, pages: [ref.firstPageNo] },
      ]);
      expect(lobs[2]!['undoDiffs']).toHaveLength(2); // an older version keeps the diffs to put back
    } finally {
      inspector.close();
    }
  });

  it('salvage reads large values from pages that pass their checks and names the rows whose value it cannot read', async () => {
    const vfs = new MemoryVfs();
    const db = await open(vfs);
    await db.createTable(DOCS);
    const rows = Array.from({ length: 40 }, (_, i) => ({
      id: i,
      body: i % 4 === 0 ? bytes(20_000 + i, i) : bytes(10 + i, i),
      text: i % 5 === 0 ? `é${'x'.repeat(9_000 + i)}` : `short ${i}`,
      meta: { i, list: Array.from({ length: i % 7 === 0 ? 2_000 : 2 }, (_, k) => k) },
    }));
    await db.table('docs').insertMany(rows);
    await db.table('docs').updatePartial(8, 'body', [{ offset: 5_000, bytes: bytes(300, 99) }]); // version 2
    rows[8]!.body.set(bytes(300, 99), 5_000);
    const damagedBody = bodyRef(db, 12); // a data page of row 12's body is damaged
    const damagedFirst = bodyRef(db, 16); // and the first page of row 16's
    await db.close();
    const inspector = await Inspector.open(vfs);
    const spaceId = inspector.spaces().find((s) => s.tables.includes('docs'))!.spaceId;
    const dataPageNo = inspector.page(spaceId, damagedBody.firstPageNo).records[2]!['page'] as number;
    inspector.close();
    const file = vfs.open(`space-${String(spaceId).padStart(6, '0')}.ibd`);
    for (const pageNo of [dataPageNo, damagedFirst.firstPageNo])
      file.write(new Uint8Array(16).fill(0xee), pageNo * PAGE + 1_000);
    file.close();
    // The last flush batches' doublewrite copies would repair the damage (the database closed
    // cleanly, so recovery needs nothing else from the file): gone, so salvage meets the bad pages.
    vfs.remove(DOUBLEWRITE_FILE);

    const target = new MemoryVfs();
    const report = await salvage(vfs, target, { redoLogBytes: 1 << 20 });
    expect(report.mode).toBe('recovered');
    expect(report.lost).toEqual([]);
    expect(report.lostValues.map((l) => [l.table, l.key, l.column])).toEqual([
      ['docs', [12], 'body'],
      ['docs', [16], 'body'],
    ]);
    expect(report.lostValues[0]!.detail).toMatch(new RegExp(`page ${dataPageNo}: .*checksum`));
    expect(report.badPages.map((b) => b.pageNo).sort((a, b) => a - b)).toEqual(
      [dataPageNo, damagedFirst.firstPageNo].sort((a, b) => a - b),
    );
    const saved = await Database.open({ vfs: target, background: 'manual' });
    const back = [...saved.table('docs').scan()];
    const expected = rows.filter((r) => r.id !== 12 && r.id !== 16);
    expect(back.map((r) => r['id'])).toEqual(expected.map((r) => r.id));
    back.forEach((row, i) => {
      expect(same(row['body'], expected[i]!.body), `row ${expected[i]!.id}`).toBe(true);
      expect(row['text']).toBe(expected[i]!.text);
      expect(row['meta']).toEqual(expected[i]!.meta);
    });
    expect(saved.engine.checkLobs().lobs).toBe(10 + 8 + 6 - 2); // bodies, texts, metas off-page, less the two left out
    saved.check();
    await saved.close();
  });

  it('export and import round-trip large values exactly', async () => {
    const db = await open(new MemoryVfs());
    await db.createTable(DOCS);
    const rows = [
      { id: 1, body: bytes(300_000, 1), text: `𝄞${'y'.repeat(50_000)}`, meta: { deep: 'z'.repeat(40_000) } },
      { id: 2, body: bytes(5, 2), text: null, meta: null },
    ];
    await db.table('docs').insertMany(rows);
    let text = '';
    await exportTables(db, { format: 'ndjson', tables: ['docs'], write: (chunk) => void (text += chunk) });
    await db.close();
    const target = await open(new MemoryVfs());
    await importRows(target, [text], { format: 'ndjson' });
    const back = [...target.table('docs').scan()];
    expect(same(back[0]!['body'], rows[0]!.body)).toBe(true);
    expect(back[0]!['text']).toBe(rows[0]!.text);
    expect(back[0]!['meta']).toEqual(rows[0]!.meta);
    expect(back[1]).toMatchObject({ id: 2, text: null, meta: null });
    expect(target.engine.checkLobs().lobs).toBe(3);
    target.check();
    await target.close();
  });
});
