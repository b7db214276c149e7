/**
 * Base class for every command. clipanion prints a command's thrown error to
 * stdout and may exit 0; here every failure goes to stderr as
 * `janee: error: …` / `janee: hint: …` with exit 1 (or 2 for usage errors).
 * A command with a `json` option that was given also gets the failure as one
 * JSON document on stdout (json-errors.ts), in one place for every command.
 */
import { Command, Option } from 'clipanion';
import { printError, type Streams } from './io.js';
import { printJsonError } from './json-errors.js';
import { configPath, janeeHome, vaultPath } from '../config/paths.js';
import type { JaneeConfig } from '../config/types.js';

export abstract class JaneeCommand extends Command {
  abstract run(): Promise<number | void>;

  get io(): Streams {
    return { stdin: this.context.stdin, stdout: this.context.stdout, stderr: this.context.stderr };
  }

  async execute(): Promise<number> {
    try {
      return (await this.run()) ?? 0;
    } catch (e) {
      if ((this as { json?: unknown }).json === true) return printJsonError(this.context.stdout, this.context.stderr, e);
      return printError(this.context.stderr, e);
    }
  }

  get home(): string {
    return janeeHome();
  }

  get configFile(): string {
    return configPath();
  }

  async config(opts: { allowMissing?: boolean } = {}): Promise<JaneeConfig> {
    // Loaded on demand: the yaml parser is not needed to start `serve`.
    const { loadConfig } = await import('../config/load.js');
    return loadConfig(this.configFile, opts);
  }

  /** Vault path: $JANEE_VAULT, then `vault:` in config.yaml, then the default. */
  async vaultFile(config?: JaneeConfig): Promise<string> {
    if (process.env.JANEE_VAULT) return vaultPath(undefined);
    const c = config ?? (await this.config({ allowMissing: true }));
    return vaultPath(c.vaultPath);
  }

  out(line: string): void {
    this.context.stdout.write(`${line}\n`);
  }

  /** With --json: `value` as the command's one JSON document on stdout. */
  outJson(value: unknown): void {
    this.out(JSON.stringify(value));
  }
}

export const passphraseStdinOption = () =>
  Option.Boolean('--passphrase-stdin', false, { description: 'Read the passphrase from the first line of stdin' });

export const jsonOption = () => Option.Boolean('--json', false, { description: 'Print JSON' });
