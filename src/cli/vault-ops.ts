/**
 * Vault access for commands: through the agent when one is unlocked for this
 * vault (no passphrase needed), else get the passphrase, run scrypt (showing
 * progress), then read-modify-write under the lock.
 */
import { connectAgent, proveAgent, type AgentConnection } from '../agent/client.js';
import { checkAgentPeer } from '../agent/peer.js';
import { agentSocketPath } from '../agent/socket-path.js';
import { JaneeError } from '../errors.js';
import { unlockVaultFile, updateVault, type UnlockedVault } from '../vault/store.js';
import type { VaultData } from '../vault/types.js';
import { warn, withProgress, type Streams } from './io.js';
import { getPassphrase } from './passphrase.js';

export interface UnlockOptions {
  passphraseStdin?: boolean;
  prompt?: string;
}

export async function unlockWithPassphrase(io: Streams, file: string, opts: UnlockOptions = {}): Promise<UnlockedVault> {
  const { passphrase } = await getPassphrase(io, { fromStdin: opts.passphraseStdin ?? false, prompt: opts.prompt ?? 'vault passphrase: ' });
  try {
    return await withProgress(io.stderr, 'unlocking vault', unlockVaultFile(file, passphrase));
  } finally {
    passphrase.fill(0);
  }
}

/** Unlock, change, save; the file key is wiped afterwards. */
export async function changeVault<T>(io: Streams, file: string, opts: UnlockOptions, fn: (data: VaultData) => T | Promise<T>): Promise<T> {
  const vault = await unlockWithPassphrase(io, file, opts);
  try {
    return (await updateVault(file, vault.fileKey, fn)).result;
  } finally {
    vault.fileKey.fill(0);
  }
}

export function requireEntryAbsent(data: VaultData, name: string): void {
  if (Object.hasOwn(data.entries, name)) {
    throw new JaneeError('VAULT_DUPLICATE', `the vault already holds a secret named "${name}"`, `run \`janee remove ${name}\` first, or pick another name`);
  }
}

/**
 * A connection to the agent when one is running *and unlocked* for this vault;
 * undefined otherwise. A socket that cannot be trusted (wrong permissions or
 * owner) is never used: the command warns and goes on without the agent.
 * The caller closes the connection.
 */
export async function unlockedAgent(io: Streams, file: string, opts: { sendsSecret?: boolean } = {}): Promise<AgentConnection | undefined> {
  const socketPath = agentSocketPath(file);
  let conn: AgentConnection | undefined;
  try {
    conn = await connectAgent(socketPath, file);
  } catch (e) {
    if (e instanceof JaneeError) warn(io.stderr, `not using the agent: ${e.message}${e.hint ? ` (${e.hint})` : ''}`);
    return undefined;
  }
  if (conn && conn.hello.state !== 'unlocked') {
    conn.close();
    return undefined;
  }
  if (conn && opts.sendsSecret) {
    try {
      await checkBeforeSecret(conn, socketPath);
    } catch (e) {
      conn.close();
      throw e;
    }
  }
  return conn;
}

/**
 * Before secret material goes to an unlocked agent over its socket: on Linux, the
 * process listening at the socket must be the janee agent it claims to be
 * (agent/peer.ts); with `fileKey`, it must also prove it holds that key
 * (agent/proof.ts). Throws, and nothing is sent, when either fails.
 */
export async function checkBeforeSecret(conn: AgentConnection, socketPath: string, fileKey?: Uint8Array): Promise<void> {
  if (fileKey && !(await proveAgent(conn, fileKey, socketPath))) {
    throw new JaneeError('AGENT_NOT_VERIFIED', `not sending anything secret to the agent at ${socketPath}: it did not prove it holds this vault's key`, 'run `janee lock`, check the processes of your user, then `janee unlock`');
  }
  await checkAgentPeer(socketPath, conn.hello.pid);
}
