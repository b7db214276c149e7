/** The vault merge: entry by entry, whole files decrypted in memory, and the driver as git runs it. */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runJanee } from '../helpers/cli.js';
import { JaneeError } from '../../src/errors.js';
import {
  generateFileKey,
  openVault,
  parseVault,
  sealVault,
  unwrapFileKey,
  wrapFileKey,
  type HeaderLike,
  type ScryptStanza,
} from '../../src/vault/format.js';
import { mergeVaultData, mergeVaultFiles, sameEntry } from '../../src/vault/merge.js';
import { decodePayload, encodePayload } from '../../src/vault/payload.js';
import type { VaultData, VaultEntry } from '../../src/vault/types.js';

const te = new TextEncoder();
const T0 = '2026-01-01T00:00:00.000Z';
const T1 = '2026-02-01T00:00:00.000Z';
const T2 = '2026-03-01T00:00:00.000Z';

function entry(token: string, origins = ['https://api.example.com'], updated = T0): VaultEntry {
  return { fields: { token }, origins, created: T0, updated };
}

function data(entries: Record<string, VaultEntry>, generation = 1): VaultData {
  return { version: 1, generation, entries };
}

describe('mergeVaultData', () => {
  const base = data({ keep: entry('k'), stripe: entry('s'), gone: entry('g') }, 3);

  it("takes each side's additions, changes and deletions when the other side left the entry alone", () => {
    const ours = data({ keep: entry('k'), stripe: entry('s2', undefined, T1), gone: entry('g'), mine: entry('m') }, 4);
    const theirs = data({ keep: entry('k'), stripe: entry('s'), yours: entry('y') }, 7);
    const r = mergeVaultData(base, ours, theirs);
    expect(r.conflicts).toEqual([]);
    expect(Object.keys(r.data.entries).sort()).toEqual(['keep', 'mine', 'stripe', 'yours']);
    expect(r.data.entries['stripe']?.fields.token).toBe('s2');
    expect(r.data.generation).toBe(8);
    expect(r.changes).toEqual([
      { name: 'gone', resolution: 'deleted' },
      { name: 'mine', resolution: 'ours' },
      { name: 'stripe', resolution: 'ours' },
      { name: 'yours', resolution: 'theirs' },
    ]);
  });

  it('the same change on both sides is no conflict (timestamps ignored; the later one kept)', () => {
    const ours = data({ ...base.entries, stripe: entry('new', undefined, T1) });
    const theirs = data({ ...base.entries, stripe: entry('new', undefined, T2), added: entry('a') });
    const r = mergeVaultData(base, { ...ours, entries: { ...ours.entries, added: entry('a') } }, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.data.entries['stripe']?.updated).toBe(T2);
    const both = mergeVaultData(base, data({ keep: entry('k') }), data({ keep: entry('k') }));
    expect(Object.keys(both.data.entries)).toEqual(['keep']);
  });

  it('a secret changed differently on both sides is a conflict naming it', () => {
    const r = mergeVaultData(base, data({ ...base.entries, stripe: entry('a') }), data({ ...base.entries, stripe: entry('b') }));
    expect(r.conflicts).toEqual([{ name: 'stripe', kind: 'changed-both' }]);
  });

  it('deleted on one side and changed on the other, or added differently on both: conflicts', () => {
    const { gone: _g, ...withoutGone } = base.entries;
    const r = mergeVaultData(
      base,
      data({ ...withoutGone, fresh: entry('x') }),
      data({ ...base.entries, gone: entry('g2'), fresh: entry('y') }),
    );
    expect(r.conflicts).toEqual([
      { name: 'fresh', kind: 'added-both' },
      { name: 'gone', kind: 'deleted-ours' },
    ]);
  });

  it('origins merge as a set: a bind on one side and a new secret on the other both survive', () => {
    const o = 'https://api.example.com';
    const eu = 'https://eu.example.com';
    const us = 'https://us.example.com';
    const b0 = data({ stripe: entry('s', [o, us]) });
    const ours = data({ stripe: entry('s', [o, us, eu], T1) }); // bind eu
    const theirs = data({ stripe: entry('rotated', [o], T2) }); // rotate, unbind us
    const r = mergeVaultData(b0, ours, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.data.entries['stripe']).toEqual({ fields: { token: 'rotated' }, origins: [o, eu], created: T0, updated: T2 });
    expect(r.changes).toEqual([{ name: 'stripe', resolution: 'merged' }]);
  });

  it('sameEntry compares fields and the set of origins', () => {
    expect(
      sameEntry(entry('a', ['https://x.example', 'https://y.example']), entry('a', ['https://y.example', 'https://x.example'], T2)),
    ).toBe(true);
    expect(sameEntry(entry('a'), { ...entry('a'), fields: { token: 'a', extra: 'b' } })).toBe(false);
    expect(sameEntry(undefined, undefined)).toBe(true);
    expect(sameEntry(entry('a'), undefined)).toBe(false);
  });
});

