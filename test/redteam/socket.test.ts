/**
 * Red team (seam between the agent socket, agent tokens and approvals): any process of
 * the user can reach the unlocked agent's socket. A caller that says it is a token
 * agent must prove it with the token, or it would ride that agent's grants and sign
 * audit lines in its name. Real agent (`janee unlock`), raw socket client, the BUILT
 * serve over stdio with JANEE_AGENT_TOKEN, loopback upstream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes } from '../helpers/cli.js';
import { addAgent } from '../helpers/http.js';
import { auditEntries, closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, rawClient, socketOf, unlock, type AgentEnv } from '../agent/helpers.js';

let up: Upstream;
let env: AgentEnv;
let token: string;

beforeAll(async () => {
  up = await startUpstream();
  env = await agentHome();
  for (const name of ['open', 'pay']) expect((await addService(env, name, up.url, `sk_${name}_0123456789abcdef`)).code).toBe(0);
  token = await addAgent(env, 'ci', ['--services', 'open']);
  expect((await unlock(env)).code).toBe(0);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

async function ask(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
  const c = await rawClient(socketOf(env));
  try {
    c.send({ v: 2, id: 1, ...msg });
    return await c.next();
  } finally {
    c.socket.end();
  }
}

describe('a token agent over the agent socket', { timeout: 60_000 }, () => {
  it('a claimed token agent without its token is refused: nothing is sent, nothing is audited in its name', async () => {
    const before = up.requests.length;
    for (const caller of [
      { agent: 'ci', agentSource: 'token' },
      { agent: 'ci', agentSource: 'token', token: 'janee_at_not-the-token' },
    ]) {
      const r = await ask({ op: 'execute', req: { service: 'open', method: 'GET', path: '/echo' }, caller });
      expect(r.ok).toBe(false);
      expect(JSON.stringify(r.error)).toMatch(/GATE_UNAUTHORIZED/);
      const x = await ask({ op: 'exec', req: { command: 'open', args: [] }, caller });
      expect(x.ok).toBe(false);
      expect(JSON.stringify(x.error)).toMatch(/GATE_UNAUTHORIZED/);
    }
    expect(up.requests.length).toBe(before);
    expect((await auditEntries(env.JANEE_HOME)).filter((e) => e.agent === 'ci' && e.outcome === 'allowed')).toEqual([]);
  });

  it('with the token, the name and scope are the token’s, not the claim’s', async () => {
    const caller = { agent: 'someone-else', agentSource: 'token', token, services: null };
    const list = await ask({ op: 'list_services', caller });
    expect((list.result as { name: string }[]).map((s) => s.name)).toEqual(['open']);
    const pay = await ask({ op: 'execute', req: { service: 'pay', method: 'GET', path: '/echo' }, caller });
    expect(JSON.stringify(pay.error)).toMatch(/GATE_NOT_IN_SCOPE/);
    const open = await ask({ op: 'execute', req: { service: 'open', method: 'GET', path: '/echo' }, caller });
    expect(open.ok).toBe(true);
    expect((await auditEntries(env.JANEE_HOME)).at(-1)).toMatchObject({
      agent: 'ci',
      agentSource: 'token',
      service: 'open',
      outcome: 'allowed',
    });
  });

  it('serve with JANEE_AGENT_TOKEN through the agent still works, with its scope', async () => {
    const s = await startServe({ env: { ...noPass(env), JANEE_AGENT_TOKEN: token }, clientName: 'pretender' });
    const list = await s.call('list_services');
    expect((list.structuredContent?.services as { name: string }[]).map((x) => x.name)).toEqual(['open']);
    expect((await s.execute({ service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
    expect(textOf(await s.execute({ service: 'pay', method: 'GET', path: '/echo' }))).toMatch(/not allowed for agent ci/);
    expect(s.stderr()).toMatch(/using the agent/);
    await s.close();
    expect(s.stdout() + s.stderr()).not.toContain(token);
  });
});
