/**
 * exec through the in-process LocalGate, with real Debian programs (sh, curl, git,
 * node) against real loopback servers: the credential reaches the program and
 * the upstream, never the agent (output in any encoding redacted), the audit log,
 * the disk, or any process's command line; refusals happen before anything runs;
 * a timeout ends the whole process group.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JaneeError } from '../../src/errors.js';
import type { ExecRequest, ExecResult } from '../../src/exec/request.js';
import { execSlots, MAX_RUNNING } from '../../src/exec/slots.js';
import { setKillswitch } from '../../src/gate/killswitch.js';
import type { Caller } from '../../src/gate/types.js';
import { listFiles } from '../helpers/cli.js';
import { execHome, processAlive, sampleCmdlines, startGitServer, type ExecHome, type GitServer } from '../helpers/exec.js';
import { auditEntries, findForms, secretForms } from '../helpers/mcp.js';
import { startUpstream, type Upstream } from '../helpers/upstream.js';

const CALLER: Caller = { agent: 'exec-test', agentSource: 'flag' };
const nonce = (): string => randomBytes(12).toString('hex');
const TOKEN = `sk_test_exec_${nonce()}`;
const GIT_TOKEN = `ghp_exec${nonce()}`;
const OTHER = `sk_test_other_${nonce()}`;
const ALL_FORMS = [...secretForms(TOKEN), ...secretForms(GIT_TOKEN), ...secretForms(OTHER)];

let dir: string;
let up: Upstream;
let gitSrv: GitServer;
let h: ExecHome;
let marker: string;
let workRepo: string;
let commit: string;
let pathWork: string;

/** git outside janee (the test's own setup and the agent's planting), with no user or system config. */
const g = (cwd: string, ...args: string[]): string =>
  execFileSync('git', args, { cwd, env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir }, encoding: 'utf8' }).trim();

