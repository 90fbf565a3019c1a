/**
 * Restore: turn a hot backup into a database consistent at the backup's END_LSN.
 *
 * InnoDB counterpart: `mariabackup --prepare` (apply the copied redo to the copied pages, then
 * roll back what was uncommitted) followed by `--copy-back`, and `--incremental-dir` for an
 * incremental chain. Steps:
 *
 *  1. Check the backup (ops/backup-files.ts): complete (BK1), every page and group sound.
 *  2. Copy the space files into the empty target directory.
 *  3. Build `redo.log` from the tail: a fresh log whose newest checkpoint is the backup's
 *     START_LSN and whose ring holds the tailed groups at their LSNs, zeros after END_LSN. Its
 *     capacity is the source's, or larger when the tail is longer than that.
 *  4. For each incremental backup in the chain (each one's `sinceLsn` is the END_LSN before it):
 *     recover the storage alone (no rollback: undo must stay as the next step's redo expects),
 *     then write the incremental's pages over it, drop the spaces it no longer has, and build the
 *     log again from its tail (step 3). Pages it did not copy are unchanged since `sinceLsn`,
 *     which is exactly the state the recovery left them in.
 *  5. Open the database: recovery applies the log up to END_LSN; the transactions that were still
 *     active there are rolled back; close (flush, checkpoint), reopen and run `check()`.
 *
 * So the result holds exactly the transactions committed before END_LSN.
 */
import { InvalidArgumentError, NotADirectoryError } from '../errors.js';
import { Database, type CheckReport } from '../api/database.js';
import { Storage } from '../core/storage.js';
import type { BackupManifest } from '../core/backup-format.js';
import { LOG_CAPACITY_MIN, LOG_FILE, LogFile } from '../redo/log-file.js';
import type { Vfs } from '../vfs/vfs.js';
import { checkBackupFiles, readRedoTail } from './backup-files.js';

export interface RestoreProgress {
  readonly step: 'check' | 'copy' | 'log' | 'incremental' | 'recover' | 'verify';
  readonly pagesCopied: number;
  readonly pagesTotal: number;
}

export interface RestoreOptions {
  /** Incremental backups to apply after the full one, oldest first. */
  readonly incrementals?: readonly Vfs[];
  readonly onProgress?: (progress: RestoreProgress) => void;
}

export interface RestoreResult {
  readonly endLsn: number;
  readonly pagesCopied: number;
  readonly redoBytes: number;
  readonly transactionsRolledBack: number;
  readonly check: CheckReport;
}

const COPY_CHUNK_PAGES = 64;

