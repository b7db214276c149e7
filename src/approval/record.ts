/**
 * Approvals, the pure part: the request digest an approval is bound to, the
 * records on disk (encode, strict decode, MAC), ids and the MAC key.
 *
 * The MAC key is HKDF-SHA256(vault file key, info "janee.dev/v1/approvals"), never
 * the file key itself: the gate (in serve or in the agent) and `janee approve`
 * (after the passphrase) derive the same key; an agent with a shell has neither.
 *
 * Canonical bytes (the digest's and the MAC's input): a label, then each value as
 * `<UTF-8 byte length>:<bytes>\n`. Lengths make it unambiguous whatever a value
 * holds (newlines, colons, anything the agent chose).
 *
 * A record file is one JSON object: `v` (1), `kind`, exactly the string fields of
 * that kind, and `mac` (hex HMAC-SHA256 over the label, the kind and the fields in
 * the fixed order below). Anything else — an extra or missing key, a non-string,
 * a bad MAC — is not a record.
 */
import { createHash, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

const MAC_INFO = 'janee.dev/v1/approvals';
const RECORD_LABEL = 'janee.dev/v1/approval-record';
const DIGEST_LABEL = 'janee.dev/v1/approval-request';

export const RECORD_FIELDS = {
  /** Written by the gate when a call needs approval; what `janee approvals` shows. */
  pending: [
    'id',
    'digest',
    'agent',
    'service',
    'rule',
    'method',
    'path',
    'query',
    'headers',
    'bodySha256',
    'bodyPreview',
    'reason',
    'created',
    'expires',
    'pid',
  ],
  /** `janee approve ID`: the request with this digest may run once, until `expires`. */
  approved: ['id', 'digest', 'decided', 'expires'],
  /** `janee deny ID`. */
  denied: ['id', 'digest', 'decided'],
  /** `janee approve ID --for D`: calls of this agent, service and rule need no approval until `expires`. */
  grant: ['id', 'agent', 'service', 'rule', 'decided', 'expires'],
} as const;

export type RecordKind = keyof typeof RECORD_FIELDS;
export const RECORD_KINDS = Object.keys(RECORD_FIELDS) as RecordKind[];
export type ApprovalRecord<K extends RecordKind = RecordKind> = K extends RecordKind
  ? { kind: K } & { [F in (typeof RECORD_FIELDS)[K][number]]: string }
  : never;

/** Ids: 10 characters of a 32-letter alphabet (50 bits), easy to read out and type. */
const ID_ALPHABET = 'abcdefghijkmnpqrstuvwxyz23456789';
export const ID_RE = /^[a-km-np-z2-9]{10}$/;

export function newApprovalId(): string {
  const bytes = randomBytes(10);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 31];
  bytes.fill(0);
  return id;
}

/** The MAC key for approval records. The caller wipes it. */
export function approvalKey(fileKey: Uint8Array): Uint8Array {
  return new Uint8Array(hkdfSync('sha256', fileKey, new Uint8Array(0), MAC_INFO, 32));
}

function lengthPrefixed(label: string, values: readonly string[]): Buffer {
  const parts: Buffer[] = [Buffer.from(`${label}\n`, 'utf8')];
  for (const v of values) {
    const b = Buffer.from(v, 'utf8');
    parts.push(Buffer.from(`${b.length}:`, 'utf8'), b, Buffer.from('\n', 'utf8'));
  }
  return Buffer.concat(parts);
}

export interface RequestParts {
  agent: string;
  service: string;
  method: string;
  /** Normalised path, no query. */
  path: string;
  /** Normalised query, without `?`. */
  query: string;
  /** The agent's headers as the gate sends them (sanitised, lower-case names). */
  headers: Record<string, string>;
  /** `none`, or the body kind and its SHA-256 hex: `string:<hex>` / `json:<hex>`. */
  body: string;
}

/** What an approval is bound to: every part of the request the agent chose. */
export function requestDigest(r: RequestParts): string {
  const names = Object.keys(r.headers).sort();
  const values = [r.agent, r.service, r.method, r.path, r.query, String(names.length)];
  for (const n of names) values.push(n, r.headers[n] ?? '');
  values.push(r.body);
  return createHash('sha256').update(lengthPrefixed(DIGEST_LABEL, values)).digest('hex');
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function macOf<K extends RecordKind>(key: Uint8Array, rec: ApprovalRecord<K>): string {
  const fields = RECORD_FIELDS[rec.kind] as readonly string[];
  const values = [rec.kind, ...fields.map((f) => (rec as Record<string, string>)[f] ?? '')];
  return createHmac('sha256', key).update(lengthPrefixed(RECORD_LABEL, values)).digest('hex');
}

export function encodeRecord<K extends RecordKind>(key: Uint8Array, rec: ApprovalRecord<K>): string {
  const o: Record<string, string | number> = { v: 1, kind: rec.kind };
  for (const f of RECORD_FIELDS[rec.kind] as readonly string[]) o[f] = (rec as Record<string, string>)[f] ?? '';
  o.mac = macOf(key, rec);
  return `${JSON.stringify(o)}\n`;
}

export type Decoded = { ok: true; record: ApprovalRecord } | { ok: false; why: 'malformed' | 'bad mac' };

/**
 * Strict parse; with `key`, the MAC is checked too (without: `ok` means well-formed
 * only — for listing where no key is at hand, never for a decision).
 */
export function decodeRecord(text: string, key: Uint8Array | undefined): Decoded {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch {
    return { ok: false, why: 'malformed' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { ok: false, why: 'malformed' };
  const rec = o as Record<string, unknown>;
  if (rec.v !== 1 || typeof rec.kind !== 'string' || !Object.hasOwn(RECORD_FIELDS, rec.kind)) return { ok: false, why: 'malformed' };
  const kind = rec.kind as RecordKind;
  const fields = RECORD_FIELDS[kind] as readonly string[];
  const keys = Object.keys(rec);
  if (keys.length !== fields.length + 3) return { ok: false, why: 'malformed' };
  for (const f of [...fields, 'mac']) if (typeof rec[f] !== 'string') return { ok: false, why: 'malformed' };
  if (!ID_RE.test(rec.id as string) || !/^[0-9a-f]{64}$/.test(rec.mac as string)) return { ok: false, why: 'malformed' };
  const out = { kind } as Record<string, string>;
  for (const f of fields) out[f] = rec[f] as string;
  const record = out as unknown as ApprovalRecord;
  if (key) {
    const want = Buffer.from(macOf(key, record), 'hex');
    if (!timingSafeEqual(want, Buffer.from(rec.mac as string, 'hex'))) return { ok: false, why: 'bad mac' };
  }
  return { ok: true, record };
}

/** Milliseconds since the epoch of a record's ISO time; NaN (never valid) if it is not one. */
export function timeOf(iso: string): number {
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(iso) ? Date.parse(iso) : Number.NaN;
}

/** Still valid at `now`: an unparseable expiry counts as expired (fail closed). */
export function unexpired(expires: string, now = Date.now()): boolean {
  const t = timeOf(expires);
  return Number.isFinite(t) && now < t;
}
