/**
 * A read-only open of the storage (`readOnly: true`): no recovery, no checkpoint, no background
 * work, nothing written, and the lock shared with other read-only opens.
 *
 * InnoDB counterpart: `innodb_read_only`, which starts without writing any file, and
 * `innodb_force_recovery=6`'s refusal to touch the redo log. The choice for a database the last
 * writer did not close cleanly: **refuse it** with `ERR_RECOVERY_NEEDED`, rather than recover in
 * memory. Recovery in memory would have to hold every page the redo touches in the buffer pool
 * (never flushed, so never evictable: a crash of a large bulk load would not fit), and would show
 * readers a state that no writer has yet made durable in the tablespaces. Refusing is what
 * SQLite does for a hot journal on a read-only connection (`SQLITE_READONLY_ROLLBACK`). The cure is
 * one read-write open, which recovers; a read-write open is possible whenever no reader holds the
 * lock, and the writer that crashed holds it no longer.
 *
 * What counts as clean:
 *  - the log holds no valid group past its checkpoint (`scanPendingRedo`): every page change the
 *    log knows of is already in the tablespaces, and no page write can be torn (the checkpoint is
 *    written only after the tablespaces are synced, and nothing is written after it);
 *  - every non-empty tablespace's header is ours, of a format and page size we know;
 *  - the layers above need no cleanup at open (an unfinished DDL, undo to free, transactions to
 *    roll back): any page change they attempt reaches `ReadOnlyRedoLog.appendGroup`, which
 *    refuses it, and `Database.open` checks that recovery left no transaction active; it reports
 *    both as ERR_RECOVERY_NEEDED too. (A crash can leave a clean log and active transactions: a
 *    checkpoint after their last change, then the crash.)
 *
 * Invariant:
 *  RO2. A read-only storage never appends to the log or writes a checkpoint; every file is
 *       opened through `ReadOnlyVfs` (RO1), so a write anywhere below is refused as well.
 */
import { CorruptionError, ReadOnlyError, RecoveryNeededError } from '../errors.js';
import { SYSTEM_SPACE_ID, spaceFileName, type SpaceRegistry } from '../page/tablespace.js';
import { type Checkpoint, LSN_START, LogFile } from '../redo/log-file.js';
import { RedoLog } from '../redo/redo-log.js';
import { scanPendingRedo } from '../redo/recovery.js';
import type { EngineHealth } from '../util/engine-health.js';
import type { EngineEvent, Vfs } from '../vfs/vfs.js';

/** The log of a read-only open: readable positions, and a refusal for anything that would write (RO2). */
class ReadOnlyRedoLog extends RedoLog {
  private readonly engineHealth: EngineHealth;

  constructor(
    logFile: LogFile,
    lsn: number,
    checkpoint: Checkpoint,
    onEvent: (name: EngineEvent) => void,
    health: EngineHealth,
  ) {
    super(logFile, lsn, checkpoint, onEvent, health);
    this.engineHealth = health;
  }

  override appendGroup(): never {
    // The refused mtr has already changed frames that no redo describes: nothing may use them.
    const error = new ReadOnlyError('storage (a page change: opened with readOnly: true)');
    this.engineHealth.poison(error, 'page change in a read-only open');
    throw error;
  }

  override writeCheckpoint(): void {
    throw new ReadOnlyError('storage (a checkpoint: opened with readOnly: true)');
  }
}

/**
 * Opens the log and the tablespaces of a cleanly closed database for reading; refuses one that
 * needs recovery. `vfs` is the `ReadOnlyVfs`.
 */
export async function openReadOnly(
  vfs: Vfs,
  pageSize: number,
  spaces: SpaceRegistry,
  onEvent: (name: EngineEvent) => void,
  health: EngineHealth,
): Promise<RedoLog> {
  const logFile = LogFile.open(vfs, pageSize);
  try {
    const pending = await scanPendingRedo(logFile);
    if (pending.groups > 0) {
      throw new RecoveryNeededError(
        vfs.location,
        `the redo log holds changes past its checkpoint at LSN ${pending.checkpoint.lsn}: the last read-write open did not close`,
      );
    }
    for (const spaceId of spaces.listSpaceFiles()) {
      if (vfs.stat(spaceFileName(spaceId))?.size === 0) continue; // an interrupted creation's leftover: no record names it
      spaces.validateHeader(spaces.openFile(spaceId), false);
    }
    if (!spaces.exists(SYSTEM_SPACE_ID)) {
      throw pending.checkpoint.lsn === LSN_START
        ? new RecoveryNeededError(vfs.location, 'its creation was interrupted')
        : new CorruptionError(
            spaceFileName(SYSTEM_SPACE_ID),
            undefined,
            'the system tablespace is missing or empty; restore it from the same backup as redo.log',
          );
    }
    return new ReadOnlyRedoLog(logFile, pending.endLsn, pending.checkpoint, onEvent, health);
  } catch (error) {
    logFile.close();
    throw error;
  }
}
