/**
 * `janee bind NAME URL` allows a secret to be sent to one more origin; `--remove`
 * takes an origin away. Origin bindings live in the encrypted vault, so that
 * config.yaml (plaintext, maybe edited by someone else) can never redirect a secret.
 *
 * Binding widens where a secret may go, so it always needs the vault passphrase,
 * even while an agent is unlocked: the one vault change that must never happen
 * without the human who knows it.
 */
import { Command, Option } from 'clipanion';
import { JaneeError, usageError } from '../../errors.js';
import { parseBaseUrl } from '../../config/url.js';
import { execBinding, isBindingOf } from '../../exec/binding.js';
import { isExecBinding } from '../../vault/payload.js';
import { updateVault } from '../../vault/store.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { info, warn } from '../io.js';
import { unlockWithPassphrase } from '../vault-ops.js';

export class BindCommand extends JaneeCommand {
  static override paths = [['bind']];
  static override usage = Command.Usage({
    description: 'Allow a secret to be sent to another origin (or, with --remove, no longer)',
    details: `
      The origin (scheme://host:port) of URL is added to the origins the secret NAME may be sent to.
      This always asks for the vault passphrase (JANEE_PASSPHRASE_FILE, JANEE_PASSPHRASE, a line
      on stdin with --passphrase-stdin, or the terminal), even while an agent is unlocked: it
      widens where a secret may go, which config.yaml alone must never be able to do.
    `,
    examples: [
      ['Allow the EU endpoint too', 'janee bind stripe https://eu.api.stripe.com'],
      ['Take it back', 'janee bind stripe https://eu.api.stripe.com --remove'],
      ['Let the command gh of config.yaml have it (exec)', 'janee bind github exec:gh'],
    ],
  });

  name = Option.String({ name: 'name' });
  url = Option.String({ name: 'url' });
  remove = Option.Boolean('--remove', false, { description: 'Remove the binding instead of adding it' });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    // exec:COMMAND lets the secret go to that command of config.yaml *as it is defined now*
    // (docs/exec.md): the binding carries a digest of the definition, so a later edit of
    // config.yaml runs nothing until a human binds again.
    const execName = isExecBinding(this.url) ? this.url.slice('exec:'.length) : undefined;
    if (execName?.includes('@'))
      throw usageError('give exec:COMMAND; janee pins the definition config.yaml has now', 'e.g. janee bind github exec:gh');
    let origin: string;
    if (execName === undefined) origin = parseBaseUrl(this.url).origin;
    else if (this.remove) origin = `exec:${execName}`;
    else {
      const cmd = (await this.config()).commands?.get(execName);
      if (!cmd)
        throw new JaneeError(
          'NOT_FOUND',
          `config.yaml has no command "${execName}"`,
          'add it under commands: in config.yaml first (docs/exec.md)',
        );
      origin = execBinding(cmd);
    }
    const file = await this.vaultFile();
    const vault = await unlockWithPassphrase(this.io, file, { passphraseStdin: this.passphraseStdin });
    let outcome: { changed: boolean; origins: string[] };
    try {
      ({ result: outcome } = await updateVault(file, vault.fileKey, (data) => {
        const entry = Object.hasOwn(data.entries, this.name) ? data.entries[this.name] : undefined;
        if (!entry) {
          throw new JaneeError('NOT_FOUND', `the vault has no secret named "${this.name}"`, 'see `janee list`; add it with `janee add`');
        }
        // A command binding replaces the secret's earlier bindings to that command (other definitions).
        const same = (o: string) => (execName === undefined ? o === origin : this.remove ? isBindingOf(o, execName) : o === origin);
        const has = entry.origins.some(same);
        if (this.remove ? !has : has) return { changed: false, origins: [...entry.origins] };
        const others = execName === undefined ? entry.origins : entry.origins.filter((o) => !isBindingOf(o, execName));
        entry.origins = this.remove ? entry.origins.filter((o) => !same(o)) : [...others, origin];
        entry.updated = new Date().toISOString();
        return { changed: true, origins: [...entry.origins] };
      }));
    } finally {
      vault.fileKey.fill(0);
    }
    const now = outcome.origins.length ? outcome.origins.join(', ') : 'nowhere';
    if (!outcome.changed)
      info(
        this.context.stderr,
        `${this.name} was ${this.remove ? 'not' : 'already'} bound to ${origin}; nothing changed (bound to: ${now})`,
      );
    else
      info(
        this.context.stderr,
        `${this.remove ? 'unbound' : 'bound'} ${this.name} ${this.remove ? 'from' : 'to'} ${origin} (bound to: ${now})`,
      );
    if (outcome.origins.length === 0)
      warn(this.context.stderr, `${this.name} is bound to no origin: janee will not send it anywhere until you bind one`);
    if (this.json) this.outJson({ service: this.name, origin, removed: this.remove, changed: outcome.changed, origins: outcome.origins });
    return 0;
  }
}
