/**
 * Differential test of the VFS implementations: MemoryVfs (the reference), NodeVfs on a real temp
 * directory and FaultVfs with no faults are driven through the same random operation sequences and
 * must agree on every return value, every byte read, every listing and every error code, and on
 * the whole tree at the end. A few scripted sequences run first so the cases the contract names
 * (V1 gap and short reads, V5 handles after rename and remove, V6 use after close, the path
 * rules) are always exercised, whatever the random seed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultVfs } from '../../src/vfs/fault-vfs.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';
import { NodeVfs } from '../../src/vfs/node-vfs.js';
import type { Vfs, VfsFile } from '../../src/vfs/vfs.js';
import { openOp, runOp, snapshot, vfsOpsArb, type Outcome, type VfsOp } from './vfs-ops.js';

const RUNS = 400;

let baseDir = '';

interface Subject {
  readonly name: string;
  readonly vfs: Vfs;
  readonly handles: VfsFile[];
  readonly cleanup: () => void;
}

function openSubjects(): Subject[] {
  const nodeDir = fs.mkdtempSync(nodePath.join(baseDir, 'run-'));
  const plain = (name: string, vfs: Vfs): Subject => ({ name, vfs, handles: [], cleanup: () => {} });
  return [
    plain('MemoryVfs', new MemoryVfs()),
    { name: 'NodeVfs', vfs: new NodeVfs(nodeDir), handles: [], cleanup: () => fs.rmSync(nodeDir, { recursive: true }) },
    plain('FaultVfs', new FaultVfs({ seed: 1 })),
  ];
}

/** What the sequences reached: `kind:code` for errors, `kind:ok`, and read shapes. */
const reached = new Set<string>();

function tally(op: VfsOp, outcome: Outcome): void {
  if ('error' in outcome) {
    reached.add(`${op.kind}:${outcome.error}`);
    return;
  }
  reached.add(`${op.kind}:ok`);
  if (op.kind === 'read' && typeof outcome.ok === 'object' && outcome.ok !== null) {
    const count = (outcome.ok as { count: number }).count;
    if (count === 0 && op.length > 0) reached.add('read:at-or-past-eof');
    if (count > 0 && count < op.length) reached.add('read:short');
  }
}

async function runSequence(ops: readonly VfsOp[]): Promise<void> {
  const subjects = openSubjects();
  try {
    for (const [index, op] of ops.entries()) {
      const outcomes: Outcome[] = [];
      for (const subject of subjects) outcomes.push(await runOp(subject.vfs, subject.handles, op));
      const [reference] = outcomes;
      tally(op, reference!);
      for (const [i, subject] of subjects.entries()) {
        expect(outcomes[i], `op #${index} ${JSON.stringify(op)} on ${subject.name}`).toEqual(reference);
      }
    }
    const [reference, ...others] = subjects;
    const expected = snapshot(reference!.vfs);
    for (const subject of others) expect(snapshot(subject.vfs), `final tree of ${subject.name}`).toEqual(expected);
  } finally {
    for (const subject of subjects) {
      for (const handle of subject.handles) handle.close();
      subject.cleanup();
    }
  }
}

const open = openOp;
const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

