#!/usr/bin/env node
// The second floor `npm run bench` sets beside janee serve: the smallest stdio MCP
// proxy built on the same SDK and the same HTTP client. One tool shaped like janee's
// execute that forwards the call to the upstream named by FLOOR_UPSTREAM with undici
// (a keep-alive pool, the body read as text) and answers with status, headers and
// body — no policy, no credential, no redaction, no audit. It runs with janee serve's
// heap settings (src/cli/heap.ts), so the difference between the two is the gate's
// own cost, and a goal this floor cannot reach is out of reach for any proxy built on
// the SDK and undici on the machine that ran it.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { Agent, request } from 'undici';
import { z } from 'zod';
import { capOldGenerationGrowth, capYoungGeneration } from '../src/cli/heap.ts';

capYoungGeneration();
capOldGenerationGrowth();
const upstream = new URL(process.env.FLOOR_UPSTREAM ?? 'http://127.0.0.1:1');
const dispatcher = new Agent({ keepAliveTimeout: 60_000 });
const server = new McpServer({ name: 'floor-proxy', version: '1' }, { capabilities: { tools: {} } });
server.registerTool(
  'proxy',
  {
    description: 'forwards the request to the upstream and answers with its response',
    inputSchema: { service: z.string(), method: z.string(), path: z.string() },
    outputSchema: { status: z.number().int(), headers: z.record(z.string(), z.string()), body: z.string() },
  },
  async ({ method, path }) => {
    const r = await request(new URL(path, upstream), { method, dispatcher, headers: { authorization: 'Bearer x' } });
    const headers = {};
    for (const [k, v] of Object.entries(r.headers)) if (typeof v === 'string') headers[k] = v;
    const structured = { status: r.statusCode, headers, body: await r.body.text() };
    return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
  },
);
await server.connect(new StdioServerTransport());
