/**
 * `readOnly: true` (core/read-only-open.ts, vfs/read-only-vfs.ts): reads work, writes of every
 * kind are ERR_READ_ONLY, nothing is written (not a byte, not an mtime), every file is opened
 * read-only, and a database that needs crash recovery is refused with ERR_RECOVERY_NEEDED and
 * left as it was. Several read-only processes at once: `two-process.test.ts`.
 */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Database, DatabaseOptions } from '../../src/api/database.js';
import type { ErrorCode, MinnoError } from '../../src/errors.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import type { DirectoryLockMode, OpenOptions, Vfs } from '../../src/vfs/vfs.js';
import { openTestDatabaseWith } from '../support/open.js';
import { snapshotDir, useTempDir } from './dir-snapshot.js';

const SCHEMA = {
  name: 'people',
  columns: [
    { name: 'id', type: 'int32' as const },
    { name: 'name', type: 'string' as const },
  ],
  primaryKey: ['id'],
  indexes: [{ name: 'by_name', columns: ['name'] }],
};
const ROWS = Array.from({ length: 300 }, (_, id) => ({ id, name: `person ${String(id).padStart(3, '0')}` }));

const tmpDir = useTempDir('read-only');
let caseNo = 0;

const open = (options: DatabaseOptions): Promise<Database> => openTestDatabaseWith(options);

async function populated(): Promise<string> {
  const dir = path.join(tmpDir(), `db-${++caseNo}`);
  const db = await open({ path: dir });
  await db.createTable(SCHEMA);
  await db.table('people').insertMany(ROWS);
  await db.close();
  return dir;
}

async function expectCode(run: () => unknown, code: ErrorCode, what: string): Promise<void> {
  let error: MinnoError | undefined;
  try {
    await run();
  } catch (caught) {
    error = caught as MinnoError;
  }
  expect(error?.code, `${what}: ${error?.message ?? 'no error'}`).toBe(code);
}

/** A NodeVfs that records how every file is opened and refuses nothing: the test checks what the engine asked for. */
class SpyVfs implements Vfs {
  readonly opens: Array<{ path: string; options: OpenOptions }> = [];
  readonly mutations: string[] = [];
  constructor(private readonly inner: NodeVfs) {}
  get location(): string {
    return this.inner.location;
  }
  open(p: string, options: OpenOptions = {}) {
    this.opens.push({ path: p, options });
    return this.inner.open(p, options);
  }
  stat(p: string) {
    return this.inner.stat(p);
  }
  list(dir: string) {
    return this.inner.list(dir);
  }
  mkdir(dir: string, options?: { readonly recursive?: boolean }) {
    this.mutations.push(`mkdir ${dir}`);
    this.inner.mkdir(dir, options);
  }
  rename(from: string, to: string) {
    this.mutations.push(`rename ${from}`);
    this.inner.rename(from, to);
  }
  remove(p: string) {
    this.mutations.push(`remove ${p}`);
    this.inner.remove(p);
  }
  rmdir(dir: string) {
    this.mutations.push(`rmdir ${dir}`);
    this.inner.rmdir(dir);
  }
  syncDir(dir: string) {
    this.mutations.push(`syncDir ${dir}`);
    this.inner.syncDir(dir);
  }
  syncDirAsync(dir: string) {
    this.mutations.push(`syncDir ${dir}`);
    return this.inner.syncDirAsync(dir);
  }
  lockDirectory(mode: DirectoryLockMode) {
    return this.inner.lockDirectory(mode);
  }
  engineEvent() {}
}

