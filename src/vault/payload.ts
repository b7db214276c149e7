/**
 * The vault payload: VaultData as canonical JSON in UTF-8 (spec: docs/vault-format.md,
 * "Payload"). decodePayload validates strictly; no message ever contains a field value.
 *
 * Canonical form: no whitespace; keys in the fixed order version, generation, entries,
 * agents (only in version 2, which has at least one); entries sorted by name, and within an entry fields,
 * origins, created, updated; fields sorted by name; origins in stored order; agents
 * sorted by name, and within one hash, services, created, expires. Strings are written
 * as JSON.stringify does.
 */
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { openVault, sealVault, type ParsedVault, type HeaderLike } from './format.js';
import type { AgentRecord, VaultData, VaultEntry } from './types.js';

/**
 * 1: entries only. 2: entries and agents — written only when there is an agent token,
 * so vaults without any stay version 1, byte for byte, and a janee that predates
 * agents reports "upgrade janee" for one that has them (not a damaged payload).
 */
const PAYLOAD_VERSION = 2;
/** Entry (service) names: what `janee add NAME` accepts. */
export const ENTRY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Field names, e.g. `token`, `username`, `password`. */
export const FIELD_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** An agent token's hash: SHA-256, lowercase hex. */
const HASH_RE = /^[0-9a-f]{64}$/;
/** Exactly what `new Date(…).toISOString()` produces (UTC, milliseconds). */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** C0 controls except TAB, DEL, and lone surrogates (not representable in UTF-8). */
const BAD_VALUE_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/**
 * `exec:COMMAND`: the secret may be handed to that command of config.yaml `commands:`
 * (src/gate/exec.ts). Like an origin, it lives in the vault and is added only with
 * the passphrase (`janee bind NAME exec:COMMAND`), so config.yaml alone cannot map
 * a secret into a program of its choosing. Never an HTTP origin: no URL equals it.
 */
const EXEC_BINDING_RE = /^exec:[A-Za-z0-9][A-Za-z0-9_.-]{0,63}(@[0-9a-f]{32})?$/;

export function isExecBinding(origin: string): boolean {
  return typeof origin === 'string' && EXEC_BINDING_RE.test(origin);
}

/** True iff `origin` is an http(s) origin in `URL.origin` form, e.g. `https://api.stripe.com`. */
export function isCanonicalOrigin(origin: string): boolean {
  if (typeof origin !== 'string') return false;
  let u: URL;
  try {
    u = new URL(origin);
  } catch {
    return false;
  }
  return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === origin;
}

/**
 * Longest field value janee stores (UTF-16 units): a 64 KiB `--field-file` in base64
 * fits, and the largest real secrets (a PEM key ~3 KiB, a Google JSON key ~2.4 KiB) by
 * far. Every serve keeps every secret and its redaction variants in memory, so a value of
 * megabytes (a wrong file piped to --key-stdin) would cost every call. Checked where a
 * value enters (add, migrate); a vault holding a longer one still opens.
 */
export const MAX_FIELD_VALUE = 96 * 1024;

/** True iff `value` can be stored as a secret field value (non-empty, no control chars but TAB, not too long). */
export function isValidFieldValue(value: string): boolean {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_FIELD_VALUE && !BAD_VALUE_CHARS.test(value);
}

export type Fail = (message: string) => never;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A key name safe to echo in a message (structure, never a value). */
function keyLabel(k: string): string {
  return /^[A-Za-z0-9_.-]{1,32}$/.test(k) ? `"${k}"` : '(unprintable)';
}

function onlyKeys(obj: Record<string, unknown>, allowed: readonly string[], where: string, fail: Fail): void {
  for (const k of Object.keys(obj)) {
    if (!allowed.includes(k)) fail(`${where}: unknown key ${keyLabel(k)}`);
  }
}

function checkDate(v: unknown, where: string, fail: Fail): string {
  if (typeof v !== 'string' || !ISO_RE.test(v)) fail(`${where} must be an ISO-8601 UTC time like 2026-01-31T12:00:00.000Z`);
  const t = Date.parse(v);
  if (Number.isNaN(t) || new Date(t).toISOString() !== v) fail(`${where} is not a valid date`);
  return v;
}

