/**
 * The human form `janee logs` prints, one line per entry:
 *
 *   2026-03-15T10:23:45Z | agent:claude | stripe | GET /v1/charges | 200 | 142ms
 *   2026-03-15T10:23:48Z | agent:claude | stripe | POST /v1/charges | BLOCKED | policy violation
 *   2026-03-15T10:23:49Z | agent:claude | stripe | POST /v1/charges | BLOCKED | policy violation | ×37 more like this (coalesced)
 *
 * The last form is a summary record (`count`): that many similar refusals were
 * counted instead of written one by one (src/audit/coalesce.ts).
 *
 * Agent names, paths, methods and rules can come from a hostile agent (or an
 * edited log), so every field is escaped: C0/C1 control characters (which covers
 * ESC and so every ANSI/OSC sequence), DEL, line/paragraph separators, bidi
 * overrides/isolates and other invisible format characters become `\xNN` /
 * `\u{…}`; `\` becomes `\\` and `|` becomes `\|`, so a field can neither start a new
 * line, rewrite the terminal, nor fake a column.
 */
import type { AuditEntry } from './record.js';

// C0, DEL, C1, soft hyphen, zero-width and bidi marks, line/para separators,
// bidi embeddings/overrides/isolates, word joiner…, BOM, interlinear annotations.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f\ufeff\ufff9-\ufffb\\|]/gu;

export function escapeField(s: unknown): string {
  const str = typeof s === 'string' ? s : String(s);
  return str.replace(UNSAFE, (c) => {
    if (c === '\\') return '\\\\';
    if (c === '|') return '\\|';
    const cp = c.codePointAt(0) as number;
    return cp <= 0xff ? `\\x${cp.toString(16).padStart(2, '0')}` : `\\u{${cp.toString(16)}}`;
  });
}

/** Short reason shown for a refused/failed call; `rule` (policy rule or error code) is added when present. */
const OUTCOME_TEXT: Record<string, { word: string; reason: string }> = {
  blocked: { word: 'BLOCKED', reason: 'policy violation' },
  rate_limited: { word: 'RATE_LIMITED', reason: 'rate limit exceeded' },
  killed: { word: 'KILLED', reason: 'kill switch on' },
  locked: { word: 'LOCKED', reason: 'vault locked' },
  error: { word: 'ERROR', reason: 'error' },
  approval: { word: 'APPROVAL', reason: 'approval' },
};

/** Blocked outcomes whose `rule` is a gate error code, not a policy rule. */
const BLOCKED_BY_CODE: Record<string, string> = {
  GATE_BAD_REQUEST: 'bad request (refused before policy)',
  GATE_UNKNOWN_SERVICE: 'unknown service',
  'origin binding': 'origin binding (config.yaml points elsewhere)',
};

function seconds(ts: unknown): string {
  const s = typeof ts === 'string' ? ts : String(ts);
  // 2026-03-15T10:23:45.123Z → 2026-03-15T10:23:45Z
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$/.exec(s);
  return m ? `${m[1]}Z` : escapeField(s);
}

export function formatEntry(e: AuditEntry): string {
  const head = `${seconds(e.ts)} | agent:${escapeField(e.agent)} | ${escapeField(e.service)} | ${escapeField(e.method)} ${escapeField(e.path)}`;
  const approval = typeof e.approval === 'string' ? ` | approval:${escapeField(e.approval)}` : '';
  if (e.outcome === 'allowed') {
    const status = typeof e.status === 'number' ? String(e.status) : '-';
    const ms = typeof e.ms === 'number' ? `${Math.round(e.ms)}ms` : '-';
    return `${head} | ${status} | ${ms}${approval}`;
  }
  if (e.outcome === 'approval') return `${head} | APPROVAL | ${escapeField(e.rule ?? '')}${approval}`;
  const t = OUTCOME_TEXT[e.outcome as string] ?? { word: escapeField(String(e.outcome).toUpperCase()), reason: 'unknown outcome' };
  let reason: string;
  const blockedWhy = e.outcome === 'blocked' && e.rule !== undefined ? BLOCKED_BY_CODE[e.rule] : undefined;
  if (blockedWhy)
    reason = blockedWhy; // refused before any policy was looked at
  else if (e.outcome === 'error') reason = e.rule !== undefined ? escapeField(e.rule) : t.reason;
  else reason = e.rule !== undefined ? `${t.reason} (${escapeField(e.rule)})` : t.reason;
  const more = typeof e.count === 'number' ? ` | ×${e.count} more like this (coalesced)` : '';
  return `${head} | ${t.word} | ${reason}${more}${approval}`;
}
