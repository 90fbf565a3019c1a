/**
 * YCSB's request distributions (site.ycsb.generator), rebuilt from their published definitions.
 *
 *  - `ZipfianGenerator`: Gray et al., "Quickly Generating Billion-Record Synthetic Databases"
 *    (SIGMOD 1994), with YCSB's constant 0.99. Item 0 is the most popular. When the item count
 *    grows (inserts), zeta is extended incrementally instead of recomputed, as YCSB does.
 *  - `ScrambledZipfianGenerator`: zipfian over 10^10 items (zeta precomputed by YCSB as
 *    26.46902820178302), hashed with FNV-64 into the key range, so the popular items are spread
 *    over the key space instead of clustered at its start. YCSB's `requestdistribution=zipfian`.
 *  - `SkewedLatestGenerator`: the newest inserted keys are the most popular (`latest`).
 *  - `UniformGenerator`: `uniform`.
 *  - `AcknowledgedCounter`: the insert key sequence; `lastValue()` is the highest key below which
 *    every insert has completed, so a read never picks a key still being inserted.
 */
import type { Random } from '../random.js';
import { fnv64Mod } from './fnv64.js';

export const ZIPFIAN_CONSTANT = 0.99;

/** ζ(n, θ) continued from ζ(from, θ) = `initial`: the sum over i in (from, n] of 1 / i^θ. */
function zeta(from: number, n: number, theta: number, initial: number): number {
  let sum = initial;
  for (let i = from; i < n; i++) sum += 1 / (i + 1) ** theta;
  return sum;
}

export interface KeyGenerator {
  next(random: Random): number;
}

export class ZipfianGenerator implements KeyGenerator {
  private readonly base: number;
  private readonly theta: number;
  private readonly alpha: number;
  private readonly zeta2theta: number;
  private zetan: number;
  private eta: number;
  private countForZeta: number;

  /** Items `min` .. `max` (inclusive); `zetan` when known (it is costly for huge counts). */
  constructor(min: number, max: number, theta = ZIPFIAN_CONSTANT, zetan?: number) {
    const items = max - min + 1;
    this.base = min;
    this.theta = theta;
    this.alpha = 1 / (1 - theta);
    this.zeta2theta = zeta(0, 2, theta, 0);
    this.countForZeta = items;
    this.zetan = zetan ?? zeta(0, items, theta, 0);
    this.eta = this.etaFor(items);
  }

  private etaFor(items: number): number {
    return (1 - (2 / items) ** (1 - this.theta)) / (1 - this.zeta2theta / this.zetan);
  }

  /** A value in [base, base + itemCount). */
  nextOf(random: Random, itemCount: number): number {
    if (itemCount !== this.countForZeta) {
      // Growing: extend the sum. Shrinking (YCSB warns that it is slow): start again.
      this.zetan =
        itemCount > this.countForZeta
          ? zeta(this.countForZeta, itemCount, this.theta, this.zetan)
          : zeta(0, itemCount, this.theta, 0);
      this.countForZeta = itemCount;
      this.eta = this.etaFor(itemCount);
    }
    const u = random.float();
    const uz = u * this.zetan;
    if (uz < 1) return this.base;
    if (uz < 1 + 0.5 ** this.theta) return this.base + 1;
    return this.base + Math.floor(itemCount * (this.eta * u - this.eta + 1) ** this.alpha);
  }

  next(random: Random): number {
    return this.nextOf(random, this.countForZeta);
  }
}

/** YCSB's item count and ζ for the scrambled zipfian. */
const SCRAMBLED_ITEM_COUNT = 10_000_000_000;
const SCRAMBLED_ZETAN = 26.46902820178302;

export class ScrambledZipfianGenerator implements KeyGenerator {
  private readonly min: number;
  private readonly itemCount: number;
  private readonly zipfian = new ZipfianGenerator(0, SCRAMBLED_ITEM_COUNT - 1, ZIPFIAN_CONSTANT, SCRAMBLED_ZETAN);

  constructor(min: number, max: number) {
    this.min = min;
    this.itemCount = max - min + 1;
  }

  next(random: Random): number {
    return this.min + fnv64Mod(this.zipfian.next(random), this.itemCount);
  }
}

export class UniformGenerator implements KeyGenerator {
  constructor(
    private readonly min: number,
    private readonly max: number,
  ) {}

  next(random: Random): number {
    return random.int(this.min, this.max);
  }
}

/** The insert key sequence (YCSB's AcknowledgedCounterGenerator). */
export class AcknowledgedCounter {
  private counter: number;
  private limit: number;
  private readonly done = new Set<number>();

  /** The first key it hands out is `start`; keys below it exist already. */
  constructor(start: number) {
    this.counter = start;
    this.limit = start - 1;
  }

  next(): number {
    return this.counter++;
  }

  /** Marks an insert finished; the limit moves past every finished key without a gap. */
  acknowledge(value: number): void {
    this.done.add(value);
    while (this.done.delete(this.limit + 1)) this.limit++;
  }

  /** The highest key below which every insert has finished. */
  lastValue(): number {
    return this.limit;
  }
}

export class SkewedLatestGenerator implements KeyGenerator {
  private readonly zipfian: ZipfianGenerator;

  constructor(private readonly basis: AcknowledgedCounter) {
    this.zipfian = new ZipfianGenerator(0, Math.max(1, basis.lastValue()) - 1);
  }

  next(random: Random): number {
    const max = this.basis.lastValue();
    return max - this.zipfian.nextOf(random, Math.max(1, max));
  }
}
