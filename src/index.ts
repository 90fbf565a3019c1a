/**
 * minno: a crash-safe transactional storage engine in pure TypeScript.
 *
 * This file is the package's one public entry: everything a user may import is exported here,
 * and nothing else is API.
 */
export * from './errors.js';
export { AssertionError, setDebugChecks } from './util/assert.js';
export { RandomSource, freshSeed } from './util/random.js';
export { ManualClock, SystemClock, type Clock, type TimerHandle } from './util/clock.js';
export {
  ENGINE_EVENTS,
  normalizePath,
  type EngineEvent,
  type FileStat,
  type OpenOptions,
  type Vfs,
  type VfsFile,
} from './vfs/vfs.js';
export { MemoryVfs } from './vfs/memory-vfs.js';
export { NodeVfs } from './vfs/node-vfs.js';
