/**
 * Audit entries: the types, input normalisation, and the canonical form that the
 * hash chain is computed over.
 *
 * One entry is one line of `<JANEE_HOME>/audit/YYYY-MM-DD.jsonl`:
 *
 *   {"ts":…,"agent":…,"agentSource":…,"service":…,"method":…,"path":…,"outcome":…,
 *    "status":…,"ms":…[,"reason":…][,"rule":…],"seq":…,"prev":…,"hash":…}\n
 *
 * Canonical form and hash
 * -----------------------
 * The *unhashed text* of an entry is `JSON.stringify` (ECMAScript, no whitespace) of
 * the object with exactly these keys in exactly this order:
 *   ts, agent, agentSource, service, method, path, outcome, status, ms,
 *   reason (only if present), rule (only if present), count (only if present),
 *   approval (only if present), seq, prev
 * `hash` = lowercase hex sha256 of the UTF-8 bytes of that text.
 * The line written is the same text with `,"hash":"<hash>"` inserted before the
 * final `}`, plus `\n`. So a verifier in any language needs no JSON canonicaliser:
 * take the line, check it ends with `,"hash":"<64 hex>"}`, cut that suffix, append
 * `}`, hash the bytes. (verify additionally re-serialises the parsed object and
 * requires byte equality, so a line that hashes correctly but is not in canonical
 * form, e.g. has extra fields, is still reported.)
 *
 * `prev` is the previous entry's `hash` (the entry with seq − 1, across files);
 * the first entry ever (seq 1) has 64 zeros (or, after retention deleted old day
 * files, the hash in `anchor.json`). The chain itself is unkeyed: it detects
 * accidental damage and naive edits/deletions; a rewrite that recomputes every
 * hash is caught by the signed checkpoints beside it (signing.ts).
 */
import { hash } from 'node:crypto';
import { JaneeError } from '../errors.js';

export const OUTCOMES = ['allowed', 'blocked', 'rate_limited', 'killed', 'locked', 'error', 'approval'] as const;
export type AuditOutcome = (typeof OUTCOMES)[number];

export const AGENT_SOURCES = ['flag', 'clientInfo', 'token', 'unknown'] as const;
/** Same as gate's AgentSource (audit sits below gate, so it cannot import it). */
export type AuditAgentSource = (typeof AGENT_SOURCES)[number];

export interface AuditInput {
  agent: string;
  agentSource: AuditAgentSource;
  service: string;
  method: string;
  /** Path without query; anything from `?` or `#` on is dropped anyway. */
  path: string;
  outcome: AuditOutcome;
  status: number | null;
  ms: number;
  /** The agent's stated reason (capped, see LIMITS). */
  reason?: string;
  /** Which policy rule decided, or an error code. */
  rule?: string;
  /**
   * Only on a summary record: this many similar refusals (same agent, service,
   * outcome and rule) happened since the last line written for them, and were
   * counted instead of written one by one (see src/gate/coalesce.ts). method and
   * path are those of the last one counted.
   */
  count?: number;
  /**
   * The approval id (src/approval) this line belongs to: the request waiting
   * (outcome `approval`, rule `pending`), the human's decision, a refusal for
   * it (denied, expired) and the call that went out under it.
   */
  approval?: string;
}

/** An audit line: the input plus its time and place in the hash chain. */
export interface AuditEntry extends AuditInput {
  ts: string;
  seq: number;
  prev: string;
  hash: string;
}

type UnhashedEntry = Omit<AuditEntry, 'hash'>;

export const GENESIS_HASH = '0'.repeat(64);

/**
 * Length caps (UTF-16 code units). Agent, service, method, path and reason are
 * chosen by a hostile agent, so a line stays under about 1.5 KB whatever it sends;
 * a capped field ends in TRUNCATED_MARK (counted in the cap).
 */
export const LIMITS = {
  agent: 128,
  service: 128,
  method: 32,
  path: 512,
  reason: 256,
  rule: 200,
} as const;
export const TRUNCATED_MARK = '…';

const INPUT_KEYS = new Set([
  'agent',
  'agentSource',
  'service',
  'method',
  'path',
  'outcome',
  'status',
  'ms',
  'reason',
  'rule',
  'count',
  'approval',
]);
const APPROVAL_ID = /^[a-z0-9]{10}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

