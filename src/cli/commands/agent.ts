/**
 * `janee agent` (hidden): the agent process itself. `janee unlock` starts it
 * detached and hands it the key over the inherited start pipe (--ready-fd), never
 * over the socket; nobody needs to run it by hand.
 */
import { Option } from 'clipanion';
import { runAgentProcess } from '../../agent/run.js';
import { auditDir, killswitchPath } from '../../config/paths.js';
import { JaneeCommand } from '../base.js';
import { capOldGenerationGrowth, capYoungGeneration } from '../heap.js';

export class AgentCommand extends JaneeCommand {
  static override paths = [['agent']];
  // No `usage`: clipanion leaves it out of `janee --help`.

  vault = Option.String('--vault', { required: true });
  socket = Option.String('--socket', { required: true });
  readyFd = Option.String('--ready-fd');

  async run(): Promise<number> {
    // Long-lived and small like serve, and every serve's calls run here: the same caps (heap.ts).
    capYoungGeneration();
    capOldGenerationGrowth();
    return runAgentProcess(
      {
        vaultFile: this.vault,
        socketPath: this.socket,
        readyFd: this.readyFd === undefined ? undefined : Number(this.readyFd),
        configFile: this.configFile,
        auditDir: auditDir(),
        killswitchFile: killswitchPath(),
      },
      this.context.stderr,
    );
  }
}
