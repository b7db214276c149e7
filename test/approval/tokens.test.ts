/**
 * Approvals for agents holding a token (issue 12 beside issue 11): over serve --http with
 * the SDK's Streamable HTTP client, and the red-team seams — a call of a token agent that
 * waits for a human must not go out once the token is revoked, even if the human then
 * approves it, and a removed token's grants must not pass to a new token of that name.
 * The BUILT `janee serve`, `janee approve` typed at a real pseudo-terminal, a loopback
 * upstream counting hits.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { approvalsDir } from '../../src/approval/store.js';
import { addService, agentHome, noPass, vaultOf } from '../agent/helpers.js';
import { CLI, cleanupTempHomes, PASSPHRASE, runJanee, scratchDir, withEnv } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes } from '../helpers/http.js';
import { closeAllServes, startServe, textOf, type ToolResult } from '../helpers/mcp.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const pty = hasPty();
let up: Upstream;

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  await stopAllHttpServes();
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

/** `janee approve ID …` typed at a real pseudo-terminal, with no passphrase in the environment. */
async function approveAtTerminal(env: NodeJS.ProcessEnv, id: string, extra: string[] = []): Promise<void> {
  const a = await runUnderPty(
    [
      'env',
      '-u',
      'JANEE_PASSPHRASE',
      '-u',
      'JANEE_PASSPHRASE_FILE',
      `JANEE_HOME=${env.JANEE_HOME}`,
      `HOME=${env.HOME}`,
      process.execPath,
      CLI,
      'approve',
      id,
      ...extra,
    ],
    [{ waitFor: 'vault passphrase: ', send: `${PASSPHRASE}\r` }],
  );
  expect(a.code, a.output).toBe(0);
}

/** A home whose service `svc` needs approval for POST /v1/charges; the agent must wait `waitMs` for it. */
async function homeWithApproval(key: string, waitMs: number) {
  const base = await agentHome();
  const env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
  expect((await addService(env, 'svc', up.url, key)).code).toBe(0);
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  await fs.writeFile(
    configFile,
    text.replace(
      '\n  svc:\n',
      `\n  svc:\n    approvalWaitMs: ${waitMs}\n    policies:\n      - { path: /v1/charges, methods: [POST], approve: true }\n`,
    ),
  );
  return env;
}

it.skipIf(!pty)('a token revoked while its call waits for approval: the approved call does not go out', { timeout: 120_000 }, async () => {
  const env = await homeWithApproval('sk_test_redteam_approval_5e2a91c', 60000);
  const token = await addAgent(env, 'ci');
  const passFile = path.join(scratchDir(env), 'pass');
  await fs.writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const s = await startServe({ env: { ...withEnv(noPass(env), { JANEE_PASSPHRASE_FILE: passFile }), JANEE_AGENT_TOKEN: token } });

  const marker = `m${randomBytes(4).toString('hex')}`;
  const call = s.client.callTool(
    { name: 'execute', arguments: { service: 'svc', method: 'POST', path: '/v1/charges', body: { marker } } },
    undefined,
    { timeout: 90_000 },
  ) as Promise<ToolResult>;
  const dir = approvalsDir(vaultOf(env), env);
  let id: string | undefined;
  for (let i = 0; i < 100 && !id; i++) {
    id = (await fs.readdir(dir).catch(() => [] as string[])).find((n) => n.endsWith('.pending'))?.slice(0, 10);
    if (!id) await new Promise((r) => setTimeout(r, 100));
  }
  expect(id).toBeDefined();
  const rm = await runJanee(['agents', 'remove', 'ci'], { env });
  expect(rm.code, rm.stderr).toBe(0);
  await approveAtTerminal(env, id as string);
  const r = await call;
  await s.close();
  expect(r.isError).toBe(true);
  expect(textOf(r)).toMatch(/agent token|GATE_UNAUTHORIZED|revoked|unknown/i);
  const hits = up.requests.filter((q) => q.method === 'POST' && q.body.toString('utf8').includes(marker)).length;
  expect(hits).toBe(0);
});

