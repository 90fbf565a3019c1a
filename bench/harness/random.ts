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

let scratchBytes = Buffer.alloc(256);

/** A reusable byte buffer of at least `length` bytes. */
function scratch(length: number): Buffer {
  if (scratchBytes.length < length) scratchBytes = Buffer.alloc(length);
  return scratchBytes;
}

function latin1(bytes: Buffer, length: number): string {
  return bytes.toString('latin1', 0, length);
}

/** A uniform random source: integers, floats and strings of digits or printable characters. */
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

  /** 32 uniform random bits as an unsigned integer. */
  private bits(): number {
    return this.rng.next() >>> 0;
  }

  /**
   * sysbench's `rand.string(template)`: each '#' becomes a random digit, other characters stay.
   * Digits come three at a time from 10-bit draws below 1000 (three per 32-bit draw). The string
   * is built in a byte buffer and decoded once: appending a character at a time would leave a
   * rope of one node per character for the garbage collector.
   */
  digits(template: string): string {
    const bytes = scratch(template.length);
    let pool = 0;
    let chunks = 0;
    let digit = 3;
    let chunk = 0;
    for (let i = 0; i < template.length; i++) {
      const code = template.charCodeAt(i);
      if (code !== 35) {
        bytes[i] = code;
        continue;
      }
      if (digit === 3) {
        do {
          if (chunks === 0) {
            pool = this.bits();
            chunks = 3;
          }
          chunk = pool & 1023;
          pool >>>= 10;
          chunks--;
        } while (chunk >= 1000);
        digit = 0;
      }
      bytes[i] = 48 + (digit === 0 ? Math.floor(chunk / 100) : digit === 1 ? Math.floor(chunk / 10) % 10 : chunk % 10);
      digit++;
    }
    return latin1(bytes, template.length);
  }

  /** `length` random printable ASCII characters (YCSB's random field values). */
  ascii(length: number): string {
    const bytes = scratch(length);
    let i = 0;
    while (i < length) {
      // Four characters from 27 bits below 95^4.
      let x = this.bits() & 0x7ffffff;
      if (x >= 81_450_625) continue;
      for (let n = 0; n < 4 && i < length; n++) {
        bytes[i++] = 32 + (x % 95);
        x = Math.floor(x / 95);
      }
    }
    return latin1(bytes, length);
  }
}
