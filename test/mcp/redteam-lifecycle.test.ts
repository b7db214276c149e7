/**
 * Red team on the MCP lifecycle guard (src/mcp/lifecycle.ts), the built `janee
 * serve` fed raw JSON-RPC lines, a real loopback upstream, the real audit log.
 *
 * - A ping that reuses the id of a failed initialize used to open the session:
 *   the guard took any successful result carrying that id for the initialize
 *   result, so `tools/call` then ran with no clientInfo (agent "unknown").
 * - A second initialize used to be answered, and the SDK replaced clientInfo:
 *   the audited agent name changed mid-session. Since refusals are coalesced per
 *   agent name (a fresh burst budget per name), renaming also lets one session
 *   write a full-line burst per name it invents.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, type JaneeEnv } from '../helpers/cli.js';
import { auditEntries, startRawServe, type RawServe } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const KEY = `sk_test_${randomBytes(16).toString('hex')}`;
const INVALID_REQUEST = -32600;

let up: Upstream;
let env: JaneeEnv;

const initialize = (id: number | string, clientName: string) => ({
  jsonrpc: '2.0',
  id,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: clientName, version: '1' } },
});
const execute = (id: number | string, path = '/ok') => ({
  jsonrpc: '2.0',
  id,
  method: 'tools/call',
  params: { name: 'execute', arguments: { service: 'open', method: 'GET', path } },
});

function errorOf(s: RawServe, id: number | string): { code: number; message: string } | undefined {
  return s.responses.get(id)?.error as { code: number; message: string } | undefined;
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

describe('red team: MCP lifecycle', () => {
  it('a ping reusing the id of a failed initialize does not open the session', async () => {
    const before = up.requests.length;
    const s = startRawServe(env);
    try {
      s.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: 'not an object' } });
      await s.until([1]);
      expect(errorOf(s, 1)).toBeDefined();
      s.responses.delete(1);
      s.send({ jsonrpc: '2.0', id: 1, method: 'ping' }); // its `{}` result carries id 1
      await s.until([1]);
      s.send(execute(2));
      await s.until([2]);
      expect(errorOf(s, 2)).toMatchObject({ code: INVALID_REQUEST, message: expect.stringMatching(/not initialized/) });
      expect(up.requests.length).toBe(before);
    } finally {
      expect(await s.close()).toBe(0);
    }
  });

  it('a second initialize is refused: the audited agent name cannot change mid-session', async () => {
    const s = startRawServe(env);
    const tag = randomBytes(4).toString('hex');
    try {
      s.send(initialize(1, `first-${tag}`));
      await s.until([1]);
      s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      s.send(execute(2, `/ok?n=${tag}-1`));
      await s.until([2]);
      s.send(initialize(3, `renamed-${tag}`));
      await s.until([3]);
      expect(s.responses.get(3)!.result).toBeUndefined();
      expect(errorOf(s, 3)).toMatchObject({ code: INVALID_REQUEST, message: expect.stringMatching(/already initialized/) });
      s.send(execute(4, `/ok?n=${tag}-2`));
      await s.until([4]);
      expect((s.responses.get(4)!.result as { isError?: boolean }).isError).toBeFalsy();
      const mine = (await auditEntries(env.JANEE_HOME)).filter((e) => e.agent.endsWith(tag));
      expect(mine.map((e) => e.agent)).toEqual([`first-${tag}`, `first-${tag}`]);
    } finally {
      expect(await s.close()).toBe(0);
    }
  });

  it('two initialize requests in flight: only the first is answered', async () => {
    const s = startRawServe(env);
    try {
      s.write(`${JSON.stringify(initialize('a', 'one'))}\n${JSON.stringify(initialize('b', 'two'))}\n`);
      await s.until(['a', 'b']);
      expect(s.responses.get('a')).toMatchObject({ result: { serverInfo: { name: 'janee' } } });
      expect(errorOf(s, 'b')).toMatchObject({ code: INVALID_REQUEST });
    } finally {
      expect(await s.close()).toBe(0);
    }
  });

  it('a failed initialize can be retried', async () => {
    const s = startRawServe(env);
    try {
      s.send({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { capabilities: 'not an object' } });
      await s.until([1]);
      expect(errorOf(s, 1)).toBeDefined();
      s.send(initialize(2, 'retry'));
      await s.until([2]);
      expect(s.responses.get(2)).toMatchObject({ result: { serverInfo: { name: 'janee' } } });
      s.send(execute(3));
      await s.until([3]);
      expect((s.responses.get(3)!.result as { isError?: boolean }).isError).toBeFalsy();
    } finally {
      expect(await s.close()).toBe(0);
    }
  });
});
