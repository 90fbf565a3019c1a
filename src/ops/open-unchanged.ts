/**
 * Opening a database to look at it without changing a byte of it: through an `OverlayVfs`, so
 * recovery (which writes) runs in memory over the files on disk. `minno check`, `status`,
 * `verify`, `export` and `salvage` open this way; a crashed database keeps its evidence.
 *
 * There is no InnoDB counterpart that leaves the files untouched: `innodb_read_only` refuses to
 * start when recovery is needed, and `innodb_force_recovery=6` skips redo. Ours recovers fully,
 * in memory.
 */
import { Database } from '../api/database.js';
import { NotFoundError } from '../errors.js';
import { LOG_FILE } from '../redo/log-file.js';
import { OverlayVfs } from '../vfs/overlay-vfs.js';
import type { Vfs } from '../vfs/vfs.js';

export interface UnchangedDatabase {
  readonly db: Database;
  /** Closes the database and the overlay; nothing reaches the base. */
  close(): Promise<void>;
}

/** Opens the database in `base` read-through, writes kept in memory (O1 of overlay-vfs.ts). */
export async function openUnchanged(base: Vfs, options: { bufferPoolBytes?: number } = {}): Promise<UnchangedDatabase> {
  if (base.stat(LOG_FILE) === undefined) throw new NotFoundError(LOG_FILE, 'minno database (redo log)');
  const overlay = new OverlayVfs(base);
  const db = await Database.open({
    vfs: overlay,
    background: 'manual',
    ...(options.bufferPoolBytes === undefined ? {} : { bufferPoolBytes: options.bufferPoolBytes }),
  });
  while (db.engine.rollbackRecoveredStep()) {
    // roll back in memory what recovery found active, so reads see only committed rows
  }
  return {
    db,
    close: async () => {
      await db.close();
      overlay.close();
    },
  };
}
