/**
 * Which gate `janee serve` talks to, decided once per serve:
 * - an agent for this vault answers → the agent (serve never reads the vault);
 * - else a passphrase in the environment → in-process unlock (CI), kept for the session;
 * - else the agent gate anyway: calls say "vault is locked" (audited locally) until
 *   `janee unlock` starts an agent, which the next call then finds.
 * Loaded only after the MCP client has initialized (see src/mcp/server.ts).
 */
import { AgentGate } from '../agent/client.js';
import { agentSocketPath } from '../agent/socket-path.js';
import { auditDir, killswitchPath } from '../config/paths.js';
import { JaneeError } from '../errors.js';
import { LocalGate } from '../gate/gate.js';
import { VaultSecrets, type SecretSource } from '../gate/secrets.js';
import { GateCodes, type Gate } from '../gate/types.js';
import { unlockVaultFile } from '../vault/store.js';
import type { JaneeCommand } from './base.js';
import { info, printError, withProgress } from './io.js';
import { findPassphrase } from './passphrase.js';

export async function openServeGate(cmd: JaneeCommand): Promise<Gate> {
  const stderr = cmd.context.stderr;
  const config = await cmd.config({ allowMissing: true });
  const vaultFile = await cmd.vaultFile(config);
  const common = { configFile: cmd.configFile, auditDir: auditDir(), killswitchFile: killswitchPath() };
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
    if (hello.config !== cmd.configFile) info(stderr, `note: the agent uses ${hello.config}, this serve was started with ${cmd.configFile}`);
    return agentGate;
  }
  const found = await findPassphrase(cmd.io, { noPrompt: true });
  // Nothing janee spawns may inherit the passphrase.
  delete process.env.JANEE_PASSPHRASE;
  if (!found) {
    info(stderr, 'vault is locked: tools will say so until you run `janee unlock` in a terminal (or set JANEE_PASSPHRASE_FILE)');
    return agentGate;
  }
  await agentGate.close();
  try {
    const vault = await withProgress(stderr, 'unlocking vault', unlockVaultFile(vaultFile, found.passphrase));
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
    found.passphrase.fill(0);
  }
}

/** A vault that could not be opened stays locked: every use fails, saying why. */
function failedSecrets(why: JaneeError): SecretSource {
  // Audited as "locked" (no secret could be used), but the message says why, not "run janee unlock".
  const err = new JaneeError(GateCodes.LOCKED, `${why.message} (${why.code})`, why.hint);
  return {
    current: () => Promise.reject(err),
    wipe: () => undefined,
  };
}
