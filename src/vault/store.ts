/**
 * The vault file on disk: read, unlock, and change it safely.
 *
 * Every change is read-modify-write under the vault's lock file, so concurrent
 * writers (several `janee add`, or an agent and a CLI) never lose each other's
 * entries. The expensive scrypt step happens before taking the lock; inside it we
 * only need the file key, which stays the same across saves and `passwd`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';
import {
  generateFileKey,
  headerMatchesKey,
  openVault,
  parseVault,
  sealVault,
  unwrapFileKey,
  wrapFileKey,
  type ParsedVault,
  type VaultHeader,
} from './format.js';
import { decodePayload, encodePayload } from './payload.js';
import { emptyVaultData, type VaultData } from './types.js';

export interface UnlockedVault {
  path: string;
  header: VaultHeader;
  /** Wipe with fill(0) when done. */
  fileKey: Uint8Array;
  data: VaultData;
}

export async function readVaultFile(file: string): Promise<ParsedVault> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new JaneeError('VAULT_NOT_FOUND', `no vault at ${file}`, 'run `janee init` to create one (or set JANEE_VAULT)');
    throw new JaneeError('VAULT_UNREADABLE', `cannot read ${file} (${code ?? 'error'})`, 'check the file permissions');
  }
  return parseVault(bytes);
}

export async function vaultExists(file: string): Promise<boolean> {
  return fs.access(file).then(
    () => true,
    () => false,
  );
}

export async function createVaultFile(file: string, passphrase: Uint8Array, logN: number): Promise<void> {
  await ensureDir(path.dirname(file));
  const fileKey = generateFileKey();
  try {
    const header = await wrapFileKey(passphrase, fileKey, logN);
    await withLock(file, async () => {
      if (await vaultExists(file)) {
        throw new JaneeError('VAULT_EXISTS', `a vault already exists at ${file}`, 'use it, or move it away first; `janee passwd` changes its passphrase');
      }
      await writeSealed(file, header, fileKey, emptyVaultData());
    });
  } finally {
    fileKey.fill(0);
  }
}

/** Unlock with the passphrase (runs scrypt). */
export async function unlockVaultFile(file: string, passphrase: Uint8Array): Promise<UnlockedVault> {
  const parsed = await readVaultFile(file);
  const fileKey = await unwrapFileKey(parsed.header, passphrase);
  try {
    return { path: file, header: parsed.header, fileKey, data: decodePayload(openVault(parsed, fileKey)) };
  } catch (e) {
    fileKey.fill(0);
    throw e;
  }
}

/**
 * Re-read the vault with a file key we already hold (no scrypt). A header that
 * does not verify under the key means the vault was rekeyed (or replaced).
 */
export async function openWithKey(file: string, fileKey: Uint8Array): Promise<UnlockedVault> {
  const parsed = await readVaultFile(file);
  if (!headerMatchesKey(parsed, fileKey)) {
    throw new JaneeError('VAULT_REKEYED', `${file} is no longer encrypted with the key in memory (rekeyed or replaced)`, 'unlock it again with its passphrase');
  }
  return { path: file, header: parsed.header, fileKey, data: decodePayload(openVault(parsed, fileKey)) };
}

async function writeSealed(file: string, header: VaultHeader, fileKey: Uint8Array, data: VaultData): Promise<void> {
  const plaintext = encodePayload(data);
  try {
    await atomicWrite(file, sealVault(header, fileKey, plaintext));
  } finally {
    plaintext.fill(0);
  }
}

/**
 * Read-modify-write under the lock. `fn` changes `data` in place (and may throw to
 * abort with nothing written). The generation counter goes up on every save.
 */
export async function updateVault<T>(file: string, fileKey: Uint8Array, fn: (data: VaultData) => T | Promise<T>): Promise<{ result: T; vault: UnlockedVault }> {
  return withLock(file, async () => {
    const current = await openWithKey(file, fileKey);
    const before = encodePayload(current.data);
    const result = await fn(current.data);
    const after = encodePayload(current.data);
    const changed = before.length !== after.length || before.some((b, i) => b !== after[i]);
    before.fill(0);
    after.fill(0);
    // Nothing changed, nothing written: a no-op leaves the file byte-identical.
    if (changed) {
      current.data.generation += 1;
      await writeSealed(file, current.header, fileKey, current.data);
    }
    return { result, vault: current };
  });
}

/** `janee passwd`: same file key, new passphrase (new salt), new work factor if given. */
export async function rewrapVault(file: string, fileKey: Uint8Array, newPassphrase: Uint8Array, logN: number): Promise<void> {
  const header = await wrapFileKey(newPassphrase, fileKey, logN);
  await withLock(file, async () => {
    const current = await openWithKey(file, fileKey);
    current.data.generation += 1;
    await writeSealed(file, header, fileKey, current.data);
  });
}

/** `janee rekey`: a new random file key. Returns it (the caller wipes it). */
export async function rekeyVault(file: string, oldKey: Uint8Array, passphrase: Uint8Array, logN: number): Promise<Uint8Array> {
  const fileKey = generateFileKey();
  try {
    const header = await wrapFileKey(passphrase, fileKey, logN);
    await withLock(file, async () => {
      const current = await openWithKey(file, oldKey);
      current.data.generation += 1;
      await writeSealed(file, header, fileKey, current.data);
    });
    return fileKey;
  } catch (e) {
    fileKey.fill(0);
    throw e;
  }
}
