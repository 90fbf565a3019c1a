/**
 * Copying a few bytes between arrays on the hot write path.
 *
 * `target.set(source.subarray(start, end), at)` allocates a view per call, about 70-100 ns on
 * Node 20 whatever the length; a plain loop costs about 3 ns a byte. Index entries, redo record
 * payloads and page counters are mostly a few to a few dozen bytes (a secondary entry of the
 * sysbench load is 8), and a row is written three times over (entry, page, redo): below
 * COPY_LOOP_BYTES the loop wins, above it the view does (issue 16, the bulk load's profile).
 */

/** Lengths up to this are copied byte by byte. */
const COPY_LOOP_BYTES = 32;

/**
 * Copies `source[start, end)` into `target` at `at`. The two must not be overlapping views of one
 * buffer (a forward loop is not a memmove): the write path copies from its own arrays (scratch,
 * detached keys and values: BTree.detach) into frames, and from frames into the redo records.
 * (Checking `target.buffer !== source.buffer` costs about 25 ns, more than the loop saves.)
 */
export function copyBytes(target: Uint8Array, at: number, source: Uint8Array, start: number, end: number): void {
  const length = end - start;
  if (length <= COPY_LOOP_BYTES) {
    for (let i = 0; i < length; i++) target[at + i] = source[start + i]!;
    return;
  }
  target.set(source.subarray(start, end), at);
}
