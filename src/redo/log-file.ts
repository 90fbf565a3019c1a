/**
 * The redo log file: a header, two checkpoint slots, and a ring of log bytes.
 *
 * InnoDB counterpart: `log/log0files_io.cc` and MariaDB 10.8's single `ib_logfile0`. One file of
 * bounded size, reused lap after lap: the byte of LSN `l` lives at `RING_OFFSET + (l mod capacity)`.
 *
 * ## Growth (InnoDB 8.0.30's dynamic redo, in one file)
 * A new log holds only its first extent (`LOG_EXTENT_BYTES_FIRST` of ring, zero-filled), so a new
 * database is small and quick to create. During the first lap, a write that would pass the end of
 * what is allocated first extends the file with real zeros by one more extent (the allocated size
 * again, at most `LOG_EXTENT_BYTES_MAX`, never past the capacity) and syncs it (`sync`: size and
 * block map), so the log writes into it change neither, and each `datasync` has no metadata to
 * flush (on the reference machine: 10,000 datasyncs/s on a preallocated file against 5,300/s when
 * appending). From the second lap on the ring is whole and the file never changes size again.
 * The ring's geometry (`capacity`, the modulus) is fixed at creation, so growth moves no byte and
 * no LSN: the only new state is where the file ends, and a reader that meets the end of the file,
 * or zeros of an extent not written yet, has met the end of the log (rule LOG-TAIL, R1). A crash
 * during an extension leaves zeros or a shorter file past the durable log: the same end.
 *
 * ## Rewind (a clean close gives the space back)
 * A clean close flushes every page and checkpoints at the end of the log, so no byte of the ring
 * is needed any more; without more, the file keeps its whole capacity (64 MiB by default) on
 * disk for good, a quarter of a 1M-row sbtest database. `rewind` moves the checkpoint to the
 * next lap boundary (an LSN at ring position 0, past every LSN written: LSNs only grow, L1, and
 * every page LSN is below it), syncs it, then truncates the file back to its first extent and
 * syncs the size. The log then continues at position 0 and grows again as a new one does. Every
 * crash point is safe: before the checkpoint is durable the old checkpoint and the whole ring
 * are there; after it, a scan from the new checkpoint meets, at position 0, old bytes whose
 * LSNs belong to an earlier lap, or zeros, or the end of the file: the end of the log (R1), with
 * nothing to redo, as after recovery's own jump of a lap (recovery.ts step 7). InnoDB 8.0.30
 * reaches the same end by deleting consumed redo files; MariaDB shrinks its log only on resize.
 *
 * Invariants:
 *  F1. Every ring write lands inside the allocated ring: an extension (zero-filled and synced)
 *      comes first (`ensureAllocated`).
 *  F2. `allocatedBytes` only grows while the log is in use, and never past `capacity`; only
 *      `rewind`, the last write of a clean close, shrinks it (to the first extent).
 *
 * | offset | size | field                                                                      |
 * |--------|------|----------------------------------------------------------------------------|
 * | 0      | 512  | file header                                                                |
 * | 512    | 512  | checkpoint slot 0                                                          |
 * | 1024   | 512  | checkpoint slot 1                                                          |
 * | 1536   | 2560 | (reserved, zero)                                                           |
 * | 4096   | cap  | the ring                                                                   |
 *
 * File header:
 *
 * | offset | size | field     | meaning                                                      |
 * |--------|------|-----------|--------------------------------------------------------------|
 * | 0      | 4    | MAGIC     | 0x4d4e4c47 ("MNLG")                                          |
 * | 4      | 4    | FORMAT    | 1; a larger number is a newer format we refuse to open       |
 * | 8      | 8    | CAPACITY  | ring size in bytes                                           |
 * | 16     | 4    | PAGE_SIZE | the database's page size                                     |
 * | 20     | 4    | CHECKSUM  | xxh32 of bytes [0, 20)                                       |
 *
 * Checkpoint slot (written alternately: slot = number mod 2, so a torn write of one leaves the
 * other intact):
 *
 * | offset | size | field     | meaning                                                      |
 * |--------|------|-----------|--------------------------------------------------------------|
 * | 0      | 4    | MAGIC     | 0x4d4e434b ("MNCK")                                          |
 * | 4      | 8    | NUMBER    | checkpoint number, +1 each time                              |
 * | 12     | 8    | LSN       | recovery starts scanning here                                |
 * | 20     | 4    | CHECKSUM  | xxh32 of bytes [0, 20)                                       |
 */
import { CorruptionError, IncompatibleFormatError } from '../errors.js';
import { assert } from '../util/assert.js';
import { checksum32 } from '../page/checksum.js';
import { readU32, readU64, writeU32, writeU64 } from '../page/page.js';
import type { Vfs, VfsFile } from '../vfs/vfs.js';

