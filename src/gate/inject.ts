/**
 * Credential injection: the only place that turns secret field values into what is
 * sent upstream, and the single source of truth for every form of them that must be
 * redacted on the way back (`secretVariants`).
 *
 * Field names (vault entry `fields`): `token` for bearer, header and query;
 * `username` + `password` for basic (the password may be empty, as Stripe-style
 * "key as username" basic auth does); for `headers` the fields its block names.
 * The signed and minted types are in src/auth (apply.ts calls this for the static ones).
 */
import { assertHeaderSafe, requireField as field } from '../auth/fields.js';
import { authFields, fileText } from '../auth/types.js';
import type { AuthSpec } from '../config/types.js';
import { JaneeError } from '../errors.js';

/** What to add to the outgoing request. */
interface Injected {
  /** Header name → value. Names are as sent (`authorization` for bearer/basic). */
  headers: Record<string, string>;
  /** Query parameters to set, replacing any agent-supplied parameter of the same name. */
  queryParams: [string, string][];
}

/** The header name a static auth sets, lower-case; undefined for query auth (and the several of `headers`). */
export function authHeaderName(auth: AuthSpec): string | undefined {
  switch (auth.type) {
    case 'header':
      return auth.name.toLowerCase();
    case 'query':
    case 'headers':
      return undefined;
    default:
      return 'authorization';
  }
}

export function injectCredential(auth: AuthSpec, fields: Readonly<Record<string, string>>, service = 'service'): Injected {
  switch (auth.type) {
    case 'bearer': {
      const token = field(fields, 'token', service);
      assertHeaderSafe(token, service, 'token');
      return { headers: { authorization: `Bearer ${token}` }, queryParams: [] };
    }
    case 'basic': {
      const username = field(fields, 'username', service);
      const password = field(fields, 'password', service, true);
      if (username.includes(':')) {
        throw new JaneeError(
          'GATE_NO_SECRET',
          `secret "${service}" has a username containing ":", which basic auth cannot carry`,
          `run janee add ${service} again with the correct username`,
        );
      }
      assertHeaderSafe(username, service, 'username');
      assertHeaderSafe(password, service, 'password');
      return { headers: { authorization: `Basic ${basicCredentials(username, password)}` }, queryParams: [] };
    }
    case 'header': {
      const token = field(fields, 'token', service);
      assertHeaderSafe(token, service, 'token');
      return { headers: { [auth.name.toLowerCase()]: token }, queryParams: [] };
    }
    case 'query': {
      const token = field(fields, 'token', service);
      return { headers: {}, queryParams: [[auth.param, token]] };
    }
    case 'headers': {
      const headers: Record<string, string> = {};
      for (const [name, f] of Object.entries(auth.headers)) {
        // Named by its header: a field name in config.yaml may be a secret pasted in the wrong place.
        if (!Object.hasOwn(fields, f) || fields[f] === '')
          throw new JaneeError(
            'GATE_NO_SECRET',
            `secret "${service}" has no value for header ${name}`,
            `run janee set ${service} to store it`,
          );
        const value = field(fields, f, service);
        assertHeaderSafe(value, service, f);
        headers[name.toLowerCase()] = value;
      }
      return { headers, queryParams: [] };
    }
    default:
      // The signed and minted types need the whole request: src/auth/apply.ts.
      throw new JaneeError('GATE_INTERNAL', `auth type ${auth.type} is not a static credential`);
  }
}

function basicCredentials(username: string, password: string): string {
  return Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
}

/**
 * Applies an injection to a request: removes every agent-supplied header with an
 * injected name (case-insensitively) and every query parameter with an injected
 * name, then adds the credential. `url` is the final upstream URL (baseUrl + the
 * normalised path + the agent's query).
 */
export function applyInjection(
  url: string,
  headers: Record<string, string>,
  inj: Injected,
): { url: string; headers: Record<string, string> } {
  const out: Record<string, string> = {};
  const injectedNames = new Set(Object.keys(inj.headers).map((n) => n.toLowerCase()));
  for (const [k, v] of Object.entries(headers)) {
    if (!injectedNames.has(k.toLowerCase())) out[k] = v;
  }
  Object.assign(out, inj.headers);
  if (inj.queryParams.length === 0) return { url, headers: out };
  const u = new URL(url);
  for (const [k] of inj.queryParams) u.searchParams.delete(k);
  for (const [k, v] of inj.queryParams) u.searchParams.append(k, v);
  return { url: u.toString(), headers: out };
}

// ---------------------------------------------------------------------------
// Redaction variants

/**
 * Field values shorter than this get no *encoded* variants (base64 of "ab" is
 * `YWI=`, which turns up in unrelated base64 data). Their raw value is always
 * redacted. Empty values (an empty basic password) are never a variant: an empty
 * string would match everywhere and hides nothing.
 */
const MIN_ENCODED_LENGTH = 4;
/**
 * Minimum length of an alignment-independent base64 core (see `base64Cores`).
 * Shorter cores are random-looking 4–7 character strings that would redact
 * innocent base64 text.
 */
const MIN_BASE64_CORE = 8;

/** Basic-auth user names shorter than this are not redacted on their own (see secretVariants). */
const MIN_SECRET_USERNAME = 8;

const toB64Url = (s: string): string => s.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/**
 * The base64 characters that encode `bytes` whatever its offset inside a larger
 * base64-encoded blob: for a prefix of k = 0, 1, 2 bytes, the characters that
 * depend only on `bytes` (the first and last 1–2 characters mix in neighbouring
 * bytes and are dropped). Finding any of the three cores finds the secret in any
 * base64 text, e.g. a password inside base64("user:password") or a token inside a
 * base64-encoded JSON document.
 */
