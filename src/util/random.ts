/**
 * The seeded random source that every layer takes from its options.
 *
 * Nothing in minno calls `Math.random`: the fault VFS, the simulator, the buffer pool's sampling
 * and the background scheduler all draw from a `RandomSource`, so a whole run replays from one
 * seed. The generator is pure-rand's xoroshiro128+ (fast, 2^128 period).
 *
 * Seeding: every bit of a safe-integer seed counts (the 64-bit two's complement halves of the seed
 * are hashed into the 128-bit state), so distinct seeds give distinct streams, negative ones
 * included, and neighbouring seeds (1, 2, 3...) do not start with neighbouring numbers, which
 * xoroshiro's raw seeding gives (its first output is the complement of the seed).
 *
 * `fork()` gives an independent stream (the workload, the scheduler, the faults) so that one of
 * them drawing more numbers does not shift the others. The child's state is four draws of the
 * parent, hashed: a point of the 2^128 cycle that no other fork shares in practice. Jumping (clone,
 * then move the parent 2^64 ahead) was the first design and is wrong for a tree of forks: after
 * `a = r.fork(); b = r.fork(); a.fork()`, `a` stands exactly where `b` began, and the two repeat
 * each other draw for draw.
 */
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
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
    // The seed's two 32-bit halves (two's complement), each hashed twice with other keys, in an
    // order that makes the first output (state words 1 and 3) depend on both halves.
    const low = seed | 0;
    const high = Math.floor(seed / 2 ** 32) | 0;
    this.generator = generator ?? mixedGenerator(low, high, high, low);
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
    if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) {
      throw new InvalidArgumentError(`random range bounds must be safe integers, got [${String(min)}, ${String(max)}]`);
    }
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
    if (Number.isNaN(p)) throw new InvalidArgumentError('random probability must be a number, got NaN');
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
   * An independent stream, seeded from four draws of this one (see the module doc). Draws from the
   * fork never change what this source draws next, and the reverse.
   */
  fork(): RandomSource {
    const g = this.generator;
    return new RandomSource(this.seed, mixedGenerator(g.next(), g.next(), g.next(), g.next()));
  }
}

/** One key per state word, so equal inputs in two words still give unrelated words. */
const MIX_KEYS = [0x9e3779b9, 0x85ebca6b, 0xc2b2ae35, 0x27d4eb2f] as const;

/** MurmurHash3's 32-bit finaliser: a bijection on 32-bit words that spreads every input bit. */
function fmix32(word: number): number {
  let h = word | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h | 0;
}

/**
 * A xoroshiro128+ generator whose state is the four words hashed (word i with key i). Injective in
 * each word; a state of all zeros (the generator's one fixed point) is replaced by a non-zero one.
 */
function mixedGenerator(w0: number, w1: number, w2: number, w3: number): JumpableRandomGenerator {
  const state = [w0, w1, w2, w3].map((word, i) => fmix32(word ^ (MIX_KEYS[i] as number)));
  if (!state.some((word) => word !== 0)) state[0] = 1;
  return xoroshiro128plusFromState(state);
}

/** A seed for runs that were given none: the one place allowed to use ambient entropy. */
export function freshSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}
