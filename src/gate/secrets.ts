/**
 * The unlocked vault as the gate sees it: decrypted entries, re-read from disk
 * (with the file key in memory, no scrypt) whenever the file changes, so
 * `janee add` while unlocked needs no new unlock.
 *
 * - A file rekeyed under another key → locked (the key in memory is wiped).
 * - A file replaced by an older copy (lower generation) → the newer copy in
 *   memory is kept and `rollback` says so; the gate never goes back silently.
 *   The store refuses a copy older than the generation remembered on this machine
 *   (VAULT_ROLLBACK): if the copy in memory is at least that new it is kept as above,
 *   else every use fails with that error until the newer file is back (the copy in
 *   memory may hold a secret removed since, so it is not served either).
 */
import { JaneeError } from '../errors.js';
import { WatchedFile } from '../util/watched.js';
import { VaultRollbackError } from '../vault/seen.js';
import { secret } from '../util/secret.js';
import { openWithKey, updateVault } from '../vault/store.js';
import type { VaultData } from '../vault/types.js';

export interface SecretSource {
  /** Current entries; throws JaneeError GATE_LOCKED when there are none to give. */
  current(): Promise<VaultData>;
  /** Wipe key material; current() throws GATE_LOCKED afterwards. */
  wipe(): void;
}

const LOCKED_HINT = 'run `janee unlock` in a terminal (or set JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE for serve)';

export function lockedError(why = 'vault is locked'): JaneeError {
  return new JaneeError('GATE_LOCKED', why, LOCKED_HINT);
}

export class VaultSecrets implements SecretSource {
  #key: Uint8Array | undefined;
  readonly #watch: WatchedFile<VaultData>;
  /** Set when the file on disk went back to an older generation. */
  rollback: { onDisk: number; inMemory: number } | undefined;
  /** The newest copy written by us (see written()). */
  #newest: VaultData | undefined;

  constructor(file: string, fileKey: Uint8Array, initial?: VaultData) {
    this.#key = fileKey;
    this.#watch = new WatchedFile(file, (f, previous) => this.#load(f, previous ?? initial));
  }

  get file(): string {
    return this.#watch.file;
  }

  async current(): Promise<VaultData> {
    if (!this.#key) throw lockedError();
    return this.#watch.get();
  }

  /** True once the key is wiped (lock, or the vault was rekeyed under us). */
  get locked(): boolean {
    return this.#key === undefined;
  }

  /** The file key (for writes made through the agent). */
  key(): Uint8Array {
    if (!this.#key) throw lockedError();
    return this.#key;
  }

  /** Force a re-read on the next call (after a write of our own). */
  invalidate(): void {
    this.#watch.invalidate();
  }

  /**
   * After a write of our own (the agent's vault_put/vault_delete): `data` is what
   * we saved. It becomes the newest copy we know, so a file that is replaced by an
   * older one before we re-read it is still seen as a rollback.
   */
  written(data: VaultData): void {
    if (!this.#newest || data.generation >= this.#newest.generation) this.#newest = data;
    this.#watch.invalidate();
  }

  /**
   * Read-modify-write of the vault file with (a copy of) the key, so a concurrent
   * lock cannot zero it mid-write; refused (AGENT_VAULT_ROLLBACK) when the file is
   * older than the copy in memory: it is neither overwritten nor silently gone back
   * to. Used by the agent's vault_put/vault_delete and by token rotation (the gate
   * writes a rotated refresh token in whichever process holds the vault).
   */
  async write<T>(fn: (data: VaultData) => T): Promise<{ result: T; generation: number }> {
    const file = this.file;
    this.invalidate();
    const mem = await this.current();
    if (this.rollback) throw rollbackError(file, this.rollback);
    using key = secret(this.key().slice());
    try {
      const { result, vault } = await updateVault(file, key.bytes, (data) => {
        if (data.generation < mem.generation) throw rollbackError(file, { onDisk: data.generation, inMemory: mem.generation });
        return fn(data);
      });
      this.written(vault.data);
      return { result, generation: vault.data.generation };
    } finally {
      this.invalidate();
    }
  }

  /**
   * Sets one field of an entry to `next` if it still holds `previous` (a rotated
   * refresh token: a value stored meanwhile by a human wins). False when it did not.
   */
  async replaceField(name: string, field: string, previous: string, next: string): Promise<boolean> {
    const r = await this.write((data) => {
      const entry = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
      if (!entry || !Object.hasOwn(entry.fields, field) || entry.fields[field] !== previous) return false;
      entry.fields = { ...entry.fields, [field]: next };
      entry.updated = new Date().toISOString();
      return true;
    });
    return r.result;
  }

  wipe(): void {
    this.#key?.fill(0);
    this.#key = undefined;
    this.#newest = undefined;
  }

  async #load(file: string, previous: VaultData | undefined): Promise<VaultData> {
    const key = this.#key;
    if (!key) throw lockedError();
    const newest = this.#newest && (!previous || this.#newest.generation > previous.generation) ? this.#newest : previous;
    let data: VaultData;
    try {
      data = (await openWithKey(file, key)).data;
    } catch (e) {
      if (e instanceof JaneeError && e.code === 'VAULT_REKEYED') {
        this.wipe();
        throw lockedError('vault was rekeyed or replaced since it was unlocked, so it is locked now');
      }
      if (e instanceof VaultRollbackError && newest && newest.generation >= e.seen) {
        this.rollback = { onDisk: e.onDisk, inMemory: newest.generation };
        return newest;
      }
      throw e;
    }
    if (newest && data.generation < newest.generation) {
      this.rollback = { onDisk: data.generation, inMemory: newest.generation };
      return newest;
    }
    this.rollback = undefined;
    return data;
  }
}

function rollbackError(file: string, rb: { onDisk: number; inMemory: number }): JaneeError {
  return new JaneeError(
    'AGENT_VAULT_ROLLBACK',
    `the vault file ${file} (generation ${rb.onDisk}) is older than the agent's unlocked copy (generation ${rb.inMemory}); not writing to it`,
    `restore the newer file (e.g. from ${file}.bak or git), or accept the file on disk with \`janee vault accept-older\` then \`janee lock && janee unlock\``,
  );
}