describe('mergeVaultFiles', () => {
  const PASS = te.encode('merge test passphrase');
  const fileKey = generateFileKey();
  let header: ScryptStanza;
  const seal = (d: VaultData, h: HeaderLike = header, k: Uint8Array = fileKey) => sealVault(h, k, encodePayload(d));
  const open = async (bytes: Uint8Array, pass = PASS) => {
    const p = parseVault(bytes);
    return decodePayload(openVault(p, await unwrapFileKey(p.header, pass)));
  };

  it('merges three files with one scrypt, re-sealed with our header', async () => {
    header = await wrapFileKey(PASS, fileKey, 10);
    const b = data({ a: entry('1') }, 1);
    let asked = 0;
    const r = await mergeVaultFiles({
      base: seal(b),
      ours: seal(data({ a: entry('1'), o: entry('2') }, 2)),
      theirs: seal(data({ a: entry('1'), t: entry('3') }, 5)),
      passphrase: async () => {
        asked++;
        return Uint8Array.from(PASS);
      },
    });
    expect(asked).toBe(1);
    expect(r.header).toBe('ours');
    const merged = await open(r.bytes);
    expect(Object.keys(merged.entries).sort()).toEqual(['a', 'o', 't']);
    expect(merged.generation).toBe(6);
    // The salt and wrapped key are ours: the same passphrase opens it.
    expect(parseVault(r.bytes).header.scrypt?.salt).toEqual(header.salt);
  });

  it('an empty base (added on both sides) works; identical additions merge', async () => {
    const r = await mergeVaultFiles({
      base: new Uint8Array(0),
      ours: seal(data({ x: entry('same'), o: entry('1') })),
      theirs: seal(data({ x: entry('same'), t: entry('2') })),
      passphrase: async () => Uint8Array.from(PASS),
    });
    expect(Object.keys((await open(r.bytes)).entries).sort()).toEqual(['o', 't', 'x']);
  });

  it("the other side's passwd is carried over (same file key, their header), and theirs needs no scrypt of its own", async () => {
    const NEW = te.encode('the new passphrase');
    const theirsHeader = await wrapFileKey(NEW, fileKey, 10);
    const r = await mergeVaultFiles({
      base: seal(data({})),
      ours: seal(data({ o: entry('1') })),
      theirs: seal(data({ t: entry('2') }), theirsHeader),
      passphrase: async () => Uint8Array.from(PASS),
    });
    expect(r.header).toBe('theirs');
    expect(r.headerNote).toMatch(/changed the vault passphrase/);
    expect(Object.keys((await open(r.bytes, NEW)).entries).sort()).toEqual(['o', 't']);
    await expect(open(r.bytes, PASS)).rejects.toMatchObject({ code: 'VAULT_BAD_PASSPHRASE' });
  });

  it('a conflict throws VAULT_MERGE_CONFLICT naming the entry, and returns no bytes', async () => {
    const err = await mergeVaultFiles({
      base: seal(data({ stripe: entry('s') })),
      ours: seal(data({ stripe: entry('a') })),
      theirs: seal(data({ stripe: entry('b') })),
      passphrase: async () => Uint8Array.from(PASS),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JaneeError);
    expect(err).toMatchObject({ code: 'VAULT_MERGE_CONFLICT', message: 'vault merge conflict: "stripe" changed on both sides' });
    expect((err as JaneeError).message).not.toMatch(/"a"|"b"/);
  });

  it('refuses sides under different file keys (a rekey), a wrong passphrase, and no passphrase', async () => {
    const otherKey = generateFileKey();
    const otherHeader = await wrapFileKey(PASS, otherKey, 10);
    await expect(
      mergeVaultFiles({
        base: seal(data({})),
        ours: seal(data({})),
        theirs: seal(data({}), otherHeader, otherKey),
        passphrase: async () => Uint8Array.from(PASS),
      }),
    ).rejects.toMatchObject({ code: 'VAULT_MERGE_KEYS' });
    await expect(
      mergeVaultFiles({ base: seal(data({})), ours: seal(data({})), theirs: seal(data({})), passphrase: async () => te.encode('wrong') }),
    ).rejects.toMatchObject({ code: 'VAULT_BAD_PASSPHRASE' });
    await expect(
      mergeVaultFiles({ base: seal(data({})), ours: seal(data({})), theirs: seal(data({})), passphrase: async () => undefined }),
    ).rejects.toMatchObject({
      code: 'NO_PASSPHRASE',
    });
    // A key at hand (an unlocked agent's) needs no passphrase at all.
    const r = await mergeVaultFiles({
      base: seal(data({})),
      ours: seal(data({ o: entry('1') })),
      theirs: seal(data({})),
      keys: [fileKey],
      passphrase: async () => undefined,
    });
    expect(r.entries).toBe(1);
  });

  it('a damaged version is an error, never a partial merge', async () => {
    const ours = seal(data({ o: entry('1') }));
    const bad = Uint8Array.from(ours);
    bad[bad.length - 5] = (bad[bad.length - 5] as number) ^ 1;
    await expect(
      mergeVaultFiles({ base: seal(data({})), ours, theirs: bad, passphrase: async () => Uint8Array.from(PASS) }),
    ).rejects.toBeInstanceOf(JaneeError);
    await expect(
      mergeVaultFiles({ base: seal(data({})), ours, theirs: te.encode('<<<<<<< HEAD\n'), passphrase: async () => Uint8Array.from(PASS) }),
    ).rejects.toMatchObject({
      code: 'VAULT_BAD_HEADER',
    });
  });
});

describe('janee vault merge as git runs it (temp files, repo root, no JANEE_HOME)', () => {
  const PASS = 'driver test passphrase';
  const key = generateFileKey();

  async function files(dir: string, o: VaultData, a: VaultData, b: VaultData) {
    const header = await wrapFileKey(te.encode(PASS), key, 10);
    const names = ['.merge_file_O', '.merge_file_A', '.merge_file_B'].map((n) => path.join(dir, n)) as [string, string, string];
    for (const [i, d] of [o, a, b].entries()) writeFileSync(names[i] as string, sealVault(header, key, encodePayload(d)));
    return names;
  }
  const env = () => {
    const e: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('JANEE_')) e[k] = v;
    return { ...e, HOME: '/nonexistent', JANEE_PASSPHRASE: PASS };
  };

  it('merges into %A, with nothing else written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'janee-driver-'));
    try {
      const [o, a, b] = await files(dir, data({}), data({ mine: entry('m') }), data({ theirs: entry('t') }));
      const r = await runJanee(['vault', 'merge', o, a, b, 'janee/vault.janee'], { env: env(), cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('janee: vault merged in janee/vault.janee: 2 entries; mine (ours), theirs (theirs)\n');
      const p = parseVault(readFileSync(a));
      expect(Object.keys(decodePayload(openVault(p, key)).entries)).toEqual(['mine', 'theirs']);
      expect(readdirSync(dir).sort()).toEqual(['.merge_file_A', '.merge_file_B', '.merge_file_O']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('on a conflict: exit 1, the message names the entry, %A byte-identical, nothing else written', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'janee-driver-'));
    try {
      const [o, a, b] = await files(
        dir,
        data({ stripe: entry('s') }),
        data({ stripe: entry('sk_ours_value') }),
        data({ stripe: entry('sk_theirs_value') }),
      );
      const before = readFileSync(a);
      const r = await runJanee(['vault', 'merge', o, a, b], { env: env(), cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n')[0]).toBe('janee: error: vault merge conflict: "stripe" changed on both sides');
      expect(r.stderr).not.toMatch(/sk_ours_value|sk_theirs_value/);
      expect(Buffer.compare(readFileSync(a), before)).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['.merge_file_A', '.merge_file_B', '.merge_file_O']);
      const none = await runJanee(['vault', 'merge', o, a, b], { env: { ...env(), JANEE_PASSPHRASE: undefined }, cwd: dir });
      expect(none.code).toBe(1);
      expect(none.stderr).toMatch(/janee: error: cannot merge the vault: no key to decrypt it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
