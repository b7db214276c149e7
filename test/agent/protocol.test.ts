/**
 * The socket protocol against a real agent: garbage, wrong versions, oversize
 * lines, clients that vanish mid-request, bad keys, pipelining. The agent must
 * answer or drop each one as documented, never crash, never leak.
 */
import { PROTOCOL_VERSION as PV } from '../../src/agent/protocol.js';
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, runJanee } from '../helpers/cli.js';
import { auditEntries } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import {
  addService,
  agentHome,
  alive,
  killAllAgents,
  noPass,
  rawClient,
  socketOf,
  status,
  unlock,
  waitFor,
  type AgentEnv,
} from './helpers.js';

const TOKEN = 'sk_test_protocol_0123456789abcdef';
let env: AgentEnv;
let up: Upstream;
let pid: number;
let sock: string;

beforeAll(async () => {
  up = await startUpstream();
  env = await agentHome();
  const a = await addService(env, 'svc', up.url, TOKEN);
  expect(a.code, a.stderr).toBe(0);
  const r = await unlock(env);
  expect(r.code, r.stderr).toBe(0);
  pid = (await status(env)).pid as number;
  sock = socketOf(env);
}, 120_000);

afterAll(async () => {
  await runJanee(['lock'], { env }).catch(() => undefined);
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

async function stillServing(): Promise<void> {
  expect(alive(pid)).toBe(true);
  const c = await rawClient(sock);
  c.send({ v: PV, id: 'h', op: 'hello' });
  const m = await c.next();
  expect(m).toMatchObject({ v: PV, id: 'h', ok: true, result: { agent: 'janee', protocol: PV, pid, state: 'unlocked' } });
  c.socket.destroy();
}

describe('agent protocol', { timeout: 60_000 }, () => {
  it('hello says who it is', async () => {
    const c = await rawClient(sock);
    c.send({ v: PV, id: 1, op: 'hello' });
    const m = await c.next();
    expect(m).toEqual({
      v: PV,
      id: 1,
      ok: true,
      result: {
        agent: 'janee',
        version: expect.any(String),
        protocol: PV,
        pid,
        vault: expect.stringMatching(/vault\.janee$/),
        config: expect.stringMatching(/config\.yaml$/),
        state: 'unlocked',
      },
    });
    c.socket.destroy();
  });

  it('garbage: an error with id null, then the connection is closed; the agent lives on', async () => {
    for (const junk of [
      'hello\n',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      Buffer.concat([randomBytes(300), Buffer.from('\n')]),
      '{"v":2,"id":1,"op":"hel\n',
      '[1,2,3]\n',
      '42\n',
      'null\n',
    ]) {
      const c = await rawClient(sock);
      c.sendRaw(junk);
      const m = await c.next();
      expect(m).toMatchObject({
        v: PV,
        id: null,
        ok: false,
        error: { code: 'AGENT_PROTOCOL', message: expect.any(String), hint: expect.any(String) },
      });
      await c.closed;
    }
    await stillServing();
  });

  it('an old (or future) protocol version gets AGENT_PROTOCOL with the fix; the connection stays usable', async () => {
    const c = await rawClient(sock);
    for (const v of [0, 1, 3, '2', null]) {
      c.send({ v, id: 7, op: 'hello' });
      const m = await c.next();
      expect(m).toMatchObject({
        v: PV,
        id: 7,
        ok: false,
        error: { code: 'AGENT_PROTOCOL', hint: expect.stringContaining('janee lock && janee unlock') },
      });
    }
    c.send({ id: 8, op: 'execute', req: { service: 'svc', method: 'GET', path: '/echo' } }); // no v at all
    expect(await c.next()).toMatchObject({ id: 8, ok: false, error: { code: 'AGENT_PROTOCOL' } });
    c.send({ v: PV, id: 9, op: 'hello' });
    expect(await c.next()).toMatchObject({ id: 9, ok: true });
    c.socket.destroy();
  });

  it('bad requests: no id, unknown op, bad execute args, a key over the socket, bad proof/rekey, bad entries — each answered as such, nothing else changes', async () => {
    const c = await rawClient(sock);
    c.send({ v: PV, op: 'hello' });
    expect(await c.next()).toMatchObject({ id: null, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({ v: PV, id: { x: 1 }, op: 'hello' });
    expect(await c.next()).toMatchObject({ id: null, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({ v: PV, id: 1, op: 'rm -rf' });
    expect(await c.next()).toMatchObject({ id: 1, ok: false, error: { code: 'AGENT_UNKNOWN_OP' } });
    c.send({ v: PV, id: 2, op: 'execute', req: 'GET /' });
    expect(await c.next()).toMatchObject({ id: 2, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({ v: PV, id: 3, op: 'execute', req: { service: 1, method: 'GET', path: '/' } });
    expect(await c.next()).toMatchObject({ id: 3, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({ v: PV, id: 4, op: 'unlock', key: 'not base64!' });
    expect(await c.next()).toMatchObject({ id: 4, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    // The socket never takes a key, not even a well-formed one.
    c.send({ v: PV, id: 5, op: 'unlock', key: randomBytes(32).toString('base64') });
    expect(await c.next()).toMatchObject({
      id: 5,
      ok: false,
      error: { code: 'AGENT_BAD_REQUEST', message: expect.stringMatching(/never takes the file key over its socket/) },
    });
    c.send({ v: PV, id: 6, op: 'unlock', ttlMs: 5 });
    expect(await c.next()).toMatchObject({ id: 6, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    // Without proof of the key, nobody can push back the timers (--max-ttl holds).
    c.send({ v: PV, id: 60, op: 'unlock', ttlMs: 60_000, maxTtlMs: 60_000 });
    expect(await c.next()).toMatchObject({ id: 60, ok: false, error: { code: 'AGENT_NOT_PROVEN' } });
    c.send({ v: PV, id: 601, op: 'prove', nonce: randomBytes(32).toString('base64') });
    expect(await c.next()).toMatchObject({ id: 601, ok: true, result: { pid, mac: expect.any(String), challenge: expect.any(String) } });
    c.send({ v: PV, id: 602, op: 'unlock', ttlMs: 60_000, maxTtlMs: 60_000, mac: randomBytes(32).toString('base64') });
    expect(await c.next()).toMatchObject({ id: 602, ok: false, error: { code: 'AGENT_NOT_PROVEN' } });
    c.send({ v: PV, id: 61, op: 'prove', nonce: 'short' });
    expect(await c.next()).toMatchObject({ id: 61, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({
      v: PV,
      id: 62,
      op: 'rekey',
      nonce: randomBytes(32).toString('base64'),
      iv: randomBytes(12).toString('base64'),
      sealed: randomBytes(48).toString('base64'),
    });
    expect(await c.next()).toMatchObject({ id: 62, ok: false, error: { code: 'AGENT_KEY_MISMATCH' } });
    // Malformed entries are bad requests, not internal errors (a bad date, a control character).
    for (const [i, entry] of [
      [63, { fields: { token: 'abc' }, origins: ['https://a.example'], created: '2026-01-01' }],
      [64, { fields: { token: 'abc' }, origins: ['https://a.example'], updated: 'yesterday' }],
      [65, { fields: { token: 'a\u0001b' }, origins: ['https://a.example'] }],
      [66, { fields: { token: 'a\u001bb' }, origins: ['https://a.example'] }],
    ] as const) {
      c.send({ v: PV, id: i, op: 'vault_put', name: `bad${i}`, entry });
      expect(await c.next()).toMatchObject({
        id: i,
        ok: false,
        error: { code: 'AGENT_BAD_REQUEST', message: expect.stringMatching(/invalid vault entry/) },
      });
    }
    c.send({ v: PV, id: 7, op: 'vault_put', name: 'x', entry: { fields: { token: 'a' }, origins: ['not a url'] } });
    expect(await c.next()).toMatchObject({ id: 7, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.send({ v: PV, id: 8, op: 'vault_put', name: '../x', entry: { fields: { token: 'a' }, origins: ['https://a.example'] } });
    expect(await c.next()).toMatchObject({ id: 8, ok: false, error: { code: 'AGENT_BAD_REQUEST' } });
    c.socket.destroy();
    // The random keys changed nothing: still unlocked with the right key, calls work.
    const s = await status(env);
    expect(s.state).toBe('unlocked');
    expect(s.pid).toBe(pid);
    expect(s.agent?.maxTtlSeconds).toBe(24 * 3600); // the unproven 60s timers were not applied
    const c2 = await rawClient(sock);
    c2.send({
      v: PV,
      id: 1,
      op: 'execute',
      req: { service: 'svc', method: 'GET', path: '/echo' },
      caller: { agent: 'raw', agentSource: 'flag' },
    });
    const m = await c2.next();
    expect(m).toMatchObject({ id: 1, ok: true, result: { status: 200 } });
    c2.socket.destroy();
  });

  it('a line over 8 MiB: an error, the connection is closed, memory is not kept', async () => {
    const c = await rawClient(sock);
    c.sendRaw(`{"v":2,"id":1,"op":"hello","pad":"${'x'.repeat(9 * 1024 * 1024)}`);
    const m = await c.next(20_000);
    expect(m).toMatchObject({ id: null, ok: false, error: { code: 'AGENT_PROTOCOL', message: expect.stringMatching(/8 MiB/) } });
    await c.closed;
    await stillServing();
  });

  it('many requests in flight on one connection are answered by id', async () => {
    const c = await rawClient(sock);
    const n = 60;
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        v: PV,
        id: `r${i}`,
        op: 'execute',
        req: { service: 'svc', method: 'GET', path: `/echo?i=${i}` },
        caller: { agent: 'pipeline', agentSource: 'flag' },
      }),
    );
    c.sendRaw(`${lines.join('\n')}\n`); // one write
    const got = new Map<string, Record<string, unknown>>();
    for (let i = 0; i < n; i++) {
      const m = await c.next(20_000);
      got.set(m.id as string, m);
    }
    for (let i = 0; i < n; i++) {
      const m = got.get(`r${i}`);
      expect(m?.ok, JSON.stringify(m)).toBe(true);
      const body = JSON.parse((m?.result as { body: string }).body) as { url: string };
      expect(body.url).toBe(`/echo?i=${i}`);
    }
    c.socket.destroy();
  });

  it('a client that disconnects mid-request: the agent finishes the call, audits it, and lives on', async () => {
    const before = (await auditEntries(env.JANEE_HOME)).length;
    const c = await rawClient(sock);
    c.send({
      v: PV,
      id: 1,
      op: 'execute',
      req: { service: 'svc', method: 'GET', path: '/slow-headers?ms=300', reason: 'vanishing client' },
      caller: { agent: 'vanisher', agentSource: 'flag' },
    });
    await new Promise((r) => setTimeout(r, 50));
    c.socket.destroy();
    // half a request, then gone
    const c2 = await rawClient(sock);
    c2.sendRaw('{"v":2,"id":2,"op":"exec');
    c2.socket.destroy();
    // a reset in the middle of a burst
    const c3 = await rawClient(sock);
    for (let i = 0; i < 20; i++)
      c3.send({
        v: PV,
        id: i,
        op: 'execute',
        req: { service: 'svc', method: 'GET', path: '/echo' },
        caller: { agent: 'vanisher', agentSource: 'flag' },
      });
    c3.socket.destroy();
    await waitFor(async () => (await auditEntries(env.JANEE_HOME)).some((e) => e.reason === 'vanishing client'), 10_000, 'the audit entry');
    const e = (await auditEntries(env.JANEE_HOME)).find((x) => x.reason === 'vanishing client');
    expect(e).toMatchObject({ agent: 'vanisher', outcome: 'allowed', status: 200 });
    expect((await auditEntries(env.JANEE_HOME)).length).toBeGreaterThan(before);
    await stillServing();
    const s = await status(env);
    expect(s.agent?.state).toBe('unlocked');
  });

  it('nothing secret comes back: not in vault_entries, not in status, not in the log', async () => {
    const c = await rawClient(sock);
    c.send({ v: PV, id: 1, op: 'vault_entries' });
    const m = await c.next();
    expect(m).toMatchObject({ ok: true, result: [{ name: 'svc', origins: [up.url], fieldNames: ['token'] }] });
    c.send({ v: PV, id: 2, op: 'status' });
    const s = await c.next();
    c.send({
      v: PV,
      id: 3,
      op: 'execute',
      req: { service: 'svc', method: 'GET', path: '/echo-secret' },
      caller: { agent: 'x', agentSource: 'flag' },
    });
    const ex = await c.next();
    expect(ex).toMatchObject({ ok: true });
    c.socket.destroy();
    const log = await fsp.readFile(sock.replace(/\.sock$/, '.log'), 'utf8');
    for (const text of [JSON.stringify(m), JSON.stringify(s), JSON.stringify(ex), log]) {
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(Buffer.from(TOKEN).toString('base64').slice(0, 20));
    }
    expect(log).not.toContain('GET / HTTP');
    expect(log).not.toContain('/echo');
  });

  it('a connection in use when another client locks gets its answers, then is closed', async () => {
    const env2 = await agentHome();
    await addService(env2, 'svc', up.url, TOKEN);
    expect((await unlock(env2)).code).toBe(0);
    const pid2 = (await status(env2)).pid as number;
    const c = await rawClient(socketOf(env2));
    c.send({
      v: PV,
      id: 'slow',
      op: 'execute',
      req: { service: 'svc', method: 'GET', path: '/slow-headers?ms=500' },
      caller: { agent: 'x', agentSource: 'flag' },
    });
    await new Promise((r) => setTimeout(r, 100));
    const l = await runJanee(['lock'], { env: noPass(env2) });
    expect(l.code).toBe(0);
    const m = await c.next(10_000);
    expect(m).toMatchObject({ id: 'slow', ok: true, result: { status: 200 } }); // drained, not cut off
    await c.closed;
    await waitFor(() => !alive(pid2), 10_000, 'the agent to exit');
    const audit = await auditEntries(env2.JANEE_HOME);
    expect(audit.filter((e) => e.path === '/slow-headers')).toHaveLength(1);
  });

  it('lock is obeyed at any protocol version (so any janee can stop any agent)', async () => {
    const env3 = await agentHome();
    expect((await unlock(env3)).code).toBe(0);
    const pid3 = (await status(env3)).pid as number;
    const c = await rawClient(socketOf(env3));
    c.send({ v: 99, id: 1, op: 'lock' });
    expect(await c.next()).toMatchObject({ id: 1, ok: true, result: { pid: pid3 } });
    await waitFor(() => !alive(pid3), 10_000, 'the agent to exit');
  });
});
