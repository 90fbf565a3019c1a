/**
 * The README's TypeScript examples are real code: each is a file in `examples/` (so `npm run
 * typecheck` covers it), identical to its README block up to the import path, and it runs.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const examples = readdirSync(new URL('examples/', root)).filter((name) => name.startsWith('readme-')).sort();

function body(file: string): string {
  return readFileSync(new URL(`examples/${file}`, root), 'utf8')
    .split('\n')
    .slice(1) // the "kept identical" comment
    .join('\n')
    .replace("from '../src/index.js'", "from 'minno'");
}

describe('README errors table', () => {
  it('lists every error code', async () => {
    const { ERROR_CODES } = await import('../../src/errors.js');
    for (const code of ERROR_CODES) expect(readme, code).toContain(`\`${code}\``);
  });
});

describe('README examples', () => {
  it('has one example file per TypeScript block, with the same code', () => {
    expect(examples.length).toBe(blocks.length);
    const bodies = new Set(examples.map(body));
    for (const block of blocks) expect(bodies.has(block), block.slice(0, 80)).toBe(true);
  });

  for (const file of examples) {
    it(`runs ${file}`, async () => {
      await import(new URL(`examples/${file}`, root).href);
    });
  }
});
