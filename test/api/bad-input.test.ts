/**
 * Bad input through the public API: each refusal is a `MinnoError` with its stable `code`, its
 * message names what is wrong (the column, index, table, limit or value), and it changes nothing.
 *
 * Every refusal of a table call is tried three ways (`expectRefused`):
 *  1. autocommit: the data (every row, every index scan) equals a snapshot taken before;
 *  2. inside an explicit transaction that already wrote a row: the transaction stays active, its
 *     earlier write is still there, it writes again and commits;
 *  3. inside `db.transaction(fn)`: the error rolls the transaction back, the data is unchanged.
 * `db.check()` runs after each.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import type { Table } from '../../src/api/table.js';
import type { Row } from '../../src/rec/row-format.js';
import type { ColumnDef, TableSchema } from '../../src/rec/schema.js';
import type { ErrorCode, MinnoError } from '../../src/errors.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { indexNames, normalizeRow, refused, thrown } from './model.js';
import { openTestDatabase } from '../support/open.js';

/** btreeLimits(4096).keyBytesMax: the key size limit on 4 KiB pages. */
const KEY_LIMIT = '492';
/** limitsForPageSize(4096).maxRowBytes: the row size limit on 4 KiB pages. */
const ROW_LIMIT = '1982';

const PEOPLE: TableSchema = {
  name: 'people',
  columns: [
    { name: 'org', type: 'string' },
    { name: 'id', type: 'int32' },
    { name: 'name', type: 'string', maxLength: 10 },
    { name: 'email', type: 'string', nullable: true },
    { name: 'age', type: 'int32', nullable: true },
    { name: 'big', type: 'int64', nullable: true },
    { name: 'score', type: 'float64', nullable: true },
    { name: 'active', type: 'boolean', nullable: true },
    { name: 'photo', type: 'bytes', nullable: true, maxLength: 8 },
    { name: 'meta', type: 'json', nullable: true },
    { name: 'bio', type: 'string', nullable: true },
  ],
  primaryKey: ['org', 'id'],
  indexes: [
    { name: 'by_email', columns: ['email'], unique: true },
    { name: 'by_age_name', columns: ['age', 'name'] },
  ],
};

const ROWS: Row[] = [
  {
    org: 'acme',
    id: 1,
    name: 'ann',
    email: 'ann@acme',
    age: 30,
    big: 7n,
    score: 1.5,
    active: true,
    photo: new Uint8Array([1, 2]),
    meta: { a: 1 },
  },
  { org: 'acme', id: 2, name: 'bob', email: 'bob@acme', age: 41 },
  { org: 'zeta', id: 1, name: 'cy', age: 30, bio: 'hello' },
];

/** The row explicit transactions write before the refused call; nothing refused touches it. */
const MARK: Row = { org: 'mark', id: 1, name: 'mark' };

let db: Database;
let vfs: MemoryVfs;

function open(): Promise<Database> {
  // The largest value stored (off-page): small, so a test can go over it.
  return openTestDatabase(vfs, { maxValueBytes: 65_536 });
}

beforeEach(async () => {
  vfs = new MemoryVfs();
  db = await open();
  await db.createTable(PEOPLE);
  await db.table('people').insertMany(ROWS);
});

afterEach(async () => {
  if (!db.isClosed) {
    db.check();
    await db.close();
  }
});

/** Every table's rows and every index scan: what "nothing changed" compares. */
function dump(database: Database): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of database.tables) {
    const table = database.table(name);
    out[name] = {
      rows: [...table.scan()],
      indexes: Object.fromEntries(indexNames(database, name).map((i) => [i, [...table.scanIndex(i)]])),
    };
  }
  return out;
}

