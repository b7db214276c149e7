/**
 * Drives the BUILT `janee serve --http HOST:0` as a real process: waits for the URL
 * it prints on stderr, keeps every byte it writes, and connects the SDK's
 * Streamable HTTP client with an agent token.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CLI, REPO_ROOT, runJanee } from './cli.js';
import type { ToolResult } from './mcp.js';

export interface HttpServe {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

const running = new Set<HttpServe>();

export async function startHttpServe(env: NodeJS.ProcessEnv, args: string[] = ['--http', '127.0.0.1:0']): Promise<HttpServe> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env, cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve --http printed no URL: ${Buffer.concat(err).toString()}`)), 20_000);
    const look = () => {
      const m = /serving MCP on (https?:\/\/\S+\/mcp)/.exec(Buffer.concat(err).toString());
      if (m?.[1]) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stderr?.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve --http exited (${code}): ${Buffer.concat(err).toString()}`));
    });
  });
  const s: HttpServe = {
    url,
    child,
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    stop: async () => {
      running.delete(s);
      if (child.exitCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  running.add(s);
  return s;
}

export async function stopAllHttpServes(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop()));
}

/** `janee agents add NAME …`: the token it printed. */
export async function addAgent(env: NodeJS.ProcessEnv, name: string, extra: string[] = []): Promise<string> {
  const r = await runJanee(['agents', 'add', name, ...extra], { env });
  if (r.code !== 0) throw new Error(`agents add failed: ${r.stderr}`);
  return r.stdout.trim();
}

export interface HttpClient {
  client: Client;
  transport: StreamableHTTPClientTransport;
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  close(): Promise<void>;
}

/** The SDK client over Streamable HTTP, connected (initialize done) with `token`. */
export async function connectHttp(url: string, token: string | undefined, fetchImpl?: typeof fetch): Promise<HttpClient> {
  const transport = new StreamableHTTPClientTransport(new URL(url), {
    requestInit: token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } },
    ...(fetchImpl ? { fetch: fetchImpl } : {}),
  });
  const client = new Client({ name: 'janee-http-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    transport,
    call: async (name, args = {}) => (await client.callTool({ name, arguments: args })) as ToolResult,
    close: () => client.close().catch(() => undefined),
  };
}
