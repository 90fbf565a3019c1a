/**
 * The pending list: LOB work written ahead of a row change's mtr, dropped when that mtr never came.
 *
 * InnoDB has no such list: it links a LOB's pages into the clustered record's reference as it
 * writes them (the record was inserted first, with a "being modified" flag) and leaves the cleanup
 * of a crash mid-write to the rollback of the transaction. Here the row change's mtr writes the
 * undo record and the clustered record together with the references (rule MTR), so until then the
 * pages hang off the space header's pending list instead (lob-build.ts, README.md L5); the
 * engine cleans it when it opens a table space, before anything reads it, and after a failed row
 * change.
 */
import { pageTypeOf, PageType, readU32, readU64 } from '../page/page.js';
import type { MiniTransaction } from '../redo/mtr.js';
import { type LobContext, SPACE_LOB_PENDING_HEAD } from './lob-context.js';
import {
  FIRST_LOB_ID,
  FIRST_PENDING_NEXT,
  FIRST_PENDING_SLOT_MAX,
  FIRST_PENDING_SLOT_MIN,
  FIRST_STATE,
  FIRST_VERSION,
  LobState,
} from './lob-format.js';
import { dropVersionPages, freeFirstPage, freeLobPages, type FreeProgress } from './lob-free.js';
import { mtrGetter } from './lob-slots.js';

/** The first pages on the space's pending list, head first (for the checker). */
export function pendingLobs(ctx: LobContext): number[] {
  const list: number[] = [];
  for (let pageNo = readU32(ctx.read(ctx.spaceId, 0), SPACE_LOB_PENDING_HEAD); pageNo !== 0; ) {
    list.push(pageNo);
    if (list.length > 1_000_000) throw ctx.corrupt(0, 'L5 the pending LOB list loops');
    const first = ctx.read(ctx.spaceId, pageNo);
    if (pageTypeOf(first) !== PageType.LobFirst)
      throw ctx.corrupt(pageNo, 'L5 the pending list names a page that is no LOB');
    pageNo = readU32(first, FIRST_PENDING_NEXT);
  }
  return list;
}

/**
 * Drops every LOB on the pending list (L5), each over as many mtrs as it needs: a new LOB is
 * freed whole; a version in flight loses the slot copies it made. Returns how many it dropped.
 */
export function cleanUpPending(ctx: LobContext): number {
  let dropped = 0;
  for (;;) {
    const head = readU32(ctx.read(ctx.spaceId, 0), SPACE_LOB_PENDING_HEAD);
    if (head === 0) return dropped;
    const page = ctx.read(ctx.spaceId, head);
    if (pageTypeOf(page) !== PageType.LobFirst)
      throw ctx.corrupt(head, 'L5 the pending list names a page that is no LOB');
    const lobId = readU64(page, FIRST_LOB_ID);
    const state = page[FIRST_STATE];
    if (state === LobState.PendingNew || state === LobState.BeingFreed) {
      const progress: FreeProgress = { slot: 0 };
      ctx.runSteps((mtr) => {
        const done = freeLobPages(mtr, ctx, head, lobId, ctx.pagesPerMtr, progress);
        if (done) {
          unlinkHead(mtr, ctx, head, lobId);
          freeFirstPage(mtr, ctx, head, lobId);
        }
        return done;
      });
    } else if (state === LobState.PendingVersion) {
      const version = readU32(page, FIRST_VERSION) + 1;
      const slots: number[] = [];
      for (let slot = readU32(page, FIRST_PENDING_SLOT_MIN); slot <= readU32(page, FIRST_PENDING_SLOT_MAX); slot++)
        slots.push(slot);
      const progress: FreeProgress = { slot: 0 };
      ctx.runSteps((mtr) => {
        const done = dropVersionPages(mtr, ctx, head, lobId, version, slots, ctx.pagesPerMtr, progress);
        if (done) {
          const first = unlinkHead(mtr, ctx, head, lobId);
          mtr.writeU8(first, FIRST_STATE, LobState.Live);
          mtr.writeU32(first, FIRST_PENDING_SLOT_MIN, 0);
          mtr.writeU32(first, FIRST_PENDING_SLOT_MAX, 0);
        }
        return done;
      });
    } else {
      throw ctx.corrupt(head, `L5 a LOB in state ${String(state)} is on the pending list`);
    }
    dropped++;
  }
}

/** Takes the head LOB off the pending list; returns its first page (fixed by `mtr`). */
function unlinkHead(mtr: MiniTransaction, ctx: LobContext, head: number, lobId: number): Uint8Array {
  const header = mtr.getPage(ctx.spaceId, 0);
  const first = ctx.firstPage(mtrGetter(mtr), head, lobId);
  mtr.writeU32(header, SPACE_LOB_PENDING_HEAD, readU32(first, FIRST_PENDING_NEXT));
  mtr.writeU32(first, FIRST_PENDING_NEXT, 0);
  return first;
}
