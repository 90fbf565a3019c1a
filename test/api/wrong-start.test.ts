/**
 * Every wrong place to open a database is refused with a typed error, and the place is left
 * exactly as it was (`snapshotDir`: names, sizes, content hashes). The rules are
 * `src/core/database-dir.ts` (what a directory may hold), the headers' own checks (`log-file.ts`,
 * `tablespace.ts`) and recovery's RC2 (`recovery.ts`).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { Database, type DatabaseOptions } from '../../src/api/database.js';
import type { ErrorCode, MinnoError } from '../../src/errors.js';
import { checksum32, loadChecksums } from '../../src/page/checksum.js';
import { readU32, sealPage, writeU16, writeU32 } from '../../src/page/page.js';
import { SPACE_FORMAT_OFFSET } from '../../src/page/tablespace.js';
import { snapshotDir, useTempDir } from './dir-snapshot.js';

const PAGE_SIZE = 4096;
const SCHEMA = {
  name: 'notes',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'text', type: 'string' as const },
  ],
  primaryKey: ['id'],
};

const tmpDir = useTempDir('wrong-start');
/** A closed database with 50 rows, copied by each case that needs one. */
let good: string;
let caseNo = 0;

function open(where: string, options: DatabaseOptions = {}): Promise<Database> {
  return Database.open({ path: where, background: 'manual', ...options });
}

function freshDir(): string {
  const dir = path.join(tmpDir(), `case-${++caseNo}`);
  fs.mkdirSync(dir);
  return dir;
}

function copyOfGood(): string {
  const dir = path.join(tmpDir(), `case-${++caseNo}`);
  fs.cpSync(good, dir, { recursive: true });
  return dir;
}

/** Opens, expects the typed refusal, and checks that `watched` did not change. */
async function expectRefused(
  where: string,
  code: ErrorCode,
  options: DatabaseOptions = {},
  watched = where,
): Promise<MinnoError> {
  const before = snapshotDir(watched);
  let error: MinnoError | undefined;
  try {
    const db = await open(where, options);
    await db.close();
  } catch (caught) {
    error = caught as MinnoError;
  }
  expect(error?.code, `${where}: ${error?.message ?? 'opened'}`).toBe(code);
  expect(snapshotDir(watched), 'nothing on disk changed').toEqual(before);
  return error!;
}

/** Rewrites bytes of a file in place. */
function patch(file: string, edit: (bytes: Uint8Array) => void): void {
  const bytes = new Uint8Array(fs.readFileSync(file));
  edit(bytes);
  fs.writeFileSync(file, bytes);
}

beforeAll(async () => {
  await loadChecksums();
  good = path.join(tmpDir(), 'good');
  const db = await open(good, { pageSize: PAGE_SIZE, redoLogBytes: 1 << 20 });
  await db.createTable(SCHEMA);
  await db.table('notes').insertMany(Array.from({ length: 50 }, (_, id) => ({ id, text: `note ${id}` })));
  await db.close();
});

describe('a place that is not a directory', () => {
  it('a regular file where the directory should be: ERR_NOT_A_DIRECTORY', async () => {
    const file = path.join(tmpDir(), 'a-file');
    fs.writeFileSync(file, 'not a database');
    const error = await expectRefused(file, 'ERR_NOT_A_DIRECTORY', {}, tmpDir());
    expect(error.message).toContain(file);
    expect(fs.readFileSync(file, 'utf8')).toBe('not a database');
  });

  it('a path under a regular file: ERR_NOT_A_DIRECTORY, nothing created', async () => {
    const file = path.join(tmpDir(), 'another-file');
    fs.writeFileSync(file, 'x');
    await expectRefused(path.join(file, 'db'), 'ERR_NOT_A_DIRECTORY', {}, tmpDir());
  });
});

