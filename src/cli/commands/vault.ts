/**
 * `janee vault accept-older` (take back an older vault copy on purpose, see
 * src/vault/seen.ts), `janee vault diff-text FILE` (git textconv) and
 * `janee vault merge %O %A %B [%P]` (git merge driver). Both are run by git, with the repository root as the working
 * directory and maybe no JANEE_HOME: they need no config.yaml, only a key, from
 * JANEE_PASSPHRASE_FILE / JANEE_PASSPHRASE (or, for merge, a terminal prompt).
 *
 * Nothing plaintext is ever written: the three versions are decrypted in memory, and
 * %A is replaced (atomically) only by the re-encrypted merge.
 */
import { Command, Option } from 'clipanion';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { JaneeError } from '../../errors.js';
import { atomicWrite } from '../../util/fsutil.js';
import { diffTextFor } from '../../vault/diff.js';
import { mergeConfigText } from '../../config/merge.js';
import { VERSION_LINE, VERSION_LINE_V2, type Unlocker } from '../../vault/format.js';
import { findIdentities, identityOption, wipeUnlocker } from '../identity.js';
import { mergeVaultFiles } from '../../vault/merge.js';
import { when } from '../../vault/seen.js';
import { acceptOlderVault, MAX_VAULT_BYTES } from '../../vault/store.js';
import { readAtMost } from '../../util/bounded.js';
import { JaneeCommand, passphraseStdinOption } from '../base.js';
import { info, warn, withProgress } from '../io.js';
import { findPassphrase, getPassphrase } from '../passphrase.js';

export class VaultDiffTextCommand extends JaneeCommand {
  static override paths = [
    ['vault', 'diff-text'],
    ['vault', 'diff'],
  ];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Print a vault file as text for `git diff` (names, origins, times, keyed fingerprints; never a value)',
    details: `
      Used as git's textconv driver (see \`janee git setup\`). Decrypting needs the passphrase from
      JANEE_PASSPHRASE_FILE or JANEE_PASSPHRASE; without it only the header is shown. It never
      prompts and always exits 0, so \`git diff\` and \`git log -p\` keep working.
    `,
  });

  file = Option.String({ name: 'file' });

  async run(): Promise<number> {
    let bytes: Uint8Array;
    try {
      // A FIFO or /dev/zero named here must not hang `git diff`; nothing real is that large.
      bytes = await readAtMost(this.file, MAX_VAULT_BYTES, { regularOnly: true });
    } catch (e) {
      this.out(`unreadable file (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      return 0;
    }
    const text = await diffTextFor(bytes, async () => {
      try {
        return (
          (await findIdentities(this.io, undefined, { noPrompt: true })) ?? (await findPassphrase(this.io, { noPrompt: true }))?.passphrase
        );
      } catch {
        return undefined; // e.g. an unreadable JANEE_PASSPHRASE_FILE: show the header only
      }
    });
    this.context.stdout.write(text);
    return 0;
  }
}

export class VaultMergeCommand extends JaneeCommand {
  static override paths = [['vault', 'merge']];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Three-way merge of vault files, entry by entry (git merge driver: janee vault merge %O %A %B %P)',
    details: `
      Decrypts the three versions in memory with an identity (JANEE_IDENTITY_FILE) or the
      passphrase (JANEE_PASSPHRASE_FILE, JANEE_PASSPHRASE, or a prompt on the terminal), merges entry by entry, re-encrypts and
      replaces OURS. When the same entry was changed differently on both sides it fails, names
      the entries, and leaves OURS untouched; nothing plaintext is written anywhere.
    `,
  });

  base = Option.String({ name: 'base' });
  ours = Option.String({ name: 'ours' });
  theirs = Option.String({ name: 'theirs' });
  pathname = Option.String({ required: false, name: 'path' });

  async run(): Promise<number> {
    const read = async (file: string, what: string): Promise<Uint8Array> => {
      try {
        return await readAtMost(file, MAX_VAULT_BYTES, { regularOnly: true });
      } catch (e) {
        throw new JaneeError(
          'MERGE_UNREADABLE',
          `cannot read the ${what} version ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
        );
      }
    };
    const where = this.pathname ? ` in ${this.pathname}` : '';
    const ours = await read(this.ours, 'local');
    const base = await read(this.base, 'base');
    const theirs = await read(this.theirs, 'incoming');
    const isVault = (b: Uint8Array) => startsWith(b, `${VERSION_LINE}\n`) || startsWith(b, `${VERSION_LINE_V2}\n`);
    if (!isVault(ours) && !isVault(theirs)) {
      // Not a vault: config.yaml, merged service by service.
      const file = this.pathname ?? 'config.yaml';
      const dec = (b: Uint8Array) => Buffer.from(b).toString('utf8');
      const merged = mergeConfigText(file, base.length ? dec(base) : undefined, dec(ours), dec(theirs));
      await atomicWrite(this.ours, merged.text, { backup: false });
      info(this.context.stderr, `config merged${where}${merged.changes.length ? `: ${merged.changes.join(', ')}` : ''}`);
      return 0;
    }
    try {
      const result = await mergeVaultFiles({
        base,
        ours,
        theirs,
        // JANEE_IDENTITY_FILE if set (a member's identity), else the passphrase.
        passphrase: async (): Promise<Unlocker | undefined> =>
          (await findIdentities(this.io, undefined)) ??
          (await findPassphrase(this.io, { prompt: `vault passphrase (merging${where}): ` }))?.passphrase,
      });
      await refuseHistoricalCopy(theirs, this.pathname);
      // git reads the result back from %A; no .bak beside git's temp file.
      await atomicWrite(this.ours, result.bytes, { backup: false });
      if (result.headerNote) warn(this.context.stderr, result.headerNote);
      const changed = result.changes.map((c) => `${c.name} (${c.resolution})`).join(', ');
      info(
        this.context.stderr,
        `vault merged${where}: ${result.entries} entr${result.entries === 1 ? 'y' : 'ies'}${changed ? `; ${changed}` : ''}`,
      );
      return 0;
    } catch (e) {
      if (e instanceof JaneeError && where) {
        throw new JaneeError(
          e.code,
          `${e.message}${e.code === 'VAULT_MERGE_CONFLICT' ? where : ''}`,
          e.hint?.replaceAll('<vault>', this.pathname ?? '<vault>'),
          e.exitCode,
        );
      }
      throw e;
    }
  }
}

