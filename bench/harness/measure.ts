/**
 * What the harness measures besides time, read from the OS for the engine's own process.
 *
 *  - Bytes written: /proc/self/io. `write_bytes` counts the bytes this process caused to be sent
 *    to storage (page-cache pages it dirtied, whichever thread: libuv's pool, LMDB's or LevelDB's
 *    own threads); `wchar` counts the bytes passed to write calls (page cache included, memory
 *    maps excluded). Linux only: elsewhere the figures are absent, not zero.
 *  - Peak RSS: the kernel's high-water mark of the process (VmHWM in /proc/self/status), or
 *    `process.resourceUsage().maxRSS` where there is no /proc.
 *  - Bytes on disk: the blocks allocated to every file under the engine's directory (what `du`
 *    counts; sparse and preallocated-but-unwritten space excluded), and their apparent sizes.
 */
import * as fs from 'node:fs';
import * as nodePath from 'node:path';

export interface IoCounters {
  /** Bytes passed to write(2) and friends. */
  readonly wchar: number;
  /** Bytes this process caused to be written to storage. */
  readonly writeBytes: number;
  /** Bytes read from storage (not the page cache). */
  readonly readBytes: number;
  /** Dirty page-cache bytes dropped before they reached storage (a truncate, a delete). */
  readonly cancelledWriteBytes: number;
}

/** This process's I/O counters, or undefined where /proc/self/io is not readable. */
export function readIoCounters(): IoCounters | undefined {
  let text: string;
  try {
    text = fs.readFileSync('/proc/self/io', 'utf8');
  } catch {
    return undefined;
  }
  const values = new Map(text.split('\n').map((line) => line.split(': ') as [string, string]));
  const field = (name: string): number => Number(values.get(name) ?? NaN);
  const counters = {
    wchar: field('wchar'),
    writeBytes: field('write_bytes'),
    readBytes: field('read_bytes'),
    cancelledWriteBytes: field('cancelled_write_bytes'),
  };
  return Object.values(counters).every(Number.isFinite) ? counters : undefined;
}

/** The counters' growth from `before` to `after`. */
export function ioDelta(before: IoCounters | undefined, after: IoCounters | undefined): IoCounters | undefined {
  if (before === undefined || after === undefined) return undefined;
  return {
    wchar: after.wchar - before.wchar,
    writeBytes: after.writeBytes - before.writeBytes,
    readBytes: after.readBytes - before.readBytes,
    cancelledWriteBytes: after.cancelledWriteBytes - before.cancelledWriteBytes,
  };
}

/** The process's peak resident set size so far, bytes. */
export function peakRssBytes(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // no /proc: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}

export interface DiskUsage {
  /** Blocks allocated to the files, bytes (what `du` reports). */
  readonly allocatedBytes: number;
  /** The files' sizes, bytes. */
  readonly apparentBytes: number;
  readonly files: number;
}

/** Every regular file under `dir`, recursively. */
function* filesUnder(dir: string): Generator<string> {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const path = nodePath.join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else if (entry.isFile()) yield path;
  }
}

export function diskUsage(dir: string): DiskUsage {
  let allocatedBytes = 0;
  let apparentBytes = 0;
  let files = 0;
  for (const path of filesUnder(dir)) {
    const stat = fs.statSync(path);
    allocatedBytes += stat.blocks * 512;
    apparentBytes += stat.size;
    files++;
  }
  return { allocatedBytes, apparentBytes, files };
}

/**
 * The bytes minno's tablespaces take in `dir` (`*.ibd`: the system tablespace with its undo, and
 * one file per table; docs/architecture.md, "Files on disk"): what a pool "a tenth of the data"
 * is a tenth of. The redo log and the doublewrite file are not data.
 */
export function minnoDataBytes(dir: string): number {
  let bytes = 0;
  for (const path of filesUnder(dir)) if (path.endsWith('.ibd')) bytes += fs.statSync(path).size;
  return bytes;
}

/** The disk's own durable-commit ceiling: what `measureSyncRate` found. */
export interface SyncRate {
  /** Overwrites of `bytes` at the start of a preallocated file, each followed by fdatasync, per second. */
  readonly syncsPerS: number;
  readonly p50Us: number;
  readonly bytes: number;
  readonly syncs: number;
}

/**
 * The raw rate of a durable commit on this disk: overwrite a small block of a preallocated file
 * and fdatasync it, as a log writer at its best does (no file growth, so no metadata to journal).
 * The performance issue's durable-update target is a ratio to it, measured in the same run.
 */
export function measureSyncRate(dir: string, durationMs = 2000, bytes = 512): SyncRate {
  const path = nodePath.join(dir, 'sync-rate.dat');
  const fd = fs.openSync(path, 'w+');
  try {
    fs.writeSync(fd, Buffer.alloc(1 << 20));
    fs.fsyncSync(fd);
    const block = Buffer.alloc(bytes, 0x5a);
    const latencies: number[] = [];
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      block[0] = latencies.length & 0xff;
      fs.writeSync(fd, block, 0, bytes, 0);
      fs.fdatasyncSync(fd);
      const after = performance.now();
      latencies.push(after - now);
      now = after;
    }
    latencies.sort((a, b) => a - b);
    return {
      syncsPerS: (latencies.length * 1000) / (now - start),
      p50Us: latencies[latencies.length >> 1]! * 1000,
      bytes,
      syncs: latencies.length,
    };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(path, { force: true });
  }
}
