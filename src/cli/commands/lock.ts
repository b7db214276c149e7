import { Command } from 'clipanion';
import { AgentConnection, NOT_RUNNING } from '../../agent/client.js';
import { DRAIN_MS } from '../../agent/server.js';
import { agentSocketPath, checkSocketDir } from '../../agent/socket-path.js';
import { JaneeError } from '../../errors.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info } from '../io.js';

export class LockCommand extends JaneeCommand {
  static override paths = [['lock']];
  static override usage = Command.Usage({
    description: 'Wipe the key from the agent and stop it (serve then answers "vault is locked")',
  });

  json = jsonOption();

  async run(): Promise<number> {
    const vaultFile = await this.vaultFile();
    const socketPath = agentSocketPath(vaultFile);
    if (!(await checkSocketDir(socketPath, { create: false }))) return this.alreadyLocked();
    let conn: AgentConnection;
    try {
      // No hello: `lock` is obeyed at every protocol version.
      conn = await AgentConnection.open(socketPath, { hello: false });
    } catch (e) {
      if (e instanceof JaneeError && e.code === NOT_RUNNING) return this.alreadyLocked();
      throw e;
    }
    try {
      const { pid } = await conn.request('lock', {}, { timeoutMs: 10_000 });
      // The agent closes every connection once calls in flight are done, then exits.
      await conn.waitClosed(DRAIN_MS + 2_000);
      await waitExit(pid, 3_000);
      info(this.context.stderr, `locked: the agent (pid ${pid}) wiped its key and stopped`);
      if (this.json) this.outJson({ locked: true, pid });
      return 0;
    } finally {
      conn.close();
    }
  }

  /** No agent was running: nothing to do, and `locked: false` says this command stopped none. */
  private alreadyLocked(): number {
    info(this.context.stderr, 'already locked: no agent is running');
    if (this.json) this.outJson({ locked: false });
    return 0;
  }
}

async function waitExit(pid: number, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
