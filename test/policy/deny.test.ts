/**
 * Deny rules and the spellings upstream routers treat as the same segment
 * (issue 8 part 6): format suffixes, trailing dots and whitespace, `;matrix`
 * parameters, case. Deny matching is widened; allow matching stays exact.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyRule } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';
import { denyCovers, denyFold, describeBlocked, evaluatePolicies, normalizeRequestTarget } from '../../src/policy/index.js';

const allow = (path: string, ...methods: string[]): PolicyRule => ({ path, methods, deny: false });
const deny = (path: string, ...methods: string[]): PolicyRule => ({ path, methods, deny: true });

/** What the gate does: normalise what the agent sent, then evaluate what will be sent. */
function decide(policies: PolicyRule[] | undefined, method: string, raw: string) {
  return evaluatePolicies(policies, method, normalizeRequestTarget(raw).path);
}

function refused(raw: string): boolean {
  try {
    normalizeRequestTarget(raw);
    return false;
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('GATE_BAD_REQUEST');
    return true;
  }
}

describe('deny /v1/admin under allow /', () => {
  const rules = [allow('/', '*'), deny('/v1/admin', '*')];

  it.each([
    // The examples (raw ';' is refused by the normaliser, so it comes as %3B).
    '/v1/admin.json',
    '/v1/admin.',
    '/v1/admin%20',
    '/v1/admin%3Bx',
    '/v1/admin%3bx',
    // Variants.
    '/v1/admin.JSON',
    '/v1/ADMIN.Json',
    '/v1/admin..',
    '/v1/admin...',
    '/v1/admin%2e',
    '/v1/admin%2E%2E',
    '/v1/admin%20%20',
    '/v1/admin.%20',
    '/v1/admin%20.',
    '/v1/admin%20.json',
    '/v1/admin%3B',
    '/v1/admin%3Bjsessionid=1',
    '/v1/admin%3Bjsessionid=1/users',
    '/v1/admin.json%3Bx',
    '/v1/admin%3Bx.json',
    '/v1/admin.tar.gz',
    '/v1/admin.json/',
    '/v1/admin.json/users/1',
    '/v1/admin%20/users',
    '/v1/%41dmin%2Ejson',
    '/v1/admin%EF%BC%8E', // fullwidth full stop, NFKC → '.'
    '/v1/admin%EF%BC%9Bx', // fullwidth semicolon, NFKC → ';'
    '/v1%3Bv=2/admin', // matrix parameters on an earlier segment
    '/v1.json/admin.json',
    '/V1./ADMIN.',
  ])('blocks %s', (raw) => {
    expect(decide(rules, 'GET', raw), raw).toEqual({ allowed: false, rule: 'deny * /v1/admin' });
  });

  it.each([
    '/v1/admin;x',
    '/v1/admin%09',
    '/v1/admin\t',
    '/v1/admin ',
    '/v1/admin%0A',
    '/v1/admin%00',
    '/v1/admin%C2%A0',
    '/v1/admin%E2%80%82',
  ])('the normaliser refuses %j before any matching', (raw) => {
    expect(refused(raw)).toBe(true);
  });

  it.each([
    '/v1/adminx',
    '/v1/administrators',
    '/v1/admins.json',
    '/v1/admin_json',
    '/v1/admin-v2',
    '/v1/admin~',
    '/v1/xadmin.json',
    '/v1/ad.min',
    '/v1/admin%20x',
    '/v2/admin',
    '/admin',
  ])('still allows %s (a different segment)', (raw) => {
    expect(decide(rules, 'GET', raw)).toEqual({ allowed: true, rule: 'allow * /' });
  });

  it('honours the rule methods', () => {
    const postOnly = [allow('/', '*'), deny('/v1/admin', 'POST')];
    expect(decide(postOnly, 'POST', '/v1/admin.json').allowed).toBe(false);
    expect(decide(postOnly, 'GET', '/v1/admin.json').allowed).toBe(true);
  });
});

describe('deny with "*" and "**"', () => {
  it('folds literal segments around "*"', () => {
    const rules = [allow('/v1/customers', '*'), deny('/v1/customers/*/delete', '*')];
    for (const raw of [
      '/v1/customers/cus_1/delete.json',
      '/v1/customers/cus_1/DELETE.',
      '/v1/customers/cus_1/delete%20',
      '/v1/customers/cus_1/delete%3Bx=1',
      '/v1/customers/cus_1.json/delete.xml',
      '/v1/customers/cus_1%3Bx/delete',
    ]) {
      expect(decide(rules, 'POST', raw), raw).toEqual({ allowed: false, rule: 'deny * /v1/customers/*/delete' });
    }
    expect(decide(rules, 'POST', '/v1/customers/cus_1/deleted').allowed).toBe(true);
    expect(decide(rules, 'POST', '/v1/customers/delete.json').allowed).toBe(true); // "*" needs a segment
  });

  it('folds literal segments before "**"', () => {
    const rules = [allow('/', '*'), deny('/v1/admin/**', '*')];
    for (const raw of ['/v1/admin.json', '/v1/admin%20/x', '/v1/Admin%3Bx/y/z', '/v1/admin.']) {
      expect(decide(rules, 'GET', raw), raw).toEqual({ allowed: false, rule: 'deny * /v1/admin/**' });
    }
    expect(decide(rules, 'GET', '/v1/adminx/y').allowed).toBe(true);
  });
});

