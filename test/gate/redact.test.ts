import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuthSpec } from '../../src/config/types.js';
import { Forwarder } from '../../src/gate/forward.js';
import { pickResponseHeaders, sanitizeAgentHeaders } from '../../src/gate/headers.js';
import { applyInjection, authHeaderName, injectCredential, secretVariants } from '../../src/gate/inject.js';
import { MAX_ESCAPE_LENGTH, normalise } from '../../src/gate/normalise.js';
import { NGRAM, Redactor } from '../../src/gate/redact.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const TOKEN = 'sk_test_9f8e7d6c5b4a3210_AbCdEf';

function forms(v: string): string[] {
  return [
    v,
    Buffer.from(v).toString('base64'),
    Buffer.from(v).toString('base64').replace(/=+$/, ''),
    Buffer.from(v).toString('base64url'),
    encodeURIComponent(v),
    new URLSearchParams([['k', v]]).toString().slice(2),
    JSON.stringify(v).slice(1, -1),
  ];
}

describe('Redactor', () => {
  const r = new Redactor([{ service: 'stripe', variants: secretVariants({ type: 'bearer' }, { token: TOKEN }) }]);

  it('replaces every variant, a longer form in one piece', () => {
    expect(r.redact(`auth=Bearer ${TOKEN}; raw=${TOKEN}`)).toBe('auth=[REDACTED:stripe]; raw=[REDACTED:stripe]');
    for (const f of forms(TOKEN)) expect(r.redact(`<${f}>`)).toBe('<[REDACTED:stripe]>');
  });

  it('returns the same string when nothing matches', () => {
    const s = 'nothing to see here '.repeat(100);
    expect(r.redact(s)).toBe(s);
    const b = Buffer.from(s);
    expect(r.redactBytes(b)).toBe(b);
  });

  it('redacts every service, labelled by its own name', () => {
    const multi = new Redactor([
      { service: 'a', variants: secretVariants({ type: 'bearer' }, { token: 'token-of-service-a' }) },
      { service: 'b', variants: secretVariants({ type: 'header', name: 'x-key' }, { token: 'token-of-service-b' }) },
    ]);
    expect(multi.redact('a=token-of-service-a b=token-of-service-b')).toBe('a=[REDACTED:a] b=[REDACTED:b]');
  });

  it('overlapping occurrences leave nothing behind', () => {
    const o = new Redactor([
      { service: 'x', variants: ['abcdef12'] },
      { service: 'y', variants: ['ef12ghij'] },
    ]);
    // Both overlap: the union of their ranges is redacted.
    expect(o.redact('--abcdef12ghij--')).toBe('--[REDACTED:x]--');
    expect(new Redactor([{ service: 'z', variants: ['aaaa'] }]).redact('aaaaaa!')).toBe('[REDACTED:z]!');
  });

  it('escapes regex metacharacters in variants', () => {
    const m = new Redactor([{ service: 's', variants: ['a.b*c+(d)?[e]{f}|g^h$i\\j'] }]);
    expect(m.redact('x a.b*c+(d)?[e]{f}|g^h$i\\j y axb')).toBe('x [REDACTED:s] y axb');
  });

  it('finds a secret inside base64 text at any alignment', () => {
    for (let pre = 0; pre < 6; pre++) {
      for (let post = 0; post < 4; post++) {
        const blob = Buffer.concat([randomBytes(pre), Buffer.from(TOKEN), randomBytes(post)]).toString('base64');
        const out = r.redact(`data:${blob}`);
        expect(out).toContain('[REDACTED:stripe]');
        // Whatever is left on either side decodes to at most a sliver of the token.
        for (const piece of out.slice(5).split('[REDACTED:stripe]')) {
          for (let shift = 0; shift < 4; shift++) {
            const dec = Buffer.from(piece.slice(shift), 'base64').toString('latin1');
            for (let i = 0; i + 4 <= TOKEN.length; i++) expect(dec).not.toContain(TOKEN.slice(i, i + 4));
          }
        }
      }
    }
  });

  it('finds the password inside a Basic header built by someone else', () => {
    const b = new Redactor([
      { service: 'svc', variants: secretVariants({ type: 'basic' }, { username: 'bob', password: 'correct-horse-battery' }) },
    ]);
    const other = Buffer.from('someone-else:correct-horse-battery').toString('base64');
    const out = b.redact(`Authorization: Basic ${other}`);
    expect(Buffer.from(out.split(' ').at(-1) ?? '', 'base64').toString('latin1')).not.toContain('horse');
  });

  it('binary bodies are redacted as bytes before base64', () => {
    const body = Buffer.concat([
      randomBytes(1001),
      Buffer.from(TOKEN),
      Buffer.from([0, 255, 0]),
      Buffer.from(`Bearer ${TOKEN}`),
      randomBytes(7),
    ]);
    const out = r.redactBody(body, 'application/octet-stream');
    expect(out.bodyEncoding).toBe('base64');
    const dec = Buffer.from(out.body, 'base64');
    expect(dec.includes(Buffer.from(TOKEN))).toBe(false);
    expect(dec.toString('latin1').split('[REDACTED:stripe]')).toHaveLength(3);
    expect(dec.subarray(0, 1001).equals(body.subarray(0, 1001))).toBe(true);
  });

  it('UTF-8 secrets are found in the byte view, and text stays valid UTF-8', () => {
    const u = new Redactor([{ service: 'u', variants: secretVariants({ type: 'bearer' }, { token: 'pässwörd-ünïcode' }) }]);
    const out = u.redactBody(Buffer.from('{"k":"pässwörd-ünïcode","x":"é✓"}'), 'application/json');
    expect(out).toEqual({ body: '{"k":"[REDACTED:u]","x":"é✓"}', bodyEncoding: 'utf8' });
    expect(u.redact('\\u0070\\u00e4ss')).toBe('\\u0070\\u00e4ss'); // not a full variant
    expect(u.redact(JSON.stringify('pässwörd-ünïcode').slice(1, -1))).toBe('[REDACTED:u]');
  });

  it('body encoding: utf8 for text and for an empty body, base64 for binary and for NULs without a type', () => {
    expect(r.redactBody(Buffer.alloc(0), 'application/octet-stream')).toEqual({ body: '', bodyEncoding: 'utf8' });
    expect(r.redactBody(Buffer.from('plain'), 'application/octet-stream')).toEqual({
      body: Buffer.from('plain').toString('base64'),
      bodyEncoding: 'base64',
    });
    expect(r.redactBody(Buffer.from('plain'), undefined)).toEqual({ body: 'plain', bodyEncoding: 'utf8' });
    expect(r.redactBody(Buffer.from('a\u0000b'), undefined).bodyEncoding).toBe('base64');
    expect(r.redactBody(Buffer.from([0xe9, 0x41]), 'text/plain')).toEqual({
      body: Buffer.from([0xe9, 0x41]).toString('base64'),
      bodyEncoding: 'base64',
    });
    expect(r.redactBody(Buffer.from([0xe9, 0x41]), 'text/plain; charset=iso-8859-1')).toEqual({ body: 'éA', bodyEncoding: 'utf8' });
  });

  it('base64 input is decoded, redacted and re-encoded', () => {
    const b64 = Buffer.concat([randomBytes(5), Buffer.from(TOKEN), randomBytes(5)]).toString('base64');
    const out = Buffer.from(r.redactBase64(b64), 'base64');
    expect(out.includes(Buffer.from(TOKEN))).toBe(false);
  });

  it('a truncated body loses a fixed-length tail, whatever it holds (no prefix of a secret survives)', () => {
    // The tail: longest variant − 1, or (NGRAM − 1) escaped characters if longer.
    const longest = Math.max(...secretVariants({ type: 'bearer' }, { token: TOKEN }).map((v) => v.length));
    expect(r.tail).toBe(Math.max(longest - 1, (NGRAM - 1) * MAX_ESCAPE_LENGTH));
    for (let k = 1; k < TOKEN.length; k++) {
      const text = `${'x'.repeat(200)}:${TOKEN.slice(0, k)}`;
      const out = r.redact(text, { truncated: true });
      expect(out).toBe(text.slice(0, text.length - r.tail));
      expect(Buffer.from(r.redactBytes(Buffer.from(text), { truncated: true })).toString()).toBe(out);
      // Not truncated: a piece shorter than NGRAM is not a secret form, left alone.
      if (k < NGRAM) expect(r.redact(text)).toBe(text);
      else expect(r.redact(text)).toBe(`${'x'.repeat(200)}:[REDACTED:stripe]`);
    }
    // The same cut for text that holds no part of a secret: nothing to learn from it.
    const innocent = 'y'.repeat(300);
    expect(r.redact(innocent, { truncated: true }).length).toBe(300 - r.tail);
  });

  it('a whole secret before the cut is still replaced, and one crossing it is replaced too', () => {
    const before = `${'x'.repeat(50)}${TOKEN}${'z'.repeat(r.tail + 1)}`;
    expect(r.redact(before, { truncated: true })).toBe(`${'x'.repeat(50)}[REDACTED:stripe]z`);
    const crossing = `${'x'.repeat(50)}${TOKEN}${'z'.repeat(5)}`;
    expect(r.redact(crossing, { truncated: true })).not.toContain(TOKEN.slice(0, 4));
  });
});