/** The refusal in autocommit, in an explicit transaction and in db.transaction(fn) (see the module doc). */
async function expectRefused(
  attempt: (people: Table) => unknown,
  code: ErrorCode,
  mentions: readonly string[],
): Promise<void> {
  const before = dump(db);
  await refused(() => attempt(db.table('people')), code, mentions);
  expect(dump(db), 'autocommit: nothing changed').toEqual(before);
  db.check();

  const tx = db.begin();
  const people = tx.table('people');
  await people.insert(MARK);
  await refused(() => attempt(people), code, mentions);
  expect(tx.state, 'the transaction is still open').toBe('active');
  expect(people.get(['mark', 1]), 'its earlier write is still there').toEqual(normalizeRow(PEOPLE, MARK));
  expect(await people.update(['mark', 1], { name: 'marked' })).toBe(true);
  await tx.commit();
  expect(db.table('people').get(['mark', 1])?.['name']).toBe('marked');
  expect(await db.table('people').delete(['mark', 1])).toBe(true);
  db.purge();
  expect(dump(db), 'explicit transaction: nothing else changed').toEqual(before);
  db.check();

  const error = await thrown(() =>
    db.transaction(async (t) => {
      await t.table('people').insert(MARK);
      await thrown(() => attempt(t.table('people'))).then((e) => {
        throw e;
      });
    }),
  );
  expect((error as MinnoError).code).toBe(code);
  expect(dump(db), 'db.transaction(fn): rolled back, nothing changed').toEqual(before);
  db.check();
}

