/**
 * The vault file on disk: read, unlock, and change it safely.
 *
 * Every change is read-modify-write under the vault's lock file, so concurrent
 * writers (several `janee add`, or an agent and a CLI) never lose each other's
 * entries. The expensive scrypt step happens before taking the lock; inside it we
 * only need the file key, which stays the same across saves and `passwd`.
 *
 * Every open (passphrase or key in memory) also checks the generation against the
 * one remembered outside the synced folder (seen.ts) and refuses an older copy with
 * VAULT_ROLLBACK; every save raises the remembered one. Only `janee vault accept-older`
 * (acceptOlderVault, with the passphrase) lowers it.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../errors.js';
import { atomicWrite, ensureDir, withLock } from '../util/fsutil.js';
import { secret } from '../util/secret.js';
import { ctEqual } from './bytes.js';
import { generateFileKey, headerMatchesKey, parseVault, unwrapFileKey, wrapFileKey, type ParsedVault, type VaultHeader } from './format.js';
import { encodePayload, openVaultData, sealVaultData } from './payload.js';
import { checkAgainst, guardGeneration, keyIdOf, noteSeen, readSeen, resetSeen, VaultRollbackError, type SeenRecord } from './seen.js';
import { emptyVaultData, type VaultData } from './types.js';

export interface UnlockedVault {
  path: string;
  header: VaultHeader;
  /** Owned by whoever holds the UnlockedVault: wipe with fill(0) when done. */
  fileKey: Uint8Array;
  data: VaultData;
}

export async function readVaultFile(file: string): Promise<ParsedVault> {
  let bytes: Uint8Array;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new JaneeError('VAULT_NOT_FOUND', `no vault at ${file}`, 'run `janee init` to create one (or set JANEE_VAULT)');
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
  using fileKey = secret(generateFileKey());
  const header = await wrapFileKey(passphrase, fileKey.bytes, logN);
  await withLock(file, async () => {
    if (await vaultExists(file)) {
      throw new JaneeError(
        'VAULT_EXISTS',
        `a vault already exists at ${file}`,
        'use it, or move it away first; `janee passwd` changes its passphrase',
      );
    }
    await writeSealed(file, header, fileKey.bytes, emptyVaultData());
    // A new vault here: whatever was remembered for this path belonged to the old one.
    await resetSeen(file, 0, keyIdOf(fileKey.bytes), { replaced: true }).catch(() => undefined);
  });
}

/** Unlock with the passphrase (runs scrypt). Refuses a copy older than the one seen here (VAULT_ROLLBACK). */
export async function unlockVaultFile(file: string, passphrase: Uint8Array): Promise<UnlockedVault> {
  const parsed = await readVaultFile(file);
  using fileKey = secret(await unwrapFileKey(parsed.header, passphrase));
  const vault = await opened(file, parsed, fileKey.bytes, { locked: false });
  fileKey.take(); // opened: the caller owns it now, as vault.fileKey (wiped here if anything failed)
  return vault;
}

/**
 * Re-read the vault with a file key we already hold (no scrypt). A header that
 * does not verify under the key means the vault was rekeyed (or replaced).
 * Refuses a copy older than the one seen here (VAULT_ROLLBACK, a VaultRollbackError).
 */
export async function openWithKey(file: string, fileKey: Uint8Array): Promise<UnlockedVault> {
  return openKeyed(file, fileKey, { locked: false });
}

async function openKeyed(file: string, fileKey: Uint8Array, opts: { locked: boolean }): Promise<UnlockedVault> {
  const parsed = await readVaultFile(file);
  if (!headerMatchesKey(parsed, fileKey)) throw rekeyedError(file);
  return opened(file, parsed, fileKey, opts);
}

function rekeyedError(file: string): JaneeError {
  return new JaneeError(
    'VAULT_REKEYED',
    `${file} is no longer encrypted with the key in memory (rekeyed or replaced)`,
    'unlock it again with its passphrase',
  );
}

/**
 * Decrypt (authenticated), then the generation check: nothing unauthenticated is ever
 * remembered. The file was read without the vault's lock, so a save by another process
 * may have landed (and been remembered) between our read of the file and of the record:
 * a refusal is confirmed by reading again under the lock, which every save holds while
 * it writes and remembers. `locked`: the caller holds it already (the answer is final).
 */
