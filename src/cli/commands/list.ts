import { Command } from 'clipanion';
import type { ServiceConfig } from '../../config/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean } from '../io.js';
import type { EntryInfo } from '../../agent/protocol.js';
import { openVaultQuietly } from '../vault-ops.js';

export class ListCommand extends JaneeCommand {
  static override paths = [['list'], ['ls']];
  static override usage = Command.Usage({
    description: 'List services (and whether each has a secret, when the vault can be read without a prompt)',
  });

  // DESIGN's passphrase sources hold for list too: a script can pipe the passphrase in.
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const config = await this.config();
    const data = await this.readVaultQuietly(await this.vaultFile(config));
    const rows = [...config.services.values()].map((s) => describe(s, data));
    if (data) {
      for (const [name, e] of data) {
        if (!config.services.has(name))
          rows.push({ name, baseUrl: null, auth: null, policies: null, rateLimit: null, secret: true, origins: e.origins });
      }
    }
    if (this.json) {
      this.out(JSON.stringify({ services: rows, vault: data ? 'read' : 'locked' }, null, 2));
      return 0;
    }
    if (rows.length === 0) this.out('no services yet: add one with `janee add NAME --base-url URL --auth bearer`');
    for (const r of rows) {
      const secret = r.secret === null ? 'secret: ? (locked)' : r.secret ? 'secret: yes' : 'secret: MISSING';
      const rules = r.policies === null ? 'any request' : `${r.policies.length} rule${r.policies.length === 1 ? '' : 's'}`;
      const where = r.baseUrl ?? '(not in config.yaml)';
      this.out(clean(`${r.name}  ${where}  ${r.auth ?? '-'}  ${secret}  ${rules}${r.rateLimit ? `  ${r.rateLimit}` : ''}`));
    }
    return 0;
  }

  /** Uses the agent or a non-interactive passphrase source; never prompts. */
  private async readVaultQuietly(file: string): Promise<Map<string, EntryInfo> | undefined> {
    const vault = await openVaultQuietly(this.io, file, { fromStdin: this.passphraseStdin });
    if (!vault) return undefined;
    try {
      return new Map((await vault.entries()).map((e) => [e.name, e]));
    } finally {
      vault.close();
    }
  }
}

function describe(s: ServiceConfig, data: Map<string, EntryInfo> | undefined) {
  const entry = data?.get(s.name);
  return {
    name: s.name,
    baseUrl: s.baseUrl as string | null,
    auth: s.auth.type as string | null,
    policies: s.policies ?? null,
    rateLimit: s.rateLimit?.text ?? null,
    secret: data ? entry !== undefined : (null as boolean | null),
    origins: entry?.origins ?? [],
  };
}