export async function restoreBackup(backup: Vfs, target: Vfs, options: RestoreOptions = {}): Promise<RestoreResult> {
  if (target.stat('')?.kind !== 'directory') throw new NotADirectoryError('restore target');
  if (target.list('').length > 0) throw new InvalidArgumentError('the restore target must be an empty directory');
  const chain = [backup, ...(options.incrementals ?? [])];
  const manifests: BackupManifest[] = [];
  let pagesTotal = 0;
  for (const [i, vfs] of chain.entries()) {
    options.onProgress?.({ step: 'check', pagesCopied: 0, pagesTotal: 0 });
    const report = await checkBackupFiles(vfs, i === 0 ? 'backup' : `incremental backup ${i}`);
    if (report.problems.length > 0) {
      const first = report.problems[0]!;
      throw new InvalidArgumentError(
        `the backup is damaged (${report.problems.length} problems; first: ${first.file}${first.pageNo === undefined ? '' : ` page ${first.pageNo}`}: ${first.detail}); run minno verify on it`,
      );
    }
    const manifest = report.manifest;
    if (i === 0 && manifest.kind !== 'full') throw new InvalidArgumentError('a restore starts from a full backup');
    if (i > 0) {
      const before = manifests[i - 1]!;
      if (manifest.kind !== 'incremental' || manifest.sinceLsn !== before.endLsn) {
        throw new InvalidArgumentError(
          `incremental backup ${i} does not follow the backup before it (its sinceLsn ${String(manifest.sinceLsn)}, the previous END_LSN ${before.endLsn})`,
        );
      }
      if (manifest.pageSize !== before.pageSize)
        throw new InvalidArgumentError('the backups have different page sizes');
    }
    manifests.push(manifest);
    for (const space of manifest.spaces) pagesTotal += space.pages;
  }
  let pagesCopied = 0;
  const progress = (step: RestoreProgress['step']): void => options.onProgress?.({ step, pagesCopied, pagesTotal });

  for (const [i, manifest] of manifests.entries()) {
    const source = chain[i]!;
    if (i > 0) {
      // Step 4: recover what is there so far (storage only: no rollback), then lay the pages over it.
      progress('incremental');
      const storage = await Storage.open({ vfs: target, background: 'manual', pageSize: manifest.pageSize });
      await storage.close();
      const keep = new Set(manifest.spaces.map((space) => space.spaceId));
      for (const name of target.list('')) {
        const match = /^space-(\d+)\.ibd$/.exec(name);
        if (match !== null && !keep.has(Number(match[1]))) target.remove(name);
      }
      target.remove(LOG_FILE);
    }
    for (const space of manifest.spaces) {
      pagesCopied += copySpace(source, target, space.file, manifest, i > 0);
      progress('copy');
    }
    progress('log');
    writeLogFromTail(source, target, manifest);
    target.syncDir('');
  }

  // Step 5.
  progress('recover');
  const last = manifests[manifests.length - 1]!;
  const db = await Database.open({ vfs: target, background: 'manual', pageSize: last.pageSize });
  let transactionsRolledBack = 0;
  try {
    while (db.engine.rollbackRecoveredStep()) transactionsRolledBack++;
  } finally {
    await db.close();
  }
  progress('verify');
  const reopened = await Database.open({ vfs: target, background: 'manual', pageSize: last.pageSize });
  let check: CheckReport;
  try {
    check = reopened.check();
  } finally {
    await reopened.close();
  }
  return {
    endLsn: last.endLsn,
    pagesCopied,
    redoBytes: manifests.reduce((sum, m) => sum + m.redo.bytes, 0),
    transactionsRolledBack,
    check,
  };
}

/** Copies a space file's pages; for an incremental, only the pages it holds (not all zeros). */
function copySpace(source: Vfs, target: Vfs, name: string, manifest: BackupManifest, overlay: boolean): number {
  const from = source.open(name, { readOnly: true });
  const to = target.open(name, { create: true });
  let copied = 0;
  try {
    const pageSize = manifest.pageSize;
    const chunk = new Uint8Array(pageSize * COPY_CHUNK_PAGES);
    const size = from.size();
    for (let at = 0; at < size; at += chunk.length) {
      const got = from.read(chunk, at);
      if (!overlay) {
        to.write(chunk.subarray(0, got), at);
        copied += Math.floor(got / pageSize);
        continue;
      }
      for (let p = 0; p * pageSize < got; p++) {
        const page = chunk.subarray(p * pageSize, (p + 1) * pageSize);
        if (page.some((byte) => byte !== 0)) {
          to.write(page, at + p * pageSize);
          copied++;
        }
      }
    }
    if (to.size() < size) to.truncate(size);
    to.datasync();
  } finally {
    from.close();
    to.close();
  }
  return copied;
}

/** Step 3: a fresh redo.log holding the backup's tail, its newest checkpoint at START_LSN. */
function writeLogFromTail(source: Vfs, target: Vfs, manifest: BackupManifest): void {
  const tail = readRedoTail(source, manifest).subarray(0, manifest.redo.bytes);
  const MiB = 1 << 20;
  const needed = Math.ceil((2 * tail.length + MiB) / MiB) * MiB;
  const capacity = Math.max(manifest.logCapacity, needed, LOG_CAPACITY_MIN, 32 * manifest.pageSize);
  const log = LogFile.create(target, capacity, manifest.pageSize, true);
  try {
    log.writeCheckpoint({ number: 2, lsn: manifest.startLsn });
    for (let at = 0; at < tail.length; at += MiB) {
      log.writeRing(tail.subarray(at, Math.min(tail.length, at + MiB)), manifest.startLsn + at);
    }
    log.file.datasync();
  } finally {
    log.close();
  }
}
