/**
 * What a hot backup leaves in its directory, and how a reader tells a whole backup from a part.
 *
 * InnoDB counterpart: the files Mariabackup / XtraBackup write beside the copied tablespaces,
 * `xtrabackup_logfile` (the redo copied while the server ran) and `xtrabackup_checkpoints` (the
 * LSNs the copy spans). Ours:
 *
 *   system.ibd, space-NNNNNN.ibd   the tablespaces, copied page by page (every page checked)
 *   backup.redo                    the redo tailed from the checkpoint at the start to END_LSN
 *   backup.json                    the manifest: the completion marker, written last
 *
 * ## backup.redo
 *
 * | offset | size | field      | meaning                                                       |
 * |--------|------|------------|---------------------------------------------------------------|
 * | 0      | 4    | MAGIC      | 0x4d4e4252 ("MNBR")                                           |
 * | 4      | 4    | FORMAT     | 1; a larger number is a newer format we refuse                |
 * | 8      | 8    | START_LSN  | the LSN of the first group: the checkpoint the backup began at|
 * | 16     | 4    | PAGE_SIZE  | the database's page size                                      |
 * | 20     | 4    | CHECKSUM   | xxh32 of bytes [0, 20)                                        |
 * | 24     | 40   | (reserved) | zero                                                          |
 * | 64     | ...  | groups     | redo groups exactly as in the log (redo-record.ts), back to   |
 * |        |      |            | back: the group of LSN `l` sits at 64 + (l - START_LSN)       |
 *
 * ## backup.json (the completion marker)
 *
 * `{ "body": BackupManifest, "checksum": "<xxh64 of JSON.stringify(body), hex>" }`. It is written
 * under a temporary name, synced, renamed into place and its directory synced (rule DIR), after
 * every other file of the backup is synced. So a crash at any point leaves either no
 * `backup.json` (a partial backup, refused by restore and verify) or one whose every file is
 * durable. A torn or edited manifest fails its checksum.
 *
 * Per file the manifest keeps the page count and a digest: xxh64 of the concatenated 8-byte
 * CHECKSUM fields of its pages in order (zeros for a page never written). Every page carries its
 * own checksum over its bytes (P1 of page.ts), so checking each page and the digest finds a
 * damaged page, a missing or extra page, and a page swapped for another valid one. The redo
 * tail's digest is the same over its groups' 4-byte checksums.
 *
 * Invariants (BK, checked by `verifyBackup` in ops/verify.ts and by restore):
 *  BK1. A backup is complete exactly when `backup.json` exists and its checksum matches.
 *  BK2. Every page in a backup's space files is valid (P1-P4) or never written (all zeros), and
 *       its PAGE_LSN is at most END_LSN (rule WAL held in the source when the page was copied).
 *  BK3. backup.redo holds whole, valid groups from START_LSN to exactly END_LSN, each starting
 *       where the previous ended (R1 of log-reader.ts).
 */
import { CorruptionError, IncompatibleFormatError } from '../errors.js';
import { checksum32, checksum64 } from '../page/checksum.js';
import { readU32, readU64, writeU32, writeU64 } from '../page/page.js';
import type { Vfs } from '../vfs/vfs.js';

export const BACKUP_MANIFEST_FILE = 'backup.json';
export const BACKUP_MANIFEST_TMP = 'backup.json.tmp';
export const BACKUP_REDO_FILE = 'backup.redo';
export const BACKUP_REDO_MAGIC = 0x4d4e4252;
export const BACKUP_FORMAT = 1;
export const BACKUP_REDO_HEADER_BYTES = 64;

export interface BackupFileEntry {
  readonly spaceId: number;
  readonly file: string;
  readonly pages: number;
  /** xxh64 (hex) of the pages' CHECKSUM fields, in page order. */
  readonly digest: string;
}

