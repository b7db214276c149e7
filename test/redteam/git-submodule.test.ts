/**
 * Red team (exec + gitCredential): a submodule is another repository with its own
 * config, which janee's check (repoConfigRisk, the config of the repository in cwd)
 * never read. `git fetch --recurse-submodules` (and fetch's default on-demand
 * recursion) runs git in `.git/modules/<name>`, whose config the agent wrote.
 *
 * The BUILT `janee serve` over stdio (official SDK client), real git against a real
 * `git http-backend` that demands the token, and a loopback "proxy" that records
 * what it is sent. The set-up is git-global-options.test.ts's. Before the fix the
 * proxy received `Authorization: Basic x-access-token:<token>` from the submodule's
 * fetch; now the credential helper answers only for the repository janee checked.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, startGitServer, type GitServer } from '../helpers/exec.js';
import { closeAllServes, startServe, textOf, type ServeSession } from '../helpers/mcp.js';

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
  g(path.join(root, 'repo.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main');
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

describe('a submodule whose config the agent wrote does not get the token', { timeout: 60_000 }, () => {
  it('git fetch --recurse-submodules=yes in a repository with a planted submodule config: the proxy is sent no credential', async () => {
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const url = `${gitSrv.url}/repo.git`;
    // A submodule checked out from a local copy, then pointed at the served repository.
    const dir = scratchDir(env);
    const copy = path.join(dir, 'copy.git');
    g(dir, 'clone', '-q', '--bare', path.join(dir, 'git', 'repo.git'), copy);
    g(work, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', copy, 'sub');
    g(work, 'config', '--file', '.gitmodules', 'submodule.sub.url', url);
    g(work, 'submodule', 'sync', '-q');
    g(work, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '-m', 'sub');
    // What the agent plants: the submodule's own config sends git through its proxy.
    g(path.join(work, '.git', 'modules', 'sub'), 'config', `http.${url}.proxy`, proxyUrl);
    // The superproject's config is clean apart from the submodule's entry.
    g(work, 'config', '--unset-all', 'submodule.sub.url');
    g(work, 'config', '--unset-all', 'submodule.sub.active');
    const r = await s.call('exec', { command: 'git', args: ['fetch', '--recurse-submodules=yes', url], cwd: work });
    // The submodule's fetch may reach the proxy, but without a credential to hand over.
    expect(
      seen.filter((a) => a !== undefined),
      textOf(r),
    ).toEqual([]);
    expect(textOf(r)).toMatch(/Fetching submodule sub/);
  });
});
