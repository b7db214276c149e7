import { Command, Option } from 'clipanion';
import { AgentGate } from '../../agent/client.js';
import { agentSocketPath } from '../../agent/socket-path.js';
import { JaneeError } from '../../errors.js';
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

  /**
   * The gate serve talks to:
   * - an agent for this vault answers → the agent (serve never reads the vault);
   * - else a passphrase in the environment → in-process unlock (CI), kept for the session;
   * - else the agent gate anyway: calls say "vault is locked" (audited locally) until
   *   `janee unlock` starts an agent, which the next call then finds.
   */
  private async openGate(): Promise<Gate> {
    const stderr = this.context.stderr;
    const config = await this.config({ allowMissing: true });
    const vaultFile = await this.vaultFile(config);
    const common = { configFile: this.configFile, auditDir: auditDir(), killswitchFile: killswitchPath() };
    const agentGate = new AgentGate({
      socketPath: agentSocketPath(vaultFile),
      vaultFile,
      fallback: () => new LocalGate({ ...common, secrets: undefined }),
      log: (line) => info(stderr, line),
    });
    let agentProblem: JaneeError | undefined;
    const hello = await agentGate.probe().catch((e: unknown) => {
      agentProblem = e instanceof JaneeError ? e : undefined;
      return undefined;
    });
    if (agentProblem) info(stderr, `not using the agent: ${agentProblem.message}${agentProblem.hint ? ` (${agentProblem.hint})` : ''}`);
    if (hello) {
      delete process.env.JANEE_PASSPHRASE;
      if (hello.config !== this.configFile) info(stderr, `note: the agent uses ${hello.config}, this serve was started with ${this.configFile}`);
      return agentGate;
    }
    const found = await findPassphrase(this.io, { noPrompt: true });
    // Nothing janee spawns may inherit the passphrase.
    delete process.env.JANEE_PASSPHRASE;
    if (!found) {
      info(stderr, 'vault is locked: tools will say so until you run `janee unlock` in a terminal (or set JANEE_PASSPHRASE_FILE)');
      return agentGate;
    }
    await agentGate.close();
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
