import { Command, Option } from 'clipanion';
import { usageError } from '../../errors.js';
import { killswitchPath } from '../../config/paths.js';
import { describeKillState, readKillswitch, setKillswitch, type KillState } from '../../gate/killswitch.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info } from '../io.js';

/** The line every change and `status` print: exactly what is blocked now. */
function killStateLine(s: KillState): string {
  const what = describeKillState(s);
  return what === 'nothing' ? 'nothing is blocked' : `blocked now: ${what}`;
}

export class KillswitchCommand extends JaneeCommand {
  static override paths = [['killswitch']];
  static override usage = Command.Usage({
    description: "Block every call (or some services') at once, in every running serve and agent",
    details: `
      The global switch (\`on\` / \`off\` with no service) and the per-service blocks are
      independent: turning the global switch off keeps the services blocked on their own,
      and \`off stripe\` lifts stripe only. Use \`off --all\` to lift every block.
      Every change prints what is blocked afterwards. Running gates notice within a second.
    `,
    examples: [
      ['Block everything', 'janee killswitch on'],
      ['Block one service', 'janee killswitch on stripe'],
      ['Block one command (exec)', 'janee killswitch on gh'],
      ['Lift the global switch (per-service blocks stay)', 'janee killswitch off'],
      ['Lift one service', 'janee killswitch off stripe'],
      ['Lift every block', 'janee killswitch off --all'],
      ['Show the state', 'janee killswitch status --json'],
    ],
  });

  action = Option.String({ name: 'on|off|status' });
  services = Option.Rest({ name: 'service' });
  all = Option.Boolean('--all', false, { description: 'With off: lift the global switch and every per-service block' });
  json = jsonOption();

  async run(): Promise<number> {
    const file = killswitchPath();
    let state: KillState;
    if (this.action !== 'on' && this.action !== 'off' && this.action !== 'status') {
      throw usageError(`unknown action "${this.action.slice(0, 40)}"`, 'use `janee killswitch on|off|status [SERVICE…]`');
    }
    if (this.all && (this.action !== 'off' || this.services.length > 0)) {
      throw usageError('--all goes with `off` and no service names', 'run `janee killswitch off --all`');
    }
    if (this.action === 'status') {
      if (this.services.length > 0) throw usageError('`status` takes no service names', 'run `janee killswitch status`');
      state = await readKillswitch(file);
    } else {
      const on = this.action === 'on';
      if (on) {
        const config = await this.config({ allowMissing: true });
        for (const s of this.services) {
          // A name is a service's or a command's (exec): they share one namespace.
          if (!config.services.has(s) && !config.commands?.has(s))
            info(this.context.stderr, `note: "${s}" is not in config.yaml (blocking it anyway)`);
        }
      }
      const before = await readKillswitch(file);
      state = await setKillswitch(file, on, this.services, { everything: this.all });
      if (!on) {
        for (const s of this.services) {
          if (!before.services.has(s)) info(this.context.stderr, `note: "${s}" was not blocked on its own`);
        }
        if (state.all && this.services.length > 0)
          info(this.context.stderr, 'note: the global switch is still on, so everything stays blocked (`janee killswitch off` lifts it)');
      }
    }
    if (this.json) {
      const blocked = state.all ? 'everything' : state.services.size ? 'some' : 'nothing';
      this.out(
        JSON.stringify({
          all: state.all,
          services: [...state.services].sort(),
          blocked,
          ...(state.error !== undefined ? { error: state.error } : {}),
        }),
      );
    } else {
      this.out(killStateLine(state));
    }
    return 0;
  }
}
