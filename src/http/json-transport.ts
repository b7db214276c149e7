/**
 * One MCP session of `janee serve --http`, as a transport for the SDK's server:
 * Streamable HTTP in JSON-response mode, written straight onto node:http.
 *
 * Each POST carries one JSON-RPC message or a batch. Its requests are handed to
 * the server, and the POST is answered with one `application/json` body once
 * every one of them has its response (a batch gets an array); a POST with only
 * notifications or responses is answered 202 at once. There is no SSE: janee
 * sends nothing unasked (GET is 405), and a notification sent during a call
 * (progress) has no stream to go on, so it is dropped, as the SDK's own JSON
 * mode drops it.
 *
 * Why not the SDK's StreamableHTTPServerTransport: it converts every node request
 * to a web Request and every answer to a web Response (about a third of serve
 * --http's CPU per call), and in JSON mode it kept each answered request in a map
 * for the life of the session (about 10 KB per call). Here a request id lives in
 * `#waiting` from the POST that brought it until the server answers it or the client
 * cancels it (the server then sends nothing, and the POST is answered without it),
 * and nothing else is kept per call.
 *
 * The HTTP checks (path, Host, Origin, token, body size, which session) are the
 * caller's (server.ts); `parsePost` below is the protocol's part of a POST, with
 * the SDK's status codes and messages, so its clients read the errors they know.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  isInitializeRequest,
  isJSONRPCErrorResponse,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  JSONRPCMessageSchema,
  SUPPORTED_PROTOCOL_VERSIONS,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** The SDK's batch limit (server/requestBody.js). */
const MAX_BATCH = 100;

export interface PostError {
  status: number;
  code: number;
  message: string;
}

export type ParsedPost = { messages: JSONRPCMessage[]; initialize: boolean } | { error: PostError };

const refuse = (status: number, code: number, message: string): { error: PostError } => ({ error: { status, code, message } });

/**
 * The protocol checks of a POST whose body has been parsed as JSON: Accept,
 * Content-Type, batch size, each message's JSON-RPC shape, one initialize alone,
 * and (after initialize) a supported MCP-Protocol-Version when one is sent.
 */
export function parsePost(headers: IncomingHttpHeaders, body: unknown): ParsedPost {
  const accept = headers.accept ?? '';
  if (!accept.includes('application/json') || !accept.includes('text/event-stream'))
    return refuse(406, -32000, 'Not Acceptable: Client must accept both application/json and text/event-stream');
  const type = (headers['content-type'] ?? '').split(';')[0]?.trim().toLowerCase();
  if (type !== 'application/json') return refuse(415, -32000, 'Unsupported Media Type: Content-Type must be application/json');
  const raw = Array.isArray(body) ? body : [body];
  if (raw.length > MAX_BATCH) return refuse(400, -32600, `Invalid Request: Batch must not exceed ${MAX_BATCH} messages`);
  if (raw.length === 0) return refuse(400, -32600, 'Invalid Request: empty batch');
  const messages: JSONRPCMessage[] = [];
  for (const m of raw) {
    const parsed = JSONRPCMessageSchema.safeParse(m);
    if (!parsed.success) return refuse(400, -32700, 'Parse error: Invalid JSON-RPC message');
    messages.push(parsed.data);
  }
  const initialize = messages.some((m) => isInitializeRequest(m));
  if (initialize && messages.length > 1) return refuse(400, -32600, 'Invalid Request: Only one initialization request is allowed');
  const version = headers['mcp-protocol-version'];
  if (!initialize && version !== undefined && !SUPPORTED_PROTOCOL_VERSIONS.includes(String(version)))
    return refuse(
      400,
      -32000,
      `Bad Request: Unsupported protocol version: ${String(version)} (supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')})`,
    );
  return { messages, initialize };
}

/** A POST waiting for the answers to its requests. */
interface Exchange {
  res: ServerResponse;
  /** Its requests' ids, in the order the answers go out. */
  ids: RequestId[];
  answers: Map<RequestId, JSONRPCMessage>;
  /** Ids neither answered nor cancelled yet. */
  open: Set<RequestId>;
}

export class JsonSessionTransport implements Transport {
  readonly sessionId: string;
  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;

