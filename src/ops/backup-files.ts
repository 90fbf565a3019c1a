/**
 * Reading a backup's files back: the checks behind `minno verify` and the first step of every
 * restore (BK1-BK3 of core/backup-format.ts). Nothing here writes.
 *
 * InnoDB counterpart: what `mariabackup --prepare` checks before it applies the copied log (the
 * checkpoints file, each copied page's checksum) and what `innochecksum` does for one file.
 */
import { IncompleteBackupError } from '../errors.js';
import { checkGroup, GroupCheck, groupLength } from '../redo/redo-record.js';
import { PageCheck, checkPage, describePageCheck, pageLsn } from '../page/page.js';
import {
  BACKUP_REDO_HEADER_BYTES,
  type BackupManifest,
  decodeRedoHeader,
  digestOf,
  readManifest,
} from '../core/backup-format.js';
import { loadChecksums } from '../page/checksum.js';
import type { Vfs } from '../vfs/vfs.js';

export interface BackupFileProblem {
  readonly file: string;
  readonly pageNo?: number;
  readonly detail: string;
}

export interface BackupFilesReport {
  readonly manifest: BackupManifest;
  readonly pagesChecked: number;
  readonly redoGroups: number;
  readonly problems: readonly BackupFileProblem[];
}

/** The manifest, or `IncompleteBackupError` when the completion marker is missing (BK1). */
export async function requireManifest(vfs: Vfs, where: string): Promise<BackupManifest> {
  await loadChecksums();
  const manifest = readManifest(vfs);
  if (manifest === undefined) throw new IncompleteBackupError(where);
  return manifest;
}

/** Reads the whole redo tail of a backup (header checked): the groups [startLsn, endLsn). */
export function readRedoTail(vfs: Vfs, manifest: BackupManifest): Uint8Array {
  const file = vfs.open(manifest.redo.file, { readOnly: true });
  try {
    const header = new Uint8Array(BACKUP_REDO_HEADER_BYTES);
    file.read(header, 0);
    decodeRedoHeader(header, manifest.redo.file);
    const tail = new Uint8Array(Math.max(0, file.size() - BACKUP_REDO_HEADER_BYTES));
    file.read(tail, BACKUP_REDO_HEADER_BYTES);
    return tail;
  } finally {
    file.close();
  }
}

/**
 * Checks every file of the backup against its manifest: page checks and LSNs (BK2), page counts
 * and digests, the redo tail's groups (BK3). Problems are collected, not thrown, so one run
 * names every damaged page.
 */
export async function checkBackupFiles(vfs: Vfs, where: string): Promise<BackupFilesReport> {
  const manifest = await requireManifest(vfs, where);
  const problems: BackupFileProblem[] = [];
  const page = new Uint8Array(manifest.pageSize);
  let pagesChecked = 0;
  for (const entry of manifest.spaces) {
    const stat = vfs.stat(entry.file);
    if (stat === undefined) {
      problems.push({ file: entry.file, detail: 'missing' });
      continue;
    }
    if (stat.size !== entry.pages * manifest.pageSize) {
      problems.push({ file: entry.file, detail: `${stat.size} bytes, the manifest says ${entry.pages} pages` });
    }
    const file = vfs.open(entry.file, { readOnly: true });
    const sums = new Uint8Array(8 * entry.pages);
    try {
      for (let pageNo = 0; pageNo < entry.pages; pageNo++) {
        const got = file.read(page, pageNo * manifest.pageSize);
        if (got < page.length) page.fill(0, got);
        const result = checkPage(page, entry.spaceId, pageNo);
        pagesChecked++;
        if (result === PageCheck.Empty) continue;
        if (result !== PageCheck.Valid) {
          problems.push({ file: entry.file, pageNo, detail: describePageCheck(result, page) });
          continue;
        }
        if (pageLsn(page) > manifest.endLsn) {
          problems.push({
            file: entry.file,
            pageNo,
            detail: `PAGE_LSN ${pageLsn(page)} is past the backup's END_LSN ${manifest.endLsn} (BK2)`,
          });
        }
        sums.set(page.subarray(0, 8), 8 * pageNo);
      }
    } finally {
      file.close();
    }
    if (digestOf(sums) !== entry.digest) {
      problems.push({
        file: entry.file,
        detail: 'page digest differs from the manifest (a page was changed or swapped)',
      });
    }
  }
  let redoGroups = 0;
  try {
    const tail = readRedoTail(vfs, manifest);
    const sums = new Uint8Array(4 * Math.max(1, manifest.redo.groups));
    let at = 0;
    while (at < tail.length && manifest.startLsn + at < manifest.endLsn) {
      const lsn = manifest.startLsn + at;
      const view = tail.subarray(at);
      const result = checkGroup(view, lsn, Number.MAX_SAFE_INTEGER);
      if (result !== GroupCheck.Valid) {
        problems.push({ file: manifest.redo.file, detail: `no valid group at LSN ${lsn} (${groupCheckName(result)})` });
        break;
      }
      const length = groupLength(view);
      if (redoGroups < manifest.redo.groups) sums.set(view.subarray(length - 4, length), 4 * redoGroups);
      redoGroups++;
      at += length;
    }
    if (manifest.startLsn + at !== manifest.endLsn) {
      problems.push({
        file: manifest.redo.file,
        detail: `the redo tail ends at LSN ${manifest.startLsn + at}, not at END_LSN ${manifest.endLsn} (BK3)`,
      });
    } else if (
      redoGroups !== manifest.redo.groups ||
      digestOf(sums.subarray(0, 4 * redoGroups)) !== manifest.redo.digest
    ) {
      problems.push({ file: manifest.redo.file, detail: 'redo group digest differs from the manifest' });
    }
  } catch (error) {
    problems.push({ file: manifest.redo.file, detail: error instanceof Error ? error.message : String(error) });
  }
  return { manifest, pagesChecked, redoGroups, problems };
}

function groupCheckName(result: number): string {
  return result === GroupCheck.Short
    ? 'short'
    : result === GroupCheck.NotHere
      ? 'zeros or not a group'
      : 'bad checksum';
}
