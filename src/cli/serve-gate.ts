/**
 * Which gate `janee serve` talks to, decided once per serve:
 * - an agent for this vault answers → the agent (serve never reads the vault);
 * - else a passphrase in the environment → in-process unlock (CI), kept for the session;
 * - else the agent gate anyway: calls say "vault <path> is locked" with the socket
 *   looked for (audited locally) until `janee unlock` starts an agent, which the
 *   next call then finds;
 * - no vault file at all: calls say there is none at that path and what to run,
 *   and nothing is created (no directory, no audit log) until one exists.
 * Loaded only after the MCP client has initialized (see src/mcp/server.ts).
 */
import { AgentGate } from '../agent/client.js';
import { agentSocketPath } from '../agent/socket-path.js';
import { auditDir, killswitchPath } from '../config/paths.js';
import { JaneeError } from '../errors.js';
import { LocalGate } from '../gate/gate.js';
import { VaultSecrets, type SecretSource } from '../gate/secrets.js';
import { type Caller, type ExecuteRequest, type ExecuteResult, type Gate, type ServiceInfo, type TokenAgent } from '../gate/types.js';
import { unlockVaultFile, vaultExists } from '../vault/store.js';
import type { CommandInfo, ExecRequest, ExecResult } from '../exec/request.js';
import { lockedError, lockedSource } from '../agent/locked.js';
import type { JaneeCommand } from './base.js';
import { info, printError, withProgress } from './io.js';
import { findPassphrase } from './passphrase.js';
import { findIdentities, wipeUnlocker } from './identity.js';
import { wipeInitialEnv } from '../util/environ.js';
import type { Unlocker } from '../vault/format.js';

export async function openServeGate(cmd: JaneeCommand): Promise<Gate> {
  const config = await cmd.config({ allowMissing: true });
  const vaultFile = await cmd.vaultFile(config);
  if (!(await vaultExists(vaultFile))) {
    const err = noVaultError(vaultFile);
    info(cmd.context.stderr, `${err.message}: tools will say so (${err.hint})`);
    return new MissingVaultGate(vaultFile, err, () => openGate(cmd, vaultFile));
  }
  return openGate(cmd, vaultFile);
}

function noVaultError(vaultFile: string): JaneeError {
  return new JaneeError(
    'VAULT_NOT_FOUND',
    `there is no vault at ${vaultFile}`,
    'check JANEE_HOME / JANEE_VAULT in the MCP client config, or create it with `janee init` and add secrets with `janee add`',
  );
}

/**
 * Serve with no vault file: every call fails saying so, and nothing is written
 * (a LocalGate would create the audit directory). Once the file exists, the
 * next call opens the real gate.
 */
class MissingVaultGate implements Gate {
  #real: Promise<Gate> | undefined;

  constructor(
    private readonly vaultFile: string,
    private readonly err: JaneeError,
    private readonly open: () => Promise<Gate>,
  ) {}

  async #gate(): Promise<Gate> {
    if (this.#real) return this.#real;
    if (!(await vaultExists(this.vaultFile))) throw this.err;
    // A failed open (a broken config.yaml beside the new vault) is not kept: the next call tries again.
    const opening = this.open();
    this.#real = opening;
    opening.catch(() => {
      if (this.#real === opening) this.#real = undefined;
    });
    return opening;
  }

  async listServices(caller?: Caller): Promise<ServiceInfo[]> {
    return (await this.#gate()).listServices(caller);
  }

  async authenticate(token: string | undefined, via: string): Promise<TokenAgent> {
    return (await this.#gate()).authenticate(token, via);
  }

  async execute(req: ExecuteRequest, caller: Caller, signal?: AbortSignal): Promise<ExecuteResult> {
    return (await this.#gate()).execute(req, caller, signal);
  }

  async listCommands(caller?: Caller): Promise<CommandInfo[]> {
    return (await this.#gate()).listCommands(caller);
  }

  async exec(req: ExecRequest, caller: Caller, signal?: AbortSignal): Promise<ExecResult> {
    return (await this.#gate()).exec(req, caller, signal);
  }

  async close(): Promise<void> {
    await this.#real?.then((g) => g.close()).catch(() => undefined);
  }
}

async function openGate(cmd: JaneeCommand, vaultFile: string): Promise<Gate> {
  const stderr = cmd.context.stderr;
  const common = { configFile: cmd.configFile, auditDir: auditDir(), killswitchFile: killswitchPath() };
  const socketPath = agentSocketPath(vaultFile);
  const agentGate = new AgentGate({
    socketPath,
    vaultFile,
    fallback: () => new LocalGate({ ...common, secrets: lockedSource(lockedError(vaultFile, socketPath)) }),
    log: (line) => info(stderr, line),
  });
  let agentProblem: JaneeError | undefined;
  const hello = await agentGate.probe().catch((e: unknown) => {
    agentProblem = e instanceof JaneeError ? e : undefined;
    return undefined;
  });
  if (agentProblem) info(stderr, `not using the agent: ${agentProblem.message}${agentProblem.hint ? ` (${agentProblem.hint})` : ''}`);
  if (hello) {
    forgetPassphraseEnv();
    if (hello.config !== cmd.configFile)
      info(stderr, `note: the agent uses ${hello.config}, this serve was started with ${cmd.configFile}`);
    return agentGate;
  }
  let found: { passphrase: Unlocker } | undefined;
  try {
    const ids = await findIdentities(cmd.io, vaultFile, { noPrompt: true });
    found = ids ? { passphrase: ids } : await findPassphrase(cmd.io, { noPrompt: true });
  } catch (e) {
    // An unreadable identity file: refused and audited per call, like a wrong passphrase.
    printError(stderr, e);
    if (!(e instanceof JaneeError)) throw e;
    return new LocalGate({ ...common, secrets: failedSecrets(e) });
  }
  forgetPassphraseEnv();
  if (!found) {
    info(
      stderr,
      `vault is locked: ${vaultFile} (no agent at ${socketPath}): tools will say so until you run \`janee unlock\` in a terminal (or set JANEE_PASSPHRASE_FILE)`,
    );
    return agentGate;
  }
  const unlocker = found.passphrase;
  await agentGate.close();
  try {
    const vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(vaultFile, unlocker));
    const n = Object.keys(vault.data.entries).length;
    info(stderr, `vault unlocked in-process (${n} secret${n === 1 ? '' : 's'})`);
    return new LocalGate({ ...common, secrets: new VaultSecrets(vaultFile, vault.fileKey, vault.data) });
  } catch (e) {
    // A wrong passphrase or a damaged vault: every call still goes through a gate,
    // so it is refused with this error *and audited*, like any other call.
    printError(stderr, e);
    if (!(e instanceof JaneeError)) throw e;
    return new LocalGate({ ...common, secrets: failedSecrets(e) });
  } finally {
    wipeUnlocker(unlocker);
  }
}

/**
 * Nothing janee spawns may inherit the passphrase, nor read it from serve's initial
 * environment (/proc/<serve>/environ: a program exec runs is serve's child, as the same
 * user). JANEE_PASSPHRASE_FILE stays: it names a file, and is read again later.
 */
function forgetPassphraseEnv(): void {
  delete process.env.JANEE_PASSPHRASE;
  wipeInitialEnv(['JANEE_PASSPHRASE']);
}

/** A vault that could not be opened stays locked: every use fails, saying why. */
function failedSecrets(why: JaneeError): SecretSource {
  // Audited as "locked" (no secret could be used), but the message says why, not "run janee unlock".
  return lockedSource(new JaneeError('GATE_LOCKED', `${why.message} (${why.code})`, why.hint));
}