function badInput(what: string): JaneeError {
  return new JaneeError('AUDIT_BAD_INPUT', `audit entry rejected: ${what}`, 'this is a bug in janee; please report it');
}

/** Truncates to n units, the last being TRUNCATED_MARK, without leaving half a surrogate pair. */
function cap(s: string, n: number): string {
  if (s.length <= n) return s;
  let out = s.slice(0, n - TRUNCATED_MARK.length);
  const last = out.charCodeAt(out.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) out = out.slice(0, -1);
  return out + TRUNCATED_MARK;
}

function str(input: Record<string, unknown>, key: keyof typeof LIMITS): string {
  const v = input[key];
  if (typeof v !== 'string') throw badInput(`${key} must be a string`);
  return cap(v, LIMITS[key]);
}

/**
 * Validates and copies an AuditInput: only the known fields (an unknown field is an
 * error, so nothing can ride along into the log), strings capped, query/fragment
 * stripped from `path`, `ms` rounded to a non-negative integer.
 */
export function normalizeInput(input: AuditInput): AuditInput {
  if (typeof input !== 'object' || input === null) throw badInput('not an object');
  const rec = input as unknown as Record<string, unknown>;
  for (const k of Object.keys(rec)) {
    if (!INPUT_KEYS.has(k)) throw badInput(`unknown field ${JSON.stringify(cap(k, 40))}`);
  }
  if (!(AGENT_SOURCES as readonly unknown[]).includes(rec.agentSource)) throw badInput('bad agentSource');
  if (!(OUTCOMES as readonly unknown[]).includes(rec.outcome)) throw badInput('bad outcome');
  const status = rec.status;
  if (status !== null && !(typeof status === 'number' && Number.isInteger(status))) {
    throw badInput('status must be an integer or null');
  }
  const ms = rec.ms;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) throw badInput('ms must be a finite number');
  let rawPath = rec.path;
  if (typeof rawPath !== 'string') throw badInput('path must be a string');
  const cut = rawPath.search(/[?#]/);
  if (cut >= 0) rawPath = rawPath.slice(0, cut);
  const out: AuditInput = {
    agent: str(rec, 'agent'),
    agentSource: rec.agentSource as AuditAgentSource,
    service: str(rec, 'service'),
    method: str(rec, 'method'),
    path: cap(rawPath as string, LIMITS.path),
    outcome: rec.outcome as AuditOutcome,
    status: status,
    ms: Math.max(0, Math.round(ms)),
  };
  if (rec.reason !== undefined) out.reason = str(rec, 'reason');
  if (rec.rule !== undefined) out.rule = str(rec, 'rule');
  if (rec.count !== undefined) {
    if (!Number.isSafeInteger(rec.count) || (rec.count as number) < 1) throw badInput('count must be a positive integer');
    out.count = rec.count as number;
  }
  if (rec.approval !== undefined) {
    if (typeof rec.approval !== 'string' || !APPROVAL_ID.test(rec.approval)) throw badInput('approval must be an approval id');
    out.approval = rec.approval;
  }
  return out;
}

/** The unhashed text (see the file comment). Keys in the fixed order. */
export function canonicalText(e: UnhashedEntry): string {
  const o: Record<string, unknown> = {
    ts: e.ts,
    agent: e.agent,
    agentSource: e.agentSource,
    service: e.service,
    method: e.method,
    path: e.path,
    outcome: e.outcome,
    status: e.status,
    ms: e.ms,
  };
  if (e.reason !== undefined) o.reason = e.reason;
  if (e.rule !== undefined) o.rule = e.rule;
  if (e.count !== undefined) o.count = e.count;
  if (e.approval !== undefined) o.approval = e.approval;
  o.seq = e.seq;
  o.prev = e.prev;
  return JSON.stringify(o);
}

export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex'); // one-shot: no Hash object per entry (a string is hashed as UTF-8)
}

