/**
 * serve --http's session transport (src/http/json-transport.ts) on its own: a real
 * node:http server on 127.0.0.1:0, the SDK's McpServer behind it, and both the
 * SDK's Streamable HTTP client and raw POSTs in front. It must speak the protocol
 * the SDK client expects, answer every POST exactly once, and keep nothing of a
 * call once its POST is answered or gone.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { JsonSessionTransport, parsePost } from '../../src/http/json-transport.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f()));
});

const auth = { token: '', clientId: 't', scopes: [] };

/** One session at /mcp: initialize opens it (as serve does), later POSTs must name it. */
async function serve(): Promise<{
  url: string;
  transport: () => JsonSessionTransport | undefined;
  hold: Set<() => void>;
  unanswered: { n: number };
}> {
  const hold = new Set<() => void>();
  const unanswered = { n: 0 };
  let transport: JsonSessionTransport | undefined;
  const mcp = new McpServer({ name: 't', version: '1' });
  mcp.registerTool('echo', { inputSchema: { text: z.string(), wait: z.boolean().optional() } }, async ({ text, wait }) => {
    if (wait) await new Promise<void>((r) => hold.add(r));
    return { content: [{ type: 'text', text }] };
  });
  const httpServer = http.createServer((req, res) => {
    unanswered.n++;
    res.once('close', () => unanswered.n--);
    if (req.method === 'GET') return void res.writeHead(405).end();
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      if (req.method === 'DELETE') {
        void transport?.close().then(() => res.writeHead(200).end());
        return;
      }
      const parsed = parsePost(req.headers, JSON.parse(raw) as unknown);
      if ('error' in parsed) return void res.writeHead(parsed.error.status).end(JSON.stringify(parsed.error));
      void (async () => {
        const sid = req.headers['mcp-session-id'];
        if (!transport && sid === undefined && parsed.initialize) {
          transport = new JsonSessionTransport('session-1');
          await mcp.connect(transport);
        }
        if (!transport || (sid !== undefined && sid !== transport.sessionId) || (sid === undefined && !parsed.initialize))
          return void res.writeHead(404).end();
        transport.post(parsed, res, auth);
      })();
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  open.push(async () => {
    for (const r of hold) r();
    await mcp.close();
    httpServer.closeAllConnections();
    await new Promise((r) => httpServer.close(r));
  });
  return { url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`, transport: () => transport, hold, unanswered };
}

async function sdkClient(url: string): Promise<Client> {
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  open.push(() => client.close().catch(() => undefined));
  return client;
}

const headers = (sid?: string): Record<string, string> => ({
  'content-type': 'application/json',
  accept: 'application/json, text/event-stream',
  ...(sid ? { 'mcp-session-id': sid } : {}),
});
const text = (r: unknown): string => ((r as { content: Array<{ text: string }> }).content[0] as { text: string }).text;

async function until(pred: () => boolean): Promise<void> {
  const end = Date.now() + 5000;
  while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
}

describe('JsonSessionTransport', () => {
  it('serves the SDK client: initialize, tools/list, calls in parallel answered out of order', async () => {
    const { url, transport, hold } = await serve();
    const client = await sdkClient(url);
    expect((await client.listTools()).tools.map((t) => t.name)).toEqual(['echo']);
    const slow = client.callTool({ name: 'echo', arguments: { text: 'slow', wait: true } });
    await until(() => hold.size === 1);
    const fast = await Promise.all(Array.from({ length: 20 }, (_, i) => client.callTool({ name: 'echo', arguments: { text: `f${i}` } })));
    expect(fast.map(text)).toEqual(Array.from({ length: 20 }, (_, i) => `f${i}`));
    for (const r of hold) r();
    expect(text(await slow)).toBe('slow');
    expect(transport()?.waiting).toBe(0);
  });

  it('keeps nothing per call: 300 calls leave no request waiting', async () => {
    const { url, transport } = await serve();
    const client = await sdkClient(url);
    for (let i = 0; i < 300; i++) await client.callTool({ name: 'echo', arguments: { text: String(i) } });
    expect(transport()?.waiting).toBe(0);
  });

  it('answers a batch with an array in request order, notifications alone with 202', async () => {
    const { url } = await serve();
    const init = await fetch(url, {
      method: 'POST',
      headers: headers(),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'i',
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
      }),
    });
    expect(init.status).toBe(200);
    const sid = init.headers.get('mcp-session-id') ?? '';
    expect(sid).toBe('session-1');
    const note = await fetch(url, {
      method: 'POST',
      headers: headers(sid),
      body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }),
    });
    expect(note.status).toBe(202);
    const call = (id: number, t: string) => ({
      jsonrpc: '2.0',
      id,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: t } },
    });
    const batch = await fetch(url, { method: 'POST', headers: headers(sid), body: JSON.stringify([call(7, 'a'), call(3, 'b')]) });
    expect(batch.status).toBe(200);
    const answers = (await batch.json()) as Array<{ id: number; result: unknown }>;
    expect(answers.map((a) => [a.id, text(a.result)])).toEqual([
      [7, 'a'],
      [3, 'b'],
    ]);
  });

  it('refuses a request id already waiting in the session (400), and a second initialize', async () => {
    const { url, hold, transport } = await serve();
    const client = await sdkClient(url);
    const sid = transport()?.sessionId ?? '';
    const held = { jsonrpc: '2.0', id: 'dup', method: 'tools/call', params: { name: 'echo', arguments: { text: 'x', wait: true } } };
    const first = fetch(url, { method: 'POST', headers: headers(sid), body: JSON.stringify(held) });
    await until(() => hold.size === 1);
    const second = await fetch(url, { method: 'POST', headers: headers(sid), body: JSON.stringify(held) });
    expect(second.status).toBe(400);
    expect(await second.text()).toContain('already in use');
    for (const r of hold) r();
    expect((await first).status).toBe(200);
    const reinit = await fetch(url, {
      method: 'POST',
      headers: headers(sid),
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 9,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    expect(reinit.status).toBe(400);
    expect(await client.ping()).toEqual({});
  });

  it('a call whose client went away keeps its id until the server answers it (a reuse meanwhile is refused), then nothing is left', async () => {
    const { url, hold, transport } = await serve();
    await sdkClient(url);
    const sid = transport()?.sessionId ?? '';
    const held = (id: number) =>
      JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'echo', arguments: { text: `t${id}`, wait: true } } });
    const ac = new AbortController();
    const gone = fetch(url, { method: 'POST', headers: headers(sid), signal: ac.signal, body: held(1001) }).catch(() => 'aborted');
    await until(() => hold.size === 1);
    ac.abort();
    expect(await gone).toBe('aborted');
    // Its handler still runs: a new request with the same id would be handed its answer.
    const reuse = await fetch(url, { method: 'POST', headers: headers(sid), body: held(1001) });
    expect(reuse.status).toBe(400);
    expect(transport()?.waiting).toBe(1);
    for (const r of hold) r();
    hold.clear();
    await until(() => transport()?.waiting === 0);
    expect(transport()?.waiting).toBe(0);
    // Closing the session answers what still waits with 404.
    const waiting = fetch(url, { method: 'POST', headers: headers(sid), body: held(1002) });
    await until(() => hold.size === 1);
    await transport()?.close();
    expect((await waiting).status).toBe(404);
    expect(transport()?.waiting).toBe(0);
  });

  it('a request the client cancels (the SDK client times out) has its POST answered and leaves nothing waiting', async () => {
    const { url, hold, transport, unanswered } = await serve();
    const client = await sdkClient(url);
    const calls = Array.from({ length: 3 }, (_, i) =>
      client.callTool({ name: 'echo', arguments: { text: `c${i}`, wait: true } }, undefined, { timeout: 200 }).then(
        () => 'answered',
        (e: Error) => e.message,
      ),
    );
    for (const r of await Promise.all(calls)) expect(r).toMatch(/timed out/i);
    await until(() => transport()?.waiting === 0 && unanswered.n === 0);
    expect(transport()?.waiting).toBe(0);
    expect(unanswered.n).toBe(0); // every POST got its answer: none hangs until the session ends
    for (const r of hold) r();
    expect(text(await client.callTool({ name: 'echo', arguments: { text: 'after' } }))).toBe('after');
  });
});

describe('parsePost', () => {
  const ok = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
  const init = {
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
  };
  const status = (h: Record<string, string>, body: unknown): number | 'ok' => {
    const p = parsePost(h, body);
    return 'error' in p ? p.error.status : 'ok';
  };

  it('takes what the SDK client sends', () => {
    expect(status(ok, ping)).toBe('ok');
    expect(status({ ...ok, 'content-type': 'Application/JSON; charset=utf-8' }, ping)).toBe('ok');
    expect(status({ ...ok, 'mcp-protocol-version': '2025-06-18' }, ping)).toBe('ok');
    expect(parsePost(ok, init)).toMatchObject({ initialize: true });
  });

  it('refuses each malformed POST with the SDK status', () => {
    expect(status({ 'content-type': 'application/json' }, ping)).toBe(406);
    expect(status({ ...ok, accept: 'application/json' }, ping)).toBe(406);
    expect(status({ ...ok, 'content-type': 'text/plain' }, ping)).toBe(415);
    expect(status({ ...ok, 'content-type': 'application/jsonx' }, ping)).toBe(415);
    expect(status(ok, { id: 1, method: 'ping' })).toBe(400);
    expect(status(ok, 'ping')).toBe(400);
    expect(status(ok, [])).toBe(400);
    expect(
      status(
        ok,
        Array.from({ length: 101 }, (_, i) => ({ ...ping, id: i })),
      ),
    ).toBe(400);
    expect(status(ok, [init, ping])).toBe(400);
    expect(status({ ...ok, 'mcp-protocol-version': '1999-01-01' }, ping)).toBe(400);
  });
});
