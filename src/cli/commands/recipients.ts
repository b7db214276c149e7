/**
 * `janee recipients add|list|remove`: the team vault's members, each an age X25519
 * public key with a name. The names and keys live in the vault header, covered by its
 * MAC (docs/vault-format.md), so `list` needs no key; every change needs the passphrase
 * or an identity (never just the agent: adding a member hands out every secret).
 */
import { Command, Option } from 'clipanion';
import { JaneeError, usageError } from '../../errors.js';
import { secret } from '../../util/secret.js';
import { RECIPIENT_NAME_RE } from '../../vault/format.js';
import { addRecipient, readVaultFile } from '../../vault/store.js';
import { parseRecipient } from '../../vault/x25519.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { clean, info } from '../io.js';
import { identityOption } from '../identity.js';
import { unlockWithPassphrase } from '../vault-ops.js';
import { rekeyCurrent } from './passwd.js';

function checkName(name: string): void {
  if (!RECIPIENT_NAME_RE.test(name))
    throw usageError(
      `--name must be 1–64 of A–Z a–z 0–9 . _ @ + - (starting with a letter or digit), got "${clean(name.slice(0, 70))}"`,
      'e.g. --name alice',
    );
}

export class RecipientsAddCommand extends JaneeCommand {
  static override paths = [['recipients', 'add']];
  static override usage = Command.Usage({
    description: 'Let another member open the vault with their age identity (their age1… public key)',
    details: `
      Wraps the vault's file key for the key (age's X25519 recipient type: keys from
      \`janee identity new\` or \`age-keygen\` work). Needs the passphrase, or your own identity
      with --identity / JANEE_IDENTITY_FILE. The first recipient turns the vault into format
      v2; \`janee passwd --remove\` then drops the passphrase if you want identities only.
    `,
    examples: [['Add a member', 'janee recipients add age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p --name alice']],
  });

  recipient = Option.String({ name: 'age1…' });
  name = Option.String('--name', { required: true, description: 'What to call this member (shown by list, used by remove)' });
  identity = identityOption();
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    if (parseRecipient(this.recipient) === undefined)
      throw new JaneeError(
        'RECIPIENT_INVALID',
        'that is not an age X25519 recipient (age1… in lower case, with a valid checksum)',
        'the member runs `janee identity new` (or `age-keygen`) and sends you the public key it prints',
      );
    checkName(this.name);
    const file = await this.vaultFile();
    {
      const vault = await unlockWithPassphrase(this.io, file, { passphraseStdin: this.passphraseStdin, identity: this.identity });
      using fileKey = secret(vault.fileKey);
      const header = await addRecipient(file, fileKey.bytes, this.name, this.recipient);
      info(
        this.context.stderr,
        `added recipient ${this.name} (${header.recipients.length} in all): they can open the vault with their identity`,
      );
      if (this.json) this.outJson({ added: this.name, recipient: this.recipient, recipients: header.recipients.map((r) => r.name) });
    }
    info(this.context.stderr, 'commit and push the vault so they get it');
    return 0;
  }
}

export class RecipientsListCommand extends JaneeCommand {
  static override paths = [['recipients', 'list'], ['recipients']];
  static override usage = Command.Usage({
    description: 'Show who can open the vault: the passphrase, and each recipient by name and age1… key',
    details: `
      Read from the vault header without a key. The header is authenticated whenever the vault
      is opened (a changed name or key makes every open fail), not by this command.
    `,
  });

  json = jsonOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    const { scrypt, recipients } = (await readVaultFile(file)).header;
    if (this.json) {
      this.outJson({
        vault: file,
        passphrase: scrypt !== undefined,
        recipients: recipients.map((r) => ({ name: r.name, recipient: r.recipient })),
      });
      return 0;
    }
    this.out(`passphrase: ${scrypt ? 'yes' : 'no (recipients only)'}`);
    if (recipients.length === 0) this.out('no recipients: add one with `janee recipients add age1… --name NAME`');
    const width = Math.max(0, ...recipients.map((r) => r.name.length));
    for (const r of recipients) this.out(`${r.name.padEnd(width)}  ${r.recipient}`);
    return 0;
  }
}

export class RecipientsRemoveCommand extends JaneeCommand {
  static override paths = [
    ['recipients', 'remove'],
    ['recipients', 'rm'],
  ];
  static override usage = Command.Usage({
    description: 'Remove a member: rekeys the vault so their key opens nothing written from now on',
    details: `
      A new random file key, wrapped again for the passphrase (asked for if the vault has one)
      and for the remaining recipients; a running agent moves to the new key. The removed
      member may have copied every secret while they had access: the command lists them, to
      be rotated at each service.
    `,
  });

  name = Option.String({ name: 'NAME' });
  identity = identityOption();
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    const { recipients } = (await readVaultFile(file)).header;
    const gone = recipients.find((r) => r.name === this.name);
    if (!gone)
      throw new JaneeError(
        'NOT_FOUND',
        `the vault has no recipient named "${clean(this.name.slice(0, 70))}"`,
        '`janee recipients list` shows them',
      );
    const entries = await rekeyCurrent(
      this,
      file,
      { passphraseStdin: this.passphraseStdin, identity: this.identity },
      (r) => r.name !== gone.name,
    );
    const stderr = this.context.stderr;
    info(stderr, `removed recipient ${gone.name} and rekeyed the vault: their key opens nothing written from now on`);
    info(stderr, 'older copies (git history, backups) still open with their key: what they held then, they may have kept');
    if (entries.length > 0)
      info(stderr, `rotate these secrets at their services (${gone.name} could have copied them): ${entries.join(', ')}`);
    if (this.json) this.outJson({ removed: gone.name, recipient: gone.recipient, rotate: entries });
    return 0;
  }
}
