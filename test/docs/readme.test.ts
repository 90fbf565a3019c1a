/**
 * The README's TypeScript examples are real code: each is a file in `examples/` (so `npm run
 * typecheck` covers it), identical to its README block up to the import path, and it runs and
 * prints what the README says it prints: every `console.log(...)` line in a README block ends in
 * `// → <output>`, the exact text console.log writes (util.format), and the example's console.log
 * calls must print exactly those, in order. Each block, compiled to ES2022 (the package's
 * target), also parses on the running Node (20.19 is the floor the README names).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { format } from 'node:util';
import { describe, expect, it, vi } from 'vitest';

const root = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', root), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
const examples = readdirSync(new URL('examples/', root))
  .filter((name) => name.startsWith('readme-'))
  .sort();

function body(file: string): string {
  return readFileSync(new URL(`examples/${file}`, root), 'utf8')
    .split('\n')
    .slice(1) // the "kept identical" comment
    .join('\n')
    .replace("from '../src/index.js'", "from 'minno'");
}

/** The outputs a README block promises: one per console.log line, from its `// → ` comment. */
function promisedOutputs(block: string): string[] {
  return block
    .split('\n')
    .filter((line) => line.includes('console.log('))
    .map((line) => {
      const arrow = line.indexOf('// → ');
      expect(arrow, `README line says what it prints: ${line.trim()}`).toBeGreaterThan(0);
      return line.slice(arrow + '// → '.length).trimEnd();
    });
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

  it('parses on Node 20 once compiled as the README says (no `using` declaration, which Node 20 cannot parse)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'minno-readme-'));
    try {
      blocks.forEach((block, i) => {
        expect(block, `README block ${i + 1}`).not.toMatch(/^\s*(await\s+)?using\s+\w+\s*=/m);
        const js = ts.transpileModule(block, {
          compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
        }).outputText;
        const file = join(dir, `block-${i + 1}.mjs`);
        writeFileSync(file, js);
        execFileSync(process.execPath, ['--check', file]); // throws on a syntax error
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const file of examples) {
    it(`runs ${file} and prints what the README promises`, async () => {
      const block = blocks.find((candidate) => candidate === body(file));
      expect(block, `${file} has its README block`).toBeDefined();
      const promised = promisedOutputs(block!);
      const printed: string[] = [];
      const spy = vi
        .spyOn(console, 'log')
        .mockImplementation((...args: unknown[]) => void printed.push(format(...args)));
      try {
        await import(new URL(`examples/${file}`, root).href);
      } finally {
        spy.mockRestore();
      }
      expect(printed).toEqual(promised);
    });
  }
});
