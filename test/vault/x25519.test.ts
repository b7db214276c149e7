/**
 * The pieces of the team vault below the file format: the strict bech32 codec (BIP 173
 * vectors), age's key encodings (checked against the real age-keygen), X25519 through
 * node:crypto (RFC 7748 vector), low-order points refused, wrap/unwrap, identity files.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseIdentityText } from '../../src/vault/identity-file.js';
import { JaneeError } from '../../src/errors.js';
import { bech32Decode, bech32Encode } from '../../src/vault/bech32.js';
import { generateFileKey, unwrapWithIdentities, wrapForRecipient } from '../../src/vault/format.js';
import {
  AGE_X25519_LABEL,
  encodeIdentity,
  encodeRecipient,
  parseIdentity,
  parseRecipient,
  publicKeyOf,
  x25519Unwrap,
  x25519Wrap,
} from '../../src/vault/x25519.js';
import { hasCommand } from '../helpers/pty.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));
const te = new TextEncoder();

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return e instanceof JaneeError ? e.code : 'not a JaneeError';
  }
  return undefined;
}

describe('bech32 (BIP 173)', () => {
  it('accepts the BIP 173 valid strings', () => {
    for (const s of [
      'A12UEL5L',
      'a12uel5l',
      'an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs',
      'abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw',
      '11' + 'q'.repeat(82) + 'c8247j',
      'split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w',
    ]) {
      expect(bech32Decode(s), s).toBeDefined();
    }
  });

  it('refuses the BIP 173 invalid strings, mixed case, and bech32m', () => {
    for (const s of [
      '\x201nwldj5',
      '\x7f1axkwrx',
      'pzry9x0s0muk',
      '1pzry9x0s0muk',
      'x1b4n0q5v',
      'li1dgmt3',
      'de1lg7wt\xff',
      '10a06t8',
      '1qzzfhee',
      'A12uEL5L', // mixed case
      'a1lqfn3a', // valid bech32m (BIP 350), not bech32
    ]) {
      expect(bech32Decode(s), JSON.stringify(s)).toBeUndefined();
    }
  });

  it('round-trips bytes, and refuses non-zero padding bits', () => {
    for (const n of [0, 1, 5, 20, 32, 33]) {
      const data = new Uint8Array(n).map((_, i) => (i * 37 + 11) & 0xff);
      const s = bech32Encode('test', data);
      expect(bech32Decode(s)).toEqual({ hrp: 'test', data });
      expect(bech32Decode(s.toUpperCase())).toEqual({ hrp: 'test', data });
    }
    // 1 byte = 8 bits = two 5-bit groups with 2 padding bits: "qp" pads with 0b00, "qz" would not.
    const good = bech32Encode('x', new Uint8Array([0]));
    expect(good.slice(2, 4)).toBe('qq');
  });
});

describe('X25519 through node:crypto', () => {
  it('matches RFC 7748 §6.1', () => {
    const a = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const b = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    expect(Buffer.from(publicKeyOf(a)).toString('hex')).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(Buffer.from(publicKeyOf(b)).toString('hex')).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
  });

  it('wraps and unwraps a file key; another identity or label does not open it', () => {
    const id = generateFileKey();
    const other = generateFileKey();
    const fk = generateFileKey().subarray(0, 16);
    const { share, body } = x25519Wrap(fk, publicKeyOf(id), AGE_X25519_LABEL);
    expect(body).toHaveLength(32);
    expect(x25519Unwrap(id, share, body, AGE_X25519_LABEL)).toEqual(fk);
    expect(x25519Unwrap(other, share, body, AGE_X25519_LABEL)).toBeUndefined();
    expect(x25519Unwrap(id, share, body, 'janee.dev/v2/X25519')).toBeUndefined();
  });

  it('refuses low-order points (all-zero shared secret), as age does', () => {
    const id = generateFileKey();
    const lowOrder = [
      new Uint8Array(32), // 0
      hex('0100000000000000000000000000000000000000000000000000000000000000'), // 1
      hex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800'), // order 8
      hex('5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157'), // order 8
    ];
    for (const p of lowOrder) {
      expect(x25519Unwrap(id, p, new Uint8Array(32), AGE_X25519_LABEL)).toBeUndefined();
      expect(codeOf(() => x25519Wrap(new Uint8Array(16), p, AGE_X25519_LABEL))).toBe('RECIPIENT_INVALID');
    }
  });
});

describe('age key encodings', () => {
  it('parses and re-encodes keys, strictly', () => {
    const sk = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const id = encodeIdentity(sk);
    expect(id).toMatch(/^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/);
    expect(parseIdentity(id)).toEqual(sk);
    expect(parseIdentity(id.toLowerCase())).toBeUndefined(); // age writes upper case
    const rec = encodeRecipient(publicKeyOf(sk));
    expect(rec).toMatch(/^age1[02-9ac-hj-np-z]{58}$/);
    expect(parseRecipient(rec)).toEqual(publicKeyOf(sk));
    expect(parseRecipient(rec.toUpperCase())).toBeUndefined();
    expect(parseRecipient(id)).toBeUndefined();
    expect(parseIdentity(rec)).toBeUndefined();
    expect(parseRecipient(rec.slice(0, -1) + (rec.endsWith('q') ? 'p' : 'q'))).toBeUndefined();
    expect(parseRecipient(bech32Encode('age', new Uint8Array(31)))).toBeUndefined();
  });

  describe.skipIf(!hasCommand('age-keygen'))('against the real age-keygen', () => {
    const dir = mkdtempSync(join(tmpdir(), 'janee-x25519-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('derives the public key age-keygen prints, for five keys', () => {
      for (let i = 0; i < 5; i++) {
        const file = join(dir, `k${i}.txt`);
        expect(spawnSync('age-keygen', ['-o', file]).status).toBe(0);
        const text = readFileSync(file);
        const pub = spawnSync('age-keygen', ['-y', file], { encoding: 'utf8' }).stdout.trim();
        const [key] = parseIdentityText(text, 'k');
        expect(encodeRecipient(publicKeyOf(key as Uint8Array))).toBe(pub);
        expect(text.toString()).toContain(encodeIdentity(key as Uint8Array));
      }
    });
  });
});

describe('identity files', () => {
  const sk = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
  const line = encodeIdentity(sk);

  it('takes comments, empty lines, CRLF and several identities', () => {
    expect(parseIdentityText(te.encode(line), 'f')).toEqual([sk]);
    expect(parseIdentityText(te.encode(`# created: x\n# public key: y\n\n${line}\r\n\n${line}\n`), 'f')).toEqual([sk, sk]);
  });

  it('refuses a bad line without quoting it, plugins, and a file with no identity', () => {
    let e: unknown;
    try {
      parseIdentityText(te.encode(`# c\n${line.slice(0, -1)}X\n`), 'identity file f');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('IDENTITY_INVALID');
    expect((e as JaneeError).message).toBe('identity file f line 2 is not an age X25519 identity (AGE-SECRET-KEY-1…)');
    expect((e as JaneeError).message + (e as JaneeError).hint).not.toContain(line.slice(20, 40));
    expect(codeOf(() => parseIdentityText(te.encode(' ' + line), 'f'))).toBe('IDENTITY_INVALID');
    expect(codeOf(() => parseIdentityText(te.encode('AGE-PLUGIN-YUBIKEY-1QQQ\n'), 'f'))).toBe('IDENTITY_INVALID');
    expect(codeOf(() => parseIdentityText(te.encode('# only a comment\n'), 'f'))).toBe('IDENTITY_INVALID');
  });
});

describe('vault recipient stanzas', () => {
  it('open only with the identity they name', () => {
    const fk = generateFileKey();
    const [a, b, c] = [generateFileKey(), generateFileKey(), generateFileKey()];
    const header = {
      recipients: [
        wrapForRecipient(fk, 'alice', encodeRecipient(publicKeyOf(a))),
        wrapForRecipient(fk, 'bob', encodeRecipient(publicKeyOf(b))),
      ],
    };
    expect(unwrapWithIdentities(header, [a])).toEqual(fk);
    expect(unwrapWithIdentities(header, [c, b])).toEqual(fk);
    expect(codeOf(() => unwrapWithIdentities(header, [c]))).toBe('VAULT_NOT_RECIPIENT');
    // bob's stanza relabelled with alice's key: alice's identity does not open it.
    const swapped = {
      recipients: [
        { ...(header.recipients[1] as (typeof header.recipients)[1]), name: 'alice', recipient: header.recipients[0]?.recipient as string },
      ],
    };
    expect(codeOf(() => unwrapWithIdentities(swapped, [a]))).toBe('VAULT_BAD_MAC');
  });
});
