import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Expensive invariant checks (src/util/assert.ts) are on for every test: the setup file turns
    // them on in each test process; MINNO_DEBUG=1 carries the choice to the child processes tests
    // spawn (bench/lib/child-main.ts reads it there).
    setupFiles: ['test/support/debug-checks.ts'],
    env: { MINNO_DEBUG: '1' },
    testTimeout: 120_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
