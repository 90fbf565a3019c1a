/**
 * The seed bugs, each told as a golden script: test/scripts/seeds/seed-NNN.golden, one test per
 * file. Each script's header says which lines of the engine are its fix and how to revert them;
 * with a fix reverted the script's output changes (or a step fails) and this test fails.
 *
 * Seeds 000, 001 and 002 are here. Seeds 003 (LOB partial updates) and 004 (change-buffer merge)
 * arrive with the LOB and change-buffer layers: each adds its `seed-00N.golden` to this folder and
 * nothing else here (test/scripts/README.md says how to write one and bless its output; new
 * verbs go in engine-host.ts).
 */
import { describeGoldenScripts } from './scripts.js';

describeGoldenScripts('seeds');
