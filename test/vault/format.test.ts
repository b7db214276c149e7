import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import {
  DEFAULT_LOG_N,
  MAX_LOG_N,
  MIN_LOG_N,
  WARN_BELOW_LOG_N,
  b64decode,
  b64encode,
  fingerprint,
  generateFileKey,
  headerMatchesKey,
  openVault,
  parseVault,
  sealVault,
  unwrapFileKey,
  wrapFileKey,
  type ScryptStanza,
} from '../../src/vault/format.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const PASS = utf8('correct horse battery staple');
const FILE_KEY = new Uint8Array(32).map((_, i) => i + 1);
const SALT = new Uint8Array(16).fill(7);
const NONCE = new Uint8Array(24).fill(9);

async function codeOf(f: () => unknown): Promise<string> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return (e as JaneeError).code;
  }
  throw new Error('expected a JaneeError');
}

async function errOf(f: () => unknown): Promise<JaneeError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(JaneeError);
    return e as JaneeError;
  }
  throw new Error('expected a JaneeError');
}

const header: ScryptStanza = await wrapFileKey(PASS, FILE_KEY, 10, { salt: SALT });

describe('constants', () => {
  it('are as documented', () => {
    expect([MIN_LOG_N, WARN_BELOW_LOG_N, DEFAULT_LOG_N, MAX_LOG_N]).toEqual([10, 15, 18, 22]);
  });
});

describe('base64 (standard, unpadded, canonical)', () => {
  it('round-trips every length 0..100', () => {
    for (let n = 0; n <= 100; n++) {
      const b = new Uint8Array(n).map((_, i) => (i * 37 + n) & 255);
      const s = b64encode(b);
      expect(s).not.toMatch(/=/);
      expect(b64decode(s)).toEqual(b);
    }
  });
  it('refuses padding, whitespace, url alphabet, impossible length, unused bits', () => {
    for (const s of ['AA==', 'AAA=', 'AA AA', 'AA\n', '-_-_', 'A', 'AAAAA', 'AB', 'AAB', 'AAAAAAAAAAAAAAAAAAAAAB']) {
      expect(b64decode(s), s).toBeUndefined();
    }
    expect(b64decode('AA')).toEqual(new Uint8Array([0]));
    expect(b64decode('AAA')).toEqual(new Uint8Array([0, 0]));
    expect(b64decode('')).toEqual(new Uint8Array(0));
  });
});

