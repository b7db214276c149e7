import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import {
  ALLOWED_METHODS,
  MAX_TARGET_LENGTH,
  buildUpstreamUrl,
  normalizeMethod,
  normalizePolicyPattern,
  normalizeRequestTarget,
  type RequestTarget,
} from '../../src/policy/index.js';

function rejected(fn: () => unknown): JaneeError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error('expected a rejection, got none');
}

function expectBadRequest(fn: () => unknown, message: RegExp): void {
  const e = rejected(fn);
  expect(e.code).toBe('GATE_BAD_REQUEST');
  expect(e.message).toMatch(message);
  expect(e.hint).toBeTypeOf('string');
}

describe('normalizeRequestTarget: accepted and canonicalised', () => {
  const cases: [string, string, string][] = [
    ['/v1/charges', '/v1/charges', ''],
    ['/', '/', ''],
    ['/v1/ch%61rges', '/v1/charges', ''],
    ['/v1/CH%41RGES', '/v1/CHARGES', ''],
    ['/v1/%7e%41%2d%5f%2E%30', '/v1/~A-_.0', ''],
    ['/v1/caf%c3%a9', '/v1/caf%C3%A9', ''],
    ['/v1/charges/', '/v1/charges/', ''], // one trailing '/' is kept
    ['/v1/{id}', '/v1/%7Bid%7D', ''],
    ['/v1/a|b^c`d"e<f>g[h]', '/v1/a%7Cb%5Ec%60d%22e%3Cf%3Eg%5Bh%5D', ''],
    ['/v1/a%7cb', '/v1/a%7Cb', ''],
    ["/v1/!$&'()*+,=:@", "/v1/!$&'()*+,=:@", ''],
    ['/v1/%20', '/v1/%20', ''],
    ['/v1/a%3bb', '/v1/a%3Bb', ''],
    ['/v1/a%23b', '/v1/a%23b', ''],
    ['/v1/a%3Fb', '/v1/a%3Fb', ''],
    ['/.well-known/x', '/.well-known/x', ''],
    ['/v1/a..b/...c/d.', '/v1/a..b/...c/d.', ''],
    ['/@evil.example', '/@evil.example', ''],
    ['/:@evil.example', '/:@evil.example', ''],
    ['/user:pass@evil.example/x', '/user:pass@evil.example/x', ''],
    ['/v1/*', '/v1/*', ''],
    ['/v1/charges?limit=10', '/v1/charges', 'limit=10'],
    ['/v1/charges?', '/v1/charges', ''],
    ['/v1/x?a=%7e&b=%c3%a9&c=%2f', '/v1/x', 'a=~&b=%C3%A9&c=%2F'],
    ['/v1/x?q=é', '/v1/x', 'q=%C3%A9'],
    ['/v1/x?q=😀', '/v1/x', 'q=%F0%9F%98%80'],
    ["/v1/x?q=it's", '/v1/x', 'q=it%27s'],
    ['/v1/x?q="<>`{|}^[]\\', '/v1/x', 'q=%22%3C%3E%60%7B%7C%7D%5E%5B%5D%5C'],
    ['/v1/x?a=100%25&b=%2e%2e%2f', '/v1/x', 'a=100%25&b=..%2F'],
    ['/v1/x?redirect=http://evil.example/?a=1;b', '/v1/x', 'redirect=http://evil.example/?a=1;b'],
    ['/v1/x?a=1&&b', '/v1/x', 'a=1&&b'],
  ];
  it.each(cases)('%j → %j ? %j', (raw, path, query) => {
    const t = normalizeRequestTarget(raw);
    expect(t).toEqual({ path, query });
    // A fixed point.
    expect(normalizeRequestTarget(query === '' ? path : `${path}?${query}`)).toEqual(t);
  });

  it('merges the query object after the raw query, in order, encoded', () => {
    expect(normalizeRequestTarget('/v1/x?a=1', { b: '2', c: ['3', '4'] })).toEqual({
      path: '/v1/x',
      query: 'a=1&b=2&c=3&c=4',
    });
    expect(normalizeRequestTarget('/v1/x', { q: "a b&c=d#e'f/é" })).toEqual({
      path: '/v1/x',
      query: 'q=a%20b%26c%3Dd%23e%27f%2F%C3%A9',
    });
    expect(normalizeRequestTarget('/v1/x', { 'k y': '' })).toEqual({ path: '/v1/x', query: 'k%20y=' });
    expect(normalizeRequestTarget('/v1/x', { a: [] })).toEqual({ path: '/v1/x', query: '' });
    expect(normalizeRequestTarget('/v1/x', {})).toEqual({ path: '/v1/x', query: '' });
    const t = normalizeRequestTarget('/v1/x?z=%7e', { q: "it's \n" });
    expect(normalizeRequestTarget(`${t.path}?${t.query}`)).toEqual(t);
  });
});

