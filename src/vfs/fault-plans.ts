/**
 * The faults a test arms for later operations of a FaultVfs, short of a crash (`fault-vfs.ts`):
 * a sync that fails with EIO (`failNextSync`), reads that fail or see a flipped bit
 * (`injectReadFault`), a write that lands at the wrong place (`misdirectNextWrite`), and seed 000's
 * zero tail (`armZeroTail`: a reader sees a file's new size before the bytes that set it).
 *
 * Rules (the FaultVfs's, numbered there): every random choice comes from the plans' own seeded
 * stream (F8), drawn in the order the faults are met; a read fault touches only the caller's
 * buffer, never what is stored (F9); each armed fault is used up by the operations it hits.
 */
import { InvalidArgumentError, IoError } from '../errors.js';
import type { RandomSource } from '../util/random.js';
import type { ByteRange, FileNode } from './fault-state.js';
import type { MisdirectOptions, ReadFaultOptions } from './fault-types.js';
import { checkCount } from './fault-schedule.js';
import { checkPosition, normalizePath } from './vfs.js';

interface ReadFaultRule {
  readonly path: string | undefined;
  readonly kind: 'error' | 'corrupt';
  remaining: number;
  readonly probability: number;
  readonly range: ByteRange | undefined;
}

function checkProbability(value: number, what: string): void {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new InvalidArgumentError(`${what} must be a number in [0, 1], got ${String(value)}`);
  }
}

function optionalPath(path: string | undefined): string | undefined {
  return path === undefined ? undefined : normalizePath(path);
}

export class FaultPlans {
  private readonly random: RandomSource;
  private readonly sectorBytes: number;
  private readonly syncFailures: (string | undefined)[] = [];
  private readFaults: ReadFaultRule[] = [];
  private readonly misdirects: { readonly path: string | undefined; readonly toPosition: number | undefined }[] = [];
  private readonly zeroTails = new Map<string, number>();

  /** `random`: the stream of read and write faults (F8); `sectorBytes`: where misdirected writes land. */
  constructor(random: RandomSource, sectorBytes: number) {
    this.random = random;
    this.sectorBytes = sectorBytes;
  }

  failNextSync(path: string | undefined): void {
    this.syncFailures.push(optionalPath(path));
  }

  /** Takes the armed sync failure a sync of `path` meets, if any. */
  takeSyncFailure(path: string): boolean {
    const failure = this.syncFailures.findIndex((p) => p === undefined || p === path);
    if (failure < 0) return false;
    this.syncFailures.splice(failure, 1);
    return true;
  }

  injectReadFault(options: ReadFaultOptions): void {
    if (options.kind !== 'error' && options.kind !== 'corrupt') {
      throw new InvalidArgumentError(`read fault kind must be 'error' or 'corrupt', got ${String(options.kind)}`);
    }
    const count = options.count ?? 1;
    if (count !== Infinity) checkCount(count, 'read fault count');
    const probability = options.probability ?? 1;
    checkProbability(probability, 'read fault probability');
    let range: ByteRange | undefined;
    if (options.range !== undefined) {
      checkPosition(options.range.position, 'read fault range position');
      checkCount(options.range.length, 'read fault range length');
      range = { start: options.range.position, end: options.range.position + options.range.length };
    }
    this.readFaults.push({
      path: optionalPath(options.path),
      kind: options.kind,
      remaining: count,
      probability,
      range,
    });
  }

  clearReadFaults(): void {
    this.readFaults = [];
  }

  misdirectNextWrite(options: MisdirectOptions): void {
    if (options.toPosition !== undefined) checkPosition(options.toPosition, 'misdirect toPosition');
    this.misdirects.push({ path: optionalPath(options.path), toPosition: options.toPosition });
  }

  armZeroTail(path: string, options: { readonly reads?: number }): void {
    const reads = options.reads ?? 1;
    checkCount(reads, 'armZeroTail reads');
    this.zeroTails.set(normalizePath(path), reads);
  }

  /** A read of `inode` through `path` into `target` at `position`, with the faults armed for it (F9). */
  read(path: string, inode: FileNode, target: Uint8Array, position: number): number {
    const count = Math.max(0, Math.min(target.length, inode.view.size - position));
    const end = position + count;
    const rule = this.readFault(path, position, end, count);
    if (rule?.kind === 'error') throw new IoError(path, 'read');
    inode.view.read(target, position);
    const zeroReads = this.zeroTails.get(path);
    const tail = inode.lastExtension;
    if (zeroReads !== undefined && tail !== undefined && tail.start < end && position < tail.end) {
      // Seed 000: the reader saw the new size, but not yet the bytes of the write that set it.
      target.fill(0, Math.max(tail.start, position) - position, Math.min(tail.end, end) - position);
      if (zeroReads > 1) this.zeroTails.set(path, zeroReads - 1);
      else this.zeroTails.delete(path);
    }
    if (rule?.kind === 'corrupt') {
      const from = Math.max(rule.range?.start ?? position, position);
      const at = this.random.intBetween(from, Math.min(rule.range?.end ?? end, end) - 1);
      // F9: one bit of the caller's buffer, never the stored bytes.
      target[at - position] = (target[at - position] as number) ^ (1 << this.random.int(8));
    }
    return count;
  }

  /** The read fault that hits a read of [position, end) through `path`, consuming one of its count. */
  private readFault(path: string, position: number, end: number, count: number): ReadFaultRule | undefined {
    if (this.readFaults.length === 0) return undefined;
    for (const rule of this.readFaults) {
      if (rule.path !== undefined && rule.path !== path) continue;
      if (rule.range !== undefined && !(rule.range.start < end && position < rule.range.end)) continue;
      if (rule.kind === 'corrupt' && count === 0) continue; // nothing to corrupt
      if (!this.random.chance(rule.probability)) continue;
      rule.remaining--;
      if (rule.remaining <= 0) this.readFaults = this.readFaults.filter((r) => r !== rule);
      return rule;
    }
    return undefined;
  }

  /** Where a write lands: its position, or elsewhere if a misdirection is armed for it. */
  misdirection(path: string, position: number, length: number, size: number): number {
    const index = this.misdirects.findIndex((m) => m.path === undefined || m.path === path);
    if (index < 0) return position;
    const [misdirect] = this.misdirects.splice(index, 1);
    if (misdirect?.toPosition !== undefined) return misdirect.toPosition;
    const sectors = Math.ceil(Math.max(size, position + length) / this.sectorBytes);
    let k = this.random.int(sectors + 2);
    if (k * this.sectorBytes === position) k = (k + 1) % (sectors + 2);
    return k * this.sectorBytes;
  }
}
