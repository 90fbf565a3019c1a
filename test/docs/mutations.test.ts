/**
 * The mutation catalogue (scripts/mutations.ts) names, for each rule, the tests that must fail
 * when the rule is broken. The audit runs those tests with vitest; a path that no longer exists or
 * a name pattern that selects no test would make a mutant "survive" for the wrong reason, or pass
 * its baseline with nothing run. This checks, in milliseconds, that every named test file exists
 * and every pattern names a test in it: the pattern is in the file's text (a describe or it
 * name), or, for a file of golden scripts (`describeGoldenScripts`), it is a script's name.
 * Whether each mutant is then killed is the audit's job (`npm run audit:mutations`).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MUTATIONS } from '../../scripts/mutations.js';

const root = new URL('../../', import.meta.url);

/** `file > pattern` as the audit splits it (scripts/audit-mutations.ts, parseTest). */
function parseTest(spec: string): { file: string; pattern: string | undefined } {
  const at = spec.indexOf(' > ');
  return at < 0 ? { file: spec, pattern: undefined } : { file: spec.slice(0, at), pattern: spec.slice(at + 3) };
}

/** The test names a file declares that are not in its text: one per golden script it runs. */
function goldenScriptNames(source: string): string[] {
  const folder = /describeGoldenScripts\('([\w-]+)'\)/.exec(source)?.[1];
  if (folder === undefined) return [];
  return readdirSync(new URL(`test/scripts/${folder}/`, root))
    .filter((name) => name.endsWith('.golden'))
    .map((name) => name.replace(/\.golden$/, ''));
}

describe('the mutation catalogue names tests that exist', () => {
  const specs = [...new Set(MUTATIONS.flatMap((mutation) => mutation.tests))].sort();

  it.each(specs)('%s', (spec) => {
    const { file, pattern } = parseTest(spec);
    expect(file, spec).toMatch(/^test\/.+\.test\.ts$/);
    expect(existsSync(new URL(file, root)), `${file} exists`).toBe(true);
    if (pattern === undefined) return;
    const source = readFileSync(new URL(file, root), 'utf8');
    const named = source.includes(pattern) || goldenScriptNames(source).some((name) => name.includes(pattern));
    expect(named, `a test of ${file} is named like "${pattern}"`).toBe(true);
  });
});
