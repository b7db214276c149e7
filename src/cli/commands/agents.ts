/**
 * `janee agents add|list|remove`: agent tokens, the identity of an agent that
 * reaches serve over HTTP (or sets JANEE_AGENT_TOKEN). They live in the vault, so
 * changing them needs the passphrase or the unlocked agent, like `janee add`, and
 * editing config.yaml can neither create an agent nor widen one's scope.
 */
import { Command, Option } from 'clipanion';
import { parseDuration } from '../../agent/protocol.js';
import { JaneeError, usageError } from '../../errors.js';
import { readLastUsed } from '../../util/last-used.js';
import { agentRecord, newToken } from '../../vault/agents.js';
import { ENTRY_NAME_RE } from '../../vault/payload.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info, warn } from '../io.js';
import { openVaultAccess } from '../vault-ops.js';

const NAME_HINT = 'an agent name is 1-64 letters, digits, "_", "." or "-", starting with a letter or digit';

export class AgentsAddCommand extends JaneeCommand {
  static override paths = [['agents', 'add']];
  static override usage = Command.Usage({
    description: 'Create an agent token (printed once on stdout; only its hash is kept, in the vault)',
    details: `
      The agent sends it as \`Authorization: Bearer <token>\` to \`janee serve --http\`, or sets it as
      JANEE_AGENT_TOKEN for \`janee serve\` over stdio. The audit log names the agent (agentSource "token").
      With --services the agent sees and may call only those services. A token cannot be shown again:
      to replace one, \`janee agents remove NAME\` and add it again.
    `,
    examples: [
      ['Every service, no expiry', 'janee agents add laptop-claude'],
      ['Two services, 30 days', 'janee agents add ci --services github,stripe --expires 30d'],
    ],
  });

  name = Option.String({ name: 'name' });
  services = Option.String('--services', { description: 'Comma-separated services the agent may use (default: all)' });
  expires = Option.String('--expires', { description: 'Lifetime, e.g. 12h, 30d (default: none)' });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    if (!ENTRY_NAME_RE.test(this.name)) throw usageError('invalid agent name', NAME_HINT);
    const services = this.services === undefined ? null : parseServices(this.services);
    let expiresMs: number | undefined;
    if (this.expires !== undefined) {
      expiresMs = parseDuration(this.expires);
      if (expiresMs === undefined || expiresMs === 0) throw usageError('--expires must be like 12h or 30d', 'units: s, m, h, d');
    }
    const config = await this.config({ allowMissing: true });
    if (services) {
      const unknown = services.filter((s) => !config.services.has(s));
      if (unknown.length > 0) warn(this.context.stderr, `not in config.yaml (yet): ${unknown.map((s) => clean(s)).join(', ')}`);
    }
    const token = newToken();
    const record = agentRecord(token, services, new Date(), expiresMs);
    const vault = await openVaultAccess(this.io, await this.vaultFile(config), { passphraseStdin: this.passphraseStdin });
    try {
      await vault.putAgent(this.name, record);
      info(
        this.context.stderr,
        `added agent ${this.name}${vault.via} (${services ? services.join(', ') : 'every service'}${record.expires ? `, expires ${record.expires}` : ''}); the token below is shown once`,
      );
    } finally {
      vault.close();
    }
    if (this.json) this.outJson({ name: this.name, token, services, created: record.created, expires: record.expires });
    else this.out(token);
    return 0;
  }
}

function parseServices(raw: string): string[] {
  const list = raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0) throw usageError('--services needs at least one service name', 'e.g. --services github,stripe');
  const bad = list.find((s) => !ENTRY_NAME_RE.test(s));
  if (bad !== undefined) throw usageError('--services: invalid service name', 'service names are as in config.yaml');
  return [...new Set(list)];
}

export class AgentsListCommand extends JaneeCommand {
  static override paths = [['agents', 'list'], ['agents']];
  static override usage = Command.Usage({ description: 'List agent tokens: name, services, created, expires, last used' });

  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    const vault = await openVaultAccess(this.io, file, { passphraseStdin: this.passphraseStdin });
    let agents;
    try {
      agents = await vault.agents();
    } finally {
      vault.close();
    }
    const used = await readLastUsed(file);
    const now = Date.now();
    const rows = agents.map((a) => ({
      ...a,
      expired: a.expires !== null && Date.parse(a.expires) <= now,
      lastUsed: Object.hasOwn(used, a.name) ? (used[a.name] as string) : null,
    }));
    if (this.json) {
      this.outJson({ agents: rows });
      return 0;
    }
    if (rows.length === 0) this.out('no agent tokens yet: create one with `janee agents add NAME`');
    for (const r of rows) {
      const scope = r.services ? r.services.join(',') : 'all services';
      const exp = r.expires === null ? 'never expires' : `${r.expired ? 'EXPIRED' : 'expires'} ${r.expires}`;
      this.out(clean(`${r.name}  ${scope}  created ${r.created}  ${exp}  last used ${r.lastUsed ?? 'never'}`));
    }
    return 0;
  }
}

export class AgentsRemoveCommand extends JaneeCommand {
  static override paths = [
    ['agents', 'remove'],
    ['agents', 'rm'],
  ];
  static override usage = Command.Usage({
    description: 'Remove an agent token: a running serve refuses it within a second, open sessions included',
  });

  name = Option.String({ name: 'name' });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const vault = await openVaultAccess(this.io, await this.vaultFile(), { passphraseStdin: this.passphraseStdin });
    let existed: boolean;
    try {
      existed = (await vault.deleteAgent(this.name)).existed;
      if (existed) info(this.context.stderr, `removed agent ${this.name}${vault.via}: its token no longer works`);
    } finally {
      vault.close();
    }
    if (!existed) throw new JaneeError('NOT_FOUND', `no agent token named "${clean(this.name)}"`, 'see `janee agents list`');
    const { revokeTokenGrants } = await import('../approval-ops.js');
    const ended = await revokeTokenGrants(await this.vaultFile(), this.name);
    if (ended.length > 0) info(this.context.stderr, `ended its approval grants: ${ended.join(', ')}`);
    if (this.json) this.outJson({ name: this.name, removed: true });
    return 0;
  }
}
