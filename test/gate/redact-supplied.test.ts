/**
 * The redactor's exemption for the agent's own text (src/gate/supplied.ts): an
 * echo of what the agent sent comes back as sent in every form the redactor
 * models, so it says nothing about whether that text is a run of a secret; any
 * run with a character the agent did not send is redacted whole, as before.
 */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { secretVariants } from '../../src/gate/inject.js';
import { NGRAM, Redactor } from '../../src/gate/redact.js';
import { Supplied, suppliedByExec, suppliedByExecute } from '../../src/gate/supplied.js';

const KEY = 'sk_test_51hq8zk2eoz9x7v3mwq0rt5yb2n4c6d8f0g1h3j5k7';
const r = new Redactor([
  { service: 'stripe', variants: secretVariants({ type: 'bearer' }, { token: KEY }) },
  { service: 'short', variants: ['pw-7x!q'] },
]);
const b64 = (s: string): string => Buffer.from(s).toString('base64');
const hex = (s: string): string => Buffer.from(s).toString('hex');

/** The output for a right and for a wrong next character after `known`, each guess replaced by a marker. */
function both(known: string, echo: (guess: string) => string, send: (guess: string) => string = (g) => g): [string, string] {
  const right = known + KEY[known.length]!;
  const wrong = known + (KEY[known.length] === 'z' ? 'y' : 'z');
  return [right, wrong].map((g) =>
    r
      .redact(echo(g), { supplied: new Supplied([send(g)]) })
      .split(echo(g))
      .join('<echo>'),
  ) as [string, string];
}

