/**
 * The buffer pool dump and load: which pages were in the pool at a clean close, read back in
 * slices after the next open, so a reopened database does not start with a cold pool.
 *
 * InnoDB counterpart: `buf/buf0dump.cc` (innodb_buffer_pool_dump_at_shutdown,
 * innodb_buffer_pool_load_at_startup, innodb_buffer_pool_dump_pct; on by default since MySQL
 * 5.7). Why it matters here (issue 16): a page's first read into a frame the process has never
 * touched costs the 16 KiB read plus the kernel's first touch of that memory (four page faults,
 * about 1.5 to 3 us each in the benchmark machine's virtual machine), so a freshly opened copy of
 * a 1.5 GB YCSB table, read for 10 s after a 2 s warm-up, still missed on 3 to 10% of its reads,
 * and those misses took about a fifth of the profile's samples. With the load (runs of up to
 * RUN_PAGES_MAX pages per read call, between the caller's own work) the same runs read 85,000
 * pages during the warm-up and missed none afterwards (`scripts/cold-probe.ts`).
 *
 * ## The dump file (`buffer-pool.dump`; integers big-endian, as in pages)
 *
 * | offset  | size | field          | meaning                                                    |
 * |---------|------|----------------|------------------------------------------------------------|
 * | 0       | 4    | DUMP_MAGIC     | 0x4d4e4244 ("MNBD"): a minno pool dump                     |
 * | 4       | 2    | DUMP_FORMAT    | 1; any other is ignored (PD2)                              |
 * | 6       | 2    | (reserved)     | zero                                                       |
 * | 8       | 4    | DUMP_PAGE_SIZE | the database's page size                                   |
 * | 12      | 4    | DUMP_COUNT     | N, the pages listed                                        |
 * | 16      | 8N   | pages          | (space id u32, page number u32), most recently used first  |
 * | 16 + 8N | 4    | DUMP_CHECKSUM  | xxh32 of bytes [0, 16 + 8N)                                |
 *
 * It is written to `buffer-pool.dump.tmp` and renamed over `buffer-pool.dump` at the end of a
 * clean close (`writePoolDump`), and never synced: nothing depends on it (PD1).
 *
 * ## Invariants
 *  PD1. A dump is a hint, never a source of data. Each page it lists is read from its tablespace
 *       and verified like any read (S1 of tablespace.ts), and installed only into a free frame
 *       when it is not in the pool (B10 of buffer-pool.ts). A page not in the pool is on disk in
 *       its latest state (a page leaves the pool only clean, B2), and each page is read and
 *       installed in one synchronous step, so whatever the dump says (stale: written before a
 *       crash, before writes or a drop; torn, truncated, zero-filled, another database's) the
 *       pool holds nothing but what a read would have put there.
 *  PD2. A dump that fails any check (length, magic, format, page size, checksum) is ignored
 *       whole; a missing one means a cold start, nothing else.
 *  PD3. The load never evicts and never holds the event loop: it takes only free frames, stops
 *       when `loadReserve` frames are left free for the workload's own reads, and runs in
 *       slices that share the turn's budget with the page cleaner and purge (util/slices.ts).
 *       A slice lasts no longer than a third of what the caller ran since the last one (from
 *       LOAD_SLICE_MIN_MS to LOAD_SLICE_MS): a busy process keeps at least three quarters of its
 *       time while the load runs; an idle one gives it the minimum slice each turn. (A load that took 20 ms after each 1 ms batch of
 *       requests, as the benchmark harness runs them, left them 5% of the time until it ended.)
 *  PD4. The load never raises: a page that fails its check, lies past its file's end or whose
 *       space is gone is skipped (the workload's own read of a bad page raises, naming it), and
 *       an I/O error ends the load.
 *
 * ## Where we differ from InnoDB, and why
 *  - The file is binary with a checksum; InnoDB's `ib_buffer_pool` is text, one "space,page"
 *    line per page, and a line it cannot parse ends the load.
 *  - Like InnoDB, `bufferPoolDumpPct` defaults to 25. It was 100 at first (the dump costs only 8
 *    bytes a page), until a 1M-record YCSB run with a 2.2 GiB pool showed the price: the load of
 *    1.5 GB took more than the run's 2 s warm-up and halved the first seconds of a read-mostly
 *    workload (YCSB C 85,455 ops/s with the whole pool listed, 119,058 with a pool a tenth the
 *    size, whose load ended at once). Pages loaded ahead cost what a miss costs; a quarter, most
 *    recently used first, holds the hot pages of most workloads and is loaded four times sooner.
 *  - Runs of consecutive pages (sorted by space and page, as InnoDB sorts before loading) are
 *    read with one read call of up to RUN_PAGES_MAX pages; InnoDB issues one read per page.
 *  - The load's share of the time follows the caller's (PD3); InnoDB throttles its load to
 *    innodb_io_capacity while the server is busy.
 *  - The dump is written only at a clean close (no innodb_buffer_pool_dump_now), and loaded only
 *    by a read-write open with background 'auto' (no load_now or load_abort; a read-only open
 *    writes nothing, and 'manual' mode runs no background work: tests step `PoolLoad`).
 */
