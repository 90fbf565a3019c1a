import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageHash } from '../../src/buffer/page-hash.js';

describe('PageHash', () => {
  it('behaves as a Map of (space, page) -> frame under random sets and deletes', () => {
    const op = fc.oneof(
      fc.record({
        kind: fc.constant('set' as const),
        space: fc.integer({ min: 0, max: 3 }),
        page: fc.integer({ min: 0, max: 40 }),
        frame: fc.nat(100),
      }),
      fc.record({
        kind: fc.constant('delete' as const),
        space: fc.integer({ min: 0, max: 3 }),
        page: fc.integer({ min: 0, max: 40 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
        const hash = new PageHash(64);
        const model = new Map<string, number>();
        for (const o of ops) {
          const k = `${o.space}:${o.page}`;
          if (o.kind === 'set') {
            if (!model.has(k) && model.size >= 64) continue;
            hash.set(o.space, o.page, o.frame);
            model.set(k, o.frame);
          } else {
            expect(hash.delete(o.space, o.page)).toBe(model.delete(k));
          }
          expect(hash.size).toBe(model.size);
        }
        for (let space = 0; space <= 3; space++) {
          for (let page = 0; page <= 40; page++)
            expect(hash.get(space, page)).toBe(model.get(`${space}:${page}`) ?? -1);
        }
        expect([...hash.entries()].length).toBe(model.size);
      }),
      { numRuns: 200 },
    );
  });

  it('handles page numbers up to 2^32 - 1 and large space ids', () => {
    const hash = new PageHash(8);
    hash.set(0xfffff, 0xfffffffe, 3);
    hash.set(0, 0xfffffffe, 4);
    expect(hash.get(0xfffff, 0xfffffffe)).toBe(3);
    expect(hash.get(0, 0xfffffffe)).toBe(4);
    expect(hash.get(1, 0xfffffffe)).toBe(-1);
  });
});
