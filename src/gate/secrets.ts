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
import { openWithKey } from '../vault/store.js';
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
