import { Command, Option } from 'clipanion';
import { usageError } from '../../errors.js';
import { killswitchPath } from '../../config/paths.js';
import { readKillswitch, setKillswitch } from '../../gate/killswitch.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info } from '../io.js';

export class KillswitchCommand extends JaneeCommand {
  static override paths = [['killswitch']];
  static override usage = Command.Usage({
    description: 'Block every call (or some services\') at once, in every running serve and agent',
    examples: [
      ['Block everything', 'janee killswitch on'],
      ['Block one service', 'janee killswitch on stripe'],
      ['Lift it', 'janee killswitch off'],
      ['Show the state', 'janee killswitch status'],
    ],
  });

  action = Option.String({ name: 'on|off|status' });
  services = Option.Rest({ name: 'service' });
  json = jsonOption();

  async run(): Promise<number> {
    const file = killswitchPath();
    let state;
    if (this.action === 'on' || this.action === 'off') {
      const config = await this.config({ allowMissing: true });
      for (const s of this.services) {
        if (!config.services.has(s) && this.action === 'on') info(this.context.stderr, `note: "${s}" is not in config.yaml (blocking it anyway)`);
      }
      state = await setKillswitch(file, this.action === 'on', this.services);
    } else if (this.action === 'status') {
      state = await readKillswitch(file);
    } else {
      throw usageError(`unknown action "${this.action}"`, 'use `janee killswitch on|off|status [SERVICE…]`');
    }
    const blocked = state.all ? ['*'] : [...state.services].sort();
    if (this.json) this.out(JSON.stringify({ all: state.all, services: blocked.filter((s) => s !== '*') }));
    else info(this.context.stderr, state.all ? 'kill switch ON: every call is blocked' : blocked.length ? `kill switch on for: ${blocked.join(', ')}` : 'kill switch off: calls are allowed');
    return 0;
  }
}
