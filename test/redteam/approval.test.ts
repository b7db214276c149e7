/**
 * Red team (seam between agent tokens and approvals): a call of a token agent that
 * waits for a human must not go out once the token is revoked, even if the human
 * then approves it (they revoked the agent; the pending id does not say so). The
 * BUILT `janee serve` in-process with JANEE_AGENT_TOKEN over stdio, `janee approve`
 * typed at a real pseudo-terminal, a loopback upstream counting hits.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { approvalsDir } from '../../src/approval/store.js';
import { addService, agentHome, noPass, vaultOf } from '../agent/helpers.js';
import { CLI, cleanupTempHomes, PASSPHRASE, runJanee, scratchDir, withEnv } from '../helpers/cli.js';
import { addAgent } from '../helpers/http.js';
import { closeAllServes, startServe, textOf, type ToolResult } from '../helpers/mcp.js';
import { hasPty, runUnderPty } from '../helpers/pty.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const pty = hasPty();
let up: Upstream;

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

it.skipIf(!pty)('a token revoked while its call waits for approval: the approved call does not go out', { timeout: 120_000 }, async () => {
  const base = await agentHome();
  const env = withEnv(base, { HOME: scratchDir(base), XDG_STATE_HOME: undefined });
  expect((await addService(env, 'svc', up.url, 'sk_test_redteam_approval_5e2a91c')).code).toBe(0);
  const configFile = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(configFile, 'utf8');
  await fs.writeFile(
    configFile,
    text.replace(
      '\n  svc:\n',
      '\n  svc:\n    approvalWaitMs: 60000\n    policies:\n      - { path: /v1/charges, methods: [POST], approve: true }\n',
    ),
  );
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
      id as string,
    ],
    [{ waitFor: 'vault passphrase: ', send: `${PASSPHRASE}\r` }],
  );
  expect(a.code, a.output).toBe(0);
  const r = await call;
  await s.close();
  expect(r.isError).toBe(true);
  expect(textOf(r)).toMatch(/agent token|GATE_UNAUTHORIZED|revoked|unknown/i);
  const hits = up.requests.filter((q) => q.method === 'POST' && q.body.toString('utf8').includes(marker)).length;
  expect(hits).toBe(0);
});
