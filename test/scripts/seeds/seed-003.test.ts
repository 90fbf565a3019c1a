/**
 * Seed 003 (MySQL bug 111647, ../shared/seeds/003_0d3365b05c82910b.txt), as a script.
 *
 * MySQL 8.0.25 stored a small partial update of a JSON column (at most 100 bytes changed) in place
 * on the LOB pages and wrote the old bytes into the update's undo record as binary diffs. JSON_REMOVE
 * of an array's last element yields two diffs: the element count (2 bytes) and a copy of the
 * element metadata, which for the last element has nothing to move: a diff of length 0. Reading the
 * undo record back for an MVCC read, `trx_undo_read_blob_update` copied each diff's old bytes into a
 * fresh allocation and took the pointer the copy returned as its position in the record; for length
 * 0 the allocator returned null, the reader lost its place, and the next read crashed the server.
 *
 * The script (the blog's, with minno's API; the document is MySQL's binary JSON, as bytes):
 *
 *     client1  create table t (a int primary key, b json)        -> t: a int32, b bytes
 *     client1  insert into t values (1, '["abc", "def"]')        -> 19 bytes, in the row
 *     client1  update t set b = JSON_SET(b, '$[0]', REPEAT('w', 10000))
 *                                                                -> 10017 bytes, on LOB pages
 *     client2  set transaction isolation level repeatable read; begin;
 *     client2  select * from t where a = 1                        -> ["w"*10000, "def"] (the view)
 *     client1  update t set b = JSON_REMOVE(b, '$[1]') where a = 1
 *                  -> updatePartial(1, 'b', [{ offset 1, 2 bytes: count 01 00 },
 *                                            { offset 8, 0 bytes: the metadata move }])
 *                  -> the undo record holds (1, 2, [02 00]) and (8, 0, []) (rule LOB-DIFF)
 *     client2  select * from t where a = 1                        -> ["w"*10000, "def"], byte for byte
 *     client1  select * from t where a = 1                        -> ["w"*10000]
 *
 * What makes it impossible here: the LOB diff reader (`LobDiffReader.next` in
 * src/rec/undo-fields.ts, invariant UF2) advances by each diff's declared length, zero included,
 * checks every length against the field's end, and must end exactly there; nothing is inferred
 * from a copy.
 *
 * The fix reverted, two ways. The second test runs the same script on a database opened with the
 * test seam `lobDiffReaderLosesPlace` (`openDatabaseWithTestSeams`), which makes the reader of MVCC
 * reads take a zero-length diff's empty copy for the end of the field, as 8.0.25 did: the first
 * read of the version before the update (step 5) then fails with ERR_CORRUPTION ("UF2 LOB diff 1 of
 * 0 bytes names 2 pages": the reader, lost past the field's end, takes whatever follows for the
 * diff's page numbers) instead of returning the old document: the loss of position that crashed
 * MySQL, reported instead of read. And `npm run audit:mutations -- --only LOB-DIFF-zero-length`
 * edits the line itself in src/rec/undo-fields.ts, `LobDiffReader.next`:
 *
 *         let pagesAt = oldStart + length; // seed 003: by the declared length, zero included
 *
 * into `let pagesAt = length === 0 ? this.end : oldStart + length;` and requires the first test to
 * fail.
 */
import { describe, expect, it } from 'vitest';
import { type Database, openDatabaseWithTestSeams } from '../../../src/api/database.js';
import { LobRef } from '../../../src/rec/lob-ref.js';

/** MySQL binary JSON: a small array of strings (json_binary.cc): type, count, size, entries, values. */
function jsonArray(strings: readonly string[]): Uint8Array {
  const values = strings.map((s) => {
    const text = new TextEncoder().encode(s);
    const length: number[] = [];
    let n = text.length; // the length as MySQL's variable-length integer, 7 bits a byte
    do {
      length.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0));
      n >>>= 7;
    } while (n > 0);
    return Uint8Array.from([...length, ...text]);
  });
  const header = 4 + 3 * strings.length;
  const size = header + values.reduce((sum, v) => sum + v.length, 0);
  const out = new Uint8Array(1 + size);
  out[0] = 0x02; // small JSON array
  out[1] = strings.length & 0xff;
  out[2] = strings.length >> 8;
  out[3] = size & 0xff;
  out[4] = size >> 8;
  let at = 1 + header;
  values.forEach((value, i) => {
    out[5 + 3 * i] = 0x0c; // string
    out[6 + 3 * i] = (at - 1) & 0xff; // offsets count from the array's start (after the type)
    out[7 + 3 * i] = (at - 1) >> 8;
    out.set(value, at);
    at += value.length;
  });
  return out;
}

