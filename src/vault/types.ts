/** The decrypted vault payload (JSON). Lives only in memory. */

export interface VaultEntry {
  /** e.g. { token } for bearer/header/query, { username, password } for basic. */
  fields: Record<string, string>;
  /** Origins (URL.origin form, e.g. `https://api.stripe.com`) the secret may be sent to. */
  origins: string[];
  created: string; // ISO-8601 UTC
  updated: string; // ISO-8601 UTC
}

export interface VaultData {
  version: 1;
  /** Bumped on every save; an agent refuses to go back to a lower one (rollback). */
  generation: number;
  entries: Record<string, VaultEntry>;
}

export function emptyVaultData(): VaultData {
  return { version: 1, generation: 0, entries: {} };
}
