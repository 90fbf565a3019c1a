/**
 * Crash recovery: from the newest checkpoint to the end of the valid log.
 *
 * InnoDB counterpart: `log/log0recv.cc` (recv_recovery_from_checkpoint_start, recv_apply_hashed_log_recs)
 * and `buf/buf0dblwr.cc` (recv_dblwr_t). Steps, each of which may be interrupted by another crash
 * and simply redone (every step is idempotent):
 *
 *  1. Read both checkpoint slots; take the newest valid one (a torn slot leaves the other). Sync
 *     the log and the directory, and (in step 3) every space file: after a process crash the dead
 *     process's unsynced writes are still in the OS page cache, recovery builds on them, and a
 *     power cut after step 7 must not take them (RC2).
 *  2. Read the log from the checkpoint LSN and keep the valid groups; the first group that is
 *     short, zero, from another lap, or fails its checksum ends the log (rule LOG-TAIL; R1, R2 of
 *     log-reader.ts). Sort the page records by page. Two ends are corruption, not a tail: a bad
 *     group that a later valid group shows was durable, and a valid group of a later lap right at
 *     the end (the scan started from a checkpoint older than the newest: its slot is damaged).
 *  3. File records: a space with FILE_DELETE is deleted and its page records are dropped (space
 *     ids are never reused); a space with FILE_CREATE gets its file back if it is missing. An empty
 *     space file with no FILE_CREATE in the log is the leftover of a creation whose redo never
 *     became durable: it is removed. Except the system tablespace: missing or empty with no
 *     FILE_CREATE, it is a leftover only while the log is still the new one (checkpoint at
 *     LSN_START, no group); otherwise the file was lost, and that is corruption, reported before
 *     anything is removed (RC3).
 *  4. Doublewrite: a page that fails its checks in its tablespace is overwritten by its valid copy
 *     in the doublewrite file, if one exists that is not newer than the end of the log (rule TORN).
 *     Then every space's header page must be valid and ours (or be rebuilt by its redo): a file
 *     that is not a minno tablespace is refused before anything is written to it.
 *  5. Apply, page by page in order of first LSN: a record is applied only if its group ends after
 *     the page's LSN (rule IDEMPOTENT); the page's LSN becomes the last applied group's end. A
 *     page still bad after step 4 is corruption (`CorruptionError` naming file and page), unless
 *     its first record re-initialises it. Progress goes to `onProgress`.
 *  6. Flush every recovered page and sync the spaces.
 *  7. Continue the log one whole lap later: a checkpoint at `end + capacity`. Any bytes still in
 *     the ring from before the crash carry LSNs below that, so they can never be taken for new
 *     groups, whatever a crash left behind the end (a group that was lost while a later one
 *     reached the disk, say). This replaces InnoDB's epoch numbers and MariaDB's sequence bit.
 *
 * Invariants:
 *  RC1. Recovery applies exactly the groups a scan of the durable log finds valid, each at most
 *       once per page, and never one past the first invalid group.
 *  RC2. Everything recovery read (log, directory entries, pages) is durable before it writes a page
 *       or a checkpoint: a power cut at any later point finds at least what it found.
 *  RC3. A database whose log has moved past its creation always has its system tablespace:
 *       recovery never re-creates an empty database over a lost `system.ibd`.
 *  RC4. Recovery gives the event loop back between slices of its scan, apply and flush (issue
 *       11: an open after a crash must not freeze the process), and nothing else touches the
 *       engine meanwhile: the Storage is not handed out until `recover` returns. So the steps
 *       above, and their order, are the same as in one pass.
 */
import { CorruptionError } from '../errors.js';
import { assert } from '../util/assert.js';
import { PageCheck, describePageCheck, pageLsn, readU64 } from '../page/page.js';
import { SYSTEM_SPACE_ID, spaceFileName, type SpaceRegistry } from '../page/tablespace.js';
import type { BufferPool } from '../buffer/buffer-pool.js';
import { PageHash } from '../buffer/page-hash.js';
import type { Doublewrite } from '../buffer/doublewrite.js';
import type { EngineEvent } from '../vfs/vfs.js';
import {
  GROUP_HEADER_BYTES,
  GROUP_OVERHEAD_BYTES,
  GroupCheck,
  RedoType,
  checkGroup,
  groupDurableLsn,
  type GroupCheckResult,
  groupLength,
  applyPageRecord,
  isPageRecord,
  recordLength,
  recordPageNo,
  recordSpaceId,
  recordType,
} from './redo-record.js';
import { LSN_START, type Checkpoint, type LogFile } from './log-file.js';
import { SliceClock } from '../util/slices.js';

