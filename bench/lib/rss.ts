/**
 * Resident set size sampling.
 *
 * The workloads are synchronous stretches, so a timer would never fire inside them: the workload
 * calls `sample()` itself every so many operations (one sample reads /proc/self/stat through
 * libuv, a few microseconds). The maximum is what a memory bound is checked against.
 */
export class RssSampler {
  private maxBytes = 0;
  private count = 0;
  readonly startBytes: number;

  constructor() {
    this.startBytes = process.memoryUsage.rss();
    this.maxBytes = this.startBytes;
  }

  /** Takes a sample and returns it. */
  sample(): number {
    const bytes = process.memoryUsage.rss();
    if (bytes > this.maxBytes) this.maxBytes = bytes;
    this.count++;
    return bytes;
  }

  get max(): number {
    return this.maxBytes;
  }

  get samples(): number {
    return this.count;
  }
}

export const MiB = 1024 * 1024;
