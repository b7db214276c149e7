/**
 * Reading a Janee 0.x home (pure apart from the caller's file reads).
 *
 * What is accepted (field-name variants in brackets):
 * - config.yaml: `services: { NAME: { baseUrl [base_url, url], auth: { type, key?, … } } }`,
 *   `capabilities: { NAME: { service, ttl, rules: { allow: ["METHOD PATH"…], deny: […] }, … } }`,
 *   optionally top-level `masterKey` [master_key] (0.x kept it there and encrypted auth
 *   values inline), `server: { defaultAccess, strictDecryption }`, `version`, `llm`.
 * - credentials.json: `{ "masterKey" [master_key, key]: "<base64 32 bytes>",
 *   "credentials" [secrets]: { SERVICE: "<base64(iv(12) ‖ tag(16) ‖ ciphertext)>" } }`;
 *   a value may also be `{ "iv", "tag" [authTag], "ciphertext" [data] }`, each base64.
 * Every value is AES-256-GCM under the master key. Anything else is a clear error.
 * 0.x auth types: bearer (key), headers (one header → janee `header`; `Authorization:
 * Bearer …` → `bearer`), and the variants basic (username+password), header (name+key),
 * query (param+key). Request-signing types (hmac-*, service-account, github-app) and
 * several headers cannot be expressed in janee 1: those services are skipped and reported.
 */
import { createDecipheriv } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { SERVICE_NAME, type ParsedConfigFile } from '../config/load.js';
import type { AuthSpec } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { ENTRY_NAME_RE, isValidFieldValue } from '../vault/payload.js';
import { capabilitiesToPolicies, type LegacyCapability, type Policy } from './rules.js';

export interface PlannedService {
  name: string;
  baseUrl: string;
  auth: AuthSpec;
  policies: Policy[] | undefined;
  origin: string;
  /** The secret's fields (plaintext, in memory only). */
  fields: Record<string, string>;
}

