/**
 * The remembered vault generation (src/vault/seen.ts) with real files in a temp HOME:
 * where it lives, max-only updates, refusal of older copies and of copies under a key
 * `janee rekey` replaced, permissions, a damaged record, and the store's openers
 * (unlockVaultFile / openWithKey / updateVault / rekeyVault) going through it.
 */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import { vaultId } from '../../src/vault/id.js';
import { guardGeneration, keyIdOf, noteSeen, readSeen, resetSeen, VaultRollbackError } from '../../src/vault/seen.js';
import { stateDirs } from '../../src/util/state.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { withLock } from '../../src/util/fsutil.js';
import { acceptOlderVault, createVaultFile, openWithKey, rekeyVault, unlockVaultFile, updateVault } from '../../src/vault/store.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'janee-seen-')));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

const te = new TextEncoder();
const K1 = 'aaaaaaaaaaaaaaaa';
const K2 = 'bbbbbbbbbbbbbbbb';
const T = '2026-01-31T12:00:00.000Z';

interface Setup {
  env: NodeJS.ProcessEnv;
  vault: string;
  home: string;
}
async function setup(xdg = false): Promise<Setup> {
  const d = await tempDir();
  const home = path.join(d, 'home');
  await fs.mkdir(home);
  const env: NodeJS.ProcessEnv = { HOME: home, ...(xdg ? { XDG_STATE_HOME: path.join(d, 'xdg') } : {}) };
  return { env, vault: path.join(d, 'vault.janee'), home };
}

async function refusal(p: Promise<unknown>): Promise<JaneeError> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(JaneeError);
  return e as JaneeError;
}

describe('where the record lives', () => {
  it('$XDG_STATE_HOME/janee when absolute, and always ~/.local/state/janee; a relative XDG_STATE_HOME is ignored', () => {
    expect(stateDirs({ HOME: '/h' })).toEqual(['/h/.local/state/janee']);
    expect(stateDirs({ HOME: '/h', XDG_STATE_HOME: '/x' })).toEqual(['/x/janee', '/h/.local/state/janee']);
    expect(stateDirs({ HOME: '/h', XDG_STATE_HOME: 'rel/x' })).toEqual(['/h/.local/state/janee']);
    expect(stateDirs({ HOME: '/h', XDG_STATE_HOME: '/h/.local/state' })).toEqual(['/h/.local/state/janee']);
  });

  it('one 0600 file per vault id in a 0700 directory, naming the vault', async () => {
    const s = await setup();
    await guardGeneration(s.vault, 3, K1, s.env);
    const dir = path.join(s.home, '.local', 'state', 'janee');
    const file = path.join(dir, `vault-${vaultId(s.vault)}.json`);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(file)).mode & 0o777).toBe(0o600);
    const rec = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
    expect(rec).toMatchObject({ generation: 3, key: K1, retired: [], vault: s.vault });
    expect(await fs.readdir(dir)).toEqual([path.basename(file)]); // no lock or temp file left
  });

  it('with XDG_STATE_HOME set, both places are written, so a serve started without it (MCP clients) still sees the record', async () => {
    const s = await setup(true);
    await guardGeneration(s.vault, 5, K1, s.env);
    const without = { HOME: s.env.HOME };
    const e = await refusal(guardGeneration(s.vault, 4, K1, without));
    expect(e.code).toBe('VAULT_ROLLBACK');
    // and the highest of the two wins when they disagree
    await noteSeen(s.vault, 9, K1, without);
    expect((await readSeen(s.vault, s.env))?.generation).toBe(9);
    expect((await refusal(guardGeneration(s.vault, 8, K1, s.env))).message).toMatch(/generation 8, but generation 9 was seen/);
  });
});

