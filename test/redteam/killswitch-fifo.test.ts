/**
 * Red team (fourth pass): the kill switch file replaced by a FIFO. Its reader opened the
 * file with a blocking open, which waits for ever on a FIFO with no writer: every call of
 * a running serve (and of the agent every serve shares) hung on the kill switch check, and
 * `janee killswitch status` / `janee killswitch off --all` — the human's way out — hung too.
 * A kill switch file that cannot be read fails closed (everything blocked) and says so;
 * `off --all` clears it. The BUILT CLI and `janee serve` over stdio, a loopback upstream.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  await addBearer(env, 'svc', up.url, 'sk_test_0123456789abcdefghij');
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

it('a FIFO as the kill switch file blocks every call at once, and killswitch off --all clears it', { timeout: 90_000 }, async () => {
  const file = path.join(env.JANEE_HOME, 'killswitch');
  execFileSync('mkfifo', [file]);

  const status = await runJanee(['killswitch', 'status'], { env, spawn: true, timeoutMs: 15_000 });
  expect(status.timedOut, 'killswitch status hung').toBe(false);
  expect(status.stdout).toMatch(/everything \(the kill switch file is damaged: .*not a regular file\)/);

  const s = await startServe({ env, args: ['--agent', 'rt4'] });
  const call = s.execute({ service: 'svc', method: 'GET', path: '/x' });
  const r = await Promise.race([call, new Promise<'hung'>((resolve) => setTimeout(() => resolve('hung'), 15_000))]);
  expect(r, 'the call hung on the kill switch check').not.toBe('hung');
  if (r === 'hung') return;
  expect(r.isError).toBe(true);
  expect(r._meta?.['dev.janee/error'], textOf(r)).toEqual({ code: 'GATE_KILLED' });
  expect(up.requests).toHaveLength(0);

  const clear = await runJanee(['killswitch', 'off', '--all'], { env, spawn: true, timeoutMs: 15_000 });
  expect(clear.timedOut, 'killswitch off --all hung').toBe(false);
  expect(clear.code, clear.stderr).toBe(0);
  await expect(fs.lstat(file)).rejects.toThrow();
  await new Promise((resolve) => setTimeout(resolve, 400)); // serve re-reads the kill switch at most every 250 ms
  const after = await s.execute({ service: 'svc', method: 'GET', path: '/x' });
  expect(after.isError, textOf(after)).toBeFalsy();
  await s.close();
});
