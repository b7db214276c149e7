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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GIT_TOKEN, startGitProxyHarness, stopGitProxyHarness, type GitProxyHarness } from './git-proxy-harness.js';
import { type GitServer } from '../helpers/exec.js';
import { findForms, secretForms, textOf, type ServeSession } from '../helpers/mcp.js';

let h: GitProxyHarness;
let gitSrv: GitServer;
let seen: (string | undefined)[];
let work: string;
let evil: string;
let s: ServeSession;

beforeAll(async () => {
  h = await startGitProxyHarness();
  ({ gitSrv, seen, work, evil, serve: s } = h);
}, 60_000);

afterAll(() => stopGitProxyHarness(h));

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
