/**
 * Who wipes which key: the ownership boundaries of the vault code, where they can be
 * seen from outside. A passphrase handed to diff/merge (through their callback) is
 * theirs and is wiped; a key or passphrase the caller passes in stays the caller's and
 * is never wiped; a key returned (unlockVaultFile, rekeyVault, decryptAge's plaintext)
 * is handed over intact. Keys a function derives and drops are not observable from
 * outside and are not tested here (src/util/secret.ts has its own tests).
 */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptAge, encryptAge } from '../../src/vault/age.js';
import { diffTextFor } from '../../src/vault/diff.js';
import { generateFileKey, parseVault, sealVault, unwrapFileKey, wrapFileKey } from '../../src/vault/format.js';
import { mergeVaultFiles } from '../../src/vault/merge.js';
import { encodePayload, openVaultData, sealVaultData } from '../../src/vault/payload.js';
import { createVaultFile, openWithKey, rekeyVault, unlockVaultFile, updateVault } from '../../src/vault/store.js';
import type { VaultData } from '../../src/vault/types.js';

const te = new TextEncoder();
const PASS = te.encode('wipe test passphrase');
const T = '2026-01-01T00:00:00.000Z';
const zeroed = (b: Uint8Array): boolean => b.length > 0 && b.every((x) => x === 0);
const data = (tokens: Record<string, string>, generation = 1): VaultData => ({
  version: 1,
  generation,
  entries: Object.fromEntries(
    Object.entries(tokens).map(([n, t]) => [n, { fields: { token: t }, origins: ['https://api.example.com'], created: T, updated: T }]),
  ),
});

async function sealed(d: VaultData, key: Uint8Array): Promise<Uint8Array> {
  const header = await wrapFileKey(PASS, key, 10);
  return sealVault(header, key, encodePayload(d));
}

describe('diffTextFor', () => {
  it('wipes the passphrase it was given, whether it opened the vault or not', async () => {
    const bytes = await sealed(data({ a: 'sk_diff_1' }), generateFileKey());
    const good = Uint8Array.from(PASS);
    expect(await diffTextFor(bytes, () => Promise.resolve(good))).toMatch(/^\[a\]$/m);
    expect(zeroed(good)).toBe(true);
    const wrong = te.encode('not the passphrase');
    expect(await diffTextFor(bytes, () => Promise.resolve(wrong))).toMatch(/contents locked: wrong passphrase/);
    expect(zeroed(wrong)).toBe(true);
  });

  it("leaves the caller's known keys intact (it works on a copy)", async () => {
    const key = generateFileKey();
    const copy = Uint8Array.from(key);
    const bytes = await sealed(data({ a: 'sk_diff_2' }), key);
    expect(await diffTextFor(bytes, () => Promise.resolve(undefined), [key])).toMatch(/^\[a\]$/m);
    expect(key).toEqual(copy);
  });
});

describe('mergeVaultFiles', () => {
  it("wipes the passphrase it asked for, also when the merge fails; never the caller's keys", async () => {
    const key = generateFileKey();
    const base = await sealed(data({ a: '1' }), key);
    const ours = await sealed(data({ a: '1', o: '2' }, 2), key);
    const theirs = await sealed(data({ a: '1', t: '3' }, 2), key);
    const pass = Uint8Array.from(PASS);
    const r = await mergeVaultFiles({ base, ours, theirs, passphrase: () => Promise.resolve(pass) });
    expect(zeroed(pass)).toBe(true);
    const p = parseVault(r.bytes);
    expect(Object.keys(openVaultData(p, await unwrapFileKey(p.header, PASS)).entries).sort()).toEqual(['a', 'o', 't']);

    const clash = await sealed(data({ a: 'changed here' }, 2), key);
    const clash2 = await sealed(data({ a: 'and there' }, 2), key);
    const pass2 = Uint8Array.from(PASS);
    await expect(mergeVaultFiles({ base, ours: clash, theirs: clash2, passphrase: () => Promise.resolve(pass2) })).rejects.toMatchObject({
      code: 'VAULT_MERGE_CONFLICT',
    });
    expect(zeroed(pass2)).toBe(true);

    const copy = Uint8Array.from(key);
    await mergeVaultFiles({ base, ours, theirs, keys: [key], passphrase: () => Promise.resolve(undefined) });
    expect(key).toEqual(copy);
  });
});

describe('payload <-> file', () => {
  it('sealVaultData and openVaultData round-trip and leave the key intact', () => {
    const key = generateFileKey();
    const copy = Uint8Array.from(key);
    const header = { logN: 10, salt: new Uint8Array(16), wrappedKey: new Uint8Array(48) };
    const bytes = sealVaultData(header, key, data({ x: 'sk_round' }, 7));
    expect(openVaultData(parseVault(bytes), key)).toEqual(data({ x: 'sk_round' }, 7));
    expect(key).toEqual(copy);
  });
});

describe('age', () => {
  it("leaves the caller's passphrase intact and hands over the plaintext", async () => {
    const pass = Uint8Array.from(PASS);
    const file = await encryptAge(te.encode('hello age'), pass, { logN: 10 });
    expect(pass).toEqual(PASS);
    expect(new TextDecoder().decode(await decryptAge(file, pass))).toBe('hello age');
    expect(pass).toEqual(PASS);
  });
});

describe('the store', () => {
  let dir: string;
  const saved = process.env.HOME;
  beforeEach(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'janee-wipe-')));
    process.env.HOME = dir; // the remembered generation lives under HOME
  });
  afterEach(async () => {
    process.env.HOME = saved;
    await fs.rm(dir, { recursive: true, force: true });
  });
  afterAll(() => {
    process.env.HOME = saved;
  });

  it("hands over the keys it returns, and never wipes the caller's passphrase or key, also when a change is aborted", async () => {
    const file = path.join(dir, 'vault.janee');
    const pass = Uint8Array.from(PASS);
    await createVaultFile(file, pass, 10);
    expect(pass).toEqual(PASS);
    const v = await unlockVaultFile(file, pass);
    expect(pass).toEqual(PASS);
    expect(zeroed(v.fileKey)).toBe(false);
    const key = Uint8Array.from(v.fileKey);

    await expect(
      updateVault(file, v.fileKey, () => {
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(v.fileKey).toEqual(key);
    await updateVault(file, v.fileKey, (d) => void Object.assign(d.entries, data({ s: 'sk_store' }).entries));
    expect(v.fileKey).toEqual(key);

    const k2 = await rekeyVault(file, v.fileKey, { bytes: pass, logN: 10 });
    expect(v.fileKey).toEqual(key);
    expect(zeroed(k2)).toBe(false);
    expect((await openWithKey(file, k2)).data.entries.s?.fields.token).toBe('sk_store');
    await expect(unlockVaultFile(file, te.encode('wrong'))).rejects.toMatchObject({ code: 'VAULT_BAD_PASSPHRASE' });
  });
});