export const LOG_FILE = 'redo.log';
export const LOG_FILE_TMP = 'redo.log.tmp';
export const LOG_MAGIC = 0x4d4e4c47;
export const LOG_FORMAT = 1;
export const CHECKPOINT_MAGIC = 0x4d4e434b;
export const CHECKPOINT_SLOT_OFFSETS = [512, 1024] as const;
export const RING_OFFSET = 4096;
/** The first LSN of a new database. Page LSN 0 means "never changed by redo". */
export const LSN_START = 8192;
export const LOG_CAPACITY_MIN = 256 * 1024;
/** The ring allocated when a log is created: a new database stays well under 1 MiB on disk. */
export const LOG_EXTENT_BYTES_FIRST = 512 * 1024;
/** The largest extension: bounds the zeros one log write may have to lay down first. */
export const LOG_EXTENT_BYTES_MAX = 4 * 1024 * 1024;
const ZEROS = new Uint8Array(1 << 20);

export interface Checkpoint {
  readonly number: number;
  readonly lsn: number;
}

export class LogFile {
  readonly file: VfsFile;
  readonly capacity: number;
  readonly pageSize: number;
  /** Ring bytes the file holds (written or zero-filled), from position 0 (F2). */
  private allocated: number;
  /** Extend the first lap in zero-filled, synced extents (true) or write by write (false). */
  private readonly preallocate: boolean;
  private readonly slot = new Uint8Array(512);

  private constructor(file: VfsFile, capacity: number, pageSize: number, preallocate: boolean) {
    this.file = file;
    this.capacity = capacity;
    this.pageSize = pageSize;
    this.preallocate = preallocate;
    this.allocated = Math.min(capacity, Math.max(0, file.size() - RING_OFFSET));
  }

  /** Ring bytes the file holds now; `capacity` once the first lap is allocated. */
  get allocatedBytes(): number {
    return this.allocated;
  }

  /**
   * Creates the log file crash-safely: written and synced under a temporary name, then renamed
   * into place and the directory synced (rule DIR). A crash leaves either no log (a database
   * that was never created) or a whole one.
   */
  static create(vfs: Vfs, capacity: number, pageSize: number, preallocate: boolean): LogFile {
    assert(capacity >= LOG_CAPACITY_MIN, 'log capacity checked by the caller');
    if (vfs.stat(LOG_FILE_TMP) !== undefined) vfs.remove(LOG_FILE_TMP);
    const tmp = vfs.open(LOG_FILE_TMP, { create: true, exclusive: true });
    const header = new Uint8Array(RING_OFFSET);
    writeU32(header, 0, LOG_MAGIC);
    writeU32(header, 4, LOG_FORMAT);
    writeU64(header, 8, capacity);
    writeU32(header, 16, pageSize);
    writeU32(header, 20, checksum32(header.subarray(0, 20)));
    tmp.write(header, 0);
    if (preallocate) writeZeros(tmp, RING_OFFSET, RING_OFFSET + Math.min(capacity, LOG_EXTENT_BYTES_FIRST));
    tmp.sync();
    tmp.close();
    vfs.rename(LOG_FILE_TMP, LOG_FILE);
    vfs.syncDir('');
    const log = LogFile.open(vfs, pageSize, preallocate);
    log.writeCheckpoint({ number: 1, lsn: LSN_START });
    log.file.datasync();
    return log;
  }

  /**
   * Opens and validates the header. Refuses a newer format, a page size mismatch, garbage.
   * `preallocate`: how the first lap grows from here on (see Growth).
   */
  static open(vfs: Vfs, pageSize: number, preallocate = true): LogFile {
    const file = vfs.open(LOG_FILE);
    const header = new Uint8Array(24);
    if (file.read(header, 0) < 24) {
      file.close();
      throw new CorruptionError(LOG_FILE, undefined, 'log file header is truncated');
    }
    if (readU32(header, 0) !== LOG_MAGIC) {
      file.close();
      throw new IncompatibleFormatError(LOG_FILE, 'not a minno redo log (bad magic number)');
    }
    if (checksum32(header.subarray(0, 20)) !== readU32(header, 20)) {
      file.close();
      throw new CorruptionError(LOG_FILE, undefined, 'log file header checksum mismatch');
    }
    const format = readU32(header, 4);
    if (format > LOG_FORMAT) {
      file.close();
      throw new IncompatibleFormatError(
        LOG_FILE,
        `redo log format ${format} is newer than this minno (${LOG_FORMAT}); open it with a newer minno`,
      );
    }
    const storedPageSize = readU32(header, 16);
    if (storedPageSize !== pageSize) {
      file.close();
      throw new IncompatibleFormatError(
        LOG_FILE,
        `database was created with page size ${storedPageSize}, opened with ${pageSize}; open it with pageSize: ${storedPageSize}`,
      );
    }
    return new LogFile(file, readU64(header, 8), pageSize, preallocate);
  }

