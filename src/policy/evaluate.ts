/**
 * Policy evaluation (pure). Semantics (DESIGN.md "Policy matching"):
 * - `policies` undefined (no `policies:` key) → any method, any path is allowed;
 *   `[]` → everything is blocked; no matching rule → blocked;
 * - a deny rule that matches wins over every allow rule;
 * - a pattern covers itself and everything below it at a '/' boundary
 *   (`/v1/charges` covers `/v1/charges/ch_1`, not `/v1/chargesX`); `*` is exactly
 *   one (non-empty) segment; `**` (last segment only) is any rest, zero or more;
 * - segments are compared percent-decoded (so `%21` and `!` are equal);
 * - allow rules match exactly; deny rules match each segment through a wider
 *   "deny-equivalence" (denyCovers below), so that the spellings upstream routers
 *   treat as the same resource cannot get around a deny: case and Unicode
 *   compatibility forms, `;matrix` parameters, trailing dots and whitespace, and
 *   format suffixes (`deny /v1/admin` blocks `/v1/ADMIN`, `/v1/admin.json`,
 *   `/v1/admin.`, `/v1/admin%20`, `/v1/admin%3Bx`, and all below them). Widening
 *   only ever removes access, so an allow-only config keeps its exact meaning;
 * - a trailing '/' on the request path is ignored for matching;
 * - fail closed: a method or path that is not in normalised form, or any
 *   invalid rule, blocks the request.
 */
import { isWhitespace } from './chars.js';
import { normalizeMethod, parsePolicyPattern, parseRequestPath, type ParsedPattern, type PatternSegment } from './normalize.js';
import type { PolicyRule } from './types.js';

export interface Decision {
  allowed: boolean;
  /** e.g. "deny * /v1/customers/*\/delete", "allow GET /v1/charges", "no matching policy". */
  rule: string | undefined;
  /** The allow rule that matched says `approve: true`: the call needs a human's approval first. */
  approve?: boolean;
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

/** Trailing characters routers strip (IIS, .NET, some static and PHP stacks). */
function isStrippable(c: string): boolean {
  return c === '.' || isWhitespace(c);
}

/**
 * A decoded segment as the most lenient common router would see it: Unicode
 * NFKC and lower case (ASP.NET, case-insensitive Spring), the Turkish i's as i, cut at the first ';'
 * (Tomcat/Jetty/Spring matrix parameters, `;jsessionid=`), then without trailing
 * dots and whitespace (IIS, Windows file names). The normaliser already refuses
 * raw ';', raw whitespace and encoded controls; what reaches this point is the
 * decoded form of %3B, %20 and %2E, or their Unicode compatibility look-alikes.
 */
export function denyFold(segment: string): string {
  // Dotted İ and dotless ı fold to i: Java's equalsIgnoreCase (Spring's
  // case-insensitive AntPathMatcher) takes ı for i and İ for i, Go's
  // strings.ToLower turns İ into i; JavaScript's toLowerCase makes İ "i̇".
  let s = segment
    .normalize('NFKC')
    .replace(/[\u0130\u0131]/g, 'i')
    .toLowerCase();
  const semi = s.indexOf(';');
  if (semi >= 0) s = s.slice(0, semi);
  let end = s.length;
  while (end > 0 && isStrippable(s[end - 1]!)) end--;
  return s.slice(0, end);
}

/**
 * Whether a deny rule's literal segment covers a path segment: both folded
 * (denyFold), the path's is the rule's, or the rule's followed by a format
 * suffix — strippable characters then a '.' and anything (`admin.json`,
 * `admin.tar.gz`, `admin .x`; Rails `(.:format)`, Spring suffix patterns,
 * JAX-RS extension mapping). A rule that itself has a suffix (`report.pdf`)
 * covers `report.pdf.x` but not `report`. Linear in the segment's length.
 */
export function denyCovers(ruleSegment: string, segment: string): boolean {
  const r = denyFold(ruleSegment);
  const s = denyFold(segment);
  if (!s.startsWith(r)) return false;
  let sawDot = false;
  for (let i = r.length; i < s.length; i++) {
    const c = s[i]!;
    if (!isStrippable(c)) return sawDot;
    if (c === '.') sawDot = true;
  }
  return true; // equal (s has no trailing strippables after denyFold)
}

function matchSegments(pat: readonly PatternSegment[], path: readonly string[], deny: boolean): boolean {
  for (let i = 0; i < pat.length; i++) {
    const p = pat[i]!;
    if (p.kind === 'rest') return true; // only ever last: any rest, zero or more segments
    const s = path[i];
    if (s === undefined) return false; // path is shorter than the pattern
    if (p.kind === 'one') continue; // one segment (segments are never empty)
    if (deny ? !denyCovers(p.value, s) : p.value !== s) return false;
  }
  return true; // pattern consumed: covers itself and everything below
}

/**
 * Whether `pattern` covers `path`. Both are normalised first: the pattern with
 * normalizePolicyPattern rules (throws Error if invalid), the path with request
 * rules (throws JaneeError GATE_BAD_REQUEST if invalid; a `?query` is ignored).
 * `deny: true` matches the way a deny rule does (denyCovers per segment).
 */
export function matchesPattern(pattern: string, path: string, options?: { deny?: boolean }): boolean {
  const pat = parsedPattern(pattern);
  const p = parseRequestPath(path);
  return matchSegments(pat.segments, p.segments, options?.deny === true);
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
      return rule.approve === true
        ? { allowed: true, rule: describeRule(rule), approve: true }
        : { allowed: true, rule: describeRule(rule) };
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

/**
 * The agent-facing refusal for a blocked decision, naming the deny rule when
 * one matched (the model should learn which rule said no, not just what is
 * allowed): "blocked: GET /v1/admin.json is not allowed for svc (denied by
 * deny * /v1/admin; allowed: * /v1)".
 */
export function describeBlocked(
  service: string,
  method: string,
  path: string,
  policies: PolicyRule[] | undefined,
  decision: Decision,
): string {
  const denied = decision.rule?.startsWith('deny ') === true ? `denied by ${decision.rule}; ` : '';
  return `blocked: ${method} ${path} is not allowed for ${service} (${denied}allowed: ${describeAllowed(policies)})`;
}
