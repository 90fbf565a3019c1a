/**
 * The door to the test-only seams (StorageTestSeams, DatabaseTestSeams): switches that remove one
 * crash-safety mechanism each, so tests and the simulator can prove the mechanism is what keeps
 * data safe. The public `open` methods take no seams; `openStorageWithTestSeams` and
 * `openDatabaseWithTestSeams` reach them through this symbol, and neither they nor the symbol are
 * exported from the package entry (`src/index.ts`), so an application cannot switch a rule off.
 */
export const WITH_TEST_SEAMS: unique symbol = Symbol('minno.withTestSeams');
