/**
 * janee serve through the agent, driven by the official MCP SDK client over stdio
 * against a loopback upstream: no passphrase in serve's environment, lock and
 * unlock mid-session, and several serves sharing one agent under load.
 */
import * as fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee, withEnv } from '../helpers/cli.js';
import { auditEntries, closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, ownSocketDir, status, unlock, type AgentEnv } from './helpers.js';

const TOKEN = 'sk_test_serve_agent_5f3a9c0b7e21d4';
let up: Upstream;

beforeAll(async () => {
  up = await startUpstream();
});

afterAll(async () => {
  await closeAllServes();
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

/** A home with `svc` pointing at the upstream, added before any agent (with the passphrase). */
async function homeWithService(): Promise<AgentEnv> {
  const env = await agentHome();
  const r = await addService(env, 'svc', up.url, TOKEN);
  expect(r.code, r.stderr).toBe(0);
  return env;
}

const echo = (s: ServeSession, path = '/echo', extra: Record<string, unknown> = {}) =>
  s.execute({ service: 'svc', method: 'GET', path, ...extra });

function noSecretIn(s: ServeSession): void {
  const forms = secretForms(TOKEN);
  expect(findForms(s.transport.stdoutBytes, forms)).toEqual([]);
  expect(findForms(s.transport.stderrBytes, forms)).toEqual([]);
}

describe.concurrent('serve with the agent', { timeout: 120_000 }, () => {
  it('serve with no passphrase uses the agent; lock mid-session says "locked" with the fix; unlock again works without restarting serve', async () => {
    const env = await homeWithService();
    expect((await unlock(env)).code).toBe(0);
    const pid1 = (await status(env)).pid;
    const s = await startServe({ env: noPass(env), args: ['--agent', 'desk'] });

    const r1 = await echo(s);
    expect(r1.isError, textOf(r1)).toBeFalsy();
    expect(r1.structuredContent).toMatchObject({ status: 200 });
    // (describe.concurrent: other tests' requests interleave, so not just the last one)
    expect(up.requests.some((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(s.stderr()).toMatch(new RegExp(`using the agent \\(pid ${pid1}`));

    const l = await runJanee(['lock'], { env: noPass(env) });
    expect(l.code).toBe(0);
    const r2 = await echo(s);
    expect(r2.isError).toBe(true);
    expect(textOf(r2)).toMatch(/^vault is locked/);
    expect(textOf(r2)).toMatch(/hint: run `janee unlock` in a terminal/);
    const r2b = await s.call('list_services');
    expect(r2b.isError).toBe(true);
    expect(textOf(r2b)).toMatch(/vault is locked/);

    expect((await unlock(env)).code).toBe(0);
    const pid2 = (await status(env)).pid;
    expect(pid2).not.toBe(pid1);
    const r3 = await echo(s);
    expect(r3.isError, textOf(r3)).toBeFalsy();
    expect(r3.structuredContent).toMatchObject({ status: 200 });
    const list = await s.call('list_services');
    expect(list.structuredContent).toMatchObject({ services: [{ name: 'svc', secretPresent: true }] });

    // Every call is audited, the locked ones too, in one chain.
    const audit = await auditEntries(env.JANEE_HOME);
    expect(audit.map((e) => e.outcome)).toEqual(['allowed', 'locked', 'allowed']);
    expect(audit.every((e) => e.agent === 'desk' && e.agentSource === 'flag')).toBe(true);
    const v = await runJanee(['logs', 'verify'], { env: noPass(env) });
    expect(v.code, v.stderr).toBe(0);
    noSecretIn(s);
    await s.close();
    await runJanee(['lock'], { env });
  });

  it('serve started before any unlock: locked, then works after `janee unlock`', async () => {
    const env = await homeWithService();
    const s = await startServe({ env: noPass(env) });
    const r1 = await echo(s);
    expect(r1.isError).toBe(true);
    expect(textOf(r1)).toMatch(/vault is locked[\s\S]*janee unlock/);
    expect((await unlock(env)).code).toBe(0);
    const r2 = await echo(s);
    expect(r2.isError, textOf(r2)).toBeFalsy();
    noSecretIn(s);
    await s.close();
    await runJanee(['lock'], { env });
  });

  it('serve prefers the agent over a passphrase in its env: no scrypt, no vault read of its own', async () => {
    const env = await homeWithService();
    expect((await unlock(env)).code).toBe(0);
    // A wrong passphrase would fail an in-process unlock: serve never tries one.
    const s = await startServe({ env: withEnv(env, { JANEE_PASSPHRASE: 'a wrong passphrase' }) });
    const r = await echo(s);
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(s.stderr()).toMatch(/using the agent/);
    expect(s.stderr()).not.toMatch(/unlocking vault|unlocked in-process/);
    await s.close();
    await runJanee(['lock'], { env });
  });

  it('a secret added while unlocked (no passphrase anywhere) is seen by a running serve', async () => {
    const env = await homeWithService();
    expect((await unlock(env)).code).toBe(0);
    const s = await startServe({ env: noPass(env) });
    expect((await echo(s)).isError).toBeFalsy();
    const add = await addService(noPass(env), 'svc2', up.url, 'sk_second_key_abcdef012345');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stderr).toMatch(/through the agent/);
    // The agent notices the new config.yaml within its check interval (250 ms).
    let r = await s.execute({ service: 'svc2', method: 'GET', path: '/echo' });
    for (const until = Date.now() + 5_000; r.isError && Date.now() < until;) {
      await new Promise((ok) => setTimeout(ok, 100));
      r = await s.execute({ service: 'svc2', method: 'GET', path: '/echo' });
    }
    expect(r.isError, textOf(r)).toBeFalsy();
    expect(up.requests.some((q) => q.headers.authorization === 'Bearer sk_second_key_abcdef012345')).toBe(true);
    await s.close();
    await runJanee(['lock'], { env });
  });

  it('kill switch, rate limit and audit are global: 3 serves × concurrent calls through one agent', async () => {
    const env = await homeWithService();
    // a second service with a rate limit shared by every serve
    const add = await addService(env, 'limited', up.url, 'sk_limited_0123456789', ['--rate-limit', '10/min']);
    expect(add.code, add.stderr).toBe(0);
    expect((await unlock(env)).code).toBe(0);
    const serves = await Promise.all(
      ['claude-desktop', 'cursor', 'claude-code'].map((name) => startServe({ env: noPass(env), args: ['--agent', name] })),
    );
    const per = 40;
    const results = await Promise.all(
      serves.flatMap((s, si) => Array.from({ length: per }, (_, i) => echo(s, '/echo', { reason: `s${si}-c${i}` }))),
    );
    for (const r of results) expect(r.isError, textOf(r)).toBeFalsy();
    // rate limit: 10/min across all serves together
    const limited = await Promise.all(
      serves.flatMap((s) => Array.from({ length: 6 }, () => s.execute({ service: 'limited', method: 'GET', path: '/echo' }))),
    );
    expect(limited.filter((r) => !r.isError)).toHaveLength(10);
    expect(limited.filter((r) => r.isError && /rate limited/.test(textOf(r)))).toHaveLength(8);
    // kill switch: on for everyone at once
    expect((await runJanee(['killswitch', 'on', 'svc'], { env: noPass(env) })).code).toBe(0);
    await new Promise((r) => setTimeout(r, 400)); // the gate re-checks the file a few times a second
    const killed = await Promise.all(serves.map((s) => echo(s)));
    for (const r of killed) expect(textOf(r)).toMatch(/kill switch is on/);
    expect((await runJanee(['killswitch', 'off'], { env: noPass(env) })).code).toBe(0);

    const audit = await auditEntries(env.JANEE_HOME);
    const calls = serves.length * per + limited.length + killed.length;
    expect(audit).toHaveLength(calls);
    for (let si = 0; si < serves.length; si++) {
      for (let i = 0; i < per; i++) expect(audit.filter((e) => e.reason === `s${si}-c${i}`)).toHaveLength(1);
    }
    expect(new Set(audit.map((e) => e.agent))).toEqual(new Set(['claude-desktop', 'cursor', 'claude-code']));
    expect(audit.map((e) => e.seq)).toEqual(audit.map((_, i) => audit[0]!.seq + i));
    const v = await runJanee(['logs', 'verify', '--json'], { env: noPass(env) });
    expect(v.code, v.stderr).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, entries: calls });
    const st = await status(env);
    expect(st.agent?.secrets).toBe(2);
    for (const s of serves) {
      noSecretIn(s);
      await s.close();
    }
    await runJanee(['lock'], { env });
  });

  it('the agent going away mid-call: the call fails cleanly, the next says locked', async () => {
    const env = await homeWithService();
    expect((await unlock(env)).code).toBe(0);
    const { pid } = await status(env);
    const s = await startServe({ env: noPass(env) });
    const first = await echo(s);
    expect(first.isError, textOf(first)).toBeFalsy();
    const slow = echo(s, '/slow-headers', { query: { ms: '3000' } });
    await new Promise((r) => setTimeout(r, 300));
    process.kill(pid as number, 'SIGKILL'); // a crash, not a lock
    const r = await slow;
    expect(r.isError).toBe(true);
    expect(textOf(r)).toMatch(/agent stopped before answering/);
    const r2 = await echo(s);
    expect(r2.isError).toBe(true);
    expect(textOf(r2)).toMatch(/vault is locked/);
    // the crash left a stale socket: unlock replaces it and serve recovers
    expect((await unlock(env)).code).toBe(0);
    expect((await echo(s)).isError).toBeFalsy();
    await s.close();
    await runJanee(['lock'], { env });
  });

  it('an unsafe socket directory: serve does not use it and says why', async () => {
    const env = ownSocketDir(await homeWithService());
    expect((await unlock(env)).code).toBe(0);
    const st = await status(env);
    const dir = st.socket.replace(/\/[^/]+$/, '');
    await fsp.chmod(dir, 0o755);
    try {
      const s = await startServe({ env: noPass(env) });
      const r = await echo(s);
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/refusing the agent socket directory[\s\S]*chmod 700/);
      await s.close();
    } finally {
      await fsp.chmod(dir, 0o700);
      await runJanee(['lock'], { env });
    }
  });
});
