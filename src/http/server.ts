/**
 * `janee serve --http`: MCP Streamable HTTP at /mcp, one transport (json-transport.ts)
 * and McpServer per session (the same tools as stdio: src/mcp/server.ts), all calling
 * one gate.
 *
 * Every request, in this order, before the MCP server sees it:
 *   path /mcp (404) → GET (405) → Host (403) → Origin (403) → bearer token, checked
 *   against the vault by the gate now (401, audited; 503 while the vault is locked) →
 *   body size (413) → JSON (400) → session: an existing one of the same agent (404
 *   otherwise) → DELETE closes it → the POST's protocol checks (parsePost: 406, 415,
 *   400) → no session: a new one for an initialize (429 past the per-agent cap).
 * The token is checked on every request, not once per session, so `janee agents
 * remove` reaches open sessions at the next request. The caller (agent name, scope)
 * rides to the tool handler on that request's authInfo; the token itself does not.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { JaneeError } from '../errors.js';
import type { Caller, Gate } from '../gate/types.js';
import { LifecycleGuard } from '../mcp/lifecycle.js';
import { createServer, type ToolExtra } from '../mcp/server.js';
import type { LastUsed } from '../util/last-used.js';
import { TokenRefused } from '../vault/agents.js';
import { allowedHosts, bearerToken, canonicalOrigin, hostAllowed, originAllowed } from './checks.js';
import { JsonSessionTransport, parsePost } from './json-transport.js';
import { listen, type ListenOptions } from './listener.js';
import { DEFAULT_IDLE_MS, DEFAULT_SESSIONS_PER_AGENT, Sessions, type Session } from './sessions.js';

/** Largest request body: an execute body may be 4 MiB, JSON-escaped in the request. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;
/** How long SIGTERM waits for calls in flight. */
const DRAIN_MS = 30_000;

export interface HttpServeOptions extends ListenOptions {
  /** `--allow-origin`: browser origins allowed (none by default). */
  allowOrigins: string[];
  /** `--allow-host`: more names the Host header may give (none by default). */
  allowHosts?: string[] | undefined;
  gate: () => Promise<Gate>;
  lastUsed?: LastUsed | undefined;
  idleMs?: number | undefined;
  sessionsPerAgent?: number | undefined;
}

interface HttpSession extends Session {
  transport: JsonSessionTransport;
}

export interface HttpServer {
  url: string;
  /** Stops accepting, waits for calls in flight (at most DRAIN_MS), closes every session. */
  drain(): Promise<void>;
}

