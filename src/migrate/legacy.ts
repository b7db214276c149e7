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
 * Bearer …` → bearer, `Authorization: Basic …` → basic), with several → headers (each header's
 * value in a field named after it); `hmac-bybit` / `hmac-okx` / `hmac-mexc` (and 0.2's `hmac`,
 * which signed as MEXC) → hmac with that preset; `aws-sigv4` (`awsService`) → aws-sigv4
 * (`service`); `oauth1a-twitter` → oauth1a; `github-app` → github-app, the PEM stored as a file
 * field; `service-account` → google-service-account, the JSON key likewise. Anything else is
 * skipped with its reason.
 */
import { createDecipheriv } from 'node:crypto';
import { JaneeError } from '../errors.js';
import { SERVICE_NAME, type ParsedConfigFile } from '../config/load.js';
import type { AuthSpec } from '../config/types.js';
import { parseBaseUrl } from '../config/url.js';
import { secret } from '../util/secret.js';
import { ENTRY_NAME_RE, FIELD_NAME_RE, isValidFieldValue } from '../vault/payload.js';
import { commandObject, execCapabilitiesToCommands, type PlannedCommand } from './commands.js';
import { fileProblem } from '../auth/file.js';
import { authNode } from '../config/edit.js';
import { capabilitiesToPolicies, type LegacyCapability, type Policy } from './rules.js';

/** "Janee 0.x" in messages and docs: the original Janee, these releases (all read the same way). */
export const LEGACY_RELEASES = '0.1–0.16';

/** Auth type names only 0.x wrote (janee 1's own names are told apart by their keys, see looksLegacy). */
const LEGACY_ONLY_TYPES = new Set(['hmac-mexc', 'hmac-bybit', 'hmac-okx', 'service-account', 'oauth1a-twitter']);

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
  return services.some((s) => {
    const a = isObj(s) ? s['auth'] : undefined;
    if (!isObj(a)) return false;
    // janee 1's headers block maps names to fields; 0.13+'s has none (the values are in credentials.json).
    if (a['type'] === 'headers') return !isObj(a['headers']);
    if (a['type'] === 'aws-sigv4') return a['awsService'] !== undefined;
    return LEGACY_ONLY_TYPES.has(String(a['type']));
  });
}

/** The secret fields of one service as the original stored them (still encrypted). */
interface StoredSecrets {
  key?: unknown;
  headers?: unknown;
  [field: string]: unknown;
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
      const converted = convertAuth(auth['type'], stored, open, where, auth);
      if ('skip' in converted) {
        skip(name, converted.skip);
        continue;
      }
      for (const v of Object.values(converted.fields)) {
        if (!isValidFieldValue(v)) throw new Error('the secret is empty, contains a control character or is longer than 96 KiB');
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

function convertAuth(
  type: string,
  stored: StoredSecrets,
  open: (v: unknown, what: string) => string,
  where: string,
  config: Record<string, unknown>,
): Converted {
  const none: Converted = { skip: `no secret found for it (nothing in ${where})` };
  /** The named fields, opened; undefined when a required one is missing. */
  const fieldsOf = (required: string[], optional: string[] = []): Record<string, string> | undefined => {
    const out: Record<string, string> = {};
    for (const f of [...required, ...optional]) {
      if (stored[f] === undefined || stored[f] === '') {
        if (required.includes(f)) return undefined;
        continue;
      }
      out[f] = open(stored[f], f);
    }
    return out;
  };
  switch (type) {
    case 'bearer': {
      if (stored.key === undefined) return none;
      const token = open(stored.key, 'key');
      const basic = basicFields(token);
      if (basic) return { auth: { type: 'basic' }, fields: basic, note: BASIC_NOTE };
      return { auth: { type: 'bearer' }, fields: { token } };
    }
    case 'headers':
      return convertHeaders(stored, open, none);
    case 'hmac':
    case 'hmac-mexc':
    case 'hmac-bybit':
    case 'hmac-okx': {
      const preset = type === 'hmac-bybit' ? 'bybit' : type === 'hmac-okx' ? 'okx' : 'mexc';
      const fields = fieldsOf(preset === 'okx' ? ['apiKey', 'apiSecret', 'passphrase'] : ['apiKey', 'apiSecret']);
      if (!fields) return none;
      return {
        auth: { type: 'hmac', preset },
        fields,
        ...(type === 'hmac' ? { note: "0.x's auth type hmac signed requests the MEXC way; migrated as the mexc preset" } : {}),
      };
    }
    case 'aws-sigv4': {
      const region = config['region'];
      const service = config['awsService'];
      if (typeof region !== 'string' || !/^[a-z0-9-]{1,32}$/.test(region)) return { skip: 'aws-sigv4 without a valid region' };
      if (typeof service !== 'string' || !/^[a-z0-9-]{1,64}$/.test(service)) return { skip: 'aws-sigv4 without a valid awsService' };
      const fields = fieldsOf(['accessKeyId', 'secretAccessKey'], ['sessionToken']);
      if (!fields) return none;
      return { auth: { type: 'aws-sigv4', region, service }, fields };
    }
    case 'oauth1a-twitter': {
      const fields = fieldsOf(['consumerKey', 'consumerSecret', 'accessToken', 'accessTokenSecret']);
      if (!fields) return none;
      return { auth: { type: 'oauth1a' }, fields };
    }
    case 'github-app': {
      const id = (v: unknown) => (typeof v === 'number' ? String(v) : v);
      const appId = id(config['appId']);
      const installationId = id(config['installationId']);
      if (typeof appId !== 'string' || !/^[1-9][0-9]{0,19}$/.test(appId)) return { skip: 'github-app without a numeric appId' };
      if (typeof installationId !== 'string' || !/^[1-9][0-9]{0,19}$/.test(installationId))
        return { skip: 'github-app without a numeric installationId' };
      const pem = fieldsOf(['privateKey'])?.['privateKey'];
      if (pem === undefined) return none;
      return {
        auth: { type: 'github-app', appId, installationId },
        fields: { privateKey: Buffer.from(pem, 'utf8').toString('base64') },
        ...(fileProblem('pem', Buffer.from(pem, 'utf8'))
          ? { note: 'its privateKey does not look like a PEM private key; replace it with `janee set` before use' }
          : {}),
      };
    }
    case 'service-account': {
      const scopes = config['scopes'];
      if (!Array.isArray(scopes) || scopes.length === 0 || !scopes.every((x) => typeof x === 'string' && x !== '' && !/\s/.test(x)))
        return { skip: 'service-account without a list of scopes' };
      const json = fieldsOf(['credentials'])?.['credentials'];
      if (json === undefined) return none;
      return {
        auth: { type: 'google-service-account', scopes: scopes as string[] },
        fields: { credentials: Buffer.from(json, 'utf8').toString('base64') },
        ...(fileProblem('json', Buffer.from(json, 'utf8'))
          ? { note: 'its credentials are not a JSON key; replace them with `janee set` before use' }
          : {}),
      };
    }
    default:
      return { skip: `auth type ${JSON.stringify(printable(type, 40))} is not one Janee 0.x wrote` };
  }
}

/** `headers`: one header as header/bearer/basic, as before; several as a headers block. */
function convertHeaders(stored: StoredSecrets, open: (v: unknown, what: string) => string, none: Converted): Converted {
  const headers = stored.headers;
  if (!isObj(headers) || Object.keys(headers).length === 0) return none;
  const names = Object.keys(headers);
  for (const header of names) {
    if (!HEADER_NAME.test(header)) return { skip: `header name ${JSON.stringify(printable(header, 40))} is not a valid HTTP header name` };
    if (NO_CREDENTIAL_HEADER.test(header)) return { skip: `header ${header} cannot carry a credential in janee` };
  }
  if (names.length === 1) {
    const header = names[0] as string;
    const value = open(headers[header], `header ${header}`);
    if (header.toLowerCase() === 'authorization') {
      const bearer = /^Bearer\s+(\S.*)$/i.exec(value);
      if (bearer) return { auth: { type: 'bearer' }, fields: { token: bearer[1] as string } };
      const basic = basicFields(value);
      if (basic) return { auth: { type: 'basic' }, fields: basic };
    }
    return { auth: { type: 'header', name: header }, fields: { token: value } };
  }
  if (new Set(names.map((n) => n.toLowerCase())).size !== names.length)
    return { skip: 'the same header is given twice (in different case)' };
  // Each value in a field named after its header (header names that are not field names: h1, h2…).
  const map: Record<string, string> = {};
  const fields: Record<string, string> = {};
  names.forEach((header, i) => {
    const field = FIELD_NAME_RE.test(header) ? header : `h${i + 1}`;
    map[header] = field;
    fields[field] = open(headers[header], `header ${header}`);
  });
  return { auth: { type: 'headers', headers: map }, fields };
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
    doc.setIn(['services', name, 'auth'], authNode(doc, p.auth));
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
