#!/usr/bin/env node
// The floor `npm run bench` sets beside janee serve: the smallest stdio MCP server
// built on the same SDK, with one tool shaped like janee's execute (a zod input
// schema, an output schema, structuredContent plus its text mirror) that answers
// at once, touching no network. scripts/bench.mjs bundles it with janee's own
// esbuild options, so its start-up is what the SDK costs, not file resolution.
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';

const server = new McpServer({ name: 'floor-echo', version: '1' }, { capabilities: { tools: {} } });
server.registerTool(
  'echo',
  {
    description: 'answers at once with a fixed small response',
    inputSchema: { service: z.string(), method: z.string(), path: z.string() },
    outputSchema: { status: z.number().int(), headers: z.record(z.string(), z.string()), body: z.string() },
  },
  async ({ path }) => {
    const structured = { status: 200, headers: { 'content-type': 'application/json' }, body: `{"path":${JSON.stringify(path)}}` };
    return { content: [{ type: 'text', text: JSON.stringify(structured) }], structuredContent: structured };
  },
);
await server.connect(new StdioServerTransport());
