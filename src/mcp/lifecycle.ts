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
export const NOT_INITIALIZED_CODE: number = ErrorCode.InvalidRequest;
export const NOT_INITIALIZED_MESSAGE = 'server not initialized: send initialize (and wait for its result) first';

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
    // Open once a successful initialize result goes out (an error result keeps it shut).
    if (!this.#initialized && this.#initializeId !== undefined && isJSONRPCResultResponse(message) && message.id === this.#initializeId) {
      this.#initialized = true;
    }
    return this.#inner.send(message, options);
  }

  #receive(message: JSONRPCMessage, extra?: MessageExtraInfo): void {
    if (!this.#initialized) {
      if (isJSONRPCRequest(message)) {
        if (!BEFORE_INITIALIZE.has(message.method)) {
          this.#inner
            .send({ jsonrpc: '2.0', id: message.id, error: { code: NOT_INITIALIZED_CODE, message: NOT_INITIALIZED_MESSAGE } })
            .catch((e: unknown) => this.onerror?.(e instanceof Error ? e : new Error(String(e))));
          return;
        }
        if (message.method === 'initialize') this.#initializeId = message.id;
      } else if (isJSONRPCNotification(message)) {
        return;
      }
    }
    this.onmessage?.(message, extra);
  }
}
