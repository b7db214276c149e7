/**
 * `janee serve --http` (issue 11), the built CLI as a real process on 127.0.0.1:0,
 * driven by the MCP SDK's Streamable HTTP client (and raw node:http requests for
 * the headers a client library will not let us forge): agent tokens, every
 * 401/403 case, scopes, TLS with an openssl certificate, the bind rule, drain on
 * SIGTERM, JANEE_AGENT_TOKEN over stdio, and that no token or secret leaks.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, listFiles, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { addAgent, connectHttp, startHttpServe, stopAllHttpServes, type HttpServe } from '../helpers/http.js';
import { auditEntries, closeAllServes, secretForms, startServe, textOf } from '../helpers/mcp.js';
import { sleep, startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const KEY2 = `gh_${randomBytes(16).toString('hex')}`;

let up: Upstream;
let env: JaneeEnv;
let serve: HttpServe;
const tokens: Record<string, string> = {};

const initialize = {
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

/** A raw POST to serve: any Host, Origin, Authorization. */
function rawPost(
  url: string,
  headers: Record<string, string>,
  body: unknown = initialize,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        path: u.pathname,
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  for (const [name, key, extra] of [
    ['open', KEY, []],
    ['gh', KEY2, ['--policy', 'GET /echo']],
  ] as const) {
    const r = await runJanee(['add', name, '--base-url', up.url, '--auth', 'bearer', '--key-stdin', ...extra], { env, input: `${key}\n` });
    if (r.code !== 0) throw new Error(`janee add failed: ${r.stderr}`);
  }
  tokens.all = await addAgent(env, 'all-agent');
  tokens.scoped = await addAgent(env, 'scoped', ['--services', 'open']);
  tokens.revoke = await addAgent(env, 'to-revoke');
  serve = await startHttpServe(env);
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await stopAllHttpServes();
  await up?.close();
  await cleanupTempHomes();
});

describe('agent tokens', () => {
  it('agents add prints one janee_at_ token on stdout; list shows name, scope, times and last use, never the token or its hash', async () => {
    expect(tokens.all).toMatch(/^janee_at_[A-Za-z0-9_-]{43}$/);
    const r = await runJanee(['agents', 'list', '--json'], { env });
    expect(r.code).toBe(0);
    const list = JSON.parse(r.stdout) as { agents: { name: string; services: string[] | null; lastUsed: string | null }[] };
    expect(list.agents.map((a) => a.name)).toEqual(['all-agent', 'scoped', 'to-revoke']);
    expect(list.agents.find((a) => a.name === 'scoped')?.services).toEqual(['open']);
    for (const t of Object.values(tokens)) expect(r.stdout).not.toContain(t);
    expect(r.stdout).not.toMatch(/[0-9a-f]{64}/);
  });
});

