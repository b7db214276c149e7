/**
 * The file key the agent holds, and the vault it opens: adopting a key, wiping
 * it, and writing the vault with it.
 *
 * The vault is a VaultSecrets (re-read with the file key when the file changes:
 * `janee add`, `passwd` keep working; a rekeyed file locks it until `janee rekey`
 * hands over the new key, sealed under the old one) set into the LocalGate. Vault
 * writes asked over the socket (`vault_put`, `vault_delete`) go through
 * updateVault under the vault's lock file, with a copy of the key (a concurrent
 * lock cannot zero the key mid-write).
 *
 * Rollback. If the file on disk is replaced by an older copy (lower generation)
 * the agent keeps serving its newer copy, `status` reports it, and writes are
 * refused (AGENT_VAULT_ROLLBACK) until the human restores the newer file or
 * accepts the older one (`janee vault accept-older`, then `janee lock && janee
 * unlock`) — the agent neither overwrites the file it was given nor silently goes back.
 */
import { timingSafeEqual } from 'node:crypto';
import { JaneeError } from '../errors.js';
import type { LocalGate } from '../gate/gate.js';
import { VaultSecrets } from '../gate/secrets.js';
import { secret } from '../util/secret.js';
import { openWithKey } from '../vault/store.js';
import type { VaultData } from '../vault/types.js';
import { lockedError } from './locked.js';

export class KeyHolder {
  readonly #vaultFile: string;
  readonly #socketPath: string;
  readonly #gate: LocalGate;
  readonly #log: (line: string) => void;
  #secrets: VaultSecrets | undefined;
  #lockedReason = 'waiting for the key from the `janee unlock` that started it';
  /** Wiped for good (the agent is stopping): no key is adopted any more. */
  #closed = false;

  constructor(opts: { vaultFile: string; socketPath: string; gate: LocalGate; log: (line: string) => void }) {
    this.#vaultFile = opts.vaultFile;
    this.#socketPath = opts.socketPath;
    this.#gate = opts.gate;
    this.#log = opts.log;
  }

  get unlocked(): boolean {
    return this.#secrets !== undefined && !this.#secrets.locked;
  }

  /** Why it is locked (meaningful while it is). */
  lockedReason(): string {
    // A vault file rekeyed or replaced under us locks VaultSecrets by itself.
    if (this.#secrets?.locked)
      this.#lockedReason = 'the vault file was rekeyed or replaced since it was unlocked: run `janee unlock` again';
    return this.#lockedReason;
  }

  lockedError(why: string): JaneeError {
    return lockedError(this.#vaultFile, this.#socketPath, why);
  }

  /** The open vault, or the "locked" error with its reason. */
  secrets(): VaultSecrets {
    const s = this.#secrets;
    if (!s || s.locked) throw this.lockedError(this.#lockedReason);
    return s;
  }

  /** The vault data when unlocked (undefined if it cannot be read now). */
  async data(): Promise<VaultData | undefined> {
    return this.unlocked ? this.#secrets?.current().catch(() => undefined) : undefined;
  }

  /** Re-read the vault file on next use. */
  invalidate(): void {
    this.#secrets?.invalidate();
  }

  /**
   * Adopts `bytes` if they open the vault (then they are the holder's, wiped when
   * it is locked); wiped here otherwise, however this ends. `already`: it is the
   * key held now.
   */
  async adopt(bytes: Uint8Array): Promise<{ already: boolean }> {
    using key = secret(bytes);
    const current = this.unlocked ? this.#secrets : undefined;
    if (current && timingSafeEqual(current.key(), key.bytes)) return { already: true };
    let opened;
    try {
      opened = await openWithKey(this.#vaultFile, key.bytes);
    } catch (e) {
      if (e instanceof JaneeError && e.code === 'VAULT_REKEYED') {
        throw new JaneeError(
          'AGENT_KEY_MISMATCH',
          `that key does not open ${this.#vaultFile}`,
          'the vault changed while unlocking: run `janee unlock` again',
        );
      }
      throw e;
    }
    // The agent may have begun stopping while the vault was read: then the key goes with this scope.
    if (this.#closed) throw new JaneeError('AGENT_STOPPING', 'the agent is shutting down', 'run `janee unlock` again in a moment');
    // Handed over: VaultSecrets wipes it when it is locked or replaced.
    const secrets = new VaultSecrets(this.#vaultFile, key.take(), opened.data);
    this.#gate.setSecrets(secrets); // wipes the previous key, if any
    this.#secrets = secrets;
    this.#log(current ? 'unlocked with a new key (the vault was rekeyed)' : 'unlocked');
    return { already: false };
  }

  /** Wipes the key for good (the agent stops): calls from now on answer "locked" with `why`. */
  wipe(why: string): void {
    this.#closed = true;
    this.#lockedReason = why;
    this.#gate.setSecrets(undefined);
    this.#secrets = undefined;
  }

  /** Read-modify-write of the vault file with (a copy of) our key; refused after a rollback (VaultSecrets.write). */
  async write<T>(fn: (data: VaultData) => T): Promise<{ result: T; generation: number }> {
    return this.secrets().write(fn);
  }
}