describe('normalizeRequestTarget: hostile input is refused', () => {
  const cases: [string, string, RegExp][] = [
    // traversal, raw
    ['raw ..', '/v1/charges/../admin', /"\." or "\.\." segments/],
    ['raw .', '/v1/./charges', /"\." or "\.\." segments/],
    ['trailing ..', '/v1/charges/..', /"\." or "\.\." segments/],
    ['trailing .', '/v1/charges/.', /"\." or "\.\." segments/],
    ['root ..', '/..', /"\." or "\.\." segments/],
    ['... segment', '/v1/.../admin', /"\." or "\.\." segments/],
    ['.. then trailing slash', '/v1/../', /"\." or "\.\." segments/],
    // traversal, percent-encoded in any case
    ['%2e%2e', '/v1/charges/%2e%2e/admin', /"\." or "\.\." segments/],
    ['%2E%2E', '/v1/charges/%2E%2E/admin', /"\." or "\.\." segments/],
    ['.%2e', '/v1/charges/.%2e/admin', /"\." or "\.\." segments/],
    ['%2e.', '/v1/charges/%2e./admin', /"\." or "\.\." segments/],
    ['%2E.', '/v1/charges/%2E./admin', /"\." or "\.\." segments/],
    ['%2e', '/v1/%2e/charges', /"\." or "\.\." segments/],
    // encoded slash / mixed
    ['..%2f..%2fadmin', '/v1/charges/..%2f..%2fadmin', /encoded "\/"/],
    ['..%2F', '/v1/charges/..%2F..%2Fadmin', /encoded "\/"/],
    ['%2f alone', '/v1/a%2fb', /encoded "\/"/],
    // double encoding
    ['%252e%252e', '/v1/charges/%252e%252e/admin', /%25/],
    ['%252F', '/v1/charges/%252F..%252Fadmin', /%25/],
    ['%25 alone', '/v1/100%25', /%25/],
    ['%2525', '/v1/%2525', /%25/],
    // backslashes
    ['raw backslash', '/v1/charges\\..\\admin', /backslash/],
    ['%5C', '/v1/charges/%5C..%5Cadmin', /encoded backslash/],
    ['%5c', '/v1/charges/..%5cadmin', /encoded backslash/],
    ['/\\ start', '/\\evil.example/x', /scheme-relative/],
    ['\\\\ start', '\\\\evil.example\\x', /must start with "\/" \(got a backslash\)/],
    // Tomcat-style path parameters
    ['..;/', '/v1/charges/..;/admin', /";"/],
    ['; param', '/v1/admin;jsessionid=1', /";"/],
    ['%2e%2e%3b', '/v1/charges/%2e%2e%3b/admin', /dot segment with parameters/],
    // Unicode look-alikes and overlong UTF-8
    ['fullwidth dots encoded', '/v1/%EF%BC%8E%EF%BC%8E/admin', /"\." or "\.\." segments/],
    ['two-dot leader', '/v1/%E2%80%A5/admin', /"\." or "\.\." segments/],
    ['fullwidth solidus', '/v1/a%EF%BC%8Fb', /fold to "\/"/],
    ['fullwidth backslash', '/v1/a%EF%BC%BCb', /fold to "\/" or "\\"/],
    ['overlong dot', '/v1/%C0%AE%C0%AE/admin', /not valid UTF-8/],
    ['overlong slash', '/v1/..%C0%AF..%C0%AFadmin', /not valid UTF-8/],
    ['lone continuation', '/v1/%80', /not valid UTF-8/],
    ['encoded surrogate', '/v1/%ED%A0%80', /not valid UTF-8/],
    ['bidi override', '/v1/%E2%80%AEnimda', /control or invisible format/],
    ['BOM', '/v1/%EF%BB%BFadmin', /control or invisible format/],
    ['line separator', '/v1/%E2%80%A8', /control or invisible format/],
    ['zero-width space', '/v1/ad%E2%80%8Bmin', /control or invisible format/],
    ['soft hyphen', '/v1/ad%C2%ADmin', /control or invisible format/],
    ['NEL (C1 control)', '/v1/%C2%85', /control or invisible format/],
    ['NBSP encoded', '/v1/a%C2%A0b', /non-ASCII whitespace/],
    ['ideographic space encoded', '/v1/a%E3%80%80b', /non-ASCII whitespace/],
    // absolute and scheme-relative URLs
    ['http URL', 'http://evil.example/x', /absolute URL/],
    ['HTTPS upper', 'HTTPS://evil.example/x', /absolute URL/],
    ['scheme without slashes', 'https:evil.example', /absolute URL/],
    ['javascript:', 'javascript:alert(1)', /absolute URL/],
    ['mailto', 'mailto:a@evil.example', /absolute URL/],
    ['scheme-relative', '//evil.example/x', /scheme-relative/],
    ['scheme-relative bare', '//evil.example', /scheme-relative/],
    ['triple slash', '///evil.example', /scheme-relative/],
    ['relative', 'v1/charges', /must start with "\/"/],
    ['host-ish relative', 'evil.example/x', /must start with "\/"/],
    ['leading space', ' /v1/x', /must start with "\/"/],
    ['empty', '', /path is empty/],
    ['query only', '?a=1', /must start with "\/"/],
    // control characters and whitespace
    ['NUL raw', '/v1/x\u0000', /control characters/],
    ['%00', '/v1/x%00', /encoded control character \(%00\)/],
    ['CRLF raw', '/v1/x\r\nHost: evil.example', /control characters/],
    ['%0d%0a', '/v1/x%0d%0aHost:%20evil.example', /encoded control character \(%0D\)/],
    ['DEL raw', '/v1/x\u007f', /control characters/],
    ['%7F', '/v1/x%7F', /encoded control character/],
    ['%7f', '/v1/x%7f', /encoded control character/],
    ['tab', '/v1/\tx', /control characters/],
    ['%09', '/v1/%09x', /encoded control character/],
    ['space', '/v1/a b', /whitespace/],
    ['raw NBSP', '/v1/a\u00a0b', /non-ASCII/],
    ['raw C1', '/v1/a\u0085b', /non-ASCII/],
    ['raw line separator', '/v1/a\u2028b', /non-ASCII/],
    // unicode must be percent-encoded
    ['raw é', '/v1/café', /raw non-ASCII/],
    ['raw emoji', '/v1/😀', /raw non-ASCII/],
    ['raw fullwidth dots', '/v1/\uff0e\uff0e/admin', /raw non-ASCII/],
    ['raw lone surrogate', '/v1/\ud800', /raw non-ASCII/],
    // fragments
    ['fragment', '/v1/x#frag', /"#" fragment/],
    ['fragment after query', '/v1/x?a=1#frag', /"#" fragment/],
    ['fragment hiding traversal', '/v1/charges#/../../admin', /"#" fragment/],
    // empty segments
    ['double slash', '/v1//charges', /empty segments/],
    ['trailing double slash', '/v1/charges//', /empty segments/],
    ['trailing triple slash', '/v1/charges///', /empty segments/],
    // malformed escapes
    ['%G1', '/v1/%G1', /malformed percent escape/],
    ['%4 at end', '/v1/%4', /malformed percent escape/],
    ['% at end', '/v1/x%', /malformed percent escape/],
    ['%%41', '/v1/%%41', /malformed percent escape/],
    ['%4/ across slash', '/v1/%4/1', /malformed percent escape/],
    ['query %zz', '/v1/x?a=%zz', /query has a malformed percent escape/],
    ['query % at end', '/v1/x?a=%', /query has a malformed percent escape/],
    // query rules
    ['query space', '/v1/x?q=a b', /query must not contain whitespace/],
    ['query newline', '/v1/x?q=a\nb', /query must not contain control/],
    ['query NUL', '/v1/x?q=\u0000', /query must not contain control/],
    ['query NBSP', '/v1/x?q=\u00a0', /query must not contain control or whitespace/],
    ['query lone surrogate', '/v1/x?q=\ud800', /unpaired surrogate/],
  ];
  it.each(cases)('%s: %j', (_name, raw, message) => {
    expectBadRequest(() => normalizeRequestTarget(raw), message);
  });

  it('refuses non-string paths and malformed query objects', () => {
    expectBadRequest(() => normalizeRequestTarget(123 as unknown as string), /path must be a string/);
    expectBadRequest(() => normalizeRequestTarget(undefined as unknown as string), /path must be a string/);
    const bad = (q: unknown) => () => normalizeRequestTarget('/v1/x', q as Record<string, string | string[]>);
    expectBadRequest(bad({ a: 1 }), /must be a string or an array of strings/);
    expectBadRequest(bad({ a: ['1', 2] }), /must be a string or an array of strings/);
    expectBadRequest(bad({ a: { b: 'c' } }), /must be a string or an array of strings/);
    expectBadRequest(bad(['a']), /query must be an object/);
    expectBadRequest(bad('a=1'), /query must be an object/);
    expectBadRequest(bad({ '': 'x' }), /empty parameter name/);
    expectBadRequest(bad({ a: '\ud800' }), /unpaired surrogate/);
    expectBadRequest(bad({ '\udc00': 'x' }), /unpaired surrogate/);
    // JSON-born __proto__ is just a name.
    expect(normalizeRequestTarget('/v1/x', JSON.parse('{"__proto__":"1"}'))).toEqual({
      path: '/v1/x',
      query: '__proto__=1',
    });
  });

  it('refuses a target that becomes too long once the query object is merged', () => {
    expectBadRequest(() => normalizeRequestTarget('/v1/x', { q: 'é'.repeat(MAX_TARGET_LENGTH / 4) }), /too long/);
  });
});

