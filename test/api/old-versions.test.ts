/**
 * Exact old versions, deterministically: what a snapshot reads when the row has moved on.
 *
 * A consistent read rebuilds an old version from the newest one by applying undo records back
 * along the roll pointers (row-engine.ts `visibleRow`). Two things must come back exactly:
 *  - the delete mark: a row deleted and then inserted again under the same key reuses the
 *    delete-marked record (InnoDB's TRX_UNDO_UPD_DEL_REC), so a snapshot taken while it was deleted
 *    must see nothing, and one taken before the delete the old row;
 *  - empty values: an empty string, empty bytes or an empty JSON string are zero-length values,
 *    never NULL (seed 003's family: a zero length that came back as "nothing").
 * Until this file only the randomized model test (test/api/model.test.ts) guarded them, once, after
 * tens of seconds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/api/database.js';
import type { Transaction } from '../../src/api/transaction.js';
import type { ColumnValue, JsonValue } from '../../src/rec/schema.js';
import { openTestDatabase } from '../support/open.js';

const NOTES = {
  name: 'notes',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'text', type: 'string' as const, nullable: true },
    { name: 'blob', type: 'bytes' as const, nullable: true },
    { name: 'meta', type: 'json' as const, nullable: true },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_text', columns: ['text'] }],
};

interface Note {
  [column: string]: ColumnValue;
  id: number;
  text: string | null;
  blob: Uint8Array | null;
  meta: JsonValue;
}

let db: Database;
const open: Transaction[] = [];

async function openDb(): Promise<Database> {
  db = await openTestDatabase();
  await db.createTable(NOTES);
  return db;
}

/** A repeatable-read snapshot, taken now (its first read opens the view). */
function snapshot(): Transaction {
  const tx = db.begin({ isolation: 'repeatable-read' });
  tx.table('notes').get(0);
  open.push(tx);
  return tx;
}

const note = (id: number, text: string | null, blob: Uint8Array | null = null, meta: JsonValue = null): Note => ({
  id,
  text,
  blob,
  meta,
});

afterEach(async () => {
  for (const tx of open.splice(0)) if (tx.state === 'active') await tx.commit();
  expect(db.check().rows).toBeGreaterThanOrEqual(0);
  db.purge();
  await db.close();
});

describe('old versions across a delete and a re-insert of the same key', () => {
  it('a snapshot from before the delete reads the old row; one from while it was deleted reads nothing', async () => {
    await openDb();
    const notes = db.table('notes');
    await notes.insert(note(1, 'first'));
    const beforeDelete = snapshot();
    await notes.delete(1);
    const whileDeleted = snapshot();
    await notes.insert(note(1, 'second'));
    const afterReinsert = snapshot();
    await notes.update(1, { text: 'third' });

    expect(beforeDelete.table('notes').get(1)).toEqual(note(1, 'first'));
    expect(whileDeleted.table('notes').get(1)).toBeUndefined();
    expect(afterReinsert.table('notes').get(1)).toEqual(note(1, 'second'));
    expect(notes.get(1)).toEqual(note(1, 'third'));
    // Scans and the secondary index agree with the point reads.
    expect([...beforeDelete.table('notes').scan()]).toEqual([note(1, 'first')]);
    expect([...whileDeleted.table('notes').scan()]).toEqual([]);
    expect(whileDeleted.table('notes').count()).toBe(0);
    expect([...whileDeleted.table('notes').scanIndex('by_text')]).toEqual([]);
    expect(beforeDelete.table('notes').getByIndex('by_text', 'first')).toEqual(note(1, 'first'));
    expect(afterReinsert.table('notes').getByIndex('by_text', 'first')).toBeUndefined();
    expect([...afterReinsert.table('notes').scanIndex('by_text')]).toEqual([note(1, 'second')]);
  });

  it('deleted and re-inserted twice: every snapshot sees its own one of five states', async () => {
    await openDb();
    const notes = db.table('notes');
    const states: Array<Note | undefined> = [];
    const views: Transaction[] = [];
    const mark = (state: Note | undefined): void => {
      states.push(state);
      views.push(snapshot());
    };
    await notes.insert(note(2, 'a'));
    mark(note(2, 'a'));
    await notes.delete(2);
    mark(undefined);
    await notes.insert(note(2, 'b'));
    mark(note(2, 'b'));
    await notes.delete(2);
    mark(undefined);
    await notes.insert(note(2, 'c'));
    mark(note(2, 'c'));
    views.forEach((view, i) => expect(view.table('notes').get(2), `snapshot ${i}`).toEqual(states[i]));
    // Purge may run: nothing a snapshot can still reach is removed.
    db.purge();
    views.forEach((view, i) => expect(view.table('notes').get(2), `snapshot ${i} after purge`).toEqual(states[i]));
  });

  it('a transaction that deletes and re-inserts reads its own row; others read the row from before it', async () => {
    await openDb();
    await db.table('notes').insert(note(3, 'old'));
    const other = snapshot();
    const tx = db.begin();
    await tx.table('notes').delete(3);
    expect(tx.table('notes').get(3)).toBeUndefined();
    await tx.table('notes').insert(note(3, 'new'));
    expect(tx.table('notes').get(3)).toEqual(note(3, 'new'));
    expect(other.table('notes').get(3)).toEqual(note(3, 'old'));
    await tx.rollback();
    expect(db.table('notes').get(3)).toEqual(note(3, 'old'));
  });
});

describe('old versions with empty values (seed 003 family)', () => {
  const EMPTY = new Uint8Array(0);

  it('\'\' , empty bytes and the JSON string "" come back from undo as themselves, never NULL', async () => {
    await openDb();
    const notes = db.table('notes');
    await notes.insert(note(1, '', EMPTY, ''));
    const empty = snapshot();
    await notes.update(1, { text: 'x', blob: Uint8Array.of(1), meta: 'y' });
    const full = snapshot();
    await notes.update(1, { text: '', blob: EMPTY, meta: '' });
    await notes.update(1, { text: null, blob: null, meta: null });

    expect(empty.table('notes').get(1)).toEqual(note(1, '', EMPTY, ''));
    expect(full.table('notes').get(1)).toEqual(note(1, 'x', Uint8Array.of(1), 'y'));
    expect(notes.get(1)).toEqual(note(1, null, null, null));
    expect(empty.table('notes').getByIndex('by_text', '')).toEqual(note(1, '', EMPTY, ''));
  });

  it('NULL and empty stay apart in the same snapshot, for old values on either side', async () => {
    await openDb();
    const notes = db.table('notes');
    await notes.insert(note(1, null));
    await notes.insert(note(2, ''));
    const view = snapshot();
    await notes.update(1, { text: '' });
    await notes.update(2, { text: null });
    await notes.delete(1);
    expect(view.table('notes').get(1)).toEqual(note(1, null));
    expect(view.table('notes').get(2)).toEqual(note(2, ''));
    expect([...view.table('notes').scan()]).toEqual([note(1, null), note(2, '')]);
    expect([...view.table('notes').scanIndex('by_text')].map((row) => row.id)).toEqual([1, 2]); // NULL sorts first
  });

  it('rollback restores the empty values exactly', async () => {
    await openDb();
    await db.table('notes').insert(note(1, '', EMPTY, ''));
    const tx = db.begin();
    await tx.table('notes').update(1, { text: 'z', blob: Uint8Array.of(9), meta: { a: 1 } });
    await tx.rollback();
    expect(db.table('notes').get(1)).toEqual(note(1, '', EMPTY, ''));
  });
});
