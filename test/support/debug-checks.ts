/**
 * Vitest setup file (vitest.config.ts `setupFiles`): every test runs with the engine's expensive
 * invariant checks on (src/util/assert.ts). MINNO_DEBUG=0 turns them off, as for a child process
 * that measures speed; the engine itself never reads the environment.
 */
import { setDebugChecks } from '../../src/util/assert.js';

setDebugChecks(process.env['MINNO_DEBUG'] !== '0');