describe('where no database is', () => {
  it('creates one in a missing directory (and its parents) by default', async () => {
    const where = path.join(tmpDir(), 'new-parent', 'new-db');
    const db = await open(where);
    await db.createTable(SCHEMA);
    await db.close();
    expect(fs.readdirSync(where)).toContain('redo.log');
  });

  it('createIfMissing: false on a missing directory: ERR_NOT_FOUND, nothing created', async () => {
    await expectRefused(path.join(tmpDir(), 'missing'), 'ERR_NOT_FOUND', { createIfMissing: false }, tmpDir());
    expect(fs.existsSync(path.join(tmpDir(), 'missing'))).toBe(false);
  });

  it('createIfMissing: false on an empty directory: ERR_NOT_FOUND, still empty', async () => {
    const dir = freshDir();
    const error = await expectRefused(dir, 'ERR_NOT_FOUND', { createIfMissing: false });
    expect(error.message).toContain('createIfMissing');
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('readOnly never creates: ERR_NOT_FOUND on a missing or an empty directory', async () => {
    await expectRefused(path.join(tmpDir(), 'missing-ro'), 'ERR_NOT_FOUND', { readOnly: true }, tmpDir());
    await expectRefused(freshDir(), 'ERR_NOT_FOUND', { readOnly: true });
  });

  it('errorIfExists on an existing database: ERR_ALREADY_EXISTS; on an empty directory it creates', async () => {
    await expectRefused(copyOfGood(), 'ERR_ALREADY_EXISTS', { errorIfExists: true });
    const db = await open(freshDir(), { errorIfExists: true });
    await db.close();
  });

  it('options of the wrong type or out of range: ERR_INVALID_ARGUMENT, before any directory is made', async () => {
    await expectRefused(freshDir(), 'ERR_INVALID_ARGUMENT', { createIfMissing: 'yes' as unknown as boolean });
    await expectRefused(freshDir(), 'ERR_INVALID_ARGUMENT', { readOnly: 1 as unknown as boolean });
    const missing = path.join(tmpDir(), 'never-made');
    await expectRefused(missing, 'ERR_INVALID_ARGUMENT', { pageSize: 5000 }, tmpDir());
    await expectRefused(missing, 'ERR_INVALID_ARGUMENT', { lockWaitTimeoutMs: -1 }, tmpDir());
    expect(fs.existsSync(missing), 'a refused open creates no directory').toBe(false);
  });
});

describe("a directory of someone else's files", () => {
  it('a non-empty foreign directory is refused with ERR_INCOMPATIBLE_FORMAT, whatever createIfMissing says', async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'hello.txt'), 'hi');
    for (const options of [{}, { createIfMissing: true }, { createIfMissing: false }, { readOnly: true }]) {
      const error = await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT', options);
      expect(error.message).toContain('hello.txt');
    }
  });

  it('a LevelDB store is refused with ERR_INCOMPATIBLE_FORMAT', async () => {
    const dir = freshDir();
    for (const name of ['CURRENT', 'LOCK', 'LOG', 'MANIFEST-000001', '000003.log'])
      fs.writeFileSync(path.join(dir, name), name === 'CURRENT' ? 'MANIFEST-000001\n' : '');
    await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
  });

  it('a subdirectory counts as foreign content', async () => {
    const dir = freshDir();
    fs.mkdirSync(path.join(dir, '.git'));
    await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
  });

  it('a foreign system.ibd alone is ERR_INCOMPATIBLE_FORMAT, not ERR_CORRUPTION', async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'system.ibd'), Buffer.alloc(3 * 16384, 7));
    const error = await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
    expect(error.message).toContain('system.ibd');
  });

  it('a foreign system.ibd inside a minno database is ERR_INCOMPATIBLE_FORMAT', async () => {
    const dir = copyOfGood();
    fs.writeFileSync(path.join(dir, 'system.ibd'), Buffer.alloc(8 * PAGE_SIZE, 7));
    await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
  });

  it('a foreign redo.log is ERR_INCOMPATIBLE_FORMAT', async () => {
    const dir = copyOfGood();
    fs.writeFileSync(path.join(dir, 'redo.log'), Buffer.alloc(8192, 3));
    await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
  });

  it("an empty directory, or one holding only an interrupted creation's leftovers, gets a database", async () => {
    const dir = freshDir();
    fs.writeFileSync(path.join(dir, 'redo.log.tmp'), Buffer.alloc(100));
    fs.writeFileSync(path.join(dir, 'system.ibd'), '');
    const db = await open(dir, { pageSize: PAGE_SIZE, redoLogBytes: 1 << 20 });
    await db.createTable(SCHEMA);
    db.check();
    await db.close();
  });
});