import { checksum32 } from '../page/checksum.js';
import { PageCheck, checkPage, readU16, readU32, writeU16, writeU32 } from '../page/page.js';
import type { SpaceRegistry } from '../page/tablespace.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { SLICE_MS, TurnTaker } from '../util/slices.js';
import type { Vfs } from '../vfs/vfs.js';
import type { BufferPool } from './buffer-pool.js';

export const DUMP_FILE = 'buffer-pool.dump';
export const DUMP_FILE_TMP = 'buffer-pool.dump.tmp';
export const DUMP_MAGIC = 0x4d4e4244;
export const DUMP_FORMAT = 1;
const HEADER_BYTES = 16;
const PAIR_BYTES = 8;
const CHECKSUM_BYTES = 4;
/** The most pages a dump may list: 2^24, 256 GiB of 16 KiB pages, beyond any pool (one typed array). */
const DUMP_PAGES_MAX = 1 << 24;
/** Pages read by one call of a run (256 KiB at 16 KiB pages: a run stays well under a slice). */
export const RUN_PAGES_MAX = 16;
/** The longest slice of the timers' load (PD3): the engine's usual slice. */
export const LOAD_SLICE_MS = SLICE_MS;
/** The shortest: what the load gets however busy the caller is. */
export const LOAD_SLICE_MIN_MS = 1;
/** PD3: a load slice is at most the caller's time since the last slice over this, so the load takes at most a quarter. */
const LOAD_SHARE_DIVISOR = 3;

/** The frames the load leaves free for the workload's reads (PD3): a thirty-second, at least 16. */
export function loadReserve(frameCount: number): number {
  return Math.max(16, Math.floor(frameCount / 32));
}

/**
 * Writes the dump of the pool's most recently used `percent` of its pages (PD1: not synced; the
 * rename replaces an older dump whole). Returns the pages listed.
 */
export function writePoolDump(vfs: Vfs, pool: BufferPool, percent: number): number {
  const resident = pool.frameCount - pool.freeFrames();
  const pairs = pool.residentPages(Math.min(DUMP_PAGES_MAX, Math.ceil((resident * percent) / 100)));
  const count = pairs.length / 2;
  const bytes = new Uint8Array(HEADER_BYTES + count * PAIR_BYTES + CHECKSUM_BYTES);
  writeU32(bytes, 0, DUMP_MAGIC);
  writeU16(bytes, 4, DUMP_FORMAT);
  writeU32(bytes, 8, pool.pageSize);
  writeU32(bytes, 12, count);
  for (let i = 0; i < pairs.length; i++) writeU32(bytes, HEADER_BYTES + i * 4, pairs[i]!);
  const body = HEADER_BYTES + count * PAIR_BYTES;
  writeU32(bytes, body, checksum32(bytes.subarray(0, body)));
  const file = vfs.open(DUMP_FILE_TMP, { create: true, truncate: true });
  try {
    file.write(bytes, 0);
  } finally {
    file.close();
  }
  vfs.rename(DUMP_FILE_TMP, DUMP_FILE);
  return count;
}

/**
 * The (space id, page number) pairs of the dump, most recently used first, or undefined when
 * there is none or it fails a check (PD2).
 */
export function readPoolDump(vfs: Vfs, pageSize: number): Uint32Array | undefined {
  const stat = vfs.stat(DUMP_FILE);
  if (stat === undefined || stat.kind !== 'file') return undefined;
  const size = stat.size;
  if (size < HEADER_BYTES + CHECKSUM_BYTES || size > HEADER_BYTES + DUMP_PAGES_MAX * PAIR_BYTES + CHECKSUM_BYTES)
    return undefined;
  const bytes = new Uint8Array(size);
  const file = vfs.open(DUMP_FILE, { readOnly: true });
  try {
    if (file.read(bytes, 0) !== size) return undefined;
  } finally {
    file.close();
  }
  const count = readU32(bytes, 12);
  const body = HEADER_BYTES + count * PAIR_BYTES;
  if (
    readU32(bytes, 0) !== DUMP_MAGIC ||
    readU16(bytes, 4) !== DUMP_FORMAT ||
    readU32(bytes, 8) !== pageSize ||
    body + CHECKSUM_BYTES !== size ||
    readU32(bytes, body) !== checksum32(bytes.subarray(0, body))
  )
    return undefined;
  const pairs = new Uint32Array(count * 2);
  for (let i = 0; i < pairs.length; i++) pairs[i] = readU32(bytes, HEADER_BYTES + i * 4);
  return pairs;
}

