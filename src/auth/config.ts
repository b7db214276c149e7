/**
 * Validation of config.yaml `auth` blocks for every type (src/config/load.ts calls it).
 * Strict like the rest of the loader: unknown keys are errors, every message names the
 * field, and no message repeats a value that could be a secret (only names, types and
 * the fixed vocabularies are echoed).
 */
import { isScalar, isSeq, type Node, type YAMLMap } from 'yaml';
import { FIELD_NAME_RE } from '../vault/payload.js';
import { AUTH_TYPES, HMAC_PRESETS, type AuthSpec, type HmacTemplate } from './types.js';

/** What the loader's validator offers (see Validator in src/config/load.ts). */
export interface AuthValidator {
  fail(node: Node | null | undefined, field: string, message: string, hint?: string): never;
  map(node: unknown, field: string): YAMLMap;
  string(node: unknown, field: string): string;
  entries(map: YAMLMap, field: string, allowed: readonly string[]): Map<string, { key: Node; value: Node | null }>;
}

export const HEADER_NAME_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers that never carry a credential (routing, framing, cookies). */
export const NO_CREDENTIAL_HEADER_RE = /^(host|content-length|transfer-encoding|connection|cookie|content-type)$/i;
export const QUERY_PARAM_RE = /^[A-Za-z0-9_.~-]+$/;

/** Keys allowed in each type's block, besides `type`. */
export const AUTH_BLOCK_KEYS: Record<string, readonly string[]> = {
  headers: ['headers'],
  'aws-sigv4': ['region', 'service', 'payload'],
  hmac: ['preset', 'algorithm', 'encoding', 'timestamp', 'keyField', 'sign', 'headers', 'query'],
  oauth1a: [],
  oauth2: ['grant', 'tokenUrl', 'scopes', 'audience', 'clientAuth'],
  'github-app': ['appId', 'installationId'],
  'google-service-account': ['scopes', 'subject'],
};

/**
 * Validates the block of one of the types above (the four static ones stay in load.ts).
 * `fields` are the block's entries, already checked to be string keys.
 */
