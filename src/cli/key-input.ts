/**
 * Where `janee add` and `janee set` get the secret: --key (argv, warned about),
 * --key-stdin, --key-from-env VAR, or a no-echo prompt on the terminal.
 *
 * keyReader checks the flags at once (so a usage mistake fails before any
 * passphrase is asked) and returns how to read the value later: the terminal
 * prompt comes only after the vault is open, so a typed secret is never lost to
 * a wrong passphrase.
 */
import { Option } from 'clipanion';
import { JaneeError, usageError } from '../errors.js';
import type { AuthSpec } from '../config/types.js';
import { isValidFieldValue, MAX_FIELD_VALUE } from '../vault/payload.js';
import { warn, type Streams } from './io.js';
import { promptHidden, readStdinAll } from './passphrase.js';

interface KeyFlags {
  key?: string | undefined;
  keyStdin: boolean;
  keyFromEnv?: string | undefined;
  passphraseStdin: boolean;
}

export const keyOptions = () => ({
  key: Option.String('--key', { description: 'The secret (visible in argv and shell history; prefer --key-stdin)' }),
  keyStdin: Option.Boolean('--key-stdin', false, { description: 'Read the secret from stdin' }),
  keyFromEnv: Option.String('--key-from-env', {
    description:
      'Read the secret from this environment variable (set it for this command only, `VAR=… janee …`: an exported one reaches every program started from that shell)',
  }),
});

/** Checks the flags now; the returned function reads the secret (prompting with `prompt` on a terminal). */
export function keyReader(io: Streams, flags: KeyFlags, prompt: () => string): () => Promise<string> {
  const given = [
    flags.key !== undefined && '--key',
    flags.keyStdin && '--key-stdin',
    flags.keyFromEnv !== undefined && '--key-from-env',
  ].filter(Boolean);
  if (given.length > 1) throw usageError(`give only one of ${given.join(', ')}`);
  let read: () => Promise<string>;
  if (flags.key !== undefined) {
    warn(io.stderr, '--key is visible to other processes (ps) and may be kept in your shell history; prefer --key-stdin or the prompt');
    const key = flags.key;
    read = () => Promise.resolve(key);
  } else if (flags.keyStdin) {
    if (flags.passphraseStdin)
      throw usageError('--key-stdin and --passphrase-stdin both want stdin', 'use JANEE_PASSPHRASE_FILE for the passphrase');
    read = async () => Buffer.from(await readStdinAll(io.stdin)).toString('utf8');
  } else if (flags.keyFromEnv !== undefined) {
    const name = flags.keyFromEnv;
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
      throw usageError(
        `--key-from-env wants a variable name, not "${name.slice(0, 40).replace(/[^\x20-\x7e]/g, '?')}"`,
        'e.g. --key-from-env STRIPE_KEY',
      );
    const value = process.env[name];
    if (value === undefined || value === '')
      throw new JaneeError(
        'NO_KEY',
        `environment variable ${name} is ${value === undefined ? 'not set' : 'empty'}`,
        `set it for this command only: ${name}=… janee …`,
      );
    // Nothing janee might start inherits it.
    delete process.env[name];
    read = () => Promise.resolve(value);
  } else if (io.stdin.isTTY && io.stderr.isTTY) {
    // The prompt goes to stderr: with stderr redirected it would wait for an answer to a question nobody sees.
    read = async () => Buffer.from(await promptHidden(io, prompt())).toString('utf8');
  } else {
    throw new JaneeError(
      'NO_KEY',
      'no secret given and no terminal to ask on',
      'pass it on stdin with --key-stdin, or with --key-from-env VAR (--key is visible in argv)',
    );
  }
  return async () => checkedKey(await read());
}

function checkedKey(key: string): string {
  if (key.length === 0) throw new JaneeError('NO_KEY', 'the secret is empty', 'pass the secret with --key-stdin or type it at the prompt');
  if (key.length > MAX_FIELD_VALUE)
    throw new JaneeError(
      'BAD_KEY',
      `the secret is longer than ${MAX_FIELD_VALUE / 1024} KiB (${Math.ceil(key.length / 1024)} KiB given): not an API key`,
      'pass exactly the secret; a key file goes in with --field-file NAME=PATH where the template has one',
    );
  if (!isValidFieldValue(key))
    throw new JaneeError(
      'BAD_KEY',
      'the secret contains a line break or another control character',
      'pass exactly the secret (one trailing newline is stripped)',
    );
  return key;
}

/** The vault entry's fields for a secret: basic auth keeps the user name with it. */
export function secretFields(auth: AuthSpec, username: string | undefined, key: string): Record<string, string> {
  return auth.type === 'basic' ? { username: username as string, password: key } : { token: key };
}
