/**
 * The repository-config allowlist against what this machine's real git writes (init,
 * clone, partial clone, remote add, push -u, worktree config, sparse checkout), and the
 * transports a run allows. The end-to-end refusals are in gate.test.ts.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitProtocols, repoConfigRisk, riskyGlobalOption, safeRepoKey } from '../../src/exec/git.js';

let dir: string;
const env = (): Record<string, string> => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, GIT_CONFIG_NOSYSTEM: '1' });
const g = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env: env(), encoding: 'utf8' }).trim();

beforeAll(async () => {
  dir = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'janee-git-keys-')));
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('exec git: global options (rt5a)', () => {
  it('refuses those that choose another repository, config or program; the subcommand ends the check', () => {
    for (const a of [
      ['-C', '/x', 'fetch'],
      ['--git-dir=/x', 'fetch'],
      ['--work-tree', '/x'],
      ['--bare', 'fetch'],
      ['-c', 'a=b'],
      ['--config-env=a=B'],
      ['--exec-path=/x'],
      ['--no-pager', '-C', '/x'],
    ])
      expect(riskyGlobalOption(a)).toBe(a.find((x) => x !== '--no-pager'));
    expect(riskyGlobalOption(['fetch', '-C', '/x'])).toBeUndefined();
    expect(riskyGlobalOption(['--no-pager', '-P', 'log', '--git-dir=x'])).toBeUndefined();
    expect(riskyGlobalOption([])).toBeUndefined();
    // clone: the options that write the new repository's config, in any spelling.
    expect(riskyGlobalOption(['clone', '--templ=/t', 'u'])).toBe('clone --template');
    expect(riskyGlobalOption(['clone', '-qc', 'a=b', 'u'])).toBe('clone -c');
    expect(riskyGlobalOption(['clone', '--config', 'a=b', 'u'])).toBe('clone --config');
    expect(riskyGlobalOption(['clone', '-q', '--depth=1', 'u', 'dir'])).toBeUndefined();
    expect(riskyGlobalOption(['switch', '-c', 'topic'])).toBeUndefined();
  });
});

describe('exec git: repository config', { timeout: 60_000 }, () => {
  it('every key git itself writes in init, clone, partial clone, remote add, push -u, worktree and sparse checkout is allowed', async () => {
    g(dir, 'init', '-q', '--bare', 'up.git');
    g(dir, 'init', '-q', 'a');
    const a = path.join(dir, 'a');
    g(a, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'x');
    g(a, 'remote', 'add', 'origin', path.join(dir, 'up.git'));
    g(a, 'push', '-q', '-u', 'origin', 'HEAD:refs/heads/main');
    g(path.join(dir, 'up.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main');
    g(a, 'branch', '-q', '--track', 'other', 'origin/main');
    g(a, 'config', 'user.name', 'Someone');
    g(dir, 'clone', '-q', '--no-local', `file://${dir}/up.git`, 'c');
    g(dir, 'clone', '-q', '--filter=blob:none', `file://${dir}/up.git`, 'partial');
    g(dir, 'clone', '-q', '--mirror', `file://${dir}/up.git`, 'mirror.git');
    g(dir, 'init', '-q', '--object-format=sha256', 's');
    const c = path.join(dir, 'c');
    g(c, 'config', 'extensions.worktreeConfig', 'true');
    g(c, 'worktree', 'add', '-q', '-b', 'w', path.join(dir, 'wt'));
    g(c, 'sparse-checkout', 'set', 'x');
    const keys = new Set<string>();
    for (const repo of ['a', 'c', 'partial', 'mirror.git', 's', 'wt'])
      for (const line of g(path.join(dir, repo), 'config', '--list', '--name-only').split('\n')) keys.add(line);
    expect(keys).toContain('remote.origin.partialclonefilter');
    expect(keys).toContain('core.sparsecheckout');
    expect([...keys].filter((k) => !safeRepoKey(k))).toEqual([]);
    // Preferences people set per repository, which steer git itself only.
    for (const k of ['pull.rebase', 'fetch.prune', 'push.autosetupremote', 'init.defaultbranch', 'advice.detachedhead', 'color.ui'])
      expect(safeRepoKey(k), k).toBe(true);
    for (const repo of ['a', 'c', 'partial', 'mirror.git', 's', 'wt'])
      expect(await repoConfigRisk(path.join(dir, repo), env())).toBeUndefined();
  });

  it('refuses keys that name a program or another hop, and reports scope and file', async () => {
    for (const k of [
      'core.sshcommand',
      'core.askpass',
      'core.alternaterefscommand',
      'core.fsmonitor',
      'core.hookspath',
      'core.pager',
      'core.editor',
      'core.worktree',
      'filter.lfs.smudge',
      'diff.x.textconv',
      'merge.x.driver',
      'gpg.program',
      'credential.helper',
      'url.ssh://h/.insteadof',
      'remote.origin.proxy',
      'remote.origin.vcs',
      'remote.origin.uploadpack',
      'remote.origin.receivepack',
      'http.proxy',
      'include.path',
      'includeif.gitdir:/.path',
      'alias.x',
      'user',
    ])
      expect(safeRepoKey(k), k).toBe(false);
    const r = path.join(dir, 'risky');
    g(dir, 'init', '-q', 'risky');
    await fs.writeFile(path.join(dir, 'inc'), '[diff "x"]\n\ttextconv = cat\n');
    g(r, 'config', 'include.path', path.join(dir, 'inc'));
    // The include itself is the first key listed after the init keys.
    expect(await repoConfigRisk(r, env())).toEqual({ scope: 'local', file: '.git/config', key: 'include.path' });
    // A conditional include is refused too, whether its condition holds or not.
    g(r, 'config', '--unset', 'include.path');
    g(r, 'config', 'includeIf.gitdir:/.path', path.join(dir, 'inc'));
    expect((await repoConfigRisk(r, env()))?.key).toBe('includeif.gitdir:/.path');
    // An include that never ends (a FIFO nobody writes to) refuses after the time limit, instead of hanging the call.
    g(r, 'config', '--unset', 'includeIf.gitdir:/.path');
    const fifo = path.join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    g(r, 'config', 'include.path', fifo);
    expect(await repoConfigRisk(r, env())).toMatchObject({ key: '' });
    // Unreadable config refuses (fail closed).
    await fs.writeFile(path.join(r, '.git', 'config'), '[core\n');
    expect(await repoConfigRisk(r, env())).toMatchObject({ key: '' });
  });

  it('transports: https, and http only for a plain-http loopback origin', () => {
    expect(gitProtocols(['https://github.com'])).toBe('https');
    expect(gitProtocols([])).toBe('https');
    expect(gitProtocols(['http://127.0.0.1:8080'])).toBe('https:http');
    expect(gitProtocols(['http://localhost'])).toBe('https:http');
    expect(gitProtocols(['http://[::1]:1'])).toBe('https:http');
    expect(gitProtocols(['http://example.com'])).toBe('https');
  });
});
