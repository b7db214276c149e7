import { Command, Option } from 'clipanion';
import { dropPassphrase, readVaultFile, rekeyVault, rewrapVault, unlockVaultFile, type UnlockedVault } from '../../vault/store.js';
import { JaneeCommand, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';
import { weakPassphraseWarning } from '../strength.js';
import { checkBeforeSecret, unlockWithPassphrase } from '../vault-ops.js';
import { sealKey } from '../../agent/proof.js';
import { parseWorkFactor } from './init.js';
import { DEFAULT_LOG_N, WARN_BELOW_LOG_N, type RecipientStanza } from '../../vault/format.js';
import { identityOption } from '../identity.js';
import { connectAgent, type AgentConnection } from '../../agent/client.js';
import { agentSocketPath } from '../../agent/socket-path.js';
import { JaneeError, usageError } from '../../errors.js';
import { secret, type SecretBytes } from '../../util/secret.js';

export class PasswdCommand extends JaneeCommand {
  static override paths = [['passwd']];
  static override usage = Command.Usage({
    description: 'Change the vault passphrase (the file key stays, so an unlocked agent stays unlocked)',
    details: `
      The new passphrase comes from JANEE_NEW_PASSPHRASE_FILE, JANEE_NEW_PASSPHRASE, a line on
      stdin with --new-passphrase-stdin (the line after the old one when both come from stdin),
      or is asked twice on the terminal.

      The file key does not change: anyone who had the old passphrase and a copy of the vault
      can still open every copy. After a suspected leak of the passphrase, run \`janee rekey\` as
      well (see SECURITY.md).

      With --remove, a vault that has recipients drops its passphrase: from then on only the
      recipients' identities open it. A vault without a passphrase gets one again with
      \`janee passwd --identity FILE\`.
    `,
    examples: [['Team vault: identities only', 'janee passwd --remove']],
  });

  passphraseStdin = passphraseStdinOption();
  identity = identityOption();
  remove = Option.Boolean('--remove', false, { description: 'Drop the passphrase (the vault must have a recipient)' });
  newPassphraseStdin = Option.Boolean('--new-passphrase-stdin', false, { description: 'Read the new passphrase from stdin' });
  workFactor = Option.String('--work-factor', { description: 'New log2 N for scrypt (default: keep the current one)' });

  async run(): Promise<number> {
    const file = await this.vaultFile();
    if (this.remove && (this.newPassphraseStdin || this.workFactor !== undefined))
      throw usageError('--remove takes no new passphrase or work factor');
    {
      const vault = await unlockWithPassphrase(this.io, file, {
        passphraseStdin: this.passphraseStdin,
        prompt: 'current passphrase: ',
        identity: this.identity,
      });
      using fileKey = secret(vault.fileKey);
      if (this.remove) {
        await dropPassphrase(file, fileKey.bytes);
        info(this.context.stderr, "passphrase removed: only the recipients' identities open the vault now");
        info(
          this.context.stderr,
          'older copies of the file (git history) still open with the old passphrase: `janee rekey` makes new versions unreadable to it',
        );
        return 0;
      }
      const logN = this.workFactor === undefined ? (vault.header.scrypt?.logN ?? DEFAULT_LOG_N) : parseWorkFactor(this.workFactor);
      if (logN < WARN_BELOW_LOG_N)
        warn(this.context.stderr, `work factor 2^${logN} is weak against passphrase guessing; use it for tests only`);
      const env = process.env;
      const { passphrase } = await getPassphrase(this.io, {
        env: { JANEE_PASSPHRASE_FILE: env.JANEE_NEW_PASSPHRASE_FILE, JANEE_PASSPHRASE: env.JANEE_NEW_PASSPHRASE },
        fromStdin: this.newPassphraseStdin,
        confirm: true,
        prompt: 'new passphrase: ',
      });
      using newPassphrase = secret(passphrase);
      const weak = weakPassphraseWarning(newPassphrase.bytes);
      if (weak) warn(this.context.stderr, weak);
      await withProgress(
        this.context.stderr,
        `re-wrapping the file key (scrypt 2^${logN})`,
        rewrapVault(file, fileKey.bytes, newPassphrase.bytes, logN),
      );
    }
    info(this.context.stderr, 'passphrase changed');
    // The file key is unchanged, so an unlocked agent re-reads the file and stays unlocked.
    await tellAgent(this.context.stderr, async () => {
      const conn = await connectAgent(agentSocketPath(file), file);
      try {
        const st = await conn?.request('reload', {}, { timeoutMs: 10_000 });
        if (st?.state === 'unlocked') info(this.context.stderr, `the agent (pid ${st.pid}) stays unlocked`);
      } finally {
        conn?.close();
      }
    });
    return 0;
  }
}

export class RekeyCommand extends JaneeCommand {
  static override paths = [['rekey']];
  static override usage = Command.Usage({
    description: 'Encrypt the vault under a new random file key (same passphrase and recipients)',
    details:
      'Use it when an old copy of the vault and its passphrase may have leaked together, or after a key may have been exposed in memory. A vault without a passphrase is rekeyed with --identity (or JANEE_IDENTITY_FILE).',
  });

  passphraseStdin = passphraseStdinOption();
  identity = identityOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    await rekeyCurrent(this, file, { passphraseStdin: this.passphraseStdin, identity: this.identity });
    info(this.context.stderr, 'vault rekeyed: old copies of the file no longer share its key');
    return 0;
  }
}

