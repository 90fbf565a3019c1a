/**
 * Invariant assertions.
 *
 * A failed assertion is a bug in minno, not a condition the caller can handle, so it throws an
 * `AssertionError` that is deliberately not a `MinnoError`. Every assertion that enforces a
 * numbered rule cites it in its message (`'WAL-1 page lsn 90 > durable lsn 80'`), so a failure
 * points straight at the rule in the module doc.
 *
 * Cheap checks are always on. Expensive ones (walking a whole page, a whole list) run only when
 * `debugChecks` is true. Nothing in the engine reads the environment: the test suite turns them on
 * with `setDebugChecks(true)` in its setup file (test/support/debug-checks.ts, named by
 * vitest.config.ts), and an embedding application or a tool may do the same.
 */

export class AssertionError extends Error {
  constructor(message: string) {
    super(`minno invariant violated: ${message}`);
    this.name = 'AssertionError';
  }
}

export function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) {
    throw new AssertionError(typeof message === 'string' ? message : message());
  }
}

/** Marks a branch that a closed set of cases makes impossible. */
export function unreachable(value: never, what: string): never {
  throw new AssertionError(`unreachable ${what}: ${String(value)}`);
}

let debugChecksEnabled = false;

/** True when the expensive invariant checks should run. */
export function debugChecks(): boolean {
  return debugChecksEnabled;
}

/** Turns the expensive invariant checks on or off for the whole process. */
export function setDebugChecks(enabled: boolean): void {
  debugChecksEnabled = enabled;
}
