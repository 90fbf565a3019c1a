/**
 * The first workload: storage-core mini-transactions over several tablespaces.
 *
 * A client operation is one mini-transaction (the storage core's unit of atomicity), committed
 * under 'full', 'write' or 'none' and awaited by its client:
 *
 *   mtr           writes, MOVEs and FILLs into slots of 0-5 live pages (8-20 in a bulk mtr,
 *                 whose redo group spans several log sectors), allocates 0-2 pages and frees
 *                 0-1, and bumps the catalog's COUNTER: every multi-page case of rule MTR
 *   create-space  createSpace (durable on return), then an mtr that adds it to the catalog and
 *                 allocates its first pages
 *   drop-space    an mtr that removes a space from the catalog, then dropSpace (durable on return)
 *
 * Like a data dictionary's DDL log, the catalog mtr and the file operation are two steps; a crash
 * between them leaves a space file the catalog does not name. After recovery the workload rolls
 * such spaces forward (drops them), as InnoDB's DDL recovery does.
 *
 * Each run draws its own mix (swarm testing, swarm.ts): the weights of the durability levels, how
 * often DDL, bulk mtrs, allocation and freeing come.
 *
 * Operations hold raw picks (`pick mod live pages`), resolved against the model when they run, so
 * every sub-list of a schedule is still valid (the shrinker). Model: `core-model.ts`.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Storage } from '../src/core/storage.js';
import { MinnoError, SimulatedCrashError } from '../src/errors.js';
import { PageType, pageTypeOf, readU32 } from '../src/page/page.js';
import { allocatePage, freePage } from '../src/page/space-allocator.js';
import { SYSTEM_SPACE_ID, spaceFileName } from '../src/page/tablespace.js';
import type { MiniTransaction } from '../src/redo/mtr.js';
import { DURABILITY_LEVELS, type Durability } from '../src/redo/redo-log.js';
import type { RandomSource } from '../src/util/random.js';
import type { FaultVfs } from '../src/vfs/fault-vfs.js';
import type { CoreEngine } from './core-target.js';
import {
  BODY_START,
  CATALOG_COUNTER,
  CATALOG_SPACES,
  CoreState,
  Fingerprint,
  HANDLE,
  HOWS,
  LAST_MTR,
  SCRATCH,
  SLOTS,
  SLOT_BASE,
  SLOT_BYTES,
  catalogList,
  expectedCatalog,
  expectedPage,
  fieldAt,
  fillByte,
  firstDifference,
  headerFields,
  nextOfFreePage,
  readPageCopy,
  writeSlotContent,
  type Effect,
  type How,
  type PageRef,
} from './core-model.js';
import type { CommitLedger, PrefixBounds } from './ledger.js';
import { describeWeights, pickWeighted, swarmWeights, type Focus } from './swarm.js';
import {
  ModelDivergenceError,
  type ClientWork,
  type OpGenerator,
  type ProbeOutcome,
  type SimConfig,
  type Violation,
  type ViolationRule,
  type Workload,
  type WorkloadModel,
  UNDECIDED_MARK,
} from './workload.js';

export interface CoreTouch {
  readonly pick: number;
  readonly slot: number;
  readonly how: How;
}

export interface CoreOp {
  readonly kind: 'mtr' | 'create-space' | 'drop-space';
  readonly durability: Durability;
  readonly touches: readonly CoreTouch[];
  /** Picks of the space each new page goes to. */
  readonly allocs: readonly number[];
  /** Picks of the pages to free. */
  readonly frees: readonly number[];
  /** drop-space: which live space. */
  readonly pick: number;
}

/** The life of a workload space outside any prefix (space ids are never reused, C3). */
interface SpaceLife {
  createDone: boolean;
  dropStarted: boolean;
  dropDone: boolean;
}

const PICK_BOUND = 2 ** 31;
const VIOLATIONS_PER_CHECK_MAX = 6;

function isCode(error: unknown, code: string): boolean {
  return error instanceof MinnoError && error.code === code;
}

function describeEffect(effect: Effect): string {
  switch (effect.t) {
    case 'touch':
      return `${effect.how} ${effect.space}:${effect.page}.s${effect.slot}`;
    case 'alloc':
      return `alloc ${effect.space}:${effect.page}`;
    case 'free':
      return `free ${effect.space}:${effect.page}`;
    case 'catalog-add':
      return `catalog+${effect.space}`;
    case 'catalog-remove':
      return `catalog-${effect.space}`;
  }
}