/**
 * One load of a dump into the pool, stepped: by the timers after an open (`schedulePoolLoad`),
 * or by a test.
 */
export class PoolLoad {
  /** Pages installed, and pages listed but not installed (in the pool already, bad, gone: PD4). */
  loaded = 0;
  skipped = 0;
  private readonly pairs: Uint32Array;
  private at = 0;
  private ended = false;
  private readonly scratch: Uint8Array;
  private readonly reserve: number;

  /** `listed`: the dump's pairs, most recently used first. */
  constructor(
    private readonly pool: BufferPool,
    private readonly spaces: SpaceRegistry,
    listed: Uint32Array,
  ) {
    this.reserve = loadReserve(pool.frameCount);
    // The most recently used that can fit, then in file order for runs of reads (as buf_load).
    // Space ids stay below 2^20 (tablespace.ts SPACE_ID_MAX), so space * 2^32 + page is exact.
    const count = Math.min(listed.length / 2, Math.max(0, pool.frameCount - this.reserve));
    const keys = new Float64Array(count);
    for (let i = 0; i < count; i++) keys[i] = listed[2 * i]! * 2 ** 32 + listed[2 * i + 1]!;
    keys.sort();
    this.pairs = new Uint32Array(count * 2);
    for (let i = 0; i < count; i++) {
      this.pairs[2 * i] = Math.floor(keys[i]! / 2 ** 32);
      this.pairs[2 * i + 1] = keys[i]! % 2 ** 32;
    }
    this.scratch = new Uint8Array(RUN_PAGES_MAX * pool.pageSize);
  }

  get done(): boolean {
    return this.ended || this.at >= this.pairs.length / 2;
  }

  /** Loads runs of pages until `deadline` (performance.now()) has passed after one. True when done. */
  step(deadline = Number.POSITIVE_INFINITY): boolean {
    const pairs = this.pairs;
    const n = pairs.length / 2;
    while (!this.done) {
      const room = this.pool.freeFrames() - this.reserve;
      if (room <= 0) {
        this.ended = true; // PD3: the rest would take the workload's frames
        break;
      }
      const spaceId = pairs[2 * this.at]!;
      const first = pairs[2 * this.at + 1]!;
      let length = 1;
      while (
        this.at + length < n &&
        length < Math.min(RUN_PAGES_MAX, room) &&
        pairs[2 * (this.at + length)] === spaceId &&
        pairs[2 * (this.at + length) + 1] === first + length
      )
        length++;
      this.at += length;
      this.loadRun(spaceId, first, length);
      if (performance.now() >= deadline) break;
    }
    return this.done;
  }

  private loadRun(spaceId: number, first: number, length: number): void {
    const space = this.spaces.get(spaceId);
    const pageSize = this.pool.pageSize;
    let read = 0;
    if (space !== undefined) {
      try {
        read = space.readPagesUnchecked(first, this.scratch.subarray(0, length * pageSize));
      } catch {
        this.ended = true; // PD4: an I/O error ends the load; the workload's reads will report it
        this.skipped += length;
        return;
      }
    }
    for (let i = 0; i < length; i++) {
      const image = this.scratch.subarray(i * pageSize, (i + 1) * pageSize);
      if (
        i < read &&
        checkPage(image, spaceId, first + i) === PageCheck.Valid &&
        this.pool.installPage(spaceId, first + i, image)
      )
        this.loaded++;
      else this.skipped++;
    }
  }
}

/**
 * Loads the dump in `vfs`, if there is a good one, on the clock's timers in slices (PD3) while
 * `isOpen()` holds. Returns the handle that stops it, or undefined when there is nothing to load.
 */
export function schedulePoolLoad(
  vfs: Vfs,
  pool: BufferPool,
  spaces: SpaceRegistry,
  clock: Clock,
  isOpen: () => boolean,
): TimerHandle | undefined {
  const listed = readPoolDump(vfs, pool.pageSize);
  if (listed === undefined) return undefined;
  const load = new PoolLoad(pool, spaces, listed);
  const turns = new TurnTaker();
  let timer: TimerHandle | undefined;
  let sliceEnd = performance.now();
  const step = (): void => {
    timer = undefined;
    if (!isOpen()) return;
    const callerMs = performance.now() - sliceEnd;
    const sliceMs = Math.min(LOAD_SLICE_MS, Math.max(LOAD_SLICE_MIN_MS, callerMs / LOAD_SHARE_DIVISOR));
    if (!turns.deferNow() && load.step(turns.deadline(sliceMs))) return;
    sliceEnd = performance.now();
    timer = clock.setTimer(1, step);
  };
  timer = clock.setTimer(1, step);
  return { cancel: () => timer?.cancel() };
}
