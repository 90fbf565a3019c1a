/**
 * The page's header and trailer (src/page/page.ts), one test per invariant: what a read finds in a
 * page decides whether it is data, a page never written, or corruption, and which kind. The crash
 * tests reach these checks through torn and misdirected writes; here each is made by hand, so a
 * check that stopped looking at its field fails by name.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { CorruptionError } from '../../src/errors.js';
import { loadChecksums } from '../../src/page/checksum.js';
import {
  assertPageValid,
  checkPage,
  FIL_PAGE_LSN,
  FIL_PAGE_NO,
  FIL_SPACE_ID,
  FIL_PAGE_TYPE,
  initPage,
  PageCheck,
  PageType,
  sealPage,
  setPageLsn,
  writeU16,
  writeU32,
} from '../../src/page/page.js';
import { TEST_PAGE_SIZE } from '../support/open.js';

const SPACE = 7;
const PAGE_NO = 3;

/** A page as the engine writes it: initialised, its LSN set, sealed. */
function written(lsn = 0x1_2345_6789): Uint8Array {
  const page = new Uint8Array(TEST_PAGE_SIZE);
  initPage(page, SPACE, PAGE_NO, PageType.Index);
  page.fill(0xab, 100, 200); // a body
  setPageLsn(page, lsn);
  sealPage(page);
  return page;
}

beforeAll(loadChecksums);

describe('the page header and trailer', () => {
  it('a sealed page is valid where it was written, and only there', () => {
    const page = written();
    expect(checkPage(page, SPACE, PAGE_NO)).toBe(PageCheck.Valid);
    expect(() => assertPageValid(page, 'space.ibd', SPACE, PAGE_NO)).not.toThrow();
  });

  it('a page of zeros was never written: Empty, neither data nor corruption', () => {
    expect(checkPage(new Uint8Array(TEST_PAGE_SIZE), SPACE, PAGE_NO)).toBe(PageCheck.Empty);
  });

  it('P1: any flipped bit after the checksum field fails the checksum (header, body, trailer)', () => {
    for (const offset of [8, FIL_PAGE_LSN, 150, TEST_PAGE_SIZE - 1]) {
      const page = written();
      page[offset]! ^= 0x10;
      expect(checkPage(page, SPACE, PAGE_NO), `bit flipped at ${offset}`).toBe(PageCheck.BadChecksum);
    }
    const page = written();
    page[0]! ^= 1; // the stored checksum itself
    expect(checkPage(page, SPACE, PAGE_NO)).toBe(PageCheck.BadChecksum);
  });

  it('P1: a page torn between an old and a new image fails the checksum', () => {
    const older = written(100);
    const newer = written(200);
    newer.fill(0xcd, 1000, 3000);
    sealPage(newer);
    const torn = older.slice();
    torn.set(newer.subarray(0, 512)); // the first sector landed, the rest did not
    expect(checkPage(torn, SPACE, PAGE_NO)).toBe(PageCheck.BadChecksum);
  });

  it('P2: a trailer LSN that disagrees with the header LSN is a torn page, even under a matching checksum', () => {
    const page = written(0x1_0000_0010);
    writeU32(page, TEST_PAGE_SIZE - 4, 0x11);
    sealPage(page);
    expect(checkPage(page, SPACE, PAGE_NO)).toBe(PageCheck.TornTrailer);
  });

  it('P3: a page whose header names another page or another space was misdirected', () => {
    const page = written();
    expect(checkPage(page, SPACE, PAGE_NO + 1)).toBe(PageCheck.WrongPageNo);
    expect(checkPage(page, SPACE + 1, PAGE_NO)).toBe(PageCheck.WrongSpaceId);
    const moved = written();
    writeU32(moved, FIL_PAGE_NO, PAGE_NO + 1);
    writeU32(moved, FIL_SPACE_ID, SPACE);
    sealPage(moved);
    expect(checkPage(moved, SPACE, PAGE_NO)).toBe(PageCheck.WrongPageNo);
  });

  it('P4: an unknown page type is corruption, reported with the file and page', () => {
    for (const type of [0, 0xffff]) {
      const page = written();
      writeU16(page, FIL_PAGE_TYPE, type);
      sealPage(page);
      expect(checkPage(page, SPACE, PAGE_NO), `type ${type}`).toBe(PageCheck.BadType);
      expect(() => assertPageValid(page, 'space.ibd', SPACE, PAGE_NO)).toThrow(CorruptionError);
      expect(() => assertPageValid(page, 'space.ibd', SPACE, PAGE_NO)).toThrow(`unknown page type ${type}`);
    }
  });
});
