/**
 * Auth types: the config.yaml `auth` block of every type (as written there, so the
 * in-memory form is also what `janee add` writes), the vault fields each one needs,
 * and the interface between the gate and the code that turns fields into what is
 * sent upstream (src/auth/apply.ts).
 *
 * Field names are vault entry field names. Every field value is a secret for
 * redaction (secretVariants), whatever `secret` says here: `secret` only says
 * whether the CLI asks for it without echo. A `file` field is read from a file
 * (`janee add … --field-file NAME=PATH`) and stored base64-encoded (vault values
 * are one line); `fileText` decodes it.
 */

/** Static shapes: a value from the vault put in a header or a query parameter. */
export type StaticAuth =
  | { type: 'bearer' }
  | { type: 'basic' }
  | { type: 'header'; name: string }
  | { type: 'query'; param: string }
  /** Several static headers: header name (as written) → vault field name. */
  | { type: 'headers'; headers: Record<string, string> };

/** AWS Signature Version 4. `service` is the signing name (s3, ses, execute-api…). */
export interface AwsSigV4Auth {
  type: 'aws-sigv4';
  region: string;
  service: string;
  /** `unsigned`: x-amz-content-sha256 is UNSIGNED-PAYLOAD (S3 only). Default signed. */
  payload?: 'signed' | 'unsigned';
}

export const HMAC_PRESETS = ['bybit', 'okx', 'mexc'] as const;
export type HmacPreset = (typeof HMAC_PRESETS)[number];

/**
 * A part of the signed string, concatenated in order with no separator:
 * `timestamp`, `method`, `path` (as sent, percent-encoded), `query` (as sent, no `?`,
 * after the template's own query parameters are added), `pathquery` (path, then `?query`
 * when there is one), `body` (the bytes sent, as UTF-8), `queryorbody` (the body when
 * the request has one, else the query: Bybit), `field:NAME` (a vault field),
 * `literal:TEXT`.
 */
export type HmacPart = string;
/** Where a header or query value comes from: `timestamp`, `signature`, `field:NAME` or `literal:TEXT`. */
export type HmacValue = string;

export interface HmacTemplate {
  algorithm: 'sha256' | 'sha512';
  encoding: 'hex' | 'base64';
  /** Timestamp format: milliseconds, seconds (Unix), or ISO 8601 UTC with milliseconds. */
  timestamp: 'ms' | 's' | 'iso';
  /** The vault field holding the HMAC key. */
  keyField: string;
  sign: HmacPart[];
  /** Header name → value source. */
  headers: Record<string, HmacValue>;
  /** Query parameter → value source; all but `signature` are added before signing, in this order. */
  query?: Record<string, HmacValue>;
}

/** Exchange-style HMAC: a preset, or a whole template written out. */
export type HmacAuth = { type: 'hmac'; preset: HmacPreset } | ({ type: 'hmac'; preset?: undefined } & HmacTemplate);

/** OAuth 1.0a, HMAC-SHA1 (RFC 5849). */
export interface OAuth1aAuth {
  type: 'oauth1a';
}

/** OAuth 2 with a token endpoint (minted: see TokenProvider). */
export interface OAuth2Auth {
  type: 'oauth2';
  grant: 'client_credentials' | 'refresh_token';
  /** Absolute https URL (http only on loopback). */
  tokenUrl: string;
  scopes?: string[];
  audience?: string;
  /** How the client authenticates to the token endpoint. Default basic. */
  clientAuth?: 'basic' | 'body';
}

/** GitHub App installation tokens (minted). The token endpoint is on the service's origin. */
export interface GitHubAppAuth {
  type: 'github-app';
  appId: string;
  installationId: string;
}

/** Google service account: JSON key → JWT assertion → access token at the key's token_uri (minted). */
export interface GoogleServiceAccountAuth {
  type: 'google-service-account';
  scopes: string[];
  /** Domain-wide delegation: the user to act as. */
  subject?: string;
}

export type SignedAuth = AwsSigV4Auth | HmacAuth | OAuth1aAuth;
export type MintedAuth = OAuth2Auth | GitHubAppAuth | GoogleServiceAccountAuth;
export type AuthSpec = StaticAuth | SignedAuth | MintedAuth;
export type AuthType = AuthSpec['type'];

export const AUTH_TYPES: readonly AuthType[] = [
  'bearer',
  'basic',
  'header',
  'query',
  'headers',
  'aws-sigv4',
  'hmac',
  'oauth1a',
  'oauth2',
  'github-app',
  'google-service-account',
];
/** What `janee add --auth NAME` takes by name alone (the others need a block: docs/auth.md). */
export const AUTH_FLAG_NAMES: readonly string[] = ['bearer', 'basic', 'header', 'query', 'oauth1a', 'hmac-bybit', 'hmac-okx', 'hmac-mexc'];
export const MINTED_TYPES: readonly AuthType[] = ['oauth2', 'github-app', 'google-service-account'];

