/**
 * Janee 0.x capability rules → janee policies (pure).
 *
 * 0.x (src/core/rules.ts there): a rule is "METHOD PATH" (exactly two words; anything
 * else never matched). METHOD is one method, case-insensitive, or "*". PATH without
 * "*" matches exactly; with "*" it is a regex where "*" is ".*" — any characters,
 * "/" included. Per capability: deny rules first; then, if `allow` is present, only what
 * an allow rule matches; with `deny` only, everything else; with no rules, everything
 * (or nothing, when `server.defaultAccess: restricted`). A service is reachable
 * through any of its (proxy-mode) capabilities, so its 0.x allowed set is the union
 * of its capabilities' sets; a service with no capability was not reachable at all.
 *
 * janee policies cover a path and everything below it, `*` is one segment, `**` any
 * rest, deny rules win over every allow rule. The conversion never widens: each allow
 * becomes a subset of what it allowed (narrower when it cannot be said exactly), each
 * deny a superset of what it denied (broader when needed), and a 0.x exact path is
 * kept exact with a deny for what lies below it. Everything that is not exact is
 * reported, as are the capability settings janee 1 has no equivalent for.
 */
import { ALLOWED_METHODS, normalizePolicyPattern } from '../policy/index.js';

export interface Policy {
  path: string;
  methods: string[];
  deny?: boolean;
}

export interface LegacyCapability {
  name: string;
  service: string;
  mode?: unknown;
  rules?: unknown;
  ttl?: unknown;
  autoApprove?: unknown;
  requiresReason?: unknown;
  allowedAgents?: unknown;
}

interface PolicyPlan {
  /** undefined = no `policies:` key (any request); [] = nothing allowed. */
  policies: Policy[] | undefined;
  /** Human-readable notes: every inexact mapping, every dropped setting. */
  notes: string[];
}

interface Rule {
  text: string;
  /** '*' or an upper-case method. */
  method: string;
  glob: string;
}

interface Grant {
  cap: string;
  allowAll: boolean;
  allows: Rule[];
  denies: Rule[];
}

const EVERYTHING = new Set(['*', '**', '/*', '/**']);

function parseRule(raw: unknown, where: string, notes: string[]): Rule | undefined {
  if (typeof raw !== 'string') {
    notes.push(`${where}: a rule that is not a string was ignored (it never matched in 0.x)`);
    return undefined;
  }
  const parts = raw.trim().split(/\s+/);
  if (parts.length !== 2) {
    notes.push(`${where}: "${printable(raw)}" is not "METHOD PATH"; ignored (it never matched in 0.x)`);
    return undefined;
  }
  const [m, glob] = parts as [string, string];
  return { text: `${m} ${glob}`, method: m === '*' ? '*' : m.toUpperCase(), glob };
}

function printable(s: string): string {
  return s.replace(/[^\x20-\x7e]/g, '?').slice(0, 120);
}

function rulesOf(value: unknown, where: string, notes: string[]): Rule[] {
  if (!Array.isArray(value)) {
    notes.push(`${where}: not a list; ignored`);
    return [];
  }
  return value.map((r) => parseRule(r, where, notes)).filter((r): r is Rule => r !== undefined);
}

function grantOf(cap: LegacyCapability, defaultDeny: boolean, notes: string[]): Grant | undefined {
  const rules = cap.rules;
  const r = typeof rules === 'object' && rules !== null ? (rules as Record<string, unknown>) : undefined;
  const allowDefined = Boolean(r?.['allow']);
  const denyDefined = Boolean(r?.['deny']);
  const where = `capability ${cap.name}`;
  if (!allowDefined && !denyDefined) {
    if (defaultDeny) {
      notes.push(`${where} has no rules and server.defaultAccess was restricted: it allowed nothing`);
      return undefined;
    }
    return { cap: cap.name, allowAll: true, allows: [], denies: [] };
  }
  const denies = denyDefined ? rulesOf(r?.['deny'], `${where} deny`, notes) : [];
  if (!allowDefined) return { cap: cap.name, allowAll: true, allows: [], denies };
  return { cap: cap.name, allowAll: false, allows: rulesOf(r?.['allow'], `${where} allow`, notes), denies };
}

/** Splits "/a/*\/b" into segments; undefined when a segment mixes "*" with other characters. */
function wholeSegments(body: string): { segs: string[]; interiorStar: boolean } | undefined {
  const segs = body.slice(1).split('/');
  let interiorStar = false;
  const out: string[] = [];
  for (const s of segs) {
    if (s === '') return undefined; // "//": janee never matches empty segments
    if (s === '*' || s === '**') {
      out.push('*');
      interiorStar = true;
    } else if (s.includes('*')) return undefined;
    else out.push(s);
  }
  return { segs: out, interiorStar };
}

interface MappedAllow {
  path: string;
  /** The 0.x rule matched exactly this path (no "*"): a deny below it keeps it exact. */
  exactPath: boolean;
  note?: string;
}

