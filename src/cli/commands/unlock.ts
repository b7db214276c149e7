import { Command, Option } from 'clipanion';
import { AgentConnection, connectAgent } from '../../agent/client.js';
import { spawnAgent, type SpawnedAgent } from '../../agent/launch.js';
import { DEFAULT_MAX_TTL_MS, DEFAULT_TTL_MS, LIMIT_TTL_MS, errorFromBody, formatDuration, parseDuration } from '../../agent/protocol.js';
import { agentSocketPath, checkSocketDir, realVaultPath } from '../../agent/socket-path.js';
import { configPath, janeeHome } from '../../config/paths.js';
import { JaneeError, usageError } from '../../errors.js';
import { readVaultFile, unlockVaultFile, type UnlockedVault } from '../../vault/store.js';
import { JaneeCommand, passphraseStdinOption } from '../base.js';
import { info, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';

/**
 * How to start `janee agent`: this very CLI script (process.argv[1], absolute; the
 * bundled dist/cli/main.js or tsc's), so it works wherever the code is bundled.
 */
function agentEntry(): string[] {
  const script = process.argv[1];
  if (!script) throw new JaneeError('AGENT_START', 'cannot tell which janee script is running', 'run janee through its `janee` command');
  return [script, 'agent'];
}

export function parseTtlFlag(raw: string, flag: string): number {
  const ms = parseDuration(raw);
  if (ms === undefined) throw usageError(`${flag} must be a duration like 30s, 15m, 8h or 1d, got "${raw}"`);
  if (ms < 1000 || ms > LIMIT_TTL_MS) throw usageError(`${flag} must be from 1s to ${formatDuration(LIMIT_TTL_MS)}, got "${raw}"`);
  return ms;
}

export class UnlockCommand extends JaneeCommand {
  static override paths = [['unlock']];
  static override usage = Command.Usage({
    description: 'Unlock the vault into the agent, so every `janee serve` can use it without a passphrase',
    details: `
      Checks the passphrase, starts the agent in the background (or hands the key to the one
      already running) and returns when it is ready. Running it again resets the timers.
      The agent wipes the key and exits after --ttl without a call, after --max-ttl in any
      case, and on \`janee lock\`.
    `,
    examples: [
      ['Unlock for the day', 'janee unlock'],
      ['Short-lived', 'janee unlock --ttl 15m --max-ttl 1h'],
    ],
  });

  ttl = Option.String('--ttl', { description: `Idle timeout: lock after this long without a call (default ${formatDuration(DEFAULT_TTL_MS)})` });
  maxTtl = Option.String('--max-ttl', { description: `Hard limit: lock this long after unlocking, used or not (default ${formatDuration(DEFAULT_MAX_TTL_MS)})` });
  passphraseStdin = passphraseStdinOption();

  async run(): Promise<number> {
    const ttlMs = this.ttl === undefined ? DEFAULT_TTL_MS : parseTtlFlag(this.ttl, '--ttl');
    const maxTtlMs = this.maxTtl === undefined ? Math.max(DEFAULT_MAX_TTL_MS, ttlMs) : parseTtlFlag(this.maxTtl, '--max-ttl');
    if (ttlMs > maxTtlMs) throw usageError(`--ttl (${this.ttl}) is longer than --max-ttl (${this.maxTtl})`, 'the idle timeout cannot exceed the hard limit');
    const stderr = this.context.stderr;
    const vaultFile = realVaultPath(await this.vaultFile());
    await readVaultFile(vaultFile); // no vault, or a damaged one: fail before anything starts
    const socketPath = agentSocketPath(vaultFile);
    await checkSocketDir(socketPath, { create: true });

    let conn = await connectAgent(socketPath, vaultFile);
    const { passphrase } = await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' });
    const t0 = performance.now();
    // Start the agent while scrypt runs: its start-up hides behind the key derivation.
    let spawned: SpawnedAgent | undefined = conn ? undefined : this.spawn(vaultFile, socketPath);
    let vault: UnlockedVault;
    try {
      vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(vaultFile, passphrase));
    } catch (e) {
      // Wrong passphrase (or a damaged vault): leave nothing behind.
      conn?.close();
      if (spawned) await spawned.started.then(() => spawned?.stop(), () => spawned?.stop());
      throw e;
    } finally {
      passphrase.fill(0);
    }
    const scryptMs = performance.now() - t0;
    let handedOver = false;
    try {
      const b64 = Buffer.from(vault.fileKey).toString('base64');
      let r: { already: boolean; pid: number; idleTtlMs: number; maxTtlMs: number };
      for (let attempt = 0; ; attempt++) {
        try {
          if (!conn) {
            const found = await this.connectSpawned(spawned ?? this.spawn(vaultFile, socketPath), vaultFile, socketPath);
            conn = found.conn;
            spawned = found.spawned;
          }
          r = await conn.request<typeof r>('unlock', { key: b64, ttlMs, maxTtlMs }, { timeoutMs: 15_000 });
          break;
        } catch (e) {
          // The agent we found was stopping (janee lock, timeout) right then: start a new one.
          const code = e instanceof JaneeError ? e.code : '';
          if (attempt >= 2 || (code !== 'AGENT_STOPPING' && code !== 'AGENT_GONE')) throw e;
          conn?.close();
          conn = undefined;
          spawned = undefined;
          await new Promise((res) => setTimeout(res, 50));
        }
      }
      handedOver = true;
      const ms = (x: number) => `${(x / 1000).toFixed(3)}s`;
      const timers = `idle timeout ${formatDuration(r.idleTtlMs)}, hard limit ${formatDuration(r.maxTtlMs)}`;
      if (r.already) info(stderr, `already unlocked (agent pid ${r.pid}); timers reset: ${timers}`);
      else info(stderr, `vault unlocked in the agent (pid ${r.pid}, ${timers}; ready ${ms(performance.now() - t0)} after the passphrase, scrypt ${ms(scryptMs)})`);
      info(stderr, 'MCP clients running `janee serve` use it now; `janee lock` wipes it');
      return 0;
    } finally {
      vault.fileKey.fill(0);
      conn?.close();
      if (!handedOver && spawned) await spawned.stop();
    }
  }

  private spawn(vaultFile: string, socketPath: string): SpawnedAgent {
    // The agent resolves config and home the way this command did, whatever its cwd.
    const env = { ...process.env, JANEE_HOME: janeeHome(), JANEE_CONFIG: configPath(), JANEE_VAULT: vaultFile, JANEE_AGENT_SOCK: socketPath };
    return spawnAgent({ entry: agentEntry(), vaultFile, socketPath, env });
  }

  /** Waits for the agent we started (or the one that beat it to the socket) and connects. */
  private async connectSpawned(first: SpawnedAgent, vaultFile: string, socketPath: string): Promise<{ conn: AgentConnection; spawned: SpawnedAgent | undefined }> {
    let spawned = first;
    for (let attempt = 0; attempt < 3; attempt++) {
      const report = await spawned.started;
      if ('error' in report) throw errorFromBody(report.error);
      const conn = await connectAgent(socketPath, vaultFile);
      if (conn) return { conn, spawned: 'ready' in report ? spawned : undefined };
      // The agent that won the race stopped just now: start again.
      spawned = this.spawn(vaultFile, socketPath);
    }
    throw new JaneeError('AGENT_START', 'could not reach the agent after starting it', 'run `janee unlock` again; see the agent log next to its socket');
  }
}
