import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Expensive invariant checks (see src/util/debug.ts) are on for every test.
    env: { MINNO_DEBUG: '1' },
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
