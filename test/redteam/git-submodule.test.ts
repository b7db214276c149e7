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
import * as http from 'node:http';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gitIn, startGitProxyHarness, stopGitProxyHarness, type GitProxyHarness } from './git-proxy-harness.js';
import { scratchDir, type JaneeEnv } from '../helpers/cli.js';
import { type GitServer } from '../helpers/exec.js';
import { textOf, type ServeSession } from '../helpers/mcp.js';

let h: GitProxyHarness;
let env: JaneeEnv;
let gitSrv: GitServer;
let proxy: http.Server;
let seen: (string | undefined)[];
let work: string;
let s: ServeSession;
const g = gitIn;

beforeAll(async () => {
  h = await startGitProxyHarness();
  ({ env, gitSrv, proxy, seen, work, serve: s } = h);
}, 60_000);

afterAll(() => stopGitProxyHarness(h));

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
