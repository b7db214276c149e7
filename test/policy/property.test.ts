import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PolicyRule } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';
import {
  ALLOWED_METHODS,
  buildUpstreamUrl,
  evaluatePolicies,
  matchesPattern,
  normalizeMethod,
  normalizePolicyPattern,
  normalizeRequestTarget,
  type RequestTarget,
} from '../../src/policy/index.js';

const RUNS = { numRuns: 1500 };

/** Pieces attackers like, glued together at random. */
const TOKENS = [
  '/',
  '/',
  '/',
  '//',
  '.',
  '..',
  '...',
  '%2e',
  '%2E',
  '.%2e',
  '%2e.',
  '%2f',
  '%2F',
  '%25',
  '%252e',
  '%252f',
  '%5c',
  '%5C',
  '\\',
  ';',
  '%3b',
  '..;',
  '?',
  '&',
  '=',
  '#',
  '%23',
  '@',
  ':',
  'http:',
  'HTTPS://',
  'evil.example',
  'a',
  'B',
  'v1',
  'charges',
  '%41',
  '%7e',
  '%7E',
  '~',
  '*',
  '**',
  '%',
  '%4',
  '%G1',
  '%00',
  '%0d%0a',
  '\u0000',
  '\r\n',
  '\t',
  ' ',
  '%20',
  '\u007f',
  '%7f',
  'é',
  '%C3%A9',
  '%c3%a9',
  '%C0%AE',
  '%EF%BC%8E',
  '%EF%BC%8F',
  '\uff0e',
  '\u2028',
  '%E2%80%AE',
  '\ud800',
  '😀',
  '{',
  '}',
  '|',
  '^',
  '`',
  '"',
  "'",
  '<',
  '>',
  '[',
  ']',
  '+',
  '!',
  '$',
  '(',
  ')',
  ',',
  '%2A',
  '%3F',
  '%40',
  '%3A',
  '%80',
  '%FF',
];

/** '/' + printable ASCII and random '%XX' escapes (any byte, any case): mostly accepted. */
const printable = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
const escape = fc
  .tuple(fc.integer({ min: 0, max: 255 }), fc.boolean())
  .map(([b, lower]) => '%' + (lower ? b.toString(16).padStart(2, '0') : b.toString(16).padStart(2, '0').toUpperCase()));
const asciiPath = fc
  .array(fc.oneof({ arbitrary: printable, weight: 4 }, { arbitrary: escape, weight: 1 }, { arbitrary: fc.constant('/'), weight: 1 }), {
    maxLength: 30,
  })
  .map((a) => '/' + a.join(''));

const hostile = fc.oneof(
  asciiPath,
  asciiPath,
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((a) => a.join('')),
  fc.array(fc.constantFrom(...TOKENS), { maxLength: 12 }).map((a) => '/' + a.join('')),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => '/' + s),
  fc.webPath(),
  fc.webUrl({ withQueryParameters: true, withFragments: true }),
);

const BASES = ['https://api.example.com', 'https://api.example.com/api/v2', 'http://127.0.0.1:8080/p'];

function basePathOf(base: string): string {
  const p = new URL(base).pathname;
  return p.endsWith('/') ? p.slice(0, -1) : p;
}

/** Normalise, or check it was refused properly; undefined when refused. */
function tryNormalize(raw: string, extra?: Record<string, string | string[]>): RequestTarget | undefined {
  try {
    return normalizeRequestTarget(raw, extra);
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('GATE_BAD_REQUEST');
    expect((e as JaneeError).message.length).toBeGreaterThan(0);
    return undefined;
  }
}

