/** Counters of the row engine's work, for `db.status()`-style reports and benchmarks. */
export interface EngineStats {
  inserts: number;
  updates: number;
  deletes: number;
  commits: number;
  rollbacks: number;
  /** Old versions rebuilt from undo (consistent reads, rollback and purge checks). */
  versionsBuilt: number;
}

export function newEngineStats(): EngineStats {
  return { inserts: 0, updates: 0, deletes: 0, commits: 0, rollbacks: 0, versionsBuilt: 0 };
}
