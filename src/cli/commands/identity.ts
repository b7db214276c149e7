/**
 * `janee identity new [--out FILE] [--passphrase]`: an age X25519 identity in the file
 * format `age-keygen` writes (two comment lines, then the AGE-SECRET-KEY-1 line), 0600,
 * never overwriting. With --passphrase it is encrypted the way `age -p` encrypts an
 * identity file (an age scrypt file whose plaintext is the identity), so `age -d -i`
 * and `janee … --identity` both open it after asking for the passphrase. The public key
 * is printed on stdout; the secret key goes only into the file.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { Command, Option } from 'clipanion';
import { janeeHome } from '../../config/paths.js';
import { JaneeError } from '../../errors.js';
import { ensureDir } from '../../util/fsutil.js';
import { secret } from '../../util/secret.js';
import { encryptAge } from '../../vault/age.js';
import { encodeIdentity, encodeRecipient, generateSecretKey, publicKeyOf } from '../../vault/x25519.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info, withProgress } from '../io.js';
import { getPassphrase } from '../passphrase.js';

function existsError(file: string): JaneeError {
  return new JaneeError('IDENTITY_EXISTS', `${file} already exists`, 'pick another --out (an identity is never overwritten)');
}

/**
 * The work tree holding `dir` (the nearest ancestor with a `.git` directory or file), if
 * any, looked for both along `dir` as given and along its real path: a stow-style
 * dotfiles home is a symlink into the repository.
 */
async function gitWorkTreeOf(dir: string): Promise<string | undefined> {
  return (await workTreeAlong(dir)) ?? (await workTreeAlong(await realDir(dir)));
}

/** The real path of `dir`, or of its nearest existing ancestor with the rest appended. */
async function realDir(dir: string): Promise<string> {
  try {
    return await fs.realpath(dir);
  } catch {
    const parent = path.dirname(dir);
    return parent === dir ? dir : path.join(await realDir(parent), path.basename(dir));
  }
}

async function workTreeAlong(dir: string): Promise<string | undefined> {
  for (let d = dir; ; d = path.dirname(d)) {
    if (
      await fs.lstat(path.join(d, '.git')).then(
        () => true,
        () => false,
      )
    )
      return d;
    if (path.dirname(d) === d) return undefined;
  }
}

/** What age-keygen writes: RFC 3339 time without fractions. */
function created(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export class IdentityNewCommand extends JaneeCommand {
  static override paths = [['identity', 'new']];
  static override usage = Command.Usage({
    description: 'Make an age identity (X25519 key pair) for opening a team vault',
    details: `
      Writes the identity file (default <JANEE_HOME>/identity.txt), mode 0600, in age-keygen's
      format, and prints its public key (age1…) for \`janee recipients add\`. An unprotected
      identity is never written inside a git work tree (a dotfiles JANEE_HOME): use --out. With --passphrase it
      is encrypted like \`age -p\` (passphrase from JANEE_NEW_PASSPHRASE_FILE,
      JANEE_NEW_PASSPHRASE or the terminal); janee then asks for it on the terminal each time
      the identity is used, so keep unprotected identities for CI and serve.
    `,
    examples: [
      ['Make one', 'janee identity new'],
      ['Passphrase-protected', 'janee identity new --out ~/.config/janee/me.age --passphrase'],
    ],
  });

  out_ = Option.String('--out,-o', { description: 'Where to write the identity (must not exist)' });
  passphrase = Option.Boolean('--passphrase,-p', false, { description: 'Encrypt the identity file with a passphrase (as age -p)' });
  json = jsonOption();

  async run(): Promise<number> {
    const file = path.resolve(this.out_ ?? path.join(janeeHome(), 'identity.txt'));
    // A dotfiles JANEE_HOME is a git work tree: one `git add -A` would publish the key.
    const repo = this.passphrase ? undefined : await gitWorkTreeOf(path.dirname(file));
    if (repo !== undefined)
      throw new JaneeError(
        'IDENTITY_IN_REPO',
        `${file} is inside the git work tree ${repo}: a commit would publish the secret key`,
        'write it outside the repository (--out ~/.config/janee/identity.txt), or encrypt it with --passphrase',
      );
    if (
      await fs.lstat(file).then(
        () => true,
        () => false,
      )
    )
      throw existsError(file);
    using key = secret(generateSecretKey());
    const recipient = encodeRecipient(publicKeyOf(key.bytes));
    const text = `# created: ${created(new Date())}\n# public key: ${recipient}\n${encodeIdentity(key.bytes)}\n`;
    using plain = secret(new TextEncoder().encode(text));
    let bytes: Uint8Array = plain.bytes;
    if (this.passphrase) {
      const env = process.env;
      const { passphrase } = await getPassphrase(this.io, {
        env: { JANEE_PASSPHRASE_FILE: env.JANEE_NEW_PASSPHRASE_FILE, JANEE_PASSPHRASE: env.JANEE_NEW_PASSPHRASE },
        confirm: true,
        prompt: 'passphrase for the identity: ',
      });
      using pass = secret(passphrase);
      bytes = await withProgress(this.context.stderr, 'encrypting the identity (scrypt 2^18)', encryptAge(plain.bytes, pass.bytes));
    }
    await ensureDir(path.dirname(file));
    // O_EXCL: never replaces a file, not even one created since the check above.
    await fs.writeFile(file, bytes, { flag: 'wx', mode: 0o600 }).catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'EEXIST'
        ? existsError(file)
        : new JaneeError('WRITE_FAILED', `cannot write ${file} (${e.code ?? 'error'})`, 'check the directory');
    });
    info(
      this.context.stderr,
      `wrote ${this.passphrase ? 'a passphrase-protected' : 'an'} identity to ${file} (mode 0600); keep it private`,
    );
    info(this.context.stderr, 'its public key (give it to a member: `janee recipients add <key> --name YOU`):');
    if (this.json) this.outJson({ file, recipient, passphrase: this.passphrase });
    else this.out(recipient);
    return 0;
  }
}
