/** The validated, in-memory form of config.yaml. No secrets ever live here. */
import type { PolicyRule } from '../policy/types.js';

// Every auth type's block is defined in src/auth/types.ts (with the vault fields each needs).
export { AUTH_TYPES, type AuthSpec, type AuthType } from '../auth/types.js';
import type { AuthSpec } from '../auth/types.js';

// Defined in src/policy, which evaluates it and must not import config (the
// direction is config → policy: the loader validates paths with policy's
// normaliser); re-exported so that every config type is found here.
export type { PolicyRule };

export interface RateLimit {
  count: number;
  windowMs: number;
  /** As written, e.g. `60/min`. */
  text: string;
}

export interface ServiceConfig {
  name: string;
  /** Absolute http(s) URL without query or fragment, no trailing slash. */
  baseUrl: string;
  auth: AuthSpec;
  /** undefined = no `policies:` key = any method, any path under baseUrl. */
  policies: PolicyRule[] | undefined;
  rateLimit: RateLimit | undefined;
  maxResponseBytes: number;
  timeoutMs: number;
  /** A path `janee test` GETs to check the key (normalised, no query); from a template or written by hand. */
  testPath?: string;
}

export interface JaneeConfig {
  /** Absolute path of the config file it came from. */
  file: string;
  /** Absolute vault path (from `vault:` relative to the config file, or default). */
  vaultPath: string | undefined;
  services: Map<string, ServiceConfig>;
  /** `audit:` (absent: keep every day file, default checkpoint frequency). */
  audit?: AuditConfig;
}

/** config.yaml `audit:`. Retention and checkpoints; the log's content is not configurable. */
export interface AuditConfig {
  /** Delete day files older than this many days (UTC dates), leaving an anchor. */
  keepDays?: number;
  /** Sign a checkpoint at least every this many entries… */
  checkpointEvery?: number;
  /** …and this many seconds after an unsigned entry. */
  checkpointSeconds?: number;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const DEFAULT_TIMEOUT_MS = 30_000;