/**
 * The incoming vault must not be a copy this branch already had. Whoever can push
 * chooses the commit graph, and so the merge base: an old vault committed on top of
 * a commit from before a secret was added merges as "theirs added it", bringing a
 * removed secret back at a generation above anything seen. A vault file is never
 * byte-identical twice (a fresh nonce each save; re-encrypting needs the key), so an
 * incoming blob that appears in this branch's history is an old copy, never an honest
 * change made elsewhere. Outside a git repository (a merge run by hand), there is no
 * history to ask.
 */
async function refuseHistoricalCopy(theirs: Uint8Array, pathname: string | undefined): Promise<void> {
  if (pathname === undefined) return;
  const run = promisify(execFile);
  let history: string;
  try {
    const { stdout } = await run('git', ['log', '--format=', '--raw', '--no-abbrev', '--no-renames', 'HEAD', '--', pathname], {
      maxBuffer: 64 * 1024 * 1024,
    });
    history = stdout;
  } catch {
    return; // not in a git repository, or no HEAD yet: nothing to compare with
  }
  const blob = gitBlobId(theirs);
  // `:100644 100644 <old> <new> M\t<path>`: every version the path ever had on this branch.
  const seen = new Set(history.split('\n').flatMap((line) => line.split('\t')[0]?.split(' ').slice(2, 4) ?? []));
  if (seen.has(blob)) {
    throw new JaneeError(
      'VAULT_ROLLBACK',
      `the incoming ${pathname} is a copy this branch already had (blob ${blob.slice(0, 12)}): an older vault was committed on the other side`,
      'the merge was refused and your vault is unchanged; look at `git log` of the other side before merging (someone may have pushed an old copy to bring back a removed secret)',
    );
  }
}

/** git's blob id of some bytes (what `git hash-object` prints), without running git. */
function gitBlobId(bytes: Uint8Array): string {
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

function startsWith(b: Uint8Array, prefix: string): boolean {
  return Buffer.from(b.subarray(0, prefix.length)).toString('latin1') === prefix;
}

export class VaultAcceptOlderCommand extends JaneeCommand {
  static override paths = [['vault', 'accept-older']];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Accept the vault file on disk although an older generation than the one seen on this machine (needs the passphrase)',
    details: `
      janee remembers, outside JANEE_HOME, the highest vault generation it has seen here, and refuses
      an older copy (VAULT_ROLLBACK): put back from git history or a backup, it would bring back
      secrets removed since. If going back is what you want, this command opens the vault with the
      passphrase and makes its generation the remembered one. An unlocked agent keeps its copy
      until \`janee lock\` and \`janee unlock\`.
    `,
  });

  passphraseStdin = passphraseStdinOption();
  identity = identityOption();

  async run(): Promise<number> {
    const file = await this.vaultFile();
    // Wiped when run returns: only messages are written after this.
    const unlocker: Unlocker =
      (await findIdentities(this.io, file, { flag: this.identity })) ??
      (await getPassphrase(this.io, { fromStdin: this.passphraseStdin, prompt: 'vault passphrase: ' })).passphrase;
    let r: Awaited<ReturnType<typeof acceptOlderVault>>;
    try {
      r = await withProgress(this.context.stderr, 'unlocking vault', acceptOlderVault(file, unlocker));
    } finally {
      wipeUnlocker(unlocker);
    }
    const stderr = this.context.stderr;
    if (!r.changed) {
      info(
        stderr,
        `nothing to accept: ${file} (generation ${r.generation}) is not older than what was seen here${r.before ? ` (generation ${r.before.generation})` : ''}`,
      );
      return 0;
    }
    const b = r.before as NonNullable<typeof r.before>;
    warn(
      stderr,
      `accepted ${file} at generation ${r.generation}, older than generation ${b.generation} seen here on ${when(b.at)}: secrets removed or rebound since are back`,
    );
    info(stderr, 'an unlocked agent keeps its copy until `janee lock` and `janee unlock`');
    return 0;
  }
}
