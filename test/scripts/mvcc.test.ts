/**
 * MVCC as golden scripts: test/scripts/mvcc/*.golden, one test per file. They show the internal
 * state behind the results: a row's version chain, the locks a transaction holds, the purge view
 * and the history list, and what recovery and the background rollback make of transactions in
 * flight at a crash. test/scripts/README.md lists the verbs; UPDATE_GOLDEN=1 rewrites the
 * outputs for review.
 */
import { describeGoldenScripts } from './scripts.js';

describeGoldenScripts('mvcc');
