/**
 * MCP lifecycle (issue 8 part 7): the built `janee serve`, fed raw JSON-RPC lines,
 * refuses every request but initialize and ping until it has answered
 * initialize — nothing reaches the loopback upstream, nothing is audited.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { auditEntries, startRawServe, type RawServe } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const NOT_INITIALIZED = -32600;

let up: Upstream;
let env: JaneeEnv;

const initialize = (id: number, clientName = 'raw-client') => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1' } },
});
const execute = (id: number) => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'execute', arguments: { service: 'open', method: 'GET', path: '/ok' } },
});

function expectNotInitialized(s: RawServe, id: number | string): void {
  const m = s.responses.get(id)!;
  expect(m, `response ${id}`).toBeDefined();
  expect(m.result, `response ${id}`).toBeUndefined();
  expect(m.error).toMatchObject({ code: NOT_INITIALIZED, message: expect.stringMatching(/not initialized/) });
}

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  const r = await runJanee(['add', 'open', '--base-url', up.url, '--auth', 'bearer', '--key-stdin'], { env, input: `${KEY}\n` });
  if (r.code !== 0) throw new Error(`janee add failed: ${r.stderr}`);
}, 60_000);

afterAll(async () => {
  await up?.close();
  await cleanupTempHomes();
});

describe('requests before initialize', () => {
  it('are refused with a JSON-RPC error and never forwarded or audited; initialize then opens the session', async () => {
    const s = startRawServe(env);
    try {
      s.send(execute(1));
      s.send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
      s.send({ jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'list_services', arguments: {} } });
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' }); // premature: dropped
      s.send({
        jsonrpc: '2.0',
        id: 'str-id',
        method: 'tools/call',
        params: { name: 'execute', arguments: { service: 'open', method: 'POST', path: '/ok' } },
      });
      s.send({ jsonrpc: '2.0', id: 4, method: 'ping' });
      await s.until([1, 2, 3, 'str-id', 4]);
      expect(up.requests).toEqual([]);
      expect(await auditEntries(env.JANEE_HOME)).toEqual([]);
      for (const id of [1, 2, 3, 'str-id']) expectNotInitialized(s, id);
      expect(s.responses.get(4)).toMatchObject({ result: {} }); // ping is always answered

      // The ordinary lifecycle works afterwards, in the same session.
      s.send(initialize(5));
      await s.until([5]);
      expect(s.responses.get(5)).toMatchObject({ result: { serverInfo: { name: 'janee' } } });
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      s.send(execute(6));
      await s.until([6]);
      const result = s.responses.get(6)!.result as { isError?: boolean; structuredContent?: { status: number } };
      expect(result.isError).toBeFalsy();
      expect(result.structuredContent?.status).toBe(200);
      expect(up.requests.map((r) => `${r.method} ${r.url}`)).toEqual(['GET /ok']);
      const audit = await auditEntries(env.JANEE_HOME);
      expect(audit.map((e) => [e.agent, e.outcome, e.path])).toEqual([['raw-client', 'allowed', '/ok']]);
    } finally {
      expect(await s.close()).toBe(0);
    }
    // stdout stayed JSON-RPC only.
    for (const line of s
      .stdout()
      .split('\n')
      .filter((l) => l !== ''))
      expect(JSON.parse(line)).toMatchObject({ jsonrpc: '2.0' });
  });

  it('a failed initialize keeps the session shut', async () => {
    const before = up.requests.length;
    const s = startRawServe(env);
    try {
      s.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: 'not an object' } });
      await s.until([1]);
      expect(s.responses.get(1)!.error).toBeDefined();
      s.send(execute(2));
      await s.until([2]);
      expectNotInitialized(s, 2);
      expect(up.requests.length).toBe(before);
    } finally {
      expect(await s.close()).toBe(0);
    }
  });
});
