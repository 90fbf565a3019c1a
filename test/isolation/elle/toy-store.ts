/**
 * Deliberately broken in-memory list stores, to show the checker's teeth: each fault is a classic
 * way to get isolation wrong, and the checker must name what it produces.
 *
 * | fault              | what it does wrong                                                       |
 * |--------------------|--------------------------------------------------------------------------|
 * | read-uncommitted   | appends go straight to the shared lists, reads see them; a rollback puts  |
 * |                    | back each key's list as it was before the transaction's first append     |
 * | last-writer-wins   | a transaction works on a snapshot taken at begin and writes its whole     |
 * |                    | lists back at commit, over whatever others committed meanwhile            |
 * | blind-reads        | reads show the newest committed lists, never the transaction's own        |
 * |                    | appends (applied at commit)                                               |
 * | corrupt-appends    | at commit an append is sometimes applied twice, or a value nobody         |
 * |                    | appended is added                                                         |
 */
import type { IsolationLevel } from '../../../src/mvcc/trx.js';
import { RandomSource } from '../../../src/util/random.js';
import type { ListAppendStore, StoreTxn } from './workload.js';

export const TOY_FAULTS = ['read-uncommitted', 'last-writer-wins', 'blind-reads', 'corrupt-appends'] as const;
export type ToyFault = (typeof TOY_FAULTS)[number];

export class ToyStore implements ListAppendStore {
  /** The lists everyone sees (committed, or under read-uncommitted, whatever was written). */
  readonly lists = new Map<number, number[]>();
  readonly random: RandomSource;

  constructor(
    readonly fault: ToyFault,
    seed: number,
  ) {
    this.random = new RandomSource(seed);
  }

  begin(_level: IsolationLevel, _readOnly: boolean): StoreTxn {
    return new ToyTxn(this);
  }

  waiting(): number {
    return 0; // no locks, so no waits
  }

  expireWaits(): string {
    return '';
  }

  backgroundStep(): void {}

  async finish(): Promise<Record<string, number>> {
    return {};
  }
}

class ToyTxn implements StoreTxn {
  private readonly snapshot: Map<number, number[]>;
  /** Own appends per key, not yet applied (every fault but read-uncommitted). */
  private readonly pending = new Map<number, number[]>();
  /** read-uncommitted: each key's list before this transaction's first append to it. */
  private readonly before = new Map<number, number[]>();

  constructor(private readonly store: ToyStore) {
    this.snapshot = new Map([...store.lists].map(([k, v]) => [k, [...v]]));
  }

  async read(k: number): Promise<readonly number[]> {
    const { fault, lists } = this.store;
    if (fault === 'read-uncommitted' || fault === 'blind-reads') return [...(lists.get(k) ?? [])];
    const base = fault === 'last-writer-wins' ? (this.snapshot.get(k) ?? []) : (lists.get(k) ?? []);
    return [...base, ...(this.pending.get(k) ?? [])];
  }

  async append(k: number, v: number): Promise<void> {
    const { fault, lists } = this.store;
    if (fault === 'read-uncommitted') {
      if (!this.before.has(k)) this.before.set(k, [...(lists.get(k) ?? [])]);
      lists.set(k, [...(lists.get(k) ?? []), v]);
      return;
    }
    this.pending.set(k, [...(this.pending.get(k) ?? []), v]);
  }

  async commit(): Promise<void> {
    const { fault, lists, random } = this.store;
    for (const [k, values] of this.pending) {
      if (fault === 'last-writer-wins') {
        lists.set(k, [...(this.snapshot.get(k) ?? []), ...values]);
        continue;
      }
      const list = lists.get(k) ?? [];
      for (const v of values) {
        list.push(v);
        if (fault === 'corrupt-appends' && random.chance(0.05)) list.push(v);
        if (fault === 'corrupt-appends' && random.chance(0.02)) list.push(-v);
      }
      lists.set(k, list);
    }
  }

  async rollback(): Promise<void> {
    for (const [k, list] of this.before) this.store.lists.set(k, list);
  }
}