describe('echoing upstream -> nothing of the secret survives', () => {
  let up: Upstream;
  let fwd: Forwarder;
  beforeAll(async () => {
    up = await startUpstream();
    fwd = new Forwarder();
  });
  afterAll(async () => {
    await fwd.close();
    await up.close();
  });

  const OTHER = 'ghp_OtherServiceSecret_0000111122223333';
  const cases: [string, AuthSpec, Record<string, string>, string[]][] = [
    ['bearer', { type: 'bearer' }, { token: 'tok+with/odd=chars"and spaces&amp;~' }, ['tok+with/odd=chars"and spaces&amp;~']],
    ['basic', { type: 'basic' }, { username: 'user@example.com', password: 'p@ss w0rd/+=' }, ['p@ss w0rd/+=', 'user@example.com']],
    ['header', { type: 'header', name: 'x-api-key' }, { token: 'hdr/Token+Value==' }, ['hdr/Token+Value==']],
    ['query', { type: 'query', param: 'key' }, { token: 'q/tok+en=&"é ~!*' }, ['q/tok+en=&"é ~!*']],
  ];

  it.each(cases)('%s: body and headers are clean in raw, base64, url and JSON forms', async (_n, auth, fields, secrets) => {
    const redactor = new Redactor([
      { service: 'svc', variants: secretVariants(auth, fields) },
      { service: 'other', variants: secretVariants({ type: 'bearer' }, { token: OTHER }) },
    ]);
    const headers = sanitizeAgentHeaders({ accept: 'application/json' }, authHeaderName(auth));
    const inj = injectCredential(auth, fields, 'svc');
    // The header-auth case: make the upstream echo our header as if it were Authorization.
    const injected = auth.type === 'header' ? { headers: { authorization: fields.token! }, queryParams: [] } : inj;
    // The upstream also echoes another service's secret it happens to know.
    const { url, headers: h } = applyInjection(`${up.url}/echo-secret?other=${encodeURIComponent(OTHER)}`, headers, injected);
    const res = await fwd.forward({ url, method: 'GET', headers: h, body: undefined, timeoutMs: 5000, maxResponseBytes: 1 << 20 });
    const outHeaders = redactor.redactHeaders(pickResponseHeaders(res.headers));
    const out = redactor.redactBody(res.body, res.headers['content-type'], res.truncated);
    expect(out.bodyEncoding).toBe('utf8');
    const everything = `${out.body}\n${JSON.stringify(outHeaders)}`;
    expect(everything).toContain('[REDACTED:svc]');
    expect(everything).toContain('[REDACTED:other]');
    expect(outHeaders['x-secret-not-allowlisted']).toBeUndefined();
    const injectedValues = Object.values(injected.headers).concat(injected.queryParams.map(([, v]) => v));
    for (const s of [...secrets, ...injectedValues, OTHER]) {
      for (const f of forms(s)) {
        expect(everything, `${f} leaked`).not.toContain(f);
        expect(JSON.stringify(everything)).not.toContain(JSON.stringify(f).slice(1, -1));
      }
    }
  });

  it('moving the truncation point through the secret never reveals a piece of it', async () => {
    const redactor = new Redactor([{ service: 'svc', variants: secretVariants({ type: 'bearer' }, { token: TOKEN }) }]);
    const { url, headers } = applyInjection(`${up.url}/pad`, {}, injectCredential({ type: 'bearer' }, { token: TOKEN }));
    for (let n = 980; n <= 1000 + `Bearer ${TOKEN}`.length; n += 3) {
      const res = await fwd.forward({
        url: `${url}?n=${n}`,
        method: 'GET',
        headers,
        body: undefined,
        timeoutMs: 5000,
        maxResponseBytes: 1000,
      });
      const out = redactor.redactBody(res.body, res.headers['content-type'], res.truncated);
      expect(out.body).toMatch(/^x*(\[REDACTED:svc\])?$/);
    }
  });
});

