import { Command, Option } from 'clipanion';
import { usageError } from '../../errors.js';
import type { Caller, Gate } from '../../gate/types.js';
import { runStdioServer } from '../../mcp/server.js';
import { JaneeCommand } from '../base.js';
import { capOldGenerationGrowth, capYoungGeneration } from '../heap.js';
import { info, printError, warn } from '../io.js';

export class ServeCommand extends JaneeCommand {
  static override paths = [['serve']];
  static override usage = Command.Usage({
    description: 'Run the MCP server on stdio (what MCP clients start), or on HTTP with --http',
    details: `
      Uses the agent started by \`janee unlock\` when there is one; otherwise unlocks in-process
      from JANEE_PASSPHRASE_FILE or JANEE_PASSPHRASE. With neither it still starts, and every
      tool answers "vault is locked" with the fix. It never prompts. stdout carries JSON-RPC only.
      Over stdio, JANEE_AGENT_TOKEN (from \`janee agents add\`) makes serve act as that agent, with its scope.
      With --http [HOST:]PORT it serves MCP Streamable HTTP at /mcp (host default 127.0.0.1) for
      many agents at once; every request needs \`Authorization: Bearer <agent token>\`. See docs/http.md.
    `,
    examples: [
      ['In an MCP client config', 'janee serve --agent claude-desktop'],
      ['HTTP on loopback', 'janee serve --http 8377'],
      ['HTTP for containers, with TLS', 'janee serve --http 172.17.0.1:8377 --tls-cert cert.pem --tls-key key.pem'],
      [
        'Reached as host.docker.internal',
        'janee serve --http 0.0.0.0:8377 --tls-cert cert.pem --tls-key key.pem --allow-host host.docker.internal',
      ],
    ],
  });

  agent = Option.String('--agent', { description: 'Name this client in the audit log (default: the MCP clientInfo name)' });
  http = Option.String('--http', { description: 'Serve MCP over HTTP on [HOST:]PORT (host default 127.0.0.1; port 0 picks one)' });
  allowOrigin = Option.Array('--allow-origin', { description: 'A browser Origin allowed to call (default: none)' });
  allowHost = Option.Array('--allow-host', {
    description: 'Another name clients reach this server by, accepted in the Host header (e.g. host.docker.internal)',
  });
  tlsCert = Option.String('--tls-cert', { description: 'HTTPS certificate (PEM); needed for a non-loopback address' });
  tlsKey = Option.String('--tls-key', { description: 'HTTPS private key (PEM)' });
  insecureBind = Option.Boolean('--insecure-bind', false, { description: 'Allow a non-loopback address without TLS (prints a warning)' });

  async run(): Promise<number> {
    capYoungGeneration();
    capOldGenerationGrowth();
    // Taken out of the environment at once: nothing serve starts may inherit it.
    const token = process.env.JANEE_AGENT_TOKEN;
    delete process.env.JANEE_AGENT_TOKEN;
    if (this.http === undefined) {
      for (const [flag, v] of [
        ['--allow-origin', this.allowOrigin],
        ['--allow-host', this.allowHost],
        ['--tls-cert', this.tlsCert],
        ['--tls-key', this.tlsKey],
      ] as const)
        if (v !== undefined) throw usageError(`${flag} needs --http`, 'e.g. janee serve --http 8377');
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
    const code = this.http !== undefined ? await this.serveHttp(this.http, gate) : await this.serveStdio(gate, token);
    // The client is gone or the drain is over: no program exec started may outlive serve
    // with its key (src/exec/run.ts). Their calls then audit the kill before the log closes.
    const { killRunning, whenNoneRunning } = await import('../../exec/run.js');
    if (killRunning() > 0) await whenNoneRunning(3_000);
    await opened?.then((g) => g.close()).catch(() => undefined);
    return code;
  }

  private async serveStdio(gate: () => Promise<Gate>, token: string | undefined): Promise<number> {
    if (this.io.stdin.isTTY === true) {
      info(
        this.context.stderr,
        'serve speaks MCP (JSON-RPC) on stdin/stdout: an MCP client starts it, see the client configs in README.md; Ctrl-C stops it',
      );
    }
    // With a token, every call is that agent's, checked now against the vault: a bad or
    // revoked token makes every call fail (never a silent fall back to the self-asserted name).
    const identify =
      token === undefined
        ? undefined
        : async (): Promise<Caller> => {
            const a = await (await gate()).authenticate(token, 'stdio');
            return { agent: a.name, agentSource: 'token', services: a.services, token };
          };
    const server = await runStdioServer({ agentName: this.agent, gate, identify });
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      server.server.onclose = stop;
      process.stdin.once('end', stop);
      process.stdout.on('error', stop); // EPIPE: the client stopped reading, as good as gone
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await server.close().catch(() => undefined);
    return 0;
  }

  private async serveHttp(listenAt: string, gate: () => Promise<Gate>): Promise<number> {
    const { parseListen } = await import('../../http/checks.js');
    const { checkBindOptions } = await import('../../http/listener.js');
    const where = parseListen(listenAt);
    if (!where) throw usageError('--http takes [HOST:]PORT', 'e.g. --http 8377, --http 127.0.0.1:8377, --http [::1]:8377');
    if (this.agent !== undefined)
      throw usageError('--agent is for stdio: over HTTP each agent is named by its token', 'create tokens with `janee agents add NAME`');
    const { canonicalOrigin, validHostName } = await import('../../http/checks.js');
    for (const o of this.allowOrigin ?? [])
      if (canonicalOrigin(o) !== o.replace(/\/$/, ''))
        throw usageError('--allow-origin takes an origin like https://app.example.com', 'scheme, host and port only');
    for (const h of this.allowHost ?? [])
      if (!validHostName(h))
        throw usageError('--allow-host takes a host name or IP address, like host.docker.internal', 'no port, no wildcard');
    const listenOpts = { ...where, tlsCert: this.tlsCert, tlsKey: this.tlsKey, insecureBind: this.insecureBind };
    const warning = checkBindOptions(listenOpts);
    if (warning) warn(this.context.stderr, warning);
    const { startHttpServer } = await import('../../http/server.js');
    const { LastUsed } = await import('../../util/last-used.js');
    await gate().catch(() => undefined); // open now: the first request should not wait for scrypt
    const server = await startHttpServer({
      ...listenOpts,
      allowOrigins: this.allowOrigin ?? [],
      allowHosts: this.allowHost,
      gate,
      lastUsed: new LastUsed(await this.vaultFile()),
    });
    // Handlers first: whoever reads the URL may signal at once.
    const stop = new Promise<void>((resolve) => {
      process.once('SIGTERM', resolve);
      process.once('SIGINT', resolve);
    });
    info(this.context.stderr, `serving MCP on ${server.url} (Authorization: Bearer <token from \`janee agents add\`>)`);
    await stop;
    info(this.context.stderr, 'stopping: finishing calls in flight');
    await server.drain();
    return 0;
  }
}
