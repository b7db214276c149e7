/**
 * Sends one request upstream with undici over a pooled keep-alive Agent.
 *
 * - Redirects are never followed: a 3xx comes back as is, with its Location.
 * - One deadline (`timeoutMs`) covers the whole call; when it fires the error says
 *   which phase was running: `connect` (no socket yet), `headers` (request sent, no
 *   response head), `body` (reading the body). The Agent's connect timeout
 *   (`connectTimeoutMs`, default 10 s) also reports `connect`.
 * - The body is read up to `maxResponseBytes`; then reading stops, the stream (and
 *   so the connection) is destroyed, and the response is marked `truncated`. An
 *   endless body costs at most the cap plus one chunk of memory.
 * - We ask for `accept-encoding: identity`. A server that compresses anyway
 *   (gzip, deflate, br) is decoded here, under the same cap on decoded bytes, so
 *   redaction always sees plaintext; an encoding we cannot decode is an error
 *   rather than an opaque blob that could carry a secret past redaction.
 * - Error messages are built only from a fixed phrase, an error code and the
 *   origin: never undici's text, the path, the query (which holds the credential
 *   for query auth) or any header value.
 */
import { EventEmitter } from 'node:events';
import { pipeline, type Readable } from 'node:stream';
import * as zlib from 'node:zlib';
import type { Agent as UndiciAgent, Dispatcher } from 'undici';
import { JaneeError } from '../errors.js';
import { cancelled, throwIfCancelled, type CancelSignal } from './cancel.js';
import { Agent } from './undici-agent.js';

export interface ForwardRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
  timeoutMs: number;
  maxResponseBytes: number;
  /** The client cancelled the call: abort the request (GATE_CANCELLED). */
  signal?: CancelSignal | undefined;
}

interface ForwardResponse {
  status: number;
  /** Every response header, lower-case names, repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Uint8Array;
  truncated: boolean;
}

type ForwardPhase = 'connect' | 'headers' | 'body';

/**
 * Per-call progress, handed to the tracking interceptor as undici's `opaque`; also
 * the call's abort signal (undici takes an EventEmitter that emits `abort` as well
 * as an AbortSignal). Not an AbortController: on Node 20 every AbortSignal gets a
 * hidden class of its own (EventTarget, then setPrototypeOf, then more fields), and
 * such objects survive young-generation collections, so each call's signal, and
 * what its listeners hold, was copied into the old generation (docs/bench.md).
 */
class Tracker extends EventEmitter {
  connected = false;
  gotHeaders = false;
  get phase(): ForwardPhase {
    return !this.connected ? 'connect' : !this.gotHeaders ? 'headers' : 'body';
  }
}

/**
 * Marks the call as connected when undici starts writing it to a socket
 * (`onRequestStart` runs only once a connection is up), so a timeout can say
 * `connect` or `headers` truthfully.
 */
const trackConnect: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  const t = (opts as { opaque?: unknown }).opaque;
  if (!(t instanceof Tracker)) return dispatch(opts, handler);
  const h = handler;
  const wrapped: Dispatcher.DispatchHandler = {
    onRequestStart(controller, context) {
      t.connected = true;
      h.onRequestStart?.(controller, context);
    },
    onRequestUpgrade(controller, statusCode, headers, socket) {
      h.onRequestUpgrade?.(controller, statusCode, headers, socket);
    },
    onResponseStart(controller, statusCode, headers, statusMessage) {
      h.onResponseStart?.(controller, statusCode, headers, statusMessage);
    },
    onResponseData(controller, chunk) {
      h.onResponseData?.(controller, chunk);
    },
    onResponseEnd(controller, trailers) {
      h.onResponseEnd?.(controller, trailers);
    },
    onResponseError(controller, error) {
      h.onResponseError?.(controller, error);
    },
  };
  return dispatch(opts, wrapped);
};

function seconds(ms: number): string {
  const s = ms / 1000;
  return `${Number.isInteger(s) ? s : Number(s.toFixed(s < 1 ? 3 : 1))}s`;
}

export class Forwarder {
  readonly #agent: UndiciAgent;
  readonly #dispatcher: Dispatcher;
  readonly #connectTimeoutMs: number;

