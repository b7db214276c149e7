/**
 * Header rules, both ways.
 *
 * Agent → upstream (`sanitizeAgentHeaders`):
 * - Silently dropped (the call still goes through): headers that could override
 *   the credential, the routing, the method, the framing or the encoding of what
 *   is sent — see DROPPED / DROPPED_PREFIXES — plus the service's own auth header.
 *   `accept-encoding` is dropped because the forwarder asks for `identity`: a
 *   compressed body would hide an echoed secret from redaction. `range` /
 *   `if-range` are dropped because fetching an echo in byte ranges would split a
 *   secret into pieces no redaction pattern matches. `accept-charset` is dropped
 *   and `charset` parameters are removed from `accept`: a body in UTF-16/32 or
 *   an exotic charset hides a secret from a byte search (redact.ts transcodes
 *   what still arrives, but there is no reason to ask for it).
 * - Refused with GATE_BAD_REQUEST (the whole call fails): a name that is not an
 *   RFC 7230 token (e.g. `Authorization ` with a trailing space, which some
 *   servers and proxies trim and then honour), a value with CR, LF, NUL or another
 *   control character (header smuggling / response splitting is an attack, not a
 *   typo, so we say so instead of quietly "fixing" it), a value outside latin1, the
 *   same name twice in different case, more than MAX_AGENT_HEADERS headers or more
 *   than MAX_AGENT_HEADER_BYTES in total. Messages name the header, never a value.
 * - Output names are lower-case.
 *
 * Upstream → agent (`pickResponseHeaders`): only an allowlist, lower-case, arrays
 * joined with ", ". The gate redacts the values afterwards.
 */
import { JaneeError } from '../errors.js';
import { isFieldValue, isToken } from '../policy/index.js';

export const MAX_AGENT_HEADERS = 50;
export const MAX_AGENT_HEADER_BYTES = 8 * 1024;

const DROPPED = new Set([
  // credentials
  'authorization',
  'cookie',
  // routing
  'host',
  'forwarded',
  'via',
  'x-real-ip',
  'x-client-ip',
  'true-client-ip',
  'x-original-url', // honoured by some frameworks (Symfony, IIS) as the real path: a policy bypass
  'x-rewrite-url',
  'x-original-uri',
  'x-override-url',
  // method override: would let a policy-checked GET act as a DELETE
  'x-http-method-override',
  'x-http-method',
  'x-method-override',
  // hop-by-hop and framing (undici sets these itself)
  'connection',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'content-length',
  'expect',
  // encoding and partial content (would defeat redaction, see above)
  'accept-encoding',
  'accept-charset',
  'range',
  'if-range',
]);
const DROPPED_PREFIXES = ['proxy-', 'x-forwarded-'];

function isDropped(lower: string, authHeader: string | undefined): boolean {
  if (DROPPED.has(lower)) return true;
  if (authHeader !== undefined && lower === authHeader.toLowerCase()) return true;
  return DROPPED_PREFIXES.some((p) => lower.startsWith(p));
}

function showName(name: string): string {
  const s = JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
  return s;
}

function bad(message: string): JaneeError {
  return new JaneeError('GATE_BAD_REQUEST', message, 'send only plain headers; janee sets authentication itself');
}

/**
 * Validates and filters the agent's headers. `authHeader` is the header the
 * service's auth injects (see `authHeaderName` in inject.ts); it is dropped too.
 */
export function sanitizeAgentHeaders(h: Record<string, string> | undefined, authHeader?: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (h === undefined || h === null) return out;
  if (typeof h !== 'object' || Array.isArray(h)) throw bad('headers must be an object of name → string value');
  const entries = Object.entries(h);
  if (entries.length > MAX_AGENT_HEADERS) throw bad(`too many headers (${entries.length}; at most ${MAX_AGENT_HEADERS})`);
  const seen = new Set<string>();
  let bytes = 0;
  for (const [name, value] of entries) {
    if (!isToken(name)) {
      throw bad(`header name ${showName(name)} is not a valid HTTP header name (refused: it looks like header smuggling)`);
    }
    if (typeof value !== 'string') throw bad(`header ${showName(name)} must have a string value`);
    if (!isFieldValue(value)) {
      throw bad(
        `header ${showName(name)} has a value with CR, LF, NUL, another control character or non-latin1 text (refused: header smuggling)`,
      );
    }
    const lower = name.toLowerCase();
    if (seen.has(lower)) throw bad(`header ${showName(lower)} is given more than once (in different case)`);
    seen.add(lower);
    bytes += name.length + value.length + 4;
    if (bytes > MAX_AGENT_HEADER_BYTES) throw bad(`headers are too large (more than ${MAX_AGENT_HEADER_BYTES} bytes)`);
    if (isDropped(lower, authHeader)) continue;
    out[lower] = lower === 'accept' ? withoutCharset(value.trim()) : value.trim();
  }
  return out;
}

/** `accept` without `charset=` parameters: `text/html; charset=utf-16, text/plain` → `text/html, text/plain`. */
function withoutCharset(accept: string): string {
  if (!/charset/i.test(accept)) return accept;
  return accept
    .split(',')
    .map((range) =>
      range
        .split(';')
        .filter((param, i) => i === 0 || !/^\s*charset\s*=/i.test(param))
        .join(';')
        .trim(),
    )
    .join(', ');
}

/** Response headers returned to the agent. Entries ending in `*` are prefixes. */
// No content-length: after redaction or truncation it would not match the body,
// and the difference would hint at how long a redacted secret is.
export const RESPONSE_HEADER_ALLOWLIST: readonly string[] = Object.freeze([
  'content-type',
  'content-language',
  'content-disposition',
  'content-range',
  'location',
  'etag',
  'last-modified',
  'link',
  'date',
  'cache-control',
  'expires',
  'vary',
  'allow',
  'retry-after',
  'www-authenticate',
  'deprecation',
  'sunset',
  'x-ratelimit-*',
  'x-rate-limit-*',
  'ratelimit',
  'ratelimit-*',
  'x-request-id',
  'request-id',
  'x-correlation-id',
  'x-amzn-requestid',
  'x-github-request-id',
  'stripe-version',
  'idempotency-key',
  'x-total-count',
  'x-next-page',
  'x-page',
  'x-per-page',
]);

const exact = new Set(RESPONSE_HEADER_ALLOWLIST.filter((n) => !n.endsWith('*')));
const prefixes = RESPONSE_HEADER_ALLOWLIST.filter((n) => n.endsWith('*')).map((n) => n.slice(0, -1));

function isAllowedResponseHeader(name: string): boolean {
  const lower = name.toLowerCase();
  return exact.has(lower) || prefixes.some((p) => lower.startsWith(p));
}

export function pickResponseHeaders(h: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(h)) {
    if (value === undefined || !isAllowedResponseHeader(name)) continue;
    const lower = name.toLowerCase();
    const v = Array.isArray(value) ? value.join(', ') : String(value);
    out[lower] = out[lower] === undefined ? v : `${out[lower]}, ${v}`;
  }
  return out;
}