function same(actual: unknown, expected: Uint8Array): boolean {
  return actual instanceof Uint8Array && Buffer.from(actual).equals(Buffer.from(expected));
}

/** The script, on `db`; it stops at the first step that goes wrong. */
async function script(db: Database): Promise<void> {
  // 1. client1: create table t (a int primary key, b json); insert (1, '["abc", "def"]').
  await db.createTable({
    name: 't',
    columns: [
      { name: 'a', type: 'int32' },
      { name: 'b', type: 'bytes' },
    ],
    primaryKey: ['a'],
  });
  const t = db.table('t');
  await t.insert({ a: 1, b: jsonArray(['abc', 'def']) });
  expect(t.byteLength(1, 'b')).toBe(19);

  // 2. client1: update t set b = JSON_SET(b, '$[0]', REPEAT('w', 10000)): now a large value.
  const before = jsonArray(['w'.repeat(10_000), 'def']);
  await t.update(1, { b: before });
  expect(before.length).toBe(10_017);
  expect(db.engine.checkLobs()).toMatchObject({ lobs: 1 }); // stored off-page

  // 3. client2: repeatable read; begin; select * from t where a = 1.
  const client2 = db.begin({ isolation: 'repeatable-read' });
  expect(same(client2.table('t').get(1)!.b, before)).toBe(true);

  // 4. client1: update t set b = JSON_REMOVE(b, '$[1]'): the count becomes 1 (both bytes are in
  //    the diff, as MySQL writes them) and the metadata of the removed last element needs no
  //    move: a zero-length diff.
  const removed = before.slice();
  removed[1] = 0x01;
  removed[2] = 0x00;
  expect(
    await t.updatePartial(1, 'b', [
      { offset: 1, bytes: Uint8Array.of(0x01, 0x00) },
      { offset: 8, bytes: new Uint8Array(0) },
    ]),
  ).toBe(true);

  // 5. The undo record holds both diffs, the zero-length one included (LOB-DIFF): the version
  //    before the update is the same LOB at the same version, with the two diffs to put back.
  const [newest, older] = db.engine.versionChain(db.engine.table('t'), 1);
  const oldB = older!.row['b'];
  expect(oldB).toBeInstanceOf(LobRef);
  expect((newest!.row['b'] as LobRef).version).toBe((oldB as LobRef).version);
  expect((oldB as LobRef).undoDiffs.map((d) => ({ offset: d.offset, length: d.old.length, old: [...d.old] }))).toEqual([
    { offset: 8, length: 0, old: [] }, // undone first: the last change first
    { offset: 1, length: 2, old: [0x02, 0x00] },
  ]);

  // 6. client2: select * from t where a = 1: the old document, byte for byte.
  const seen = client2.table('t').get(1)!.b;
  expect(same(seen, before)).toBe(true);
  expect(same(client2.table('t').readSlice(1, 'b', 0, 12), before.subarray(0, 12))).toBe(true);

  // 7. client1 sees the new one.
  expect(same(t.get(1)!.b, removed)).toBe(true);

  // 8. Both finish; purge; everything checks (no LOB page leaked or shared).
  await client2.commit();
  db.purge();
  db.check();
  expect(db.engine.checkLobs()).toMatchObject({ lobs: 1 });
}

describe('seed 003: a zero-length LOB diff in undo (MySQL bug 111647)', () => {
  it('an old reader gets the old document back, byte for byte, after JSON_REMOVE of the last element', async () => {
    const db = await openDatabaseWithTestSeams({ background: 'manual' }, {});
    await script(db);
    await db.close();
  });

  it('with the fix reverted (the reader loses its place after a zero-length diff) the script fails', async () => {
    const db = await openDatabaseWithTestSeams({ background: 'manual' }, { lobDiffReaderLosesPlace: true });
    await expect(script(db)).rejects.toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringContaining('UF2 LOB diff 1 of 0 bytes'),
    });
    await db.close();
  });
});
