import { describe, expect, it } from 'vitest';
import type { PolicyRule } from '../../src/config/types.js';
import { JaneeError } from '../../src/errors.js';
import {
  describeAllowed,
  describeRule,
  evaluatePolicies,
  matchesPattern,
  normalizeMethod,
  normalizeRequestTarget,
} from '../../src/policy/index.js';

const allow = (path: string, ...methods: string[]): PolicyRule => ({ path, methods, deny: false });
const deny = (path: string, ...methods: string[]): PolicyRule => ({ path, methods, deny: true });

/** The DESIGN.md example. */
const stripe: PolicyRule[] = [allow('/v1/charges', 'GET'), allow('/v1/customers', 'GET', 'POST'), deny('/v1/customers/*/delete', '*')];

/** What the gate does: normalise, then evaluate what will be sent. */
function decide(policies: PolicyRule[] | undefined, method: string, raw: string) {
  const t = normalizeRequestTarget(raw);
  return evaluatePolicies(policies, normalizeMethod(method), t.path);
}

describe('evaluatePolicies: the DESIGN.md example', () => {
  it.each([
    ['GET', '/v1/charges', true, 'allow GET /v1/charges'],
    ['get', '/v1/charges', true, 'allow GET /v1/charges'],
    ['GET', '/v1/charges/ch_1', true, 'allow GET /v1/charges'],
    ['GET', '/v1/charges/ch_1/refunds', true, 'allow GET /v1/charges'],
    ['GET', '/v1/charges/', true, 'allow GET /v1/charges'],
    ['GET', '/v1/ch%61rges', true, 'allow GET /v1/charges'],
    ['GET', '/v1/charges?limit=3&customer=cus_1', true, 'allow GET /v1/charges'],
    ['POST', '/v1/charges', false, 'no matching policy'],
    ['HEAD', '/v1/charges', false, 'no matching policy'],
    ['DELETE', '/v1/charges/ch_1', false, 'no matching policy'],
    ['GET', '/v1/chargesX', false, 'no matching policy'],
    ['GET', '/v1/charges-x', false, 'no matching policy'],
    ['GET', '/v1/charge', false, 'no matching policy'],
    ['GET', '/v1', false, 'no matching policy'],
    ['GET', '/', false, 'no matching policy'],
    ['GET', '/v2/charges', false, 'no matching policy'],
    ['GET', '/V1/CHARGES', false, 'no matching policy'],
    ['GET', '/v1/%43harges', false, 'no matching policy'],
    ['POST', '/v1/customers', true, 'allow GET|POST /v1/customers'],
    ['GET', '/v1/customers/', true, 'allow GET|POST /v1/customers'],
    ['POST', '/v1/customers/cus_1', true, 'allow GET|POST /v1/customers'],
    ['DELETE', '/v1/customers/cus_1', false, 'no matching policy'],
    ['POST', '/v1/customers/cus_1/delete', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/delete', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/delete/', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/delete/x', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/del%65te', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/DELETE', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/CUSTOMERS/cus_1/Delete', false, 'deny * /v1/customers/*/delete'],
    ['GET', '/v1/customers/cus_1/%EF%BD%84elete', false, 'deny * /v1/customers/*/delete'], // fullwidth d
    ['GET', '/v1/customers/cus_1/deleted', true, 'allow GET|POST /v1/customers'],
    ['GET', '/v1/customers/delete', true, 'allow GET|POST /v1/customers'],
    ['GET', '/v1/customers/a/b/delete', true, 'allow GET|POST /v1/customers'],
  ])('%s %s → allowed=%s (%s)', (method, raw, allowed, rule) => {
    expect(decide(stripe, method, raw)).toEqual({ allowed, rule });
  });

  it('hostile paths never get as far as evaluation', () => {
    for (const raw of [
      '/v1/charges/../customers/cus_1/delete',
      '/v1/charges/%2e%2e/customers/cus_1/delete',
      '/v1/charges/..%2fcustomers',
      '/v1/charges/..;/customers/cus_1/delete',
      '/v1/charges\\..\\admin',
      '//evil.example/v1/charges',
      'https://evil.example/v1/charges',
      '/v1/charges/%252e%252e/admin',
      '/v1/charges#/../../admin',
    ]) {
      let err: unknown;
      try {
        decide(stripe, 'GET', raw);
      } catch (e) {
        err = e;
      }
      expect(err, raw).toBeInstanceOf(JaneeError);
      expect((err as JaneeError).code).toBe('GATE_BAD_REQUEST');
    }
  });
});