class CoreModel implements WorkloadModel<CoreEngine, CoreOp> {
  private readonly config: SimConfig;
  /** effects[i]: what commit i + 1 did. */
  private readonly effects: Effect[][] = [];
  private current = new CoreState();
  private catalogPage = -1;
  private nextSpaceId = 1;
  private nextHandle = 1;
  private readonly lives = new Map<number, SpaceLife>();
  private readonly slot = new Uint8Array(SLOT_BYTES);
  private readonly expected: Uint8Array;

  constructor(config: SimConfig) {
    this.config = config;
    this.expected = new Uint8Array(config.pageSize);
  }

  setUp(engine: CoreEngine, ledger: CommitLedger): void {
    const storage = engine.storage;
    const mtr = storage.startMtr();
    this.catalogPage = allocatePage(mtr, SYSTEM_SPACE_ID, PageType.Raw).pageNo; // a fresh Raw page: COUNTER 0, no spaces
    storage.log.flushUpTo(mtr.commit());
    const perSpace = Math.ceil(this.config.initialPages / this.config.initialSpaces);
    for (let s = 0; s < this.config.initialSpaces; s++) {
      const id = this.createSpace(storage, ledger);
      this.runMtr(storage, ledger, { t: 'catalog-add', space: id }, id, this.op([]));
      for (let made = 0; made < perSpace; made += 4) this.runMtr(storage, ledger, undefined, id, this.op([0, 0, 0, 0]));
    }
    storage.log.flushUpTo(storage.log.currentLsn);
    ledger.durablePoint();
  }

  private op(allocs: number[]): CoreOp {
    return { kind: 'mtr', durability: 'full', touches: [], allocs, frees: [], pick: 0 };
  }

  execute(
    engine: CoreEngine,
    op: CoreOp,
    ledger: CommitLedger,
    describe?: (line: string) => void,
  ): ClientWork | undefined {
    const storage = engine.storage;
    const spaces = [...this.current.spaces.keys()];
    let commit: { index: number; lsn: number; effects: Effect[] };
    if (op.kind === 'create-space' && spaces.length < this.config.liveSpacesMax) {
      const id = this.createSpace(storage, ledger);
      commit = this.runMtr(storage, ledger, { t: 'catalog-add', space: id }, id, op);
    } else if (op.kind === 'drop-space' && spaces.length > 1) {
      const id = spaces[op.pick % spaces.length]!;
      commit = this.runMtr(storage, ledger, { t: 'catalog-remove', space: id }, undefined, op);
      const life = this.lives.get(id)!;
      life.dropStarted = true;
      storage.dropSpace(id);
      life.dropDone = true;
      ledger.durablePoint();
    } else {
      commit = this.runMtr(storage, ledger, undefined, undefined, op);
    }
    describe?.(
      `#${commit.index} ${op.durability}: ${commit.effects.map(describeEffect).join(', ') || '(catalog only)'}`,
    );
    return { commit: commit.index, durable: storage.commitDurable(commit.lsn, op.durability) };
  }

  /** createSpace, durable when it returns (storage.ts). */
  private createSpace(storage: Storage, ledger: CommitLedger): number {
    const id = this.nextSpaceId++;
    const life: SpaceLife = { createDone: false, dropStarted: false, dropDone: false };
    this.lives.set(id, life);
    storage.createSpace(id);
    life.createDone = true;
    ledger.durablePoint();
    return id;
  }

