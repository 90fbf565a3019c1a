/**
 * Large values through the table API, one behaviour per test: what goes off-page, slices and
 * streams, partial updates (small and large, strings and json), what other writes do to a LOB,
 * versions for old readers, rollback, purge freeing pages, and bad input refused with a typed error
 * and nothing changed. `check()` (the LOB checker included) runs after each.
 *
 * A 1 GiB value: `LOB_GIB=1 npx vitest run test/lob/lob-api.test.ts` (a minute and some GiB of
 * memory; not part of `npm test`).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { ErrorCode } from '../../src/errors.js';
import { FIRST_INLINE_SLOTS, LOB_BYTES_LIMIT, lobGeometry } from '../../src/lob/lob-format.js';
import type { LobRef } from '../../src/rec/lob-ref.js';
import { ManualClock } from '../../src/util/clock.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

let db: Database;
let vfs: MemoryVfs;

function open(options: { maxValueBytes?: number; pageSize?: number } = {}): Promise<Database> {
  return Database.open({
    vfs,
    pageSize: options.pageSize ?? 4096,
    bufferPoolBytes: 512 * 4096,
    redoLogBytes: 1 << 20,
    background: 'manual',
    clock: new ManualClock(),
    ...(options.maxValueBytes === undefined ? {} : { maxValueBytes: options.maxValueBytes }),
  });
}

async function createDocs(): Promise<void> {
  await db.createTable({
    name: 'docs',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'tag', type: 'string', maxLength: 20 },
      { name: 'body', type: 'bytes', nullable: true },
      { name: 'text', type: 'string', nullable: true },
      { name: 'meta', type: 'json', nullable: true },
      { name: 'n', type: 'int32', nullable: true },
    ],
    primaryKey: ['id'],
    indexes: [{ name: 'by_tag', columns: ['tag'] }],
  });
}

function bytes(size: number, seed = 1): Uint8Array {
  const rng = new RandomSource(seed);
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = rng.int(256);
  return out;
}

function same(actual: unknown, expected: Uint8Array): boolean {
  return actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(expected));
}

async function code(attempt: () => unknown): Promise<ErrorCode | 'none'> {
  try {
    await attempt();
    return 'none';
  } catch (error) {
    return (error as { code: ErrorCode }).code;
  }
}

beforeEach(async () => {
  vfs = new MemoryVfs();
  db = await open();
  await createDocs();
});

afterEach(async () => {
  db.check();
  await db.close();
});

describe('large values: storing and reading', () => {
  it('keeps a value too large for the row on LOB pages, for bytes, string and json, and reads it back', async () => {
    const body = bytes(100_000);
    const text = 'é€𝄞 '.repeat(5_000);
    const meta = { list: Array.from({ length: 3_000 }, (_, i) => ({ i, s: `item ${i}` })) };
    await db.table('docs').insert({ id: 1, tag: 'a', body, text, meta, n: 7 });
    const row = db.table('docs').get(1)!;
    expect(same(row['body'], body)).toBe(true);
    expect(row['text']).toBe(text);
    expect(row['meta']).toEqual(meta);
    expect(row['n']).toBe(7);
    expect(db.engine.checkLobs().lobs).toBe(3);
    // A small value stays in the row.
    await db.table('docs').insert({ id: 2, tag: 'b', body: bytes(50), text: 'short' });
    expect(db.engine.checkLobs().lobs).toBe(3);
    expect([...db.table('docs').scan()].map((r) => r['id'])).toEqual([1, 2]);
    expect(db.table('docs').getByIndex('by_tag', 'a')?.['text']).toBe(text);
  });

  it('reads slices and streams without the rest, and the byte length, of values on LOB pages and in the row', async () => {
    const body = bytes(70_000, 3);
    await db.table('docs').insert({ id: 1, tag: 'a', body, text: 'héllo' });
    const t = db.table('docs');
    expect(t.byteLength(1, 'body')).toBe(70_000);
    expect(t.byteLength(1, 'text')).toBe(6);
    expect(t.byteLength(1, 'meta')).toBeNull();
    expect(t.byteLength(9, 'body')).toBeUndefined();
    for (const [offset, length] of [
      [0, 0],
      [0, 1],
      [2_700, 400],
      [4_000, 20_000],
      [69_999, 1],
      [0, 70_000],
    ] as const) {
      expect(same(t.readSlice(1, 'body', offset, length), body.subarray(offset, offset + length))).toBe(true);
    }
    expect(same(t.readSlice(1, 'text', 1, 2), new TextEncoder().encode('é'))).toBe(true);
    expect(t.readSlice(1, 'meta', 0, 0)).toBeNull();
    expect(t.readSlice(9, 'body', 0, 0)).toBeUndefined();
    const chunks: Buffer[] = [];
    for await (const chunk of t.stream(1, 'body', { chunkBytes: 8_192 })!) chunks.push(chunk as Buffer);
    expect(chunks.length).toBe(9);
    expect(same(new Uint8Array(Buffer.concat(chunks)), body)).toBe(true);
    const part: Buffer[] = [];
    for await (const chunk of t.stream(1, 'body', { offset: 5, length: 10 })!) part.push(chunk as Buffer);
    expect(same(new Uint8Array(Buffer.concat(part)), body.subarray(5, 15))).toBe(true);
    expect(t.stream(1, 'meta')).toBeNull();
    expect(t.stream(9, 'body')).toBeUndefined();
  });

  it('a snapshot reads slices and streams of its version; a stream holds a read view until it ends', async () => {
    const body = bytes(40_000, 21);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const snap = db.snapshot();
    await db.table('docs').updatePartial(1, 'body', [{ offset: 10_000, bytes: bytes(50, 22) }]); // in place
    await db.table('docs').updatePartial(1, 'body', [{ offset: 20_000, bytes: bytes(500, 23) }]); // a new version
    const old = snap.table('docs');
    expect(old.byteLength(1, 'body')).toBe(40_000);
    expect(same(old.readSlice(1, 'body', 9_990, 10_600), body.subarray(9_990, 20_590))).toBe(true);
    const views = db.status().openReadViews; // the snapshot's
    const stream = old.stream(1, 'body', { chunkBytes: 8_192 })!;
    expect(db.status().openReadViews).toBe(views + 1); // the stream's own, so release() cannot cut it short
    snap.release();
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    expect(same(new Uint8Array(Buffer.concat(chunks)), body)).toBe(true);
    expect(db.status().openReadViews).toBe(views - 1);
    expect(() => old.readSlice(1, 'body', 0, 1)).toThrow();
  });

  it('a stream keeps reading its snapshot while the value is changed, replaced and purged under it', async () => {
    const body = bytes(60_000, 4);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const stream = db.table('docs').stream(1, 'body', { chunkBytes: 10_000 })!;
    const chunks: Buffer[] = [];
    let changed = false;
    for await (const chunk of stream) {
      chunks.push(chunk as Buffer);
      if (!changed) {
        changed = true;
        await db.table('docs').updatePartial(1, 'body', [{ offset: 30_000, bytes: bytes(50, 9) }]); // in place
        await db.table('docs').updatePartial(1, 'body', [{ offset: 40_000, bytes: bytes(5_000, 8) }]); // a new version
        db.purge();
        db.check();
      }
    }
    expect(same(new Uint8Array(Buffer.concat(chunks)), body)).toBe(true);
    db.purge(); // the stream's view is closed: old versions go
    const after = body.slice();
    after.set(bytes(50, 9), 30_000);
    after.set(bytes(5_000, 8), 40_000);
    expect(same(db.table('docs').get(1)!['body'], after)).toBe(true);
  });
});

describe('large values: partial updates', () => {
  it('a small change (at most 100 bytes) is made in place: one LOB version, its old bytes in undo for old readers', async () => {
    const body = bytes(50_000, 5);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const reader = db.begin();
    reader.table('docs').get(1);
    const pagesBefore = db.engine.checkLobs().lobPages;
    const diffs = [
      { offset: 10, bytes: bytes(40, 6) },
      { offset: 4_020, bytes: bytes(60, 7) }, // across a slot boundary
      { offset: 100, bytes: new Uint8Array(0) },
    ];
    expect(await db.table('docs').updatePartial(1, 'body', diffs)).toBe(true);
    const after = body.slice();
    for (const d of diffs) after.set(d.bytes, d.offset);
    expect(same(db.table('docs').get(1)!['body'], after)).toBe(true);
    expect(same(reader.table('docs').get(1)!['body'], body)).toBe(true);
    expect(same(reader.table('docs').readSlice(1, 'body', 4_000, 100), body.subarray(4_000, 4_100))).toBe(true);
    expect(db.engine.checkLobs().lobPages, 'no page copied').toBe(pagesBefore);
    const [newest, older] = db.engine.versionChain(db.engine.table('docs'), 1);
    expect((newest!.row['body'] as LobRef).version).toBe(1);
    expect((older!.row['body'] as LobRef).undoDiffs.map((d) => d.old.length)).toEqual([0, 60, 40]);
    await reader.commit();
  });

  it('a larger change copies only the pages it touches into a new LOB version; purge frees the old pages', async () => {
    const body = bytes(50_000, 5);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const reader = db.begin();
    reader.table('docs').get(1);
    const pagesBefore = db.engine.checkLobs().lobPages;
    await db.table('docs').updatePartial(1, 'body', [{ offset: 20_000, bytes: bytes(150, 8) }]);
    const after = body.slice();
    after.set(bytes(150, 8), 20_000);
    expect(same(db.table('docs').get(1)!['body'], after)).toBe(true);
    expect(same(reader.table('docs').get(1)!['body'], body)).toBe(true);
    expect(db.engine.checkLobs().lobPages, 'one data page copied').toBe(pagesBefore + 1);
    expect((db.engine.versionChain(db.engine.table('docs'), 1)[0]!.row['body'] as LobRef).version).toBe(2);
    db.purge();
    expect(db.engine.checkLobs().lobPages, 'kept for the reader').toBe(pagesBefore + 1);
    await reader.commit();
    db.purge();
    expect(db.engine.checkLobs().lobPages, 'the old page freed').toBe(pagesBefore);
    expect(same(db.table('docs').get(1)!['body'], after)).toBe(true);
  });

  it('strings and json values take partial updates that keep them valid; values in the row too', async () => {
    const text = 'a'.repeat(20_000) + 'é'.repeat(10_000);
    const meta = { name: 'x'.repeat(30_000), count: 1000 };
    await db.table('docs').insert({ id: 1, tag: 'a', text, meta });
    await db.table('docs').insert({ id: 2, tag: 'b', text: 'hello', meta: { count: 1 } });
    const t = db.table('docs');
    await t.updatePartial(1, 'text', [{ offset: 5, bytes: new TextEncoder().encode('XYZ') }]);
    await t.updatePartial(1, 'text', [{ offset: 20_002, bytes: new TextEncoder().encode('ü') }]);
    expect(t.get(1)!['text']).toBe(`aaaaaXYZ${'a'.repeat(19_992)}é${'ü'}${'é'.repeat(9_998)}`);
    const at = new TextEncoder().encode(JSON.stringify(meta)).length - 5; // inside "1000"
    await t.updatePartial(1, 'meta', [{ offset: at, bytes: new TextEncoder().encode('9') }]);
    expect(t.get(1)!['meta']).toEqual({ name: 'x'.repeat(30_000), count: 9000 });
    await t.updatePartial(2, 'text', [{ offset: 0, bytes: new TextEncoder().encode('J') }]);
    await t.updatePartial(2, 'meta', [{ offset: 9, bytes: new TextEncoder().encode('7') }]);
    expect(t.get(2)).toMatchObject({ text: 'Jello', meta: { count: 7 } });
    // Bytes that would break UTF-8 or JSON are refused, nothing changed.
    expect(
      await code(() => t.updatePartial(1, 'text', [{ offset: 20_001, bytes: new TextEncoder().encode('a') }])),
    ).toBe('ERR_INVALID_ARGUMENT');
    expect(await code(() => t.updatePartial(1, 'text', [{ offset: 0, bytes: Uint8Array.of(0xc3) }]))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(await code(() => t.updatePartial(1, 'meta', [{ offset: 0, bytes: new TextEncoder().encode('[') }]))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(await code(() => t.updatePartial(2, 'text', [{ offset: 0, bytes: Uint8Array.of(0xff) }]))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(t.get(2)).toMatchObject({ text: 'Jello', meta: { count: 7 } });
  });

  it('rollback puts back the old bytes of small changes and drops the versions of larger ones', async () => {
    const body = bytes(40_000, 10);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const pages = db.engine.checkLobs().lobPages;
    const tx = db.begin();
    const t = tx.table('docs');
    await t.updatePartial(1, 'body', [{ offset: 3, bytes: bytes(20, 1) }]);
    await t.updatePartial(1, 'body', [{ offset: 8_000, bytes: bytes(9_000, 2) }]);
    await t.updatePartial(1, 'body', [{ offset: 9_000, bytes: bytes(30, 3) }]);
    tx.savepoint('s');
    await t.update(1, { body: bytes(30_000, 4) });
    await t.updatePartial(1, 'body', [{ offset: 0, bytes: bytes(500, 5) }]);
    await tx.rollbackToSavepoint('s');
    const partial = body.slice();
    partial.set(bytes(20, 1), 3);
    partial.set(bytes(9_000, 2), 8_000);
    partial.set(bytes(30, 3), 9_000);
    expect(same(t.get(1)!['body'], partial)).toBe(true);
    db.check();
    await tx.rollback();
    expect(same(db.table('docs').get(1)!['body'], body)).toBe(true);
    expect(db.engine.checkLobs().lobPages).toBe(pages);
  });

  it('refuses bad input with a typed error and changes nothing', async () => {
    await db.table('docs').insert({ id: 1, tag: 'a', body: bytes(30_000), n: 1, text: 'x'.repeat(9_000) });
    await db.table('docs').insert({ id: 2, tag: 'b', body: bytes(10) });
    const t = db.table('docs');
    const stateNow = () => [t.get(1), t.get(2), db.engine.checkLobs()];
    const snapshot = JSON.stringify(stateNow(), (_, v) => (v instanceof Uint8Array ? [...v] : v));
    const cases: Array<[string, () => unknown, ErrorCode]> = [
      [
        'a diff past the end',
        () => t.updatePartial(1, 'body', [{ offset: 29_999, bytes: bytes(2) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'a diff past the end of a value in the row',
        () => t.updatePartial(2, 'body', [{ offset: 9, bytes: bytes(2) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'a zero-length diff past the end',
        () => t.updatePartial(1, 'body', [{ offset: 30_001, bytes: new Uint8Array(0) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'a negative offset',
        () => t.updatePartial(1, 'body', [{ offset: -1, bytes: bytes(2) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'a fractional offset',
        () => t.updatePartial(1, 'body', [{ offset: 1.5, bytes: bytes(2) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'bytes that are not a Uint8Array',
        () => t.updatePartial(1, 'body', [{ offset: 1, bytes: [1, 2] as never }]),
        'ERR_INVALID_ARGUMENT',
      ],
      ['diffs that are not an array', () => t.updatePartial(1, 'body', 'x' as never), 'ERR_INVALID_ARGUMENT'],
      [
        'a later diff past the end',
        () =>
          t.updatePartial(1, 'body', [
            { offset: 0, bytes: bytes(2) },
            { offset: 30_000, bytes: bytes(1) },
          ]),
        'ERR_INVALID_ARGUMENT',
      ],
      [
        'a partial update of an int32 column',
        () => t.updatePartial(1, 'n', [{ offset: 0, bytes: bytes(1) }]),
        'ERR_TYPE_MISMATCH',
      ],
      ['a partial update of an unknown column', () => t.updatePartial(1, 'nope', []), 'ERR_UNKNOWN_COLUMN'],
      [
        'a partial update of a NULL value',
        () => t.updatePartial(2, 'text', [{ offset: 0, bytes: new Uint8Array(0) }]),
        'ERR_INVALID_ARGUMENT',
      ],
      ['a slice read past the end', () => t.readSlice(1, 'body', 29_000, 1_001), 'ERR_INVALID_ARGUMENT'],
      ['a slice read past the end of a value in the row', () => t.readSlice(2, 'body', 0, 11), 'ERR_INVALID_ARGUMENT'],
      ['a slice at a negative offset', () => t.readSlice(1, 'body', -1, 1), 'ERR_INVALID_ARGUMENT'],
      ['a slice of a negative length', () => t.readSlice(1, 'body', 0, -1), 'ERR_INVALID_ARGUMENT'],
      ['a slice of an int32 column', () => t.readSlice(1, 'n', 0, 1), 'ERR_TYPE_MISMATCH'],
      ['a stream past the end', () => t.stream(1, 'body', { offset: 30_001 }), 'ERR_INVALID_ARGUMENT'],
      ['a stream of an int32 column', () => t.stream(1, 'n'), 'ERR_TYPE_MISMATCH'],
      ['a stream with a bad chunk size', () => t.stream(1, 'body', { chunkBytes: 0 }), 'ERR_INVALID_ARGUMENT'],
      ['a maxValueBytes too small', () => Database.open({ maxValueBytes: 100 }), 'ERR_INVALID_ARGUMENT'],
      [
        'a maxValueBytes too large',
        () => Database.open({ maxValueBytes: LOB_BYTES_LIMIT + 1 }),
        'ERR_INVALID_ARGUMENT',
      ],
    ];
    for (const [what, attempt, expected] of cases) expect(await code(attempt), what).toBe(expected);
    // In a transaction too: the refused statement leaves the transaction and its earlier write.
    const tx = db.begin();
    await tx.table('docs').update(2, { n: 5 });
    expect(await code(() => tx.table('docs').updatePartial(1, 'body', [{ offset: 30_000, bytes: bytes(1) }]))).toBe(
      'ERR_INVALID_ARGUMENT',
    );
    expect(tx.table('docs').get(2)!['n']).toBe(5);
    await tx.rollback();
    expect(JSON.stringify(stateNow(), (_, v) => (v instanceof Uint8Array ? [...v] : v))).toBe(snapshot);
    expect(db.engine.activeTransactions()).toBe(0);
  });

  it('refuses a value over maxValueBytes, on insert and on update, changing nothing', async () => {
    await db.close();
    vfs = new MemoryVfs();
    db = await open({ maxValueBytes: 1 << 20 });
    await createDocs();
    const t = db.table('docs');
    await t.insert({ id: 1, tag: 'a', body: bytes(1 << 20) }); // exactly the maximum
    expect(await code(() => t.insert({ id: 2, tag: 'a', body: bytes((1 << 20) + 1) }))).toBe('ERR_VALUE_TOO_LARGE');
    expect(await code(() => t.update(1, { text: 'x'.repeat((1 << 20) + 1) }))).toBe('ERR_VALUE_TOO_LARGE');
    expect(t.get(2)).toBeUndefined();
    expect(t.get(1)!['text']).toBeNull();
    expect(db.engine.checkLobs().lobs).toBe(1);
  });
});

describe('large values: other writes, versions, purge', () => {
  it('an update of other columns keeps the LOB (no copy); a key change copies it into a new one', async () => {
    const body = bytes(60_000, 2);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const before = db.engine.checkLobs();
    await db.table('docs').update(1, { n: 3, tag: 'z' });
    expect(db.engine.checkLobs()).toEqual(before);
    await db.table('docs').update(1, { id: 5 });
    expect(db.table('docs').get(1)).toBeUndefined();
    expect(same(db.table('docs').get(5)!['body'], body)).toBe(true);
    db.purge(); // the old row's LOB goes with it
    expect(db.engine.checkLobs()).toEqual(before);
  });

  it('old readers keep every version across whole updates and deletes; purge then frees every LOB no row holds', async () => {
    const versions = [bytes(30_000, 1), bytes(45_000, 2), bytes(5_000, 3), bytes(20, 4)];
    await db.table('docs').insert({ id: 1, tag: 'a', body: versions[0] });
    const readers = [];
    for (const next of versions.slice(1)) {
      const reader = db.begin();
      reader.table('docs').get(1);
      readers.push(reader);
      await db.table('docs').update(1, { body: next });
    }
    const last = db.begin();
    last.table('docs').get(1);
    await db.table('docs').delete(1);
    db.purge();
    readers.forEach((reader, i) => expect(same(reader.table('docs').get(1)!['body'], versions[i]!)).toBe(true));
    expect(same(last.table('docs').get(1)!['body'], versions[3]!)).toBe(true);
    expect(db.engine.checkLobs().lobs).toBe(3);
    for (const reader of [...readers, last]) await reader.commit();
    db.purge();
    expect(db.engine.checkLobs()).toEqual({ lobs: 0, lobPages: 0, olderVersionPages: 0 });
  });

  it('bug class 13: an undo diff is put back only where it was taken from (a copied slot, a shared slot)', async () => {
    const body = bytes(30_000, 12);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    const atV1 = db.begin();
    atV1.table('docs').get(1);
    // One transaction: a larger change copies slot 1 (version 2), then small changes in place on
    // the copy (slot 1) and on slot 3, which versions 1 and 2 share.
    const tx = db.begin();
    await tx.table('docs').updatePartial(1, 'body', [{ offset: 3_000, bytes: bytes(200, 13) }]);
    const atV2 = db.begin();
    atV2.table('docs').get(1);
    await tx.table('docs').updatePartial(1, 'body', [{ offset: 3_100, bytes: bytes(30, 14) }]);
    await tx.table('docs').updatePartial(1, 'body', [{ offset: 12_000, bytes: bytes(30, 15) }]);
    await tx.commit();
    const latest = body.slice();
    latest.set(bytes(200, 13), 3_000);
    latest.set(bytes(30, 14), 3_100);
    latest.set(bytes(30, 15), 12_000);
    expect(same(db.table('docs').get(1)!['body'], latest)).toBe(true);
    expect(same(atV1.table('docs').get(1)!['body'], body)).toBe(true);
    expect(same(atV2.table('docs').get(1)!['body'], body)).toBe(true); // its view did not see tx
    await atV1.commit();
    await atV2.commit();
  });

  it('purge frees a version only once no reader can reach it', async () => {
    const body = bytes(30_000, 16);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    await db.table('docs').updatePartial(1, 'body', [{ offset: 5_000, bytes: bytes(300, 17) }]); // version 2
    const reader = db.begin();
    reader.table('docs').get(1); // sees version 2
    await db.table('docs').updatePartial(1, 'body', [{ offset: 5_100, bytes: bytes(300, 18) }]); // version 3
    db.purge(); // version 1's page may go; version 2's must stay for the reader
    db.check();
    const v2 = body.slice();
    v2.set(bytes(300, 17), 5_000);
    expect(same(reader.table('docs').get(1)!['body'], v2)).toBe(true);
    expect(db.engine.checkLobs().olderVersionPages).toBe(1);
    await reader.commit();
    db.purge();
    expect(db.engine.checkLobs().olderVersionPages).toBe(0);
  });

  it('an index on a column whose values are off-page is refused (index entries never point off-page)', async () => {
    await db.table('docs').insert({ id: 1, tag: 'a', text: 'x'.repeat(9_000) });
    expect(await code(() => db.createIndex('docs', { name: 'by_text', columns: ['text'] }))).toBe('ERR_KEY_TOO_LARGE');
    expect(db.engine.table('docs').secondaries.map((s) => s.index.name)).toEqual(['by_tag']);
  });

  it('survives a clean reopen with its LOBs, versions and free pages intact', async () => {
    const body = bytes(80_000, 7);
    await db.table('docs').insert({ id: 1, tag: 'a', body });
    await db.table('docs').updatePartial(1, 'body', [{ offset: 1, bytes: bytes(3_000, 1) }]);
    await db.table('docs').insert({ id: 2, tag: 'b', body: bytes(20_000, 8) });
    await db.table('docs').delete(2);
    db.purge();
    const lobs = db.engine.checkLobs();
    await db.close();
    db = await open();
    const after = body.slice();
    after.set(bytes(3_000, 1), 1);
    expect(same(db.table('docs').get(1)!['body'], after)).toBe(true);
    expect(db.engine.checkLobs()).toEqual(lobs);
  });
});

/**
 * A value of `size` bytes, end to end: stored (over many mtrs), read in slices at both ends and
 * streamed whole, changed at its last bytes, deleted and freed to the last page.
 */
