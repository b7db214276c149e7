/**
 * Drives the BUILT `janee serve` with the official MCP SDK client over stdio, as an
 * MCP client (or a CI job) does. Collects serve's stderr for leak checks.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI } from '../helpers/cli.js';
import { findForms, secretForms } from '../helpers/mcp.js';

export interface Served {
  client: Client;
  /** Everything serve wrote to stderr so far. */
  stderr(): string;
  pid: number | null;
  close(): Promise<void>;
}

export interface ToolText {
  isError: boolean;
  text: string;
  structured: unknown;
}

export async function startServe(env: NodeJS.ProcessEnv, args: string[] = []): Promise<Served> {
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) clean[k] = v;
  const transport = new StdioClientTransport({ command: process.execPath, args: [CLI, 'serve', ...args], env: clean, stderr: 'pipe' });
  let err = '';
  transport.stderr?.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const client = new Client({ name: 'janee-ci-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    stderr: () => err,
    pid: transport.pid,
    close: async () => {
      await client.close().catch(() => undefined);
    },
  };
}

export async function callTool(s: Served, name: string, args: Record<string, unknown> = {}): Promise<ToolText> {
  const r = (await s.client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content?: { type: string; text?: string }[];
    structuredContent?: unknown;
  };
  return {
    isError: r.isError === true,
    text: (r.content ?? []).map((c) => c.text ?? '').join('\n'),
    structured: r.structuredContent,
  };
}

/** Names of the forms of `secret` (every encoding the leak tests know, see helpers/mcp.ts) found in `haystack`. */
export function leaksIn(haystack: string | Buffer, secret: string): string[] {
  return findForms(haystack, [...secretForms(secret), Buffer.from(`Bearer ${secret}`).toString('base64')]);
}