/** Pages recovery flushes between two looks at the clock (one doublewrite batch or so). */
const RECOVERY_FLUSH_PAGES = 32;

export interface RecoveryProgress {
  /** Pages whose redo has been applied so far, of `pagesTotal`. */
  readonly pagesApplied: number;
  readonly pagesTotal: number;
  /** LSN reached (the first LSN of the page being applied) and the end of the log. */
  readonly lsn: number;
  readonly endLsn: number;
}

export interface RecoveryResult {
  readonly checkpointLsn: number;
  readonly checkpointNumber: number;
  /** End of the valid log found. */
  readonly endLsn: number;
  /** Where the log continues (one lap after `endLsn`). */
  readonly nextLsn: number;
  readonly groups: number;
  readonly redoBytes: number;
  readonly recordsApplied: number;
  readonly pagesApplied: number;
  readonly pagesRestoredFromDoublewrite: number;
  readonly spacesCreated: number;
  readonly spacesDeleted: number;
}

export interface RecoveryInput {
  readonly logFile: LogFile;
  readonly registry: SpaceRegistry;
  readonly pool: BufferPool;
  readonly doublewrite: Doublewrite | undefined;
  readonly onProgress?: ((progress: RecoveryProgress) => void) | undefined;
  readonly onEvent?: ((name: EngineEvent) => void) | undefined;
  /** Test-only seam (StorageTestSeams): accept groups that fail their checks. */
  readonly applyTornGroups?: boolean;
  /** Work between two turns of the event loop (default SLICE_MS; tests: 0). */
  readonly sliceMs?: number;
}

/**
 * Records per chunk of the redo index: 4 Ki records, 96 KiB of typed arrays. Small enough that
 * the crash tests' recoveries cross chunk boundaries; a 190 MB log takes about 1,500 chunks.
 */
const INDEX_CHUNK_BITS = 12;
const INDEX_CHUNK = 1 << INDEX_CHUNK_BITS;
const INDEX_CHUNK_MASK = INDEX_CHUNK - 1;

/**
 * The page records of the scanned log, chained per page in typed arrays: one allocation per
 * 4 Ki records, none per record. The arrays grow by whole chunks and are never copied: doubling
 * one array of millions of records (a large log) stopped the event loop for tens of milliseconds
 * (RC4). Pages are numbered in order of their first record, which is LSN order, so applying pages
 * in index order keeps the flush list ordered (B4).
 */
class RedoIndex {
  private readonly offsetChunks: Int32Array[] = [];
  private readonly groupStartChunks: Float64Array[] = [];
  private readonly groupEndChunks: Float64Array[] = [];
  private readonly nextChunks: Int32Array[] = [];
  records = 0;
  readonly pageSpace: number[] = [];
  readonly pageNo: number[] = [];
  readonly pageFirst: number[] = [];
  readonly pageLast: number[] = [];
  private readonly byPage = new PageHash(1024, true);
  /** Spaces that page records name: their files are ours, whatever a torn header shows. */
  readonly spaces = new Set<number>();

  add(spaceId: number, pageNo: number, offset: number, groupStart: number, groupEnd: number): void {
    const r = this.records++;
    const chunk = r >>> INDEX_CHUNK_BITS;
    const at = r & INDEX_CHUNK_MASK;
    if (at === 0) {
      this.offsetChunks.push(new Int32Array(INDEX_CHUNK));
      this.groupStartChunks.push(new Float64Array(INDEX_CHUNK));
      this.groupEndChunks.push(new Float64Array(INDEX_CHUNK));
      this.nextChunks.push(new Int32Array(INDEX_CHUNK));
    }
    this.offsetChunks[chunk]![at] = offset;
    this.groupStartChunks[chunk]![at] = groupStart;
    this.groupEndChunks[chunk]![at] = groupEnd;
    this.nextChunks[chunk]![at] = -1;
    let page = this.byPage.get(spaceId, pageNo);
    if (page < 0) {
      this.spaces.add(spaceId);
      page = this.pageSpace.length;
      this.byPage.set(spaceId, pageNo, page);
      this.pageSpace.push(spaceId);
      this.pageNo.push(pageNo);
      this.pageFirst.push(r);
      this.pageLast.push(r);
    } else {
      const last = this.pageLast[page]!;
      this.nextChunks[last >>> INDEX_CHUNK_BITS]![last & INDEX_CHUNK_MASK] = r;
      this.pageLast[page] = r;
    }
  }