describe('bad input is refused with a typed error and changes nothing', () => {
  it('a duplicate primary key (insert, insertMany, a key-changing update)', async () => {
    await expectRefused((t) => t.insert({ org: 'acme', id: 1, name: 'again' }), 'ERR_DUPLICATE_KEY', [
      '"PRIMARY"',
      '"people"',
      'org="acme"',
      'id=1',
    ]);
    // A batch with a duplicate in the middle, or within itself: in autocommit none of it stays
    // (in a transaction the rows before the duplicate stay: see the known inconsistencies below).
    for (const batch of [
      [
        { org: 'new', id: 1, name: 'n1' },
        { org: 'acme', id: 2, name: 'dup' },
        { org: 'new', id: 2, name: 'n2' },
      ],
      [
        { org: 'new', id: 1, name: 'n1' },
        { org: 'new', id: 1, name: 'n1' },
      ],
    ]) {
      const before = dump(db);
      await refused(() => db.table('people').insertMany(batch), 'ERR_DUPLICATE_KEY', ['"PRIMARY"']);
      expect(dump(db)).toEqual(before);
    }
    await expectRefused((t) => t.update(['zeta', 1], { org: 'acme', id: 2 }), 'ERR_DUPLICATE_KEY', ['"PRIMARY"']);
    const error = await refused(
      () => db.table('people').insert({ org: 'acme', id: 1, name: 'x' }),
      'ERR_DUPLICATE_KEY',
      [],
    );
    expect(error).toMatchObject({ table: 'people', index: 'PRIMARY' });
  });

  it('a duplicate in a unique secondary index (insert, update), while NULLs never clash', async () => {
    await expectRefused((t) => t.insert({ org: 'new', id: 1, name: 'n', email: 'ann@acme' }), 'ERR_DUPLICATE_KEY', [
      '"by_email"',
      '"people"',
    ]);
    await expectRefused((t) => t.update(['acme', 2], { email: 'ann@acme' }), 'ERR_DUPLICATE_KEY', ['"by_email"']);
    await expectRefused((t) => t.update(['zeta', 1], { email: 'bob@acme', age: 99 }), 'ERR_DUPLICATE_KEY', [
      '"by_email"',
    ]);
    // The control: several NULL emails are fine.
    await db.table('people').insert({ org: 'new', id: 1, name: 'n', email: null });
    await db.table('people').insert({ org: 'new', id: 2, name: 'n' });
    expect(db.table('people').count({ gte: 'new', lte: 'new' })).toBe(2);
  });

  it('an unknown table, and a table that already exists', async () => {
    await refused(() => db.table('nobody'), 'ERR_UNKNOWN_TABLE', ['"nobody"', 'people']);
    await refused(() => db.dropTable('nobody'), 'ERR_UNKNOWN_TABLE', ['"nobody"']);
    await refused(() => db.createIndex('nobody', { name: 'i', columns: ['x'] }), 'ERR_UNKNOWN_TABLE', ['"nobody"']);
    await refused(() => db.dropIndex('nobody', 'i'), 'ERR_UNKNOWN_TABLE', ['"nobody"']);
    const tx = db.begin();
    await tx.table('people').insert(MARK);
    await refused(() => tx.table('nobody'), 'ERR_UNKNOWN_TABLE', ['"nobody"']);
    expect(tx.state).toBe('active');
    await tx.rollback();
    const before = dump(db);
    await refused(
      () => db.createTable({ ...PEOPLE, columns: [{ name: 'id', type: 'int32' }], primaryKey: ['id'], indexes: [] }),
      'ERR_TABLE_EXISTS',
      ['"people"'],
    );
    expect(dump(db)).toEqual(before);
    expect(indexNames(db, 'people')).toEqual(['by_email', 'by_age_name']);
  });

  it('an unknown column (insert, update)', async () => {
    await expectRefused((t) => t.insert({ org: 'new', id: 1, name: 'n', nickname: 'x' }), 'ERR_UNKNOWN_COLUMN', [
      '"nickname"',
      '"people"',
      '"email"',
    ]);
    await expectRefused((t) => t.update(['acme', 1], { name: 'ok', nickname: 'x' }), 'ERR_UNKNOWN_COLUMN', [
      '"nickname"',
    ]);
  });

  it('an unknown index (scanIndex, getByIndex, dropIndex)', async () => {
    await expectRefused((t) => t.scanIndex('by_nothing'), 'ERR_UNKNOWN_INDEX', [
      '"by_nothing"',
      '"people"',
      'by_email',
    ]);
    await expectRefused((t) => t.getByIndex('by_nothing', 'x'), 'ERR_UNKNOWN_INDEX', ['"by_nothing"']);
    await refused(() => db.dropIndex('people', 'by_nothing'), 'ERR_UNKNOWN_INDEX', ['"by_nothing"', '"people"']);
    expect(indexNames(db, 'people')).toEqual(['by_email', 'by_age_name']);
  });

  it('a wrong type, or a value out of its type range', async () => {
    const cases: Array<[string, unknown, ErrorCode]> = [
      ['name', 42, 'ERR_TYPE_MISMATCH'],
      ['name', '\uD800x', 'ERR_TYPE_MISMATCH'], // a lone surrogate has no UTF-8 form
      ['age', 1.5, 'ERR_TYPE_MISMATCH'],
      ['age', '30', 'ERR_TYPE_MISMATCH'],
      ['age', 30n, 'ERR_TYPE_MISMATCH'],
      ['age', 2 ** 31, 'ERR_OUT_OF_RANGE'],
      ['age', -(2 ** 31) - 1, 'ERR_OUT_OF_RANGE'],
      ['big', 2 ** 53 + 2, 'ERR_TYPE_MISMATCH'], // an unsafe integer has lost its low digits
      ['big', 2n ** 63n, 'ERR_OUT_OF_RANGE'],
      ['big', 1.5, 'ERR_TYPE_MISMATCH'],
      ['score', '1.5', 'ERR_TYPE_MISMATCH'],
      ['active', 1, 'ERR_TYPE_MISMATCH'],
      ['photo', [1, 2], 'ERR_TYPE_MISMATCH'],
      ['photo', 'ab', 'ERR_TYPE_MISMATCH'],
      ['meta', 10n, 'ERR_TYPE_MISMATCH'], // JSON.stringify refuses a bigint
    ];
    for (const [column, value, code] of cases) {
      await expectRefused((t) => t.insert({ org: 'new', id: 1, name: 'n', [column]: value } as Row), code, [
        `"${column}"`,
      ]);
      await expectRefused((t) => t.update(['acme', 1], { [column]: value } as Row), code, [`"${column}"`]);
    }
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    await expectRefused(
      (t) => t.insert({ org: 'new', id: 1, name: 'n', meta: cycle } as unknown as Row),
      'ERR_TYPE_MISMATCH',
      ['"meta"'],
    );
    // Keys and bounds are checked too.
    await expectRefused((t) => t.get(['acme', 'one']), 'ERR_TYPE_MISMATCH', ['"id"']);
    await expectRefused((t) => t.delete([1, 1]), 'ERR_TYPE_MISMATCH', ['"org"']);
    await expectRefused((t) => t.scan({ gte: 7 }), 'ERR_TYPE_MISMATCH', ['"org"']);
    await expectRefused((t) => t.scanIndex('by_age_name', { lt: [30, 5] }), 'ERR_TYPE_MISMATCH', ['"name"']);
  });

  it('NULL in a NOT NULL column (given, missing, a key column, an update)', async () => {
    await expectRefused((t) => t.insert({ org: 'new', id: 1, name: null }), 'ERR_NOT_NULL', ['"name"']);
    await expectRefused((t) => t.insert({ org: 'new', id: 1 }), 'ERR_NOT_NULL', ['"name"']);
    await expectRefused((t) => t.insert({ org: 'new', id: null, name: 'n' }), 'ERR_NOT_NULL', ['"id"']);
    await expectRefused((t) => t.update(['acme', 1], { name: null }), 'ERR_NOT_NULL', ['"name"']);
    await expectRefused((t) => t.update(['acme', 1], { name: undefined }), 'ERR_NOT_NULL', ['"name"']);
    await expectRefused((t) => t.update(['acme', 1], { org: null }), 'ERR_NOT_NULL', ['"org"']);
  });

  it('a value too large: over maxLength, or a row over the row size limit', async () => {
    await expectRefused((t) => t.insert({ org: 'new', id: 1, name: 'x'.repeat(11) }), 'ERR_VALUE_TOO_LARGE', [
      '"name"',
      'maxLength 10',
      '11 characters',
    ]);
    await expectRefused((t) => t.update(['acme', 1], { name: '\u{1F600}'.repeat(11) }), 'ERR_VALUE_TOO_LARGE', [
      '"name"',
      'maxLength 10',
    ]);
    await expectRefused(
      (t) => t.insert({ org: 'new', id: 1, name: 'n', photo: new Uint8Array(9) }),
      'ERR_VALUE_TOO_LARGE',
      ['"photo"', 'maxLength 8'],
    );
    // A value too large for the row goes off-page; one over maxValueBytes is refused.
    await expectRefused(
      (t) => t.insert({ org: 'new', id: 1, name: 'n', bio: 'b'.repeat(65_537) }),
      'ERR_VALUE_TOO_LARGE',
      ['"bio"', '65536', 'maxValueBytes'],
    );
    await expectRefused((t) => t.update(['zeta', 1], { bio: 'b'.repeat(70_000) }), 'ERR_VALUE_TOO_LARGE', [
      '"bio"',
      '65536',
    ]);
    await expectRefused(
      (t) => t.insert({ org: 'new', id: 1, name: 'n', meta: { text: 'm'.repeat(70_000) } }),
      'ERR_VALUE_TOO_LARGE',
      ['"meta"', '65536'],
    );
    // What stays in the row is still bounded by the row size limit: indexed values never go
    // off-page (rec/row-format.ts W8), so five of 450 bytes do not fit a 4 KiB page's row.
    await db.createTable({
      name: 'wide',
      columns: [
        { name: 'id', type: 'int32' },
        ...['a', 'b', 'c', 'd', 'e'].map((name) => ({ name, type: 'string' as const })),
      ],
      primaryKey: ['id'],
      indexes: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name: `by_${name}`, columns: [name] })),
    });
    const wide = {
      id: 1,
      a: 'a'.repeat(450),
      b: 'b'.repeat(450),
      c: 'c'.repeat(450),
      d: 'd'.repeat(450),
      e: 'e'.repeat(451),
    };
    await refused(() => db.table('wide').insert(wide), 'ERR_VALUE_TOO_LARGE', ['"e"', ROW_LIMIT]);
    expect(db.table('wide').get(1)).toBeUndefined();
    await db.dropTable('wide');
    // The control: a 60 000-character bio is stored, off-page, and read back whole.
    await db.table('people').insert({ org: 'new', id: 3, name: 'n', bio: 'b'.repeat(60_000) });
    expect(db.table('people').get(['new', 3])?.['bio']).toBe('b'.repeat(60_000));
    await db.table('people').delete(['new', 3]);
    const error = await refused(
      () => db.table('people').insert({ org: 'new', id: 1, name: 'x'.repeat(11) }),
      'ERR_VALUE_TOO_LARGE',
      [],
    );
    expect(error).toMatchObject({ column: 'name', limit: 10 });
    // The controls: maxLength counts characters (code points), and a row just under the limit fits.
    await db.table('people').insert({ org: 'new', id: 1, name: '\u00e9\u{1F600}'.repeat(5) });
    await db.table('people').insert({ org: 'new', id: 2, name: 'n', bio: 'b'.repeat(1800) });
    expect(db.table('people').get(['new', 1])?.['name']).toBe('\u00e9\u{1F600}'.repeat(5));
  });

  it('a key over the key size limit (primary and secondary, written or looked up)', async () => {
    await expectRefused((t) => t.insert({ org: 'o'.repeat(600), id: 1, name: 'n' }), 'ERR_KEY_TOO_LARGE', [
      '"PRIMARY"',
      KEY_LIMIT,
    ]);
    await expectRefused(
      (t) => t.insert({ org: 'new', id: 1, name: 'n', email: 'e'.repeat(600) }),
      'ERR_KEY_TOO_LARGE',
      ['"by_email"', KEY_LIMIT],
    );
    await expectRefused((t) => t.update(['acme', 2], { email: 'e'.repeat(600) }), 'ERR_KEY_TOO_LARGE', ['"by_email"']);
    await expectRefused((t) => t.update(['acme', 2], { org: 'o'.repeat(600) }), 'ERR_KEY_TOO_LARGE', ['"PRIMARY"']);
    await expectRefused((t) => t.get(['o'.repeat(600), 1]), 'ERR_KEY_TOO_LARGE', ['"PRIMARY"']);
    const error = await refused(
      () => db.table('people').insert({ org: 'o'.repeat(600), id: 1, name: 'n' }),
      'ERR_KEY_TOO_LARGE',
      [],
    );
    expect(error).toMatchObject({ index: 'PRIMARY', limitBytes: Number(KEY_LIMIT) });
  });

  it('a composite key with the wrong number of values, and bad range options', async () => {
    await expectRefused((t) => t.get('acme'), 'ERR_INVALID_ARGUMENT', ['2 columns', 'got 1 value']);
    await expectRefused((t) => t.get(['acme', 1, 2]), 'ERR_INVALID_ARGUMENT', ['2 columns', 'got 3 values']);
    await expectRefused((t) => t.update('acme', { name: 'x' }), 'ERR_INVALID_ARGUMENT', ['2 columns']);
    await expectRefused((t) => t.delete(['acme', 1, 9]), 'ERR_INVALID_ARGUMENT', ['2 columns']);
    await expectRefused((t) => t.scan({ gte: ['acme', 1, 2] }), 'ERR_INVALID_ARGUMENT', ['1 to 2', 'got 3']);
    await expectRefused((t) => t.scan({ lt: [] }), 'ERR_INVALID_ARGUMENT', ['got 0']);
    await expectRefused((t) => t.scanIndex('by_email', { gte: ['a', 'b'] }), 'ERR_INVALID_ARGUMENT', [
      '1 to 1',
      'got 2',
    ]);
    await expectRefused((t) => t.scan({ limit: -1 }), 'ERR_INVALID_ARGUMENT', ['limit', '-1']);
    await expectRefused((t) => t.scan({ limit: 1.5 }), 'ERR_INVALID_ARGUMENT', ['limit', '1.5']);
  });

  it('invalid schemas (each rule), for createTable and createIndex', async () => {
    const id: ColumnDef = { name: 'id', type: 'int32' };
    const base = { name: 't', columns: [id, { name: 'v', type: 'string' }], primaryKey: ['id'], indexes: [] } as const;
    const cases: Array<[string, unknown, string[]]> = [
      ['empty table name', { ...base, name: '' }, ['S1', 'table name']],
      ['long table name', { ...base, name: 'n'.repeat(65) }, ['S1', '64']],
      ['NUL in a name', { ...base, name: 'a\u0000b' }, ['S1', 'NUL']],
      ['no columns', { ...base, columns: [] }, ['columns']],
      ['duplicate column', { ...base, columns: [id, id] }, ['S1', '"id"']],
      ['unknown type', { ...base, columns: [id, { name: 'v', type: 'varchar' }] }, ['S2', '"v"', 'varchar']],
      ['maxLength on int32', { ...base, columns: [{ ...id, maxLength: 4 }] }, ['S2', '"id"', 'maxLength']],
      [
        'maxLength zero',
        { ...base, columns: [id, { name: 'v', type: 'string', maxLength: 0 }] },
        ['S2', '"v"', 'maxLength'],
      ],
      [
        'nullable not boolean',
        { ...base, columns: [id, { name: 'v', type: 'string', nullable: 'yes' }] },
        ['S2', '"v"', 'nullable'],
      ],
      ['empty primary key', { ...base, primaryKey: [] }, ['S3', 'primary key']],
      ['primary key on a missing column', { ...base, primaryKey: ['nope'] }, ['S3', '"nope"']],
      ['primary key column twice', { ...base, primaryKey: ['id', 'id'] }, ['S3', '"id"', 'twice']],
      ['nullable primary-key column', { ...base, columns: [{ ...id, nullable: true }] }, ['S3', '"id"', 'nullable']],
      ['json primary key', { ...base, columns: [{ name: 'id', type: 'json' }] }, ['S3', '"id"', 'json']],
      ['index on a missing column', { ...base, indexes: [{ name: 'i', columns: ['nope'] }] }, ['S4', '"i"', '"nope"']],
      ['index named PRIMARY', { ...base, indexes: [{ name: 'PRIMARY', columns: ['v'] }] }, ['S1', 'PRIMARY']],
      [
        'two indexes of one name',
        {
          ...base,
          indexes: [
            { name: 'i', columns: ['v'] },
            { name: 'i', columns: ['id'] },
          ],
        },
        ['S1', '"i"'],
      ],
      ['index with no columns', { ...base, indexes: [{ name: 'i', columns: [] }] }, ['S4', '"i"']],
      [
        'index over 16 columns',
        { ...base, indexes: [{ name: 'i', columns: Array.from({ length: 17 }, () => 'v') }] },
        ['S4', '16'],
      ],
      ['unique not boolean', { ...base, indexes: [{ name: 'i', columns: ['v'], unique: 1 }] }, ['S2', '"i"', 'unique']],
      ['indexes not an array', { ...base, indexes: 'by_v' }, ['indexes', 'array']],
    ];
    const before = dump(db);
    const files = vfs.list('').sort();
    for (const [what, schema, mentions] of cases) {
      const error = await thrown(() => db.createTable(schema as TableSchema)).catch(
        (e: unknown) => new Error(`${what}: ${String(e)}`),
      );
      expect((error as MinnoError).code, `${what}: ${String(error)}`).toBe('ERR_INVALID_SCHEMA');
      for (const mention of mentions) expect((error as Error).message, what).toContain(mention);
    }
    await refused(() => db.createTable(null as never), 'ERR_INVALID_ARGUMENT', ['createTable']);
    await refused(() => db.createIndex('people', { name: 'i', columns: ['nope'] }), 'ERR_INVALID_SCHEMA', [
      'S4',
      '"nope"',
      '"people"',
    ]);
    await refused(() => db.createIndex('people', { name: 'by_email', columns: ['name'] }), 'ERR_INVALID_SCHEMA', [
      'S1',
      '"by_email"',
    ]);
    await refused(() => db.createIndex('people', { name: 'j', columns: ['meta'] }), 'ERR_INVALID_SCHEMA', [
      'S4',
      '"meta"',
      'json',
    ]);
    expect(db.tables).toEqual(['people']);
    expect(dump(db)).toEqual(before);
    expect(vfs.list('').sort(), 'no file was created').toEqual(files);
  });

  it('a finished transaction used again, and commit twice', async () => {
    for (const end of ['commit', 'rollback'] as const) {
      const tx = db.begin();
      const people = tx.table('people');
      await people.insert({ ...MARK, id: end === 'commit' ? 1 : 2 });
      const rows = people.scan();
      if (end === 'commit') await tx.commit();
      else await tx.rollback();
      const state = end === 'commit' ? 'committed' : 'rolled-back';
      const before = dump(db);
      await refused(() => tx.commit(), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => tx.rollback(), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => tx.table('people'), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.get(['acme', 1]), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.scan(), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => rows, 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.insert({ org: 'late', id: 1, name: 'n' }), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.update(['acme', 1], { name: 'late' }), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.delete(['acme', 1]), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => people.getForUpdate(['acme', 1]), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => tx.savepoint('s'), 'ERR_TRANSACTION_FINISHED', [state]);
      await refused(() => tx.rollbackToSavepoint('s'), 'ERR_TRANSACTION_FINISHED', [state]);
      expect(tx.state).toBe(state);
      expect(dump(db)).toEqual(before);
      expect(db.table('people').get(['mark', end === 'commit' ? 1 : 2]) !== undefined).toBe(end === 'commit');
    }
    // A transaction kept past db.transaction(fn).
    let kept: import('../../src/api/transaction.js').Transaction | undefined;
    await db.transaction((tx) => {
      kept = tx;
    });
    await refused(() => kept!.table('people'), 'ERR_TRANSACTION_FINISHED', ['committed']);
  });

  it('a write in a read-only transaction; the transaction still reads and commits', async () => {
    const tx = db.begin({ readOnly: true });
    const people = tx.table('people');
    const before = dump(db);
    const writes: Array<() => unknown> = [
      () => people.insert({ org: 'new', id: 1, name: 'n' }),
      () => people.insertMany([{ org: 'new', id: 1, name: 'n' }]),
      () => people.update(['acme', 1], { name: 'x' }),
      () => people.delete(['acme', 1]),
      () => people.getForUpdate(['acme', 1]),
      () => people.scanForUpdate(),
    ];
    for (const write of writes) await refused(write, 'ERR_READ_ONLY', ['read-only']);
    expect(tx.state).toBe('active');
    expect(people.get(['acme', 1])?.['name']).toBe('ann');
    expect(people.count()).toBe(3);
    await tx.commit();
    expect(dump(db)).toEqual(before);
  });

  it('an unknown isolation level or durability', async () => {
    await refused(() => db.begin({ isolation: 'snapshot' as never }), 'ERR_INVALID_ARGUMENT', [
      'isolation',
      'snapshot',
      'repeatable-read',
    ]);
    await refused(() => db.transaction(() => 1, { isolation: 'chaos' as never }), 'ERR_INVALID_ARGUMENT', [
      'isolation',
      'chaos',
    ]);
    await refused(() => db.begin({ durability: 'sometimes' as never }), 'ERR_INVALID_ARGUMENT', [
      'durability',
      'sometimes',
      'full',
    ]);
    await refused(() => Database.open({ vfs: new MemoryVfs(), isolation: 'dirty' as never }), 'ERR_INVALID_ARGUMENT', [
      'isolation',
      'dirty',
    ]);
    await refused(() => Database.open({ vfs: new MemoryVfs(), durability: 'maybe' as never }), 'ERR_INVALID_ARGUMENT', [
      'durability',
      'maybe',
    ]);
    expect(db.status().activeTransactions).toBe(0);
  });

  it('savepoint misuse leaves the transaction usable', async () => {
    const tx = db.begin();
    const people = tx.table('people');
    await people.insert(MARK);
    tx.savepoint('a');
    await people.delete(['acme', 1]);
    await refused(() => tx.rollbackToSavepoint('nope'), 'ERR_INVALID_ARGUMENT', ['"nope"']);
    await refused(() => tx.savepoint(''), 'ERR_INVALID_ARGUMENT', ['savepoint']);
    await refused(() => tx.releaseSavepoint('nope'), 'ERR_INVALID_ARGUMENT', ['"nope"']);
    expect(tx.state).toBe('active');
    await tx.rollbackToSavepoint('a');
    expect(people.get(['acme', 1])?.['name']).toBe('ann');
    await tx.commit();
    expect(db.table('people').count()).toBe(4);
  });

  it('use after close: every call is ERR_CLOSED, close is idempotent, the data is intact', async () => {
    const before = dump(db);
    const people = db.table('people');
    const pending = db.begin();
    await pending.table('people').insert(MARK); // rolled back by close
    const rows = people.scan();
    await db.close();
    const calls: Array<() => unknown> = [
      () => db.table('people'),
      () => db.tables,
      () => db.begin(),
      () => db.transaction(() => 1),
      () => db.check(),
      () => db.purge(),
      () => db.status(),
      () => db.runBackgroundWork(),
      () => db.createTable({ name: 'x', columns: [{ name: 'id', type: 'int32' }], primaryKey: ['id'], indexes: [] }),
      () => db.dropTable('people'),
      () => db.createIndex('people', { name: 'x', columns: ['age'] }),
      () => db.dropIndex('people', 'by_email'),
      () => people.get(['acme', 1]),
      () => people.scan(),
      () => rows,
      () => people.count(),
      () => people.insert({ org: 'late', id: 1, name: 'n' }),
      () => people.update(['acme', 1], { name: 'late' }),
      () => people.delete(['acme', 1]),
      () => pending.commit(),
      () => pending.rollback(),
      () => pending.table('people'),
    ];
    for (const call of calls) await refused(call, 'ERR_CLOSED', ['closed']);
    await db.close();
    expect(db.isClosed).toBe(true);
    db = await open();
    expect(dump(db)).toEqual(before);
  });
});