/** Builds the entry and its line (with the trailing newline). */
export function sealEntry(input: AuditInput, ts: string, seq: number, prev: string): { entry: AuditEntry; line: string } {
  const entry = { ts, ...input, seq, prev } as AuditEntry;
  const text = canonicalText(entry);
  // Added to the same object, not {...unhashed, hash}: on Node 20 a spread copy given
  // more fields outlives the young generation even as garbage (docs/bench.md).
  entry.hash = sha256Hex(text);
  return { entry, line: `${text.slice(0, -1)},"hash":"${entry.hash}"}\n` };
}

type ParsedLine = { kind: 'entry'; entry: AuditEntry; hashOk: boolean; canonical: boolean } | { kind: 'bad'; message: string };

const HASH_SUFFIX = /,"hash":"([0-9a-f]{64})"\}$/;

/** Checks field names, order-independent types and values of a parsed object. */
function shapeProblem(o: Record<string, unknown>): string | null {
  const str = (k: string): boolean => typeof o[k] === 'string';
  for (const k of ['ts', 'agent', 'service', 'method', 'path', 'prev', 'hash']) {
    if (!str(k)) return `field ${k} missing or not a string`;
  }
  if (!TS_RE.test(o.ts as string)) return 'ts is not an ISO-8601 UTC timestamp with milliseconds';
  if (!(AGENT_SOURCES as readonly unknown[]).includes(o.agentSource)) return 'agentSource is invalid';
  if (!(OUTCOMES as readonly unknown[]).includes(o.outcome)) return 'outcome is invalid';
  if (o.status !== null && !Number.isInteger(o.status)) return 'status is not an integer or null';
  if (!Number.isInteger(o.ms) || (o.ms as number) < 0) return 'ms is not a non-negative integer';
  if (o.reason !== undefined && !str('reason')) return 'reason is not a string';
  if (o.rule !== undefined && !str('rule')) return 'rule is not a string';
  if (o.count !== undefined && (!Number.isSafeInteger(o.count) || (o.count as number) < 1)) return 'count is not a positive integer';
  if (o.approval !== undefined && !(str('approval') && APPROVAL_ID.test(o.approval as string))) return 'approval is not an approval id';
  if (!Number.isSafeInteger(o.seq) || (o.seq as number) < 1) return 'seq is not a positive integer';
  if (!HEX64.test(o.prev as string)) return 'prev is not 64 hex digits';
  if (!HEX64.test(o.hash as string)) return 'hash is not 64 hex digits';
  return null;
}

/**
 * Parses one line (without its `\n`). `hashOk`: the stored hash matches the line's
 * unhashed text; `canonical`: the line is byte-identical to what the writer would
 * produce for the parsed values (no extra fields, fixed key order, no whitespace).
 */
export function parseLine(line: string): ParsedLine {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return { kind: 'bad', message: 'not valid JSON (truncated or garbage line)' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) {
    return { kind: 'bad', message: 'not a JSON object' };
  }
  const rec = o as Record<string, unknown>;
  const problem = shapeProblem(rec);
  if (problem) return { kind: 'bad', message: `not a valid audit entry: ${problem}` };
  const entry = rec as unknown as AuditEntry;
  const m = HASH_SUFFIX.exec(line);
  const unhashedText = m ? `${line.slice(0, m.index)}}` : null;
  const hashOk = m !== null && m[1] === entry.hash && sha256Hex(unhashedText as string) === entry.hash;
  const canonical = unhashedText !== null && unhashedText === canonicalText(entry);
  return { kind: 'entry', entry, hashOk, canonical };
}

/**
 * Cheap parse for readers and the writer's tail scan: any JSON object with a
 * positive integer seq and a 64-hex hash counts (damage is verify's business).
 */
export function looseParse(line: string): AuditEntry | null {
  if (line.length === 0 || line.charCodeAt(0) !== 0x7b /* { */) return null;
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch {
    return null;
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return null;
  const rec = o as Record<string, unknown>;
  if (!Number.isSafeInteger(rec.seq) || (rec.seq as number) < 1) return null;
  if (typeof rec.hash !== 'string' || !HEX64.test(rec.hash)) return null;
  return rec as unknown as AuditEntry;
}

export const FILE_RE = /^\d{4}-\d{2}-\d{2}\.jsonl$/;

/** `YYYY-MM-DD.jsonl` for an ISO timestamp (its UTC date). */
export function fileNameFor(ts: string): string {
  return `${ts.slice(0, 10)}.jsonl`;
}
