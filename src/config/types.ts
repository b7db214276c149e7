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
  /** How long `execute` waits for a human's approval before answering "waiting" (approve: true rules). */
  approvalWaitMs?: number;
  /** How long a pending approval request stays valid. */
  approvalTtlMs?: number;
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
  /** `commands:` (exec, see docs/exec.md); absent when there are none. */
  commands?: Map<string, CommandConfig>;
}

/** config.yaml `commands.<name>`: a program the agent may run with `exec` (src/exec). */
export interface CommandConfig {
  name: string;
  /** As written; `file` is where loadConfig found it. */
  program: string;
  /** Absolute path of the program (set by loadConfig; undefined from validateConfig alone, or when not found). */
  file?: string;
  /** Set by loadConfig when the program was not found: why (exec of it then fails saying so). */
  missing?: string;
  /** Environment variable → vault entry and field. */
  env: { name: string; entry: string; field: string | undefined }[];
  /** Argument patterns (src/exec/pattern.ts), as written. */
  allow: string[];
  deny: string[];
  /** Absolute directories the agent may run it in (empty: only in its temporary HOME). */
  cwd: string[];
  /** Vault entry whose token git gets through a temporary credential helper. */
  gitCredential: string | undefined;
  rateLimit: RateLimit | undefined;
  timeoutMs: number;
  maxOutputBytes: number;
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
export const DEFAULT_APPROVAL_WAIT_MS = 45_000;
export const DEFAULT_APPROVAL_TTL_MS = 600_000;
export const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
