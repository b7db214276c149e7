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
import { readAtMost, TooLargeError } from '../util/bounded.js';
import { secret } from '../util/secret.js';
import { ctEqual } from './bytes.js';
import {
  asHeader,
  generateFileKey,
  headerMatchesKey,
  MAX_RECIPIENTS,
  parseVault,
  sortRecipients,
  unwrapWith,
  wrapFileKey,
  wrapForRecipient,
  type HeaderLike,
  type ParsedVault,
  type RecipientStanza,
  type Unlocker,
  type VaultHeader,
} from './format.js';
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

/**
 * Far above any vault janee writes (a vault holds API keys, a few KB each), and below
 * what Node can hold as one string: a larger file (or a device) fails with one clear
 * error instead of "internal error: Cannot create a string longer than …".
 */
export const MAX_VAULT_BYTES = 256 * 1024 * 1024;

export async function readVaultFile(file: string): Promise<ParsedVault> {
  let bytes: Uint8Array;
  try {
    bytes = await readAtMost(file, MAX_VAULT_BYTES, { regularOnly: true });
  } catch (e) {
    if (e instanceof TooLargeError)
      throw new JaneeError(
        'VAULT_BAD_PAYLOAD',
        `${file} holds more than ${MAX_VAULT_BYTES} bytes: not a janee vault, or a damaged one`,
        `restore ${file}.bak or the copy in git`,
      );
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT')
      throw new JaneeError('VAULT_NOT_FOUND', `no vault at ${file}`, 'run `janee init` to create one (or set JANEE_VAULT)');
    throw new JaneeError('VAULT_UNREADABLE', `cannot read ${file} (${code ?? 'error'})`, 'check the file permissions');
  }
  return named(file, () => parseVault(bytes));
}

/**
 * The format and payload modules know no path: their hints say `<vault>` (e.g. "restore
 * <vault>.bak or the copy in git"). Here the file is known, so the hint names it.
 */
function named<T>(file: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof JaneeError && e.constructor === JaneeError && e.hint?.includes('<vault>')) {
      throw new JaneeError(e.code, e.message, e.hint.replaceAll('<vault>', file), e.exitCode);
    }
    throw e;
  }
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

/**
 * Unlock with the passphrase (runs scrypt) or with age identities. Refuses a copy older
 * than the one seen here (VAULT_ROLLBACK).
 */
export async function unlockVaultFile(file: string, unlocker: Unlocker): Promise<UnlockedVault> {
  const parsed = await readVaultFile(file);
  using fileKey = secret(await unwrapWith(parsed.header, unlocker));
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
  const data = named(file, () => openVaultData(parsed, fileKey));
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
  unlocker: Unlocker,
): Promise<{ generation: number; before: SeenRecord | undefined; changed: boolean }> {
  const parsed = await readVaultFile(file);
  using fileKey = secret(await unwrapWith(parsed.header, unlocker));
  const data = named(file, () => openVaultData(parsed, fileKey.bytes));
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

async function writeSealed(file: string, header: HeaderLike, fileKey: Uint8Array, data: VaultData): Promise<void> {
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

/**
 * Under the lock: re-read with `fileKey`, give it the header `next(current header)`,
 * save at the next generation. The header may be for another file key (`newKey`).
 */
async function rewriteHeader(
  file: string,
  fileKey: Uint8Array,
  next: (header: VaultHeader) => HeaderLike,
  newKey: Uint8Array = fileKey,
): Promise<VaultHeader> {
  return withLock(file, async () => {
    const current = await openKeyed(file, fileKey, { locked: true });
    const header = asHeader(next(current.header));
    current.data.generation += 1;
    await writeSealed(file, header, newKey, current.data);
    // A new key at a higher generation retires the old one: a copy under it is refused.
    await saved(file, newKey, current.data.generation);
    return header;
  });
}

/** `janee passwd`: same file key, new passphrase (new salt), new work factor if given. The recipients stay. */
export async function rewrapVault(file: string, fileKey: Uint8Array, newPassphrase: Uint8Array, logN: number): Promise<void> {
  const scrypt = await wrapFileKey(newPassphrase, fileKey, logN);
  await rewriteHeader(file, fileKey, (h) => ({ scrypt, recipients: h.recipients }));
}

/** `janee passwd --remove`: the passphrase no longer opens the vault; only its recipients do. */
export async function dropPassphrase(file: string, fileKey: Uint8Array): Promise<void> {
  await rewriteHeader(file, fileKey, (h) => {
    if (h.recipients.length === 0) throw lastKeyError('removing the passphrase');
    return { recipients: h.recipients };
  });
}

function lastKeyError(what: string): JaneeError {
  return new JaneeError(
    'VAULT_LAST_KEY',
    `${what} would leave the vault with no passphrase and no recipient: nobody could open it`,
    'add a recipient first (`janee recipients add age1… --name NAME`), or keep the passphrase',
  );
}

/** `janee recipients add`: wrap the same file key for one more member. */
export async function addRecipient(file: string, fileKey: Uint8Array, name: string, recipient: string): Promise<VaultHeader> {
  return rewriteHeader(file, fileKey, (h) => {
    // A name equal but for case (`Bob` beside `bob`) counts as taken: `recipients remove`
    // of the wrong one leaves a departed member able to open the vault.
    const dup = h.recipients.find((r) => r.name.toLowerCase() === name.toLowerCase() || r.recipient === recipient);
    if (dup) {
      throw new JaneeError(
        'RECIPIENT_EXISTS',
        dup.name.toLowerCase() === name.toLowerCase()
          ? `the vault already has a recipient named "${dup.name}"${dup.name === name ? '' : ' (the same name but for case)'}`
          : `that key is already the recipient "${dup.name}"`,
        '`janee recipients list` shows them; `janee recipients remove NAME` first to replace one',
      );
    }
    if (h.recipients.length >= MAX_RECIPIENTS) {
      throw new JaneeError(
        'RECIPIENTS_TOO_MANY',
        `the vault already has ${MAX_RECIPIENTS} recipients, the most a vault file may have`,
        '`janee recipients remove NAME` someone first, or split the team into several vaults',
      );
    }
    const stanza = wrapForRecipient(fileKey, name, recipient);
    return { scrypt: h.scrypt, recipients: sortRecipients([...h.recipients, stanza]) };
  });
}

/**
 * `janee rekey` and `janee recipients remove`: a new random file key, wrapped for the
 * passphrase (when given; else the vault keeps none) and for every recipient kept.
 * Returns it (the caller wipes it).
 */
export async function rekeyVault(
  file: string,
  oldKey: Uint8Array,
  passphrase: { bytes: Uint8Array; logN: number } | undefined,
  keep: (r: RecipientStanza) => boolean = () => true,
): Promise<Uint8Array> {
  using fileKey = secret(generateFileKey());
  const scrypt = passphrase ? await wrapFileKey(passphrase.bytes, fileKey.bytes, passphrase.logN) : undefined;
  await rewriteHeader(
    file,
    oldKey,
    (h) => {
      const recipients = h.recipients.filter(keep).map((r) => wrapForRecipient(fileKey.bytes, r.name, r.recipient));
      if (!scrypt && recipients.length === 0) throw lastKeyError('this');
      return { scrypt, recipients };
    },
    fileKey.bytes,
  );
  return fileKey.take(); // to the caller, who wipes it
}
