/**
 * A vault's identity on this machine: the first 12 hex chars of sha256(real path of
 * the vault file). It names the agent's socket (one agent per vault) and the vault's
 * record in the state directory (seen.ts). Lives in the vault layer so both can use it.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Real path of the vault file; for a vault not created yet, real path of its directory + name. */
export function realVaultPath(vaultFile: string): string {
  const abs = path.resolve(vaultFile);
  try {
    return fs.realpathSync(abs);
  } catch {
    try {
      return path.join(fs.realpathSync(path.dirname(abs)), path.basename(abs));
    } catch {
      return abs;
    }
  }
}

export function vaultId(vaultFile: string): string {
  return createHash('sha256').update(realVaultPath(vaultFile)).digest('hex').slice(0, 12);
}
