/**
 * age identity files for the team vault: reading them (`--identity FILE`,
 * JANEE_IDENTITY_FILE) and choosing between an identity and the passphrase.
 *
 * An identity file is what `age-keygen` writes: `#` comment lines, empty lines, and one
 * `AGE-SECRET-KEY-1…` per line (more than one is allowed). It may instead be an age file
 * encrypted with a passphrase (`age -p`) whose plaintext is such a file, as `age -d -i`
 * accepts: its passphrase is asked on the terminal. Nothing read from an identity file
 * is ever echoed in a message (a damaged line may be a secret key).
 */
import * as fs from 'node:fs/promises';
import { Option } from 'clipanion';
import { JaneeError } from '../errors.js';
import { readAtMost, TooLargeError } from '../util/bounded.js';
import { secret } from '../util/secret.js';
import { decryptAge } from '../vault/age.js';
import { type Unlocker } from '../vault/format.js';
export { wipeUnlocker } from '../vault/format.js';
import { readVaultFile } from '../vault/store.js';
import { HINT_FILE, parseIdentityText } from '../vault/identity-file.js';
import { warn, type Streams } from './io.js';
import { promptHidden } from './passphrase.js';

export const identityOption = () =>
  Option.String('--identity,-i', {
    description: 'Open the vault with this age identity file (age-keygen format) instead of the passphrase',
  });

/** An identity file holds a few keys and comments; far larger is something else (or /dev/zero). */
const MAX_IDENTITY_BYTES = 1024 * 1024;

function invalid(message: string, hint = HINT_FILE): JaneeError {
  return new JaneeError('IDENTITY_INVALID', message, hint);
}

function isEncrypted(bytes: Uint8Array): boolean {
  const head = Buffer.from(bytes.subarray(0, 64)).toString('latin1').trimStart();
  return head.startsWith('age-encryption.org/') || head.startsWith('-----BEGIN AGE ENCRYPTED FILE-----');
}

/** Reads an identity file, asking for its passphrase on the terminal if it is `age -p` encrypted. */
export async function readIdentityFile(io: Streams, file: string, opts: { noPrompt?: boolean } = {}): Promise<Uint8Array[]> {
  let bytes: Uint8Array;
  try {
    const buf = await readAtMost(file, MAX_IDENTITY_BYTES);
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength); // no copy: wiped below
  } catch (e) {
    if (e instanceof TooLargeError)
      throw invalid(`the identity file ${file} holds more than ${MAX_IDENTITY_BYTES} bytes: it is not an identity file`);
    throw invalid(`cannot read the identity file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  using raw = secret(bytes);
  if (!isEncrypted(raw.bytes)) {
    // Like ssh with a private key, but a warning: CI secret mounts are often 0644 by default.
    const mode = (await fs.stat(file).catch(() => undefined))?.mode ?? 0;
    if ((mode & 0o077) !== 0)
      warn(io.stderr, `the identity file ${file} can be read by other users (mode ${(mode & 0o777).toString(8)}); run: chmod 600 ${file}`);
    return parseIdentityText(raw.bytes, `identity file ${file}`);
  }
  if (opts.noPrompt || !io.stdin.isTTY || !io.stderr.isTTY) {
    throw invalid(
      `the identity file ${file} is passphrase-protected and there is no terminal to ask for its passphrase`,
      'run this in a terminal, or use an unprotected identity file (0600) where no one can type',
    );
  }
  using pass = secret(await promptHidden(io, `passphrase for identity ${file}: `));
  using plain = secret(await decryptAge(raw.bytes, pass.bytes));
  return parseIdentityText(plain.bytes, `identity file ${file}`);
}

export interface IdentityChoice {
  /** --identity, if given: always used. */
  flag?: string | undefined;
  env?: NodeJS.ProcessEnv;
  noPrompt?: boolean;
}

/**
 * The identities to open `vaultFile` with, or undefined to use the passphrase. --identity
 * always wins; JANEE_IDENTITY_FILE is used when the vault has recipients (a personal
 * passphrase-only vault still opens with its passphrase when the variable is set).
 */
export async function findIdentities(io: Streams, vaultFile: string | undefined, opts: IdentityChoice = {}): Promise<Unlocker | undefined> {
  const env = opts.env ?? process.env;
  const path = opts.flag ?? env.JANEE_IDENTITY_FILE;
  if (path === undefined || path === '') return undefined;
  if (opts.flag === undefined && vaultFile !== undefined) {
    const parsed = await readVaultFile(vaultFile);
    if (parsed.header.recipients.length === 0) return undefined;
  }
  return { identities: await readIdentityFile(io, path, { noPrompt: opts.noPrompt ?? false }) };
}
