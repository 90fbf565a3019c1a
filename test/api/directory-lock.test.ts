/**
 * The directory lock within one process (contract V8): a second open of a database, by any path
 * or VFS instance that reaches it, is refused with ERR_LOCKED at once and changes nothing; close
 * and abandon release it; read-only opens share it. Across processes: `two-process.test.ts`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Database, DatabaseOptions } from '../../src/api/database.js';
import type { LockedError, MinnoError } from '../../src/errors.js';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import { HEARTBEAT_MS } from '../../src/vfs/node-directory-lock.js';
import { LOCK_DIR_NAME, type Vfs } from '../../src/vfs/vfs.js';
import { openTestDatabaseWith } from '../support/open.js';
import { snapshotDir, useTempDir } from './dir-snapshot.js';

const SCHEMA = {
  name: 'kv',
  columns: [
    { name: 'k', type: 'int32' as const },
    { name: 'v', type: 'string' as const },
  ],
  primaryKey: ['k'],
};

const tmpDir = useTempDir('lock');
let caseNo = 0;

const open = (options: DatabaseOptions): Promise<Database> => openTestDatabaseWith(options);

async function refusal(options: DatabaseOptions): Promise<LockedError> {
  try {
    const db = await open(options);
    await db.close();
  } catch (error) {
    return error as LockedError;
  }
  throw new Error('opened, but the directory was locked');
}

/** A database directory with a table and a row, closed. */
async function newDatabase(): Promise<string> {
  const dir = path.join(tmpDir(), `db-${++caseNo}`);
  const db = await open({ path: dir });
  await db.createTable(SCHEMA);
  await db.table('kv').insert({ k: 1, v: 'one' });
  await db.close();
  return dir;
}