describe('evaluatePolicies: semantics', () => {
  it('undefined policies allow any method and path', () => {
    expect(evaluatePolicies(undefined, 'DELETE', '/anything/at/all')).toEqual({ allowed: true, rule: undefined });
    expect(evaluatePolicies(undefined, 'GET', '/')).toEqual({ allowed: true, rule: undefined });
  });

  it('an empty list blocks everything', () => {
    expect(evaluatePolicies([], 'GET', '/')).toEqual({ allowed: false, rule: 'no matching policy' });
    expect(evaluatePolicies([], 'GET', '/v1/charges')).toEqual({ allowed: false, rule: 'no matching policy' });
  });

  it('only deny rules block everything', () => {
    expect(evaluatePolicies([deny('/admin', '*')], 'GET', '/v1')).toEqual({
      allowed: false,
      rule: 'no matching policy',
    });
  });

  it('deny wins regardless of order and specificity', () => {
    const rules = [deny('/v1', 'POST'), allow('/v1/charges/ch_1', 'POST'), allow('/', '*')];
    expect(evaluatePolicies(rules, 'POST', '/v1/charges/ch_1')).toEqual({ allowed: false, rule: 'deny POST /v1' });
    expect(evaluatePolicies(rules, 'GET', '/v1/charges/ch_1')).toEqual({ allowed: true, rule: 'allow * /' });
    expect(evaluatePolicies([...rules].reverse(), 'POST', '/v1/charges/ch_1').allowed).toBe(false);
  });

  it('deny is case-insensitive, allow is exact', () => {
    const rules = [allow('/', '*'), deny('/v1/Admin', '*')];
    for (const p of ['/v1/admin', '/v1/ADMIN', '/V1/aDmIn/x', '/v1/%41dmin']) {
      expect(evaluatePolicies(rules, 'GET', normalizeRequestTarget(p).path).allowed, p).toBe(false);
    }
    expect(evaluatePolicies([allow('/v1/Admin', 'GET')], 'GET', '/v1/admin').allowed).toBe(false);
    expect(evaluatePolicies([allow('/v1/Admin', 'GET')], 'GET', '/v1/Admin').allowed).toBe(true);
  });

  it('"*" is exactly one non-empty segment; the pattern covers everything below', () => {
    const rules = [allow('/v1/*/refunds', 'GET')];
    const ok = (p: string) => evaluatePolicies(rules, 'GET', p).allowed;
    expect(ok('/v1/ch_1/refunds')).toBe(true);
    expect(ok('/v1/ch_1/refunds/re_1')).toBe(true);
    expect(ok('/v1/ch_1/refunds/')).toBe(true);
    expect(ok('/v1/refunds')).toBe(false);
    expect(ok('/v1/a/b/refunds')).toBe(false);
    expect(ok('/v1/ch_1')).toBe(false);
    expect(ok('/v1/ch_1/refundsX')).toBe(false);
    expect(ok('/v1/ch_1/')).toBe(false);
  });

  it('"**" is any rest, zero or more segments', () => {
    expect(evaluatePolicies([allow('/v1/**', 'GET')], 'GET', '/v1').allowed).toBe(true);
    expect(evaluatePolicies([allow('/v1/**', 'GET')], 'GET', '/v1/a/b/c').allowed).toBe(true);
    expect(evaluatePolicies([allow('/v1/**', 'GET')], 'GET', '/v2').allowed).toBe(false);
    expect(evaluatePolicies([allow('/**', 'GET')], 'GET', '/').allowed).toBe(true);
    expect(evaluatePolicies([allow('/', 'GET')], 'GET', '/x/y').allowed).toBe(true);
    expect(evaluatePolicies([allow('/v1/*/**', 'GET')], 'GET', '/v1').allowed).toBe(false);
    expect(evaluatePolicies([allow('/v1/*/**', 'GET')], 'GET', '/v1/a').allowed).toBe(true);
  });

  it('methods: "*" is any, names are compared upper-case, no implied HEAD', () => {
    expect(evaluatePolicies([allow('/x', '*')], 'OPTIONS', '/x').allowed).toBe(true);
    expect(evaluatePolicies([allow('/x', 'get')], 'GET', '/x').allowed).toBe(true);
    expect(evaluatePolicies([allow('/x', 'GET')], 'HEAD', '/x').allowed).toBe(false);
    expect(evaluatePolicies([allow('/x')], 'GET', '/x').allowed).toBe(false);
    expect(evaluatePolicies([allow('/x', '*'), deny('/x', 'POST')], 'GET', '/x').allowed).toBe(true);
    expect(evaluatePolicies([allow('/x', '*'), deny('/x', 'post')], 'POST', '/x').allowed).toBe(false);
  });

  it('segments are compared percent-decoded', () => {
    expect(evaluatePolicies([allow('/v1/a!b', 'GET')], 'GET', '/v1/a%21b').allowed).toBe(true);
    expect(evaluatePolicies([allow('/', '*'), deny('/v1/a!b', '*')], 'GET', '/v1/a%21b').allowed).toBe(false);
    expect(evaluatePolicies([allow('/', '*'), deny('/v1/a%21b', '*')], 'GET', '/v1/a!b').allowed).toBe(false);
    expect(evaluatePolicies([allow('/v1/café', 'GET')], 'GET', '/v1/caf%C3%A9').allowed).toBe(true);
    expect(evaluatePolicies([allow('/v1/%2A', 'GET')], 'GET', '/v1/*').allowed).toBe(true);
    expect(evaluatePolicies([allow('/v1/%2A', 'GET')], 'GET', '/v1/x').allowed).toBe(false);
  });

  it('fails closed on input that is not normalised', () => {
    expect(evaluatePolicies(undefined, 'get', '/x')).toEqual({ allowed: false, rule: 'method not normalised' });
    expect(evaluatePolicies(undefined, 'TRACE', '/x')).toEqual({ allowed: false, rule: 'invalid method' });
    expect(evaluatePolicies(undefined, '', '/x')).toEqual({ allowed: false, rule: 'invalid method' });
    expect(evaluatePolicies(undefined, 'GET', '/v1/ch%61rges')).toEqual({ allowed: false, rule: 'path not normalised' });
    expect(evaluatePolicies(undefined, 'GET', '/v1/x?a=1')).toEqual({ allowed: false, rule: 'path not normalised' });
    expect(evaluatePolicies(undefined, 'GET', '/v1/../x')).toEqual({ allowed: false, rule: 'invalid path' });
    expect(evaluatePolicies(undefined, 'GET', '//evil.example')).toEqual({ allowed: false, rule: 'invalid path' });
    expect(evaluatePolicies(undefined, 'GET', 'https://evil.example/')).toEqual({ allowed: false, rule: 'invalid path' });
    expect(evaluatePolicies(undefined, 'GET', '')).toEqual({ allowed: false, rule: 'invalid path' });
    expect(evaluatePolicies(undefined, 'GET', 42 as unknown as string)).toEqual({
      allowed: false,
      rule: 'path not normalised',
    });
  });

  it('fails closed on any invalid rule, even a deny rule', () => {
    expect(evaluatePolicies([allow('/', '*'), deny('/v1/*x', '*')], 'GET', '/v2')).toEqual({
      allowed: false,
      rule: 'invalid policy path "/v1/*x"',
    });
    expect(evaluatePolicies([allow('/', '*'), deny('v1', '*')], 'GET', '/v2').allowed).toBe(false);
    expect(evaluatePolicies([allow('/', '*'), deny('/v1/../x', '*')], 'GET', '/v2').allowed).toBe(false);
    const broken = [allow('/', '*'), { path: '/x', methods: 'GET', deny: true }] as unknown as PolicyRule[];
    expect(evaluatePolicies(broken, 'GET', '/v2')).toEqual({ allowed: false, rule: 'invalid policy rule' });
    expect(evaluatePolicies([null] as unknown as PolicyRule[], 'GET', '/v2').allowed).toBe(false);
    expect(evaluatePolicies({} as unknown as PolicyRule[], 'GET', '/v2').allowed).toBe(false);
  });

  it('handles long paths and many rules quickly', () => {
    const path = '/' + Array.from({ length: 4000 }, (_, i) => `s${i % 10}`).join('/');
    const rules = Array.from({ length: 500 }, (_, i) => allow(`/s0/s1/x${i}/**`, 'GET'));
    rules.push(deny('/s0/*/s2/*/S4', '*'));
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) expect(evaluatePolicies(rules, 'GET', path).allowed).toBe(false);
    expect(performance.now() - t0).toBeLessThan(2000);
  });
});

