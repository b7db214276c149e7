/**
 * Drives the BUILT `janee serve` with the official MCP SDK client over stdio, and
 * keeps every byte it writes (stdout and stderr) so tests can check that stdout is
 * JSON-RPC only and that nothing secret ever crossed either stream.
 *
 * Also: audit-log reading and "is this secret anywhere in these bytes" helpers
 * shared by the gate and MCP suites.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { CLI, REPO_ROOT } from './cli.js';

/** StdioClientTransport that also records the raw stdout and stderr bytes of the child. */
export class TappedStdioTransport extends StdioClientTransport {
  readonly stdoutChunks: Buffer[] = [];
  readonly stderrChunks: Buffer[] = [];

  constructor(params: ConstructorParameters<typeof StdioClientTransport>[0]) {
    super({ ...params, stderr: 'pipe' });
    // The PassThrough exists before start(): nothing the child writes early is lost.
    this.stderr?.on('data', (c: Buffer) => this.stderrChunks.push(c));
  }

  override async start(): Promise<void> {
    await super.start();
    // 'spawn' has just fired; serve writes nothing to stdout before initialize,
    // which the Client sends only after start() resolves.
    const child = (this as unknown as { _process?: ChildProcess })._process;
    child?.stdout?.on('data', (c: Buffer) => this.stdoutChunks.push(c));
  }

  get stdoutBytes(): Buffer {
    return Buffer.concat(this.stdoutChunks);
  }

  get stderrBytes(): Buffer {
    return Buffer.concat(this.stderrChunks);
  }
}

export interface ToolResult {
  isError?: boolean;
  content: { type: string; text?: string }[];
  structuredContent?: Record<string, unknown>;
  _meta?: Record<string, unknown>;
}

export interface ServeSession {
  client: Client;
  transport: TappedStdioTransport;
  /** Every tool result received, in order. */
  results: ToolResult[];
  call(name: string, args?: Record<string, unknown>): Promise<ToolResult>;
  /** `execute` shorthand. */
  execute(args: Record<string, unknown>): Promise<ToolResult>;
  stdout(): string;
  stderr(): string;
  close(): Promise<void>;
}

export interface StartServeOptions {
  env: NodeJS.ProcessEnv;
  /** Extra arguments after `serve`, e.g. ['--agent', 'NAME']. */
  args?: string[];
  /** clientInfo.name the SDK client announces. */
  clientName?: string;
  /** Call tools/list first so the client validates structuredContent against outputSchema. */
  listTools?: boolean;
}

const sessions = new Set<ServeSession>();

function cleanEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export async function startServe(opts: StartServeOptions): Promise<ServeSession> {
  const transport = new TappedStdioTransport({
    command: process.execPath,
    args: [CLI, 'serve', ...(opts.args ?? [])],
    env: cleanEnv(opts.env),
    cwd: REPO_ROOT,
  });
  const client = new Client({ name: opts.clientName ?? 'janee-test-client', version: '1.0.0' });
  await client.connect(transport);
  if (opts.listTools !== false) await client.listTools();
  const results: ToolResult[] = [];
  const call = async (name: string, args: Record<string, unknown> = {}): Promise<ToolResult> => {
    const r = (await client.callTool({ name, arguments: args })) as ToolResult;
    results.push(r);
    return r;
  };
  const session: ServeSession = {
    client,
    transport,
    results,
    call,
    execute: (args) => call('execute', args),
    stdout: () => transport.stdoutBytes.toString('utf8'),
    stderr: () => transport.stderrBytes.toString('utf8'),
    close: async () => {
      sessions.delete(session);
      await client.close().catch(() => undefined);
    },
  };
  sessions.add(session);
  return session;
}

/** Closes every session still open (call from afterAll). */
export async function closeAllServes(): Promise<void> {
  await Promise.all([...sessions].map((s) => s.close()));
}

/** The text of a tool result's first content item. */
export function textOf(r: ToolResult): string {
  return r.content[0]?.text ?? '';
}

// ---------------------------------------------------------------------------
// Audit

export interface AuditLine {
  ts: string;
  agent: string;
  agentSource: string;
  service: string;
  method: string;
  path: string;
  outcome: string;
  status: number | null;
  ms: number;
  reason?: string;
  rule?: string;
  seq: number;
  prev: string;
  hash: string;
}

