/**
 * OAuth 1.0a request signing, HMAC-SHA1 (RFC 5849 §3.4), pure.
 *
 * Signed parameters: the oauth_* protocol parameters, the query's parameters and, for a
 * single-part application/x-www-form-urlencoded body, the body's (§3.4.1.3.1); a JSON
 * body is not signed (the RFC has no place for it). Checked against the RFC's own worked
 * examples in test/auth/oauth1a.test.ts.
 */
import { createHmac } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { formPairs } from './query.js';

/** RFC 5849 §3.6: unreserved characters kept, every other byte %XX upper-case. */
export function oauthEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface OAuth1aInput {
  method: string;
  /** `http(s)://host[:port]` as sent (a default port is dropped). */
  origin: string;
  /** The path as sent. */
  path: string;
  /** The query as sent, without `?`. */
  query: string;
  /** The body when it is form-encoded (its parameters are signed), else undefined. */
  formBody: string | undefined;
  consumerKey: string;
  consumerSecret: string;
  token?: string | undefined;
  tokenSecret?: string | undefined;
  nonce: string;
  timestamp: string;
  /** Send oauth_version=1.0 (optional in the RFC; Twitter and most APIs send it). */
  version: boolean;
  /** realm for the Authorization header (not signed). */
  realm?: string;
}

/** §3.4.1.2: scheme and host lower-case, default port dropped. */
function baseUri(origin: string, path: string): string {
  const u = new URL(origin);
  return `${u.protocol}//${u.host.toLowerCase()}${path === '' ? '/' : path}`;
}

export function protocolParams(input: OAuth1aInput): [string, string][] {
  const p: [string, string][] = [
    ['oauth_consumer_key', input.consumerKey],
    ['oauth_nonce', input.nonce],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', input.timestamp],
  ];
  if (input.token !== undefined) p.push(['oauth_token', input.token]);
  if (input.version) p.push(['oauth_version', '1.0']);
  return p;
}

/** §3.4.1: METHOD&enc(base URI)&enc(normalised parameters). */
export function signatureBaseString(input: OAuth1aInput, protocol: [string, string][]): string {
  const params: [string, string][] = [
    ...formPairs(input.query),
    ...(input.formBody !== undefined ? formPairs(input.formBody) : []),
    ...protocol,
  ];
  for (const [k] of [...formPairs(input.query), ...(input.formBody !== undefined ? formPairs(input.formBody) : [])]) {
    if (k.startsWith('oauth_')) {
      throw new JaneeError(
        'GATE_BAD_REQUEST',
        `parameter "${k.slice(0, 40)}" is reserved for the OAuth signature`,
        'remove oauth_* parameters; janee signs the request',
      );
    }
  }
  const encoded = params.map(([k, v]) => [oauthEncode(k), oauthEncode(v)] as const);
  encoded.sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  const normalised = encoded.map(([k, v]) => `${k}=${v}`).join('&');
  return [input.method.toUpperCase(), oauthEncode(baseUri(input.origin, input.path)), oauthEncode(normalised)].join('&');
}

export function oauth1aSignature(base: string, consumerSecret: string, tokenSecret: string | undefined): string {
  const key = `${oauthEncode(consumerSecret)}&${oauthEncode(tokenSecret ?? '')}`;
  return createHmac('sha1', key).update(base).digest('base64');
}

/** The Authorization header value. */
export function oauth1aAuthorization(input: OAuth1aInput): string {
  const protocol = protocolParams(input);
  const sig = oauth1aSignature(signatureBaseString(input, protocol), input.consumerSecret, input.tokenSecret);
  const all = [...protocol, ['oauth_signature', sig] as [string, string]];
  const realm = input.realm !== undefined ? [`realm="${input.realm.replace(/["\\]/g, '')}"`] : [];
  return `OAuth ${[...realm, ...all.map(([k, v]) => `${oauthEncode(k)}="${oauthEncode(v)}"`)].join(', ')}`;
}

export function isFormContentType(ct: string | undefined): boolean {
  return (ct ?? '').split(';')[0]?.trim().toLowerCase() === 'application/x-www-form-urlencoded';
}
