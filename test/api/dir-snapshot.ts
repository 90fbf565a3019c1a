/**
 * Real directories for the tests of opening, locking and read-only use: a temporary directory per
 * test file, and what "nothing on disk changed" compares: every entry under a directory, with its
 * kind, size, content hash and (optionally) mtime. The lock directory can be left out, for checks
 * made while another holder's entry legitimately sits there.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { LOCK_DIR_NAME } from '../../src/vfs/vfs.js';

export interface SnapshotOptions {
  /** Leave out `minno.lock/` (default false: it is compared like anything else). */
  readonly skipLock?: boolean;
  /** Compare mtimes too: a read-only open must not even rewrite a byte in place. */
  readonly mtimes?: boolean;
}

export function snapshotDir(root: string, options: SnapshotOptions = {}): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string): void => {
    for (const name of fs.readdirSync(dir).sort()) {
      const full = path.join(dir, name);
      const rel = path.relative(root, full);
      if (options.skipLock === true && rel.split(path.sep)[0] === LOCK_DIR_NAME) continue;
      const stats = fs.lstatSync(full);
      const when = options.mtimes === true ? ` mtime=${stats.mtimeMs}` : '';
      if (stats.isDirectory()) {
        out[rel] = `dir${when}`;
        walk(full);
      } else {
        out[rel] =
          `file ${stats.size} ${createHash('sha256').update(fs.readFileSync(full)).digest('hex').slice(0, 16)}${when}`;
      }
    }
  };
  if (fs.existsSync(root)) walk(root);
  return out;
}

/** A temporary directory made before the file's tests and removed after them; call the result for its path. */
export function useTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), `minno-${prefix}-`));
  });
  afterAll(() => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  });
  return () => dir!;
}