  /**
   * One mini-transaction: the catalog change, allocations (into `allocSpace` or picked spaces),
   * slot writes, frees, then COUNTER. Its effects are recorded before `commit()`, because a crash
   * inside commit may still leave its group in the log.
   */
  private runMtr(
    storage: Storage,
    ledger: CommitLedger,
    catalogChange: Effect | undefined,
    allocSpace: number | undefined,
    op: CoreOp,
  ): { index: number; lsn: number; effects: Effect[] } {
    const index = ledger.begin(op.durability);
    const effects: Effect[] = [];
    const state = this.current;
    const apply = (effect: Effect): void => {
      effects.push(effect);
      state.apply(index, effect);
    };
    const mtr = storage.startMtr();
    const catalog = mtr.getPage(SYSTEM_SPACE_ID, this.catalogPage);
    if (catalogChange !== undefined) {
      apply(catalogChange);
      mtr.write(catalog, CATALOG_SPACES, catalogList([...state.spaces.keys()]));
    }
    for (const pick of op.allocs) {
      const spaces = [...state.spaces.keys()];
      if (state.livePages >= this.config.livePagesMax || spaces.length === 0) break;
      this.allocate(mtr, index, allocSpace ?? spaces[pick % spaces.length]!, apply);
    }
    for (const touch of op.touches) {
      const refs = state.pageRefs();
      if (refs.length === 0) break;
      this.touch(mtr, index, refs[touch.pick % refs.length]!, touch, apply);
    }
    for (const pick of op.frees) {
      if (state.livePages <= this.config.livePagesMin) break;
      const refs = state.pageRefs();
      const ref = refs[pick % refs.length]!;
      freePage(mtr, ref.space, ref.page);
      apply({ t: 'free', space: ref.space, page: ref.page });
    }
    mtr.writeU32(catalog, CATALOG_COUNTER, index);
    this.effects.push(effects);
    state.counter = index;
    ledger.appended(index);
    const lsn = mtr.commit();
    ledger.committed(index);
    return { index, lsn, effects };
  }

  private allocate(mtr: MiniTransaction, index: number, spaceId: number, apply: (effect: Effect) => void): void {
    const predicted = this.current.nextAllocation(spaceId);
    const { pageNo, page } = allocatePage(mtr, spaceId, PageType.Raw);
    if (pageNo !== predicted) {
      throw new ModelDivergenceError(
        `space ${spaceId} allocated page ${pageNo}; its free list and size say ${predicted}`,
      );
    }
    const handle = this.nextHandle++;
    mtr.writeU32(page, LAST_MTR, index);
    mtr.writeU32(page, HANDLE, handle);
    apply({ t: 'alloc', space: spaceId, page: pageNo, handle });
  }

  private touch(
    mtr: MiniTransaction,
    index: number,
    ref: PageRef,
    touch: CoreTouch,
    apply: (effect: Effect) => void,
  ): void {
    const page = mtr.getPage(ref.space, ref.page);
    const handle = this.current.spaces.get(ref.space)!.pages.get(ref.page)!.handle;
    const at = SLOT_BASE + touch.slot * SLOT_BYTES;
    mtr.writeU32(page, LAST_MTR, index);
    if (touch.how === 'fill') {
      mtr.fill(page, at, SLOT_BYTES, fillByte(index, handle, touch.slot));
    } else {
      writeSlotContent(this.slot, 0, index, handle, touch.slot, touch.how);
      if (touch.how === 'write') {
        mtr.write(page, at, this.slot);
      } else {
        mtr.write(page, SCRATCH, this.slot);
        mtr.move(page, at, SCRATCH, SLOT_BYTES);
      }
    }
    apply({ t: 'touch', space: ref.space, page: ref.page, slot: touch.slot, how: touch.how });
  }

  checkLive(engine: CoreEngine): Violation[] {
    return this.compare(engine.storage, this.current, 'LIVE', undefined, false);
  }

