/**
 * The typed protocol against a real agent: the client's `request(op, args)` (one
 * table of ops, protocol.ts), `vault_put` with `replace`, and the agent's edge
 * agreeing with the rest of janee on what is valid (a vault entry as the payload
 * checks it, an execute request as the MCP tool checks it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgentConnection } from '../../src/agent/client.js';
import { JaneeError } from '../../src/errors.js';
import { cleanupTempHomes } from '../helpers/cli.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';
import { addService, agentHome, killAllAgents, noPass, socketOf, unlock, type AgentEnv } from './helpers.js';

let up: Upstream;
beforeAll(async () => {
  up = await startUpstream();
});
afterAll(async () => {
  killAllAgents();
  await up?.close();
  await cleanupTempHomes();
});

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof JaneeError) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected a refusal');
}

/** A request outside the table's types: what a hostile or buggy client can put on the wire. */
function rawRequest(conn: AgentConnection, op: string, args: Record<string, unknown>): Promise<unknown> {
  return (conn as unknown as { request(op: string, args: Record<string, unknown>): Promise<unknown> }).request(op, args);
}

async function unlocked(): Promise<{ env: AgentEnv; conn: AgentConnection }> {
  const env = await agentHome();
  expect((await unlock(env)).code).toBe(0);
  return { env, conn: await AgentConnection.open(socketOf(env)) };
}

describe.concurrent('typed agent protocol', { timeout: 120_000 }, () => {
  it('vault_put replace: refused without it; with it the entry is replaced (created kept, updated now) and used by the next call', async () => {
    const { env, conn } = await unlocked();
    try {
      expect((await addService(noPass(env), 'svc', up.url, 'sk_first_key_0123456789')).code).toBe(0);
      const before = (await conn.request('vault_entries', {})).find((e) => e.name === 'svc');
      expect(before).toBeDefined();
      const call = () =>
        conn.request('execute', { req: { service: 'svc', method: 'GET', path: '/echo' }, caller: { agent: 'typed', agentSource: 'flag' } });
      expect((await call()).status).toBe(200);
      expect(up.requests.some((q) => q.headers.authorization === 'Bearer sk_first_key_0123456789')).toBe(true);

      const entry = {
        fields: { token: 'sk_second_key_0123456789' },
        origins: [up.url],
        created: '2020-01-01T00:00:00.000Z',
        updated: '2020-01-01T00:00:00.000Z',
      };
      // Without replace (or replace: false) an existing name is refused, as before.
      expect(await refusal(conn.request('vault_put', { name: 'svc', entry }))).toMatchObject({ code: 'VAULT_DUPLICATE' });
      expect(await refusal(conn.request('vault_put', { name: 'svc', entry, replace: false }))).toMatchObject({ code: 'VAULT_DUPLICATE' });
      const st = await conn.request('status', {});
      await new Promise((r) => setTimeout(r, 5)); // `updated` must move past `created`

      const r = await conn.request('vault_put', { name: 'svc', entry, replace: true });
      expect(r).toEqual({ generation: (st.generation ?? 0) + 1, replaced: true });
      const after = (await conn.request('vault_entries', {})).find((e) => e.name === 'svc');
      expect(after?.created).toBe(before?.created); // kept from the old entry, not the one sent
      expect(Date.parse(after?.updated ?? '')).toBeGreaterThan(Date.parse(before?.updated ?? ''));
      expect(after?.origins).toEqual([up.url]);
      expect((await call()).status).toBe(200);
      expect(up.requests.some((q) => q.headers.authorization === 'Bearer sk_second_key_0123456789')).toBe(true);

      // replace on a new name simply adds it.
      expect(await conn.request('vault_put', { name: 'fresh', entry, replace: true })).toEqual({
        generation: r.generation + 1,
        replaced: false,
      });
      // A new entry cannot come bound to a command through the socket: that is `janee bind`, with the passphrase.
      const pinned = { ...entry, origins: [up.url, `exec:cat@${'0'.repeat(32)}`] };
      expect(await refusal(conn.request('vault_put', { name: 'sneaky', entry: pinned }))).toMatchObject({ code: 'BIND_NEEDS_PASSPHRASE' });
      // replace must be a boolean (raw JSON can send anything).
      expect(await refusal(rawRequest(conn, 'vault_put', { name: 'svc', entry, replace: 'yes' }))).toMatchObject({
        code: 'AGENT_BAD_REQUEST',
      });
    } finally {
      conn.close();
    }
  });

  it('vault_put takes exactly the entries the vault payload takes (field names with "-", up to 64 chars)', async () => {
    const { conn } = await unlocked();
    try {
      const origins = [up.url];
      // Valid in a vault file (FIELD_NAME_RE), refused by the agent's old hand-written copy.
      const r = await conn.request('vault_put', {
        name: 'dashed',
        entry: { fields: { 'api-key': 'k1', [`f${'x'.repeat(40)}`]: 'k2' }, origins },
      });
      expect(r.replaced).toBe(false);
      const e = (await conn.request('vault_entries', {})).find((x) => x.name === 'dashed');
      expect(e?.fieldNames.sort()).toEqual(['api-key', `f${'x'.repeat(40)}`]);
      // Refused by both: a name not starting with a letter, a duplicate origin, no origin at all.
      for (const entry of [
        { fields: { '1abc': 'v' }, origins },
        { fields: { token: 'v' }, origins: [up.url, up.url] },
        { fields: { token: 'v' }, origins: [] },
        { fields: { token: 'v' }, origins: ['http://api.example.com'] }, // a credential over plain http, off loopback
      ]) {
        expect(await refusal(conn.request('vault_put', { name: 'bad', entry }))).toMatchObject({
          code: 'AGENT_BAD_REQUEST',
          message: expect.stringMatching(/invalid vault entry/) as string,
        });
      }
    } finally {
      conn.close();
    }
  });

  it('execute takes exactly what the MCP execute schema takes: what it refuses is a bad request, never passed to the gate', async () => {
    const { env, conn } = await unlocked();
    try {
      expect((await addService(noPass(env), 'svc', up.url, 'sk_schema_key_0123456789')).code).toBe(0);
      const caller = { agent: 'typed', agentSource: 'flag' as const };
      // (describe.concurrent: other tests call the same upstream, so count only this key's calls)
      const mine = () => up.requests.filter((q) => q.headers.authorization === 'Bearer sk_schema_key_0123456789').length;
      for (const req of [
        { service: '', method: 'GET', path: '/echo' },
        { service: 'svc', method: 'GET', path: '' },
        { service: 'svc', method: 'GET', path: '/echo', reason: 'r'.repeat(501) },
        { service: 'svc', method: 'GET', path: '/echo', headers: { 'x-n': 1 } },
        { service: 'svc', method: 'GET', path: '/echo', query: { a: 1 } },
        { service: 'svc', method: 'POST', path: '/echo', body: null },
      ]) {
        expect(await refusal(rawRequest(conn, 'execute', { req, caller }))).toMatchObject({
          code: 'AGENT_BAD_REQUEST',
          message: expect.stringMatching(/invalid execute request/) as string,
        });
      }
      expect(mine()).toBe(0);
      // What the schema takes still works, query arrays and a JSON body included.
      const ok = await conn.request('execute', {
        req: { service: 'svc', method: 'POST', path: '/echo', query: { a: ['1', '2'] }, body: { x: 1 }, reason: 'test' },
        caller,
      });
      expect(ok.status).toBe(200);
    } finally {
      conn.close();
    }
  });
});
