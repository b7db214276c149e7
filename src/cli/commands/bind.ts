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
import { JaneeError } from '../../errors.js';
import { parseBaseUrl } from '../../config/url.js';
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
    // exec:COMMAND lets the secret go to that command of config.yaml (docs/exec.md).
    const origin = isExecBinding(this.url) ? this.url : parseBaseUrl(this.url).origin;
    const file = await this.vaultFile();
    const vault = await unlockWithPassphrase(this.io, file, { passphraseStdin: this.passphraseStdin });
    let outcome: { changed: boolean; origins: string[] };
    try {
      ({ result: outcome } = await updateVault(file, vault.fileKey, (data) => {
        const entry = Object.hasOwn(data.entries, this.name) ? data.entries[this.name] : undefined;
        if (!entry) {
          throw new JaneeError('NOT_FOUND', `the vault has no secret named "${this.name}"`, 'see `janee list`; add it with `janee add`');
        }
        const has = entry.origins.includes(origin);
        if (this.remove ? !has : has) return { changed: false, origins: [...entry.origins] };
        entry.origins = this.remove ? entry.origins.filter((o) => o !== origin) : [...entry.origins, origin];
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