const exec = (req: ExecRequest): Promise<ExecResult> => h.gate.exec(req, CALLER);
async function refused(req: ExecRequest): Promise<JaneeError> {
  const e = await exec(req).then(
    (r) => {
      throw new Error(`expected a refusal, got exit ${r.exitCode}: ${r.stdout} ${r.stderr}`);
    },
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(JaneeError);
  const err = e as JaneeError;
  expect(findForms(`${err.message} ${err.hint}`, ALL_FORMS)).toEqual([]);
  return err;
}
function clean(r: ExecResult): void {
  expect(findForms(JSON.stringify(r), ALL_FORMS)).toEqual([]);
}

async function script(name: string, text: string): Promise<string> {
  const f = path.join(dir, 'bin', name);
  await fs.writeFile(f, text, { mode: 0o755 });
  return f;
}

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'janee-exec-test-'));
  await fs.mkdir(path.join(dir, 'bin'));
  up = await startUpstream();
  up.route('/v1/check', (req, res) => {
    const ok = req.headers.authorization === `Bearer ${TOKEN}`;
    res.writeHead(ok ? 200 : 401, { 'content-type': 'text/plain' });
    res.end(ok ? `token accepted; you sent ${req.headers.authorization}\n` : 'bad token\n');
  });

  // git: a bare repository served over smart HTTP with the token, and a clone-like work repo.
  const root = path.join(dir, 'git');
  await fs.mkdir(root);
  g(root, 'init', '-q', '--bare', 'repo.git');
  g(path.join(root, 'repo.git'), 'symbolic-ref', 'HEAD', 'refs/heads/main'); // a clone checks main out
  workRepo = path.join(dir, 'work');
  await fs.mkdir(workRepo);
  g(workRepo, 'init', '-q');
  g(workRepo, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-q', '--allow-empty', '-m', 'first');
  g(workRepo, 'push', '-q', path.join(root, 'repo.git'), 'HEAD:refs/heads/main');
  commit = g(workRepo, 'rev-parse', 'HEAD');
  gitSrv = await startGitServer(root, GIT_TOKEN, 150);

  marker = path.join(dir, 'marker');
  const touch = await script('touch-marker', `#!/bin/sh\ntouch '${marker}'\necho ran "$@"\n`);
  // curl 7.88 (Debian 12) has no --variable/--expand-header: the header goes to curl on
  // its stdin (-H @-), written by printf, a shell builtin, so the token is in no argv.
  const curlAuth = await script('curl-auth', `#!/bin/sh\nprintf 'Authorization: Bearer %s\\n' "$API_TOKEN" | curl -sS -H @- "$@"\n`);
  const printEnv = await script(
    'print-env.js',
    `const t = process.env.API_TOKEN ?? '';
const b = Buffer.from(t);
console.log('raw', t);
console.log('base64', b.toString('base64'));
console.log('hex', b.toString('hex'), b.toString('hex').toUpperCase());
console.log('url', encodeURIComponent(t));
console.log('json', JSON.stringify(process.env));
console.error('stderr too', t, b.toString('base64url'));
console.log('keys', Object.keys(process.env).sort().join(','));
console.log('home', process.env.HOME);
`,
  );
  const forker = await script('forker', `#!/bin/sh\nsleep 60 &\necho $! > "$1"\necho $$ >> "$1"\nsleep 60\n`);
  const leaver = await script('leaver', `#!/bin/sh\nsleep 60 &\necho $! > "$1"\necho bye\n`);
  await fs.mkdir(path.join(dir, 'allowed', 'sub'), { recursive: true });
  await fs.mkdir(path.join(dir, 'outside'));
  await fs.symlink(path.join(dir, 'outside'), path.join(dir, 'allowed', 'escape'));
  // A working directory where the agent planted ./bin/date.
  pathWork = path.join(dir, 'pathwork');
  await fs.mkdir(path.join(pathWork, 'bin'), { recursive: true });
  await fs.writeFile(path.join(pathWork, 'bin', 'date'), `#!/bin/sh\ntouch '${marker}'\necho planted "$API_TOKEN"\n`, { mode: 0o755 });

  h = await execHome({
    home: path.join(dir, 'home'),
    entries: {
      api: {
        token: TOKEN,
        origin: up.url,
        exec: ['mark', 'curl', 'printenv', 'forker', 'leaver', 'cat', 'pwd', 'limited', 'gitnocred', 'when'],
      },
      gh: { token: GIT_TOKEN, origin: gitSrv.url, exec: ['git'] },
      other: { token: OTHER, origin: 'https://other.example' },
    },
    config: {
      commands: {
        mark: { program: touch, env: { API_TOKEN: 'api' }, allow: ['ok *', 'ok --flag *'], deny: ['ok bad', '** --evil **'] },
        curl: {
          program: curlAuth,
          env: { API_TOKEN: 'api' },
          allow: [`${up.url}/v1/*`],
          rateLimit: '100/min',
        },
        printenv: { program: process.execPath, env: { API_TOKEN: 'api' }, allow: [printEnv] },
        forker: { program: forker, env: { API_TOKEN: 'api' }, allow: ['*'], timeoutMs: 700 },
        leaver: { program: leaver, env: { API_TOKEN: 'api' }, allow: ['*'] },
        cat: { program: '/bin/cat', env: { API_TOKEN: 'api' }, allow: [''], maxOutputBytes: 1000 },
        pwd: { program: '/bin/pwd', env: { API_TOKEN: 'api' }, allow: [''], cwd: [path.join(dir, 'allowed')] },
        limited: { program: '/bin/true', env: { API_TOKEN: 'api' }, allow: [''], rateLimit: '1/hour' },
        when: { program: '/usr/bin/env', env: { API_TOKEN: 'api' }, allow: ['date'], cwd: [pathWork] },
        git: { program: 'git', allow: ['ls-remote *', 'push * *', 'fetch *', 'clone * *'], gitCredential: 'gh', cwd: [workRepo] },
        gitnocred: { program: 'git', env: { API_TOKEN: 'api' }, allow: ['ls-remote *'], cwd: [workRepo] },
        // Maps a secret the vault does not bind to it: config.yaml alone must not be enough.
        unbound: { program: touch, env: { API_TOKEN: 'api', GH: 'gh' }, allow: ['**'] },
      },
    },
  });
});

