/**
 * The two calls the row layer makes when an index entry appears or disappears, so that gap locks
 * follow the gaps (the table of events is in `lock-manager.ts`).
 *
 * InnoDB counterpart: the calls of `lock_update_insert` in btr_cur_optimistic_insert /
 * btr_cur_pessimistic_insert and of `lock_update_delete` in btr_cur_optimistic_delete /
 * btr_cur_pessimistic_delete (lock0lock.cc): every insert into and every removal from a B-tree
 * leaf, in clustered and secondary indexes alike, whether by a user insert, an update that adds a
 * secondary entry, purge, or rollback. Ours are called from the row layer right next to the tree
 * change, in the same synchronous step (no other transaction runs between the two).
 *
 * Both cost nothing when no lock could be inherited: `onEntryInserted` seeks the successor only
 * when some lock in the index covers a gap, `onEntryRemoved` only when the removed key is locked.
 */
import { SUPREMUM, type LockManager } from './lock-manager.js';

/** What inheritance needs from an index: a cursor that finds the key after a given one. */
export interface OrderedIndex {
  cursor(): { seek(key: Uint8Array, mode: 'gt'): boolean; key(): Uint8Array };
}

/** The key after `key` in `index` (a copy), or SUPREMUM after the last. */
function successorOf(index: OrderedIndex, key: Uint8Array): Uint8Array {
  const cursor = index.cursor();
  return cursor.seek(key, 'gt') ? cursor.key() : SUPREMUM;
}

/** lock_update_insert: call after inserting a new entry `key` into `index` (not when un-marking an existing one). */
export function onEntryInserted(locks: LockManager, indexId: number, index: OrderedIndex, key: Uint8Array): void {
  if (!locks.mayInheritOnInsert(indexId)) return;
  locks.inheritToInserted(indexId, key, successorOf(index, key));
}

/** lock_update_delete: call when removing entry `key` from `index` (before or after: its successor is the same). */
export function onEntryRemoved(locks: LockManager, indexId: number, index: OrderedIndex, key: Uint8Array): void {
  if (!locks.hasLocksOn(indexId, key)) return;
  locks.inheritFromRemoved(indexId, key, successorOf(index, key));
}
