/**
 * Reading a Janee 0.x home: the original Janee, releases 0.1–0.16 (pure apart from the caller's
 * file reads).
 *
 * The layouts 0.x's own code wrote (fixtures/legacy holds homes made by it; see its README):
 * - 0.1–0.12, secrets inline: config.yaml has `masterKey` (base64, 32 bytes) and each service's
 *   secret fields encrypted in place under `auth` (`key`, `apiKey`, `apiSecret`, `passphrase`,
 *   `credentials`, `privateKey`, `headers: { NAME: value }`). Up to 0.4 header values were
 *   written unencrypted.
 * - 0.13–0.16, split: config.yaml without secrets (`version: 0.3.0`) and credentials.json
 *   `{ masterKey, secrets: { SERVICE: { FIELD: value, headers: { NAME: value } } } }`. 0.13+
 *   rewrote an inline home this way the first time it loaded it, moving each value as it was
 *   (so an unencrypted 0.2 header value ends up in credentials.json unencrypted).
 * An encrypted value is base64(iv(12) ‖ tag(16) ‖ AES-256-GCM ciphertext), its encryptSecret.
 * A value not shaped like that is plaintext, as the original read it; one shaped like it that
 * does not decrypt fails its service (unless `server.strictDecryption: false`, as there).
 *
 * Auth types: `bearer` → bearer, except a key `Basic base64(user:pass)`, which is how its
 * `janee add` stored basic auth → basic; `headers` with one header → header (`Authorization:
 * Bearer …` → bearer, `Authorization: Basic …` → basic). The others (several headers, hmac*,
 * service-account, github-app, oauth1a-twitter, aws-sigv4) are skipped, each with its reason.
 */
import { createDecipheriv } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { SERVICE_NAME, type ParsedConfigFile } from '../config/load.js';
import type { AuthSpec } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { secret } from '../util/secret.js';
import { ENTRY_NAME_RE, isValidFieldValue } from '../vault/payload.js';
import { commandObject, execCapabilitiesToCommands, type PlannedCommand } from './commands.js';
import { capabilitiesToPolicies, type LegacyCapability, type Policy } from './rules.js';

/** "Janee 0.x" in messages and docs: the original Janee, these releases (all read the same way). */
export const LEGACY_RELEASES = '0.1–0.16';

/** Auth types 0.x wrote that janee cannot express yet (request signing, app credentials). */
const NOT_YET = new Set(['hmac', 'hmac-mexc', 'hmac-bybit', 'hmac-okx', 'service-account', 'github-app', 'oauth1a-twitter', 'aws-sigv4']);

