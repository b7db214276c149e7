/**
 * Properties of the vault format (fast-check): any bit flip, byte edit, truncation or
 * extension of a valid vault makes the reader throw a JaneeError with a vault code —
 * never another error type, never a hang, never a partial read — and seal then open
 * gives back the input. log2 N = 10 and a memoised unwrap keep this fast.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import {
  openVault,
  parseVault,
  sealVault,
  unwrapFileKey,
  wrapFileKey,
  type ScryptStanza,
  type VaultHeader,
} from '../../src/vault/format.js';

const CODES = [
  'VAULT_EMPTY',
  'VAULT_BAD_HEADER',
  'VAULT_UNSUPPORTED_VERSION',
  'VAULT_WORK_FACTOR',
  'VAULT_BAD_PASSPHRASE',
  'VAULT_BAD_MAC',
  'VAULT_BAD_PAYLOAD',
];
const RUNS = 200;
const PASS = new TextEncoder().encode('property passphrase');
const FILE_KEY = new Uint8Array(32).map((_, i) => 255 - i);
const HEADER: ScryptStanza = await wrapFileKey(PASS, FILE_KEY, 10);
const PLAINTEXT = new TextEncoder().encode(JSON.stringify({ version: 1, generation: 1, entries: { a: 'x'.repeat(150) } }));
const VAULT = sealVault(HEADER, FILE_KEY, PLAINTEXT);

/** unwrap is a pure function of (header, passphrase): memoise it so 1000+ runs stay fast. */
const unwrapMemo = new Map<string, Promise<Uint8Array>>();
function unwrap(hdr: VaultHeader): Promise<Uint8Array> {
  const h = hdr.scrypt as ScryptStanza;
  const k = `${h.logN}/${Buffer.from(h.salt).toString('hex')}/${Buffer.from(h.wrappedKey).toString('hex')}`;
  let p = unwrapMemo.get(k);
  if (p === undefined) {
    p = unwrapFileKey(h, PASS).then((key) => Uint8Array.from(key));
    p.catch(() => undefined);
    unwrapMemo.set(k, p);
  }
  return p;
}

/** Runs the whole reader; returns the plaintext or the error it threw. */
async function read(bytes: Uint8Array): Promise<unknown> {
  try {
    const parsed = parseVault(bytes);
    return openVault(parsed, await unwrap(parsed.header));
  } catch (e) {
    return e;
  }
}

async function expectVaultError(bytes: Uint8Array): Promise<void> {
  const r = await read(bytes);
  if (!(r instanceof JaneeError)) {
    throw new Error(`expected a JaneeError, got ${r instanceof Uint8Array ? 'a successful read' : String(r)}`);
  }
  expect(CODES).toContain(r.code);
  expect(r.message).toMatch(/^[a-z]/);
}

const opts = { numRuns: RUNS, timeout: 2_000 };

function flip(b: Uint8Array, bit: number): void {
  b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
}

describe('vault format properties', () => {
  it('the untouched vault reads back', async () => {
    expect(await read(VAULT)).toEqual(PLAINTEXT);
  });

  it('flipping any single bit is an error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: VAULT.length * 8 - 1 }), async (bit) => {
        const m = Uint8Array.from(VAULT);
        flip(m, bit);
        await expectVaultError(m);
      }),
      opts,
    );
  });

  it('every single bit flip in the header and the last payload line is an error (exhaustive)', async () => {
    const headerBits = parseVault(VAULT).headerText.length * 8;
    const lastLine = (VAULT.length - VAULT.lastIndexOf(10, VAULT.length - 2)) * 8;
    const bits = [...Array(headerBits).keys(), ...Array.from({ length: lastLine }, (_, i) => VAULT.length * 8 - lastLine + i)];
    for (const bit of bits) {
      const m = Uint8Array.from(VAULT);
      flip(m, bit);
      await expectVaultError(m);
    }
  });

  it('changing, inserting or deleting bytes is an error', async () => {
    const edit = fc.oneof(
      fc.record({ kind: fc.constant('set' as const), at: fc.nat(), xor: fc.integer({ min: 1, max: 255 }) }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 8 }) }),
    );
    await fc.assert(
      fc.asyncProperty(edit, async (e) => {
        const at = e.at % VAULT.length;
        let m: Uint8Array;
        if (e.kind === 'set') {
          m = Uint8Array.from(VAULT);
          m[at] = (m[at] as number) ^ e.xor;
        } else if (e.kind === 'insert') {
          m = new Uint8Array([...VAULT.subarray(0, at), ...e.bytes, ...VAULT.subarray(at)]);
        } else {
          m = new Uint8Array([...VAULT.subarray(0, at), ...VAULT.subarray(at + e.n)]);
        }
        await expectVaultError(m);
      }),
      opts,
    );
  });

  it('every truncation is an error (exhaustive)', async () => {
    for (let n = 0; n < VAULT.length; n++) await expectVaultError(VAULT.subarray(0, n));
  });

  it('any extension is an error', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ minLength: 1, maxLength: 100 }),
          fc.stringMatching(/^[A-Za-z0-9+/\n]{1,100}$/).map((s) => new TextEncoder().encode(s)),
        ),
        async (tail) => expectVaultError(new Uint8Array([...VAULT, ...tail])),
      ),
      opts,
    );
  });

  it('random bytes, with or without a plausible header, are an error', async () => {
    const prefix = new TextEncoder().encode('janee-vault/v1\n');
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 400 }), async (withPrefix, junk) => {
        await expectVaultError(withPrefix ? new Uint8Array([...prefix, ...junk]) : junk);
      }),
      opts,
    );
  });

  it('splicing a prefix of one valid vault onto a suffix of another is an error', async () => {
    const other = sealVault(HEADER, FILE_KEY, PLAINTEXT);
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: VAULT.length }), fc.nat({ max: other.length }), async (i, j) => {
        const m = new Uint8Array([...VAULT.subarray(0, i), ...other.subarray(j)]);
        const r = await read(m);
        // Splicing at the same offset inside the shared header gives `other` itself back.
        if (r instanceof Uint8Array) expect(r).toEqual(PLAINTEXT);
        else await expectVaultError(m);
      }),
      opts,
    );
  });

  it('seal then open gives back the input', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 3000 }), async (pt) => {
        const bytes = sealVault(HEADER, FILE_KEY, pt);
        const text = Buffer.from(bytes).toString('latin1');
        expect(text.endsWith('\n')).toBe(true);
        const payload = text.split('\n').slice(5, -1);
        expect(payload.slice(0, -1).every((l) => l.length === 64)).toBe(true);
        expect((payload[payload.length - 1] as string).length).toBeLessThan(64);
        expect(await read(bytes)).toEqual(pt);
      }),
      opts,
    );
  });
});
