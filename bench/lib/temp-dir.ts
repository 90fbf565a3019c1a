/**
 * Scratch directories on the real disk (under `os.tmpdir()`), for workloads on `NodeVfs`.
 *
 * Benchmarks measure the disk the engine would run on, so never a tmpfs the caller did not ask
 * for: set TMPDIR to choose another disk. Each directory is removed when its workload ends, even
 * when it fails.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as nodePath from 'node:path';

export interface TempDir {
  readonly path: string;
  /** Removes the directory and everything in it. Idempotent. */
  remove(): void;
}

/** A new directory under `parentDir` (default: the OS temp directory). */
export function makeTempDir(prefix = 'minno-bench-', parentDir = os.tmpdir()): TempDir {
  const path = fs.mkdtempSync(nodePath.join(parentDir, prefix));
  return {
    path,
    remove: () => fs.rmSync(path, { recursive: true, force: true }),
  };
}

/** Runs `body` with a fresh scratch directory and removes it afterwards. */
export async function withTempDir<T>(body: (path: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = makeTempDir(prefix);
  try {
    return await body(dir.path);
  } finally {
    dir.remove();
  }
}