export interface LegacyPlan {
  services: PlannedService[];
  skipped: { name: string; reason: string }[];
  /** Per service, what the policy conversion could not say exactly. */
  notes: { service: string; note: string }[];
  /** Where the plaintext master key was found. */
  masterKeyIn: 'credentials.json' | 'config.yaml' | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function pick(o: Record<string, unknown>, names: string[]): unknown {
  for (const n of names) if (o[n] !== undefined) return o[n];
  return undefined;
}

function bad(file: string, message: string): JaneeError {
  return new JaneeError('MIGRATE_BAD_LEGACY', `${file}: ${message}`, 'this does not look like a Janee 0.x home; see docs/dotfiles.md (janee migrate) for the files migrate reads');
}

function b64(text: string): Buffer | undefined {
  const t = text.trim();
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) return undefined;
  return Buffer.from(t.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

export function parseMasterKey(value: unknown, file: string): Buffer {
  if (typeof value !== 'string') throw bad(file, 'masterKey must be a base64 string');
  const key = b64(value);
  if (!key || key.length !== 32) throw bad(file, 'masterKey must be 32 bytes, base64-encoded');
  return key;
}

/** AES-256-GCM, stored as base64(iv(12) ‖ tag(16) ‖ ciphertext) or { iv, tag, ciphertext }. */
export function decryptLegacyValue(stored: unknown, masterKey: Uint8Array): string {
  let iv: Buffer | undefined;
  let tag: Buffer | undefined;
  let ct: Buffer | undefined;
  if (typeof stored === 'string') {
    const raw = b64(stored);
    if (!raw || raw.length < 12 + 16) throw new Error('not base64(iv ‖ tag ‖ ciphertext)');
    iv = raw.subarray(0, 12);
    tag = raw.subarray(12, 28);
    ct = raw.subarray(28);
  } else if (isObj(stored)) {
    const get = (names: string[]) => {
      const v = pick(stored, names);
      return typeof v === 'string' ? b64(v) : undefined;
    };
    iv = get(['iv', 'nonce']);
    tag = get(['tag', 'authTag', 'auth_tag']);
    ct = get(['ciphertext', 'data', 'value', 'encrypted']);
    if (!iv || !tag || !ct) throw new Error('expected { iv, tag, ciphertext }');
  } else throw new Error('expected a string');
  if (tag.length !== 16) throw new Error('bad tag length');
  const d = createDecipheriv('aes-256-gcm', masterKey, iv);
  d.setAuthTag(tag);
  let plain: Buffer;
  try {
    plain = Buffer.concat([d.update(ct), d.final()]);
  } catch {
    throw new Error('does not decrypt under the master key (wrong key or damaged)');
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain);
  } catch {
    throw new Error('decrypts to something that is not text');
  } finally {
    plain.fill(0);
  }
}

export interface LegacyInput {
  /** config.yaml as plain data (doc.toJS()), and its path for messages. */
  config: unknown;
  configFile: string;
  /** credentials.json parsed, if present. */
  credentials?: unknown;
  credentialsFile?: string;
}

/** True if this config.yaml content looks like Janee 0.x rather than janee 1. */
export function looksLegacy(config: unknown): boolean {
  return isObj(config) && (config['capabilities'] !== undefined || config['masterKey'] !== undefined || config['master_key'] !== undefined || config['server'] !== undefined || config['llm'] !== undefined);
}

export function planLegacy(input: LegacyInput): LegacyPlan {
  const cfg = input.config;
  if (!isObj(cfg)) throw bad(input.configFile, 'expected a mapping at the top level');
  const creds = input.credentials;
  const credFile = input.credentialsFile ?? 'credentials.json';
  if (creds !== undefined && !isObj(creds)) throw bad(credFile, 'expected a JSON object');

  let masterKey: Buffer | undefined;
  let masterKeyIn: LegacyPlan['masterKeyIn'];
  const credKey = creds && pick(creds, ['masterKey', 'master_key', 'key']);
  const cfgKey = pick(cfg, ['masterKey', 'master_key']);
  if (credKey !== undefined) {
    masterKey = parseMasterKey(credKey, credFile);
    masterKeyIn = 'credentials.json';
  } else if (cfgKey !== undefined) {
    masterKey = parseMasterKey(cfgKey, input.configFile);
    masterKeyIn = 'config.yaml';
  }
  const stored = creds ? pick(creds, ['credentials', 'secrets', 'values']) : undefined;
  if (stored !== undefined && !isObj(stored)) throw bad(credFile, '"credentials" must be an object keyed by service name');
  if (stored && Object.keys(stored).length > 0 && !masterKey) throw bad(credFile, 'no masterKey to decrypt the credentials with');

  const server = isObj(cfg['server']) ? cfg['server'] : {};
  const strict = server['strictDecryption'] !== false;
  const defaultDeny = server['defaultAccess'] === 'restricted';

  const servicesRaw = cfg['services'] ?? {};
  if (!isObj(servicesRaw)) throw bad(input.configFile, 'services must be a mapping');
  const capsRaw = cfg['capabilities'] ?? {};
  if (!isObj(capsRaw)) throw bad(input.configFile, 'capabilities must be a mapping');
  const caps: LegacyCapability[] = [];
  for (const [name, c] of Object.entries(capsRaw)) {
    if (!isObj(c) || typeof c['service'] !== 'string') throw bad(input.configFile, `capabilities.${name}: expected { service, rules, … }`);
    caps.push({ ...c, name, service: c['service'] } as LegacyCapability);
  }

  const plan: LegacyPlan = { services: [], skipped: [], notes: [], masterKeyIn };
  const skip = (name: string, reason: string) => plan.skipped.push({ name, reason });
  for (const c of caps) if (!Object.hasOwn(servicesRaw, c.service)) plan.notes.push({ service: c.service, note: `capability ${c.name} names a service that does not exist; ignored` });

  for (const [name, s] of Object.entries(servicesRaw)) {
    if (!SERVICE_NAME.test(name) || !ENTRY_NAME_RE.test(name)) {
      skip(name.replace(/[^\x20-\x7e]/g, '?').slice(0, 64), 'the name is not a valid janee service name (letters, digits, "_", "." or "-")');
      continue;
    }
    if (!isObj(s)) {
      skip(name, 'not a mapping');
      continue;
    }
    const rawUrl = pick(s, ['baseUrl', 'base_url', 'url']);
    if (typeof rawUrl !== 'string') {
      skip(name, 'no baseUrl');
      continue;
    }
    let baseUrl: string;
    let origin: string;
    try {
      ({ baseUrl, origin } = parseBaseUrl(rawUrl));
    } catch (e) {
      skip(name, `baseUrl: ${e instanceof JaneeError ? e.message : 'invalid'}`);
      continue;
    }
    const auth = isObj(s['auth']) ? s['auth'] : {};
    const open = (value: unknown, what: string, inline: boolean): string => {
      if (!masterKey) {
        if (inline && typeof value === 'string') return value; // no master key at all: a plaintext 0.x value
        throw new Error(`${what}: no master key to decrypt it`);
      }
      try {
        return decryptLegacyValue(value, masterKey);
      } catch (e) {
        if (inline && !strict && typeof value === 'string') return value; // 0.x strictDecryption: false kept plaintext
        throw new Error(`${what}: ${(e as Error).message}`);
      }
    };
    try {
      const fromCreds = stored && Object.hasOwn(stored, name) ? open(stored[name], 'credentials.json value', false) : undefined;
      const converted = convertAuth(auth, fromCreds, (v, what) => open(v, what, true));
      if ('skip' in converted) {
        skip(name, converted.skip);
        continue;
      }
      for (const v of Object.values(converted.fields)) {
        if (!isValidFieldValue(v)) throw new Error('the secret is empty or contains a control character');
      }
      const mine = caps.filter((c) => c.service === name);
      const pol = capabilitiesToPolicies(name, mine, { defaultDeny });
      for (const note of pol.notes) plan.notes.push({ service: name, note });
      plan.services.push({ name, baseUrl, auth: converted.auth, policies: pol.policies, origin, fields: converted.fields });
    } catch (e) {
      skip(name, (e as Error).message);
    }
  }
  masterKey?.fill(0);
  return plan;
}

type Converted = { auth: AuthSpec; fields: Record<string, string> } | { skip: string };

function convertAuth(auth: Record<string, unknown>, fromCreds: string | undefined, open: (v: unknown, what: string) => string): Converted {
  const type = typeof auth['type'] === 'string' ? auth['type'] : 'bearer';
  const secret = (names: string[], what: string): string | undefined => {
    if (fromCreds !== undefined) return fromCreds;
    const v = pick(auth, names);
    return v === undefined ? undefined : open(v, what);
  };
  const none: Converted = { skip: 'no secret found for it (neither in credentials.json nor in config.yaml)' };
  switch (type) {
    case 'bearer': {
      const token = secret(['key', 'token', 'apiKey', 'api_key', 'value', 'secret'], 'auth.key');
      return token === undefined ? none : { auth: { type: 'bearer' }, fields: { token } };
    }
    case 'basic': {
      const username = typeof auth['username'] === 'string' ? auth['username'] : undefined;
      const password = secret(['password', 'key', 'secret'], 'auth.password');
      if (!username) return { skip: 'auth type basic without a username' };
      return password === undefined ? none : { auth: { type: 'basic' }, fields: { username, password } };
    }
    case 'header':
    case 'query': {
      const label = type === 'header' ? 'name' : 'param';
      const n = pick(auth, type === 'header' ? ['name', 'header', 'headerName'] : ['param', 'name', 'paramName']);
      if (typeof n !== 'string') return { skip: `auth type ${type} without a ${label}` };
      const token = secret(['key', 'token', 'value', 'secret', 'apiKey'], 'auth.key');
      if (token === undefined) return none;
      return type === 'header' ? { auth: { type: 'header', name: n }, fields: { token } } : { auth: { type: 'query', param: n }, fields: { token } };
    }
    case 'headers': {
      const headers = auth['headers'];
      if (fromCreds !== undefined && !isObj(headers)) return { skip: 'auth type headers without a headers map' };
      if (!isObj(headers) || Object.keys(headers).length === 0) return { skip: 'auth type headers without headers' };
      const names = Object.keys(headers);
      if (names.length > 1) return { skip: `${names.length} auth headers (${names.join(', ')}): janee 1 sends one credential per service` };
      const header = names[0] as string;
      const value = fromCreds ?? open(headers[header], `auth.headers.${header}`);
      const m = /^bearer\s+(\S.*)$/i.exec(value);
      if (header.toLowerCase() === 'authorization' && m) return { auth: { type: 'bearer' }, fields: { token: m[1] as string } };
      return { auth: { type: 'header', name: header }, fields: { token: value } };
    }
    default:
      return { skip: `auth type ${String(type).replace(/[^\x20-\x7e]/g, '?').slice(0, 40)} (request signing or app credentials) is not supported by janee 1` };
  }
}

// ---------------------------------------------------------------------------
// Rewriting a 0.x config.yaml in place (when migrating the home janee now uses)

const SERVICE_KEYS = new Set(['baseUrl', 'auth', 'policies', 'rateLimit', 'maxResponseBytes', 'timeoutMs', 'description']);
const TOP_KEYS = new Set(['services', 'vault']);

interface Collection {
  flow?: boolean;
  items?: unknown[];
}

/** Makes a janee 1 config of the 0.x document: comments on what stays are kept. */
export function rewriteLegacyConfig(doc: ParsedConfigFile['doc'], plan: LegacyPlan): void {
  const js = doc.toJS() as Record<string, unknown>;
  // A comment above the first key belongs to it: keep it when that key goes.
  const first = (doc.contents as { items?: { key?: { value?: unknown; commentBefore?: string | null } }[] } | null)?.items?.[0]?.key;
  if (first?.commentBefore && typeof first.value === 'string' && !TOP_KEYS.has(first.value)) {
    doc.commentBefore = doc.commentBefore ? `${doc.commentBefore}\n${first.commentBefore}` : first.commentBefore;
  }
  for (const k of Object.keys(isObj(js) ? js : {})) if (!TOP_KEYS.has(k)) doc.delete(k);
  const services = isObj(js['services']) ? js['services'] : {};
  const planned = new Map(plan.services.map((s) => [s.name, s]));
  for (const [name, svc] of Object.entries(services)) {
    const p = planned.get(name);
    if (!p) {
      doc.deleteIn(['services', name]);
      continue;
    }
    for (const k of Object.keys(isObj(svc) ? svc : {})) if (!SERVICE_KEYS.has(k)) doc.deleteIn(['services', name, k]);
    doc.setIn(['services', name, 'baseUrl'], p.baseUrl);
    const auth = doc.createNode({ ...p.auth }) as unknown as Collection;
    auth.flow = true;
    doc.setIn(['services', name, 'auth'], auth);
    if (p.policies === undefined) doc.deleteIn(['services', name, 'policies']);
    else doc.setIn(['services', name, 'policies'], policiesNode(doc, p.policies));
  }
  if (plan.services.length === 0) doc.set('services', null);
}

export function policiesNode(doc: ParsedConfigFile['doc'], policies: Policy[]): unknown {
  const seq = doc.createNode(policies.map((p) => (p.deny ? { path: p.path, methods: p.methods, deny: true } : { path: p.path, methods: p.methods }))) as unknown as Collection;
  for (const item of seq.items ?? []) {
    const methods = (item as { get(k: string, keep: true): Collection | undefined }).get('methods', true);
    if (methods) methods.flow = true;
  }
  return seq;
}