/** One entry, checked exactly as decodePayload checks it (the agent checks `vault_put` with it too). */
export function checkEntry(name: string, v: unknown, fail: Fail): VaultEntry {
  const where = `entry "${name}"`;
  if (!isObject(v)) fail(`${where} must be an object`);
  onlyKeys(v, ['fields', 'origins', 'created', 'updated'], where, fail);

  const f = v['fields'];
  if (!isObject(f)) fail(`${where}: fields must be an object`);
  const fieldNames = Object.keys(f);
  if (fieldNames.length === 0) fail(`${where}: fields must not be empty`);
  const fields: Record<string, string> = {};
  for (const [i, fname] of fieldNames.entries()) {
    if (!FIELD_NAME_RE.test(fname)) fail(`${where}: field name #${i + 1} is invalid`);
    const value = f[fname];
    if (typeof value !== 'string') fail(`${where}: field "${fname}" must be a string`);
    if (value.length === 0) fail(`${where}: field "${fname}" is empty`);
    if (BAD_VALUE_CHARS.test(value)) fail(`${where}: field "${fname}" contains a control character or invalid unicode`);
    fields[fname] = value;
  }

  const o = v['origins'];
  if (!Array.isArray(o)) fail(`${where}: origins must be an array`);
  const origins: string[] = [];
  for (const [i, origin] of (o as unknown[]).entries()) {
    if (typeof origin !== 'string' || (!isCanonicalOrigin(origin) && !isExecBinding(origin))) {
      fail(
        `${where}: origins[${i}] must be an http(s) origin like https://api.example.com (no path, default port omitted), or exec:COMMAND`,
      );
    }
    if (origins.includes(origin)) fail(`${where}: origins[${i}] is a duplicate`);
    origins.push(origin);
  }

  const created = checkDate(v['created'], `${where}: created`, fail);
  const updated = checkDate(v['updated'], `${where}: updated`, fail);
  return { fields, origins, created, updated };
}

/** One agent token record, checked exactly as decodePayload checks it. */
export function checkAgent(name: string, v: unknown, fail: Fail): AgentRecord {
  const where = `agent "${name}"`;
  if (!isObject(v)) fail(`${where} must be an object`);
  onlyKeys(v, ['hash', 'services', 'created', 'expires'], where, fail);
  const hash = v['hash'];
  if (typeof hash !== 'string' || !HASH_RE.test(hash)) fail(`${where}: hash must be 64 lowercase hex digits`);
  const s = v['services'];
  let services: string[] | null = null;
  if (s !== null) {
    if (!Array.isArray(s) || s.length === 0) fail(`${where}: services must be a non-empty array of service names, or null`);
    services = [];
    for (const [i, svc] of (s as unknown[]).entries()) {
      if (typeof svc !== 'string' || !ENTRY_NAME_RE.test(svc)) fail(`${where}: services[${i}] is not a valid service name`);
      if (services.includes(svc)) fail(`${where}: services[${i}] is a duplicate`);
      services.push(svc);
    }
  }
  const created = checkDate(v['created'], `${where}: created`, fail);
  const expires = v['expires'] === null ? null : checkDate(v['expires'], `${where}: expires`, fail);
  return { hash, services, created, expires };
}

function checkAgents(a: unknown, fail: Fail): Record<string, AgentRecord> {
  if (!isObject(a)) fail('vault payload: agents must be an object');
  const agents: Record<string, AgentRecord> = {};
  const hashes = new Set<string>();
  for (const [i, name] of Object.keys(a).entries()) {
    if (!ENTRY_NAME_RE.test(name)) fail(`vault payload: agent name #${i + 1} is invalid`);
    const rec = checkAgent(name, a[name], fail);
    // One token, one agent: a lookup by hash must never be ambiguous.
    if (hashes.has(rec.hash)) fail(`vault payload: agent "${name}" has the same token hash as another agent`);
    hashes.add(rec.hash);
    agents[name] = rec;
  }
  return agents;
}

function checkData(v: unknown, fail: Fail, onNewerVersion: (version: number) => never): VaultData {
  if (!isObject(v)) fail('vault payload must be a JSON object');
  const version = v['version'];
  if (typeof version === 'number' && Number.isSafeInteger(version) && version > PAYLOAD_VERSION) onNewerVersion(version);
  if (version !== 1 && version !== 2) fail('vault payload: version must be 1 or 2');
  onlyKeys(v, version === 2 ? ['version', 'generation', 'entries', 'agents'] : ['version', 'generation', 'entries'], 'vault payload', fail);
  const generation = v['generation'];
  if (typeof generation !== 'number' || !Number.isSafeInteger(generation) || generation < 0) {
    fail('vault payload: generation must be a non-negative integer');
  }
  const e = v['entries'];
  if (!isObject(e)) fail('vault payload: entries must be an object');
  const entries: Record<string, VaultEntry> = {};
  for (const [i, name] of Object.keys(e).entries()) {
    if (!ENTRY_NAME_RE.test(name)) fail(`vault payload: entry name #${i + 1} is invalid`);
    entries[name] = checkEntry(name, e[name], fail);
  }
  const data: VaultData = { version, generation, entries };
  if (version === 2) {
    // Version 2 exactly when there is an agent: without one, the payload is version 1.
    const agents = checkAgents(v['agents'], fail);
    if (Object.keys(agents).length === 0) fail('vault payload: version 2 needs at least one agent (write version 1 without)');
    data.agents = agents;
  }
  return data;
}