describe('API inconsistencies found by the model (regressions)', () => {
  it('insertMany refused in a transaction keeps the rows before the duplicate (no statement atomicity)', async () => {
    // SQL (and InnoDB) roll back the failed statement of a multi-row INSERT, leaving the
    // transaction as it was before the statement. table.ts insertMany loops engine.insert in the
    // caller's transaction, so rows before the refused one stay in it.
    const tx = db.begin();
    await refused(
      () =>
        tx.table('people').insertMany([
          { org: 'new', id: 1, name: 'n1' },
          { org: 'acme', id: 1, name: 'dup' },
        ]),
      'ERR_DUPLICATE_KEY',
      ['"PRIMARY"'],
    );
    expect(tx.table('people').get(['new', 1])).toBeUndefined();
    await tx.rollback();
  });

  it('a locking scan outside a transaction throws a plain TypeError, not a MinnoError with a code', async () => {
    // table.ts lockingScan throws `new TypeError(...)`: the one refusal of bad use without a stable
    // code (errors.ts: every error minno throws on purpose is a MinnoError). ERR_INVALID_ARGUMENT fits.
    await refused(() => db.table('people').scanForUpdate(), 'ERR_INVALID_ARGUMENT', ['transaction']);
  });

  it('releaseSavepoint on a finished transaction succeeds silently instead of ERR_TRANSACTION_FINISHED', async () => {
    // transaction.ts releaseSavepoint does not call checkActive (savepoint and rollbackToSavepoint
    // do), and commit does not clear the savepoint list, so the call "works" after the end.
    const tx = db.begin();
    tx.savepoint('a');
    await tx.commit();
    await refused(() => tx.releaseSavepoint('a'), 'ERR_TRANSACTION_FINISHED', ['committed']);
  });
});
