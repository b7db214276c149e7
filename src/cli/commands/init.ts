import { Command, Option } from 'clipanion';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError, usageError } from '../../errors.js';
import { INITIAL_CONFIG } from '../../config/edit.js';
import { atomicWrite, ensureDir } from '../../util/fsutil.js';
import { secret } from '../../util/secret.js';
import { DEFAULT_LOG_N, MAX_LOG_N, WARN_BELOW_LOG_N } from '../../vault/format.js';
import { createVaultFile, vaultExists } from '../../vault/store.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';
import { weakPassphraseWarning } from '../strength.js';

const MIN_WORK_FACTOR = 10;

export function parseWorkFactor(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LOG_N;
  const n = Number(raw);
  if (!/^\d{1,2}$/.test(raw) || n < MIN_WORK_FACTOR || n > MAX_LOG_N) {
    throw usageError(
      `--work-factor must be a whole number from ${MIN_WORK_FACTOR} to ${MAX_LOG_N} (log2 of scrypt's N), got "${raw}"`,
      `the default is ${DEFAULT_LOG_N}`,
    );
  }
  return n;
}

export class InitCommand extends JaneeCommand {
  static override paths = [['init']];
  static override usage = Command.Usage({
    description: 'Create config.yaml and an empty encrypted vault',
    examples: [
      ['Create a vault', 'janee init'],
      ['Fast, for tests', 'janee init --work-factor 10'],
    ],
  });

  workFactor = Option.String('--work-factor', { description: `log2 of scrypt's N (default ${DEFAULT_LOG_N}); lower is faster and weaker` });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const logN = parseWorkFactor(this.workFactor);
    if (logN < WARN_BELOW_LOG_N)
      warn(this.context.stderr, `work factor 2^${logN} is weak against passphrase guessing; use it for tests only`);
    await ensureDir(this.home);
    await fs.chmod(this.home, 0o700).catch(() => undefined);
    const configFile = this.configFile;
    const config = await this.config({ allowMissing: true });
    const vault = await this.vaultFile(config);
    if (await vaultExists(vault)) {
      throw new JaneeError('VAULT_EXISTS', `a vault already exists at ${vault}`, 'nothing to do; `janee passwd` changes its passphrase');
    }
    await this.create(vault, logN);
    let wroteConfig = false;
    try {
      await fs.access(configFile);
    } catch {
      await ensureDir(path.dirname(configFile));
      await atomicWrite(configFile, INITIAL_CONFIG, { backup: false });
      wroteConfig = true;
    }
    info(this.context.stderr, `created ${vault}${wroteConfig ? ` and ${configFile}` : ''}`);
    info(this.context.stderr, 'next: janee add <name> --base-url <url> --auth bearer');
    if (this.json) this.outJson({ vault, config: configFile, configCreated: wroteConfig, workFactor: logN });
    return 0;
  }

  /** The vault passphrase is wiped once the vault exists. */
  private async create(vault: string, logN: number): Promise<void> {
    using passphrase = secret(
      (await getPassphrase(this.io, { fromStdin: this.passphraseStdin, confirm: true, prompt: 'new vault passphrase: ' })).passphrase,
    );
    const weak = weakPassphraseWarning(passphrase.bytes);
    if (weak) warn(this.context.stderr, weak);
    await withProgress(this.context.stderr, `creating vault (scrypt 2^${logN})`, createVaultFile(vault, passphrase.bytes, logN));
  }
}
