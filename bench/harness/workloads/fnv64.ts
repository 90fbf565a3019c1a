/**
 * YCSB's 64-bit FNV hash (`Utils.fnvhash64`): FNV-1a over the eight low-order bytes of a long,
 * then the absolute value of the signed result. YCSB hashes key numbers with it twice per
 * operation (the scrambled zipfian spreads its hot items with it, and a key's name is `"user"`
 * followed by the hash), so it must be cheap: BigInt arithmetic costs about 1.7 µs a hash here,
 * more than a point read of the fastest engine. This works on four 16-bit limbs in plain numbers
 * and allocates nothing but the key string.
 */

/** The hash of the last `hash()` call, least significant limb first. */
const limbs = new Uint32Array(4);

// FNV-1a 64-bit offset basis 0xcbf29ce484222325, in 16-bit limbs.
const BASIS = [0x2325, 0x8422, 0x9ce4, 0xcbf2] as const;
// The prime is 2^40 + 0x1b3: limb 0 is 0x1b3 and limb 2 is 0x100.
const PRIME_LOW = 0x1b3;
const PRIME_MID = 0x100;

/** Hashes `value` (a non-negative safe integer) into `limbs`. */
function hash(value: number): void {
  let h0: number = BASIS[0];
  let h1: number = BASIS[1];
  let h2: number = BASIS[2];
  let h3: number = BASIS[3];
  const lowWord = value >>> 0;
  const highWord = Math.floor(value / 4294967296) >>> 0;
  for (let i = 0; i < 8; i++) {
    h0 ^= i < 4 ? (lowWord >>> (8 * i)) & 0xff : (highWord >>> (8 * (i - 4))) & 0xff;
    // (h * prime) mod 2^64, limb by limb; every intermediate stays below 2^27.
    const r0 = h0 * PRIME_LOW;
    const r1 = h1 * PRIME_LOW + (r0 >>> 16);
    const r2 = h2 * PRIME_LOW + h0 * PRIME_MID + (r1 >>> 16);
    const r3 = h3 * PRIME_LOW + h1 * PRIME_MID + (r2 >>> 16);
    h0 = r0 & 0xffff;
    h1 = r1 & 0xffff;
    h2 = r2 & 0xffff;
    h3 = r3 & 0xffff;
  }
  if (h3 >= 0x8000) {
    // Negative as a signed long: Math.abs is the two's complement negation (invert, add one).
    h0 = (h0 ^ 0xffff) + 1;
    h1 = (h1 ^ 0xffff) + (h0 >>> 16);
    h2 = (h2 ^ 0xffff) + (h1 >>> 16);
    h3 = ((h3 ^ 0xffff) + (h2 >>> 16)) & 0xffff;
    h0 &= 0xffff;
    h1 &= 0xffff;
    h2 &= 0xffff;
  }
  limbs[0] = h0;
  limbs[1] = h1;
  limbs[2] = h2;
  limbs[3] = h3;
}

// 2^48 = 2814749 * 10^8 + 76710656 and 2^32 = 42 * 10^8 + 94967296.
const E8 = 100_000_000;

/** `Long.toString(fnvhash64(value))`. */
export function fnv64Decimal(value: number): string {
  hash(value);
  const h3 = limbs[3]!;
  const h2 = limbs[2]!;
  // The value in base 10^8: the low part below 2^53 (h3 < 2^15), the high part exact too.
  const low = h3 * 76710656 + h2 * 94967296 + limbs[1]! * 65536 + limbs[0]!;
  const carry = Math.floor(low / E8);
  const high = h3 * 2814749 + h2 * 42 + carry;
  const rest = low - carry * E8;
  return high === 0 ? String(rest) : `${high}${String(rest + E8).slice(1)}`;
}

/** `fnvhash64(value) % modulus`, for a modulus below 2^37. */
export function fnv64Mod(value: number, modulus: number): number {
  hash(value);
  let remainder = 0;
  for (let i = 3; i >= 0; i--) remainder = (remainder * 65536 + limbs[i]!) % modulus;
  return remainder;
}