describe('Redactor properties (normalised view and index mapping)', () => {
  const SECRET_CHARS = 'abcdefghijklm0123456789+/=_-'.split('');
  const CONTEXT_CHARS = 'nopqrstuvwxyz NOPQRSTUVWXYZ,.:;!?"'.split('');
  const secretArb = fc.array(fc.constantFrom(...SECRET_CHARS), { minLength: 14, maxLength: 40 }).map((a) => a.join(''));
  const contextArb = fc.array(fc.constantFrom(...CONTEXT_CHARS), { maxLength: 30 }).map((a) => a.join(''));
  const hx = (c: string): string => c.charCodeAt(0).toString(16).padStart(2, '0');
  const encoders: Record<string, (s: string) => string> = {
    raw: (s) => s,
    jsonAll: (s) => [...s].map((c) => `\\u${hx(c).padStart(4, '0')}`).join(''),
    jsonAllUpper: (s) => [...s].map((c) => `\\u${hx(c).toUpperCase().padStart(4, '0')}`).join(''),
    dotnet: (s) => s.replace(/\+/g, '\\u002B'),
    htmlDecimal: (s) => [...s].map((c) => `&#${c.charCodeAt(0)};`).join(''),
    htmlHex: (s) => [...s].map((c) => `&#x${hx(c)};`).join(''),
    htmlNamed: (s) => s.replace(/\+/g, '&plus;').replace(/\//g, '&sol;').replace(/=/g, '&equals;'),
    percent: (s) => [...s].map((c) => `%${hx(c).toUpperCase()}`).join(''),
    // Quoted-printable: a soft line break after every third character (never inside an =HH).
    qp: (s) =>
      [...s]
        .map((c, i) => `${/[a-z0-9]/.test(c) ? c : `=${hx(c).toUpperCase()}`}${i % 3 === 2 && i < s.length - 1 ? '=\r\n' : ''}`)
        .join(''),
    hexLower: (s) => Buffer.from(s).toString('hex'),
    hexUpper: (s) => Buffer.from(s).toString('hex').toUpperCase(),
    base64: (s) => Buffer.from(s).toString('base64'),
    mime: (s) =>
      Buffer.from(s)
        .toString('base64')
        .replace(/(.{5})(?=.)/g, '$1\r\n'),
    utf16: (s) => [...s].join('\u0000'), // ASCII as UTF-16, minus the NUL after the last unit (outside the secret)
  };

  it('replaces exactly the encoded secret (or all but its last few characters), leaving the text around it intact', () => {
    fc.assert(
      fc.property(
        secretArb,
        contextArb,
        contextArb,
        fc.constantFrom(...Object.keys(encoders)),
        fc.integer({ min: 0, max: 4 }),
        (secret, pre, post, enc, drop) => {
          const r = new Redactor([{ service: 's', variants: secretVariants({ type: 'bearer' }, { token: secret }) }]);
          const shown = secret.slice(0, secret.length - drop);
          if (shown.length < NGRAM || (drop > 0 && /base64|mime/.test(enc))) return;
          const out = r.redact(`${pre}${encoders[enc]!(shown)}${post}`);
          const head = `${pre}[REDACTED:s]`;
          if (out === `${head}${post}`) return;
          // A secret holding an escape (`=76`, `%2F`, `&#…;`) has a decoded form too
          // (`aaaaaaaaaa=76a` → `aaaaaaaaaava`); text after the shown part that goes on
          // like that form (`aaaaaaaaaa` then `v`) is redacted with it. Only that: the
          // characters taken from `post` must continue the decoded secret.
          const decoded = normalise(secret)?.text;
          expect(decoded !== undefined && decoded !== secret, `over-redacted: ${out}`).toBe(true);
          expect(out.startsWith(head), out).toBe(true);
          const kept = out.slice(head.length);
          expect(post.endsWith(kept), out).toBe(true);
          expect(decoded).toContain(post.slice(0, post.length - kept.length));
        },
      ),
      { numRuns: 400 },
    );
  });

  it('whatever surrounds it, no run of NGRAM characters of the secret survives, raw or decoded', () => {
    const noisy = fc
      .array(
        fc.oneof(
          fc.constantFrom(...CONTEXT_CHARS, ...SECRET_CHARS),
          fc.constantFrom('\\', '&', '%', '=', '\n', '\0', '&#', '\\u00', '%2', '=\r\n'),
        ),
        { maxLength: 20 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(
        secretArb,
        noisy,
        noisy,
        fc.constantFrom(...Object.keys(encoders).filter((e) => !/base64|mime/.test(e))),
        (secret, pre, post, enc) => {
          const r = new Redactor([{ service: 's', variants: secretVariants({ type: 'bearer' }, { token: secret }) }]);
          const out = r.redact(`${pre}${encoders[enc]!(secret)}${post}`);
          for (const view of [out, normalise(out)?.text ?? out]) {
            for (let i = 0; i + NGRAM <= secret.length; i++) expect(view).not.toContain(secret.slice(i, i + NGRAM));
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('text holding no part of a secret comes back unchanged, escapes and all', () => {
    const r = new Redactor([{ service: 's', variants: secretVariants({ type: 'bearer' }, { token: 'abcdefghijklm0123456789+/=' }) }]);
    const text = fc
      .array(
        fc.oneof(fc.constantFrom(...CONTEXT_CHARS), fc.constantFrom('\\n', '\\u0041', '&amp;', '&#x41;', '%41', '=41', '\r\n', '\0')),
        { maxLength: 60 },
      )
      .map((a) => a.join(''));
    fc.assert(
      fc.property(text, (t) => {
        expect(r.redact(t)).toBe(t);
      }),
      { numRuns: 500 },
    );
  });
});