function base64Cores(bytes: Buffer): string[] {
  const out: string[] = [];
  const n = bytes.length;
  for (let k = 0; k < 3; k++) {
    const padded = Buffer.concat([Buffer.alloc(k), bytes]);
    const b64 = padded.toString('base64');
    const start = Math.ceil((8 * k) / 6);
    const end = Math.floor((8 * (k + n)) / 6);
    const core = b64.slice(start, end);
    if (core.length >= MIN_BASE64_CORE) out.push(core);
  }
  return out;
}

/** application/x-www-form-urlencoded: space → '+', and URLSearchParams' escape set. */
function formEncode(v: string): string {
  return new URLSearchParams([['', v]]).toString().slice(1);
}

function pushEncodings(out: Set<string>, v: string): void {
  if (v === '') return;
  out.add(v);
  if (v.length < MIN_ENCODED_LENGTH) return;
  const bytes = Buffer.from(v, 'utf8');
  const b64 = bytes.toString('base64');
  out.add(b64);
  out.add(b64.replace(/=+$/, ''));
  out.add(toB64Url(b64));
  for (const core of base64Cores(bytes)) {
    out.add(core);
    out.add(toB64Url(core));
  }
  const uri = encodeURIComponent(v);
  out.add(uri);
  out.add(uri.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
  out.add(formEncode(v));
  out.add(encodeURI(v));
  const json = JSON.stringify(v).slice(1, -1);
  out.add(json);
  // JSON inside a JSON string (an API that returns a serialised request): escaped twice.
  out.add(JSON.stringify(json).slice(1, -1));
  out.add(json.replace(/\//g, '\\/')); // PHP and some Java encoders escape '/'
  // Fully \u-escaped non-ASCII (Python's json.dumps default, ensure_ascii).

  out.add(json.replace(/[^\u0000-\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
}

/**
 * Every string that must be redacted for this credential: each field value; for
 * values of 4+ characters also its base64 (padded, unpadded, base64url, and the
 * alignment-independent cores), URL-encoded (encodeURIComponent, lower-case hex,
 * form encoding with '+', encodeURI) and JSON-escaped forms; for basic the base64
 * of `user:pass` and `Basic <that>`; and the full injected header value.
 * Deduplicated; order is not significant (the Redactor sorts).
 */
export function secretVariants(auth: AuthSpec, fields: Record<string, string>): string[] {
  const out = new Set<string>();
  for (const [k, v] of Object.entries(fields)) {
    // A short basic-auth user name ("api", "admin") is an identifier, not a secret:
    // redacting it would blank ordinary words in every response. A long one may be
    // a key used as the user name (Stripe style) and is redacted.
    if (k === 'username' && auth.type === 'basic' && typeof v === 'string' && v.length < MIN_SECRET_USERNAME) continue;
    if (typeof v === 'string') pushEncodings(out, v);
  }
  if (auth.type === 'basic' && typeof fields.username === 'string') {
    const creds = basicCredentials(fields.username, fields.password ?? '');
    pushEncodings(out, creds); // also catches base64("Basic " + creds) at any alignment
    out.add(`Basic ${creds}`);
    pushEncodings(out, `${fields.username}:${fields.password ?? ''}`);
  } else if (auth.type === 'bearer' && typeof fields.token === 'string' && fields.token !== '') {
    out.add(`Bearer ${fields.token}`);
  }
  // A file field (PEM, JSON key) is stored base64: its text, each line of it, and each PEM
  // block's base64 body joined into one line (an echo wraps it anywhere) are secrets too.
  for (const spec of authFields(auth)) {
    const stored = fields[spec.name];
    if (spec.file === undefined || typeof stored !== 'string' || stored === '') continue;
    for (const form of fileForms(fileText(stored))) pushEncodings(out, form);
  }
  out.delete('');
  return [...out];
}

/**
 * Members of a Google service-account key that are public (Google's own URLs) or
 * identifiers: not sources for redaction, or every https://www.googleapis.com URL in
 * an API's answers, and the token endpoint in janee's own errors, would be blanked.
 * Any other member (private_key above all, and any unknown one) is.
 */
const PUBLIC_KEY_MEMBERS = new Set([
  'type',
  'project_id',
  'client_email',
  'client_id',
  'auth_uri',
  'token_uri',
  'auth_provider_x509_cert_url',
  'client_x509_cert_url',
  'universe_domain',
]);

/** The forms a file's secret text may come back in (see secretVariants). */
function fileForms(text: string): string[] {
  // A JSON key holds its PEM with "\n" escapes: its secret strings are the sources
  // (not the whole text, whose public members would be redacted with it).
  let strings: string[] = [text];
  try {
    const j: unknown = JSON.parse(text);
    if (j !== null && typeof j === 'object')
      strings = Object.entries(j).flatMap(([k, v]) => (typeof v === 'string' && v.length >= 16 && !PUBLIC_KEY_MEMBERS.has(k) ? [v] : []));
  } catch {
    // not JSON
  }
  const out: string[] = [];
  for (const s of strings) {
    out.push(s);
    for (const line of s.split(/\r?\n/)) if (line.trim().length >= 16 && !line.startsWith('-----')) out.push(line.trim());
    for (const m of s.matchAll(/-----BEGIN [^-]+-----([\s\S]*?)-----END [^-]+-----/g)) out.push((m[1] ?? '').replace(/\s+/g, ''));
  }
  return [...new Set(out)];
}