  verifyRecovered(
    engine: CoreEngine,
    bounds: PrefixBounds,
  ): { prefix: number; fingerprint: string; violations: Violation[] } {
    const storage = engine.storage;
    const violations: Violation[] = [];
    let catalog: Uint8Array;
    try {
      catalog = readPageCopy(storage, SYSTEM_SPACE_ID, this.catalogPage);
    } catch (error) {
      return {
        prefix: -1,
        fingerprint: '',
        violations: [readViolation(`the catalog page 0:${this.catalogPage}`, error)],
      };
    }
    const k = readU32(catalog, CATALOG_COUNTER);
    if (k > bounds.max || k > this.effects.length) {
      return {
        prefix: -1,
        fingerprint: '',
        violations: [
          {
            rule: 'MTR',
            message: `the catalog names commit #${k}, but only ${bounds.max} commits ever reached the log`,
          },
        ],
      };
    }
    if (k < bounds.min) {
      violations.push({
        rule: 'DURABLE',
        message: `recovered the first ${k} commits; commit #${bounds.min} had to survive (${bounds.minReason})`,
      });
    }
    const state = CoreState.after(this.effects, k);
    const fingerprint = new Fingerprint();
    fingerprint.addNumber(k);
    violations.push(...this.compare(storage, state, 'MTR', fingerprint, true));
    const existing = [...storage.spaces.all()].map((space) => space.spaceId).filter((id) => id !== SYSTEM_SPACE_ID);
    existing.sort((a, b) => a - b);
    const leftovers: number[] = [];
    for (const id of existing) {
      if (state.spaces.has(id)) {
        fingerprint.addNumber(id);
        continue;
      }
      leftovers.push(id);
      const life = this.lives.get(id);
      if (life === undefined) {
        violations.push({
          rule: 'INVARIANT',
          message: `space ${id} exists after recovery but the workload never created it`,
        });
      } else if (life.dropDone) {
        violations.push({
          rule: 'DIR',
          message: `space ${id} exists after recovery although dropSpace had returned (durable)`,
        });
      } else {
        try {
          readPageCopy(storage, id, 0);
        } catch (error) {
          violations.push(readViolation(`the header of space ${id} (left by an unfinished create or drop)`, error));
        }
      }
    }
    for (const [id, life] of this.lives) {
      if (life.createDone && !life.dropStarted && !state.spaces.has(id) && !existing.includes(id)) {
        violations.push({
          rule: 'DIR',
          message: `space ${id} is missing after recovery although createSpace had returned (durable)`,
        });
      }
    }
    return {
      prefix: k,
      // A space file left by a create or drop a crash cut short is no commit's: a later crash
      // that loses unsynced directory operations may take it or leave it (IDEMPOTENT allows that).
      fingerprint: `${fingerprint.toString()}${UNDECIDED_MARK}${leftovers.join(',')}`,
      violations: violations.slice(0, VIOLATIONS_PER_CHECK_MAX),
    };
  }

  /** Compares the engine with a model state: catalog, space headers, free lists, every page body. */
  private compare(
    storage: Storage,
    state: CoreState,
    rule: ViolationRule,
    fingerprint: Fingerprint | undefined,
    reportReadErrors: boolean,
  ): Violation[] {
    const violations: Violation[] = [];
    const expected = this.expected;
    const read = (space: number, page: number, what: string): Uint8Array | undefined => {
      try {
        return readPageCopy(storage, space, page);
      } catch (error) {
        if (!reportReadErrors) throw error;
        violations.push(readViolation(what, error));
        return undefined;
      }
    };
    const catalog = read(SYSTEM_SPACE_ID, this.catalogPage, 'the catalog page');
    if (catalog !== undefined) {
      expectedCatalog(expected, state);
      const at = firstDifference(catalog, expected);
      if (at >= 0) {
        violations.push({
          rule,
          message: `catalog page differs at byte ${at}: COUNTER ${readU32(catalog, CATALOG_COUNTER)} (model ${state.counter}), spaces [${[...state.spaces.keys()].join(',')}] in the model`,
        });
      }
    }
    for (const space of state.spaces.values()) {
      if (violations.length >= VIOLATIONS_PER_CHECK_MAX) break;
      if (!storage.spaces.exists(space.id)) {
        violations.push({
          rule: rule === 'LIVE' ? rule : 'DIR',
          message: `space ${space.id} is in the catalog after commit #${state.counter} but has no file`,
        });
        continue;
      }
      const header = read(space.id, 0, `the header of space ${space.id}`);
      if (header === undefined) continue;
      const fields = headerFields(header);
      const freeHead = space.free.length > 0 ? space.free[space.free.length - 1]! : 0xffffffff;
      const want = { size: space.size, freeHead, freeLength: space.free.length };
      if (!isDeepStrictEqual(fields, want)) {
        violations.push({
          rule,
          message: `space ${space.id} header ${JSON.stringify(fields)} after commit #${state.counter}, model ${JSON.stringify(want)}`,
        });
      }
      fingerprint?.add(header, BODY_START, header.length - 8);
      for (let i = space.free.length - 1; i >= 0; i--) {
        const pageNo = space.free[i]!;
        const free = read(space.id, pageNo, `free page ${space.id}:${pageNo}`);
        const next = i > 0 ? space.free[i - 1]! : 0xffffffff;
        if (free !== undefined && (pageTypeOf(free) !== PageType.Free || nextOfFreePage(free) !== next)) {
          violations.push({
            rule,
            message: `free page ${space.id}:${pageNo} is type ${pageTypeOf(free)} linking to ${nextOfFreePage(free)}; the model's free list says Free -> ${next}`,
          });
          break;
        }
      }
      for (const [pageNo, page] of space.pages) {
        const actual = read(space.id, pageNo, `page ${space.id}:${pageNo}`);
        if (actual === undefined) continue;
        fingerprint?.add(actual, BODY_START, actual.length - 8);
        expectedPage(expected, page);
        const at = firstDifference(actual, expected);
        if (at < 0) continue;
        violations.push({
          rule,
          message:
            `page ${space.id}:${pageNo} after commit #${state.counter} differs in ${fieldAt(at)}: it holds LAST_MTR ${readU32(actual, LAST_MTR)} ` +
            `HANDLE ${readU32(actual, HANDLE)}, the model LAST_MTR ${page.lastMtr} HANDLE ${page.handle}` +
            (readU32(actual, LAST_MTR) > state.counter ? ' (a later commit is there in part)' : ''),
        });
        if (violations.length >= VIOLATIONS_PER_CHECK_MAX) break;
      }
    }
    return violations;
  }

