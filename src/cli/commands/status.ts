import { Command } from 'clipanion';
import { vaultExists } from '../../vault/store.js';
import { JaneeCommand, jsonOption } from '../base.js';

export class StatusCommand extends JaneeCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({ description: 'Show paths, services and whether the vault is unlocked' });

  json = jsonOption();

  async run(): Promise<number> {
    const config = await this.config({ allowMissing: true });
    const vault = await this.vaultFile(config);
    const status = {
      home: this.home,
      config: this.configFile,
      vault,
      vaultExists: await vaultExists(vault),
      services: [...config.services.keys()],
      state: 'locked' as 'locked' | 'unlocked',
    };
    if (this.json) {
      this.out(JSON.stringify(status, null, 2));
      return 0;
    }
    this.out(`vault:    ${vault}${status.vaultExists ? '' : ' (missing: run `janee init`)'}`);
    this.out(`config:   ${status.config}`);
    this.out(`services: ${status.services.length ? status.services.join(', ') : '(none)'}`);
    this.out(`state:    ${status.state}`);
    return 0;
  }
}