  /**
   * Request id → the POST that brought it, until the server answers it or the client
   * cancels it. An entry outlives its POST's connection: the handler still runs, and
   * a new request reusing the id meanwhile would be handed the old one's answer.
   */
  readonly #waiting = new Map<RequestId, Exchange>();
  #initialized = false;
  #closed = false;

  constructor(sessionId: string) {
    this.sessionId = sessionId;
  }

  /** Requests brought by POSTs and not answered yet (tests: nothing stays behind). */
  get waiting(): number {
    return this.#waiting.size;
  }

  get closed(): boolean {
    return this.#closed;
  }

  start(): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Serves one POST of this session: its messages go to the server; the POST is
   * answered when the server has answered each of its requests.
   */
  post(parsed: { messages: JSONRPCMessage[]; initialize: boolean }, res: ServerResponse, authInfo: AuthInfo): void {
    if (this.#closed) return this.#refuse(res, 404, -32001, 'Session not found');
    if (parsed.initialize && this.#initialized) return this.#refuse(res, 400, -32600, 'Invalid Request: Server already initialized');
    const ids: RequestId[] = [];
    for (const m of parsed.messages) {
      if (!isJSONRPCRequest(m)) continue;
      // Two requests in flight with one id could not be told apart when answered.
      if (this.#waiting.has(m.id) || ids.includes(m.id))
        return this.#refuse(res, 400, -32600, `Invalid Request: request id ${JSON.stringify(m.id)} is already in use`);
      ids.push(m.id);
    }
    if (parsed.initialize) this.#initialized = true;
    const extra: MessageExtraInfo = { authInfo };
    if (ids.length === 0) {
      res.writeHead(202, { 'mcp-session-id': this.sessionId }).end();
      return this.#dispatch(parsed.messages, extra);
    }
    const exchange: Exchange = { res, ids, answers: new Map(), open: new Set(ids) };
    for (const id of ids) this.#waiting.set(id, exchange);
    this.#dispatch(parsed.messages, extra);
  }

  #dispatch(messages: JSONRPCMessage[], extra: MessageExtraInfo): void {
    for (const m of messages) this.onmessage?.(m, extra);
    // The server sends nothing for a cancelled request: its POST is answered without it.
    for (const m of messages) if (isJSONRPCNotification(m) && m.method === 'notifications/cancelled') this.#cancel(m.params);
  }

  send(message: JSONRPCMessage): Promise<void> {
    // Only answers are delivered: a notification or request mid-call has no stream here.
    if (!isJSONRPCResultResponse(message) && !isJSONRPCErrorResponse(message)) return Promise.resolve();
    const id = message.id;
    const exchange = id === undefined ? undefined : this.#waiting.get(id);
    if (id === undefined || exchange === undefined) return Promise.resolve(); // cancelled, or the session closed
    exchange.answers.set(id, message);
    this.#settle(id, exchange);
    return Promise.resolve();
  }

  /** `notifications/cancelled`: the request gets no answer from the server, so it stops waiting for one. */
  #cancel(params: unknown): void {
    const id = (params as { requestId?: unknown } | undefined)?.requestId;
    if (typeof id !== 'string' && typeof id !== 'number') return;
    const exchange = this.#waiting.get(id);
    if (exchange !== undefined) this.#settle(id, exchange);
  }

  /** `id` is done: once all of its POST's are, the POST is answered (if its client is still there). */
  #settle(id: RequestId, exchange: Exchange): void {
    this.#waiting.delete(id);
    exchange.open.delete(id);
    if (exchange.open.size > 0 || exchange.res.headersSent || exchange.res.destroyed) return;
    const answers = exchange.ids.flatMap((i) => exchange.answers.get(i) ?? []);
    if (answers.length === 0) return void exchange.res.writeHead(202, { 'mcp-session-id': this.sessionId }).end();
    const body = JSON.stringify(answers.length === 1 ? answers[0] : answers);
    exchange.res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': this.sessionId }).end(body);
  }

  /** Ends the session: POSTs still waiting get 404 (the session is gone), then onclose. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const exchanges = new Set(this.#waiting.values());
    this.#waiting.clear();
    for (const e of exchanges) if (!e.res.headersSent && !e.res.destroyed) this.#refuse(e.res, 404, -32001, 'Session not found');
    this.onclose?.();
    return Promise.resolve();
  }

  #refuse(res: ServerResponse, status: number, code: number, message: string): void {
    res
      .writeHead(status, { 'content-type': 'application/json' })
      .end(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }));
  }
}
