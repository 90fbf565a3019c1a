/**
 * The LOB checker has teeth: a database with LOBs (two rows, one value at two versions, a freed
 * one) passes `check()`, and each kind of damage the crash tests rely on it to find is reported
 * as ERR_CORRUPTION naming its rule (README L1 twice, L2, L4, L6), never passed or read as data. The
 * damage is written into the closed database's file with a valid checksum, so only the checker's
 * own rules can catch it.
 */
import { describe, expect, it } from 'vitest';
import { Database } from '../../src/api/database.js';
import { DATA_LOB_ID, DATA_VERSION, FIRST_LENGTH, FIRST_SLOTS, lobGeometry, slotOf } from '../../src/lob/lob-format.js';
import {
  FIL_NEXT,
  FIL_PAGE_TYPE,
  PageType,
  readU32,
  readU64,
  sealPage,
  writeU16,
  writeU32,
  writeU64,
} from '../../src/page/page.js';
import {
  SPACE_FREE_HEAD_OFFSET,
  SPACE_FREE_LEN_OFFSET,
  SPACE_SIZE_OFFSET,
  spaceFileName,
} from '../../src/page/tablespace.js';
import { LOB_REF_BYTES, type LobRef, writeLobRef } from '../../src/rec/lob-ref.js';
import { ManualClock } from '../../src/util/clock.js';
import { RandomSource } from '../../src/util/random.js';
import { MemoryVfs } from '../../src/vfs/memory-vfs.js';

const PAGE = 4096;

function open(vfs: MemoryVfs): Promise<Database> {
  return Database.open({ vfs, pageSize: PAGE, redoLogBytes: 1 << 20, background: 'manual', clock: new ManualClock() });
}

/** What the damage needs to find its pages: row 1's reference (at version 2) and row 2's. */
interface Built {
  readonly vfs: MemoryVfs;
  readonly one: LobRef;
  readonly two: LobRef;
}

async function build(): Promise<Built> {
  const vfs = new MemoryVfs();
  const db = await open(vfs);
  await db.createTable({
    name: 'docs',
    columns: [
      { name: 'id', type: 'int32' },
      { name: 'body', type: 'bytes' },
    ],
    primaryKey: ['id'],
  });
  const t = db.table('docs');
  await t.insert({ id: 1, body: new RandomSource(1).fill(new Uint8Array(30_000)) });
  await t.insert({ id: 2, body: new RandomSource(2).fill(new Uint8Array(20_000)) });
  await t.insert({ id: 3, body: new RandomSource(3).fill(new Uint8Array(20_000)) });
  await t.delete(3);
  db.purge(); // row 3's pages go to the free list
  const reader = db.begin(); // keeps row 1's version 1 for the checker to walk
  reader.table('docs').get(1);
  await t.updatePartial(1, 'body', [{ offset: 5_000, bytes: new Uint8Array(300).fill(9) }]); // version 2
  const ref = (id: number) => db.engine.versionChain(db.engine.table('docs'), id)[0]!.row['body'] as LobRef;
  const built = { vfs, one: ref(1), two: ref(2) };
  db.check();
  expect(db.engine.checkLobs()).toMatchObject({ lobs: 2, olderVersionPages: 1 });
  await reader.commit();
  await db.close();
  return built;
}

/** Rewrites page `pageNo` of the table's space through `edit`, with a valid checksum. */
function damage(built: Built, pageNo: number, edit: (page: Uint8Array) => void): void {
  const page = readPage(built, pageNo);
  edit(page);
  sealPage(page);
  const file = built.vfs.open(spaceFileName(built.one.spaceId));
  file.write(page, pageNo * PAGE);
  file.close();
}

function readPage(built: Built, pageNo: number): Uint8Array {
  const file = built.vfs.open(spaceFileName(built.one.spaceId));
  const page = new Uint8Array(PAGE);
  file.read(page, pageNo * PAGE);
  file.close();
  return page;
}

/** The page slot `slot` of `ref`'s LOB names first (its newest version). */
function slotPage(built: Built, ref: LobRef, slot: number): number {
  return readU32(readPage(built, ref.firstPageNo), FIRST_SLOTS + 4 * slot);
}