export function isMinted(auth: AuthSpec): auth is MintedAuth {
  return MINTED_TYPES.includes(auth.type);
}

// ---------------------------------------------------------------------------
// The gate ↔ auth interface

/** The request as it will be sent, before auth: every byte the signers see. */
export interface AuthRequest {
  /** Upper-case. */
  method: string;
  /** `https://host[:port]` */
  origin: string;
  /** The full path as sent (baseUrl's path + the agent's), percent-encoded, no query. */
  path: string;
  /** The query as sent, without `?`; '' for none. */
  query: string;
  /** Lower-case names: the agent's (sanitised, owned names already removed) and content-type. */
  headers: Record<string, string>;
  /** Exactly the bytes that are sent; undefined for no body. */
  body: Uint8Array | undefined;
}

/** What the gate tells a TokenProvider besides the spec and fields. */
export interface TokenOptions {
  /** The service's baseUrl (a GitHub App's token endpoint is under it). */
  baseUrl: string;
  /** Origins the vault entry is bound to: a credential is sent to no other. */
  origins: readonly string[];
  /** Mint a new token even if one is cached (the retry after a 401)… */
  force?: boolean;
  /** …when the upstream refused this one: a token minted since is used instead (calls refused together share one mint). */
  rejected?: string | undefined;
}

/** Mints and caches short-lived tokens (oauth2, github-app, google-service-account). */
export interface TokenProvider {
  /**
   * A valid access token for `service`.
   * Errors are JaneeErrors with safe messages (AUTH_TOKEN_FAILED: the endpoint's status, no body).
   */
  token(service: string, spec: MintedAuth, fields: Readonly<Record<string, string>>, opts: TokenOptions): Promise<string>;
  /** Forget every token (lock). */
  clear?(): void;
}

export interface AuthContext {
  service: string;
  /** Milliseconds since the epoch (injectable for vectors). */
  now(): number;
  /** `n` random bytes (nonces). */
  random(n: number): Uint8Array;
  /** Needed only by the minted types. */
  tokens?: TokenProvider | undefined;
  /** Re-mint instead of using a cached token (the retry after a 401). */
  force?: boolean;
  /** The token the upstream refused with that 401. */
  rejected?: string | undefined;
  /** The service's baseUrl and its entry's bound origins (minted types). */
  binding?: { baseUrl: string; origins: readonly string[] } | undefined;
}

/** What apply adds to the request. */
export interface Applied {
  /** Lower-case name → value; replaces any header of that name. */
  headers: Record<string, string>;
  /** The whole new query string (no `?`) when the auth changed it; it was signed as is. */
  query?: string;
  /** Values made for this call that must be redacted like stored secrets (minted tokens). */
  secrets?: string[];
}

/** The header and query names an auth type sets: the agent may not send them. */
export interface Owned {
  /** Lower-case header names, dropped from what the agent sends (and audited). */
  headers: string[];
  /** Lower-case header-name prefixes, likewise (`x-amz-`). */
  headerPrefixes: string[];
  /** Query parameter names the agent may not send (the call is refused). */
  query: string[];
  /** Query parameter name prefixes, likewise (`oauth_`, `X-Amz-`), compared case-insensitively. */
  queryPrefixes: string[];
}

// ---------------------------------------------------------------------------
// Field tables

export interface FieldSpec {
  name: string;
  /** What to type or paste, for prompts and docs. */
  label: string;
  /** Asked for without echo. (Every field is redacted whatever this says.) */
  secret: boolean;
  optional?: boolean;
  /** Read from a file, stored base64: `pem` a PEM private key, `json` a JSON document. */
  file?: 'pem' | 'json';
}

const f = (name: string, label: string, more: Partial<FieldSpec> = {}): FieldSpec => ({ name, label, secret: true, ...more });

