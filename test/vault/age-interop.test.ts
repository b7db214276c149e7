/**
 * Interop with the real `age` binary (Debian package `age`). age reads
 * passphrases only from /dev/tty, so it runs under a pty via util-linux
 * `script` (see test/helpers/pty.ts). File data goes through -o / file
 * arguments, never through the terminal. Skipped only when `age` is absent.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { decryptAge, encryptAge } from '../../src/vault/age.js';
import { hasCommand, hasPty, runUnderPty } from '../helpers/pty.js';

const haveAge = hasCommand('age');
if (!haveAge) console.warn('age interop tests skipped: no `age` binary on PATH (apt-get install -y age)');

const te = new TextEncoder();
// Spaces and non-ASCII: the passphrase bytes must survive the terminal unchanged.
const PASSPHRASE = 'tröt correct horse ✓ battery';
const PASS = te.encode(PASSPHRASE);
const KiB = 1024;
const dir = haveAge ? mkdtempSync(join(tmpdir(), 'janee-age-')) : '';
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0;
}

/** `age -d -o out in`, typing the passphrase at its single prompt. */
async function ageDecrypt(
  file: Uint8Array,
  passphrase: string,
  name: string,
): Promise<{ code: number | null; out?: Uint8Array; output: string }> {
  const input = join(dir, `${name}.age`);
  const output = join(dir, `${name}.out`);
  writeFileSync(input, file);
  const r = await runUnderPty(['age', '-d', '-o', output, input], [{ waitFor: 'Enter passphrase', send: `${passphrase}\n` }]);
  return existsSync(output) && r.code === 0 ? { ...r, out: new Uint8Array(readFileSync(output)) } : r;
}

/** `age -p [-a] -o out in`: age asks for the passphrase, then for confirmation. */
async function ageEncrypt(plain: Uint8Array, passphrase: string, name: string, armor = false): Promise<Uint8Array> {
  const input = join(dir, `${name}.txt`);
  const output = join(dir, `${name}.age`);
  writeFileSync(input, plain);
  const r = await runUnderPty(
    ['age', '-p', ...(armor ? ['-a'] : []), '-o', output, input],
    [
      { waitFor: 'Enter passphrase', send: `${passphrase}\n` },
      { waitFor: 'Confirm passphrase', send: `${passphrase}\n` },
    ],
  );
  expect(r.code, r.output).toBe(0);
  return new Uint8Array(readFileSync(output));
}

describe.skipIf(!haveAge)('age interop with the real age binary', { timeout: 120_000 }, () => {
  beforeAll(() => {
    // Not a reason to skip: with age installed, a missing pty runner is a broken test machine.
    if (!hasPty()) throw new Error('util-linux `script` is needed to drive age under a pty');
  });

  it('age -d decrypts what encryptAge writes (empty, 1 byte, 64 KiB, 150 KiB)', async () => {
    for (const size of [0, 1, 64 * KiB, 150 * KiB + 3]) {
      const plain = new Uint8Array(randomBytes(size));
      const file = await encryptAge(plain, PASS, { logN: 10 });
      const r = await ageDecrypt(file, PASSPHRASE, `ours-${size}`);
      expect(r.code, r.output).toBe(0);
      expect(sameBytes(r.out ?? new Uint8Array(0), plain), `size ${size}`).toBe(true);
    }
  });

  it('age -d refuses our file with a wrong passphrase', async () => {
    const file = await encryptAge(te.encode('x'), PASS, { logN: 10 });
    const r = await ageDecrypt(file, 'not the passphrase', 'ours-wrong');
    expect(r.code).not.toBe(0);
    expect(r.output).toMatch(/incorrect passphrase/i);
  });

  it('decryptAge reads what age -p writes (work factor 18, multi-chunk), and checks the passphrase', async () => {
    const plain = new Uint8Array(randomBytes(130 * KiB + 7));
    const file = await ageEncrypt(plain, PASSPHRASE, 'theirs');
    expect(Buffer.from(file.subarray(0, 80)).toString('latin1')).toMatch(/^age-encryption\.org\/v1\n-> scrypt \S{22} 18\n/);
    expect(sameBytes(await decryptAge(file, PASS), plain)).toBe(true);
    await expect(decryptAge(file, te.encode('not the passphrase'))).rejects.toMatchObject({ code: 'AGE_BAD_PASSPHRASE' });
    await expect(decryptAge(file, PASS, { maxLogN: 17 })).rejects.toBeInstanceOf(JaneeError);
  });

  it('decryptAge reads what age -p -a (armored) writes', async () => {
    const plain = te.encode('armored secret\n');
    const file = await ageEncrypt(plain, PASSPHRASE, 'theirs-armored', true);
    expect(Buffer.from(file).toString('latin1')).toMatch(/^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    expect(sameBytes(await decryptAge(file, PASS), plain)).toBe(true);
  });

  it('age agrees with every testkit vector in fixtures/age/testkit (success vs failure)', async () => {
    const kit = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'age', 'testkit');
    const names = readdirSync(kit).filter((n) => !n.includes('.') && n !== 'LICENSE');
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) {
      const raw = readFileSync(join(kit, name));
      const sep = raw.indexOf('\n\n');
      const head = raw.subarray(0, sep).toString('utf8');
      const expected = /^expect: (.*)$/m.exec(head)?.[1];
      const passphrase = /^passphrase: (.*)$/m.exec(head)?.[1] ?? '';
      const r = await ageDecrypt(new Uint8Array(raw.subarray(sep + 2)), passphrase, `kit-${name}`);
      expect([name, r.code === 0], r.output).toEqual([name, expected === 'success']);
      if (expected === 'success') expect(Buffer.from(r.out ?? []).toString()).toBe('age');
    }
  });
});
