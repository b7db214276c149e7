/**
 * src/vault/scrypt.ts (node's crypto.scrypt on the thread pool) against @noble/hashes'
 * scrypt and the RFC 7914 test vectors.
 */
import { randomBytes } from 'node:crypto';
import { scrypt as nobleScrypt } from '@noble/hashes/scrypt.js';
import { describe, expect, it } from 'vitest';
import { scryptAsync } from '../../src/vault/scrypt.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const unhex = (s: string): string => s.replace(/\s+/g, '');

// RFC 7914 section 12.
const RFC_1 = unhex(`77 d6 57 62 38 65 7b 20 3b 19 ca 42 c1 8a 04 97 f1 6b 48 44 e3 07 4a e8 df df fa 3f ed e2 14 42
  fc d0 06 9d ed 09 48 f8 32 6a 75 3a 0f c8 1f 17 e8 d3 e0 fb 2e 0d 36 28 cf 35 e2 0c 38 d1 89 06`);
const RFC_2 = unhex(`fd ba be 1c 9d 34 72 00 78 56 e7 19 0d 01 e9 fe 7c 6a d7 cb c8 23 78 30 e7 73 76 63 4b 37 31 62
  2e af 30 d9 2e 22 a3 88 6f f1 09 27 9d 98 30 da c7 27 af b9 4a 83 ee 6d 83 60 cb df a2 cc 06 40`);
const RFC_3 = unhex(`70 23 bd cb 3a fd 73 48 46 1c 06 cd 81 fd 38 eb fd a8 fb ba 90 4f 8e 3e a9 b5 43 f6 54 5d a1 f2
  d5 43 29 55 61 3f 0f cf 62 d4 97 05 24 2a 9a f9 e6 1e 85 dc 0d 65 1e 40 df cf 01 7b 45 57 58 87`);

describe('scryptAsync (node crypto.scrypt, r=8, p=1)', () => {
  it('matches RFC 7914 vector 3 (pleaseletmein / SodiumChloride, N=16384, r=8, p=1)', async () => {
    const out = await scryptAsync(utf8('pleaseletmein'), utf8('SodiumChloride'), 14, 64);
    expect(hex(out)).toBe(RFC_3);
  });

  it('the reference (@noble/hashes) matches RFC 7914 vectors 1 and 2 too', () => {
    expect(hex(nobleScrypt(new Uint8Array(0), new Uint8Array(0), { N: 16, r: 1, p: 1, dkLen: 64 }))).toBe(RFC_1);
    expect(hex(nobleScrypt(utf8('password'), utf8('NaCl'), { N: 1024, r: 8, p: 16, dkLen: 64 }))).toBe(RFC_2);
    expect(hex(nobleScrypt(utf8('pleaseletmein'), utf8('SodiumChloride'), { N: 16384, r: 8, p: 1, dkLen: 64 }))).toBe(RFC_3);
  });

  const cases: [string, Uint8Array, Uint8Array, number, number][] = [
    ['empty password and salt', new Uint8Array(0), new Uint8Array(0), 1, 32],
    ['short password, janee-like salt', utf8('hunter2'), new Uint8Array([...utf8('janee.dev/v1/scrypt'), ...randomBytes(16)]), 4, 32],
    ['random 32-byte password', randomBytes(32), randomBytes(16), 8, 32],
    ['password longer than the sha256 block', randomBytes(200), randomBytes(16), 10, 32],
    ['unicode password, 64-byte output', utf8('pässwörd 🔑'), randomBytes(35), 10, 64],
    ['log2 N = 12', randomBytes(12), randomBytes(16), 12, 32],
  ];
  for (const [name, password, salt, logN, dkLen] of cases) {
    it(`equals @noble/hashes scrypt: ${name} (log2 N = ${logN})`, async () => {
      const mine = await scryptAsync(password, salt, logN, dkLen);
      const ref = nobleScrypt(password, salt, { N: 2 ** logN, r: 8, p: 1, dkLen });
      expect(mine).toHaveLength(dkLen);
      expect(hex(mine)).toBe(hex(ref));
    });
  }

  it('does not block the event loop (log2 N = 14)', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    try {
      await scryptAsync(utf8('pw'), randomBytes(16), 14);
    } finally {
      clearInterval(timer);
    }
    expect(ticks).toBeGreaterThan(2);
  });

  it('refuses a log2 N outside 1..30', () => {
    expect(() => scryptAsync(utf8('pw'), new Uint8Array(16), 0)).toThrow(RangeError);
    expect(() => scryptAsync(utf8('pw'), new Uint8Array(16), 31)).toThrow(RangeError);
    expect(() => scryptAsync(utf8('pw'), new Uint8Array(16), 10.5)).toThrow(RangeError);
  });
});