  /** The newest valid checkpoint, or a `CorruptionError` when neither slot is valid. */
  readCheckpoint(): Checkpoint {
    let best: Checkpoint | undefined;
    for (const offset of CHECKPOINT_SLOT_OFFSETS) {
      const slot = new Uint8Array(24);
      if (this.file.read(slot, offset) < 24) continue;
      if (readU32(slot, 0) !== CHECKPOINT_MAGIC) continue;
      if (checksum32(slot.subarray(0, 20)) !== readU32(slot, 20)) continue;
      const checkpoint = { number: readU64(slot, 4), lsn: readU64(slot, 12) };
      if (best === undefined || checkpoint.number > best.number) best = checkpoint;
    }
    if (best === undefined) {
      throw new CorruptionError(
        LOG_FILE,
        undefined,
        'neither checkpoint slot is valid; the database cannot be recovered from this log',
      );
    }
    return best;
  }

  /** Writes a checkpoint into slot `number mod 2`. The caller syncs. */
  writeCheckpoint(checkpoint: Checkpoint): void {
    const slot = this.slot;
    slot.fill(0);
    writeU32(slot, 0, CHECKPOINT_MAGIC);
    writeU64(slot, 4, checkpoint.number);
    writeU64(slot, 12, checkpoint.lsn);
    writeU32(slot, 20, checksum32(slot.subarray(0, 20)));
    this.file.write(slot, CHECKPOINT_SLOT_OFFSETS[checkpoint.number % 2]!);
  }

  /**
   * Rewind (see the module doc): `checkpoint` is the newest, at the end of a log whose pages are
   * all flushed. Returns the checkpoint the log now continues from (the same one when the file
   * is already at its first extent, or grows write by write, and there is nothing to give back).
   */
  rewind(checkpoint: Checkpoint): Checkpoint {
    if (!this.preallocate || this.allocated <= LOG_EXTENT_BYTES_FIRST) return checkpoint;
    const rewound = {
      number: checkpoint.number + 1,
      lsn: (Math.floor(checkpoint.lsn / this.capacity) + 1) * this.capacity,
    };
    assert(rewound.lsn % this.capacity === 0 && rewound.lsn > checkpoint.lsn, 'a rewind continues at ring position 0');
    this.writeCheckpoint(rewound);
    this.file.datasync();
    this.file.truncate(RING_OFFSET + LOG_EXTENT_BYTES_FIRST);
    this.file.sync();
    this.allocated = LOG_EXTENT_BYTES_FIRST;
    return rewound;
  }

  /** Writes `bytes`, which hold the log from `lsn` on, at their ring positions (split at the wrap). */
  writeRing(bytes: Uint8Array, lsn: number): void {
    assert(bytes.length <= this.capacity, 'a ring write fits the ring');
    const at = lsn % this.capacity;
    const first = Math.min(bytes.length, this.capacity - at);
    if (at + first > this.allocated) this.ensureAllocated(at + first);
    this.file.write(bytes.subarray(0, first), RING_OFFSET + at);
    if (first < bytes.length) this.file.write(bytes.subarray(first), RING_OFFSET);
  }

  /**
   * Makes the ring hold at least `end` bytes (F1): one extension of zeros, synced, so the log
   * writes into it are pure data writes. Without preallocation the write itself extends the file.
   * A write that wraps needs no extension: reaching the ring's end allocated all of it.
   */
  private ensureAllocated(end: number): void {
    assert(end <= this.capacity, 'F2 the ring never grows past its capacity');
    if (this.preallocate) {
      const step = Math.min(Math.max(this.allocated, LOG_EXTENT_BYTES_FIRST), LOG_EXTENT_BYTES_MAX);
      const target = Math.min(this.capacity, Math.max(end, this.allocated + step));
      writeZeros(this.file, RING_OFFSET + this.allocated, RING_OFFSET + target);
      this.file.sync();
      this.allocated = target;
    } else {
      this.allocated = end;
    }
  }

  /**
   * Reads the log from `lsn` into `target` (at most one lap). Returns how many bytes were there:
   * short when the file ends early (a truncated or not yet extended log).
   */
  readRing(target: Uint8Array, lsn: number): number {
    assert(target.length <= this.capacity, 'a ring read fits the ring');
    const at = lsn % this.capacity;
    const first = Math.min(target.length, this.capacity - at);
    const got = this.file.read(target.subarray(0, first), RING_OFFSET + at);
    if (got < first || first === target.length) return got;
    return first + this.file.read(target.subarray(first), RING_OFFSET);
  }

  close(): void {
    this.file.close();
  }
}

/** Writes zeros over [from, to) of `file`, a megabyte at a time. */
function writeZeros(file: VfsFile, from: number, to: number): void {
  for (let at = from; at < to; at += ZEROS.length) file.write(ZEROS.subarray(0, Math.min(ZEROS.length, to - at)), at);
}
