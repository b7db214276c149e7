/**
 * One POST to a token endpoint and its JSON answer, through the gate's Forwarder
 * (undici: no redirects followed, one deadline, a size cap on the answer).
 *
 * Every failure is AUTH_TOKEN_FAILED whose message holds only the endpoint's origin,
 * its HTTP status and, for an OAuth error answer, the error code when it is one of
 * RFC 6749's registered codes: never the body (which may echo what was sent: a
 * client secret, an assertion, a refresh token), never a token. The endpoint is
 * as hostile as any upstream: an answer that is not a JSON object, or whose token
 * could not be sent in an HTTP header, is refused.
 */
import type { Forwarder } from '../../gate/forward.js';
import { JaneeError } from '../../errors.js';
import type { Minted } from './cache.js';

/** What a token endpoint may answer at most. */
export const MAX_TOKEN_RESPONSE_BYTES = 64 * 1024;
export const TOKEN_TIMEOUT_MS = 30_000;
/** Longest access or refresh token accepted. */
const MAX_TOKEN_LENGTH = 16 * 1024;

export type TokenHttp = Pick<Forwarder, 'forward'>;

/** RFC 6749 5.2 and RFC 8693's registered error codes: safe to repeat (an enum, not content). */
const OAUTH_ERRORS = new Set([
  'invalid_request',
  'invalid_client',
  'invalid_grant',
  'unauthorized_client',
  'unsupported_grant_type',
  'invalid_scope',
  'invalid_target',
]);

export function tokenError(
  message: string,
  hint = 'check the credential with `janee set` and the auth settings in config.yaml',
): JaneeError {
  return new JaneeError('AUTH_TOKEN_FAILED', message, hint);
}

function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * POSTs `body` (a form, or nothing) to `url` and returns the parsed JSON object.
 * `okStatus`: the success statuses (GitHub answers 201).
 */
export async function postForToken(
  http: TokenHttp,
  url: string,
  opts: { headers: Record<string, string>; form?: URLSearchParams; okStatus?: number[]; timeoutMs?: number | undefined },
): Promise<Record<string, unknown>> {
  const origin = originOf(url);
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.form) headers['content-type'] = 'application/x-www-form-urlencoded';
  let res;
  try {
    res = await http.forward({
      url,
      method: 'POST',
      headers,
      body: opts.form ? opts.form.toString() : '',
      timeoutMs: opts.timeoutMs ?? TOKEN_TIMEOUT_MS,
      maxResponseBytes: MAX_TOKEN_RESPONSE_BYTES,
    });
  } catch (e) {
    if (e instanceof JaneeError) {
      // The forwarder's messages hold a fixed phrase, a code and the origin only.
      throw tokenError(
        `token endpoint ${origin}: ${e.message.replace(/^upstream \S+: /, '')}`,
        'the token endpoint may be down; try again later',
      );
    }
    throw tokenError(`token endpoint ${origin} could not be reached`, 'the token endpoint may be down; try again later');
  }
  const ok = opts.okStatus ?? [200];
  let json: unknown;
  try {
    json = res.truncated ? undefined : JSON.parse(Buffer.from(res.body).toString('utf8'));
  } catch {
    json = undefined;
  }
  const obj = typeof json === 'object' && json !== null && !Array.isArray(json) ? (json as Record<string, unknown>) : undefined;
  if (!ok.includes(res.status)) {
    const code = typeof obj?.error === 'string' && OAUTH_ERRORS.has(obj.error) ? ` (${obj.error})` : '';
    throw tokenError(`token endpoint ${origin} answered HTTP ${res.status}${code}`, hintFor(res.status, obj?.error));
  }
  if (!obj) throw tokenError(`token endpoint ${origin} answered HTTP ${res.status} with something that is not a JSON object`);
  return obj;
}

function hintFor(status: number, error: unknown): string {
  if (error === 'invalid_grant')
    return 'the refresh token or grant was revoked or expired: authorize again (`janee add NAME --auth oauth2 --authorize`) or store a new one with `janee set`';
  if (error === 'invalid_client' || status === 401)
    return 'the client credentials or key were refused: store the right ones with `janee set`';
  if (status >= 500) return 'the token endpoint failed; try again later';
  if (status >= 300 && status < 400) return 'the token endpoint redirects, which janee does not follow: configure its final URL';
  return 'check the credential with `janee set` and the auth settings in config.yaml';
}

/** A token value from an answer: a non-empty string that fits in an HTTP header. */
export function tokenField(obj: Record<string, unknown>, name: string, origin: string): string {
  const v = obj[name];
  if (typeof v !== 'string' || v === '') throw tokenError(`token endpoint ${origin} answered without ${name}`);
  if (v.length > MAX_TOKEN_LENGTH || /[^\u0021-\u007e]/.test(v))
    throw tokenError(`token endpoint ${origin} answered a ${name} that cannot be sent in an HTTP header`);
  return v;
}

/**
 * An OAuth 2 token answer (RFC 6749 5.1): access_token, token_type bearer (or absent),
 * expires_in in seconds (absent: unknown), and refresh_token when the server rotates it.
 */
export function oauthAnswer(obj: Record<string, unknown>, url: string, now: number): Minted & { refreshToken?: string } {
  const origin = originOf(url);
  const token = tokenField(obj, 'access_token', origin);
  const type = obj.token_type;
  if (type !== undefined && (typeof type !== 'string' || type.toLowerCase() !== 'bearer'))
    throw tokenError(
      `token endpoint ${origin} answered a token of a type other than bearer`,
      'janee sends minted tokens as bearer tokens only',
    );
  const expiresAt = expiry(obj.expires_in, now);
  const refresh = obj.refresh_token === undefined ? undefined : tokenField(obj, 'refresh_token', origin);
  return refresh === undefined ? { token, expiresAt } : { token, expiresAt, refreshToken: refresh };
}

function expiry(expiresIn: unknown, now: number): number | undefined {
  // Some servers send the number as a string.
  const n = typeof expiresIn === 'string' && /^\d{1,9}$/.test(expiresIn) ? Number(expiresIn) : expiresIn;
  return typeof n === 'number' && Number.isFinite(n) && n > 0 ? now + Math.min(n, 366 * 86400) * 1000 : undefined;
}

/** The origin the caller is about to send a credential to must be one the vault binds it to. */
export function assertBound(url: string, origins: readonly string[], service: string, what: string): void {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw tokenError(`${what} for ${service} is not a valid URL`, 'fix it in config.yaml');
  }
  if (u.protocol !== 'https:' && u.protocol !== 'http:')
    throw tokenError(`${what} for ${service} must be http or https`, 'fix it in config.yaml');
  if (!origins.includes(u.origin)) {
    throw new JaneeError(
      'GATE_ORIGIN_MISMATCH',
      `secret "${service}" is bound to ${origins.join(', ')}; its ${what} is at ${u.origin} — run janee bind ${service} ${u.origin} to allow it`,
      'the credential is only sent to origins bound in the vault; config.yaml alone cannot redirect it',
    );
  }
}
