/**
 * Seeded random streams for the harness: every engine in a run draws the same keys and values.
 *
 * A stream is pure-rand's xoroshiro128+ seeded from the run's seed and a few integers naming what
 * it is for (a client, a row, the warm-up), mixed by a 32-bit finaliser so that neighbouring names
 * give unrelated streams. Rows are drawn from a stream of their own (`rowStream(seed, table, id)`),
 * so a row's values do not depend on the order rows are loaded in nor on the engine; clients draw
 * their keys from a stream per client, so each client's sequence is the same in every engine.
 */
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';

/** What a stream is for: its first name part, so two purposes never share a stream. */
export const STREAM = { row: 1, client: 2, warmup: 3, record: 4, value: 5 } as const;

/** murmur3's 32-bit finaliser: every input bit moves every output bit. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A 32-bit seed from the run's seed and the parts naming the stream. */
export function streamSeed(seed: number, ...parts: readonly number[]): number {
  let h = mix32((seed | 0) ^ 0x9e3779b9) ^ mix32(Math.floor(seed / 2 ** 32) | 0);
  for (const part of parts) h = mix32((h ^ mix32(part | 0)) + 0x6a09e667) ^ (Math.floor(part / 2 ** 32) | 0);
  return h | 0;
}

/** A uniform random source: integers, floats and strings of digits or letters. */
export class Random {
  private readonly rng: RandomGenerator;

  constructor(seed: number, ...parts: readonly number[]) {
    this.rng = xoroshiro128plus(streamSeed(seed, ...parts));
  }

  /** A uniform integer in [min, max], both inclusive (sysbench's `rand.uniform(min, max)`). */
  int(min: number, max: number): number {
    return uniformInt(this.rng, min, max);
  }

  /** A uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.rng);
  }

  /**
   * sysbench's `rand.string(template)`: each '#' becomes a random digit, other characters stay.
   * Drawn nine digits at a time.
   */
  digits(template: string): string {
    let out = '';
    let pool = 0;
    let left = 0;
    for (let i = 0; i < template.length; i++) {
      const ch = template.charCodeAt(i);
      if (ch !== 35) {
        out += template[i];
        continue;
      }
      if (left === 0) {
        pool = uniformInt(this.rng, 0, 999_999_999);
        left = 9;
      }
      out += String.fromCharCode(48 + (pool % 10));
      pool = Math.floor(pool / 10);
      left--;
    }
    return out;
  }

  /** `length` random printable ASCII characters (YCSB's random field values), four per draw. */
  ascii(length: number): string {
    let out = '';
    while (out.length < length) {
      // 95 printable characters from ' ' (32) to '~' (126); 95^4 < 2^31, so four per draw.
      let pool = uniformInt(this.rng, 0, 95 ** 4 - 1);
      for (let i = 0; i < 4 && out.length < length; i++) {
        out += String.fromCharCode(32 + (pool % 95));
        pool = Math.floor(pool / 95);
      }
    }
    return out;
  }
}
