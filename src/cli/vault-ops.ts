/**
 * Vault access for commands. One interface, VaultAccess, whichever holds the
 * vault: an agent unlocked for it (no passphrase needed; AgentVault), else the
 * file itself (get the passphrase, run scrypt showing progress, then every change
 * is a read-modify-write under the lock; FileVault). openVaultAccess chooses, so
 * add, remove, list and set do not branch on where the vault is.
 */
import { connectAgent, proveAgent, type AgentConnection } from '../agent/client.js';
import { checkAgentPeer } from '../agent/peer.js';
import type { AgentInfo, EntryInfo } from '../agent/protocol.js';
import { agentInfos, deleteAgent, putAgent } from '../vault/agents.js';
import { agentSocketPath } from '../agent/socket-path.js';
import { JaneeError } from '../errors.js';
import { secret, type SecretBytes } from '../util/secret.js';
import { openWithKey, unlockVaultFile, updateVault, type UnlockedVault } from '../vault/store.js';
import type { AgentRecord, VaultData, VaultEntry } from '../vault/types.js';
import { warn, withProgress, type Streams } from './io.js';
import { findPassphrase, getPassphrase } from './passphrase.js';
import { findIdentities, wipeUnlocker } from './identity.js';
import type { Unlocker } from '../vault/format.js';

interface UnlockOptions {
  passphraseStdin?: boolean;
  prompt?: string;
  /** Where JANEE_PASSPHRASE(_FILE) are looked up (default process.env; `{}`: the terminal only). */
  env?: NodeJS.ProcessEnv;
  /** --identity FILE (else JANEE_IDENTITY_FILE, for a vault with recipients). */
  identity?: string | undefined;
}

/** Wrong passphrases typed at the terminal before giving up. */
const PASSPHRASE_TRIES = 3;

/**
 * Ask for the passphrase and unlock. A wrong one typed at the terminal is asked
 * again (at most PASSPHRASE_TRIES in all); from a file, the environment or stdin
 * it fails at once, as asking again would get the same answer.
 */
export async function unlockWithPassphrase(io: Streams, file: string, opts: UnlockOptions = {}): Promise<UnlockedVault> {
  // `env: {}` (approvals) keeps JANEE_IDENTITY_FILE out as it keeps JANEE_PASSPHRASE(_FILE) out.
  const ids = await findIdentities(io, file, { flag: opts.identity, ...(opts.env ? { env: opts.env } : {}) });
  if (ids) return unlockWithIdentities(io, file, ids);
  for (let attempt = 1; ; attempt++) {
    const { passphrase, source } = await getPassphrase(io, {
      fromStdin: opts.passphraseStdin ?? false,
      prompt: opts.prompt ?? 'vault passphrase: ',
      ...(opts.env ? { env: opts.env } : {}),
    });
    using _p = secret(passphrase);
    try {
      return await withProgress(io.stderr, 'unlocking vault', unlockVaultFile(file, passphrase));
    } catch (e) {
      if (!(source === 'prompt' && attempt < PASSPHRASE_TRIES && e instanceof JaneeError && e.code === 'VAULT_BAD_PASSPHRASE')) throw e;
      warn(io.stderr, 'wrong passphrase; try again');
    }
  }
}

/** Unlock with identities (no scrypt: quick); they are wiped here. */
async function unlockWithIdentities(io: Streams, file: string, ids: Unlocker): Promise<UnlockedVault> {
  try {
    return await withProgress(io.stderr, 'unlocking vault', unlockVaultFile(file, ids));
  } finally {
    wipeUnlocker(ids);
  }
}

function requireEntryAbsent(data: VaultData, name: string): void {
  if (Object.hasOwn(data.entries, name)) {
    throw new JaneeError(
      'VAULT_DUPLICATE',
      `the vault already holds a secret named "${name}"`,
      `run \`janee remove ${name}\` first, or pick another name`,
    );
  }
}

// ---------------------------------------------------------------------------
// VaultAccess

