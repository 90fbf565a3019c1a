/**
 * A seeded workload of multi-page mini-transactions, and the model that says what must survive.
 *
 * Every page of the workload holds a header word (the id of the last mtr that touched it) and
 * SLOTS slots of SLOT_BYTES; mtr `i` writes its id into the header of each page it touches and
 * fills one slot with bytes derived from (i, page, slot), sometimes through a MOVE or a FILL record.
 * Because the log is sequential, recovery must yield a *prefix* of the mtrs: the recovered state
 * equals the state after mtrs 1..k for some k, with k at least the last mtr acknowledged durable.
 * The largest header id on the pages gives the candidate k; the whole state is then compared.
 */
import { expect } from 'vitest';
import type { Storage } from '../../src/core/storage.js';
import { FIL_HEADER_BYTES, PageType, readU32 } from '../../src/page/page.js';
import { allocatePage } from '../../src/page/space-allocator.js';
import { RandomSource } from '../../src/util/random.js';

export const SLOTS = 8;
export const SLOT_BYTES = 48;
const HEADER = FIL_HEADER_BYTES;
const SLOT_BASE = HEADER + 8;

export interface PageRef {
  readonly spaceId: number;
  readonly pageNo: number;
}

export interface MtrDescription {
  /** For each touched page (index into `pages`), the slot written and how. */
  readonly touches: ReadonlyArray<{ readonly page: number; readonly slot: number; readonly how: 'write' | 'move' | 'fill' }>;
}

export interface WorkloadPlan {
  readonly pages: readonly PageRef[];
  readonly mtrs: readonly MtrDescription[];
  /** After which mtr ids the workload waits for durability, runs the cleaner, or checkpoints. */
  readonly durableAfter: ReadonlySet<number>;
  readonly cleanAfter: ReadonlySet<number>;
  readonly checkpointAfter: ReadonlySet<number>;
}

/** The bytes mtr `id` leaves in `slot` of page `page`. */
export function slotContent(id: number, page: number, slot: number, how: 'write' | 'move' | 'fill'): Uint8Array {
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

export function planWorkload(seed: number, pages: readonly PageRef[], mtrCount: number, background = true): WorkloadPlan {
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
      touches: [...touched].map((page) => ({
        page,
        slot: random.int(SLOTS),
        how: random.pick(['write', 'write', 'move', 'fill'] as const),
      })),
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
export async function runWorkload(storage: Storage, plan: WorkloadPlan, progress: { acked: number; committed: number }): Promise<void> {
  for (let id = 1; id <= plan.mtrs.length; id++) {
    const mtr = storage.startMtr();
    for (const touch of plan.mtrs[id - 1]!.touches) {
      const ref = plan.pages[touch.page]!;
      const page = mtr.getPage(ref.spaceId, ref.pageNo);
      mtr.writeU32(page, HEADER, id);
      const content = slotContent(id, touch.page, touch.slot, touch.how);
      const at = SLOT_BASE + touch.slot * SLOT_BYTES;
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

/** The expected slot writers (mtr id, how) per page after mtrs 1..k. */
function modelAfter(plan: WorkloadPlan, k: number): { header: number[]; slots: Array<Array<{ id: number; how: 'write' | 'move' | 'fill' } | undefined>> } {
  const header = plan.pages.map(() => 0);
  const slots = plan.pages.map(() => new Array<{ id: number; how: 'write' | 'move' | 'fill' } | undefined>(SLOTS).fill(undefined));
  for (let id = 1; id <= k; id++) {
    for (const touch of plan.mtrs[id - 1]!.touches) {
      header[touch.page] = id;
      slots[touch.page]![touch.slot] = { id, how: touch.how };
    }
  }
  return { header, slots };
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
      const writer = model.slots[p]![slot];
      const expected = writer === undefined ? new Uint8Array(SLOT_BYTES) : slotContent(writer.id, p, slot, writer.how);
      const actual = image.subarray(SLOT_BASE + slot * SLOT_BYTES, SLOT_BASE + (slot + 1) * SLOT_BYTES);
      if (!Buffer.from(actual).equals(Buffer.from(expected))) {
        expect.fail(`page ${p} slot ${slot} after prefix ${k}: expected mtr ${writer?.id ?? 'none'}'s bytes (an mtr is there in part)`);
      }
    }
  }
  return k;
}