/** The vault fields of `auth`, in the order they are asked for. */
export function authFields(auth: AuthSpec): FieldSpec[] {
  switch (auth.type) {
    case 'bearer':
    case 'header':
    case 'query':
      return [f('token', 'the key or token')];
    case 'basic':
      return [f('username', 'user name', { secret: false }), f('password', 'password')];
    case 'headers':
      return [...new Set(Object.values(auth.headers))].map((n) => f(n, `value of ${headerFor(auth.headers, n)}`));
    case 'aws-sigv4':
      return [
        f('accessKeyId', 'access key id (AKIA… or ASIA…)', { secret: false }),
        f('secretAccessKey', 'secret access key'),
        f('sessionToken', 'session token (temporary credentials only; empty for none)', { optional: true }),
      ];
    case 'hmac':
      return hmacFieldNames(auth).map((n) => f(n, n === hmacKeyField(auth) ? 'API secret (the HMAC key)' : n));
    case 'oauth1a':
      return [
        f('consumerKey', 'consumer key (API key)', { secret: false }),
        f('consumerSecret', 'consumer secret (API key secret)'),
        f('accessToken', 'access token', { secret: false }),
        f('accessTokenSecret', 'access token secret'),
      ];
    case 'oauth2':
      return [
        f('clientId', 'client id', { secret: false }),
        f('clientSecret', 'client secret', auth.grant === 'refresh_token' ? { optional: true } : {}),
        ...(auth.grant === 'refresh_token' ? [f('refreshToken', 'refresh token')] : []),
      ];
    case 'github-app':
      return [f('privateKey', 'the app private key (.pem file)', { file: 'pem' })];
    case 'google-service-account':
      return [f('credentials', 'the service account key (.json file)', { file: 'json' })];
  }
}

function headerFor(headers: Record<string, string>, field: string): string {
  return Object.entries(headers)
    .filter(([, v]) => v === field)
    .map(([k]) => k)
    .join(', ');
}

// The presets, written as templates (checked against each exchange's documentation in
// test/auth/hmac.test.ts).
export const HMAC_PRESET_TEMPLATES: Record<HmacPreset, HmacTemplate> = {
  // https://bybit-exchange.github.io/docs/v5/guide#create-a-request
  bybit: {
    algorithm: 'sha256',
    encoding: 'hex',
    timestamp: 'ms',
    keyField: 'apiSecret',
    sign: ['timestamp', 'field:apiKey', 'literal:5000', 'queryorbody'],
    headers: {
      'X-BAPI-API-KEY': 'field:apiKey',
      'X-BAPI-TIMESTAMP': 'timestamp',
      'X-BAPI-RECV-WINDOW': 'literal:5000',
      'X-BAPI-SIGN': 'signature',
    },
  },
  // https://www.okx.com/docs-v5/en/#overview-rest-authentication-making-requests
  okx: {
    algorithm: 'sha256',
    encoding: 'base64',
    timestamp: 'iso',
    keyField: 'apiSecret',
    sign: ['timestamp', 'method', 'pathquery', 'body'],
    headers: {
      'OK-ACCESS-KEY': 'field:apiKey',
      'OK-ACCESS-SIGN': 'signature',
      'OK-ACCESS-TIMESTAMP': 'timestamp',
      'OK-ACCESS-PASSPHRASE': 'field:passphrase',
    },
  },
  // https://mexcdevelop.github.io/apidocs/spot_v3_en/#signed
  mexc: {
    algorithm: 'sha256',
    encoding: 'hex',
    timestamp: 'ms',
    keyField: 'apiSecret',
    sign: ['query', 'body'],
    headers: { 'X-MEXC-APIKEY': 'field:apiKey' },
    query: { timestamp: 'timestamp', signature: 'signature' },
  },
};

export function hmacTemplate(auth: HmacAuth): HmacTemplate {
  if (auth.preset !== undefined) return HMAC_PRESET_TEMPLATES[auth.preset];
  const { type: _t, preset: _p, ...t } = auth;
  return t;
}

function hmacKeyField(auth: HmacAuth): string {
  return hmacTemplate(auth).keyField;
}

/** Vault fields an hmac auth uses: a preset's in its exchange's order (key, secret, passphrase); a template's `field:` references in order of appearance, then the key field. */
const PRESET_FIELDS: Record<HmacPreset, string[]> = {
  bybit: ['apiKey', 'apiSecret'],
  okx: ['apiKey', 'apiSecret', 'passphrase'],
  mexc: ['apiKey', 'apiSecret'],
};

export function hmacFieldNames(auth: HmacAuth): string[] {
  if (auth.preset !== undefined) return PRESET_FIELDS[auth.preset];
  const t = hmacTemplate(auth);
  const names: string[] = [];
  const see = (src: string) => {
    if (src.startsWith('field:')) names.push(src.slice(6));
  };
  for (const v of Object.values(t.headers)) see(v);
  for (const v of Object.values(t.query ?? {})) see(v);
  for (const p of t.sign) see(p);
  names.push(t.keyField);
  return [...new Set(names)];
}

/** Decodes a `file` field's stored value (base64 of the file). */
export function fileText(stored: string): string {
  return Buffer.from(stored, 'base64').toString('utf8');
}