  /** The page cleaner and a checkpoint after recovery, run to the end: every page still holds its state. */
  settleRecovered(engine: CoreEngine, prefix: number): Violation[] {
    const storage = engine.storage;
    try {
      storage.pool.flushAll();
      storage.checkpoint();
    } catch (error) {
      if (error instanceof SimulatedCrashError) throw error;
      return [readViolation('flushing and checkpointing after recovery', error)];
    }
    return this.compare(storage, CoreState.after(this.effects, prefix), 'MTR', undefined, true);
  }

  afterRecovery(engine: CoreEngine, prefix: number, ledger: CommitLedger): void {
    const storage = engine.storage;
    this.effects.length = prefix;
    this.current = CoreState.after(this.effects, prefix);
    // Roll unfinished DDL forward: a space the catalog does not name is dropped.
    for (const space of [...storage.spaces.all()]) {
      const id = space.spaceId;
      if (id === SYSTEM_SPACE_ID || this.current.spaces.has(id)) continue;
      const life = this.lives.get(id) ?? { createDone: true, dropStarted: false, dropDone: false };
      this.lives.set(id, life);
      life.dropStarted = true;
      storage.dropSpace(id);
      life.dropDone = true;
      ledger.durablePoint();
    }
  }

  readFaultPath(pick: number): string | undefined {
    const ids = [SYSTEM_SPACE_ID, ...this.current.spaces.keys()];
    return spaceFileName(ids[pick % ids.length]!);
  }

  probeCorruption(engine: CoreEngine, vfs: FaultVfs, pick: number): ProbeOutcome {
    const refs = this.current.pageRefs();
    if (refs.length === 0) return { kind: 'missed', detail: 'no live page' };
    const ref = refs[pick % refs.length]!;
    const storage = engine.storage;
    if (storage.pool.lookup(ref.space, ref.page) !== -1)
      return { kind: 'missed', detail: `page ${ref.space}:${ref.page} is cached` };
    const pageSize = storage.pageSize;
    vfs.injectReadFault({
      path: spaceFileName(ref.space),
      kind: 'corrupt',
      count: 1,
      range: { position: ref.page * pageSize + BODY_START, length: pageSize - 8 - BODY_START },
    });
    let actual: Uint8Array;
    try {
      actual = readPageCopy(storage, ref.space, ref.page);
    } catch (error) {
      if (isCode(error, 'ERR_CORRUPTION')) return { kind: 'reported' };
      throw error;
    }
    expectedPage(this.expected, this.current.spaces.get(ref.space)!.pages.get(ref.page)!);
    const at = firstDifference(actual, this.expected);
    return at >= 0
      ? {
          kind: 'wrong-data',
          detail: `page ${ref.space}:${ref.page} was read with a flipped bit in ${fieldAt(at)} and no ERR_CORRUPTION`,
        }
      : { kind: 'missed', detail: `page ${ref.space}:${ref.page} read back unchanged` };
  }
}