/** An allow rule's glob → a janee path covering a subset of what it matched. */
function mapAllowGlob(glob: string): MappedAllow | { drop: string } {
  if (EVERYTHING.has(glob)) return { path: '/', exactPath: false };
  if (!glob.startsWith('/')) {
    return glob.startsWith('*')
      ? { drop: 'a leading "*" cannot be expressed' }
      : { drop: 'it does not start with "/", so it never matched in 0.x' };
  }
  if (glob.endsWith('*')) {
    const body = glob.replace(/\*+$/, '');
    if (body.endsWith('/')) {
      // "/v1/charges/*": everything below /v1/charges.
      const w = wholeSegments(body.slice(0, -1) || '/');
      if (!w || body === '/') return { drop: 'it cannot be expressed' };
      const path = `/${w.segs.join('/')}/*`;
      return w.interiorStar
        ? { path, exactPath: false, note: 'narrowed: a "*" in the middle now matches one path segment, not several' }
        : { path, exactPath: false };
    }
    // "/v1/charges*": a "*" inside the last segment. The largest subset janee can say is the prefix itself.
    const w = wholeSegments(body);
    if (!w) return { drop: 'a "*" inside a path segment cannot be expressed' };
    return {
      path: `/${w.segs.join('/')}`,
      exactPath: false,
      note: `narrowed: ${body} and paths below it still match, other paths starting with "${body}" no longer do`,
    };
  }
  const w = wholeSegments(glob.endsWith('/') && glob.length > 1 ? glob.slice(0, -1) : glob);
  if (!w) return { drop: 'a "*" inside a path segment cannot be expressed' };
  const path = `/${w.segs.join('/')}`;
  return w.interiorStar
    ? { path, exactPath: true, note: 'narrowed: a "*" in the middle now matches one path segment, not several' }
    : { path, exactPath: true };
}

/** A deny rule's glob → a janee path covering a superset of what it matched. */
function mapDenyGlob(glob: string): { path: string; note?: string } | { drop: string } {
  if (EVERYTHING.has(glob)) return { path: '/' };
  if (!glob.startsWith('/')) {
    return glob.startsWith('*')
      ? { path: '/', note: 'broadened to every path: a leading "*" cannot be expressed' }
      : { drop: 'it does not start with "/", so it never matched in 0.x' };
  }
  const segs = glob.slice(1).split('/');
  const first = segs.findIndex((s) => s.includes('*'));
  if (first < 0) {
    const path = glob.length > 1 && glob.endsWith('/') ? glob.slice(0, -1) : glob;
    return { path, note: `broadened: it now also blocks the paths below ${path} (0.x blocked ${path} only)` };
  }
  const last = first === segs.length - 1;
  if (last && (segs[first] === '*' || segs[first] === '**') && !segs.slice(0, first).some((s) => s === '')) {
    return { path: `/${[...segs.slice(0, first), '*'].join('/')}` };
  }
  const prefix = `/${segs.slice(0, first).join('/')}`;
  return { path: prefix, note: `broadened to ${prefix} and everything below it: a "*" there matched across path segments in 0.x` };
}

function validPath(path: string): string | undefined {
  try {
    return normalizePolicyPattern(path);
  } catch {
    return undefined;
  }
}

function methodsOf(rule: Rule): string[] | undefined {
  if (rule.method === '*') return ['*'];
  return ALLOWED_METHODS.includes(rule.method) ? [rule.method] : undefined;
}

/** Does the 0.x allow rule `r` match every path strictly below `path`, for method `m`? */
function coversBelow(r: Rule, m: string, path: string): boolean {
  if (!(r.method === '*' || (m !== '*' && r.method === m))) return false;
  if (EVERYTHING.has(r.glob)) return true;
  if (!r.glob.endsWith('*')) return false;
  const body = r.glob.replace(/\*+$/, '');
  return !body.includes('*') && `${path}/`.startsWith(body);
}

function key(p: Policy): string {
  return `${p.deny ? 'D' : 'A'} ${p.methods.join(',')} ${p.path}`;
}

export function describePolicy(p: Policy): string {
  return `${p.deny ? 'deny' : 'allow'} ${p.methods.join(',')} ${p.path}`;
}

/**
 * The policies for one service from its 0.x capabilities (all of those naming it).
 * `defaultDeny`: 0.x `server.defaultAccess: restricted` (a capability without rules allowed nothing).
 */