  constructor(opts: { connectTimeoutMs?: number } = {}) {
    this.#connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    this.#agent = new Agent({
      connect: { timeout: this.#connectTimeoutMs },
      keepAliveTimeout: 4_000,
      keepAliveMaxTimeout: 60_000,
    });
    this.#dispatcher = this.#agent.compose(trackConnect);
  }

  async forward(req: ForwardRequest): Promise<ForwardResponse> {
    let u: URL;
    try {
      u = new URL(req.url);
    } catch {
      throw new JaneeError('GATE_BAD_REQUEST', 'invalid upstream URL');
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new JaneeError('GATE_BAD_REQUEST', 'upstream URL must be http or https');
    }
    const origin = u.origin;
    throwIfCancelled(req.signal, 'request');
    const tracker = new Tracker();
    let timedOutIn: ForwardPhase | undefined;
    const timer = setTimeout(() => {
      timedOutIn = tracker.phase;
      tracker.emit('abort');
    }, req.timeoutMs);
    let cancelledByClient = false;
    const onCancel = (): void => {
      cancelledByClient = true;
      tracker.emit('abort');
    };
    req.signal?.addEventListener('abort', onCancel, { once: true });
    // undici's own timers are backstops only; the deadline above is authoritative.
    const backstop = req.timeoutMs + 1_000;
    let res: Dispatcher.ResponseData<Tracker> | undefined;
    try {
      res = await this.#dispatcher.request({
        origin,
        path: `${u.pathname}${u.search}`,
        method: req.method,
        headers: withIdentityEncoding(req.headers),
        body: req.body ?? null,
        signal: tracker,
        opaque: tracker,
        headersTimeout: backstop,
        bodyTimeout: backstop,
      });
      tracker.gotHeaders = true;
      const headers = flattenHeaders(res.headers);
      const { body, truncated, decoded } = await readBody(res.body, headers['content-encoding'], req.maxResponseBytes);
      if (decoded) {
        delete headers['content-encoding'];
        delete headers['content-length'];
      }
      return { status: res.statusCode, headers, body, truncated };
    } catch (e) {
      res?.body.destroy();
      throw cancelledByClient && timedOutIn === undefined
        ? cancelled('request', tracker.phase !== 'connect') // connected: the request may have been written
        : this.#error(e, origin, tracker, timedOutIn, req.timeoutMs);
    } finally {
      clearTimeout(timer);
      req.signal?.removeEventListener('abort', onCancel);
    }
  }

  #error(e: unknown, origin: string, tracker: Tracker, timedOutIn: ForwardPhase | undefined, timeoutMs: number): JaneeError {
    if (e instanceof JaneeError) return e;
    const hint = 'the service may be down or slow; try again later';
    if (timedOutIn !== undefined) {
      return new JaneeError('GATE_UPSTREAM_TIMEOUT', `upstream ${origin} timed out after ${seconds(timeoutMs)} (${timedOutIn})`, hint);
    }
    const codes = errorCodes(e);
    const has = (c: string): boolean => codes.includes(c);
    if (has('UND_ERR_CONNECT_TIMEOUT') || (has('ETIMEDOUT') && !tracker.connected)) {
      return new JaneeError(
        'GATE_UPSTREAM_TIMEOUT',
        `upstream ${origin} timed out after ${seconds(this.#connectTimeoutMs)} (connect)`,
        hint,
      );
    }
    if (has('UND_ERR_HEADERS_TIMEOUT')) {
      return new JaneeError('GATE_UPSTREAM_TIMEOUT', `upstream ${origin} timed out after ${seconds(timeoutMs)} (headers)`, hint);
    }
    if (has('UND_ERR_BODY_TIMEOUT')) {
      return new JaneeError('GATE_UPSTREAM_TIMEOUT', `upstream ${origin} timed out after ${seconds(timeoutMs)} (body)`, hint);
    }
    if (has('UND_ERR_INVALID_ARG') || has('ERR_INVALID_ARG_TYPE') || has('ERR_INVALID_ARG_VALUE')) {
      return new JaneeError('GATE_BAD_REQUEST', 'request refused before sending: invalid method, header or body');
    }
    const [what, code] = describe(codes);
    const where = tracker.gotHeaders ? ' while reading the body' : '';
    return new JaneeError('GATE_UPSTREAM_ERROR', `upstream ${origin}: ${what}${where} (${code})`, hint);
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Codes on the error, its causes and aggregated errors (dual-stack connects). */
function errorCodes(e: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (x: unknown, depth: number): void => {
    if (x === null || typeof x !== 'object' || seen.has(x) || depth > 5) return;
    seen.add(x);
    const code = (x as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Za-z0-9_]{2,48}$/.test(code)) out.push(code);
    // undici's HTTPParserError often carries no code.
    else if ((x as { name?: unknown }).name === 'HTTPParserError') out.push('HPE_PARSE_ERROR');
    walk((x as { cause?: unknown }).cause, depth + 1);
    const errors = (x as { errors?: unknown }).errors;
    if (Array.isArray(errors)) for (const inner of errors) walk(inner, depth + 1);
  };
  walk(e, 0);
  return out;
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|EPROTO$|ERR_OSSL)/;