describe('Redactor: the agent’s own text', () => {
  it('an echo of a guess is the same for a right and a wrong character, in every form an upstream may give it back', () => {
    const known = KEY.slice(0, NGRAM - 1);
    const wrap = (g: string): string => `{"q":"#${g}#","page":2}`;
    for (const echo of [
      (g: string) => `No such customer: '${g}'`,
      (g: string) => g.toUpperCase(),
      (g: string) => `cursor=${b64(wrap(g))}`,
      (g: string) => `cursor=${Buffer.from(wrap(g)).toString('base64url')}`,
      (g: string) => `id=${hex(g)}`,
      (g: string) => `next=${encodeURIComponent(`/${g}/`)}`,
      (g: string) => JSON.stringify({ echo: JSON.stringify({ q: g }) }),
      (g: string) => `<a title="${[...g].map((c) => `&#${c.charCodeAt(0)};`).join('')}">`,
    ]) {
      const [right, wrong] = both(known, echo, wrap);
      expect(right, echo('…')).toBe(wrong);
      expect(right).toBe('<echo>');
    }
  });

  it('a guess sent percent-encoded and echoed decoded, or the reverse, is the agent’s too', () => {
    const g = KEY.slice(3, 20);
    expect(r.redact(`'${g}'`, { supplied: new Supplied([`/v1/c/${encodeURIComponent(g).replace(/_/g, '%5F')}`]) })).toBe(`'${g}'`);
    expect(r.redact(g.replace(/_/g, '%5f'), { supplied: new Supplied([g]) })).toBe(g.replace(/_/g, '%5f'));
  });

  it('a run with one character the agent did not send is redacted whole', () => {
    const sent = KEY.slice(0, NGRAM - 1);
    expect(r.redact(`got ${KEY.slice(0, NGRAM)}`, { supplied: new Supplied([sent]) })).toBe('got [REDACTED:stripe]');
    // The real key echoed beside the agent's correct guess: the same as beside a wrong one.
    const [right, wrong] = both(sent, (g) => `you sent ${g}; auth was Bearer ${KEY}`);
    expect(right.replace(/you sent \S+;/, '')).toBe(wrong.replace(/you sent \S+;/, ''));
    expect(right).toContain('auth was [REDACTED:stripe]');
    // A whole value is redacted even when the agent sent it: no one guesses one, so that says nothing.
    expect(r.redact(`id ${KEY}`, { supplied: new Supplied([KEY]) })).toBe('id [REDACTED:stripe]');
    expect(r.redact(`id ${KEY.slice(1)}`, { supplied: new Supplied([KEY]) })).toBe(`id ${KEY.slice(1)}`);
    // Sent in lower case, echoed in the key's own case: not the agent's text.
    const mixed = new Redactor([{ service: 'm', variants: ['sk_test_HTTPSECRET1234567890abcdef'] }]);
    expect(mixed.redact('sk_test_HTTPSECRET1234567890abcdef', { supplied: new Supplied(['sk_test_httpsecret1234567890abcdef']) })).toBe(
      '[REDACTED:m]',
    );
  });

  it('a short secret is redacted even when the agent sent it (many guesses in one call must not unmask the injected value); without `supplied` nothing changes', () => {
    expect(r.redact('pw: pw-7x!q', { supplied: new Supplied(['pw-7x!q']) })).toBe('pw: [REDACTED:short]');
    const guesses = new Supplied(Array.from({ length: 1000 }, (_, i) => `pw-${i}x!q`).concat('pw-7x!q'));
    expect(r.redact('{"user":"pw-7x!q"}', { supplied: guesses })).toBe('{"user":"[REDACTED:short]"}');
    expect(r.redact('pw: pw-7x!q', { supplied: new Supplied(['pw-7x']) })).toBe('pw: [REDACTED:short]');
    expect(r.redact(`x ${KEY.slice(0, 12)}`)).toBe('x [REDACTED:stripe]');
  });

  it('bodies (text, bytes, gzip) and headers follow the same rule', () => {
    const g = KEY.slice(5, 22);
    const s = new Supplied([g]);
    expect(r.redactBody(Buffer.from(`{"id":"${g}"}`), 'application/json', false, s).body).toBe(`{"id":"${g}"}`);
    const bin = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00]), Buffer.from(g), Buffer.from([0x80])]);
    expect(Buffer.from(r.redactBody(bin, 'image/png', false, s).body, 'base64')).toEqual(bin);
    expect(r.redactBody(Buffer.concat([bin, Buffer.from(KEY)]), 'image/png', false, s).body).not.toBe(
      Buffer.concat([bin, Buffer.from(KEY)]).toString('base64'),
    );
    expect(r.redactBody(gzipSync(`{"id":"${g}"}`), 'application/octet-stream', false, s).body).not.toMatch(/withheld/);
    expect(r.redactBody(gzipSync(`{"id":"${KEY}"}`), 'application/octet-stream', false, s).body).toMatch(/withheld/);
    expect(r.redactHeaders({ 'x-echo': g, 'x-auth': KEY }, s)).toEqual({ 'x-echo': g, 'x-auth': '[REDACTED:stripe]' });
  });

  it('what counts as sent: every string of an execute or exec request, a JSON body also as its text', () => {
    const g = KEY.slice(8, 24);
    const forms = (x: Supplied): string[] => [...x.plain(), ...x.encoded()];
    for (const req of [
      { service: 'shop', method: 'GET', path: `/c/${g}` },
      { service: 'shop', method: 'GET', path: '/c', query: { q: [g] } },
      { service: 'shop', method: 'GET', path: '/c', headers: { 'x-id': g } },
      { service: 'shop', method: 'POST', path: '/c', body: { nested: [{ [g]: 1 }] } },
    ]) {
      expect(forms(suppliedByExecute(req)).some((f) => f.includes(g))).toBe(true);
    }
    expect(forms(suppliedByExecute({ service: 'shop', method: 'POST', path: '/c', body: { a: 'x"y' } }))).toContain('{"a":"x\\"y"}');
    for (const req of [
      { command: 'c', args: [g] },
      { command: 'c', args: [], stdin: g },
      { command: 'c', args: [], cwd: `/w/${g}` },
    ]) {
      expect(forms(suppliedByExec(req)).some((f) => f.includes(g))).toBe(true);
    }
  });
});

describe('Redactor.holdsWhole', () => {
  it('finds a whole value in any listed form, in any case; not a part of one, nor a short one', () => {
    for (const t of [KEY, `x=${KEY};`, b64(`a:${KEY}`), hex(KEY), encodeURIComponent(`/${KEY}`), KEY.toUpperCase(), `%73${KEY.slice(1)}`])
      expect(r.holdsWhole(t), t).toBe(true);
    for (const t of [KEY.slice(0, -1), KEY.slice(1), 'pw-7x!q', ''].map((x) => `[${x}]`)) expect(r.holdsWhole(t), t).toBe(false);
  });
});
