import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/isolate.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests spawn the built CLI and real servers; two cores here.
    pool: 'forks',
  },
});
