import { Command } from 'clipanion';
import { connectAgent } from '../../agent/client.js';
import { formatDuration, type StatusResult } from '../../agent/protocol.js';
import { agentSocketPath, legacySocketPaths } from '../../agent/socket-path.js';
import { JaneeError } from '../../errors.js';
import { vaultExists } from '../../vault/store.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { clean, warn } from '../io.js';

export class StatusCommand extends JaneeCommand {
  static override paths = [['status']];
  static override usage = Command.Usage({ description: 'Show paths, services and whether the vault is unlocked (agent pid, time left)' });

  json = jsonOption();

  async run(): Promise<number> {
    const config = await this.config({ allowMissing: true });
    const vault = await this.vaultFile(config);
    const socket = agentSocketPath(vault);
    let agent: StatusResult | undefined;
    let problem: { code: string; message: string; hint?: string } | null = null;
    try {
      const conn = await connectAgent(socket, vault);
      if (conn) {
        try {
          agent = await conn.request('status', {}, { timeoutMs: 10_000 });
        } finally {
          conn.close();
        }
      }
    } catch (e) {
      problem = e instanceof JaneeError ? e.toJSON() : { code: 'INTERNAL', message: 'internal error while asking the agent' };
    }
    const unlocked = agent?.state === 'unlocked';
    const secs = (ms: number | null | undefined) => (ms === null || ms === undefined ? null : Math.floor(ms / 1000));
    const left = unlocked ? Math.min(agent?.idleLeftMs ?? Infinity, agent?.hardLeftMs ?? Infinity) : null;
    const status = {
      home: this.home,
      config: this.configFile,
      vault,
      vaultExists: await vaultExists(vault),
      services: [...config.services.keys()],
      state: unlocked ? 'unlocked' : 'locked',
      pid: agent?.pid ?? null,
      timeLeftSeconds: left === null || left === Infinity ? null : secs(left),
      idleSecondsLeft: secs(agent?.idleLeftMs),
      hardSecondsLeft: secs(agent?.hardLeftMs),
      socket,
      rollback: agent?.rollback ?? null,
      agent: agent
        ? {
            pid: agent.pid,
            version: agent.version,
            protocol: agent.protocol,
            state: agent.state,
            lockedReason: agent.lockedReason,
            unlockedAt: agent.unlockedAt,
            idleTtlSeconds: secs(agent.idleTtlMs),
            maxTtlSeconds: secs(agent.maxTtlMs),
            secrets: agent.secrets,
            generation: agent.generation,
            connections: agent.connections,
          }
        : null,
      problem,
    };
    if (status.rollback) {
      warn(
        this.context.stderr,
        `the vault file on disk (generation ${status.rollback.onDisk}) is older than the agent's copy (generation ${status.rollback.inMemory}): it was replaced by an older copy. The agent keeps serving its newer copy and refuses changes; restore the newer file (e.g. ${vault}.bak), or accept the older one with \`janee vault accept-older\` then \`janee lock && janee unlock\``,
      );
    }
    if (problem) warn(this.context.stderr, clean(`${problem.message}${problem.hint ? ` (${problem.hint})` : ''}`));
    if (!agent) {
      for (const old of legacySocketPaths(vault)) {
        warn(
          this.context.stderr,
          clean(
            `a socket from an older janee is at ${old}; this janee looks for the agent at ${socket}. Stop the old agent with \`JANEE_AGENT_SOCK=${old} janee lock\`, then run \`janee unlock\``,
          ),
        );
      }
    }
    if (this.json) {
      this.out(JSON.stringify(status, null, 2));
      return 0;
    }
    this.out(`vault:    ${vault}${status.vaultExists ? '' : ' (missing: run `janee init`)'}`);
    this.out(`config:   ${status.config}`);
    this.out(`services: ${status.services.length ? status.services.join(', ') : '(none)'}`);
    if (agent && unlocked) {
      this.out(
        `state:    unlocked (agent pid ${agent.pid}; locks in ${formatDuration(left ?? 0)}: idle timeout in ${formatDuration(agent.idleLeftMs ?? 0)}, hard limit in ${formatDuration(agent.hardLeftMs ?? 0)})`,
      );
    } else if (agent) {
      this.out(clean(`state:    locked (agent pid ${agent.pid} is running locked: ${agent.lockedReason ?? 'no key'})`));
    } else {
      this.out('state:    locked (no agent: run `janee unlock`)');
    }
    this.out(`socket:   ${socket}`);
    return 0;
  }
}
