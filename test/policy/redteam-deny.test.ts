/**
 * Red team on the deny fold (issue 8 part 6): spellings a case-insensitive
 * router takes for the denied segment but `toLowerCase` does not.
 *
 * `/v1/ADM%C4%B0N` (dotted capital İ) and `/v1/adm%C4%B1n` (dotless ı) passed
 * `deny /v1/admin` under a wide allow: NFKC keeps both, and JavaScript lower-
 * cases İ to "i̇" (two code points). Java's String.equalsIgnoreCase — what
 * Spring's AntPathMatcher uses for a literal segment when case-insensitive —
 * compares ı and İ equal to i, and Go's strings.ToLower maps İ to i.
 */
import { describe, expect, it } from 'vitest';
import { denyFold, evaluatePolicies } from '../../src/policy/evaluate.js';
import { normalizeRequestTarget } from '../../src/policy/normalize.js';
import type { PolicyRule } from '../../src/policy/types.js';

const RULES: PolicyRule[] = [
  { methods: ['*'], path: '/v1/admin', deny: true },
  { methods: ['*'], path: '/v1/**', deny: false },
];

const decide = (raw: string) => evaluatePolicies(RULES, 'GET', normalizeRequestTarget(raw).path);

describe('red team: deny fold and the Turkish i', () => {
  it.each(['/v1/ADM%C4%B0N', '/v1/adm%C4%B1n', '/v1/ADM%C4%B1N', '/v1/adm%C4%B0n.json', '/v1/adm%C4%B1n%2E', '/v1/adm%C4%B0n/users'])(
    '%s is denied',
    (raw) => {
      expect(decide(raw)).toMatchObject({ allowed: false, rule: 'deny * /v1/admin' });
    },
  );

  it('what the fold gives', () => {
    expect(denyFold('ADMİN')).toBe('admin');
    expect(denyFold('admın')).toBe('admin');
  });

  it('other spellings stay allowed', () => {
    for (const raw of ['/v1/adm%C3%ADn', '/v1/adm%C3%AFn', '/v1/admn', '/v1/adminx']) expect(decide(raw).allowed, raw).toBe(true);
  });
});