describe('layout', () => {
  const pt = utf8('{"hello":"world"}');
  const v = sealVault(header, FILE_KEY, pt, { nonce: NONCE });
  const text = latin1(v);
  const lines = text.split('\n');

  it('is ASCII with LF line ends, ending in LF', () => {
    expect(/^[\x20-\x7e\n]*$/.test(text)).toBe(true);
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toContain('\r');
  });

  it('has the five header lines of the spec', () => {
    expect(lines[0]).toBe('janee-vault/v1');
    expect(lines[1]).toBe(`-> scrypt ${b64encode(SALT)} 10`);
    expect(lines[2]).toMatch(/^[A-Za-z0-9+/]{64}$/);
    expect(lines[3]).toMatch(/^# check [A-Za-z0-9+/]{11}$/);
    expect(lines[4]).toMatch(/^--- [A-Za-z0-9+/]{43}$/);
    const checked = lines.slice(0, 3).join('\n') + '\n';
    const sum = createHash('sha256').update(checked).digest().subarray(0, 8);
    expect(lines[3]).toBe(`# check ${b64encode(sum)}`);
  });

  it('is deterministic given salt and nonce (so the vectors are stable)', () => {
    expect(sealVault(header, FILE_KEY, pt, { nonce: NONCE })).toEqual(v);
  });

  it('wraps the payload at 64 columns, last line shorter, for every size near the edges', () => {
    for (let n = 0; n < 200; n++) {
      const sealed = latin1(sealVault(header, FILE_KEY, new Uint8Array(n)));
      const payload = sealed.split('\n').slice(5, -1);
      const last = payload[payload.length - 1] as string;
      for (const l of payload.slice(0, -1)) expect(l).toHaveLength(64);
      expect(last.length).toBeLessThan(64);
      expect(payload.join('').length).toBe(Math.ceil(((24 + n + 16) * 4) / 3));
    }
  });

  it('keeps the header byte-identical across saves (only the payload changes in git)', () => {
    const a = latin1(sealVault(header, FILE_KEY, pt));
    const b = latin1(sealVault(header, FILE_KEY, pt));
    const head = (s: string): string => s.split('\n').slice(0, 5).join('\n');
    expect(head(a)).toBe(head(b));
    expect(a).not.toBe(b); // fresh nonce
  });

  it('parse exposes the header text (the AAD), mac, nonce and ciphertext', () => {
    const p = parseVault(v);
    expect(p.headerText).toBe(lines.slice(0, 5).join('\n') + '\n');
    expect(p.header.scrypt?.logN).toBe(10);
    expect(p.header.scrypt?.salt).toEqual(SALT);
    expect(p.header.scrypt?.wrappedKey).toEqual(header.wrappedKey);
    expect(p.header.recipients).toEqual([]);
    expect(p.nonce).toEqual(NONCE);
    expect(p.mac).toHaveLength(32);
    expect(p.ciphertext).toHaveLength(pt.length + 16);
  });
});

describe('round trip', () => {
  it('seal → parse → unwrap → open gives back the plaintext', async () => {
    for (const n of [0, 1, 7, 8, 23, 24, 47, 48, 49, 1000, 100_000]) {
      const pt = new Uint8Array(n).map((_, i) => (i * 131) & 255);
      const parsed = parseVault(sealVault(header, FILE_KEY, pt));
      const key = await unwrapFileKey(parsed.header, PASS);
      expect(key).toEqual(FILE_KEY);
      expect(openVault(parsed, key)).toEqual(pt);
    }
  });

  it('generateFileKey gives 32 fresh random bytes', () => {
    const a = generateFileKey();
    const b = generateFileKey();
    expect(a).toBeInstanceOf(Uint8Array);
    expect(a).toHaveLength(32);
    expect(a).not.toEqual(b);
  });

  it('wrapFileKey takes a fresh salt each time', async () => {
    const a = await wrapFileKey(PASS, FILE_KEY, 10);
    const b = await wrapFileKey(PASS, FILE_KEY, 10);
    expect(a.salt).not.toEqual(b.salt);
    expect(a.wrappedKey).not.toEqual(b.wrappedKey);
    expect(await unwrapFileKey(b, PASS)).toEqual(FILE_KEY);
  });
});

describe('passwd and rekey', () => {
  const pt = utf8('payload');
  it('passwd: same file key under a new passphrase; the agent sees the same key', async () => {
    const newPass = utf8('new passphrase');
    const h2 = await wrapFileKey(newPass, FILE_KEY, 10);
    const parsed = parseVault(sealVault(h2, FILE_KEY, pt));
    expect(headerMatchesKey(parsed, FILE_KEY)).toBe(true);
    expect(await codeOf(() => unwrapFileKey(parsed.header, PASS))).toBe('VAULT_BAD_PASSPHRASE');
    expect(openVault(parsed, await unwrapFileKey(parsed.header, newPass))).toEqual(pt);
  });

  it('rekey: a new file key; the old key no longer matches and cannot open', async () => {
    const k2 = generateFileKey();
    const parsed = parseVault(sealVault(await wrapFileKey(PASS, k2, 10), k2, pt));
    expect(headerMatchesKey(parsed, FILE_KEY)).toBe(false);
    expect(headerMatchesKey(parsed, k2)).toBe(true);
    expect(await codeOf(() => openVault(parsed, FILE_KEY))).toBe('VAULT_BAD_MAC');
  });
});

describe('errors', () => {
  const v = sealVault(header, FILE_KEY, utf8('{"x":1}'), { nonce: NONCE });
  const text = latin1(v);

  it('wrong passphrase is VAULT_BAD_PASSPHRASE with the documented hint', async () => {
    const e = await errOf(() => unwrapFileKey(parseVault(v).header, utf8('nope')));
    expect(e.code).toBe('VAULT_BAD_PASSPHRASE');
    expect(e.message).toBe('wrong passphrase');
    expect(e.hint).toBe('check the passphrase (JANEE_PASSPHRASE / JANEE_PASSPHRASE_FILE if set)');
  });

  it('an empty passphrase fails like a wrong one', async () => {
    expect(await codeOf(() => unwrapFileKey(parseVault(v).header, new Uint8Array(0)))).toBe('VAULT_BAD_PASSPHRASE');
  });

  it('refuses log2 N > 22 before any scrypt work', async () => {
    const h = { ...(parseVault(v).header.scrypt as ScryptStanza), logN: 23 };
    const t0 = performance.now();
    const e = await errOf(() => unwrapFileKey(h, PASS));
    expect(performance.now() - t0).toBeLessThan(100);
    expect(e.code).toBe('VAULT_WORK_FACTOR');
    expect(e.message).toBe('refusing work factor 2^23 (max 2^22)');
  });

  it('accepts any log2 N from 1 to 22 when reading (only writers have a floor)', async () => {
    // A vault at log2 N = 2 cannot be written by wrapFileKey; build its header by hand.
    const { scryptAsync } = await import('../../src/vault/scrypt.js');
    const { xchacha20poly1305 } = await import('@noble/ciphers/chacha.js');
    const kek = await scryptAsync(PASS, new Uint8Array([...utf8('janee.dev/v1/scrypt'), ...SALT]), 2);
    const h: ScryptStanza = { logN: 2, salt: SALT, wrappedKey: xchacha20poly1305(kek, new Uint8Array(24)).encrypt(FILE_KEY) };
    const parsed = parseVault(sealVault(h, FILE_KEY, utf8('low')));
    expect(parsed.header.scrypt?.logN).toBe(2);
    expect(await unwrapFileKey(parsed.header, PASS)).toEqual(FILE_KEY);
  });

  it('damage is told apart from a wrong passphrase', async () => {
    const lines = text.split('\n');
    const wk = b64decode(lines[2] as string) as Uint8Array;
    wk[5] = (wk[5] as number) ^ 0x10;
    lines[2] = b64encode(wk);
    expect(await codeOf(() => parseVault(bytes(lines.join('\n'))))).toBe('VAULT_BAD_HEADER');
  });

  it.each([
    ['', 'VAULT_EMPTY', 'vault file is empty'],
    ['janee-vault/v1', 'VAULT_BAD_HEADER', 'vault header is truncated'],
    ['janee-va', 'VAULT_BAD_HEADER', 'vault header is truncated'],
    ['janee-vault/v7\n-> whatever\n', 'VAULT_UNSUPPORTED_VERSION', 'vault format v7 is newer than this janee supports (v2)'],
    ['janee-vault/v12', 'VAULT_UNSUPPORTED_VERSION', 'vault format v12 is newer than this janee supports (v2)'],
    ['janee-vault/v0\n', 'VAULT_BAD_HEADER', 'not a janee vault'],
    ['age-encryption.org/v1\n', 'VAULT_BAD_HEADER', 'not a janee vault'],
    ['janee-vault/v1\r\n', 'VAULT_BAD_HEADER', 'vault file has CRLF line endings'],
    ['janee-vault/v1\n-> scrypt AAAA 10\n', 'VAULT_BAD_HEADER', 'vault header is damaged (malformed scrypt line)'],
    ['janee-vault/v1\n-> X25519 AAAA\n', 'VAULT_BAD_HEADER', 'vault header is damaged (malformed scrypt line)'],
  ])('parse %j → %s', async (input, code, message) => {
    const e = await errOf(() => parseVault(bytes(input)));
    expect(e.code).toBe(code);
    expect(e.message).toBe(message);
    expect(e.hint).toBeTruthy();
  });

  it('VAULT_UNSUPPORTED_VERSION hints to upgrade', async () => {
    expect((await errOf(() => parseVault(utf8('janee-vault/v3\n')))).hint).toBe('upgrade janee');
  });

  it('damaged payload, mac and header never echo key or payload bytes', async () => {
    const lines = text.split('\n');
    const macLine = lines[4] as string;
    const flipped = macLine.slice(0, 10) + (macLine[10] === 'A' ? 'B' : 'A') + macLine.slice(11);
    const e = await errOf(() => openVault(parseVault(bytes([...lines.slice(0, 4), flipped, ...lines.slice(5)].join('\n'))), FILE_KEY));
    expect(e.code).toBe('VAULT_BAD_MAC');
    const all = `${e.message} ${e.hint ?? ''}`;
    for (const secret of [b64encode(FILE_KEY), Buffer.from(FILE_KEY).toString('hex'), macLine.slice(4), lines[5] as string]) {
      expect(all).not.toContain(secret);
    }
  });

  it('openVault with the wrong file key is VAULT_BAD_MAC', async () => {
    expect(await codeOf(() => openVault(parseVault(v), generateFileKey()))).toBe('VAULT_BAD_MAC');
  });
});

describe('argument validation (programming errors)', () => {
  it('wrapFileKey', async () => {
    await expect(wrapFileKey(PASS, new Uint8Array(31), 10)).rejects.toThrow(/fileKey: Uint8Array of length 32 expected, got length=31/);
    await expect(wrapFileKey(new Uint8Array(0), FILE_KEY, 10)).rejects.toThrow(/passphrase must not be empty/);
    await expect(wrapFileKey(PASS, FILE_KEY, 9)).rejects.toThrow(RangeError);
    await expect(wrapFileKey(PASS, FILE_KEY, 23)).rejects.toThrow(RangeError);
    await expect(wrapFileKey(PASS, FILE_KEY, 12.5)).rejects.toThrow(RangeError);
    await expect(wrapFileKey(PASS, FILE_KEY, 10, { salt: new Uint8Array(8) })).rejects.toThrow(/salt: Uint8Array of length 16/);
    await expect(wrapFileKey('pw' as unknown as Uint8Array, FILE_KEY, 10)).rejects.toThrow(TypeError);
  });
  it('sealVault', () => {
    expect(() => sealVault(header, new Uint8Array(33), new Uint8Array(1))).toThrow(/length 32 expected, got length=33/);
    expect(() => sealVault({ ...header, salt: new Uint8Array(15) }, FILE_KEY, new Uint8Array(1))).toThrow(RangeError);
    expect(() => sealVault({ ...header, logN: 0 }, FILE_KEY, new Uint8Array(1))).toThrow(RangeError);
    expect(() => sealVault(header, FILE_KEY, new Uint8Array(1), { nonce: new Uint8Array(12) })).toThrow(/nonce: Uint8Array of length 24/);
  });
  it('parseVault / openVault / unwrapFileKey', async () => {
    expect(() => parseVault('janee-vault/v1\n' as unknown as Uint8Array)).toThrow(TypeError);
    const p = parseVault(sealVault(header, FILE_KEY, new Uint8Array(1)));
    expect(() => openVault(p, new Uint8Array(16))).toThrow(RangeError);
    await expect(unwrapFileKey({ ...header, wrappedKey: new Uint8Array(32) }, PASS)).rejects.toThrow(RangeError);
  });
});

describe('fingerprint', () => {
  const fp = (k: Uint8Array, n: string, f: string, v: string): string => fingerprint(k, n, f, v);
  it('is 16 hex chars, deterministic, keyed', () => {
    const a = fp(FILE_KEY, 'stripe', 'token', 'sk_live_123');
    expect(a).toMatch(/^[0-9a-f]{16}$/);
    expect(fp(FILE_KEY, 'stripe', 'token', 'sk_live_123')).toBe(a);
    expect(fp(generateFileKey(), 'stripe', 'token', 'sk_live_123')).not.toBe(a);
    expect(fp(FILE_KEY, 'stripe', 'token', 'sk_live_124')).not.toBe(a);
    expect(fp(FILE_KEY, 'stripe2', 'token', 'sk_live_123')).not.toBe(a);
    expect(fp(FILE_KEY, 'stripe', 'password', 'sk_live_123')).not.toBe(a);
  });
  it('separates name, field and value unambiguously', () => {
    expect(fp(FILE_KEY, 'ab', 'c', 'v')).not.toBe(fp(FILE_KEY, 'a', 'bc', 'v'));
    expect(fp(FILE_KEY, 'a', 'b', 'cv')).not.toBe(fp(FILE_KEY, 'a', 'bc', 'v'));
    expect(() => fp(FILE_KEY, 'a\0b', 'c', 'v')).toThrow(RangeError);
    expect(() => fp(new Uint8Array(16), 'a', 'b', 'v')).toThrow(RangeError);
  });
  it('is the documented construction (a fixed vector)', async () => {
    const { hkdf } = await import('@noble/hashes/hkdf.js');
    const { hmac } = await import('@noble/hashes/hmac.js');
    const { sha256 } = await import('@noble/hashes/sha2.js');
    const k = hkdf(sha256, FILE_KEY, undefined, utf8('janee.dev/v1/fingerprint'), 32);
    const mac = hmac(sha256, k, utf8('stripe\0token\0sk_live_123'));
    expect(fp(FILE_KEY, 'stripe', 'token', 'sk_live_123')).toBe(Buffer.from(mac.subarray(0, 8)).toString('hex'));
  });
});