describe('the check', () => {
  it('first use records; higher raises; equal passes; lower is refused naming both generations and the override', async () => {
    const s = await setup();
    expect(await readSeen(s.vault, s.env)).toBeUndefined();
    await guardGeneration(s.vault, 2, K1, s.env);
    await guardGeneration(s.vault, 7, K1, s.env);
    await guardGeneration(s.vault, 7, K1, s.env);
    const e = await refusal(guardGeneration(s.vault, 6, K1, s.env));
    expect(e).toBeInstanceOf(VaultRollbackError);
    expect(e.code).toBe('VAULT_ROLLBACK');
    expect(e.message).toMatch(
      new RegExp(
        `^${s.vault} is generation 6, but generation 7 was seen here on \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d UTC: an older copy was put back$`,
      ),
    );
    expect(e.hint).toMatch(/janee vault accept-older/);
    expect((e as VaultRollbackError).onDisk).toBe(6);
    expect((e as VaultRollbackError).seen).toBe(7);
    expect((await readSeen(s.vault, s.env))?.generation).toBe(7); // a refusal changes nothing
  });

  it('never lowers: a late noteSeen of an older generation is ignored', async () => {
    const s = await setup();
    await noteSeen(s.vault, 10, K1, s.env);
    await noteSeen(s.vault, 4, K1, s.env);
    expect((await readSeen(s.vault, s.env))?.generation).toBe(10);
  });

  it('a key replaced by a rekey is refused even at a higher generation (a copy from another branch with more saves)', async () => {
    const s = await setup();
    await guardGeneration(s.vault, 4, K1, s.env);
    await noteSeen(s.vault, 5, K2, s.env); // rekey: K1 retired
    expect((await readSeen(s.vault, s.env))?.retired).toEqual([K1]);
    const e = await refusal(guardGeneration(s.vault, 40, K1, s.env));
    expect(e.code).toBe('VAULT_ROLLBACK');
    expect(e.message).toMatch(/\(generation 40\) is encrypted under a file key that `janee rekey` replaced \(generation 5 was seen here/);
    await guardGeneration(s.vault, 6, K2, s.env);
  });

  it('a damaged record is refused loudly, not silently forgotten', async () => {
    const s = await setup();
    await guardGeneration(s.vault, 3, K1, s.env);
    const file = path.join(stateDirs(s.env)[0] as string, `vault-${vaultId(s.vault)}.json`);
    for (const bad of ['{"generation":', '{"generation":"3","key":"x","at":"","retired":[]}', 'null']) {
      await fs.writeFile(file, bad);
      const e = await refusal(guardGeneration(s.vault, 3, K1, s.env));
      expect(e.code).toBe('VAULT_STATE_CORRUPT');
      expect(e.hint).toContain(`rm ${file}`);
    }
    await fs.rm(file);
    await guardGeneration(s.vault, 1, K1, s.env); // removed: first use again
  });

  it('resetSeen sets the record exactly (the override), and a new vault (replaced) retires the old key', async () => {
    const s = await setup();
    await guardGeneration(s.vault, 9, K1, s.env);
    const before = await resetSeen(s.vault, 3, K1, { env: s.env });
    expect(before?.generation).toBe(9);
    await guardGeneration(s.vault, 3, K1, s.env);
    await resetSeen(s.vault, 0, K2, { env: s.env, replaced: true });
    expect(await readSeen(s.vault, s.env)).toMatchObject({ generation: 0, key: K2, retired: [K1] });
  });
});

describe('the store goes through it (every opener)', () => {
  it('unlockVaultFile, openWithKey and updateVault refuse an older copy; saves and rekey raise the record; acceptOlderVault needs the passphrase', async () => {
    const s = await setup();
    const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    process.env.HOME = s.env.HOME;
    delete process.env.XDG_STATE_HOME;
    try {
      const pass = te.encode('pw');
      await createVaultFile(s.vault, pass, 10);
      const v = await unlockVaultFile(s.vault, pass);
      await updateVault(s.vault, v.fileKey, (d) => void (d.entries.a = { fields: { token: 't' }, origins: [], created: T, updated: T }));
      const older = await fs.readFile(s.vault); // generation 1
      await updateVault(s.vault, v.fileKey, (d) => void delete d.entries.a); // generation 2
      expect((await readSeen(s.vault))?.generation).toBe(2);

      await fs.writeFile(s.vault, older);
      for (const open of [
        () => unlockVaultFile(s.vault, pass),
        () => openWithKey(s.vault, v.fileKey),
        () => updateVault(s.vault, v.fileKey, () => undefined),
      ]) {
        const e = await refusal(open());
        expect(e.code).toBe('VAULT_ROLLBACK');
        expect(e.message).toMatch(/is generation 1, but generation 2 was seen/);
      }
      expect(await fs.readFile(s.vault)).toEqual(older); // nothing written

      await expect(acceptOlderVault(s.vault, te.encode('wrong'))).rejects.toMatchObject({ code: 'VAULT_BAD_PASSPHRASE' });
      expect((await readSeen(s.vault))?.generation).toBe(2);
      expect(await acceptOlderVault(s.vault, pass)).toMatchObject({ generation: 1, changed: true, before: { generation: 2 } });
      expect((await unlockVaultFile(s.vault, pass)).data.entries.a).toBeDefined();

      // rekey: the old key is retired, so this copy (old key) is refused however many saves it has
      // (a copy elsewhere gets more saves under the old key: another branch)
      const branch = path.join(path.dirname(s.vault), 'branch.janee');
      await fs.copyFile(s.vault, branch);
      for (const n of ['x', 'y', 'z'])
        await updateVault(branch, v.fileKey, (d) => void (d.entries[n] = { fields: { token: n }, origins: [], created: T, updated: T }));
      const k2 = await rekeyVault(s.vault, v.fileKey, { bytes: pass, logN: 10 });
      expect(await readSeen(s.vault)).toMatchObject({ generation: 2, key: keyIdOf(k2), retired: [keyIdOf(v.fileKey)] });
      await fs.copyFile(branch, s.vault); // generation 4 > 2, but under the replaced key
      const e = await refusal(unlockVaultFile(s.vault, pass));
      expect(e.code).toBe('VAULT_ROLLBACK');
      expect(e.message).toMatch(/\(generation 4\) is encrypted under a file key that `janee rekey` replaced/);
      v.fileKey.fill(0);
      k2.fill(0);
    } finally {
      for (const [k, val] of Object.entries(saved)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    }
  });

  it('a running gate (VaultSecrets) keeps a copy at least as new as the record, and fails closed when its copy is older too', async () => {
    const s = await setup();
    const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    process.env.HOME = s.env.HOME;
    delete process.env.XDG_STATE_HOME;
    try {
      const pass = te.encode('pw');
      await createVaultFile(s.vault, pass, 10);
      const v = await unlockVaultFile(s.vault, pass);
      const entry = (n: string) => ({ fields: { token: n }, origins: [], created: T, updated: T });
      await updateVault(s.vault, v.fileKey, (d) => void (d.entries.revoked = entry('r'))); // 1
      const older = await fs.readFile(s.vault);
      await updateVault(s.vault, v.fileKey, (d) => void (d.entries.other = entry('o'))); // 2
      const newer = await fs.readFile(s.vault);

      const gate = new VaultSecrets(s.vault, v.fileKey.slice(), (await openWithKey(s.vault, v.fileKey)).data);
      expect((await gate.current()).generation).toBe(2);
      await fs.writeFile(s.vault, older);
      gate.invalidate();
      expect((await gate.current()).generation).toBe(2); // its own copy, newer than the file
      expect(gate.rollback).toEqual({ onDisk: 1, inMemory: 2 });

      // Another process removes "revoked" (generation 3), then the older copy lands before this gate re-reads.
      await fs.writeFile(s.vault, newer);
      await updateVault(s.vault, v.fileKey, (d) => void delete d.entries.revoked); // 3
      await fs.writeFile(s.vault, older);
      gate.invalidate();
      const e = await refusal(gate.current()); // its copy (2) still has "revoked": not served
      expect(e.code).toBe('VAULT_ROLLBACK');
      expect(e.message).toMatch(/generation 1, but generation 3 was seen/);
      gate.wipe();
      v.fileKey.fill(0);
    } finally {
      for (const [k, val] of Object.entries(saved)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    }
  });

  it('a save by another process between reading the file and reading the record is not mistaken for a rollback', async () => {
    const s = await setup();
    const saved = { HOME: process.env.HOME, XDG_STATE_HOME: process.env.XDG_STATE_HOME };
    process.env.HOME = s.env.HOME;
    delete process.env.XDG_STATE_HOME;
    try {
      const pass = te.encode('pw');
      await createVaultFile(s.vault, pass, 10);
      const v = await unlockVaultFile(s.vault, pass);
      const g0 = await fs.readFile(s.vault);
      await updateVault(s.vault, v.fileKey, (d) => void (d.entries.a = { fields: { token: 'a' }, origins: [], created: T, updated: T }));
      const g1 = await fs.readFile(s.vault);
      await fs.writeFile(s.vault, g0);
      await resetSeen(s.vault, 0, keyIdOf(v.fileKey));

      // The "other process" holds the vault lock, has remembered generation 1 but not yet
      // replaced the file when the reader reads it (the order every save uses is write, then
      // remember; a reader without the lock can see the file before and the record after).
      let reader: Promise<number> | undefined;
      await withLock(s.vault, async () => {
        await noteSeen(s.vault, 1, keyIdOf(v.fileKey));
        reader = openWithKey(s.vault, v.fileKey).then((o) => o.data.generation);
        await new Promise((r) => setTimeout(r, 200)); // let it read generation 0 and the record 1
        await fs.writeFile(s.vault, g1);
      });
      expect(await reader).toBe(1);
      v.fileKey.fill(0);
    } finally {
      for (const [k, val] of Object.entries(saved)) {
        if (val === undefined) delete process.env[k];
        else process.env[k] = val;
      }
    }
  });
});