export async function startHttpServer(opts: HttpServeOptions): Promise<HttpServer> {
  const origins = new Set(opts.allowOrigins.map((o) => canonicalOrigin(o) ?? o));
  const sessions = new Sessions<HttpSession>({
    idleMs: opts.idleMs ?? DEFAULT_IDLE_MS,
    perAgent: opts.sessionsPerAgent ?? DEFAULT_SESSIONS_PER_AGENT,
  });
  let hosts = new Set<string>();
  let draining = false;
  let inFlight = 0;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const counted = req.method === 'POST';
    if (counted) {
      inFlight++;
      res.once('close', () => inFlight--);
    }
    handle(req, res).catch(() => {
      if (!res.headersSent) reply(res, 500, 'internal error in janee');
      else res.destroy();
    });
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (draining) return reply(res, 503, 'janee is shutting down', 'reconnect to the next serve');
    if ((req.url ?? '').split('?')[0] !== '/mcp') return reply(res, 404, 'not found: the MCP endpoint is /mcp');
    // No standalone SSE stream (the spec allows 405): janee never sends a message the client did not ask for.
    if (req.method === 'GET')
      return reply(res, 405, 'no server-to-client stream: janee sends nothing unasked', undefined, { allow: 'POST, DELETE' });
    if (!hostAllowed(req.headers.host, hosts))
      return reply(
        res,
        403,
        'Host header does not name this server',
        'connect to the address serve printed, or a human allows the name with `--allow-host NAME` (DNS rebinding protection)',
      );
    if (!originAllowed(req.headers.origin, origins))
      return reply(res, 403, 'Origin not allowed', 'a human allows a browser origin with `janee serve --http … --allow-origin ORIGIN`');

    const sid = req.headers['mcp-session-id'];
    const gate = await opts.gate();
    let caller: Caller;
    try {
      const token = bearerToken(req.headers.authorization);
      const agent = await gate.authenticate(token, `${req.method ?? ''} /mcp`.slice(0, 40));
      caller = { agent: agent.name, agentSource: 'token', services: agent.services, token };
    } catch (e) {
      if (e instanceof JaneeError && e.code === 'GATE_UNAUTHORIZED') {
        // A refused token ends what it had open: its sessions stop at once, not when idle.
        if (e instanceof TokenRefused && e.agent !== undefined) await sessions.closeAgent(e.agent);
        const hdr =
          bearerToken(req.headers.authorization) === undefined ? 'Bearer realm="janee"' : 'Bearer realm="janee", error="invalid_token"';
        return reply(res, 401, e.message, e.hint, { 'www-authenticate': hdr });
      }
      if (e instanceof JaneeError && e.code === 'GATE_LOCKED') return reply(res, 503, e.message, e.hint);
      throw e;
    }
    opts.lastUsed?.note(caller.agent);

    let body: unknown;
    if (req.method === 'POST') {
      const read = await readBody(req);
      if (read === 'too-large') return reply(res, 413, `request body larger than ${MAX_BODY_BYTES} bytes`);
      try {
        body = JSON.parse(read.toString('utf8'));
      } catch {
        return reply(res, 400, 'request body is not JSON', undefined, {}, -32700);
      }
    }

    // The caller, not the token, is what the tool handlers see.
    const auth: AuthInfo = { token: '', clientId: caller.agent, scopes: caller.services ?? [], extra: { caller } };
    let session: HttpSession | undefined;
    if (typeof sid === 'string') {
      session = sessions.get(sid, caller.agent);
      if (!session) return reply(res, 404, 'session not found (expired, closed, or opened by another agent)', 'initialize a new session');
    }
    if (req.method === 'DELETE') {
      if (!session) return reply(res, 400, 'no session to close: send its mcp-session-id');
      await sessions.end(session);
      res.writeHead(200).end();
      return;
    }
    if (req.method !== 'POST')
      return reply(res, 405, `method ${String(req.method).slice(0, 16)} not allowed`, undefined, { allow: 'POST, DELETE' });
    const parsed = parsePost(req.headers, body);
    if ('error' in parsed) return reply(res, parsed.error.status, parsed.error.message, undefined, {}, parsed.error.code);
    if (!session) {
      if (!parsed.initialize) return reply(res, 400, 'no session: send initialize first (without mcp-session-id)');
      if (!sessions.hasRoom(caller.agent))
        return reply(res, 429, `agent ${caller.agent} has too many open sessions`, 'close sessions you no longer use (DELETE /mcp)');
      session = await openSession(caller.agent);
    }
    session.transport.post(parsed, res, auth);
  }

  async function openSession(agent: string): Promise<HttpSession> {
    const transport = new JsonSessionTransport(randomUUID());
    const server = createServer({ gate: opts.gate, identify: callerOf });
    await server.connect(new LifecycleGuard(transport));
    const session: HttpSession = {
      id: transport.sessionId,
      agent,
      lastSeen: Date.now(),
      transport,
      close: () => server.close().catch(() => undefined),
    };
    sessions.add(session);
    return session;
  }

  const bound = await listen(opts, handler);
  hosts = allowedHosts(opts.host, bound.port, bound.tls, bound.interfaces, opts.allowHosts);

  return {
    url: bound.url,
    drain: async () => {
      draining = true;
      bound.server.close();
      const end = Date.now() + DRAIN_MS;
      while (inFlight > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      await sessions.closeAll();
      bound.server.closeAllConnections();
      await opts.lastUsed?.flush();
    },
  };
}

/** The caller the HTTP layer authenticated for this request; none → refused (fail closed). */
function callerOf(extra: ToolExtra): Promise<Caller> {
  const c = extra.authInfo?.extra?.caller as Caller | undefined;
  if (!c || c.agentSource !== 'token') return Promise.reject(new JaneeError('GATE_UNAUTHORIZED', 'no authenticated agent for this call'));
  return Promise.resolve(c);
}

async function readBody(req: IncomingMessage): Promise<Buffer | 'too-large'> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return 'too-large';
  const parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return 'too-large';
    parts.push(chunk as Buffer);
  }
  return Buffer.concat(parts);
}

/** A JSON-RPC error body (what the SDK client reads) with the HTTP status that says it all. */
function reply(
  res: ServerResponse,
  status: number,
  message: string,
  hint?: string,
  headers: Record<string, string> = {},
  code = -32001,
): void {
  const text = hint ? `${message} (${hint})` : message;
  // A request whose body was not read: close the connection rather than read what may be large.
  res.writeHead(status, { 'content-type': 'application/json', ...headers, ...(status === 413 ? { connection: 'close' } : {}) });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code, message: text }, id: null }));
}
