/**
 * Red team (seam between serve --http, where many agent tokens share one process, and
 * approvals, capped per process): one agent filling every pending slot must not stop
 * another agent from asking a human. The BUILT `janee serve --http`, two tokens, the
 * SDK client, a loopback upstream.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, withEnv, type JaneeEnv } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes } from '../helpers/http.js';
import { textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  const base = await initHome();
  env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
  const r = await runJanee(['add', 'pay', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], {
    env,
    input: 'sk_test_flood_0123456789\n',
  });
  expect(r.code, r.stderr).toBe(0);
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  await fs.writeFile(
    configFile,
    text.replace(
      '\n  pay:\n',
      '\n  pay:\n    approvalWaitMs: 1\n    policies:\n      - { path: /v1/charges, methods: [POST], approve: true }\n',
    ),
  );
}, 60_000);

afterAll(async () => {
  await stopAllHttpServes();
  await up?.close();
  await cleanupTempHomes();
});

it('an agent that fills its pending slots does not use up another agent’s', { timeout: 120_000 }, async () => {
  const noisy = await addAgent(env, 'noisy');
  const other = await addAgent(env, 'other');
  const serve = await startHttpServe(env);
  const a = await connectHttp(serve.url, noisy);
  const b = await connectHttp(serve.url, other);
  try {
    const texts: string[] = [];
    for (let i = 0; i < 40; i++)
      texts.push(textOf(await a.call('execute', { service: 'pay', method: 'POST', path: '/v1/charges', body: { i } })));
    expect(texts.at(-1)).toMatch(/already waiting for approval/);
    const r = await b.call('execute', { service: 'pay', method: 'POST', path: '/v1/charges', body: { from: 'other' } });
    expect(textOf(r)).toMatch(/janee approve [a-z0-9]{10}/);
    expect(up.requests).toEqual([]);
  } finally {
    await a.close();
    await b.close();
    await serve.stop();
  }
});
