/**
 * A transaction's state inside the engine (the API's `Transaction` wraps one).
 *
 * InnoDB counterpart: `trx_t` (`include/trx0trx.h`). Lifecycle:
 *
 *     begin --first write or lock--> active (has an id, undo logs, locks)
 *       |                               |--commit: serialisation number, undo committed, locks released--> committed
 *       |                               |--rollback: undo applied newest first, logs freed, locks released--> rolled-back
 *       +--commit/rollback with no id (read only)--> committed / rolled-back
 *
 * A deadlock victim is rolled back by the engine at once and left 'rolled-back'; every later call
 * on it fails with ERR_TRANSACTION_FINISHED.
 */
import type { LockOwner } from '../lock/lock-manager.js';
import type { ReadView } from './read-view.js';
import type { Durability } from '../redo/redo-log.js';
import type { UndoLogRef } from '../undo/undo-log.js';

export const ISOLATION_LEVELS = ['read-committed', 'repeatable-read', 'serializable'] as const;
export type IsolationLevel = (typeof ISOLATION_LEVELS)[number];

export type TrxState = 'active' | 'committed' | 'rolled-back';

export interface Savepoint {
  readonly name: string;
  /** Undo records with undo_no >= this are popped by a rollback to the savepoint. */
  readonly undoNo: number;
}

export class Trx implements LockOwner {
  /** 0 until the first write or lock (InnoDB assigns rw ids lazily too). */
  trxId = 0;
  state: TrxState = 'active';
  readonly isolation: IsolationLevel;
  readonly readOnly: boolean;
  readonly durability: Durability;
  /** REPEATABLE READ and SERIALIZABLE: opened at the first consistent read, kept to the end. */
  view: ReadView | undefined;
  insertUndo: UndoLogRef | undefined;
  updateUndo: UndoLogRef | undefined;
  /** The next undo record's number (also the transaction's weight for deadlock victims). */
  undoNo = 0;
  /** Found active by recovery, being rolled back in the background. */
  recovered = false;
  readonly savepoints: Savepoint[] = [];
  /** Set when the engine rolled this transaction back as a deadlock victim. */
  deadlockVictim = false;
  /** A snapshot (`db.snapshot()`): read-only, its view opened at once; after release: ERR_CLOSED. */
  snapshot = false;

  constructor(isolation: IsolationLevel, readOnly: boolean, durability: Durability) {
    this.isolation = isolation;
    this.readOnly = readOnly;
    this.durability = durability;
  }

  undoCount(): number {
    return this.undoNo;
  }
}
