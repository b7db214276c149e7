import { Command, Option } from 'clipanion';
import { auditDir, killswitchPath } from '../../config/paths.js';
import { LocalGate } from '../../gate/gate.js';
import { VaultSecrets } from '../../gate/secrets.js';
import type { Gate } from '../../gate/types.js';
import { runStdioServer } from '../../mcp/server.js';
import { unlockVaultFile } from '../../vault/store.js';
import { JaneeCommand } from '../base.js';
import { info, printError, withProgress } from '../io.js';
import { findPassphrase } from '../passphrase.js';

export class ServeCommand extends JaneeCommand {
  static override paths = [['serve']];
  static override usage = Command.Usage({
    description: 'Run the MCP server on stdio (what MCP clients start)',
    details: `
      Uses the agent started by \`janee unlock\` when there is one; otherwise unlocks in-process
      from JANEE_PASSPHRASE_FILE or JANEE_PASSPHRASE. With neither it still starts, and every
      tool answers "vault is locked" with the fix. It never prompts. stdout carries JSON-RPC only.
    `,
    examples: [['In an MCP client config', 'janee serve --agent claude-desktop']],
  });

  agent = Option.String('--agent', { description: 'Name this client in the audit log (default: the MCP clientInfo name)' });

  async run(): Promise<number> {
    const stderr = this.context.stderr;
    const gate = this.openGate();
    gate.catch(() => undefined); // failures are reported per tool call
    const server = await runStdioServer({ agentName: this.agent, gate });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      server.server.onclose = stop;
      process.stdin.once('end', stop);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await gate.then((g) => g.close()).catch(() => undefined);
    await server.close().catch(() => undefined);
    stderr.write('');
    return 0;
  }

  /** The gate serve talks to: in-process unlock from the environment, or locked. */
  private async openGate(): Promise<Gate> {
    const stderr = this.context.stderr;
    const config = await this.config({ allowMissing: true });
    const vaultFile = await this.vaultFile(config);
    const common = { configFile: this.configFile, auditDir: auditDir(), killswitchFile: killswitchPath() };
    const found = await findPassphrase(this.io, { noPrompt: true });
    // Nothing janee spawns may inherit the passphrase.
    delete process.env.JANEE_PASSPHRASE;
    if (!found) {
      info(stderr, 'vault is locked: tools will say so until you run `janee unlock` in a terminal (or set JANEE_PASSPHRASE_FILE)');
      return new LocalGate({ ...common, secrets: undefined });
    }
    try {
      const vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(vaultFile, found.passphrase));
      info(stderr, `vault unlocked in-process (${Object.keys(vault.data.entries).length} secret${Object.keys(vault.data.entries).length === 1 ? "" : "s"})`);
      return new LocalGate({ ...common, secrets: new VaultSecrets(vaultFile, vault.fileKey, vault.data) });
    } catch (e) {
      printError(stderr, e);
      throw e;
    } finally {
      found.passphrase.fill(0);
    }
  }
}