interface PlannedService {
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
  /** From exec capabilities (src/migrate/commands.ts). */
  commands: PlannedCommand[];
  /** Per service, what the conversion could not say exactly or wants the user to know. */
  notes: { service: string; note: string }[];
  /** Where the plaintext master key was found. */
  masterKeyIn: 'credentials.json' | 'config.yaml' | undefined;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const printable = (s: string, max: number): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

function bad(file: string, message: string): JaneeError {
  return new JaneeError(
    'MIGRATE_BAD_LEGACY',
    `${file}: ${message}`,
    `this does not look like a Janee 0.x home (the original Janee, ${LEGACY_RELEASES}); see docs/dotfiles.md (janee migrate) for what migrate reads`,
  );
}

/** Strict standard base64 (what Buffer#toString('base64') writes), or undefined. */
function b64(text: string): Buffer | undefined {
  if (text.length === 0 || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  return Buffer.from(text, 'base64');
}

function parseMasterKey(value: unknown, file: string): Buffer {
  if (typeof value !== 'string') throw bad(file, 'masterKey must be a base64 string');
  const key = b64(value.trim());
  if (!key || key.length !== 32) throw bad(file, 'masterKey must be 32 bytes, base64-encoded');
  return key;
}

/** True if a stored value has the shape of the original's encryptSecret output. */
export function looksEncrypted(stored: string): boolean {
  const raw = b64(stored);
  return raw !== undefined && raw.length >= 12 + 16;
}

/** AES-256-GCM, stored as base64(iv(12) ‖ tag(16) ‖ ciphertext). */
export function decryptLegacyValue(stored: string, masterKey: Uint8Array): string {
  const raw = b64(stored);
  if (!raw || raw.length < 12 + 16) throw new Error('not base64(iv ‖ tag ‖ ciphertext)');
  const d = createDecipheriv('aes-256-gcm', masterKey, raw.subarray(0, 12));
  d.setAuthTag(raw.subarray(12, 28));
  let decrypted: Buffer;
  try {
    decrypted = Buffer.concat([d.update(raw.subarray(28)), d.final()]);
  } catch {
    throw new Error('does not decrypt under the master key (wrong key or damaged)');
  }
  using plain = secret(decrypted);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(plain.bytes);
  } catch {
    throw new Error('decrypts to something that is not text');
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

/** True if credentials.json content is 0.13–0.16's `{ masterKey, secrets }`. */
export function looksLegacyCredentials(credentials: unknown): boolean {
  return (
    isObj(credentials) &&
    typeof credentials['masterKey'] === 'string' &&
    (credentials['secrets'] === undefined || isObj(credentials['secrets']))
  );
}

/** True if this config.yaml content looks like Janee 0.x's rather than janee 1's. */
export function looksLegacy(config: unknown): boolean {
  if (!isObj(config)) return false;
  if (['capabilities', 'masterKey', 'server', 'llm'].some((k) => config[k] !== undefined)) return true;
  // 0.13+ with no capability left: `version: 0.3.0`, or an auth type janee 1 never had.
  if (config['version'] === '0.3.0' || config['version'] === '0.2.0') return true;
  const services = isObj(config['services']) ? Object.values(config['services']) : [];
  return services.some((s) => isObj(s) && isObj(s['auth']) && (s['auth']['type'] === 'headers' || NOT_YET.has(String(s['auth']['type']))));
}

/** The secret fields of one service as the original stored them (still encrypted). */
interface StoredSecrets {
  key?: unknown;
  headers?: unknown;
}

export function planLegacy(input: LegacyInput): LegacyPlan {
  const cfg = input.config;
  if (!isObj(cfg)) throw bad(input.configFile, 'expected a mapping at the top level');
  const credFile = input.credentialsFile ?? 'credentials.json';

  // Which layout: a masterKey in config.yaml means inline (0.1–0.12; the original itself then
  // ignored, or with 0.13+ overwrote, any credentials.json), else credentials.json (0.13–0.16).
  let keyBytes: Buffer;
  let masterKeyIn: LegacyPlan['masterKeyIn'];
  let split: Record<string, unknown> | undefined;
  if (cfg['masterKey'] !== undefined) {
    keyBytes = parseMasterKey(cfg['masterKey'], input.configFile);
    masterKeyIn = 'config.yaml';
  } else if (input.credentials !== undefined) {
    const creds = input.credentials;
    if (!isObj(creds)) throw bad(credFile, 'expected a JSON object');
    if (creds['masterKey'] === undefined) throw bad(credFile, 'no masterKey in it');
    keyBytes = parseMasterKey(creds['masterKey'], credFile);
    masterKeyIn = 'credentials.json';
    const secrets = creds['secrets'] ?? {};
    if (!isObj(secrets)) throw bad(credFile, '"secrets" must be an object keyed by service name');
    split = secrets;
  } else {
    throw bad(input.configFile, 'no masterKey in it and no credentials.json beside it');
  }
  using masterKey = secret(keyBytes); // wiped however planning ends

  const server = isObj(cfg['server']) ? cfg['server'] : {};
  const strict = server['strictDecryption'] !== false;
  const defaultDeny = server['defaultAccess'] === 'restricted';

  const servicesRaw = cfg['services'] ?? {};
  if (!isObj(servicesRaw)) throw bad(input.configFile, 'services must be a mapping');
  const capsRaw = cfg['capabilities'] ?? {};
  if (!isObj(capsRaw)) throw bad(input.configFile, 'capabilities must be a mapping');
  const caps: (LegacyCapability & Record<string, unknown>)[] = [];
  for (const [name, c] of Object.entries(capsRaw)) {
    if (!isObj(c) || typeof c['service'] !== 'string') throw bad(input.configFile, `capabilities.${name}: expected { service, rules, … }`);
    caps.push({ ...c, name, service: c['service'] });
  }

  const plan: LegacyPlan = { services: [], skipped: [], commands: [], notes: [], masterKeyIn };
  const skip = (name: string, reason: string) => plan.skipped.push({ name, reason });
  for (const c of caps)
    if (!Object.hasOwn(servicesRaw, c.service))
      plan.notes.push({ service: c.service, note: `capability ${c.name} names a service that does not exist; ignored` });

  for (const [name, s] of Object.entries(servicesRaw)) {
    if (!SERVICE_NAME.test(name) || !ENTRY_NAME_RE.test(name)) {
      skip(printable(name, 64), 'the name is not a valid janee service name (letters, digits, "_", "." or "-")');
      continue;
    }
    if (!isObj(s)) {
      skip(name, 'not a mapping');
      continue;
    }
    if (typeof s['baseUrl'] !== 'string') {
      skip(name, 'no baseUrl');
      continue;
    }
    let baseUrl: string;
    let origin: string;
    try {
      ({ baseUrl, origin } = parseBaseUrl(s['baseUrl']));
    } catch (e) {
      skip(name, `baseUrl: ${e instanceof JaneeError ? e.message : 'invalid'}`);
      continue;
    }
    const auth = isObj(s['auth']) ? s['auth'] : undefined;
    if (!auth || typeof auth['type'] !== 'string') {
      skip(name, 'no auth type');
      continue;
    }
    const where = split ? `${credFile} secrets.${name}` : `services.${name}.auth`;
    const stored: StoredSecrets = split ? (isObj(split[name]) ? split[name] : {}) : auth;
    const open = (value: unknown, what: string): string => {
      if (typeof value !== 'string') throw new Error(`${what}: not a string`);
      if (!looksEncrypted(value)) {
        plan.notes.push({
          service: name,
          note: `${what} was stored unencrypted in ${split ? credFile : input.configFile}: rotate it if that file was ever shared`,
        });
        return value;
      }
      try {
        return decryptLegacyValue(value, masterKey.bytes);
      } catch (e) {
        if (!strict) return value; // 0.x's strictDecryption: false kept such values as they were
        throw new Error(`${what}: ${(e as Error).message}`, { cause: e });
      }
    };
    try {
      const converted = convertAuth(auth['type'], stored, open, where);
      if ('skip' in converted) {
        skip(name, converted.skip);
        continue;
      }
      for (const v of Object.values(converted.fields)) {
        if (!isValidFieldValue(v)) throw new Error('the secret is empty or contains a control character');
      }
      if (converted.note) plan.notes.push({ service: name, note: converted.note });
      const mine = caps.filter((c) => c.service === name);
      const pol = capabilitiesToPolicies(name, mine, { defaultDeny });
      for (const note of pol.notes) plan.notes.push({ service: name, note });
      plan.services.push({ name, baseUrl, auth: converted.auth, policies: pol.policies, origin, fields: converted.fields });
    } catch (e) {
      skip(name, (e as Error).message);
    }
  }
  const imported = new Map(plan.services.map((s) => [s.name, { hasToken: typeof s.fields.token === 'string' }]));
  const exec = execCapabilitiesToCommands(caps, imported, new Set(Object.keys(servicesRaw)));
  plan.commands = exec.commands;
  plan.notes.push(...exec.notes);
  return plan;
}

type Converted = { auth: AuthSpec; fields: Record<string, string>; note?: string } | { skip: string };

/** `Basic base64(user:pass)` → basic fields, else undefined. */
function basicFields(value: string): Record<string, string> | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(value);
  const raw = m ? b64(m[1] as string) : undefined;
  if (!raw) return undefined;
  using creds = secret(raw);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(creds.bytes);
  } catch {
    return undefined;
  }
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const NO_CREDENTIAL_HEADER = /^(host|content-length|transfer-encoding|connection|cookie)$/i;
const BASIC_NOTE = '0.x stored basic auth as a bearer key "Basic …" (and sent "Authorization: Bearer Basic …"); migrated as basic auth';

function convertAuth(type: string, stored: StoredSecrets, open: (v: unknown, what: string) => string, where: string): Converted {
  const none: Converted = { skip: `no secret found for it (nothing in ${where})` };
  switch (type) {
    case 'bearer': {
      if (stored.key === undefined) return none;
      const token = open(stored.key, 'key');
      const basic = basicFields(token);
      if (basic) return { auth: { type: 'basic' }, fields: basic, note: BASIC_NOTE };
      return { auth: { type: 'bearer' }, fields: { token } };
    }
    case 'headers': {
      const headers = stored.headers;
      if (!isObj(headers) || Object.keys(headers).length === 0) return none;
      const names = Object.keys(headers);
      if (names.length > 1)
        return {
          skip: `auth type headers with ${names.length} headers (${names.map((n) => printable(n, 40)).join(', ')}) is not supported yet`,
        };
      const header = names[0] as string;
      if (!HEADER_NAME.test(header))
        return { skip: `header name ${JSON.stringify(printable(header, 40))} is not a valid HTTP header name` };
      if (NO_CREDENTIAL_HEADER.test(header)) return { skip: `header ${header} cannot carry a credential in janee` };
      const value = open(headers[header], `header ${header}`);
      if (header.toLowerCase() === 'authorization') {
        const bearer = /^Bearer\s+(\S.*)$/i.exec(value);
        if (bearer) return { auth: { type: 'bearer' }, fields: { token: bearer[1] as string } };
        const basic = basicFields(value);
        if (basic) return { auth: { type: 'basic' }, fields: basic };
      }
      return { auth: { type: 'header', name: header }, fields: { token: value } };
    }
    default:
      if (NOT_YET.has(type)) return { skip: `auth type ${type} is not supported yet` };
      return { skip: `auth type ${JSON.stringify(printable(type, 40))} is not one Janee 0.x wrote` };
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
  if (plan.commands.length > 0)
    doc.set('commands', doc.createNode(Object.fromEntries(plan.commands.map((c) => [c.name, commandObject(c)]))));
}

function policiesNode(doc: ParsedConfigFile['doc'], policies: Policy[]): unknown {
  const seq = doc.createNode(
    policies.map((p) => (p.deny ? { path: p.path, methods: p.methods, deny: true } : { path: p.path, methods: p.methods })),
  ) as unknown as Collection;
  for (const item of seq.items ?? []) {
    const methods = (item as { get(k: string, keep: true): Collection | undefined }).get('methods', true);
    if (methods) methods.flow = true;
  }
  return seq;
}
