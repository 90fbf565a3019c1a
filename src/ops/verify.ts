/**
 * `minno verify`: check a backup or a database without changing it.
 *
 * InnoDB counterpart: `innochecksum` (every page's checksum, offline) and `CHECK TABLE`. A backup
 * is checked file by file against its manifest (ops/backup-files.ts), then, unless `shallow`,
 * restored into memory and checked as a database: the proof that it opens. A database is
 * checked page by page on disk (every page of every space file, so one run names every bad
 * page), then opened through an overlay (ops/open-unchanged.ts: recovery runs in memory) and
 * walked by `check()` (tree order, links, free space, SEC=CLUST, undo).
 */
import type { CheckReport } from '../api/database.js';
import { MemoryVfs } from '../vfs/memory-vfs.js';
import { PageCheck, checkPage, describePageCheck } from '../page/page.js';
import { loadChecksums } from '../page/checksum.js';
import { spaceFileName, spaceIdFromFileName } from '../page/tablespace.js';
import { BACKUP_MANIFEST_FILE, BACKUP_REDO_FILE } from '../core/backup-format.js';
import { LOG_FILE } from '../redo/log-file.js';
import type { Vfs } from '../vfs/vfs.js';
import { checkBackupFiles, type BackupFileProblem } from './backup-files.js';
import { openUnchanged } from './open-unchanged.js';
import { restoreBackup } from './restore.js';

export interface VerifyReport {
  readonly kind: 'backup' | 'database';
  readonly ok: boolean;
  readonly pagesChecked: number;
  readonly problems: readonly BackupFileProblem[];
  /** The backup's LSN range, for a backup. */
  readonly startLsn?: number;
  readonly endLsn?: number;
  /** What `check()` counted, when the database (or the restored backup) opened. */
  readonly check?: CheckReport;
}

/** What is in `vfs`: a backup (its manifest or redo tail), a database (its log), or neither. */
export function classify(vfs: Vfs): 'backup' | 'database' | 'unknown' {
  if (vfs.stat(BACKUP_MANIFEST_FILE) !== undefined || vfs.stat(BACKUP_REDO_FILE) !== undefined) return 'backup';
  if (vfs.stat(LOG_FILE) !== undefined) return 'database';
  return 'unknown';
}

export async function verifyBackup(vfs: Vfs, options: { shallow?: boolean } = {}): Promise<VerifyReport> {
  const files = await checkBackupFiles(vfs, 'backup');
  const problems = [...files.problems];
  let check: CheckReport | undefined;
  if (problems.length === 0 && options.shallow !== true && files.manifest.kind === 'full') {
    try {
      check = (await restoreBackup(vfs, new MemoryVfs())).check;
    } catch (error) {
      problems.push({ file: 'restore', detail: error instanceof Error ? error.message : String(error) });
    }
  }
  return {
    kind: 'backup',
    ok: problems.length === 0,
    pagesChecked: files.pagesChecked,
    problems,
    startLsn: files.manifest.startLsn,
    endLsn: files.manifest.endLsn,
    ...(check === undefined ? {} : { check }),
  };
}

export async function verifyDatabase(vfs: Vfs): Promise<VerifyReport> {
  await loadChecksums();
  const problems: BackupFileProblem[] = [];
  let pagesChecked = 0;
  const pageSize = pageSizeOf(vfs);
  const page = new Uint8Array(pageSize);
  for (const name of vfs.list('')) {
    const spaceId = spaceIdFromFileName(name);
    if (spaceId === undefined) continue;
    const file = vfs.open(spaceFileName(spaceId), { readOnly: true });
    try {
      const pages = Math.floor(file.size() / pageSize);
      for (let pageNo = 0; pageNo < pages; pageNo++) {
        file.read(page, pageNo * pageSize);
        pagesChecked++;
        const result = checkPage(page, spaceId, pageNo);
        if (result !== PageCheck.Valid && result !== PageCheck.Empty) {
          problems.push({ file: name, pageNo, detail: describePageCheck(result, page) });
        }
      }
    } finally {
      file.close();
    }
  }
  let check: CheckReport | undefined;
  try {
    const opened = await openUnchanged(vfs);
    try {
      check = opened.db.check();
    } finally {
      await opened.close();
    }
  } catch (error) {
    problems.push({ file: 'database', detail: error instanceof Error ? error.message : String(error) });
  }
  return {
    kind: 'database',
    ok: problems.length === 0,
    pagesChecked,
    problems,
    ...(check === undefined ? {} : { check }),
  };
}

/** The page size in the redo log's header (offset 16, see redo/log-file.ts). */
export function pageSizeOf(vfs: Vfs): number {
  const file = vfs.open(LOG_FILE, { readOnly: true });
  try {
    const header = new Uint8Array(20);
    file.read(header, 0);
    return new DataView(header.buffer).getUint32(16);
  } finally {
    file.close();
  }
}