describe('damaged or truncated engine files', () => {
  it('a minno tablespace without its redo.log is ERR_CORRUPTION (the log is missing), never re-created over', async () => {
    const dir = copyOfGood();
    fs.rmSync(path.join(dir, 'redo.log'));
    const error = await expectRefused(dir, 'ERR_CORRUPTION');
    expect(error.message).toContain('redo log is missing');
  });

  for (const size of [0, 10, 500]) {
    it(`redo.log truncated to ${size} bytes: ERR_CORRUPTION`, async () => {
      const dir = copyOfGood();
      fs.truncateSync(path.join(dir, 'redo.log'), size);
      await expectRefused(dir, 'ERR_CORRUPTION');
    });
  }

  it('system.ibd truncated to 0 bytes: ERR_CORRUPTION, not a new empty database over the old tables', async () => {
    const dir = copyOfGood();
    fs.truncateSync(path.join(dir, 'system.ibd'), 0);
    const error = await expectRefused(dir, 'ERR_CORRUPTION');
    expect(error.message).toContain('system tablespace is empty');
  });

  it('system.ibd missing: ERR_CORRUPTION', async () => {
    const dir = copyOfGood();
    fs.rmSync(path.join(dir, 'system.ibd'));
    await expectRefused(dir, 'ERR_CORRUPTION');
  });

  it('a tablespace cut inside a page is repaired from the doublewrite buffer, or reported on read, never returned', async () => {
    const dir = copyOfGood();
    fs.truncateSync(path.join(dir, 'space-000001.ibd'), PAGE_SIZE + 100);
    const db = await open(dir);
    let rows = -1;
    try {
      rows = db.table('notes').count();
    } catch (error) {
      expect((error as MinnoError).code).toBe('ERR_CORRUPTION');
    }
    if (rows >= 0) expect(rows).toBe(50);
    await db.close();
  });
});

describe('another format or page size', () => {
  it('a newer redo log format: ERR_INCOMPATIBLE_FORMAT', async () => {
    const dir = copyOfGood();
    patch(path.join(dir, 'redo.log'), (header) => {
      writeU32(header, 4, readU32(header, 4) + 1);
      writeU32(header, 20, checksum32(header.subarray(0, 20)));
    });
    const error = await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
    expect(error.message).toContain('newer');
  });

  it('a newer tablespace format: ERR_INCOMPATIBLE_FORMAT', async () => {
    const dir = copyOfGood();
    patch(path.join(dir, 'system.ibd'), (bytes) => {
      const header = bytes.subarray(0, PAGE_SIZE);
      writeU16(header, SPACE_FORMAT_OFFSET, 2);
      sealPage(header);
    });
    const error = await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT');
    expect(error.message).toContain('newer');
  });

  it('a page size other than the creation one: ERR_INCOMPATIBLE_FORMAT naming the right one', async () => {
    const dir = copyOfGood();
    const error = await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT', { pageSize: 8192 });
    expect(error.message).toContain(`pageSize: ${PAGE_SIZE}`);
    await expectRefused(dir, 'ERR_INCOMPATIBLE_FORMAT', { pageSize: 8192, readOnly: true });
  });

  it('after all that, the original still opens with every row', async () => {
    const db = await open(good, { readOnly: true });
    expect(db.table('notes').count()).toBe(50);
    db.check();
    await db.close();
  });
});
