/**
 * Red team (fourth pass): config.yaml or the vault replaced by a FIFO (or a link to a
 * device) by whoever can write JANEE_HOME. Both were read with a blocking open, which
 * waits for ever on a FIFO with no writer: `janee list` hung, and `janee serve` never
 * answered a tool call (an MCP client just times out, with nothing on stderr to say why).
 * Each must fail at once with a clear error. The BUILT CLI and `janee serve` over stdio.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, cloneHome, errorLines, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';

let base: JaneeEnv;

beforeAll(async () => {
  base = await initHome();
  await addBearer(base, 'svc', 'https://api.example.com', 'sk_test_0123456789abcdefghij');
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await cleanupTempHomes();
});

async function homeWithFifo(name: string): Promise<JaneeEnv> {
  const env = await cloneHome(base);
  await fs.rm(path.join(env.JANEE_HOME, name));
  execFileSync('mkfifo', [path.join(env.JANEE_HOME, name)]);
  return env;
}

const within = <T>(p: Promise<T>, ms: number): Promise<T | 'hung'> =>
  Promise.race([p, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), ms))]);

describe('a FIFO in JANEE_HOME fails at once', { timeout: 60_000 }, () => {
  for (const name of ['config.yaml', 'vault.janee']) {
    it(`${name}: janee list`, async () => {
      const env = await homeWithFifo(name);
      const r = await runJanee(['list'], { env, spawn: true, timeoutMs: 15_000 });
      expect(r.timedOut, 'hung').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(errorLines(r.stderr).error).toMatch(/cannot read .* \(ENOTFILE\)/);
    });

    it(`${name}: janee serve answers the call with an error`, async () => {
      const env = await homeWithFifo(name);
      const s = await within(startServe({ env, args: ['--agent', 'rt4'], listTools: false }), 15_000);
      expect(s, 'serve never answered initialize').not.toBe('hung');
      if (s === 'hung') return;
      const r = await within(s.execute({ service: 'svc', method: 'GET', path: '/x' }), 15_000);
      expect(r, 'the call hung').not.toBe('hung');
      if (r === 'hung') return;
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/ENOTFILE/);
      await s.close();
    });
  }
});
