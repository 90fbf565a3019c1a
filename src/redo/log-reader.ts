/**
 * The one log reader: recovery's scan and a live tail (hot backup) both read through it.
 *
 * InnoDB counterpart: `recv_scan_log_recs` in `log/log0recv.cc`, and MySQL Enterprise Backup /
 * Mariabackup copying the redo log while the server writes it. Seed 000 is why this module exists
 * in this shape: a reader of a file that another writer is still appending to may see the new
 * length while the newest bytes still read as zeros. So the reader trusts nothing it has not
 * validated: a group counts only when its length is sane, its START_LSN is the one expected at
 * that position, and its checksum (which sits at its end) matches.
 *
 * Invariants (rule LOG-TAIL):
 *  R1. `readGroups` returns only whole, valid groups, in LSN order, each starting where the
 *      previous one ended.
 *  R2. A zero-filled, short, stale (another lap's) or corrupt group ends the read: "nothing more
 *      here now", never records, never an error. A live tail simply asks again later.
 *  R3. Below the newest checkpoint every group was durable when the checkpoint was taken, so an
 *      invalid group there means the writer has lapped the reader (it fell a whole capacity
 *      behind): `LogOverwrittenError`, never records and never "not yet".
 */
import { MinnoError } from '../errors.js';
import { GroupCheck, GROUP_OVERHEAD_BYTES, checkGroup, groupLength } from './redo-record.js';
import type { LogFile } from './log-file.js';

export class LogOverwrittenError extends MinnoError {
  constructor(lsn: number, oldestLsn: number) {
    super(
      'ERR_CORRUPTION',
      `redo log position ${lsn} has been overwritten (oldest available is ${oldestLsn}); the log reader fell more than one log capacity behind`,
    );
  }
}

export interface RedoGroupView {
  readonly startLsn: number;
  readonly endLsn: number;
  /** The whole group (header, records, checksum); a view into the reader's buffer. */
  readonly bytes: Uint8Array;
}

/**
 * Parses the valid groups at the start of `bytes`, which holds the log from `startLsn` on
 * (R1, R2). Calls `onGroup` for each; returns the LSN where the valid log ends.
 */
export function scanGroups(
  bytes: Uint8Array,
  startLsn: number,
  capacity: number,
  check: typeof checkGroup,
  onGroup: (group: RedoGroupView) => void,
): number {
  let at = 0;
  while (bytes.length - at >= GROUP_OVERHEAD_BYTES) {
    const lsn = startLsn + at;
    const view = bytes.subarray(at);
    if (check(view, lsn, capacity) !== GroupCheck.Valid) break;
    const length = Math.min(groupLength(view), view.length);
    onGroup({ startLsn: lsn, endLsn: lsn + length, bytes: view.subarray(0, length) });
    at += length;
  }
  return startLsn + at;
}

/** Reads complete groups from a log file that may still be written (recovery, backup, tail). */
export class LogReader {
  private readonly log: LogFile;
  private buffer: Uint8Array;

  constructor(log: LogFile, chunkBytes = 1 << 20) {
    this.log = log;
    this.buffer = new Uint8Array(Math.min(chunkBytes, log.capacity));
  }

  /**
   * The complete groups from `fromLsn` that are there now, reading at most `maxBytes` of log
   * (a group larger than the chunk is read whole). Returns the groups and the LSN to ask from
   * next time. `newestCheckpointLsn` lets the reader refuse positions already overwritten (R3).
   */
  readGroups(
    fromLsn: number,
    newestCheckpointLsn: number,
    maxBytes = this.buffer.length,
  ): { groups: RedoGroupView[]; nextLsn: number } {
    const want = Math.min(maxBytes, this.log.capacity);
    if (this.buffer.length < want) this.buffer = new Uint8Array(want);
    const target = this.buffer.subarray(0, want);
    const got = this.log.readRing(target, fromLsn);
    const groups: RedoGroupView[] = [];
    let nextLsn = scanGroups(target.subarray(0, got), fromLsn, this.log.capacity, checkGroup, (group) => {
      // Copy out: the buffer is reused by the next call.
      groups.push({ startLsn: group.startLsn, endLsn: group.endLsn, bytes: group.bytes.slice() });
    });
    if (groups.length === 0 && got >= 4) {
      // A group longer than the chunk: read exactly its declared length and try once more.
      const header = target.subarray(0, Math.min(got, GROUP_OVERHEAD_BYTES));
      const length = header.length >= 4 ? groupLength(header) : 0;
      if (length > want && length <= this.log.capacity) {
        const whole = new Uint8Array(length);
        const gotWhole = this.log.readRing(whole, fromLsn);
        nextLsn = scanGroups(whole.subarray(0, gotWhole), fromLsn, this.log.capacity, checkGroup, (group) => {
          groups.push({ startLsn: group.startLsn, endLsn: group.endLsn, bytes: group.bytes.slice() });
        });
      }
    }
    if (nextLsn < newestCheckpointLsn && (groups.length === 0 || nextLsn === fromLsn)) {
      // Everything below the newest checkpoint was durable when it was taken, so an invalid
      // group there means the writer has lapped us (R3), never "not yet".
      throw new LogOverwrittenError(fromLsn, newestCheckpointLsn);
    }
    return { groups, nextLsn };
  }
}