describe('a read-only open', () => {
  it('reads everything, writes nothing (no byte, no mtime), and opens every file read-only', async () => {
    const dir = await populated();
    const before = snapshotDir(dir, { mtimes: true });
    const spy = new SpyVfs(new NodeVfs(dir));
    const db = await open({ vfs: spy, readOnly: true, background: 'auto' });
    expect(db.readOnly).toBe(true);
    const people = db.table('people');
    expect(people.count()).toBe(ROWS.length);
    expect(people.get(7)).toEqual(ROWS[7]);
    expect([...people.scan({ gte: 290 })].map((r) => r.id)).toEqual(ROWS.slice(290).map((r) => r.id));
    expect(people.getByIndex('by_name', 'person 042')?.id).toBe(42);
    expect([...people.scanIndex('by_name', { gte: 'person 298' })]).toHaveLength(2);
    for (const isolation of ['repeatable-read', 'read-committed', 'serializable'] as const) {
      await db.transaction((tx) => expect(tx.table('people').get(1)).toEqual(ROWS[1]), { isolation });
    }
    expect(db.check().rows).toBe(ROWS.length);
    expect(db.status().tables).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 250)); // 'auto' background would have run by now
    await db.close();
    expect(spy.mutations).toEqual([]);
    expect(
      spy.opens.filter((o) => o.options.readOnly !== true),
      'every file opened read-only',
    ).toEqual([]);
    expect(snapshotDir(dir, { mtimes: true }), 'not a byte or an mtime changed').toEqual(before);
  });

  it('refuses every kind of write with ERR_READ_ONLY, and keeps reading after each', async () => {
    const dir = await populated();
    const before = snapshotDir(dir, { skipLock: true });
    const db = await open({ path: dir, readOnly: true });
    const people = db.table('people');
    const tx = db.begin({ readOnly: false });
    const attempts: Array<[string, () => unknown]> = [
      ['insert', () => people.insert({ id: 1000, name: 'x' })],
      ['insertMany', () => people.insertMany([{ id: 1001, name: 'y' }])],
      ['update', () => people.update(1, { name: 'z' })],
      ['delete', () => people.delete(2)],
      ['getForUpdate', () => people.getForUpdate(3)],
      ['getForShare', () => people.getForShare(3)],
      ['insert in a transaction', () => tx.table('people').insert({ id: 1002, name: 'w' })],
      ['getForShare in a transaction', () => tx.table('people').getForShare(4)],
      ['scanForShare', () => tx.table('people').scanForShare({}).next()],
      ['scanForUpdate', () => tx.table('people').scanForUpdate({}).next()],
      ['createTable', () => db.createTable({ ...SCHEMA, name: 'other' })],
      ['dropTable', () => db.dropTable('people')],
      ['createIndex', () => db.createIndex('people', { name: 'by_name2', columns: ['name'] })],
      ['dropIndex', () => db.dropIndex('people', 'by_name')],
      ['purge', () => db.purge()],
      ['runBackgroundWork', () => db.runBackgroundWork()],
    ];
    for (const [what, run] of attempts) {
      await expectCode(run, 'ERR_READ_ONLY', what);
      expect(people.get(2), `still readable after ${what}`).toEqual(ROWS[2]);
    }
    await tx.commit();
    expect(db.check().rows).toBe(ROWS.length);
    await db.close();
    expect(snapshotDir(dir, { skipLock: true })).toEqual(before);
  });
});

describe('a database that needs crash recovery', () => {
  it('is refused with ERR_RECOVERY_NEEDED and left as it was; one read-write open recovers it, then read-only works', async () => {
    const dir = await populated();
    const writer = await open({ path: dir });
    await writer.table('people').insert({ id: 5000, name: 'acknowledged' });
    writer.abandon(); // the process died: redo past the checkpoint, nothing flushed
    const before = snapshotDir(dir);
    const refusal = open({ path: dir, readOnly: true });
    await expect(refusal).rejects.toMatchObject({ code: 'ERR_RECOVERY_NEEDED' });
    await expect(refusal).rejects.toThrow(/open it once without readOnly/);
    expect(snapshotDir(dir)).toEqual(before);
    const recovering = await open({ path: dir });
    expect(recovering.table('people').get(5000)?.name).toBe('acknowledged');
    await recovering.close();
    const reader = await open({ path: dir, readOnly: true });
    expect(reader.table('people').count()).toBe(ROWS.length + 1);
    reader.check();
    await reader.close();
  });

  it('a transaction left active by a crash after a clean checkpoint: ERR_RECOVERY_NEEDED (it must be rolled back)', async () => {
    const vfs = new FaultVfs({ seed: 21 });
    const db = await open({ vfs });
    await db.createTable(SCHEMA);
    await db.table('people').insertMany(ROWS.slice(0, 20));
    const tx = db.begin();
    await tx.table('people').update(1, { name: 'uncommitted' });
    db.storage.pool.flushAll();
    db.storage.checkpoint(); // the log is clean: nothing past the checkpoint, but the transaction is open
    const image = vfs.crashNow('process-crash');
    db.abandon();
    await expect(open({ vfs: FaultVfs.fromImage(image, { seed: 22 }), readOnly: true })).rejects.toMatchObject({
      code: 'ERR_RECOVERY_NEEDED',
    });
    const recovered = await open({ vfs: FaultVfs.fromImage(image, { seed: 23 }) });
    expect(recovered.table('people').get(1)).toEqual(ROWS[1]);
    recovered.check();
    await recovered.close();
  });

  it('cleanup the engine does at open (an orphan tablespace to drop) is recovery too: ERR_RECOVERY_NEEDED, files unchanged', async () => {
    const dir = await populated();
    const writer = await open({ path: dir });
    writer.storage.createSpace(900); // what a crash inside createTable leaves: a space no table names
    await writer.close();
    const before = snapshotDir(dir);
    await expect(open({ path: dir, readOnly: true })).rejects.toMatchObject({ code: 'ERR_RECOVERY_NEEDED' });
    expect(snapshotDir(dir)).toEqual(before);
    const cleaning = await open({ path: dir });
    await cleaning.close();
    const reader = await open({ path: dir, readOnly: true });
    expect(reader.table('people').count()).toBe(ROWS.length);
    await reader.close();
  });
});
