/**
 * Two processes, one database on real files (issue 11): the directory lock (node-directory-lock.ts)
 * keeps a second writer out in both orders and through a symlink, a `kill -9`'d holder does not
 * block the next open, several read-only processes share the database, and no acknowledged
 * commit is lost. `check()` passes after each case. The other process is `two-process-child.ts`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Database, DatabaseOptions } from '../../src/api/database.js';
import type { LockedError } from '../../src/errors.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import { LOCK_DIR_NAME } from '../../src/vfs/vfs.js';
import type { ChildPlan } from './two-process-child.js';
import { openTestDatabaseWith } from '../support/open.js';
import { snapshotDir, useTempDir } from './dir-snapshot.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHILD = fileURLToPath(new URL('./two-process-child.ts', import.meta.url));

interface ChildEvent {
  readonly opened?: boolean;
  readonly pid?: number;
  readonly error?: string;
  readonly holderReadOnly?: boolean;
  readonly committed?: number;
  readonly count?: number;
  readonly ready?: boolean;
  readonly closed?: boolean;
}

/** The other process: its JSON events, and a way to wait for one. */
class Child {
  readonly events: ChildEvent[] = [];
  readonly process: ChildProcess;
  private stderr = '';
  private readonly exit: Promise<number | null>;
  private wake: () => void = () => undefined;

