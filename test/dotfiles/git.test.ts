/**
 * The dotfiles story with real git: two clones of one repo holding config.yaml and the
 * vault, each adding a different secret, merge with no conflict through the merge
 * driver; `git log -p` shows fingerprints, never values; then both change the same
 * secret and the merge fails cleanly, naming it, with nothing plaintext anywhere
 * (every file of both clones and the bare repo, .git included, and every git object
 * decompressed).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAST, listFiles, PASSPHRASE, runJanee, baseEnv, withEnv } from '../helpers/cli.js';
import { leaksIn } from '../ci/mcp.js';

let root: string;
const SECRETS = {
  s1: 'sk_live_first_9a8b7c6d5e4f3a2b',
  s2: 'ghp_second_1b2c3d4e5f6a7b8c9d0e',
  s1a: 'sk_live_rotated_on_a_0f1e2d3c',
  s1b: 'sk_live_rotated_on_b_4b5a6978',
};

function gitEnv(): NodeJS.ProcessEnv {
  return withEnv(baseEnv(), {
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(root, 'gitconfig'),
    GIT_TERMINAL_PROMPT: '0',
    JANEE_PASSPHRASE: PASSPHRASE,
  });
}

function clone(name: string): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = path.join(root, name);
  return { dir, env: withEnv(gitEnv(), { JANEE_HOME: path.join(dir, 'janee') }) };
}

function git(c: { dir: string; env: NodeJS.ProcessEnv }, args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync('git', args, { cwd: c.dir, env: c.env, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function ok(c: { dir: string; env: NodeJS.ProcessEnv }, args: string[]): string {
  const r = git(c, args);
  expect(r.code, `git ${args.join(' ')}\n${r.err}`).toBe(0);
  return r.out;
}

async function janee(c: { dir: string; env: NodeJS.ProcessEnv }, args: string[], input?: string) {
  const r = await runJanee(args, { env: c.env, cwd: c.dir, ...(input === undefined ? {} : { input }), timeoutMs: 30_000 });
  expect(r.code, `janee ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r;
}

const A = () => clone('a');
const B = () => clone('b');
const transcript: string[] = [];

beforeAll(async () => {
  root = await fs.realpath(await fs.mkdtemp(path.join(tmpdir(), 'janee-git-test-')));
  await fs.writeFile(path.join(root, 'gitconfig'), '[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n');
  const top = { dir: root, env: gitEnv() };
  ok(top, ['init', '-q', '--bare', 'origin.git']);
  ok(top, ['clone', '-q', 'origin.git', 'a']);
  const a = A();
  await janee(a, ['init', ...FAST]);
  const setup = await janee(a, ['git', 'setup']);
  transcript.push(`a$ janee git setup\n${setup.stderr}`);
  await fs.writeFile(path.join(a.dir, '.gitignore'), 'janee/*.bak\njanee/*.lock\njanee/audit/\n');
  ok(a, ['add', '-A']);
  ok(a, ['commit', '-qm', 'janee vault']);
  ok(a, ['push', '-q', 'origin', 'HEAD:main']);
  ok(top, ['clone', '-q', 'origin.git', 'b']);
  await janee(B(), ['git', 'setup']);
}, 120_000);

afterAll(async () => {
  if (root) await fs.rm(root, { recursive: true, force: true });
});

describe('janee git setup', () => {
  it('writes .gitattributes and repo-local git config, idempotently', async () => {
    const a = A();
    const attrs = await fs.readFile(path.join(a.dir, '.gitattributes'), 'utf8');
    expect(attrs).toBe('/janee/vault.janee -text diff=janee merge=janee\n/janee/config.yaml merge=janee\n');
    await janee(a, ['git', 'setup']);
    expect(await fs.readFile(path.join(a.dir, '.gitattributes'), 'utf8')).toBe(attrs);
    expect(ok(a, ['config', '--local', 'diff.janee.cachetextconv']).trim()).toBe('false');
    expect(ok(a, ['config', '--local', 'diff.janee.textconv']).trim()).toMatch(/ vault diff-text$/);
    // janee is not on PATH in tests: git gets absolute paths of node and janee.
    expect(ok(a, ['config', '--local', 'merge.janee.driver']).trim()).toBe(
      `${process.execPath} ${path.resolve('dist/cli/main.js')} vault merge %O %A %B %P`,
    );
    expect(ok(a, ['check-attr', 'diff', 'merge', 'text', '--', 'janee/vault.janee'])).toBe(
      'janee/vault.janee: diff: janee\njanee/vault.janee: merge: janee\njanee/vault.janee: text: unset\n',
    );
  });

  it('refuses outside a git work tree, and a vault outside the repository', async () => {
    const outside = await fs.mkdtemp(path.join(root, 'plain-'));
    const r = await runJanee(['git', 'setup'], { env: withEnv(gitEnv(), { JANEE_HOME: path.join(outside, 'home') }), cwd: outside });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('janee: error: not inside a git work tree');
    const other = await runJanee(['git', 'setup'], {
      env: withEnv(A().env, { JANEE_VAULT: path.join(outside, 'vault.janee') }),
      cwd: A().dir,
    });
    expect(other.code).toBe(1);
    expect(other.stderr).toMatch(/is not inside this repository/);
  });
});

describe('two clones, one vault', () => {
  it('different secrets added on both sides merge with no conflict', async () => {
    const a = A();
    const b = B();
    await janee(a, ['add', 's1', '--base-url', 'https://api.one.example', '--key-stdin'], SECRETS.s1);
    ok(a, ['commit', '-qam', 'add s1']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);

    await janee(b, ['add', 's2', '--base-url', 'https://api.two.example', '--key-stdin'], SECRETS.s2);
    ok(b, ['commit', '-qam', 'add s2']);
    const pull = git(b, ['pull', '--no-rebase', 'origin', 'main']);
    transcript.push(`b$ git pull --no-rebase origin main   # exit ${pull.code}\n${pull.err}${pull.out}`);
    expect(pull.code, pull.err).toBe(0);
    expect(pull.err).toContain('janee: vault merged in janee/vault.janee: 2 entries; s1 (theirs), s2 (ours)');
    expect(pull.err).toContain('janee: config merged in janee/config.yaml: s1 (theirs)');

    const list = await janee(b, ['list']);
    transcript.push(`b$ janee list\n${list.stdout}`);
    expect(list.stdout).toMatch(/^s2 .* secret: yes/m);
    expect(list.stdout).toMatch(/^s1 .* secret: yes/m);
    expect(ok(b, ['status', '--porcelain'])).toBe('');
  });

  it('git log -p shows names, origins and fingerprints, never a value; locked without the passphrase', async () => {
    const b = B();
    const log = ok(b, ['log', '-p', '-3', '--format=commit %s', '--', 'janee/vault.janee']);
    transcript.push(`b$ git log -p -- janee/vault.janee\n${log.split('\n').slice(0, 40).join('\n')}`);
    expect(log).toContain('+[s1]');
    expect(log).toContain('+  origins: https://api.one.example');
    expect(log).toMatch(/\+ {2}token: fingerprint [0-9a-f]{16}/);
    for (const s of Object.values(SECRETS)) expect(leaksIn(log, s)).toEqual([]);

    const locked = git({ dir: b.dir, env: withEnv(b.env, { JANEE_PASSPHRASE: undefined }) }, [
      'log',
      '-p',
      '-1',
      '--no-merges',
      '--format=%s',
      '--',
      'janee/vault.janee',
    ]);
    expect(locked.code).toBe(0);
    expect(locked.out).toContain('contents locked: set JANEE_PASSPHRASE_FILE');
    expect(locked.out).not.toContain('[s1]');
  });

  it('the same secret changed on both sides: the merge fails cleanly, names it, writes nothing plaintext', async () => {
    const a = A();
    const b = B();
    ok(b, ['push', '-q', 'origin', 'HEAD:main']);
    ok(a, ['pull', '-q', '--no-rebase', 'origin', 'main']);

    await janee(a, ['remove', 's1']);
    await janee(a, ['add', 's1', '--base-url', 'https://api.one.example', '--key-stdin'], SECRETS.s1a);
    ok(a, ['commit', '-qam', 'rotate s1 on a']);
    ok(a, ['push', '-q', 'origin', 'HEAD:main']);

    await janee(b, ['remove', 's1']);
    await janee(b, ['add', 's1', '--base-url', 'https://api.one.example', '--key-stdin'], SECRETS.s1b);
    ok(b, ['commit', '-qam', 'rotate s1 on b']);
    const ours = await fs.readFile(path.join(b.dir, 'janee', 'vault.janee'));

    const pull = git(b, ['pull', '--no-rebase', 'origin', 'main']);
    transcript.push(`b$ git pull --no-rebase origin main   # exit ${pull.code}\n${pull.err}${pull.out}`);
    expect(pull.code).not.toBe(0);
    expect(pull.err).toContain('janee: error: vault merge conflict: "s1" changed on both sides in janee/vault.janee');
    expect(pull.err).toMatch(/janee: hint: nothing was written; keep one side with `git checkout --ours janee\/vault.janee`/);
    expect(pull.out).toContain('CONFLICT (content): Merge conflict in janee/vault.janee');
    // %A untouched: the work tree holds our version, byte for byte.
    expect(Buffer.compare(await fs.readFile(path.join(b.dir, 'janee', 'vault.janee')), ours)).toBe(0);
    expect(ok(b, ['status', '--porcelain'])).toContain('UU janee/vault.janee');
    // No temp or backup files left next to git's.
    expect(
      (await listFiles(b.dir)).filter((f) => !f.startsWith('.git/') && /merge_file|\.tmp-|\.bak$/.test(f) && !f.startsWith('janee/')),
    ).toEqual([]);

    // Resolving: take theirs, then the vault opens again.
    ok(b, ['checkout', '--theirs', 'janee/vault.janee']);
    ok(b, ['add', 'janee/vault.janee']);
    ok(b, ['commit', '-qm', 'take theirs']);
    expect((await janee(b, ['list'])).stdout).toMatch(/^s1 .* secret: yes/m);
  });

  it('no secret value anywhere: every file of both clones and the bare repo, and every git object', async () => {
    const haystacks: [string, Buffer][] = [];
    for (const f of await listFiles(root)) haystacks.push([f, await fs.readFile(path.join(root, f))]);
    for (const dir of ['a', 'b', 'origin.git']) {
      const r = spawnSync('git', ['cat-file', '--batch-all-objects', '--batch'], {
        cwd: path.join(root, dir),
        env: gitEnv(),
        maxBuffer: 256 * 1024 * 1024,
      });
      expect(r.status).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(1000);
      haystacks.push([`${dir}: all git objects, decompressed`, r.stdout]);
    }
    expect(haystacks.length).toBeGreaterThan(50);
    for (const [name, bytes] of haystacks) {
      for (const s of Object.values(SECRETS)) expect(leaksIn(bytes, s), `${name}`).toEqual([]);
    }
    if (process.env.JANEE_TRANSCRIPT) await fs.writeFile(process.env.JANEE_TRANSCRIPT, transcript.join('\n'));
  });
});
