/**
 * The row layer's checker: every tree walked, and every secondary index compared with its
 * clustered index (rule SEC=CLUST) on the newest versions.
 *
 * InnoDB counterpart: CHECK TABLE (`row/row0mysql.cc` row_check_index, `btr/btr0btr.cc`
 * btr_validate_index). `db.check()` runs it; the model tests run it after every step.
 *
 * Invariant:
 *  RE3 (SEC=CLUST). The secondary entries that are not delete-marked are exactly the projections
 *       of the clustered entries that are not delete-marked.
 */
import type { Dictionary } from '../dict/dictionary.js';
import type { LockManager } from '../lock/lock-manager.js';
import { decodeRowAt } from '../rec/row-format.js';
import { assert } from '../util/assert.js';
import { secondaryKeys } from './index-write.js';
import { hex } from './keys.js';
import type { TableCache } from './table-runtime.js';

export interface RowCheckReport {
  readonly tables: number;
  readonly rows: number;
  readonly entries: number;
}

/** Walks every tree and checks RE3 (SEC=CLUST on the newest versions), the dictionary and the lock table. */
export function checkRows(tables: TableCache, dictionary: Dictionary, locks: LockManager): RowCheckReport {
  dictionary.validate();
  locks.validate();
  let rows = 0;
  let entries = 0;
  for (const table of tables.all()) {
    table.clustered.check();
    const expected = table.secondaries.map(() => new Set<string>());
    for (const entry of table.clustered.scan()) {
      entries++;
      if (entry.deleteMarked) continue;
      rows++;
      const row = decodeRowAt(table.layout, entry.key, 0, entry.key.length, entry.value, 0, entry.value.length);
      secondaryKeys(table, row).forEach((k, i) => expected[i]!.add(hex(k)));
    }
    table.secondaries.forEach((s, i) => {
      s.tree.check();
      const live = new Set<string>();
      for (const entry of s.tree.scan()) {
        entries++;
        if (!entry.deleteMarked) live.add(hex(entry.key));
      }
      for (const k of expected[i]!)
        assert(live.has(k), () => `RE3 SEC=CLUST: ${table.name}.${s.index.name} lacks the entry of a live row (${k})`);
      for (const k of live)
        assert(
          expected[i]!.has(k),
          () => `RE3 SEC=CLUST: ${table.name}.${s.index.name} has a live entry no live row projects to (${k})`,
        );
    });
  }
  return { tables: tables.size, rows, entries };
}
