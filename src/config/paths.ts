/**
 * Where janee's files live. Environment variables win over defaults; the vault
 * path can also come from `vault:` in config.yaml (relative to that file).
 */
import { homedir } from 'node:os';
import * as path from 'node:path';

export function janeeHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.JANEE_HOME || path.join(homedir(), '.janee'));
}

export function configPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.JANEE_CONFIG || path.join(janeeHome(env), 'config.yaml'));
}

/** The vault path: $JANEE_VAULT, else `vault:` from config (already resolved), else the default. */
export function vaultPath(fromConfig: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (env.JANEE_VAULT) return path.resolve(env.JANEE_VAULT);
  return fromConfig ?? path.join(janeeHome(env), 'vault.janee');
}

export function auditDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(janeeHome(env), 'audit');
}

export function killswitchPath(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(janeeHome(env), 'killswitch');
}
