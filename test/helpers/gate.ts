/**
 * A real in-process gate over a real vault file, for tests that drive LocalGate
 * directly (no CLI, no MCP): config.yaml from `services`, a vault (log2 N = 10)
 * holding one bearer-style `token` per entry of `secrets`, each bound to `origin`.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { LocalGate } from '../../src/gate/gate.js';
import { VaultSecrets } from '../../src/gate/secrets.js';
import { createVaultFile, unlockVaultFile, updateVault } from '../../src/vault/store.js';

const PASSPHRASE = new TextEncoder().encode('gate test helper passphrase');

export async function gateWithVault(opts: {
  home: string;
  services: Record<string, unknown>;
  secrets: Record<string, string>;
  origin: string;
}): Promise<LocalGate> {
  await fs.mkdir(opts.home, { recursive: true, mode: 0o700 });
  const configFile = path.join(opts.home, 'config.yaml');
  await fs.writeFile(configFile, `${JSON.stringify({ services: opts.services }, null, 2)}\n`);
  const vaultFile = path.join(opts.home, 'vault.janee');
  await createVaultFile(vaultFile, PASSPHRASE, 10);
  const unlocked = await unlockVaultFile(vaultFile, PASSPHRASE);
  const now = new Date().toISOString();
  const { vault } = await updateVault(vaultFile, unlocked.fileKey, (data) => {
    for (const [name, token] of Object.entries(opts.secrets)) {
      data.entries[name] = { fields: { token }, origins: [new URL(opts.origin).origin], created: now, updated: now };
    }
  });
  return new LocalGate({
    configFile,
    auditDir: path.join(opts.home, 'audit'),
    killswitchFile: path.join(opts.home, 'killswitch'),
    secrets: new VaultSecrets(vaultFile, unlocked.fileKey, vault.data),
  });
}
