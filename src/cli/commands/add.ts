import { Command, Option } from 'clipanion';
import { JaneeError, usageError } from '../../errors.js';
import { addServiceNode, editConfig, hasService, removeServiceNode, undoConfigEdit, type NewService } from '../../config/edit.js';
import { parseConfigText, readConfigText, parseRateLimit, SERVICE_NAME } from '../../config/load.js';
import { AUTH_TYPES, type AuthSpec } from '../../config/types.js';
import { parseBaseUrl } from '../../config/url.js';
import { isValidFieldValue } from '../../vault/payload.js';
import { updateVault, type UnlockedVault } from '../../vault/store.js';
import type { VaultEntry } from '../../vault/types.js';
import { JaneeCommand, passphraseStdinOption } from '../base.js';
import { info, warn } from '../io.js';
import { promptHidden, readStdinAll } from '../passphrase.js';
import { requireEntryAbsent, unlockedAgent, unlockWithPassphrase } from '../vault-ops.js';

export class AddCommand extends JaneeCommand {
  static override paths = [['add']];
  static override usage = Command.Usage({
    description: 'Add a service to config.yaml and its secret to the vault',
    details: `
      The secret is bound to the origin of --base-url: janee will never send it anywhere else.
      With no --key or --key-stdin, the key is asked for without echo on the terminal.
      --key puts the key in argv, where other processes and shell history can see it.
    `,
    examples: [
      ['Bearer token, prompted', 'janee add stripe --base-url https://api.stripe.com --auth bearer'],
      ['Key from a file', 'janee add github --base-url https://api.github.com --auth bearer --key-stdin < token.txt'],
      ['Header auth with policies', "janee add openai --base-url https://api.openai.com --auth header --header Authorization --policy 'POST /v1/chat/completions'"],
    ],
  });

  name = Option.String({ name: 'name' });
  baseUrl = Option.String('--base-url', { required: true, description: 'The API base URL, e.g. https://api.stripe.com' });
  auth = Option.String('--auth', 'bearer', { description: 'bearer | basic | header | query' });
  key = Option.String('--key', { description: 'The secret (visible in argv and shell history; prefer --key-stdin)' });
  keyStdin = Option.Boolean('--key-stdin', false, { description: 'Read the secret from stdin' });
  username = Option.String('--username', { description: 'User name for --auth basic (the key is the password)' });
  header = Option.String('--header', { description: 'Header name for --auth header' });
  param = Option.String('--param', { description: 'Query parameter name for --auth query' });
  policy = Option.Array('--policy', { description: "Allow rule, e.g. 'GET /v1/charges' or 'GET,POST /v1/customers'" });
  deny = Option.Array('--deny', { description: "Deny rule, e.g. 'DELETE /v1/customers'" });
  rateLimit = Option.String('--rate-limit', { description: 'e.g. 60/min' });
  passphraseStdin = passphraseStdinOption();

  async run(): Promise<number> {
    const svc = this.describeService();
    const origin = parseBaseUrl(svc.baseUrl).origin;
    const configFile = this.configFile;

    // Check config.yaml first: a bad or duplicate entry must fail before the vault changes.
    const before = await readConfigText(configFile);
    if (before !== undefined && hasService(parseConfigText(configFile, before).doc, svc.name)) {
      throw new JaneeError('CONFIG_DUPLICATE', `service "${svc.name}" already exists in config.yaml`, `pick another name, or run \`janee remove ${svc.name}\` first`);
    }
    const vaultFile = await this.vaultFile();
    const fields = await this.readFields(svc.auth);
    // An unlocked agent for this vault does the write: no passphrase needed.
    const agent = await unlockedAgent(this.io, vaultFile, { sendsSecret: true });
    // Without an agent, ask for the passphrase and unlock *before* touching
    // config.yaml: an interrupted prompt or a wrong passphrase changes nothing.
    let vault: UnlockedVault | undefined;
    try {
      if (!agent) vault = await unlockWithPassphrase(this.io, vaultFile, { passphraseStdin: this.passphraseStdin });
      const now = new Date().toISOString();
      const entry: VaultEntry = { fields, origins: [origin], created: now, updated: now };
      // Config first: its old bytes can be put back exactly if the vault write fails.
      const edit = await editConfig(configFile, (doc) => addServiceNode(doc, svc));
      try {
        if (agent) {
          await agent.request('vault_put', { name: svc.name, entry }, { timeoutMs: 30_000 });
        } else if (vault) {
          await updateVault(vaultFile, vault.fileKey, (data) => {
            requireEntryAbsent(data, svc.name);
            data.entries[svc.name] = entry;
          });
        }
      } catch (e) {
        await undoConfigEdit(configFile, edit, (doc) => removeServiceNode(doc, svc.name));
        throw e;
      }
    } finally {
      agent?.close();
      vault?.fileKey.fill(0);
      for (const k of Object.keys(fields)) fields[k] = '';
    }
    info(this.context.stderr, `added ${svc.name} (secret bound to ${origin})${agent ? ` through the agent (pid ${agent.hello.pid})` : ''}`);
    return 0;
  }