// A grant is bound to a token agent's name. Removing the token must end its grants, or a
// new token later given the same name (another person, another machine) inherits them.
it.skipIf(!pty)('removing a token ends its grants: a new token of the same name starts without them', { timeout: 120_000 }, async () => {
  const env = await homeWithApproval('sk_test_redteam_grant_7b3c9e1', 1);
  const passFile = path.join(scratchDir(env), 'pass');
  await fs.writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
  const serveEnv = (token: string) => ({ ...withEnv(noPass(env), { JANEE_PASSPHRASE_FILE: passFile }), JANEE_AGENT_TOKEN: token });
  const marker = `m${randomBytes(4).toString('hex')}`;
  const hits = () => up.requests.filter((q) => q.method === 'POST' && q.body.toString('utf8').includes(marker)).length;
  const charge = (s: Awaited<ReturnType<typeof startServe>>, n: number) =>
    s.execute({ service: 'svc', method: 'POST', path: '/v1/charges', body: { marker, n } });

  const s1 = await startServe({ env: serveEnv(await addAgent(env, 'ci')) });
  const id = /approval ([a-z0-9]{10})/.exec(textOf(await charge(s1, 1)))?.[1];
  expect(id).toBeDefined();
  await approveAtTerminal(env, id as string, ['--for', '1h']);
  expect((await charge(s1, 2)).isError).toBeFalsy(); // the grant works for the token it was given to
  expect(hits()).toBe(1);
  await s1.close();

  expect((await runJanee(['agents', 'remove', 'ci'], { env })).code).toBe(0);
  const s2 = await startServe({ env: serveEnv(await addAgent(env, 'ci')) });
  const r = await charge(s2, 3);
  await s2.close();
  expect(textOf(r)).toMatch(/waiting for a human/);
  expect(hits()).toBe(1);
  const left = (await fs.readdir(approvalsDir(vaultOf(env), env))).filter((n) => n.endsWith('.grant'));
  expect(left).toEqual([]);
});

// Issue 12 over issue 11's transport: the approve path with the SDK's Streamable HTTP client.
it.skipIf(!pty)(
  'over serve --http: a token agent’s call waits, is approved at a terminal, goes out once; a replay waits again',
  { timeout: 120_000 },
  async () => {
    const env = await homeWithApproval('sk_test_http_approval_4d8e2f7a', 1);
    const passFile = path.join(scratchDir(env), 'pass');
    await fs.writeFile(passFile, `${PASSPHRASE}\n`, { mode: 0o600 });
    const token = await addAgent(env, 'web');
    const serve = await startHttpServe(withEnv(noPass(env), { JANEE_PASSPHRASE_FILE: passFile }));
    const c = await connectHttp(serve.url, token);
    const marker = `m${randomBytes(4).toString('hex')}`;
    const hits = () => up.requests.filter((q) => q.method === 'POST' && q.body.toString('utf8').includes(marker)).length;
    const charge = () => c.call('execute', { service: 'svc', method: 'POST', path: '/v1/charges', body: { marker } });

    const first = await charge();
    expect(first.isError).toBe(true);
    expect(textOf(first)).toMatch(/waiting for a human/);
    const id = /approval ([a-z0-9]{10})/.exec(textOf(first))?.[1];
    expect(id).toBeDefined();
    expect(hits()).toBe(0);
    await approveAtTerminal(env, id as string);
    const ok = await charge();
    expect(ok.isError, textOf(ok)).toBeFalsy();
    expect(hits()).toBe(1);
    // Consumed: the identical request is a new pending request, and nothing more goes out.
    const again = await charge();
    expect(textOf(again)).toMatch(/waiting for a human/);
    expect(/approval ([a-z0-9]{10})/.exec(textOf(again))?.[1]).not.toBe(id);
    expect(hits()).toBe(1);
    await c.close();
    await serve.stop();
  },
);
