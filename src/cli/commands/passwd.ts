import { Command, Option } from 'clipanion';
import { rekeyVault, rewrapVault, unlockVaultFile } from '../../vault/store.js';
import { JaneeCommand, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';
import { weakPassphraseWarning } from '../strength.js';
import { checkBeforeSecret, unlockWithPassphrase } from '../vault-ops.js';
import { sealKey } from '../../agent/proof.js';
import { parseWorkFactor } from './init.js';
import { WARN_BELOW_LOG_N } from '../../vault/format.js';
import { connectAgent, type AgentConnection } from '../../agent/client.js';
import { agentSocketPath } from '../../agent/socket-path.js';
import { JaneeError } from '../../errors.js';
import { secret } from '../../util/secret.js';

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
    `,
  });

  passphraseStdin = passphraseStdinOption();
  newPassphraseStdin = Option.Boolean('--new-passphrase-stdin', false, { description: 'Read the new passphrase from stdin' });
  workFactor = Option.String('--work-factor', { description: 'New log2 N for scrypt (default: keep the current one)' });

  async run(): Promise<number> {
    const file = await this.vaultFile();
    {
      const vault = await unlockWithPassphrase(this.io, file, { passphraseStdin: this.passphraseStdin, prompt: 'current passphrase: ' });
      using fileKey = secret(vault.fileKey);
      const logN = this.workFactor === undefined ? vault.header.logN : parseWorkFactor(this.workFactor);
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
    description: 'Encrypt the vault under a new random file key (same passphrase)',
    details:
      'Use it when an old copy of the vault and its passphrase may have leaked together, or after a key may have been exposed in memory.',
  });

  passphraseStdin = passphraseStdinOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    {
      const { passphrase } = await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' });
      using pass = secret(passphrase);
      const vault = await withProgress(this.context.stderr, 'unlocking vault', unlockVaultFile(file, pass.bytes));
      using oldKey = secret(vault.fileKey);
      // A running agent holds the old key, which will no longer open the file. It gets
      // the new one sealed under the old key, and only after proving (now, while the
      // file still matches its key) that it holds the old key.
      const agent = await verifiedAgent(this.context.stderr, file, oldKey.bytes);
      try {
        using fresh = secret(
          await withProgress(this.context.stderr, 'rekeying', rekeyVault(file, oldKey.bytes, pass.bytes, vault.header.logN)),
        );
        if (agent) {
          await tellAgent(this.context.stderr, async () => {
            const r = await agent.request('rekey', { ...sealKey(oldKey.bytes, fresh.bytes) }, { timeoutMs: 15_000 });
            info(this.context.stderr, `the agent (pid ${r.pid}) is unlocked with the new key`);
          });
        }
      } finally {
        agent?.close();
      }
    }
    info(this.context.stderr, 'vault rekeyed: old copies of the file no longer share its key');
    return 0;
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