describe('one writer per directory, however it is reached', () => {
  it('refuses a second open by the same path, a relative path, a symlink, and a NodeVfs of each', async () => {
    const dir = await newDatabase();
    const link = path.join(tmpDir(), `link-${caseNo}`);
    fs.symlinkSync(dir, link);
    const holder = await open({ path: dir });
    await holder.table('kv').insert({ k: 2, v: 'two' });
    const before = snapshotDir(dir);
    const ways: DatabaseOptions[] = [
      { path: dir },
      { path: path.relative(process.cwd(), dir) },
      { path: `${dir}/./` },
      { path: link },
      { vfs: new NodeVfs(dir) },
      { vfs: new NodeVfs(link) },
      { path: dir, readOnly: true },
    ];
    for (const way of ways) {
      const error = await refusal(way);
      expect(error.code, JSON.stringify(way.path ?? (way.vfs as NodeVfs).rootDir)).toBe('ERR_LOCKED');
      expect(error.pid).toBe(process.pid);
      expect(error.holderReadOnly).toBe(false);
      expect(error.message).toContain(`this process (pid ${process.pid})`);
      expect(snapshotDir(dir), 'the refused open changed nothing').toEqual(before);
    }
    expect(holder.table('kv').get(2)).toEqual({ k: 2, v: 'two' });
    holder.check();
    await holder.close();
    expect(fs.existsSync(path.join(dir, LOCK_DIR_NAME)), 'the last holder removes minno.lock').toBe(false);
    const again = await open({ path: link });
    expect(again.table('kv').count()).toBe(2);
    again.check();
    await again.close();
  });

  it('abandon releases the lock, as a dying process would', async () => {
    const dir = await newDatabase();
    const first = await open({ path: dir });
    first.abandon();
    const second = await open({ path: dir });
    await second.close();
    const third = await open({ vfs: new NodeVfs(dir) });
    expect(third.table('kv').get(1)?.v).toBe('one');
    await third.close();
  });

  it('close releases the lock after a failed log sync too', async () => {
    const vfs = new FaultVfs({ seed: 5 });
    const db = await open({ vfs });
    await db.createTable(SCHEMA);
    vfs.failNextSync();
    await expect(db.table('kv').insert({ k: 9, v: 'lost' })).rejects.toMatchObject({ code: 'ERR_IO' });
    await db.close();
    const reopened = await open({ vfs });
    expect(reopened.tables).toEqual(['kv']);
    reopened.check();
    await reopened.close();
  });

  it("a refused open leaves the holder's entry and the holder working", async () => {
    const dir = await newDatabase();
    const holder = await open({ path: dir });
    const entries = fs.readdirSync(path.join(dir, LOCK_DIR_NAME));
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatch(/^writer-/);
    await refusal({ path: dir });
    expect(fs.readdirSync(path.join(dir, LOCK_DIR_NAME))).toEqual(entries);
    await holder.table('kv').insert({ k: 3, v: 'three' });
    await holder.close();
  });

  it('replaces the empty minno.lock file older versions left', async () => {
    const dir = await newDatabase();
    fs.writeFileSync(path.join(dir, LOCK_DIR_NAME), '');
    const db = await open({ path: dir });
    expect(fs.statSync(path.join(dir, LOCK_DIR_NAME)).isDirectory()).toBe(true);
    await db.close();
  });

  it("a dead holder's entry is removed by the next open: a pid no process has, or a pid reused by another process", async () => {
    const dir = await newDatabase();
    const lockDir = path.join(dir, LOCK_DIR_NAME);
    const holder = await open({ path: dir });
    const mine = fs.readdirSync(lockDir)[0]!;
    const owner = JSON.parse(fs.readFileSync(path.join(lockDir, mine), 'utf8')) as { pid: number; start?: string };
    await holder.close();
    const exited = spawnSync(process.execPath, ['-e', '0']).pid!; // a process that existed and is gone
    const dead = [{ ...owner, pid: exited }];
    // Our own pid with another start time: a former process that had our pid (NL3).
    if (owner.start !== undefined) dead.push({ ...owner, start: `${owner.start}9` });
    fs.mkdirSync(lockDir);
    dead.forEach((entry, i) => fs.writeFileSync(path.join(lockDir, `writer-dead${i}`), JSON.stringify(entry)));
    const db = await open({ path: dir });
    expect(fs.readdirSync(lockDir).filter((name) => name.startsWith('writer-dead'))).toEqual([]);
    await db.close();
  });

  it("a live holder's entry written by another process (its pid and start) refuses, naming that pid", async () => {
    if (process.platform !== 'linux') return; // elsewhere a start time is not known, and the pid alone decides
    const dir = await newDatabase();
    const lockDir = path.join(dir, LOCK_DIR_NAME);
    const holder = await open({ path: dir });
    const owner = JSON.parse(fs.readFileSync(path.join(lockDir, fs.readdirSync(lockDir)[0]!), 'utf8')) as {
      pid: number;
      start?: string;
    };
    await holder.close();
    const parent = process.ppid; // alive for as long as this test runs
    const start = fs.readFileSync(`/proc/${parent}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
    fs.mkdirSync(lockDir);
    fs.writeFileSync(
      path.join(lockDir, 'reader-live'),
      JSON.stringify({ ...owner, pid: parent, start, mode: 'shared' }),
    );
    const error = await refusal({ path: dir });
    expect(error.code).toBe('ERR_LOCKED');
    expect(error.pid).toBe(parent);
    expect(error.holderReadOnly).toBe(true);
    fs.rmSync(path.join(lockDir, 'reader-live'));
    const db = await open({ path: dir });
    await db.close();
  });
});

describe('a lock taken over from another machine (node-directory-lock.ts NL4)', () => {
  it('the holder notices at its next heartbeat and refuses every further write', async () => {
    const dir = await newDatabase();
    const db = await open({ path: dir });
    const lockDir = path.join(dir, LOCK_DIR_NAME);
    // What an opener on another machine does to an entry whose heartbeat it found stale.
    for (const name of fs.readdirSync(lockDir)) fs.rmSync(path.join(lockDir, name));
    await new Promise((resolve) => setTimeout(resolve, HEARTBEAT_MS + 500));
    await expect(db.table('kv').insert({ k: 5, v: 'five' })).rejects.toMatchObject({ code: 'ERR_IO' });
    await db.close();
    const reopened = await open({ path: dir });
    expect(reopened.table('kv').get(5)).toBeUndefined();
    reopened.check();
    await reopened.close();
  });
});

describe('read-only opens share the directory', () => {
  it('several read-only opens at once; a writer then gets ERR_LOCKED naming a reader; after they close it opens', async () => {
    const dir = await newDatabase();
    const readers = [
      await open({ path: dir, readOnly: true }),
      await open({ path: dir, readOnly: true }),
      await open({ vfs: new NodeVfs(dir), readOnly: true }),
    ];
    for (const reader of readers) expect(reader.table('kv').get(1)?.v).toBe('one');
    const error = await refusal({ path: dir });
    expect(error.code).toBe('ERR_LOCKED');
    expect(error.holderReadOnly).toBe(true);
    expect(error.message).toContain('read-only');
    for (const reader of readers) await reader.close();
    const writer = await open({ path: dir });
    await writer.close();
  });
});

describe('in-memory VFSs lock per instance', () => {
  const kinds: Array<[string, () => Vfs]> = [
    ['MemoryVfs', () => new MemoryVfs()],
    ['FaultVfs', () => new FaultVfs({ seed: 1 })],
  ];
  for (const [name, make] of kinds) {
    it(`${name}: a second open of one instance is ERR_LOCKED; another instance is another disk`, async () => {
      const vfs = make();
      const db = await open({ vfs });
      await db.createTable(SCHEMA);
      const error = await refusal({ vfs });
      expect(error.code).toBe('ERR_LOCKED');
      expect(error.pid).toBe(process.pid);
      const other = await open({ vfs: make() });
      await other.close();
      await db.close();
      const reopened = await open({ vfs });
      expect(reopened.tables).toEqual(['kv']);
      await reopened.close();
    });
  }

  it('FaultVfs: the crash image reopens unlocked while the crashed instance never released', async () => {
    const vfs = new FaultVfs({ seed: 2 });
    const db = await open({ vfs });
    await db.createTable(SCHEMA);
    await db.table('kv').insert({ k: 1, v: 'one' });
    const image = vfs.crashNow('power-cut');
    const recovered = await open({ vfs: FaultVfs.fromImage(image, { seed: 3 }) });
    expect(recovered.table('kv').get(1)?.v).toBe('one');
    await recovered.close();
    db.abandon();
  });

  it('the storage core takes the lock too', async () => {
    const { Storage } = await import('../../src/core/storage.js');
    const vfs = new MemoryVfs();
    const storage = await Storage.open({ vfs, background: 'manual' });
    await expect(Storage.open({ vfs, background: 'manual' })).rejects.toMatchObject({
      code: 'ERR_LOCKED',
    } satisfies Partial<MinnoError>);
    await expect(open({ vfs })).rejects.toMatchObject({ code: 'ERR_LOCKED' });
    await storage.close();
    const again = await Storage.open({ vfs, background: 'manual' });
    await again.close();
  });
});