/** The vault as a command sees it, wherever it is held. No method returns a secret value. */
interface VaultAccess {
  readonly where: 'agent' | 'file';
  /** Appended to what a command reports: " through the agent (pid N)", or "". */
  readonly via: string;
  /** Names, origins, field names and times. */
  entries(): Promise<EntryInfo[]>;
  /**
   * Store `entry` under `name`. Without `replace` an existing name is refused
   * (VAULT_DUPLICATE); with it, the old entry's `created` is kept and its origins
   * may only be kept or narrowed (replacing never widens where a secret may go).
   */
  put(name: string, entry: VaultEntry, opts?: { replace?: boolean }): Promise<{ generation: number; replaced: boolean }>;
  delete(name: string): Promise<{ existed: boolean; generation: number }>;
  /** Agent tokens, without their hashes. */
  agents(): Promise<AgentInfo[]>;
  /** A new agent token record; an existing name is refused (VAULT_DUPLICATE). */
  putAgent(name: string, record: AgentRecord): Promise<{ generation: number }>;
  deleteAgent(name: string): Promise<{ existed: boolean; generation: number }>;
  close(): void;
}

interface AccessOptions extends UnlockOptions {
  /** A secret value will be sent: the agent must pass the peer check first (agent/peer.ts). */
  sendsSecret?: boolean;
}

/** The unlocked agent for this vault if there is one, else the file with the passphrase. */
export async function openVaultAccess(io: Streams, file: string, opts: AccessOptions = {}): Promise<VaultAccess> {
  const agent = await unlockedAgent(io, file, { sendsSecret: opts.sendsSecret ?? false });
  return agent ? new AgentVault(agent) : openFileVault(io, file, opts);
}

/** The file, unlocked with the passphrase (asked for now), whether or not an agent runs. */
export async function openFileVault(io: Streams, file: string, opts: UnlockOptions = {}): Promise<VaultAccess> {
  const vault = await unlockWithPassphrase(io, file, opts);
  return new FileVault(file, secret(vault.fileKey));
}

/**
 * Like openVaultAccess, but never prompts (list): the agent, an identity
 * (JANEE_IDENTITY_FILE), or a passphrase from the environment, a file or, when asked
 * for, stdin; undefined when none is there.
 */
export async function openVaultQuietly(io: Streams, file: string, opts: { fromStdin?: boolean } = {}): Promise<VaultAccess | undefined> {
  const agent = await unlockedAgent(io, file);
  if (agent) return new AgentVault(agent);
  const ids = await findIdentities(io, file, { noPrompt: true });
  if (ids) return new FileVault(file, secret((await unlockWithIdentities(io, file, ids)).fileKey));
  const found = await findPassphrase(io, { noPrompt: true, fromStdin: opts.fromStdin ?? false });
  if (!found) return undefined;
  using _p = secret(found.passphrase);
  const vault = await withProgress(io.stderr, 'unlocking vault', unlockVaultFile(file, found.passphrase));
  return new FileVault(file, secret(vault.fileKey));
}

/** What replacing `old` with `entry` stores: `created` kept; refused if `entry` would add an origin. */
function replacementEntry(name: string, old: VaultEntry, entry: VaultEntry): VaultEntry {
  const wider = entry.origins.filter((o) => !old.origins.includes(o));
  if (wider.length > 0) {
    // Only in a race (set found no entry, then one appeared, bound elsewhere): the agent refuses the same (server.ts).
    throw new JaneeError(
      'BIND_NEEDS_PASSPHRASE',
      `replacing the secret "${name}" would bind it to ${wider.join(', ')}, where it is not bound now`,
      `binding a secret to another origin needs the passphrase: \`janee bind ${name} URL\``,
    );
  }
  return { ...entry, created: old.created };
}

function entryInfo(name: string, e: VaultEntry): EntryInfo {
  return { name, origins: [...e.origins], fieldNames: Object.keys(e.fields), created: e.created, updated: e.updated };
}

class AgentVault implements VaultAccess {
  readonly where = 'agent';
  readonly via: string;

  constructor(private readonly conn: AgentConnection) {
    this.via = ` through the agent (pid ${conn.hello.pid})`;
  }

