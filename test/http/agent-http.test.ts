/**
 * `janee serve --http` through the unlocked agent (no passphrase anywhere near
 * serve): tokens are added and removed through the agent, checked by the agent on
 * every request (the `authenticate` op), and a removal reaches an open session
 * within about a second. Then three agents × 16 concurrent calls for 10 s through
 * one server: no error, one audit line per call, `janee logs verify` passes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes, type HttpServe } from '../helpers/http.js';
import { auditEntries, textOf } from '../helpers/mcp.js';
import { sleep, startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, unlock, type AgentEnv } from '../agent/helpers.js';

const KEY = 'sk_test_http_agent_7c1e0f9a2b';
let up: Upstream;
let env: AgentEnv;
let serve: HttpServe;

beforeAll(async () => {
  up = await startUpstream();
  env = await agentHome();
  for (const name of ['svc', 'other']) expect((await addService(env, name, up.url, KEY)).code).toBe(0);
  expect((await unlock(env)).code).toBe(0);
  serve = await startHttpServe(noPass(env));
}, 60_000);

afterAll(async () => {
  await stopAllHttpServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

describe('serve --http with the agent', { timeout: 120_000 }, () => {
  it('tokens added and removed through the agent (no passphrase); scope and revocation hold for open sessions', async () => {
    expect(serve.stderr()).toMatch(/using the agent/);
    const token = await addAgent(noPass(env), 'via-agent', ['--services', 'svc']);
    const c = await connectHttp(serve.url, token);
    try {
      expect((await c.call('execute', { service: 'svc', method: 'GET', path: '/echo' })).isError).toBeFalsy();
      const out = await c.call('execute', { service: 'other', method: 'GET', path: '/echo' });
      expect(textOf(out)).toMatch(/service other is not allowed for agent via-agent/);
      const r = await runJanee(['agents', 'remove', 'via-agent'], { env: noPass(env) });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/through the agent/);
      const removedAt = Date.now();
      let refusedAfter = -1;
      while (Date.now() - removedAt < 5000) {
        const ok = await c.call('execute', { service: 'svc', method: 'GET', path: '/echo' }).then(
          () => true,
          () => false,
        );
        if (!ok) {
          refusedAfter = Date.now() - removedAt;
          break;
        }
        await sleep(50);
      }
      expect(refusedAfter).toBeGreaterThanOrEqual(0);
      expect(refusedAfter).toBeLessThan(3000); // the promise is 1 s (the agent re-reads the vault every 250 ms)
    } finally {
      await c.close();
    }
    const mine = (await auditEntries(env.JANEE_HOME)).filter((e) => e.agent === 'via-agent');
    expect(mine.map((e) => [e.agentSource, e.service, e.outcome])).toEqual([
      ['token', 'svc', 'allowed'],
      ['token', 'other', 'blocked'],
    ]);
  });

  it('three agents × 16 concurrent calls for 10 s: no error, one audit line per call, the log verifies', async () => {
    const before = (await auditEntries(env.JANEE_HOME)).length;
    const names = ['load-a', 'load-b', 'load-c'];
    const tokens = await Promise.all(names.map((n) => addAgent(noPass(env), n)));
    const clients = await Promise.all(tokens.map((t) => connectHttp(serve.url, t)));
    const end = Date.now() + 10_000;
    const made = new Map<string, number>(names.map((n) => [n, 0]));
    const errors: string[] = [];
    const worker = async (i: number): Promise<void> => {
      const c = clients[i] as (typeof clients)[number];
      while (Date.now() < end) {
        const r = await c.call('execute', { service: 'svc', method: 'GET', path: '/echo' });
        made.set(names[i] as string, (made.get(names[i] as string) ?? 0) + 1);
        if (r.isError) errors.push(textOf(r));
      }
    };
    await Promise.all(names.flatMap((_n, i) => Array.from({ length: 16 }, () => worker(i))));
    await Promise.all(clients.map((c) => c.close()));
    expect(errors).toEqual([]);
    const entries = (await auditEntries(env.JANEE_HOME)).slice(before);
    for (const n of names) {
      expect(made.get(n)).toBeGreaterThan(0);
      expect(entries.filter((e) => e.agent === n && e.outcome === 'allowed').length, n).toBe(made.get(n));
    }
    const total = [...made.values()].reduce((a, b) => a + b, 0);
    console.log(`[http load] ${total} calls in 10 s over 3 agents × 16 (${(total / 10).toFixed(0)} calls/s)`);
    const v = await runJanee(['logs', 'verify'], { env: noPass(env) });
    expect(v.code, v.stderr).toBe(0);
  });
});
