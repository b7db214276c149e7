/**
 * 0.x capability rules → janee policies. The oracle below is 0.x's own semantics
 * (rules.ts there): deny first, then allow (if any), "*" in a path is ".*".
 * The property: whatever the rules, janee never allows a request 0.x refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { capabilitiesToPolicies, type LegacyCapability } from '../../src/migrate/rules.js';
import { evaluatePolicies } from '../../src/policy/index.js';

function matchGlob(pattern: string, path: string): boolean {
  if (pattern === path) return true;
  if (!pattern.includes('*')) return false;
  const re = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${re}$`).test(path);
}
function matchRule(rule: string, method: string, path: string): boolean {
  const parts = rule.trim().split(/\s+/);
  if (parts.length !== 2) return false;
  const [m, p] = parts as [string, string];
  return (m === '*' || m.toUpperCase() === method.toUpperCase()) && matchGlob(p, path);
}
/** 0.x checkRules for one capability. */
function oldAllows(cap: LegacyCapability, method: string, path: string): boolean {
  const rules = cap.rules as { allow?: string[]; deny?: string[] } | undefined;
  if (!rules || (!rules.allow && !rules.deny)) return true;
  if (rules.deny?.some((r) => matchRule(r, method, path))) return false;
  if (rules.allow) return rules.allow.some((r) => matchRule(r, method, path));
  return true;
}
const oldService = (caps: LegacyCapability[], method: string, path: string) => caps.some((c) => oldAllows(c, method, path));
/** As config.yaml loading gives them to the gate: deny is always a boolean. */
function asConfig(caps: LegacyCapability[]) {
  return capabilitiesToPolicies('svc', caps).policies?.map((p) => ({ path: p.path, methods: p.methods, deny: p.deny === true }));
}
const newAllows = (caps: LegacyCapability[], method: string, path: string) => evaluatePolicies(asConfig(caps), method, path).allowed;

const cap = (
  name: string,
  rules?: { allow?: string[] | undefined; deny?: string[] | undefined },
  extra: Partial<LegacyCapability> = {},
): LegacyCapability => ({
  name,
  service: 'svc',
  ...(rules ? { rules } : {}),
  ...extra,
});