function describe(codes: string[]): [string, string] {
  const pick = (...cs: string[]): string | undefined => codes.find((c) => cs.includes(c));
  let c: string | undefined;
  if ((c = pick('ECONNREFUSED'))) return ['connection refused', c];
  if ((c = pick('ECONNRESET'))) return ['connection reset', c];
  if ((c = pick('EPIPE'))) return ['connection closed while sending', c];
  if ((c = pick('ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_FAIL', 'EAI_NONAME'))) return ['DNS lookup failed', c];
  if ((c = pick('EHOSTUNREACH', 'EHOSTDOWN'))) return ['host unreachable', c];
  if ((c = pick('ENETUNREACH', 'ENETDOWN', 'EADDRNOTAVAIL'))) return ['network unreachable', c];
  if ((c = codes.find((x) => TLS_CODE.test(x)))) return ['TLS handshake failed', c];
  if ((c = codes.find((x) => x.startsWith('HPE_')))) return ['malformed HTTP response', c];
  if ((c = pick('UND_ERR_HEADERS_OVERFLOW'))) return ['response headers too large', c];
  if ((c = pick('UND_ERR_RES_CONTENT_LENGTH_MISMATCH'))) return ['response body does not match its content-length', c];
  if ((c = codes.find((x) => x.startsWith('Z_') || x.startsWith('ERR_BROTLI') || x.startsWith('ERR_ZLIB')))) {
    return ['corrupt compressed response body', c];
  }
  if ((c = pick('UND_ERR_SOCKET'))) return ['connection closed unexpectedly', c];
  if ((c = pick('UND_ERR_DESTROYED', 'UND_ERR_CLOSED'))) return ['forwarder is shut down', c];
  if ((c = pick('UND_ERR_ABORTED', 'UND_ERR_ABORT', 'ABORT_ERR', 'UND_ERR_INFO'))) return ['request aborted', c];
  return ['request failed', codes[0] ?? 'UNKNOWN'];
}

function withIdentityEncoding(h: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (k.toLowerCase() !== 'accept-encoding') out[k] = v;
  out['accept-encoding'] = 'identity';
  return out;
}

function flattenHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : String(v);
  }
  return out;
}

function decoderFor(encoding: string): zlib.Gunzip | zlib.Inflate | zlib.BrotliDecompress | undefined {
  switch (encoding) {
    case 'gzip':
    case 'x-gzip':
      return zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'deflate':
      return zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH, finishFlush: zlib.constants.Z_SYNC_FLUSH });
    case 'br':
      return zlib.createBrotliDecompress();
    default:
      return undefined;
  }
}

async function readBody(
  raw: Readable,
  contentEncoding: string | undefined,
  cap: number,
): Promise<{ body: Uint8Array; truncated: boolean; decoded: boolean }> {
  // Destroying an unfinished undici body emits an abort error: we only ever
  // destroy it on purpose (cap, failure), so that error is expected.
  raw.on('error', () => undefined);
  const encodings = (contentEncoding ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s !== '' && s !== 'identity');
  let source: Readable = raw;
  if (encodings.length > 0) {
    const decoders = [];
    // Encodings are listed in the order applied: undo them last to first.
    for (const enc of encodings.reverse()) {
      const d = decoderFor(enc);
      if (d === undefined || decoders.length >= 3) {
        raw.destroy();
        for (const x of decoders) x.destroy();
        throw new JaneeError(
          'GATE_UPSTREAM_ERROR',
          `upstream sent a response with content-encoding janee cannot decode (${enc.replace(/[^a-z0-9_.+-]/g, '?').slice(0, 32)})`,
          'janee asks for uncompressed responses; this server ignored that',
        );
      }
      decoders.push(d);
    }
    source = pipeline([raw, ...decoders] as unknown as [Readable, Readable], () => undefined) as unknown as Readable;
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  let truncated = false;
  try {
    for await (const chunk of source as AsyncIterable<Uint8Array>) {
      if (total + chunk.length > cap) {
        const room = cap - total;
        if (room > 0) chunks.push(chunk.subarray(0, room));
        total = cap;
        truncated = true;
        break;
      }
      chunks.push(chunk);
      total += chunk.length;
    }
  } catch (e) {
    source.destroy();
    raw.destroy();
    throw e;
  }
  if (truncated) {
    source.destroy();
    raw.destroy();
  }
  return { body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total), truncated, decoded: encodings.length > 0 };
}