const CANONICAL_PATH = /^\/(?:(?:[A-Za-z0-9\-._~!$&'()*+,=:@]|%[0-9A-F]{2})+\/?)*$/;

function checkTarget(t: RequestTarget): void {
  // Shape of the canonical path.
  expect(t.path).toMatch(CANONICAL_PATH);
  for (const m of t.path.matchAll(/%([0-9A-F]{2})/g)) {
    const b = parseInt(m[1]!, 16);
    expect(/[A-Za-z0-9\-._~]/.test(String.fromCharCode(b)), m[0]).toBe(false); // unreserved decoded
    expect([0x25, 0x2f, 0x5c]).not.toContain(b);
    expect(b >= 0x20 && b !== 0x7f).toBe(true);
  }
  expect(t.path.includes('//')).toBe(false);
  const segs = t.path.split('/').slice(1);
  for (const s of segs) expect(/^\.+$/.test(s)).toBe(false);
  expect(t.query).not.toMatch(/[#\s\u0000-\u001f\u007f]/);
  // (c) idempotent.
  expect(normalizeRequestTarget(t.query === '' ? t.path : `${t.path}?${t.query}`)).toEqual(t);
  // (a) + (b): the URL keeps origin and prefix, and WHATWG parsing does not rewrite it.
  for (const base of BASES) {
    const u = new URL(buildUpstreamUrl(base, t));
    expect(u.origin).toBe(new URL(base).origin);
    expect(u.username + u.password).toBe('');
    expect(u.hash).toBe('');
    expect(u.pathname).toBe(basePathOf(base) + t.path);
    expect(u.pathname.startsWith(basePathOf(base) + '/')).toBe(true);
    expect(u.search).toBe(t.query === '' ? '' : `?${t.query}`);
    const after = u.pathname.split('/');
    for (const s of after) {
      expect(s === '.' || s === '..').toBe(false);
      expect(/^(?:\.|%2e)+$/i.test(s)).toBe(false);
    }
    // Also when resolved against the base the way a client might do it.
    expect(new URL(t.path, new URL(base).origin).pathname).toBe(t.path);
  }
}

describe('normalizeRequestTarget properties', () => {
  it('either refuses with GATE_BAD_REQUEST or returns a safe fixed point', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        const t = tryNormalize(raw);
        if (t !== undefined) checkTarget(t);
      }),
      RUNS,
    );
  });

  it('same, with a query object merged in', () => {
    const extra = fc.dictionary(
      fc.string({ unit: 'binary', minLength: 1, maxLength: 8 }),
      fc.oneof(fc.string({ unit: 'binary', maxLength: 8 }), fc.array(fc.string({ unit: 'binary', maxLength: 8 }), { maxLength: 3 })),
      { maxKeys: 4 },
    );
    fc.assert(
      fc.property(hostile, extra, (raw, q) => {
        const t = tryNormalize(raw, q);
        if (t !== undefined) checkTarget(t);
      }),
      RUNS,
    );
  });

  it('never lets a dot segment through, however it is spelled', () => {
    const dot = fc.array(fc.constantFrom('.', '%2e', '%2E', '%EF%BC%8E'), { minLength: 1, maxLength: 3 }).map((a) => a.join(''));
    const seg = fc.oneof(fc.constantFrom('a', 'v1', 'x_y'), dot);
    fc.assert(
      fc.property(fc.array(seg, { minLength: 1, maxLength: 6 }), fc.boolean(), (segs, slash) => {
        const raw = '/' + segs.join('/') + (slash ? '/' : '');
        const t = tryNormalize(raw);
        const hasDot = segs.some((s) => !['a', 'v1', 'x_y'].includes(s));
        expect(t === undefined).toBe(hasDot);
      }),
      RUNS,
    );
  });

  it('percent-encoding unreserved characters changes nothing', () => {
    const unreserved = fc.constantFrom(...'abcXYZ019-._~'.split(''));
    const segment = fc
      .array(unreserved, { minLength: 1, maxLength: 6 })
      .map((a) => a.join(''))
      .filter((s) => !/^\.+$/.test(s));
    fc.assert(
      fc.property(fc.array(segment, { minLength: 1, maxLength: 5 }), fc.infiniteStream(fc.integer({ min: 0, max: 2 })), (segs, pick) => {
        const plain = '/' + segs.join('/');
        const encoded = [...plain]
          .map((ch) => {
            if (ch === '/') return ch;
            const hex = ch.charCodeAt(0).toString(16).padStart(2, '0');
            const p = pick.next().value;
            return p === 0 ? ch : p === 1 ? `%${hex.toLowerCase()}` : `%${hex.toUpperCase()}`;
          })
          .join('');
        expect(normalizeRequestTarget(encoded)).toEqual({ path: plain, query: '' });
      }),
      RUNS,
    );
  });

  it('normalizeMethod accepts exactly the allowed methods, any case', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom(...ALLOWED_METHODS, 'trace', 'connect', 'Get')), (m) => {
        let out: string | undefined;
        try {
          out = normalizeMethod(m);
        } catch (e) {
          expect((e as JaneeError).code).toBe('GATE_BAD_REQUEST');
        }
        const expected = /^[A-Za-z]+$/.test(m) && ALLOWED_METHODS.includes(m.toUpperCase()) ? m.toUpperCase() : undefined;
        expect(out).toBe(expected);
      }),
      RUNS,
    );
  });

  it('normalizePolicyPattern is idempotent or throws', () => {
    fc.assert(
      fc.property(hostile, (raw) => {
        let p: string;
        try {
          p = normalizePolicyPattern(raw);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          return;
        }
        expect(normalizePolicyPattern(p)).toBe(p);
        expect(p.startsWith('/')).toBe(true);
        expect(p.includes('//')).toBe(false);
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------ policies

const LIT = ['a', 'b', 'A', 'x'];
const litSeg = fc.constantFrom(...LIT);
const patternArb = fc
  .tuple(fc.array(fc.oneof(litSeg, litSeg, fc.constant('*')), { maxLength: 3 }), fc.boolean())
  .map(([segs, rest]) => '/' + [...segs, ...(rest ? ['**'] : [])].join('/'));
const methodsArb = fc.oneof(fc.constant<string[]>(['*']), fc.subarray(['GET', 'POST', 'DELETE'], { minLength: 1 }));
const ruleArb: fc.Arbitrary<PolicyRule> = fc.record({ path: patternArb, methods: methodsArb, deny: fc.boolean() });
/** Canonical segments, some of them spellings routers fold back to a, b or x. */
const pathSegArb = fc.oneof(
  { arbitrary: fc.constantFrom('a', 'b', 'A', 'B', 'x', 'X'), weight: 3 },
  { arbitrary: fc.constantFrom('a.json', 'A.', 'a%20', 'b%3Bx', 'x..', 'b.A', 'a%20.x', 'ab', 'a%20b'), weight: 1 },
);
const pathArb = fc
  .tuple(fc.array(pathSegArb, { maxLength: 5 }), fc.boolean())
  .map(([segs, slash]) => (segs.length === 0 ? '/' : '/' + segs.join('/') + (slash ? '/' : '')));
const methodArb = fc.constantFrom('GET', 'POST', 'DELETE');

/**
 * Reference model, written independently of the implementation. A deny rule
 * segment matches a path segment when, lower-cased and cut at ';', the path's
 * segment is the rule's up to a '.' and trailing dots or spaces.
 */
function refDenyEq(rule: string, seg: string): boolean {
  const trim = (x: string) => x.replace(/[\s.]+$/u, '');
  const s = seg.toLowerCase().split(';')[0]!;
  const r = trim(rule.toLowerCase().split(';')[0]!);
  if (trim(s) === r) return true;
  for (let i = 0; i < s.length; i++) if (s[i] === '.' && trim(s.slice(0, i)) === r) return true;
  return false;
}
function refMatches(pattern: string, path: string, deny: boolean): boolean {
  const pat = pattern === '/' ? [] : pattern.slice(1).split('/');
  let segs = path === '/' ? [] : path.slice(1).split('/').map(decodeURIComponent);
  if (segs.length > 0 && segs[segs.length - 1] === '') segs = segs.slice(0, -1);
  const eq = (x: string, y: string) => (deny ? refDenyEq(x, y) : x === y);
  for (let i = 0; i < pat.length; i++) {
    if (pat[i] === '**') return true;
    if (i >= segs.length) return false;
    if (pat[i] !== '*' && !eq(pat[i]!, segs[i]!)) return false;
  }
  return true;
}
const refMethod = (r: PolicyRule, m: string) => r.methods.includes('*') || r.methods.includes(m);
function refAllowed(rules: PolicyRule[], m: string, path: string): boolean {
  if (rules.some((r) => r.deny && refMethod(r, m) && refMatches(r.path, path, true))) return false;
  return rules.some((r) => !r.deny && refMethod(r, m) && refMatches(r.path, path, false));
}

describe('evaluatePolicies properties', () => {
  const rulesArb = fc.array(ruleArb, { maxLength: 6 });

  it('agrees with a reference model', () => {
    fc.assert(
      fc.property(rulesArb, methodArb, pathArb, (rules, m, path) => {
        expect(evaluatePolicies(rules, m, path).allowed).toBe(refAllowed(rules, m, path));
      }),
      RUNS,
    );
  });

  it('an allowed request matches no deny rule for its method, and some allow rule', () => {
    fc.assert(
      fc.property(rulesArb, methodArb, pathArb, (rules, m, path) => {
        const d = evaluatePolicies(rules, m, path);
        if (!d.allowed) return;
        expect(d.rule).toMatch(/^allow /);
        for (const r of rules) {
          if (r.deny && refMethod(r, m)) {
            expect(matchesPattern(r.path, path, { deny: true })).toBe(false);
            expect(matchesPattern(r.path, path)).toBe(false);
          }
        }
        expect(rules.some((r) => !r.deny && refMethod(r, m) && matchesPattern(r.path, path))).toBe(true);
      }),
      RUNS,
    );
  });

  it('deny wins: denying the path (or any prefix, any case) blocks it wherever the rule sits', () => {
    fc.assert(
      fc.property(rulesArb, methodArb, pathArb, fc.nat(), fc.nat(), fc.boolean(), (rules, m, path, cut, at, upper) => {
        const segs = path === '/' ? [] : path.replace(/\/$/, '').slice(1).split('/');
        let prefix = '/' + segs.slice(0, cut % (segs.length + 1)).join('/');
        if (upper) prefix = prefix.toUpperCase();
        const withDeny = [...rules];
        withDeny.splice(at % (rules.length + 1), 0, { path: prefix, methods: ['*'], deny: true });
        const d = evaluatePolicies([{ path: '/', methods: ['*'], deny: false }, ...withDeny], m, path);
        expect(d.allowed).toBe(false);
        expect(d.rule).toMatch(/^deny /);
      }),
      RUNS,
    );
  });

  it('deny rules only ever remove access; allow rules only ever add it', () => {
    fc.assert(
      fc.property(rulesArb, ruleArb, methodArb, pathArb, (rules, extra, m, path) => {
        const before = evaluatePolicies(rules, m, path).allowed;
        const after = evaluatePolicies([...rules, extra], m, path).allowed;
        if (extra.deny) expect(!after || before).toBe(true);
        else expect(!before || after).toBe(true);
      }),
      RUNS,
    );
  });

  it('literal patterns match exactly at "/" boundaries', () => {
    const lit = fc.array(fc.constantFrom('a', 'ab', 'b', 'A'), { minLength: 1, maxLength: 3 }).map((a) => '/' + a.join('/'));
    const anyPath = fc.array(fc.constantFrom('a', 'ab', 'b', 'A', 'abc'), { maxLength: 4 }).map((a) => '/' + a.join('/'));
    fc.assert(
      fc.property(lit, anyPath, (p, path) => {
        expect(matchesPattern(p, path)).toBe(path === p || path.startsWith(p + '/'));
      }),
      RUNS,
    );
  });

  it('whatever the agent sends, only normalised requests under an allow rule get through', () => {
    const stripeish = fc
      .array(
        fc.constantFrom(
          '/',
          'v1',
          'charges',
          'customers',
          'cus_1',
          'delete',
          'DELETE',
          'del%65te',
          '%64elete',
          '%EF%BD%84elete',
          '..',
          '%2e%2e',
          '.',
          '%2f',
          ';',
          '..;',
          '\\',
          '%5c',
          '?',
          '#',
          '@',
          ':',
          'X',
          '%43harges',
          '%252e',
        ),
        { maxLength: 10 },
      )
      .map((a) => '/' + a.join(''));
    const rules: PolicyRule[] = [
      { path: '/v1/charges', methods: ['GET'], deny: false },
      { path: '/v1/customers', methods: ['GET', 'POST'], deny: false },
      { path: '/v1/customers/*/delete', methods: ['*'], deny: true },
    ];
    fc.assert(
      fc.property(fc.oneof(hostile, stripeish), methodArb, (raw, m) => {
        const t = tryNormalize(raw);
        if (t === undefined) return;
        const d = evaluatePolicies(rules, m, t.path);
        if (!d.allowed) return;
        const u = new URL(buildUpstreamUrl('https://api.stripe.com', t));
        expect(u.host).toBe('api.stripe.com');
        expect(/^\/v1\/(charges|customers)(\/|$)/.test(u.pathname)).toBe(true);
        expect(/^\/v1\/customers\/[^/]+\/delete(\/|$)/i.test(u.pathname)).toBe(false);
      }),
      RUNS,
    );
  });
});
