/**
 * The seed bugs, each told as a golden script: test/scripts/seeds/seed-NNN.golden, one test per
 * file. Each script's header says which lines of the engine are its fix and how to revert them;
 * with a fix reverted the script's output changes (or a step fails) and this test fails.
 *
 * Seeds 003 (LOB partial updates) and 004 (change-buffer merge) revert their fix with a test seam
 * (src/row/row-seams.ts); the teeth below run their scripts with the seam forced on and require the
 * failure the header promises, so the scripts keep their teeth without a mutation run.
 * test/scripts/README.md says how to write a story and bless its output; verbs go in engine-host.ts.
 */
import { describe, expect, it } from 'vitest';
import type { DatabaseTestSeams } from '../../src/api/database.js';
import { setDebugChecks } from '../../src/util/assert.js';
import { EngineHost } from './engine-host.js';
import { describeGoldenScripts, runScriptFile, type ScriptRun } from './scripts.js';

describeGoldenScripts('seeds');

/** A seed story run with `seams` forced on in every open and recovery: what stopped it. */
async function withFixReverted(name: string, seams: DatabaseTestSeams): Promise<string> {
  const run: ScriptRun = await runScriptFile('seeds', name, new EngineHost(seams));
  expect('error' in run, `${name} with ${JSON.stringify(seams)} stops with an error`).toBe(true);
  return 'error' in run ? run.error.message : '';
}

describe('seed stories with their fix reverted', () => {
  it('seed-003 fails with the LOB diff reader losing its place (lobDiffReaderLosesPlace)', async () => {
    const failure = await withFixReverted('seed-003', { lobDiffReaderLosesPlace: true });
    expect(failure).toMatch(/`versions 1` failed: .*UF2 LOB diff 1 of 0 bytes/);
  });

  it('seed-004 fails with the merge split into two mtrs (ibufMergeInTwoMtrs): the inserts merge twice', async () => {
    const failure = await withFixReverted('seed-004', { ibufMergeInTwoMtrs: true });
    expect(failure).toMatch(
      /scan-by-v 100\.\.100\).*IB7 \(IBUF-SAME-MTR\) a buffered insert finds its entry already live/,
    );
  });

  it('seed-004 fails with the merge split, debug checks off: check() finds the entry purge had removed', async () => {
    setDebugChecks(false);
    let failure: string;
    try {
      failure = await withFixReverted('seed-004', { ibufMergeInTwoMtrs: true });
    } finally {
      setDebugChecks(true);
    }
    expect(failure).toMatch(
      /^minno invariant violated: RE3 SEC=CLUST: t\.k_v has a live entry no live row projects to/,
    );
  });
});
