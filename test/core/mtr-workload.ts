/**
 * A seeded workload of multi-page mini-transactions, and the model that says what must survive.
 *
 * Every page of the workload holds a header word (the id of the last mtr that touched it) and
 * SLOTS slots of SLOT_BYTES; mtr `i` writes its id into the header of each page it touches and
 * fills one slot with bytes derived from (i, page, slot), sometimes through a MOVE or a FILL record,
 * or copies another slot of the page into it (a MOVE whose result depends on the page it is applied
 * to, as a B-tree page reorganisation's does: replayed over a newer page it copies newer bytes, so
 * rule IDEMPOTENT is what keeps recovery right).
 * Because the log is sequential, recovery must yield a *prefix* of the mtrs: the recovered state
 * equals the state after mtrs 1..k for some k, with k at least the last mtr acknowledged durable.
 * The largest header id on the pages gives the candidate k; the whole state is then compared.
 */
import { expect } from 'vitest';
import type { Storage, StorageOptions } from '../../src/core/storage.js';
import type { Vfs } from '../../src/vfs/vfs.js';
import { FIL_HEADER_BYTES, PageType, readU32 } from '../../src/page/page.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { RandomSource } from '../../src/util/random.js';
import { testStorageOptions } from '../support/open.js';

export const PAGE_SIZE = 4096;
export const LOG_CAPACITY = 256 * 1024;

/** The small database the core tests run: 4 KiB pages, 64 frames, a 256 KiB log, background work stepped by hand. */
export function storageOptions(vfs: Vfs, extra: Partial<StorageOptions> = {}): StorageOptions {
  return testStorageOptions(vfs, { poolPages: 64, redoLogBytes: LOG_CAPACITY, flushBatchPages: 8, ...extra });
}

export const SLOTS = 8;
export const SLOT_BYTES = 48;
const HEADER = FIL_HEADER_BYTES;
const SLOT_BASE = HEADER + 8;

export interface PageRef {
  readonly spaceId: number;
  readonly pageNo: number;
}

export type TouchKind = 'write' | 'move' | 'fill' | 'copy';

export interface Touch {
  readonly page: number;
  readonly slot: number;
  readonly how: TouchKind;
  /** 'copy': the slot of the same page copied into `slot`. */
  readonly from: number;
}

export interface MtrDescription {
  /** For each touched page (index into `pages`), the slot written and how. */
  readonly touches: readonly Touch[];
}

export interface WorkloadPlan {
  readonly pages: readonly PageRef[];
  readonly mtrs: readonly MtrDescription[];
  /** After which mtr ids the workload waits for durability, runs the cleaner, or checkpoints. */
  readonly durableAfter: ReadonlySet<number>;
  readonly cleanAfter: ReadonlySet<number>;
  readonly checkpointAfter: ReadonlySet<number>;
}

