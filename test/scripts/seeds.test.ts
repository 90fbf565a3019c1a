/**
 * The seed bugs, each told as a golden script: test/scripts/seeds/seed-NNN.golden. Each script's
 * header says which lines of the engine are its fix and how to revert them; with the fix reverted
 * the script's output changes and this test fails. (Seeds 003 and 004 are plain vitest stories
 * beside them, `seed-003.test.ts` and `seed-004.test.ts`; README.md says how to move one here.)
 */
import { describeGoldenScripts } from './scripts.js';

describeGoldenScripts('seeds');