  private describeService(): NewService {
    if (!SERVICE_NAME.test(this.name)) throw usageError(`invalid service name "${this.name}"`, 'use 1-64 letters, digits, "_", "." or "-"');
    const type = this.auth;
    if (!(AUTH_TYPES as readonly string[]).includes(type)) throw usageError(`unknown auth type "${type}"`, `use one of: ${AUTH_TYPES.join(', ')}`);
    let auth: AuthSpec;
    if (type === 'header') {
      if (!this.header) throw usageError('--auth header needs --header NAME', 'e.g. --header X-Api-Key');
      auth = { type, name: this.header };
    } else if (type === 'query') {
      if (!this.param) throw usageError('--auth query needs --param NAME', 'e.g. --param api_key');
      auth = { type, param: this.param };
    } else auth = { type: type as 'bearer' | 'basic' };
    if (type !== 'basic' && this.username !== undefined) throw usageError('--username is only for --auth basic');
    if (type === 'basic' && !this.username) throw usageError('--auth basic needs --username', 'the key is the password');
    if (this.username !== undefined && (!isValidFieldValue(this.username) || this.username.includes(':'))) throw usageError('--username must not contain ":" or control characters');
    const baseUrl = parseBaseUrl(this.baseUrl).baseUrl;
    const svc: NewService = { name: this.name, baseUrl, auth };
    const rules = [...(this.policy ?? []).map((r) => parseRuleFlag(r, false)), ...(this.deny ?? []).map((r) => parseRuleFlag(r, true))];
    if (rules.length > 0) svc.policies = rules;
    if (this.rateLimit !== undefined) {
      if (!parseRateLimit(this.rateLimit)) throw usageError(`invalid --rate-limit "${this.rateLimit}"`, 'use N/sec, N/min, N/hour or N/day');
      svc.rateLimit = this.rateLimit;
    }
    return svc;
  }

  private async readFields(auth: AuthSpec): Promise<Record<string, string>> {
    if (this.key !== undefined && this.keyStdin) throw usageError('give either --key or --key-stdin, not both');
    let key: string;
    if (this.key !== undefined) {
      warn(this.context.stderr, '--key is visible to other processes (ps) and may be kept in your shell history; prefer --key-stdin or the prompt');
      key = this.key;
    } else if (this.keyStdin) {
      if (this.passphraseStdin) throw usageError('--key-stdin and --passphrase-stdin both want stdin', 'use JANEE_PASSPHRASE_FILE for the passphrase');
      key = Buffer.from(await readStdinAll(this.context.stdin)).toString('utf8');
    } else if ((this.context.stdin as { isTTY?: boolean }).isTTY) {
      key = Buffer.from(await promptHidden(this.io, auth.type === 'basic' ? 'password: ' : `secret for ${this.name}: `)).toString('utf8');
    } else {
      throw new JaneeError('NO_KEY', 'no secret given and no terminal to ask on', 'pass it on stdin with --key-stdin (or --key, which is visible in argv)');
    }
    if (key.length === 0) throw new JaneeError('NO_KEY', 'the secret is empty', 'pass the secret with --key-stdin or type it at the prompt');
    if (!isValidFieldValue(key)) throw new JaneeError('BAD_KEY', 'the secret contains a line break or another control character', 'pass exactly the secret (one trailing newline is stripped)');
    return auth.type === 'basic' ? { username: this.username as string, password: key } : { token: key };
  }
}

/** 'GET /v1/charges', 'GET,POST /v1/customers', '* /v1' → a policy rule. */
export function parseRuleFlag(raw: string, deny: boolean): { path: string; methods: string[]; deny?: boolean } {
  const m = /^\s*([A-Za-z*]+(?:\s*[,|]\s*[A-Za-z*]+)*)\s+(\/\S*)\s*$/.exec(raw);
  if (!m) throw usageError(`invalid rule "${raw}"`, "write rules as 'METHOD /path', e.g. 'GET /v1/charges' or 'GET,POST /v1/customers'");
  const methods = (m[1] as string).split(/\s*[,|]\s*/).map((s) => s.toUpperCase());
  return deny ? { path: m[2] as string, methods, deny: true } : { path: m[2] as string, methods };
}