async function opened(file: string, parsed: ParsedVault, fileKey: Uint8Array, opts: { locked: boolean }): Promise<UnlockedVault> {
  const data = openVaultData(parsed, fileKey);
  try {
    await guardGeneration(file, data.generation, keyIdOf(fileKey));
  } catch (e) {
    if (opts.locked || !(e instanceof VaultRollbackError)) throw e;
    return withLock(file, () => openKeyed(file, fileKey, { locked: true })).catch((again: unknown) => {
      // The lock itself failed (a read-only directory, a holder that never lets go): keep the refusal.
      throw again instanceof JaneeError && (again.code === 'WRITE_FAILED' || again.code === 'LOCK_TIMEOUT') ? e : again;
    });
  }
  return { path: file, header: parsed.header, fileKey, data };
}

/**
 * `janee vault accept-older`: open the vault with the passphrase WITHOUT the
 * generation check and, if it is older than the one remembered here, make its
 * generation (and key) the remembered one. The passphrase is what makes it deliberate.
 */
export async function acceptOlderVault(
  file: string,
  passphrase: Uint8Array,
): Promise<{ generation: number; before: SeenRecord | undefined; changed: boolean }> {
  const parsed = await readVaultFile(file);
  using fileKey = secret(await unwrapFileKey(parsed.header, passphrase));
  const data = openVaultData(parsed, fileKey.bytes);
  const key = keyIdOf(fileKey.bytes);
  const before = await readSeen(file);
  try {
    checkAgainst(before, file, data.generation, key);
    return { generation: data.generation, before, changed: false };
  } catch (e) {
    if (!(e instanceof VaultRollbackError)) throw e;
  }
  await resetSeen(file, data.generation, key);
  return { generation: data.generation, before, changed: true };
}

async function writeSealed(file: string, header: VaultHeader, fileKey: Uint8Array, data: VaultData): Promise<void> {
  await atomicWrite(file, sealVaultData(header, fileKey, data));
}

/**
 * After a save of ours: remember its generation. Best effort: the vault is written
 * already, and a record left lower only makes the next open raise it (or fail, loudly,
 * if the state directory is unwritable).
 */
async function saved(file: string, fileKey: Uint8Array, generation: number): Promise<void> {
  await noteSeen(file, generation, keyIdOf(fileKey)).catch(() => undefined);
}

/**
 * Read-modify-write under the lock. `fn` changes `data` in place (and may throw to
 * abort with nothing written). The generation counter goes up on every save.
 */
export async function updateVault<T>(
  file: string,
  fileKey: Uint8Array,
  fn: (data: VaultData) => T | Promise<T>,
): Promise<{ result: T; vault: UnlockedVault }> {
  return withLock(file, async () => {
    const current = await openKeyed(file, fileKey, { locked: true });
    const { result, changed } = await changedBy(current.data, fn);
    // Nothing changed, nothing written: a no-op leaves the file byte-identical.
    if (changed) {
      current.data.generation += 1;
      await writeSealed(file, current.header, fileKey, current.data);
      await saved(file, fileKey, current.data.generation);
    }
    return { result, vault: current };
  });
}

/** Runs `fn` on `data` and says whether it changed the payload. Both encodings are wiped, also when `fn` throws. */
async function changedBy<T>(data: VaultData, fn: (data: VaultData) => T | Promise<T>): Promise<{ result: T; changed: boolean }> {
  using before = secret(encodePayload(data));
  const result = await fn(data);
  using after = secret(encodePayload(data));
  return { result, changed: !ctEqual(before.bytes, after.bytes) };
}

/** `janee passwd`: same file key, new passphrase (new salt), new work factor if given. */
export async function rewrapVault(file: string, fileKey: Uint8Array, newPassphrase: Uint8Array, logN: number): Promise<void> {
  const header = await wrapFileKey(newPassphrase, fileKey, logN);
  await withLock(file, async () => {
    const current = await openKeyed(file, fileKey, { locked: true });
    current.data.generation += 1;
    await writeSealed(file, header, fileKey, current.data);
    await saved(file, fileKey, current.data.generation);
  });
}

/** `janee rekey`: a new random file key. Returns it (the caller wipes it). */
export async function rekeyVault(file: string, oldKey: Uint8Array, passphrase: Uint8Array, logN: number): Promise<Uint8Array> {
  using fileKey = secret(generateFileKey());
  const header = await wrapFileKey(passphrase, fileKey.bytes, logN);
  await withLock(file, async () => {
    const current = await openKeyed(file, oldKey, { locked: true });
    current.data.generation += 1;
    await writeSealed(file, header, fileKey.bytes, current.data);
    // The new key at a higher generation retires the old one: a copy under it is refused.
    await saved(file, fileKey.bytes, current.data.generation);
  });
  return fileKey.take(); // to the caller, who wipes it
}
