import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import {
  ENTRY_NAME_RE,
  FIELD_NAME_RE,
  decodePayload,
  encodePayload,
  isCanonicalOrigin,
  isValidFieldValue,
} from '../../src/vault/payload.js';
import { emptyVaultData, type VaultData } from '../../src/vault/types.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const str = (b: Uint8Array): string => new TextDecoder().decode(b);
const T = '2026-01-15T09:30:00.000Z';
const SECRET = 'sk_test_SECRETSECRET';

function errOf(f: () => unknown): JaneeError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error('expected a JaneeError');
}

/** A payload with one entry, with `patch` applied to that entry (or to the root). */
function doc(entryPatch: Record<string, unknown> = {}, rootPatch: Record<string, unknown> = {}): string {
  return JSON.stringify({
    version: 1,
    generation: 3,
    entries: { stripe: { fields: { token: SECRET }, origins: ['https://api.stripe.com'], created: T, updated: T, ...entryPatch } },
    ...rootPatch,
  });
}

describe('encodePayload', () => {
  it('writes canonical JSON: fixed key order, names and fields sorted, no whitespace', () => {
    const data: VaultData = {
      version: 1,
      generation: 2,
      entries: {
        zeta: { fields: { token: 't' }, origins: ['https://z.example'], created: T, updated: T },
        '10': { fields: { username: 'u', password: 'p' }, origins: [], created: T, updated: T },
        '9': { fields: { token: 'n"ine\\' }, origins: ['http://localhost:8080', 'https://b.example'], created: T, updated: T },
      },
    };
    expect(str(encodePayload(data))).toBe(
      '{"version":1,"generation":2,"entries":{' +
        `"10":{"fields":{"password":"p","username":"u"},"origins":[],"created":"${T}","updated":"${T}"},` +
        `"9":{"fields":{"token":"n\\"ine\\\\"},"origins":["http://localhost:8080","https://b.example"],"created":"${T}","updated":"${T}"},` +
        `"zeta":{"fields":{"token":"t"},"origins":["https://z.example"],"created":"${T}","updated":"${T}"}}}`,
    );
  });

  it('encodes the empty vault', () => {
    expect(str(encodePayload(emptyVaultData()))).toBe('{"version":1,"generation":0,"entries":{}}');
  });

  it('refuses data that decode would refuse (TypeError), without echoing values', () => {
    const bad: VaultData = {
      version: 1,
      generation: 0,
      entries: { a: { fields: { token: `${SECRET}\n` }, origins: [], created: T, updated: T } },
    };
    expect(() => encodePayload(bad)).toThrow(TypeError);
    try {
      encodePayload(bad);
    } catch (e) {
      expect(String(e)).not.toContain(SECRET);
    }
    expect(() => encodePayload({ ...emptyVaultData(), entries: { 'has space': bad.entries['a'] as never } })).toThrow(TypeError);
  });
});

