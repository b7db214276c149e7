/**
 * The vault payload: VaultData as canonical JSON in UTF-8 (spec: docs/vault-format.md,
 * "Payload"). decodePayload validates strictly; no message ever contains a field value.
 *
 * Canonical form: no whitespace; keys in the fixed order version, generation, entries;
 * entries sorted by name, and within an entry fields, origins, created, updated; fields
 * sorted by name; origins in stored order. Strings are written as JSON.stringify does.
 */
import { JaneeError } from '../errors.js';
import { secret } from '../util/secret.js';
import { openVault, sealVault, type ParsedVault, type HeaderLike } from './format.js';
import type { VaultData, VaultEntry } from './types.js';

const PAYLOAD_VERSION = 1;
/** Entry (service) names: what `janee add NAME` accepts. */
export const ENTRY_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Field names, e.g. `token`, `username`, `password`. */
export const FIELD_NAME_RE = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;
/** Exactly what `new Date(…).toISOString()` produces (UTC, milliseconds). */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** C0 controls except TAB, DEL, and lone surrogates (not representable in UTF-8). */
const BAD_VALUE_CHARS = /[\u0000-\u0008\u000a-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

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

/** True iff `value` can be stored as a secret field value (non-empty, no control chars but TAB). */
export function isValidFieldValue(value: string): boolean {
  return typeof value === 'string' && value.length > 0 && !BAD_VALUE_CHARS.test(value);
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
    if (typeof origin !== 'string' || !isCanonicalOrigin(origin)) {
      fail(`${where}: origins[${i}] must be an http(s) origin like https://api.example.com (no path, default port omitted)`);
    }
    if (origins.includes(origin)) fail(`${where}: origins[${i}] is a duplicate`);
    origins.push(origin);
  }

  const created = checkDate(v['created'], `${where}: created`, fail);
  const updated = checkDate(v['updated'], `${where}: updated`, fail);
  return { fields, origins, created, updated };
}

function checkData(v: unknown, fail: Fail, onNewerVersion: (version: number) => never): VaultData {
  if (!isObject(v)) fail('vault payload must be a JSON object');
  const version = v['version'];
  if (typeof version === 'number' && Number.isSafeInteger(version) && version > PAYLOAD_VERSION) onNewerVersion(version);
  if (version !== PAYLOAD_VERSION) fail(`vault payload: version must be ${PAYLOAD_VERSION}`);
  onlyKeys(v, ['version', 'generation', 'entries'], 'vault payload', fail);
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
  return { version: PAYLOAD_VERSION, generation, entries };
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
  const d = checkData(data, fail, (n) => fail(`version must be ${PAYLOAD_VERSION}, got ${n}`));
  const j = JSON.stringify;
  const entries = sortedKeys(d.entries).map((name) => {
    const e = d.entries[name] as VaultEntry;
    const fields = sortedKeys(e.fields).map((k) => `${j(k)}:${j(e.fields[k])}`);
    return (
      `${j(name)}:{"fields":{${fields.join(',')}},"origins":[${e.origins.map((o) => j(o)).join(',')}],` +
      `"created":${j(e.created)},"updated":${j(e.updated)}}`
    );
  });
  const text = `{"version":${d.version},"generation":${d.generation},"entries":{${entries.join(',')}}}`;
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