  constructor(plan: ChildPlan) {
    this.process = spawn(process.execPath, ['--import', 'tsx', CHILD, JSON.stringify(plan)], {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    createInterface({ input: this.process.stdout! }).on('line', (line) => {
      this.events.push(JSON.parse(line) as ChildEvent);
      this.wake();
    });
    this.process.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.exit = new Promise((resolve) =>
      this.process.on('exit', (code) => {
        resolve(code);
        this.wake();
      }),
    );
  }

  /** Waits for the first event that `wanted` accepts. */
  async until(wanted: (event: ChildEvent) => boolean, what: string): Promise<ChildEvent> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const found = this.events.find(wanted);
      if (found !== undefined) return found;
      if (this.process.exitCode !== null || this.process.signalCode !== null || Date.now() > deadline) {
        throw new Error(
          `child ${this.process.pid} ended or timed out before ${what}; events ${JSON.stringify(this.events)}; stderr ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 200);
      });
    }
  }

  get acknowledged(): number[] {
    return this.events.flatMap((e) => (e.committed === undefined ? [] : [e.committed]));
  }

  /** Asks a holding child to close, and waits for it to exit cleanly. */
  async close(): Promise<void> {
    this.process.stdin!.end('close\n');
    expect(await this.exit, this.stderr).toBe(0);
    expect(this.events.some((e) => e.closed)).toBe(true);
  }

  async killed(): Promise<void> {
    this.process.kill('SIGKILL');
    await this.exit;
  }

  async ended(): Promise<number | null> {
    return this.exit;
  }
}

const tmpDir = useTempDir('two-process');
let dir: string;
/** Every id some process was told is committed: none may be lost. */
const acknowledged = new Set<number>();

function open(options: DatabaseOptions = {}): Promise<Database> {
  return openTestDatabaseWith({ path: dir, ...options });
}

/** Opens read-write, checks that every acknowledged row is there and that the trees are sound. */
async function verify(where: string): Promise<void> {
  const db = await open();
  const ids = new Set([...db.table('acks').scan()].map((row) => row.id as number));
  for (const id of acknowledged) expect(ids.has(id), `${where}: acknowledged row ${id}`).toBe(true);
  db.check();
  await db.close();
}

async function refusedHere(options: DatabaseOptions): Promise<LockedError> {
  const error = await open(options).then(
    async (db) => {
      await db.close();
      return undefined;
    },
    (caught: unknown) => caught as LockedError,
  );
  expect(error?.code, 'this process was let in while the other holds the database').toBe('ERR_LOCKED');
  return error!;
}

beforeAll(async () => {
  dir = path.join(tmpDir(), 'db');
  const db = await open();
  await db.createTable({
    name: 'acks',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'by', type: 'int32' },
    ],
    primaryKey: ['id'],
  });
  await db.close();
});

describe('two processes, one database', () => {
  it('this process holds it: the other gets ERR_LOCKED with our pid, and nothing on disk changes', async () => {
    const db = await open();
    for (let id = 0; id < 50; id++) {
      await db.table('acks').insert({ id, by: process.pid });
      acknowledged.add(id);
    }
    const before = snapshotDir(dir);
    const child = new Child({ path: dir, insert: [10_000, 10_010] });
    const refused = await child.until((e) => e.error !== undefined || e.opened === true, 'its open');
    expect(refused.error).toBe('ERR_LOCKED');
    expect(refused.pid).toBe(process.pid);
    expect(await child.ended()).toBe(0);
    expect(snapshotDir(dir), 'the refused process changed nothing').toEqual(before);
    await db.close();
    await verify('after the other process was refused');
  });

  it('the other process holds it: ERR_LOCKED here with its pid, by path, symlink, relative path and NodeVfs; then its commits are all here', async () => {
    const link = path.join(tmpDir(), 'link');
    fs.symlinkSync(dir, link);
    const child = new Child({ path: link, insert: [100, 300], hold: true });
    await child.until((e) => e.ready === true, 'its commits');
    for (const id of child.acknowledged) acknowledged.add(id);
    expect(child.acknowledged).toHaveLength(200);
    const pid = child.process.pid;
    for (const way of [
      { path: dir },
      { path: link },
      { path: path.relative(process.cwd(), dir) },
      { vfs: new NodeVfs(link), path: undefined },
      { readOnly: true },
    ]) {
      const error = await refusedHere(way);
      expect(error.pid, JSON.stringify(way)).toBe(pid);
      expect(error.holderReadOnly).toBe(false);
    }
    await child.close();
    expect(fs.existsSync(path.join(dir, LOCK_DIR_NAME))).toBe(false);
    await verify('after the other process closed');
  });

  it('a holder killed with kill -9 does not block the next open: it is recognised as dead at once', async () => {
    const child = new Child({ path: dir, insert: [1000, 100_000], hold: true });
    await child.until((e) => (e.committed ?? 0) >= 1100, 'a hundred commits');
    await child.killed(); // mid-stream: it was committing when it died
    for (const id of child.acknowledged) acknowledged.add(id);
    expect(fs.readdirSync(path.join(dir, LOCK_DIR_NAME)), 'the dead holder left its entry').toHaveLength(1);
    // Read-only opens must not recover: refused, and nothing touched.
    const before = snapshotDir(dir, { skipLock: true });
    await expect(open({ readOnly: true })).rejects.toMatchObject({ code: 'ERR_RECOVERY_NEEDED' });
    expect(snapshotDir(dir, { skipLock: true })).toEqual(before);
    const started = performance.now();
    const db = await open();
    const openMs = performance.now() - started;
    expect(openMs, 'the next open (recovery included) is not held up by the dead lock').toBeLessThan(5_000);
    expect(db.storage.recovery?.groups ?? 0).toBeGreaterThan(0);
    console.log(
      `open after kill -9: ${openMs.toFixed(0)} ms, recovering ${db.storage.recovery?.groups} redo groups; ${child.acknowledged.length} commits acknowledged before the kill`,
    );
    await db.close();
    await verify('after kill -9');
  });

  it('several read-only processes at once; a writer meanwhile gets ERR_LOCKED naming a reader; nothing is written', async () => {
    // The killed process may have made one more row durable than it lived to acknowledge.
    const counting = await open();
    const writerSees = counting.table('acks').count();
    await counting.close();
    const before = snapshotDir(dir, { skipLock: true, mtimes: true });
    const readers = [
      new Child({ path: dir, readOnly: true, hold: true }),
      new Child({ path: dir, readOnly: true, hold: true }),
      new Child({ path: dir, readOnly: true, hold: true }),
    ];
    for (const reader of readers) {
      const opened = await reader.until((e) => e.count !== undefined || e.error !== undefined, 'its read-only open');
      expect(opened.error).toBeUndefined();
      expect(opened.count).toBe(writerSees);
    }
    const here = await open({ readOnly: true }); // this process reads along
    expect(here.table('acks').count()).toBe(writerSees);
    const writer = new Child({ path: dir, insert: [200_000, 200_001] });
    const refused = await writer.until((e) => e.error !== undefined || e.opened === true, "the writer's open");
    expect(refused.error).toBe('ERR_LOCKED');
    expect(refused.holderReadOnly).toBe(true);
    expect([process.pid, ...readers.map((r) => r.process.pid)]).toContain(refused.pid);
    const error = await refusedHere({});
    expect(error.holderReadOnly).toBe(true);
    for (const reader of readers) await reader.close();
    here.check();
    await here.close();
    expect(snapshotDir(dir, { skipLock: true, mtimes: true }), 'read-only processes wrote nothing').toEqual(before);
    await verify('after the read-only processes');
  });
});
