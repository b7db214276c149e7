import { Command, Option } from 'clipanion';
import { JaneeError } from '../../errors.js';
import { editConfig, hasService, removeServiceNode } from '../../config/edit.js';
import { parseConfigText, readConfigText } from '../../config/load.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { info } from '../io.js';
import { openVaultAccess } from '../vault-ops.js';

export class RemoveCommand extends JaneeCommand {
  static override paths = [['remove'], ['rm']];
  static override usage = Command.Usage({ description: 'Remove a service from config.yaml and its secret from the vault' });

  name = Option.String({ name: 'name' });
  passphraseStdin = passphraseStdinOption();
  json = jsonOption();

  async run(): Promise<number> {
    const configFile = this.configFile;
    const text = await readConfigText(configFile);
    const inConfig = text !== undefined && hasService(parseConfigText(configFile, text).doc, this.name);
    const vaultFile = await this.vaultFile();
    // Vault first: if it fails, nothing has changed; if config fails after, a retry finishes the job.
    // An unlocked agent for this vault does the write: no passphrase needed.
    const vault = await openVaultAccess(this.io, vaultFile, { passphraseStdin: this.passphraseStdin });
    let inVault: boolean;
    try {
      inVault = (await vault.delete(this.name)).existed;
    } finally {
      vault.close();
    }
    if (inConfig) await editConfig(configFile, (doc) => removeServiceNode(doc, this.name));
    if (!inConfig && !inVault) {
      throw new JaneeError('NOT_FOUND', `no service or secret named "${this.name}"`, 'see `janee list`');
    }
    info(
      this.context.stderr,
      `removed ${this.name}${inVault ? '' : ' (it had no secret in the vault)'}${inConfig ? '' : ' (it was not in config.yaml)'}`,
    );
    if (this.json) this.outJson({ service: this.name, config: inConfig, vault: inVault });
    return 0;
  }
}
