/** The decrypted vault payload (JSON). Lives only in memory. */

export interface VaultEntry {
  /** e.g. { token } for bearer/header/query, { username, password } for basic. */
  fields: Record<string, string>;
  /** Origins (URL.origin form, e.g. `https://api.stripe.com`) the secret may be sent to. */
  origins: string[];
  created: string; // ISO-8601 UTC
  updated: string; // ISO-8601 UTC
}

/**
 * An agent token's record (src/vault/agents.ts): the token itself is never stored,
 * only its SHA-256, so a copy of the vault cannot be used to act as the agent.
 */
export interface AgentRecord {
  /** SHA-256 of the token, lowercase hex. */
  hash: string;
  /** The services it may use (names as in config.yaml); null: every service. */
  services: string[] | null;
  created: string; // ISO-8601 UTC
  /** null: never. */
  expires: string | null;
}

/** Who an agent token belongs to, as the gate needs it. */
export interface TokenAgent {
  name: string;
  /** null: every service. */
  services: string[] | null;
}

/** An agent token as listed: everything but its hash. */
export interface AgentInfo {
  name: string;
  services: string[] | null;
  created: string;
  expires: string | null;
}

export interface VaultData {
  /** 2 exactly when `agents` has one (src/vault/payload.ts); writers set it from the content. */
  version: 1 | 2;
  /** Bumped on every save; an agent refuses to go back to a lower one (rollback). */
  generation: number;
  entries: Record<string, VaultEntry>;
  /**
   * Agent tokens by agent name. Absent when there are none (the payload then has no
   * `agents` key, so vaults written before agents existed stay byte-identical).
   */
  agents?: Record<string, AgentRecord>;
}

export function emptyVaultData(): VaultData {
  return { version: 1, generation: 0, entries: {} };
}