/** What `check()` says of the damaged database. */
async function checkAfter(built: Built): Promise<{ code: string; message: string } | 'passed'> {
  const db = await open(built.vfs);
  try {
    db.check();
    return 'passed';
  } catch (error) {
    return error as { code: string; message: string };
  } finally {
    await db.close();
  }
}

describe('the LOB checker', () => {
  it('passes the undamaged database', async () => {
    expect(await checkAfter(await build())).toBe('passed');
  });

  it('L1: a LOB page no reference reaches (a page taken off the free list and left as a LOB page) is a leak', async () => {
    const built = await build();
    const header = readPage(built, 0);
    const leaked = readU32(header, SPACE_FREE_HEAD_OFFSET);
    const next = readU32(readPage(built, leaked), FIL_NEXT);
    damage(built, 0, (page) => {
      writeU32(page, SPACE_FREE_HEAD_OFFSET, next);
      writeU32(page, SPACE_FREE_LEN_OFFSET, readU32(page, SPACE_FREE_LEN_OFFSET) - 1);
    });
    damage(built, leaked, (page) => writeU16(page, FIL_PAGE_TYPE, PageType.LobData));
    expect(await checkAfter(built)).toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringMatching(/L1 a LOB page .* no reference reaches: leaked/),
    });
  });

  it("L1: a LOB page two references reach (row 2's record made to name row 1's LOB)", async () => {
    const built = await build();
    const encode = (ref: LobRef): Uint8Array => {
      const bytes = new Uint8Array(LOB_REF_BYTES);
      writeLobRef(bytes, 0, ref);
      return bytes;
    };
    const two = encode(built.two);
    const one = encode(built.one);
    // Find row 2's clustered record by its reference's bytes (unique: the LOB id is in them).
    const size = readU32(readPage(built, 0), SPACE_SIZE_OFFSET);
    const found: { pageNo: number; at: number }[] = [];
    for (let pageNo = 1; pageNo < size; pageNo++) {
      const page = readPage(built, pageNo);
      for (let at = 0; at + LOB_REF_BYTES <= PAGE; at++)
        if (two.every((b, i) => page[at + i] === b)) found.push({ pageNo, at });
    }
    expect(found).toHaveLength(1);
    damage(built, found[0]!.pageNo, (page) => page.set(one, found[0]!.at));
    expect(await checkAfter(built)).toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringMatching(/L1 LOB page reachable from two references/),
    });
  });

  it("L2: a slot's versions out of order", async () => {
    const built = await build();
    const slot = slotOf(lobGeometry(PAGE), 5_000); // the slot the larger change copied
    const newest = slotPage(built, built.one, slot);
    expect(readU32(readPage(built, newest), DATA_VERSION)).toBe(2);
    damage(built, newest, (page) => writeU32(page, DATA_VERSION, 1));
    expect(await checkAfter(built)).toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringMatching(new RegExp(`L2 .* slot ${slot} version 1 after 1`)),
    });
  });

  it("L4: a slot entry naming another LOB's page", async () => {
    const built = await build();
    const other = slotPage(built, built.two, 1);
    expect(readU64(readPage(built, other), DATA_LOB_ID)).toBe(built.two.lobId);
    damage(built, built.one.firstPageNo, (page) => writeU32(page, FIRST_SLOTS + 4, other));
    expect(await checkAfter(built)).toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringContaining(
        `L4 LOB ${built.one.lobId} slot 1: found a page of type ${PageType.LobData} of LOB ${built.two.lobId} slot 1`,
      ),
    });
  });

  it("L6: a LOB's length that is not its reference's", async () => {
    const built = await build();
    damage(built, built.two.firstPageNo, (page) => writeU64(page, FIRST_LENGTH, 19_999));
    expect(await checkAfter(built)).toMatchObject({
      code: 'ERR_CORRUPTION',
      message: expect.stringMatching(/L6 .* LOB of 19999 bytes, the reference says 20000/),
    });
  });
});
