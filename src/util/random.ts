/**
 * The seeded random source that every layer takes from its options.
 *
 * Nothing in minno calls `Math.random`: the fault VFS, the simulator, the buffer pool's sampling
 * and the background scheduler all draw from a `RandomSource`, so a whole run replays from one
 * seed. The generator is pure-rand's xoroshiro128+ (fast, 2^128 period, jumpable); `fork()` jumps
 * 2^64 steps so that independent streams (the workload, the scheduler, the faults) do not shift
 * each other when one of them draws more numbers.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { JumpableRandomGenerator } from 'pure-rand/types/JumpableRandomGenerator';
import { InvalidArgumentError } from '../errors.js';

export class RandomSource {
  readonly seed: number;
  private readonly generator: JumpableRandomGenerator;

  constructor(seed: number, generator?: JumpableRandomGenerator) {
    if (!Number.isSafeInteger(seed)) {
      throw new InvalidArgumentError(`random seed must be a safe integer, got ${String(seed)}`);
    }
    this.seed = seed;
    this.generator = generator ?? xoroshiro128plus(seed | 0 ^ Math.floor(seed / 2 ** 32));
  }

  /** A uniform integer in [0, bound). */
  int(bound: number): number {
    if (!(bound >= 1) || !Number.isSafeInteger(bound)) {
      throw new InvalidArgumentError(`random bound must be a positive safe integer, got ${String(bound)}`);
    }
    return uniformInt(this.generator, 0, bound - 1);
  }

  /** A uniform integer in [min, max], both inclusive. */
  intBetween(min: number, max: number): number {
    if (max < min) throw new InvalidArgumentError(`random range is empty: [${min}, ${max}]`);
    return uniformInt(this.generator, min, max);
  }

  /** A uniform float in [0, 1). */
  float(): number {
    // 53 random bits from two draws, as a double in [0, 1).
    const high = this.generator.next() >>> 5; // 27 bits
    const low = this.generator.next() >>> 6; // 26 bits
    return (high * 67108864 + low) / 9007199254740992;
  }

  /** True with probability `p`. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new InvalidArgumentError('cannot pick from an empty list');
    return items[this.int(items.length)] as T;
  }

  /** Fills `target` with random bytes. */
  fill(target: Uint8Array): Uint8Array {
    let i = 0;
    while (i + 4 <= target.length) {
      const word = this.generator.next();
      target[i] = word & 0xff;
      target[i + 1] = (word >>> 8) & 0xff;
      target[i + 2] = (word >>> 16) & 0xff;
      target[i + 3] = (word >>> 24) & 0xff;
      i += 4;
    }
    if (i < target.length) {
      let word = this.generator.next();
      for (; i < target.length; i++) {
        target[i] = word & 0xff;
        word >>>= 8;
      }
    }
    return target;
  }

  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }

  /**
   * An independent stream: this source jumps 2^64 steps and the new one starts where it was.
   * Draws from the fork never change what this source draws next, and the reverse.
   */
  fork(): RandomSource {
    const child = this.generator.clone();
    this.generator.jump();
    return new RandomSource(this.seed, child);
  }
}

/** A seed for runs that were given none: the one place allowed to use ambient entropy. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
