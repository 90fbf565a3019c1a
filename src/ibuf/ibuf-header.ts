/**
 * The change buffer's header page in the system tablespace: where its tree is, the counter that
 * orders buffered operations, and the counts that size it.
 *
 * InnoDB counterpart: the ibuf header page (FSP_IBUF_HEADER_PAGE_NO, page 3 of the system
 * tablespace) and the in-memory `ibuf_t` (size, free list length, the n_merges and
 * n_merged_ops counters). Page 0 of space 0 names this page in its user area at
 * `SPACE_USER_OFFSET + 8` (+0 is the trx-sys page's, +4 the dictionary's).
 *
 * Byte table (PageType.IbufHeader, integers big-endian):
 *
 * | offset | size | field          | meaning                                                        |
 * |--------|------|----------------|----------------------------------------------------------------|
 * | 0      | 40   | FIL header     | page.ts                                                        |
 * | 40     | 4    | FORMAT         | 1                                                              |
 * | 44     | 4    | TREE_ROOT      | root page (space 0) of the change buffer's B-tree              |
 * | 48     | 8    | NEXT_COUNTER   | the counter of the next buffered operation                      |
 * | 56     | 4    | FLAGS          | bit 0 BITMAP_STALE: opened with buffering off since the bitmaps |
 * |        |      |                | were last kept, so their classes may promise too much (IB5)    |
 * | 60     | 4    | PAGES          | pages with buffered operations (BUFFERED bits set)             |
 * | 64     | 8    | BYTES          | bytes of the records (ibuf-record.ts ibufRecordBytes)          |
 * | 72     | 4x6  | RECORDS        | records by operation (IbufOp order)                            |
 *
 * Every field after TREE_ROOT changes in the mini-transaction that changes what it counts, so the
 * counts are exact after any crash (checked against a recount by `ChangeBuffer.validate`).
 */
import { NIL_PAGE, PageType, pageTypeOf, readU32, readU64, writeU32, writeU64 } from '../page/page.js';
import { SPACE_USER_OFFSET, SYSTEM_SPACE_ID } from '../page/tablespace.js';
import type { BufferPool } from '../buffer/buffer-pool.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { CorruptionError } from '../errors.js';
import { IBUF_OP_COUNT } from './ibuf-record.js';

export const IBUF_HEADER_POINTER_OFFSET = SPACE_USER_OFFSET + 8;
/** The byte table's offsets (the inspector names the fields with them). */
export const IBUF_HEADER_LAYOUT = {
  FORMAT: 40,
  TREE_ROOT: 44,
  NEXT_COUNTER: 48,
  FLAGS: 56,
  PAGES: 60,
  BYTES: 64,
  RECORDS: 72,
} as const;
const { FORMAT, TREE_ROOT, NEXT_COUNTER, FLAGS, PAGES, BYTES, RECORDS } = IBUF_HEADER_LAYOUT;
const COUNTERS = NEXT_COUNTER;
const END = RECORDS + 4 * IBUF_OP_COUNT;
const FORMAT_VERSION = 1;

export const FLAG_BITMAP_STALE = 1;

/** The header's fields, mirrored in memory; `write` stores them all in one record. */
export class IbufHeader {
  readonly pageNo: number;
  readonly treeRoot: number;
  nextCounter = 1;
  flags = 0;
  pages = 0;
  bytes = 0;
  readonly records: number[] = new Array<number>(IBUF_OP_COUNT).fill(0);
  private readonly scratch = new Uint8Array(END - COUNTERS);

  private constructor(pageNo: number, treeRoot: number) {
    this.pageNo = pageNo;
    this.treeRoot = treeRoot;
  }

  /** The header page named by space 0's header, or undefined in a database made before it existed. */
  static find(pool: BufferPool): number | undefined {
    const frame = pool.fix(SYSTEM_SPACE_ID, 0);
    const pointer = readU32(pool.frames[frame]!, IBUF_HEADER_POINTER_OFFSET);
    pool.unfix(frame);
    return pointer === 0 || pointer === NIL_PAGE ? undefined : pointer;
  }

  /** Formats a fresh header page (allocated by the caller) naming the tree at `treeRoot`. */
  static create(mtr: MiniTransaction, pageNo: number, page: Uint8Array, treeRoot: number): IbufHeader {
    mtr.writeU32(page, FORMAT, FORMAT_VERSION);
    mtr.writeU32(page, TREE_ROOT, treeRoot);
    mtr.writeU32(mtr.getPage(SYSTEM_SPACE_ID, 0), IBUF_HEADER_POINTER_OFFSET, pageNo);
    const header = new IbufHeader(pageNo, treeRoot);
    header.write(mtr);
    return header;
  }

  /** Reads the header page. */
  static read(pool: BufferPool, pageNo: number): IbufHeader {
    const frame = pool.fix(SYSTEM_SPACE_ID, pageNo);
    const page = pool.frames[frame]!.slice();
    pool.unfix(frame);
    if (pageTypeOf(page) !== PageType.IbufHeader || readU32(page, FORMAT) !== FORMAT_VERSION) {
      throw new CorruptionError('system.ibd', pageNo, 'the change buffer header page is not one (type or format)');
    }
    const header = new IbufHeader(pageNo, readU32(page, TREE_ROOT));
    header.nextCounter = readU64(page, NEXT_COUNTER);
    header.flags = readU32(page, FLAGS);
    header.pages = readU32(page, PAGES);
    header.bytes = readU64(page, BYTES);
    for (let op = 0; op < IBUF_OP_COUNT; op++) header.records[op] = readU32(page, RECORDS + 4 * op);
    return header;
  }

  /** Records, every operation together. */
  get recordCount(): number {
    let total = 0;
    for (const n of this.records) total += n;
    return total;
  }

  /** Stores every counter in `mtr`: the mtr whose change they count. */
  write(mtr: MiniTransaction): void {
    const s = this.scratch;
    writeU64(s, NEXT_COUNTER - COUNTERS, this.nextCounter);
    writeU32(s, FLAGS - COUNTERS, this.flags);
    writeU32(s, PAGES - COUNTERS, this.pages);
    writeU64(s, BYTES - COUNTERS, this.bytes);
    for (let op = 0; op < IBUF_OP_COUNT; op++) writeU32(s, RECORDS + 4 * op - COUNTERS, this.records[op]!);
    mtr.write(mtr.getPage(SYSTEM_SPACE_ID, this.pageNo), COUNTERS, s);
  }
}