describe('matchesPattern', () => {
  it.each([
    ['/v1/charges', '/v1/charges', true],
    ['/v1/charges', '/v1/charges/', true],
    ['/v1/charges', '/v1/charges/ch_1', true],
    ['/v1/charges', '/v1/chargesX', false],
    ['/v1/charges', '/v1', false],
    ['/v1/charges/', '/v1/charges', true],
    ['/v1/ch%61rges', '/v1/charges', true],
    ['/v1/charges', '/v1/ch%61rges', true],
    ['/v1/charges', '/v1/charges?x=1', true],
    ['/v1/*', '/v1', false],
    ['/v1/*', '/v1/a', true],
    ['/v1/*', '/v1/a/b', true],
    ['/v1/**', '/v1', true],
    ['/', '/', true],
    ['/**', '/anything', true],
    ['/v1/Charges', '/v1/charges', false],
  ])('%j covers %j: %s', (pattern, path, out) => {
    expect(matchesPattern(pattern, path)).toBe(out);
  });

  it('can match the way a deny rule does', () => {
    expect(matchesPattern('/v1/Charges', '/V1/CHARGES/x', { deny: true })).toBe(true);
  });

  it('throws on an invalid pattern or path', () => {
    expect(() => matchesPattern('/v1/*x', '/v1/a')).toThrow(/whole segment/);
    expect(() => matchesPattern('/v1', '/v1/../x')).toThrow(JaneeError);
  });
});

describe('describeRule / describeAllowed', () => {
  it('describes rules', () => {
    expect(describeRule(stripe[0]!)).toBe('allow GET /v1/charges');
    expect(describeRule(stripe[2]!)).toBe('deny * /v1/customers/*/delete');
  });

  it('lists allow rules for error messages', () => {
    expect(describeAllowed(stripe)).toBe('GET /v1/charges, GET|POST /v1/customers');
    expect(describeAllowed(undefined)).toBe('any method, any path');
    expect(describeAllowed([])).toBe('nothing');
    expect(describeAllowed([deny('/x', '*')])).toBe('nothing');
    expect(describeAllowed([allow('/x', '*')])).toBe('* /x');
  });

  it('caps the list at five rules', () => {
    const rules = Array.from({ length: 8 }, (_, i) => allow(`/r${i}`, 'GET'));
    expect(describeAllowed(rules)).toBe('GET /r0, GET /r1, GET /r2, GET /r3, GET /r4, …');
    expect(describeAllowed(rules.slice(0, 5))).toBe('GET /r0, GET /r1, GET /r2, GET /r3, GET /r4');
  });
});