export interface BackupManifest {
  readonly format: number;
  /** 'full', or 'incremental': only pages whose PAGE_LSN is above `sinceLsn` were copied. */
  readonly kind: 'full' | 'incremental';
  readonly sinceLsn?: number;
  readonly pageSize: number;
  /** The source's redo capacity: a restore makes its log at least this large. */
  readonly logCapacity: number;
  /** The checkpoint current when the backup began: recovery of the backup starts here. */
  readonly startLsn: number;
  /** The backup is consistent at this LSN: every group before it is in backup.redo, none after. */
  readonly endLsn: number;
  readonly spaces: readonly BackupFileEntry[];
  readonly redo: { readonly file: string; readonly bytes: number; readonly groups: number; readonly digest: string };
  readonly pagesCopied: number;
  readonly pagesReread: number;
}

export function hex64(value: bigint): string {
  return value.toString(16).padStart(16, '0');
}

/** Digest of a sequence of checksum fields (see the module doc). */
export function digestOf(fields: Uint8Array): string {
  return hex64(checksum64(fields));
}

export function encodeRedoHeader(startLsn: number, pageSize: number): Uint8Array {
  const header = new Uint8Array(BACKUP_REDO_HEADER_BYTES);
  writeU32(header, 0, BACKUP_REDO_MAGIC);
  writeU32(header, 4, BACKUP_FORMAT);
  writeU64(header, 8, startLsn);
  writeU32(header, 16, pageSize);
  writeU32(header, 20, checksum32(header.subarray(0, 20)));
  return header;
}

/** Validates backup.redo's header; returns its START_LSN and PAGE_SIZE. */
export function decodeRedoHeader(header: Uint8Array, path: string): { startLsn: number; pageSize: number } {
  if (header.length < 24 || readU32(header, 0) !== BACKUP_REDO_MAGIC) {
    throw new IncompatibleFormatError(path, 'not a minno backup redo file (bad magic number)');
  }
  if (checksum32(header.subarray(0, 20)) !== readU32(header, 20)) {
    throw new CorruptionError(path, undefined, 'backup redo header checksum mismatch');
  }
  if (readU32(header, 4) > BACKUP_FORMAT) {
    throw new IncompatibleFormatError(path, `backup redo format ${readU32(header, 4)} is newer than this minno`);
  }
  return { startLsn: readU64(header, 8), pageSize: readU32(header, 16) };
}

export function encodeManifest(body: BackupManifest): string {
  const text = JSON.stringify(body);
  return `${JSON.stringify({ body, checksum: hex64(checksum64(new TextEncoder().encode(text))) }, null, 1)}\n`;
}

/** The manifest of the backup in `vfs`, or undefined when there is none (an incomplete backup, BK1). */
export function readManifest(vfs: Vfs): BackupManifest | undefined {
  if (vfs.stat(BACKUP_MANIFEST_FILE)?.kind !== 'file') return undefined;
  const file = vfs.open(BACKUP_MANIFEST_FILE, { readOnly: true });
  let text: string;
  try {
    const bytes = new Uint8Array(file.size());
    file.read(bytes, 0);
    text = new TextDecoder().decode(bytes);
  } finally {
    file.close();
  }
  let parsed: { body?: BackupManifest; checksum?: string };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch {
    throw new CorruptionError(BACKUP_MANIFEST_FILE, undefined, 'the backup manifest is not valid JSON');
  }
  if (parsed.body === undefined || typeof parsed.checksum !== 'string') {
    throw new CorruptionError(BACKUP_MANIFEST_FILE, undefined, 'the backup manifest lacks its body or checksum');
  }
  const expected = hex64(checksum64(new TextEncoder().encode(JSON.stringify(parsed.body))));
  if (expected !== parsed.checksum) {
    throw new CorruptionError(BACKUP_MANIFEST_FILE, undefined, 'the backup manifest fails its checksum (BK1)');
  }
  if (parsed.body.format > BACKUP_FORMAT) {
    throw new IncompatibleFormatError(
      BACKUP_MANIFEST_FILE,
      `backup format ${parsed.body.format} is newer than this minno`,
    );
  }
  return parsed.body;
}
