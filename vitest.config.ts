import { availableParallelism } from 'node:os';
import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Suites that need `age` or real git repositories, or whose tests take over 5 s
 * each (agent timers, several real processes at once). `npm test` (and CI) runs
 * them; `JANEE_FAST=1 npm test` skips them for a quick local run.
 */
const SLOW = [
  'test/vault/age-interop.test.ts', // the age binary
  'test/dotfiles/export.test.ts', // the age binary under a pty
  'test/dotfiles/git.test.ts', // real git repositories
  'test/dotfiles/rollback.test.ts', // real git repositories
  'test/agent/lifecycle.test.ts', // agent idle/hard timeouts, hung agents
  'test/agent/vault.test.ts',
  'test/agent/serve.test.ts',
  'test/agent/protocol.test.ts',
  'test/audit/agent-signing.test.ts',
  'test/cli/concurrency.test.ts', // ten real processes at once
  'test/http/agent-http.test.ts', // an agent, serve --http, and 10 s of load
];

const fast = Boolean(process.env.JANEE_FAST);
if (fast && process.env.CI) throw new Error('JANEE_FAST is for local runs: CI runs every suite');

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: fast ? [...configDefaults.exclude, ...SLOW] : configDefaults.exclude,
    setupFiles: ['test/helpers/isolate.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // In CI only, a failed test runs once more: the integration suites race real agents,
    // servers and timers on a shared 2-core machine. A test that fails twice fails the run,
    // and vitest reports every retried test, so flakiness stays visible.
    retry: process.env.CI ? 1 : 0,
    // Integration tests spawn the built CLI and real servers.
    pool: 'forks',
    // vitest's default is one worker per core less one: a single worker on two cores,
    // which leaves a core idle while tests wait on sockets, timers and child processes.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // The built CLI (run in-process by test/helpers/cli.ts) is loaded by Node as is, not transformed.
    server: { deps: { external: [/\/dist\/cli\//] } },
  },
});