export function capabilitiesToPolicies(service: string, caps: LegacyCapability[], opts: { defaultDeny?: boolean } = {}): PolicyPlan {
  const notes: string[] = [];
  const grants: Grant[] = [];
  for (const cap of caps) {
    const where = `capability ${cap.name}`;
    if (cap.mode === 'exec') continue; // commands:, src/migrate/commands.ts
    if (cap.mode !== undefined && cap.mode !== 'proxy') {
      notes.push(`${where}: mode ${printable(scalarText(cap.mode))} is not supported by janee 1 (it only proxies HTTP); not carried over`);
      continue;
    }
    if (cap.ttl !== undefined)
      notes.push(
        `${where}: ttl ${printable(scalarText(cap.ttl))} is not carried over (janee 1 has no per-capability sessions; see janee unlock --ttl)`,
      );
    if (cap.autoApprove !== undefined) notes.push(`${where}: autoApprove is not carried over (janee 1 has no approvals)`);
    if (cap.requiresReason) notes.push(`${where}: requiresReason is not enforced by janee 1 (a reason is optional and logged when given)`);
    if (Array.isArray(cap.allowedAgents) && cap.allowedAgents.length > 0) {
      notes.push(`${where}: allowedAgents is not enforced by janee 1: every MCP client of janee serve can use ${service}`);
    }
    const g = grantOf(cap, opts.defaultDeny === true, notes);
    if (g) grants.push(g);
  }
  if (grants.length === 0) {
    notes.push(`no capability gave access to ${service} in 0.x: policies: [] keeps it blocked; edit config.yaml to allow requests`);
    return { policies: [], notes };
  }

  const allows: Policy[] = [];
  const denies: Policy[] = [];
  const allowAll = grants.some((g) => g.allowAll);
  const allAllowRules = grants.flatMap((g) => g.allows);
  if (allowAll) allows.push({ path: '/', methods: ['*'] });

  const exact: { path: string; methods: string[]; text: string }[] = [];
  if (!allowAll) {
    for (const g of grants) {
      for (const r of g.allows) {
        const methods = methodsOf(r);
        if (!methods) {
          notes.push(`allow "${r.text}" (${g.cap}) dropped: janee 1 never sends ${printable(r.method)} requests`);
          continue;
        }
        const m = mapAllowGlob(r.glob);
        if ('drop' in m) {
          notes.push(`allow "${printable(r.text)}" (${g.cap}) dropped: ${m.drop}`);
          continue;
        }
        const path = validPath(m.path);
        if (path === undefined) {
          notes.push(`allow "${printable(r.text)}" (${g.cap}) dropped: ${printable(m.path)} is not a valid janee policy path`);
          continue;
        }
        allows.push({ path, methods });
        if (m.note) notes.push(`allow "${printable(r.text)}" (${g.cap}) → allow ${methods.join(',')} ${path}: ${m.note}`);
        if (m.exactPath && path !== '/') exact.push({ path, methods, text: r.text });
      }
    }
  }

  for (const g of grants) {
    for (const r of g.denies) {
      if (!methodsOf(r)) {
        notes.push(`deny "${printable(r.text)}" (${g.cap}) dropped: janee 1 refuses ${printable(r.method)} requests anyway`);
        continue;
      }
      const methods = methodsOf(r) as string[];
      const m = mapDenyGlob(r.glob);
      if ('drop' in m) {
        notes.push(`deny "${printable(r.text)}" (${g.cap}) dropped: ${m.drop}`);
        continue;
      }
      let path = validPath(m.path);
      let note = m.note;
      if (path === undefined) {
        path = '/';
        note = `broadened to every path: ${printable(m.path)} is not a valid janee policy path`;
      }
      denies.push({ path, methods, deny: true });
      if (note) notes.push(`deny "${printable(r.text)}" (${g.cap}) → deny ${methods.join(',')} ${path}: ${note}`);
    }
  }
  if (grants.length > 1 && denies.length > 0) {
    notes.push(
      `deny rules now apply to every request to ${service}, not only to the capability that had them (${grants.map((g) => g.cap).join(', ')})`,
    );
  }

  // Keep 0.x exact paths exact: block what lies below them, unless another allow covered it.
  for (const e of exact) {
    const uncovered = e.methods.filter((m) => !allAllowRules.some((r) => coversBelow(r, m, e.path)));
    if (uncovered.length === 0) continue;
    const below = validPath(`${e.path}/*`);
    if (below === undefined) continue;
    denies.push({ path: below, methods: uncovered, deny: true });
    const hurt = allows.filter(
      (a) => a.path.startsWith(`${e.path}/`) && a.methods.some((m) => m === '*' || uncovered.includes('*') || uncovered.includes(m)),
    );
    notes.push(
      `allow "${printable(e.text)}" matched ${e.path} exactly: added deny ${uncovered.join(',')} ${below} so the paths below it stay blocked` +
        (hurt.length ? ` (this also blocks ${hurt.map((h) => `${h.methods.join(',')} ${h.path}`).join(', ')}, which 0.x allowed)` : ''),
    );
  }

  const seen = new Set<string>();
  const policies = [...allows, ...denies].filter((p) => {
    const k = key(p);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
  if (policies.length === 1 && !policies[0]?.deny && policies[0]?.path === '/' && policies[0].methods.join() === '*')
    return { policies: undefined, notes };
  return { policies, notes };
}

/** A config value as text for a message: strings as they are, anything else as JSON. */
function scalarText(v: unknown): string {
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v));
}