describe('serve --http', () => {
  it('an agent calls through the gate: allowed and blocked calls, audited under its token name', async () => {
    const c = await connectHttp(serve.url, tokens.all);
    try {
      const ok = await c.call('execute', { service: 'open', method: 'GET', path: '/echo' });
      expect(ok.isError).toBeFalsy();
      expect(ok.structuredContent?.status).toBe(200);
      const blocked = await c.call('execute', { service: 'gh', method: 'POST', path: '/echo' });
      expect(blocked.isError).toBe(true);
      expect(textOf(blocked)).toMatch(/POST/);
    } finally {
      await c.close();
    }
    const mine = (await auditEntries(env.JANEE_HOME)).filter((e) => e.agent === 'all-agent');
    expect(mine.map((e) => [e.agentSource, e.service, e.outcome])).toEqual([
      ['token', 'open', 'allowed'],
      ['token', 'gh', 'blocked'],
    ]);
    // The upstream got the secret; the agent never sees it.
    expect(up.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('janee logs --agent NAME finds the token agent', async () => {
    const r = await runJanee(['logs', '--agent', 'all-agent', '--json'], { env });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('"agentSource":"token"');
    expect(r.stdout).not.toContain('"agent":"scoped"');
  });

  it('no token and a wrong token: 401 with WWW-Authenticate: Bearer, nothing executed, the refusal audited', async () => {
    const before = up.requests.length;
    const none = await rawPost(serve.url, {});
    expect(none.status).toBe(401);
    expect(none.headers['www-authenticate']).toMatch(/^Bearer /);
    const wrong = await rawPost(serve.url, { authorization: `Bearer janee_at_${randomBytes(32).toString('base64url')}` });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['www-authenticate']).toMatch(/^Bearer .*invalid_token/);
    await expect(connectHttp(serve.url, 'janee_at_nope')).rejects.toThrow();
    expect(up.requests.length).toBe(before);
    const refusals = (await auditEntries(env.JANEE_HOME)).filter((e) => e.rule === 'GATE_UNAUTHORIZED');
    expect(refusals.length).toBeGreaterThanOrEqual(3);
    expect(refusals.every((e) => e.agentSource === 'token' && e.outcome === 'blocked')).toBe(true);
  });

  it('a token removed mid-session stops working at the next request, within about a second', async () => {
    const c = await connectHttp(serve.url, tokens.revoke);
    try {
      expect((await c.call('execute', { service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
      const r = await runJanee(['agents', 'remove', 'to-revoke'], { env });
      expect(r.code).toBe(0);
      const removedAt = Date.now();
      let refusedAfter = -1;
      while (Date.now() - removedAt < 5000) {
        try {
          await c.call('execute', { service: 'open', method: 'GET', path: '/echo' });
        } catch (e) {
          expect(String(e)).toMatch(/revoked/);
          refusedAfter = Date.now() - removedAt;
          break;
        }
        await sleep(50);
      }
      expect(refusedAfter).toBeGreaterThanOrEqual(0);
      expect(refusedAfter).toBeLessThan(3000); // the promise is 1 s; slack for a loaded machine
    } finally {
      await c.close();
    }
  });

  it('an expired token is refused (401) and the refusal names the agent', async () => {
    const t = await addAgent(env, 'short-lived', ['--expires', '1s']);
    await sleep(1300);
    const r = await rawPost(serve.url, { authorization: `Bearer ${t}` });
    expect(r.status).toBe(401);
    expect(r.body).toMatch(/expired/);
    const e = (await auditEntries(env.JANEE_HOME)).filter((x) => x.agent === 'short-lived');
    expect(e.at(-1)).toMatchObject({ agentSource: 'token', outcome: 'blocked', rule: 'GATE_UNAUTHORIZED' });
  });

  it('a Host that does not name the server, and a foreign Origin, get 403 (even with a good token)', async () => {
    const auth = { authorization: `Bearer ${tokens.all}` };
    const port = new URL(serve.url).port;
    expect((await rawPost(serve.url, { ...auth, host: `evil.example:${port}` })).status).toBe(403);
    expect((await rawPost(serve.url, { ...auth, host: `127.0.0.1:${Number(port) + 1}` })).status).toBe(403);
    expect((await rawPost(serve.url, { ...auth, origin: 'https://evil.example' })).status).toBe(403);
    expect((await rawPost(serve.url, { ...auth, host: `localhost:${port}` })).status).toBe(200);
  });

  it('--allow-host lets a container reach serve by another name (host.docker.internal), and only that name', async () => {
    const s = await startHttpServe(env, ['--http', '127.0.0.1:0', '--allow-host', 'host.docker.internal']);
    try {
      const auth = { authorization: `Bearer ${tokens.all}` };
      const port = new URL(s.url).port;
      expect((await rawPost(s.url, { ...auth, host: `host.docker.internal:${port}` })).status).toBe(200);
      expect((await rawPost(s.url, { ...auth, host: `HOST.docker.internal:${port}` })).status).toBe(200);
      expect((await rawPost(s.url, { ...auth, host: `host.docker.internal:${Number(port) + 1}` })).status).toBe(403);
      expect((await rawPost(s.url, { ...auth, host: `evil.docker.internal:${port}` })).status).toBe(403);
    } finally {
      await s.stop();
    }
    for (const bad of ['*.docker.internal', 'host.docker.internal:8377', 'a b']) {
      const r = await runJanee(['serve', '--http', '127.0.0.1:0', '--allow-host', bad], { env, spawn: true });
      expect(r.code, bad).toBe(2);
      expect(r.stderr).toContain('--allow-host takes a host name');
    }
  });

  it('GET (a standalone server-to-client stream) is 405: janee sends nothing unasked', async () => {
    const status = await new Promise<number>((resolve, reject) => {
      http
        .get(serve.url, { headers: { authorization: `Bearer ${tokens.all}`, accept: 'text/event-stream' } }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        })
        .on('error', reject);
    });
    expect(status).toBe(405);
  });

  it('--allow-origin lets that origin in, and only it', async () => {
    const s = await startHttpServe(env, ['--http', '127.0.0.1:0', '--allow-origin', 'https://app.example']);
    try {
      const auth = { authorization: `Bearer ${tokens.all}` };
      expect((await rawPost(s.url, { ...auth, origin: 'https://app.example' })).status).toBe(200);
      expect((await rawPost(s.url, { ...auth, origin: 'https://app.example.evil' })).status).toBe(403);
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });

  it('a scoped agent sees only its services and is refused the others', async () => {
    const c = await connectHttp(serve.url, tokens.scoped);
    try {
      const list = await c.call('list_services');
      expect((list.structuredContent?.services as { name: string }[]).map((s) => s.name)).toEqual(['open']);
      const r = await c.call('execute', { service: 'gh', method: 'GET', path: '/echo' });
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/service gh is not allowed for agent scoped/);
      expect((await c.call('execute', { service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
    } finally {
      await c.close();
    }
    const e = (await auditEntries(env.JANEE_HOME)).filter((x) => x.agent === 'scoped');
    expect(e.map((x) => [x.service, x.outcome, x.rule ?? null])).toEqual([
      ['gh', 'blocked', 'GATE_NOT_IN_SCOPE'],
      ['open', 'allowed', null],
    ]);
  });

  it('a session opened by one agent cannot be used with another agent token', async () => {
    const c = await connectHttp(serve.url, tokens.all);
    try {
      const sid = c.transport.sessionId as string;
      const r = await rawPost(
        serve.url,
        { authorization: `Bearer ${tokens.scoped}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
        {
          jsonrpc: '2.0',
          id: 2,
          method: 'tools/call',
          params: { name: 'execute', arguments: { service: 'gh', method: 'GET', path: '/echo' } },
        },
      );
      expect(r.status).toBe(404);
    } finally {
      await c.close();
    }
  });

  it('DELETE ends a session, asked by its own agent only; the session then answers 404; PUT is 405', async () => {
    const c = await connectHttp(serve.url, tokens.all);
    try {
      const sid = c.transport.sessionId as string;
      const as = (token: string, method: string) =>
        fetch(serve.url, { method, headers: { authorization: `Bearer ${token}`, 'mcp-session-id': sid } });
      expect((await as(tokens.scoped as string, 'DELETE')).status).toBe(404);
      expect((await as(tokens.all as string, 'PUT')).status).toBe(405);
      expect((await c.call('list_services')).isError).toBeFalsy();
      await c.transport.terminateSession();
      const after = await rawPost(
        serve.url,
        { authorization: `Bearer ${tokens.all}`, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' },
        { jsonrpc: '2.0', id: 5, method: 'tools/call', params: { name: 'list_services', arguments: {} } },
      );
      expect(after.status).toBe(404);
    } finally {
      await c.close();
    }
  });

  it('SIGTERM lets a call in flight finish, then exits 0', async () => {
    up.route('/slow', (_req, res) => {
      setTimeout(() => res.end('done'), 1000);
    });
    const s = await startHttpServe(env);
    const c = await connectHttp(s.url, tokens.all);
    const call = c.call('execute', { service: 'open', method: 'GET', path: '/slow' });
    await sleep(300);
    const stopped = s.stop();
    const r = await call;
    expect(r.isError).toBeFalsy();
    expect(r.structuredContent?.body).toBe('done');
    expect(await stopped).toBe(0);
    await c.close();
  });
});

describe('bind and TLS', () => {
  it('a non-loopback address without TLS is refused (exit 2); --insecure-bind starts with a warning', async () => {
    const r = await runJanee(['serve', '--http', '0.0.0.0:0'], { env, spawn: true });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/without TLS/);
    const s = await startHttpServe(env, ['--http', '0.0.0.0:0', '--insecure-bind']);
    expect(s.stderr()).toMatch(/warning: .*WITHOUT TLS/);
    const code = await s.stop();
    expect(code, s.stderr()).toBe(0);
  });

  it('serves HTTPS with a certificate made by openssl; the SDK client connects with it as CA', async () => {
    const dir = scratchDir(env);
    const cert = path.join(dir, 'cert.pem');
    const key = path.join(dir, 'key.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' }); // prettier-ignore
    const s = await startHttpServe(env, ['--http', '127.0.0.1:0', '--tls-cert', cert, '--tls-key', key]);
    try {
      expect(s.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/mcp$/);
      const dispatcher = new Agent({ connect: { ca: await fs.readFile(cert) } });
      const tlsFetch = ((u: string | URL, init?: RequestInit) =>
        undiciFetch(u, { ...(init as object), dispatcher })) as unknown as typeof fetch;
      const c = await connectHttp(s.url, tokens.all, tlsFetch);
      expect((await c.call('execute', { service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
      await c.close();
      // Plain HTTP to the TLS port does not get an MCP answer.
      await expect(rawPost(s.url.replace('https:', 'http:'), { authorization: `Bearer ${tokens.all}` })).rejects.toThrow();
      await dispatcher.close();
    } finally {
      expect(await s.stop()).toBe(0);
    }
  });
});

describe('JANEE_AGENT_TOKEN over stdio', () => {
  it('makes serve act as that agent, with its scope', async () => {
    const s = await startServe({ env: { ...env, JANEE_AGENT_TOKEN: tokens.scoped }, clientName: 'pretender' });
    const list = await s.call('list_services');
    expect((list.structuredContent?.services as { name: string }[]).map((x) => x.name)).toEqual(['open']);
    expect(textOf(await s.execute({ service: 'gh', method: 'GET', path: '/echo' }))).toMatch(/not allowed for agent scoped/);
    expect((await s.execute({ service: 'open', method: 'GET', path: '/echo' })).isError).toBeFalsy();
    await s.close();
    const last = (await auditEntries(env.JANEE_HOME)).at(-1);
    expect(last).toMatchObject({ agent: 'scoped', agentSource: 'token', service: 'open', outcome: 'allowed' });
  });

  it('an invalid token fails every call closed (no fallback to the clientInfo name)', async () => {
    const before = up.requests.length;
    const s = await startServe({ env: { ...env, JANEE_AGENT_TOKEN: 'janee_at_revoked-or-wrong' }, clientName: 'pretender' });
    for (const r of [await s.call('list_services'), await s.execute({ service: 'open', method: 'GET', path: '/echo' })]) {
      expect(r.isError).toBe(true);
      expect(textOf(r)).toMatch(/agent token/);
    }
    await s.close();
    expect(up.requests.length).toBe(before);
    expect((await auditEntries(env.JANEE_HOME)).some((e) => e.agent === 'pretender')).toBe(false);
  });
});

describe('leaks', () => {
  it('no token and no secret in any file written, any output of serve, or the audit log', async () => {
    await serve.stop();
    const needles = [...Object.values(tokens), KEY, KEY2].flatMap((t) => secretForms(t));
    const hay: [string, string][] = [
      ['serve stdout', serve.stdout()],
      ['serve stderr', serve.stderr()],
    ];
    for (const root of [env.JANEE_HOME, path.join(process.env.HOME as string, '.local', 'state')]) {
      for (const f of await listFiles(root).catch(() => [] as string[])) {
        if (f.endsWith('.pem')) continue;
        hay.push([f, (await fs.readFile(path.join(root, f))).toString('latin1')]);
      }
    }
    expect(hay.length).toBeGreaterThan(3);
    for (const [where, text] of hay) for (const n of needles) expect(text.includes(n), `${where} holds a secret form`).toBe(false);
  });
});