const sortedKeys = (o: Record<string, unknown>): string[] => Object.keys(o).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

/**
 * Canonical JSON as UTF-8. Throws TypeError on data that decodePayload would refuse
 * (callers check names with ENTRY_NAME_RE / FIELD_NAME_RE and values with
 * isValidFieldValue / isCanonicalOrigin first, to give the user a proper error).
 */
export function encodePayload(data: VaultData): Uint8Array {
  const fail: Fail = (m) => {
    throw new TypeError(`encodePayload: ${m}`);
  };
  // The version follows from the content (see PAYLOAD_VERSION): adding the first agent
  // makes it 2, removing the last (which may leave `agents: {}` in memory) makes it 1.
  const some = data.agents !== undefined && Object.keys(data.agents).length > 0 ? data.agents : undefined;
  const given: VaultData = some
    ? { version: 2, generation: data.generation, entries: data.entries, agents: some }
    : { version: 1, generation: data.generation, entries: data.entries };
  if (data.version !== 1 && data.version !== 2) fail(`version must be 1 or 2, got ${String(data.version)}`);
  const d = checkData(given, fail, (n) => fail(`version must be ${PAYLOAD_VERSION}, got ${n}`));
  const j = JSON.stringify;
  const entries = sortedKeys(d.entries).map((name) => {
    const e = d.entries[name] as VaultEntry;
    const fields = sortedKeys(e.fields).map((k) => `${j(k)}:${j(e.fields[k])}`);
    return (
      `${j(name)}:{"fields":{${fields.join(',')}},"origins":[${e.origins.map((o) => j(o)).join(',')}],` +
      `"created":${j(e.created)},"updated":${j(e.updated)}}`
    );
  });
  const agents = d.agents
    ? sortedKeys(d.agents).map((name) => {
        const a = d.agents?.[name] as AgentRecord;
        const services = a.services === null ? 'null' : `[${a.services.map((x) => j(x)).join(',')}]`;
        return `${j(name)}:{"hash":${j(a.hash)},"services":${services},"created":${j(a.created)},"expires":${a.expires === null ? 'null' : j(a.expires)}}`;
      })
    : [];
  const agentsPart = agents.length > 0 ? `,"agents":{${agents.join(',')}}` : '';
  const text = `{"version":${d.version},"generation":${d.generation},"entries":{${entries.join(',')}}${agentsPart}}`;
  return new TextEncoder().encode(text);
}

/**
 * Parses and validates a decrypted payload. Throws JaneeError VAULT_BAD_PAYLOAD on anything
 * malformed, VAULT_UNSUPPORTED_VERSION for a newer payload version.
 */
export function decodePayload(bytes: Uint8Array): VaultData {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodePayload: Uint8Array expected');
  const fail: Fail = (m) => {
    throw new JaneeError('VAULT_BAD_PAYLOAD', m, 'restore <vault>.bak or the copy in git');
  };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('vault payload is not valid UTF-8');
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // Never pass the SyntaxError on: V8 quotes the input around the error.
    return fail('vault payload is not valid JSON');
  }
  return checkData(value, fail, (n) => {
    throw new JaneeError(
      'VAULT_UNSUPPORTED_VERSION',
      `vault payload version ${n} is newer than this janee supports (${PAYLOAD_VERSION})`,
      'upgrade janee',
    );
  });
}

// ---------------------------------------------------------------------------
// payload <-> vault file, with the plaintext wiped

/** openVault, then decodePayload; the decrypted bytes are wiped. */
export function openVaultData(parsed: ParsedVault, fileKey: Uint8Array): VaultData {
  using plain = secret(openVault(parsed, fileKey));
  return decodePayload(plain.bytes);
}

/** encodePayload, then sealVault; the encoded plaintext is wiped. */
export function sealVaultData(header: HeaderLike, fileKey: Uint8Array, data: VaultData): Uint8Array {
  using plain = secret(encodePayload(data));
  return sealVault(header, fileKey, plain.bytes);
}
