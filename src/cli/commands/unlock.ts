import { Command, Option } from 'clipanion';
import { AgentConnection, connectAgent, proveAgent, stopAgentAt } from '../../agent/client.js';
import { renewMac } from '../../agent/proof.js';
import { spawnAgent, type HandKeyResult, type SpawnedAgent } from '../../agent/launch.js';
import { DEFAULT_MAX_TTL_MS, DEFAULT_TTL_MS, LIMIT_TTL_MS, errorFromBody, formatDuration, parseDuration } from '../../agent/protocol.js';
import { agentSocketPath, checkSocketDir, realVaultPath } from '../../agent/socket-path.js';
import { configPath, janeeHome } from '../../config/paths.js';
import { JaneeError, usageError } from '../../errors.js';
import { readVaultFile, unlockVaultFile, type UnlockedVault } from '../../vault/store.js';
import { JaneeCommand, jsonOption, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';
import { findIdentities, identityOption, wipeUnlocker } from '../identity.js';
import type { Unlocker } from '../../vault/format.js';

/**
 * A locked agent that another `janee unlock` has just started may be about to get
 * its key over that command's pipe: give it a few seconds before judging it, so two
 * unlocks at once do not stop each other's agent.
 */
async function settledState(conn: AgentConnection): Promise<'locked' | 'unlocked'> {
  for (let i = 0; i < 50; i++) {
    const st = await conn.request('status', {}, { timeoutMs: 5_000 });
    if (st.state === 'unlocked' || !/^waiting for the key/.test(st.lockedReason ?? '')) return st.state;
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'locked';
}

/**
 * How to start `janee agent`: this very CLI script (process.argv[1], absolute; the
 * bundled dist/cli/main.js or tsc's), so it works wherever the code is bundled.
 */
function agentEntry(): string[] {
  const script = process.argv[1];
  if (!script) throw new JaneeError('AGENT_START', 'cannot tell which janee script is running', 'run janee through its `janee` command');
  return [script, 'agent'];
}

function parseTtlFlag(raw: string, flag: string): number {
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
      Checks the passphrase, starts the agent in the background and hands it the key over a
      pipe it inherits (never over its socket), and returns when it is ready. Running it again
      resets the timers of an agent that proves it holds the key; a locked one is replaced.
      The agent wipes the key and exits after --ttl without a call, after --max-ttl in any
      case, and on \`janee lock\`.
    `,
    examples: [
      ['Unlock for the day', 'janee unlock'],
      ['Short-lived', 'janee unlock --ttl 15m --max-ttl 1h'],
      ['Team vault, with your age identity', 'janee unlock --identity ~/.config/janee/identity.txt'],
    ],
  });

  ttl = Option.String('--ttl', {
    description: `Idle timeout: lock after this long without a call (default ${formatDuration(DEFAULT_TTL_MS)})`,
  });
  maxTtl = Option.String('--max-ttl', {
    description: `Hard limit: lock this long after unlocking, used or not (default ${formatDuration(DEFAULT_MAX_TTL_MS)})`,
  });
  passphraseStdin = passphraseStdinOption();
  identity = identityOption();
  json = jsonOption();

  async run(): Promise<number> {
    const ttlMs = this.ttl === undefined ? DEFAULT_TTL_MS : parseTtlFlag(this.ttl, '--ttl');
    const maxTtlMs = this.maxTtl === undefined ? Math.max(DEFAULT_MAX_TTL_MS, ttlMs) : parseTtlFlag(this.maxTtl, '--max-ttl');
    if (ttlMs > maxTtlMs)
      throw usageError(`--ttl (${this.ttl}) is longer than --max-ttl (${this.maxTtl})`, 'the idle timeout cannot exceed the hard limit');
    const stderr = this.context.stderr;
    const vaultFile = realVaultPath(await this.vaultFile());
    await readVaultFile(vaultFile); // no vault, or a damaged one: fail before anything starts
    const socketPath = agentSocketPath(vaultFile);
    await checkSocketDir(socketPath, { create: true });

    // An agent already running for this vault is used only if it proves it holds the
    // key (after scrypt, below); otherwise it is stopped and replaced. The key goes
    // only to an agent this command starts, over the pipe it inherits.
    let conn = await connectAgent(socketPath, vaultFile);
    // An identity (--identity, or JANEE_IDENTITY_FILE for a vault with recipients), else the passphrase.
    const ids = await findIdentities(this.io, vaultFile, { flag: this.identity });
    const passphrase: Unlocker =
      ids ?? (await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' })).passphrase;
    const t0 = performance.now();
    // Start the agent while scrypt runs: its start-up hides behind the key derivation.
    let spawned: SpawnedAgent | undefined = conn ? undefined : this.spawn(vaultFile, socketPath);
    let vault: UnlockedVault;
    try {
      vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(vaultFile, passphrase));
    } catch (e) {
      // Wrong passphrase (or a damaged vault): leave nothing behind.
      conn?.close();
      if (spawned)
        await spawned.started.then(
          () => spawned?.stop(),
          () => spawned?.stop(),
        );
      throw e;
    } finally {
      wipeUnlocker(passphrase);
    }
    const scryptMs = performance.now() - t0;
    let handedOver = false;
    try {
      let r: HandKeyResult | undefined;
      for (let attempt = 0; r === undefined; attempt++) {
        if (attempt >= 3)
          throw new JaneeError(
            'AGENT_START',
            'could not start the agent: another one kept taking its place',
            'run `janee lock`, then `janee unlock` again',
          );
        if (!conn && spawned) {
          const report = await spawned.started;
          if ('error' in report) throw errorFromBody(report.error);
          if ('ready' in report) {
            r = await spawned.handKey(vault.fileKey, ttlMs, maxTtlMs);
            break;
          }
          // Another agent won the race for the socket: judge it like any running agent.
          spawned = undefined;
          conn = await connectAgent(socketPath, vaultFile);
        }
        if (conn) {
          r = await this.useRunning(conn, vault.fileKey, socketPath, ttlMs, maxTtlMs);
          conn = undefined;
          if (r) break;
        }
        spawned = this.spawn(vaultFile, socketPath);
      }
      handedOver = true;
      const ms = (x: number) => `${(x / 1000).toFixed(3)}s`;
      const timers = `idle timeout ${formatDuration(r.idleTtlMs)}, hard limit ${formatDuration(r.maxTtlMs)}`;
      if (r.already) info(stderr, `already unlocked (agent pid ${r.pid}); timers reset: ${timers}`);
      else
        info(
          stderr,
          `vault unlocked in the agent (pid ${r.pid}, ${timers}; ready ${ms(performance.now() - t0)} after the ${ids ? 'identity' : 'passphrase'}, ${ids ? 'unwrap' : 'scrypt'} ${ms(scryptMs)})`,
        );
      info(stderr, `MCP clients running \`janee serve\` use it now (socket ${socketPath}); \`janee lock\` wipes it`);
      if (this.json)
        this.outJson({
          pid: r.pid,
          socket: socketPath,
          vault: vaultFile,
          idleTtlMs: r.idleTtlMs,
          maxTtlMs: r.maxTtlMs,
          already: r.already === true,
        });
      return 0;
    } finally {
      vault.fileKey.fill(0);
      conn?.close();
      if (!handedOver && spawned) await spawned.stop();
    }
  }

  /**
   * A running agent: if it is unlocked and proves it holds this key, reset its
   * timers (nothing secret is sent). Otherwise (locked, or no proof) stop it and
   * return undefined so a new one is started; AGENT_WONT_STOP if it stays.
   */
  private async useRunning(
    conn: AgentConnection,
    fileKey: Uint8Array,
    socketPath: string,
    ttlMs: number,
    maxTtlMs: number,
  ): Promise<HandKeyResult | undefined> {
    const stderr = this.context.stderr;
    try {
      if (conn.hello.state !== 'unlocked') conn.hello = { ...conn.hello, state: await settledState(conn) };
      if (conn.hello.state === 'unlocked') {
        const challenge = await proveAgent(conn, fileKey, socketPath);
        if (challenge) {
          const mac = renewMac(fileKey, challenge, ttlMs, maxTtlMs).toString('base64');
          const r = await conn.request('unlock', { ttlMs, maxTtlMs, mac }, { timeoutMs: 15_000 });
          conn.close();
          return r;
        }
        warn(stderr, `the agent at ${socketPath} (pid ${conn.hello.pid}) did not prove it holds this vault's key: replacing it`);
      } else {
        info(stderr, `replacing the locked agent (pid ${conn.hello.pid})`);
      }
    } catch (e) {
      // Stopping (janee lock, timeout) or gone right now: replace it.
      const code = e instanceof JaneeError ? e.code : '';
      if (code !== 'AGENT_STOPPING' && code !== 'AGENT_GONE' && code !== 'AGENT_DISPLACED' && code !== 'GATE_LOCKED') throw e;
    }
    await stopAgentAt(conn, socketPath);
    return undefined;
  }

  private spawn(vaultFile: string, socketPath: string): SpawnedAgent {
    // The agent resolves config and home the way this command did, whatever its cwd.
    const env = {
      ...process.env,
      JANEE_HOME: janeeHome(),
      JANEE_CONFIG: configPath(),
      JANEE_VAULT: vaultFile,
      JANEE_AGENT_SOCK: socketPath,
    };
    return spawnAgent({ entry: agentEntry(), vaultFile, socketPath, env });
  }
}