describe('a deny rule that itself has a suffix', () => {
  const rules = [allow('/', '*'), deny('/v1/report.pdf', '*')];

  it('covers its folded forms and longer suffixes', () => {
    for (const raw of [
      '/v1/report.pdf',
      '/v1/REPORT.PDF',
      '/v1/report.pdf.',
      '/v1/report.pdf%20',
      '/v1/report.pdf%3Bx',
      '/v1/report.pdf.gz',
      '/v1/report.pdf/1',
    ]) {
      expect(decide(rules, 'GET', raw).allowed, raw).toBe(false);
    }
  });

  it('does not cover the bare name or a longer extension', () => {
    for (const raw of ['/v1/report', '/v1/report.pdfx', '/v1/report.pd', '/v1/report.json']) {
      expect(decide(rules, 'GET', raw).allowed, raw).toBe(true);
    }
  });
});

describe('allow rules keep their exact meaning', () => {
  it('an allow rule does not widen to folded spellings', () => {
    const rules = [allow('/v1/admin', 'GET')];
    expect(decide(rules, 'GET', '/v1/admin').allowed).toBe(true);
    expect(decide(rules, 'GET', '/v1/admin/users').allowed).toBe(true);
    for (const raw of ['/v1/admin.json', '/v1/admin.', '/v1/admin%20', '/v1/admin%3Bx', '/v1/Admin']) {
      expect(decide(rules, 'GET', raw), raw).toEqual({ allowed: false, rule: 'no matching policy' });
    }
    expect(decide([allow('/v1/report.json', 'GET')], 'GET', '/v1/report').allowed).toBe(false);
  });

  it('deny wins over an allow that covers the suffixed spelling exactly', () => {
    const rules = [allow('/v1/admin.json', 'GET'), allow('/v1/**', 'GET'), deny('/v1/admin', '*')];
    expect(decide(rules, 'GET', '/v1/admin.json')).toEqual({ allowed: false, rule: 'deny * /v1/admin' });
    expect(decide(rules, 'GET', '/v1/other.json')).toEqual({ allowed: true, rule: 'allow GET /v1/**' });
  });
});

describe('denyFold / denyCovers', () => {
  it('folds case, compatibility forms, ";…" and trailing dots and whitespace', () => {
    expect(denyFold('Admin')).toBe('admin');
    expect(denyFold('admin;jsessionid=1')).toBe('admin');
    expect(denyFold('admin. .  ')).toBe('admin');
    expect(denyFold('admin\uff0e')).toBe('admin');
    expect(denyFold('admin.json')).toBe('admin.json');
    expect(denyFold(';x')).toBe('');
  });

  it('covers the rule segment, then strippable characters, a "." and anything', () => {
    expect(denyCovers('admin', 'admin')).toBe(true);
    expect(denyCovers('admin', 'admin .x')).toBe(true);
    expect(denyCovers('admin', 'admin.')).toBe(true);
    expect(denyCovers('admin', 'admin x')).toBe(false);
    expect(denyCovers('admin', 'adminx')).toBe(false);
    expect(denyCovers('admin', 'admi')).toBe(false);
    expect(denyCovers('Admin.', 'admin.json')).toBe(true);
  });

  it('is linear: a 16 KiB segment of dots and spaces is quick', () => {
    const seg = 'admin' + ' .'.repeat(8000) + 'x';
    const t0 = performance.now();
    for (let i = 0; i < 50; i++) expect(denyCovers('admin', seg)).toBe(true);
    expect(denyCovers('admin', 'admin' + ' '.repeat(16000) + 'x')).toBe(false);
    expect(performance.now() - t0).toBeLessThan(5000); // quadratic would be ~10^10 steps
  });
});

describe('describeBlocked', () => {
  it('names the deny rule that matched', () => {
    const rules = [allow('/v1', '*'), deny('/v1/admin', '*')];
    const d = decide(rules, 'GET', '/v1/admin.json');
    expect(describeBlocked('svc', 'GET', '/v1/admin.json', rules, d)).toBe(
      'blocked: GET /v1/admin.json is not allowed for svc (denied by deny * /v1/admin; allowed: * /v1)',
    );
    const none = decide(rules, 'GET', '/v2');
    expect(describeBlocked('svc', 'GET', '/v2', rules, none)).toBe('blocked: GET /v2 is not allowed for svc (allowed: * /v1)');
  });
});

// ------------------------------------------------------------------ properties

const RUNS = { numRuns: 1000 };

