/**
 * Where an identity's secret key may end up: `identity new` never writes an
 * unprotected one inside a git work tree (a dotfiles JANEE_HOME, where one
 * `git add -A` publishes it), and an identity file other users can read is
 * used with a warning. The built CLI, a real `git init`.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, FAST, runJanee, scratchDir, tempHome } from '../helpers/cli.js';

afterAll(async () => {
  await cleanupTempHomes();
});

describe('identity files', () => {
  it('identity new refuses to write an unprotected key inside a git work tree; --out outside works', async () => {
    const env = await tempHome();
    const dotfiles = path.join(scratchDir(env), 'dotfiles');
    await fs.mkdir(path.join(dotfiles, 'janee'), { recursive: true });
    expect(spawnSync('git', ['init', '-q', dotfiles]).status).toBe(0);
    const home = { ...env, JANEE_HOME: path.join(dotfiles, 'janee') };

    const r = await runJanee(['identity', 'new'], { env: home });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`inside the git work tree ${dotfiles}`);
    expect(r.stderr).toMatch(/janee: hint: write it outside the repository/);
    expect(r.stdout).toBe('');
    expect(await fs.readdir(path.join(dotfiles, 'janee'))).toEqual([]);
    // An explicit --out into the repository is refused too.
    const inRepo = await runJanee(['identity', 'new', '--out', path.join(dotfiles, 'me.txt')], { env: home });
    expect(inRepo.code).toBe(1);

    // A stow-style home: a symlink from outside into the repository.
    const link = path.join(scratchDir(env), 'janee-link');
    await fs.symlink(path.join(dotfiles, 'janee'), link);
    const viaLink = await runJanee(['identity', 'new'], { env: { ...env, JANEE_HOME: link } });
    expect(viaLink.code, viaLink.stdout).toBe(1);
    expect(viaLink.stderr).toContain(`inside the git work tree ${dotfiles}`);
    expect(await fs.readdir(path.join(dotfiles, 'janee'))).toEqual([]);

    const outside = path.join(scratchDir(env), 'config', 'me.txt');
    const ok = await runJanee(['identity', 'new', '--out', outside], { env: home });
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout.trim()).toMatch(/^age1/);
  });

  it('an identity file other users can read is used, with a warning that says how to fix it', async () => {
    const env = await tempHome();
    expect((await runJanee(['init', ...FAST], { env })).code).toBe(0);
    const file = path.join(scratchDir(env), 'me.txt');
    const made = await runJanee(['identity', 'new', '--out', file], { env });
    expect((await runJanee(['recipients', 'add', made.stdout.trim(), '--name', 'me'], { env })).code).toBe(0);
    const { JANEE_PASSPHRASE: _, ...noPass } = env;
    const viaId = { ...noPass, JANEE_IDENTITY_FILE: file };
    const add = ['add', 'svc', '--base-url', 'https://api.example.com', '--auth', 'bearer', '--key-stdin'];

    const quiet = await runJanee(add, { env: viaId, input: 'k_0123456789abcdef\n' });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain('can be read by other users');

    await fs.chmod(file, 0o644);
    const loud = await runJanee(['set', 'svc', '--key-stdin'], { env: viaId, input: 'k_fedcba9876543210\n' });
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr).toContain(
      `janee: warning: the identity file ${file} can be read by other users (mode 644); run: chmod 600 ${file}`,
    );
  });
});
