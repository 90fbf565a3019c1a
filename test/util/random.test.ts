/**
 * RandomSource: a run replays from its seed, forks are independent streams, and the helpers
 * (int, intBetween, float, chance, pick, fill, shuffle) keep their ranges and refuse bad input.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { freshSeed, RandomSource } from '../../src/util/random.js';

const draws = (random: RandomSource, count = 16): number[] => Array.from({ length: count }, () => random.int(2 ** 32));

describe('RandomSource seeding', () => {
  it('the same seed gives the same sequence, through every helper', () => {
    const run = (seed: number) => {
      const random = new RandomSource(seed);
      return {
        ints: draws(random, 8),
        between: random.intBetween(-5, 5),
        float: random.float(),
        chance: random.chance(0.5),
        pick: random.pick(['a', 'b', 'c', 'd']),
        bytes: [...random.fill(new Uint8Array(7))],
        shuffled: random.shuffle([1, 2, 3, 4, 5, 6, 7, 8]),
      };
    };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
    expect(new RandomSource(42).seed).toBe(42);
  });

  it('every bit of the seed counts: high bits, negative seeds', () => {
    const seeds = [
      0,
      1,
      -1,
      -5,
      -7,
      2 ** 31,
      2 ** 32,
      2 ** 32 + 1,
      -(2 ** 32),
      2 ** 52,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
    ];
    const firsts = seeds.map((seed) => draws(new RandomSource(seed), 4).join(','));
    expect(new Set(firsts).size).toBe(seeds.length);
  });

  it('neighbouring seeds do not start with neighbouring numbers', () => {
    // Raw xoroshiro seeding makes the first output ~seed: seeds 1..64 would start 64 apart at most.
    const firsts = Array.from({ length: 64 }, (_, i) => new RandomSource(i + 1).int(2 ** 32));
    expect(Math.max(...firsts) - Math.min(...firsts)).toBeGreaterThan(2 ** 31);
    expect(new Set(firsts.map((v) => v % 8)).size).toBe(8);
  });

  it('refuses a seed that is not a safe integer', () => {
    for (const seed of [1.5, Number.NaN, Infinity, 2 ** 53]) {
      expect(() => new RandomSource(seed)).toThrow(InvalidArgumentError);
    }
  });

  it('freshSeed gives a safe integer seed in [0, 2^31)', () => {
    const seed = freshSeed();
    expect(Number.isSafeInteger(seed)).toBe(true);
    expect(seed).toBeGreaterThanOrEqual(0);
    expect(seed).toBeLessThan(2 ** 31);
  });
});

describe('RandomSource.fork', () => {
  it('draws from the fork do not change what the parent draws next', () => {
    const quiet = new RandomSource(7);
    quiet.fork();
    const expected = draws(quiet);

    const busy = new RandomSource(7);
    const child = busy.fork();
    draws(child, 1000);
    expect(draws(busy)).toEqual(expected);
  });

  it('draws from the parent do not change what the fork draws', () => {
    const quiet = new RandomSource(7);
    const expected = draws(quiet.fork());

    const busy = new RandomSource(7);
    const child = busy.fork();
    draws(busy, 1000);
    expect(draws(child)).toEqual(expected);
  });

  it('a fork replays from the seed and keeps the seed', () => {
    const a = new RandomSource(9).fork();
    const b = new RandomSource(9).fork();
    expect(a.seed).toBe(9);
    expect(draws(a)).toEqual(draws(b));
  });

  it('no two streams of a tree of forks repeat each other', () => {
    // With a jump-based fork, `a` after `a.fork()` would stand where `b` began.
    const root = new RandomSource(1);
    const a = root.fork();
    const b = root.fork();
    const aa = a.fork();
    const ab = a.fork();
    const ba = b.fork();
    const streams = [root, a, b, aa, ab, ba].map((r) => draws(r, 8).join(','));
    expect(new Set(streams).size).toBe(streams.length);
    // Nor is one a shifted copy of another: no stream's first two draws appear in another.
    const long = [root, a, b, aa, ab, ba].map((r) => draws(r, 256));
    for (const [i, s] of long.entries()) {
      for (const [j, t] of long.entries()) {
        const shifted = t.some((v, k) => v === s[0] && t[k + 1] === s[1]);
        if (i !== j) expect(shifted, `stream ${i} inside stream ${j}`).toBe(false);
      }
    }
  });
});

describe('RandomSource ranges', () => {
  it('int(bound) stays in [0, bound) and is roughly uniform', () => {
    const random = new RandomSource(3);
    const bound = 10;
    const counts = new Array<number>(bound).fill(0);
    const n = 100_000;
    for (let i = 0; i < n; i++) {
      const v = random.int(bound);
      expect(Number.isInteger(v) && v >= 0 && v < bound).toBe(true);
      counts[v]!++;
    }
    // Each bucket expects 10,000 with a standard deviation of ~95; 5 sigma either way.
    for (const count of counts) expect(Math.abs(count - n / bound)).toBeLessThan(500);
    expect(random.int(1)).toBe(0);
  });

  it('int reaches both ends of a large range above 2^32', () => {
    const random = new RandomSource(4);
    const bound = 2 ** 40;
    let max = 0;
    for (let i = 0; i < 1000; i++) {
      const v = random.int(bound);
      expect(v >= 0 && v < bound && Number.isInteger(v)).toBe(true);
      max = Math.max(max, v);
    }
    expect(max).toBeGreaterThan(2 ** 39); // the high word is drawn, not only the low one
  });

  it('intBetween is inclusive at both ends', () => {
    const random = new RandomSource(5);
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) seen.add(random.intBetween(-2, 2));
    expect([...seen].sort((x, y) => x - y)).toEqual([-2, -1, 0, 1, 2]);
    expect(random.intBetween(7, 7)).toBe(7);
  });

  it('float is in [0, 1) with a mean near 1/2; chance follows p', () => {
    const random = new RandomSource(6);
    let sum = 0;
    let hits = 0;
    const n = 20_000;
    for (let i = 0; i < n; i++) {
      const f = random.float();
      expect(f >= 0 && f < 1).toBe(true);
      sum += f;
      if (random.chance(0.25)) hits++;
    }
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(0.02);
    expect(Math.abs(hits / n - 0.25)).toBeLessThan(0.02);
    expect(random.chance(0)).toBe(false);
    expect(random.chance(-1)).toBe(false);
    expect(random.chance(1)).toBe(true);
  });

  it('fill writes every byte, including a tail shorter than a word, deterministically', () => {
    const a = new RandomSource(8).fill(new Uint8Array(4099));
    const b = new RandomSource(8).fill(new Uint8Array(4099));
    expect(a).toEqual(b);
    const zeros = a.filter((x) => x === 0).length;
    expect(zeros).toBeLessThan(40); // ~16 expected for uniform bytes
    expect(a.subarray(4096).some((x) => x !== 0)).toBe(true);
    const distinct = new Set(a);
    expect(distinct.size).toBeGreaterThan(250);
    expect(new RandomSource(8).fill(new Uint8Array(0))).toHaveLength(0);
  });

  it('shuffle is a deterministic permutation, in place', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    const shuffled = new RandomSource(10).shuffle(items);
    expect(shuffled).toBe(items);
    expect([...shuffled].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(shuffled).not.toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(new RandomSource(10).shuffle(Array.from({ length: 20 }, (_, i) => i))).toEqual(shuffled);
    expect(new RandomSource(10).shuffle([])).toEqual([]);
  });

  it('pick returns an element, each of them sometimes', () => {
    const random = new RandomSource(11);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(random.pick(['x', 'y', 'z']));
    expect([...seen].sort()).toEqual(['x', 'y', 'z']);
  });
});

describe('RandomSource refuses bad arguments', () => {
  it.each([
    ['int(0)', (r: RandomSource) => r.int(0)],
    ['int(-3)', (r: RandomSource) => r.int(-3)],
    ['int(2.5)', (r: RandomSource) => r.int(2.5)],
    ['int(NaN)', (r: RandomSource) => r.int(Number.NaN)],
    ['int(2^53)', (r: RandomSource) => r.int(2 ** 53)],
    ['intBetween(3, 2)', (r: RandomSource) => r.intBetween(3, 2)],
    ['intBetween(0, 2.5)', (r: RandomSource) => r.intBetween(0, 2.5)],
    ['intBetween(NaN, 1)', (r: RandomSource) => r.intBetween(Number.NaN, 1)],
    ['chance(NaN)', (r: RandomSource) => r.chance(Number.NaN)],
    ['pick([])', (r: RandomSource) => r.pick([])],
  ])('%s throws InvalidArgumentError', (_name, call) => {
    const random = new RandomSource(12);
    expect(() => call(random)).toThrow(InvalidArgumentError);
  });
});