/** How a client might spell a segment that routers fold back to it. */
const SUFFIXES = [
  '',
  '',
  '.json',
  '.JSON',
  '.',
  '..',
  '%2e',
  '%2E%2e',
  '%20',
  '%20%20',
  '.%20',
  '%20.',
  '%20.xml',
  '%3Bx',
  '%3bjsessionid=1',
  '%3B',
  '.json%3Bx',
  '%3Bx.json',
  '.tar.gz',
  '%EF%BC%8E',
  '%EF%BC%9Bv=1',
  '.%2E.',
  '..json',
  '.a%20b',
];

/** Percent-encode some characters and flip the case of others. */
function respell(seg: string, picks: readonly number[]): string {
  return [...seg]
    .map((ch, i) => {
      const p = picks[i % picks.length] ?? 0;
      if (p === 1) return ch.toUpperCase();
      if (p === 2) return '%' + ch.charCodeAt(0).toString(16).padStart(2, '0');
      return ch;
    })
    .join('');
}

const literal = fc.constantFrom('admin', 'v1', 'users', 'delete', 'report.pdf', 'a', 'x_y');
const ruleSeg = fc.oneof({ arbitrary: literal, weight: 4 }, { arbitrary: fc.constant('*'), weight: 1 });
const denyRuleArb = fc
  .tuple(fc.array(ruleSeg, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([segs, rest]) => '/' + [...segs, ...(rest ? ['**'] : [])].join('/'));
const picksArb = fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 6 });
const decoratedSeg = (seg: string) =>
  fc.tuple(fc.constantFrom(...SUFFIXES), picksArb).map(([suffix, picks]) => respell(seg, picks) + suffix);
const tailArb = fc.array(fc.constantFrom('x', 'users', '1', 'a.b', '%20'), { maxLength: 3 });

describe('deny properties', () => {
  it('any spelling whose fold is under a deny rule is blocked, whatever else is allowed', () => {
    const arb = denyRuleArb.chain((rule) => {
      const segs = rule
        .slice(1)
        .split('/')
        .filter((s) => s !== '**');
      const spelled = fc.tuple(...segs.map((s) => (s === '*' ? fc.constantFrom('cus_1', 'ANY', 'z.json', 'q%3Bx') : decoratedSeg(s))));
      return fc.tuple(fc.constant(rule), spelled, tailArb, fc.boolean());
    });
    fc.assert(
      fc.property(arb, ([rule, segs, tail, slash]) => {
        const raw = '/' + [...segs, ...tail].join('/') + (slash ? '/' : '');
        const t = normalizeRequestTarget(raw);
        const rules = [allow('/', '*'), allow(t.path, '*'), deny(rule, '*')];
        expect(evaluatePolicies(rules, 'GET', t.path), raw).toEqual({ allowed: false, rule: `deny * ${rule}` });
      }),
      RUNS,
    );
  });

  it('agrees with an independent reference fold', () => {
    /** All the heads a router might take the segment for (quadratic, obviously right). */
    const heads = (seg: string): Set<string> => {
      const s = seg.normalize('NFKC').toLowerCase().split(';')[0]!;
      const trim = (x: string) => x.replace(/[\s.]+$/u, '');
      const out = new Set([trim(s)]);
      for (let i = 0; i < s.length; i++) if (s[i] === '.') out.add(trim(s.slice(0, i)));
      return out;
    };
    const ruleLit = fc.constantFrom('admin', 'Admin.', 'a.b', 'a', 'x%3By', 'r%20');
    const pathSeg = fc
      .array(fc.constantFrom('a', 'A', 'b', 'admin', '.', '%20', '%3B', 'x', 'y', 'json', 'r', '%EF%BC%8E'), { minLength: 1, maxLength: 6 })
      .map((a) => a.join(''))
      .filter((s) => !refused('/' + s));
    fc.assert(
      fc.property(ruleLit, pathSeg, (r, raw) => {
        const seg = decodeURIComponent(normalizeRequestTarget('/' + raw).path.slice(1));
        const ruleDecoded = decodeURIComponent(r);
        const expected = heads(seg).has(heads(ruleDecoded).values().next().value!);
        expect(denyCovers(ruleDecoded, seg), `${r} vs ${raw}`).toBe(expected);
        expect(evaluatePolicies([allow('/', '*'), deny('/' + r, '*')], 'GET', normalizeRequestTarget('/' + raw).path).allowed).toBe(
          !expected,
        );
      }),
      RUNS,
    );
  });

  it('allow-only configurations keep exact semantics on decorated paths', () => {
    const arb = fc.tuple(literal, literal).chain(([a, b]) => fc.tuple(fc.constant(`/${a}/${b}`), decoratedSeg(a), decoratedSeg(b)));
    fc.assert(
      fc.property(arb, ([rule, a, b]) => {
        const t = normalizeRequestTarget(`/${a}/${b}`);
        const exact = t.path === rule || t.path.startsWith(rule + '/');
        expect(evaluatePolicies([allow(rule, 'GET')], 'GET', t.path).allowed).toBe(exact);
      }),
      RUNS,
    );
  });
});
