/**
 * What "locked" says. Every locked answer names the vault and the agent socket
 * that was looked for: a user who just ran `janee unlock` and is still told
 * "locked" can see at once whether serve looks at another vault or socket
 * (another JANEE_HOME, JANEE_AGENT_SOCK, or an agent started by an older janee).
 */
import { JaneeError } from '../errors.js';
import type { SecretSource } from '../gate/secrets.js';

export function lockedError(vaultFile: string, socketPath: string, why = 'no agent is running for it'): JaneeError {
  return new JaneeError(
    'GATE_LOCKED',
    `vault is locked: ${vaultFile} (${why}; looked for the agent at ${socketPath})`,
    'run `janee unlock` in a terminal with the same JANEE_HOME (and JANEE_AGENT_SOCK, if set); or set JANEE_PASSPHRASE_FILE for serve',
  );
}

/** A SecretSource that is always locked, saying so with the paths (and audited as "locked" by the gate). */
export function lockedSource(err: JaneeError): SecretSource {
  return {
    current: () => Promise.reject(err),
    wipe: () => undefined,
  };
}
