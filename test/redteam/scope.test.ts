/**
 * Red team (seams between agent tokens and exec): a token's scope is one list of
 * names shared by services and commands. The BUILT `janee serve` over stdio with
 * JANEE_AGENT_TOKEN, a real loopback upstream and real programs.
 */
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, writeScript } from '../helpers/exec.js';
import { addAgent } from '../helpers/http.js';
import { closeAllServes, startServe, textOf } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let env: JaneeEnv;
const tokens: Record<string, string> = {};

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  for (const name of ['open', 'payroll-prod']) {
    const r = await runJanee(['add', name, '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], {
      env,
      input: `sk_${name}_0123456789abcdef\n`,
    });
    expect(r.code, r.stderr).toBe(0);
  }
  const hello = await writeScript(path.join(scratchDir(env), 'bin'), 'hello', 'echo hello\n');
  await appendCommands(env.JANEE_HOME, [
    '  hello:',
    `    program: ${hello}`,
    '    env: { T: open }',
    '    allow: [""]',
    '  deploy-secret-cluster:',
    `    program: ${hello}`,
    '    allow: [""]',
  ]);
  // A command runs only once a secret is bound to its definition (src/exec/binding.ts).
  const b = await runJanee(['bind', 'open', 'exec:hello'], { env });
  expect(b.code, b.stderr).toBe(0);
  // Scoped to a service only, and to a command only.
  tokens.svc = await addAgent(env, 'svc-only', ['--services', 'open']);
  tokens.cmd = await addAgent(env, 'cmd-only', ['--services', 'hello']);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('a scoped token learns no name outside its scope', { timeout: 60_000 }, () => {
  it('exec of an in-scope name that is not a command does not list the other commands', async () => {
    const s = await startServe({ env: { ...env, JANEE_AGENT_TOKEN: tokens.svc } });
    const r = await s.call('exec', { command: 'open', args: [] });
    await s.close();
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/unknown command "open"/);
    expect(textOf(r)).not.toMatch(/hello|deploy-secret-cluster/);
  });

  it('execute of an in-scope name that is not a service does not list the other services', async () => {
    const s = await startServe({ env: { ...env, JANEE_AGENT_TOKEN: tokens.cmd } });
    const r = await s.execute({ service: 'hello', method: 'GET', path: '/echo' });
    const ok = await s.call('exec', { command: 'hello', args: [] });
    await s.close();
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/unknown service "hello"/);
    expect(textOf(r)).not.toMatch(/open|payroll-prod/);
    expect(ok.structuredContent).toMatchObject({ exitCode: 0, stdout: 'hello\n' });
  });

  it('an unscoped caller still gets the names as a hint', async () => {
    const s = await startServe({ env, args: ['--agent', 'desk'] });
    const r = await s.call('exec', { command: 'nope', args: [] });
    const e = await s.execute({ service: 'nope', method: 'GET', path: '/' });
    await s.close();
    expect(textOf(r)).toMatch(/known commands: hello, deploy-secret-cluster/);
    expect(textOf(e)).toMatch(/known services: open, payroll-prod/);
  });
});