  entries(): Promise<EntryInfo[]> {
    // Names and origins only: the agent never returns secret values.
    return this.conn.request('vault_entries', {}, { timeoutMs: 10_000 });
  }

  async put(name: string, entry: VaultEntry, opts: { replace?: boolean } = {}): Promise<{ generation: number; replaced: boolean }> {
    const r = await this.conn.request('vault_put', { name, entry, ...(opts.replace ? { replace: true } : {}) }, { timeoutMs: 30_000 });
    return { generation: r.generation, replaced: r.replaced === true };
  }

  delete(name: string): Promise<{ existed: boolean; generation: number }> {
    return this.conn.request('vault_delete', { name }, { timeoutMs: 30_000 });
  }

  agents(): Promise<AgentInfo[]> {
    return this.conn.request('agents_list', {}, { timeoutMs: 10_000 });
  }

  putAgent(name: string, record: AgentRecord): Promise<{ generation: number }> {
    return this.conn.request('agent_put', { name, record }, { timeoutMs: 30_000 });
  }

  deleteAgent(name: string): Promise<{ existed: boolean; generation: number }> {
    return this.conn.request('agent_delete', { name }, { timeoutMs: 30_000 });
  }

  close(): void {
    this.conn.close();
  }
}

class FileVault implements VaultAccess {
  readonly where = 'file';
  readonly via = '';

  constructor(
    private readonly file: string,
    /** Wiped by close(). */
    private readonly key: SecretBytes,
  ) {}

  async entries(): Promise<EntryInfo[]> {
    // Re-read with the key (no scrypt): another writer may have changed the file since the unlock.
    const { data } = await openWithKey(this.file, this.key.bytes);
    return Object.entries(data.entries).map(([name, e]) => entryInfo(name, e));
  }

  async put(name: string, entry: VaultEntry, opts: { replace?: boolean } = {}): Promise<{ generation: number; replaced: boolean }> {
    const { result, vault } = await updateVault(this.file, this.key.bytes, (data) => {
      const old = Object.hasOwn(data.entries, name) ? data.entries[name] : undefined;
      if (!old) {
        data.entries[name] = entry;
        return false;
      }
      if (!opts.replace) requireEntryAbsent(data, name);
      data.entries[name] = replacementEntry(name, old, entry);
      return true;
    });
    return { generation: vault.data.generation, replaced: result };
  }

  async delete(name: string): Promise<{ existed: boolean; generation: number }> {
    const { result, vault } = await updateVault(this.file, this.key.bytes, (data) => {
      const had = Object.hasOwn(data.entries, name);
      delete data.entries[name];
      return had;
    });
    return { existed: result, generation: vault.data.generation };
  }

  async agents(): Promise<AgentInfo[]> {
    return agentInfos((await openWithKey(this.file, this.key.bytes)).data);
  }

  async putAgent(name: string, record: AgentRecord): Promise<{ generation: number }> {
    const { vault } = await updateVault(this.file, this.key.bytes, (data) => putAgent(data, name, record));
    return { generation: vault.data.generation };
  }

  async deleteAgent(name: string): Promise<{ existed: boolean; generation: number }> {
    const { result, vault } = await updateVault(this.file, this.key.bytes, (data) => deleteAgent(data, name));
    return { existed: result, generation: vault.data.generation };
  }

  close(): void {
    this.key[Symbol.dispose]();
  }
}

/**
 * A connection to the agent when one is running *and unlocked* for this vault;
 * undefined otherwise. A socket that cannot be trusted (wrong permissions or
 * owner) is never used: the command warns and goes on without the agent.
 * The caller closes the connection.
 */
async function unlockedAgent(io: Streams, file: string, opts: { sendsSecret?: boolean } = {}): Promise<AgentConnection | undefined> {
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
    throw new JaneeError(
      'AGENT_NOT_VERIFIED',
      `not sending anything secret to the agent at ${socketPath}: it did not prove it holds this vault's key`,
      'run `janee lock`, check the processes of your user, then `janee unlock`',
    );
  }
  await checkAgentPeer(socketPath, conn.hello.pid);
}
