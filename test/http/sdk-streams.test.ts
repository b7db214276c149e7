/**
 * The SDK leak serve --http works around (src/http/sdk-streams.ts): the official
 * SDK's Streamable HTTP server transport in JSON-response mode, a real node:http
 * server on 127.0.0.1:0 and the SDK's own client. Without the release every call
 * leaves an entry behind (if this control fails, the SDK fixed it: drop the
 * workaround); with it, none is left and calls in flight are never cut off.
 */
import { randomUUID } from 'node:crypto';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { releaseAnsweredStreams, streamMaps } from '../../src/http/sdk-streams.js';

const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((f) => f()));
});

/** One SDK session over real HTTP; `release` says whether serve's workaround runs after each request. */
async function session(release: boolean): Promise<{ client: Client; transport: StreamableHTTPServerTransport; hold: Set<() => void> }> {
  const hold = new Set<() => void>();
  const server = new McpServer({ name: 't', version: '1' });
  server.registerTool('echo', { inputSchema: { text: z.string(), wait: z.boolean().optional() } }, async ({ text, wait }) => {
    if (wait) await new Promise<void>((r) => hold.add(r));
    return { content: [{ type: 'text', text }] };
  });
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), enableJsonResponse: true });
  await server.connect(transport);
  const httpServer = http.createServer((req, res) => {
    // As serve does: no standalone GET stream (it would be an entry of its own).
    if (req.method === 'GET') return void res.writeHead(405).end();
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      const body = raw === '' ? undefined : (JSON.parse(raw) as unknown);
      void transport.handleRequest(req, res, body).finally(() => {
        if (release) releaseAnsweredStreams(transport);
      });
    });
  });
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  const client = new Client({ name: 'c', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`)));
  open.push(async () => {
    for (const r of hold) r();
    await client.close().catch(() => undefined);
    await server.close();
    httpServer.closeAllConnections();
    await new Promise((r) => httpServer.close(r));
  });
  return { client, transport, hold };
}

/** The number of stream entries once the server has finished the requests answered so far (its `finally` runs after the client has the answer). */
async function entriesSettled(transport: StreamableHTTPServerTransport, want: number): Promise<number | undefined> {
  const end = Date.now() + 2000;
  while (streamMaps(transport)?._streamMapping.size !== want && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return streamMaps(transport)?._streamMapping.size;
}

const text = (r: Awaited<ReturnType<Client['callTool']>>): string => (r.content as Array<{ text: string }>)[0]?.text ?? '';

describe('JSON-response streams of the SDK transport', () => {
  it('control: without the release, every answered call stays in the transport (the SDK leak)', async () => {
    const { client, transport } = await session(false);
    for (let i = 0; i < 20; i++) await client.callTool({ name: 'echo', arguments: { text: `n${i}` } });
    expect(await entriesSettled(transport, 21)).toBe(21); // the 20 calls and the initialize
  });

  it('with the release, nothing answered is left behind', async () => {
    const { client, transport } = await session(true);
    for (let i = 0; i < 20; i++) expect(text(await client.callTool({ name: 'echo', arguments: { text: `n${i}` } }))).toBe(`n${i}`);
    expect(await entriesSettled(transport, 0)).toBe(0);
  });

  it('calls still in flight keep their stream while others are answered and released', async () => {
    const { client, transport, hold } = await session(true);
    const slow = [0, 1, 2, 3].map((i) => client.callTool({ name: 'echo', arguments: { text: `slow${i}`, wait: true } }));
    while (hold.size < 4) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 5; i++) expect(text(await client.callTool({ name: 'echo', arguments: { text: `fast${i}` } }))).toBe(`fast${i}`);
    expect(await entriesSettled(transport, 4)).toBe(4);
    for (const r of hold) r();
    expect((await Promise.all(slow)).map(text)).toEqual(['slow0', 'slow1', 'slow2', 'slow3']);
    expect(await entriesSettled(transport, 0)).toBe(0);
  });
});