/** Scripted sequences: each names the contract clause it pins down. */
const SCRIPTS: readonly (readonly VfsOp[])[] = [
  // V1, V2: a write past the end leaves a zero gap; reads are short at EOF and empty past it.
  [
    open('a', { create: true }),
    { kind: 'write', handle: 0, data: bytes(1, 2, 3), position: 10 },
    { kind: 'read', handle: 0, length: 20, position: 0 },
    { kind: 'read', handle: 0, length: 5, position: 13 },
    { kind: 'read', handle: 0, length: 5, position: 100 },
    { kind: 'write', handle: 0, data: bytes(), position: 50 },
    { kind: 'size', handle: 0 },
  ],
  // Truncate down then up exposes zeros, not the old tail (M1).
  [
    open('a', { create: true }),
    { kind: 'write', handle: 0, data: bytes(9, 9, 9, 9, 9, 9), position: 0 },
    { kind: 'truncate', handle: 0, size: 2 },
    { kind: 'truncate', handle: 0, size: 6 },
    { kind: 'read', handle: 0, length: 8, position: 0 },
    { kind: 'truncate', handle: 0, size: 4500 },
    { kind: 'read', handle: 0, length: 4, position: 4496 },
  ],
  // V5: rename replaces the target, onto itself is a no-op, the handle follows its file.
  [
    { kind: 'mkdir', path: 'd', recursive: false },
    open('b', { create: true }),
    { kind: 'write', handle: 0, data: bytes(1), position: 0 },
    open('d/a', { create: true }),
    { kind: 'write', handle: 1, data: bytes(2, 2), position: 0 },
    { kind: 'rename', from: 'd/a', to: 'b' },
    { kind: 'rename', from: 'b', to: 'b' },
    { kind: 'write', handle: 1, data: bytes(3), position: 2 },
    { kind: 'read', handle: 0, length: 4, position: 0 },
    open('b', { readOnly: true }),
    { kind: 'read', handle: 2, length: 4, position: 0 },
    { kind: 'list', path: 'd' },
    { kind: 'rename', from: 'd', to: 'x' },
    { kind: 'rename', from: 'b', to: 'd' },
    { kind: 'rename', from: 'missing', to: 'b' },
    { kind: 'rename', from: 'b', to: 'nowhere/b' },
    { kind: 'rename', from: '', to: 'b' },
    { kind: 'rename', from: 'b', to: '' },
  ],
  // V5: a removed file's handle keeps working; the name is gone.
  [
    open('a', { create: true }),
    { kind: 'remove', path: 'a' },
    { kind: 'write', handle: 0, data: bytes(7, 7), position: 1 },
    { kind: 'read', handle: 0, length: 4, position: 0 },
    { kind: 'size', handle: 0 },
    { kind: 'stat', path: 'a' },
    { kind: 'remove', path: 'a' },
    { kind: 'remove', path: '' },
    { kind: 'sync', handle: 0 },
  ],
  // V6: every call on a closed handle is ClosedError; close is idempotent.
  [
    open('a', { create: true }),
    { kind: 'close', handle: 0 },
    { kind: 'read', handle: 0, length: 1, position: -1 },
    { kind: 'write', handle: 0, data: bytes(1), position: 0 },
    { kind: 'truncate', handle: 0, size: 0 },
    { kind: 'size', handle: 0 },
    { kind: 'sync', handle: 0 },
    { kind: 'datasync', handle: 0 },
    { kind: 'syncAsync', handle: 0 },
    { kind: 'datasyncAsync', handle: 0 },
    { kind: 'close', handle: 0 },
    { kind: 'info', handle: 0 },
  ],
  // Directories: mkdir, rmdir of a non-empty one, files in the way, listings.
  [
    { kind: 'mkdir', path: 'd/e', recursive: false },
    { kind: 'mkdir', path: 'd/e', recursive: true },
    { kind: 'mkdir', path: 'd/e', recursive: true },
    { kind: 'mkdir', path: 'd', recursive: false },
    { kind: 'mkdir', path: '', recursive: false },
    open('a', { create: true }),
    { kind: 'mkdir', path: 'a', recursive: true },
    { kind: 'mkdir', path: 'a/x', recursive: true },
    { kind: 'mkdir', path: 'a/x/y', recursive: false },
    open('a/x/y', { create: true }),
    { kind: 'list', path: 'a' },
    { kind: 'list', path: 'nope' },
    { kind: 'rmdir', path: 'd' },
    { kind: 'rmdir', path: 'a' },
    { kind: 'rmdir', path: '' },
    { kind: 'remove', path: 'd' },
    { kind: 'syncDir', path: 'a' },
    { kind: 'syncDirAsync', path: 'nope' },
    { kind: 'syncDirAsync', path: 'd/e' },
    { kind: 'rmdir', path: 'd/e' },
    { kind: 'list', path: '' },
    { kind: 'stat', path: 'd' },
  ],
  // Open modes, bad paths and bad arguments.
  [
    open('a', { create: true, exclusive: true }),
    open('a', { create: true, exclusive: true }),
    open('a', { readOnly: true }),
    { kind: 'write', handle: 1, data: bytes(1), position: 0 },
    { kind: 'truncate', handle: 1, size: 0 },
    open('a', { readOnly: true, create: true }),
    open('missing'),
    open(''),
    { kind: 'mkdir', path: 'd', recursive: false },
    open('d'),
    open('d', { readOnly: true }),
    open('d', { create: true, exclusive: true }),
    open('../x', { create: true }),
    { kind: 'stat', path: '/abs' },
    { kind: 'list', path: 'a\0b' },
    { kind: 'read', handle: 0, length: 1, position: -1 },
    { kind: 'write', handle: 0, data: bytes(1), position: 1.5 },
    { kind: 'truncate', handle: 0, size: Number.NaN },
    { kind: 'badBuffer', handle: 0, write: true },
    { kind: 'badBuffer', handle: 0, write: false },
    open('a', { truncate: true, direct: true }),
    { kind: 'info', handle: 2 },
  ],
];

describe('VFS differential: MemoryVfs, NodeVfs and FaultVfs agree', () => {
  beforeAll(() => {
    baseDir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'minno-differential-'));
  });
  afterAll(() => {
    fs.rmSync(baseDir, { recursive: true, force: true });
  });

  it.each(SCRIPTS.map((ops, i) => [i, ops] as const))('scripted sequence %i', async (_i, ops) => {
    await runSequence(ops);
  });

  it(`random operation sequences (${RUNS} runs)`, async () => {
    reached.clear(); // count only what the random sequences reach, not the scripts
    await fc.assert(fc.asyncProperty(vfsOpsArb, runSequence), { numRuns: RUNS });
    // The generator must reach the cases it exists for, or agreement would prove little.
    for (const expected of [
      'open:ERR_NOT_FOUND',
      'open:ERR_ALREADY_EXISTS',
      'open:ERR_NOT_A_DIRECTORY',
      'open:ERR_INVALID_ARGUMENT',
      'open:ERR_PATH_OUTSIDE_ROOT',
      'write:ok',
      'write:ERR_CLOSED',
      'write:ERR_READ_ONLY',
      'write:ERR_INVALID_ARGUMENT',
      'read:short',
      'read:at-or-past-eof',
      'truncate:ok',
      'syncAsync:ok',
      'syncAsync:ERR_CLOSED',
      'rename:ok',
      'rename:ERR_NOT_FOUND',
      'remove:ok',
      'rmdir:ERR_DIRECTORY_NOT_EMPTY',
      'mkdir:ok',
      'mkdir:ERR_ALREADY_EXISTS',
      'list:ok',
      'syncDirAsync:ok',
    ]) {
      expect(reached, `no random sequence reached ${expected}`).toContain(expected);
    }
  });
});
