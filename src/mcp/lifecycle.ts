/**
 * MCP lifecycle for `janee serve`: nothing but `initialize` and `ping` is served
 * until the server has answered `initialize` (the spec: "the client SHOULD NOT
 * send requests other than pings before the server has responded to the
 * initialize request"). The SDK's Server answers any registered method at any
 * time, so a `tools/call` written straight to stdin would otherwise reach the
 * gate — and upstream — from a client that never said who it is (the audit's
 * clientInfo agent name comes from initialize).
 *
 * The guard sits between the SDK and the real transport, so it sees every
 * message before the SDK dispatches it. Before initialize has been answered,
 * other requests get a JSON-RPC error (nothing dispatched, so nothing forwarded
 * and nothing audited: no call was made) and notifications are dropped (there is
 * nothing yet for them to refer to; a premature `notifications/initialized`
 * would otherwise start opening the vault).
 *
 * One initialize per session: a second one (or one sent while the first is
 * still being answered) is refused. The SDK would answer it and replace
 * clientInfo, i.e. the audited agent name, mid-session — and since refusals are
 * coalesced per agent name, each new name would also get a fresh burst of full
 * audit lines. The session opens only on the *initialize* result (one with a
 * protocolVersion) for the pending initialize's id; an error for it closes the
 * attempt (a retry is allowed), and no other request may reuse that id while it
 * is pending (a ping's `{}` result with the same id once opened the session).
 */
import type { Transport, TransportSendOptions } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  ErrorCode,
  isJSONRPCNotification,
  isJSONRPCRequest,
  isJSONRPCResultResponse,
  type JSONRPCMessage,
  type MessageExtraInfo,
  type RequestId,
} from '@modelcontextprotocol/sdk/types.js';

/** Requests served before initialize has been answered. */
const BEFORE_INITIALIZE: ReadonlySet<string> = new Set(['initialize', 'ping']);

/** JSON-RPC "Invalid Request": standard, and clashes with no MCP-defined code (-32002 is "resource not found"). */
const NOT_INITIALIZED_CODE: number = ErrorCode.InvalidRequest;
const NOT_INITIALIZED_MESSAGE = 'server not initialized: send initialize (and wait for its result) first';
const ALREADY_INITIALIZED_MESSAGE = 'already initialized: a session has one initialize';

export class LifecycleGuard implements Transport {
  readonly #inner: Transport;
  /** id of the initialize request being answered, if any. */
  #initializeId: RequestId | undefined;
  #initialized = false;

  onclose?: (() => void) | undefined;
  onerror?: ((error: Error) => void) | undefined;
  onmessage?: (<T extends JSONRPCMessage>(message: T, extra?: MessageExtraInfo) => void) | undefined;
  setProtocolVersion?: ((version: string) => void) | undefined;

  constructor(inner: Transport) {
    this.#inner = inner;
    inner.onmessage = (message, extra) => this.#receive(message, extra);
    inner.onclose = () => this.onclose?.();
    inner.onerror = (error) => this.onerror?.(error);
    if (inner.setProtocolVersion) this.setProtocolVersion = (v) => inner.setProtocolVersion?.(v);
  }

  get sessionId(): string | undefined {
    return this.#inner.sessionId;
  }

  start(): Promise<void> {
    return this.#inner.start();
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  send(message: JSONRPCMessage, options?: TransportSendOptions): Promise<void> {
    if (!this.#initialized && this.#initializeId !== undefined && 'id' in message && message.id === this.#initializeId) {
      if (isJSONRPCResultResponse(message) && typeof message.result.protocolVersion === 'string') this.#initialized = true;
      else if (!isJSONRPCResultResponse(message)) this.#initializeId = undefined; // failed: may be retried
    }
    return this.#inner.send(message, options);
  }

  #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    // Once open, only a request named initialize is refused; anything else passes
    // whatever its shape. Saying so without isJSONRPCRequest spares each call a zod
    // parse (a deep copy) of its request: the transport and the SDK parse it already.
    if (this.#initialized && (message as { method?: unknown }).method !== 'initialize') return this.onmessage?.(message, extra);
    if (isJSONRPCRequest(message)) {
      if (message.method === 'initialize') {
        if (this.#initialized || this.#initializeId !== undefined) return this.#refuse(message.id, ALREADY_INITIALIZED_MESSAGE);
        this.#initializeId = message.id;
      } else if (!this.#initialized && (!BEFORE_INITIALIZE.has(message.method) || message.id === this.#initializeId)) {
        return this.#refuse(message.id, NOT_INITIALIZED_MESSAGE);
      }
    } else if (!this.#initialized && isJSONRPCNotification(message)) {
      return;
    }
    this.onmessage?.(message, extra);
  }

  #refuse(id: RequestId, text: string): void {
    this.#inner
      .send({ jsonrpc: '2.0', id, error: { code: NOT_INITIALIZED_CODE, message: text } })
      .catch((e: unknown) => this.onerror?.(e instanceof Error ? e : new Error(String(e))));
  }
}