describe('decodePayload', () => {
  it('decodes what encode wrote', () => {
    const d = decodePayload(utf8(doc()));
    expect(d).toEqual({
      version: 1,
      generation: 3,
      entries: { stripe: { fields: { token: SECRET }, origins: ['https://api.stripe.com'], created: T, updated: T } },
    });
    expect(decodePayload(encodePayload(d))).toEqual(d);
  });

  it('accepts unicode secrets and TABs', () => {
    const d = decodePayload(utf8(doc({ fields: { password: 'pä\tss 🔑' } })));
    expect(d.entries['stripe']?.fields['password']).toBe('pä\tss 🔑');
  });

  it('reports a newer payload version as VAULT_UNSUPPORTED_VERSION', () => {
    const e = errOf(() => decodePayload(utf8(doc({}, { version: 3, somethingNew: true }))));
    expect(e.code).toBe('VAULT_UNSUPPORTED_VERSION');
    expect(e.hint).toBe('upgrade janee');
  });

  const bad: [string, string, RegExp][] = [
    ['not JSON', `{"token":"${SECRET}"`, /^vault payload is not valid JSON$/],
    ['array', '[]', /must be a JSON object/],
    ['null', 'null', /must be a JSON object/],
    ['a BOM', `\ufeff${doc()}`, /not valid JSON/],
    ['version missing', doc({}, { version: undefined }), /version must be 1 or 2/],
    ['version "1"', doc({}, { version: '1' }), /version must be 1 or 2/],
    ['version 0', doc({}, { version: 0 }), /version must be 1 or 2/],
    ['version 1.5', doc({}, { version: 1.5 }), /version must be 1 or 2/],
    ['unknown root key', doc({}, { extra: 1 }), /unknown key "extra"/],
    ['unprintable root key', doc({}, { [SECRET + '\n']: 1 }), /unknown key \(unprintable\)/],
    ['generation negative', doc({}, { generation: -1 }), /generation must be a non-negative integer/],
    ['generation float', doc({}, { generation: 1.5 }), /generation/],
    ['generation string', doc({}, { generation: '3' }), /generation/],
    ['generation unsafe', doc({}, { generation: 2 ** 53 }), /generation/],
    ['entries array', doc({}, { entries: [] }), /entries must be an object/],
    ['entry not object', doc({}, { entries: { a: SECRET } }), /entry "a" must be an object/],
    ['entry name with space', doc({}, { entries: { 'a b': {} } }), /entry name #1 is invalid/],
    ['entry name __proto__', '{"version":1,"generation":0,"entries":{"__proto__":{}}}', /entry name #1 is invalid/],
    ['entry name empty', doc({}, { entries: { '': {} } }), /entry name #1 is invalid/],
    ['unknown entry key', doc({ note: SECRET }), /entry "stripe": unknown key "note"/],
    ['fields missing', doc({ fields: undefined }), /fields must be an object/],
    ['fields empty', doc({ fields: {} }), /fields must not be empty/],
    ['field name invalid', doc({ fields: { '1token': SECRET } }), /field name #1 is invalid/],
    ['field number', doc({ fields: { token: 42 } }), /field "token" must be a string/],
    ['field null', doc({ fields: { token: null } }), /field "token" must be a string/],
    ['field empty', doc({ fields: { token: '' } }), /field "token" is empty/],
    ['field with newline', doc({ fields: { token: `${SECRET}\n` } }), /field "token" contains a control character/],
    ['field with NUL', doc({ fields: { token: `${SECRET}\u0000` } }), /control character/],
    ['field with DEL', doc({ fields: { token: `${SECRET}\u007f` } }), /control character/],
    [
      'field lone surrogate',
      `{"version":1,"generation":0,"entries":{"a":{"fields":{"token":"x\\ud800"},"origins":[],"created":"${T}","updated":"${T}"}}}`,
      /invalid unicode/,
    ],
    ['origins not array', doc({ origins: 'https://api.stripe.com' }), /origins must be an array/],
    ['origin with path', doc({ origins: ['https://api.stripe.com/v1'] }), /origins\[0\] must be an http\(s\) origin/],
    ['origin trailing slash', doc({ origins: ['https://api.stripe.com/'] }), /origins\[0\]/],
    ['origin default port', doc({ origins: ['https://api.stripe.com:443'] }), /origins\[0\]/],
    ['origin upper case', doc({ origins: ['https://API.stripe.com'] }), /origins\[0\]/],
    ['origin userinfo', doc({ origins: ['https://u:p@api.stripe.com'] }), /origins\[0\]/],
    ['origin ftp', doc({ origins: ['ftp://files.example'] }), /origins\[0\]/],
    ['origin not url', doc({ origins: ['api.stripe.com'] }), /origins\[0\]/],
    ['origin number', doc({ origins: [443] }), /origins\[0\]/],
    ['origin unicode host', doc({ origins: ['https://bücher.example'] }), /origins\[0\]/],
    ['origin duplicate', doc({ origins: ['https://a.example', 'https://a.example'] }), /origins\[1\] is a duplicate/],
    ['created missing', doc({ created: undefined }), /created must be an ISO-8601 UTC time/],
    ['created without ms', doc({ created: '2026-01-15T09:30:00Z' }), /created must be an ISO-8601/],
    ['created with offset', doc({ created: '2026-01-15T09:30:00.000+01:00' }), /created must be an ISO-8601/],
    ['created Feb 30', doc({ created: '2026-02-30T09:30:00.000Z' }), /created is not a valid date/],
    ['updated hour 24', doc({ updated: '2026-01-15T24:00:00.000Z' }), /updated is not a valid date/],
    ['updated number', doc({ updated: 0 }), /updated must be/],
  ];
  it.each(bad)('refuses %s (VAULT_BAD_PAYLOAD, no values in the message)', (_name, json, message) => {
    const e = errOf(() => decodePayload(utf8(json)));
    expect(e.code).toBe('VAULT_BAD_PAYLOAD');
    expect(e.message).toMatch(message);
    expect(`${e.message} ${e.hint ?? ''}`).not.toContain(SECRET);
    expect(e.message).not.toContain('stripe.com');
  });

  it('refuses invalid UTF-8', () => {
    const e = errOf(() => decodePayload(new Uint8Array([0x7b, 0xc3, 0x28, 0x7d])));
    expect(e.code).toBe('VAULT_BAD_PAYLOAD');
    expect(e.message).toBe('vault payload is not valid UTF-8');
  });

  it('never passes on the JSON parser message (it quotes the input)', () => {
    const e = errOf(() => decodePayload(utf8(`{"entries":{"a":{"fields":{"token":"${SECRET}" oops`)));
    expect(e.message).toBe('vault payload is not valid JSON');
  });
});

describe('helpers', () => {
  it('isCanonicalOrigin', () => {
    for (const o of [
      'https://api.stripe.com',
      'http://localhost:8080',
      'http://127.0.0.1:3000',
      'https://[::1]:8443',
      'https://xn--bcher-kva.example',
    ]) {
      expect(isCanonicalOrigin(o), o).toBe(true);
    }
    for (const o of [
      'https://a.example/',
      'https://a.example:443',
      'null',
      'file:///etc',
      'https://a.example?x',
      'HTTPS://a.example',
      '',
    ]) {
      expect(isCanonicalOrigin(o), o).toBe(false);
    }
  });
  it('name patterns', () => {
    expect(['stripe', 'github.com', 'my-api_2', 'A', '9'].every((n) => ENTRY_NAME_RE.test(n))).toBe(true);
    expect(['', '-x', '.x', '_x', 'a b', 'a/b', '__proto__', 'x'.repeat(65)].some((n) => ENTRY_NAME_RE.test(n))).toBe(false);
    expect(['token', 'username', 'password', 'api_key', 'X-Api-Key'].every((n) => FIELD_NAME_RE.test(n))).toBe(true);
    expect(['', '1a', '_a', 'a b', 'a.b'].some((n) => FIELD_NAME_RE.test(n))).toBe(false);
  });
  it('isValidFieldValue', () => {
    expect(isValidFieldValue('sk_live_x')).toBe(true);
    expect(isValidFieldValue('a\tb')).toBe(true);
    expect(isValidFieldValue('😀')).toBe(true);
    expect(isValidFieldValue('')).toBe(false);
    expect(isValidFieldValue('a\nb')).toBe(false);
    expect(isValidFieldValue('a\rb')).toBe(false);
    expect(isValidFieldValue('\ud83d')).toBe(false);
    expect(isValidFieldValue('\ude00x')).toBe(false);
  });
});

// ---------------------------------------------------------------------------
// properties

const nameArb = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,20}$/);
const fieldArb = fc.stringMatching(/^[A-Za-z][A-Za-z0-9_-]{0,10}$/);
const valueArb = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter(isValidFieldValue);
const originArb = fc
  .tuple(fc.constantFrom('http', 'https'), fc.domain(), fc.option(fc.integer({ min: 1, max: 65535 }), { nil: undefined }))
  .map(([s, host, port]) => new URL(`${s}://${host}${port === undefined ? '' : `:${port}`}`).origin)
  .filter(isCanonicalOrigin);
const dateArb = fc
  .date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })
  .map((d) => d.toISOString());