describe('capabilitiesToPolicies', () => {
  it('exact paths stay exact, "/x/*" maps exactly, "*" is everything', () => {
    const caps = [cap('c', { allow: ['GET /v1/balance', 'GET /v1/charges/*', 'POST *'] })];
    const plan = capabilitiesToPolicies('svc', caps);
    expect(plan.policies).toEqual([
      { path: '/v1/balance', methods: ['GET'] },
      { path: '/v1/charges/*', methods: ['GET'] },
      { path: '/', methods: ['POST'] },
      { path: '/v1/balance/*', methods: ['GET'], deny: true },
    ]);
    for (const [m, p, ok] of [
      ['GET', '/v1/balance', true],
      ['GET', '/v1/balance/history', false],
      ['GET', '/v1/charges/ch_1', true],
      ['GET', '/v1/charges', false],
      ['POST', '/anything/at/all', true],
      ['DELETE', '/v1/balance', false],
    ] as const) {
      expect(newAllows(caps, m, p), `${m} ${p}`).toBe(ok);
      expect(oldService(caps, m, p), `${m} ${p} (0.x)`).toBe(ok);
    }
  });

  it('an exact path whose children another rule allows needs no extra deny', () => {
    const plan = capabilitiesToPolicies('svc', [cap('c', { allow: ['GET /v1/charges', 'GET /v1/charges/*'] })]);
    expect(plan.policies).toEqual([
      { path: '/v1/charges', methods: ['GET'] },
      { path: '/v1/charges/*', methods: ['GET'] },
    ]);
  });

  it('a mid-segment glob is narrowed and reported; never widened', () => {
    const plan = capabilitiesToPolicies('svc', [cap('c', { allow: ['GET /v1/charges*'] })]);
    expect(plan.policies).toEqual([{ path: '/v1/charges', methods: ['GET'] }]);
    expect(plan.notes.join('\n')).toMatch(/narrowed: \/v1\/charges and paths below it still match/);
  });

  it('deny rules are broadened when they cannot be said exactly, and reported', () => {
    const plan = capabilitiesToPolicies('svc', [cap('c', { deny: ['DELETE /v1/customers/*/sources', '* /admin*'] })]);
    expect(plan.policies).toEqual([
      { path: '/', methods: ['*'] },
      { path: '/v1/customers', methods: ['DELETE'], deny: true },
      { path: '/', methods: ['*'], deny: true },
    ]);
    expect(plan.notes.filter((n) => n.includes('broadened'))).toHaveLength(2);
  });

  it('no rules = any request (no policies key); no capability = nothing; an exec capability grants no HTTP; odd rules reported', () => {
    expect(capabilitiesToPolicies('svc', [cap('open')]).policies).toBeUndefined();
    expect(capabilitiesToPolicies('svc', [cap('open')], { defaultDeny: true }).policies).toEqual([]);
    const none = capabilitiesToPolicies('svc', []);
    expect(none.policies).toEqual([]);
    expect(none.notes[0]).toMatch(/no capability gave access/);
    const odd = capabilitiesToPolicies('svc', [
      cap('x', undefined, { mode: 'exec' }),
      cap('y', { allow: ['GET', 'TRACE /v1', 'GET v1/nope', 'GET /a/b*c/d'] }, { allowedAgents: ['claude'], requiresReason: true }),
    ]);
    expect(odd.policies).toEqual([]);
    const text = odd.notes.join('\n');
    expect(capabilitiesToPolicies('svc', [cap('x', undefined, { mode: 'exec' })]).policies).toEqual([]); // commands:, src/migrate/commands.ts
    expect(capabilitiesToPolicies('svc', [cap('x', undefined, { mode: 'weird' })]).notes.join('\n')).toMatch(/mode weird is not supported/);
    for (const re of [
      /"GET" is not "METHOD PATH"/,
      /never sends TRACE/,
      /never matched in 0.x/,
      /inside a path segment/,
      /allowedAgents is not enforced/,
      /requiresReason/,
    ]) {
      expect(text).toMatch(re);
    }
  });

  it('an allow:[] capability allows nothing (as in 0.x)', () => {
    const plan = capabilitiesToPolicies('svc', [cap('c', { allow: [] })]);
    expect(plan.policies).toEqual([]);
  });

  it('never allows what 0.x refused (property, random rules and requests)', () => {
    const seg = fc.constantFrom('v1', 'charges', 'customers', 'ch_1', 'admin', 'x');
    const globSeg = fc.oneof(
      seg,
      fc.constant('*'),
      fc.constant('**'),
      seg.map((s) => `${s}*`),
      seg.map((s) => `${s.slice(0, 2)}*${s.slice(2)}`),
    );
    const glob = fc.oneof(
      fc.constant('*'),
      fc.array(globSeg, { minLength: 1, maxLength: 4 }).map((a) => `/${a.join('/')}`),
      fc.array(seg, { minLength: 0, maxLength: 3 }).map((a) => `/${a.join('/')}${a.length ? '/' : ''}*`),
    );
    const method = fc.constantFrom('GET', 'POST', 'DELETE', '*', 'get');
    const rule = fc.tuple(method, glob).map(([m, g]) => `${m} ${g}`);
    const rules = fc.record({
      allow: fc.option(fc.array(rule, { maxLength: 4 }), { nil: undefined }),
      deny: fc.option(fc.array(rule, { maxLength: 3 }), { nil: undefined }),
    });
    const caps = fc.array(rules, { minLength: 1, maxLength: 3 }).map((rs) => rs.map((r, i) => cap(`c${i}`, r)));
    const request = fc.tuple(
      fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'),
      fc.array(seg, { minLength: 0, maxLength: 5 }).map((a) => `/${a.join('/')}`),
    );
    let allowed = 0;
    let both = 0;
    fc.assert(
      fc.property(caps, fc.array(request, { minLength: 1, maxLength: 20 }), (cs, reqs) => {
        for (const [m, p] of reqs) {
          const n = newAllows(cs, m, p);
          const o = oldService(cs, m, p);
          if (n && !o) return false;
          if (o) allowed++;
          if (n && o) both++;
        }
        return true;
      }),
      { numRuns: 2000 },
    );
    // Not vacuous: most of what 0.x allowed is still allowed.
    expect(both).toBeGreaterThan(allowed * 0.5);
  });
});