/** The bytes mtr `id` leaves in `slot` of page `page` (not for 'copy', which depends on the page). */
export function slotContent(id: number, page: number, slot: number, how: Exclude<TouchKind, 'copy'>): Uint8Array {
  const bytes = new Uint8Array(SLOT_BYTES);
  if (how === 'fill') return bytes.fill((id * 31 + page * 7 + slot) & 0xff);
  let x = (id * 2654435761 + page * 40503 + slot * 977) >>> 0;
  for (let i = 0; i < SLOT_BYTES; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** Creates the spaces and pages of a plan (durably), returning the pages. */
export function setUpPages(storage: Storage, spaceIds: readonly number[], pagesPerSpace: number): PageRef[] {
  const pages: PageRef[] = [];
  for (const spaceId of spaceIds) {
    storage.createSpace(spaceId);
    for (let i = 0; i < pagesPerSpace; i++) {
      const mtr = storage.startMtr();
      const { pageNo } = allocatePage(mtr, spaceId, PageType.Raw);
      storage.log.flushUpTo(mtr.commit());
      pages.push({ spaceId, pageNo });
    }
  }
  return pages;
}

export function planWorkload(
  seed: number,
  pages: readonly PageRef[],
  mtrCount: number,
  background = true,
): WorkloadPlan {
  const random = new RandomSource(seed);
  const mtrs: MtrDescription[] = [];
  const durableAfter = new Set<number>();
  const cleanAfter = new Set<number>();
  const checkpointAfter = new Set<number>();
  for (let id = 1; id <= mtrCount; id++) {
    const touched = new Set<number>();
    const count = random.intBetween(1, Math.min(4, pages.length));
    while (touched.size < count) touched.add(random.int(pages.length));
    mtrs.push({
      touches: [...touched].map((page) => {
        const slot = random.int(SLOTS);
        return {
          page,
          slot,
          how: random.pick(['write', 'write', 'move', 'fill', 'copy'] as const),
          from: (slot + 1 + random.int(SLOTS - 1)) % SLOTS,
        };
      }),
    });
    if (random.chance(0.3)) durableAfter.add(id);
    if (random.chance(0.15) && background) cleanAfter.add(id);
    if (random.chance(0.05) && background) checkpointAfter.add(id);
  }
  return { pages, mtrs, durableAfter, cleanAfter, checkpointAfter };
}

/** A scratch area in every page, used as the source of MOVE records. */
const SCRATCH = SLOT_BASE + SLOTS * SLOT_BYTES;

/**
 * Runs the plan; returns the id of the last mtr acknowledged durable. Stops at the first error
 * (a simulated crash), which it rethrows after recording progress in `progress`.
 */
export async function runWorkload(
  storage: Storage,
  plan: WorkloadPlan,
  progress: { acked: number; committed: number },
): Promise<void> {
  for (let id = 1; id <= plan.mtrs.length; id++) {
    const mtr = storage.startMtr();
    for (const touch of plan.mtrs[id - 1]!.touches) {
      const ref = plan.pages[touch.page]!;
      const page = mtr.getPage(ref.spaceId, ref.pageNo);
      mtr.writeU32(page, HEADER, id);
      const at = SLOT_BASE + touch.slot * SLOT_BYTES;
      if (touch.how === 'copy') {
        mtr.move(page, at, SLOT_BASE + touch.from * SLOT_BYTES, SLOT_BYTES);
        continue;
      }
      const content = slotContent(id, touch.page, touch.slot, touch.how);
      if (touch.how === 'write') {
        mtr.write(page, at, content);
      } else if (touch.how === 'fill') {
        mtr.fill(page, at, SLOT_BYTES, content[0]!);
      } else {
        mtr.write(page, SCRATCH, content);
        mtr.move(page, at, SCRATCH, SLOT_BYTES);
      }
    }
    const lsn = mtr.commit();
    progress.committed = id;
    if (plan.durableAfter.has(id)) {
      await storage.commitDurable(lsn, 'full');
      progress.acked = id;
    }
    if (plan.cleanAfter.has(id)) storage.backgroundStep();
    if (plan.checkpointAfter.has(id)) storage.checkpoint();
  }
}

/** The expected header and slot bytes per page after mtrs 1..k, and which mtr last set each slot. */
function modelAfter(plan: WorkloadPlan, k: number): { header: number[]; slots: Uint8Array[][]; writers: number[][] } {
  const header = plan.pages.map(() => 0);
  const slots: Uint8Array[][] = plan.pages.map(() => Array.from({ length: SLOTS }, () => new Uint8Array(SLOT_BYTES)));
  const writers = plan.pages.map(() => new Array<number>(SLOTS).fill(0));
  for (let id = 1; id <= k; id++) {
    for (const touch of plan.mtrs[id - 1]!.touches) {
      header[touch.page] = id;
      const page = slots[touch.page]!;
      page[touch.slot] =
        touch.how === 'copy' ? new Uint8Array(page[touch.from]!) : slotContent(id, touch.page, touch.slot, touch.how);
      writers[touch.page]![touch.slot] = id;
    }
  }
  return { header, slots, writers };
}

/**
 * Checks the recovered pages against the model: a prefix k of the mtrs, k >= acked, and no mtr
 * there in part. Returns k.
 */
export function verifyRecovered(storage: Storage, plan: WorkloadPlan, acked: number, committed: number): number {
  const mtr = storage.startMtr();
  const images = plan.pages.map((ref) => mtr.getPage(ref.spaceId, ref.pageNo).slice());
  mtr.commit();
  let k = 0;
  for (const image of images) k = Math.max(k, readU32(image, HEADER));
  expect(k, 'recovered prefix includes every acknowledged mtr').toBeGreaterThanOrEqual(acked);
  expect(k, 'recovered prefix is no longer than what was committed').toBeLessThanOrEqual(committed);
  const model = modelAfter(plan, k);
  for (let p = 0; p < images.length; p++) {
    const image = images[p]!;
    expect(readU32(image, HEADER), `page ${p} header after prefix ${k}`).toBe(model.header[p]);
    for (let slot = 0; slot < SLOTS; slot++) {
      const expected = model.slots[p]![slot]!;
      const actual = image.subarray(SLOT_BASE + slot * SLOT_BYTES, SLOT_BASE + (slot + 1) * SLOT_BYTES);
      if (!Buffer.from(actual).equals(Buffer.from(expected))) {
        const writer = model.writers[p]![slot]!;
        expect.fail(
          `page ${p} slot ${slot} after prefix ${k}: expected the bytes mtr ${writer === 0 ? 'none' : writer} left (an mtr is there in part, or a record was applied twice)`,
        );
      }
    }
  }
  return k;
}