const entryArb = fc.record({
  fields: fc.dictionary(fieldArb, valueArb, { minKeys: 1, maxKeys: 3 }),
  origins: fc.uniqueArray(originArb, { maxLength: 3 }),
  created: dateArb,
  updated: dateArb,
});
const dataArb: fc.Arbitrary<VaultData> = fc.record({
  version: fc.constant(1 as const),
  generation: fc.nat({ max: Number.MAX_SAFE_INTEGER }),
  entries: fc.dictionary(nameArb, entryArb, { maxKeys: 5 }),
});

describe('payload properties', () => {
  it('decode(encode(x)) equals x, and encoding is canonical (encode∘decode is the identity on bytes)', () => {
    fc.assert(
      fc.property(dataArb, (data) => {
        const bytes = encodePayload(data);
        const back = decodePayload(bytes);
        expect(back).toEqual(data);
        expect(encodePayload(back)).toEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  it('arbitrary bytes and arbitrary JSON only ever give a JaneeError', () => {
    const check = (b: Uint8Array): void => {
      try {
        decodePayload(b);
      } catch (e) {
        expect(e).toBeInstanceOf(JaneeError);
        expect(['VAULT_BAD_PAYLOAD', 'VAULT_UNSUPPORTED_VERSION']).toContain((e as JaneeError).code);
      }
    };
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), check), { numRuns: 200 });
    fc.assert(
      fc.property(fc.jsonValue(), (v) => check(utf8(JSON.stringify(v) ?? 'null'))),
      { numRuns: 200 },
    );
    fc.assert(
      fc.property(dataArb, fc.jsonValue(), fc.nat(), (data, junk, at) => {
        // Replace one node of a valid document with arbitrary JSON.
        const paths: (string | number)[][] = [];
        const walk = (v: unknown, p: (string | number)[]): void => {
          paths.push(p);
          if (typeof v === 'object' && v !== null)
            for (const [k, c] of Object.entries(v)) walk(c, [...p, Array.isArray(v) ? Number(k) : k]);
        };
        const doc0 = JSON.parse(str(encodePayload(data))) as unknown;
        walk(doc0, []);
        const path = paths[at % paths.length] as (string | number)[];
        if (path.length === 0) return check(utf8(JSON.stringify(junk) ?? 'null'));
        let node = doc0 as Record<string | number, unknown>;
        for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
        node[path[path.length - 1] as string | number] = junk;
        check(utf8(JSON.stringify(doc0)));
      }),
      { numRuns: 200 },
    );
  });
});
