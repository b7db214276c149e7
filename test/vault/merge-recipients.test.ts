/**
 * mergeVaultFiles with recipients (pure, in memory): the recipient set merges three-way by
 * name; a name added on both sides with different keys is a conflict; a merge opens with
 * an identity alone (its key then opens the side that has no stanza for it).
 */
import { describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { generateFileKey, parseVault, sealVault, wrapFileKey, wrapForRecipient, type VaultHeader } from '../../src/vault/format.js';
import { mergeVaultFiles } from '../../src/vault/merge.js';
import { encodePayload } from '../../src/vault/payload.js';
import type { VaultData } from '../../src/vault/types.js';
import { encodeRecipient, publicKeyOf } from '../../src/vault/x25519.js';

const T0 = '2026-01-15T09:30:00.000Z';
const PASS = new TextEncoder().encode('merge recipients passphrase');
const fileKey = generateFileKey();
const ids = { a: generateFileKey(), b: generateFileKey(), c: generateFileKey() };
const rec = (k: Uint8Array) => encodeRecipient(publicKeyOf(k));
const scrypt = await wrapFileKey(PASS, fileKey, 10);

function data(names: string[], generation: number): VaultData {
  const entries: VaultData['entries'] = {};
  for (const n of names) entries[n] = { fields: { token: `t-${n}` }, origins: [], created: T0, updated: T0 };
  return { version: 1, generation, entries };
}
const seal = (h: VaultHeader, d: VaultData) => sealVault(h, fileKey, encodePayload(d));
const names = (bytes: Uint8Array) => parseVault(bytes).header.recipients.map((r) => `${r.name}=${r.recipient}`);

describe('mergeVaultFiles with recipients', () => {
  const alice = wrapForRecipient(fileKey, 'alice', rec(ids.a));
  const bob = wrapForRecipient(fileKey, 'bob', rec(ids.b));

  it('keeps a member added on either side, drops one removed on a side (same key), keeps the passphrase', async () => {
    const base = seal({ scrypt, recipients: [alice] }, data(['x'], 1));
    const ours = seal({ scrypt, recipients: [alice] }, data(['x', 'o'], 2));
    const theirs = seal({ scrypt, recipients: [alice, bob] }, data(['x'], 2));
    const r = await mergeVaultFiles({ base, ours, theirs, passphrase: async () => Uint8Array.from(PASS) });
    expect(names(r.bytes)).toEqual([`alice=${rec(ids.a)}`, `bob=${rec(ids.b)}`]);
    expect(r.headerNote).toBe('the incoming side added the recipient bob: kept');
    expect(parseVault(r.bytes).header.scrypt?.salt).toEqual(scrypt.salt);
    // Removed on one side: gone.
    const r2 = await mergeVaultFiles({
      base: r.bytes,
      ours: seal({ scrypt, recipients: [bob] }, data(['x', 'o'], 4)),
      theirs: seal({ scrypt, recipients: [alice, bob] }, data(['x', 'o', 't'], 4)),
      passphrase: async () => Uint8Array.from(PASS),
    });
    expect(names(r2.bytes)).toEqual([`bob=${rec(ids.b)}`]);
  });

  it('opens with an identity alone, even when only one side has its stanza', async () => {
    const base = seal({ scrypt, recipients: [alice] }, data([], 1));
    const ours = seal({ scrypt, recipients: [alice] }, data(['o'], 2));
    const theirs = seal({ recipients: [alice, bob] }, data([], 2)); // theirs also dropped the passphrase
    const r = await mergeVaultFiles({ base, ours, theirs, passphrase: async () => ({ identities: [Uint8Array.from(ids.b)] }) });
    const h = parseVault(r.bytes).header;
    expect(h.scrypt).toBeUndefined();
    expect(h.recipients.map((x) => x.name)).toEqual(['alice', 'bob']);
    expect(r.headerNote).toMatch(/incoming side changed the vault passphrase.*added the recipient bob/);
  });

  it('refuses the same name with two different keys', async () => {
    const base = seal({ scrypt, recipients: [alice] }, data([], 1));
    const ours = seal({ scrypt, recipients: [alice, bob] }, data([], 2));
    const theirs = seal({ scrypt, recipients: [alice, wrapForRecipient(fileKey, 'bob', rec(ids.c))] }, data([], 2));
    const e = await mergeVaultFiles({ base, ours, theirs, passphrase: async () => Uint8Array.from(PASS) }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(JaneeError);
    expect((e as JaneeError).code).toBe('VAULT_MERGE_CONFLICT');
    expect((e as JaneeError).message).toBe('vault merge conflict: the recipient "bob" has a different key on each side');
  });
});
