import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/helpers/isolate.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests spawn the built CLI and real servers; two cores here.
    pool: 'forks',
    // The built CLI (run in-process by test/helpers/cli.ts) is loaded by Node as is, not transformed.
    server: { deps: { external: [/\/dist\/cli\//] } },
  },
});