describe('long input does not hang', () => {
  const timed = (fn: () => void): number => {
    const t0 = performance.now();
    fn();
    return performance.now() - t0;
  };
  const tryIt = (raw: string) => () => {
    try {
      normalizeRequestTarget(raw);
    } catch (e) {
      expect(e).toBeInstanceOf(JaneeError);
    }
  };

  it('refuses a 100 KB path quickly', () => {
    const raw = '/' + 'a'.repeat(100 * 1024);
    expect(timed(() => expectBadRequest(() => normalizeRequestTarget(raw), /too long/))).toBeLessThan(500);
    const scheme = 'a'.repeat(100 * 1024) + ':';
    expect(timed(tryIt(scheme))).toBeLessThan(500);
  });

  it('handles the longest allowed inputs in linear time', () => {
    const n = MAX_TARGET_LENGTH;
    const inputs = [
      '/' + 'a/'.repeat(n / 2 - 1) + 'a',
      '/' + '%41'.repeat(Math.floor((n - 1) / 3)),
      '/' + '%C3%A9'.repeat(Math.floor((n - 1) / 6)),
      '/' + '.'.repeat(n - 1),
      '/' + 'a'.repeat(n - 2) + '%',
      '/x?' + '%2'.repeat(Math.floor((n - 3) / 3)),
      '/x?' + 'é'.repeat(n / 8),
      '/' + '{'.repeat(n / 4),
      'a'.repeat(n - 1) + ':',
    ];
    for (const raw of inputs) {
      expect(raw.length).toBeLessThanOrEqual(n);
      expect(timed(tryIt(raw))).toBeLessThan(500);
    }
    const t = normalizeRequestTarget(inputs[0]!);
    expect(t.path).toBe(inputs[0]);
  });
});