  /** Where record `r` starts in the scanned log. */
  offset(r: number): number {
    return this.offsetChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The start LSN of the group that holds record `r`. */
  groupStart(r: number): number {
    return this.groupStartChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The end LSN of the group that holds record `r`. */
  groupEnd(r: number): number {
    return this.groupEndChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The page's next record after `r`, or -1. */
  next(r: number): number {
    return this.nextChunks[r >>> INDEX_CHUNK_BITS]![r & INDEX_CHUNK_MASK]!;
  }

  /** The first record of a page, or -1. */
  first(spaceId: number, pageNo: number): number {
    const page = this.byPage.get(spaceId, pageNo);
    return page < 0 ? -1 : this.pageFirst[page]!;
  }

  get pages(): number {
    return this.pageSpace.length;
  }
}

/** Reads the log from `startLsn` in growing chunks, only as far as its valid end (step 2). */
async function scanLog(
  logFile: LogFile,
  startLsn: number,
  check: typeof checkGroup,
  onGroup: (bytes: Uint8Array, at: number, length: number, startLsn: number) => void,
  slices: SliceClock,
): Promise<{ scan: Uint8Array; endLsn: number }> {
  const capacity = logFile.capacity;
  // Reads of 1 MiB (a few milliseconds each: RC4) into one buffer of the log's capacity: the
  // allocation is lazily zeroed by the OS, so only what is read becomes resident, and no copy
  // of a grown buffer stops the event loop.
  const chunk = Math.min(capacity, 1 << 20);
  const scan = new Uint8Array(capacity);
  let have = 0;
  let eof = false;
  const readMore = (): boolean => {
    if (eof || have >= capacity) return false;
    const want = Math.min(chunk, scan.length - have, capacity - have);
    const got = logFile.readRing(scan.subarray(have, have + want), startLsn + have);
    have += got;
    if (got < want) eof = true;
    return got > 0;
  };
  let at = 0;
  readMore();
  for (;;) {
    if (slices.due()) await slices.yield();
    const view = scan.subarray(at, have);
    const result = check(view, startLsn + at, capacity);
    if (result === GroupCheck.Valid) {
      const length = Math.min(groupLength(view), view.length);
      onGroup(scan, at, length, startLsn + at);
      at += length;
      continue;
    }
    if (result === GroupCheck.Short && readMore()) continue;
    break;
  }
  return { scan, endLsn: startLsn + at };
}

/**
 * Steps 1 to 6. The caller (Storage.open) then writes the checkpoint of step 7. The scan, the
 * apply and the flush give the event loop back every SLICE_MS or so (RC4).
 */
export async function recover(input: RecoveryInput): Promise<RecoveryResult> {
  const { logFile, registry, pool } = input;
  const slices = new SliceClock(input.sliceMs);
  const checkpoint = logFile.readCheckpoint(); // step 1
  // After a process crash the kernel lived on: what recovery reads may sit only in its page cache,
  // and a power cut later would take it. Make the log durable before anything derived from it
  // reaches a tablespace (rule WAL for recovered pages), and the directory now; the space files
  // are synced as they are opened (step 3), before step 7 moves the log past what they hold.
  logFile.file.datasync();
  registry.vfs.syncDir('');
  // The open's setup and these syncs were one stretch without a turn of the event loop: the scan
  // starts a slice of its own (RC4).
  await slices.yield();

  // Step 2: scan.
  const index = new RedoIndex();
  const created = new Set<number>();
  const deleted = new Set<number>();
  let groups = 0;
  const check = input.applyTornGroups === true ? checkGroupIgnoringChecksum : checkGroup;
  const { scan, endLsn } = await scanLog(
    logFile,
    checkpoint.lsn,
    check,
    (bytes, groupAt, groupLengthBytes, startLsn) => {
      groups++;
      const endOfGroup = startLsn + groupLengthBytes;
      const end = groupAt + groupLengthBytes - 4;
      for (let at = groupAt + GROUP_HEADER_BYTES; at < end; ) {
        const type = recordType(bytes, at);
        const length = recordLength(bytes, at);
        if (length <= 0 || at + length > end) {
          // The checksum matched, so the writer produced this: a bug, not a torn tail.
          throw new CorruptionError(
            logFile.file.path,
            undefined,
            `redo group at LSN ${startLsn} has a malformed record at byte ${at - groupAt}`,
          );
        }
        const spaceId = recordSpaceId(bytes, at);
        if (isPageRecord(type)) index.add(spaceId, recordPageNo(bytes, at), at, startLsn, endOfGroup);
        else if (type === RedoType.FileCreate) created.add(spaceId);
        else if (type === RedoType.FileDelete) deleted.add(spaceId);
        at += length;
      }
    },
    slices,
  );

  detectCorruptMiddle(logFile, endLsn);
  detectLaterLap(logFile, endLsn);

  const scanBuffer = Buffer.from(scan.buffer, scan.byteOffset, scan.byteLength);

  // Between steps too: the scan's last slice and step 3's syncs, say, were one stretch (RC4).
  if (slices.due()) await slices.yield();

  // Step 3: files.
  let spacesCreated = 0;
  let spacesDeleted = 0;
  const present = new Set(registry.listSpaceFiles());
  const systemLost = !present.has(SYSTEM_SPACE_ID) || registry.vfs.stat(spaceFileName(SYSTEM_SPACE_ID))?.size === 0;
  if (systemLost && !created.has(SYSTEM_SPACE_ID) && (checkpoint.lsn !== LSN_START || groups > 0)) {
    throw new CorruptionError(
      spaceFileName(SYSTEM_SPACE_ID),
      undefined,
      `the system tablespace is ${present.has(SYSTEM_SPACE_ID) ? 'empty' : 'missing'}, but the redo log shows a database that had one (checkpoint at LSN ${checkpoint.lsn}); restore system.ibd from the same backup as redo.log`,
    ); // RC3
  }
  for (const spaceId of present) {
    const empty = registry.vfs.stat(spaceFileName(spaceId))?.size === 0;
    if (deleted.has(spaceId) || (empty && !created.has(spaceId))) {
      registry.deleteFile(spaceId);
      spacesDeleted++;
    } else {
      // The dead process's page writes that its batch sync never covered (rule DURABLE).
      registry.handleFor(registry.openFile(spaceId, true)).datasync();
    }
  }
  for (const spaceId of created) {
    if (!deleted.has(spaceId) && !present.has(spaceId)) {
      registry.createFile(spaceId);
      spacesCreated++;
    }
  }

  if (slices.due()) await slices.yield();

  // Step 4: doublewrite. Headers first, and only into files shown to be ours: a foreign file
  // named like a space must be refused, never "repaired" with another file's page.
  let restored = 0;
  const copies = input.doublewrite?.readCopies(endLsn) ?? new Map<number, Uint8Array>();
  const probe = new Uint8Array(registry.pageSize);
  const restore = (key: number, copy: Uint8Array): void => {
    const space = registry.get(Math.floor(key / 4294967296));
    const pageNo = key % 4294967296;
    if (space === undefined || space.readPageUnchecked(pageNo, probe) === PageCheck.Valid) return;
    space.writeSealedPage(pageNo, copy);
    space.sync();
    restored++;
  };
  for (const spaceId of present) {
    const space = registry.get(spaceId);
    const headerCopy = copies.get(spaceId * 4294967296);
    // The redo naming the space proves the file ours; otherwise look at the file itself.
    const ours = index.spaces.has(spaceId) || created.has(spaceId);
    if (space !== undefined && headerCopy !== undefined && (ours || registry.isOurs(space, headerCopy))) {
      restore(spaceId * 4294967296, headerCopy);
    }
  }
  // With torn headers repaired, every space must now have a header that is ours, or one that
  // its redo rebuilds from scratch.
  for (const spaceId of present) {
    const space = registry.get(spaceId);
    if (space === undefined) continue;
    const first = index.first(spaceId, 0);
    registry.validateHeader(space, first >= 0 && recordType(scan, index.offset(first)) === RedoType.InitPage);
  }
  for (const [key, copy] of copies) {
    if (key % 4294967296 !== 0) restore(key, copy);
  }

  if (slices.due()) await slices.yield();

  // Step 5: apply, page by page in order of first LSN (the index's page order, B4).
  let recordsApplied = 0;
  let pagesApplied = 0;
  const pagesTotal = index.pages;
  for (let p = 0; p < pagesTotal; p++) {
    if (slices.due()) await slices.yield();
    const spaceId = index.pageSpace[p]!;
    const pageNo = index.pageNo[p]!;
    if (deleted.has(spaceId)) continue;
    const space = registry.get(spaceId);
    if (space === undefined) {
      throw new CorruptionError(
        spaceFileName(spaceId),
        pageNo,
        'redo names a tablespace whose file is missing and whose creation is not in the log',
      );
    }
    const firstRecord = index.pageFirst[p]!;
    const startsWithInit = recordType(scan, index.offset(firstRecord)) === RedoType.InitPage;
    const frame = pool.fixWith(spaceId, pageNo, (target) => {
      const result = space.readPageUnchecked(pageNo, target);
      if (result === PageCheck.Valid) return;
      if (startsWithInit) {
        target.fill(0); // rebuilt from nothing by its INIT_PAGE record
        return;
      }
      throw new CorruptionError(
        space.path,
        pageNo,
        `${describePageCheck(result, target)}; no valid doublewrite copy and the redo does not re-initialise it`,
      );
    });
    const frameView = pool.frames[frame]!;
    const page = Buffer.from(frameView.buffer, frameView.byteOffset, frameView.byteLength);
    const lsnBefore = pageLsn(page);
    if (lsnBefore > endLsn) {
      // WAL guarantees a page on disk is never ahead of the durable log, so the log lost an end.
      pool.unfix(frame);
      throw new CorruptionError(
        space.path,
        pageNo,
        `page LSN ${lsnBefore} is ahead of the end of the redo log (${endLsn}): the log is truncated or corrupt`,
      );
    }
    let firstApplied = 0;
    let lastEnd = 0;
    let walked = 0;
    for (let r = firstRecord; r >= 0; r = index.next(r)) {
      // A page every mtr touched (a space header, say) has hundreds of thousands of records,
      // applied or skipped (a page flushed late before the crash skips nearly all): the event
      // loop turns between them too, counted by records walked. The frame stays fixed, and
      // nothing else runs (RC4).
      if ((++walked & 1023) === 0 && slices.due()) await slices.yield();
      const groupEnd = index.groupEnd(r);
      if (groupEnd <= lsnBefore) continue; // rule IDEMPOTENT
      applyPageRecord(scanBuffer, index.offset(r), page);
      recordsApplied++;
      if (firstApplied === 0) firstApplied = index.groupStart(r);
      lastEnd = groupEnd;
    }
    if (lastEnd > 0) pool.markDirty(frame, firstApplied, lastEnd);
    pool.unfix(frame);
    pagesApplied++;
    if ((p & 31) === 31 || p === pagesTotal - 1) {
      input.onProgress?.({ pagesApplied, pagesTotal, lsn: index.groupStart(firstRecord), endLsn });
      input.onEvent?.('recovery-apply');
    }
  }

  // Step 6: make the recovered state durable in the tablespaces, a flush batch at a time.
  while (pool.dirtyPages() > 0) {
    const flushed = pool.flushOldest(RECOVERY_FLUSH_PAGES);
    assert(flushed > 0, 'RC1 no recovered page stays fixed');
    if (slices.due()) await slices.yield();
  }
  registry.syncAll();
  assert(pool.dirtyPages() === 0, 'RC1 every recovered page flushed');
  // What the caller does next (the checkpoint of step 7, the engine's open) starts a turn of its own.
  await slices.yield();

  return {
    checkpointLsn: checkpoint.lsn,
    checkpointNumber: checkpoint.number,
    endLsn,
    nextLsn: endLsn + logFile.capacity,
    groups,
    redoBytes: endLsn - checkpoint.lsn,
    recordsApplied,
    pagesApplied,
    pagesRestoredFromDoublewrite: restored,
    spacesCreated,
    spacesDeleted,
  };
}

/**
 * Steps 1 and 2 alone, reading the log and nothing else: whether the log holds groups past its
 * checkpoint, which only recovery may apply. A read-only open refuses such a database
 * (`core/read-only-open.ts`).
 */
export async function scanPendingRedo(
  logFile: LogFile,
): Promise<{ checkpoint: Checkpoint; endLsn: number; groups: number }> {
  const checkpoint = logFile.readCheckpoint();
  let groups = 0;
  const { endLsn } = await scanLog(logFile, checkpoint.lsn, checkGroup, () => void groups++, new SliceClock());
  detectCorruptMiddle(logFile, endLsn);
  detectLaterLap(logFile, endLsn); // as recover() does: a damaged newest checkpoint slot
  return { checkpoint, endLsn, groups };
}

/**
 * A bad group at the end of the scan is normally a torn tail. But when the group after it (by the
 * bad group's own length) is valid and says the log was durable past the bad group, the bad one
 * had been synced and was damaged afterwards: report it (see DURABLE_LSN in redo-record.ts).
 */
function detectCorruptMiddle(logFile: LogFile, endLsn: number): void {
  const header = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(header, endLsn) < header.length) return;
  const length = groupLength(header);
  if (readU64(header, 4) !== endLsn || length < GROUP_OVERHEAD_BYTES || length >= logFile.capacity / 2) return;
  const nextHeader = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(nextHeader, endLsn + length) < nextHeader.length) return;
  const nextLength = groupLength(nextHeader);
  if (nextLength < GROUP_OVERHEAD_BYTES || nextLength >= logFile.capacity / 2) return;
  const next = new Uint8Array(nextLength);
  if (logFile.readRing(next, endLsn + length) < nextLength) return;
  if (checkGroup(next, endLsn + length, logFile.capacity) !== GroupCheck.Valid) return;
  if (groupDurableLsn(next) >= endLsn + length) {
    throw new CorruptionError(
      logFile.file.path,
      undefined,
      `redo group at LSN ${endLsn} fails its checksum although later groups show it was durable; the log is damaged and committed work after LSN ${endLsn} cannot be recovered from it`,
    );
  }
}

/**
 * The log never holds a group of a later lap at the position where the valid log ends: writing LSN
 * `end + capacity` needs a checkpoint past `end` (L2), which needs `end` durable (L3), and after a
 * recovery the log continues one lap later only once that checkpoint is durable (step 7). So a valid
 * group there means recovery started from a checkpoint older than the newest one, whose slot must be
 * damaged: everything since would be dropped in silence. Report it (rules CHECKSUM, DURABLE).
 */
function detectLaterLap(logFile: LogFile, endLsn: number): void {
  const header = new Uint8Array(GROUP_OVERHEAD_BYTES);
  if (logFile.readRing(header, endLsn) < header.length) return;
  const startLsn = readU64(header, 4);
  const length = groupLength(header);
  if (startLsn <= endLsn || (startLsn - endLsn) % logFile.capacity !== 0) return;
  if (length < GROUP_OVERHEAD_BYTES || length > logFile.capacity) return;
  const group = new Uint8Array(length);
  if (logFile.readRing(group, endLsn) < length) return;
  if (checkGroup(group, startLsn, logFile.capacity) !== GroupCheck.Valid) return;
  throw new CorruptionError(
    logFile.file.path,
    undefined,
    `the redo log continues at LSN ${startLsn}, a later lap than where the scan from the checkpoint ended (${endLsn}): the newest checkpoint slot is damaged and the work after it cannot be found`,
  );
}

/** The seam behind `applyTornGroups`: a group counts when its LENGTH and START_LSN look right. */
function checkGroupIgnoringChecksum(bytes: Uint8Array, expectedLsn: number, lengthMax: number): GroupCheckResult {
  const result = checkGroup(bytes, expectedLsn, lengthMax);
  return result === GroupCheck.BadChecksum || (result === GroupCheck.Short && bytes.length >= GROUP_OVERHEAD_BYTES + 9)
    ? GroupCheck.Valid
    : result;
}
