/**
 * What a FaultVfs saw (`fault-vfs.ts`): per file, its writes, bytes written, syncs, datasyncs and
 * truncates; per directory, its syncDirs; and the trace of every operation and engine event in
 * order. Tests read it to check where the engine syncs (seed 001) and what it wrote.
 */
import type { AuditReport, PathAudit, TraceEntry } from './fault-types.js';
import { normalizePath } from './vfs.js';

interface Counts {
  writes: number;
  bytesWritten: number;
  syncs: number;
  datasyncs: number;
  truncates: number;
}

export class FaultAudit {
  private readonly fileCounts = new Map<string, Counts>();
  private readonly dirCounts = new Map<string, { syncDirs: number }>();
  private readonly traceEntries: TraceEntry[] = [];

  record(entry: TraceEntry): void {
    this.traceEntries.push(entry);
  }

  /** The counts of file `path`, to add to. */
  countsOf(path: string): Counts {
    let counts = this.fileCounts.get(path);
    if (counts === undefined) {
      counts = { writes: 0, bytesWritten: 0, syncs: 0, datasyncs: 0, truncates: 0 };
      this.fileCounts.set(path, counts);
    }
    return counts;
  }

  countSyncDir(path: string): void {
    const counts = this.dirCounts.get(path) ?? { syncDirs: 0 };
    counts.syncDirs++;
    this.dirCounts.set(path, counts);
  }

  /** Every file's and directory's counts (copies), or one path's. */
  report(path?: string): AuditReport | PathAudit {
    if (path === undefined) {
      return {
        files: new Map([...this.fileCounts].map(([p, counts]) => [p, { ...counts }])),
        directories: new Map([...this.dirCounts].map(([p, counts]) => [p, { ...counts }])),
      };
    }
    const normalized = normalizePath(path);
    const file = this.fileCounts.get(normalized);
    return {
      writes: file?.writes ?? 0,
      bytesWritten: file?.bytesWritten ?? 0,
      syncs: file?.syncs ?? 0,
      datasyncs: file?.datasyncs ?? 0,
      truncates: file?.truncates ?? 0,
      syncDirs: this.dirCounts.get(normalized)?.syncDirs ?? 0,
    };
  }

  trace(): readonly TraceEntry[] {
    return this.traceEntries.slice();
  }
}
