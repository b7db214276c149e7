/**
 * `janee git setup`: in a git work tree that holds the vault, mark the vault in
 * .gitattributes (`-text diff=janee merge=janee`) and configure, repo-locally, the
 * textconv diff driver and the merge driver. git never takes drivers from a
 * committed file (that would let a repo run commands), so every clone runs this once.
 */
import { Command, Option } from 'clipanion';
import { execFile } from 'node:child_process';
import { constants as fsc, realpathSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { JaneeError } from '../../errors.js';
import { atomicWrite } from '../../util/fsutil.js';
import { readAtMost, TooLargeError } from '../../util/bounded.js';
import { JaneeCommand, jsonOption } from '../base.js';
import { info, warn } from '../io.js';
import { childEnv } from '../../util/env.js';

export function git(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('git', args, { cwd, env: childEnv(), maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => {
      if (err && typeof (err as NodeJS.ErrnoException).code === 'string') {
        reject(new JaneeError('GIT_MISSING', 'cannot run git (is it installed and on PATH?)', 'install git'));
        return;
      }
      resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** A gitattributes pattern matching exactly this repo-relative path. */
function attributesPattern(rel: string): string {
  if (/[\s"'\\]/.test(rel) || rel.startsWith('#') || rel.startsWith('!')) {
    throw new JaneeError(
      'GIT_SETUP_PATH',
      `cannot write a .gitattributes pattern for "${rel}" (space, quote or backslash in the path)`,
      'move the vault to a simple path (JANEE_VAULT or vault: in config.yaml)',
    );
  }
  return `/${rel
    .split(path.sep)
    .join('/')
    .replace(/[*?[]/g, (c) => `\\${c}`)}`;
}

/** How git should start this janee: `janee` when that is on PATH and is us, else absolute paths. */
function janeeInvocation(env: NodeJS.ProcessEnv = process.env): { command: string; onPath: boolean } {
  const script = process.argv[1] ? safeRealpath(process.argv[1]) : undefined;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'janee');
    const real = safeRealpath(candidate);
    if (real && script && real === script) return { command: 'janee', onPath: true };
  }
  return { command: [process.execPath, script ?? 'janee'].map(shellQuote).join(' '), onPath: false };
}

function safeRealpath(p: string): string | undefined {
  try {
    return realpathSync(p);
  } catch {
    return undefined;
  }
}

const ATTRIBUTES = '-text diff=janee merge=janee';
const CONFIG_ATTRIBUTES = 'merge=janee';

export class GitSetupCommand extends JaneeCommand {
  static override paths = [['git', 'setup']];
  static override usage = Command.Usage({
    category: 'Dotfiles',
    description: 'Set up readable diffs and entry-by-entry merges of the vault in this git repository',
    details: `
      Run it in the repository that holds the vault (a dotfiles repo), in every clone. It appends
      \`/<vault> ${ATTRIBUTES}\` to .gitattributes (and \`/<config.yaml> ${CONFIG_ATTRIBUTES}\` when
      config.yaml is in the repository too, so two machines adding services merge cleanly; commit
      .gitattributes), and sets in the repository's own
      git config: diff.janee.textconv, diff.janee.cachetextconv=false (decrypted text is never cached
      in .git), merge.janee.name and merge.janee.driver.

      git runs the drivers with your environment: set JANEE_PASSPHRASE_FILE (or JANEE_PASSPHRASE) so
      diffs can show entry names and merges can decrypt; without it diffs show the header only and
      merges ask on the terminal.

      git is told to run \`janee\` when the janee on PATH is this one; otherwise the absolute paths of
      node and janee (these break if either moves: run \`janee git setup\` again). --command overrides.
    `,
    examples: [['In a dotfiles repo', 'cd ~/dotfiles && JANEE_HOME=$PWD/janee janee git setup']],
  });

  vault = Option.String('--vault', { description: "The vault file (default: janee's vault path)" });
  command = Option.String('--command', { description: 'How git should run janee (default: `janee` if on PATH, else absolute paths)' });
  json = jsonOption();

  async run(): Promise<number> {
    const cwd = process.cwd();
    const top = await git(['rev-parse', '--show-toplevel'], cwd);
    if (top.code !== 0 || !top.stdout.trim()) {
      throw new JaneeError('GIT_NOT_A_REPO', 'not inside a git work tree', 'run `janee git setup` in the repository that holds the vault');
    }
    const root = safeRealpath(top.stdout.trim()) ?? top.stdout.trim();
    const vault = this.vault !== undefined ? path.resolve(cwd, this.vault) : await this.vaultFile();
    const vaultReal = path.join(safeRealpath(path.dirname(vault)) ?? path.dirname(vault), path.basename(vault));
    const rel = path.relative(root, vaultReal);
    if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new JaneeError(
        'GIT_SETUP_PATH',
        `the vault ${vault} is not inside this repository (${root})`,
        'set JANEE_HOME / JANEE_VAULT to the copy in the repository, or pass --vault FILE',
      );
    }
    try {
      await fs.access(vaultReal, fsc.R_OK);
    } catch {
      warn(this.context.stderr, `${vault} does not exist yet; the settings apply once it does`);
    }

    const lines = [`${attributesPattern(rel)} ${ATTRIBUTES}`];
    // config.yaml beside it: merged service by service by the same driver (plain-text diffs).
    const configReal = path.join(
      safeRealpath(path.dirname(this.configFile)) ?? path.dirname(this.configFile),
      path.basename(this.configFile),
    );
    const configRel = path.relative(root, configReal);
    const configInRepo = this.vault === undefined && configRel !== '' && !configRel.startsWith('..') && !path.isAbsolute(configRel);
    if (configInRepo) lines.push(`${attributesPattern(configRel)} ${CONFIG_ATTRIBUTES}`);

    const attrFile = path.join(root, '.gitattributes');
    let text = '';
    let mode = 0o644;
    try {
      text = (await readAtMost(attrFile, 1024 * 1024, { regularOnly: true })).toString('utf8'); // a FIFO or /dev/zero link fails, not hangs
      mode = (await fs.stat(attrFile)).mode & 0o777;
    } catch (e) {
      const code = e instanceof TooLargeError ? 'larger than 1 MiB' : (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT')
        throw new JaneeError(
          'GIT_CONFIG_FAILED',
          `cannot read ${attrFile} (${code ?? 'error'})`,
          'make .gitattributes a regular file, or remove it and run janee git setup again',
        );
    }
    const have = new Set(text.split('\n').map((l) => l.trim()));
    const missing = lines.filter((l) => !have.has(l));
    if (missing.length) {
      const next = `${text}${text && !text.endsWith('\n') ? '\n' : ''}${missing.join('\n')}\n`;
      await atomicWrite(attrFile, next, { backup: false, mode });
    }

    const invocation = this.command !== undefined ? { command: this.command, onPath: true } : janeeInvocation();
    const settings: [string, string][] = [
      ['diff.janee.textconv', `${invocation.command} vault diff-text`],
      ['diff.janee.cachetextconv', 'false'],
      ['merge.janee.name', 'janee vault: entry-by-entry merge, decrypted in memory only'],
      ['merge.janee.driver', `${invocation.command} vault merge %O %A %B %P`],
    ];
    for (const [key, value] of settings) {
      const r = await git(['config', '--local', key, value], root);
      if (r.code !== 0) throw new JaneeError('GIT_CONFIG_FAILED', `git config ${key} failed: ${r.stderr.trim().split('\n')[0] ?? ''}`);
    }

    for (const l of lines) info(this.context.stderr, `${missing.includes(l) ? 'added to' : 'already in'} .gitattributes: ${l}`);
    info(
      this.context.stderr,
      `git config (this clone only): diff.janee.textconv, diff.janee.cachetextconv=false, merge.janee.driver = ${invocation.command} vault merge %O %A %B %P`,
    );
    if (!invocation.onPath) {
      warn(
        this.context.stderr,
        'janee is not on PATH, so git will run it by absolute path; run `janee git setup` again if node or janee moves',
      );
    }
    info(
      this.context.stderr,
      'next: commit .gitattributes, and run `janee git setup` in every other clone (git does not share its config)',
    );
    if (this.json) {
      this.outJson({
        repo: root,
        vault: rel,
        attributes: lines.map((line) => ({ line, added: missing.includes(line) })),
        configured: settings.map(([key]) => key),
        command: invocation.command,
      });
    }
    return 0;
  }
}