/**
 * A new file key for the vault, wrapped for its passphrase (asked for, when the vault
 * has one: the new key must be wrapped for it) and for the recipients `keep` keeps; a
 * running agent is moved to the new key. Shared by `janee rekey` and `janee recipients remove`.
 * Returns the names of the vault's entries (what a removed member could have copied).
 */
export async function rekeyCurrent(
  cmd: JaneeCommand,
  file: string,
  opts: { passphraseStdin: boolean; identity?: string | undefined },
  keep?: (r: RecipientStanza) => boolean,
): Promise<string[]> {
  const stderr = cmd.context.stderr;
  const { scrypt } = (await readVaultFile(file)).header;
  let pass: SecretBytes | undefined;
  let vault: UnlockedVault;
  try {
    if (scrypt) {
      pass = secret((await getPassphrase(cmd.io, { fromStdin: opts.passphraseStdin, prompt: 'vault passphrase: ' })).passphrase);
      vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(file, pass.bytes));
    } else {
      vault = await unlockWithPassphrase(cmd.io, file, { identity: opts.identity });
    }
    using oldKey = secret(vault.fileKey);
    // A running agent holds the old key, which will no longer open the file. It gets
    // the new one sealed under the old key, and only after proving (now, while the
    // file still matches its key) that it holds the old key.
    const agent = await verifiedAgent(stderr, file, oldKey.bytes);
    try {
      const wrapPass = pass && scrypt ? { bytes: pass.bytes, logN: scrypt.logN } : undefined;
      using fresh = secret(await withProgress(stderr, 'rekeying', rekeyVault(file, oldKey.bytes, wrapPass, keep)));
      if (agent) {
        await tellAgent(stderr, async () => {
          const r = await agent.request('rekey', { ...sealKey(oldKey.bytes, fresh.bytes) }, { timeoutMs: 15_000 });
          info(stderr, `the agent (pid ${r.pid}) is unlocked with the new key`);
        });
      }
    } finally {
      agent?.close();
    }
    return Object.keys(vault.data.entries).sort();
  } finally {
    pass?.[Symbol.dispose]();
  }
}

/** Runs `fn`; its failures are warnings, not errors (the vault itself is done). */
async function tellAgent(stderr: NodeJS.WritableStream, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    const err = e instanceof JaneeError ? e : undefined;
    warn(stderr, `could not update the agent: ${err ? err.message : 'internal error'}${err?.hint ? ` (${err.hint})` : ''}`);
  }
}

/** The unlocked agent for this vault, checked (proof with `fileKey`, and the Linux peer check); undefined if none or if it fails. */
async function verifiedAgent(stderr: NodeJS.WritableStream, file: string, fileKey: Uint8Array): Promise<AgentConnection | undefined> {
  let conn: AgentConnection | undefined;
  await tellAgent(stderr, async () => {
    const socketPath = agentSocketPath(file);
    const c = await connectAgent(socketPath, file);
    if (!c) return;
    if (c.hello.state !== 'unlocked') return c.close();
    try {
      await checkBeforeSecret(c, socketPath, fileKey);
    } catch (e) {
      c.close();
      throw e;
    }
    conn = c;
  });
  return conn;
}