describe('normalizeMethod', () => {
  it.each([
    ['get', 'GET'],
    ['Get', 'GET'],
    ['GET', 'GET'],
    ['head', 'HEAD'],
    ['post', 'POST'],
    ['put', 'PUT'],
    ['patch', 'PATCH'],
    ['delete', 'DELETE'],
    ['options', 'OPTIONS'],
  ])('%j → %s', (input, out) => {
    expect(normalizeMethod(input)).toBe(out);
  });

  it.each([
    ['TRACE', /not allowed/],
    ['trace', /not allowed/],
    ['CONNECT', /not allowed/],
    ['PROPFIND', /not allowed/],
    ['FOO', /not allowed/],
    ['G ET', /not a valid HTTP method/],
    [' GET', /not a valid HTTP method/],
    ['GET ', /not a valid HTTP method/],
    ['GET\r\nX-Evil: 1', /not a valid HTTP method/],
    ['GET\u0000', /not a valid HTTP method/],
    ['GET/', /not a valid HTTP method/],
    ['ＧＥＴ', /not a valid HTTP method/],
    ['po\u017ft', /not a valid HTTP method/], // 'ſ'.toUpperCase() === 'S'
    ['\u0131tems', /not a valid HTTP method/], // dotless i
    ['', /method is empty/],
    ['G'.repeat(100), /too long/],
  ])('%j is refused', (input, message) => {
    expectBadRequest(() => normalizeMethod(input), message);
  });

  it('refuses non-strings', () => {
    expectBadRequest(() => normalizeMethod(undefined as unknown as string), /empty/);
    expectBadRequest(() => normalizeMethod(['GET'] as unknown as string), /empty/);
  });

  it('ALLOWED_METHODS is the fixed, frozen list', () => {
    expect([...ALLOWED_METHODS]).toEqual(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
    expect(Object.isFrozen(ALLOWED_METHODS)).toBe(true);
  });
});

describe('normalizePolicyPattern', () => {
  it.each([
    ['/v1/charges', '/v1/charges'],
    ['/v1/charges/', '/v1/charges'],
    ['/', '/'],
    ['/**', '/**'],
    ['/*', '/*'],
    ['/v1/customers/*/delete', '/v1/customers/*/delete'],
    ['/v1/**', '/v1/**'],
    ['/v1/**/', '/v1/**'],
    ['/v1/ch%61rges', '/v1/charges'],
    ['/v1/café', '/v1/caf%C3%A9'],
    ['/v1/caf%c3%a9', '/v1/caf%C3%A9'],
    ['/v1/%2A', '/v1/%2A'],
    ['/v1/{id}', '/v1/%7Bid%7D'],
    ['/@x/:y', '/@x/:y'],
  ])('%j → %j', (input, out) => {
    expect(normalizePolicyPattern(input)).toBe(out);
    expect(normalizePolicyPattern(out)).toBe(out);
  });

  it.each([
    ['', /empty/],
    ['v1/charges', /must start with "\/"/],
    ['http://evil.example/v1', /absolute URL/],
    ['//evil.example', /scheme-relative/],
    ['/v1//x', /empty segments/],
    ['/v1/x//', /empty segments/],
    ['/v1/*x', /whole segment/],
    ['/v1/x*', /whole segment/],
    ['/v1/***', /whole segment/],
    ['/v1/**/x', /only as the last segment/],
    ['/**/x', /only as the last segment/],
    ['/v1/../x', /"\." or "\.\." segments/],
    ['/v1/%2e%2e', /"\." or "\.\." segments/],
    ['/v1/.', /"\." or "\.\." segments/],
    ['/v1/x?y=1', /query/],
    ['/v1/x#y', /"#"/],
    ['/v1/%2F', /encoded "\/"/],
    ['/v1/%25', /%25/],
    ['/v1/a;b', /";"/],
    ['/v1/a b', /whitespace/],
    ['/v1/a\u00a0b', /whitespace/],
    ['/v1/a\\b', /backslash/],
    ['/v1/\u0000', /control/],
    ['/v1/%G1', /malformed/],
    ['/v1/\ud800', /unpaired surrogate/],
  ])('%j is refused', (input, message) => {
    let err: unknown;
    try {
      normalizePolicyPattern(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(JaneeError);
    expect((err as Error).message).toMatch(message);
    expect((err as Error).message).toMatch(/^pattern /);
  });
});

describe('buildUpstreamUrl', () => {
  const t = (path: string, query = ''): RequestTarget => ({ path, query });

  it.each([
    ['https://api.stripe.com', t('/v1/charges'), 'https://api.stripe.com/v1/charges'],
    ['https://api.stripe.com', t('/'), 'https://api.stripe.com/'],
    ['https://api.stripe.com', t('/v1/charges', 'limit=10'), 'https://api.stripe.com/v1/charges?limit=10'],
    ['https://h.example/api/v2', t('/v1/x'), 'https://h.example/api/v2/v1/x'],
    ['https://h.example/api/v2/', t('/v1/x'), 'https://h.example/api/v2/v1/x'],
    ['https://h.example/api/v2', t('/'), 'https://h.example/api/v2/'],
    ['http://127.0.0.1:8080', t('/v1/x/'), 'http://127.0.0.1:8080/v1/x/'],
    ['https://api.stripe.com', t('/@evil.example'), 'https://api.stripe.com/@evil.example'],
    ['https://api.stripe.com', t('/:@evil.example'), 'https://api.stripe.com/:@evil.example'],
    ['https://api.stripe.com', t('/user:pw@evil.example/x'), 'https://api.stripe.com/user:pw@evil.example/x'],
    ['https://api.stripe.com', t('/v1/%7Bid%7D', 'q=%27'), 'https://api.stripe.com/v1/%7Bid%7D?q=%27'],
  ])('%s + %j', (base, target, out) => {
    const u = buildUpstreamUrl(base, target);
    expect(u).toBe(out);
    expect(new URL(u).origin).toBe(new URL(base).origin);
  });

  it('keeps the host for every @ / : trick that normalisation accepts', () => {
    for (const raw of ['/@evil.example', '/:@evil.example', '/@evil.example:443/x', '/%40evil.example', '/x@y:z@evil']) {
      const target = normalizeRequestTarget(raw);
      const u = new URL(buildUpstreamUrl('https://api.stripe.com', target));
      expect(u.host).toBe('api.stripe.com');
      expect(u.username).toBe('');
      expect(u.pathname).toBe(target.path);
    }
  });

  it.each([
    ['scheme-relative', t('//evil.example/x')],
    ['traversal', t('/v1/../admin')],
    ['encoded traversal', t('/v1/%2e%2e/admin')],
    ['not canonical', t('/v1/ch%61rges')],
    ['relative', t('v1/charges')],
    ['absolute', t('https://evil.example/x')],
    ['backslash', t('/\\evil.example')],
    ['query in path', t('/v1/x?a=1')],
    ['fragment in query', t('/v1/x', 'a#b')],
    ['not canonical query', t('/v1/x', 'q=%7e')],
    ['query with space', t('/v1/x', 'a b')],
    ['empty path', t('')],
  ])('refuses a hand-made %s target', (_name, target) => {
    expect(rejected(() => buildUpstreamUrl('https://api.stripe.com', target)).code).toBe('GATE_BAD_REQUEST');
  });

  it('refuses non-object targets', () => {
    expect(rejected(() => buildUpstreamUrl('https://a.example', null as unknown as RequestTarget)).code).toBe('GATE_BAD_REQUEST');
    expect(rejected(() => buildUpstreamUrl('https://a.example', { path: '/x' } as unknown as RequestTarget)).code).toBe('GATE_BAD_REQUEST');
  });

  it.each(['not a url', 'ftp://h.example', 'file:///etc/passwd', 'https://h.example?x=1', 'https://h.example#f', ''])(
    'refuses base %j',
    (base) => {
      expect(rejected(() => buildUpstreamUrl(base, t('/v1/x'))).code).toBe('GATE_ORIGIN_MISMATCH');
    },
  );
});
