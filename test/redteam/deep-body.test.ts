/**
 * Red team (fourth pass): an execute body nested 100,000 levels deep. JSON-RPC parses it
 * (JSON.parse has no depth limit), then serialising it and collecting its strings for the
 * redactor overflowed the stack: the agent got "internal error in janee … this is a bug"
 * (code INTERNAL). Earlier passes saw this and left it, but it is the agent's malformed
 * request: GATE_BAD_REQUEST with a message that says so, audited as a refusal, nothing
 * sent, and serve keeps answering. The BUILT `janee serve` with raw JSON-RPC over stdio
 * (the SDK client cannot serialise such a body itself), a loopback upstream.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addBearer, cleanupTempHomes, initHome, type JaneeEnv } from '../helpers/cli.js';
import { startRawServe } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

let up: Upstream;
let env: JaneeEnv;

beforeAll(async () => {
  up = await startUpstream();
  env = await initHome();
  await addBearer(env, 'svc', up.url, 'sk_test_0123456789abcdefghij');
  // A second service whose POSTs wait for approval: the approval digest serialises the body first.
  await addBearer(env, 'appr', up.url, 'sk_test_abcdefghij0123456789');
  const file = path.join(env.JANEE_HOME, 'config.yaml');
  const text = await fs.readFile(file, 'utf8');
  await fs.writeFile(file, text.replace('\n  appr:\n', '\n  appr:\n    policies:\n      - { path: /x, methods: [POST], approve: true }\n'));
}, 60_000);

afterAll(async () => {
  await up?.close();
  await cleanupTempHomes();
});

for (const service of ['svc', 'appr'])
  it(`a body nested 100,000 deep is a bad request, not an internal error (${service})`, { timeout: 60_000 }, async () => {
    const s = startRawServe(env, ['--agent', 'rt4']);
    s.send({
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } },
    });
    await s.until([1]);
    s.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
    const N = 100_000;
    const deep = `${'{"a":'.repeat(N)}1${'}'.repeat(N)}`;
    s.write(
      `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"execute","arguments":{"service":"${service}","method":"POST","path":"/x","body":${deep}}}}\n`,
    );
    s.send({
      jsonrpc: '2.0',
      id: 3,
      method: 'tools/call',
      params: { name: 'execute', arguments: { service: 'svc', method: 'GET', path: '/ok' } },
    });
    await s.until([2, 3]);
    const r = s.responses.get(2)!.result as { isError?: boolean; content: { text: string }[]; _meta?: Record<string, unknown> };
    expect(r.isError).toBe(true);
    expect(r._meta?.['dev.janee/error'], r.content[0]!.text).toEqual({ code: 'GATE_BAD_REQUEST' });
    expect(r.content[0]!.text).toMatch(/nested too deeply/);
    const ok = s.responses.get(3)!.result as { isError?: boolean };
    expect(ok.isError).toBeFalsy();
    expect(up.requests.map((q) => q.url).filter((u) => u !== '/ok')).toEqual([]);
    await s.close();
  });