export function validateAuthBlock(
  v: AuthValidator,
  f: string,
  node: Node,
  type: string,
  fields: Map<string, { key: Node; value: Node | null }>,
): AuthSpec {
  const allowed = AUTH_BLOCK_KEYS[type];
  if (allowed === undefined)
    return v.fail(fields.get('type')?.value, `${f}.type`, `unknown auth type "${printable(type)}" (expected ${AUTH_TYPES.join(', ')})`);
  for (const [k, e] of fields) if (k !== 'type' && !allowed.includes(k)) v.fail(e.key, `${f}.${k}`, `not used by auth type ${type}`);
  const need = (k: string, example: string): Node => {
    const e = fields.get(k)?.value;
    if (!e) v.fail(node, f, `auth type ${type} needs ${k} (e.g. ${k}: ${example})`);
    return e;
  };
  const opt = (k: string): Node | undefined => fields.get(k)?.value ?? undefined;
  const oneOf = <T extends string>(k: string, n: Node, values: readonly T[]): T => {
    const s = v.string(n, `${f}.${k}`);
    if (!values.includes(s as T)) v.fail(n, `${f}.${k}`, `expected one of ${values.join(', ')}`);
    return s as T;
  };
  switch (type) {
    case 'headers': {
      const n = need('headers', '{ X-Api-Id: apiId, X-Api-Key: apiKey }');
      return { type, headers: headerMap(v, `${f}.headers`, n, false) };
    }
    case 'aws-sigv4': {
      const region = v.string(need('region', 'us-east-1'), `${f}.region`);
      if (!/^[a-z0-9-]{1,32}$/.test(region)) v.fail(opt('region'), `${f}.region`, 'expected an AWS region name like us-east-1');
      const service = v.string(need('service', 's3'), `${f}.service`);
      if (!/^[a-z0-9-]{1,64}$/.test(service))
        v.fail(opt('service'), `${f}.service`, 'expected an AWS signing name like s3, ses or execute-api');
      const p = opt('payload');
      const payload = p ? oneOf('payload', p, ['signed', 'unsigned'] as const) : undefined;
      if (payload === 'unsigned' && service !== 's3') v.fail(p, `${f}.payload`, 'only S3 accepts an unsigned payload');
      return payload ? { type, region, service, payload } : { type, region, service };
    }
    case 'hmac': {
      const p = opt('preset');
      if (p) {
        const preset = oneOf('preset', p, HMAC_PRESETS);
        for (const [k, e] of fields)
          if (k !== 'type' && k !== 'preset')
            v.fail(e.key, `${f}.${k}`, 'a preset fixes the whole template: write either preset or the template keys');
        return { type, preset };
      }
      return { type, ...hmacTemplateBlock(v, f, node, need, opt, oneOf) };
    }
    case 'oauth1a':
      return { type };
    case 'oauth2': {
      const grant = oneOf('grant', need('grant', 'client_credentials'), ['client_credentials', 'refresh_token'] as const);
      const urlNode = need('tokenUrl', 'https://auth.example.com/oauth/token');
      const tokenUrl = v.string(urlNode, `${f}.tokenUrl`);
      const problem = tokenUrlProblem(tokenUrl);
      if (problem) v.fail(urlNode, `${f}.tokenUrl`, problem);
      const out: AuthSpec = { type, grant, tokenUrl };
      const s = opt('scopes');
      if (s) out.scopes = scopes(v, `${f}.scopes`, s);
      const a = opt('audience');
      if (a) out.audience = v.string(a, `${f}.audience`);
      const c = opt('clientAuth');
      if (c) out.clientAuth = oneOf('clientAuth', c, ['basic', 'body'] as const);
      return out;
    }
    case 'github-app': {
      const id = (k: string) => {
        const n = need(k, '123456');
        const s = isScalar(n) && typeof n.value === 'number' ? String(n.value) : v.string(n, `${f}.${k}`);
        if (!/^[1-9][0-9]{0,19}$/.test(s)) v.fail(n, `${f}.${k}`, 'expected a number (the id GitHub shows)');
        return s;
      };
      return { type, appId: id('appId'), installationId: id('installationId') };
    }
    case 'google-service-account': {
      const out: AuthSpec = {
        type,
        scopes: scopes(v, `${f}.scopes`, need('scopes', '[https://www.googleapis.com/auth/calendar.readonly]')),
      };
      const s = opt('subject');
      if (s) out.subject = v.string(s, `${f}.subject`);
      return out;
    }
  }
  return v.fail(node, f, 'unreachable');
}

/** https, or http to a loopback host (tests, local identity providers). */
export function tokenUrlProblem(raw: string): string | undefined {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'expected an absolute URL';
  }
  if (u.username || u.password) return 'must not carry a user name or password';
  if (u.hash) return 'must not have a fragment';
  if (u.protocol === 'https:') return undefined;
  if (u.protocol === 'http:' && /^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$/.test(u.hostname)) return undefined;
  return 'must be an https URL (http only to a loopback address)';
}

function scopes(v: AuthValidator, f: string, n: Node): string[] {
  if (!isSeq(n) || n.items.length === 0) v.fail(n, f, 'expected a non-empty list of scopes');
  return n.items.map((item, i) => {
    const s = v.string(item, `${f}[${i}]`);
    if (/\s/.test(s)) v.fail(item as Node, `${f}[${i}]`, 'a scope has no spaces (list each one)');
    return s;
  });
}

function headerMap(v: AuthValidator, f: string, n: Node, sources: boolean): Record<string, string> {
  const m = v.map(n, f);
  if (m.items.length === 0) v.fail(n, f, 'expected at least one header');
  const out: Record<string, string> = {};
  const seen = new Set<string>();
  for (const pair of m.items) {
    const k = pair.key as Node;
    if (!isScalar(k) || typeof k.value !== 'string' || !HEADER_NAME_RE.test(k.value)) v.fail(k, f, 'keys must be valid HTTP header names');
    const name = k.value;
    if (NO_CREDENTIAL_HEADER_RE.test(name)) v.fail(k, `${f}.${name}`, `${name} cannot carry a credential`);
    if (seen.has(name.toLowerCase())) v.fail(k, `${f}.${name}`, 'the same header is named twice (header names ignore case)');
    seen.add(name.toLowerCase());
    const value = pair.value as Node;
    out[name] = sources ? source(v, `${f}.${name}`, value) : fieldName(v, `${f}.${name}`, value);
  }
  return out;
}

