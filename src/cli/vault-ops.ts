/**
 * Vault access for commands run without an agent: get the passphrase, run scrypt
 * (showing progress), then read-modify-write under the lock.
 */
import { JaneeError } from '../errors.js';
import { unlockVaultFile, updateVault, type UnlockedVault } from '../vault/store.js';
import type { VaultData } from '../vault/types.js';
import { withProgress, type Streams } from './io.js';
import { getPassphrase } from './passphrase.js';

export interface UnlockOptions {
  passphraseStdin?: boolean;
  prompt?: string;
}

export async function unlockWithPassphrase(io: Streams, file: string, opts: UnlockOptions = {}): Promise<UnlockedVault> {
  const { passphrase } = await getPassphrase(io, { fromStdin: opts.passphraseStdin ?? false, prompt: opts.prompt ?? 'vault passphrase: ' });
  try {
    return await withProgress(io.stderr, 'unlocking vault', unlockVaultFile(file, passphrase));
  } finally {
    passphrase.fill(0);
  }
}

/** Unlock, change, save; the file key is wiped afterwards. */
export async function changeVault<T>(io: Streams, file: string, opts: UnlockOptions, fn: (data: VaultData) => T | Promise<T>): Promise<T> {
  const vault = await unlockWithPassphrase(io, file, opts);
  try {
    return (await updateVault(file, vault.fileKey, fn)).result;
  } finally {
    vault.fileKey.fill(0);
  }
}

export function requireEntryAbsent(data: VaultData, name: string): void {
  if (Object.hasOwn(data.entries, name)) {
    throw new JaneeError('VAULT_DUPLICATE', `the vault already holds a secret named "${name}"`, `run \`janee remove ${name}\` first, or pick another name`);
  }
}
