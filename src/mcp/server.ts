/**
 * `janee serve`: an MCP server offering list_services and execute, over stdio here
 * and over Streamable HTTP (one per session: src/http/). It talks only to a Gate
 * (in-process or the agent's), so it behaves the same either way. stdout carries
 * JSON-RPC only; diagnostics go to stderr.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type { ServerNotification, ServerRequest } from '@modelcontextprotocol/sdk/types.js';
import type { Caller, Gate } from '../gate/types.js';
import { VERSION } from '../version.js';
import { executeWithApproval } from './approval-wait.js';
import { LifecycleGuard } from './lifecycle.js';
import {
  EXEC_DESCRIPTION,
  EXECUTE_DESCRIPTION,
  errorResult,
  execInput,
  execOutput,
  LIST_COMMANDS_DESCRIPTION,
  listCommandsOutput,
  executeInput,
  executeOutput,
  fitExecResult,
  fitResult,
  LIST_DESCRIPTION,
  listServicesOutput,
  okResult,
} from './tools.js';

/** What a tool handler knows about the request (authInfo: set by the HTTP layer). */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

interface ServeOptions {
  /** `--agent NAME`, set by the human in the client config; wins over clientInfo. */
  agentName?: string | undefined;
  /**
   * The gate, opened on first use (memoised by the caller). serve answers
   * initialize before loading the gate, and starts opening it as soon as the
   * client has initialized, so scrypt or the agent handshake overlap the
   * client's own start-up instead of delaying it.
   */
  gate: () => Promise<Gate>;
  /**
   * Who is calling, asked for every tool call: an agent token's agent (HTTP, or
   * JANEE_AGENT_TOKEN), with its scope. A rejection (a token refused) becomes the
   * call's error result: nothing runs. Default: `--agent`, else clientInfo.
   */
  identify?: ((extra: ToolExtra) => Promise<Caller>) | undefined;
}

export function createServer(opts: ServeOptions): McpServer {
  const server = new McpServer({ name: 'janee', version: VERSION }, { capabilities: { tools: {} } });

  const selfAsserted = (): Caller => {
    if (opts.agentName) return { agent: opts.agentName, agentSource: 'flag' };
    const name = server.server.getClientVersion()?.name;
    return name ? { agent: name.slice(0, 100), agentSource: 'clientInfo' } : { agent: 'unknown', agentSource: 'unknown' };
  };
  const caller = (extra: ToolExtra): Promise<Caller> => (opts.identify ? opts.identify(extra) : Promise.resolve(selfAsserted()));

  server.registerTool(
    'list_services',
    { description: LIST_DESCRIPTION, outputSchema: listServicesOutput, annotations: { readOnlyHint: true } },
    async (extra) => {
      try {
        const who = await caller(extra);
        const gate = await opts.gate();
        return okResult({ services: await gate.listServices(who) });
      } catch (e) {
        return errorResult(e);
      }
    },
  );

  server.registerTool(
    'execute',
    { description: EXECUTE_DESCRIPTION, inputSchema: executeInput, outputSchema: executeOutput, annotations: { openWorldHint: true } },
    async (args, extra) => {
      try {
        const who = await caller(extra);
        const gate = await opts.gate();
        const result = fitResult(await executeWithApproval(gate, args, who, extra));
        return okResult({ ...result });
      } catch (e) {
        return errorResult(e);
      }
    },
  );
  server.registerTool(
    'list_commands',
    { description: LIST_COMMANDS_DESCRIPTION, outputSchema: listCommandsOutput, annotations: { readOnlyHint: true } },
    async (extra) => {
      try {
        const who = await caller(extra);
        const gate = await opts.gate();
        return okResult({ commands: await gate.listCommands(who) });
      } catch (e) {
        return errorResult(e);
      }
    },
  );

  server.registerTool(
    'exec',
    {
      description: EXEC_DESCRIPTION,
      inputSchema: execInput,
      outputSchema: execOutput,
      annotations: { openWorldHint: true, destructiveHint: true },
    },
    async (args, extra) => {
      try {
        const who = await caller(extra);
        const gate = await opts.gate();
        return okResult({ ...fitExecResult(await gate.exec(args, who, extra.signal)) });
      } catch (e) {
        return errorResult(e);
      }
    },
  );
  server.server.oninitialized = () => {
    opts.gate().catch(() => undefined); // a failure is reported by each tool call
  };
  return server;
}

export async function runStdioServer(opts: ServeOptions): Promise<McpServer> {
  const server = createServer(opts);
  // Nothing but initialize and ping is served before initialize is answered.
  await server.connect(new LifecycleGuard(new StdioServerTransport()));
  return server;
}
