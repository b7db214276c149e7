/**
 * Policy evaluation (pure). Semantics (DESIGN.md "Policy matching"):
 * - `policies` undefined (no `policies:` key) → any method, any path is allowed;
 *   `[]` → everything is blocked; no matching rule → blocked;
 * - a deny rule that matches wins over every allow rule;
 * - a pattern covers itself and everything below it at a '/' boundary
 *   (`/v1/charges` covers `/v1/charges/ch_1`, not `/v1/chargesX`); `*` is exactly
 *   one (non-empty) segment; `**` (last segment only) is any rest, zero or more;
 * - segments are compared percent-decoded (so `%21` and `!` are equal);
 * - deny rules are matched case-insensitively (and after Unicode NFKC folding),
 *   allow rules exactly: an upstream that ignores case cannot turn `/V1/ADMIN`
 *   into a way around `deny /v1/admin`, while an allow never widens by case;
 * - a trailing '/' on the request path is ignored for matching;
 * - fail closed: a method or path that is not in normalised form, or any
 *   invalid rule, blocks the request.
 */
import type { PolicyRule } from '../config/types.js';
import {
  normalizeMethod,
  parsePolicyPattern,
  parseRequestPath,
  type ParsedPattern,
  type PatternSegment,
} from './normalize.js';

export interface Decision {
  allowed: boolean;
  /** e.g. "deny * /v1/customers/*\/delete", "allow GET /v1/charges", "no matching policy". */
  rule: string | undefined;
}

const patternCache = new Map<string, ParsedPattern>();

function parsedPattern(pattern: string): ParsedPattern {
  const hit = patternCache.get(pattern);
  if (hit !== undefined) return hit;
  const parsed = parsePolicyPattern(pattern);
  if (patternCache.size >= 1000) patternCache.clear();
  patternCache.set(pattern, parsed);
  return parsed;
}

function fold(s: string): string {
  return s.normalize('NFKC').toLowerCase();
}

function matchSegments(
  pat: readonly PatternSegment[],
  path: readonly string[],
  caseInsensitive: boolean,
): boolean {
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i]!;
    if (p.kind === 'rest') return true; // only ever last: any rest, zero or more segments
    const s = path[i];
    if (s === undefined) return false; // path is shorter than the pattern
    if (p.kind === 'one') continue; // one segment (segments are never empty)
    if (caseInsensitive ? fold(p.value) !== fold(s) : p.value !== s) return false;
  }
  return true; // pattern consumed: covers itself and everything below
}

/**
 * Whether `pattern` covers `path`. Both are normalised first: the pattern with
 * normalizePolicyPattern rules (throws Error if invalid), the path with request
 * rules (throws JaneeError GATE_BAD_REQUEST if invalid; a `?query` is ignored).
 */
export function matchesPattern(
  pattern: string,
  path: string,
  options?: { caseInsensitive?: boolean },
): boolean {
  const pat = parsedPattern(pattern);
  const p = parseRequestPath(path);
  return matchSegments(pat.segments, p.segments, options?.caseInsensitive === true);
}

function methodsText(methods: readonly string[]): string {
  return methods.length === 0 ? '(none)' : methods.map((m) => m.toUpperCase()).join('|');
}

/** "allow GET|POST /v1/customers" / "deny * /v1/customers/*\/delete". */
export function describeRule(rule: PolicyRule): string {
  return `${rule.deny ? 'deny' : 'allow'} ${methodsText(rule.methods)} ${rule.path}`;
}

function validRule(r: unknown): r is PolicyRule {
  if (r === null || typeof r !== 'object') return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o['path'] === 'string' &&
    typeof o['deny'] === 'boolean' &&
    Array.isArray(o['methods']) &&
    (o['methods'] as unknown[]).every((m) => typeof m === 'string')
  );
}

function methodMatches(methods: readonly string[], method: string): boolean {
  for (const m of methods) if (m === '*' || m.toUpperCase() === method) return true;
  return false;
}

function blocked(rule: string): Decision {
  return { allowed: false, rule };
}

/**
 * Decide whether `method path` may go through. `method` must already be
 * normalised (normalizeMethod) and `path` must be RequestTarget.path (normalised,
 * no query); anything else is blocked.
 */
export function evaluatePolicies(policies: PolicyRule[] | undefined, method: string, path: string): Decision {
  let m: string;
  try {
    m = normalizeMethod(method);
  } catch {
    return blocked('invalid method');
  }
  if (m !== method) return blocked('method not normalised');
  let segments: string[];
  try {
    if (typeof path !== 'string' || path.includes('?')) return blocked('path not normalised');
    const parsed = parseRequestPath(path);
    if (parsed.path !== path) return blocked('path not normalised');
    segments = parsed.segments;
  } catch {
    return blocked('invalid path');
  }

  if (policies === undefined) return { allowed: true, rule: undefined };
  if (!Array.isArray(policies)) return blocked('invalid policies');

  // Fail closed: validate every rule before using any.
  const rules: { rule: PolicyRule; pattern: ParsedPattern }[] = [];
  for (const r of policies) {
    if (!validRule(r)) return blocked('invalid policy rule');
    try {
      rules.push({ rule: r, pattern: parsedPattern(r.path) });
    } catch {
      return blocked(`invalid policy path ${JSON.stringify(r.path)}`);
    }
  }

  for (const { rule, pattern } of rules) {
    if (rule.deny && methodMatches(rule.methods, m) && matchSegments(pattern.segments, segments, true)) {
      return blocked(describeRule(rule));
    }
  }
  for (const { rule, pattern } of rules) {
    if (!rule.deny && methodMatches(rule.methods, m) && matchSegments(pattern.segments, segments, false)) {
      return { allowed: true, rule: describeRule(rule) };
    }
  }
  return blocked('no matching policy');
}

const DESCRIBE_CAP = 5;

/**
 * Short list of what is allowed, for error messages:
 * "GET /v1/charges, GET|POST /v1/customers" (at most 5 rules, then "…").
 * undefined → "any method, any path"; no allow rules → "nothing".
 */
export function describeAllowed(policies: PolicyRule[] | undefined): string {
  if (policies === undefined) return 'any method, any path';
  const allows = policies.filter((r) => validRule(r) && !r.deny);
  if (allows.length === 0) return 'nothing';
  const shown = allows.slice(0, DESCRIBE_CAP).map((r) => `${methodsText(r.methods)} ${r.path}`);
  if (allows.length > DESCRIBE_CAP) shown.push('…');
  return shown.join(', ');
}