async function wholeLifeOf(
  size: number,
  options: { pageSize: number; bufferPoolBytes: number; redoLogBytes: number },
): Promise<void> {
  await db.close();
  vfs = new MemoryVfs();
  db = await Database.open({ vfs, background: 'manual', durability: 'none', ...options });
  await createDocs();
  const body = new Uint8Array(size);
  for (let i = 0; i < size; i += 4096) body[i] = (i >>> 12) & 0xff;
  await db.table('docs').insert({ id: 1, tag: 'a', body });
  const t = db.table('docs');
  expect(t.byteLength(1, 'body')).toBe(size);
  expect(same(t.readSlice(1, 'body', 0, 10_000), body.subarray(0, 10_000))).toBe(true);
  expect(same(t.readSlice(1, 'body', size - 10_000, 10_000), body.subarray(size - 10_000))).toBe(true);
  await t.updatePartial(1, 'body', [{ offset: size - 5, bytes: Uint8Array.of(1, 2, 3, 4, 5) }]);
  body.set([1, 2, 3, 4, 5], size - 5);
  let read = 0;
  let equal = true;
  for await (const chunk of t.stream(1, 'body', { chunkBytes: 1 << 22 })!) {
    equal &&= Buffer.from(chunk as Buffer).equals(Buffer.from(body.subarray(read, read + (chunk as Buffer).length)));
    read += (chunk as Buffer).length;
  }
  expect(read).toBe(size);
  expect(equal).toBe(true);
  db.check();
  await t.delete(1);
  db.purge();
  expect(db.engine.checkLobs()).toEqual({ lobs: 0, lobPages: 0, olderVersionPages: 0 });
}

describe('a value of many MiB', () => {
  it('6 MiB on 4 KiB pages (index pages, more pages than the pool holds): stored, read, changed and freed', async () => {
    const size = 6 << 20;
    expect(size).toBeGreaterThan(lobGeometry(4096).dataBytes * (FIRST_INLINE_SLOTS + lobGeometry(4096).indexEntries));
    await wholeLifeOf(size, { pageSize: 4096, bufferPoolBytes: 256 * 4096, redoLogBytes: 4 << 20 });
  }, 60_000);
});

describe.skipIf(process.env['LOB_GIB'] === undefined)('a 1 GiB value', () => {
  it('is stored, read in slices and streamed, partially updated, and freed', async () => {
    await wholeLifeOf(2 ** 30, { pageSize: 16384, bufferPoolBytes: 256 << 20, redoLogBytes: 64 << 20 });
  }, 600_000);
});
