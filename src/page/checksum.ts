/**
 * Checksums: xxHash through `xxhash-wasm`, loaded once per process.
 *
 * xxhash-wasm can only be instantiated asynchronously, so `loadChecksums()` is awaited once by
 * `Storage.open` (and by tests); after that every checksum is a synchronous call. Pages use the
 * 64-bit hash (h64Raw: about 1.1 us for 16 KiB on the reference machine), redo groups and small
 * headers the 32-bit one, which returns a plain number and so allocates nothing.
 */
import xxhash from 'xxhash-wasm';
import { assert } from '../util/assert.js';

type XxHashApi = Awaited<ReturnType<typeof xxhash>>;

let api: XxHashApi | undefined;
let loading: Promise<XxHashApi> | undefined;

/** Loads the wasm module; idempotent and cheap after the first call. */
export async function loadChecksums(): Promise<void> {
  if (api !== undefined) return;
  loading ??= xxhash();
  api = await loading;
}

function loaded(): XxHashApi {
  assert(api !== undefined, 'checksums used before loadChecksums() was awaited');
  return api;
}

/** xxh64 of `bytes`, as a bigint. */
export function checksum64(bytes: Uint8Array): bigint {
  return loaded().h64Raw(bytes, 0n);
}

/** xxh32 of `bytes`, as an unsigned 32-bit number. */
export function checksum32(bytes: Uint8Array, seed = 0): number {
  return loaded().h32Raw(bytes, seed) >>> 0;
}
