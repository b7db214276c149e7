import { Command, Option } from 'clipanion';
import type { Gate } from '../../gate/types.js';
import { runStdioServer } from '../../mcp/server.js';
import { JaneeCommand } from '../base.js';
import { capYoungGeneration } from '../heap.js';
import { info, printError } from '../io.js';

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
    capYoungGeneration();
    if (this.io.stdin.isTTY === true) {
      info(
        this.context.stderr,
        'serve speaks MCP (JSON-RPC) on stdin/stdout: an MCP client starts it, see the client configs in README.md; Ctrl-C stops it',
      );
    }
    let opened: Promise<Gate> | undefined;
    // Opened once the client has initialized. A failure (a broken config.yaml) reaches
    // every tool result, and once, right away, the stderr the client logs.
    const gate = () =>
      (opened ??= import('../serve-gate.js')
        .then((m) => m.openServeGate(this))
        .catch((e: unknown) => {
          printError(this.context.stderr, e);
          throw e;
        }));
    const server = await runStdioServer({ agentName: this.agent, gate });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      server.server.onclose = stop;
      process.stdin.once('end', stop);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await opened?.then((g) => g.close()).catch(() => undefined);
    await server.close().catch(() => undefined);
    return 0;
  }
}