function fieldName(v: AuthValidator, f: string, n: Node): string {
  const s = v.string(n, f);
  if (!FIELD_NAME_RE.test(s)) v.fail(n, f, 'expected a vault field name (a letter, then letters, digits, "_" or "-")');
  return s;
}

const SOURCE_RE = /^(timestamp|signature|field:[A-Za-z][A-Za-z0-9_-]{0,63}|literal:[\x20-\x7e]{1,200})$/;
const PART_RE = /^(timestamp|method|path|query|pathquery|body|queryorbody|field:[A-Za-z][A-Za-z0-9_-]{0,63}|literal:[\x20-\x7e]{1,200})$/;

function source(v: AuthValidator, f: string, n: Node): string {
  const s = v.string(n, f);
  if (!SOURCE_RE.test(s)) v.fail(n, f, 'expected timestamp, signature, field:NAME or literal:TEXT');
  return s;
}

function hmacTemplateBlock(
  v: AuthValidator,
  f: string,
  node: Node,
  need: (k: string, example: string) => Node,
  opt: (k: string) => Node | undefined,
  oneOf: <T extends string>(k: string, n: Node, values: readonly T[]) => T,
): HmacTemplate {
  const algorithm = oneOf('algorithm', need('algorithm', 'sha256 (or write preset: bybit | okx | mexc)'), ['sha256', 'sha512'] as const);
  const encoding = oneOf('encoding', need('encoding', 'hex'), ['hex', 'base64'] as const);
  const timestamp = oneOf('timestamp', need('timestamp', 'ms'), ['ms', 's', 'iso'] as const);
  const keyField = fieldName(v, `${f}.keyField`, need('keyField', 'apiSecret'));
  const signNode = need('sign', '[timestamp, method, path, body]');
  if (!isSeq(signNode) || signNode.items.length === 0) v.fail(signNode, `${f}.sign`, 'expected a non-empty list of parts');
  const sign = signNode.items.map((item, i) => {
    const s = v.string(item, `${f}.sign[${i}]`);
    if (!PART_RE.test(s))
      v.fail(
        item as Node,
        `${f}.sign[${i}]`,
        'expected timestamp, method, path, query, pathquery, body, queryorbody, field:NAME or literal:TEXT',
      );
    return s;
  });
  const headers = headerMap(v, `${f}.headers`, need('headers', '{ X-Api-Key: field:apiKey, X-Sign: signature }'), true);
  const t: HmacTemplate = { algorithm, encoding, timestamp, keyField, sign, headers };
  const q = opt('query');
  if (q) {
    const m = v.map(q, `${f}.query`);
    const query: Record<string, string> = {};
    for (const pair of m.items) {
      const k = pair.key as Node;
      if (!isScalar(k) || typeof k.value !== 'string' || !QUERY_PARAM_RE.test(k.value))
        v.fail(k, `${f}.query`, 'keys are query parameter names (letters, digits, "_", ".", "~" or "-")');
      query[k.value] = source(v, `${f}.query.${k.value}`, pair.value as Node);
    }
    t.query = query;
  }
  const signatures = [...Object.values(headers), ...Object.values(t.query ?? {})].filter((s) => s === 'signature').length;
  if (signatures !== 1) v.fail(node, f, `the signature must go in exactly one header or query parameter (found ${signatures})`);
  if (sign.every((p) => !['timestamp', 'method', 'path', 'query', 'pathquery', 'body', 'queryorbody'].includes(p)))
    v.fail(signNode, `${f}.sign`, 'sign nothing of the request? add at least timestamp, path, query or body');
  return t;
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 40);
}