/** Every line of every day file in `<home>/audit`, oldest first (raw text). */
export async function auditLines(home: string): Promise<string[]> {
  const dir = path.join(home, 'audit');
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const n of names.filter((x) => /^\d{4}-\d{2}-\d{2}\.jsonl$/.test(x)).sort()) {
    const text = await fs.readFile(path.join(dir, n), 'utf8');
    out.push(...text.split('\n').filter((l) => l !== ''));
  }
  return out;
}

export async function auditEntries(home: string): Promise<AuditLine[]> {
  return (await auditLines(home)).map((l) => JSON.parse(l) as AuditLine);
}

// ---------------------------------------------------------------------------
// Secret search

/**
 * The forms of `secret` that must never appear anywhere: raw, base64 (padded and
 * not), base64url, hex (both cases), URL-encoded (component, form, lower-case hex),
 * JSON-escaped, plus the alignment-independent base64 cores (the secret inside a
 * larger base64 blob at any offset) of 8+ characters.
 */
export function secretForms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const b64 = bytes.toString('base64');
  const forms = new Set<string>([
    secret,
    b64,
    b64.replace(/=+$/, ''),
    bytes.toString('base64url'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/'/g, '%27'),
    encodeURIComponent(secret).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
    new URLSearchParams([['k', secret]]).toString().slice(2),
    JSON.stringify(secret).slice(1, -1),
  ]);
  for (let k = 0; k < 3; k++) {
    const b = Buffer.concat([Buffer.alloc(k), bytes]).toString('base64');
    const core = b.slice(Math.ceil((8 * k) / 6), Math.floor((8 * (k + bytes.length)) / 6));
    if (core.length >= 8) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
  }
  forms.delete('');
  return [...forms];
}

/** Which of `forms` occur in `haystack` (searched as UTF-8 and as latin1 text). */
export function findForms(haystack: string | Uint8Array, forms: readonly string[]): string[] {
  const texts =
    typeof haystack === 'string' ? [haystack] : [Buffer.from(haystack).toString('utf8'), Buffer.from(haystack).toString('latin1')];
  return forms.filter((f) => texts.some((t) => t.includes(f)));
}

// ---------------------------------------------------------------------------
// Raw JSON-RPC sessions

export interface RawServe {
  /** Writes one JSON-RPC message as a line to serve's stdin. */
  send(message: unknown): void;
  /** Writes raw bytes to stdin as they are (several messages in one write, say). */
  write(text: string): void;
  /** Resolves once a response for every id has arrived (rejects after 15 s). */
  until(ids: readonly (number | string)[]): Promise<void>;
  /** Responses received so far, by id. */
  responses: Map<number | string, Record<string, unknown>>;
  stdout(): string;
  stderr(): string;
  /** Ends stdin and waits for the exit code (SIGKILL after 10 s). */
  close(): Promise<number | null>;
}

/**
 * The built `janee serve` spawned by hand, without an MCP client: the test writes
 * raw JSON-RPC lines (in any order, lifecycle or not) and sees every stdout byte.
 */
export function startRawServe(env: NodeJS.ProcessEnv, args: readonly string[] = []): RawServe {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const responses = new Map<number | string, Record<string, unknown>>();
  const waiters = new Set<() => void>();
  let buffered = '';
  child.stdout.on('data', (c: Buffer) => {
    out.push(c);
    buffered += c.toString('utf8');
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      try {
        const m = JSON.parse(line) as Record<string, unknown>;
        if (typeof m.id === 'number' || typeof m.id === 'string') responses.set(m.id, m);
      } catch {
        // not JSON: left for the caller to find in stdout()
      }
    }
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  const stderr = (): string => Buffer.concat(err).toString('utf8');
  return {
    send: (m) => void child.stdin.write(`${JSON.stringify(m)}\n`),
    write: (text) => void child.stdin.write(text),
    until: (ids) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (!ids.every((id) => responses.has(id))) return;
          waiters.delete(check);
          clearTimeout(t);
          resolve();
        };
        const t = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no response to ${ids.join(',')}; stderr: ${stderr()}`));
        }, 15_000);
        waiters.add(check);
        check();
      }),
    responses,
    stdout: () => Buffer.concat(out).toString('utf8'),
    stderr,
    close: async () => {
      child.stdin.end();
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}
