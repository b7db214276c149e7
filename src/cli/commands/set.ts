/**
 * `janee set NAME`: put a new secret in for a service that exists in config.yaml
 * (rotation), without touching its policies, rate limit or anything else there.
 *
 * The secret keeps the origins its old entry was bound to: set never widens where
 * a secret may go (that is `janee bind`, with the passphrase). When the vault has
 * no entry for NAME yet, the new one is bound to the origin of the service's
 * baseUrl in config.yaml, and that always needs the passphrase, even while an
 * agent is unlocked: otherwise any process of the user could edit config.yaml and
 * have the next secret typed in bound to wherever it pointed, with no human check.
 */
import { Command, Option } from 'clipanion';
import { parseBaseUrl } from '../../config/url.js';
import { JaneeError, usageError } from '../../errors.js';
import { isValidFieldValue } from '../../vault/payload.js';
import type { VaultEntry } from '../../vault/types.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info, warn } from '../io.js';
import { keyOptions, keyReader, secretFields } from '../key-input.js';
import { fieldFileOption, fieldsReader, isMultiField } from '../auth-input.js';
import { openFileVault, openVaultAccess } from '../vault-ops.js';
import { serviceJson } from '../json-shapes.js';

export class SetCommand extends JaneeCommand {
  static override paths = [['set']];
  static override usage = Command.Usage({
    description: 'Replace (or add) the secret of a service in config.yaml, keeping its policies',
    details: `
      The service must exist in config.yaml (\`janee add\` creates one). Its rules are not touched; \`janee edit\` changes those.
      The secret stays bound to the origins its old one was bound to. If the vault has no secret for NAME yet, the new one is bound to the origin of the service's baseUrl, and that needs the vault passphrase even while an agent is unlocked.
      With no --key, --key-stdin or --key-from-env, the secret is asked for without echo on the terminal (after the vault passphrase, when one is needed).
      With --key-from-env VAR, set VAR for this command only (\`VAR=… janee set …\`): an exported variable reaches every program started from that shell.
    `,
    examples: [
      ['Rotate a key, prompted', 'janee set stripe'],
      ['From a file', 'janee set github --key-stdin < token.txt'],
      ['From a variable', 'GH_TOKEN=… janee set github --key-from-env GH_TOKEN'],
      ['Basic auth', 'janee set jira --username me@example.com'],
      ['A GitHub App key', 'janee set gh-app --field-file privateKey=new-key.pem'],
    ],
  });

  name = Option.String({ name: 'name' });
  key = keyOptions().key;
  keyStdin = keyOptions().keyStdin;
  keyFromEnv = keyOptions().keyFromEnv;
  username = Option.String('--username', { description: 'User name for a basic-auth service (the secret is the password)' });
  fieldFile = fieldFileOption();
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const config = await this.config();
    const svc = config.services.get(this.name);
    if (!svc) {
      throw new JaneeError(
        'NOT_FOUND',
        `no service named "${clean(this.name).slice(0, 70)}" in config.yaml`,
        `add it with \`janee add ${clean(this.name).slice(0, 70)} …\` (see \`janee list\`)`,
      );
    }
    const basic = svc.auth.type === 'basic';
    if (!basic && this.username !== undefined) throw usageError('--username is only for basic-auth services');
    // The user name lives in the vault entry with the password, and the agent never returns field values.
    if (basic && this.username === undefined)
      throw usageError(`${svc.name} uses basic auth: give --username`, 'the secret (the password) is asked for or read with --key-stdin');
    if (this.username !== undefined && (!isValidFieldValue(this.username) || this.username.includes(':')))
      throw usageError('--username must not contain ":" or control characters');
    if (!isMultiField(svc.auth) && this.fieldFile !== undefined) throw usageError(`--field-file is not used by auth type ${svc.auth.type}`);
    // Every field is replaced (an entry is written whole); see docs/auth.md for each type's fields.
    const readFields = isMultiField(svc.auth)
      ? fieldsReader(this.io, this, svc.auth, svc.name)
      : (
          (readKey) => async () =>
            secretFields(svc.auth, this.username, await readKey())
        )(keyReader(this.io, this, () => `${basic ? 'password' : 'secret'} for ${svc.name}: `));
    const configOrigin = parseBaseUrl(svc.baseUrl).origin;
    const vaultFile = await this.vaultFile(config);

    let vault = await openVaultAccess(this.io, vaultFile, { sendsSecret: true, passphraseStdin: this.passphraseStdin });
    let fields: Record<string, string> = {};
    let outcome: { replaced: boolean; origins: string[] };
    try {
      let old = (await vault.entries()).find((e) => e.name === svc.name);
      if (!old && vault.where === 'agent') {
        // A new binding comes from config.yaml: only with the passphrase (see the top of this file).
        vault.close();
        info(this.context.stderr, `the vault has no secret for ${svc.name} yet: binding one to ${configOrigin} needs the vault passphrase`);
        vault = await openFileVault(this.io, vaultFile, { passphraseStdin: this.passphraseStdin });
        old = (await vault.entries()).find((e) => e.name === svc.name);
      }
      fields = await readFields();
      const now = new Date().toISOString();
      const origins = old ? old.origins : [configOrigin];
      const entry: VaultEntry = { fields, origins, created: now, updated: now };
      const r = await vault.put(svc.name, entry, { replace: true });
      outcome = { replaced: r.replaced, origins };
    } finally {
      vault.close();
      for (const k of Object.keys(fields)) fields[k] = '';
    }
    const stderr = this.context.stderr;
    const bound = outcome.origins.length ? outcome.origins.join(', ') : 'no origin';
    info(
      stderr,
      `${outcome.replaced ? 'replaced the secret of' : 'added a secret for'} ${svc.name} (bound to ${bound})${vault.via}; its rules in config.yaml are unchanged`,
    );
    if (!outcome.origins.includes(configOrigin)) {
      warn(
        stderr,
        `the secret is not bound to ${configOrigin}, the origin of ${svc.name}'s baseUrl: calls will be refused until you run \`janee bind ${svc.name} ${svc.baseUrl}\``,
      );
    }
    if (this.json) {
      this.outJson({ ...serviceJson(svc), origins: outcome.origins, replaced: outcome.replaced, via: vault.where });
    }
    return 0;
  }
}
