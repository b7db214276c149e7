/**
 * The set-up the git red-team tests share (git-global-options, git-submodule,
 * git-clone-config): a janee home whose `git` command holds a token for a real
 * `git http-backend` that demands it, an allowed work tree under `src/`, and the
 * agent's own repository `evil` outside it, whose config sends git through a
 * loopback "proxy" that records every Authorization it is sent (`seen`) and asks for
 * one (401). A test passes when the proxy never sees the token.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import * as http from 'node:http';
import * as path from 'node:path';
import { expect } from 'vitest';
import { addBearer, cleanupTempHomes, initHome, runJanee, scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { appendCommands, startGitServer, type GitServer } from '../helpers/exec.js';
import { closeAllServes, startServe, type ServeSession } from '../helpers/mcp.js';

export const GIT_TOKEN = 'sk_test_git_global_opts_5d2e8a61c0f4b97';

export interface GitProxyHarness {
  env: JaneeEnv;
  gitSrv: GitServer;
  proxy: http.Server;
  proxyUrl: string;
  /** The Authorization (or Proxy-Authorization) of every request the proxy got. */
  seen: (string | undefined)[];
  /** An allowed cwd: a clone-like work tree with one commit. */
  work: string;
  /** The agent's repository outside every allowed cwd, its proxy set for the served repo. */
  evil: string;
  serve: ServeSession;
}

/** git in `cwd`, with no system or user config; throws on failure; stdout trimmed. */
export function gitIn(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: cwd } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

export async function startGitProxyHarness(): Promise<GitProxyHarness> {
  const env = await initHome();
  const dir = scratchDir(env);
  const root = path.join(dir, 'git');
  await fs.mkdir(root);
  gitIn(root, 'init', '-q', '--bare', 'repo.git');
  const work = path.join(dir, 'src', 'work');
  await fs.mkdir(work, { recursive: true });
  gitIn(work, 'init', '-q');
  gitIn(work, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'first');
  gitIn(work, 'push', '-q', path.join(root, 'repo.git'), 'HEAD:refs/heads/main');
  gitIn(path.join(root, 'repo.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main');
  const gitSrv = await startGitServer(root, GIT_TOKEN);

  const seen: (string | undefined)[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push(req.headers.authorization ?? req.headers['proxy-authorization']);
    res.writeHead(req.headers.authorization ? 403 : 401, { 'www-authenticate': 'Basic realm="x"' }).end();
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
  const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  const evil = path.join(dir, 'evil');
  await fs.mkdir(evil);
  gitIn(evil, 'init', '-q');
  gitIn(evil, 'config', `http.${gitSrv.url}/repo.git.proxy`, proxyUrl);

  await addBearer(env, 'gh', gitSrv.url, GIT_TOKEN);
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
  const serve = await startServe({ env, args: ['--agent', 'rt5a'] });
  return { env, gitSrv, proxy, proxyUrl, seen, work, evil, serve };
}

export async function stopGitProxyHarness(h: GitProxyHarness | undefined): Promise<void> {
  await closeAllServes();
  await h?.gitSrv.close();
  h?.proxy.close();
  await cleanupTempHomes();
}