afterAll(async () => {
  await h?.gate.close();
  await up?.close();
  await gitSrv?.close();
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('exec (in-process gate)', { timeout: 60_000 }, () => {
  it('curl sends the mapped token to the upstream, which checks it; the echo of it comes back redacted', async () => {
    const r = await exec({ command: 'curl', args: [`${up.url}/v1/check`] });
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('token accepted; you sent [REDACTED:api]\n');
    clean(r);
    expect(up.requests.filter((q) => q.url === '/v1/check').map((q) => q.headers.authorization)).toEqual([`Bearer ${TOKEN}`]);
  });

  it('a command outside allow, or matching deny, is refused before anything runs', async () => {
    for (const args of [['other'], ['ok', 'bad'], ['ok', '-x'], ['ok', 'x', '--evil'], ['ok', '--flag=--evil'], ['ok', 'a', 'b']]) {
      const e = await refused({ command: 'mark', args });
      expect(e.code).toBe('GATE_BLOCKED');
      await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
    }
    const e = await refused({ command: 'nope', args: [] });
    expect(e.code).toBe('GATE_UNKNOWN_COMMAND');
    expect(e.hint).toMatch(/known commands: mark, curl/);
    // …and the same call with allowed arguments does run (the marker proves it would show).
    const r = await exec({ command: 'mark', args: ['ok', '--flag=v'] });
    expect(r.stdout).toBe('ran ok --flag=v\n'); // checked split, run as sent
    await fs.stat(marker);
    await fs.rm(marker);
  });

  it('a secret not bound to exec:<command> in the vault is not handed to it, whatever config.yaml says; nothing runs', async () => {
    const e = await refused({ command: 'unbound', args: ['x'] });
    expect(e.code).toBe('GATE_ORIGIN_MISMATCH');
    expect(e.message).toMatch(/secret "api" is not bound to exec:unbound/);
    expect(e.hint).toBe('a human who means it runs: janee bind api exec:unbound');
    await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
  });

  it('an argument (or stdin) that contains a whole secret is refused, in any form, before anything runs', async () => {
    const b64 = Buffer.from(OTHER).toString('base64');
    for (const req of [
      { command: 'mark', args: ['ok', TOKEN] },
      { command: 'mark', args: ['ok', '--flag', OTHER] },
      { command: 'mark', args: ['ok', `--flag=${TOKEN}`] },
      { command: 'mark', args: ['ok', b64] },
      { command: 'mark', args: ['ok', GIT_TOKEN.toUpperCase()] },
      { command: 'cat', args: [], stdin: `hex ${Buffer.from(OTHER).toString('hex')}` },
      { command: 'cat', args: [], stdin: `here: ${TOKEN}` },
    ]) {
      const e = await refused(req);
      expect(e.code).toBe('GATE_BLOCKED');
      expect(e.message).toMatch(/contains a secret/);
    }
    await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
  });

  it('output holding the key raw, base64, hex and URL-encoded is redacted; the environment is only PATH, LANG, HOME and the mapping; HOME is removed', async () => {
    const r = await exec({ command: 'printenv', args: [path.join(dir, 'bin', 'print-env.js')] });
    expect(r.exitCode).toBe(0);
    clean(r);
    expect(r.stdout).toMatch(/^raw \[REDACTED:api\]$/m);
    expect(r.stdout).toMatch(/^base64 \[REDACTED:api\]$/m);
    expect(r.stdout).toMatch(/^url \[REDACTED:api\]$/m);
    expect(r.stderr).toMatch(/^stderr too \[REDACTED:api\] \[REDACTED:api\]$/m);
    expect(r.stdout).toMatch(/^keys API_TOKEN,HOME,LANG,PATH$/m);
    const home = /^home (.+)$/m.exec(r.stdout)![1]!;
    expect(home.startsWith(tmpdir())).toBe(true);
    await expect(fs.stat(home)).rejects.toThrow(/ENOENT/);
  });

  it('a timeout kills the program and the grandchild it forked (the whole process group)', async () => {
    const pidFile = path.join(dir, 'forker.pids');
    const r = await exec({ command: 'forker', args: [pidFile] });
    expect(r.timedOut).toBe(true);
    expect(r.exitCode).toBeNull();
    const pids = (await fs.readFile(pidFile, 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(2);
    for (const pid of pids) {
      let alive = true;
      for (let i = 0; i < 100 && alive; i++) {
        alive = await processAlive(pid);
        if (alive) await new Promise((res) => setTimeout(res, 50));
      }
      expect(alive, `pid ${pid} still alive`).toBe(false);
    }
  });

  it('a child left behind by a program that exits is killed too', async () => {
    const pidFile = path.join(dir, 'leaver.pids');
    const r = await exec({ command: 'leaver', args: [pidFile] });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('bye\n');
    const pid = Number((await fs.readFile(pidFile, 'utf8')).trim());
    let alive = true;
    for (let i = 0; i < 100 && alive; i++) {
      alive = await processAlive(pid);
      if (alive) await new Promise((res) => setTimeout(res, 50));
    }
    expect(alive).toBe(false);
  });

  it('stdin is closed unless given; output is cut at the cap and marked', async () => {
    const empty = await exec({ command: 'cat', args: [] });
    expect(empty).toMatchObject({ exitCode: 0, stdout: '', truncated: false, timedOut: false });
    const some = await exec({ command: 'cat', args: [], stdin: 'hello\n' });
    expect(some.stdout).toBe('hello\n');
    const big = await exec({ command: 'cat', args: [], stdin: 'y'.repeat(5000) });
    expect(big.truncated).toBe(true);
    expect(big.stdout.length).toBeLessThanOrEqual(1000);
  });

  it('cwd: only inside an allowed directory, real path checked (no escape by symlink or ..)', async () => {
    const allowed = path.join(dir, 'allowed');
    expect((await exec({ command: 'pwd', args: [] })).stdout).toBe(`${await fs.realpath(allowed)}\n`);
    expect((await exec({ command: 'pwd', args: [], cwd: path.join(allowed, 'sub') })).stdout).toBe(
      `${await fs.realpath(path.join(allowed, 'sub'))}\n`,
    );
    for (const cwd of [path.join(allowed, 'escape'), path.join(allowed, '..', 'outside'), `${allowed}-x`, 'relative', '/']) {
      const e = await refused({ command: 'pwd', args: [], cwd });
      expect(e.code).toBe('GATE_BLOCKED');
    }
    const e = await refused({ command: 'cat', args: [], cwd: allowed });
    expect(e.message).toMatch(/takes no cwd/);
  });

  it('kill switch by command name, and rate limit per command', async () => {
    const ks = path.join(h.home, 'killswitch');
    await setKillswitch(ks, true, ['mark']);
    await new Promise((res) => setTimeout(res, 400)); // a running gate looks at most every 250 ms
    try {
      const e = await refused({ command: 'mark', args: ['ok', 'x'] });
      expect(e.code).toBe('GATE_KILLED');
      expect(e.hint).toMatch(/janee killswitch off mark/);
    } finally {
      await setKillswitch(ks, false, ['mark']);
    }
    await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
    expect((await exec({ command: 'limited', args: [] })).exitCode).toBe(0);
    expect((await refused({ command: 'limited', args: [] })).code).toBe('GATE_RATE_LIMITED');
  });

  it('a call that waited for a free slot is stopped by a kill switch turned on while it waited', async () => {
    // Every place taken, by two other agents (one agent may hold only its share).
    const taken = await Promise.all(Array.from({ length: MAX_RUNNING }, (_, i) => execSlots.take(`other:${i % 2}`)));
    const ks = path.join(h.home, 'killswitch');
    let waiting: Promise<JaneeError> | undefined;
    try {
      waiting = refused({ command: 'mark', args: ['ok', 'x'] });
      await new Promise((res) => setTimeout(res, 100));
      await setKillswitch(ks, true, ['mark']);
      await new Promise((res) => setTimeout(res, 400)); // a running gate looks at most every 250 ms
    } finally {
      for (const release of taken) release();
    }
    try {
      const e = await waiting;
      expect(e.code).toBe('GATE_KILLED');
    } finally {
      await setKillswitch(ks, false, ['mark']);
    }
    await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
  });

  it('git ls-remote and push over HTTP with the token from the credential helper: never in argv (sampled in /proc), the repo config or the disk', async () => {
    const before = await fs.readFile(path.join(workRepo, '.git', 'config'), 'utf8');
    const sampler = sampleCmdlines();
    const run = async () => ({
      r: await exec({ command: 'git', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo }),
      p: await exec({ command: 'git', args: ['push', `${gitSrv.url}/repo.git`, 'HEAD:refs/heads/agent'], cwd: workRepo }),
    });
    const ran = await run().finally(() => undefined);
    const { cmdlines, samples } = await sampler.stop();
    const { r, p } = ran;
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`${commit}\trefs/heads/main`);
    expect(p.exitCode, p.stderr).toBe(0);
    clean(r);
    clean(p);
    // The sampler did see git at work, and no command line held the token.
    expect(samples).toBeGreaterThan(3);
    expect([...cmdlines].some((c) => c.includes('remote-http') || c.includes('ls-remote'))).toBe(true);
    expect(findForms([...cmdlines].join('\n'), secretForms(GIT_TOKEN))).toEqual([]);
    expect(gitSrv.auths).toContain(`Basic ${Buffer.from(`x-access-token:${GIT_TOKEN}`).toString('base64')}`);
    expect(await fs.readFile(path.join(workRepo, '.git', 'config'), 'utf8')).toBe(before);
    for (const f of await listFiles(workRepo)) {
      expect(findForms(await fs.readFile(path.join(workRepo, f)), secretForms(GIT_TOKEN)), f).toEqual([]);
    }
    // Without gitCredential git gets nothing (and does not prompt).
    const n = await exec({ command: 'gitnocred', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo });
    expect(n.exitCode).not.toBe(0);
  });

  it('a hook the agent planted in the repository does not run beside the credential', async () => {
    const leak = path.join(dir, 'hook-leak');
    const hook = path.join(workRepo, '.git', 'hooks', 'pre-push');
    await fs.writeFile(hook, `#!/bin/sh\nenv > '${leak}'\n`, { mode: 0o755 });
    try {
      const p = await exec({ command: 'git', args: ['push', `${gitSrv.url}/repo.git`, 'HEAD:refs/heads/hooked'], cwd: workRepo });
      expect(p.exitCode, p.stderr).toBe(0);
      await expect(fs.stat(leak)).rejects.toThrow(/ENOENT/);
    } finally {
      await fs.rm(hook);
    }
  });

  it('credential helpers the agent planted in the repository config (general and per URL) refuse the run: none ever sees the credential', async () => {
    const leak = path.join(dir, 'helper-leak');
    const cfg = path.join(workRepo, '.git', 'config');
    const before = await fs.readFile(cfg, 'utf8');
    const helper = `!f() { echo "$1" >> '${leak}'; cat >> '${leak}'; }; f`;
    const set = (key: string) => spawnSync('git', ['config', '--file', cfg, '--add', key, helper]);
    set('credential.helper');
    set(`credential.${gitSrv.url}.helper`);
    set(`credential.${new URL(gitSrv.url).origin}/repo.git.helper`);
    try {
      const e = await refused({ command: 'git', args: ['push', `${gitSrv.url}/repo.git`, 'HEAD:refs/heads/helped'], cwd: workRepo });
      expect(e.message).toContain("the repository's local config sets credential.helper");
      const got = await fs.readFile(leak, 'utf8').catch(() => '');
      expect(findForms(got, ALL_FORMS)).toEqual([]);
      expect(got).toBe('');
    } finally {
      await fs.writeFile(cfg, before);
    }
  });

  it('a proxy, CA or resolve override planted in the repository config is refused before git runs: the credential never leaves', async () => {
    const http = await import('node:http');
    const seen: (string | undefined)[] = [];
    // A proxy that asks for credentials, as one in the agent's hands would.
    const proxy = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(req.headers.authorization ? 403 : 401, { 'www-authenticate': 'Basic realm="x"' });
      res.end();
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const cfg = path.join(workRepo, '.git', 'config');
    const before = await fs.readFile(cfg, 'utf8');
    try {
      for (const [key, value] of [
        [`http.${gitSrv.url}/repo.git.proxy`, proxyUrl],
        [`http.${gitSrv.url}.sslVerify`, 'false'],
        ['http.sslCAInfo', '/tmp/evil-ca.pem'],
        ['http.curloptResolve', 'github.com:443:127.0.0.1'],
        ['remote.origin.proxy', proxyUrl],
      ] as const) {
        await fs.writeFile(cfg, before);
        spawnSync('git', ['config', '--file', cfg, key, value]);
        const r = await exec({ command: 'git', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo }).then(
          () => 'ran',
          (e: unknown) => String((e as Error).message),
        );
        expect(r).toContain(`the repository's local config sets ${key.toLowerCase()}`);
      }
      expect(seen).toEqual([]);
    } finally {
      await fs.writeFile(cfg, before);
      proxy.close();
    }
    // The repository as it was: git runs.
    const ok = await exec({ command: 'git', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo });
    expect(ok.exitCode, ok.stderr).toBe(0);
  });

  it("a push to a local path or file:// is refused by git (http(s) transports only): the other repository's configured command never runs", async () => {
    // The agent makes two repositories anywhere it can write; one borrows the other's objects,
    // and its config names a command that git-receive-pack runs for the alternate's refs.
    const leak = path.join(dir, 'alt-leak');
    const other = path.join(dir, 'other.git');
    const evil = path.join(dir, 'evil.git');
    g(dir, 'init', '-q', '--bare', other);
    g(dir, 'init', '-q', '--bare', evil);
    await fs.writeFile(path.join(evil, 'objects', 'info', 'alternates'), `${other}/objects\n`);
    g(evil, 'config', 'core.alternateRefsCommand', `sh -c 'env > "${leak}"' --`);
    const runs = [];
    for (const target of [evil, `file://${evil}`])
      runs.push(await exec({ command: 'git', args: ['push', target, 'HEAD:refs/heads/main'], cwd: workRepo }));
    await expect(fs.stat(leak)).rejects.toThrow(/ENOENT/);
    expect(g(evil, 'for-each-ref')).toBe('');
    for (const r of runs) {
      clean(r);
      expect(r.exitCode, r.stderr).not.toBe(0);
      expect(r.stderr).toMatch(/transport 'file' not allowed/);
    }
  });

  it('a repository config that names a program or another host, wherever it is set (local, worktree, an included file), is refused before git runs', async () => {
    const leak = path.join(dir, 'planted-leak');
    const planted = await script('planted', `#!/bin/sh\nenv >> '${leak}'\nexit 1\n`);
    const included = path.join(dir, 'included.gitconfig');
    await fs.writeFile(included, `[core]\n\tsshCommand = ${planted}\n`);
    const cfg = path.join(workRepo, '.git', 'config');
    const attributes = path.join(workRepo, '.gitattributes');
    const before = await fs.readFile(cfg, 'utf8');
    const cases: { set: [string, string][]; worktree?: [string, string]; scope: string; key: string }[] = [
      // insteadOf to ssh, and the ssh program git then runs ([core] comes first in the file)
      {
        set: [
          [`url.ssh://h/.insteadOf`, gitSrv.url],
          ['core.sshCommand', planted],
        ],
        scope: 'local',
        key: 'core.sshcommand',
      },
      { set: [[`url.ssh://h/.insteadOf`, gitSrv.url]], scope: 'local', key: 'url.ssh://h/.insteadof' },
      {
        set: [
          ['filter.x.smudge', planted],
          ['filter.x.clean', planted],
        ],
        scope: 'local',
        key: 'filter.x.smudge',
      },
      { set: [['core.alternateRefsCommand', planted]], scope: 'local', key: 'core.alternaterefscommand' },
      { set: [['core.askPass', planted]], scope: 'local', key: 'core.askpass' },
      { set: [['remote.origin.uploadpack', planted]], scope: 'local', key: 'remote.origin.uploadpack' },
      { set: [['include.path', included]], scope: 'local', key: 'include.path' },
      { set: [[`includeIf.gitdir:/.path`, included]], scope: 'local', key: 'includeif.gitdir:/.path' },
      { set: [['extensions.worktreeConfig', 'true']], worktree: ['core.sshCommand', planted], scope: 'worktree', key: 'core.sshcommand' },
    ];
    try {
      await fs.writeFile(attributes, '* filter=x\n');
      for (const c of cases) {
        await fs.writeFile(cfg, before);
        for (const [k, v] of c.set) g(workRepo, 'config', k, v);
        if (c.worktree) g(workRepo, 'config', '--worktree', ...c.worktree);
        const e = await refused({ command: 'git', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo });
        expect(e.code).toBe('GATE_BLOCKED');
        expect(e.message, c.key).toContain(`the repository's ${c.scope} config sets ${c.key} (`);
        expect(e.hint).toContain(`--unset-all ${c.key}`);
      }
    } finally {
      await fs.writeFile(cfg, before);
      await fs.rm(attributes, { force: true });
      await fs.rm(path.join(workRepo, '.git', 'config.worktree'), { force: true });
    }
    await expect(fs.stat(leak)).rejects.toThrow(/ENOENT/);
    const ok = await exec({ command: 'git', args: ['ls-remote', `${gitSrv.url}/repo.git`], cwd: workRepo });
    expect(ok.exitCode, ok.stderr).toBe(0);
  });

  it('clone, then fetch and push from the clone, over loopback http: what git init and git clone write is allowed', async () => {
    const clone = path.join(workRepo, 'cloned');
    try {
      const c = await exec({ command: 'git', args: ['clone', `${gitSrv.url}/repo.git`, 'cloned'], cwd: workRepo });
      expect(c.exitCode, c.stderr).toBe(0);
      const f = await exec({ command: 'git', args: ['fetch', 'origin'], cwd: clone });
      expect(f.exitCode, f.stderr).toBe(0);
      const p = await exec({ command: 'git', args: ['push', 'origin', 'HEAD:refs/heads/from-clone'], cwd: clone });
      expect(p.exitCode, p.stderr).toBe(0);
      for (const r of [c, f, p]) clean(r);
      expect(g(clone, 'rev-parse', 'HEAD')).toBe(commit);
      expect(g(clone, 'config', '--get', 'branch.main.merge')).toBe('refs/heads/main');
      expect(g(path.join(dir, 'git', 'repo.git'), 'rev-parse', 'refs/heads/from-clone')).toBe(commit);
    } finally {
      await fs.rm(clone, { recursive: true, force: true });
    }
  });

  it('PATH keeps only absolute entries: a program that runs another by name never runs one planted in its cwd', async () => {
    const saved = process.env.PATH;
    process.env.PATH = `bin:${saved ?? '/usr/bin:/bin'}`; // serve started with a relative entry
    let r: ExecResult;
    try {
      r = await exec({ command: 'when', args: ['date'], cwd: pathWork });
    } finally {
      process.env.PATH = saved;
    }
    clean(r);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('planted');
    expect(r.stdout).toMatch(/\d\d:\d\d:\d\d/);
    await expect(fs.stat(marker)).rejects.toThrow(/ENOENT/);
  });

  it('the credential helper answers only for the origins the entry is bound to', async () => {
    // Same server under another name (localhost, not 127.0.0.1): not the bound origin.
    const other = gitSrv.url.replace('127.0.0.1', 'localhost');
    const before = gitSrv.auths.length;
    const r = await exec({ command: 'git', args: ['ls-remote', `${other}/repo.git`], cwd: workRepo });
    expect(r.exitCode).not.toBe(0);
    expect(gitSrv.auths.slice(before).every((a) => a === undefined)).toBe(true);
  });

  it('every call is audited once, with command, arguments, cwd and exit code, and nothing written holds a secret', async () => {
    const entries = await auditEntries(h.home);
    const mine = entries.filter((e) => e.method === 'EXEC');
    expect(mine.length).toBeGreaterThan(10);
    const curl = mine.find((e) => e.service === 'curl')!;
    expect(curl).toMatchObject({ outcome: 'allowed', status: 0, rule: `allow ${up.url}/v1/*` });
    expect(curl.path).toBe(`~ $ ${up.url}/v1/check`);
    expect(mine.find((e) => e.service === 'forker')).toMatchObject({ outcome: 'allowed', status: null, rule: 'timeout after 700ms' });
    expect(mine.some((e) => e.service === 'mark' && e.outcome === 'blocked' && e.rule === 'deny ok bad')).toBe(true);
    expect(mine.some((e) => e.service === 'mark' && e.outcome === 'blocked' && e.rule === 'secret in request')).toBe(true);
    const realWork = await fs.realpath(workRepo);
    expect(mine.some((e) => e.service === 'git' && e.path.startsWith(`${realWork} $ ls-remote`))).toBe(true);
    // Leak search: everything janee wrote under its home (the vault is ciphertext).
    for (const f of await listFiles(h.home)) {
      if (f === 'vault.janee') continue;
      expect(findForms(await fs.readFile(path.join(h.home, f)), ALL_FORMS), f).toEqual([]);
    }
  });

  it('list_commands shows what may be run', async () => {
    const list = await h.gate.listCommands();
    expect(list.find((c) => c.name === 'mark')).toEqual({
      name: 'mark',
      allow: ['ok *', 'ok --flag *'],
      deny: ['ok bad', '** --evil **'],
      cwd: [],
      rateLimit: null,
      timeoutMs: 30000,
      blocked: false,
      secretPresent: true,
    });
  });
});