function readViolation(what: string, error: unknown): Violation {
  if (isCode(error, 'ERR_CORRUPTION'))
    return { rule: 'CORRUPTION', message: `reading ${what} after recovery: ${(error as Error).message}` };
  return { rule: 'INVARIANT', message: `reading ${what} after recovery: ${String(error)}` };
}

export const coreWorkload: Workload<CoreEngine, CoreOp> = {
  name: 'storage-core mini-transactions',

  opGenerator(random: RandomSource, focus: Focus | undefined): OpGenerator<CoreOp> {
    // This run's mix (swarm testing): durability levels, DDL, bulk mtrs, allocation and freeing.
    const swarm = random.chance(0.75);
    let durabilities = swarmWeights(random, DURABILITY_LEVELS, { full: 2 }, swarm);
    const ddl = swarm ? random.pick([0, 0.02, 0.05, 0.12]) : 0.05;
    let bulk = swarm ? random.pick([0, 0.05, 0.125, 0.3]) : 0.125;
    // A torn log tail needs unsynced log writes that span sectors: big groups, weak durability.
    if (focus === 'torn-log') {
      bulk = 0.5;
      durabilities = { full: 0, write: 2, none: 3 }; // 'none' groups pile up for the next write
    } else if (focus === 'durability') {
      durabilities = { full: 1, write: 1, none: 1 };
    }
    const alloc = swarm ? random.pick([0.1, 0.3, 0.5]) : 0.3;
    const free = swarm ? random.pick([0.05, 0.15, 0.3]) : 0.15;
    return {
      mix: `durability ${describeWeights(durabilities)}, ddl ${ddl}, bulk ${bulk}, alloc ${alloc}, free ${free}`,
      next(random: RandomSource): CoreOp {
        const roll = random.float();
        const kind = roll < ddl * 0.6 ? 'create-space' : roll < ddl ? 'drop-space' : 'mtr';
        const durability = pickWeighted(random, DURABILITY_LEVELS, durabilities);
        // A bulk mtr is a B-tree split's size: its redo group spans several log sectors.
        const touchCount = random.chance(bulk) ? random.intBetween(8, 20) : random.pick([0, 1, 1, 2, 2, 3, 4, 5]);
        const touches: CoreTouch[] = [];
        for (let i = 0; i < touchCount; i++)
          touches.push({ pick: random.int(PICK_BOUND), slot: random.int(SLOTS), how: random.pick(HOWS) });
        const allocRoll = random.float();
        const allocs =
          allocRoll < alloc / 6
            ? [random.int(PICK_BOUND), random.int(PICK_BOUND)]
            : allocRoll < alloc
              ? [random.int(PICK_BOUND)]
              : [];
        const frees = random.chance(free) ? [random.int(PICK_BOUND)] : [];
        return { kind, durability, touches, allocs, frees, pick: random.int(PICK_BOUND) };
      },
    };
  },

  describeOp(op: CoreOp): string {
    const parts = [`${op.kind} ${op.durability}`];
    if (op.touches.length > 0)
      parts.push(`touches ${op.touches.map((t) => `${t.how}@${t.pick % 1000}.s${t.slot}`).join(' ')}`);
    if (op.allocs.length > 0) parts.push(`allocs ${op.allocs.length}`);
    if (op.frees.length > 0) parts.push(`frees ${op.frees.length}`);
    return parts.join(', ');
  },

  shrinkOp(op: CoreOp): CoreOp[] {
    const variants: CoreOp[] = [];
    if (op.kind !== 'mtr') variants.push({ ...op, kind: 'mtr' });
    if (op.touches.length > 1) variants.push({ ...op, touches: op.touches.slice(0, 1) });
    if (op.touches.length > 0) variants.push({ ...op, touches: [] });
    if (op.allocs.length > 0) variants.push({ ...op, allocs: [] });
    if (op.frees.length > 0) variants.push({ ...op, frees: [] });
    if (op.durability !== 'full') variants.push({ ...op, durability: 'full' });
    return variants;
  },

  createModel(config: SimConfig): WorkloadModel<CoreEngine, CoreOp> {
    return new CoreModel(config);
  },
};
