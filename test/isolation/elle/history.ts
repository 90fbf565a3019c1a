/**
 * A list-append history, as Elle records one (github.com/jepsen-io/elle, `elle.list-append`).
 *
 * Every key holds a list. A transaction is a short sequence of micro-operations: `append k v` adds
 * `v` to the end of key `k`'s list, `r k` reads the whole list. Every appended value is unique in
 * the history, so each element of a read names the one append (and so the one transaction) that
 * put it there, and the longest read of a key spells out the order its appends took effect in.
 * That is what lets a checker infer the version order of every key, and from it the dependency
 * graph, from the outside: no timestamps, no engine internals.
 */
import type { IsolationLevel } from '../../../src/mvcc/trx.js';

export type MicroOp =
  | { readonly f: 'r'; readonly k: number; readonly v: readonly number[] }
  | { readonly f: 'append'; readonly k: number; readonly v: number };

export interface Txn {
  /** Unique in the history, in the order transactions began. */
  readonly id: number;
  /** The client that ran it (-1: the final read after every client stopped). */
  readonly process: number;
  readonly level: IsolationLevel;
  readonly readOnly: boolean;
  /**
   * The micro-operations that ran, in order. An append is recorded before it runs, so a failed
   * transaction lists an append that may have reached the store before the failure.
   */
  readonly ops: readonly MicroOp[];
  /** 'ok': committed. 'fail': rolled back, by the store (a deadlock victim) or by the client. */
  readonly outcome: 'ok' | 'fail';
  /** Why it failed: an error code, or 'voluntary' for a client's own rollback. */
  readonly error?: string;
}

/** Something the store could not explain: a wait that only a timeout ended, or an unexpected error. */
export interface Incident {
  readonly kind: 'stuck' | 'unexpected-error';
  readonly detail: string;
}
